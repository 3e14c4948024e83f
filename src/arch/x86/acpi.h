/* SPDX-License-Identifier: MIT */
#ifndef MERAK_ARCH_X86_ACPI_H
#define MERAK_ARCH_X86_ACPI_H

#include "../../util/err.h"
#include "../../util/types.h"
#include "../../vm/mem.h"

struct acpi_config {
	u32 ncpus;
	bool pci;		/* emit MCFG and the PCI host bridge in the DSDT */
	u64 pci_ecam_base;
	u64 pci_ecam_size;	/* 0: 256 MiB, buses 0-255 */
	u64 pci_mmio32_base, pci_mmio32_size;
	u64 pci_mmio64_base, pci_mmio64_size;
	bool serial;		/* COM1 in the DSDT */
};

/*
 * Builds RSDP, XSDT, FADT (hardware-reduced off: PM1a event/control ports,
 * PM timer, SCI on IRQ 9, reset register at 0xCF9, fixed power button),
 * FACS, DSDT (COM1, _S5, PCI root bridge), MADT (one LAPIC, or x2APIC from
 * APIC ID 255 on, per vCPU; IOAPIC; ISA overrides; LINT1 NMI) and MCFG at
 * LAYOUT_ACPI_BASE. Pure. Returns the RSDP address.
 */
int acpi_build(struct guest_mem *gm, const struct acpi_config *cfg, u64 *rsdp_gpa,
	       struct err *e);

/* Sum of bytes modulo 256: 0 for a table with a correct checksum. */
u8 acpi_checksum(const void *p, size_t len);

/* The SLP_TYP value the DSDT's _S5 package gives, that the PM device must act on. */
#define ACPI_S5_SLP_TYP 5

#endif
