// SPDX-License-Identifier: MIT
#include "boot_test.h"

static void expect_entry(const struct e820_entry *e, u64 addr, u64 end, u32 type)
{
	assert_int_equal(e->addr, addr);
	assert_int_equal(e->size, end - addr);
	assert_int_equal(e->type, type);
}

static void test_small_guest(void **state)
{
	struct guest_mem gm;
	struct e820_entry t[E820_MAX];
	unsigned n = 0;
	struct err e;

	guest_mem_init(&gm);
	assert_int_equal(guest_mem_add_anon(&gm, 0, 64 * MiB, MEM_RAM, &e), 0);
	assert_int_equal(e820_build(&gm, t, E820_MAX, &n, &e), 0);
	assert_int_equal(n, 4);
	expect_entry(&t[0], 0, 0x9fc00, E820_RAM);
	expect_entry(&t[1], 0x9fc00, 0x100000, E820_RESERVED);
	expect_entry(&t[2], 0x100000, 64 * MiB, E820_RAM);
	expect_entry(&t[3], 0xb0000000, 0xc0000000, E820_RESERVED);
	guest_mem_free(&gm);
}

static void test_large_guest_with_firmware(void **state)
{
	struct guest_mem gm;
	struct e820_entry t[E820_MAX];
	unsigned n = 0;
	struct err e;

	guest_mem_init(&gm);
	/* Registered out of order: the map comes out sorted. */
	assert_int_equal(guest_mem_add_anon(&gm, 4 * GiB, GiB, MEM_RAM, &e), 0);
	assert_int_equal(guest_mem_add_anon(&gm, 4 * GiB - 2 * MiB, 2 * MiB, MEM_FIRMWARE, &e), 0);
	assert_int_equal(guest_mem_add_anon(&gm, 0, 2 * GiB, MEM_RAM, &e), 0);
	assert_int_equal(e820_build(&gm, t, E820_MAX, &n, &e), 0);
	assert_int_equal(n, 6);
	expect_entry(&t[0], 0, 0x9fc00, E820_RAM);
	expect_entry(&t[1], 0x9fc00, 0x100000, E820_RESERVED);
	expect_entry(&t[2], 0x100000, 2 * GiB, E820_RAM);
	expect_entry(&t[3], 0xb0000000, 0xc0000000, E820_RESERVED);
	expect_entry(&t[4], 4 * GiB - 2 * MiB, 4 * GiB, E820_RESERVED);
	expect_entry(&t[5], 4 * GiB, 5 * GiB, E820_RAM);
	/* Sorted and disjoint. */
	for (unsigned i = 1; i < n; i++)
		assert_true(t[i - 1].addr + t[i - 1].size <= t[i].addr);
	guest_mem_free(&gm);
}

static void test_adjacent_regions_merge(void **state)
{
	struct guest_mem gm;
	struct e820_entry t[E820_MAX];
	unsigned n = 0;
	struct err e;

	guest_mem_init(&gm);
	assert_int_equal(guest_mem_add_anon(&gm, 32 * MiB, 32 * MiB, MEM_RAM, &e), 0);
	assert_int_equal(guest_mem_add_anon(&gm, 0, 512 * KiB, MEM_RAM, &e), 0);
	assert_int_equal(guest_mem_add_anon(&gm, 512 * KiB, 32 * MiB - 512 * KiB, MEM_RAM, &e), 0);
	assert_int_equal(e820_build(&gm, t, E820_MAX, &n, &e), 0);
	assert_int_equal(n, 4);
	/* [0, 512K) and [512K, EBDA) join up. */
	expect_entry(&t[0], 0, 0x9fc00, E820_RAM);
	expect_entry(&t[1], 0x9fc00, 0x100000, E820_RESERVED);
	expect_entry(&t[2], 0x100000, 64 * MiB, E820_RAM);
	guest_mem_free(&gm);
}

static void test_limits_and_overlap(void **state)
{
	struct guest_mem gm;
	struct e820_entry t[E820_MAX];
	unsigned n = 77;
	struct err e;

	guest_mem_init(&gm);
	assert_int_equal(guest_mem_add_anon(&gm, 0, 64 * MiB, MEM_RAM, &e), 0);
	assert_int_equal(e820_build(&gm, t, 3, &n, &e), -ENOSPC);
	assert_msg(&e, "e820: more than 3 entries");
	assert_int_equal(n, 77);
	assert_int_equal(e820_build(&gm, t, 4, &n, &e), 0);
	assert_int_equal(n, 4);

	/* RAM registered inside the ECAM window cannot be described. */
	assert_int_equal(guest_mem_add_anon(&gm, 0xb8000000, MiB, MEM_RAM, &e), 0);
	assert_int_equal(e820_build(&gm, t, E820_MAX, &n, &e), -EINVAL);
	assert_msg(&e, "e820: RAM [0xb8000000, 0xb8100000) overlaps reserved [0xb0000000, "
		       "0xc0000000)");
	guest_mem_free(&gm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_guest),
	    cmocka_unit_test(test_large_guest_with_firmware),
	    cmocka_unit_test(test_adjacent_regions_merge),
	    cmocka_unit_test(test_limits_and_overlap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
