// SPDX-License-Identifier: MIT
/* The split virtqueue walker against well-formed and hostile rings. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vtest.h"

struct fx {
	struct guest_mem gm;
	struct drvq d;
	struct virtq vq;
	struct virtq_chain *c;
	struct err e;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct err e;

	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add_anon(&f->gm, 0, 4 * MiB, MEM_RAM, &e), 0);
	f->c = malloc(sizeof(*f->c));
	drvq_init(&f->d, &f->gm, 0x10000, 16);
	f->vq.size = 16;
	f->vq.desc_gpa = f->d.desc;
	f->vq.avail_gpa = f->d.avail;
	f->vq.used_gpa = f->d.used;
	f->vq.indirect = true;
	assert_int_equal(virtq_start(&f->vq, &f->gm, &e), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	guest_mem_free(&f->gm);
	free(f->c);
	free(f);
	return 0;
}

static void test_simple_chain(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[3] = {{0x100000, 16, false}, {0x101000, 512, true}, {0x102000, 1, true}};
	u32 id, len;

	memcpy(gp(&f->gm, 0x100000), "0123456789abcdef", 16);
	drvq_publish(&f->d, drvq_add(&f->d, b, 3));
	assert_int_equal(virtq_pending(&f->vq), 1);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), 1);
	assert_int_equal(f->c->n, 3);
	assert_int_equal(f->c->n_out, 1);
	assert_int_equal(f->c->out_len, 16);
	assert_int_equal(f->c->in_len, 513);
	assert_ptr_equal(f->c->bufs[1].hva, gp(&f->gm, 0x101000));
	char hdr[8];
	assert_int_equal(virtq_chain_read(f->c, 4, hdr, 8), 8);
	assert_memory_equal(hdr, "456789ab", 8);
	/* Writes span descriptors: 510 bytes into buf 1, 2 more... only 1 fits in buf 2. */
	u8 src[513];
	memset(src, 0x5a, sizeof(src));
	assert_int_equal(virtq_chain_write(f->c, 0, src, 600), 513);
	assert_int_equal(*gp(&f->gm, 0x102000), 0x5a);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), 0);
	virtq_push(&f->vq, f->c->head, 513);
	assert_true(drvq_used(&f->d, &id, &len));
	assert_int_equal(id, 0);
	assert_int_equal(len, 513);
	/* The counters: one request, 16 bytes read from the guest, 513 written. */
	assert_int_equal(f->vq.stats.chains, 1);
	assert_int_equal(f->vq.stats.bytes_from_guest, 16);
	assert_int_equal(f->vq.stats.bytes_to_guest, 513);
	/* A device reset keeps them: they describe the VM's life, not the queue's. */
	virtq_reset(&f->vq);
	assert_false(f->vq.started);
	assert_int_equal(f->vq.stats.chains, 1);
	assert_int_equal(f->vq.stats.bytes_to_guest, 513);
}

static void test_loop_detected(void **state)
{
	struct fx *f = *state;

	/* 0 -> 1 -> 0 ... */
	drvq_set_desc(&f->d, 0, 0x100000, 16, VIRTQ_DESC_F_NEXT, 1);
	drvq_set_desc(&f->d, 1, 0x100000, 16, VIRTQ_DESC_F_NEXT, 0);
	drvq_publish(&f->d, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EINVAL);
	assert_string_equal(f->e.msg,
			    "descriptor chain from head 0 loops or is longer than its 16-entry table");
}

static void test_next_beyond_queue(void **state)
{
	struct fx *f = *state;

	drvq_set_desc(&f->d, 3, 0x100000, 16, VIRTQ_DESC_F_NEXT, 16);
	drvq_publish(&f->d, 3);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EINVAL);
	assert_string_equal(f->e.msg, "descriptor 3: next 16 is beyond the 16-entry table");
}

static void test_head_beyond_queue(void **state)
{
	struct fx *f = *state;

	drvq_publish(&f->d, 40);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EINVAL);
	assert_string_equal(f->e.msg, "available ring entry 0 names descriptor 40 of 16");
}

static void test_avail_index_jump(void **state)
{
	struct fx *f = *state;

	put_le16(gp(&f->gm, f->d.avail + 2), 17);
	assert_int_equal(virtq_pending(&f->vq), -1);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EINVAL);
	assert_string_equal(f->e.msg, "available index 17 is 17 entries ahead of a 16-entry queue");
}

static void test_buffer_outside_ram(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[2] = {{0x100000, 16, false}, {4 * MiB - 8, 16, true}};

	drvq_publish(&f->d, drvq_add(&f->d, b, 2));
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EFAULT);
	assert_string_equal(f->e.msg, "descriptor 1: buffer 0x3ffff8+16 is outside guest RAM");
}

static void test_buffer_wraps_address_space(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[1] = {{UINT64_MAX - 3, 16, false}};

	drvq_publish(&f->d, drvq_add(&f->d, b, 1));
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EFAULT);
}

static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[2] = {{0x100000, 16, true}, {0x101000, 16, false}};

	drvq_publish(&f->d, drvq_add(&f->d, b, 2));
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EINVAL);
	assert_string_equal(f->e.msg, "descriptor 1: device-readable buffer after a writable one");
}

static void test_indirect(void **state)
{
	struct fx *f = *state;
	u8 *t = gp(&f->gm, 0x200000);

	/* A 3-entry indirect table: out 16, in 512, in 1. */
	put_le64(t, 0x100000), put_le32(t + 8, 16), put_le16(t + 12, VIRTQ_DESC_F_NEXT), put_le16(t + 14, 1);
	put_le64(t + 16, 0x101000), put_le32(t + 24, 512);
	put_le16(t + 28, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE), put_le16(t + 30, 2);
	put_le64(t + 32, 0x102000), put_le32(t + 40, 1), put_le16(t + 44, VIRTQ_DESC_F_WRITE);
	drvq_set_desc(&f->d, 5, 0x200000, 48, VIRTQ_DESC_F_INDIRECT, 0);
	drvq_publish(&f->d, 5);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), 1);
	assert_int_equal(f->c->head, 5);
	assert_int_equal(f->c->n, 3);
	assert_int_equal(f->c->in_len, 513);
}

static void test_indirect_in_indirect(void **state)
{
	struct fx *f = *state;
	u8 *t = gp(&f->gm, 0x200000);

	put_le64(t, 0x210000), put_le32(t + 8, 16), put_le16(t + 12, VIRTQ_DESC_F_INDIRECT);
	drvq_set_desc(&f->d, 0, 0x200000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	drvq_publish(&f->d, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EINVAL);
	assert_string_equal(f->e.msg, "indirect descriptor 0 inside an indirect table");
}

static void test_indirect_loop_and_bad_sizes(void **state)
{
	struct fx *f = *state;
	u8 *t = gp(&f->gm, 0x200000);

	/* Entry 1 points back to 0 inside the table. */
	put_le64(t, 0x100000), put_le32(t + 8, 16), put_le16(t + 12, VIRTQ_DESC_F_NEXT), put_le16(t + 14, 1);
	put_le64(t + 16, 0x100000), put_le32(t + 24, 16), put_le16(t + 28, VIRTQ_DESC_F_NEXT), put_le16(t + 30, 0);
	drvq_set_desc(&f->d, 0, 0x200000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	drvq_publish(&f->d, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EINVAL);
	assert_string_equal(f->e.msg,
			    "descriptor chain from head 0 loops or is longer than its 2-entry table");

	virtq_reset(&f->vq);
	f->vq = (struct virtq){.size = 16, .desc_gpa = f->d.desc, .avail_gpa = f->d.avail,
			       .used_gpa = f->d.used, .indirect = true};
	assert_int_equal(virtq_start(&f->vq, &f->gm, &f->e), 0);
	drvq_init(&f->d, &f->gm, 0x10000, 16);
	drvq_set_desc(&f->d, 0, 0x200000, 24, VIRTQ_DESC_F_INDIRECT, 0);
	drvq_publish(&f->d, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EINVAL);
	assert_string_equal(f->e.msg,
			    "indirect table of 24 bytes (need a multiple of 16, at most 1024 entries)");
}

static void test_indirect_not_negotiated(void **state)
{
	struct fx *f = *state;

	f->vq.indirect = false;
	drvq_set_desc(&f->d, 0, 0x200000, 16, VIRTQ_DESC_F_INDIRECT, 0);
	drvq_publish(&f->d, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EINVAL);
	assert_string_equal(f->e.msg, "descriptor 0 is indirect but INDIRECT_DESC was not negotiated");
}

static void test_indirect_table_outside_ram(void **state)
{
	struct fx *f = *state;

	drvq_set_desc(&f->d, 0, 4 * MiB - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	drvq_publish(&f->d, 0);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), -EFAULT);
	assert_string_equal(f->e.msg, "indirect table 0x3ffff0+32 is outside guest RAM");
}

static void test_index_wraparound(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[1] = {{0x100000, 8, true}};
	u32 id, len;

	/* Run both indices across 65535 -> 0. */
	for (unsigned i = 0; i < 70000; i++) {
		drvq_publish(&f->d, drvq_add(&f->d, b, 1));
		assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), 1);
		virtq_push(&f->vq, f->c->head, 8);
		assert_true(drvq_used(&f->d, &id, &len));
		assert_int_equal(id, i % 16);
	}
	assert_int_equal(f->vq.last_avail, (u16)70000);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), 0);
}

static void test_event_idx_suppression(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[1] = {{0x100000, 8, true}};
	u16 used_event_off = (u16)(4 + 2 * 16);

	f->vq.event_idx = true;
	/* The driver wants an interrupt only once used idx passes 2 (i.e. reaches 3). */
	put_le16(gp(&f->gm, f->d.avail + used_event_off), 2);
	for (unsigned i = 0; i < 4; i++)
		drvq_publish(&f->d, drvq_add(&f->d, b, 1));
	bool notes[4];
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), 1);
		virtq_push(&f->vq, f->c->head, 8);
		notes[i] = virtq_should_notify(&f->vq);
	}
	/* The first decision is always "notify"; then only crossing used_event. */
	assert_true(notes[0]);
	assert_false(notes[1]);
	assert_true(notes[2]);
	assert_false(notes[3]);
	/* avail_event tells the driver how far we have read. */
	assert_int_equal(get_le16(gp(&f->gm, f->d.used + 4 + 8 * 16)), 4);
}

static void test_no_interrupt_flag(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[1] = {{0x100000, 8, true}};

	put_le16(gp(&f->gm, f->d.avail), VIRTQ_AVAIL_F_NO_INTERRUPT);
	drvq_publish(&f->d, drvq_add(&f->d, b, 1));
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), 1);
	virtq_push(&f->vq, f->c->head, 8);
	assert_false(virtq_should_notify(&f->vq));
	/* Suppressing kicks sets USED_F_NO_NOTIFY; enabling re-checks pending work. */
	assert_false(virtq_set_notify(&f->vq, false));
	assert_int_equal(get_le16(gp(&f->gm, f->d.used)), VIRTQ_USED_F_NO_NOTIFY);
	drvq_publish(&f->d, drvq_add(&f->d, b, 1));
	assert_true(virtq_set_notify(&f->vq, true));
	assert_int_equal(get_le16(gp(&f->gm, f->d.used)), 0);
}

static void test_unpop(void **state)
{
	struct fx *f = *state;
	struct drv_buf b[1] = {{0x100000, 8, true}};

	drvq_publish(&f->d, drvq_add(&f->d, b, 1));
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), 1);
	virtq_unpop(&f->vq, 1);
	assert_int_equal(virtq_pending(&f->vq), 1);
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), 1);
}

static void test_start_checks(void **state)
{
	struct fx *f = *state;
	struct virtq q = {.size = 16, .desc_gpa = 0x10008, .avail_gpa = 0x20000, .used_gpa = 0x30000};

	assert_int_equal(virtq_start(&q, &f->gm, &f->e), -EINVAL);
	assert_string_equal(f->e.msg,
			    "rings at 0x10008/0x20000/0x30000 are misaligned (need 16/2/4)");
	q.desc_gpa = 0x10000;
	q.used_gpa = 4 * MiB - 64;
	assert_int_equal(virtq_start(&q, &f->gm, &f->e), -EFAULT);
	assert_string_equal(f->e.msg, "used ring at 0x3fffc0 (queue size 16) is outside guest RAM");
	q.size = 12;
	assert_int_equal(virtq_start(&q, &f->gm, &f->e), -EINVAL);
	assert_string_equal(f->e.msg, "queue size 12 is not a power of two up to 1024");
}

static void test_zero_length_buffers_skipped(void **state)
{
	struct fx *f = *state;
	/* A zero-length descriptor anywhere (even with a wild address) carries nothing. */
	struct drv_buf b[3] = {{0x100000, 4, false}, {0xdead000000ULL, 0, true}, {0x101000, 4, true}};

	drvq_publish(&f->d, drvq_add(&f->d, b, 3));
	assert_int_equal(virtq_pop(&f->vq, &f->gm, f->c, &f->e), 1);
	assert_int_equal(f->c->n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_simple_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop_detected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_beyond_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_beyond_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_avail_index_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_wraps_address_space, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_in_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_loop_and_bad_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_not_negotiated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_table_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_wraparound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx_suppression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_interrupt_flag, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_length_buffers_skipped, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
