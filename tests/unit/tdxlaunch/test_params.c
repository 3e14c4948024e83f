// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tdx/caps.h"
#include "tdx/params.h"
#include "tdx/tdshim.h"

static struct merak_kvm_tdx_capabilities *caps_with(const struct kvm_cpuid_entry2 *en, u32 n)
{
	struct merak_kvm_tdx_capabilities *c = calloc(1, sizeof(*c) + n * sizeof(*en));

	c->supported_attrs = TDX_ATTR_SEPT_VE_DISABLE;
	c->supported_xfam = 0x602e7;
	c->user_tdvmcallinfo_1_r11 = 2;
	c->cpuid.nent = n;
	memcpy(c->entries, en, n * sizeof(*en));
	return c;
}

static struct kvm_cpuid2 *table_with(const struct kvm_cpuid_entry2 *en, u32 n)
{
	struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + n * sizeof(*en));

	t->nent = n;
	memcpy(t->entries, en, n * sizeof(*en));
	return t;
}

static void test_attributes(void **state)
{
	struct tdx_config cfg = {.sept_ve_disable = true};
	struct err e;
	u64 a = 1234;

	assert_int_equal(td_attributes(&cfg, TDX_ATTR_SEPT_VE_DISABLE, &a, &e), 0);
	assert_int_equal(a, TDX_ATTR_SEPT_VE_DISABLE);
	cfg.debug = true;
	assert_int_equal(td_attributes(&cfg, TDX_ATTR_SEPT_VE_DISABLE, &a, &e), -ENOTSUP);
	assert_string_equal(e.msg, "debug=on: this host's KVM does not offer the DEBUG TD "
				   "attribute (bit 0); KVM up to at least 6.16 never does");
	assert_int_equal(td_attributes(&cfg, TDX_ATTR_SEPT_VE_DISABLE | TDX_ATTR_DEBUG, &a, &e),
			 0);
	assert_int_equal(a, TDX_ATTR_SEPT_VE_DISABLE | TDX_ATTR_DEBUG);
	cfg.debug = false;
	assert_int_equal(td_attributes(&cfg, 0, &a, &e), -ENOTSUP);
	assert_string_equal(e.msg, "sept-ve-disable=on: this host does not offer the "
				   "SEPT_VE_DISABLE TD attribute (bit 28)");
	cfg.sept_ve_disable = false;
	assert_int_equal(td_attributes(&cfg, 0, &a, &e), 0);
	assert_int_equal(a, 0);
}

static void test_xfam(void **state)
{
	struct err e;
	u64 x;

	assert_int_equal(td_xfam(0x2e7, 0x602e7, &x, &e), 0);
	assert_int_equal(x, 0x2e7);
	assert_int_equal(td_xfam(0x602e7 | (1ULL << 8), 0x602e7, &x, &e), -ENOTSUP);
	assert_string_equal(e.msg, "XFAM 0x603e7 asks for state components 0x100 this host does "
				   "not offer (supported 0x602e7)");
	assert_int_equal(td_xfam(0x4, 0x7, &x, &e), -ENOTSUP);
	assert_string_equal(e.msg, "XFAM 0x4 lacks x87 and SSE state, which every TD has");
	assert_int_equal(td_xfam(0x100000, 0x3, &x, &e), -ENOTSUP);
	assert_string_equal(e.msg, "XFAM 0x100000 asks for state components 0x100000 this host "
				   "does not offer (supported 0x3)");
	/* Half a group is dropped whole: AVX-512 without ZMM_Hi256, AMX without data. */
	assert_int_equal(td_xfam(0x3 | 0x4 | 0x20 | 0x80 | (1ULL << 17), 0xfffff, &x, &e), 0);
	assert_int_equal(x, 0x7);
	/* AVX-512 needs AVX. */
	assert_int_equal(td_xfam(0x3 | 0xe0, 0xfffff, &x, &e), 0);
	assert_int_equal(x, 0x3);
}

static void test_tsc(void **state)
{
	struct err e;

	assert_int_equal(td_check_tsc(0, &e), 0);
	assert_int_equal(td_check_tsc(2000000, &e), 0);
	assert_int_equal(td_check_tsc(100000, &e), 0);
	assert_int_equal(td_check_tsc(10000000, &e), 0);
	assert_int_equal(td_check_tsc(75000, &e), -EINVAL);
	assert_string_equal(e.msg, "TD TSC frequency 75000 kHz is outside [100000, 10000000] kHz");
	assert_int_equal(td_check_tsc(10025000, &e), -EINVAL);
	assert_int_equal(td_check_tsc(2100001, &e), -EINVAL);
	assert_string_equal(e.msg, "TD TSC frequency 2100001 kHz is not a multiple of 25 MHz (the "
				   "TDX module counts it in 25 MHz units)");
}

/* KVM 6.16's capabilities: flags 0 even on the indexed leaves 7.0 and 7.1. */
static const struct kvm_cpuid_entry2 caps616[] = {
	{.function = 1, .index = 0, .ecx = 0xffffffff, .edx = 0x0000ffff},
	{.function = 7, .index = 0, .ebx = 0x000000ff},
	{.function = 7, .index = 1, .eax = 0x00000030},
	{.function = 0xd, .index = 1, .eax = 0xf},
	{.function = 0x80000008, .index = 0, .eax = 0x00ff0000},
};

static void test_caps_find_ignores_flags(void **state)
{
	struct merak_kvm_tdx_capabilities *c = caps_with(caps616, ARRAY_SIZE(caps616));
	const struct kvm_cpuid_entry2 *en;

	en = td_caps_find(c, 7, 1);
	assert_non_null(en);
	assert_int_equal(en->eax, 0x30);
	en = td_caps_find(c, 7, 0);
	assert_int_equal(en->ebx, 0xff);
	assert_null(td_caps_find(c, 7, 2));
	assert_null(td_caps_find(c, 0xb, 0));
	/* A future kernel that sets the flag is matched the same way. */
	c->entries[2].flags = MERAK_KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	assert_int_equal(td_caps_find(c, 7, 1)->eax, 0x30);
	free(c);
}

static const struct kvm_cpuid_entry2 *find(const struct merak_kvm_tdx_init_vm *iv, u32 fn,
					   u32 idx)
{
	for (u32 i = 0; i < iv->cpuid.nent; i++)
		if (iv->entries[i].function == fn && iv->entries[i].index == idx)
			return &iv->entries[i];
	return NULL;
}

static void test_build_init_vm(void **state)
{
	static const struct kvm_cpuid_entry2 vcpu[] = {
		{.function = 0, .eax = 0x1f},
		{.function = 1, .ecx = 0x80200001, .edx = 0xbfebfbff, .ebx = 0x00010800},
		{.function = 7, .index = 0, .flags = 1, .ebx = 0xf1bf27ab},
		{.function = 7, .index = 1, .flags = 1, .eax = 0x00001c30},
		{.function = 0xd, .index = 0, .flags = 1, .eax = 0x2e7},
		{.function = 0xd, .index = 1, .flags = 1, .eax = 0xf},
		{.function = 0x80000008, .eax = 0x3030},
		{.function = 7, .index = 1, .flags = 1, .eax = 0xffff},	/* duplicate: dropped */
	};
	struct merak_kvm_tdx_capabilities *c = caps_with(caps616, ARRAY_SIZE(caps616));
	struct kvm_cpuid2 *t = table_with(vcpu, ARRAY_SIZE(vcpu));
	struct tdx_config cfg = {.has_mrowner = true};
	struct merak_kvm_tdx_init_vm *iv;
	const struct kvm_cpuid_entry2 *en;
	struct err e;

	memset(cfg.mrowner, 0xab, 48);
	assert_int_equal(td_build_init_vm(&cfg, TDX_ATTR_SEPT_VE_DISABLE, 0x2e7, t, c, &iv, &e),
			 0);
	assert_int_equal(iv->attributes, TDX_ATTR_SEPT_VE_DISABLE);
	assert_int_equal(iv->xfam, 0x2e7);
	assert_int_equal(((u8 *)iv->mrowner)[47], 0xab);
	assert_int_equal(((u8 *)iv->mrconfigid)[0], 0);
	for (int i = 0; i < 12; i++)
		assert_int_equal(iv->reserved[i], 0);
	assert_int_equal(iv->cpuid.padding, 0);
	/* Leaves 0 and 0xD.0 are not configurable: left to the TDX module. */
	assert_int_equal(iv->cpuid.nent, 5);
	assert_null(find(iv, 0, 0));
	assert_null(find(iv, 0xd, 0));
	en = find(iv, 1, 0);
	assert_int_equal(en->flags, 0);
	assert_int_equal(en->ecx, 0x80200001);
	assert_int_equal(en->edx, 0xfbff);
	assert_int_equal(en->ebx, 0);
	/* The SIGNIFICANT_INDEX case: 7.1 gets 7.1's mask, and merak sets the flag. */
	en = find(iv, 7, 1);
	assert_int_equal(en->flags, MERAK_KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	assert_int_equal(en->eax, 0x30);
	en = find(iv, 7, 0);
	assert_int_equal(en->flags, MERAK_KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	assert_int_equal(en->ebx, 0xab);
	en = find(iv, 0xd, 1);
	assert_int_equal(en->flags, MERAK_KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	/* GPAW 48 in 0x80000008 EAX[23:16]; the rest masked away. */
	en = find(iv, 0x80000008, 0);
	assert_int_equal(en->eax, 48u << 16);
	free(iv);
	free(t);
	free(c);
}

static void test_build_init_vm_gpaw_leaf(void **state)
{
	static const struct kvm_cpuid_entry2 vcpu[] = {{.function = 1, .ecx = 1}};
	struct merak_kvm_tdx_capabilities *c = caps_with(caps616, ARRAY_SIZE(caps616));
	struct kvm_cpuid2 *t = table_with(vcpu, 1);
	struct tdx_config cfg = {0};
	struct merak_kvm_tdx_init_vm *iv;
	struct err e;

	/* The host table lacks 0x80000008: merak adds it for the GPAW. */
	assert_int_equal(td_build_init_vm(&cfg, 0, 3, t, c, &iv, &e), 0);
	assert_int_equal(find(iv, 0x80000008, 0)->eax, 48u << 16);
	free(iv);
	/* Capabilities without it: INIT_VM cannot work. */
	c->cpuid.nent = 4;
	assert_int_equal(td_build_init_vm(&cfg, 0, 3, t, c, &iv, &e), -ENOTSUP);
	assert_string_equal(e.msg, "KVM_TDX_CAPABILITIES lists no CPUID leaf 0x80000008, which "
				   "KVM_TDX_INIT_VM needs for the guest physical address width");
	free(t);
	free(c);
}

static void test_vcpu_cpuid_base(void **state)
{
	static const struct kvm_cpuid_entry2 sup[] = {
		{.function = 1, .ecx = 0},
		{.function = 4, .index = 2},
		{.function = 0x80000001},
	};
	struct kvm_cpuid2 *t = table_with(sup, 3), *b;
	struct err e;

	assert_int_equal(td_vcpu_cpuid_base(t, &b, &e), 0);
	assert_int_equal(b->entries[0].ecx, 1u << 21);
	assert_int_equal(b->entries[1].flags, MERAK_KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	assert_int_equal(b->entries[2].flags, 0);
	free(b);
	t->entries[0].function = 2;
	assert_int_equal(td_vcpu_cpuid_base(t, &b, &e), -EINVAL);
	free(t);
	assert_true(cpuid_leaf_indexed(0xd));
	assert_true(cpuid_leaf_indexed(0x8000001d));
	assert_false(cpuid_leaf_indexed(1));
	assert_false(cpuid_leaf_indexed(0x80000008));
}

static void test_check_config(void **state)
{
	struct vm_config cfg = {.firmware = "OVMF.fd", .cpus = 2, .mem_size = 256 * MiB};
	struct err e;

	cfg.tdx.enabled = true;
	assert_int_equal(td_check_config(&cfg, &e), 0);
	cfg.irqchip = IRQCHIP_KERNEL;
	cfg.irqchip_set = true;
	assert_int_equal(td_check_config(&cfg, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "a TD cannot use the in-kernel irqchip"));
	cfg.irqchip_set = false;
	cfg.firmware = NULL;
	cfg.kernel = "bzImage";
	assert_int_equal(td_check_config(&cfg, &e), -EINVAL);
	assert_string_equal(e.msg, "a TD needs a TDVF (OVMF) or TD-Shim image in --firmware: "
				   "merak cannot set a TD's registers, so a direct --kernel boot "
				   "without firmware is impossible");
	cfg.firmware = "OVMF.fd";
	cfg.kernel = NULL;
	cfg.mem_size = 16 * MiB;
	assert_int_equal(td_check_config(&cfg, &e), -EINVAL);
	cfg.mem_size = 256 * MiB;
	cfg.tdx.tsc_khz = 1234;
	assert_int_equal(td_check_config(&cfg, &e), -EINVAL);
	cfg.tdx.tsc_khz = 0;
	cfg.tdx.quote_socket = "tcp:1";
	assert_int_equal(td_check_config(&cfg, &e), -EINVAL);
	cfg.tdx.quote_socket = "vsock:2:4050";
	assert_int_equal(td_check_config(&cfg, &e), 0);
}

static void test_firmware_use(void **state)
{
	struct tdvf_info ovmf = {.nsections = 2,
				 .sections = {{.type = TDVF_SECTION_BFV, .raw_size = 0x1000},
					      {.type = TDVF_SECTION_TD_HOB, .gpa = 0x809000}}};
	struct tdvf_info shim = {.nsections = 3,
				 .sections = {{.type = TDVF_SECTION_BFV, .raw_size = 0x1000},
					      {.type = TDVF_SECTION_PAYLOAD, .gpa = 0x1200000,
					       .mem_size = 0x2000000},
					      {.type = TDVF_SECTION_PAYLOAD_PARAM, .gpa = 0x1100000,
					       .mem_size = 0x1000}}};
	struct vm_config cfg = {.firmware = "fw"};
	struct err e;

	assert_false(td_is_shim(&ovmf));
	assert_true(td_is_shim(&shim));
	assert_int_equal(td_check_firmware_use(&cfg, &ovmf, &e), 0);
	cfg.kernel = "bzImage";
	/* TDVF: the kernel, initrd and command line go through fw_cfg. */
	cfg.initramfs = "initrd";
	cfg.cmdline = "console=hvc0";
	assert_int_equal(td_check_firmware_use(&cfg, &ovmf, &e), 0);
	cfg.initramfs = NULL;
	cfg.cmdline = NULL;
	assert_int_equal(td_check_firmware_use(&cfg, &shim, &e), 0);
	cfg.initramfs = "initrd";
	assert_int_equal(td_check_firmware_use(&cfg, &shim, &e), -ENOTSUP);
	cfg.initramfs = NULL;
	cfg.kernel = NULL;
	assert_int_equal(td_check_firmware_use(&cfg, &shim, &e), -EINVAL);
	assert_string_equal(e.msg, "this TD-Shim image has an empty Payload section at 0x1200000: "
				   "give the kernel (bzImage) with --kernel");
	shim.sections[1].raw_size = 0x100000;
	cfg.kernel = "bzImage";
	assert_int_equal(td_check_firmware_use(&cfg, &shim, &e), -EINVAL);
	shim.sections[1].raw_size = 0;
	shim.nsections = 2;
	cfg.cmdline = "console=ttyS0";
	assert_int_equal(td_check_firmware_use(&cfg, &shim, &e), -EINVAL);
	assert_string_equal(e.msg,
			    "--cmdline with a TD-Shim image that has no PayloadParam section");
	/* An embedded payload brings its own command line: one given would be dropped. */
	shim.nsections = 3;
	shim.sections[1].raw_size = 0x100000;
	cfg.kernel = NULL;
	assert_int_equal(td_check_firmware_use(&cfg, &shim, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "embeds its payload: the image brings its own command line"));
}

static void test_shim_inputs(void **state)
{
	struct tdvf_section param = {.type = TDVF_SECTION_PAYLOAD_PARAM, .mem_size = 16};
	struct tdvf_section payload = {.type = TDVF_SECTION_PAYLOAD, .mem_size = 0x1000};
	u8 k[0x300] = {0}, *p;
	size_t n;
	struct err e;

	assert_int_equal(td_shim_param("console=hvc0", &param, &p, &n, &e), 0);
	assert_int_equal(n, 13);
	assert_memory_equal(p, "console=hvc0", 13);
	free(p);
	assert_int_equal(td_shim_param(NULL, &param, &p, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], 0);
	free(p);
	assert_int_equal(td_shim_param("0123456789abcdef", &param, &p, &n, &e), -E2BIG);
	assert_string_equal(e.msg, "command line of 17 bytes (with its NUL) does not fit the "
				   "16-byte PayloadParam section");

	assert_int_equal(td_shim_payload_check(k, sizeof(k), &payload, &e), -EINVAL);
	put_le32(k + 0x202, 0x53726448);
	put_le16(k + 0x206, 0x1ff);
	assert_int_equal(td_shim_payload_check(k, sizeof(k), &payload, &e), -EINVAL);
	put_le16(k + 0x206, 0x20f);
	assert_int_equal(td_shim_payload_check(k, sizeof(k), &payload, &e), -EINVAL);
	k[0x211] = 1;
	assert_int_equal(td_shim_payload_check(k, sizeof(k), &payload, &e), 0);
	payload.mem_size = 0x200;
	assert_int_equal(td_shim_payload_check(k, sizeof(k), &payload, &e), -E2BIG);
	assert_int_equal(td_shim_payload_check(k, 0x100, &payload, &e), -EINVAL);
}

static void test_host_check(void **state)
{
	struct tdx_host_caps h = {.vm_types = 0x1, .guest_memfd = 1, .user_memory2 = 1,
				  .memory_attributes = 8};
	struct err e;

	assert_int_equal(tdx_host_check(&h, &e), -ENOTSUP);
	assert_string_equal(e.msg, "this host cannot run TDs: KVM_CAP_VM_TYPES lacks "
				   "KVM_X86_TDX_VM (needs a TDX-capable CPU with TDX enabled in "
				   "the BIOS, the TDX module loaded, kvm_intel.tdx=1, Linux >= "
				   "6.16)");
	h.vm_types = 0x21;
	assert_int_equal(tdx_host_check(&h, &e), 0);
	h.guest_memfd = 0;
	assert_int_equal(tdx_host_check(&h, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "KVM_CAP_GUEST_MEMFD"));
	h.guest_memfd = 1;
	h.user_memory2 = 0;
	assert_int_equal(tdx_host_check(&h, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "KVM_CAP_USER_MEMORY2"));
	h.user_memory2 = 1;
	h.memory_attributes = 0x4;
	assert_int_equal(tdx_host_check(&h, &e), -ENOTSUP);
	assert_non_null(strstr(e.msg, "KVM_MEMORY_ATTRIBUTE_PRIVATE"));
}

static void test_caps_report(void **state)
{
	struct merak_kvm_tdx_capabilities *c = caps_with(caps616, ARRAY_SIZE(caps616));
	char bits[128], *r;

	tdx_bits_describe(TDX_ATTR_DEBUG | TDX_ATTR_SEPT_VE_DISABLE | (1ULL << 5), tdx_attr_name,
			  bits, sizeof(bits));
	assert_string_equal(bits, "DEBUG bit5 SEPT_VE_DISABLE");
	tdx_bits_describe(0, tdx_attr_name, bits, sizeof(bits));
	assert_string_equal(bits, "none");
	tdx_bits_describe(0x602e7, tdx_xfam_name, bits, sizeof(bits));
	assert_string_equal(bits, "x87 SSE AVX AVX512_OPMASK AVX512_ZMM_HI256 AVX512_HI16_ZMM "
				  "PKRU AMX_TILECFG AMX_TILEDATA");
	r = tdx_caps_report(c, 8);
	assert_non_null(r);
	assert_non_null(strstr(r, "TDX: supported by this host\n"));
	assert_non_null(strstr(r, "max vCPUs per TD: 8\n"));
	assert_non_null(strstr(r, "TD attributes (0x0000000010000000): SEPT_VE_DISABLE\n"));
	assert_non_null(strstr(r, "XFAM (0x00000000000602e7): x87 SSE AVX"));
	assert_non_null(strstr(r, "SetupEventNotifyInterrupt: forwarded to merak (implemented)"));
	assert_non_null(strstr(r, "configurable CPUID leaves (5;"));
	assert_non_null(strstr(r, "  leaf 0x00000007.1\n"));
	assert_non_null(strstr(r, "      ebx 0x000000ff  (fsgsbase bmi1 hle avx2)\n"));
	assert_non_null(strstr(r, "      ecx 0xffffffff  (sse3 pclmulqdq vmx"));
	free(r);
	r = tdx_caps_report(c, -1);
	assert_null(strstr(r, "max vCPUs"));
	free(r);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_xfam),
		cmocka_unit_test(test_tsc),
		cmocka_unit_test(test_caps_find_ignores_flags),
		cmocka_unit_test(test_build_init_vm),
		cmocka_unit_test(test_build_init_vm_gpaw_leaf),
		cmocka_unit_test(test_vcpu_cpuid_base),
		cmocka_unit_test(test_check_config),
		cmocka_unit_test(test_firmware_use),
		cmocka_unit_test(test_shim_inputs),
		cmocka_unit_test(test_host_check),
		cmocka_unit_test(test_caps_report),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
