/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_IRQ_H
#define MERAK_VM_IRQ_H

/*
 * How a device raises an interrupt without knowing the interrupt model: the
 * VM binds each line to the in-kernel irqchip (KVM_IRQ_LINE) or to merak's
 * userspace IOAPIC (split irqchip), and MSIs to KVM_SIGNAL_MSI.
 */
#include "util/types.h"

struct irq_ops {
	void (*set_level)(void *ctx, u32 gsi, bool level);
	void (*send_msi)(void *ctx, u64 addr, u32 data);
};

struct irq_line {
	const struct irq_ops *ops;
	void *ctx;
	u32 gsi;
};

static inline void irq_line_set(const struct irq_line *l, bool level)
{
	if (l->ops)
		l->ops->set_level(l->ctx, l->gsi, level);
}

static inline void irq_send_msi(const struct irq_line *l, u64 addr, u32 data)
{
	if (l->ops)
		l->ops->send_msi(l->ctx, addr, data);
}

#endif
