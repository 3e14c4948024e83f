// SPDX-License-Identifier: MIT
/* Starts every AP with INIT/SIPI/SIPI; each checks in with its APIC ID. */
#include "lib/guest.h"

const char test_name[] = "smp";

static volatile u32 started;
static volatile u64 seen;

static void ap_hello(u32 apic_id)
{
	u32 a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	if (apic_id < 64)
		__atomic_or_fetch(&seen, 1ULL << apic_id, __ATOMIC_SEQ_CST);
	gprintf("smp: AP with APIC ID %u up (CPUID says %u)\n", apic_id, b >> 24);
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
}

void test_main(const struct boot_info *bi)
{
	unsigned want = (unsigned)cmdline_u64(bi, "expect_cpus", 0);
	unsigned madt = madt_cpus(bi);
	u32 a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	CHECK(want, "no expect_cpus= on the command line");
	CHECK(madt == want, "MADT lists %u CPUs, expected %u", madt, want);
	CHECK(b >> 24 == 0 && lapic_id() == 0, "the boot CPU's APIC ID is %u", b >> 24);
	lapic_enable();
	if (want > 1)
		smp_start_aps(ap_hello, want - 1, &started);
	CHECK(started == want - 1, "%u of %u APs started", started, want - 1);
	for (unsigned i = 1; i < want; i++)
		CHECK(seen & (1ULL << i), "APIC ID %u never checked in", i);
	gprintf("smp: %u CPUs up\n", want);
}
