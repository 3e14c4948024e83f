/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_SERIAL_H
#define MERAK_DEVICES_SERIAL_H

/* A 16550A-compatible UART (8250 family), as Linux's 8250 driver expects. */
#include "../util/err.h"
#include "../vm/bus.h"
#include "../vm/irq.h"
#include "console_io.h"

struct serial;

int serial_create(struct bus *pio, u16 base, const struct irq_line *irq, struct console_io *io,
		  struct serial **out, struct err *e);
/* Bytes from the host side (the console's input thread). */
void serial_receive(void *serial, const u8 *buf, size_t len);
void serial_destroy(struct serial *s);

/* Register offsets and bits used by the model and its tests. */
#define UART_RBR 0
#define UART_THR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI  0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_IER_MSI  0x08
#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI	0x00
#define UART_IIR_THRI	0x02
#define UART_IIR_RDI	0x04
#define UART_IIR_RLSI	0x06
#define UART_IIR_FIFO	0xc0
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RCVR 0x02
#define UART_LCR_DLAB 0x80
#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10
#define UART_LSR_DR   0x01
#define UART_LSR_OE   0x02
#define UART_LSR_BI   0x10
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_DCTS 0x01
#define UART_MSR_DDSR 0x02
#define UART_MSR_TERI 0x04
#define UART_MSR_DDCD 0x08
#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80

#endif
