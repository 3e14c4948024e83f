// SPDX-License-Identifier: MIT
/*
 * IOAPIC delivery with the UART's transmit-empty interrupt on pin 4: edge
 * and level entries, masking, remote IRR and EOI. Run with the in-kernel
 * irqchip and with merak's userspace IOAPIC (split irqchip).
 */
#include "lib/guest.h"

const char test_name[] = "ioapic";

#define VEC_EDGE  (VEC_TEST_BASE + 2)
#define VEC_LEVEL (VEC_TEST_BASE + 3)

static void ack_uart(u32 vector)
{
	/* Reading IIR acknowledges THRE; turning THRI off keeps it quiet. */
	(void)inb(PORT_COM1 + 2);
	outb(PORT_COM1 + 1, 0);
}

static void wait_irqs(unsigned idx, u32 n)
{
	for (unsigned i = 0; i < 100000 && irq_count[idx] < n; i++) {
		sti();
		cpu_relax();
	}
	cli();
}

void test_main(const struct boot_info *bi)
{
	u32 ver = ioapic_read(1), dest = lapic_id();
	u64 rte;

	CHECK((ver & 0xff) == 0x20 || (ver & 0xff) == 0x11, "IOAPIC version 0x%x", ver);
	CHECK(((ver >> 16) & 0xff) == 23, "IOAPIC has %u pins", ((ver >> 16) & 0xff) + 1);
	lapic_enable();
	irq_set_hook(VEC_EDGE, ack_uart);
	irq_set_hook(VEC_LEVEL, ack_uart);

	/* Both halves of an entry read back. */
	ioapic_write_rte(4, VEC_EDGE | RTE_MASKED | ((u64)dest << 56));
	rte = ioapic_read_rte(4);
	CHECK((rte & 0xff) == VEC_EDGE && (rte & RTE_MASKED) && (rte >> 56) == dest,
	      "RTE reads back 0x%lx", rte);

	/* Masked: no delivery. */
	outb(PORT_COM1 + 1, 0x02);
	wait_irqs(2, 1);
	CHECK(irq_count[2] == 0, "delivered while masked");
	outb(PORT_COM1 + 1, 0);
	(void)inb(PORT_COM1 + 2);

	/* Edge, unmasked: one interrupt per rising edge. */
	ioapic_write_rte(4, VEC_EDGE | ((u64)dest << 56));
	outb(PORT_COM1 + 1, 0x02);
	wait_irqs(2, 1);
	CHECK(irq_count[2] == 1, "edge: %u interrupts", irq_count[2]);
	outb(PORT_COM1 + 1, 0x02);
	wait_irqs(2, 2);
	CHECK(irq_count[2] == 2, "second edge: %u interrupts", irq_count[2]);

	/* Level: delivered while the line is high, remote IRR until EOI. */
	ioapic_write_rte(4, VEC_LEVEL | RTE_LEVEL | ((u64)dest << 56));
	outb(PORT_COM1 + 1, 0x02);
	wait_irqs(3, 1);
	CHECK(irq_count[3] == 1, "level: %u interrupts", irq_count[3]);
	rte = ioapic_read_rte(4);
	CHECK(!(rte & (1 << 14)), "remote IRR still set after EOI (0x%lx)", rte);

	/* Level while masked, then unmasked with the line still high: delivered. */
	ioapic_write_rte(4, VEC_LEVEL | RTE_LEVEL | RTE_MASKED | ((u64)dest << 56));
	outb(PORT_COM1 + 1, 0x02);
	wait_irqs(3, 2);
	CHECK(irq_count[3] == 1, "level delivered while masked");
	ioapic_write_rte(4, VEC_LEVEL | RTE_LEVEL | ((u64)dest << 56));
	wait_irqs(3, 2);
	CHECK(irq_count[3] == 2, "pending level not delivered on unmask (%u)", irq_count[3]);
	ioapic_write_rte(4, RTE_MASKED);
	gprintf("ioapic: edge %u, level %u interrupts\n", irq_count[2], irq_count[3]);
}
