// SPDX-License-Identifier: MIT
/*
 * td-shim: payload info HOB, HOB/payload/parameter digests and the RTMR0/RTMR1
 * fold. Expected values come from a real td-shim event log (trustee's
 * CCEL_data in tests/data/eventlog), td-shim's published parameter vector,
 * and an independent Python/hashlib computation (given next to each value).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tdx/eventlog.h"
#include "tdx/hob.h"
#include "tdx/params.h"
#include "tdx/tdshim.h"
#include "tdx_test_util.h"

static void hex_eq(const u8 *d, const char *want)
{
	char h[97];

	td_hex(d, 48, h);
	assert_string_equal(h, want);
}

/* td-shim's Linux layout: TD_HOB 0x800000, PayloadParam 0x860000, Payload 0x861000. */
static void shim_fw(struct tdvf_info *fw, u64 payload_size, u32 payload_attr)
{
	memset(fw, 0, sizeof(*fw));
	fw->image_size = 0x100000;
	fw->image_gpa = 0xfff00000;
	fw->nsections = 5;
	fw->sections[0] = (struct tdvf_section){0x20000, 0xe0000,	   0xfff20000,
						0xe0000, TDVF_SECTION_BFV, TDVF_ATTR_MR_EXTEND};
	fw->sections[1] =
	    (struct tdvf_section){0, 0, 0xfff10000, 0x10000, TDVF_SECTION_TEMP_MEM, 0};
	fw->sections[2] = (struct tdvf_section){0, 0, 0x800000, 0x20000, TDVF_SECTION_TD_HOB, 0};
	fw->sections[3] =
	    (struct tdvf_section){0, 0, 0x861000, payload_size, TDVF_SECTION_PAYLOAD, payload_attr};
	fw->sections[4] =
	    (struct tdvf_section){0, 0, 0x860000, 0x1000, TDVF_SECTION_PAYLOAD_PARAM, 0};
}

/* A minimal list at 0x800000: PHIT (EfiEndOfHobList just past END) and END. */
static size_t tiny_hob(u8 *b)
{
	memset(b, 0, 64);
	put_le16(b, 1);
	put_le16(b + 2, 56);
	put_le32(b + 8, 9);
	put_le64(b + 48, 0x800000 + 64);
	put_le16(b + 56, 0xffff);
	put_le16(b + 58, 8);
	return 64;
}

/* td-payload-reference-calculator `param -p "root=/dev/vda1 console=hvc0 rw" -s 0x1000`. */
static void test_param_vector(void **state)
{
	struct tdvf_section pp = {0, 0, 0x860000, 0x1000, TDVF_SECTION_PAYLOAD_PARAM, 0};
	u8 *param, d[48];
	size_t len;
	struct err e;

	(void)state;
	assert_int_equal(td_shim_param("root=/dev/vda1 console=hvc0 rw", &pp, &param, &len, &e), 0);
	assert_int_equal(len, 31); /* with its NUL, as the launch writes it */
	assert_int_equal(td_sha384_padded(param, len, pp.mem_size, d, &e), 0);
	hex_eq(d, "64ed1e5a47e8632f80faf428465bd987af3e8e4ceb10a5a9f387b6302e30f4993bded2331f06"
		  "91c4a38ad34e4cbbc627");
	free(param);
	assert_int_equal(td_sha384_padded(d, 49, 48, d, &e), -E2BIG);
	assert_string_equal(e.msg, "49 bytes do not fit a 0x30-byte region");
}

static int find_hob_event(void *ctx, const struct cc_event *ev)
{
	const struct cc_event **out = ctx;

	if (ev->mr_index == 1 && ev->type == 0xa && ev->data_len > 20 &&
	    !memcmp(ev->data, "td_hob", 7) && !*out) {
		static struct cc_event copy;

		copy = *ev;
		*out = &copy;
	}
	return 0;
}

/*
 * A real td-shim boot (trustee deps/eventlog/test_data/CCEL_data): the HOB
 * event's data carries the HOB list; our digest of it must be the logged one
 * (so the END HOB is included), and folding the logged digests must give the
 * published RTMR0/RTMR1, which fixes the order: separator before the payload.
 */
static void test_real_tdshim_log(void **state)
{
	struct file_buf f;
	const struct cc_event *ev = NULL;
	struct td_shim_rtmrs s = {0};
	struct err e;

	(void)state;
	if (read_test_data("eventlog/CCEL_data", &f) < 0) {
		skip();
		return;
	}
	assert_true(cc_evlog_walk(f.data, f.len, NULL, find_hob_event, &ev, &e) >= 0);
	assert_non_null(ev);
	u32 hob_len = get_le32(ev->data + 16);
	const u8 *hob = ev->data + 20;

	assert_int_equal(hob_len, ev->data_len - 20);
	assert_int_equal(td_shim_hob_digest(hob, hob_len, 0x800000, s.hob, &e), 0);
	assert_memory_equal(s.hob, ev->sha384, 48);
	/* Its payload info HOB is the one td_shim_hob_finish writes (entry 0x901000 there). */
	assert_memory_equal(hob + hob_len - 48,
			    "\x04\x00\x28\x00\x00\x00\x00\x00\x12\xa4\x6f\xb9\x1f\x46\xe3\x4b"
			    "\x8c\x0d\xad\x80\x5a\x49\x7a\xc0\x01\x00\x00\x00\x00\x00\x00\x00",
			    32);
	/* A wrong base makes the PHIT end pointer disagree: td-shim would reject it. */
	assert_int_equal(td_shim_hob_digest(hob, hob_len, 0x801000, s.hob, &e), -EINVAL);
	assert_string_equal(e.msg, "TD HOB: PHIT EfiEndOfHobList 0x801480 does not point just "
				   "past the END HOB at 0x802480 (td-shim would reject the HOB)");
	assert_int_equal(td_shim_hob_digest(hob, hob_len, 0x800000, s.hob, &e), 0);

	s.have_rtmr0 = true;
	s.payload_measured = true;
	td_sha384("\0\0\0\0", 4, s.separator);
	unhex("5b7aa6572f649714ff00b6a2b9170516a068fd1a0ba72aa8de27574131d454e6396d3bfa1727d9baf4"
	      "21618a942977fa",
	      s.payload, 48);
	unhex("64ed1e5a47e8632f80faf428465bd987af3e8e4ceb10a5a9f387b6302e30f4993bded2331f0691c4a3"
	      "8ad34e4cbbc627",
	      s.param, 48);
	td_shim_fold(&s);
	hex_eq(s.rtmr[0], "2dc712306a963eadb894ad47dbaa17df44814151555aee11cbb843becca88950ffd079"
			  "664902e6f22c66f7c8213543f4");
	hex_eq(s.rtmr[1], "0fa3be56af61208bbd179dc7b124988eb929319154663c539d6f46445ecac2fec28707"
			  "5047ff7bd1922829fec28cd3cf");
	file_buf_free(&f);
}

/*
 * Python reference for the next tests (hashlib only):
 *   phit = pack('<HHI',1,56,0)+pack('<II',9,0)+bytes(32)+pack('<Q',0x800000+56+40+8)
 *   g = pack('<HHI',4,40,0)+UUID('b96fa412-461f-4be3-8c0d-ad805a497ac0').bytes_le
 *       +pack('<IIQ',1,0,0x861000)
 *   hob = phit+g+pack('<HHI',0xffff,8,0)
 *   pl = bytes((i*7)&0xff for i in range(300)); pa = b'console=hvc0\0'
 *   rtmr0 = ext(ext(0, H(hob)), H(0u32));
 *   rtmr1 = ext(ext(ext(0, H(0u32)), H(pl padded to 0x4000)), H(pa padded to 0x1000))
 */
static void test_predict_synthetic(void **state)
{
	struct tdvf_info *fw = calloc(1, sizeof(*fw));
	struct tdvf_section pp;
	struct td_shim_rtmrs s;
	struct td_section_inputs in = {0};
	u8 hob[0x100], pl[300], *param;
	size_t hob_len, plen;
	struct err e;

	(void)state;
	shim_fw(fw, 0x4000, 0);
	pp = fw->sections[4];
	hob_len = tiny_hob(hob);
	assert_int_equal(td_shim_hob_finish(fw, hob, sizeof(hob), &hob_len, &e), 0);
	assert_int_equal(hob_len, 104);
	assert_memory_equal(hob + 56,
			    "\x04\x00\x28\x00\x00\x00\x00\x00\x12\xa4\x6f\xb9\x1f\x46\xe3\x4b"
			    "\x8c\x0d\xad\x80\x5a\x49\x7a\xc0\x01\x00\x00\x00\x00\x00\x00\x00"
			    "\x00\x10\x86\x00\x00\x00\x00\x00\xff\xff\x08\x00\x00\x00\x00\x00",
			    48);
	assert_int_equal(get_le64(hob + 48), 0x800000 + 104);
	for (int i = 0; i < 300; i++)
		pl[i] = (u8)(i * 7);
	assert_int_equal(td_shim_param("console=hvc0", &pp, &param, &plen, &e), 0);
	in = (struct td_section_inputs){hob, hob_len, pl, sizeof(pl), param, plen};
	assert_int_equal(td_shim_predict(fw, &in, &s, &e), 0);
	assert_true(s.have_rtmr0 && s.payload_measured);
	hex_eq(s.hob, "e1b34c1bc1cf2c59cde54806d8f585e44bd971a395a99b2cc62281b606e9d88957db18f6bf01"
		      "f766e183bf72857527ff");
	hex_eq(s.rtmr[0], "9ffbe6df99d8fdeb7d7ce3797f084f72a6c49a10f05cd2e804d420008b223c618e022b"
			  "dc81a5cbca3ebd12dccc7bb49b");
	hex_eq(s.rtmr[1], "7ad09168af22a8d2a70b8b908a65b0678545cbc94cc0998c114f605a02a758965505d1"
			  "8ccc867dfd748f72b6c7e2708a");

	/* MR.EXTEND on the Payload: it is in MRTD, not RTMR1. No HOB: no RTMR0. */
	shim_fw(fw, 0x4000, TDVF_ATTR_MR_EXTEND);
	in.hob = NULL;
	assert_int_equal(td_shim_predict(fw, &in, &s, &e), 0);
	assert_false(s.have_rtmr0 || s.payload_measured);
	hex_eq(s.rtmr[1], "4d86630562c8a81f05653c4f10bb23b641bdee9431c4e190b7ff42ee2fe7f5beee90de"
			  "c1673a81bbb992e65c0d6f03d4");
	free(param);
	free(fw);
}

static void test_hostile(void **state)
{
	struct tdvf_info *fw = calloc(1, sizeof(*fw));
	struct td_shim_rtmrs s;
	struct td_section_inputs in = {0};
	u8 hob[0x100], pl[16] = {0};
	size_t hob_len;
	struct err e;

	(void)state;
	shim_fw(fw, 0x4000, 0);
	/* No room for the payload info HOB in the section. */
	hob_len = tiny_hob(hob);
	assert_int_equal(td_shim_hob_finish(fw, hob, 80, &hob_len, &e), -E2BIG);
	assert_string_equal(e.msg, "TD HOB: no room for td-shim's payload info HOB in the "
				   "80-byte TD_HOB section");
	/* A list without END, and one with a zero-length HOB. */
	hob_len = tiny_hob(hob);
	put_le16(hob + 56, 3);
	assert_int_equal(td_shim_hob_finish(fw, hob, sizeof(hob), &hob_len, &e), -EINVAL);
	assert_string_equal(e.msg, "TD HOB: no end-of-list HOB in 64 bytes");
	put_le16(hob + 58, 0);
	assert_int_equal(td_shim_hob_digest(hob, 64, 0x800000, s.hob, &e), -EINVAL);
	assert_string_equal(e.msg, "TD HOB: HOB at offset 56 has bad length 0");
	assert_int_equal(td_shim_hob_digest(hob, 40, 0x800000, s.hob, &e), -EINVAL);
	assert_string_equal(e.msg, "TD HOB: no PHIT HOB at the start of the 40-byte list");
	/* A kernel larger than the Payload section. */
	in.payload = pl;
	in.payload_len = sizeof(pl);
	fw->sections[3].mem_size = 8;
	assert_int_equal(td_shim_predict(fw, &in, &s, &e), -E2BIG);
	assert_string_equal(e.msg,
			    "td-shim Payload section: 16 bytes do not fit a 0x8-byte region");
	/* An embedded payload: td-shim measures what it extracts; not modelled. */
	fw->sections[3].raw_size = 0x1000;
	assert_int_equal(td_shim_predict(fw, &in, &s, &e), -ENOTSUP);
	/* finish leaves such an image's HOB alone. */
	hob_len = tiny_hob(hob);
	assert_int_equal(td_shim_hob_finish(fw, hob, sizeof(hob), &hob_len, &e), 0);
	assert_int_equal(hob_len, 64);
	fw->sections[3].raw_size = 0;
	fw->nsections = 4; /* drop PayloadParam */
	assert_int_equal(td_shim_predict(fw, &in, &s, &e), -ENOTSUP);
	assert_string_equal(e.msg, "td-shim image without a PayloadParam section: td-shim "
				   "measures its parameter region, whose content merak does not "
				   "supply");
	free(fw);
}

/* td-shim keeps TempMem inside its own image range; that is not guest RAM. */
static void test_ram_map_tempmem_in_image(void **state)
{
	struct tdvf_info *fw = calloc(1, sizeof(*fw));
	struct td_ram_range ram[2];
	struct td_ram_map map;
	unsigned n;
	struct err e;

	(void)state;
	shim_fw(fw, 0x2000000, 0);
	assert_int_equal(td_ram_from_size(128 << 20, ram, &n, &e), 0);
	assert_int_equal(td_ram_map_build(ram, n, fw, &map, &e), 0);
	/* TempMem outside both RAM and the image is still refused. */
	fw->sections[1].gpa = 0xe0000000;
	assert_int_equal(td_ram_map_build(ram, n, fw, &map, &e), -EINVAL);
	assert_string_equal(e.msg, "TDVF section 1 (TempMem) at 0xe0000000+0x10000 is not inside "
				   "guest RAM (too little memory?)");
	free(fw);
}

/*
 * TD_INFO/TD_PARAMS lie in the BFV: no INIT_MEM_REGION, no MRTD contribution
 * of their own, nothing in the HOB's memory map.
 */
static void test_td_info_no_pages(void **state)
{
	struct tdvf_info *fw = calloc(1, sizeof(*fw));
	struct td_mem_region reg[TDVF_MAX_SECTIONS];
	struct td_ram_range ram[2];
	struct td_ram_map map, plain_map;
	u8 *img = calloc(1, 0x100000), plain[48], with[48];
	unsigned n;
	struct err e;

	(void)state;
	for (size_t i = 0; i < 0x100000; i++)
		img[i] = (u8)(i * 13);
	shim_fw(fw, 0x4000, 0);
	assert_int_equal(td_ram_from_size(128 << 20, ram, &n, &e), 0);
	assert_int_equal(td_ram_map_build(ram, n, fw, &plain_map, &e), 0);
	assert_int_equal(td_mrtd_compute(fw, img, 0x100000, NULL, TD_ORDER_PER_PAGE, plain, &e), 0);
	fw->sections[5] = (struct tdvf_section){0x21000, 0x400, 0, 0, TDVF_SECTION_TD_INFO, 0};
	fw->sections[6] = (struct tdvf_section){0x21400, 0x400, 0, 0, TDVF_SECTION_TD_PARAMS, 0};
	fw->nsections = 7;
	assert_int_equal(td_mem_regions(fw, img, 0x100000, NULL, reg, &n, &e), 0);
	assert_int_equal(n, 5);
	for (unsigned i = 0; i < n; i++)
		assert_true(reg[i].type != TDVF_SECTION_TD_INFO &&
			    reg[i].type != TDVF_SECTION_TD_PARAMS);
	assert_int_equal(td_mrtd_compute(fw, img, 0x100000, NULL, TD_ORDER_PER_PAGE, with, &e), 0);
	assert_memory_equal(plain, with, 48);
	assert_int_equal(td_ram_from_size(128 << 20, ram, &n, &e), 0);
	assert_int_equal(td_ram_map_build(ram, n, fw, &map, &e), 0);
	assert_int_equal(map.n, plain_map.n);
	assert_memory_equal(map.r, plain_map.r, sizeof(map.r[0]) * map.n);
	free(img);
	free(fw);
}

/* The HOB's resource descriptor for [gpa, +size): its type, or -1 when absent. */
static int hob_resource(const u8 *hob, size_t len, u64 gpa, u64 size)
{
	for (size_t off = 56; off + 48 <= len && get_le16(hob + off) == 3; off += 48)
		if (get_le64(hob + off + 32) == gpa && get_le64(hob + off + 40) == size)
			return (int)get_le32(hob + off + 24);
	return -1;
}

/*
 * PermMem (PAGE.AUG) outside RAM is memory the launch backs: the HOB lists it
 * as unaccepted, as td-shim itself reads PermMem. Inside RAM it stays part of
 * the RAM's unaccepted range. Placements merak cannot back are refused.
 */
static void test_perm_mem(void **state)
{
	struct tdvf_info *fw = calloc(1, sizeof(*fw));
	struct td_ram_range ram[2], perm[TD_PERM_MAX];
	struct td_ram_map map;
	unsigned n, np;
	u8 *hob;
	size_t len;
	struct err e;

	(void)state;
	shim_fw(fw, 0x4000, 0);
	fw->nsections = 6;
	fw->sections[5] = (struct tdvf_section){
	    0, 0, 0x200000000ULL, 0x200000, TDVF_SECTION_PERM_MEM, TDVF_ATTR_PAGE_AUG};
	assert_int_equal(td_ram_from_size(128 << 20, ram, &n, &e), 0);
	assert_int_equal(td_perm_mem_outside_ram(ram, n, fw, perm, &np, &e), 0);
	assert_int_equal(np, 1);
	assert_int_equal(perm[0].gpa, 0x200000000ULL);
	assert_int_equal(td_ram_map_build(ram, n, fw, &map, &e), 0);
	assert_int_equal(map.r[map.n - 1].gpa, 0x200000000ULL);
	assert_int_equal(map.r[map.n - 1].size, 0x200000);
	assert_false(map.r[map.n - 1].accepted);
	assert_int_equal(td_hob_make(fw, ram, n, &hob, &len, &e), 0);
	assert_int_equal(hob_resource(hob, len, 0x200000000ULL, 0x200000), 7 /* UNACCEPTED */);
	free(hob);

	/* Inside RAM: nothing of its own. */
	fw->sections[5].gpa = 0x4000000;
	assert_int_equal(td_perm_mem_outside_ram(ram, n, fw, perm, &np, &e), 0);
	assert_int_equal(np, 0);
	assert_int_equal(td_hob_make(fw, ram, n, &hob, &len, &e), 0);
	assert_int_equal(hob_resource(hob, len, 0x4000000, 0x200000), -1);
	free(hob);

	/* Refusals, the same for the launch and merak measure (td_hob_make). */
	fw->sections[5].gpa = 0x7f00000;
	assert_int_equal(td_hob_make(fw, ram, n, &hob, &len, &e), -EINVAL);
	assert_string_equal(e.msg, "TDVF section 5 (PermMem) at 0x7f00000+0x200000 straddles the "
				   "edge of guest RAM 0x0+0x8000000");
	fw->sections[5].gpa = 0xc0000000;
	assert_int_equal(td_hob_make(fw, ram, n, &hob, &len, &e), -EINVAL);
	assert_string_equal(e.msg, "TDVF section 5 (PermMem) at 0xc0000000+0x200000 overlaps the "
				   "board's MMIO window or the firmware [0xb0000000, 4 GiB)");
	fw->sections[5].gpa = 0x7ffffff00000ULL;
	assert_int_equal(td_perm_mem_outside_ram(ram, n, fw, perm, &np, &e), -EINVAL);
	assert_string_equal(e.msg, "TDVF section 5 (PermMem) at 0x7ffffff00000+0x200000 does not "
				   "end below the TD's shared bit (0x800000000000)");
	fw->nsections = 5 + TD_PERM_MAX + 1;
	for (u32 i = 0; i <= TD_PERM_MAX; i++)
		fw->sections[5 + i] = (struct tdvf_section){0,
							    0,
							    0x200000000ULL + i * 0x200000,
							    0x200000,
							    TDVF_SECTION_PERM_MEM,
							    TDVF_ATTR_PAGE_AUG};
	assert_int_equal(td_perm_mem_outside_ram(ram, n, fw, perm, &np, &e), -E2BIG);
	assert_string_equal(e.msg, "TDVF section 13 (PermMem): more than 8 PermMem sections lie "
				   "outside guest RAM");
	free(fw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_param_vector),
	    cmocka_unit_test(test_real_tdshim_log),
	    cmocka_unit_test(test_predict_synthetic),
	    cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_ram_map_tempmem_in_image),
	    cmocka_unit_test(test_td_info_no_pages),
	    cmocka_unit_test(test_perm_mem),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
