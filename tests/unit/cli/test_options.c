// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "util/log.h"

/* Parses a NULL-terminated argument list; returns cli_parse_run's result. */
static int parse(struct vm_config *cfg, struct err *e, ...)
{
	char *argv[32] = {"merak"};
	int argc = 1;
	va_list ap;
	char *a;

	va_start(ap, e);
	while ((a = va_arg(ap, char *)) && argc < 31)
		argv[argc++] = a;
	va_end(ap);
	err_clear(e);
	return cli_parse_run(argc, argv, cfg, e);
}

static void test_full_command_line(void **state)
{
	struct vm_config cfg;
	struct err e;

	assert_int_equal(parse(&cfg, &e, "--kernel", "vmlinux", "--initramfs", "initrd.cpio",
			       "--cmdline", "console=ttyS0 quiet", "--cpus", "boot=4", "--memory",
			       "size=256M", "--serial", "file=/tmp/out", "--console", "null",
			       "--disk", "path=a.img,readonly=on,serial=disk-a", "--disk",
			       "path=b.img,num_queues=2,queue_size=128,direct=on,_disable_io_uring=on,"
			       "poll_queue=off",
			       "--net", "tap=tap0,mac=52:54:00:12:34:56", "--rng",
			       "--vsock", "cid=3,socket=/tmp/v.sock", "--platform", "irqchip=split",
			       NULL),
			 0);
	assert_string_equal(cfg.kernel, "vmlinux");
	assert_string_equal(cfg.initramfs, "initrd.cpio");
	assert_string_equal(cfg.cmdline, "console=ttyS0 quiet");
	assert_int_equal(cfg.cpus, 4);
	assert_int_equal(cfg.mem_size, 256ULL << 20);
	assert_int_equal(cfg.serial.mode, CHARDEV_FILE);
	assert_string_equal(cfg.serial.path, "/tmp/out");
	assert_int_equal(cfg.console.mode, CHARDEV_NULL);
	assert_int_equal(cfg.n_disks, 2);
	assert_true(cfg.disks[0].readonly);
	assert_string_equal(cfg.disks[0].serial, "disk-a");
	assert_false(cfg.disks[1].readonly);
	assert_false(cfg.disks[0].no_poll);
	assert_true(cfg.disks[1].no_poll);
	assert_int_equal(cfg.disks[0].backend, DISK_BACKEND_AUTO);
	assert_int_equal(cfg.disks[1].num_queues, 2);
	assert_int_equal(cfg.disks[1].queue_size, 128);
	assert_true(cfg.disks[1].direct);
	assert_int_equal(cfg.disks[1].backend, DISK_BACKEND_PREADV);
	assert_int_equal(cfg.n_nets, 1);
	assert_string_equal(cfg.nets[0].tap, "tap0");
	assert_true(cfg.nets[0].has_mac);
	assert_int_equal(cfg.nets[0].mac[5], 0x56);
	assert_true(cfg.rng);
	assert_true(cfg.vsock.enabled);
	assert_int_equal(cfg.vsock.cid, 3);
	assert_int_equal(cfg.irqchip, IRQCHIP_SPLIT);
	assert_false(cfg.tdx.enabled);
	vm_config_free(&cfg);
}

static void test_defaults(void **state)
{
	struct vm_config cfg;
	struct err e;

	assert_int_equal(parse(&cfg, &e, "--kernel", "k", NULL), 0);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.mem_size, 512ULL << 20);
	assert_int_equal(cfg.serial.mode, CHARDEV_TTY);
	assert_int_equal(cfg.console.mode, CHARDEV_OFF);
	assert_int_equal(cfg.irqchip, IRQCHIP_SPLIT);
	assert_int_equal(cfg.seccomp, 1);
	vm_config_free(&cfg);
	/* Firmware keeps KVM's PIC and PIT (OVMF's timer); either is one option away. */
	assert_int_equal(parse(&cfg, &e, "--firmware", "f", NULL), 0);
	assert_int_equal(cfg.irqchip, IRQCHIP_KERNEL);
	vm_config_free(&cfg);
	assert_int_equal(parse(&cfg, &e, "--kernel", "k", "--platform", "irqchip=kernel", NULL), 0);
	assert_int_equal(cfg.irqchip, IRQCHIP_KERNEL);
	vm_config_free(&cfg);
	assert_int_equal(parse(&cfg, &e, "--firmware", "f", "--platform", "irqchip=split", NULL), 0);
	assert_int_equal(cfg.irqchip, IRQCHIP_SPLIT);
	vm_config_free(&cfg);
}

static void test_tdx_options(void **state)
{
	struct vm_config cfg;
	struct err e;
	char hex[97];

	for (int i = 0; i < 48; i++)
		sprintf(hex + 2 * i, "%02x", i);
	char plat[256];
	snprintf(plat, sizeof(plat), "tdx=on,debug=on,sept-ve-disable=off,mrconfigid=%s,"
				     "quote-socket=vsock:2:4050",
		 hex);
	assert_int_equal(parse(&cfg, &e, "--firmware", "TDVF.fd", "--platform", plat, NULL), 0);
	assert_true(cfg.tdx.enabled);
	assert_true(cfg.tdx.debug);
	assert_false(cfg.tdx.sept_ve_disable);
	assert_true(cfg.tdx.has_mrconfigid);
	assert_int_equal(cfg.tdx.mrconfigid[47], 47);
	assert_string_equal(cfg.tdx.quote_socket, "vsock:2:4050");
	/* A TD is always split irqchip. */
	assert_int_equal(cfg.irqchip, IRQCHIP_SPLIT);
	vm_config_free(&cfg);
}

/* OVMF takes --kernel/--initramfs/--cmdline through fw_cfg, in a VM as in a TD. */
static void test_kernel_with_firmware(void **state)
{
	struct vm_config cfg;
	struct err e;

	assert_int_equal(parse(&cfg, &e, "--firmware", "OVMF.fd", "--kernel", "bzImage",
			       "--initramfs", "initrd", "--cmdline", "console=ttyS0", NULL),
			 0);
	assert_string_equal(cfg.firmware, "OVMF.fd");
	assert_string_equal(cfg.kernel, "bzImage");
	assert_string_equal(cfg.initramfs, "initrd");
	assert_string_equal(cfg.cmdline, "console=ttyS0");
	assert_false(cfg.tdx.enabled);
	vm_config_free(&cfg);
	assert_int_equal(parse(&cfg, &e, "--firmware", "OVMF.fd", "--kernel", "bzImage",
			       "--platform", "tdx=on", NULL),
			 0);
	assert_true(cfg.tdx.enabled);
	vm_config_free(&cfg);
}

struct bad_case {
	const char *args[8];
	const char *msg;
};

static void test_bad_input(void **state)
{
	static const struct bad_case cases[] = {
		{{"--kernel", "k", "--bogus", NULL}, "unknown option '--bogus'"},
		{{"--kernel", NULL}, "--kernel needs a value"},
		{{"--kernel", "k", "--cpus", "boot=0", NULL}, "--cpus: boot='0'"},
		{{"--kernel", "k", "--cpus", "boot=65", NULL}, "from 1 to 64"},
		{{"--kernel", "k", "--cpus", "count=2", NULL}, "unknown key 'count'"},
		{{"--kernel", "k", "--memory", "size=12Q", NULL}, "not a size"},
		{{"--kernel", "k", "--memory", "size=4M", NULL}, "from 8M to 1T"},
		{{"--kernel", "k", "--memory", "size=9000K", NULL}, "multiple of 1 MiB"},
		{{"--kernel", "k", "--serial", "pts", NULL}, "--serial: 'pts'"},
		{{"--kernel", "k", "--rng", "src=/etc/passwd", NULL}, "--rng src: '/etc/passwd' is not supported"},
		{{"--kernel", "k", "--rng=bits", NULL}, "--rng: 'bits': expected src=PATH"},
		{{"--kernel", "k", "--disk", "readonly=on", NULL}, "path=FILE is required"},
		{{"--kernel", "k", "--disk", "path=x,num_queues=9", NULL}, "num_queues must be 1 to 8"},
		{{"--kernel", "k", "--disk", "path=x,queue_size=100", NULL}, "power of two from 4"},
		{{"--kernel", "k", "--disk", "path=x,serial=123456789012345678901", NULL},
		 "longer than 20 bytes"},
		{{"--kernel", "k", "--net", "tap=t0,mac=01:00:00:00:00:01", NULL}, "unicast"},
		{{"--kernel", "k", "--net", "tap=averyveryverylongname", NULL}, "longer than"},
		{{"--kernel", "k", "--vsock", "cid=2,socket=/s", NULL}, "from 3 to"},
		{{"--kernel", "k", "--vsock", "cid=5", NULL}, "both cid=N and socket=PATH"},
		{{"--kernel", "k", "--platform", "irqchip=apic", NULL}, "expected kernel or split"},
		{{"--kernel", "k", "--platform", "tdx=maybe", NULL}, "expected on or off"},
		{{"--firmware", "f", "--platform", "tdx=on,mrowner=abc", NULL}, "96 hex digits"},
		{{"--firmware", "f", "--platform", "tdx=on,quote-socket=tcp:1", NULL},
		 "unix:PATH or vsock:CID:PORT"},
		{{"--kernel", "k", "--platform", "tdx=on", NULL}, "needs --firmware"},
		{{"--firmware", "f", "--platform", "tdx=on,irqchip=kernel", NULL}, "split irqchip"},
		{{"--kernel", "k", "--platform", "debug=on", NULL}, "without tdx=on"},
		{{"--cmdline", "x", NULL}, "nothing to boot"},
		{{"--firmware", "f", "--initramfs", "i", NULL}, "--initramfs needs --kernel"},
		{{"--kernel", "k", "--serial", "tty", "--console", "tty", NULL}, "both use the terminal"},
		{{"--kernel", "k", "extra", NULL}, "unexpected argument 'extra'"},
		{{"--kernel", "k", "--seccomp", "maybe", NULL}, "expected true, false or log"},
		{{"--kernel", "k", "--log-level", "loud", NULL}, "--log-level: 'loud'"},
		/* Given twice, or empty: refused, not silently resolved (Cloud Hypervisor's rule). */
		{{"--kernel", "k", "--memory", "size=1G", "--memory", "size=2G", NULL},
		 "--memory is given more than once"},
		{{"--kernel", "k", "--kernel", "k2", NULL}, "--kernel is given more than once"},
		{{"--kernel", "k", "--rng", "--rng", NULL}, "--rng is given more than once"},
		{{"--kernel", "k", "--memory", "", NULL}, "--memory: empty value"},
		{{"--kernel", "k", "--memory=", NULL}, "--memory: empty value"},
		{{"--kernel", "", NULL}, "--kernel: empty value"},
		{{"--kernel", "k", "--cpus", "boot=0x", NULL}, "--cpus: boot='0x'"},
		{{"--kernel", "k", "--api-socket", "fd=three", NULL}, "fd='three' is not a file descriptor"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		struct vm_config cfg;
		struct err e;
		int r = parse(&cfg, &e, c->args[0], c->args[1], c->args[2], c->args[3], c->args[4],
			      c->args[5], c->args[6], c->args[7]);

		if (r >= 0 || !strstr(e.msg, c->msg)) {
			print_error("case %zu: got %d '%s', want an error containing '%s'\n", i, r,
				    e.msg, c->msg);
			fail();
		}
		assert_int_equal(r, -EINVAL);
		vm_config_free(&cfg);
	}
}

/* Counts are decimal (010 is ten, not octal eight); disks and nets repeat; "" is a cmdline. */
static void test_numbers_and_repeats(void **state)
{
	struct vm_config cfg;
	struct err e;

	assert_int_equal(parse(&cfg, &e, "--kernel", "k", "--cpus", "boot=010", "--disk", "path=a",
			       "--disk", "path=b", "--cmdline", "", NULL),
			 0);
	assert_int_equal(cfg.cpus, 10);
	assert_int_equal(cfg.api_fd, -1);
	assert_int_equal(cfg.n_disks, 2);
	assert_string_equal(cfg.cmdline, "");
	vm_config_free(&cfg);
	/* -v is info, -vv debug (Cloud Hypervisor's habit); --log-file is kept for cli.c. */
	assert_int_equal(parse(&cfg, &e, "--kernel", "k", "-v", "--log-file", "/tmp/x.log", NULL), 0);
	assert_int_equal(log_get_level(), LOG_INFO);
	assert_string_equal(cfg.log_file, "/tmp/x.log");
	vm_config_free(&cfg);
	assert_int_equal(parse(&cfg, &e, "--kernel", "k", "-vv", NULL), 0);
	assert_int_equal(log_get_level(), LOG_DEBUG);
	log_set_level(LOG_WARN);
	vm_config_free(&cfg);
}

static void test_help_and_version(void **state)
{
	struct vm_config cfg;
	struct err e;
	FILE *saved = stdout;

	stdout = fopen("/dev/null", "w");
	assert_int_equal(parse(&cfg, &e, "--help", NULL), 1);
	vm_config_free(&cfg);
	assert_int_equal(parse(&cfg, &e, "--version", NULL), 1);
	fclose(stdout);
	stdout = saved;
	vm_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_command_line),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_tdx_options),
		cmocka_unit_test(test_kernel_with_firmware),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_numbers_and_repeats),
		cmocka_unit_test(test_help_and_version),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
