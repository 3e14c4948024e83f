// SPDX-License-Identifier: MIT
/* The test guests' virtio-pci driver: see virtio.h. */
#include "virtio.h"

#define PCI_VENDOR_VIRTIO 0x1af4
#define PCI_CAP_VNDR	  0x09
#define PCI_CAP_MSIX	  0x11
#define VIRTIO_CAP_COMMON 1
#define VIRTIO_CAP_NOTIFY 2
#define VIRTIO_CAP_ISR	  3
#define VIRTIO_CAP_DEVICE 4

/* Common configuration structure offsets (virtio 1.2, 4.1.4.3). */
#define CC_DFSELECT  0x00
#define CC_DF	     0x04
#define CC_GFSELECT  0x08
#define CC_GF	     0x0c
#define CC_MSIX	     0x10
#define CC_NUMQ	     0x12
#define CC_STATUS    0x14
#define CC_Q_SELECT  0x16
#define CC_Q_SIZE    0x18
#define CC_Q_MSIX    0x1a
#define CC_Q_ENABLE  0x1c
#define CC_Q_NOFF    0x1e
#define CC_Q_DESC    0x20
#define CC_Q_DRIVER  0x28
#define CC_Q_DEVICE  0x30

static u64 ecam_base(const struct boot_info *bi)
{
	const u8 *mcfg = acpi_find(bi, "MCFG");

	CHECK(mcfg, "no MCFG table");
	return *(const u64 *)(mcfg + 44);
}

static volatile u8 *cfg_ptr(u64 ecam, unsigned slot, u32 off)
{
	return (volatile u8 *)(ecam + ((u64)slot << 15) + off);
}

static u32 cfg32(u64 ecam, unsigned slot, u32 off)
{
	return *(volatile u32 *)cfg_ptr(ecam, slot, off);
}

static void cfg_w32(u64 ecam, unsigned slot, u32 off, u32 v)
{
	*(volatile u32 *)cfg_ptr(ecam, slot, off) = v;
}

static void cfg_w16(u64 ecam, unsigned slot, u32 off, u16 v)
{
	*(volatile u16 *)cfg_ptr(ecam, slot, off) = v;
}

static u8 r8(u64 a) { return *(volatile u8 *)a; }
static u16 r16(u64 a) { return *(volatile u16 *)a; }
static u32 r32(u64 a) { return *(volatile u32 *)a; }
static void w8(u64 a, u8 v) { *(volatile u8 *)a = v; }
static void w16(u64 a, u16 v) { *(volatile u16 *)a = v; }
static void w32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static void w64(u64 a, u64 v) { w32(a, (u32)v); w32(a + 4, (u32)(v >> 32)); }

/*
 * Places BAR idx of the function at *next (aligned to its size) unless it
 * already is placed there; returns its address. merak puts every region in
 * one 64-bit BAR0, QEMU spreads them (MSI-X in BAR1, virtio in BAR4).
 */
static u64 bar_place(u64 ecam, unsigned slot, unsigned idx, u64 *next, u64 *placed)
{
	u32 off = 0x10 + 4 * idx, lo = cfg32(ecam, slot, off), sz;
	bool is64 = (lo & 0x6) == 0x4;

	if (placed[idx])
		return placed[idx];
	cfg_w32(ecam, slot, off, 0xffffffffu);
	sz = ~(cfg32(ecam, slot, off) & ~0xfu) + 1;
	*next = (*next + sz - 1) & ~((u64)sz - 1);
	cfg_w32(ecam, slot, off, (u32)*next | (lo & 0xf));
	if (is64)
		cfg_w32(ecam, slot, off + 4, 0);
	CHECK((cfg32(ecam, slot, off) & ~0xfu) == (u32)*next, "BAR%u did not move", idx);
	placed[idx] = *next;
	*next += sz;
	return placed[idx];
}

bool vdev_find(const struct boot_info *bi, u16 type, unsigned index, u64 bar32, struct vdev *d)
{
	u64 ecam = ecam_base(bi);

	for (unsigned slot = 1; slot < 32; slot++) {
		u32 id = cfg32(ecam, slot, 0);
		u64 placed[6] = {0}, next = bar32;
		u8 cap;

		if ((id & 0xffff) != PCI_VENDOR_VIRTIO || (id >> 16) != 0x1040u + type)
			continue;
		if (index--)
			continue;
		*d = (struct vdev){0};
		/* Move the BARs used below 4 GiB, as firmware would, then decode. */
		cfg_w16(ecam, slot, 0x04, 0);
		for (cap = (u8)cfg32(ecam, slot, 0x34); cap; cap = *cfg_ptr(ecam, slot, cap + 1)) {
			u8 id8 = *cfg_ptr(ecam, slot, cap);

			if (id8 == PCI_CAP_MSIX) {
				u32 t = cfg32(ecam, slot, cap + 4);

				d->msix = bar_place(ecam, slot, t & 7, &next, placed) + (t & ~7u);
				/* Enable MSI-X (every vector starts masked in the table). */
				cfg_w16(ecam, slot, cap + 2, 0x8000);
			} else if (id8 == PCI_CAP_VNDR) {
				u8 kind = *cfg_ptr(ecam, slot, cap + 3), bar = *cfg_ptr(ecam, slot, cap + 4);
				u64 at;

				if (kind < VIRTIO_CAP_COMMON || kind > VIRTIO_CAP_DEVICE)
					continue;	/* PCI config access, shared memory... */
				CHECK(bar < 6, "virtio cap in BAR %u", bar);
				at = bar_place(ecam, slot, bar, &next, placed) + cfg32(ecam, slot, cap + 8);
				if (kind == VIRTIO_CAP_COMMON)
					d->common = at;
				else if (kind == VIRTIO_CAP_NOTIFY) {
					d->notify = at;
					d->notify_mult = cfg32(ecam, slot, cap + 16);
				} else if (kind == VIRTIO_CAP_ISR)
					d->isr = at;
				else if (kind == VIRTIO_CAP_DEVICE)
					d->devcfg = at;
			}
		}
		cfg_w16(ecam, slot, 0x04, 0x2 | 0x4);	/* memory, bus master */
		CHECK(d->common && d->notify && d->isr && d->msix,
		      "virtio %u at slot %u lacks a capability", type, slot);
		return true;
	}
	return false;
}

static void msix_set(struct vdev *d, unsigned entry, u32 vector)
{
	u64 e = d->msix + entry * 16;

	w32(e, 0xfee00000u | lapic_id() << 12);
	w32(e + 4, 0);
	w32(e + 8, vector);
	w32(e + 12, 0);	/* unmask */
}

u8 vdev_status(struct vdev *d)
{
	return r8(d->common + CC_STATUS);
}

void vdev_reset(struct vdev *d)
{
	w8(d->common + CC_STATUS, 0);
	for (unsigned i = 0; i < 100000 && vdev_status(d); i++)
		cpu_relax();
	CHECK(vdev_status(d) == 0, "device status stays 0x%x after reset", vdev_status(d));
}

void vdev_init(struct vdev *d, unsigned nq, unsigned vec_base)
{
	vdev_init_features(d, nq, vec_base, 0);
}

void vdev_init_features(struct vdev *d, unsigned nq, unsigned vec_base, u32 features)
{
	u8 st;

	vdev_reset(d);
	w8(d->common + CC_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER);
	w32(d->common + CC_DFSELECT, 1);
	CHECK(r32(d->common + CC_DF) & 1, "device lacks VERSION_1");
	w32(d->common + CC_DFSELECT, 0);
	CHECK((r32(d->common + CC_DF) & features) == features, "device lacks features 0x%x",
	      features & ~r32(d->common + CC_DF));
	w32(d->common + CC_GFSELECT, 0);
	w32(d->common + CC_GF, features);
	w32(d->common + CC_GFSELECT, 1);
	w32(d->common + CC_GF, 1);
	w8(d->common + CC_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	st = vdev_status(d);
	CHECK(st & VIRTIO_STATUS_FEATURES_OK, "FEATURES_OK refused (status 0x%x)", st);
	CHECK(nq <= VQ_MAX && nq <= r16(d->common + CC_NUMQ), "device has %u queues",
	      r16(d->common + CC_NUMQ));
	msix_set(d, nq, VEC_TEST_BASE + vec_base + nq);
	w16(d->common + CC_MSIX, (u16)nq);
	CHECK(r16(d->common + CC_MSIX) == nq, "config vector refused");
	for (unsigned i = 0; i < nq; i++) {
		struct vq *q = &d->q[i];
		u16 max;

		for (size_t k = 0; k < sizeof(*q); k++)
			((volatile u8 *)q)[k] = 0;
		q->index = (u16)i;
		w16(d->common + CC_Q_SELECT, (u16)i);
		max = r16(d->common + CC_Q_SIZE);
		CHECK(max >= VQ_SIZE, "queue %u has only %u entries", i, max);
		w16(d->common + CC_Q_SIZE, VQ_SIZE);
		msix_set(d, i, VEC_TEST_BASE + vec_base + i);
		w16(d->common + CC_Q_MSIX, (u16)i);
		CHECK(r16(d->common + CC_Q_MSIX) == i, "queue %u vector refused", i);
		w64(d->common + CC_Q_DESC, (u64)q->desc);
		w64(d->common + CC_Q_DRIVER, (u64)&q->avail);
		w64(d->common + CC_Q_DEVICE, (u64)&q->used);
		q->size = VQ_SIZE;
		q->notify_off = r16(d->common + CC_Q_NOFF);
		w16(d->common + CC_Q_ENABLE, 1);
	}
	w8(d->common + CC_STATUS, VIRTIO_STATUS_ACK | VIRTIO_STATUS_DRIVER |
					  VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	st = vdev_status(d);
	CHECK(st & VIRTIO_STATUS_DRIVER_OK, "DRIVER_OK refused (status 0x%x)", st);
}

void vq_publish(struct vdev *d, unsigned qi, u16 head)
{
	struct vq *q = &d->q[qi];

	q->avail.ring[q->avail.idx % q->size] = head;
	__asm__ volatile("" ::: "memory");	/* x86: stores are not reordered */
	q->avail.idx++;
	__asm__ volatile("mfence" ::: "memory");
	w16(d->notify + (u64)q->notify_off * d->notify_mult, q->index);
}

void vq_submit(struct vdev *d, unsigned qi, const struct vbuf *b, unsigned n)
{
	struct vq *q = &d->q[qi];
	u16 head = q->next_desc;

	CHECK(n >= 1 && n <= q->size, "chain of %u", n);
	/* Few chains are ever in flight: taking descriptors in turn keeps them apart. */
	q->next_desc = (u16)((head + n) % q->size);
	for (unsigned i = 0; i < n; i++) {
		struct vring_desc *dd = &q->desc[(head + i) % q->size];

		dd->addr = (u64)b[i].addr;
		dd->len = b[i].len;
		dd->flags = (u16)((b[i].device_writes ? VRING_DESC_F_WRITE : 0) |
				  (i + 1 < n ? VRING_DESC_F_NEXT : 0));
		dd->next = (u16)((head + i + 1) % q->size);
	}
	vq_publish(d, qi, head);
}

/* Takes the next used entry of queue qi (interrupts off): its len, or -1. */
static long vq_take_used(struct vq *q, void **buf)
{
	long len;

	cli();
	if (*(volatile u16 *)&q->used.idx == q->last_used)
		return -1;
	len = q->used.ring[q->last_used % q->size].len;
	if (buf)
		*buf = (void *)q->desc[q->used.ring[q->last_used % q->size].id % q->size].addr;
	q->last_used++;
	return len;
}

long vq_wait_used(struct vdev *d, unsigned qi, unsigned long spins, void **buf)
{
	struct vq *q = &d->q[qi];

	for (unsigned long i = 0; i < spins; i++) {
		if (*(volatile u16 *)&q->used.idx != q->last_used)
			break;
		sti();
		cpu_relax();
	}
	return vq_take_used(q, buf);
}

long vq_wait_used_until(struct vdev *d, unsigned qi, u64 deadline_ms, void **buf)
{
	struct vq *q = &d->q[qi];

	while (*(volatile u16 *)&q->used.idx == q->last_used && now_ms() < deadline_ms) {
		sti();
		cpu_relax();
	}
	return vq_take_used(q, buf);
}

u8 vcfg_read8(struct vdev *d, u32 off)
{
	return r8(d->devcfg + off);
}

u64 vcfg_read64(struct vdev *d, u32 off)
{
	return r32(d->devcfg + off) | (u64)r32(d->devcfg + off + 4) << 32;
}
