/* SPDX-License-Identifier: MIT */
#ifndef MERAK_ARCH_X86_IOAPIC_H
#define MERAK_ARCH_X86_IOAPIC_H

/*
 * merak's userspace IOAPIC, used with KVM's split irqchip (mandatory for
 * TDs): 24 pins, an 82093AA-compatible register window (IOREGSEL/IOWIN and
 * the version 0x20 EOI register), edge and level pins with remote IRR.
 * Interrupts leave it as MSIs through send_msi. Pure: no ioctls.
 */
#include <pthread.h>

#include "util/types.h"
#include "vm/bus.h"

#define IOAPIC_PINS 24

struct ioapic {
	pthread_mutex_t lock;
	u32 id;
	u32 ioregsel;
	u64 redir[IOAPIC_PINS];
	u32 irr;	/* line level per pin */
	/* Per pin, the routing last passed to route_changed (only its masked bit if masked). */
	u64 routed[IOAPIC_PINS];
	void (*send_msi)(void *ctx, u64 addr, u32 data);
	/*
	 * Called when a pin's routing changes (split irqchip mirrors it in GSI
	 * routes), with lock held: it must not call back into this IOAPIC.
	 * A pin masked while its level interrupt awaits an EOI is reported as
	 * masked only after that EOI, so KVM keeps exiting on that vector.
	 * send_msi is called without the lock.
	 */
	void (*route_changed)(void *ctx, unsigned pin, u64 msi_addr, u32 msi_data, bool masked);
	void *ctx;
};

void ioapic_init(struct ioapic *io, void (*send_msi)(void *, u64, u32),
		 void (*route_changed)(void *, unsigned, u64, u32, bool), void *ctx);
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* End of interrupt for a vector (from KVM_EXIT_IOAPIC_EOI or the EOI register). */
void ioapic_eoi(struct ioapic *io, u32 vector);
/*
 * The MSI address/data a redirection entry describes; RTE bits 55:49 (the
 * extended destination ID of KVM_FEATURE_MSI_EXT_DEST_ID) become address
 * bits 11:5, for APIC IDs up to 32767.
 */
void ioapic_rte_to_msi(u64 rte, u64 *addr, u32 *data);

extern const struct bus_ops ioapic_mmio_ops;

#endif
