// SPDX-License-Identifier: MIT
/* `make run`'s demo when no Linux is built: boot info, ACPI, every CPU says hello. */
#include "lib/guest.h"

const char test_name[] = "demo";

static volatile u32 started;

static void hello(u32 apic_id)
{
	gprintf("  CPU %u: hello from an application processor\n", apic_id);
	__atomic_add_fetch(&started, 1, __ATOMIC_SEQ_CST);
}

void test_main(const struct boot_info *bi)
{
	unsigned cpus = madt_cpus(bi);
	u64 ram = 0;

	for (unsigned i = 0; i < bi->n_mem; i++)
		if (bi->mem[i].type == 1)
			ram += bi->mem[i].size;
	gprintf("\nmerak demo guest: booted by the %s protocol\n",
		bi->kind == BOOT_PVH ? "PVH" : "Linux 64-bit boot");
	gprintf("  %lu MiB of RAM in %u memory-map entries; ACPI RSDP at 0x%lx\n", ram >> 20,
		bi->n_mem, bi->rsdp);
	gprintf("  %u CPU(s) in the MADT; starting the others\n", cpus);
	lapic_enable();
	if (cpus > 1)
		smp_start_aps(hello, cpus - 1, &started);
	gprintf("  %u of %u CPUs answered; powering off through ACPI S5\n", started + 1, cpus);
	guest_poweroff();
}
