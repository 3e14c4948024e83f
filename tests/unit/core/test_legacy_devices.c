// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/layout.h"
#include "devices/cmos.h"
#include "devices/console_io.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/serial.h"

struct irq_probe {
	bool level;
	unsigned raises;
};

static void probe_set(void *ctx, u32 gsi, bool level)
{
	struct irq_probe *p = ctx;

	if (level && !p->level)
		p->raises++;
	p->level = level;
}

static const struct irq_ops probe_ops = {.set_level = probe_set};

static u8 inb(struct bus *b, u16 port)
{
	u8 v;
	bus_read(b, port, &v, 1);
	return v;
}

static void outb(struct bus *b, u16 port, u8 v)
{
	bus_write(b, port, &v, 1);
}

struct serial_fixture {
	struct bus pio;
	struct serial *s;
	struct console_io *io;
	struct irq_probe irq;
	char path[64];
};

static int serial_setup(void **state)
{
	struct serial_fixture *f = calloc(1, sizeof(*f));
	struct irq_line line = {&probe_ops, &f->irq, IRQ_COM1};
	struct chardev_config cc = {.mode = CHARDEV_FILE, .path = f->path};
	struct err e;
	int fd;

	strcpy(f->path, "/tmp/merak-serial-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	bus_init(&f->pio, "pio");
	assert_int_equal(console_io_open(&cc, "console output file", &f->io, &e), 0);
	assert_int_equal(serial_create(&f->pio, PORT_COM1, &line, f->io, &f->s, &e), 0);
	*state = f;
	return 0;
}

static int serial_teardown(void **state)
{
	struct serial_fixture *f = *state;

	serial_destroy(f->s);
	console_io_close(f->io);
	bus_destroy(&f->pio);
	unlink(f->path);
	free(f);
	return 0;
}

static void test_serial_transmit(void **state)
{
	struct serial_fixture *f = *state;
	char buf[16] = {0};
	int fd;

	assert_true(inb(&f->pio, PORT_COM1 + UART_LSR) & UART_LSR_THRE);
	for (const char *p = "hello\n"; *p; p++)
		outb(&f->pio, PORT_COM1 + UART_TX, (u8)*p);
	fd = open(f->path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 6);
	close(fd);
	assert_string_equal(buf, "hello\n");
	/* No interrupt without IER. */
	assert_false(f->irq.level);
}

static void test_serial_divisor_and_scratch(void **state)
{
	struct serial_fixture *f = *state;

	outb(&f->pio, PORT_COM1 + UART_LCR, UART_LCR_DLAB | 3);
	outb(&f->pio, PORT_COM1 + UART_DLL, 0x01);
	outb(&f->pio, PORT_COM1 + UART_DLM, 0x02);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_DLL), 0x01);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_DLM), 0x02);
	outb(&f->pio, PORT_COM1 + UART_LCR, 3);
	/* With DLAB clear, offset 1 is IER again (still 0). */
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_IER), 0);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_LCR), 3);
	outb(&f->pio, PORT_COM1 + UART_SCR, 0xa5);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_SCR), 0xa5);
}

static void test_serial_receive_interrupt(void **state)
{
	struct serial_fixture *f = *state;

	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_IIR) & 0x0f, UART_IIR_NO_INT);
	serial_receive(f->s, (const u8 *)"ab", 2);
	/* Data waits, but no interrupt until RDI is enabled. */
	assert_true(inb(&f->pio, PORT_COM1 + UART_LSR) & UART_LSR_DR);
	assert_false(f->irq.level);
	outb(&f->pio, PORT_COM1 + UART_IER, UART_IER_RDI);
	assert_true(f->irq.level);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_IIR) & 0x0f, UART_IIR_RDI);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_RX), 'a');
	assert_true(f->irq.level);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_RX), 'b');
	/* FIFO drained: DR clear, line low. */
	assert_false(inb(&f->pio, PORT_COM1 + UART_LSR) & UART_LSR_DR);
	assert_false(f->irq.level);
	assert_int_equal(f->irq.raises, 1);
}

static void test_serial_thre_interrupt(void **state)
{
	struct serial_fixture *f = *state;

	/* Enabling THRI with an empty THR raises the interrupt at once. */
	outb(&f->pio, PORT_COM1 + UART_IER, UART_IER_THRI);
	assert_true(f->irq.level);
	/* Reading IIR that reports THRE acknowledges it. */
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_IIR) & 0x0f, UART_IIR_THRI);
	assert_false(f->irq.level);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_IIR) & 0x0f, UART_IIR_NO_INT);
	/* Each transmitted byte empties THR again: one more interrupt. */
	outb(&f->pio, PORT_COM1 + UART_TX, 'x');
	assert_true(f->irq.level);
	assert_int_equal(f->irq.raises, 2);
	/* RX data takes priority over THRE in IIR. */
	outb(&f->pio, PORT_COM1 + UART_IER, UART_IER_THRI | UART_IER_RDI);
	serial_receive(f->s, (const u8 *)"z", 1);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_IIR) & 0x0f, UART_IIR_RDI);
}

static void test_serial_loopback_and_overrun(void **state)
{
	struct serial_fixture *f = *state;
	static u8 big[5000];

	outb(&f->pio, PORT_COM1 + UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2);
	outb(&f->pio, PORT_COM1 + UART_TX, 0x42);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_RX), 0x42);
	/* Modem outputs loop to inputs: RTS -> CTS, OUT2 -> DCD. */
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_MSR) & 0xf0,
			 UART_MSR_CTS | UART_MSR_DCD);
	/* Host input is ignored while looping back. */
	serial_receive(f->s, (const u8 *)"q", 1);
	assert_false(inb(&f->pio, PORT_COM1 + UART_LSR) & UART_LSR_DR);
	outb(&f->pio, PORT_COM1 + UART_MCR, UART_MCR_OUT2);
	/* Overflowing the FIFO sets OE, which clears on LSR read. */
	serial_receive(f->s, big, sizeof(big));
	assert_true(inb(&f->pio, PORT_COM1 + UART_LSR) & UART_LSR_OE);
	assert_false(inb(&f->pio, PORT_COM1 + UART_LSR) & UART_LSR_OE);
	/* FCR can clear the receive FIFO. */
	outb(&f->pio, PORT_COM1 + UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR);
	assert_false(inb(&f->pio, PORT_COM1 + UART_LSR) & UART_LSR_DR);
	assert_int_equal(inb(&f->pio, PORT_COM1 + UART_IIR) & 0xc0, UART_IIR_FIFO_ENABLED);
}

static int resets;
static void count_reset(void *ctx)
{
	resets++;
}

static void test_i8042(void **state)
{
	struct bus pio;
	struct i8042 *k;
	struct err e;

	bus_init(&pio, "pio");
	resets = 0;
	assert_int_equal(i8042_create(&pio, count_reset, NULL, &k, &e), 0);
	outb(&pio, PORT_I8042_CMD, 0xaa);
	assert_true(inb(&pio, PORT_I8042_CMD) & 1);
	assert_int_equal(inb(&pio, PORT_I8042_DATA), 0x55);
	assert_false(inb(&pio, PORT_I8042_CMD) & 1);
	/* Write then read back the configuration byte. */
	outb(&pio, PORT_I8042_CMD, 0x60);
	outb(&pio, PORT_I8042_DATA, 0x47);
	outb(&pio, PORT_I8042_CMD, 0x20);
	assert_int_equal(inb(&pio, PORT_I8042_DATA), 0x47);
	assert_int_equal(resets, 0);
	/* Pulse reset, and the output-port route with bit 0 clear. */
	outb(&pio, PORT_I8042_CMD, 0xfe);
	assert_int_equal(resets, 1);
	outb(&pio, PORT_I8042_CMD, 0xd1);
	outb(&pio, PORT_I8042_DATA, 0x01);
	assert_int_equal(resets, 1);
	outb(&pio, PORT_I8042_CMD, 0xd1);
	outb(&pio, PORT_I8042_DATA, 0x00);
	assert_int_equal(resets, 2);
	i8042_destroy(k);
	bus_destroy(&pio);
}

static u32 exit_value = 0xdeadbeef;
static void record_exit(void *ctx, u32 v)
{
	exit_value = v;
}

static void test_debug_exit(void **state)
{
	struct bus pio;
	struct debug_exit *d;
	struct err e;
	u32 v = 0x1234;

	bus_init(&pio, "pio");
	assert_int_equal(debug_exit_create(&pio, record_exit, NULL, &d, &e), 0);
	assert_true(bus_write(&pio, PORT_DEBUG_EXIT, &v, 4));
	assert_int_equal(exit_value, 0x1234);
	outb(&pio, PORT_DEBUG_EXIT, 7);
	assert_int_equal(exit_value, 7);
	debug_exit_destroy(d);
	assert_int_equal(pio.n, 0);	/* its port is gone with it */
	bus_destroy(&pio);
}

static time_t fixed_time(void)
{
	return 1700000000; /* 2023-11-14 22:13:20 UTC, a Tuesday */
}

static u8 cmos_get(struct bus *pio, u8 reg)
{
	outb(pio, CMOS_PORT_INDEX, reg);
	return inb(pio, CMOS_PORT_DATA);
}

static void test_cmos(void **state)
{
	struct bus pio;
	struct cmos *c;
	struct err e;

	bus_init(&pio, "pio");
	/* 512 MiB below 4 GiB, 1 GiB above. */
	assert_int_equal(cmos_create(&pio, 512ULL << 20, 1ULL << 30, 4, fixed_time, &c, &e), 0);
	assert_int_equal(cmos_get(&pio, 0x00), 0x20);	/* BCD seconds */
	assert_int_equal(cmos_get(&pio, 0x02), 0x13);
	assert_int_equal(cmos_get(&pio, 0x04), 0x22);
	assert_int_equal(cmos_get(&pio, 0x06), 0x03);	/* Tuesday = 3 */
	assert_int_equal(cmos_get(&pio, 0x07), 0x14);
	assert_int_equal(cmos_get(&pio, 0x08), 0x11);
	assert_int_equal(cmos_get(&pio, 0x09), 0x23);
	assert_int_equal(cmos_get(&pio, 0x32), 0x20);
	/* Binary mode, 12-hour clock: 22h is 10 PM. */
	outb(&pio, CMOS_PORT_INDEX, 0x0b);
	outb(&pio, CMOS_PORT_DATA, 0x04);
	assert_int_equal(cmos_get(&pio, 0x04), 0x80 | 10);
	assert_int_equal(cmos_get(&pio, 0x09), 23);
	/* Battery good. */
	assert_int_equal(cmos_get(&pio, 0x0d), 0x80);
	/* Memory size registers: (512 - 16) MiB / 64 KiB = 7936 = 0x1f00. */
	assert_int_equal(cmos_get(&pio, 0x34), 0x00);
	assert_int_equal(cmos_get(&pio, 0x35), 0x1f);
	/* 1 GiB above 4 GiB in 64 KiB units = 0x4000. */
	assert_int_equal(cmos_get(&pio, 0x5b), 0x00);
	assert_int_equal(cmos_get(&pio, 0x5c), 0x40);
	assert_int_equal(cmos_get(&pio, 0x5d), 0x00);
	assert_int_equal(cmos_get(&pio, 0x5f), 3);
	/* Extended memory is capped at 0xffff KiB. */
	assert_int_equal(cmos_get(&pio, 0x17), 0xff);
	assert_int_equal(cmos_get(&pio, 0x18), 0xff);
	/* NVRAM bytes are writable; the clock is not; index bit 7 (NMI) is masked. */
	outb(&pio, CMOS_PORT_INDEX, 0x80 | 0x40);
	outb(&pio, CMOS_PORT_DATA, 0x5a);
	assert_int_equal(cmos_get(&pio, 0x40), 0x5a);
	outb(&pio, CMOS_PORT_INDEX, 0x00);
	outb(&pio, CMOS_PORT_DATA, 0x59);
	assert_int_equal(cmos_get(&pio, 0x00), 20);
	cmos_destroy(c);
	bus_destroy(&pio);
}

static time_t clock_value;

static time_t settable_time(void)
{
	return clock_value;
}

/* The RTC's own calendar agrees with the C library's across leap rules. */
static void test_cmos_calendar(void **state)
{
	static const time_t times[] = {
	    0,		/* 1970-01-01, a Thursday */
	    951782400,	/* 2000-02-29: a leap day in a year divisible by 400 */
	    951868799,	/* 2000-03-01 23:59:59 */
	    1709164800, /* 2024-02-29 */
	    4107542400, /* 2100-03-01: 2100 is not a leap year */
	    4102444799, /* 2099-12-31 23:59:59 */
	    253402300799, /* 9999-12-31 23:59:59 */
	};
	struct bus pio;
	struct cmos *c;
	struct err e;

	bus_init(&pio, "pio");
	assert_int_equal(cmos_create(&pio, 64ULL << 20, 0, 1, settable_time, &c, &e), 0);
	/* Binary, 24-hour. */
	outb(&pio, CMOS_PORT_INDEX, 0x0b);
	outb(&pio, CMOS_PORT_DATA, 0x06);
	for (int i = 0; i < (int)(sizeof(times) / sizeof(times[0])) + 400; i++) {
		struct tm tm;

		/* The listed instants, then one every 97 days and 3671 s from 1970 to 2080. */
		clock_value = i < (int)(sizeof(times) / sizeof(times[0]))
				  ? times[i]
				  : (time_t)(i - 7) * (86400 * 97 + 3671);
		assert_non_null(gmtime_r(&clock_value, &tm));
		assert_int_equal(cmos_get(&pio, 0x00), tm.tm_sec);
		assert_int_equal(cmos_get(&pio, 0x02), tm.tm_min);
		assert_int_equal(cmos_get(&pio, 0x04), tm.tm_hour);
		assert_int_equal(cmos_get(&pio, 0x06), tm.tm_wday + 1);
		assert_int_equal(cmos_get(&pio, 0x07), tm.tm_mday);
		assert_int_equal(cmos_get(&pio, 0x08), tm.tm_mon + 1);
		assert_int_equal(cmos_get(&pio, 0x09), (tm.tm_year + 1900) % 100);
		assert_int_equal(cmos_get(&pio, 0x32), (tm.tm_year + 1900) / 100);
	}
	cmos_destroy(c);
	bus_destroy(&pio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_serial_transmit, serial_setup, serial_teardown),
		cmocka_unit_test_setup_teardown(test_serial_divisor_and_scratch, serial_setup,
						serial_teardown),
		cmocka_unit_test_setup_teardown(test_serial_receive_interrupt, serial_setup,
						serial_teardown),
		cmocka_unit_test_setup_teardown(test_serial_thre_interrupt, serial_setup,
						serial_teardown),
		cmocka_unit_test_setup_teardown(test_serial_loopback_and_overrun, serial_setup,
						serial_teardown),
		cmocka_unit_test(test_i8042),
		cmocka_unit_test(test_debug_exit),
		cmocka_unit_test(test_cmos),
		cmocka_unit_test(test_cmos_calendar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
