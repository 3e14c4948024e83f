// SPDX-License-Identifier: MIT
/*
 * Split virtqueue walker. The driver can rewrite any ring or descriptor while
 * we read it, so each field is loaded once into a local before it is checked
 * and used; the chain length bound doubles as the loop detector.
 */
#include "virtio/virtqueue.h"

#include <errno.h>
#include <string.h>

static inline u16 ld16(const u8 *p)
{
	return __atomic_load_n((const u16 *)p, __ATOMIC_RELAXED);
}

static inline void st16(u8 *p, u16 v)
{
	__atomic_store_n((u16 *)p, v, __ATOMIC_RELAXED);
}

static u64 ring_avail_size(u16 size)
{
	return 6 + 2ULL * size;
}

static u64 ring_used_size(u16 size)
{
	return 6 + 8ULL * size;
}

int virtq_start(struct virtq *vq, const struct guest_mem *gm, struct err *e)
{
	u16 n = vq->size;

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return errf(e, -EINVAL, "queue size %u is not a power of two up to %u", n,
			    VIRTQ_MAX_SIZE);
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3))
		return errf(e, -EINVAL,
			    "rings at 0x%llx/0x%llx/0x%llx are misaligned (need 16/2/4)",
			    (unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
			    (unsigned long long)vq->used_gpa);
	vq->desc = guest_mem_ptr(gm, vq->desc_gpa, 16ULL * n);
	vq->avail = guest_mem_ptr(gm, vq->avail_gpa, ring_avail_size(n));
	vq->used = guest_mem_ptr(gm, vq->used_gpa, ring_used_size(n));
	if (!vq->desc || !vq->avail || !vq->used) {
		u64 gpa = !vq->desc ? vq->desc_gpa : !vq->avail ? vq->avail_gpa : vq->used_gpa;
		const char *what = !vq->desc ? "descriptor table" : !vq->avail ? "available ring"
									       : "used ring";
		vq->desc = vq->avail = vq->used = NULL;
		return errf(e, -EFAULT, "%s at 0x%llx (queue size %u) is outside guest RAM", what,
			    (unsigned long long)gpa, n);
	}
	/* The used ring is the device's: a fresh queue starts at index 0. */
	vq->last_avail = 0;
	vq->used_idx = 0;
	st16(vq->used, 0);
	st16(vq->used + 2, 0);
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->notify_enabled = true;
	vq->started = true;
	return 0;
}

void virtq_reset(struct virtq *vq)
{
	struct virtq_stats keep = vq->stats;

	memset(vq, 0, sizeof(*vq));
	vq->stats = keep;
}

/* Single writer; readers (the counters) load the u64 whole, without a lock. */
static void stat_add(u64 *counter, u64 n)
{
	__atomic_store_n(counter, __atomic_load_n(counter, __ATOMIC_RELAXED) + n,
			 __ATOMIC_RELAXED);
}

int virtq_pending(struct virtq *vq)
{
	u16 idx, n;

	if (!vq->started)
		return 0;
	idx = __atomic_load_n((const u16 *)(vq->avail + 2), __ATOMIC_ACQUIRE);
	n = (u16)(idx - vq->last_avail);
	return n > vq->size ? -1 : n;
}

/* A descriptor's buffer, appended to the chain: readable ones first, then writable. */
static int chain_add(struct virtq_chain *c, const struct guest_mem *gm, u16 head, u16 idx,
		     u64 addr, u32 len, u16 flags, struct err *e)
{
	void *hva;

	if (!len)
		return 0;
	hva = guest_mem_ptr(gm, addr, len);
	if (!hva)
		return errf(e, -EFAULT, "descriptor %u: buffer 0x%llx+%u is outside guest RAM",
			    idx, (unsigned long long)addr, len);
	if (!(flags & VIRTQ_DESC_F_WRITE) && c->n_out != c->n)
		return errf(e, -EINVAL, "descriptor %u: device-readable buffer after a writable one",
			    idx);
	if (c->n >= VIRTQ_MAX_CHAIN)
		return errf(e, -EINVAL, "chain from head %u has more than %u buffers", head,
			    VIRTQ_MAX_CHAIN);
	c->bufs[c->n] = (struct virtq_buf){hva, len, flags & VIRTQ_DESC_F_WRITE};
	if (flags & VIRTQ_DESC_F_WRITE) {
		c->in_len += len;
	} else {
		c->out_len += len;
		c->n_out++;
	}
	c->n++;
	return 0;
}

int virtq_pop(struct virtq *vq, const struct guest_mem *gm, struct virtq_chain *c,
	      struct err *e)
{
	const u8 *table;
	u32 tsize, visited = 0;
	bool indirect = false;
	u16 head, idx;
	int pend = virtq_pending(vq);

	if (pend < 0)
		return errf(e, -EINVAL, "available index %u is %u entries ahead of a %u-entry queue",
			    ld16(vq->avail + 2), (u16)(ld16(vq->avail + 2) - vq->last_avail),
			    vq->size);
	if (pend == 0)
		return 0;
	head = ld16(vq->avail + 4 + 2 * (vq->last_avail & (vq->size - 1)));
	if (head >= vq->size)
		return errf(e, -EINVAL, "available ring entry %u names descriptor %u of %u",
			    vq->last_avail, head, vq->size);
	c->head = head;
	c->n = c->n_out = 0;
	c->out_len = c->in_len = 0;
	table = vq->desc;
	tsize = vq->size;
	idx = head;
	for (;;) {
		const u8 *d;
		u64 addr;
		u32 len;
		u16 flags, next;
		int r;

		if (++visited > tsize)
			return errf(e, -EINVAL,
				    "descriptor chain from head %u loops or is longer than its %u-entry table",
				    head, tsize);
		d = table + 16 * idx;
		addr = get_le64(d);
		len = get_le32(d + 8);
		flags = get_le16(d + 12);
		next = get_le16(d + 14);
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return errf(e, -EINVAL,
					    "descriptor %u is indirect but INDIRECT_DESC was not negotiated",
					    idx);
			if (indirect)
				return errf(e, -EINVAL,
					    "indirect descriptor %u inside an indirect table", idx);
			if (flags & VIRTQ_DESC_F_NEXT)
				return errf(e, -EINVAL, "indirect descriptor %u also has NEXT", idx);
			if (!len || len % 16 || len / 16 > VIRTQ_MAX_CHAIN)
				return errf(e, -EINVAL, "indirect table of %u bytes (need a multiple of 16, at most %u entries)",
					    len, VIRTQ_MAX_CHAIN);
			table = guest_mem_ptr(gm, addr, len);
			if (!table)
				return errf(e, -EFAULT,
					    "indirect table 0x%llx+%u is outside guest RAM",
					    (unsigned long long)addr, len);
			indirect = true;
			tsize = len / 16;
			visited = 0;
			idx = 0;
			continue;
		}
		r = chain_add(c, gm, head, idx, addr, len, flags, e);
		if (r < 0)
			return r;
		if (!(flags & VIRTQ_DESC_F_NEXT))
			break;
		if (next >= tsize)
			return errf(e, -EINVAL, "descriptor %u: next %u is beyond the %u-entry table",
				    idx, next, tsize);
		idx = next;
	}
	vq->last_avail++;
	if (vq->event_idx && vq->notify_enabled)
		st16(vq->used + 4 + 8 * vq->size, vq->last_avail);
	/* (Only receive queues un-pop, and their chains have nothing device-readable.) */
	stat_add(&vq->stats.bytes_from_guest, c->out_len);
	return 1;
}

void virtq_unpop(struct virtq *vq, u16 n)
{
	vq->last_avail -= n;
}

void virtq_push(struct virtq *vq, u16 head, u32 len)
{
	u8 *el = vq->used + 4 + 8 * (vq->used_idx & (vq->size - 1));

	put_le32(el, head);
	put_le32(el + 4, len);
	stat_add(&vq->stats.chains, 1);
	stat_add(&vq->stats.bytes_to_guest, len);
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n((u16 *)(vq->used + 2), vq->used_idx, __ATOMIC_RELEASE);
}

bool virtq_should_notify(struct virtq *vq)
{
	u16 old = vq->signalled_used, now = vq->used_idx, event;
	bool valid = vq->signalled_valid;

	/* Our used index store must be ordered before reading the driver's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (now == old)
		return false;	/* nothing used since the last decision */
	vq->signalled_used = now;
	vq->signalled_valid = true;
	if (!vq->event_idx)
		return !(ld16(vq->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	event = ld16(vq->avail + 4 + 2 * vq->size);
	/* vring_need_event: did we cross used_event since the last notification? */
	return !valid || (u16)(now - event - 1) < (u16)(now - old);
}

bool virtq_set_notify(struct virtq *vq, bool enable)
{
	vq->notify_enabled = enable;
	if (!vq->started)
		return false;
	if (vq->event_idx) {
		/*
		 * avail_event = last_avail asks for a kick at the next entry; one
		 * behind it is already crossed, so the driver stays quiet until
		 * we enable again (merely not advancing it would cost one kick).
		 */
		st16(vq->used + 4 + 8 * vq->size, (u16)(vq->last_avail - !enable));
	} else {
		st16(vq->used, enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	}
	if (!enable)
		return false;
	/* Re-check after publishing, or a kick sent just before could be lost. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return virtq_pending(vq) != 0;
}

/* Copies between buf and the chain's buffers [first, last) from byte off on. */
static u64 chain_copy(const struct virtq_chain *c, u32 first, u32 last, u64 off, u8 *buf, u64 len,
		      bool to_chain)
{
	u64 done = 0;

	for (u32 i = first; i < last && done < len; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		u64 n;

		if (off >= b->len) {
			off -= b->len;
			continue;
		}
		n = MIN(b->len - off, len - done);
		if (to_chain)
			memcpy(b->hva + off, buf + done, n);
		else
			memcpy(buf + done, b->hva + off, n);
		done += n;
		off = 0;
	}
	return done;
}

u64 virtq_chain_read(const struct virtq_chain *c, u64 off, void *dst, u64 len)
{
	return chain_copy(c, 0, c->n_out, off, dst, len, false);
}

u64 virtq_chain_write(const struct virtq_chain *c, u64 off, const void *src, u64 len)
{
	return chain_copy(c, c->n_out, c->n, off, (u8 *)src, len, true);
}
