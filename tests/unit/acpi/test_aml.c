// SPDX-License-Identifier: MIT
/* The AML emitter: encodings checked byte for byte against ACPI 6.4 chapter 20. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/aml.h"

#define assert_aml(a, ...)                                                                         \
	do {                                                                                       \
		const u8 want_[] = {__VA_ARGS__};                                                  \
		assert_false(aml_failed(a));                                                       \
		assert_int_equal((a)->len, sizeof(want_));                                         \
		assert_memory_equal((a)->buf, want_, sizeof(want_));                               \
	} while (0)

static void test_integers(void **state)
{
	static const struct {
		u64 v;
		u8 enc[9];
		size_t n;
	} cases[] = {
	    {0, {0x00}, 1},
	    {1, {0x01}, 1},
	    {2, {0x0a, 0x02}, 2},
	    {0xff, {0x0a, 0xff}, 2},
	    {0x100, {0x0b, 0x00, 0x01}, 3},
	    {0xffff, {0x0b, 0xff, 0xff}, 3},
	    {0x10000, {0x0c, 0x00, 0x00, 0x01, 0x00}, 5},
	    {0xfec00000, {0x0c, 0x00, 0x00, 0xc0, 0xfe}, 5},
	    {0x100000000ULL, {0x0e, 0, 0, 0, 0, 1, 0, 0, 0}, 9},
	    {~0ULL, {0xff}, 1},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct aml a;

		aml_init(&a);
		aml_integer(&a, cases[i].v);
		assert_false(aml_failed(&a));
		assert_int_equal(a.len, cases[i].n);
		assert_memory_equal(a.buf, cases[i].enc, cases[i].n);
		aml_free(&a);
	}
}

static void test_strings_and_names(void **state)
{
	struct aml a;

	aml_init(&a);
	aml_string(&a, "ab");
	assert_aml(&a, 0x0d, 'a', 'b', 0);
	aml_free(&a);

	aml_init(&a);
	aml_namestring(&a, "COM1");
	assert_aml(&a, 'C', 'O', 'M', '1');
	aml_free(&a);

	/* Short segments are padded with '_'. */
	aml_init(&a);
	aml_namestring(&a, "\\_SB");
	assert_aml(&a, '\\', '_', 'S', 'B', '_');
	aml_free(&a);

	aml_init(&a);
	aml_namestring(&a, "\\_SB.PCI0");
	assert_aml(&a, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0');
	aml_free(&a);

	aml_init(&a);
	aml_namestring(&a, "^^A.B.C");
	assert_aml(&a, '^', '^', 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_',
		   '_');
	aml_free(&a);

	aml_init(&a);
	aml_namestring(&a, "\\");
	assert_aml(&a, '\\', 0x00);
	aml_free(&a);

	aml_init(&a);
	aml_name(&a, "_UID");
	aml_integer(&a, 1);
	assert_aml(&a, 0x08, '_', 'U', 'I', 'D', 0x01);
	aml_free(&a);
}

static void test_bad_names_fail(void **state)
{
	static const char *const bad[] = {"TOOLONG", "1ABC", "a",   "AB..C",
					  "AB.",     "\\^A", "A-B", ".A"};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct aml a;

		aml_init(&a);
		aml_namestring(&a, bad[i]);
		assert_true(aml_failed(&a));
		/* Sticky: nothing more is emitted. */
		aml_integer(&a, 5);
		assert_true(aml_failed(&a));
		aml_free(&a);
	}
}

static void test_pkglength(void **state)
{
	u8 enc[4];

	/* One byte up to a total of 63 (body 62). */
	assert_int_equal(aml_pkglength_encode(0, enc), 1);
	assert_int_equal(enc[0], 1);
	assert_int_equal(aml_pkglength_encode(62, enc), 1);
	assert_int_equal(enc[0], 63);
	/* Body 63: total 65 in two bytes: lead 0x41 (one more byte, nibble 1), then 0x04. */
	assert_int_equal(aml_pkglength_encode(63, enc), 2);
	assert_int_equal(enc[0], 0x41);
	assert_int_equal(enc[1], 0x04);
	assert_int_equal(aml_pkglength_encode(0xfff - 2, enc), 2);
	assert_int_equal(enc[0], 0x4f);
	assert_int_equal(enc[1], 0xff);
	/* Three bytes. */
	assert_int_equal(aml_pkglength_encode(0xfff - 1, enc), 3);
	assert_int_equal(enc[0], 0x81); /* total 0x1001 */
	assert_int_equal(enc[1], 0x00);
	assert_int_equal(enc[2], 0x01);
	assert_int_equal(aml_pkglength_encode(0xfffff - 3, enc), 3);
	/* Four bytes, then too long. */
	assert_int_equal(aml_pkglength_encode(0xfffff - 2, enc), 4);
	assert_int_equal(enc[0], 0xc1); /* total 0x100001 */
	assert_int_equal(enc[1], 0x00);
	assert_int_equal(enc[2], 0x00);
	assert_int_equal(enc[3], 0x01);
	assert_int_equal(aml_pkglength_size(0xfffffff - 4), 4);
	assert_int_equal(aml_pkglength_size(0xfffffff - 3), 0);
}

static void test_blocks(void **state)
{
	struct aml a;
	size_t s, d, p;

	aml_init(&a);
	s = aml_scope_begin(&a, "\\_SB");
	d = aml_device_begin(&a, "DEV0");
	aml_name(&a, "_STA");
	aml_integer(&a, 0x0f);
	aml_end(&a, d);
	aml_end(&a, s);
	/*
	 * Scope: 10 len '\_SB_' { Device: 5B 82 len 'DEV0' { 08 '_STA' 0A 0F } }
	 * Device body: 4 + 7 = 11, +1 length byte = 12. Scope body: 5 + 2 + 12 = 19, +1 = 20.
	 */
	assert_aml(&a, 0x10, 20, '\\', '_', 'S', 'B', '_', 0x5b, 0x82, 12, 'D', 'E', 'V', '0', 0x08,
		   '_', 'S', 'T', 'A', 0x0a, 0x0f);
	aml_free(&a);

	aml_init(&a);
	p = aml_package_begin(&a, 2);
	aml_integer(&a, 5);
	aml_integer(&a, 0);
	aml_end(&a, p);
	assert_aml(&a, 0x12, 5, 2, 0x0a, 5, 0x00);
	aml_free(&a);

	aml_init(&a);
	d = aml_method_begin(&a, "_STA", 0, false);
	aml_return(&a);
	aml_integer(&a, 0x0f);
	aml_end(&a, d);
	assert_aml(&a, 0x14, 9, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f);
	aml_free(&a);

	aml_init(&a);
	aml_buffer(&a, "\x79\x00", 2);
	assert_aml(&a, 0x11, 5, 0x0a, 2, 0x79, 0x00);
	aml_free(&a);

	/* A body longer than 62 bytes gets a two-byte PkgLength. */
	aml_init(&a);
	p = aml_package_begin(&a, 100);
	for (int i = 0; i < 100; i++)
		aml_integer(&a, 0);
	aml_end(&a, p);
	assert_false(aml_failed(&a));
	assert_int_equal(a.len, 1 + 2 + 1 + 100);
	assert_int_equal(a.buf[1], 0x40 | ((103 >> 0) & 0xf));
	assert_int_equal(a.buf[2], 103 >> 4);
	assert_int_equal(a.buf[3], 100);
	aml_free(&a);

	/* A handle past the end is a nesting error. */
	aml_init(&a);
	aml_end(&a, 10);
	assert_true(aml_failed(&a));
	aml_free(&a);
}

static void test_eisaid(void **state)
{
	u32 v;

	assert_true(aml_eisaid("PNP0A03", &v));
	assert_int_equal(v, 0x030ad041);
	assert_true(aml_eisaid("PNP0501", &v));
	assert_int_equal(v, 0x0105d041);
	assert_true(aml_eisaid("PNP0A08", &v));
	assert_int_equal(v, 0x080ad041);
	assert_false(aml_eisaid("PNP0A0", &v));
	assert_false(aml_eisaid("PNP0A0G", &v));
	assert_false(aml_eisaid("pnp0A03", &v));
	assert_false(aml_eisaid("PNP0a03", &v));
}

static u8 sum(const struct aml *a)
{
	u8 s = 0;

	for (size_t i = 0; i < a->len; i++)
		s = (u8)(s + a->buf[i]);
	return s;
}

static void test_resources(void **state)
{
	struct aml r;

	aml_init(&r);
	aml_res_io(&r, 0x3f8, 0x3f8, 1, 8);
	aml_res_irq_noflags(&r, 1u << 4);
	aml_res_end_tag(&r);
	assert_aml(
	    &r, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00, 0x79,
	    (u8) - (0x47 + 0x01 + 0xf8 + 0x03 + 0xf8 + 0x03 + 0x01 + 0x08 + 0x22 + 0x10 + 0x79));
	assert_int_equal(sum(&r), 0);
	aml_free(&r);

	aml_init(&r);
	aml_res_word_bus(&r, 0, 255);
	assert_aml(&r, 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0x00, 0x00, 0xff, 0x00, 0, 0, 0x00,
		   0x01);
	aml_free(&r);

	aml_init(&r);
	aml_res_word_io(&r, 0x0d00, 0xffff);
	assert_aml(&r, 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0, 0, 0x00, 0x0d, 0xff, 0xff, 0, 0, 0x00,
		   0xf3);
	aml_free(&r);

	aml_init(&r);
	aml_res_dword_mem(&r, false, 0xc0000000, 0xdfffffff);
	assert_aml(&r, 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0xc0, 0xff,
		   0xff, 0xff, 0xdf, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x20);
	aml_free(&r);

	aml_init(&r);
	aml_res_qword_mem(&r, true, 0x100000000ULL, 0x1ffffffffULL);
	assert_false(aml_failed(&r));
	assert_int_equal(r.len, 46);
	assert_int_equal(r.buf[0], 0x8a);
	assert_int_equal(get_le16(r.buf + 1), 43);
	assert_int_equal(r.buf[5], 0x03); /* read-write, cacheable */
	assert_int_equal(get_le64(r.buf + 14), 0x100000000ULL);
	assert_int_equal(get_le64(r.buf + 22), 0x1ffffffffULL);
	assert_int_equal(get_le64(r.buf + 38), 0x100000000ULL);
	aml_free(&r);

	aml_init(&r);
	aml_res_ext_irq(&r, true, true, false, false, 9);
	assert_aml(&r, 0x89, 0x06, 0x00, 0x01, 0x01, 0x09, 0x00, 0x00, 0x00);
	aml_free(&r);
	aml_init(&r);
	aml_res_ext_irq(&r, false, false, true, true, 0x20);
	assert_aml(&r, 0x89, 0x06, 0x00, 0x0e, 0x01, 0x20, 0x00, 0x00, 0x00);
	aml_free(&r);
}

static void test_statements(void **state)
{
	struct aml a;
	size_t m, c;

	/* Store (Arg0, Local7); Local and Arg operands are one byte each. */
	aml_init(&a);
	aml_store(&a);
	aml_arg(&a, 0);
	aml_local(&a, 7);
	assert_aml(&a, 0x70, 0x68, 0x67);
	aml_free(&a);

	/* Store (0x40000000, HPEJ) */
	aml_init(&a);
	aml_store(&a);
	aml_integer(&a, 0x40000000);
	aml_namestring(&a, "HPEJ");
	assert_aml(&a, 0x70, 0x0c, 0x00, 0x00, 0x00, 0x40, 'H', 'P', 'E', 'J');
	aml_free(&a);

	/* If (And (Local1, 4, )) { Notify (SL02, 3) } */
	aml_init(&a);
	c = aml_if_begin(&a);
	aml_and(&a);
	aml_local(&a, 1);
	aml_integer(&a, 4);
	aml_no_target(&a);
	aml_notify(&a);
	aml_namestring(&a, "SL02");
	aml_integer(&a, 3);
	aml_end(&a, c);
	/* Body: 7B 61 0A 04 00 (5) + 86 'SL02' 0A 03 (7) = 12, +1 length byte = 13. */
	assert_aml(&a, 0xa0, 13, 0x7b, 0x61, 0x0a, 0x04, 0x00, 0x86, 'S', 'L', '0', '2', 0x0a, 0x03);
	aml_free(&a);

	/* Method (_E01) { \_SB.PCI0.HPSC () }: a call is the method's name. */
	aml_init(&a);
	m = aml_method_begin(&a, "_E01", 0, false);
	aml_namestring(&a, "\\_SB.PCI0.HPSC");
	aml_end(&a, m);
	assert_aml(&a, 0x14, 21, '_', 'E', '0', '1', 0x00, '\\', 0x2f, 3, '_', 'S', 'B', '_', 'P',
		   'C', 'I', '0', 'H', 'P', 'S', 'C');
	aml_free(&a);

	/* Local8 and Arg7 do not exist. */
	aml_init(&a);
	aml_local(&a, 8);
	assert_true(aml_failed(&a));
	aml_free(&a);
	aml_init(&a);
	aml_arg(&a, 7);
	assert_true(aml_failed(&a));
	aml_free(&a);
}

static void test_regions_and_fields(void **state)
{
	struct aml a;
	size_t f;

	/* OperationRegion (HPRG, SystemIO, 0xAE0, 0x10) */
	aml_init(&a);
	aml_operation_region(&a, "HPRG", AML_SPACE_SYSTEM_IO, 0xae0, 0x10);
	assert_aml(&a, 0x5b, 0x80, 'H', 'P', 'R', 'G', 0x01, 0x0b, 0xe0, 0x0a, 0x0a, 0x10);
	aml_free(&a);

	/* Field (HPRG, DWordAcc, NoLock, WriteAsZeros) { HPUP, 32, , 32, HPEJ, 8 } */
	aml_init(&a);
	f = aml_field_begin(&a, "HPRG", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
	aml_field_unit(&a, "HPUP", 32);
	aml_field_unit(&a, NULL, 32);
	aml_field_unit(&a, "HPEJ", 8);
	aml_end(&a, f);
	/* Body: 'HPRG' (4) + flags (1) + 5 + 2 + 5 = 17, +1 length byte = 18. */
	assert_aml(&a, 0x5b, 0x81, 18, 'H', 'P', 'R', 'G', 0x43, 'H', 'P', 'U', 'P', 0x20, 0x00, 0x20,
		   'H', 'P', 'E', 'J', 0x08);
	aml_free(&a);

	/* Widths of 64 bits and more take PkgLength's longer forms, counting only the bits. */
	aml_init(&a);
	aml_field_unit(&a, "WIDE", 0x40);
	aml_field_unit(&a, "HUGE", 0x12345);
	assert_aml(&a, 'W', 'I', 'D', 'E', 0x40, 0x04, 'H', 'U', 'G', 'E', 0x85, 0x34, 0x12);
	aml_free(&a);

	/* Field unit names are single NameSegs; widths stop below 2^28 bits. */
	const char *const bad[] = {"\\HPUP", "^HPUP", "A.B", ""};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		aml_init(&a);
		aml_field_unit(&a, bad[i], 32);
		assert_true(aml_failed(&a));
		aml_free(&a);
	}
	aml_init(&a);
	aml_field_unit(&a, "BIG_", 1u << 28);
	assert_true(aml_failed(&a));
	aml_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_integers),	   cmocka_unit_test(test_strings_and_names),
	    cmocka_unit_test(test_bad_names_fail), cmocka_unit_test(test_pkglength),
	    cmocka_unit_test(test_blocks),	   cmocka_unit_test(test_eisaid),
	    cmocka_unit_test(test_resources),	   cmocka_unit_test(test_statements),
	    cmocka_unit_test(test_regions_and_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
