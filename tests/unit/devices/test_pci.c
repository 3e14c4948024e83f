// SPDX-License-Identifier: MIT
/* PCI host bridge: config mechanisms, BAR sizing and moves, capabilities, MSI-X. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../virtio/vtest.h"
#include "devices/lpc.h"

struct probe {
	u64 last_off;
	u32 reads, writes;
	u64 moved_to;
	bool mapped;
	unsigned moves;
};

static void p_read(void *opaque, unsigned bar, u64 off, void *data, u32 len)
{
	struct probe *p = opaque;

	p->reads++;
	p->last_off = off;
	memset(data, 0xab, len);
}

static void p_write(void *opaque, unsigned bar, u64 off, const void *data, u32 len)
{
	struct probe *p = opaque;

	p->writes++;
	p->last_off = off;
}

static void p_moved(void *opaque, unsigned bar, u64 addr, bool mapped)
{
	struct probe *p = opaque;

	if (bar != 0)
		return;
	p->moved_to = addr;
	p->mapped = mapped;
	p->moves++;
}

static const struct pci_dev_ops probe_ops = {
	.bar_read = p_read, .bar_write = p_write, .bar_moved = p_moved};

struct fx {
	struct vt_board b;
	struct pci_dev d;
	struct probe p;
	struct err e;
};

static struct fx *mk(bool mmio64)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_int_equal(vt_board_init(&f->b, mmio64), 0);
	assert_int_equal(pci_dev_init(f->b.pci, &f->d, 0x1af4, 0x1042, 0x010000, 0x1af4, 0x42,
				      "test", &f->e),
			 0);
	assert_int_equal(pci_dev_add_bar(&f->d, 0, PCI_BAR_MEM64, 0x8000, &f->e), 0);
	assert_int_equal(pci_dev_add_bar(&f->d, 2, PCI_BAR_MEM32, 0x1000, &f->e), 0);
	assert_int_equal(pci_dev_add_msix(&f->d, 4, 0, 0x4000, 0x5000, &f->e), 0);
	assert_int_equal(pci_dev_add_cap(&f->d, PCI_CAP_ID_VNDR, 16, &f->e), 0x4c);
	assert_int_equal(pci_dev_realize(&f->d, &probe_ops, &f->p, &f->e), 0);
	return f;
}

static void rm(struct fx *f)
{
	vt_board_free(&f->b);
	free(f);
}

static void test_ids_and_missing_devices(void **state)
{
	struct fx *f = mk(true);

	/* Host bridge at 00:00.0, our device at 00:01.0. */
	assert_int_equal(cfg_rd(&f->b, 0, 0, 4), 0x29c08086);
	assert_int_equal(cfg_rd(&f->b, 0, 0x0a, 2), 0x0600);
	assert_int_equal(cfg_rd(&f->b, 1, 0, 4), 0x10421af4);
	assert_int_equal(cfg_rd(&f->b, 1, 0x2e, 2), 0x42);
	assert_int_equal(cfg_rd(&f->b, 1, 0x08, 4) >> 8, 0x010000);
	assert_int_equal(cfg_rd(&f->b, 1, 0x08, 1), 1); /* revision */
	/* Empty slots, other functions and other buses read all ones. */
	assert_int_equal(cfg_rd(&f->b, 2, 0, 4), 0xffffffffu);
	u32 v;
	bus_read(&f->b.mmio, VT_ECAM + (1u << 12) + (1u << 15), &v, 4); /* 00:01.1 */
	assert_int_equal(v, 0xffffffffu);
	bus_read(&f->b.mmio, VT_ECAM + (1u << 20), &v, 4); /* bus 1 */
	assert_int_equal(v, 0xffffffffu);
	/* Read-only fields ignore writes. */
	cfg_wr(&f->b, 1, 0, 4, 0);
	assert_int_equal(cfg_rd(&f->b, 1, 0, 4), 0x10421af4);
	/* Misaligned access: all ones. */
	assert_int_equal(cfg_rd(&f->b, 1, 1, 2), 0xffff);
	rm(f);
}

static void test_cf8_mechanism(void **state)
{
	struct fx *f = mk(true);
	u32 a = 0x80000000u | (1u << 11), v = 0;

	bus_write(&f->b.pio, 0xcf8, &a, 4);
	bus_read(&f->b.pio, 0xcfc, &v, 4);
	assert_int_equal(v, 0x10421af4);
	bus_read(&f->b.pio, 0xcfe, &v, 2);
	assert_int_equal(v & 0xffff, 0x1042);
	/* The latch reads back; without the enable bit data reads all ones. */
	bus_read(&f->b.pio, 0xcf8, &v, 4);
	assert_int_equal(v, a);
	a = 1u << 11;
	bus_write(&f->b.pio, 0xcf8, &a, 4);
	bus_read(&f->b.pio, 0xcfc, &v, 4);
	assert_int_equal(v, 0xffffffffu);
	/* Writes through the data port land in config space. */
	a = 0x80000000u | (1u << 11) | 0x3c;
	bus_write(&f->b.pio, 0xcf8, &a, 4);
	v = 0x0b;
	bus_write(&f->b.pio, 0xcfc, &v, 1);
	assert_int_equal(cfg_rd(&f->b, 1, 0x3c, 1), 0x0b);
	rm(f);
}

static void test_bar_sizing_probe(void **state)
{
	struct fx *f = mk(true);
	u32 lo = cfg_rd(&f->b, 1, 0x10, 4), hi = cfg_rd(&f->b, 1, 0x14, 4);

	/* Pre-assigned in the 64-bit window, decode on. */
	assert_int_equal(lo & 0xf, 0x4);
	assert_int_equal(((u64)hi << 32 | (lo & ~0xfu)), VT_MMIO64);
	assert_int_equal(cfg_rd(&f->b, 1, 0x04, 2) & PCI_COMMAND_MEMORY, PCI_COMMAND_MEMORY);
	/* The 32-bit BAR went to the 32-bit window. */
	assert_int_equal(cfg_rd(&f->b, 1, 0x18, 4), VT_MMIO32);

	/* Sizing as an OS does: decode off, all ones, read back, restore. */
	cfg_wr(&f->b, 1, 0x04, 2, 0);
	assert_false(f->p.mapped);
	cfg_wr(&f->b, 1, 0x10, 4, 0xffffffff);
	cfg_wr(&f->b, 1, 0x14, 4, 0xffffffff);
	assert_int_equal(cfg_rd(&f->b, 1, 0x10, 4), 0xffff8004u);
	assert_int_equal(cfg_rd(&f->b, 1, 0x14, 4), 0xffffffffu);
	cfg_wr(&f->b, 1, 0x18, 4, 0xffffffff);
	assert_int_equal(cfg_rd(&f->b, 1, 0x18, 4), 0xfffff000u);
	/* Unused BARs read as zero even after all ones. */
	cfg_wr(&f->b, 1, 0x20, 4, 0xffffffff);
	assert_int_equal(cfg_rd(&f->b, 1, 0x20, 4), 0);
	rm(f);
}

static void test_bar_move(void **state)
{
	struct fx *f = mk(true);
	u64 old = VT_MMIO64, neu = 0x2000000000ULL;
	u8 v[4];

	assert_true(f->p.mapped);
	assert_int_equal(f->p.moved_to, old);
	assert_true(bus_read(&f->b.mmio, old + 0x10, v, 4));
	assert_int_equal(f->p.last_off, 0x10);

	cfg_wr(&f->b, 1, 0x04, 2, 0);
	assert_false(bus_read(&f->b.mmio, old + 0x10, v, 4));
	cfg_wr(&f->b, 1, 0x10, 4, (u32)neu | 4);
	cfg_wr(&f->b, 1, 0x14, 4, (u32)(neu >> 32));
	assert_false(f->p.mapped);
	cfg_wr(&f->b, 1, 0x04, 2, PCI_COMMAND_MEMORY);
	assert_true(f->p.mapped);
	assert_int_equal(f->p.moved_to, neu);
	assert_false(bus_read(&f->b.mmio, old + 0x10, v, 4));
	assert_true(bus_write(&f->b.mmio, neu + 0x20, v, 4));
	assert_int_equal(f->p.last_off, 0x20);
	/* A BAR moved onto ECAM overlaps it: left unmapped, no crash. */
	cfg_wr(&f->b, 1, 0x04, 2, 0);
	cfg_wr(&f->b, 1, 0x10, 4, (u32)VT_ECAM | 4);
	cfg_wr(&f->b, 1, 0x14, 4, 0);
	cfg_wr(&f->b, 1, 0x04, 2, PCI_COMMAND_MEMORY);
	assert_false(f->p.mapped);
	assert_int_equal(cfg_rd(&f->b, 0, 0, 4), 0x29c08086);
	rm(f);
}

static void test_fallback_32bit_window(void **state)
{
	struct fx *f = mk(false);

	/* Still a 64-bit BAR, placed below 4 GiB; the larger BAR first. */
	assert_int_equal(cfg_rd(&f->b, 1, 0x10, 4), (u32)VT_MMIO32 | 4);
	assert_int_equal(cfg_rd(&f->b, 1, 0x14, 4), 0);
	assert_int_equal(cfg_rd(&f->b, 1, 0x18, 4), VT_MMIO32 + 0x8000);
	rm(f);
}

static void test_capability_walk(void **state)
{
	struct fx *f = mk(true);
	u8 ids[8];
	unsigned n = 0;

	assert_int_equal(cfg_rd(&f->b, 1, 0x06, 2) & PCI_STATUS_CAP_LIST, PCI_STATUS_CAP_LIST);
	for (u32 p = cfg_rd(&f->b, 1, 0x34, 1); p && n < 8; p = cfg_rd(&f->b, 1, p + 1, 1))
		ids[n++] = (u8)cfg_rd(&f->b, 1, p, 1);
	assert_int_equal(n, 2);
	assert_int_equal(ids[0], PCI_CAP_ID_MSIX);
	assert_int_equal(ids[1], PCI_CAP_ID_VNDR);
	/* MSI-X: 4 vectors, table BIR 0 offset 0x4000, PBA BIR 0 offset 0x5000. */
	assert_int_equal(cfg_rd(&f->b, 1, 0x42, 2), 3);
	assert_int_equal(cfg_rd(&f->b, 1, 0x44, 4), 0x4000);
	assert_int_equal(cfg_rd(&f->b, 1, 0x48, 4), 0x5000);
	/* Capability bytes are read-only. */
	cfg_wr(&f->b, 1, 0x44, 4, 0x1234);
	assert_int_equal(cfg_rd(&f->b, 1, 0x44, 4), 0x4000);
	/* No extended capabilities. */
	assert_int_equal(cfg_rd(&f->b, 1, 0x100, 4), 0);
	rm(f);
}

static void test_msix_mask_and_pending(void **state)
{
	struct fx *f = mk(true);
	u64 bar = VT_MMIO64;
	u32 v;
	u64 pba;

	/* Disabled: nothing happens. */
	assert_false(pci_msix_notify(&f->d, 1));
	assert_int_equal(f->b.msi_count, 0);
	cfg_wr(&f->b, 1, 0x42, 2, PCI_MSIX_FLAGS_ENABLE);
	/* Vectors start masked: the message is pending. */
	bus_read(&f->b.mmio, bar + 0x4000 + 16 + 12, &v, 4);
	assert_int_equal(v, 1);
	v = 0xfee01000;
	bus_write(&f->b.mmio, bar + 0x4000 + 16, &v, 4);
	v = 0;
	bus_write(&f->b.mmio, bar + 0x4000 + 16 + 4, &v, 4);
	v = 0x4041;
	bus_write(&f->b.mmio, bar + 0x4000 + 16 + 8, &v, 4);
	assert_false(pci_msix_notify(&f->d, 1));
	bus_read(&f->b.mmio, bar + 0x5000, &pba, 8);
	assert_int_equal(pba, 2);
	assert_int_equal(f->b.msi_count, 0);
	/* Unmasking delivers the pending message and clears the bit. */
	v = 0;
	bus_write(&f->b.mmio, bar + 0x4000 + 16 + 12, &v, 4);
	assert_int_equal(f->b.msi_count, 1);
	assert_int_equal(f->b.last_msi_addr, 0xfee01000);
	assert_int_equal(f->b.last_msi_data, 0x4041);
	bus_read(&f->b.mmio, bar + 0x5000, &pba, 8);
	assert_int_equal(pba, 0);
	assert_true(pci_msix_notify(&f->d, 1));
	assert_int_equal(f->b.msi_count, 2);
	/* Function mask holds every vector; clearing it releases them. */
	cfg_wr(&f->b, 1, 0x42, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	assert_false(pci_msix_notify(&f->d, 1));
	assert_int_equal(f->b.msi_count, 2);
	cfg_wr(&f->b, 1, 0x42, 2, PCI_MSIX_FLAGS_ENABLE);
	assert_int_equal(f->b.msi_count, 3);
	/* Out-of-range vectors and NO_VECTOR are ignored; the PBA is read-only. */
	assert_false(pci_msix_notify(&f->d, 4));
	assert_false(pci_msix_notify(&f->d, PCI_MSIX_NO_VECTOR));
	pba = ~0ULL;
	bus_write(&f->b.mmio, bar + 0x5000, &pba, 8);
	bus_read(&f->b.mmio, bar + 0x5000, &pba, 8);
	assert_int_equal(pba, 0);
	/* Odd-sized table accesses are refused; other BAR offsets reach the device. */
	u16 w = 0;
	bus_read(&f->b.mmio, bar + 0x4000, &w, 2);
	assert_int_equal(w, 0xffff);
	bus_read(&f->b.mmio, bar + 0x100, &v, 4);
	assert_int_equal(v, 0xabababab);
	rm(f);
}

static void test_errors(void **state)
{
	struct vt_board b;
	struct pci_dev *d = calloc(PCI_MAX_SLOTS + 1, sizeof(*d));
	struct err e;

	assert_int_equal(vt_board_init(&b, true), 0);
	assert_int_equal(pci_dev_init(b.pci, &d[0], 1, 2, 0, 0, 0, "x", &e), 0);
	assert_int_equal(pci_dev_add_bar(&d[0], 5, PCI_BAR_MEM64, 4096, &e), -EINVAL);
	assert_string_equal(e.msg, "pci x: BAR5 does not fit");
	assert_int_equal(pci_dev_add_bar(&d[0], 0, PCI_BAR_MEM64, 4096, &e), 0);
	assert_int_equal(pci_dev_add_bar(&d[0], 1, PCI_BAR_MEM32, 4096, &e), -EEXIST);
	assert_int_equal(pci_dev_add_msix(&d[0], 100, 0, 0, 0x800, &e), -EINVAL);
	assert_string_equal(e.msg, "pci x: MSI-X with 100 vectors does not fit BAR0");
	/* Fill bus 0: slot 0 is the host bridge, so 31 devices fit. */
	for (unsigned i = 0; i < PCI_MAX_SLOTS - 1; i++) {
		assert_int_equal(pci_dev_init(b.pci, &d[i], 1, 2, 0, 0, 0, "x", &e), 0);
		assert_int_equal(pci_dev_realize(&d[i], NULL, NULL, &e), 0);
	}
	assert_int_equal(pci_dev_init(b.pci, &d[PCI_MAX_SLOTS], 1, 2, 0, 0, 0, "y", &e), -ENOSPC);
	assert_string_equal(e.msg, "pci y: all 32 slots of bus 0 are taken");
	vt_board_free(&b);
	free(d);
}

/* A device removed at run time gives back its slot and its BAR space (hotplug). */
static void test_slot_and_bar_reuse(void **state)
{
	struct vt_board b;
	struct pci_dev d[3];
	struct err e;
	u64 a0, a1;

	memset(d, 0, sizeof(d));
	assert_int_equal(vt_board_init(&b, false), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pci_dev_init(b.pci, &d[i], 1, 2, 0, 0, 0, "x", &e), 0);
		assert_int_equal(pci_dev_add_bar(&d[i], 0, PCI_BAR_MEM32, 0x4000, &e), 0);
		assert_int_equal(pci_dev_realize(&d[i], NULL, NULL, &e), 0);
	}
	a0 = d[0].bars[0].addr;
	a1 = d[1].bars[0].addr;
	assert_true(a0 != a1);
	pci_dev_unrealize(&d[0]);
	/* The next device takes the freed slot and the freed range, not fresh ones. */
	assert_int_equal(pci_dev_init(b.pci, &d[2], 1, 2, 0, 0, 0, "y", &e), 0);
	assert_int_equal(d[2].slot, d[0].slot);
	assert_int_equal(pci_dev_add_bar(&d[2], 0, PCI_BAR_MEM32, 0x4000, &e), 0);
	assert_int_equal(pci_dev_realize(&d[2], NULL, NULL, &e), 0);
	assert_int_equal(d[2].bars[0].addr, a0);
	/* A bigger BAR skips the busy ranges and stays naturally aligned. */
	pci_dev_unrealize(&d[2]);
	memset(&d[2], 0, sizeof(d[2]));
	assert_int_equal(pci_dev_init(b.pci, &d[2], 1, 2, 0, 0, 0, "z", &e), 0);
	assert_int_equal(pci_dev_add_bar(&d[2], 0, PCI_BAR_MEM32, 0x10000, &e), 0);
	assert_int_equal(pci_dev_realize(&d[2], NULL, NULL, &e), 0);
	assert_int_equal(d[2].bars[0].addr % 0x10000, 0);
	assert_true(d[2].bars[0].addr >= a1 + 0x4000 || d[2].bars[0].addr + 0x10000 <= a1);
	pci_dev_unrealize(&d[1]);
	pci_dev_unrealize(&d[2]);
	vt_board_free(&b);
}

static u32 ecam_rd(struct vt_board *b, u64 base, unsigned slot, u32 off, bool *claimed)
{
	u32 v = 0;

	*claimed = bus_read(&b->mmio, base + ((u64)slot << 15) + off, &v, 4);
	return v;
}

static void hb_wr(struct vt_board *b, u32 off, u32 v)
{
	u32 a = 0x80000000u | off;

	/* Through the ports: the ECAM window itself may be moving. */
	bus_write(&b->pio, 0xcf8, &a, 4);
	bus_write(&b->pio, 0xcfc, &v, 4);
}

static void test_pciexbar_moves_ecam(void **state)
{
	struct fx *f = mk(true);
	bool hit;

	/* Reads back where merak put ECAM: enabled, 256 buses. */
	assert_int_equal(cfg_rd(&f->b, 0, PCI_HOST_PCIEXBAR, 4), (u32)VT_ECAM | 1);
	assert_int_equal(cfg_rd(&f->b, 0, PCI_HOST_PCIEXBAR + 4, 4), 0);
	/* OVMF's sequence: high dword, then base | enable in the low one. */
	hb_wr(&f->b, PCI_HOST_PCIEXBAR + 4, 0);
	hb_wr(&f->b, PCI_HOST_PCIEXBAR, 0xB0000000u | 1);
	assert_int_equal(ecam_rd(&f->b, 0xB0000000ULL, 1, 0, &hit), 0x10421af4);
	assert_true(hit);
	ecam_rd(&f->b, VT_ECAM, 1, 0, &hit);
	assert_false(hit);
	/* 64 buses (length code 2): bits below 64 MiB are not an address. */
	hb_wr(&f->b, PCI_HOST_PCIEXBAR, 0xB4000000u | 0x3ff0u | 4 | 1);
	assert_int_equal(ecam_rd(&f->b, 0xB4000000ULL, 0, PCI_HOST_PCIEXBAR, &hit), 0xB4000000u | 4 | 1);
	assert_int_equal(ecam_rd(&f->b, 0xB4000000ULL, 0, 0, &hit), 0x29c08086);
	assert_true(hit);
	ecam_rd(&f->b, 0xB4000000ULL + 64 * MiB, 0, 0, &hit);
	assert_false(hit);
	/* Disabled, or the reserved length: no window; the ports still work. */
	hb_wr(&f->b, PCI_HOST_PCIEXBAR, 0xB4000000u);
	ecam_rd(&f->b, 0xB4000000ULL, 0, 0, &hit);
	assert_false(hit);
	hb_wr(&f->b, PCI_HOST_PCIEXBAR, 0xB0000000u | 6 | 1);
	ecam_rd(&f->b, 0xB0000000ULL, 0, 0, &hit);
	assert_false(hit);
	/* Above 4 GiB (bits 35:32), then back home. */
	hb_wr(&f->b, PCI_HOST_PCIEXBAR + 4, 0x8);
	hb_wr(&f->b, PCI_HOST_PCIEXBAR, 1);
	assert_int_equal(ecam_rd(&f->b, 0x800000000ULL, 1, 0, &hit), 0x10421af4);
	assert_true(hit);
	hb_wr(&f->b, PCI_HOST_PCIEXBAR + 4, 0);
	hb_wr(&f->b, PCI_HOST_PCIEXBAR, (u32)VT_ECAM | 1);
	assert_int_equal(cfg_rd(&f->b, 1, 0, 4), 0x10421af4);
	rm(f);
}

static void test_pciexbar_over_a_bar(void **state)
{
	struct fx *f = mk(false);
	u64 bar = cfg_rd(&f->b, 1, PCI_BASE_ADDRESS_0, 4) & ~0xfULL;
	bool hit;

	/* ECAM over the device's BAR cannot register: the window stays off, merak runs on. */
	hb_wr(&f->b, PCI_HOST_PCIEXBAR, (u32)(bar & ~(256 * MiB - 1)) | 1);
	ecam_rd(&f->b, bar & ~(256 * MiB - 1), 0, 0, &hit);
	assert_false(f->b.pci->ecam_registered);
	hb_wr(&f->b, PCI_HOST_PCIEXBAR, (u32)VT_ECAM | 1);
	assert_int_equal(cfg_rd(&f->b, 0, 0, 4), 0x29c08086);
	rm(f);
}

static void test_lpc_function(void **state)
{
	struct vt_board b;
	struct lpc *l;
	struct err e;
	struct pci_dev d;

	assert_int_equal(vt_board_init(&b, true), 0);
	assert_int_equal(lpc_create(b.pci, 0x600, &l, &e), 0);
	assert_int_equal(cfg_rd(&b, LPC_SLOT, 0, 4), 0x29188086);
	assert_int_equal(cfg_rd(&b, LPC_SLOT, 0x08, 4) >> 8, 0x060100);
	/* The PM block is already where firmware would put it; writes do not move it. */
	assert_int_equal(cfg_rd(&b, LPC_SLOT, LPC_PMBASE, 4), 0x601);
	assert_int_equal(cfg_rd(&b, LPC_SLOT, LPC_ACPI_CNTL, 1), LPC_ACPI_EN);
	cfg_wr(&b, LPC_SLOT, LPC_PMBASE, 4, 0xb001);
	cfg_wr(&b, LPC_SLOT, LPC_ACPI_CNTL, 1, 0);
	assert_int_equal(cfg_rd(&b, LPC_SLOT, LPC_PMBASE, 4), 0x601);
	assert_int_equal(cfg_rd(&b, LPC_SLOT, LPC_ACPI_CNTL, 1), LPC_ACPI_EN);
	assert_true(cfg_rd(&b, LPC_SLOT, PCI_COMMAND, 2) & PCI_COMMAND_IO);
	/* PIRQ routing starts unrouted and is storage. */
	assert_int_equal(cfg_rd(&b, LPC_SLOT, LPC_PIRQ_ROUTE_LO, 4), 0x80808080);
	cfg_wr(&b, LPC_SLOT, LPC_PIRQ_ROUTE_HI, 4, 0x0b0b0a0a);
	assert_int_equal(cfg_rd(&b, LPC_SLOT, LPC_PIRQ_ROUTE_HI, 4), 0x0b0b0a0a);
	/* Other functions fill the free slots around it. */
	assert_int_equal(pci_dev_init(b.pci, &d, 1, 2, 0, 0, 0, "x", &e), 0);
	assert_int_equal(d.slot, 1);
	assert_int_equal(pci_dev_init_slot(b.pci, &d, LPC_SLOT, 1, 2, 0, 0, 0, "y", &e), -EBUSY);
	assert_string_equal(e.msg, "pci y: slot 31 is not free");
	lpc_destroy(l);
	assert_int_equal(cfg_rd(&b, LPC_SLOT, 0, 4), 0xffffffffu);
	vt_board_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_and_missing_devices),
		cmocka_unit_test(test_cf8_mechanism),
		cmocka_unit_test(test_bar_sizing_probe),
		cmocka_unit_test(test_bar_move),
		cmocka_unit_test(test_fallback_32bit_window),
		cmocka_unit_test(test_capability_walk),
		cmocka_unit_test(test_msix_mask_and_pending),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_slot_and_bar_reuse),
		cmocka_unit_test(test_pciexbar_moves_ecam),
		cmocka_unit_test(test_pciexbar_over_a_bar),
		cmocka_unit_test(test_lpc_function),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
