// SPDX-License-Identifier: MIT
/* The virtio-pci transport's register semantics, with a dummy echo device. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vtest.h"

#define DEV_FEATURE_BIT 3

struct echo {
	struct virtio_dev vd;
	struct virtq_chain chain;
	unsigned activations, resets, kicks;
};

/* Answers each chain with used length = readable bytes. */
static void echo_kick(void *dev, u16 q)
{
	struct echo *x = dev;
	struct virtq *vq = virtio_vq(&x->vd, q);
	struct err e;
	int r;

	x->kicks++;
	while ((r = virtq_pop(vq, x->vd.env.mem, &x->chain, &e)) > 0)
		virtq_push(vq, x->chain.head, (u32)x->chain.out_len);
	if (r < 0)
		virtio_fail(&x->vd, "%s", e.msg);
	else
		virtio_queue_notify(&x->vd, q);
}

static int echo_activate(void *dev, struct err *e)
{
	((struct echo *)dev)->activations++;
	return 0;
}

static void echo_reset(void *dev)
{
	((struct echo *)dev)->resets++;
}

static const struct virtio_dev_ops echo_ops = {
	.activate = echo_activate,
	.reset = echo_reset,
	.queue_kick = echo_kick,
};

struct ioev {
	unsigned assigns, deassigns;
	u64 last_addr;
};

static int fake_ioeventfd(void *ctx, int fd, u64 addr, u32 len, bool deassign)
{
	struct ioev *io = ctx;

	if (deassign)
		io->deassigns++;
	else
		io->assigns++;
	io->last_addr = addr;
	return 0;
}

struct fx {
	struct vt_board b;
	struct echo x;
	struct vt_drv d;
	struct ioev io;
};

static struct fx *mk(void)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_pci_env env;
	struct virtio_dev_params p = {
		.name = "echo",
		.device_id = 42,
		.class_code = 0xff0000,
		.num_queues = 2,
		.queue_size = 64,
		.features = 1ULL << DEV_FEATURE_BIT,
		.config_size = 8,
		.ops = &echo_ops,
	};
	struct err e;

	assert_int_equal(vt_board_init(&f->b, true), 0);
	env = vt_env(&f->b);
	env.ioeventfd = fake_ioeventfd;
	env.ioeventfd_ctx = &f->io;
	p.dev = &f->x;
	assert_int_equal(virtio_dev_init(&f->x.vd, &env, &p, &e), 0);
	memcpy(f->x.vd.config, "ABCDEFGH", 8);
	f->d.b = &f->b;
	f->d.vd = &f->x.vd;
	f->d.bar = vt_bar0(&f->b, f->x.vd.pci.slot);
	return f;
}

static void rm(struct fx *f)
{
	virtio_dev_destroy(&f->x.vd);
	vt_board_free(&f->b);
	free(f);
}

static void test_pci_identity_and_caps(void **state)
{
	struct fx *f = mk();
	unsigned slot = f->x.vd.pci.slot, nv = 0, pcicfg = 0;
	u8 types[8] = {0};

	assert_int_equal(cfg_rd(&f->b, slot, 0, 4), (0x1040u + 42) << 16 | 0x1af4);
	assert_int_equal(cfg_rd(&f->b, slot, 0x08, 1), 1);
	assert_int_equal(f->d.bar, VT_MMIO64);
	for (u32 p = cfg_rd(&f->b, slot, 0x34, 1); p; p = cfg_rd(&f->b, slot, p + 1, 1)) {
		if (cfg_rd(&f->b, slot, p, 1) != PCI_CAP_ID_VNDR)
			continue;
		u8 type = (u8)cfg_rd(&f->b, slot, p + 3, 1);
		types[nv++] = type;
		assert_int_equal(cfg_rd(&f->b, slot, p + 4, 1), VIRTIO_PCI_BAR);
		u32 off = cfg_rd(&f->b, slot, p + 8, 4), len = cfg_rd(&f->b, slot, p + 12, 4);
		switch (type) {
		case 1: assert_int_equal(off, 0); assert_int_equal(len, 0x3c); break;
		case 2:
			assert_int_equal(off, 0x3000);
			assert_int_equal(len, 8);
			assert_int_equal(cfg_rd(&f->b, slot, p + 2, 1), 20);
			assert_int_equal(cfg_rd(&f->b, slot, p + 16, 4), 4);
			break;
		case 3: assert_int_equal(off, 0x1000); break;
		case 4: assert_int_equal(off, 0x2000); assert_int_equal(len, 8); break;
		case 5: pcicfg = p; break;
		default: fail();
		}
	}
	assert_int_equal(nv, 5);
	assert_memory_equal(types, "\1\2\3\4\5", 5);
	/* The PCI configuration access window: bar 0, offset 0x14 (device_status), 1 byte. */
	assert_int_not_equal(pcicfg, 0);
	cfg_wr(&f->b, slot, pcicfg + 4, 1, 0);
	cfg_wr(&f->b, slot, pcicfg + 8, 4, 0x14);
	cfg_wr(&f->b, slot, pcicfg + 12, 4, 1);
	cfg_wr(&f->b, slot, pcicfg + 16, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	assert_int_equal(vt_rd(&f->d, 0x14, 1), VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vt_wr(&f->d, 0x14, 1, 3);
	assert_int_equal(cfg_rd(&f->b, slot, pcicfg + 16, 1), 3);
	/* Device config through the window, 4 bytes. */
	cfg_wr(&f->b, slot, pcicfg + 8, 4, 0x2004);
	cfg_wr(&f->b, slot, pcicfg + 12, 4, 4);
	assert_int_equal(cfg_rd(&f->b, slot, pcicfg + 16, 4), 0x48474645);
	/* A misaligned or oversized window does nothing. */
	cfg_wr(&f->b, slot, pcicfg + 8, 4, 0x15);
	cfg_wr(&f->b, slot, pcicfg + 12, 4, 2);
	cfg_wr(&f->b, slot, pcicfg + 16, 2, 0);
	assert_int_equal(vt_rd(&f->d, 0x14, 1), 3);
	/* Device config through BAR 0. */
	assert_int_equal(vt_rd(&f->d, 0x2000 + 2, 2), 'C' | 'D' << 8);
	rm(f);
}

static void test_feature_select(void **state)
{
	struct fx *f = mk();
	u32 lo, hi;

	vt_wr(&f->d, 0x00, 4, 0);
	lo = (u32)vt_rd(&f->d, 0x04, 4);
	vt_wr(&f->d, 0x00, 4, 1);
	hi = (u32)vt_rd(&f->d, 0x04, 4);
	assert_int_equal(lo, 1u << DEV_FEATURE_BIT | 1u << 28 | 1u << 29);
	assert_int_equal(hi, 1);	/* VERSION_1; no ACCESS_PLATFORM outside a TD */
	vt_wr(&f->d, 0x00, 4, 7);
	assert_int_equal(vt_rd(&f->d, 0x04, 4), 0);
	assert_int_equal(vt_rd(&f->d, 0x12, 2), 2);	/* num_queues */
	rm(f);
}

static void test_features_ok_rejects_unknown_bits(void **state)
{
	struct fx *f = mk();
	u8 st;

	vt_wr(&f->d, 0x14, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	vt_wr(&f->d, 0x08, 4, 1);
	vt_wr(&f->d, 0x0c, 4, 1 | 1u << 8);	/* VERSION_1 and bit 40, never offered */
	vt_wr(&f->d, 0x14, 1, 0x0b);
	st = (u8)vt_rd(&f->d, 0x14, 1);
	assert_int_equal(st, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	/* DRIVER_OK without FEATURES_OK does not stick either; nothing is activated. */
	vt_wr(&f->d, 0x14, 1, 0x07);
	assert_int_equal(vt_rd(&f->d, 0x14, 1) & VIRTIO_CONFIG_S_DRIVER_OK, 0);
	assert_int_equal(f->x.activations, 0);
	/* A legacy driver (no VERSION_1) is refused too. */
	vt_wr(&f->d, 0x0c, 4, 0);
	vt_wr(&f->d, 0x14, 1, 0x0b);
	assert_int_equal(vt_rd(&f->d, 0x14, 1) & VIRTIO_CONFIG_S_FEATURES_OK, 0);
	/* Good features: accepted, readable back, and frozen after FEATURES_OK. */
	vt_wr(&f->d, 0x0c, 4, 1);
	vt_wr(&f->d, 0x08, 4, 0);
	vt_wr(&f->d, 0x0c, 4, 1u << DEV_FEATURE_BIT | 1u << 29);
	vt_wr(&f->d, 0x14, 1, 0x0b);
	assert_int_equal(vt_rd(&f->d, 0x14, 1), 0x0b);
	assert_int_equal(vt_rd(&f->d, 0x0c, 4), 1u << DEV_FEATURE_BIT | 1u << 29);
	vt_wr(&f->d, 0x0c, 4, 0);
	assert_int_equal(vt_rd(&f->d, 0x0c, 4), 1u << DEV_FEATURE_BIT | 1u << 29);
	assert_true(virtio_has(&f->x.vd, DEV_FEATURE_BIT));
	assert_true(f->x.vd.q[0].vq.event_idx);
	assert_false(f->x.vd.q[0].vq.indirect);
	rm(f);
}

static void test_queue_setup_registers(void **state)
{
	struct fx *f = mk();

	vt_wr(&f->d, 0x16, 2, 1);
	assert_int_equal(vt_rd(&f->d, 0x18, 2), 64);
	assert_int_equal(vt_rd(&f->d, 0x1e, 2), 1);	/* notify_off */
	vt_wr(&f->d, 0x18, 2, 48);			/* not a power of two: ignored */
	assert_int_equal(vt_rd(&f->d, 0x18, 2), 64);
	vt_wr(&f->d, 0x18, 2, 128);			/* above the maximum: ignored */
	assert_int_equal(vt_rd(&f->d, 0x18, 2), 64);
	vt_wr(&f->d, 0x18, 2, 16);
	assert_int_equal(vt_rd(&f->d, 0x18, 2), 16);
	/* 64-bit fields written as two halves, as Linux does. */
	vt_wr(&f->d, 0x20, 4, 0x200000);
	vt_wr(&f->d, 0x24, 4, 0);
	vt_wr(&f->d, 0x28, 4, 0x201000);
	vt_wr(&f->d, 0x30, 8, 0x202000);
	assert_int_equal(vt_rd(&f->d, 0x20, 8), 0x200000);
	assert_int_equal(vt_rd(&f->d, 0x28, 8), 0x201000);
	vt_wr(&f->d, 0x1a, 2, 2);
	assert_int_equal(vt_rd(&f->d, 0x1a, 2), 2);
	vt_wr(&f->d, 0x1a, 2, 3);	/* only vectors 0..2 exist */
	assert_int_equal(vt_rd(&f->d, 0x1a, 2), 0xffff);
	vt_wr(&f->d, 0x1c, 2, 1);
	assert_int_equal(vt_rd(&f->d, 0x1c, 2), 1);
	/* Enabled queues are frozen. */
	vt_wr(&f->d, 0x18, 2, 32);
	vt_wr(&f->d, 0x20, 8, 0x300000);
	assert_int_equal(vt_rd(&f->d, 0x18, 2), 16);
	assert_int_equal(vt_rd(&f->d, 0x20, 8), 0x200000);
	/* A queue that does not exist reads size 0. */
	vt_wr(&f->d, 0x16, 2, 5);
	assert_int_equal(vt_rd(&f->d, 0x18, 2), 0);
	/* Unaligned/out-of-structure accesses are harmless. */
	vt_wr(&f->d, 0x3a, 4, 0xffffffff);
	assert_int_equal(vt_rd(&f->d, 0x800, 4), 0);
	rm(f);
}

static void test_request_interrupt_and_isr(void **state)
{
	struct fx *f = mk();
	struct drv_buf b[2] = {{0x800000, 100, false}, {0x801000, 16, true}};
	u32 id, len;

	assert_int_equal(vt_drv_up(&f->d, &f->b, &f->x.vd, ~0ULL, 64), 0x0f);
	assert_int_equal(f->x.activations, 1);
	drvq_publish(&f->d.q[1], drvq_add(&f->d.q[1], b, 2));
	vt_kick(&f->d, 1);
	assert_true(vt_wait_used(&f->d, 1, &id, &len, 1000));
	assert_int_equal(len, 100);
	/* Queue 1 uses vector 2; the message is whatever the guest programmed (zeros). */
	assert_int_equal(f->b.msi_count, 1);
	assert_int_equal(vt_rd(&f->d, 0x1000, 1), 1);
	assert_int_equal(vt_rd(&f->d, 0x1000, 1), 0);	/* read clears */
	rm(f);
}

static void test_malformed_chain_needs_reset(void **state)
{
	struct fx *f = mk();
	struct drv_buf ok[1] = {{0x800000, 8, false}};
	u32 id, len;

	vt_drv_up(&f->d, &f->b, &f->x.vd, ~0ULL, 64);
	/* A looping chain on queue 0. */
	drvq_set_desc(&f->d.q[0], 0, 0x800000, 8, VIRTQ_DESC_F_NEXT, 0);
	drvq_publish(&f->d.q[0], 0);
	vt_kick(&f->d, 0);
	for (int i = 0; i < 20 && !f->x.vd.broken; i++)
		virtio_dev_poll(&f->x.vd, 10);
	assert_int_equal(vt_rd(&f->d, 0x14, 1), 0x0f | VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_non_null(strstr(f->x.vd.broken_msg, "loops"));
	/* A config-change interrupt on vector 0, ISR bit 1. */
	assert_int_equal(f->b.msi_count, 1);
	assert_int_equal(vt_rd(&f->d, 0x1000, 1), 2);
	/* Other queues are not processed while broken. */
	drvq_publish(&f->d.q[1], drvq_add(&f->d.q[1], ok, 1));
	vt_kick(&f->d, 1);
	assert_false(vt_wait_used(&f->d, 1, &id, &len, 50));
	/* Reset brings it back. */
	vt_wr(&f->d, 0x14, 1, 0);
	assert_int_equal(vt_rd(&f->d, 0x14, 1), 0);
	assert_false(f->x.vd.broken);
	assert_int_equal(vt_drv_up(&f->d, &f->b, &f->x.vd, ~0ULL, 64), 0x0f);
	drvq_publish(&f->d.q[1], drvq_add(&f->d.q[1], ok, 1));
	vt_kick(&f->d, 1);
	assert_true(vt_wait_used(&f->d, 1, &id, &len, 1000));
	rm(f);
}

static void test_queue_outside_ram_needs_reset(void **state)
{
	struct fx *f = mk();

	vt_wr(&f->d, 0x14, 1, 3);
	vt_wr(&f->d, 0x16, 2, 0);
	vt_wr(&f->d, 0x20, 8, VT_RAM - 0x100);
	vt_wr(&f->d, 0x1c, 2, 1);
	assert_int_equal(vt_rd(&f->d, 0x1c, 2), 0);
	assert_int_equal(vt_rd(&f->d, 0x14, 1), 3 | VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_string_equal(f->x.vd.broken_msg,
			    "queue 0: descriptor table at 0xffff00 (queue size 64) is outside guest RAM");
	rm(f);
}

static void test_reset_clears_state(void **state)
{
	struct fx *f = mk();

	vt_drv_up(&f->d, &f->b, &f->x.vd, ~0ULL, 32);
	vt_wr(&f->d, 0x14, 1, 0);
	assert_int_equal(f->x.resets, 2);	/* vt_drv_up starts with a reset too */
	assert_int_equal(vt_rd(&f->d, 0x14, 1), 0);
	vt_wr(&f->d, 0x08, 4, 0);
	assert_int_equal(vt_rd(&f->d, 0x0c, 4), 0);
	assert_int_equal(vt_rd(&f->d, 0x10, 2), 0xffff);
	for (u16 q = 0; q < 2; q++) {
		vt_wr(&f->d, 0x16, 2, q);
		assert_int_equal(vt_rd(&f->d, 0x1c, 2), 0);
		assert_int_equal(vt_rd(&f->d, 0x18, 2), 64);
		assert_int_equal(vt_rd(&f->d, 0x1a, 2), 0xffff);
		assert_int_equal(vt_rd(&f->d, 0x20, 8), 0);
	}
	rm(f);
}

static void test_ioeventfd_follows_bar(void **state)
{
	struct fx *f = mk();
	unsigned slot = f->x.vd.pci.slot;
	u64 neu = 0x3000000000ULL;

	/* Assigned at realize for both queues. */
	assert_int_equal(f->io.assigns, 2);
	assert_int_equal(f->io.last_addr, VT_MMIO64 + 0x3004);
	cfg_wr(&f->b, slot, 0x04, 2, 0);
	assert_int_equal(f->io.deassigns, 2);
	cfg_wr(&f->b, slot, 0x10, 4, (u32)neu | 4);
	cfg_wr(&f->b, slot, 0x14, 4, (u32)(neu >> 32));
	cfg_wr(&f->b, slot, 0x04, 2, PCI_COMMAND_MEMORY);
	assert_int_equal(f->io.assigns, 4);
	assert_int_equal(f->io.last_addr, neu + 0x3004);
	rm(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pci_identity_and_caps),
		cmocka_unit_test(test_feature_select),
		cmocka_unit_test(test_features_ok_rejects_unknown_bits),
		cmocka_unit_test(test_queue_setup_registers),
		cmocka_unit_test(test_request_interrupt_and_isr),
		cmocka_unit_test(test_malformed_chain_needs_reset),
		cmocka_unit_test(test_queue_outside_ram_needs_reset),
		cmocka_unit_test(test_reset_clears_state),
		cmocka_unit_test(test_ioeventfd_follows_bar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
