// SPDX-License-Identifier: MIT
/*
 * TDX metadata parser. Layout (see docs/measure.md and tdx-kvm-api.md §5):
 * the image ends with the OVMF GUIDed table, whose TDX-metadata-offset entry
 * gives the "TDVF" descriptor's distance from the end of the file. TD-Shim
 * images carry the same table; images with no table at all may still have
 * td-shim's legacy pointer (absolute file offset) at size - 0x20.
 */
#include "tdx/tdvf.h"

#include <errno.h>
#include <string.h>

/* GUIDs in their on-disk (mixed-endian EFI_GUID) byte order. */
static const u8 guid_table_footer[16] = {0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
					 0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
static const u8 guid_tdx_metadata_offset[16] = {0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
						0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2};

#define FOOTER_GUID_FROM_END 0x30 /* footer GUID at [size-48, size-32) */
#define FOOTER_LEN_FROM_END  0x32 /* u16 table length at [size-50, size-48) */
#define LEGACY_PTR_FROM_END  0x20 /* td-shim: u32 absolute descriptor offset */
#define GUID_ENTRY_TRAILER   18	  /* u16 length + GUID */
#define DESC_SIZE	     16
#define SECTION_SIZE	     32
#define TDVF_SIGNATURE	     0x46564454U /* "TDVF" */

const char *tdvf_section_type_name(u32 type)
{
	static const char *const names[] = {"BFV",	    "CFV",     "TD_HOB",
					    "TempMem",	    "PermMem", "Payload",
					    "PayloadParam", "TD_INFO", "TD_PARAMS"};
	return type < ARRAY_SIZE(names) ? names[type] : "unknown";
}

/*
 * td-shim's TD_INFO (an identity block: GUID, length, version, SVN, data)
 * and TD_PARAMS (a 1024-byte TDH.MNG.INIT parameter block, for loaders that
 * take a TD's parameters from its image) are metadata only: their bytes lie
 * inside the BFV's raw data and are measured with it.
 */
static bool metadata_only(u32 type)
{
	return type == TDVF_SECTION_TD_INFO || type == TDVF_SECTION_TD_PARAMS;
}

bool tdvf_section_has_memory(const struct tdvf_section *s)
{
	return !metadata_only(s->type);
}

/* Sections an image may carry at most once (td-shim; TDVF has one TD_HOB). */
static bool single_instance(u32 type)
{
	return type == TDVF_SECTION_TD_HOB || type == TDVF_SECTION_PAYLOAD ||
	       type == TDVF_SECTION_PAYLOAD_PARAM || metadata_only(type);
}

const struct tdvf_section *tdvf_find(const struct tdvf_info *info, u32 type)
{
	for (u32 i = 0; i < info->nsections; i++)
		if (info->sections[i].type == type)
			return &info->sections[i];
	return NULL;
}

/*
 * Finds the descriptor's file offset through the GUIDed table. Returns 1 and
 * sets *desc when found, 0 when the image has no table (caller may try the
 * legacy pointer), negative on a malformed table.
 */
static int find_by_guid_table(const u8 *img, size_t len, u64 *desc, struct err *e)
{
	u64 table_len, start, cur;

	if (len < FOOTER_LEN_FROM_END ||
	    memcmp(img + len - FOOTER_GUID_FROM_END, guid_table_footer, 16) != 0)
		return 0;
	table_len = get_le16(img + len - FOOTER_LEN_FROM_END);
	if (table_len < GUID_ENTRY_TRAILER || table_len > len - LEGACY_PTR_FROM_END)
		return errf(e, -EINVAL,
			    "OVMF GUIDed table: length %llu does not fit the %zu-byte image "
			    "(needs 18..%zu)",
			    (unsigned long long)table_len, len, len - LEGACY_PTR_FROM_END);
	start = len - LEGACY_PTR_FROM_END - table_len;
	/* The footer is itself the last entry; walk the others backwards from it. */
	cur = len - FOOTER_GUID_FROM_END - 2;
	while (cur > start) {
		u64 entry_len, entry_start;
		const u8 *guid;

		if (cur - start < GUID_ENTRY_TRAILER)
			return errf(e, -EINVAL,
				    "OVMF GUIDed table: %llu stray bytes at file offset 0x%llx "
				    "before the first entry",
				    (unsigned long long)(cur - start), (unsigned long long)start);
		guid = img + cur - 16;
		entry_len = get_le16(img + cur - GUID_ENTRY_TRAILER);
		if (entry_len < GUID_ENTRY_TRAILER || entry_len > cur - start)
			return errf(
			    e, -EINVAL,
			    "OVMF GUIDed table: entry at file offset 0x%llx has length %llu, "
			    "outside 18..%llu",
			    (unsigned long long)(cur - 16), (unsigned long long)entry_len,
			    (unsigned long long)(cur - start));
		entry_start = cur - entry_len;
		if (!memcmp(guid, guid_tdx_metadata_offset, 16)) {
			u32 off;

			if (entry_len < GUID_ENTRY_TRAILER + 4)
				return errf(
				    e, -EINVAL,
				    "TDX metadata offset entry: length %llu is too short for "
				    "its 4-byte offset",
				    (unsigned long long)entry_len);
			off = get_le32(img + entry_start);
			if (off < DESC_SIZE || off > len)
				return errf(
				    e, -EINVAL,
				    "TDX metadata offset entry: descriptor offset %u from the "
				    "end is outside the %zu-byte image",
				    off, len);
			*desc = len - off;
			return 1;
		}
		cur = entry_start;
	}
	return errf(e, -ENOENT,
		    "OVMF GUIDed table has no TDX metadata offset entry "
		    "(GUID e47a6535-984a-4798-865e-4685a7bf8ec2): not a TDX firmware");
}

/*
 * td-shim's rules for TD_INFO and TD_PARAMS: raw data, memory address and
 * size 0, attributes 0. Whether the data lies inside a BFV is checked once
 * all sections are known (check_image).
 */
static int check_metadata_only(const struct tdvf_section *s, u32 i, size_t len, struct err *e)
{
	const char *name = tdvf_section_type_name(s->type);

	if (s->raw_size == 0)
		return errf(e, -EINVAL,
			    "TDVF section %u (%s): no raw data (td-shim keeps it inside the BFV)",
			    i, name);
	if (s->gpa || s->mem_size)
		return errf(e, -EINVAL,
			    "TDVF section %u (%s): memory range 0x%llx+0x%llx, must be 0+0 (its "
			    "bytes live in the BFV; it gets no pages of its own)",
			    i, name, (unsigned long long)s->gpa, (unsigned long long)s->mem_size);
	if (s->attributes)
		return errf(e, -EINVAL, "TDVF section %u (%s): attributes 0x%x, must be 0", i, name,
			    s->attributes);
	if (!range_within(s->data_offset, s->raw_size, len))
		return errf(e, -EINVAL,
			    "TDVF section %u (%s): raw data 0x%x+0x%x runs past the end of the "
			    "%zu-byte image",
			    i, name, s->data_offset, s->raw_size, len);
	return 0;
}

/*
 * PAGE.AUG pages reach the TD empty, when the guest accepts them: only
 * PermMem may ask for that (td-shim spec, table 1.1-3), and PermMem must.
 * The BFV is the firmware's code: TDVF and td-shim both require MR.EXTEND.
 */
static int check_attributes(const struct tdvf_section *s, u32 i, struct err *e)
{
	const char *name = tdvf_section_type_name(s->type);

	if ((s->attributes & TDVF_ATTR_PAGE_AUG) && s->type != TDVF_SECTION_PERM_MEM)
		return errf(e, -EINVAL,
			    "TDVF section %u (%s): PAGE.AUG, which only PermMem may have: its "
			    "pages would reach the TD empty and unmeasured",
			    i, name);
	if (s->type == TDVF_SECTION_PERM_MEM && s->attributes != TDVF_ATTR_PAGE_AUG)
		return errf(e, -EINVAL,
			    "TDVF section %u (PermMem): attributes 0x%x, must be PAGE.AUG (0x2) "
			    "alone: the guest accepts PermMem, nothing adds or measures it",
			    i, s->attributes);
	if (s->type == TDVF_SECTION_BFV && !(s->attributes & TDVF_ATTR_MR_EXTEND))
		return errf(e, -EINVAL,
			    "TDVF section %u (BFV): no MR.EXTEND attribute: the firmware's code "
			    "would be left out of MRTD",
			    i);
	return 0;
}

static int check_section(const struct tdvf_info *info, u32 i, size_t len, struct err *e)
{
	const struct tdvf_section *s = &info->sections[i];
	const char *name = tdvf_section_type_name(s->type);
	u64 end;
	int r;

	if (s->type > TDVF_SECTION_TD_PARAMS)
		return errf(e, -EINVAL, "TDVF section %u: unknown type %u (known: 0..8)", i,
			    s->type);
	if (s->attributes & ~(TDVF_ATTR_MR_EXTEND | TDVF_ATTR_PAGE_AUG))
		return errf(e, -EINVAL, "TDVF section %u (%s): unknown attribute bits 0x%x", i,
			    name, s->attributes & ~(TDVF_ATTR_MR_EXTEND | TDVF_ATTR_PAGE_AUG));
	for (u32 j = 0; j < i; j++)
		if (single_instance(s->type) && info->sections[j].type == s->type)
			return errf(e, -EINVAL,
				    "TDVF section %u (%s): a second %s (first is section %u)", i,
				    name, name, j);
	if (metadata_only(s->type))
		return check_metadata_only(s, i, len, e);
	r = check_attributes(s, i, e);
	if (r < 0)
		return r;
	if (s->mem_size == 0)
		return errf(e, -EINVAL, "TDVF section %u (%s): empty memory range", i, name);
	if (s->mem_size < s->raw_size)
		return errf(e, -EINVAL,
			    "TDVF section %u (%s): memory size 0x%llx is smaller than its raw data "
			    "size 0x%x",
			    i, name, (unsigned long long)s->mem_size, s->raw_size);
	if (!IS_ALIGNED(s->gpa, PAGE_SIZE) || !IS_ALIGNED(s->mem_size, PAGE_SIZE))
		return errf(e, -EINVAL,
			    "TDVF section %u (%s): memory range 0x%llx+0x%llx is not 4 KiB aligned",
			    i, name, (unsigned long long)s->gpa, (unsigned long long)s->mem_size);
	if (add_overflows(s->gpa, s->mem_size, &end))
		return errf(e, -EINVAL,
			    "TDVF section %u (%s): memory range 0x%llx+0x%llx wraps around", i,
			    name, (unsigned long long)s->gpa, (unsigned long long)s->mem_size);
	if ((s->type == TDVF_SECTION_BFV || s->type == TDVF_SECTION_CFV) && s->raw_size == 0)
		return errf(e, -EINVAL, "TDVF section %u (%s): no raw data", i, name);
	if ((s->type == TDVF_SECTION_TD_HOB || s->type == TDVF_SECTION_TEMP_MEM ||
	     s->type == TDVF_SECTION_PERM_MEM) &&
	    s->raw_size != 0)
		return errf(e, -EINVAL,
			    "TDVF section %u (%s): raw data size 0x%x, must be 0 for this type", i,
			    name, s->raw_size);
	if (s->raw_size && !range_within(s->data_offset, s->raw_size, len))
		return errf(e, -EINVAL,
			    "TDVF section %u (%s): raw data 0x%x+0x%x runs past the end of the "
			    "%zu-byte image",
			    i, name, s->data_offset, s->raw_size, len);
	/*
	 * Firmware volumes are the image itself, mapped to end at 4 GiB: one rule
	 * for the launch and for `merak measure`, which has no memory map to
	 * catch it later.
	 */
	if ((s->type == TDVF_SECTION_BFV || s->type == TDVF_SECTION_CFV) &&
	    (s->gpa < info->image_gpa || end > 4 * GiB))
		return errf(e, -EINVAL,
			    "TDVF section %u (%s): memory range 0x%llx+0x%llx lies outside the "
			    "firmware's mapping [0x%llx, 4 GiB)",
			    i, name, (unsigned long long)s->gpa, (unsigned long long)s->mem_size,
			    (unsigned long long)info->image_gpa);
	/*
	 * INIT_VCPU hands the TD the HOB's address in RCX, where 0 means "no
	 * HOB" (td-shim spec: the TD HOB may be NULL); td-shim also reads the
	 * HOB at the section's address, which must then not be the null page.
	 */
	if (s->type == TDVF_SECTION_TD_HOB && s->gpa == 0)
		return errf(e, -EINVAL,
			    "TDVF section %u (TD_HOB): at GPA 0, which the TD reads as \"no HOB\" "
			    "(its address reaches the TD in RCX)",
			    i);
	for (u32 j = 0; j < i; j++) {
		const struct tdvf_section *o = &info->sections[j];

		if (s->gpa < o->gpa + o->mem_size && o->gpa < end)
			return errf(e, -EINVAL,
				    "TDVF section %u (%s): memory range overlaps section %u (%s)",
				    i, name, j, tdvf_section_type_name(o->type));
	}
	return 0;
}

/* Rules on the whole section list (edk2 ValidateTdxMetadata, td-shim validate_sections). */
static int check_image(const struct tdvf_info *info, struct err *e)
{
	const struct tdvf_section *bfv = NULL;

	for (u32 i = 0; i < info->nsections; i++) {
		const struct tdvf_section *s = &info->sections[i];

		/* The TD starts at 0xfffffff0: some BFV must end at 4 GiB. */
		if (s->type == TDVF_SECTION_BFV && (!bfv || s->gpa + s->mem_size == 4 * GiB))
			bfv = s;
	}
	if (!bfv)
		return errf(e, -EINVAL,
			    "TDVF metadata: no BFV section, so the TD would have no code (TDVF "
			    "and td-shim require at least one)");
	if (bfv->gpa + bfv->mem_size != 4 * GiB)
		return errf(e, -EINVAL,
			    "TDVF metadata: no BFV section ends at 4 GiB, so the reset vector "
			    "(0xfffffff0) is not in the TD's code");
	if (!tdvf_find(info, TDVF_SECTION_TD_HOB) && !tdvf_find(info, TDVF_SECTION_PERM_MEM))
		return errf(e, -EINVAL,
			    "TDVF metadata: no TD_HOB section (TDVF requires one; only a td-shim "
			    "image that lists its memory as PermMem sections may go without)");
	if (tdvf_find(info, TDVF_SECTION_PAYLOAD_PARAM) && !tdvf_find(info, TDVF_SECTION_PAYLOAD))
		return errf(e, -EINVAL,
			    "TDVF metadata: a PayloadParam section without a Payload section");
	for (u32 i = 0; i < info->nsections; i++) {
		const struct tdvf_section *s = &info->sections[i];
		bool inside = false;

		if (!metadata_only(s->type))
			continue;
		for (u32 j = 0; j < info->nsections && !inside; j++) {
			const struct tdvf_section *b = &info->sections[j];

			inside =
			    b->type == TDVF_SECTION_BFV && s->data_offset >= b->data_offset &&
			    (u64)s->data_offset + s->raw_size <= (u64)b->data_offset + b->raw_size;
		}
		if (!inside)
			return errf(
			    e, -EINVAL,
			    "TDVF section %u (%s): raw data 0x%x+0x%x is not inside a BFV's "
			    "raw data (td-shim requires it there, measured with the BFV)",
			    i, tdvf_section_type_name(s->type), s->data_offset, s->raw_size);
	}
	return 0;
}

int tdvf_parse(const u8 *img, size_t len, struct tdvf_info *out, struct err *e)
{
	u64 desc = 0, dlen;
	u32 n, ver;
	const u8 *d;
	int r;

	memset(out, 0, sizeof(*out));
	if (len < 4096 || !IS_ALIGNED(len, 4096))
		return errf(e, -EINVAL,
			    "firmware image: size %zu is not a non-zero multiple of 4 KiB", len);
	if (len > 4 * GiB)
		return errf(e, -EINVAL, "firmware image: size %zu exceeds 4 GiB", len);
	r = find_by_guid_table(img, len, &desc, e);
	if (r < 0)
		return r;
	if (r == 0) {
		/* td-shim's legacy locator: absolute offset of the descriptor. */
		u32 off = get_le32(img + len - LEGACY_PTR_FROM_END);

		if (!range_within(off, DESC_SIZE, len) || get_le32(img + off) != TDVF_SIGNATURE)
			return errf(
			    e, -ENOENT,
			    "firmware image: no OVMF GUIDed table footer at offset 0x%zx and "
			    "no TDVF descriptor at the legacy offset 0x%x: not a TDX firmware",
			    len - FOOTER_GUID_FROM_END, off);
		desc = off;
	}
	if (!range_within(desc, DESC_SIZE, len))
		return errf(e, -EINVAL,
			    "TDVF descriptor at file offset 0x%llx runs past the end of the image",
			    (unsigned long long)desc);
	d = img + desc;
	if (get_le32(d) != TDVF_SIGNATURE)
		return errf(e, -EINVAL,
			    "TDVF descriptor at file offset 0x%llx: bad signature 0x%08x (want "
			    "\"TDVF\")",
			    (unsigned long long)desc, get_le32(d));
	dlen = get_le32(d + 4);
	ver = get_le32(d + 8);
	n = get_le32(d + 12);
	if (ver != 1)
		return errf(e, -EINVAL, "TDVF descriptor: version %u, only 1 is supported", ver);
	if (n == 0 || n > TDVF_MAX_SECTIONS)
		return errf(e, -EINVAL, "TDVF descriptor: %u sections, must be 1..%u", n,
			    TDVF_MAX_SECTIONS);
	if (dlen != DESC_SIZE + (u64)SECTION_SIZE * n)
		return errf(e, -EINVAL, "TDVF descriptor: length %llu, want %llu for %u sections",
			    (unsigned long long)dlen,
			    DESC_SIZE + (unsigned long long)SECTION_SIZE * n, n);
	if (!range_within(desc, dlen, len))
		return errf(
		    e, -EINVAL,
		    "TDVF descriptor: %u sections at file offset 0x%llx run past the end of "
		    "the %zu-byte image",
		    n, (unsigned long long)desc, len);

	out->image_size = len;
	out->image_gpa = 4 * GiB - len;
	out->nsections = n;
	for (u32 i = 0; i < n; i++) {
		const u8 *p = d + DESC_SIZE + (size_t)SECTION_SIZE * i;
		struct tdvf_section *s = &out->sections[i];

		s->data_offset = get_le32(p);
		s->raw_size = get_le32(p + 4);
		s->gpa = get_le64(p + 8);
		s->mem_size = get_le64(p + 16);
		s->type = get_le32(p + 24);
		s->attributes = get_le32(p + 28);
		r = check_section(out, i, len, e);
		if (r < 0) {
			out->nsections = 0;
			return r;
		}
	}
	r = check_image(out, e);
	if (r < 0)
		out->nsections = 0;
	return r;
}
