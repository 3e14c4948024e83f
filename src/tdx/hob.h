/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_HOB_H
#define MERAK_TDX_HOB_H

/*
 * The TD HOB list TDVF reads at start: PHIT, one resource descriptor per RAM
 * range (unaccepted RAM, and the accepted TD_HOB/TempMem ranges that
 * INIT_MEM_REGION adds), end-of-list. Pure.
 */
#include "util/err.h"
#include "util/types.h"
#include "tdx/tdvf.h"

#define TD_RAM_MAX  32
#define TD_PERM_MAX 8 /* PermMem sections outside RAM, each a memory region */

struct td_ram_range {
	u64 gpa;
	u64 size;
	bool accepted;	/* added by INIT_MEM_REGION (TD_HOB, TempMem, ...) */
};

struct td_ram_map {
	unsigned n;
	struct td_ram_range r[TD_RAM_MAX];
};

/*
 * From the guest's RAM ranges (gpa, size pairs) and the firmware sections:
 * each TD_HOB/TempMem (and Payload, PayloadParam) section inside RAM becomes
 * an accepted range, the rest stays unaccepted; PermMem sections outside RAM
 * (td_perm_mem_outside_ram) are added as unaccepted ranges of their own, as
 * td-shim itself describes PermMem; sorted by address. A section that
 * straddles a RAM boundary is an error.
 */
int td_ram_map_build(const struct td_ram_range *ram, unsigned nram, const struct tdvf_info *fw,
		     struct td_ram_map *out, struct err *e);

/*
 * The PermMem sections (PAGE.AUG: the guest accepts them, nothing adds them)
 * that lie outside guest RAM. td-shim's spec has the VMM allocate them
 * wherever they are, so the launch backs each with private memory of its own,
 * as Cloud Hypervisor adds RAM for sections outside RAM. Each must lie wholly
 * outside RAM, outside the firmware and the board's MMIO window [0xb0000000,
 * 4 GiB), and below the shared bit; the refusals name the section. Fills
 * out[0..*n), at most TD_PERM_MAX.
 */
int td_perm_mem_outside_ram(const struct td_ram_range *ram, unsigned nram,
			    const struct tdvf_info *fw, struct td_ram_range out[TD_PERM_MAX],
			    unsigned *n, struct err *e);

/*
 * The guest RAM of a TD with mem bytes, the same rule as the board's
 * setup_ram: low RAM [0, layout_low_ram_size(mem)), the rest from 4 GiB.
 * Fills out[0..*n) (at most 2 ranges, none accepted). mem must be a non-zero
 * multiple of 4 KiB.
 */
int td_ram_from_size(u64 mem, struct td_ram_range out[2], unsigned *n, struct err *e);

/* Bytes td_hob_build writes for a map: PHIT + one descriptor per range + END. */
size_t td_hob_size(const struct td_ram_map *map);

/*
 * Writes the HOB list for hob_gpa into buf (buf_len bytes); *used gets its length.
 * Layout as QEMU's tdvf-hob.c: PHIT (version 9, EfiEndOfHobList = GPA just
 * past END), a 48-byte resource descriptor per range (SYSTEM_MEMORY for
 * accepted, UNACCEPTED otherwise, attributes 0x7), END. No MMIO descriptors.
 */
int td_hob_build(const struct td_ram_map *map, u64 hob_gpa, u8 *buf, size_t buf_len,
		 size_t *used, struct err *e);

/*
 * The TD HOB as the launch hands it to the TD, for its RAM ranges: the map,
 * the list in a buffer the size of the TD_HOB section, and td-shim's payload
 * info (td_shim_hob_finish). *out is NULL when the firmware has no TD_HOB
 * section, malloc'ed otherwise; the map's refusals apply either way. The
 * launch and `merak measure` both use it.
 */
int td_hob_make(const struct tdvf_info *fw, const struct td_ram_range *ram, unsigned nram,
		u8 **out, size_t *len, struct err *e);

#endif
