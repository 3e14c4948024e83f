// SPDX-License-Identifier: MIT
/*
 * The 16550A as Linux drives it: registers, loopback, and interrupt-driven
 * receive of what the runner pipes into merak's stdin ("ping"), through the
 * IOAPIC (pin 4) to the local APIC.
 */
#include "lib/guest.h"

const char test_name[] = "serial";

#define VEC_RX (VEC_TEST_BASE + 1)

static volatile char rx[16];
static volatile u32 rx_len;

static void on_uart_irq(u32 vector)
{
	/* Drain the FIFO: the interrupt stays pending while data waits. */
	while (inb(PORT_COM1 + 5) & 1) {
		u8 c = inb(PORT_COM1);
		if (rx_len < sizeof(rx))
			rx[rx_len++] = (char)c;
	}
}

void test_main(const struct boot_info *bi)
{
	u8 iir;

	CHECK(inb(PORT_COM1 + 5) & 0x60, "LSR 0x%x: transmitter not empty", inb(PORT_COM1 + 5));
	outb(PORT_COM1 + 7, 0x5a);
	CHECK(inb(PORT_COM1 + 7) == 0x5a, "scratch register");
	/* Divisor latch for 115200 baud, 8N1. */
	outb(PORT_COM1 + 3, 0x80);
	outb(PORT_COM1 + 0, 1);
	outb(PORT_COM1 + 1, 0);
	CHECK(inb(PORT_COM1 + 0) == 1 && inb(PORT_COM1 + 1) == 0, "divisor latch");
	outb(PORT_COM1 + 3, 0x03);
	CHECK(inb(PORT_COM1 + 3) == 0x03, "LCR");
	iir = inb(PORT_COM1 + 2);
	CHECK((iir & 0x0f) == 0x01, "IIR 0x%x with nothing pending", iir);
	/*
	 * The runner types its input only after "waiting for input"; anything
	 * already received is kept, so that the loopback byte is the next one.
	 */
	while ((inb(PORT_COM1 + 5) & 1) && rx_len < sizeof(rx))
		rx[rx_len++] = (char)inb(PORT_COM1);
	/* Loopback: a byte sent comes back, nothing reaches the host. */
	outb(PORT_COM1 + 4, 0x10 | 0x08);
	outb(PORT_COM1, 0xa5);
	CHECK(inb(PORT_COM1 + 5) & 1, "loopback byte not received");
	CHECK(inb(PORT_COM1) == 0xa5, "loopback byte differs");
	outb(PORT_COM1 + 4, 0x08);

	/* Receive interrupt: IOAPIC pin 4 edge -> vector VEC_RX on this CPU. */
	lapic_enable();
	irq_set_hook(VEC_RX, on_uart_irq);
	ioapic_write_rte(4, VEC_RX | ((u64)lapic_id() << 56));
	outb(PORT_COM1 + 1, 0x01);
	gprintf("serial: waiting for input\n");
	/* Checked with interrupts off, so none can slip in between the check and the hlt. */
	for (;;) {
		cli();
		if (rx_len >= 5 || (rx_len >= 4 && rx[rx_len - 1] == '\n'))
			break;
		sti_hlt();
	}
	CHECK(rx_len >= 4 && !gmemcmp((const void *)rx, "ping", 4), "received %u bytes", rx_len);
	CHECK(irq_count[1] >= 1, "no receive interrupt");
	gprintf("serial: received ping with %u interrupt(s)\n", irq_count[1]);
}
