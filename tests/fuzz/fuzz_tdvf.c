// SPDX-License-Identifier: MIT
/*
 * tdvf_parse on hostile images. The input becomes the END of a zeroed image
 * rounded up to 4 KiB, where the GUIDed table and descriptor pointers live.
 * A parsed image is then walked (when small) and turned into a HOB.
 */
#include <stdlib.h>
#include <string.h>

#include "tdx/hob.h"
#include "tdx/mrtd.h"
#include "tdx/tdvf.h"

static int count_op(void *ctx, const struct td_measure_op *op)
{
	(*(u64 *)ctx)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = ALIGN_UP(size ? size : 1, 4096);
	u8 *img;
	struct tdvf_info *info;
	struct err e;
	u64 pages = 0;

	if (size > (1 << 20))
		return 0;
	img = calloc(1, len);
	info = malloc(sizeof(*info));
	memcpy(img + len - size, data, size);
	if (tdvf_parse(img, len, info, &e) == 0) {
		for (u32 i = 0; i < info->nsections; i++)
			pages += info->sections[i].mem_size / 4096;
		if (pages <= 4096) {
			u8 m[48];
			u64 ops = 0;

			td_mrtd_compute(info, img, len, NULL, TD_ORDER_PER_PAGE, m, &e);
			td_walk_sections(info, img, len, NULL, TD_ORDER_TWO_PASS, count_op, &ops,
					 &e);
		}
		struct td_ram_range ram[2];
		struct td_ram_map map;
		unsigned n;

		if (td_ram_from_size(1ULL << 32, ram, &n, &e) == 0 &&
		    td_ram_map_build(ram, n, info, &map, &e) == 0) {
			u8 hob[4096];
			size_t used;

			if (td_hob_build(&map, 0x809000, hob, sizeof(hob), &used, &e) == 0) {
				u8 d[48];

				if (td_hob_event_digest(hob, used, d, &e) != 0)
					abort(); /* our own HOB must always be walkable */
			}
		}
	}
	free(info);
	free(img);
	return 0;
}
