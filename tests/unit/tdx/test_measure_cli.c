// SPDX-License-Identifier: MIT
/* `merak measure` end to end through cmd_measure: output and exit statuses. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "tdx_test_util.h"

static char out[65536], errbuf[4096];

/* Runs cmd_measure with stdout and stderr captured; returns its status. */
static int run(int argc, const char **argv)
{
	FILE *o = tmpfile(), *e = tmpfile();
	int so = dup(1), se = dup(2), r;
	size_t n;

	fflush(stdout);
	fflush(stderr);
	dup2(fileno(o), 1);
	dup2(fileno(e), 2);
	r = cmd_measure(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	rewind(o);
	n = fread(out, 1, sizeof(out) - 1, o);
	out[n] = '\0';
	rewind(e);
	n = fread(errbuf, 1, sizeof(errbuf) - 1, e);
	errbuf[n] = '\0';
	fclose(o);
	fclose(e);
	return r;
}

#define RUN(...)                                                                                   \
	({                                                                                         \
		const char *a_[] = {"measure", __VA_ARGS__};                                       \
		run((int)ARRAY_SIZE(a_), a_);                                                      \
	})

static void test_firmware(void **state)
{
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--memory", "2G"), 0);
	assert_non_null(strstr(out, "MRTD: "
				    "4c7206f0f483c524f12c366c711e9049030a8d47c471ee5aa9c4999a08de40"
				    "57fb887fed0744d5631a212967fb231c47 (order per-page)"));
	assert_non_null(strstr(out, "TD HOB (EV_EFI_HANDOFF_TABLES2): "
				    "0b8772e5b0b41b83e6044a68397e02f49fb47066b4fbe4917ea2c45c64f323"
				    "fdacbb37948f821ebaf8bc9c938ba8a749"));
	assert_non_null(
	    strstr(out, "RTMR1: not predicted: depends on the kernel image (--kernel)"));
	assert_string_equal(errbuf, "");

	assert_int_equal(RUN("--firmware", OVMF_PATH, "--order", "two-pass", "--json"), 0);
	assert_true(out[0] == '{');
	assert_non_null(strstr(out, "\"mrtd\":"
				    "\"acccbcc870a381adab0d3919d90a7f268ac3b0364771f202ed4bb4e892d0"
				    "45b33db3b32e6924cba830a724eed443f7e1\""));
	assert_non_null(strstr(out, "depends on the TD HOB, i.e. on the memory size (--memory)"));
}

static void test_replay(void **state)
{
	char path[1024];
	const char *dir = getenv("MERAK_TEST_DATA");

	if (dir && *dir)
		snprintf(path, sizeof(path), "%s/eventlog/CCEL_data_ovmf", dir);
	else
		snprintf(path, sizeof(path), "%s/tests/data/eventlog/CCEL_data_ovmf",
			 MERAK_SOURCE_ROOT);
	assert_int_equal(RUN("--replay-event-log", path), 0);
	assert_non_null(strstr(out, "replayed RTMR0: "
				    "8566f998798db09443b244c62de9a3041fb02e2e6936c4396d784bba2e9017"
				    "7329ec5aba3bb484404f2ab9cc90abe193"));
	assert_non_null(strstr(out, "  14 RTMR1  0x80000007 EV_EFI_ACTION"));
	assert_int_equal(RUN("--replay-event-log", path, "--json"), 0);
	assert_non_null(strstr(out, "\"rtmr\":[\"8566f998"));
	/* A firmware passed as an event log: one error line, nothing on stdout. */
	assert_int_equal(RUN("--replay-event-log", OVMF_PATH), 1);
	assert_string_equal(out, "");
	assert_non_null(
	    strstr(errbuf, "merak measure: event log '" OVMF_PATH "': event log: first record"));
}

static void test_errors(void **state)
{
	assert_int_equal(RUN("--bogus"), 2);
	assert_non_null(
	    strstr(errbuf, "merak measure: unknown option or missing argument '--bogus'"));
	assert_int_equal(RUN(), 2);
	assert_int_equal(RUN("--firmware", OVMF_PATH, "extra"), 2);
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--order", "sideways"), 1);
	assert_string_equal(errbuf,
			    "merak measure: --order 'sideways': want per-page or two-pass\n");
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--memory", "lots"), 1);
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--platform", "tdx=off"), 1);
	assert_non_null(strstr(errbuf, "measure only applies to TDs"));
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--cpus", "boot=0"), 1);
	/* The launch's own refusals, in its words (one validation for both). */
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--memory", "4M"), 1);
	assert_non_null(strstr(errbuf, "--memory: size='4M': must be a multiple of 1 MiB from 8M"));
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--memory", "2T"), 1);
	assert_non_null(strstr(errbuf, "--memory: size='2T': must be a multiple of 1 MiB"));
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--memory", "size=16M"), 1);
	assert_non_null(strstr(errbuf, "a TD needs at least 32 MiB"));
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--platform", "tdx=on,colour=blue"), 1);
	assert_string_equal(errbuf, "merak measure: --platform: unknown or empty key 'colour'\n");
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--platform", "irqchip=kernel"), 1);
	assert_non_null(strstr(errbuf, "a TD cannot use the in-kernel irqchip"));
	assert_int_equal(RUN("--firmware", OVMF_PATH, "--cpus", "boot=65"), 1);
	assert_non_null(strstr(errbuf, "expected a number from 1 to 64"));
	assert_int_equal(RUN("--firmware", "/nonexistent/fw.fd"), 1);
	assert_string_equal(out, "");
	assert_int_equal(
	    RUN("--firmware", OVMF_PATH, "--platform", "tdx=on,debug=on", "--cpus", "boot=2"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_firmware),
	    cmocka_unit_test(test_replay),
	    cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
