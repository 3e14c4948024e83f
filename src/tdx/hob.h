/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_HOB_H
#define MERAK_TDX_HOB_H

/*
 * The TD HOB list TDVF reads at start: PHIT, one resource descriptor per RAM
 * range (unaccepted RAM, and the accepted TD_HOB/TempMem ranges that
 * INIT_MEM_REGION adds), end-of-list. Pure.
 */
#include "../util/err.h"
#include "../util/types.h"
#include "tdvf.h"

#define TD_RAM_MAX 32

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
 * each TD_HOB/TempMem (and PermMem, Payload, PayloadParam) section inside RAM
 * becomes an accepted range, the rest stays unaccepted; sorted by address.
 * A section that straddles a RAM boundary is an error.
 */
int td_ram_map_build(const struct td_ram_range *ram, unsigned nram, const struct tdvf_info *fw,
		     struct td_ram_map *out, struct err *e);

/* Writes the HOB list for hob_gpa into buf (buf_len bytes); *used gets its length. */
int td_hob_build(const struct td_ram_map *map, u64 hob_gpa, u8 *buf, size_t buf_len,
		 size_t *used, struct err *e);

#endif
