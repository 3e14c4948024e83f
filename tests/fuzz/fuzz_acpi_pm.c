// SPDX-License-Identifier: MIT
/*
 * Drives the ACPI PM device with a stream of port accesses (any of its
 * ports, any offset and size the bus lets through), power-button presses
 * and reset-port forwarding, and checks the register invariants after each
 * step: the SCI level follows (status & enable), SCI_EN reads 1, SLP_EN and
 * RST_CPU read 0, and only the power-button status bit can ever be set.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "devices/acpi_pm.h"

struct sink {
	bool level;
	unsigned long sleeps, resets;
};

static void fz_set(void *ctx, u32 gsi, bool level)
{
	struct sink *s = ctx;

	if (gsi != IRQ_SCI || level == s->level)
		abort();	/* the device only reports changes */
	s->level = level;
}

static void fz_msi(void *ctx, u64 addr, u32 data)
{
	abort();
}

static void fz_sleep(void *ctx, unsigned slp_typ)
{
	if (slp_typ > 7)
		abort();
	((struct sink *)ctx)->sleeps++;
}

static void fz_reset(void *ctx)
{
	((struct sink *)ctx)->resets++;
}

static const struct irq_ops fz_irq = {fz_set, fz_msi};
static const struct acpi_pm_ops fz_ops = {fz_sleep, fz_reset};

static void check(struct acpi_pm *pm, struct bus *pio, struct sink *s)
{
	u8 b[4];

	if (s->level != ((pm->sts & pm->en) != 0))
		abort();
	if (pm->sts & ~ACPI_PM1_PWRBTN_STS)
		abort();
	bus_read(pio, PORT_PM1A_CNT, b, 2);
	if (!(b[0] & ACPI_PM1_SCI_EN) || (get_le16(b) & ACPI_PM1_SLP_EN))
		abort();
	if (acpi_pm_reset_control_read(pm) & ACPI_RST_CNT_RST_CPU)
		abort();
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	static const u16 ports[] = {PORT_PM1A_EVT, PORT_PM1A_CNT, PORT_PM_TMR, PORT_RESET};
	struct sink s = {0};
	struct irq_line sci = {&fz_irq, &s, IRQ_SCI};
	struct acpi_pm *pm;
	struct bus pio;
	struct err e;

	bus_init(&pio, "pio");
	if (acpi_pm_create(&pio, &sci, &fz_ops, &s, &pm, &e) < 0)
		abort();
	/* Each step: op byte (port, offset, size, kind) and a 32-bit value. */
	while (size >= 5) {
		u8 op = data[0];
		u32 v = get_le32(data + 1);
		u16 port = (u16)(ports[op & 3] + ((op >> 2) & 3));
		u32 len = 1u << ((op >> 4) & 3);
		u8 buf[8] = {0};

		data += 5;
		size -= 5;
		switch (op >> 6) {
		case 0:
			memcpy(buf, &v, 4);
			bus_write(&pio, port, buf, len);
			break;
		case 1:
			bus_read(&pio, port, buf, len);
			break;
		case 2:
			acpi_pm_power_button(pm);
			break;
		default:
			if (v & 1)
				acpi_pm_reset_control_write(pm, (u8)(v >> 8));
			else
				acpi_pm_release_reset_port(pm);
			break;
		}
		check(pm, &pio, &s);
	}
	acpi_pm_destroy(pm);
	if (pio.n)
		abort();
	bus_destroy(&pio);
	return 0;
}
