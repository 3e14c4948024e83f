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

#include "../../util/types.h"
#include "../../vm/bus.h"

#define IOAPIC_PINS 24

struct ioapic {
	pthread_mutex_t lock;
	u32 id;
	u32 ioregsel;
	u64 redir[IOAPIC_PINS];
	u32 irr;	/* line level per pin */
	void (*send_msi)(void *ctx, u64 addr, u32 data);
	/* Called when a pin's routing changes (split irqchip mirrors it in GSI routes). */
	void (*route_changed)(void *ctx, unsigned pin, u64 msi_addr, u32 msi_data, bool masked);
	void *ctx;
};

void ioapic_init(struct ioapic *io, void (*send_msi)(void *, u64, u32),
		 void (*route_changed)(void *, unsigned, u64, u32, bool), void *ctx);
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* End of interrupt for a vector (from KVM_EXIT_IOAPIC_EOI or the EOI register). */
void ioapic_eoi(struct ioapic *io, u32 vector);
/* The MSI address/data a redirection entry describes. */
void ioapic_rte_to_msi(u64 rte, u64 *addr, u32 *data);

extern const struct bus_ops ioapic_mmio_ops;

#endif
