/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_TDVF_H
#define MERAK_TDX_TDVF_H

/*
 * TDX metadata of a firmware image (TDVF/OVMF or TD-Shim): the OVMF GUIDed
 * footer table, the TDX metadata offset entry, the "TDVF" descriptor and its
 * sections. Pure: parses a buffer, trusts nothing in it.
 */
#include "util/err.h"
#include "util/types.h"

enum tdvf_section_type {
	TDVF_SECTION_BFV = 0,
	TDVF_SECTION_CFV = 1,
	TDVF_SECTION_TD_HOB = 2,
	TDVF_SECTION_TEMP_MEM = 3,
	TDVF_SECTION_PERM_MEM = 4,
	TDVF_SECTION_PAYLOAD = 5,
	TDVF_SECTION_PAYLOAD_PARAM = 6,
	TDVF_SECTION_TD_INFO = 7,
	TDVF_SECTION_TD_PARAMS = 8,
};

#define TDVF_ATTR_MR_EXTEND (1U << 0)
#define TDVF_ATTR_PAGE_AUG  (1U << 1)
#define TDVF_MAX_SECTIONS   64

struct tdvf_section {
	u32 data_offset;	/* file offset of the raw data */
	u32 raw_size;
	u64 gpa;
	u64 mem_size;
	u32 type;
	u32 attributes;
};

struct tdvf_info {
	u64 image_size;
	u64 image_gpa;		/* the image is mapped to end at 4 GiB */
	u32 nsections;
	struct tdvf_section sections[TDVF_MAX_SECTIONS];
};

/*
 * Parses and validates, one set of rules for the launch and `merak measure`
 * (TDVF design guide / edk2 ValidateTdxMetadata, td-shim's validate_sections
 * in td-shim-interface/src/metadata.rs); every error names the part at fault.
 */
int tdvf_parse(const u8 *img, size_t len, struct tdvf_info *out, struct err *e);
const char *tdvf_section_type_name(u32 type);
/*
 * False for TD_INFO and TD_PARAMS: td-shim keeps their bytes inside the BFV's
 * raw data (measured with it) and gives them no memory range, so nothing is
 * added, measured or described in the HOB for them.
 */
bool tdvf_section_has_memory(const struct tdvf_section *s);
/* The first section of a type, or NULL. */
const struct tdvf_section *tdvf_find(const struct tdvf_info *info, u32 type);

#endif
