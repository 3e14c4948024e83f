// SPDX-License-Identifier: MIT
/* CCEL event-log parsing and RTMR replay: published vectors and hostile logs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tdx/eventlog.h"
#include "tdx/mrtd.h"
#include "tdx_test_util.h"

#define ZEROS                                                                                      \
	"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" \
	"00000000"

/* tests/data/README.md (trustee test_rtmr_integrity). */
static const struct {
	const char *file;
	unsigned events;
	const char *rtmr[3];
} vectors[] = {
    {"CCEL_data",
     5,
     {"2dc712306a963eadb894ad47dbaa17df44814151555aee11cbb843becca88950ffd079664902e6f22c66f7c82135"
      "43f4",
      "0fa3be56af61208bbd179dc7b124988eb929319154663c539d6f46445ecac2fec287075047ff7bd1922829fec28c"
      "d3cf",
      ZEROS}},
    {"CCEL_data_ovmf",
     20,
     {"8566f998798db09443b244c62de9a3041fb02e2e6936c4396d784bba2e90177329ec5aba3bb484404f2ab9cc90ab"
      "e193",
      "775b9f6bfe99f8a31396f0d0218e67ffa796d3b96ccf961cbb0deba48c79c00f082cda1a5567c1c16305f1fc210c"
      "13c6",
      "94eaf7a7bf398ed8d888c91057ae0261802e4f3df084213a76ca7f0b5055ac9d2241de43cd58d9e8b49c503bbf25"
      "f34a"}},
    {"CCEL_data_grub",
     37,
     {"cec0a104f691f60da2387fea3c2de00c4ac035e2bb479ff02edcce69039d9e9907f0b3e55031da3dc7038f423ade"
      "bd79",
      "6c289e0c62182d41ebe97bdbc9872d10998a08eaa86adcdc684001a363207ee72942c7522cdf00a4bbc3d784bed7"
      "b670",
      "08919d017ba0e52cd6d966351c7de16fe76c1d3d3d3da4554239e4c7d16cb8b82a94e7eaea3a0e6e18eb690b999f"
      "d31e"}},
    {"CCEL_data_gcp",
     21,
     {"3300980705adf09d28b707b79699d9874892164280832be2c386a715b6e204e0897fb564a064f810659207ba862b"
      "304f",
      "204d49f78d29918fe7b2f694e76653861a0c2a018987d2c3a54266eff737232524cf0af68c4d180e2f8c2c0937f2"
      "1967",
      ZEROS}},
    {"CCEL_data_grub_gke",
     35,
     {"bc9945139042cf2cc75caf920aa57f14884ecfd7e893bccc51250c8ce90eb53ce72741e6adaa18183eb1331a87d4"
      "544a",
      "c17cb288a4dee302bb9ed8d27257a168f3264ad68cab53757f37eeaa7039657fa887cad65cf910e0fdc435ff110f"
      "8a7b",
      "334aeba2c985f8886cea97d1ecffbd512769d528b9a94009583db667ad7d2faa7d37fa145d75b192ceee2d2f10b2"
      "eb6d"}},
};

static void hexeq(const u8 *d, const char *want)
{
	char h[97];

	td_hex(d, 48, h);
	assert_string_equal(h, want);
}

static void test_replay_vectors(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(vectors); i++) {
		char rel[128];
		struct file_buf f;
		u8 rtmr[4][48];
		unsigned n;
		struct err e;

		snprintf(rel, sizeof(rel), "eventlog/%s", vectors[i].file);
		assert_int_equal(read_test_data(rel, &f), 0);
		if (cc_evlog_replay(f.data, f.len, rtmr, &n, &e) != 0)
			fail_msg("%s: %s", vectors[i].file, e.msg);
		assert_int_equal(n, vectors[i].events);
		for (int k = 0; k < 3; k++)
			hexeq(rtmr[k], vectors[i].rtmr[k]);
		hexeq(rtmr[3], ZEROS);
		file_buf_free(&f);
	}
}

/* Event digests from tdx-measurement.md §3.4, and their presence in the real OVMF log. */
struct find {
	const char *data;
	size_t len;
	u8 digest[48];
	int hits;
};

static int find_event(void *ctx, const struct cc_event *ev)
{
	struct find *f = ctx;

	if (ev->data_len == f->len && !memcmp(ev->data, f->data, f->len) && ev->has_sha384 &&
	    !memcmp(ev->sha384, f->digest, 48))
		f->hits++;
	return 0;
}

static void test_digest_vectors(void **state)
{
	static const struct {
		const char *data;
		size_t len;
		const char *digest;
		int hits_in_ovmf_log;
	} v[] = {
	    {"\0\0\0\0", 4,
	     "394341b7182cd227c5c6b07ef8000cdfd86136c4292b8e576573ad7ed9ae41019f5818b4b971c9effc60e"
	     "1ad9f1289f0",
	     2},
	    {"Calling EFI Application from Boot Option", 40,
	     "77a0dab2312b4e1e57a84d865a21e5b2ee8d677a21012ada819d0a98988078d3d740f6346bfe0abaa938c"
	     "a20439a8d71",
	     1},
	    {"Exit Boot Services Invocation", 29,
	     "214b0bef1379756011344877743fdc2a5382bac6e70362d624ccf3f654407c1b4badf7d8f9295dd3dabde"
	     "f65b27677e0",
	     1},
	    {"Exit Boot Services Returned with Success", 40,
	     "0a2e01c85deae718a530ad8c6d20a84009babe6c8989269e950d8cf440c6e997695e64d455c4174a652cd"
	     "080f6230b74",
	     1},
	    {"\0\0", 2,
	     "1dd6f7b457ad880d840d41c961283bab688e94e4b59359ea45686581e90feccea3c624b1226113f824f31"
	     "5eb60ae0a7c",
	     0},
	};
	struct file_buf f;
	struct err e;

	assert_int_equal(read_test_data("eventlog/CCEL_data_ovmf", &f), 0);
	for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
		struct find fd = {.data = v[i].data, .len = v[i].len};

		td_sha384(v[i].data, v[i].len, fd.digest);
		hexeq(fd.digest, v[i].digest);
		assert_true(cc_evlog_walk(f.data, f.len, NULL, find_event, &fd, &e) > 0);
		assert_int_equal(fd.hits, v[i].hits_in_ovmf_log);
	}
	file_buf_free(&f);

	/* td-shim payload parameter, zero-padded to 0x1000. */
	u8 param[0x1000] = {0}, d[48];
	memcpy(param, "root=/dev/vda1 console=hvc0 rw", 30);
	td_sha384(param, sizeof(param), d);
	hexeq(d, "64ed1e5a47e8632f80faf428465bd987af3e8e4ceb10a5a9f387b6302e30f4993bded2331f0691c4a"
		 "38ad34e4cbbc627");
}

static void test_mr_mapping(void **state)
{
	assert_int_equal(cc_mr_to_rtmr(0), -1);
	assert_int_equal(cc_mr_to_rtmr(1), 0);
	assert_int_equal(cc_mr_to_rtmr(4), 3);
	assert_int_equal(cc_mr_to_rtmr(5), -1);
	assert_string_equal(cc_event_type_name(EV_SEPARATOR), "EV_SEPARATOR");
	assert_null(cc_event_type_name(0x12345));
}

/* ---- synthetic logs --------------------------------------------------------- */

struct blog {
	u8 b[1024];
	size_t n;
};

static void put32(struct blog *l, u32 v)
{
	put_le32(l->b + l->n, v);
	l->n += 4;
}

static void put16(struct blog *l, u16 v)
{
	put_le16(l->b + l->n, v);
	l->n += 2;
}

/* Spec ID header listing SHA-384 (and SHA-256 when two is set). */
static void spec(struct blog *l, bool two)
{
	memset(l, 0, sizeof(*l));
	put32(l, 0);
	put32(l, EV_NO_ACTION);
	l->n += 20;
	put32(l, 29 + 4 * (two ? 2 : 1));
	memcpy(l->b + l->n, "Spec ID Event03", 16);
	l->n += 16 + 4 + 3 + 1;
	put32(l, two ? 2 : 1);
	put16(l, TCG_ALG_SHA384);
	put16(l, 48);
	if (two) {
		put16(l, 0x000B);
		put16(l, 32);
	}
	l->b[l->n++] = 0; /* vendorInfoSize */
}

static void event(struct blog *l, u32 mr, u32 type, const char *data)
{
	put32(l, mr);
	put32(l, type);
	put32(l, 1);
	put16(l, TCG_ALG_SHA384);
	td_sha384(data, strlen(data), l->b + l->n);
	l->n += 48;
	put32(l, (u32)strlen(data));
	memcpy(l->b + l->n, data, strlen(data));
	l->n += strlen(data);
}

static void expect_err(const struct blog *l, size_t len, const char *want)
{
	u8 r[4][48];
	struct err e;

	err_clear(&e);
	if (cc_evlog_replay(l->b, len, r, NULL, &e) != -EINVAL || !strstr(e.msg, want))
		fail_msg("got '%s', want '%s'", e.msg, want);
}

static void test_synthetic_ok(void **state)
{
	struct blog l;
	u8 r[4][48], want[48] = {0}, d[48];
	unsigned n;
	struct err e;

	spec(&l, false);
	event(&l, 4, 0xd, "app");
	event(&l, 1, EV_NO_ACTION, "ignored");
	size_t end = l.n;
	/* Zero padding ends the log, as does 0xFF padding. */
	assert_int_equal(cc_evlog_replay(l.b, sizeof(l.b), r, &n, &e), 0);
	assert_int_equal(n, 2);
	td_sha384("app", 3, d);
	rtmr_extend(want, d);
	assert_memory_equal(r[3], want, 48);
	memset(want, 0, 48);
	assert_memory_equal(r[0], want, 48);
	memset(l.b + end, 0xff, sizeof(l.b) - end);
	assert_int_equal(cc_evlog_replay(l.b, sizeof(l.b), r, &n, &e), 0);
	assert_int_equal(n, 2);
	/* Exactly at the end, and with 3 bytes of padding left. */
	assert_int_equal(cc_evlog_replay(l.b, end, r, &n, &e), 0);
	assert_int_equal(cc_evlog_replay(l.b, end + 3, r, &n, &e), 0);
	/* A log with two algorithms: SHA-256 digests are skipped correctly. */
	spec(&l, true);
	put32(&l, 2);
	put32(&l, 5);
	put32(&l, 2);
	put16(&l, 0x000B);
	l.n += 32;
	put16(&l, TCG_ALG_SHA384);
	td_sha384("x", 1, l.b + l.n);
	l.n += 48;
	put32(&l, 1);
	l.b[l.n++] = 'x';
	assert_int_equal(cc_evlog_replay(l.b, l.n, r, &n, &e), 0);
	memset(want, 0, 48);
	td_sha384("x", 1, d);
	rtmr_extend(want, d);
	assert_memory_equal(r[1], want, 48);
}

static void test_hostile(void **state)
{
	struct blog l;
	size_t hdr;

	spec(&l, false);
	hdr = l.n;
	expect_err(&l, 20, "too short for the Spec ID header");
	expect_err(&l, hdr - 1, "Spec ID event of 33 bytes runs past the end");
	put_le32(l.b + 4, 1);
	expect_err(&l, hdr, "first record has type 0x1, want EV_NO_ACTION");
	spec(&l, false);
	l.b[32] = 'X';
	expect_err(&l, hdr, "not a \"Spec ID Event03\"");
	spec(&l, false);
	put_le32(l.b + 32 + 24, 0x40000000);
	expect_err(&l, hdr, "lists 1073741824 algorithms, must be 1..8");
	spec(&l, false);
	put_le32(l.b + 32 + 24, 3);
	expect_err(&l, hdr, "too short for 3 algorithms");
	spec(&l, false);
	put_le16(l.b + 32 + 30, 47);
	expect_err(&l, hdr, "SHA-384 listed with digest size 47");
	spec(&l, false);
	put_le16(l.b + 32 + 30, 0);
	expect_err(&l, hdr, "digest size 0, must be 1..64");
	spec(&l, false);
	put_le16(l.b + 32 + 28, 0x000B);
	put_le16(l.b + 32 + 30, 32);
	expect_err(&l, hdr, "does not list SHA-384");
	spec(&l, false);
	l.b[hdr - 1] = 9;
	expect_err(&l, hdr, "vendor info runs past");

	/* Event records. */
	spec(&l, false);
	event(&l, 1, 5, "abc");
	size_t full = l.n;
	expect_err(&l, hdr + 10, "event 0 at offset 65: truncated header");
	expect_err(&l, hdr + 13, "event 0 at offset 65: truncated digest list");
	expect_err(&l, hdr + 40, "event 0 at offset 65: truncated digest");
	expect_err(&l, hdr + 14 + 48 + 2, "truncated event size");
	expect_err(&l, full - 1, "event 0 at offset 65: event data of 3 bytes runs past the end");
	put_le32(l.b + hdr + 8, 0xffffffff);
	expect_err(
	    &l, full,
	    "event 0 at offset 65: 4294967295 digests, the Spec ID event lists 1 algorithms");
	put_le32(l.b + hdr + 8, 1);
	put_le16(l.b + hdr + 12, 0x0004);
	expect_err(&l, full, "digest algorithm 0x0004 is not in the Spec ID event");
	put_le16(l.b + hdr + 12, TCG_ALG_SHA384);
	put_le32(l.b + hdr + 14 + 48, 0xfffffff0);
	expect_err(&l, full, "event data of 4294967280 bytes runs past the end");
	put_le32(l.b + hdr + 14 + 48, 3);
	put_le32(l.b + hdr, 0);
	expect_err(&l, full, "event 0 at offset 65: MR index 0 is not an RTMR (1..4)");
	put_le32(l.b + hdr, 9);
	expect_err(&l, full, "MR index 9 is not an RTMR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replay_vectors), cmocka_unit_test(test_digest_vectors),
	    cmocka_unit_test(test_mr_mapping),	   cmocka_unit_test(test_synthetic_ok),
	    cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
