// SPDX-License-Identifier: MIT
/* Cloud Hypervisor's VmConfig and device bodies into struct vm_config and back. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/cli.h"
#include "control/vmconfig.h"

/* A string literal and its length. */
#define S(lit) lit, strlen(lit)

static int parse(const char *json, struct vm_config *cfg, struct err *e)
{
	err_clear(e);
	return vmconfig_parse(json, strlen(json), cfg, e);
}

/* Fails the test with the message when r is not 0. */
#define assert_ok(r, e)                                                                            \
	do {                                                                                       \
		int r_ = (r);                                                                      \
		if (r_ != 0) {                                                                     \
			print_error("got %d '%s'\n", r_, (e)->msg);                                \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

static void test_defaults(void **state)
{
	struct vm_config cfg;
	struct err e;

	assert_ok(parse("{\"payload\": {\"kernel\": \"/k\"}}", &cfg, &e), &e);
	assert_string_equal(cfg.kernel, "/k");
	assert_null(cfg.firmware);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.max_cpus, 1);
	assert_int_equal(cfg.mem_size, 512ULL << 20);
	assert_false(cfg.mem_shared);
	/* The schema's defaults, not the command line's. */
	assert_int_equal(cfg.serial.mode, CHARDEV_NULL);
	assert_int_equal(cfg.console.mode, CHARDEV_TTY);
	assert_string_equal(cfg.console.id, "__console");
	assert_true(cfg.rng);
	assert_null(cfg.rng_src);
	assert_string_equal(cfg.rng_id, "__rng");
	assert_int_equal(cfg.n_disks, 0);
	assert_int_equal(cfg.n_nets, 0);
	assert_false(cfg.vsock.enabled);
	assert_false(cfg.tdx.enabled);
	assert_true(cfg.tdx.sept_ve_disable);
	/* A kernel payload gets the split irqchip unless told otherwise. */
	assert_int_equal(cfg.irqchip, IRQCHIP_SPLIT);
	assert_false(cfg.irqchip_set);
	assert_int_equal(cfg.seccomp, 1);
	assert_int_equal(cfg.api_fd, -1);
	assert_null(cfg.api_socket);
	vm_config_free(&cfg);

	/* Null is absent; so are empty lists and the schema's defaults. */
	assert_ok(parse("{\"payload\": {\"kernel\": \"/k\", \"igvm\": null}, \"cpus\": null, "
			"\"fs\": [], \"iommu\": false, \"watchdog\": null, \"balloon\": null, "
			"\"debug_console\": {\"mode\": \"Off\", \"iobase\": 233}, "
			"\"memory\": {\"size\": 1073741824, \"thp\": false, \"hotplug_method\": "
			"\"Acpi\"}}",
			&cfg, &e),
		  &e);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.mem_size, 1ULL << 30);
	vm_config_free(&cfg);
}

/*
 * What Kata's Cloud Hypervisor driver sends for a TD: its generated client
 * fills in every schema default, asks for max_vcpus above boot_vcpus, a
 * topology and two PCI segments.
 */
static const char kata_td[] =
    "{\"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 8, \"kvm_hyperv\": false, \"nested\": true,"
    "  \"topology\": {\"threads_per_core\": 1, \"cores_per_die\": 8, \"dies_per_package\": 1,"
    "   \"packages\": 1}},"
    " \"memory\": {\"size\": 2147483648, \"mergeable\": false, \"hotplug_method\": \"Acpi\","
    "  \"shared\": true, \"hugepages\": false, \"prefault\": false, \"reserve\": false,"
    "  \"thp\": true},"
    " \"payload\": {\"kernel\": \"/opt/kata/vmlinux\", \"initramfs\": \"/opt/kata/initrd\","
    "  \"cmdline\": \"console=hvc0 quiet panic=1\", \"firmware\": \"/opt/kata/TDVF.fd\"},"
    " \"disks\": [{\"path\": \"/run/kata/rootfs.img\", \"readonly\": true, \"direct\": false,"
    "  \"iommu\": false, \"num_queues\": 1, \"queue_size\": 128, \"vhost_user\": false,"
    "  \"backing_files\": false, \"sparse\": true, \"image_type\": \"Raw\"},"
    "  {\"path\": \"/run/kata/data.img\", \"id\": \"data\", \"serial\": \"kata-data\","
    "   \"lock_granularity\": \"Full\", \"queue_size\": 1024, \"num_queues\": 4,"
    "   \"poll_queue\": false}],"
    " \"rng\": {\"src\": \"/dev/urandom\", \"iommu\": false},"
    " \"serial\": {\"mode\": \"Tty\"},"
    " \"console\": {\"mode\": \"Off\", \"iommu\": false},"
    " \"vsock\": {\"cid\": 3, \"socket\": \"/run/kata/clh.sock\", \"iommu\": false},"
    " \"iommu\": false, \"watchdog\": false, \"pvpanic\": false, \"landlock_enable\": false,"
    " \"platform\": {\"num_pci_segments\": 2, \"tdx\": true, \"sev_snp\": false,"
    "  \"iommufd\": false, \"vfio_p2p_dma\": true}}";

static void test_kata_like(void **state)
{
	struct vm_config cfg;
	struct err e;

	assert_ok(parse(kata_td, &cfg, &e), &e);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.max_cpus, 8);
	assert_int_equal(cfg.mem_size, 2ULL << 30);
	assert_true(cfg.mem_shared);
	assert_string_equal(cfg.kernel, "/opt/kata/vmlinux");
	assert_string_equal(cfg.initramfs, "/opt/kata/initrd");
	assert_string_equal(cfg.cmdline, "console=hvc0 quiet panic=1");
	assert_string_equal(cfg.firmware, "/opt/kata/TDVF.fd");
	assert_int_equal(cfg.serial.mode, CHARDEV_TTY);
	assert_int_equal(cfg.console.mode, CHARDEV_OFF);
	assert_string_equal(cfg.console.id, "");
	assert_true(cfg.rng);
	assert_null(cfg.rng_src);
	assert_int_equal(cfg.n_disks, 2);
	assert_string_equal(cfg.disks[0].path, "/run/kata/rootfs.img");
	assert_true(cfg.disks[0].readonly);
	assert_string_equal(cfg.disks[0].id, "_disk0");
	assert_string_equal(cfg.disks[1].id, "data");
	assert_string_equal(cfg.disks[1].serial, "kata-data");
	assert_false(cfg.disks[1].readonly);
	assert_false(cfg.disks[0].no_poll);
	assert_true(cfg.disks[1].no_poll);
	assert_true(cfg.vsock.enabled);
	assert_int_equal(cfg.vsock.cid, 3);
	assert_string_equal(cfg.vsock.socket, "/run/kata/clh.sock");
	/* One counter across prefixes, as Cloud Hypervisor names them. */
	assert_string_equal(cfg.vsock.id, "_vsock1");
	assert_true(cfg.tdx.enabled);
	assert_true(cfg.tdx.sept_ve_disable);
	assert_int_equal(cfg.irqchip, IRQCHIP_SPLIT);
	vm_config_free(&cfg);
}

static void test_td_options(void **state)
{
	struct vm_config cfg;
	struct err e;
	char body[1024], hex[97];

	for (int i = 0; i < 48; i++)
		sprintf(hex + 2 * i, "%02x", i);
	snprintf(body, sizeof(body),
		 "{\"payload\": {\"firmware\": \"TDVF.fd\"}, \"platform\": {\"tdx\": true, "
		 "\"debug\": true, \"sept-ve-disable\": false, \"mrconfigid\": \"%s\", "
		 "\"mrowner\": \"%s\", \"quote-socket\": \"vsock:2:4050\", \"tsc-khz\": 2000000, "
		 "\"irqchip\": \"split\"}}",
		 hex, hex);
	assert_ok(parse(body, &cfg, &e), &e);
	assert_true(cfg.tdx.enabled);
	assert_true(cfg.tdx.debug);
	assert_false(cfg.tdx.sept_ve_disable);
	assert_true(cfg.tdx.has_mrconfigid);
	assert_true(cfg.tdx.has_mrowner);
	assert_false(cfg.tdx.has_mrownerconfig);
	assert_int_equal(cfg.tdx.mrowner[47], 47);
	assert_string_equal(cfg.tdx.quote_socket, "vsock:2:4050");
	assert_int_equal(cfg.tdx.tsc_khz, 2000000);
	assert_true(cfg.irqchip_set);
	assert_int_equal(cfg.irqchip, IRQCHIP_SPLIT);
	vm_config_free(&cfg);
}

struct bad {
	const char *body;
	const char *msg;
};

#define K "\"payload\": {\"kernel\": \"k\"}"
#define F "\"payload\": {\"firmware\": \"f\"}"

static void check_bad(const struct bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct vm_config cfg;
		struct err e;
		int r = parse(cases[i].body, &cfg, &e);

		if (r != -EINVAL || !strstr(e.msg, cases[i].msg)) {
			print_error("case %zu %s:\n got %d '%s', want -EINVAL with '%s'\n", i,
				    cases[i].body, r, e.msg, cases[i].msg);
			fail();
		}
		/* One line. */
		assert_null(strchr(e.msg, '\n'));
		/* Left empty: freeing it again is harmless. */
		assert_null(cfg.kernel);
		vm_config_free(&cfg);
	}
}

/* Each refusal names its field and why. */
static void test_refusals(void **state)
{
	static const struct bad cases[] = {
	    {"{" K ", \"memory\": {\"size\": 1073741824, \"hugepages\": true}}",
	     "memory.hugepages: merak supports only false"},
	    {"{" K ", \"memory\": {\"size\": 1073741824, \"hotplugged_size\": 4294967296}}",
	     "memory.hotplugged_size: not supported by merak"},
	    {"{" K ", \"memory\": {\"size\": 1073741824, \"hotplug_size\": -1}}",
	     "memory.hotplug_size: expected an integer from 0 to"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 8193}}",
	     "cpus.max_vcpus: expected an integer from 1 to 8192, got 8193"},
	    {"{" K ", \"memory\": {\"size\": 1073741824, \"hotplug_method\": \"VirtioMem\"}}",
	     "memory.hotplug_method: merak supports only \"Acpi\""},
	    {"{" K ", \"memory\": {\"size\": 1073741824, \"zones\": [{\"id\": \"z\"}]}}",
	     "memory.zones: not supported by merak"},
	    {"{" K ", \"memory\": {\"size\": 1073741824, \"shared\": true, \"mergeable\": true}}",
	     "memory.mergeable: cannot be true with shared true"},
	    {"{" K ", \"memory\": {\"size\": 1000000}}",
	     "memory.size: must be a multiple of 1 MiB"},
	    {"{" K ", \"memory\": {\"size\": 4194304}}", "from 8 MiB to 1 TiB, got 4194304"},
	    {"{" K ", \"memory\": {\"size\": -1}}", "memory.size: must be"},
	    {"{" K ", \"memory\": {\"size\": \"1G\"}}",
	     "memory.size: expected an integer (bytes), got a string"},
	    {"{" K ", \"memory\": {}}", "memory.size: required"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 65, \"max_vcpus\": 65}}",
	     "cpus.boot_vcpus: expected an integer from 1 to 64, got 65"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 0, \"max_vcpus\": 1}}",
	     "cpus.boot_vcpus: expected an integer from 1 to 64, got 0"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 4, \"max_vcpus\": 2}}",
	     "cpus.max_vcpus: 2 is below boot_vcpus (4)"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1}}", "cpus.max_vcpus: required"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 2, \"topology\": "
	     "{\"threads_per_core\": 2, \"cores_per_die\": 1, \"dies_per_package\": 1, "
	     "\"packages\": 1}}}",
	     "cpus.topology: not supported by merak"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 2, \"kvm_hyperv\": true}}",
	     "cpus.kvm_hyperv: merak supports only false"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 2, \"affinity\": "
	     "[{\"vcpu\": 0, \"host_cpus\": [1]}]}}",
	     "cpus.affinity: not supported by merak"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1, \"features\": "
	     "{\"amx\": true}}}",
	     "cpus.features.amx: merak supports only false"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1, \"core_scheduling\": "
	     "\"Vcpu\"}}",
	     "cpus.core_scheduling: merak supports only \"Vm\""},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1, \"max_phys_bits\": 39}}",
	     "cpus.max_phys_bits: merak supports only 46"},
	    {"{\"payload\": {\"kernel\": \"k\", \"igvm\": \"x.igvm\"}}",
	     "payload.igvm: not supported by merak"},
	    {"{\"payload\": {\"kernel\": \"k\", \"host_data\": \"00\"}}",
	     "payload.host_data: not supported by merak"},
	    {"{\"payload\": {\"kernel\": \"\"}}", "payload.kernel: empty"},
	    {"{\"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1}}", "payload: required"},
	    {"{\"payload\": {}}", "payload: nothing to boot"},
	    {"{\"payload\": {\"firmware\": \"f\", \"initramfs\": \"i\"}}",
	     "payload.initramfs needs payload.kernel"},
	    {"{\"payload\": {\"firmware\": \"f\", \"cmdline\": \"c\"}}",
	     "payload.cmdline needs payload.kernel"},
	    {"{" K ", \"serial\": {\"mode\": \"Socket\"}}",
	     "serial.socket: required with mode Socket"},
	    {"{" K ", \"console\": {\"mode\": \"Tty\", \"socket\": \"/s\"}}",
	     "console.socket: only with mode Socket"},
	    {"{" K ", \"console\": {\"mode\": \"tty\"}}", "console.mode: expected Off, Null, Tty"},
	    {"{" K ", \"serial\": {\"mode\": \"File\"}}", "serial.file: required with mode File"},
	    {"{" K ", \"serial\": {\"mode\": \"Null\", \"file\": \"/x\"}}",
	     "serial.file: only with mode File"},
	    {"{" K ", \"serial\": {}}", "serial.mode: required"},
	    {"{" K ", \"serial\": {\"mode\": \"Tty\"}, \"console\": {\"mode\": \"Tty\"}}",
	     "serial and console cannot both use the terminal"},
	    {"{" K ", \"console\": {\"mode\": \"Off\", \"iommu\": true}}",
	     "console.iommu: merak supports only false"},
	    {"{" K ", \"debug_console\": {\"mode\": \"Tty\"}}",
	     "debug_console.mode: merak supports only \"Off\""},
	    {"{" K ", \"debug_console\": {\"iobase\": 233}}", "debug_console.mode: required"},
	    {"{" K ", \"rng\": {\"src\": \"/dev/hwrng\"}}",
	     "rng.src: '/dev/hwrng' is not supported by merak"},
	    {"{" K ", \"rng\": {}}", "rng.src: required"},
	    {"{" K ", \"rng\": {\"src\": \"/dev/urandom\", \"id\": \"__mine\"}}",
	     "rng.id: '__mine': ids starting with \"__\" are reserved"},
	    {"{" K ", \"disks\": [{\"path\": \"a\"}, {\"path\": \"b\", \"iommu\": true}]}",
	     "disks[1].iommu: merak supports only false"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"queue_size\": 96}]}",
	     "disks[0].queue_size: 96 is not a power of two"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"num_queues\": 0}]}",
	     "disks[0].num_queues"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"vhost_user\": true}]}",
	     "disks[0].vhost_user: merak supports only false"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"image_type\": \"Qcow2\"}]}",
	     "disks[0].image_type: \"Qcow2\" is not supported by merak (only Raw)"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"serial\": \"123456789012345678901\"}]}",
	     "disks[0].serial: longer than 20 bytes"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"queue_size\": 100}]}",
	     "disks[0].queue_size: 100 is not a power of two"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"num_queues\": 0}]}",
	     "disks[0].num_queues: expected an integer from 1 to 64, got 0"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"pci_segment\": 1}]}",
	     "disks[0].pci_segment: merak supports only 0"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"rate_limiter_config\": {\"ops\": "
	     "{\"size\": 1, \"refill_time\": 1}}}]}",
	     "disks[0].rate_limiter_config: not supported by merak"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"lock_granularity\": \"Some\"}]}",
	     "disks[0].lock_granularity: expected ByteRange or Full"},
	    {"{" K ", \"disks\": [{\"readonly\": true}]}", "disks[0].path: required"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"id\": \"x\"}, {\"path\": \"b\", "
	     "\"id\": \"x\"}]}",
	     "disks[1].id: 'x' is also the id of disks[0]"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"id\": \"v\"}], \"vsock\": {\"cid\": 3, "
	     "\"socket\": \"/s\", \"id\": \"v\"}}",
	     "vsock.id: 'v' is also the id of disks[0]"},
	    {"{" K ", \"disks\": [{\"path\": \"a\"}, {\"path\": \"a\"}]}",
	     "disks[1].path: 'a' is also disks[0]"},
	    {"{" K ", \"disks\": [{\"path\": \"1\"}, {\"path\": \"2\"}, {\"path\": \"3\"}, "
	     "{\"path\": \"4\"}, {\"path\": \"5\"}, {\"path\": \"6\"}, {\"path\": \"7\"}, "
	     "{\"path\": \"8\"}, {\"path\": \"9\"}]}",
	     "disks: merak takes at most 8 disks, got 9"},
	    {"{" K ", \"net\": [{\"tap\": \"t0\", \"num_queues\": 4}]}",
	     "net[0].num_queues: merak supports only 2"},
	    {"{" K ", \"net\": [{\"tap\": \"t0\", \"mtu\": 9000}]}",
	     "net[0].mtu: not supported by merak"},
	    {"{" K ", \"net\": [{\"tap\": \"t0\", \"ip\": \"10.0.0.1\"}]}",
	     "net[0].ip: merak supports only \"192.168.249.1\""},
	    {"{" K ", \"net\": [{\"tap\": \"t0\", \"host_mac\": \"52:54:00:00:00:01\"}]}",
	     "net[0].host_mac: not supported by merak"},
	    {"{" K ", \"net\": [{\"tap\": \"t0\", \"offload_csum\": false}]}",
	     "net[0].offload_csum: merak supports only true"},
	    {"{" K ", \"net\": [{\"tap\": \"t0\", \"mac\": \"01:00:00:00:00:01\"}]}",
	     "net[0].mac: '01:00:00:00:00:01' is not a unicast MAC address"},
	    {"{" K ", \"net\": [{\"tap\": \"averyveryverylongname\"}]}",
	     "net[0].tap: longer than 15 bytes"},
	    {"{" K ", \"net\": [{\"tap\": \"t0\", \"fds\": \"3\"}]}",
	     "net[0].fds: expected an array of integers, got a string"},
	    {"{" K ", \"net\": [{\"tap\": \"t0\", \"vhost_mode\": \"Server\"}]}",
	     "net[0].vhost_mode: merak supports only \"Client\""},
	    {"{" K ", \"vsock\": {\"cid\": 2, \"socket\": \"/s\"}}",
	     "vsock.cid: expected an integer from 3 to 4294967294, got 2"},
	    {"{" K ", \"vsock\": {\"cid\": 4294967295, \"socket\": \"/s\"}}",
	     "vsock.cid: expected an integer from 3 to 4294967294, got 4294967295"},
	    {"{" K ", \"vsock\": {\"cid\": 3}}", "vsock.socket: required"},
	    {"{" K ", \"fs\": [{\"tag\": \"t\", \"socket\": \"/s\", \"num_queues\": 1, "
	     "\"queue_size\": 1024}]}",
	     "fs: not supported by merak"},
	    {"{" K ", \"pmem\": [{\"file\": \"/x\"}]}", "pmem: not supported by merak"},
	    {"{" K ", \"balloon\": {\"size\": 1}}", "balloon: not supported by merak"},
	    {"{" K ", \"rtc\": {}}", "rtc: not supported by merak"},
	    {"{" K ", \"tpm\": {\"socket\": \"/s\"}}", "tpm: not supported by merak"},
	    {"{" K ", \"iommu\": true}", "iommu: merak supports only false"},
	    {"{" K ", \"landlock_enable\": true}", "landlock_enable: merak supports only false"},
	    {"{" K ", \"platform\": {\"sev_snp\": true}}",
	     "platform.sev_snp: merak supports only false"},
	    {"{" K ", \"platform\": {\"num_pci_segments\": 97}}",
	     "platform.num_pci_segments: expected an integer from 1 to 96, got 97"},
	    {"{" K ", \"platform\": {\"system_uuid\": \"u\"}}",
	     "platform.system_uuid: not supported by merak"},
	    {"{" K ", \"platform\": {\"oem_strings\": [\"a\"]}}",
	     "platform.oem_strings: not supported by merak"},
	    {"{" K ", \"platform\": {\"tdx\": true}}", "platform.tdx needs payload.firmware"},
	    {"{" F ", \"platform\": {\"tdx\": true, \"irqchip\": \"kernel\"}}",
	     "platform.irqchip \"kernel\": a TD needs the split irqchip"},
	    {"{" K ", \"platform\": {\"debug\": true}}", "platform: TD options"},
	    {"{" F ", \"platform\": {\"tdx\": true, \"mrowner\": \"abc\"}}",
	     "platform.mrowner must be 96 hex digits"},
	    {"{" F ", \"platform\": {\"tdx\": true, \"quote-socket\": \"tcp:1\"}}",
	     "platform.quote-socket='tcp:1': expected unix:PATH or vsock:CID:PORT"},
	    {"{" F ", \"platform\": {\"tdx\": true, \"tsc-khz\": 0}}",
	     "platform.tsc-khz: expected an integer from 1 to"},
	    {"{" K ", \"platform\": {\"irqchip\": \"apic\"}}",
	     "platform.irqchip: expected \"kernel\" or \"split\", got \"apic\""},
	};

	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_unknown_fields(void **state)
{
	static const struct bad cases[] = {
	    {"{" K ", \"foo\": 1}", "unknown field 'foo' in VmConfig"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1, \"foo\": 1}}",
	     "unknown field 'foo' in cpus"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1, \"profile\": \"Host\"}}",
	     "unknown field 'profile' in cpus"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1, \"topology\": "
	     "{\"foo\": 1}}}",
	     "unknown field 'foo' in cpus.topology"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1, \"features\": "
	     "{\"foo\": 1}}}",
	     "unknown field 'foo' in cpus.features"},
	    {"{" K ", \"memory\": {\"size\": 1073741824, \"foo\": 1}}",
	     "unknown field 'foo' in memory"},
	    {"{\"payload\": {\"kernel\": \"k\", \"foo\": 1}}", "unknown field 'foo' in payload"},
	    {"{" K ", \"disks\": [{\"path\": \"a\"}, {\"path\": \"b\", \"foo\": 1}]}",
	     "unknown field 'foo' in disks[1]"},
	    {"{" K ", \"net\": [{\"tap\": \"t\", \"foo\": 1}]}", "unknown field 'foo' in net[0]"},
	    {"{" K ", \"rng\": {\"src\": \"/dev/urandom\", \"foo\": 1}}",
	     "unknown field 'foo' in rng"},
	    {"{" K ", \"serial\": {\"mode\": \"Off\", \"foo\": 1}}",
	     "unknown field 'foo' in serial"},
	    {"{" K ", \"console\": {\"mode\": \"Off\", \"foo\": 1}}",
	     "unknown field 'foo' in console"},
	    {"{" K ", \"debug_console\": {\"mode\": \"Off\", \"foo\": 1}}",
	     "unknown field 'foo' in debug_console"},
	    {"{" K ", \"vsock\": {\"cid\": 3, \"socket\": \"/s\", \"foo\": 1}}",
	     "unknown field 'foo' in vsock"},
	    {"{" K ", \"platform\": {\"foo\": 1}}", "unknown field 'foo' in platform"},
	};

	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_wrong_types(void **state)
{
	static const struct bad cases[] = {
	    {"[]", "body: expected a VmConfig object, got an array"},
	    {"null", "body: expected a VmConfig object, got null"},
	    {"3", "body: expected a VmConfig object, got an integer"},
	    {"{" K ", \"cpus\": 2}", "cpus: expected an object, got an integer"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": \"2\", \"max_vcpus\": 2}}",
	     "cpus.boot_vcpus: expected an integer from 1 to 64, got a string"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 2.0, \"max_vcpus\": 2}}",
	     "cpus.boot_vcpus: expected an integer from 1 to 64, got a number with a fraction"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": true, \"max_vcpus\": 2}}",
	     "cpus.boot_vcpus: expected an integer from 1 to 64, got a boolean"},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 99999999999999999999}}",
	     "cpus.max_vcpus: expected an integer from 1 to 8192"},
	    {"{" K ", \"disks\": {\"path\": \"a\"}}", "disks: expected an array, got an object"},
	    {"{" K ", \"disks\": [\"a\"]}", "disks[0]: expected an object, got a string"},
	    {"{" K ", \"disks\": [{\"path\": \"a\", \"readonly\": \"yes\"}]}",
	     "disks[0].readonly: expected true or false, got a string"},
	    {"{" K ", \"disks\": [{\"path\": 5}]}",
	     "disks[0].path: expected a string, got an integer"},
	    {"{" K ", \"memory\": {\"size\": 1073741824, \"hugepages\": 0}}",
	     "memory.hugepages: expected true or false, got an integer"},
	    {"{" K ", \"fs\": {}}", "fs: expected an array, got an object"},
	    {"{\"payload\": {\"kernel\": \"k\\u0000x\"}}", "payload.kernel: contains a NUL byte"},
	    {"{" K ", \"platform\": {\"tdx\": 1}}",
	     "platform.tdx: expected true or false, got an integer"},
	};

	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_malformed(void **state)
{
	static const struct bad cases[] = {
	    {"", "empty body"},
	    {"{", "JSON ends too early"},
	    {"{\"payload\": {\"kernel\": \"k\"}", "JSON ends too early"},
	    {"{\"payload\": {\"kernel\": \"k\"}} x", "malformed JSON"},
	    {"{\"payload\": {\"kernel\": \"k\"}}{}", "malformed JSON"},
	    {"{\"payload\": {\"kernel\": \"k\",}}", "malformed JSON"},
	    {"{\"payload\": {\"kernel\": True}}", "malformed JSON"},
	    {"payload", "malformed JSON"},
	    {"{" K ", \"numa\": [[[[[[[[1]]]]]]]]}", "nested deeper than 8 levels"},
	};
	struct vm_config cfg;
	struct err e;
	char *big;
	static const char nul[] = "{\"payload\": {\"kernel\": \"k\"}}\0";

	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
	/* Trailing white space is fine. */
	assert_ok(parse("{" K "} \r\n\t", &cfg, &e), &e);
	vm_config_free(&cfg);
	/* A NUL byte in the body, and a body over the limit. */
	assert_int_equal(vmconfig_parse(nul, sizeof(nul), &cfg, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "NUL byte"));
	big = malloc(VMCONFIG_MAX_BODY + 2);
	assert_non_null(big);
	memset(big, ' ', VMCONFIG_MAX_BODY + 1);
	memcpy(big, "{" K "}", strlen("{" K "}"));
	big[VMCONFIG_MAX_BODY + 1] = '\0';
	assert_int_equal(vmconfig_parse(big, VMCONFIG_MAX_BODY + 1, &cfg, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "over the limit"));
	/* Up to the limit is fine. */
	assert_ok(vmconfig_parse(big, VMCONFIG_MAX_BODY, &cfg, &e), &e);
	vm_config_free(&cfg);
	free(big);
	assert_int_equal(vmconfig_parse(NULL, 0, &cfg, &e), -EINVAL);
}

/* Every property of the schema's objects (cloud-hypervisor.yaml) has a row: none is unknown. */
static void test_every_schema_property_has_a_row(void **state)
{
	static const struct {
		const char *wrap; /* %s: where the property goes */
		const char *props[32];
	} objects[] = {
	    {"{" K ", %s}",
	     {"cpus",
	      "memory",
	      "rate_limit_groups",
	      "disks",
	      "net",
	      "rng",
	      "balloon",
	      "fs",
	      "generic_vhost_user",
	      "pmem",
	      "serial",
	      "console",
	      "debug_console",
	      "devices",
	      "user_devices",
	      "vdpa",
	      "vsock",
	      "numa",
	      "iommu",
	      "watchdog",
	      "rtc",
	      "pvpanic",
	      "pci_segments",
	      "platform",
	      "tpm",
	      "landlock_enable",
	      "landlock_rules"}},
	    {"{\"payload\": {\"kernel\": \"k\", %s}}",
	     {"firmware", "cmdline", "initramfs", "igvm", "host_data"}},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1, %s}}",
	     {"topology", "kvm_hyperv", "max_phys_bits", "nested", "affinity", "features",
	      "core_scheduling"}},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1, \"topology\": {%s}}}",
	     {"threads_per_core", "cores_per_die", "dies_per_package", "packages"}},
	    {"{" K ", \"cpus\": {\"boot_vcpus\": 1, \"max_vcpus\": 1, \"features\": {%s}}}",
	     {"amx"}},
	    {"{" K ", \"memory\": {\"size\": 1073741824, %s}}",
	     {"hotplug_size", "hotplugged_size", "mergeable", "hotplug_method", "shared",
	      "hugepages", "hugepage_size", "prefault", "reserve", "thp", "zones"}},
	    {"{" K ", \"disks\": [{\"path\": \"a\", %s}]}",
	     {"readonly", "direct", "iommu", "num_queues", "queue_size", "poll_queue", "vhost_user",
	      "vhost_socket", "rate_limiter_config", "pci_segment", "pci_device_id", "id", "serial",
	      "rate_limit_group", "queue_affinity", "backing_files", "sparse", "image_type",
	      "lock_granularity"}},
	    {"{" K ", \"net\": [{\"tap\": \"t\", %s}]}",
	     {"ip", "mask", "mac", "host_mac", "mtu", "iommu", "num_queues", "queue_size",
	      "vhost_user", "vhost_socket", "vhost_mode", "id", "pci_segment", "pci_device_id",
	      "rate_limiter_config", "offload_tso", "offload_ufo", "offload_csum"}},
	    {"{" K ", \"rng\": {\"src\": \"/dev/urandom\", %s}}",
	     {"id", "pci_segment", "pci_device_id", "iommu"}},
	    {"{" K ", \"serial\": {\"mode\": \"Off\", %s}}", {"file", "socket"}},
	    {"{" K ", \"console\": {\"mode\": \"Off\", %s}}",
	     {"file", "socket", "iommu", "id", "pci_segment", "pci_device_id"}},
	    {"{" K ", \"debug_console\": {\"mode\": \"Off\", %s}}", {"file", "iobase"}},
	    {"{" K ", \"vsock\": {\"cid\": 3, \"socket\": \"/s\", %s}}",
	     {"iommu", "pci_segment", "pci_device_id", "id"}},
	    {"{" K ", \"platform\": {%s}}",
	     {"num_pci_segments", "iommu_segments", "iommu_address_width_bits",
	      "system_serial_number", "serial_number", "system_uuid", "uuid", "oem_strings",
	      "system_manufacturer", "system_product_name", "system_version", "system_family",
	      "system_sku_number", "chassis_asset_tag", "tdx", "sev_snp", "iommufd",
	      "vfio_p2p_dma"}},
	};

	for (size_t i = 0; i < sizeof(objects) / sizeof(objects[0]); i++)
		for (size_t j = 0; objects[i].props[j]; j++) {
			char prop[64], body[512];
			struct vm_config cfg;
			struct err e;
			int r;

			/* null is as if absent: accepted by every row. */
			snprintf(prop, sizeof(prop), "\"%s\": null", objects[i].props[j]);
			snprintf(body, sizeof(body), objects[i].wrap, prop);
			r = parse(body, &cfg, &e);
			if (r != 0) {
				print_error("%s: got %d '%s'\n", body, r, e.msg);
				fail();
			}
			vm_config_free(&cfg);
		}
}

static void test_device_bodies(void **state)
{
	struct disk_config d;
	struct net_config n;
	struct vsock_config v;
	char id[VM_ID_MAX];
	struct err e;

	assert_ok(
	    vmconfig_parse_disk(S("{\"path\": \"/img\", \"readonly\": true, \"num_queues\": 4, "
				  "\"queue_size\": 1024, \"id\": \"clh_drive_0\"}"),
				&d, &e),
	    &e);
	assert_string_equal(d.path, "/img");
	assert_true(d.readonly);
	assert_string_equal(d.id, "clh_drive_0");
	vmconfig_disk_free(&d);
	assert_int_equal(vmconfig_parse_disk(S("{\"path\": \"/img\", \"foo\": 1}"), &d, &e),
			 -EINVAL);
	assert_string_equal(e.msg, "unknown field 'foo' in DiskConfig");
	assert_null(d.path);
	assert_int_equal(vmconfig_parse_disk(S("{\"readonly\": true}"), &d, &e), -EINVAL);
	assert_string_equal(e.msg, "path: required");

	/* Kata's NetConfig: the generated client's defaults, a MAC, no tap (the fd comes along). */
	static const char kata_net[] =
	    "{\"ip\": \"192.168.249.1\", \"mask\": \"255.255.255.0\", \"mac\": "
	    "\"02:00:ca:fe:00:01\", \"iommu\": false, \"num_queues\": 2, \"queue_size\": 256, "
	    "\"vhost_user\": false, \"vhost_mode\": \"Client\", \"offload_tso\": true, "
	    "\"offload_ufo\": true, \"offload_csum\": true, \"fds\": [17]}";
	assert_ok(vmconfig_parse_net(kata_net, strlen(kata_net), &n, &e), &e);
	assert_true(n.has_mac);
	assert_int_equal(n.mac[5], 1);
	assert_string_equal(n.tap, "");
	assert_int_equal(n.n_fds, 0); /* numbers in the body are not fds */
	vmconfig_net_free(&n);
	assert_int_equal(vmconfig_parse_net(S("{\"tap\": \"t\", \"mtu\": 1400}"), &n, &e), -EINVAL);
	assert_string_equal(e.msg, "mtu: not supported by merak");

	assert_ok(vmconfig_parse_vsock(S("{\"cid\": 3, \"socket\": \"/v.sock\", \"id\": \"vs\"}"),
				       &v, &e),
		  &e);
	assert_true(v.enabled);
	assert_int_equal(v.cid, 3);
	assert_string_equal(v.socket, "/v.sock");
	assert_string_equal(v.id, "vs");
	vmconfig_vsock_free(&v);
	assert_int_equal(vmconfig_parse_vsock(S("{\"socket\": \"/v.sock\"}"), &v, &e), -EINVAL);
	assert_string_equal(e.msg, "cid: required");

	assert_ok(vmconfig_parse_remove(S("{\"id\": \"_disk0\"}"), id, &e), &e);
	assert_string_equal(id, "_disk0");
	assert_int_equal(vmconfig_parse_remove(S("{}"), id, &e), -EINVAL);
	assert_string_equal(e.msg, "id: required");
	assert_int_equal(vmconfig_parse_remove(S("{\"id\": 3}"), id, &e), -EINVAL);
	assert_string_equal(e.msg, "id: expected a string, got an integer");
	assert_int_equal(vmconfig_parse_remove(S("[\"x\"]"), id, &e), -EINVAL);
	assert_string_equal(e.msg, "body: expected a VmRemoveDevice object, got an array");
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void add_disk(struct vm_config *cfg, const char *json, int want, const char *msg)
{
	struct disk_config d;
	struct err e;
	int r;

	assert_ok(vmconfig_parse_disk(json, strlen(json), &d, &e), &e);
	r = vmconfig_add_disk(cfg, &d, &e);
	if (r != want || (msg && !strstr(e.msg, msg))) {
		print_error("%s: got %d '%s', want %d '%s'\n", json, r, e.msg, want, msg);
		fail();
	}
	if (r == 0)
		assert_null(d.path); /* moved into cfg */
	vmconfig_disk_free(&d);
}

static void test_add_and_remove(void **state)
{
	struct vm_config cfg;
	struct net_config n;
	struct vsock_config v;
	struct err e;
	int fds[2], pipefd[2];

	assert_ok(parse("{" K ", \"disks\": [{\"path\": \"/a\"}], \"net\": [{\"tap\": \"t0\"}]}",
			&cfg, &e),
		  &e);
	assert_string_equal(cfg.disks[0].id, "_disk0");
	assert_string_equal(cfg.nets[0].id, "_net1");

	/* A new disk gets the next id; the same path or id again is a clash (409). */
	add_disk(&cfg, "{\"path\": \"/b\"}", 0, NULL);
	assert_int_equal(cfg.n_disks, 2);
	assert_string_equal(cfg.disks[1].id, "_disk2");
	add_disk(&cfg, "{\"path\": \"/b\"}", -EEXIST, "path '/b' is already a disk (id '_disk2')");
	add_disk(&cfg, "{\"path\": \"/c\", \"id\": \"_net1\"}", -EEXIST,
		 "id '_net1' is already net[0]'s");
	add_disk(&cfg, "{\"path\": \"/c\", \"id\": \"mine\"}", 0, NULL);
	for (int i = 0; i < 5; i++)
		add_disk(&cfg,
			 i == 0	  ? "{\"path\": \"/d0\"}"
			 : i == 1 ? "{\"path\": \"/d1\"}"
			 : i == 2 ? "{\"path\": \"/d2\"}"
			 : i == 3 ? "{\"path\": \"/d3\"}"
				  : "{\"path\": \"/d4\"}",
			 0, NULL);
	assert_int_equal(cfg.n_disks, MAX_DISKS);
	add_disk(&cfg, "{\"path\": \"/e\"}", -ENOSPC, "at most 8 disks");

	/* Removing shifts the rest down; ids are never reused. */
	assert_ok(vmconfig_remove(&cfg, "_disk2", &e), &e);
	assert_int_equal(cfg.n_disks, MAX_DISKS - 1);
	assert_string_equal(cfg.disks[1].id, "mine");
	assert_string_equal(cfg.disks[1].path, "/c");
	add_disk(&cfg, "{\"path\": \"/b\"}", 0, NULL);
	assert_string_equal(cfg.disks[MAX_DISKS - 1].id, "_disk8");
	assert_int_equal(vmconfig_remove(&cfg, "_disk2", &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no device has id '_disk2'"));
	assert_int_equal(vmconfig_remove(&cfg, "__rng", &e), -ENOENT);
	assert_non_null(strstr(e.msg, "the rng, which merak cannot remove"));
	assert_int_equal(vmconfig_remove(&cfg, "", &e), -EINVAL);

	/* A net from vm.add-net: its fd came with the request. */
	assert_ok(vmconfig_parse_net(S("{\"mac\": \"52:54:00:00:00:09\"}"), &n, &e), &e);
	assert_int_equal(vmconfig_add_net(&cfg, &n, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "tap: required unless the tap's fd comes with the request"));
	assert_int_equal(pipe(pipefd), 0);
	fds[0] = pipefd[0];
	fds[1] = pipefd[1];
	assert_int_equal(vmconfig_net_set_fds(&n, fds, 2, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "2 tap fds came with the request"));
	assert_true(fd_open(fds[0]) && fd_open(fds[1])); /* not taken */
	close(fds[1]);
	fds[1] = 1;
	assert_int_equal(vmconfig_net_set_fds(&n, &fds[1], 1, &e), -EINVAL);
	assert_ok(vmconfig_net_set_fds(&n, fds, 1, &e), &e);
	assert_ok(vmconfig_add_net(&cfg, &n, &e), &e);
	assert_int_equal(n.n_fds, 0);
	assert_int_equal(cfg.n_nets, 2);
	assert_string_equal(cfg.nets[1].id, "_net9");
	assert_int_equal(cfg.nets[1].fds[0], fds[0]);
	assert_int_equal(cfg.nets[1].n_fds, 1);
	/* Removing the net closes its fd. */
	assert_ok(vmconfig_remove(&cfg, "_net9", &e), &e);
	assert_false(fd_open(fds[0]));
	assert_int_equal(cfg.n_nets, 1);

	/* One vsock; its socket cannot be the API socket. */
	assert_ok(vmconfig_parse_vsock(S("{\"cid\": 3, \"socket\": \"/api.sock\"}"), &v, &e), &e);
	cfg.api_socket = strdup("/api.sock");
	assert_int_equal(vmconfig_add_vsock(&cfg, &v, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "is also the API socket's path"));
	free(v.socket);
	v.socket = strdup("/v.sock");
	assert_ok(vmconfig_add_vsock(&cfg, &v, &e), &e);
	assert_null(v.socket);
	assert_true(cfg.vsock.enabled);
	assert_string_equal(cfg.vsock.id, "_vsock10");
	assert_ok(vmconfig_parse_vsock(S("{\"cid\": 4, \"socket\": \"/w.sock\"}"), &v, &e), &e);
	assert_int_equal(vmconfig_add_vsock(&cfg, &v, &e), -ENOSPC);
	vmconfig_vsock_free(&v);
	assert_ok(vmconfig_remove(&cfg, "_vsock10", &e), &e);
	assert_false(cfg.vsock.enabled);
	assert_null(cfg.vsock.socket);
	vm_config_free(&cfg);

	/* vm_config_free closes a net's fds too. */
	assert_ok(parse("{" K "}", &cfg, &e), &e);
	assert_int_equal(pipe(pipefd), 0);
	close(pipefd[1]);
	memset(&n, 0, sizeof(n));
	assert_ok(vmconfig_net_set_fds(&n, pipefd, 1, &e), &e);
	assert_ok(vmconfig_add_net(&cfg, &n, &e), &e);
	vm_config_free(&cfg);
	assert_false(fd_open(pipefd[0]));
}

/* Everything the two configurations say, the id counter aside. */
static void assert_same_config(const struct vm_config *a, const struct vm_config *b)
{
#define SAME_STR(f)                                                                                \
	do {                                                                                       \
		if (a->f || b->f) {                                                                \
			assert_non_null(a->f);                                                     \
			assert_non_null(b->f);                                                     \
			assert_string_equal(a->f, b->f);                                           \
		}                                                                                  \
	} while (0)
	SAME_STR(kernel);
	SAME_STR(initramfs);
	SAME_STR(cmdline);
	SAME_STR(firmware);
	assert_int_equal(a->cpus, b->cpus);
	assert_int_equal(a->max_cpus, b->max_cpus);
	assert_int_equal(a->mem_size, b->mem_size);
	assert_int_equal(a->mem_shared, b->mem_shared);
	assert_int_equal(a->serial.mode, b->serial.mode);
	SAME_STR(serial.path);
	assert_int_equal(a->console.mode, b->console.mode);
	SAME_STR(console.path);
	assert_string_equal(a->console.id, b->console.id);
	assert_int_equal(a->n_disks, b->n_disks);
	for (unsigned i = 0; i < a->n_disks; i++) {
		SAME_STR(disks[i].path);
		assert_int_equal(a->disks[i].readonly, b->disks[i].readonly);
		assert_string_equal(a->disks[i].serial, b->disks[i].serial);
		assert_string_equal(a->disks[i].id, b->disks[i].id);
	}
	assert_int_equal(a->n_nets, b->n_nets);
	for (unsigned i = 0; i < a->n_nets; i++) {
		assert_string_equal(a->nets[i].tap, b->nets[i].tap);
		assert_int_equal(a->nets[i].has_mac, b->nets[i].has_mac);
		assert_memory_equal(a->nets[i].mac, b->nets[i].mac, 6);
		assert_string_equal(a->nets[i].id, b->nets[i].id);
		assert_int_equal(a->nets[i].n_fds, b->nets[i].n_fds);
	}
	assert_int_equal(a->rng, b->rng);
	SAME_STR(rng_src);
	assert_string_equal(a->rng_id, b->rng_id);
	assert_int_equal(a->vsock.enabled, b->vsock.enabled);
	assert_int_equal(a->vsock.cid, b->vsock.cid);
	SAME_STR(vsock.socket);
	assert_string_equal(a->vsock.id, b->vsock.id);
	assert_int_equal(a->irqchip, b->irqchip);
	assert_int_equal(a->irqchip_set, b->irqchip_set);
	assert_memory_equal(&a->tdx, &b->tdx, offsetof(struct tdx_config, quote_socket));
	SAME_STR(tdx.quote_socket);
	assert_int_equal(a->tdx.tsc_khz, b->tdx.tsc_khz);
	SAME_STR(api_socket);
	assert_int_equal(a->api_fd, b->api_fd);
	assert_int_equal(a->seccomp, b->seccomp);
#undef SAME_STR
}

static void round_trip(const struct vm_config *a)
{
	json_object *j = vmconfig_json(a);
	const char *s;
	struct vm_config b;
	struct err e;

	assert_non_null(j);
	s = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
	if (vmconfig_parse(s, strlen(s), &b, &e) != 0) {
		print_error("%s\n -> %s\n", s, e.msg);
		fail();
	}
	assert_same_config(a, &b);
	vm_config_free(&b);
	json_object_put(j);
}

static void test_round_trip(void **state)
{
	struct vm_config a;
	struct err e;
	char body[1024], hex[97];

	assert_ok(parse(kata_td, &a, &e), &e);
	round_trip(&a);
	vm_config_free(&a);

	for (int i = 0; i < 48; i++)
		sprintf(hex + 2 * i, "%02x", 0xa0 + i);
	snprintf(body, sizeof(body),
		 "{\"payload\": {\"firmware\": \"TDVF.fd\", \"kernel\": \"bz\", \"cmdline\": \"\"},"
		 " \"cpus\": {\"boot_vcpus\": 4, \"max_vcpus\": 4},"
		 " \"memory\": {\"size\": 268435456},"
		 " \"serial\": {\"mode\": \"File\", \"file\": \"/tmp/s.log\"},"
		 " \"console\": {\"mode\": \"Null\", \"id\": \"con\"},"
		 " \"rng\": {\"src\": \"/dev/random\", \"id\": \"rng0\"},"
		 " \"net\": [{\"tap\": \"tap0\", \"mac\": \"52:54:00:ab:cd:ef\", \"id\": \"n0\"},"
		 "  {\"tap\": \"tap1\"}],"
		 " \"disks\": [{\"path\": \"/x\", \"serial\": \"s1\"}],"
		 " \"vsock\": {\"cid\": 4294967294, \"socket\": \"/v\"},"
		 " \"platform\": {\"tdx\": true, \"sept-ve-disable\": false, \"mrownerconfig\": "
		 "\"%s\", \"quote-socket\": \"unix:/q\", \"tsc-khz\": 1000000, \"irqchip\": "
		 "\"split\"}}",
		 hex);
	assert_ok(parse(body, &a, &e), &e);
	assert_string_equal(a.nets[1].id, "_net1");
	round_trip(&a);
	vm_config_free(&a);

	/* Plain non-TD: irqchip as given, sept-ve-disable off without tdx stays off. */
	assert_ok(parse("{" K ", \"platform\": {\"irqchip\": \"kernel\", \"sept-ve-disable\": "
			"false}, \"console\": {\"mode\": \"Off\"}}",
			&a, &e),
		  &e);
	round_trip(&a);
	vm_config_free(&a);
}

static void test_json_shape(void **state)
{
	struct vm_config cfg;
	struct err e;
	json_object *j, *x, *y;

	assert_ok(parse(kata_td, &cfg, &e), &e);
	j = vmconfig_json(&cfg);
	assert_true(json_object_object_get_ex(j, "cpus", &x));
	assert_true(json_object_object_get_ex(x, "max_vcpus", &y));
	assert_int_equal(json_object_get_int(y), 8);
	assert_true(json_object_object_get_ex(j, "memory", &x));
	assert_true(json_object_object_get_ex(x, "shared", &y));
	assert_true(json_object_get_boolean(y));
	assert_true(json_object_object_get_ex(j, "disks", &x));
	assert_int_equal(json_object_array_length(x), 2);
	assert_true(json_object_object_get_ex(json_object_array_get_idx(x, 0), "id", &y));
	assert_string_equal(json_object_get_string(y), "_disk0");
	assert_true(json_object_object_get_ex(j, "rng", &x));
	assert_true(json_object_object_get_ex(x, "src", &y));
	assert_string_equal(json_object_get_string(y), "/dev/urandom");
	assert_true(json_object_object_get_ex(x, "id", &y));
	assert_string_equal(json_object_get_string(y), "__rng");
	assert_true(json_object_object_get_ex(j, "serial", &x));
	assert_true(json_object_object_get_ex(x, "mode", &y));
	assert_string_equal(json_object_get_string(y), "Tty");
	assert_true(json_object_object_get_ex(j, "vsock", &x));
	assert_true(json_object_object_get_ex(x, "id", &y));
	assert_string_equal(json_object_get_string(y), "_vsock1");
	assert_true(json_object_object_get_ex(j, "platform", &x));
	assert_true(json_object_object_get_ex(x, "tdx", &y));
	assert_true(json_object_get_boolean(y));
	/* No net: no "net" (as Cloud Hypervisor leaves None out). */
	assert_false(json_object_object_get_ex(j, "net", &x));
	json_object_put(j);
	vm_config_free(&cfg);
}

/* The command line: unchanged, and its devices get Cloud Hypervisor's ids too. */
static void test_cli(void **state)
{
	char *argv[] = {"merak",   "--kernel",	      "k",	   "--cpus", "boot=2",	 "--disk",
			"path=a",  "--disk",	      "path=b",	   "--net",  "tap=t0",	 "--rng",
			"--vsock", "cid=3,socket=/v", "--console", "null",   "--serial", "off",
			NULL};
	struct vm_config cfg;
	struct err e;

	err_clear(&e);
	assert_ok(cli_parse_run(sizeof(argv) / sizeof(argv[0]) - 1, argv, &cfg, &e), &e);
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cfg.max_cpus, 2);
	assert_string_equal(cfg.disks[0].id, "_disk0");
	assert_string_equal(cfg.disks[1].id, "_disk1");
	assert_string_equal(cfg.nets[0].id, "_net2");
	assert_string_equal(cfg.rng_id, "__rng");
	assert_string_equal(cfg.console.id, "__console");
	assert_string_equal(cfg.vsock.id, "_vsock3");
	assert_int_equal(cfg.nets[0].n_fds, 0);
	/* And it reads back as the same configuration over the API. */
	round_trip(&cfg);
	vm_config_free(&cfg);
}

/*
 * The requests Kata's Cloud Hypervisor driver sends, as captured in
 * tests/control/kata/requests (placeholders filled as on a big host): each
 * sequence's vm.create, vm.add-net (with one tap fd), vm.add-disk and
 * vm.remove-device go through. Only plain-virtiofs is refused (no virtio-fs).
 */
static char *fixture_body(const char *dir, const char *name)
{
	static const char *const subst[][2] = {
	    {"@MAX_VCPUS@", "224"},
	    {"@HOTPLUG_SIZE@", "541165879296"},
	    {"@KERNEL@", "/kata/vmlinux"},
	    {"@IMAGE@", "/kata/rootfs.img"},
	    {"@INITRAMFS@", "/kata/initrd"},
	    {"@FIRMWARE@", "/kata/td-shim.bin"},
	    {"@DISK@", "/kata/disk.img"},
	    {"@VSOCK@", "/run/vc/vm/x/clh.sock"},
	    {"@VIRTIOFSD_SOCK@", "/run/vc/vm/x/virtiofsd.sock"},
	    {"@CMDLINE@", "console=hvc0 quiet panic=1"},
	    {"@MAC@", "02:00:ca:fe:00:01"},
	};
	char path[512], *text, *body, *out;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	text = calloc(1, 65536);
	assert_non_null(text);
	n = fread(text, 1, 65535, f);
	fclose(f);
	text[n] = '\0';
	body = strstr(text, "\r\n\r\n");
	assert_non_null(body);
	body += 4;
	out = calloc(1, 65536);
	assert_non_null(out);
	for (char *o = out; *body;) {
		size_t i;

		for (i = 0; i < sizeof(subst) / sizeof(subst[0]); i++)
			if (!strncmp(body, subst[i][0], strlen(subst[i][0])))
				break;
		if (i < sizeof(subst) / sizeof(subst[0])) {
			o += sprintf(o, "%s", subst[i][1]);
			body += strlen(subst[i][0]);
		} else {
			*o++ = *body++;
		}
	}
	free(text);
	return out;
}

static void kata_sequence(const char *dir, unsigned *calls)
{
	struct dirent **names;
	struct vm_config cfg;
	bool created = false;
	char disk_id[VM_ID_MAX] = "";
	int n = scandir(dir, &names, NULL, alphasort);

	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char *body = NULL;
		struct err e;

		err_clear(&e);
		if (strstr(name, "vm.create.http")) {
			int r;

			body = fixture_body(dir, name);
			r = vmconfig_parse(body, strlen(body), &cfg, &e);
			if (strstr(dir, "virtiofs")) {
				assert_int_equal(r, -EINVAL);
				assert_string_equal(e.msg, "fs: not supported by merak");
				(*calls)++;
				free(body);
				break;
			}
			assert_ok(r, &e);
			assert_int_equal(cfg.max_cpus, 224);
			assert_int_equal(cfg.cpus, 1);
			assert_int_equal(cfg.serial.mode, CHARDEV_OFF);
			assert_int_equal(cfg.console.mode, CHARDEV_OFF);
			assert_true(cfg.vsock.enabled);
			assert_int_equal(cfg.tdx.enabled, strstr(dir, "tdx") != NULL);
			created = true;
		} else if (created && strstr(name, "vm.add-net.http")) {
			struct net_config nc;
			int p[2];

			body = fixture_body(dir, name);
			assert_ok(vmconfig_parse_net(body, strlen(body), &nc, &e), &e);
			assert_int_equal(pipe(p), 0);
			close(p[1]);
			assert_ok(vmconfig_net_set_fds(&nc, p, 1, &e), &e);
			assert_ok(vmconfig_add_net(&cfg, &nc, &e), &e);
		} else if (created && strstr(name, "vm.add-disk.http")) {
			struct disk_config d;

			body = fixture_body(dir, name);
			assert_ok(vmconfig_parse_disk(body, strlen(body), &d, &e), &e);
			assert_ok(vmconfig_add_disk(&cfg, &d, &e), &e);
			snprintf(disk_id, sizeof(disk_id), "%s", cfg.disks[cfg.n_disks - 1].id);
		} else if (created && strstr(name, "vm.remove-device.http")) {
			char id[VM_ID_MAX], json[128];

			body = fixture_body(dir, name);
			assert_non_null(strstr(body, "{\"id\":\"@DISK_ID@\"}"));
			snprintf(json, sizeof(json), "{\"id\":\"%s\"}", disk_id);
			assert_ok(vmconfig_parse_remove(json, strlen(json), id, &e), &e);
			assert_ok(vmconfig_remove(&cfg, id, &e), &e);
		} else {
			continue;
		}
		(*calls)++;
		free(body);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (created)
		vm_config_free(&cfg);
}

static void test_kata_fixtures(void **state)
{
	static const char *const seqs[] = {"plain", "plain-initrd", "plain-virtiofs", "tdx"};
	unsigned calls = 0;

	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		char dir[512];
		DIR *d;

		snprintf(dir, sizeof(dir), "%s/tests/control/kata/requests/%s", MERAK_SOURCE_ROOT,
			 seqs[i]);
		d = opendir(dir);
		if (!d)
			continue;
		closedir(d);
		kata_sequence(dir, &calls);
	}
	if (!calls)
		skip();
	/* Three sequences of create, add-net, add-disk, remove; virtiofs's create refused. */
	assert_int_equal(calls, 13);
}

struct md {
	FILE *f;
	unsigned rows;
	bool seen_disk_id, seen_irqchip, seen_remove_id;
};

static void md_row(void *ctx, const char *path, const char *policy, const char *dflt,
		   const char *note)
{
	struct md *m = ctx;

	assert_non_null(path);
	assert_non_null(policy);
	m->rows++;
	m->seen_disk_id |= !strcmp(path, "disks[].id") && !strcmp(policy, "honoured");
	m->seen_irqchip |= !strcmp(path, "platform.irqchip") && !strcmp(policy, "honoured");
	m->seen_remove_id |= !strcmp(path, "VmRemoveDevice.id");
	if (m->f)
		fprintf(m->f, "| `%s` | %s | %s%s%s |\n", path, policy, dflt ? dflt : "",
			dflt && note ? "; " : "", note ? note : "");
}

/* The policy table for docs/api.md; VMCONFIG_FIELDS_MD=PATH writes it there. */
static void test_describe(void **state)
{
	const char *out = getenv("VMCONFIG_FIELDS_MD");
	struct md m = {0};

	if (out) {
		m.f = fopen(out, "w");
		assert_non_null(m.f);
		fprintf(m.f, "| field | policy | accepted default; note |\n|---|---|---|\n");
	}
	vmconfig_describe(md_row, &m);
	if (m.f)
		fclose(m.f);
	assert_true(m.rows >= 150);
	assert_true(m.seen_disk_id && m.seen_irqchip && m.seen_remove_id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_kata_like),
	    cmocka_unit_test(test_td_options),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_unknown_fields),
	    cmocka_unit_test(test_wrong_types),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_every_schema_property_has_a_row),
	    cmocka_unit_test(test_device_bodies),
	    cmocka_unit_test(test_add_and_remove),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_json_shape),
	    cmocka_unit_test(test_cli),
	    cmocka_unit_test(test_kata_fixtures),
	    cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
