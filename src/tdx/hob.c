// SPDX-License-Identifier: MIT
/*
 * TD HOB list, laid out as QEMU's hw/i386/tdvf-hob.c does so that OVMF (and
 * its RTMR0 measurement of the HOB) sees the same bytes under merak as under
 * QEMU for the same RAM map. QEMU adds no MMIO resource descriptors; neither
 * do we.
 */
#include "tdx/hob.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "tdx/params.h"
#include "tdx/tdshim.h"

#define HOB_TYPE_HANDOFF       0x0001
#define HOB_TYPE_RESOURCE_DESC 0x0003
#define HOB_TYPE_END	       0xFFFF
#define HOB_PHIT_LEN	       56
#define HOB_RESOURCE_LEN       48
#define HOB_END_LEN	       8
#define PHIT_VERSION	       9
#define RESOURCE_SYSTEM_MEMORY 0x0
#define RESOURCE_UNACCEPTED    0x7
#define RESOURCE_ATTR_TDVF     0x7 /* PRESENT | INITIALIZED | TESTED */

int td_ram_from_size(u64 mem, struct td_ram_range out[2], unsigned *n, struct err *e)
{
	u64 low;

	if (mem == 0 || !IS_ALIGNED(mem, PAGE_SIZE))
		return errf(e, -EINVAL, "memory size %llu is not a non-zero multiple of 4 KiB",
			    (unsigned long long)mem);
	if (mem > (1ULL << 46))
		return errf(e, -EINVAL, "memory size %llu exceeds 64 TiB", (unsigned long long)mem);
	low = layout_low_ram_size(mem);
	out[0] = (struct td_ram_range){.gpa = 0, .size = low, .accepted = false};
	*n = 1;
	if (mem > low) {
		out[1] = (struct td_ram_range){
		    .gpa = LAYOUT_HIGH_RAM_START, .size = mem - low, .accepted = false};
		*n = 2;
	}
	return 0;
}

static void sort_map(struct td_ram_map *m)
{
	for (unsigned i = 1; i < m->n; i++) {
		struct td_ram_range t = m->r[i];
		unsigned j = i;

		while (j > 0 && m->r[j - 1].gpa > t.gpa) {
			m->r[j] = m->r[j - 1];
			j--;
		}
		m->r[j] = t;
	}
}

/* Marks [gpa, gpa+size) accepted, splitting the one range that contains it. */
static int accept_range(struct td_ram_map *m, unsigned idx, u64 gpa, u64 size, struct err *e)
{
	struct td_ram_range whole = m->r[idx];
	u64 end = gpa + size, wend = whole.gpa + whole.size;
	unsigned extra = (gpa > whole.gpa) + (end < wend);

	if (m->n + extra > TD_RAM_MAX)
		return errf(e, -E2BIG, "TD RAM map: more than %d ranges", TD_RAM_MAX);
	m->r[idx] = (struct td_ram_range){.gpa = gpa, .size = size, .accepted = true};
	if (gpa > whole.gpa)
		m->r[m->n++] = (struct td_ram_range){.gpa = whole.gpa, .size = gpa - whole.gpa};
	if (end < wend)
		m->r[m->n++] = (struct td_ram_range){.gpa = end, .size = wend - end};
	return 0;
}

int td_perm_mem_outside_ram(const struct td_ram_range *ram, unsigned nram,
			    const struct tdvf_info *fw, struct td_ram_range out[TD_PERM_MAX],
			    unsigned *n, struct err *e)
{
	const u64 private_top = 1ULL << (TD_GPAW - 1);

	*n = 0;
	for (u32 s = 0; s < fw->nsections; s++) {
		const struct tdvf_section *sec = &fw->sections[s];
		bool in_ram = false;
		u64 end;

		if (sec->type != TDVF_SECTION_PERM_MEM)
			continue;
		if (add_overflows(sec->gpa, sec->mem_size, &end) || end > private_top)
			return errf(e, -EINVAL,
				    "TDVF section %u (PermMem) at 0x%llx+0x%llx does not end below "
				    "the TD's shared bit (0x%llx)",
				    s, (unsigned long long)sec->gpa,
				    (unsigned long long)sec->mem_size,
				    (unsigned long long)private_top);
		for (unsigned i = 0; i < nram; i++) {
			u64 rend = ram[i].gpa + ram[i].size;

			if (end <= ram[i].gpa || sec->gpa >= rend)
				continue;
			if (sec->gpa < ram[i].gpa || end > rend)
				return errf(
				    e, -EINVAL,
				    "TDVF section %u (PermMem) at 0x%llx+0x%llx straddles the "
				    "edge of guest RAM 0x%llx+0x%llx",
				    s, (unsigned long long)sec->gpa,
				    (unsigned long long)sec->mem_size,
				    (unsigned long long)ram[i].gpa,
				    (unsigned long long)ram[i].size);
			in_ram = true;
		}
		if (in_ram)
			continue;
		/* PCI ECAM and MMIO windows, IOAPIC, LAPIC and the firmware itself. */
		if (end > LAYOUT_PCI_ECAM_BASE && sec->gpa < LAYOUT_FIRMWARE_TOP)
			return errf(
			    e, -EINVAL,
			    "TDVF section %u (PermMem) at 0x%llx+0x%llx overlaps the board's "
			    "MMIO window or the firmware [0x%llx, 4 GiB)",
			    s, (unsigned long long)sec->gpa, (unsigned long long)sec->mem_size,
			    (unsigned long long)LAYOUT_PCI_ECAM_BASE);
		if (*n == TD_PERM_MAX)
			return errf(e, -E2BIG,
				    "TDVF section %u (PermMem): more than %d PermMem sections lie "
				    "outside guest RAM",
				    s, TD_PERM_MAX);
		out[(*n)++] = (struct td_ram_range){.gpa = sec->gpa, .size = sec->mem_size};
	}
	return 0;
}

int td_ram_map_build(const struct td_ram_range *ram, unsigned nram, const struct tdvf_info *fw,
		     struct td_ram_map *out, struct err *e)
{
	struct td_ram_range perm[TD_PERM_MAX];
	unsigned nperm;
	int r;

	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < nram; i++) {
		u64 end;

		if (ram[i].size == 0)
			continue;
		if (out->n == TD_RAM_MAX)
			return errf(e, -E2BIG, "TD RAM map: more than %d ranges", TD_RAM_MAX);
		if (add_overflows(ram[i].gpa, ram[i].size, &end))
			return errf(e, -EINVAL, "RAM range %u: 0x%llx+0x%llx wraps around", i,
				    (unsigned long long)ram[i].gpa,
				    (unsigned long long)ram[i].size);
		out->r[out->n++] = (struct td_ram_range){.gpa = ram[i].gpa, .size = ram[i].size};
	}
	sort_map(out);
	for (unsigned i = 1; i < out->n; i++)
		if (out->r[i - 1].gpa + out->r[i - 1].size > out->r[i].gpa)
			return errf(e, -EINVAL, "RAM ranges at 0x%llx and 0x%llx overlap",
				    (unsigned long long)out->r[i - 1].gpa,
				    (unsigned long long)out->r[i].gpa);
	/* PermMem outside RAM is memory the guest accepts, like the rest of RAM. */
	r = td_perm_mem_outside_ram(ram, nram, fw, perm, &nperm, e);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < nperm; i++) {
		if (out->n == TD_RAM_MAX)
			return errf(e, -E2BIG, "TD RAM map: more than %d ranges", TD_RAM_MAX);
		out->r[out->n++] = perm[i];
	}
	sort_map(out);

	for (u32 s = 0; s < fw->nsections; s++) {
		const struct tdvf_section *sec = &fw->sections[s];
		u64 send = sec->gpa + sec->mem_size;
		/* td-shim puts TempMem (stack, heap, mailbox) inside its own image range. */
		bool in_image = sec->gpa >= fw->image_gpa && send <= fw->image_gpa + fw->image_size;
		bool must_be_ram =
		    (sec->type == TDVF_SECTION_TD_HOB || sec->type == TDVF_SECTION_TEMP_MEM) &&
		    !in_image;
		bool done = false;

		/*
		 * PAGE.AUG sections are not added at launch: the guest accepts them.
		 * TD_INFO/TD_PARAMS have no memory range at all.
		 */
		if ((sec->attributes & TDVF_ATTR_PAGE_AUG) || !tdvf_section_has_memory(sec))
			continue;
		for (unsigned i = 0; i < out->n && !done; i++) {
			struct td_ram_range *rr = &out->r[i];
			u64 rend = rr->gpa + rr->size;

			if (send <= rr->gpa || sec->gpa >= rend)
				continue;
			if (sec->gpa < rr->gpa || send > rend || rr->accepted)
				return errf(
				    e, -EINVAL,
				    "TDVF section %u (%s) at 0x%llx+0x%llx straddles the edge "
				    "of guest RAM 0x%llx+0x%llx",
				    s, tdvf_section_type_name(sec->type),
				    (unsigned long long)sec->gpa, (unsigned long long)sec->mem_size,
				    (unsigned long long)rr->gpa, (unsigned long long)rr->size);
			r = accept_range(out, i, sec->gpa, sec->mem_size, e);
			if (r < 0)
				return r;
			done = true;
		}
		if (!done && must_be_ram)
			return errf(e, -EINVAL,
				    "TDVF section %u (%s) at 0x%llx+0x%llx is not inside guest RAM "
				    "(too little memory?)",
				    s, tdvf_section_type_name(sec->type),
				    (unsigned long long)sec->gpa,
				    (unsigned long long)sec->mem_size);
	}
	sort_map(out);
	return 0;
}

size_t td_hob_size(const struct td_ram_map *map)
{
	return HOB_PHIT_LEN + (size_t)HOB_RESOURCE_LEN * map->n + HOB_END_LEN;
}

static void put_header(u8 *p, u16 type, u16 len)
{
	put_le16(p, type);
	put_le16(p + 2, len);
	put_le32(p + 4, 0);
}

int td_hob_build(const struct td_ram_map *map, u64 hob_gpa, u8 *buf, size_t buf_len, size_t *used,
		 struct err *e)
{
	size_t total, off;

	if (map->n > TD_RAM_MAX)
		return errf(e, -EINVAL, "TD HOB: %u RAM ranges, at most %d", map->n, TD_RAM_MAX);
	total = td_hob_size(map);
	if (total > buf_len)
		return errf(e, -ENOSPC, "TD HOB: %zu bytes do not fit the %zu-byte TD_HOB section",
			    total, buf_len);
	if (!IS_ALIGNED(hob_gpa, 8) || hob_gpa + total < hob_gpa)
		return errf(e, -EINVAL, "TD HOB: bad address 0x%llx", (unsigned long long)hob_gpa);
	memset(buf, 0, total);

	put_header(buf, HOB_TYPE_HANDOFF, HOB_PHIT_LEN);
	put_le32(buf + 8, PHIT_VERSION);
	/* BootMode and the four memory fields stay 0, as QEMU leaves them. */
	put_le64(buf + 48, hob_gpa + total);
	off = HOB_PHIT_LEN;

	for (unsigned i = 0; i < map->n; i++) {
		u8 *p = buf + off;

		put_header(p, HOB_TYPE_RESOURCE_DESC, HOB_RESOURCE_LEN);
		/* Owner GUID at +8 stays zero. */
		put_le32(p + 24, map->r[i].accepted ? RESOURCE_SYSTEM_MEMORY : RESOURCE_UNACCEPTED);
		put_le32(p + 28, RESOURCE_ATTR_TDVF);
		put_le64(p + 32, map->r[i].gpa);
		put_le64(p + 40, map->r[i].size);
		off += HOB_RESOURCE_LEN;
	}
	put_header(buf + off, HOB_TYPE_END, HOB_END_LEN);
	*used = total;
	return 0;
}

int td_hob_make(const struct tdvf_info *fw, const struct td_ram_range *ram, unsigned nram,
		u8 **out, size_t *len, struct err *e)
{
	const struct tdvf_section *sec = tdvf_find(fw, TDVF_SECTION_TD_HOB);
	struct td_ram_map map;
	u8 *hob;
	int r;

	*out = NULL;
	*len = 0;
	/* The map's refusals hold for an image without a TD_HOB too (td-shim with PermMem). */
	r = td_ram_map_build(ram, nram, fw, &map, e);
	if (r < 0 || !sec)
		return r;
	hob = calloc(1, sec->mem_size);
	if (!hob)
		return errf(e, -ENOMEM, "TD HOB: out of memory");
	r = td_hob_build(&map, sec->gpa, hob, sec->mem_size, len, e);
	/* td-shim boots a VMM-loaded kernel only with its payload info in the list. */
	if (r == 0)
		r = td_shim_hob_finish(fw, hob, sec->mem_size, len, e);
	if (r < 0) {
		free(hob);
		*len = 0;
		return r;
	}
	*out = hob;
	return 0;
}
