/* SPDX-License-Identifier: MIT */
/*
 * Test helpers: a guest RAM, a driver-side split virtqueue, and a minimal
 * virtio-pci driver that talks to a device through the MMIO bus exactly as a
 * guest would (config space through ECAM, registers through BAR 0).
 */
#ifndef MERAK_TESTS_VTEST_H
#define MERAK_TESTS_VTEST_H

#include <string.h>
#include <unistd.h>

#include "devices/pci.h"
#include "util/types.h"
#include "virtio/virtio_pci.h"
#include "virtio/virtqueue.h"
#include "vm/bus.h"
#include "vm/mem.h"

#define VT_RAM	      (16 * MiB)
#define VT_ECAM	      0xE0000000ULL
#define VT_MMIO32     0xC0000000ULL
#define VT_MMIO64     0x100000000ULL

/* ---- driver side of a split virtqueue --------------------------------------- */

struct drvq {
	struct guest_mem *gm;
	u16 size;
	u64 desc, avail, used;
	u16 avail_idx, used_seen, next_desc;
};

static inline u8 *gp(struct guest_mem *gm, u64 gpa)
{
	return guest_mem_ptr(gm, gpa, 1);
}

static inline void drvq_init(struct drvq *q, struct guest_mem *gm, u64 base, u16 size)
{
	memset(q, 0, sizeof(*q));
	q->gm = gm;
	q->size = size;
	q->desc = base;
	q->avail = base + 16ULL * size;
	q->used = ALIGN_UP(q->avail + 6 + 2ULL * size, 4ULL);
	memset(gp(gm, base), 0, (size_t)(q->used + 6 + 8ULL * size - base));
}

static inline void drvq_set_desc(struct drvq *q, u16 i, u64 addr, u32 len, u16 flags, u16 next)
{
	u8 *d = gp(q->gm, q->desc + 16ULL * i);

	put_le64(d, addr);
	put_le32(d + 8, len);
	put_le16(d + 12, flags);
	put_le16(d + 14, next);
}

struct drv_buf {
	u64 gpa;
	u32 len;
	bool write;
};

/* Adds a chain of n buffers at the next free descriptors; returns its head. */
static inline u16 drvq_add(struct drvq *q, const struct drv_buf *b, unsigned n)
{
	u16 head = q->next_desc;

	for (unsigned i = 0; i < n; i++) {
		u16 idx = (u16)((q->next_desc + i) % q->size);
		u16 nxt = (u16)((idx + 1) % q->size);

		drvq_set_desc(q, idx, b[i].gpa, b[i].len,
			      (u16)((b[i].write ? VIRTQ_DESC_F_WRITE : 0) |
				    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)),
			      nxt);
	}
	q->next_desc = (u16)((q->next_desc + n) % q->size);
	return head;
}

/* Makes head available (publishes the avail index). */
static inline void drvq_publish(struct drvq *q, u16 head)
{
	put_le16(gp(q->gm, q->avail + 4 + 2ULL * (q->avail_idx % q->size)), head);
	q->avail_idx++;
	put_le16(gp(q->gm, q->avail + 2), q->avail_idx);
}

/* Takes the next used element; false if none. */
static inline bool drvq_used(struct drvq *q, u32 *id, u32 *len)
{
	u16 idx = get_le16(gp(q->gm, q->used + 2));
	const u8 *el;

	if (idx == q->used_seen)
		return false;
	el = gp(q->gm, q->used + 4 + 8ULL * (q->used_seen % q->size));
	*id = get_le32(el);
	*len = get_le32(el + 4);
	q->used_seen++;
	return true;
}

/* ---- a board in miniature ---------------------------------------------------------- */

struct vt_board {
	struct guest_mem gm;
	struct bus pio, mmio;
	struct pci_bus *pci;
	u64 msi_count;
	u64 last_msi_addr;
	u32 last_msi_data;
	bool irqfd_on;	/* each raise also writes irqfd, as KVM's irqfd is written */
	int irqfd;
};

static void vt_set_level(void *ctx, u32 gsi, bool level)
{
}

/* MSI routes without KVM: a route records its message, a raise counts it. */
static int vt_route_open(void *ctx, struct msi_route *r, struct err *e)
{
	*r = (struct msi_route){.fd = 1000};	/* never used as an fd */
	return 0;
}

static int vt_route_set(void *ctx, struct msi_route *r, bool on, u64 addr, u32 data,
			struct err *e)
{
	r->on = on;
	r->addr = addr;
	r->data = data;
	return 0;
}

static void vt_route_raise(void *ctx, struct msi_route *r)
{
	struct vt_board *b = ctx;

	__atomic_fetch_add(&b->msi_count, 1, __ATOMIC_SEQ_CST);
	b->last_msi_addr = r->addr;
	b->last_msi_data = r->data;
	if (b->irqfd_on) {
		u64 one = 1;

		if (write(b->irqfd, &one, sizeof(one)) < 0)
			b->irqfd_on = false;
	}
}

static void vt_route_close(void *ctx, struct msi_route *r)
{
	r->fd = -1;
}

static const struct irq_ops vt_irq_ops = {vt_set_level, vt_route_open, vt_route_set,
					  vt_route_raise, vt_route_close};

/* A vsock packet header (virtio 1.2, 5.10.6) as a driver writes and reads it. */
#define VT_VSOCK_HDR_LEN 44
struct vt_vsock_hdr {
	u64 src_cid, dst_cid;
	u32 src_port, dst_port, len;
	u16 type, op;
	u32 flags, buf_alloc, fwd_cnt;
};

static inline void vt_vsock_hdr_put(u8 *h, const struct vt_vsock_hdr *p)
{
	put_le64(h, p->src_cid);
	put_le64(h + 8, p->dst_cid);
	put_le32(h + 16, p->src_port);
	put_le32(h + 20, p->dst_port);
	put_le32(h + 24, p->len);
	put_le16(h + 28, p->type);
	put_le16(h + 30, p->op);
	put_le32(h + 32, p->flags);
	put_le32(h + 36, p->buf_alloc);
	put_le32(h + 40, p->fwd_cnt);
}

static inline void vt_vsock_hdr_get(const u8 *h, struct vt_vsock_hdr *p)
{
	p->src_cid = get_le64(h);
	p->dst_cid = get_le64(h + 8);
	p->src_port = get_le32(h + 16);
	p->dst_port = get_le32(h + 20);
	p->len = get_le32(h + 24);
	p->type = get_le16(h + 28);
	p->op = get_le16(h + 30);
	p->flags = get_le32(h + 32);
	p->buf_alloc = get_le32(h + 36);
	p->fwd_cnt = get_le32(h + 40);
}

static inline int vt_board_init(struct vt_board *b, bool mmio64)
{
	struct err e;
	struct pci_bus_config c = {
		.pio = &b->pio,
		.mmio = &b->mmio,
		.ecam_base = VT_ECAM,
		.ecam_size = 256 * MiB,
		.cfg_port = 0xcf8,
		.mmio32_base = VT_MMIO32,
		.mmio32_size = 512 * MiB,
		.mmio64_base = VT_MMIO64,
		.mmio64_size = mmio64 ? 64 * GiB : 0,
	};

	memset(b, 0, sizeof(*b));
	c.msi = (struct irq_line){.ops = &vt_irq_ops, .ctx = b};
	guest_mem_init(&b->gm);
	bus_init(&b->pio, "pio");
	bus_init(&b->mmio, "mmio");
	if (guest_mem_add_anon(&b->gm, 0, VT_RAM, MEM_RAM, &e) < 0)
		return -1;
	return pci_bus_create(&c, &b->pci, &e);
}

static inline void vt_board_free(struct vt_board *b)
{
	pci_bus_destroy(b->pci);
	bus_destroy(&b->pio);
	bus_destroy(&b->mmio);
	guest_mem_free(&b->gm);
}

static inline struct virtio_pci_env vt_env(struct vt_board *b)
{
	return (struct virtio_pci_env){.pci = b->pci, .mem = &b->gm};
}

static inline u32 cfg_rd(struct vt_board *b, unsigned slot, u32 off, u32 len)
{
	u32 v = 0;

	bus_read(&b->mmio, VT_ECAM + ((u64)slot << 15) + off, &v, len);
	return v;
}

static inline void cfg_wr(struct vt_board *b, unsigned slot, u32 off, u32 len, u32 v)
{
	bus_write(&b->mmio, VT_ECAM + ((u64)slot << 15) + off, &v, len);
}

/* ---- a virtio-pci driver ------------------------------------------------------------- */

struct vt_drv {
	struct vt_board *b;
	struct virtio_dev *vd;
	u64 bar;
	struct drvq q[VIRTIO_MAX_QUEUES];
};

static inline u64 vt_rd(struct vt_drv *d, u64 off, u32 len)
{
	u64 v = 0;

	bus_read(&d->b->mmio, d->bar + off, &v, len);
	return v;
}

static inline void vt_wr(struct vt_drv *d, u64 off, u32 len, u64 v)
{
	bus_write(&d->b->mmio, d->bar + off, &v, len);
}

/* Where the guest finds BAR 0 (64-bit), read from config space. */
static inline u64 vt_bar0(struct vt_board *b, unsigned slot)
{
	return ((u64)cfg_rd(b, slot, 0x10, 4) & ~0xfULL) | (u64)cfg_rd(b, slot, 0x14, 4) << 32;
}

/*
 * Brings a device up as a guest driver does: reset, ACKNOWLEDGE, DRIVER,
 * features (all offered, masked by `want`), FEATURES_OK, queues (vector i+1)
 * at 1 MiB steps from 1 MiB, MSI-X on, DRIVER_OK. Returns the final status.
 */
static inline u8 vt_drv_up(struct vt_drv *d, struct vt_board *b, struct virtio_dev *vd,
			   u64 want, u16 qsize)
{
	u64 feat;
	unsigned slot = vd->pci.slot;
	u32 msix_cap = vd->pci.msix.cap;

	d->b = b;
	d->vd = vd;
	d->bar = vt_bar0(b, slot);
	cfg_wr(b, slot, 0x04, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_wr(b, slot, msix_cap + 2, 2, PCI_MSIX_FLAGS_ENABLE);
	for (u16 v = 0; v <= vd->num_queues; v++)
		vt_wr(d, VIRTIO_PCI_MSIX_TABLE + 16ULL * v + 12, 4, 0);	/* unmask */
	vt_wr(d, 0x14, 1, 0);
	vt_wr(d, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vt_wr(d, 0x00, 4, 0);
	feat = vt_rd(d, 0x04, 4);
	vt_wr(d, 0x00, 4, 1);
	feat |= vt_rd(d, 0x04, 4) << 32;
	feat &= want;
	vt_wr(d, 0x08, 4, 0);
	vt_wr(d, 0x0c, 4, (u32)feat);
	vt_wr(d, 0x08, 4, 1);
	vt_wr(d, 0x0c, 4, (u32)(feat >> 32));
	vt_wr(d, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK);
	vt_wr(d, 0x10, 2, 0);
	for (u16 i = 0; i < vd->num_queues; i++) {
		struct drvq *q = &d->q[i];

		drvq_init(q, &b->gm, (1 + i) * MiB, qsize);
		vt_wr(d, 0x16, 2, i);
		vt_wr(d, 0x18, 2, qsize);
		vt_wr(d, 0x1a, 2, i + 1u);
		vt_wr(d, 0x20, 8, q->desc);
		vt_wr(d, 0x28, 8, q->avail);
		vt_wr(d, 0x30, 8, q->used);
		vt_wr(d, 0x1c, 2, 1);
	}
	vt_wr(d, 0x14, 1,
	      VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_FEATURES_OK |
		      VIRTIO_CONFIG_S_DRIVER_OK);
	return (u8)vt_rd(d, 0x14, 1);
}

static inline void vt_kick(struct vt_drv *d, u16 q)
{
	vt_wr(d, VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * q, 2, q);
}

/* Runs the device's worker loop until the queue has a used element or timeout. */
static inline bool vt_wait_used(struct vt_drv *d, u16 q, u32 *id, u32 *len, int ms)
{
	for (int i = 0; i < ms / 10 + 1; i++) {
		if (drvq_used(&d->q[q], id, len))
			return true;
		virtio_dev_poll(d->vd, 10);
	}
	return drvq_used(&d->q[q], id, len);
}

#endif
