/* SPDX-License-Identifier: MIT */
#ifndef MERAK_ARCH_X86_E820_H
#define MERAK_ARCH_X86_E820_H

#include "util/err.h"
#include "util/types.h"
#include "vm/mem.h"

#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_NVS      4

#define E820_MAX 32

struct e820_entry {
	u64 addr;
	u64 size;
	u32 type;
};

/*
 * The guest's memory map from its RAM regions: RAM below the EBDA, the
 * legacy BIOS area and ACPI tables reserved, RAM from 1 MiB to the hole, RAM
 * above 4 GiB; sorted, non-overlapping. Firmware regions are reserved.
 */
int e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned max, unsigned *n,
	       struct err *e);

#endif
