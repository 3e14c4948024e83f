/* SPDX-License-Identifier: MIT */
#ifndef MERAK_GUEST_VIRTIO_H
#define MERAK_GUEST_VIRTIO_H

/*
 * A minimal virtio 1.x driver for test guests: finds a virtio-pci function
 * through ECAM (the MCFG table), moves its BARs below 4 GiB (the guest maps
 * only that), negotiates VERSION_1 (and what the caller asks for), and runs split queues of
 * VQ_SIZE descriptors, polled, with MSI-X vectors counted by the runtime.
 */
#include "guest.h"

#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG	  4
#define VIRTIO_ID_VSOCK	  19

#define VIRTIO_STATUS_ACK	  1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40

#define VQ_SIZE	  8
#define VQ_MAX	  3
#define VRING_DESC_F_NEXT  1
#define VRING_DESC_F_WRITE 2

struct vring_desc {
	u64 addr;
	u32 len;
	u16 flags, next;
};

struct vq {
	struct vring_desc desc[VQ_SIZE] __attribute__((aligned(16)));
	struct {
		u16 flags, idx, ring[VQ_SIZE], used_event;
	} avail __attribute__((aligned(2)));
	struct {
		u16 flags, idx;
		struct {
			u32 id, len;
		} ring[VQ_SIZE];
		u16 avail_event;
	} used __attribute__((aligned(4)));
	u16 index, size, last_used, notify_off;
	u16 next_desc;	/* chains take descriptors round-robin */
};

struct vdev {
	u64 common, notify, isr, devcfg;	/* addresses in the BAR */
	u32 notify_mult;
	u64 msix;	/* the MSI-X table */
	struct vq q[VQ_MAX];
};

struct vbuf {
	void *addr;
	u32 len;
	bool device_writes;
};

/* Finds the index-th function of this device type; moves its BAR to bar32. */
bool vdev_find(const struct boot_info *bi, u16 type, unsigned index, u64 bar32,
	       struct vdev *d);
/*
 * Reset, VERSION_1 only, nq queues (queue i interrupts on vector
 * VEC_TEST_BASE + vec_base + i, config changes on VEC_TEST_BASE + vec_base + nq),
 * DRIVER_OK. Fails the test on any refusal.
 */
void vdev_init(struct vdev *d, unsigned nq, unsigned vec_base);
/* The same, also accepting these feature bits (0-31), which the device must offer. */
void vdev_init_features(struct vdev *d, unsigned nq, unsigned vec_base, u32 features);
u8 vdev_status(struct vdev *d);
void vdev_reset(struct vdev *d);
/* Puts one chain (descriptors 0..n-1) on queue qi and notifies. */
void vq_submit(struct vdev *d, unsigned qi, const struct vbuf *b, unsigned n);
/* Raw: publishes descriptor head (already filled in q->desc) and notifies. */
void vq_publish(struct vdev *d, unsigned qi, u16 head);
/*
 * Waits (interrupts on) up to ~spins for a used entry: its len, or -1; *buf
 * (if given) is the buffer its head descriptor pointed at.
 */
long vq_wait_used(struct vdev *d, unsigned qi, unsigned long spins, void **buf);
/* The same, waiting until now_ms() reaches deadline_ms (real time). */
long vq_wait_used_until(struct vdev *d, unsigned qi, u64 deadline_ms, void **buf);
u8 vcfg_read8(struct vdev *d, u32 off);
u64 vcfg_read64(struct vdev *d, u32 off);

#endif
