// SPDX-License-Identifier: MIT
/*
 * fw_cfg files of the x86 board. The ACPI tables are acpi.c's, in the
 * relocatable form of acpi_build_blob; the loader script is the BIOS
 * linker/loader protocol QEMU defines (hw/acpi/bios-linker-loader.c) and
 * OVMF's AcpiPlatformDxe executes: ALLOCATE each file, ADD_POINTER for each
 * pointer field (the field holds an offset into the source file; the
 * firmware adds that file's address), then ADD_CHECKSUM over the patched
 * tables.
 */
#include "arch/x86/fwcfg_tables.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"

#define TABLES_ALIGN 64 /* the FACS, first in the blob, needs 64 */
#define RSDP_ALIGN   16

static u8 *entry(u8 *script, unsigned *n, u32 command)
{
	u8 *p = script + (size_t)(*n)++ * LOADER_ENTRY_LEN;

	put_le32(p, command);
	return p;
}

static void put_name(u8 *p, const char *name)
{
	/* Names are short constants; the field stays NUL-padded. */
	memcpy(p, name, strlen(name));
}

int fwcfg_acpi_build(const struct acpi_config *cfg, struct fwcfg_acpi *out, struct err *e)
{
	struct acpi_blob b;
	unsigned n = 0, max;
	u8 *script, *rsdp;
	int r;

	memset(out, 0, sizeof(*out));
	r = acpi_build_blob(cfg, &b, e);
	if (r < 0)
		return r;
	max = 2 + b.n_ptrs + b.n_csums;
	script = calloc(max, LOADER_ENTRY_LEN);
	rsdp = malloc(ACPI_RSDP_LEN);
	if (!script || !rsdp) {
		free(script);
		free(rsdp);
		acpi_blob_free(&b);
		return errf(e, -ENOMEM, "fw_cfg ACPI: out of memory for the loader script");
	}
	memcpy(rsdp, b.rsdp, ACPI_RSDP_LEN);

	/* The tables anywhere below 4 GiB, the RSDP where legacy scans look. */
	{
		u8 *p = entry(script, &n, LOADER_ALLOCATE);

		put_name(p + LOADER_ALLOC_FILE, FWCFG_FILE_ACPI_TABLES);
		put_le32(p + LOADER_ALLOC_ALIGN, TABLES_ALIGN);
		p[LOADER_ALLOC_ZONE] = LOADER_ZONE_HIGH;
		p = entry(script, &n, LOADER_ALLOCATE);
		put_name(p + LOADER_ALLOC_FILE, FWCFG_FILE_ACPI_RSDP);
		put_le32(p + LOADER_ALLOC_ALIGN, RSDP_ALIGN);
		p[LOADER_ALLOC_ZONE] = LOADER_ZONE_FSEG;
	}
	for (unsigned i = 0; i < b.n_ptrs; i++) {
		u8 *p = entry(script, &n, LOADER_ADD_POINTER);

		put_name(p + LOADER_PTR_DEST,
			 b.ptrs[i].in_rsdp ? FWCFG_FILE_ACPI_RSDP : FWCFG_FILE_ACPI_TABLES);
		put_name(p + LOADER_PTR_SRC, FWCFG_FILE_ACPI_TABLES);
		put_le32(p + LOADER_PTR_OFFSET, b.ptrs[i].off);
		p[LOADER_PTR_SIZE] = b.ptrs[i].size;
	}
	for (unsigned i = 0; i < b.n_csums; i++) {
		u8 *p = entry(script, &n, LOADER_ADD_CHECKSUM);

		put_name(p + LOADER_CSUM_FILE,
			 b.csums[i].in_rsdp ? FWCFG_FILE_ACPI_RSDP : FWCFG_FILE_ACPI_TABLES);
		put_le32(p + LOADER_CSUM_OFFSET, b.csums[i].off);
		put_le32(p + LOADER_CSUM_START, b.csums[i].start);
		put_le32(p + LOADER_CSUM_LENGTH, b.csums[i].len);
	}
	out->tables = b.tables;
	out->tables_len = b.tables_len;
	out->rsdp = rsdp;
	out->rsdp_len = ACPI_RSDP_LEN;
	out->loader = script;
	out->loader_len = (size_t)n * LOADER_ENTRY_LEN;
	return 0;
}

void fwcfg_acpi_free(struct fwcfg_acpi *a)
{
	free(a->tables);
	free(a->rsdp);
	free(a->loader);
	memset(a, 0, sizeof(*a));
}

static int cmp_region(const void *a, const void *b)
{
	const struct mem_region *x = *(const struct mem_region *const *)a;
	const struct mem_region *y = *(const struct mem_region *const *)b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

static void put_e820(u8 *p, u64 addr, u64 len, u32 type)
{
	put_le64(p, addr);
	put_le64(p + 8, len);
	put_le32(p + 16, type);
}

int fwcfg_e820_build(const struct guest_mem *gm, bool kvm_pages, u8 **out, size_t *len,
		     struct err *e)
{
	const struct mem_region *ram[GUEST_MEM_MAX_REGIONS];
	unsigned n = 0;
	u8 *buf, *p;

	for (unsigned i = 0; i < gm->n; i++)
		if (gm->r[i].kind == MEM_RAM)
			ram[n++] = &gm->r[i];
	if (!n)
		return errf(e, -EINVAL, "etc/e820: the guest has no RAM");
	qsort(ram, n, sizeof(ram[0]), cmp_region);
	buf = calloc(n + 1, FWCFG_E820_ENTRY_LEN);
	if (!buf)
		return errf(e, -ENOMEM, "etc/e820: out of memory");
	p = buf;
	for (unsigned i = 0; i < n; i++, p += FWCFG_E820_ENTRY_LEN)
		put_e820(p, ram[i]->gpa, ram[i]->size, E820_RAM);
	if (kvm_pages) {
		/* KVM's identity map page and the three TSS pages that follow it. */
		put_e820(p, LAYOUT_IDENTITY_MAP, LAYOUT_TSS + 3 * PAGE_SIZE - LAYOUT_IDENTITY_MAP,
			 E820_RESERVED);
		p += FWCFG_E820_ENTRY_LEN;
	}
	*out = buf;
	*len = (size_t)(p - buf);
	return 0;
}
