// SPDX-License-Identifier: MIT
/* The TDVF section walk and MRTD. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "tdx/mrtd.h"
#include "tdx_test_util.h"

static struct file_buf ovmf;
static struct tdvf_info info;

/*
 * MRTD of Debian bookworm's OVMF.fd (ovmf 2022.11-6+deb12u2, sha256 7b456907...d773).
 * No published value exists for this build (tdx-measurement.md §3.5); these were
 * computed with an independent Python/hashlib script written from the
 * tdx-measurement.md §1.1 block layout, and are re-derived below by a second C
 * code path that does not use the walker.
 */
#define OVMF_MRTD_PER_PAGE                                                                         \
	"4c7206f0f483c524f12c366c711e9049030a8d47c471ee5aa9c4999a08de4057fb887fed0744d5631a212967" \
	"f"                                                                                        \
	"b231c47"
#define OVMF_MRTD_TWO_PASS                                                                         \
	"acccbcc870a381adab0d3919d90a7f268ac3b0364771f202ed4bb4e892d045b33db3b32e6924cba830a724ee" \
	"d"                                                                                        \
	"443f7e1"

static int setup(void **state)
{
	struct err e;

	if (read_ovmf(&ovmf) < 0)
		return -1;
	return tdvf_parse(ovmf.data, ovmf.len, &info, &e);
}

static int teardown(void **state)
{
	file_buf_free(&ovmf);
	return 0;
}

static void hexeq(const u8 *d, const char *want)
{
	char h[97];

	td_hex(d, 48, h);
	assert_string_equal(h, want);
}

static void test_ovmf_mrtd(void **state)
{
	u8 m[48];
	struct err e;

	assert_int_equal(
	    td_mrtd_compute(&info, ovmf.data, ovmf.len, NULL, TD_ORDER_PER_PAGE, m, &e), 0);
	hexeq(m, OVMF_MRTD_PER_PAGE);
	assert_int_equal(
	    td_mrtd_compute(&info, ovmf.data, ovmf.len, NULL, TD_ORDER_TWO_PASS, m, &e), 0);
	hexeq(m, OVMF_MRTD_TWO_PASS);
	/* A HOB in the TD_HOB section does not change it: that section is not extended. */
	u8 hob[64] = {1, 2, 3};
	struct td_section_inputs in = {.hob = hob, .hob_len = sizeof(hob)};
	assert_int_equal(td_mrtd_compute(&info, ovmf.data, ovmf.len, &in, TD_ORDER_PER_PAGE, m, &e),
			 0);
	hexeq(m, OVMF_MRTD_PER_PAGE);
}

/* Second code path: the raw descriptor read by hand, the whole stream in one buffer. */
static void test_ovmf_mrtd_second_path(void **state)
{
	const u8 *d = ovmf.data + 0x1ff7c0;
	u32 n = get_le32(d + 12);
	size_t cap = 16 * MiB, len = 0;
	u8 *s = malloc(cap), out[48];
	unsigned olen;

	for (u32 i = 0; i < n; i++) {
		const u8 *p = d + 16 + 32 * i;
		u32 off = get_le32(p), raw = get_le32(p + 4), attr = get_le32(p + 28);
		u64 gpa = get_le64(p + 8), size = get_le64(p + 16);

		for (u64 pg = 0; pg < size; pg += 4096) {
			memset(s + len, 0, 128);
			memcpy(s + len, "MEM.PAGE.ADD", 12);
			put_le64(s + len + 16, gpa + pg);
			len += 128;
			if (!(attr & 1))
				continue;
			for (u64 c = 0; c < 4096; c += 256) {
				memset(s + len, 0, 128);
				memcpy(s + len, "MR.EXTEND", 9);
				put_le64(s + len + 16, gpa + pg + c);
				len += 128;
				memset(s + len, 0, 256);
				if (pg + c < raw)
					memcpy(s + len, ovmf.data + off + pg + c, 256);
				len += 256;
			}
			assert_true(len + 8192 < cap);
		}
	}
	assert_int_equal(EVP_Digest(s, len, out, &olen, EVP_sha384(), NULL), 1);
	hexeq(out, OVMF_MRTD_PER_PAGE);
	free(s);
}

struct rec {
	unsigned adds, extends, n;
	struct td_measure_op first[40];
	const u8 *bfv_src;
	bool direct; /* every BFV extend chunk came straight from the image */
	int stop_after;
};

static int record(void *ctx, const struct td_measure_op *op)
{
	struct rec *r = ctx;

	if (r->n < ARRAY_SIZE(r->first))
		r->first[r->n] = *op;
	r->n++;
	if (op->kind == TD_OP_PAGE_ADD) {
		r->adds++;
	} else {
		r->extends++;
		if (op->data != r->bfv_src + (op->gpa - 0xffe20000))
			r->direct = false;
	}
	return r->stop_after && (int)r->n == r->stop_after ? 7 : 0;
}

static void test_walk_order(void **state)
{
	struct rec r = {.bfv_src = ovmf.data + 0x20000, .direct = true};
	struct err e;

	assert_int_equal(
	    td_walk_sections(&info, ovmf.data, ovmf.len, NULL, TD_ORDER_PER_PAGE, record, &r, &e),
	    0);
	/* BFV 480 pages, CFV 32, TempMem 16 + 2 + 6, TD_HOB 2. */
	assert_int_equal(r.adds, 480 + 32 + 16 + 2 + 2 + 6);
	assert_int_equal(r.extends, 480 * 16);
	assert_true(r.direct);
	assert_int_equal(r.first[0].kind, TD_OP_PAGE_ADD);
	assert_int_equal(r.first[0].gpa, 0xffe20000);
	assert_ptr_equal(r.first[0].data, ovmf.data + 0x20000);
	for (int i = 1; i <= 16; i++) {
		assert_int_equal(r.first[i].kind, TD_OP_MR_EXTEND);
		assert_int_equal(r.first[i].gpa, 0xffe20000 + 256 * (i - 1));
	}
	assert_int_equal(r.first[17].kind, TD_OP_PAGE_ADD);
	assert_int_equal(r.first[17].gpa, 0xffe21000);

	memset(&r, 0, sizeof(r));
	r.bfv_src = ovmf.data + 0x20000;
	r.direct = true;
	assert_int_equal(
	    td_walk_sections(&info, ovmf.data, ovmf.len, NULL, TD_ORDER_TWO_PASS, record, &r, &e),
	    0);
	assert_int_equal(r.extends, 480 * 16);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(r.first[i].kind, TD_OP_PAGE_ADD);
		assert_int_equal(r.first[i].gpa, 0xffe20000 + 4096ULL * i);
	}
	/* A callback's non-zero return stops the walk. */
	memset(&r, 0, sizeof(r));
	r.bfv_src = ovmf.data + 0x20000;
	r.stop_after = 5;
	assert_int_equal(
	    td_walk_sections(&info, ovmf.data, ovmf.len, NULL, TD_ORDER_PER_PAGE, record, &r, &e),
	    7);
	assert_int_equal(r.n, 5);
}

static void test_regions(void **state)
{
	struct td_mem_region reg[TDVF_MAX_SECTIONS];
	u8 hob[100];
	struct td_section_inputs in = {.hob = hob, .hob_len = sizeof(hob)};
	unsigned n;
	struct err e;

	assert_int_equal(td_mem_regions(&info, ovmf.data, ovmf.len, &in, reg, &n, &e), 0);
	assert_int_equal(n, 6);
	assert_int_equal(reg[0].gpa, 0xffe20000);
	assert_int_equal(reg[0].nr_pages, 480);
	assert_ptr_equal(reg[0].src, ovmf.data + 0x20000);
	assert_int_equal(reg[0].src_len, 0x1e0000);
	assert_true(reg[0].measure);
	assert_false(reg[1].measure);
	assert_int_equal(reg[4].type, TDVF_SECTION_TD_HOB);
	assert_ptr_equal(reg[4].src, hob);
	assert_int_equal(reg[4].src_len, 100);
	assert_null(reg[5].src);
	assert_int_equal(reg[5].src_len, 0);

	u8 *big = calloc(1, 0x3000);
	in.hob = big;
	in.hob_len = 0x3000;
	assert_int_equal(td_mem_regions(&info, ovmf.data, ovmf.len, &in, reg, &n, &e), -E2BIG);
	assert_non_null(strstr(e.msg, "TDVF section 4 (TD_HOB): 12288 bytes of content do not fit "
				      "its 0x2000-byte memory range"));
	free(big);
}

/* Partial raw data is zero-padded when measured; PAGE.AUG sections are skipped. */
static void test_padding_and_aug(void **state)
{
	u8 img[0x3000];
	struct tdvf_info fi = {
	    .image_size = sizeof(img), .image_gpa = 4 * GiB - sizeof(img), .nsections = 2};
	u8 stream[128 + 16 * 384 + 128 + 16 * 384], want[48], got[48];
	size_t len = 0;
	unsigned olen;
	struct err e;

	for (size_t i = 0; i < sizeof(img); i++)
		img[i] = (u8)(i * 7 + 1);
	fi.sections[0] = (struct tdvf_section){0x1000, 0x1100,		 0x1000000,
					       0x2000, TDVF_SECTION_BFV, TDVF_ATTR_MR_EXTEND};
	fi.sections[1] = (struct tdvf_section){
	    0, 0, 0x2000000, 0x100000, TDVF_SECTION_PERM_MEM, TDVF_ATTR_PAGE_AUG};
	for (u64 pg = 0; pg < 2; pg++) {
		memset(stream + len, 0, 128);
		memcpy(stream + len, "MEM.PAGE.ADD", 12);
		put_le64(stream + len + 16, 0x1000000 + pg * 4096);
		len += 128;
		for (u64 c = 0; c < 4096; c += 256) {
			u64 o = pg * 4096 + c;

			memset(stream + len, 0, 384);
			memcpy(stream + len, "MR.EXTEND", 9);
			put_le64(stream + len + 16, 0x1000000 + o);
			if (o < 0x1100)
				memcpy(stream + len + 128, img + 0x1000 + o, 256);
			len += 384;
		}
	}
	assert_int_equal(len, sizeof(stream));
	EVP_Digest(stream, len, want, &olen, EVP_sha384(), NULL);
	assert_int_equal(td_mrtd_compute(&fi, img, sizeof(img), NULL, TD_ORDER_PER_PAGE, got, &e),
			 0);
	assert_memory_equal(got, want, 48);
	/* Raw data beyond the image is refused even for an unvalidated tdvf_info. */
	fi.sections[0].raw_size = 0x2001;
	assert_int_equal(td_mrtd_compute(&fi, img, sizeof(img), NULL, TD_ORDER_PER_PAGE, got, &e),
			 -EINVAL);
	assert_non_null(
	    strstr(e.msg, "TDVF section 0 (BFV): raw data runs past the end of the image"));
}

static void test_rtmr_extend(void **state)
{
	u8 r[48] = {0}, d[48], buf[96] = {0}, want[48];
	unsigned n;

	/* EV_SEPARATOR digest (tdx-measurement.md §3.4). */
	td_sha384("\0\0\0\0", 4, d);
	hexeq(d, "394341b7182cd227c5c6b07ef8000cdfd86136c4292b8e576573ad7ed9ae41019f5818b4b971c9eff"
		 "c60e1ad9f1289f0");
	memcpy(buf + 48, d, 48);
	EVP_Digest(buf, 96, want, &n, EVP_sha384(), NULL);
	rtmr_extend(r, d);
	assert_memory_equal(r, want, 48);
	memcpy(buf, r, 48);
	EVP_Digest(buf, 96, want, &n, EVP_sha384(), NULL);
	rtmr_extend(r, d);
	assert_memory_equal(r, want, 48);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ovmf_mrtd),	    cmocka_unit_test(test_ovmf_mrtd_second_path),
	    cmocka_unit_test(test_walk_order),	    cmocka_unit_test(test_regions),
	    cmocka_unit_test(test_padding_and_aug), cmocka_unit_test(test_rtmr_extend),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
