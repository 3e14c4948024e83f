// SPDX-License-Identifier: MIT
/*
 * Starts every AP with INIT/SIPI/SIPI; each checks in with its APIC ID.
 * The CPU count must match expect_cpus= in the MADT and, when merak's
 * CPUID table reaches the guest, in CPUID (leaf 0xB core level, and each
 * CPU's initial APIC ID in leaf 1 equal to its local APIC ID).
 *
 * Command line: expect_cpus=N, "x2apic" to start the APs from x2APIC mode,
 * "strict_cpuid" to fail (instead of noting it) when CPUID does not
 * describe N CPUs: on hosts where guest CPUID reads return the host's own
 * values (docs/testing.md) the CPUID half cannot hold.
 */
#include "lib/guest.h"

const char test_name[] = "smp";

#define MAX_CPUS 64

static volatile u32 started;
static volatile u64 seen;
static volatile u32 cpuid_apic_id[MAX_CPUS];

static u32 initial_apic_id(void)
{
	u32 a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return b >> 24;
}

static void ap_hello(u32 apic_id)
{
	if (apic_id < MAX_CPUS) {
		cpuid_apic_id[apic_id] = initial_apic_id();
		__atomic_or_fetch(&seen, 1ULL << apic_id, __ATOMIC_SEQ_CST);
	}
	gprintf("smp: AP with APIC ID %u up\n", apic_id);
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
}

/* CPUID's count of logical processors in the package (leaf 0xB core level), 0 if absent. */
static u32 cpuid_cpus(void)
{
	u32 a, b, c, d;

	cpuid(0, 0, &a, &b, &c, &d);
	if (a < 0xb)
		return 0;
	for (u32 sub = 0; sub < 4; sub++) {
		cpuid(0xb, sub, &a, &b, &c, &d);
		if (((c >> 8) & 0xff) == 0)
			break;
		if (((c >> 8) & 0xff) == 2)	/* core level */
			return b & 0xffff;
	}
	return 0;
}

void test_main(const struct boot_info *bi)
{
	unsigned want = (unsigned)cmdline_u64(bi, "expect_cpus", 0);
	unsigned madt = madt_cpus(bi);
	bool strict = cmdline_has(bi, "strict_cpuid");
	u32 topo = cpuid_cpus(), bad_ids = 0;

	CHECK(want && want <= MAX_CPUS, "expect_cpus=%u missing or above %u", want, MAX_CPUS);
	CHECK(madt == want, "MADT lists %u CPUs, expected %u", madt, want);
	CHECK(lapic_id() == 0, "the boot CPU's APIC ID is %u", lapic_id());
	if (cmdline_has(bi, "x2apic")) {
		CHECK(x2apic_enable(), "x2APIC not offered (CPUID.1:ECX bit 21 clear)");
		CHECK(lapic_id() == 0, "the boot CPU's x2APIC ID is %u", lapic_id());
		gprintf("smp: boot CPU in x2APIC mode\n");
	}
	lapic_enable();
	cpuid_apic_id[0] = initial_apic_id();
	if (want > 1)
		smp_start_aps(ap_hello, want - 1, &started);
	CHECK(started == want - 1, "%u of %u APs started", started, want - 1);
	for (unsigned i = 1; i < want; i++)
		CHECK(seen & (1ULL << i), "APIC ID %u never checked in", i);

	for (unsigned i = 0; i < want; i++)
		if (cpuid_apic_id[i] != i)
			bad_ids++;
	if (topo != want || bad_ids) {
		CHECK(!strict, "CPUID describes %u CPUs (expected %u); %u CPU(s) with a CPUID "
			       "APIC ID other than their local APIC ID", topo, want, bad_ids);
		gprintf("smp: NOTE: CPUID is not merak's table here (%u CPUs in leaf 0xB, %u "
			"APIC ID mismatches): CPUID half not checked\n", topo, bad_ids);
	}
	gprintf("smp: %u CPUs up (MADT %u, CPUID %u)\n", want, madt, topo);
}
