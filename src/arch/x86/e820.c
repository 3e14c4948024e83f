// SPDX-License-Identifier: MIT
/*
 * The e820 map merak hands to direct-booted kernels (and the TD HOB builder):
 *   [0, LAYOUT_EBDA)                 RAM
 *   [LAYOUT_EBDA, 1 MiB)             reserved: EBDA, VGA/option-ROM window and
 *                                    the BIOS area holding the ACPI tables
 *                                    (RSDP at 0xE0000). One reserved entry keeps
 *                                    the legacy PC picture; kernels read ACPI
 *                                    tables from reserved memory fine.
 *   RAM from 1 MiB up to the hole, RAM above 4 GiB
 *   [PCI ECAM base, +size)           reserved: Linux only trusts MCFG when
 *                                    the ECAM window is reserved in e820
 *   firmware (flash) regions         reserved
 */
#include "arch/x86/e820.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"

#define E820_TMP_MAX (2 * GUEST_MEM_MAX_REGIONS + 2)

struct e820_list {
	struct e820_entry e[E820_TMP_MAX];
	unsigned n;
};

static void add(struct e820_list *l, u64 start, u64 end, u32 type)
{
	if (start < end && l->n < E820_TMP_MAX)
		l->e[l->n++] = (struct e820_entry){start, end - start, type};
}

static const char *type_name(u32 type)
{
	switch (type) {
	case E820_RAM:
		return "RAM";
	case E820_RESERVED:
		return "reserved";
	case E820_ACPI:
		return "ACPI";
	case E820_NVS:
		return "NVS";
	default:
		return "unknown";
	}
}

int e820_build(const struct guest_mem *gm, struct e820_entry *out, unsigned max, unsigned *n,
	       struct err *e)
{
	struct e820_list l = {.n = 0};
	unsigned m = 0;

	for (unsigned i = 0; i < gm->n; i++) {
		const struct mem_region *r = &gm->r[i];
		u64 end = r->gpa + r->size;

		if (r->kind == MEM_FIRMWARE) {
			add(&l, r->gpa, end, E820_RESERVED);
			continue;
		}
		/* RAM, minus the legacy window [EBDA, 1 MiB). */
		add(&l, r->gpa, MIN(end, LAYOUT_EBDA), E820_RAM);
		add(&l, MAX(r->gpa, LAYOUT_HIGH_RAM), end, E820_RAM);
	}
	add(&l, LAYOUT_EBDA, LAYOUT_HIGH_RAM, E820_RESERVED);
	add(&l, LAYOUT_PCI_ECAM_BASE, LAYOUT_PCI_ECAM_BASE + LAYOUT_PCI_ECAM_SIZE, E820_RESERVED);

	/* Insertion sort: a couple of dozen entries at most. */
	for (unsigned i = 1; i < l.n; i++) {
		struct e820_entry x = l.e[i];
		unsigned j = i;

		for (; j > 0 && l.e[j - 1].addr > x.addr; j--)
			l.e[j] = l.e[j - 1];
		l.e[j] = x;
	}
	for (unsigned i = 0; i < l.n; i++) {
		struct e820_entry *cur = &l.e[i];

		if (m) {
			struct e820_entry *prev = &out[m - 1];
			u64 prev_end = prev->addr + prev->size;

			if (cur->addr < prev_end)
				return errf(
				    e, -EINVAL,
				    "e820: %s [0x%llx, 0x%llx) overlaps %s [0x%llx, 0x%llx)",
				    type_name(cur->type), (unsigned long long)cur->addr,
				    (unsigned long long)(cur->addr + cur->size),
				    type_name(prev->type), (unsigned long long)prev->addr,
				    (unsigned long long)prev_end);
			/* Back-to-back regions of one type read better as one entry. */
			if (cur->addr == prev_end && cur->type == prev->type) {
				prev->size += cur->size;
				continue;
			}
		}
		if (m == max)
			return errf(e, -ENOSPC, "e820: more than %u entries", max);
		out[m++] = *cur;
	}
	*n = m;
	return 0;
}
