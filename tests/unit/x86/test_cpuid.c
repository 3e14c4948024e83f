// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/cpuid.h"

#define IDX KVM_CPUID_FLAG_SIGNIFCANT_INDEX

/* A host table shaped like KVM_GET_SUPPORTED_CPUID's on an Intel machine. */
static const struct kvm_cpuid_entry2 host_entries[] = {
    {.function = 0, .eax = 0x1f, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69},
    /* host APIC ID 0x12, 0x34 logical IDs, CLFLUSH 8, brand 0x78 */
    {.function = 1,
     .eax = 0x000906ea,
     .ebx = 0x12340878,
     .ecx = (1u << 0) | (1u << 3) | (1u << 15) | (1u << 21),
     .edx = (1u << 0) | (1u << 28)},
    {.function = 4, .index = 0, .flags = IDX, .eax = 0x1c004121, .ebx = 0x01c0003f, .ecx = 0x3f},
    {.function = 4, .index = 1, .flags = IDX, .eax = 0x1c004122, .ebx = 0x01c0003f, .ecx = 0x3f},
    {.function = 4, .index = 2, .flags = IDX, .eax = 0x1c004143, .ebx = 0x00c0003f, .ecx = 0x3ff},
    {.function = 4,
     .index = 3,
     .flags = IDX,
     .eax = 0x1c03c163,
     .ebx = 0x02c0003f,
     .ecx = 0x3fff,
     .edx = 6},
    {.function = 4, .index = 4, .flags = IDX},
    {.function = 6, .eax = 4},
    {.function = 0xa, .eax = 0x07300805, .ebx = 0, .ecx = 0, .edx = 0x603},
    {.function = 0xb, .index = 0, .flags = IDX, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 7},
    {.function = 0xb, .index = 1, .flags = IDX, .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 7},
    {.function = 0x1f, .index = 0, .flags = IDX, .eax = 1, .ebx = 2, .ecx = 0x100, .edx = 7},
    {.function = 0x1f, .index = 1, .flags = IDX, .eax = 4, .ebx = 16, .ecx = 0x201, .edx = 7},
    {.function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d},
    {.function = 0x40000001, .eax = 0x01007afb, .edx = 1},
    {.function = 0x80000000, .eax = 0x8000001e},
    {.function = 0x80000001, .ecx = (1u << 0) | (1u << 23) | (1u << 29), .edx = 1u << 29},
    {.function = 0x8000001e},
};

static struct kvm_cpuid2 *host_table(void)
{
	struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + sizeof(host_entries));

	assert_non_null(t);
	t->nent = ARRAY_SIZE(host_entries);
	memcpy(t->entries, host_entries, sizeof(host_entries));
	return t;
}

static const struct kvm_cpuid_entry2 *get(const struct kvm_cpuid2 *t, u32 fn, u32 idx)
{
	for (u32 i = 0; i < t->nent; i++)
		if (t->entries[i].function == fn && t->entries[i].index == idx)
			return &t->entries[i];
	fail_msg("leaf 0x%x.%u missing", fn, idx);
	return NULL;
}

static unsigned count(const struct kvm_cpuid2 *t, u32 fn)
{
	unsigned n = 0;

	for (u32 i = 0; i < t->nent; i++)
		n += t->entries[i].function == fn;
	return n;
}

static struct kvm_cpuid2 *build(u32 index, u32 ncpus, u64 tsc_khz)
{
	struct kvm_cpuid2 *host = host_table(), *out = NULL;
	struct x86_cpuid_config cfg = {.vcpu_index = index, .ncpus = ncpus, .tsc_khz = tsc_khz};
	struct err e;

	assert_int_equal(x86_cpuid_build(host, &cfg, &out, &e), 0);
	free(host);
	assert_non_null(out);
	return out;
}

static void check_topology(const struct kvm_cpuid2 *t, u32 leaf, u32 apic_id, u32 shift, u32 ncpus)
{
	const struct kvm_cpuid_entry2 *en;

	assert_int_equal(count(t, leaf), 3);
	en = get(t, leaf, 0); /* SMT: one thread per core */
	assert_int_equal(en->flags, IDX);
	assert_int_equal(en->eax, 0);
	assert_int_equal(en->ebx, 1);
	assert_int_equal(en->ecx, 0x100);
	assert_int_equal(en->edx, apic_id);
	en = get(t, leaf, 1); /* core level: the package */
	assert_int_equal(en->flags, IDX);
	assert_int_equal(en->eax, shift);
	assert_int_equal(en->ebx, ncpus);
	assert_int_equal(en->ecx, 0x201);
	assert_int_equal(en->edx, apic_id);
	en = get(t, leaf, 2); /* terminator: level type 0 */
	assert_int_equal(en->flags, IDX);
	assert_int_equal(en->eax, 0);
	assert_int_equal(en->ebx, 0);
	assert_int_equal(en->ecx, 2);
	assert_int_equal(en->edx, apic_id);
}

static void test_one_vcpu(void **state)
{
	struct kvm_cpuid2 *t = build(0, 1, 0);
	const struct kvm_cpuid_entry2 *en;

	/* Entries kept, 0xB and 0x1F regenerated with one more sub-leaf each. */
	assert_int_equal(t->nent, ARRAY_SIZE(host_entries) + 2);
	en = get(t, 1, 0);
	assert_int_equal(en->eax, 0x000906ea);
	assert_int_equal(en->ebx, 0x00010878); /* APIC ID 0, 1 logical ID, low half kept */
	assert_int_equal(en->edx, 1u << 0);    /* HTT cleared for one vCPU */
	assert_int_equal(en->ecx, (1u << 0) | (1u << 21) | (1u << 31)); /* no MONITOR/PDCM */
	check_topology(t, 0xb, 0, 0, 1);
	check_topology(t, 0x1f, 0, 0, 1);
	/* Caches: nothing shared, no sibling cores; low 14 bits and other regs kept. */
	assert_int_equal(get(t, 4, 0)->eax, 0x00000121);
	assert_int_equal(get(t, 4, 3)->eax, 0x00000163);
	assert_int_equal(get(t, 4, 3)->ebx, 0x02c0003f);
	assert_int_equal(get(t, 4, 3)->edx, 6);
	assert_int_equal(get(t, 4, 3)->flags, IDX);
	assert_int_equal(get(t, 4, 4)->eax, 0);
	/* Hypervisor leaves without timing information. */
	en = get(t, 0x40000000, 0);
	assert_int_equal(en->eax, 0x40000001);
	assert_memory_equal(&en->ebx, "KVMKVMKVM\0\0\0", 12);
	assert_int_equal(get(t, 0x40000001, 0)->eax, 0x01007afb);
	assert_int_equal(count(t, 0x40000010), 0);
	assert_int_equal(get(t, 6, 0)->eax, 4);
	free(t);
}

static void test_four_vcpus(void **state)
{
	struct kvm_cpuid2 *t = build(3, 4, 2500000);
	const struct kvm_cpuid_entry2 *en;

	assert_int_equal(t->nent, ARRAY_SIZE(host_entries) + 3);
	en = get(t, 1, 0);
	assert_int_equal(en->ebx, 0x03040878); /* APIC ID 3, 4 logical IDs */
	assert_int_equal(en->edx, (1u << 0) | (1u << 28));
	assert_true(en->ecx & (1u << 31));
	assert_true(en->ecx & (1u << 21)); /* x2APIC kept */
	assert_false(en->ecx & (1u << 3));
	check_topology(t, 0xb, 3, 2, 4);
	check_topology(t, 0x1f, 3, 2, 4);
	/* L1/L2 private to a core, L3 shared by the 4 IDs of the package; 3+1 cores. */
	assert_int_equal(get(t, 4, 0)->eax, 0x0c000121);
	assert_int_equal(get(t, 4, 1)->eax, 0x0c000122);
	assert_int_equal(get(t, 4, 2)->eax, 0x0c000143);
	assert_int_equal(get(t, 4, 3)->eax, 0x0c00c163);
	/* No PMU, no MONITORX, no core performance counters. */
	en = get(t, 0xa, 0);
	assert_int_equal(en->eax | en->ebx | en->ecx | en->edx, 0);
	en = get(t, 0x80000001, 0);
	assert_int_equal(en->ecx, 1u << 0);
	assert_int_equal(en->edx, 1u << 29);
	en = get(t, 0x8000001e, 0);
	assert_int_equal(en->eax, 3);
	assert_int_equal(en->ebx, 3);
	assert_int_equal(en->ecx, 0);
	/* The timing leaf and the signature leaf pointing at it. */
	assert_int_equal(get(t, 0x40000000, 0)->eax, 0x40000010);
	en = get(t, 0x40000010, 0);
	assert_int_equal(en->eax, 2500000);
	assert_int_equal(en->ebx, 1000000);
	assert_int_equal(en->flags, 0);
	free(t);
}

static void test_odd_and_large_counts(void **state)
{
	struct kvm_cpuid2 *t = build(1, 3, 0);

	/* 3 vCPUs need 2 bits of APIC ID. */
	assert_int_equal(get(t, 1, 0)->ebx, 0x01040878);
	check_topology(t, 0xb, 1, 2, 3);
	assert_int_equal(get(t, 4, 3)->eax, 0x0c00c163);
	free(t);

	t = build(299, 300, 0);
	/* The 8-bit fields saturate or truncate; the x2APIC leaves carry the truth. */
	assert_int_equal(get(t, 1, 0)->ebx, (299u & 0xff) << 24 | 0xff << 16 | 0x0878);
	check_topology(t, 0xb, 299, 9, 300);
	assert_int_equal(get(t, 4, 0)->eax, 0xfc000121); /* 63 cores max */
	assert_int_equal(get(t, 4, 3)->eax, 0xfc000163 | 511u << 14);
	assert_int_equal(get(t, 0x8000001e, 0)->eax, 299);
	free(t);
}

static void test_minimal_host_table(void **state)
{
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[3];
	} host;
	struct x86_cpuid_config cfg = {.vcpu_index = 0, .ncpus = 2};
	struct kvm_cpuid2 *t = NULL;
	struct err e;

	memset(&host, 0, sizeof(host));
	host.h.nent = 3;
	host.e[0] = (struct kvm_cpuid_entry2){.function = 0, .eax = 1};
	host.e[1] = (struct kvm_cpuid_entry2){.function = 1, .ecx = 1u << 3};
	/* A stale timing leaf is dropped when merak has no frequency to report. */
	host.e[2] = (struct kvm_cpuid_entry2){.function = 0x40000010, .eax = 123};
	assert_int_equal(x86_cpuid_build(&host.h, &cfg, &t, &e), 0);
	/* No topology leaves appear that the host did not have; KVM leaves are added. */
	assert_int_equal(count(t, 0xb), 0);
	assert_int_equal(count(t, 0x1f), 0);
	assert_int_equal(count(t, 0x40000010), 0);
	assert_int_equal(get(t, 0x40000000, 0)->eax, 0x40000001);
	assert_int_equal(get(t, 0x40000000, 0)->ebx, 0x4b4d564b);
	assert_int_equal(get(t, 0x40000001, 0)->eax, 0);
	assert_int_equal(get(t, 1, 0)->ecx, 1u << 31);
	assert_int_equal(get(t, 1, 0)->edx, 1u << 28);
	assert_int_equal(t->nent, 4);
	free(t);
}

static void test_bad_config(void **state)
{
	struct kvm_cpuid2 *host = host_table(), *t = (struct kvm_cpuid2 *)1;
	struct x86_cpuid_config cfg = {.vcpu_index = 0, .ncpus = 0};
	struct err e;

	assert_int_equal(x86_cpuid_build(host, &cfg, &t, &e), -EINVAL);
	assert_null(t);
	assert_string_equal(e.msg, "CPUID: 0 vCPUs is outside 1..32768");
	cfg.ncpus = 40000;
	assert_int_equal(x86_cpuid_build(host, &cfg, &t, &e), -EINVAL);
	assert_string_equal(e.msg, "CPUID: 40000 vCPUs is outside 1..32768");
	cfg = (struct x86_cpuid_config){.vcpu_index = 4, .ncpus = 4};
	assert_int_equal(x86_cpuid_build(host, &cfg, &t, &e), -EINVAL);
	assert_string_equal(e.msg, "CPUID: vCPU index 4 is not below the vCPU count 4");
	cfg = (struct x86_cpuid_config){.vcpu_index = 0, .ncpus = 1, .tsc_khz = 1ULL << 32};
	assert_int_equal(x86_cpuid_build(host, &cfg, &t, &e), -EINVAL);
	assert_string_equal(e.msg,
			    "CPUID: TSC frequency 4294967296 kHz does not fit leaf 0x40000010");
	cfg.tsc_khz = 0;
	host->nent = 1025; /* a corrupt count must not drive the allocation */
	assert_int_equal(x86_cpuid_build(host, &cfg, &t, &e), -E2BIG);
	assert_string_equal(e.msg, "CPUID: the supported table has 1025 entries, more than 1024");
	assert_int_equal(x86_cpuid_build(NULL, &cfg, &t, &e), -EINVAL);
	assert_string_equal(e.msg, "CPUID: no supported table to start from");
	assert_null(t);
	free(host);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_vcpu),
	    cmocka_unit_test(test_four_vcpus),
	    cmocka_unit_test(test_odd_and_large_counts),
	    cmocka_unit_test(test_minimal_host_table),
	    cmocka_unit_test(test_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
