// SPDX-License-Identifier: MIT
/* The ACPI PM device, driven through the port-I/O bus as a guest would. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "devices/acpi_pm.h"

struct probe {
	bool level;
	unsigned raises, lowers, calls;
	u32 gsi;
	unsigned sleeps, last_slp_typ, resets;
};

static void probe_set(void *ctx, u32 gsi, bool level)
{
	struct probe *p = ctx;

	p->calls++;
	p->gsi = gsi;
	if (level && !p->level)
		p->raises++;
	if (!level && p->level)
		p->lowers++;
	p->level = level;
}

static const struct irq_ops probe_ops = {.set_level = probe_set};

static void on_sleep(void *ctx, unsigned slp_typ)
{
	struct probe *p = ctx;

	p->sleeps++;
	p->last_slp_typ = slp_typ;
}

static void on_reset(void *ctx)
{
	((struct probe *)ctx)->resets++;
}

static const struct acpi_pm_ops ops = {on_sleep, on_reset};

struct fixture {
	struct bus pio;
	struct acpi_pm *pm;
	struct probe p;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line sci;
	struct err e;

	bus_init(&f->pio, "pio");
	sci = (struct irq_line){&probe_ops, &f->p, IRQ_SCI};
	if (acpi_pm_create(&f->pio, &sci, &ops, &f->p, &f->pm, &e) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	acpi_pm_destroy(f->pm);
	assert_int_equal(f->pio.n, 0); /* every range unregistered */
	bus_destroy(&f->pio);
	free(f);
	return 0;
}

static u32 in(struct fixture *f, u16 port, u32 len)
{
	u8 b[4] = {0};

	assert_true(bus_read(&f->pio, port, b, len));
	return get_le32(b);
}

static void out(struct fixture *f, u16 port, u32 len, u32 v)
{
	u8 b[4];

	put_le32(b, v);
	assert_true(bus_write(&f->pio, port, b, len));
}

#define STS PORT_PM1A_EVT
#define EN  (PORT_PM1A_EVT + 2)
#define CNT PORT_PM1A_CNT

static void test_power_button_disabled(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(in(f, STS, 2), 0);
	acpi_pm_power_button(f->pm);
	assert_int_equal(in(f, STS, 2), ACPI_PM1_PWRBTN_STS);
	/* Not enabled: no SCI. */
	assert_int_equal(f->p.raises, 0);
	assert_false(f->p.level);
	/* Enabling with the status pending raises it now. */
	out(f, EN, 2, ACPI_PM1_PWRBTN_EN);
	assert_int_equal(in(f, EN, 2), ACPI_PM1_PWRBTN_EN);
	assert_true(f->p.level);
	assert_int_equal(f->p.gsi, IRQ_SCI);
	/* Disabling lowers it again; the status stays. */
	out(f, EN, 2, 0);
	assert_false(f->p.level);
	assert_int_equal(in(f, STS, 2), ACPI_PM1_PWRBTN_STS);
}

static void test_power_button_enabled_and_w1c(void **state)
{
	struct fixture *f = *state;

	out(f, EN, 2, ACPI_PM1_PWRBTN_EN);
	assert_int_equal(f->p.calls, 0); /* nothing pending: the line is not touched */
	acpi_pm_power_button(f->pm);
	assert_true(f->p.level);
	assert_int_equal(f->p.raises, 1);
	/* A second press while pending keeps one level, no new edge. */
	acpi_pm_power_button(f->pm);
	assert_int_equal(f->p.raises, 1);
	assert_int_equal(f->p.calls, 1);
	/* Writing 0 does not clear; writing other bits does not clear. */
	out(f, STS, 2, 0);
	out(f, STS, 2, ACPI_PM1_WAK_STS | ACPI_PM1_TMR_STS);
	assert_int_equal(in(f, STS, 2), ACPI_PM1_PWRBTN_STS);
	assert_true(f->p.level);
	/* Write 1 to clear lowers the SCI. */
	out(f, STS, 2, ACPI_PM1_PWRBTN_STS);
	assert_int_equal(in(f, STS, 2), 0);
	assert_false(f->p.level);
	assert_int_equal(f->p.lowers, 1);
	/* The 32-bit view of the event block: status low, enable high. */
	acpi_pm_power_button(f->pm);
	assert_int_equal(in(f, STS, 4), ACPI_PM1_PWRBTN_STS | ACPI_PM1_PWRBTN_EN << 16);
	/* A byte write to the status high byte clears it too; the enable is untouched. */
	out(f, STS + 1, 1, ACPI_PM1_PWRBTN_STS >> 8);
	assert_int_equal(in(f, STS, 4), ACPI_PM1_PWRBTN_EN << 16);
	assert_false(f->p.level);
	/* A 32-bit write clears status and sets enable in one go. */
	acpi_pm_power_button(f->pm);
	out(f, STS, 4, ACPI_PM1_PWRBTN_STS);
	assert_int_equal(in(f, STS, 4), 0);
	assert_false(f->p.level);
}

static void test_control_and_sleep(void **state)
{
	struct fixture *f = *state;

	/* SCI_EN is always set: no SMM to hand over from. */
	assert_int_equal(in(f, CNT, 2), ACPI_PM1_SCI_EN);
	out(f, CNT, 2, 0);
	assert_int_equal(in(f, CNT, 2) & ACPI_PM1_SCI_EN, ACPI_PM1_SCI_EN);

	/* SLP_TYP alone does nothing (ACPICA writes it first, then SLP_EN). */
	out(f, CNT, 2, ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT);
	assert_int_equal(f->p.sleeps, 0);
	assert_int_equal(in(f, CNT, 2),
			 ACPI_PM1_SCI_EN | ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT);
	out(f, CNT, 2, ACPI_S5_SLP_TYP << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
	assert_int_equal(f->p.sleeps, 1);
	assert_int_equal(f->p.last_slp_typ, ACPI_S5_SLP_TYP);
	/* SLP_EN is write-only. */
	assert_int_equal(in(f, CNT, 2) & ACPI_PM1_SLP_EN, 0);

	/* A byte write to the high byte carries SLP_TYP and SLP_EN as well. */
	out(f, CNT + 1, 1, (3u << 2) | (1u << 5));
	assert_int_equal(f->p.sleeps, 2);
	assert_int_equal(f->p.last_slp_typ, 3);
	/* The low byte alone never sleeps. */
	out(f, CNT, 1, 0xff);
	assert_int_equal(f->p.sleeps, 2);
}

static void test_reset_port(void **state)
{
	struct fixture *f = *state;
	struct err e;

	out(f, PORT_RESET, 1, ACPI_RST_CNT_SYS_RST);
	assert_int_equal(f->p.resets, 0);
	assert_int_equal(in(f, PORT_RESET, 1), ACPI_RST_CNT_SYS_RST);
	out(f, PORT_RESET, 1, 0x06);
	assert_int_equal(f->p.resets, 1);
	out(f, PORT_RESET, 1, 0x0e);
	assert_int_equal(f->p.resets, 2);
	/* RST_CPU reads back 0. */
	assert_int_equal(in(f, PORT_RESET, 1), ACPI_RST_CNT_SYS_RST | ACPI_RST_CNT_FULL_RST);

	/* A PCI host bridge may take 0xCF8-0xCFF and forward 0xCF9. */
	acpi_pm_release_reset_port(f->pm);
	u8 v = 0x06;
	assert_false(bus_write(&f->pio, PORT_RESET, &v, 1));
	assert_int_equal(f->p.resets, 2);
	static const struct bus_ops none = {0};
	assert_int_equal(bus_register(&f->pio, PORT_PCI_CONFIG_ADDR, 8, &none, f, "pci", &e), 0);
	acpi_pm_reset_control_write(f->pm, 0x06);
	assert_int_equal(f->p.resets, 3);
	assert_int_equal(acpi_pm_reset_control_read(f->pm), ACPI_RST_CNT_SYS_RST);
	bus_unregister(&f->pio, PORT_PCI_CONFIG_ADDR, f);
}

#define GPE_STS PORT_GPE0_BLK
#define GPE_EN	(PORT_GPE0_BLK + PORT_GPE0_LEN / 2)
#define HP_BIT	(1u << ACPI_GPE_PCI_HOTPLUG)

static void test_gpe_status_and_enable(void **state)
{
	struct fixture *f = *state;

	/* Reset: nothing pending, nothing enabled, all 16 GPEs writable as ACPICA does it. */
	assert_int_equal(in(f, GPE_STS, 4), 0);
	out(f, GPE_EN, 1, 0xff);
	out(f, GPE_EN + 1, 1, 0xff);
	assert_int_equal(in(f, GPE_EN, 2), 0xffff);
	out(f, GPE_EN, 2, 0);
	assert_int_equal(in(f, GPE_STS, 4), 0);
	assert_int_equal(f->p.calls, 0);

	/* Raised while disabled: status only, no SCI. */
	acpi_pm_gpe_raise(f->pm, ACPI_GPE_PCI_HOTPLUG);
	assert_int_equal(in(f, GPE_STS, 1), HP_BIT);
	assert_false(f->p.level);
	/* Enabling it raises the SCI on the PM1 line (IRQ 9). */
	out(f, GPE_EN, 1, HP_BIT);
	assert_true(f->p.level);
	assert_int_equal(f->p.gsi, IRQ_SCI);
	assert_int_equal(f->p.raises, 1);
	/* A second raise while pending is one level, no new edge. */
	acpi_pm_gpe_raise(f->pm, ACPI_GPE_PCI_HOTPLUG);
	assert_int_equal(f->p.raises, 1);
	/* Writing 0, or other bits, does not clear; write 1 to clear lowers it. */
	out(f, GPE_STS, 1, 0);
	out(f, GPE_STS, 1, 0xfd);
	assert_int_equal(in(f, GPE_STS, 1), HP_BIT);
	assert_true(f->p.level);
	out(f, GPE_STS, 1, HP_BIT);
	assert_int_equal(in(f, GPE_STS, 2), 0);
	assert_false(f->p.level);
	assert_int_equal(f->p.lowers, 1);

	/* The 32-bit view: status low, enable high; a dword write clears and enables at once. */
	acpi_pm_gpe_raise(f->pm, ACPI_GPE_PCI_HOTPLUG);
	assert_int_equal(in(f, GPE_STS, 4), HP_BIT | HP_BIT << 16);
	out(f, GPE_STS, 4, HP_BIT | 0x8000u << 16);
	assert_int_equal(in(f, GPE_STS, 4), 0x8000u << 16);
	assert_false(f->p.level);
	/* Disabling with a status pending lowers the line; the status stays. */
	out(f, GPE_EN, 2, HP_BIT);
	acpi_pm_gpe_raise(f->pm, ACPI_GPE_PCI_HOTPLUG);
	assert_true(f->p.level);
	out(f, GPE_EN, 1, 0);
	assert_false(f->p.level);
	assert_int_equal(in(f, GPE_STS, 1), HP_BIT);
	/* GPEs beyond the block are ignored. */
	acpi_pm_gpe_raise(f->pm, 16);
	acpi_pm_gpe_raise(f->pm, 1000);
	assert_int_equal(in(f, GPE_STS, 4), HP_BIT);
}

/* The SCI is one line for PM1 and GPE0 events: high while either has an enabled status. */
static void test_gpe_shares_the_sci(void **state)
{
	struct fixture *f = *state;

	out(f, EN, 2, ACPI_PM1_PWRBTN_EN);
	out(f, GPE_EN, 1, HP_BIT);
	acpi_pm_power_button(f->pm);
	acpi_pm_gpe_raise(f->pm, ACPI_GPE_PCI_HOTPLUG);
	assert_true(f->p.level);
	assert_int_equal(f->p.raises, 1);
	/* Clearing the power button keeps the line up for the GPE, and the other way round. */
	out(f, STS, 2, ACPI_PM1_PWRBTN_STS);
	assert_true(f->p.level);
	acpi_pm_power_button(f->pm);
	out(f, GPE_STS, 1, HP_BIT);
	assert_true(f->p.level);
	out(f, STS, 2, ACPI_PM1_PWRBTN_STS);
	assert_false(f->p.level);
	assert_int_equal(f->p.raises, 1);
	assert_int_equal(f->p.lowers, 1);
}

static u64 fake_ns;

static u64 fake_clock(void)
{
	return fake_ns;
}

static void test_pm_timer_fake_clock(void **state)
{
	struct fixture *f = *state;

	f->pm->clock_ns = fake_clock;
	f->pm->base_ns = 1000;
	fake_ns = 1000;
	assert_int_equal(in(f, PORT_PM_TMR, 4), 0);
	fake_ns = 1000 + 1000000000ULL; /* one second: 3579545 ticks */
	assert_int_equal(in(f, PORT_PM_TMR, 4), 3579545);
	assert_int_equal(acpi_pm_timer(f->pm), 3579545);
	/* Narrow reads see the byte lanes. */
	assert_int_equal(in(f, PORT_PM_TMR, 2), 3579545 & 0xffff);
	assert_int_equal(in(f, PORT_PM_TMR + 2, 1), (3579545 >> 16) & 0xff);
	/* 32 bits wrap after 2^32 ticks (about 1200 s). */
	fake_ns = 1000 + 1200ULL * 1000000000ULL;
	assert_int_equal(in(f, PORT_PM_TMR, 4), (u32)(1200ULL * 3579545ULL));
	/* No overflow of the arithmetic after years of uptime. */
	fake_ns = 1000 + 100ULL * 365 * 86400 * 1000000000ULL;
	assert_int_equal(in(f, PORT_PM_TMR, 4), (u32)(100ULL * 365 * 86400 * 3579545ULL));
	/* Writes are ignored. */
	out(f, PORT_PM_TMR, 4, 0);
	assert_int_equal(in(f, PORT_PM_TMR, 4), (u32)(100ULL * 365 * 86400 * 3579545ULL));
}

static void test_pm_timer_real_clock(void **state)
{
	struct fixture *f = *state;
	struct timespec ts = {0, 2000000}; /* 2 ms: about 7159 ticks */
	u32 a, b, prev;

	a = in(f, PORT_PM_TMR, 4);
	prev = a;
	for (int i = 0; i < 1000; i++) {
		u32 t = in(f, PORT_PM_TMR, 4);

		assert_true(t >= prev);
		prev = t;
	}
	nanosleep(&ts, NULL);
	b = in(f, PORT_PM_TMR, 4);
	assert_true(b - a >= 7000);
	assert_true(b - a < 3579545); /* well under a second */
}

static void test_init_collision(void **state)
{
	static const struct bus_ops none = {0};
	struct bus pio;
	struct acpi_pm *pm = NULL;
	struct err e;
	int dummy;

	bus_init(&pio, "pio");
	assert_int_equal(bus_register(&pio, PORT_PM_TMR + 2, 1, &none, &dummy, "squatter", &e), 0);
	assert_int_equal(acpi_pm_create(&pio, NULL, &ops, NULL, &pm, &e), -EEXIST);
	assert_null(pm);
	assert_int_equal(e.code, -EEXIST);
	assert_non_null(strstr(e.msg, "ACPI PM: "));
	assert_non_null(strstr(e.msg, "acpi-pm-tmr at 0x608+0x4 overlaps squatter"));
	/* What it had registered before the clash is gone again. */
	assert_int_equal(pio.n, 1);
	bus_destroy(&pio);
}

static void test_no_sci_line(void **state)
{
	struct bus pio;
	struct acpi_pm *pm;
	struct err e;

	/* A board without a wired SCI (NULL) still works. */
	bus_init(&pio, "pio");
	assert_int_equal(acpi_pm_create(&pio, NULL, NULL, NULL, &pm, &e), 0);
	acpi_pm_power_button(pm);
	u8 b[2] = {0x01, 0x01};
	assert_true(bus_write(&pio, PORT_PM1A_EVT + 2, b, 2));
	b[0] = 0;
	b[1] = 0x20;
	assert_true(bus_write(&pio, PORT_PM1A_CNT, b, 2)); /* SLP_EN without ops */
	b[0] = 0x06;
	assert_true(bus_write(&pio, PORT_RESET, b, 1));
	acpi_pm_destroy(pm);
	assert_int_equal(pio.n, 0);
	bus_destroy(&pio);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_power_button_disabled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_power_button_enabled_and_w1c, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_control_and_sleep, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_port, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pm_timer_fake_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pm_timer_real_clock, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gpe_status_and_enable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_gpe_shares_the_sci, setup, teardown),
	    cmocka_unit_test(test_init_collision),
	    cmocka_unit_test(test_no_sci_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
