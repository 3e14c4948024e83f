/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_LPC_H
#define MERAK_DEVICES_LPC_H

/*
 * The ICH9 LPC bridge function at 00:1f.0 (8086:2918), where firmware written
 * for QEMU's q35 board (OVMF, TDVF) looks for the ACPI PM block: it reads
 * PMBASE to find the PM timer, and programs PMBASE only when ACPI_CNTL's
 * ACPI_EN is clear. merak's PM block sits at a fixed port, so the function
 * comes up "already programmed": PMBASE and ACPI_CNTL read that base and
 * ACPI_EN and ignore writes. Its other registers (PIRQ routing, GPIO base,
 * RCBA) are plain storage: merak's devices interrupt through MSI-X, not INTx.
 */
#include "devices/pci.h"

#define LPC_SLOT	  31
#define LPC_PMBASE	  0x40 /* 32-bit: bits 15:7 the base, bit 0 reads 1 (I/O) */
#define LPC_ACPI_CNTL	  0x44 /* bit 7 ACPI_EN, bits 2:0 SCI IRQ (0: IRQ 9) */
#define LPC_ACPI_EN	  0x80
#define LPC_PIRQ_ROUTE_LO 0x60 /* PIRQA-D, then PIRQE-H at 0x68: 0x80 = unrouted */
#define LPC_PIRQ_ROUTE_HI 0x68

struct lpc {
	struct pci_dev pci;
};

/* Creates the function in slot LPC_SLOT, reporting the PM block at pm_base. */
int lpc_create(struct pci_bus *bus, u16 pm_base, struct lpc **out, struct err *e);
void lpc_destroy(struct lpc *l);

#endif
