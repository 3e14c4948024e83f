// SPDX-License-Identifier: MIT
/* tdvf_parse on Debian's OVMF.fd and on hostile images derived from it. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tdx/tdvf.h"
#include "tdx_test_util.h"

/* Debian bookworm ovmf 2022.11-6+deb12u2: descriptor location (tdx-measurement.md §3.5). */
#define DESC_OFF 0x1ff7c0
#define SEC(i)	 (DESC_OFF + 16 + 32 * (i))

static const u8 tdx_offset_guid[16] = {0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
				       0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2};

static struct file_buf ovmf;

static int setup(void **state)
{
	if (read_ovmf(&ovmf) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	file_buf_free(&ovmf);
	return 0;
}

/* A private copy to corrupt. */
static u8 *copy(void)
{
	u8 *p = malloc(ovmf.len);

	assert_non_null(p);
	memcpy(p, ovmf.data, ovmf.len);
	return p;
}

/* Parses img and checks the error code and that the message contains want. */
static void expect_err(const u8 *img, size_t len, int code, const char *want)
{
	struct tdvf_info *info = malloc(sizeof(*info));
	struct err e;
	int r;

	err_clear(&e);
	r = tdvf_parse(img, len, info, &e);
	if (r != code || !strstr(e.msg, want))
		fail_msg("got %d '%s', want %d with '%s'", r, e.msg, code, want);
	assert_int_equal(info->nsections, 0);
	free(info);
}

static void test_real_ovmf(void **state)
{
	struct tdvf_info info;
	struct err e;

	assert_int_equal(ovmf.len, 2 * MiB);
	assert_int_equal(tdvf_parse(ovmf.data, ovmf.len, &info, &e), 0);
	assert_int_equal(info.image_size, 2 * MiB);
	assert_int_equal(info.image_gpa, 0xFFE00000ULL);
	assert_int_equal(info.nsections, 6);
	static const struct tdvf_section want[6] = {
	    {0x20000, 0x1e0000, 0xffe20000, 0x1e0000, TDVF_SECTION_BFV, TDVF_ATTR_MR_EXTEND},
	    {0x0, 0x20000, 0xffe00000, 0x20000, TDVF_SECTION_CFV, 0},
	    {0, 0, 0x810000, 0x10000, TDVF_SECTION_TEMP_MEM, 0},
	    {0, 0, 0x80b000, 0x2000, TDVF_SECTION_TEMP_MEM, 0},
	    {0, 0, 0x809000, 0x2000, TDVF_SECTION_TD_HOB, 0},
	    {0, 0, 0x800000, 0x6000, TDVF_SECTION_TEMP_MEM, 0},
	};
	for (int i = 0; i < 6; i++) {
		assert_int_equal(info.sections[i].data_offset, want[i].data_offset);
		assert_int_equal(info.sections[i].raw_size, want[i].raw_size);
		assert_int_equal(info.sections[i].gpa, want[i].gpa);
		assert_int_equal(info.sections[i].mem_size, want[i].mem_size);
		assert_int_equal(info.sections[i].type, want[i].type);
		assert_int_equal(info.sections[i].attributes, want[i].attributes);
	}
	assert_ptr_equal(tdvf_find(&info, TDVF_SECTION_TD_HOB), &info.sections[4]);
	assert_ptr_equal(tdvf_find(&info, TDVF_SECTION_TEMP_MEM), &info.sections[2]);
	assert_null(tdvf_find(&info, TDVF_SECTION_PAYLOAD));
	assert_string_equal(tdvf_section_type_name(TDVF_SECTION_TD_HOB), "TD_HOB");
	assert_string_equal(tdvf_section_type_name(99), "unknown");
}

static void test_truncated(void **state)
{
	/* Cut at the end: the footer is no longer where it must be. */
	expect_err(ovmf.data, ovmf.len - 4096, -ENOENT, "no OVMF GUIDed table footer");
	/* Cut at the front: the table still points at the descriptor, the BFV data is gone. */
	expect_err(ovmf.data + ovmf.len - 64 * KiB, 64 * KiB, -EINVAL,
		   "TDVF section 0 (BFV): raw data 0x20000+0x1e0000 runs past the end of the "
		   "65536-byte image");
	expect_err(ovmf.data, 1000, -EINVAL, "not a non-zero multiple of 4 KiB");
	expect_err(ovmf.data, 0, -EINVAL, "not a non-zero multiple of 4 KiB");
}

static void test_footer_corrupt(void **state)
{
	u8 *img = copy();

	img[ovmf.len - 0x30] ^= 1;
	/* The legacy td-shim pointer of an OVMF image is reset-vector code, not an offset. */
	expect_err(img, ovmf.len, -ENOENT,
		   "no OVMF GUIDed table footer at offset 0x1fffd0 and no TDVF descriptor at the "
		   "legacy offset 0x90ff2ae9");
	free(img);
}

static u8 *find_offset_entry(u8 *img, size_t len)
{
	for (size_t i = len - 0x30; i > len - 0x1000; i--)
		if (!memcmp(img + i, tdx_offset_guid, 16))
			return img + i - 2 - 4; /* its u32 data */
	fail_msg("no TDX metadata offset entry");
	return NULL;
}

static void test_offset_outside(void **state)
{
	u8 *img = copy();
	u8 *ent = find_offset_entry(img, ovmf.len);

	assert_int_equal(get_le32(ent), ovmf.len - DESC_OFF);
	put_le32(ent, 0x300000);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDX metadata offset entry: descriptor offset 3145728 from the end is outside "
		   "the 2097152-byte image");
	put_le32(ent, 8);
	expect_err(img, ovmf.len, -EINVAL, "descriptor offset 8 from the end is outside");
	/* Pointing at something that is not a descriptor. */
	put_le32(ent, 0x100000);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF descriptor at file offset 0x100000: bad signature");
	/* The entry GUID unknown: table walked to its start, nothing found. */
	put_le32(ent, ovmf.len - DESC_OFF);
	ent[6] ^= 0xff;
	expect_err(img, ovmf.len, -ENOENT, "has no TDX metadata offset entry");
	free(img);
}

static void test_guid_table_lengths(void **state)
{
	u8 *img = copy();

	put_le16(img + ovmf.len - 0x32, 5);
	expect_err(img, ovmf.len, -EINVAL, "OVMF GUIDed table: length 5 does not fit");
	put_le16(img + ovmf.len - 0x32, 0xffff);
	/* 0xffff fits a 2 MiB image but entry lengths then walk into garbage. */
	{
		struct tdvf_info info;
		struct err e;
		int r = tdvf_parse(img, ovmf.len, &info, &e);

		/* Either the metadata entry is still found first, or a clear table error. */
		assert_true(r == 0 || strstr(e.msg, "OVMF GUIDed table") != NULL);
	}
	memcpy(img, ovmf.data, ovmf.len);
	/* An entry whose length runs past the table start. */
	u8 *ent = find_offset_entry(img, ovmf.len);
	put_le16(ent + 4, 0x7000);
	expect_err(img, ovmf.len, -EINVAL, "has length 28672, outside 18..");
	put_le16(ent + 4, 3);
	expect_err(img, ovmf.len, -EINVAL, "has length 3, outside 18..");
	free(img);
}

static void test_descriptor_header(void **state)
{
	u8 *img = copy();

	put_le32(img + DESC_OFF + 12, 0xffffffff);
	expect_err(img, ovmf.len, -EINVAL, "TDVF descriptor: 4294967295 sections, must be 1..64");
	put_le32(img + DESC_OFF + 12, 0);
	expect_err(img, ovmf.len, -EINVAL, "TDVF descriptor: 0 sections, must be 1..64");
	put_le32(img + DESC_OFF + 12, 65);
	expect_err(img, ovmf.len, -EINVAL, "65 sections, must be 1..64");
	put_le32(img + DESC_OFF + 12, 5);
	expect_err(img, ovmf.len, -EINVAL, "TDVF descriptor: length 208, want 176 for 5 sections");
	put_le32(img + DESC_OFF + 12, 6);
	put_le32(img + DESC_OFF + 8, 2);
	expect_err(img, ovmf.len, -EINVAL, "TDVF descriptor: version 2, only 1 is supported");
	put_le32(img + DESC_OFF + 8, 1);
	img[DESC_OFF] = 'X';
	expect_err(img, ovmf.len, -EINVAL, "bad signature");
	img[DESC_OFF] = 'T';
	/* A descriptor near the end whose section table would run past the end of the file. */
	memcpy(img + ovmf.len - 0x200, img + DESC_OFF, 16);
	put_le32(img + ovmf.len - 0x200 + 12, 64);
	put_le32(img + ovmf.len - 0x200 + 4, 16 + 32 * 64);
	put_le32(find_offset_entry(img, ovmf.len), 0x200);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF descriptor: 64 sections at file offset 0x1ffe00 run past the end of the "
		   "2097152-byte image");
	free(img);
}

static void test_sections(void **state)
{
	u8 *img = copy();

#define RESET() memcpy(img, ovmf.data, ovmf.len)
	put_le64(img + SEC(2) + 8, 0xffe20000);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 2 (TempMem): memory range overlaps section 0 (BFV)");
	RESET();
	put_le64(img + SEC(5) + 8, 0x80f000);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 5 (TempMem): memory range overlaps section 2 (TempMem)");
	RESET();
	put_le64(img + SEC(3) + 8, 0x80b800);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 3 (TempMem): memory range 0x80b800+0x2000 is not 4 KiB aligned");
	RESET();
	put_le64(img + SEC(3) + 16, 0x2100);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 3 (TempMem): memory range 0x80b000+0x2100 is not 4 KiB aligned");
	RESET();
	put_le64(img + SEC(3) + 8, 0xfffffffffffff000ULL);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 3 (TempMem): memory range 0xfffffffffffff000+0x2000 wraps around");
	RESET();
	put_le64(img + SEC(0) + 16, 0x1000);
	expect_err(
	    img, ovmf.len, -EINVAL,
	    "TDVF section 0 (BFV): memory size 0x1000 is smaller than its raw data size 0x1e0000");
	RESET();
	put_le32(img + SEC(1) + 4, 0);
	expect_err(img, ovmf.len, -EINVAL, "TDVF section 1 (CFV): no raw data");
	RESET();
	put_le32(img + SEC(4) + 4, 0x100);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 4 (TD_HOB): raw data size 0x100, must be 0 for this type");
	RESET();
	put_le32(img + SEC(5) + 24, TDVF_SECTION_TD_HOB);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 5 (TD_HOB): a second TD_HOB (first is section 4)");
	RESET();
	put_le32(img + SEC(2) + 24, 9);
	expect_err(img, ovmf.len, -EINVAL, "TDVF section 2: unknown type 9 (known: 0..8)");
	RESET();
	put_le32(img + SEC(2) + 28, 0x80);
	expect_err(img, ovmf.len, -EINVAL, "TDVF section 2 (TempMem): unknown attribute bits 0x80");
	RESET();
	put_le64(img + SEC(2) + 16, 0);
	expect_err(img, ovmf.len, -EINVAL, "TDVF section 2 (TempMem): empty memory range");
	RESET();
	put_le32(img + SEC(1), 0xfffff000);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 1 (CFV): raw data 0xfffff000+0x20000 runs past the end");
	RESET();
	/* Firmware volumes belong to the image's mapping below 4 GiB (launch and measure alike). */
	put_le64(img + SEC(0) + 8, 0x100000000ULL);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 0 (BFV): memory range 0x100000000+0x1e0000 lies outside the "
		   "firmware's mapping");
	RESET();
	put_le64(img + SEC(1) + 8, 0x800000);
	expect_err(img, ovmf.len, -EINVAL, "TDVF section 1 (CFV): memory range 0x800000+0x20000 lies outside");
	free(img);
#undef RESET
}

/*
 * Hostile images the TDVF design guide (edk2 ValidateTdxMetadata) and td-shim
 * (validate_sections) forbid: one rule set for the launch and `merak measure`.
 */
static void test_hostile_tdvf(void **state)
{
	u8 *img = copy();

#define RESET() memcpy(img, ovmf.data, ovmf.len)
	/* No BFV: the TD would have no code. */
	put_le32(img + SEC(0) + 24, TDVF_SECTION_CFV);
	expect_err(img, ovmf.len, -EINVAL, "TDVF metadata: no BFV section");
	RESET();
	/* No TD_HOB in a TDVF (no PermMem either). */
	put_le32(img + SEC(4) + 24, TDVF_SECTION_TEMP_MEM);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF metadata: no TD_HOB section (TDVF requires one; only a td-shim image "
		   "that lists its memory as PermMem sections may go without)");
	RESET();
	/* A TD_HOB at GPA 0: INIT_VCPU's RCX 0 means "no HOB". */
	put_le64(img + SEC(4) + 8, 0);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 4 (TD_HOB): at GPA 0, which the TD reads as \"no HOB\"");
	RESET();
	/* A BFV marked PAGE.AUG would reach the TD empty and unmeasured. */
	put_le32(img + SEC(0) + 28, TDVF_ATTR_MR_EXTEND | TDVF_ATTR_PAGE_AUG);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 0 (BFV): PAGE.AUG, which only PermMem may have");
	RESET();
	put_le32(img + SEC(2) + 28, TDVF_ATTR_PAGE_AUG);
	expect_err(img, ovmf.len, -EINVAL, "TDVF section 2 (TempMem): PAGE.AUG, which only");
	RESET();
	/* A BFV without MR.EXTEND would leave the firmware out of MRTD. */
	put_le32(img + SEC(0) + 28, 0);
	expect_err(img, ovmf.len, -EINVAL,
		   "TDVF section 0 (BFV): no MR.EXTEND attribute: the firmware's code would be "
		   "left out of MRTD");
	free(img);
#undef RESET
}

/* td-shim-shaped 64 KiB image: descriptor at 0x1000, BFV = the last 32 KiB (ends at 4 GiB). */
#define SHIM_LEN  (64 * KiB)
#define SHIM_DESC 0x1000
static const struct tdvf_section shim_bfv = {0x8000, 0x8000,	       4 * GiB - 0x8000,
					     0x8000, TDVF_SECTION_BFV, TDVF_ATTR_MR_EXTEND};
static const struct tdvf_section shim_hob = {0, 0, 0x800000, 0x2000, TDVF_SECTION_TD_HOB, 0};

static u8 *shim_image(const struct tdvf_section *s, u32 n)
{
	u8 *img = calloc(1, SHIM_LEN);

	put_le32(img + SHIM_DESC, 0x46564454);
	put_le32(img + SHIM_DESC + 4, 16 + 32 * n);
	put_le32(img + SHIM_DESC + 8, 1);
	put_le32(img + SHIM_DESC + 12, n);
	for (u32 i = 0; i < n; i++) {
		u8 *p = img + SHIM_DESC + 16 + 32 * i;

		put_le32(p, s[i].data_offset);
		put_le32(p + 4, s[i].raw_size);
		put_le64(p + 8, s[i].gpa);
		put_le64(p + 16, s[i].mem_size);
		put_le32(p + 24, s[i].type);
		put_le32(p + 28, s[i].attributes);
	}
	put_le32(img + SHIM_LEN - 0x20, SHIM_DESC);
	return img;
}

static void expect_shim_err(const struct tdvf_section *s, u32 n, const char *want)
{
	u8 *img = shim_image(s, n);

	expect_err(img, SHIM_LEN, -EINVAL, want);
	free(img);
}

/*
 * td-shim's TD_INFO and TD_PARAMS (metadata.rs validate_sections): raw data
 * inside the BFV's, memory address and size 0, attributes 0, one of each.
 */
static void test_td_info_td_params(void **state)
{
	struct tdvf_section s[5] = {[2] = {0x9000, 0x400, 0, 0, TDVF_SECTION_TD_INFO, 0},
				    [3] = {0x9400, 0x400, 0, 0, TDVF_SECTION_TD_PARAMS, 0}};
	struct tdvf_info info;
	struct err e;
	u8 *img;

	s[0] = shim_bfv;
	s[1] = shim_hob;
	img = shim_image(s, 4);

	assert_int_equal(tdvf_parse(img, SHIM_LEN, &info, &e), 0);
	assert_int_equal(info.nsections, 4);
	assert_string_equal(tdvf_section_type_name(TDVF_SECTION_TD_INFO), "TD_INFO");
	assert_string_equal(tdvf_section_type_name(TDVF_SECTION_TD_PARAMS), "TD_PARAMS");
	assert_false(tdvf_section_has_memory(&info.sections[2]));
	assert_false(tdvf_section_has_memory(&info.sections[3]));
	assert_true(tdvf_section_has_memory(&info.sections[0]));
	free(img);

	s[2].gpa = 0x1000;
	s[2].mem_size = 0x1000;
	expect_shim_err(s, 4,
			"TDVF section 2 (TD_INFO): memory range 0x1000+0x1000, must be 0+0 (its "
			"bytes live in the BFV; it gets no pages of its own)");
	s[2].gpa = s[2].mem_size = 0;
	s[2].raw_size = 0;
	expect_shim_err(s, 4, "TDVF section 2 (TD_INFO): no raw data");
	s[2].raw_size = 0x400;
	s[2].attributes = TDVF_ATTR_MR_EXTEND;
	expect_shim_err(s, 4, "TDVF section 2 (TD_INFO): attributes 0x1, must be 0");
	s[2].attributes = 0;
	s[2].data_offset = 0x2000; /* in the image, not in the BFV */
	expect_shim_err(s, 4,
			"TDVF section 2 (TD_INFO): raw data 0x2000+0x400 is not inside a BFV's "
			"raw data");
	s[2].data_offset = 0xfe00; /* straddles the BFV's end and the image's */
	expect_shim_err(s, 4, "TDVF section 2 (TD_INFO): raw data 0xfe00+0x400 runs past the end");
	s[2].data_offset = 0x9000;
	s[4] = s[2];
	expect_shim_err(s, 5, "TDVF section 4 (TD_INFO): a second TD_INFO (first is section 2)");
	s[3].mem_size = 0x1000;
	expect_shim_err(s, 4, "TDVF section 3 (TD_PARAMS): memory range 0x0+0x1000, must be 0+0");
}

/* PermMem, the TD_HOB/PermMem rule, PayloadParam, and the BFV's place. */
static void test_shim_section_rules(void **state)
{
	struct tdvf_section s[3] = {
	    [2] = {0, 0, 0x200000000ULL, 0x200000, TDVF_SECTION_PERM_MEM, TDVF_ATTR_PAGE_AUG}};
	struct tdvf_info info;
	struct err e;
	u8 *img;

	s[0] = shim_bfv;
	s[1] = shim_hob;
	img = shim_image(s, 3);

	assert_int_equal(tdvf_parse(img, SHIM_LEN, &info, &e), 0);
	free(img);
	/* td-shim may go without a TD_HOB when it lists its memory as PermMem. */
	s[1] = s[2];
	s[1].gpa = 0x1000000;
	img = shim_image(s, 3);
	assert_int_equal(tdvf_parse(img, SHIM_LEN, &info, &e), 0);
	free(img);
	s[1] = shim_hob;
	s[2].attributes = 0;
	expect_shim_err(s, 3,
			"TDVF section 2 (PermMem): attributes 0x0, must be PAGE.AUG (0x2) alone");
	s[2].attributes = TDVF_ATTR_PAGE_AUG | TDVF_ATTR_MR_EXTEND;
	expect_shim_err(s, 3, "TDVF section 2 (PermMem): attributes 0x3, must be PAGE.AUG");
	s[2].attributes = TDVF_ATTR_PAGE_AUG;
	s[2].raw_size = 0x1000;
	s[2].data_offset = 0x8000;
	expect_shim_err(s, 3,
			"TDVF section 2 (PermMem): raw data size 0x1000, must be 0 for this type");
	s[2] = (struct tdvf_section){0, 0, 0x860000, 0x1000, TDVF_SECTION_PAYLOAD_PARAM, 0};
	expect_shim_err(s, 3, "TDVF metadata: a PayloadParam section without a Payload section");
	s[2] = (struct tdvf_section){0, 0, 0x861000, 0x1000, TDVF_SECTION_PAYLOAD, 0};
	s[1] = s[2];
	s[1].gpa = 0x900000;
	expect_shim_err(s, 3, "TDVF section 2 (Payload): a second Payload (first is section 1)");
	/* A BFV that does not reach the reset vector at 0xfffffff0. */
	s[0].gpa = 4 * GiB - 0x10000;
	s[1] = shim_hob;
	expect_shim_err(s, 2,
			"TDVF metadata: no BFV section ends at 4 GiB, so the reset vector "
			"(0xfffffff0) is not in the TD's code");
}

/* A minimal td-shim-style image located through the legacy pointer only. */
static void test_legacy_pointer(void **state)
{
	size_t len = 64 * KiB;
	u8 *img = calloc(1, len);
	struct tdvf_info info;
	struct err e;
	u32 d = 0x8000;

	put_le32(img + d, 0x46564454);
	put_le32(img + d + 4, 16 + 32 * 2);
	put_le32(img + d + 8, 1);
	put_le32(img + d + 12, 2);
	/* BFV: the last 32 KiB of the image. */
	put_le32(img + d + 16, 0x8000);
	put_le32(img + d + 20, 0x8000);
	put_le64(img + d + 24, 4 * GiB - 0x8000);
	put_le64(img + d + 32, 0x8000);
	put_le32(img + d + 40, TDVF_SECTION_BFV);
	put_le32(img + d + 44, TDVF_ATTR_MR_EXTEND);
	/* PermMem, page-augmented. */
	put_le64(img + d + 56, 0x1000000);
	put_le64(img + d + 64, 0x100000);
	put_le32(img + d + 72, TDVF_SECTION_PERM_MEM);
	put_le32(img + d + 76, TDVF_ATTR_PAGE_AUG);
	put_le32(img + len - 0x20, d);
	assert_int_equal(tdvf_parse(img, len, &info, &e), 0);
	assert_int_equal(info.nsections, 2);
	assert_int_equal(info.image_gpa, 4 * GiB - len);
	assert_int_equal(info.sections[1].type, TDVF_SECTION_PERM_MEM);
	assert_int_equal(info.sections[1].attributes, TDVF_ATTR_PAGE_AUG);
	/* Legacy pointer past the end. */
	put_le32(img + len - 0x20, len - 8);
	expect_err(img, len, -ENOENT, "no TDVF descriptor at the legacy offset 0xfff8");
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_ovmf),	       cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_footer_corrupt),     cmocka_unit_test(test_offset_outside),
	    cmocka_unit_test(test_guid_table_lengths), cmocka_unit_test(test_descriptor_header),
	    cmocka_unit_test(test_sections),	       cmocka_unit_test(test_legacy_pointer),
	    cmocka_unit_test(test_hostile_tdvf),       cmocka_unit_test(test_td_info_td_params),
	    cmocka_unit_test(test_shim_section_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
