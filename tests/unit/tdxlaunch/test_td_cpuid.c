// SPDX-License-Identifier: MIT
/*
 * KVM's view of a TD's CPUID (src/tdx/td_cpuid.c): the paravirtual features a
 * TD may be offered, and the KVM_SET_CPUID2 table made to agree with what
 * KVM_TDX_GET_CPUID says the TD has.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tdx/params.h"
#include "tdx/td_cpuid.h"

#define SIG MERAK_KVM_CPUID_FLAG_SIGNIFCANT_INDEX

static struct kvm_cpuid2 *table_with(const struct kvm_cpuid_entry2 *en, u32 n)
{
	struct kvm_cpuid2 *t = calloc(1, sizeof(*t) + n * sizeof(*en));

	t->nent = n;
	memcpy(t->entries, en, n * sizeof(*en));
	return t;
}

static struct merak_kvm_tdx_capabilities *caps_with(const struct kvm_cpuid_entry2 *en, u32 n)
{
	struct merak_kvm_tdx_capabilities *c = calloc(1, sizeof(*c) + n * sizeof(*en));

	c->cpuid.nent = n;
	memcpy(c->entries, en, n * sizeof(*en));
	return c;
}

static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *t, u32 fn, u32 idx)
{
	for (u32 i = 0; i < t->nent; i++)
		if (t->entries[i].function == fn && t->entries[i].index == idx)
			return &t->entries[i];
	return NULL;
}

/* What a KVM with every PV feature reports in 0x40000001 (KVM_GET_SUPPORTED_CPUID). */
#define ALL_PV 0x0103fffbu

static void test_pv_features(void **state)
{
	const struct kvm_cpuid_entry2 en[] = {
	    {.function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b},
	    {.function = 0x40000001, .eax = ALL_PV, .edx = 1},
	    {.function = 1, .ecx = 0x80000000},
	};
	struct kvm_cpuid2 *t = table_with(en, ARRAY_SIZE(en)), *b = NULL;
	struct err e;
	u32 pv;

	(void)state;
	/* QEMU's TD set: bits 1, 7, 9, 11, 12, 13, 15. */
	assert_int_equal(TD_KVM_PV_FEATURES, 0xba82);
	td_cpuid_mask_pv(t);
	pv = find(t, 0x40000001, 0)->eax;
	assert_int_equal(pv, 0xba82);
	/* kvmclock (both MSR sets), async PF, steal time, PV EOI, the stable bit: gone. */
	assert_int_equal(pv & ((1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_CLOCKSOURCE2) |
			       (1u << KVM_FEATURE_ASYNC_PF) | (1u << KVM_FEATURE_STEAL_TIME) |
			       (1u << KVM_FEATURE_PV_EOI) | (1u << KVM_FEATURE_ASYNC_PF_INT) |
			       (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT)),
			 0);
	assert_int_equal(find(t, 0x40000001, 0)->edx, 1); /* hints stay */
	assert_int_equal(find(t, 0x40000000, 0)->ebx, 0x4b4d564b);
	assert_int_equal(find(t, 1, 0)->ecx, 0x80000000);
	/* The TD's base table (what every vCPU's KVM_SET_CPUID2 starts from) is masked. */
	((struct kvm_cpuid_entry2 *)find(t, 0x40000001, 0))->eax = ALL_PV;
	assert_int_equal(td_vcpu_cpuid_base(t, &b, &e), 0);
	assert_int_equal(find(b, 0x40000001, 0)->eax, TD_KVM_PV_FEATURES);
	free(b);
	free(t);
}

/* A small host-like table merak would give KVM_SET_CPUID2 for vCPU 1 of 2. */
static const struct kvm_cpuid_entry2 want_en[] = {
    {.function = 1,
     .eax = 0x806f8,
     .ebx = 0x01020800,
     .ecx = 0x00001203 | (1u << 27),
     .edx = 0x178bfbff | (1u << 28)},
    {.function = 7,
     .index = 0,
     .flags = SIG,
     .ebx = 0xf3bfa7eb,
     .ecx = 0x1b415f6e,
     .edx = 0xbc00c410},
    {.function = 7, .index = 1, .flags = SIG, .eax = 0x1c30},
    {.function = 0xb, .index = 0, .flags = SIG, .ebx = 1, .ecx = 0x100, .edx = 1},
    {.function = 0x40000001, .eax = 0xba82},
    {.function = 0x80000001, .ecx = 0x121, .edx = 0x2c100800},
    {.function = 0x80000008, .eax = 0x00003034},
};

/* The TD's CPUID (KVM_TDX_GET_CPUID): fixed bits on, some requested ones off. */
static const struct kvm_cpuid_entry2 td_en[] = {
    {.function = 0, .eax = 0x21, .ebx = 0x756e6547},
    {.function = 1, .eax = 0x806f8, .ebx = 0x00ff0800, .ecx = 0x80200203, .edx = 0x078bfbff},
    {.function = 7,
     .index = 0,
     .flags = SIG,
     .ebx = 0xf3bfa7e3,
     .ecx = 0x1b415f6e,
     .edx = 0xbc00c410},
    {.function = 7, .index = 1, .flags = SIG, .eax = 0x1c30},
    {.function = 7, .index = 2, .flags = SIG, .edx = 0x17},
    {.function = 0x80000000, .eax = 0x80000008},
    {.function = 0x80000001, .ecx = 0x121, .edx = 0x2c100000},
    {.function = 0x80000008, .eax = 0x00303034},
};

static const struct kvm_cpuid_entry2 caps_en[] = {
    {.function = 1, .eax = 0x0fff3fff, .ebx = 0x00ff0000, .ecx = 0x31044d88, .edx = 0xb8440000},
    {.function = 7, .index = 0, .ebx = 0xdc2b9308, .ecx = 0x0002a44c, .edx = 0xbc000400},
    {.function = 0x80000008, .eax = 0x00ff0000, .ebx = 0x200},
};

static void test_reconcile(void **state)
{
	struct kvm_cpuid2 *want = table_with(want_en, ARRAY_SIZE(want_en));
	struct kvm_cpuid2 *td = table_with(td_en, ARRAY_SIZE(td_en)), *have = NULL;
	struct merak_kvm_tdx_capabilities *caps = caps_with(caps_en, ARRAY_SIZE(caps_en));
	const struct kvm_cpuid_entry2 *l1, *l7, *l72;
	struct td_cpuid_off off;
	struct err e;

	(void)state;
	assert_int_equal(td_cpuid_reconcile(want, td, caps, &have, &off, &e), 0);
	l1 = find(have, 1, 0);
	/* Feature bits are the TD's: x2APIC and HYPERVISOR forced on, MONITOR off... */
	assert_int_equal(l1->ecx & ~(1u << 27), 0x80200203);
	/* ...but OSXSAVE and HTT stay as merak had them (run time, topology). */
	assert_true(l1->ecx & (1u << 27));
	assert_int_equal(l1->edx, 0x078bfbff | (1u << 28));
	/* Not a feature register: this vCPU's APIC ID and counts stay merak's. */
	assert_int_equal(l1->ebx, 0x01020800);
	assert_int_equal(l1->eax, 0x806f8);
	l7 = find(have, 7, 0);
	assert_int_equal(l7->ebx, 0xf3bfa7e3);
	assert_int_equal(l7->flags, SIG);
	/* A leaf only the TD has is added, indexed. */
	l72 = find(have, 7, 2);
	assert_non_null(l72);
	assert_int_equal(l72->edx, 0x17);
	assert_int_equal(l72->flags, SIG);
	/* Leaves the module does not virtualize stay KVM's: topology, the KVM leaves. */
	assert_int_equal(find(have, 0xb, 0)->edx, 1);
	assert_int_equal(find(have, 0x40000001, 0)->eax, 0xba82);
	assert_null(find(have, 0, 0));
	assert_null(find(have, 0x80000000, 0));
	/* SYSCALL stays (the module shows it only in 64-bit mode); GPAW is the TD's. */
	assert_int_equal(find(have, 0x80000001, 0)->edx, 0x2c100800);
	assert_int_equal(find(have, 0x80000008, 0)->eax, 0x00303034);
	assert_int_equal(have->nent, want->nent + 1);
	/* Only BMI1 (7.0 EBX bit 3) was asked of the module (configurable) and lost. */
	assert_int_equal(off.n, 1);
	assert_int_equal(off.e[0].function, 7);
	assert_int_equal(off.e[0].reg, 'b');
	assert_int_equal(off.e[0].bits, 0x8);
	free(have);
	free(want);
	free(td);
	free(caps);
}

static void test_reconcile_limits(void **state)
{
	struct kvm_cpuid2 *want = table_with(want_en, ARRAY_SIZE(want_en));
	struct kvm_cpuid2 *td = table_with(td_en, ARRAY_SIZE(td_en)), *have = NULL;
	struct merak_kvm_tdx_capabilities *caps = caps_with(caps_en, 0);
	struct td_cpuid_off off;
	struct err e;

	(void)state;
	/* No configurable leaves: nothing was asked of the module, nothing to report. */
	assert_int_equal(td_cpuid_reconcile(want, td, caps, &have, &off, &e), 0);
	assert_int_equal(off.n, 0);
	free(have);
	/* An empty TD answer changes nothing. */
	td->nent = 0;
	assert_int_equal(td_cpuid_reconcile(want, td, caps, &have, &off, &e), 0);
	assert_int_equal(have->nent, want->nent);
	assert_memory_equal(have->entries, want->entries, want->nent * sizeof(want->entries[0]));
	free(have);
	/* A hostile count is refused before any copy. */
	td->nent = 100000;
	assert_int_equal(td_cpuid_reconcile(want, td, caps, &have, &off, &e), -E2BIG);
	assert_null(have);
	assert_non_null(strstr(e.msg, "more than 4096"));
	free(want);
	free(td);
	free(caps);
}

static void test_off_describe(void **state)
{
	struct td_cpuid_off off = {.n = 2};
	char buf[128], tiny[12];

	(void)state;
	off.e[0].function = 7;
	off.e[0].reg = 'b';
	off.e[0].bits = (1u << 3) | (1u << 17);
	off.e[1].function = 0xd;
	off.e[1].index = 1;
	off.e[1].reg = 'a';
	off.e[1].bits = 1u << 4;
	td_cpuid_off_describe(&off, buf, sizeof(buf));
	assert_string_equal(buf, "0x7.0 ebx bmi1 bit17, 0xd.1 eax bit4");
	/* Cut to the buffer, always terminated. */
	td_cpuid_off_describe(&off, tiny, sizeof(tiny));
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	off.truncated = true;
	td_cpuid_off_describe(&off, buf, sizeof(buf));
	assert_string_equal(buf, "0x7.0 ebx bmi1 bit17, 0xd.1 eax bit4, ...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pv_features),
	    cmocka_unit_test(test_reconcile),
	    cmocka_unit_test(test_reconcile_limits),
	    cmocka_unit_test(test_off_describe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
