/* SPDX-License-Identifier: MIT */
#ifndef MERAK_ARCH_X86_LAYOUT_H
#define MERAK_ARCH_X86_LAYOUT_H

/* The guest physical address map of merak's PC-like x86 board. */

/* Low memory used by merak's direct-boot set-up (all below 640 KiB). */
#define LAYOUT_GDT		0x500ULL	/* 6 entries (TSS descriptor is 16 bytes) */
#define LAYOUT_IDT		0x530ULL
#define LAYOUT_PVH_START_INFO	0x6000ULL	/* hvm_start_info + memmap + modules */
#define LAYOUT_ZERO_PAGE	0x7000ULL	/* Linux boot_params */
#define LAYOUT_PML4		0x9000ULL
#define LAYOUT_PDPT		0xA000ULL
#define LAYOUT_PD		0xB000ULL	/* four pages: 4 GiB of 2 MiB mappings */
#define LAYOUT_BOOT_STACK	0x8ff0ULL
#define LAYOUT_CMDLINE		0x20000ULL
#define LAYOUT_CMDLINE_MAX	0x10000ULL	/* 64 KiB, with the NUL */
#define LAYOUT_EBDA		0x9FC00ULL	/* RAM below this is usable */
#define LAYOUT_ACPI_BASE	0xE0000ULL	/* RSDP first, then the tables, to 0xFFFFF */
#define LAYOUT_ACPI_SIZE	0x20000ULL
#define LAYOUT_HIGH_RAM		0x100000ULL	/* 1 MiB: bzImage protected-mode kernel */

/*
 * The 32-bit hole below 4 GiB follows QEMU's q35 board, which stock firmware
 * assumes: OVMF programs PCIEXBAR to 0xB0000000 (its build-time ECAM base)
 * and expects low RAM to end below it. Like q35, a guest with at least
 * LAYOUT_LOW_RAM_MAX of memory gets 2 GiB below the hole (keeps 1 GiB
 * alignment for the rest) and the remainder from 4 GiB.
 */
#define LAYOUT_LOW_RAM_MAX	0xB0000000ULL	/* low RAM ends here at the latest */
#define LAYOUT_LOW_RAM_SPLIT	0x80000000ULL
#define LAYOUT_PCI_ECAM_BASE	0xB0000000ULL
#define LAYOUT_PCI_ECAM_SIZE	0x10000000ULL	/* 256 buses */
#define LAYOUT_PCI_MMIO32_BASE	0xC0000000ULL
#define LAYOUT_PCI_MMIO32_SIZE	0x20000000ULL
#define LAYOUT_IOAPIC_BASE	0xFEC00000ULL
#define LAYOUT_IOAPIC_SIZE	0x1000ULL
#define LAYOUT_LAPIC_BASE	0xFEE00000ULL
#define LAYOUT_IDENTITY_MAP	0xFEFFC000ULL	/* KVM_SET_IDENTITY_MAP_ADDR: one page */
#define LAYOUT_TSS		0xFEFFD000ULL	/* KVM_SET_TSS_ADDR: three pages */
#define LAYOUT_FIRMWARE_TOP	0x100000000ULL	/* firmware images end at 4 GiB */
#define LAYOUT_FIRMWARE_MAX	(16ULL << 20)
#define LAYOUT_HIGH_RAM_START	0x100000000ULL	/* RAM above the hole */

/* How much of a guest's memory lies below 4 GiB. */
static inline unsigned long long layout_low_ram_size(unsigned long long mem)
{
	if (mem >= LAYOUT_LOW_RAM_MAX)
		return LAYOUT_LOW_RAM_SPLIT;
	return mem;
}

#define IOAPIC_NUM_PINS		24
#define IOAPIC_ID		0	/* MADT and the IOAPIC ID register agree */
#define IRQ_COM1		4
#define IRQ_SCI			9

/* Port I/O. */
#define PORT_COM1		0x3f8
#define PORT_I8042_DATA		0x60
#define PORT_I8042_CMD		0x64
#define PORT_DEBUG_EXIT		0xf4	/* test guests: write the exit status */
#define PORT_PM_BASE		0x600	/* ACPI PM1a event (4) + control (2) */
#define PORT_PM1A_EVT		(PORT_PM_BASE + 0x0)
#define PORT_PM1A_CNT		(PORT_PM_BASE + 0x4)
#define PORT_PM_TMR		(PORT_PM_BASE + 0x8)
#define PORT_GPE0_BLK		(PORT_PM_BASE + 0x20)	/* GPE0 status (2) + enable (2) */
#define PORT_GPE0_LEN		4
#define PORT_PCI_HOTPLUG	0xae0	/* devices/pci_hotplug.h: 16 bytes */
#define PORT_RESET		0xcf9
#define PORT_PCI_CONFIG_ADDR	0xcf8
#define PORT_PCI_CONFIG_DATA	0xcfc

#endif
