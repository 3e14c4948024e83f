// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/ioapic.h"

struct rec {
	struct ioapic *io;
	struct {
		u64 addr;
		u32 data;
	} msi[64];
	unsigned n_msi;
	struct {
		unsigned pin;
		u64 addr;
		u32 data;
		bool masked;
	} route[64];
	unsigned n_route;
	int eoi_from_msi; /* > 0: send_msi calls ioapic_eoi that many times */
};

static void rec_msi(void *ctx, u64 addr, u32 data)
{
	struct rec *r = ctx;

	assert_true(r->n_msi < ARRAY_SIZE(r->msi));
	r->msi[r->n_msi].addr = addr;
	r->msi[r->n_msi].data = data;
	r->n_msi++;
	/* Recursion into the IOAPIC, as a guest EOI racing a delivery could cause. */
	if (r->eoi_from_msi > 0) {
		r->eoi_from_msi--;
		ioapic_eoi(r->io, data & 0xff);
	}
}

static void rec_route(void *ctx, unsigned pin, u64 addr, u32 data, bool masked)
{
	struct rec *r = ctx;

	assert_true(r->n_route < ARRAY_SIZE(r->route));
	r->route[r->n_route].pin = pin;
	r->route[r->n_route].addr = addr;
	r->route[r->n_route].data = data;
	r->route[r->n_route].masked = masked;
	r->n_route++;
}

struct fx {
	struct ioapic io;
	struct rec rec;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	ioapic_init(&f->io, rec_msi, rec_route, &f->rec);
	f->rec.io = &f->io;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void wr(struct ioapic *io, u64 off, u32 v)
{
	u8 b[4];

	put_le32(b, v);
	ioapic_mmio_ops.write(io, off, b, 4);
}

static u32 rd(struct ioapic *io, u64 off)
{
	u8 b[4];

	ioapic_mmio_ops.read(io, off, b, 4);
	return get_le32(b);
}

static u32 ind_rd(struct ioapic *io, u32 sel)
{
	wr(io, 0x00, sel);
	return rd(io, 0x10);
}

static void ind_wr(struct ioapic *io, u32 sel, u32 v)
{
	wr(io, 0x00, sel);
	wr(io, 0x10, v);
}

/* As Linux does it: high half first, then the low half that may unmask. */
static void set_rte(struct ioapic *io, unsigned pin, u64 rte)
{
	ind_wr(io, 0x10 + 2 * pin + 1, (u32)(rte >> 32));
	ind_wr(io, 0x10 + 2 * pin, (u32)rte);
}

static u64 get_rte(struct ioapic *io, unsigned pin)
{
	return (u64)ind_rd(io, 0x10 + 2 * pin + 1) << 32 | ind_rd(io, 0x10 + 2 * pin);
}

#define EDGE(vec, dest)	 ((u64)(vec) | (u64)(dest) << 56)
#define LEVEL(vec, dest) (EDGE(vec, dest) | 1ULL << 15)
#define MASKED		 (1ULL << 16)
#define REMOTE_IRR	 (1ULL << 14)

static void test_id_version_arb(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ind_rd(&f->io, 1), 0x00170020); /* 24 pins, version 0x20 */
	ind_wr(&f->io, 1, 0xffffffff);
	assert_int_equal(ind_rd(&f->io, 1), 0x00170020); /* read-only */
	assert_int_equal(ind_rd(&f->io, 0), 0);
	ind_wr(&f->io, 0, 0xff000000);
	assert_int_equal(ind_rd(&f->io, 0), 0x0f000000); /* 4-bit ID */
	assert_int_equal(ind_rd(&f->io, 2), 0x0f000000); /* arbitration ID follows */
	ind_wr(&f->io, 0, 0x02ffffff);
	assert_int_equal(ind_rd(&f->io, 0), 0x02000000);
	/* IOREGSEL reads back, 8 bits of it. */
	wr(&f->io, 0x00, 0x1234);
	assert_int_equal(rd(&f->io, 0x00), 0x34);
}

static void test_rte_halves(void **state)
{
	struct fx *f = *state;

	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		assert_int_equal(get_rte(&f->io, pin), MASKED);
	ind_wr(&f->io, 0x10 + 2 * 5 + 1, 0xab000000);
	assert_int_equal(get_rte(&f->io, 5), 0xab00000000000000ULL | MASKED);
	ind_wr(&f->io, 0x10 + 2 * 5, 0x00010b31); /* vector 0x31, lowest prio, logical */
	assert_int_equal(get_rte(&f->io, 5), 0xab00000000010b31ULL);
	/* Rewriting the low half keeps the high half and vice versa. */
	ind_wr(&f->io, 0x10 + 2 * 5 + 1, 0x01000000);
	assert_int_equal(get_rte(&f->io, 5), 0x0100000000010b31ULL);
	/* Delivery status and remote IRR are read-only; reserved bits read 0. */
	ind_wr(&f->io, 0x10 + 2 * 5, 0xfffeffff);
	assert_int_equal(ind_rd(&f->io, 0x10 + 2 * 5), 0x0000afff);
	ind_wr(&f->io, 0x10 + 2 * 5 + 1, 0xffffffff);
	assert_int_equal(ind_rd(&f->io, 0x10 + 2 * 5 + 1), 0xfffe0000);
	/* The last pin's high half is register 0x3f. */
	ind_wr(&f->io, 0x3f, 0x07000000);
	assert_int_equal(get_rte(&f->io, 23), 0x0700000000000000ULL | MASKED);
	/* Other pins untouched. */
	assert_int_equal(get_rte(&f->io, 4), MASKED);
	assert_int_equal(get_rte(&f->io, 6), MASKED);
}

static void test_out_of_range_select(void **state)
{
	struct fx *f = *state;
	static const u32 sels[] = {3, 0xf, 0x40, 0x41, 0x80, 0xff};

	for (unsigned i = 0; i < ARRAY_SIZE(sels); i++) {
		assert_int_equal(ind_rd(&f->io, sels[i]), 0);
		ind_wr(&f->io, sels[i], 0xffffffff);
		assert_int_equal(ind_rd(&f->io, sels[i]), 0);
	}
	/* IOREGSEL is 8 bits: 0x110 selects 0x10, pin 0's low half. */
	ind_wr(&f->io, 0x110, 0x20);
	assert_int_equal(get_rte(&f->io, 0), 0x20);
	for (unsigned pin = 1; pin < IOAPIC_PINS; pin++)
		assert_int_equal(get_rte(&f->io, pin), MASKED);
	assert_int_equal(ind_rd(&f->io, 0), 0);
	assert_int_equal(f->rec.n_msi, 0);
}

static void test_edge(void **state)
{
	struct fx *f = *state;

	set_rte(&f->io, 4, EDGE(0x24, 1));
	ioapic_set_irq(&f->io, 4, true);
	assert_int_equal(f->rec.n_msi, 1);
	assert_int_equal(f->rec.msi[0].addr, 0xfee01000);
	assert_int_equal(f->rec.msi[0].data, 0x24);
	/* Only rising edges deliver. */
	ioapic_set_irq(&f->io, 4, true);
	assert_int_equal(f->rec.n_msi, 1);
	ioapic_set_irq(&f->io, 4, false);
	assert_int_equal(f->rec.n_msi, 1);
	ioapic_set_irq(&f->io, 4, true);
	assert_int_equal(f->rec.n_msi, 2);
	/* No remote IRR on edge pins; an EOI of the vector changes nothing. */
	assert_int_equal(get_rte(&f->io, 4), EDGE(0x24, 1));
	ioapic_eoi(&f->io, 0x24);
	assert_int_equal(f->rec.n_msi, 2);
}

static void test_edge_while_masked_is_dropped(void **state)
{
	struct fx *f = *state;

	set_rte(&f->io, 4, EDGE(0x24, 0) | MASKED);
	ioapic_set_irq(&f->io, 4, true);
	ioapic_set_irq(&f->io, 4, false);
	ioapic_set_irq(&f->io, 4, true);
	set_rte(&f->io, 4, EDGE(0x24, 0));
	assert_int_equal(f->rec.n_msi, 0);
	ioapic_set_irq(&f->io, 4, false);
	ioapic_set_irq(&f->io, 4, true);
	assert_int_equal(f->rec.n_msi, 1);
}

static void test_level_remote_irr_and_eoi(void **state)
{
	struct fx *f = *state;

	set_rte(&f->io, 9, LEVEL(0x39, 2));
	ioapic_set_irq(&f->io, 9, true);
	assert_int_equal(f->rec.n_msi, 1);
	assert_int_equal(f->rec.msi[0].addr, 0xfee02000);
	assert_int_equal(f->rec.msi[0].data, 0x39 | 0x8000 | 0x4000);
	assert_int_equal(get_rte(&f->io, 9), LEVEL(0x39, 2) | REMOTE_IRR);
	/* Held high: nothing more until the EOI. */
	ioapic_set_irq(&f->io, 9, true);
	assert_int_equal(f->rec.n_msi, 1);
	/* Other vectors' EOIs do not count. */
	ioapic_eoi(&f->io, 0x38);
	ioapic_eoi(&f->io, 0x139);
	assert_int_equal(f->rec.n_msi, 1);
	/* EOI with the line still high: delivered again. */
	ioapic_eoi(&f->io, 0x39);
	assert_int_equal(f->rec.n_msi, 2);
	assert_true(get_rte(&f->io, 9) & REMOTE_IRR);
	/* Device lowers the line, the guest EOIs: quiet, remote IRR clear. */
	ioapic_set_irq(&f->io, 9, false);
	ioapic_eoi(&f->io, 0x39);
	assert_int_equal(f->rec.n_msi, 2);
	assert_int_equal(get_rte(&f->io, 9), LEVEL(0x39, 2));
	ioapic_set_irq(&f->io, 9, true);
	assert_int_equal(f->rec.n_msi, 3);
}

static void test_level_masked_delivers_on_unmask(void **state)
{
	struct fx *f = *state;

	set_rte(&f->io, 10, LEVEL(0x3a, 0) | MASKED);
	ioapic_set_irq(&f->io, 10, true);
	assert_int_equal(f->rec.n_msi, 0);
	assert_false(get_rte(&f->io, 10) & REMOTE_IRR);
	set_rte(&f->io, 10, LEVEL(0x3a, 0));
	assert_int_equal(f->rec.n_msi, 1);
	assert_true(get_rte(&f->io, 10) & REMOTE_IRR);
	/* A line that went low while masked stays quiet on unmask. */
	set_rte(&f->io, 11, LEVEL(0x3b, 0) | MASKED);
	ioapic_set_irq(&f->io, 11, true);
	ioapic_set_irq(&f->io, 11, false);
	set_rte(&f->io, 11, LEVEL(0x3b, 0));
	assert_int_equal(f->rec.n_msi, 1);
}

static void test_eoi_register(void **state)
{
	struct fx *f = *state;

	set_rte(&f->io, 9, LEVEL(0x39, 0));
	set_rte(&f->io, 12, LEVEL(0x39, 1)); /* two pins sharing a vector */
	ioapic_set_irq(&f->io, 9, true);
	ioapic_set_irq(&f->io, 12, true);
	assert_int_equal(f->rec.n_msi, 2);
	ioapic_set_irq(&f->io, 12, false);
	wr(&f->io, 0x40, 0xffffff39); /* only the low 8 bits are the vector */
	assert_int_equal(f->rec.n_msi, 3);
	assert_int_equal(f->rec.msi[2].addr, 0xfee00000);
	assert_true(get_rte(&f->io, 9) & REMOTE_IRR);
	assert_false(get_rte(&f->io, 12) & REMOTE_IRR);
	/* The EOI register reads as zero. */
	assert_int_equal(rd(&f->io, 0x40), 0);
}

/*
 * A level interrupt's whole cycle in a TD, where no KVM_EXIT_IOAPIC_EOI ever
 * comes (ioapic_eoi is never called from outside): Linux reads the version,
 * takes the interrupt, EOIs its local APIC (invisible), and completes it with
 * the EOI register, through MMIO only.
 */
static void test_td_level_cycle_eoi_register(void **state)
{
	struct fx *f = *state;

	assert_int_equal(ind_rd(&f->io, 1) & 0xff, 0x20); /* Linux: >= 0x20 uses the register */
	set_rte(&f->io, 4, LEVEL(0x34, 0));
	ioapic_set_irq(&f->io, 4, true);
	assert_int_equal(f->rec.n_msi, 1);
	assert_int_equal(f->rec.msi[0].data, 0x34 | 0x8000 | 0x4000);
	/* The line stays high and nothing EOIs the IOAPIC: Remote IRR holds it. */
	ioapic_set_irq(&f->io, 4, true);
	assert_int_equal(f->rec.n_msi, 1);
	assert_true(get_rte(&f->io, 4) & REMOTE_IRR);
	/* EOI register with the line still high: delivered again. */
	wr(&f->io, 0x40, 0x34);
	assert_int_equal(f->rec.n_msi, 2);
	assert_true(get_rte(&f->io, 4) & REMOTE_IRR);
	/* The handler quiets the device; the EOI then leaves the pin idle. */
	ioapic_set_irq(&f->io, 4, false);
	wr(&f->io, 0x40, 0x34);
	assert_int_equal(f->rec.n_msi, 2);
	assert_false(get_rte(&f->io, 4) & REMOTE_IRR);
	/* The next assertion is delivered at once. */
	ioapic_set_irq(&f->io, 4, true);
	assert_int_equal(f->rec.n_msi, 3);
	/* An EOI register write of another size, or of another vector, is no EOI. */
	{
		u8 b[8] = {0x34};

		ioapic_mmio_ops.write(&f->io, 0x40, b, 8);
		ioapic_mmio_ops.write(&f->io, 0x40, b, 2);
	}
	wr(&f->io, 0x40, 0x35);
	assert_true(get_rte(&f->io, 4) & REMOTE_IRR);
	assert_int_equal(f->rec.n_msi, 3);
}

static void test_edge_switch_clears_remote_irr(void **state)
{
	struct fx *f = *state;

	set_rte(&f->io, 9, LEVEL(0x39, 0));
	ioapic_set_irq(&f->io, 9, true);
	assert_true(get_rte(&f->io, 9) & REMOTE_IRR);
	/* Linux's EOI emulation for IOAPICs without an EOI register. */
	set_rte(&f->io, 9, EDGE(0x39, 0) | MASKED);
	assert_false(get_rte(&f->io, 9) & REMOTE_IRR);
	ioapic_set_irq(&f->io, 9, false);
	set_rte(&f->io, 9, LEVEL(0x39, 0));
	assert_int_equal(f->rec.n_msi, 1);
}

static void test_route_changed(void **state)
{
	struct fx *f = *state;

	/* High half while masked: routing unaffected. */
	ind_wr(&f->io, 0x10 + 2 * 4 + 1, 0x03000000);
	assert_int_equal(f->rec.n_route, 0);
	ind_wr(&f->io, 0x10 + 2 * 4, 0x24);
	assert_int_equal(f->rec.n_route, 1);
	assert_int_equal(f->rec.route[0].pin, 4);
	assert_int_equal(f->rec.route[0].addr, 0xfee03000);
	assert_int_equal(f->rec.route[0].data, 0x24);
	assert_false(f->rec.route[0].masked);
	/* The same value again, or a polarity change, does not touch the routes. */
	set_rte(&f->io, 4, EDGE(0x24, 3));
	set_rte(&f->io, 4, EDGE(0x24, 3) | 1ULL << 13);
	assert_int_equal(f->rec.n_route, 1);
	/* A new destination or trigger mode does. */
	set_rte(&f->io, 4, LEVEL(0x24, 3));
	assert_int_equal(f->rec.n_route, 2);
	assert_int_equal(f->rec.route[1].data, 0xc024);
	set_rte(&f->io, 4, LEVEL(0x24, 3) | MASKED);
	assert_int_equal(f->rec.n_route, 3);
	assert_true(f->rec.route[2].masked);
	assert_int_equal(f->rec.route[2].pin, 4);
	/* While masked, other fields change nothing that KVM sees. */
	set_rte(&f->io, 4, LEVEL(0x55, 7) | MASKED);
	assert_int_equal(f->rec.n_route, 3);
}

static void test_mask_deferred_until_eoi(void **state)
{
	struct fx *f = *state;

	set_rte(&f->io, 9, LEVEL(0x39, 0));
	assert_int_equal(f->rec.n_route, 1);
	ioapic_set_irq(&f->io, 9, true);
	/* Masked with an EOI outstanding: the route stays so that the EOI exits. */
	set_rte(&f->io, 9, LEVEL(0x39, 0) | MASKED);
	assert_int_equal(f->rec.n_route, 1);
	ioapic_eoi(&f->io, 0x39);
	assert_int_equal(f->rec.n_route, 2);
	assert_true(f->rec.route[1].masked);
	assert_int_equal(f->rec.route[1].pin, 9);
	/* Still high, but masked: nothing delivered; unmask delivers and re-routes. */
	assert_int_equal(f->rec.n_msi, 1);
	set_rte(&f->io, 9, LEVEL(0x39, 0));
	assert_int_equal(f->rec.n_msi, 2);
	assert_int_equal(f->rec.n_route, 3);
	assert_false(f->rec.route[2].masked);
}

static void test_rte_to_msi(void **state)
{
	u64 addr;
	u32 data;

	/* dest 0xab, ext dest 0x55, logical, lowest priority, level, vector 0x91. */
	ioapic_rte_to_msi(0xabaa000000018991ULL | 1ULL << 13, &addr, &data);
	assert_int_equal(addr, 0xfee00000 | 0xab << 12 | 0x55 << 5 | 1 << 2);
	assert_int_equal(data, 0x91 | 1 << 8 | 1 << 15 | 1 << 14);
	/* Fixed, physical, edge, masked: the mask is not part of the message. */
	ioapic_rte_to_msi(0x0f00000000010022ULL, &addr, &data);
	assert_int_equal(addr, 0xfee0f000);
	assert_int_equal(data, 0x22);
	/* NMI delivery mode passes through. */
	ioapic_rte_to_msi(0x400, &addr, &data);
	assert_int_equal(data, 0x400);
}

static void test_odd_mmio(void **state)
{
	struct fx *f = *state;
	u8 b[8];
	static const u64 offs[] = {0x04, 0x11, 0x20, 0x30, 0x44, 0x100, 0xffc};

	ind_wr(&f->io, 0x01, 0); /* select the version register */
	/* Partial or wide reads of IOWIN return zeros, never stale bytes. */
	memset(b, 0xaa, sizeof(b));
	ioapic_mmio_ops.read(&f->io, 0x10, b, 1);
	assert_int_equal(b[0], 0);
	memset(b, 0xaa, sizeof(b));
	ioapic_mmio_ops.read(&f->io, 0x10, b, 8);
	assert_int_equal(get_le64(b), 0);
	memset(b, 0xaa, sizeof(b));
	ioapic_mmio_ops.read(&f->io, 0x12, b, 2);
	assert_int_equal(get_le16(b), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(offs); i++) {
		memset(b, 0xaa, sizeof(b));
		ioapic_mmio_ops.read(&f->io, offs[i], b, 4);
		assert_int_equal(get_le32(b), 0);
	}
	/* A 1-byte IOREGSEL read works. */
	memset(b, 0xaa, sizeof(b));
	ioapic_mmio_ops.read(&f->io, 0x00, b, 1);
	assert_int_equal(b[0], 1);

	/* Odd writes change nothing. */
	ind_wr(&f->io, 0x10, 0x20); /* pin 0 unmasked, edge, vector 0x20 */
	memset(b, 0xff, sizeof(b));
	ioapic_mmio_ops.write(&f->io, 0x10, b, 2);
	ioapic_mmio_ops.write(&f->io, 0x10, b, 1);
	ioapic_mmio_ops.write(&f->io, 0x10, b, 8);
	ioapic_mmio_ops.write(&f->io, 0x00, b, 8);
	for (unsigned i = 0; i < ARRAY_SIZE(offs); i++)
		ioapic_mmio_ops.write(&f->io, offs[i], b, 4);
	ioapic_mmio_ops.write(&f->io, 0x40, b, 1);
	ioapic_mmio_ops.write(&f->io, 0x10, b, 0);
	ioapic_mmio_ops.read(&f->io, 0x10, b, 0);
	assert_int_equal(rd(&f->io, 0x00), 0x10);
	assert_int_equal(get_rte(&f->io, 0), 0x20);
	/* A byte-wide IOREGSEL write selects. */
	b[0] = 0x01;
	ioapic_mmio_ops.write(&f->io, 0x00, b, 1);
	assert_int_equal(rd(&f->io, 0x10), 0x00170020);
	assert_int_equal(f->rec.n_msi, 0);
}

static void test_bad_pins_and_vectors(void **state)
{
	struct fx *f = *state;

	set_rte(&f->io, 23, LEVEL(0x40, 0));
	ioapic_set_irq(&f->io, 24, true);
	ioapic_set_irq(&f->io, 1000, true);
	ioapic_set_irq(&f->io, ~0u, true);
	assert_int_equal(f->rec.n_msi, 0);
	ioapic_set_irq(&f->io, 23, true);
	assert_int_equal(f->rec.n_msi, 1);
	ioapic_eoi(&f->io, 0x140);
	ioapic_eoi(&f->io, ~0u);
	assert_true(get_rte(&f->io, 23) & REMOTE_IRR);
}

static void test_send_msi_may_reenter(void **state)
{
	struct fx *f = *state;

	/* The callback EOIs from inside send_msi: needs the lock dropped. */
	f->rec.eoi_from_msi = 3;
	set_rte(&f->io, 9, LEVEL(0x39, 0));
	ioapic_set_irq(&f->io, 9, true);
	assert_int_equal(f->rec.n_msi, 4);
	assert_int_equal(f->rec.eoi_from_msi, 0);
	assert_true(get_rte(&f->io, 9) & REMOTE_IRR);
}

static void test_no_callbacks(void **state)
{
	struct ioapic io;

	/* A bare model (as in the fuzzer without sinks) must not crash. */
	ioapic_init(&io, NULL, NULL, NULL);
	set_rte(&io, 2, LEVEL(0x30, 0));
	ioapic_set_irq(&io, 2, true);
	assert_true(get_rte(&io, 2) & REMOTE_IRR);
	ioapic_eoi(&io, 0x30);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_id_version_arb),
	    T(test_td_level_cycle_eoi_register),
	    T(test_rte_halves),
	    T(test_out_of_range_select),
	    T(test_edge),
	    T(test_edge_while_masked_is_dropped),
	    T(test_level_remote_irr_and_eoi),
	    T(test_level_masked_delivers_on_unmask),
	    T(test_eoi_register),
	    T(test_edge_switch_clears_remote_irr),
	    T(test_route_changed),
	    T(test_mask_deferred_until_eoi),
	    cmocka_unit_test(test_rte_to_msi),
	    T(test_odd_mmio),
	    T(test_bad_pins_and_vectors),
	    T(test_send_msi_may_reenter),
	    cmocka_unit_test(test_no_callbacks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
