/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VIRTIO_VIRTQUEUE_H
#define MERAK_VIRTIO_VIRTQUEUE_H

/*
 * A split virtqueue walker (virtio 1.2 §2.7), pure code over guest memory:
 * every ring, descriptor and buffer is translated through guest_mem_ptr, so
 * a guest can hand over anything and get either a well-formed chain or an
 * error naming what was wrong. Supports INDIRECT_DESC and RING_EVENT_IDX.
 * One thread drives a queue at a time (the device's worker).
 */
#include "util/err.h"
#include "util/types.h"
#include "vm/mem.h"

#define VIRTQ_MAX_SIZE	  1024	/* largest queue a device offers */
#define VIRTQ_MAX_CHAIN	  1024	/* descriptors in one chain, indirect included */

#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	   1

/* Cumulative, kept across queue resets; one writer (the queue's worker). */
struct virtq_stats {
	u64 chains;	      /* requests completed (pushed to the used ring) */
	u64 bytes_from_guest; /* device-readable bytes of the chains taken */
	u64 bytes_to_guest;   /* bytes the device reported written */
};

struct virtq {
	struct virtq_stats stats;

	/* Set by the driver through the transport. */
	u16 size;
	u64 desc_gpa, avail_gpa, used_gpa;
	bool event_idx;	/* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_RING_F_INDIRECT_DESC negotiated */

	/* Device state, valid after virtq_start. */
	bool started;
	u8 *desc;	/* host pointers to the three rings */
	u8 *avail;
	u8 *used;
	u16 last_avail;	/* next avail ring entry to take */
	u16 used_idx;	/* our copy of used->idx */
	u16 signalled_used;	/* used_idx when we last decided about a notification */
	bool signalled_valid;
	bool notify_enabled;	/* we want the driver's kicks */
};

struct virtq_buf {
	u8 *hva;	/* len bytes of guest memory, already bounds-checked */
	u32 len;
	bool write;	/* device-writable */
};

struct virtq_chain {
	u16 head;
	u32 n;		/* buffers in bufs */
	u32 n_out;	/* the first n_out are device-readable, the rest writable */
	u64 out_len, in_len;
	struct virtq_buf bufs[VIRTQ_MAX_CHAIN];
};

/* Checks the rings lie in guest RAM, aligned, and resets the indices. */
int virtq_start(struct virtq *vq, const struct guest_mem *gm, struct err *e);
void virtq_reset(struct virtq *vq);

/*
 * Takes the next available chain: 1 and *c filled, 0 if none, or -EINVAL
 * with a message for a malformed chain or avail index (the device must then
 * ask for a reset: the queue's state can no longer be trusted).
 */
int virtq_pop(struct virtq *vq, const struct guest_mem *gm, struct virtq_chain *c,
	      struct err *e);
/* Gives back the last n popped chains (not yet pushed), e.g. when a packet does not fit. */
void virtq_unpop(struct virtq *vq, u16 n);
/* Puts a used element (head, bytes written); publishes it with release order. */
void virtq_push(struct virtq *vq, u16 head, u32 len);
/* Whether the driver wants an interrupt for what was pushed since the last call. */
bool virtq_should_notify(struct virtq *vq);
/* Entries the driver made available that we have not taken. -1 if the index is bogus. */
int virtq_pending(struct virtq *vq);
/*
 * Asks for (or suppresses) the driver's kicks: USED_F_NO_NOTIFY, or with
 * EVENT_IDX an avail_event the driver has already passed. After enabling,
 * returns true if buffers arrived meanwhile, so the caller re-polls instead
 * of sleeping.
 */
bool virtq_set_notify(struct virtq *vq, bool enable);

/* Helpers over a chain's buffers: copy across descriptor boundaries. */
u64 virtq_chain_read(const struct virtq_chain *c, u64 off, void *dst, u64 len);
u64 virtq_chain_write(const struct virtq_chain *c, u64 off, const void *src, u64 len);

#endif
