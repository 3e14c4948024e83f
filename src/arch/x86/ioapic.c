// SPDX-License-Identifier: MIT
/*
 * Userspace IOAPIC for the split irqchip. Behaviour choices:
 * - Pin levels are logical (asserted or not); the polarity bit is stored and
 *   read back but not applied, as KVM's in-kernel IOAPIC does.
 * - An edge arriving while its pin is masked is dropped (82093AA behaviour,
 *   and QEMU's); a level pin that is high when unmasked delivers then.
 * - Delivery is immediate, so delivery status (bit 12) always reads 0.
 * - No interrupt-storm throttling: a level line that stays high is
 *   redelivered on every EOI, as the guest asks for it.
 * Deliveries are collected under the lock and sent after it is dropped, so a
 * send_msi that ends up in ioapic_eoi (or blocks) cannot deadlock.
 *
 * Version 0x20 with its EOI register (offset 0x40) is what makes level
 * triggered pins work in a TD: the TDX module owns a TD's EOI-exit bitmap, so
 * KVM never sees its EOIs and never sends KVM_EXIT_IOAPIC_EOI. Linux, finding
 * the TMR bit of a level interrupt clear in its local APIC (KVM posts every
 * interrupt to a TD without touching the TD's TMR), completes the interrupt
 * itself in ioapic_ack_level(): by writing the vector to the EOI register of
 * an IOAPIC of version 0x20 or more, else by switching the pin to edge and
 * back. Both clear Remote IRR here; QEMU's IOAPIC is version 0x20 as well.
 */
#include "arch/x86/ioapic.h"

#include <string.h>

#define IOAPIC_VERSION 0x20 /* has the EOI register */

/* Direct registers, offsets in the MMIO page. */
#define REG_IOREGSEL 0x00
#define REG_IOWIN    0x10
#define REG_EOI	     0x40

/* Indirect registers. */
#define IND_ID	       0x00
#define IND_VER	       0x01
#define IND_ARB	       0x02
#define IND_REDTBL     0x10
#define IND_REDTBL_END (IND_REDTBL + 2 * IOAPIC_PINS)

/* Redirection table entry. */
#define RTE_VECTOR	   0xffULL
#define RTE_DELMODE_SHIFT  8
#define RTE_DELMODE	   (7ULL << RTE_DELMODE_SHIFT)
#define RTE_DESTMODE	   (1ULL << 11)
#define RTE_DELIVS	   (1ULL << 12)
#define RTE_POLARITY	   (1ULL << 13)
#define RTE_REMOTE_IRR	   (1ULL << 14)
#define RTE_LEVEL	   (1ULL << 15)
#define RTE_MASKED	   (1ULL << 16)
#define RTE_EXT_DEST_SHIFT 49
#define RTE_EXT_DEST	   (0x7fULL << RTE_EXT_DEST_SHIFT)
#define RTE_DEST_SHIFT	   56
#define RTE_DEST	   (0xffULL << RTE_DEST_SHIFT)
#define RTE_WRITABLE                                                                               \
	(RTE_VECTOR | RTE_DELMODE | RTE_DESTMODE | RTE_POLARITY | RTE_LEVEL | RTE_MASKED |         \
	 RTE_EXT_DEST | RTE_DEST)
/* What the MSI route depends on. */
#define RTE_ROUTE (RTE_VECTOR | RTE_DELMODE | RTE_DESTMODE | RTE_LEVEL | RTE_EXT_DEST | RTE_DEST)

#define MSI_ADDR_BASE	    0xfee00000ULL
#define MSI_ADDR_DEST_SHIFT 12
#define MSI_ADDR_EXT_SHIFT  5
#define MSI_ADDR_DESTMODE   (1ULL << 2)
#define MSI_DATA_ASSERT	    (1u << 14)
#define MSI_DATA_LEVEL	    (1u << 15)

struct msi_batch {
	struct {
		u64 addr;
		u32 data;
	} m[IOAPIC_PINS];
	unsigned n;
};

void ioapic_rte_to_msi(u64 rte, u64 *addr, u32 *data)
{
	*addr = MSI_ADDR_BASE | ((rte & RTE_DEST) >> RTE_DEST_SHIFT) << MSI_ADDR_DEST_SHIFT |
		((rte & RTE_EXT_DEST) >> RTE_EXT_DEST_SHIFT) << MSI_ADDR_EXT_SHIFT |
		(rte & RTE_DESTMODE ? MSI_ADDR_DESTMODE : 0);
	*data = (u32)(rte & (RTE_VECTOR | RTE_DELMODE));
	if (rte & RTE_LEVEL)
		*data |= MSI_DATA_LEVEL | MSI_DATA_ASSERT;
}

void ioapic_init(struct ioapic *io, void (*send_msi)(void *, u64, u32),
		 void (*route_changed)(void *, unsigned, u64, u32, bool), void *ctx)
{
	memset(io, 0, sizeof(*io));
	pthread_mutex_init(&io->lock, NULL);
	/* Every pin starts masked, and the board starts with no routes for them. */
	for (unsigned i = 0; i < IOAPIC_PINS; i++) {
		io->redir[i] = RTE_MASKED;
		io->routed[i] = RTE_MASKED;
	}
	io->send_msi = send_msi;
	io->route_changed = route_changed;
	io->ctx = ctx;
}

static void flush(struct ioapic *io, const struct msi_batch *b)
{
	for (unsigned i = 0; i < b->n; i++)
		if (io->send_msi)
			io->send_msi(io->ctx, b->m[i].addr, b->m[i].data);
}

/* Lock held. Queues the pin's interrupt if its entry lets it through now. */
static void service(struct ioapic *io, unsigned pin, struct msi_batch *b)
{
	u64 rte = io->redir[pin];

	if (rte & RTE_MASKED)
		return;
	if (rte & RTE_LEVEL) {
		if (rte & RTE_REMOTE_IRR)
			return;
		io->redir[pin] = rte | RTE_REMOTE_IRR;
	}
	ioapic_rte_to_msi(rte, &b->m[b->n].addr, &b->m[b->n].data);
	b->n++;
}

/* Lock held. Mirrors the pin's routing if it changed since last reported. */
static void report_route(struct ioapic *io, unsigned pin)
{
	u64 rte = io->redir[pin];
	u64 want = rte & RTE_MASKED ? RTE_MASKED : rte & RTE_ROUTE;
	u64 addr;
	u32 data;

	if (want == io->routed[pin])
		return;
	/* Keep the route (and KVM's EOI exits) until the outstanding EOI arrives. */
	if ((rte & RTE_MASKED) && (rte & RTE_REMOTE_IRR))
		return;
	io->routed[pin] = want;
	if (!io->route_changed)
		return;
	ioapic_rte_to_msi(rte, &addr, &data);
	io->route_changed(io->ctx, pin, addr, data, (rte & RTE_MASKED) != 0);
}

void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
	struct msi_batch b = {.n = 0};
	u32 bit;
	bool was;

	if (pin >= IOAPIC_PINS)
		return;
	bit = 1u << pin;
	pthread_mutex_lock(&io->lock);
	was = (io->irr & bit) != 0;
	if (level)
		io->irr |= bit;
	else
		io->irr &= ~bit;
	if (level && ((io->redir[pin] & RTE_LEVEL) || !was))
		service(io, pin, &b);
	pthread_mutex_unlock(&io->lock);
	flush(io, &b);
}

void ioapic_eoi(struct ioapic *io, u32 vector)
{
	struct msi_batch b = {.n = 0};

	if (vector > RTE_VECTOR)
		return;
	pthread_mutex_lock(&io->lock);
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		u64 rte = io->redir[pin];

		if ((rte & RTE_VECTOR) != vector || !(rte & RTE_LEVEL) || !(rte & RTE_REMOTE_IRR))
			continue;
		io->redir[pin] = rte & ~RTE_REMOTE_IRR;
		report_route(io, pin); /* a mask deferred until this EOI */
		if (io->irr & (1u << pin))
			service(io, pin, &b);
	}
	pthread_mutex_unlock(&io->lock);
	flush(io, &b);
}

/* Lock held. */
static u32 read_indirect(const struct ioapic *io)
{
	u32 sel = io->ioregsel;

	switch (sel) {
	case IND_ID:
	case IND_ARB:
		return (io->id & 0xf) << 24;
	case IND_VER:
		return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
	}
	if (sel >= IND_REDTBL && sel < IND_REDTBL_END) {
		u64 rte = io->redir[(sel - IND_REDTBL) / 2];
		return sel & 1 ? (u32)(rte >> 32) : (u32)rte;
	}
	return 0;
}

/* Lock held. */
static void write_indirect(struct ioapic *io, u32 val, struct msi_batch *b)
{
	u32 sel = io->ioregsel;
	unsigned pin;
	u64 old, rte;

	if (sel == IND_ID) {
		io->id = (val >> 24) & 0xf;
		return;
	}
	if (sel < IND_REDTBL || sel >= IND_REDTBL_END)
		return; /* version, arbitration and unimplemented registers are read-only */
	pin = (sel - IND_REDTBL) / 2;
	old = io->redir[pin];
	if (sel & 1)
		rte = (old & 0xffffffffULL) | (u64)val << 32;
	else
		rte = (old & ~0xffffffffULL) | val;
	rte = (rte & RTE_WRITABLE) | (old & (RTE_DELIVS | RTE_REMOTE_IRR));
	/* Guests reset a stuck remote IRR by switching the pin to edge and back. */
	if (!(rte & RTE_LEVEL))
		rte &= ~RTE_REMOTE_IRR;
	io->redir[pin] = rte;
	report_route(io, pin);
	/* A level line that is high is delivered once unmasked. */
	if ((rte & RTE_LEVEL) && (io->irr & (1u << pin)))
		service(io, pin, b);
}

static void ioapic_mmio_read(void *opaque, u64 offset, void *data, u32 len)
{
	struct ioapic *io = opaque;
	u32 val = 0;

	if (len == 0 || len > 8)
		return;
	memset(data, 0, len);
	pthread_mutex_lock(&io->lock);
	if (offset == REG_IOREGSEL && len <= 4)
		val = io->ioregsel;
	else if (offset == REG_IOWIN && len == 4)
		val = read_indirect(io);
	pthread_mutex_unlock(&io->lock);
	for (u32 i = 0; i < len && i < 4; i++)
		((u8 *)data)[i] = (u8)(val >> (8 * i));
}

static void ioapic_mmio_write(void *opaque, u64 offset, const void *data, u32 len)
{
	struct ioapic *io = opaque;
	struct msi_batch b = {.n = 0};
	u32 val;

	if (len == 0 || len > 8)
		return;
	/* The select register is 8 bits wide; any access size reaching it sets it. */
	if (offset == REG_IOREGSEL && len <= 4) {
		pthread_mutex_lock(&io->lock);
		io->ioregsel = *(const u8 *)data;
		pthread_mutex_unlock(&io->lock);
		return;
	}
	if (len != 4)
		return;
	val = get_le32(data);
	if (offset == REG_EOI) {
		ioapic_eoi(io, val & 0xff);
		return;
	}
	if (offset != REG_IOWIN)
		return;
	pthread_mutex_lock(&io->lock);
	write_indirect(io, val, &b);
	pthread_mutex_unlock(&io->lock);
	flush(io, &b);
}

const struct bus_ops ioapic_mmio_ops = {
    .read = ioapic_mmio_read,
    .write = ioapic_mmio_write,
};
