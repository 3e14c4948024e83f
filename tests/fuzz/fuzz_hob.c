// SPDX-License-Identifier: MIT
/*
 * TD RAM map + HOB builder with fuzzed RAM ranges and sections, and the HOB
 * digest walker on raw fuzzed bytes (a HOB list as a guest could corrupt it).
 */
#include <stdlib.h>
#include <string.h>

#include "tdx/hob.h"
#include "tdx/mrtd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct td_ram_range ram[TD_RAM_MAX + 2];
	struct tdvf_info *fw = calloc(1, sizeof(*fw));
	struct td_ram_map map;
	struct err e;
	unsigned nram = 0;
	size_t off = 0;
	u8 d[48];

	td_hob_event_digest(data, size, d, &e);
	if (size >= 1) {
		nram = data[0] % (TD_RAM_MAX + 3);
		off = 1;
	}
	for (unsigned i = 0; i < nram; i++, off += 16) {
		if (off + 16 > size) {
			nram = i;
			break;
		}
		ram[i].gpa = get_le64(data + off) & ~0xfffULL;
		ram[i].size = get_le64(data + off + 8) & ~0xfffULL;
		ram[i].accepted = false;
	}
	/* Sections: gpa, size (page aligned, non-overlapping not guaranteed), type, attr. */
	while (off + 24 <= size && fw->nsections < TDVF_MAX_SECTIONS) {
		struct tdvf_section *s = &fw->sections[fw->nsections++];

		s->gpa = get_le64(data + off) & ~0xfffULL;
		s->mem_size = (get_le64(data + off + 8) & ~0xfffULL) | 0x1000;
		if (s->gpa + s->mem_size < s->gpa)
			s->mem_size = 0x1000, s->gpa = 0;
		s->type = data[off + 16] % 8;
		s->attributes = data[off + 17] & 3;
		off += 24;
	}
	if (td_ram_map_build(ram, nram, fw, &map, &e) == 0) {
		size_t cap = td_hob_size(&map), used;
		u8 *hob = malloc(cap);

		if (td_hob_build(&map, 0x809000, hob, cap, &used, &e) == 0 &&
		    td_hob_event_digest(hob, used, d, &e) != 0)
			abort();
		free(hob);
	}
	free(fw);
	return 0;
}
