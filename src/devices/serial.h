/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_SERIAL_H
#define MERAK_DEVICES_SERIAL_H

/* A 16550A-compatible UART (8250 family), as Linux's 8250 driver expects. */
#include <linux/serial_reg.h>

#include "util/err.h"
#include "vm/bus.h"
#include "vm/irq.h"
#include "devices/console_io.h"

struct serial;

int serial_create(struct bus *pio, u16 base, const struct irq_line *irq, struct console_io *io,
		  struct serial **out, struct err *e);
/* Bytes from the host side (the console's input thread). */
void serial_receive(void *serial, const u8 *buf, size_t len);
void serial_destroy(struct serial *s);

/* Registers and bits: <linux/serial_reg.h>, which lacks a name for IIR's "FIFOs enabled". */
#define UART_IIR_FIFO_ENABLED 0xc0

#endif
