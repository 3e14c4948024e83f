/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_PCI_HOTPLUG_H
#define MERAK_DEVICES_PCI_HOTPLUG_H

/*
 * ACPI PCI hotplug registers for bus 0: what the DSDT's hotplug AML
 * (arch/x86/acpi.c) reads and writes, the way Linux's acpiphp driver expects
 * a slot to be handled. One port-I/O range of PCI_HOTPLUG_LEN bytes at
 * PORT_PCI_HOTPLUG; four 32-bit registers, bit n standing for slot n:
 *
 *   0x0  UP     read-only, reading clears what was read: slots where a
 *               function was inserted since the last read (the AML sends
 *               Notify(slot, 1), device check: the guest scans the slot)
 *   0x4  DOWN   read-only, reading clears what was read: slots whose
 *               function the host asks the guest to give up (Notify(slot, 3),
 *               eject request: the guest unbinds it and calls its _EJ0)
 *   0x8  EJECT  write-only (reads 0): a slot's _EJ0 writes the slot's bit.
 *               Honoured only for a slot with a removal request outstanding;
 *               any other bit (an empty slot, a slot nobody asked to remove,
 *               a second eject) is ignored and counted
 *   0xC  SLOTS  read-only: the hotplug slots, those the DSDT describes
 *
 * Narrower accesses see the byte lanes of a register (a byte read of UP
 * clears that byte only). The host announces an insertion or a removal
 * request with pci_hotplug_insert / pci_hotplug_request_removal and then
 * raises ACPI_GPE_PCI_HOTPLUG (acpi_pm_gpe_raise); the GPE's method reads UP
 * and DOWN once per event.
 *
 * Port I/O rather than MMIO: it is what the rest of merak's ACPI hardware
 * (PM1, GPE0) uses, an I/O exit hands over port and width without decoding
 * an instruction, and a TD guest's #VE handler forwards IN/OUT as a plain
 * TDVMCALL, while an MMIO access needs a shared mapping and the #VE
 * handler's instruction decoder.
 *
 * Thread-safe: registers are read and written on vCPU threads, the host's
 * calls come from the thread doing the hotplug.
 */
#include <pthread.h>

#include "util/err.h"
#include "util/types.h"
#include "vm/bus.h"

#define PCI_HOTPLUG_UP	  0x0
#define PCI_HOTPLUG_DOWN  0x4
#define PCI_HOTPLUG_EJECT 0x8
#define PCI_HOTPLUG_SLOTS 0xc
#define PCI_HOTPLUG_LEN	  0x10

struct pci_hotplug_ops {
	/*
	 * The guest ejected these slots (each had a removal request). Called
	 * on the vCPU thread that wrote EJECT, outside the device's lock.
	 */
	void (*ejected)(void *ctx, u32 slots);
};

struct pci_hotplug {
	pthread_mutex_t lock;
	struct bus *pio;
	u16 base;
	u32 slots;	/* hotplug slots */
	u32 up, down;	/* not yet read by the guest */
	u32 removing;	/* removal requested, no eject seen yet */
	u32 ejected;	/* ejected by the guest, not yet removed by the host */
	u64 inserts, removal_requests, ejects, ignored_ejects;	/* counters (slots) */
	unsigned ignored_logged;
	const struct pci_hotplug_ops *ops;
	void *ctx;
};

/* Registers the block at base on pio; slots is the SLOTS mask (slot 0 never is one). */
int pci_hotplug_create(struct bus *pio, u16 base, u32 slots, const struct pci_hotplug_ops *ops,
		       void *ctx, struct pci_hotplug **out, struct err *e);
/* Unregisters the block and frees hp (NULL is fine). */
void pci_hotplug_destroy(struct pci_hotplug *hp);

/*
 * A function was put in slot: sets its UP bit, and forgets any removal
 * state the slot had. -EINVAL if slot is not a hotplug slot.
 */
int pci_hotplug_insert(struct pci_hotplug *hp, unsigned slot);
/*
 * Asks the guest to give up slot's function: sets DOWN and marks a removal
 * outstanding (again, if one was: a repeated request repeats the
 * notification). Nothing when the guest has ejected it already. -EINVAL if
 * slot is not a hotplug slot.
 */
int pci_hotplug_request_removal(struct pci_hotplug *hp, unsigned slot);
/* Whether the guest ejected slot after a removal request. */
bool pci_hotplug_ejected(struct pci_hotplug *hp, unsigned slot);
/* The slot's function is gone: clears all of its state (UP, DOWN, removal, eject). */
void pci_hotplug_removed(struct pci_hotplug *hp, unsigned slot);
/* The counters, as a vm.counters group. */
void pci_hotplug_collect(void *hp, counter_emit_fn emit, void *arg);

#endif
