// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tdx/tdvmcall.h"

static void test_get_info_leaf1(void **state)
{
	struct tdvmcall_info info = {.kernel_r11 = 0x10, .user_r11 = 0x6, .kernel_r12 = 0x20,
				     .user_r12 = 0x1};
	u64 regs[6] = {0xdead, 1, 9, 9, 9, 9};

	tdvmcall_get_info(&info, regs);
	assert_int_equal(regs[0], TDVMCALL_STATUS_SUCCESS);
	/* Only SetupEventNotifyInterrupt (bit 1) of the user bits: merak implements it. */
	assert_int_equal(regs[2], 0x12);
	assert_int_equal(regs[3], 0x20);
	assert_int_equal(regs[4], 0);
	assert_int_equal(regs[5], 0);
}

static void test_get_info_other_leaf_untouched(void **state)
{
	struct tdvmcall_info info = {.user_r11 = 2};
	u64 regs[6] = {0x1234, 2, 7, 8, 9, 10};

	tdvmcall_get_info(&info, regs);
	assert_int_equal(regs[0], 0x1234);
	assert_int_equal(regs[2], 7);
	assert_int_equal(regs[5], 10);
}

static void test_setup_event_notify(void **state)
{
	u64 regs[6] = {0, 31};
	u32 v = 0;

	assert_false(tdvmcall_setup_event_notify(regs, &v));
	assert_int_equal(regs[0], TDVMCALL_STATUS_INVALID_OPERAND);
	regs[1] = 256;
	assert_false(tdvmcall_setup_event_notify(regs, &v));
	regs[1] = 32;
	assert_true(tdvmcall_setup_event_notify(regs, &v));
	assert_int_equal(v, 32);
	assert_int_equal(regs[0], TDVMCALL_STATUS_SUCCESS);
	regs[1] = 255;
	assert_true(tdvmcall_setup_event_notify(regs, &v));
	assert_int_equal(v, 255);
}

static void test_quote_args(void **state)
{
	assert_int_equal(tdx_quote_check_args(0x1000, 0), TDVMCALL_STATUS_INVALID_OPERAND);
	assert_int_equal(tdx_quote_check_args(0x1001, 0x2000), TDVMCALL_STATUS_ALIGN_ERROR);
	assert_int_equal(tdx_quote_check_args(0x1000, 0x2001), TDVMCALL_STATUS_ALIGN_ERROR);
	assert_int_equal(tdx_quote_check_args(0x1000, 0x21000), TDVMCALL_STATUS_INVALID_OPERAND);
	assert_int_equal(tdx_quote_check_args(0x1000, 0x20000), TDVMCALL_STATUS_SUCCESS);
	assert_int_equal(tdx_quote_check_args(0x1000, 0x2000), TDVMCALL_STATUS_SUCCESS);
}

static void make_hdr(u8 *h, u64 version, u32 in_len)
{
	memset(h, 0, 24);
	put_le64(h, version);
	put_le32(h + 16, in_len);
}

static void test_quote_header(void **state)
{
	u8 h[24];
	u32 in_len = 0;

	make_hdr(h, 1, 1024);
	assert_int_equal(tdx_quote_check_header(h, 8192, &in_len), TDVMCALL_STATUS_SUCCESS);
	assert_int_equal(in_len, 1024);
	make_hdr(h, 2, 1024);
	assert_int_equal(tdx_quote_check_header(h, 8192, &in_len),
			 TDVMCALL_STATUS_INVALID_OPERAND);
	/* in_len may use every byte after the header, not one more. */
	make_hdr(h, 1, 4096 - 24);
	assert_int_equal(tdx_quote_check_header(h, 4096, &in_len), TDVMCALL_STATUS_SUCCESS);
	make_hdr(h, 1, 4096 - 23);
	assert_int_equal(tdx_quote_check_header(h, 4096, &in_len),
			 TDVMCALL_STATUS_INVALID_OPERAND);
	make_hdr(h, 1, 0xffffffff);
	assert_int_equal(tdx_quote_check_header(h, 4096, &in_len),
			 TDVMCALL_STATUS_INVALID_OPERAND);
}

static void test_quote_complete_success(void **state)
{
	_Alignas(8) u8 buf[4096];
	u8 quote[100];

	memset(buf, 0xaa, sizeof(buf));
	make_hdr(buf, 1, 1024);
	tdx_quote_set_status(buf, TDX_QUOTE_STATUS_IN_FLIGHT);
	assert_int_equal(get_le64(buf + 8), TDX_QUOTE_STATUS_IN_FLIGHT);
	for (int i = 0; i < 100; i++)
		quote[i] = (u8)i;
	assert_int_equal(tdx_quote_complete(buf, sizeof(buf), TDX_QUOTE_STATUS_SUCCESS, quote, 100),
			 TDX_QUOTE_STATUS_SUCCESS);
	assert_int_equal(get_le64(buf), 1);
	assert_int_equal(get_le64(buf + 8), 0);
	assert_int_equal(get_le32(buf + 16), 1024);	/* in_len untouched */
	assert_int_equal(get_le32(buf + 20), 100);
	assert_memory_equal(buf + 24, quote, 100);
	assert_int_equal(buf[124], 0xaa);
}

static void test_quote_complete_too_big(void **state)
{
	_Alignas(8) u8 buf[128];
	u8 quote[200] = {1};

	memset(buf, 0, sizeof(buf));
	make_hdr(buf, 1, 8);
	/* 104 bytes of room: a 105-byte quote is an error, 104 fits. */
	assert_int_equal(tdx_quote_complete(buf, sizeof(buf), TDX_QUOTE_STATUS_SUCCESS, quote, 105),
			 TDX_QUOTE_STATUS_ERROR);
	assert_int_equal(get_le64(buf + 8), TDX_QUOTE_STATUS_ERROR);
	assert_int_equal(get_le32(buf + 20), 0);
	assert_int_equal(tdx_quote_complete(buf, sizeof(buf), TDX_QUOTE_STATUS_SUCCESS, quote, 104),
			 TDX_QUOTE_STATUS_SUCCESS);
	assert_int_equal(get_le32(buf + 20), 104);
}

static void test_quote_complete_failure_status(void **state)
{
	_Alignas(8) u8 buf[64];

	memset(buf, 0x55, sizeof(buf));
	make_hdr(buf, 1, 8);
	assert_int_equal(tdx_quote_complete(buf, sizeof(buf), TDX_QUOTE_STATUS_QGS_UNAVAILABLE,
					    NULL, 0),
			 TDX_QUOTE_STATUS_QGS_UNAVAILABLE);
	assert_int_equal(get_le64(buf + 8), 0x8000000000000001ULL);
	assert_int_equal(get_le32(buf + 20), 0);
	assert_int_equal(buf[24], 0x55);	/* no quote: the data area is untouched */
}

static void test_notify_msi(void **state)
{
	u64 addr;
	u32 data;

	tdx_notify_msi(3, 0x40, &addr, &data);
	assert_int_equal(addr, 0xFEE03000ULL);
	assert_int_equal(data, 0x40);
	tdx_notify_msi(0x1234, 0xf0, &addr, &data);
	assert_int_equal(addr, 0xFEE34000ULL | (0x1200ULL << 32));
	assert_int_equal(data, 0xf0);
}

static u64 str8(const char *s)
{
	u8 b[8] = {0};

	memcpy(b, s, strnlen(s, 8));
	return get_le64(b);
}

static void test_fatal_decode_message(void **state)
{
	u64 d[16] = {0};
	struct tdx_fatal f;
	struct err e;
	char desc[200];

	d[12] = 0x12340000;	/* R12: error code */
	/* RCX mask: R14, R15, RBX. */
	d[1] = (1u << 14) | (1u << 15) | (1u << 3);
	d[14] = str8("kernel p");
	d[15] = str8("anic: ou");
	d[3] = str8("t of mem");
	d[7] = str8("IGNORED!");	/* RDI not in the mask */
	assert_int_equal(tdx_fatal_decode(d, 16, &f, &e), 0);
	assert_int_equal(f.code, 0x12340000);
	assert_true(f.code_valid);
	assert_false(f.has_gpa);
	assert_string_equal(f.msg, "kernel panic: out of mem");
	tdx_fatal_describe(&f, desc, sizeof(desc));
	assert_string_equal(desc, "code 0x0000000012340000 message 'kernel panic: out of mem'");
}

static void test_fatal_decode_gpa_and_nul(void **state)
{
	u64 d[16] = {0};
	struct tdx_fatal f;
	struct err e;
	char desc[200];

	d[12] = (1ULL << 63) | 0x10000 | 0x5;	/* bit 63: R13 has a GPA; low bits not 0 */
	d[13] = 0xabc000;
	d[1] = 0xffff;
	d[14] = str8("ab");	/* NUL ends the message; later registers are ignored */
	d[15] = str8("cdefghij");
	assert_int_equal(tdx_fatal_decode(d, 16, &f, &e), 0);
	assert_false(f.code_valid);
	assert_true(f.has_gpa);
	assert_int_equal(f.gpa, 0xabc000);
	assert_string_equal(f.msg, "ab");
	tdx_fatal_describe(&f, desc, sizeof(desc));
	assert_string_equal(desc, "code 0x8000000000010005 message 'ab' GPA 0xabc000");
}

static void test_fatal_decode_hostile(void **state)
{
	u64 d[16] = {0};
	struct tdx_fatal f;
	struct err e;
	char desc[200];

	assert_int_equal(tdx_fatal_decode(d, 15, &f, &e), -EPROTO);
	assert_string_equal(e.msg, "TDX fatal-error event carries 15 registers, 16 expected");
	/* Every message register full of control bytes: 64 chars, sanitised. */
	d[1] = ~0ULL;
	for (int i = 0; i < 16; i++)
		if (i != 1 && i != 12)
			d[i] = 0x0a1b7f01020304ffULL;
	assert_int_equal(tdx_fatal_decode(d, 16, &f, &e), 0);
	assert_int_equal(strlen(f.msg), 64);
	for (int i = 0; i < 64; i++)
		assert_int_equal(f.msg[i], '?');
	tdx_fatal_describe(&f, desc, sizeof(desc));
	assert_null(strstr(desc, "(no message)"));
	/* No mask: no message. */
	d[1] = 0;
	assert_int_equal(tdx_fatal_decode(d, 16, &f, &e), 0);
	tdx_fatal_describe(&f, desc, sizeof(desc));
	assert_string_equal(desc, "code 0x0000000000000000 (no message)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_info_leaf1),
		cmocka_unit_test(test_get_info_other_leaf_untouched),
		cmocka_unit_test(test_setup_event_notify),
		cmocka_unit_test(test_quote_args),
		cmocka_unit_test(test_quote_header),
		cmocka_unit_test(test_quote_complete_success),
		cmocka_unit_test(test_quote_complete_too_big),
		cmocka_unit_test(test_quote_complete_failure_status),
		cmocka_unit_test(test_notify_msi),
		cmocka_unit_test(test_fatal_decode_message),
		cmocka_unit_test(test_fatal_decode_gpa_and_nul),
		cmocka_unit_test(test_fatal_decode_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
