/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_IRQ_H
#define MERAK_VM_IRQ_H

/*
 * How a device raises an interrupt without knowing the interrupt model: the
 * VM binds each line to the in-kernel irqchip (KVM_IRQ_LINE) or to merak's
 * userspace IOAPIC (split irqchip). An MSI source (an MSI-X vector) owns a
 * route: the VM gives it a GSI routed to its message and an eventfd KVM
 * injects from (irqfd), so raising it is one write(2), no KVM ioctl.
 */
#include "util/err.h"
#include "util/types.h"

/* An MSI route; the VM fills it, its owner only keeps it. */
struct msi_route {
	int fd;		/* the eventfd; -1 while closed */
	u32 gsi;
	u64 addr;	/* the message routed, while on */
	u32 data;
	bool on;
};

struct irq_ops {
	void (*set_level)(void *ctx, u32 gsi, bool level);
	/* Claims a GSI and its eventfd, routed nowhere yet. */
	int (*msi_route_open)(void *ctx, struct msi_route *r, struct err *e);
	/* Routes it to (addr, data), or off (raising it then does nothing). */
	int (*msi_route_set)(void *ctx, struct msi_route *r, bool on, u64 addr, u32 data,
			     struct err *e);
	void (*msi_route_raise)(void *ctx, struct msi_route *r);
	void (*msi_route_close)(void *ctx, struct msi_route *r);
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

#endif
