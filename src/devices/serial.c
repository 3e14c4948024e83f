// SPDX-License-Identifier: MIT
/*
 * 16550A UART. Transmit is synchronous (a THR write goes straight to the
 * console back-end), so THR is always empty again by the next access; receive
 * is a FIFO the console's input thread fills. The interrupt output is a level
 * that follows IIR, which on the PC's edge-triggered ISA line gives one edge
 * per batch of work, exactly what the 8250 driver's IIR loop expects.
 */
#include "devices/serial.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RX_FIFO_SIZE 4096 /* deeper than a 16550's 16 bytes so pasted input is not lost */

struct serial {
	pthread_mutex_t lock;
	struct irq_line irq;
	struct console_io *io;
	u8 ier, lcr, mcr, lsr, msr, scr, dll, dlm, fcr;
	bool thr_pending;	/* THRE interrupt pending until IIR read or THR write */
	bool irq_level;
	u8 rx[RX_FIFO_SIZE];
	unsigned rx_head, rx_count;
};

static u8 serial_iir(const struct serial *s)
{
	u8 fifo = (s->fcr & UART_FCR_ENABLE_FIFO) ? UART_IIR_FIFO_ENABLED : 0;

	if ((s->ier & UART_IER_RLSI) && (s->lsr & (UART_LSR_OE | UART_LSR_BI)))
		return fifo | UART_IIR_RLSI;
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return fifo | UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->thr_pending)
		return fifo | UART_IIR_THRI;
	if ((s->ier & UART_IER_MSI) && (s->msr & 0x0f))
		return fifo | UART_IIR_MSI;
	return fifo | UART_IIR_NO_INT;
}

/* Called with the lock held; the line is only touched when its level changes. */
static void serial_update_irq(struct serial *s)
{
	bool level = !(serial_iir(s) & UART_IIR_NO_INT);

	if (level != s->irq_level) {
		s->irq_level = level;
		irq_line_set(&s->irq, level);
	}
}

static void rx_push(struct serial *s, u8 byte)
{
	if (s->rx_count == RX_FIFO_SIZE) {
		s->lsr |= UART_LSR_OE;
		return;
	}
	s->rx[(s->rx_head + s->rx_count) % RX_FIFO_SIZE] = byte;
	s->rx_count++;
	s->lsr |= UART_LSR_DR;
}

static u8 rx_pop(struct serial *s)
{
	u8 byte;

	if (!s->rx_count)
		return 0;
	byte = s->rx[s->rx_head];
	s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
	if (!--s->rx_count)
		s->lsr &= (u8)~UART_LSR_DR;
	return byte;
}

/* In loopback mode the modem outputs feed the modem inputs (16550 data sheet). */
static u8 loopback_msr(const struct serial *s)
{
	u8 m = 0;

	if (s->mcr & UART_MCR_RTS)
		m |= UART_MSR_CTS;
	if (s->mcr & UART_MCR_DTR)
		m |= UART_MSR_DSR;
	if (s->mcr & UART_MCR_OUT1)
		m |= UART_MSR_RI;
	if (s->mcr & UART_MCR_OUT2)
		m |= UART_MSR_DCD;
	return m;
}

static void serial_read(void *opaque, u64 off, void *data, u32 len)
{
	struct serial *s = opaque;
	u8 v = 0;

	memset(data, 0, len);
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RX:
		v = (s->lcr & UART_LCR_DLAB) ? s->dll : rx_pop(s);
		break;
	case UART_IER:
		v = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		v = serial_iir(s);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if ((v & 0x0f) == UART_IIR_THRI)
			s->thr_pending = false;
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		v = s->lsr;
		s->lsr &= (u8)~(UART_LSR_OE | UART_LSR_BI);
		break;
	case UART_MSR:
		v = (s->mcr & UART_MCR_LOOP) ? (u8)((s->msr & 0x0f) | loopback_msr(s)) : s->msr;
		s->msr &= 0xf0;	/* delta bits clear on read */
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	*(u8 *)data = v;
}

static void serial_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct serial *s = opaque;
	u8 v = *(const u8 *)data;
	bool emit = false;

	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_TX:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = v;
			break;
		}
		if (s->mcr & UART_MCR_LOOP)
			rx_push(s, v);
		else
			emit = true;
		/* Transmission is instantaneous: THR is empty again at once. */
		s->thr_pending = true;
		s->lsr |= UART_LSR_THRE | UART_LSR_TEMT;
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* Enabling THRI while THR is empty raises the interrupt at once. */
		if (!(s->ier & UART_IER_THRI) && (v & UART_IER_THRI))
			s->thr_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_FCR:
		s->fcr = v & (UART_FCR_ENABLE_FIFO | 0xc0);
		if (v & UART_FCR_CLEAR_RCVR) {
			s->rx_head = s->rx_count = 0;
			s->lsr &= (u8)~UART_LSR_DR;
		}
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_LSR:
	case UART_MSR:
		break;	/* read-only on real hardware (factory test only) */
	case UART_SCR:
		s->scr = v;
		break;
	}
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	/* Output outside the lock: a slow terminal must not stall the input thread. */
	if (emit)
		console_io_write(s->io, &v, 1);
}

static const struct bus_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

void serial_receive(void *opaque, const u8 *buf, size_t len)
{
	struct serial *s = opaque;

	pthread_mutex_lock(&s->lock);
	/* While looping back, the UART is disconnected from the outside. */
	if (!(s->mcr & UART_MCR_LOOP))
		for (size_t i = 0; i < len; i++)
			rx_push(s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

int serial_create(struct bus *pio, u16 base, const struct irq_line *irq, struct console_io *io,
		  struct serial **out, struct err *e)
{
	struct serial *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return errf(e, -ENOMEM, "serial: out of memory");
	pthread_mutex_init(&s->lock, NULL);
	s->irq = *irq;
	s->io = io;
	s->lsr = UART_LSR_THRE | UART_LSR_TEMT;
	s->msr = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
	s->mcr = UART_MCR_OUT2;
	s->dll = 0x0c;	/* 9600 baud, as firmware leaves it */
	r = bus_register(pio, base, 8, &serial_ops, s, "serial", e);
	if (r < 0) {
		pthread_mutex_destroy(&s->lock);
		free(s);
		return r;
	}
	*out = s;
	return 0;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}
