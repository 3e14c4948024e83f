/* SPDX-License-Identifier: MIT */
#ifndef MERAK_ARCH_X86_FWCFG_TABLES_H
#define MERAK_ARCH_X86_FWCFG_TABLES_H

/*
 * The x86 board's fw_cfg files, built purely (docs/devices-fwcfg.md):
 * ACPI tables as QEMU hands them to firmware (etc/acpi/tables,
 * etc/acpi/rsdp and the BIOS linker/loader script etc/table-loader that
 * tells the firmware where to put them, how to relocate their pointers and
 * which checksums to compute) and the memory map (etc/e820).
 */
#include "util/err.h"
#include "util/types.h"
#include "vm/mem.h"
#include "arch/x86/acpi.h"

#define FWCFG_FILE_ACPI_TABLES "etc/acpi/tables"
#define FWCFG_FILE_ACPI_RSDP   "etc/acpi/rsdp"
#define FWCFG_FILE_LOADER      "etc/table-loader"
#define FWCFG_FILE_E820	       "etc/e820"

/* The linker/loader script: 128-byte little-endian commands. */
#define LOADER_ENTRY_LEN     128
#define LOADER_FILE_LEN	     56
#define LOADER_ALLOCATE	     1
#define LOADER_ADD_POINTER   2
#define LOADER_ADD_CHECKSUM  3
#define LOADER_ZONE_HIGH     1
#define LOADER_ZONE_FSEG     2
/* Field offsets inside an entry (after the le32 command). */
#define LOADER_ALLOC_FILE    4
#define LOADER_ALLOC_ALIGN   60
#define LOADER_ALLOC_ZONE    64
#define LOADER_PTR_DEST	     4
#define LOADER_PTR_SRC	     60
#define LOADER_PTR_OFFSET    116
#define LOADER_PTR_SIZE	     120
#define LOADER_CSUM_FILE     4
#define LOADER_CSUM_OFFSET   60
#define LOADER_CSUM_START    64
#define LOADER_CSUM_LENGTH   68

#define FWCFG_E820_ENTRY_LEN 20 /* le64 address, le64 length, le32 type */

struct fwcfg_acpi {
	u8 *tables;	/* malloc'd; whoever adds them to fw_cfg may take them */
	size_t tables_len;
	u8 *rsdp;
	size_t rsdp_len;
	u8 *loader;
	size_t loader_len;
};

int fwcfg_acpi_build(const struct acpi_config *cfg, struct fwcfg_acpi *out, struct err *e);
void fwcfg_acpi_free(struct fwcfg_acpi *a);

/*
 * etc/e820 as QEMU builds it: one RAM entry per RAM region of gm, sorted,
 * plus, with kvm_pages, the reserved range of KVM's identity map and TSS
 * (0xFEFFC000, 16 KiB) that QEMU reports on KVM. Firmware regions are left
 * out: OVMF knows its own flash.
 */
int fwcfg_e820_build(const struct guest_mem *gm, bool kvm_pages, u8 **out, size_t *len,
		     struct err *e);

#endif
