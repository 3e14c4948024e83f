/* SPDX-License-Identifier: MIT */
#ifndef MERAK_ARCH_X86_ACPI_H
#define MERAK_ARCH_X86_ACPI_H

#include "util/err.h"
#include "util/types.h"
#include "vm/mem.h"

struct acpi_config {
	u32 ncpus;
	bool pci;		/* emit MCFG and the PCI host bridge in the DSDT */
	u64 pci_ecam_base;
	u64 pci_ecam_size;	/* 0: 256 MiB, buses 0-255 */
	u64 pci_mmio32_base, pci_mmio32_size;
	u64 pci_mmio64_base, pci_mmio64_size;
	bool serial;		/* COM1 in the DSDT */
	/*
	 * Bus-0 slots that ACPI hotplug serves (bit n: slot n; with pci): the
	 * DSDT describes each with _ADR, _SUN and _EJ0, and the GPE method
	 * that announces insertions and removal requests (devices/pci_hotplug.h).
	 */
	u32 pci_hotplug_slots;
};

/*
 * Builds RSDP, XSDT, FADT (hardware-reduced off: PM1a event/control ports,
 * PM timer, GPE0 block, SCI on IRQ 9, reset register at 0xCF9, fixed power
 * button), FACS, DSDT (COM1, _S5, PCI root bridge and its hotplug slots), MADT (one LAPIC, or x2APIC from
 * APIC ID 255 on, per vCPU; IOAPIC; ISA overrides; LINT1 NMI) and MCFG at
 * LAYOUT_ACPI_BASE. Pure. Returns the RSDP address.
 */
int acpi_build(struct guest_mem *gm, const struct acpi_config *cfg, u64 *rsdp_gpa,
	       struct err *e);

/*
 * The same tables in relocatable form, for firmware that places them itself
 * (OVMF through fw_cfg's etc/acpi/tables and etc/acpi/rsdp). `tables` holds
 * FACS, XSDT, FADT, MADT, [MCFG], DSDT as if loaded at address 0: every
 * table pointer holds its target's offset in `tables` and is listed in ptrs
 * (the RSDP's XSDT pointer included); every checksum field is 0 and listed in
 * csums, to be computed after the pointers are relocated, in list order.
 */
#define ACPI_RSDP_LEN	    36
#define ACPI_BLOB_MAX_PTRS  16
#define ACPI_BLOB_MAX_CSUMS 8

struct acpi_blob_ptr {
	bool in_rsdp;	/* the field lives in rsdp, else in tables */
	u32 off;
	u8 size;	/* 4 or 8 */
};

struct acpi_blob_csum {
	bool in_rsdp;
	u32 off;	/* the checksum byte */
	u32 start, len; /* the range it covers */
};

struct acpi_blob {
	u8 *tables;
	size_t tables_len;
	u8 rsdp[ACPI_RSDP_LEN];
	struct acpi_blob_ptr ptrs[ACPI_BLOB_MAX_PTRS];
	unsigned n_ptrs;
	struct acpi_blob_csum csums[ACPI_BLOB_MAX_CSUMS];
	unsigned n_csums;
};

int acpi_build_blob(const struct acpi_config *cfg, struct acpi_blob *out, struct err *e);
void acpi_blob_free(struct acpi_blob *b);

/* Sum of bytes modulo 256: 0 for a table with a correct checksum. */
u8 acpi_checksum(const void *p, size_t len);

/* The SLP_TYP value the DSDT's _S5 package gives, that the PM device must act on. */
#define ACPI_S5_SLP_TYP 5
/* The GPE whose \_GPE._Exx method scans the PCI hotplug registers (edge: _E01). */
#define ACPI_GPE_PCI_HOTPLUG 1

#endif
