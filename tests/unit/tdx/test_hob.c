// SPDX-License-Identifier: MIT
/* TD RAM map and TD HOB builder: byte-exact layout and a real-world digest. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tdx/hob.h"
#include "tdx/mrtd.h"
#include "tdx_test_util.h"

static struct tdvf_info ovmf_info;

static int setup(void **state)
{
	struct file_buf f;
	struct err e;
	int r;

	if (read_ovmf(&f) < 0)
		return -1;
	r = tdvf_parse(f.data, f.len, &ovmf_info, &e);
	file_buf_free(&f);
	return r;
}

static void test_ram_from_size(void **state)
{
	struct td_ram_range r[2];
	unsigned n;
	struct err e;

	assert_int_equal(td_ram_from_size(2 * GiB, r, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].gpa, 0);
	assert_int_equal(r[0].size, 2 * GiB);
	/* QEMU q35's split: all low below 2.75 GiB, else 2 GiB low. */
	assert_int_equal(td_ram_from_size(0xAFFFF000ULL, r, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].size, 0xAFFFF000ULL);
	assert_int_equal(td_ram_from_size(0xB0000000ULL, r, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].size, 2 * GiB);
	assert_int_equal(r[1].size, 0x30000000ULL);
	assert_int_equal(td_ram_from_size(8 * GiB, r, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].size, 2 * GiB);
	assert_int_equal(r[1].gpa, 4 * GiB);
	assert_int_equal(r[1].size, 6 * GiB);
	assert_false(r[1].accepted);
	assert_int_equal(td_ram_from_size(0, r, &n, &e), -EINVAL);
	assert_int_equal(td_ram_from_size(4097, r, &n, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "memory size 4097 is not a non-zero multiple of 4 KiB"));
}

static void test_map_ovmf(void **state)
{
	struct td_ram_range ram[2];
	struct td_ram_map m;
	unsigned n;
	struct err e;

	assert_int_equal(td_ram_from_size(8 * GiB, ram, &n, &e), 0);
	assert_int_equal(td_ram_map_build(ram, n, &ovmf_info, &m, &e), 0);
	static const struct td_ram_range want[] = {
	    {0, 0x800000, false},      {0x800000, 0x6000, true},
	    {0x806000, 0x3000, false}, {0x809000, 0x2000, true},
	    {0x80b000, 0x2000, true},  {0x80d000, 0x3000, false},
	    {0x810000, 0x10000, true}, {0x820000, 2 * GiB - 0x820000, false},
	    {4 * GiB, 6 * GiB, false},
	};
	assert_int_equal(m.n, ARRAY_SIZE(want));
	for (unsigned i = 0; i < m.n; i++) {
		assert_int_equal(m.r[i].gpa, want[i].gpa);
		assert_int_equal(m.r[i].size, want[i].size);
		assert_int_equal(m.r[i].accepted, want[i].accepted);
	}
}

static void test_map_errors(void **state)
{
	struct td_ram_range ram[2] = {{0, 0x808000, false}};
	struct td_ram_map m;
	struct err e;

	/* Too little RAM for the TempMem sections. */
	assert_int_equal(td_ram_map_build(ram, 1, &ovmf_info, &m, &e), -EINVAL);
	assert_non_null(
	    strstr(e.msg, "TDVF section 2 (TempMem) at 0x810000+0x10000 is not inside guest RAM"));
	ram[0].size = 0x818000;
	assert_int_equal(td_ram_map_build(ram, 1, &ovmf_info, &m, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "TDVF section 2 (TempMem) at 0x810000+0x10000 straddles the "
				      "edge of guest RAM 0x0+0x818000"));
	ram[0].size = 1 * GiB;
	ram[1] = (struct td_ram_range){512 * MiB, 1 * GiB, false};
	assert_int_equal(td_ram_map_build(ram, 2, &ovmf_info, &m, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "RAM ranges at 0x0 and 0x20000000 overlap"));
}

static void test_hob_bytes(void **state)
{
	struct td_ram_map m = {
	    .n = 2,
	    .r = {{0x809000, 0x2000, true}, {0x100000000ULL, 0x40000000, false}},
	};
	u8 buf[256];
	size_t used;
	struct err e;

	memset(buf, 0xAA, sizeof(buf));
	assert_int_equal(td_hob_size(&m), 56 + 96 + 8);
	assert_int_equal(td_hob_build(&m, 0x809000, buf, sizeof(buf), &used, &e), 0);
	assert_int_equal(used, 160);
	/* clang-format off */
	static const u8 want[160] = {
		/* PHIT */
		0x01, 0x00, 0x38, 0x00, 0, 0, 0, 0, 0x09, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xa0, 0x90, 0x80, 0, 0, 0, 0, 0, /* EfiEndOfHobList = 0x809000 + 160 */
		/* resource descriptor: accepted */
		0x03, 0x00, 0x30, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0, 0, 0, 0x07, 0, 0, 0,
		0x00, 0x90, 0x80, 0, 0, 0, 0, 0, 0x00, 0x20, 0, 0, 0, 0, 0, 0,
		/* resource descriptor: unaccepted */
		0x03, 0x00, 0x30, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0x07, 0, 0, 0, 0x07, 0, 0, 0,
		0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0, 0x40, 0, 0, 0, 0,
		/* END */
		0xff, 0xff, 0x08, 0x00, 0, 0, 0, 0,
	};
	/* clang-format on */
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(buf[160], 0xAA);
	assert_int_equal(td_hob_build(&m, 0x809000, buf, 159, &used, &e), -ENOSPC);
	assert_non_null(strstr(e.msg, "TD HOB: 160 bytes do not fit the 159-byte TD_HOB section"));
}

/*
 * The real CCEL_data_ovmf log (QEMU, 2 GiB, an OVMF with the same TD_HOB and
 * TempMem sections as Debian's) records the digest OVMF measured for the HOB
 * QEMU built. For 2 GiB merak's RAM rule gives the same map, so our HOB must
 * hash to the same value.
 */
static void test_hob_digest_matches_real_log(void **state)
{
	struct td_ram_range ram[2];
	struct td_ram_map m;
	struct file_buf log;
	u8 hob[0x2000], d[48];
	unsigned n;
	size_t used;
	struct err e;

	assert_int_equal(read_test_data("eventlog/CCEL_data_ovmf", &log), 0);
	assert_int_equal(td_ram_from_size(2 * GiB, ram, &n, &e), 0);
	assert_int_equal(td_ram_map_build(ram, n, &ovmf_info, &m, &e), 0);
	assert_int_equal(td_hob_build(&m, 0x809000, hob, sizeof(hob), &used, &e), 0);
	assert_int_equal(td_hob_event_digest(hob, used, d, &e), 0);
	/* First CC event after the 65-byte Spec ID record: MR 1, EV_EFI_HANDOFF_TABLES2. */
	assert_int_equal(get_le32(log.data + 65), 1);
	assert_int_equal(get_le32(log.data + 69), 0x8000000b);
	assert_int_equal(get_le16(log.data + 77), 0x000c);
	assert_memory_equal(d, log.data + 79, 48);
	/* The event data names the HOB's address. */
	assert_int_equal(get_le64(log.data + 79 + 48 + 4 + 34), 0x809000);
	file_buf_free(&log);

	/* A HOB without its END is refused. */
	assert_int_equal(td_hob_event_digest(hob, used - 8, d, &e), -EINVAL);
	put_le16(hob + 2, 3);
	assert_int_equal(td_hob_event_digest(hob, used, d, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "bad length 3"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ram_from_size),
	    cmocka_unit_test(test_map_ovmf),
	    cmocka_unit_test(test_map_errors),
	    cmocka_unit_test(test_hob_bytes),
	    cmocka_unit_test(test_hob_digest_matches_real_log),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
