/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_ACPI_PM_H
#define MERAK_DEVICES_ACPI_PM_H

/*
 * The fixed-hardware ACPI power-management registers the FADT points at:
 *   PM1a event block  PORT_PM1A_EVT, 4 bytes: status (2, write 1 to clear)
 *                     and enable (2); only the power button is wired
 *   PM1a control      PORT_PM1A_CNT, 2 bytes: SCI_EN always reads 1 (there
 *                     is no SMM to hand over from), SLP_TYP + SLP_EN sleep
 *   PM timer          PORT_PM_TMR, 4 bytes: 3.579545 MHz, 32 bits
 *                     (FADT TMR_VAL_EXT), from CLOCK_MONOTONIC
 *   reset control     PORT_RESET (0xCF9), 1 byte: bit 2 (RST_CPU) resets
 *   GPE0 block        PORT_GPE0_BLK, PORT_GPE0_LEN (4) bytes: status (2,
 *                     write 1 to clear) then enable (2), GPEs 0-15; a board
 *                     device raises one with acpi_pm_gpe_raise (PCI
 *                     hotplug: ACPI_GPE_PCI_HOTPLUG, arch/x86/acpi.h)
 * The SCI is level-triggered, active high: the line is high while an
 * enabled status bit is set, in PM1 or in GPE0. Thread-safe.
 */
#include <pthread.h>

#include "util/err.h"
#include "vm/bus.h"
#include "vm/irq.h"

/* PM1 status / enable bits. */
#define ACPI_PM1_TMR_STS    (1u << 0)
#define ACPI_PM1_PWRBTN_STS (1u << 8)
#define ACPI_PM1_WAK_STS    (1u << 15)
#define ACPI_PM1_PWRBTN_EN  (1u << 8)
/* PM1 control bits. */
#define ACPI_PM1_SCI_EN	       (1u << 0)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK  (7u << ACPI_PM1_SLP_TYP_SHIFT)
#define ACPI_PM1_SLP_EN	       (1u << 13)
/* Reset control register (0xCF9) bits. */
#define ACPI_RST_CNT_SYS_RST  (1u << 1)
#define ACPI_RST_CNT_RST_CPU  (1u << 2)
#define ACPI_RST_CNT_FULL_RST (1u << 3)

#define ACPI_PM_TIMER_HZ 3579545ULL

struct acpi_pm_ops {
	/* SLP_EN was written: slp_typ is SLP_TYP (ACPI_S5_SLP_TYP for power-off). */
	void (*sleep)(void *ctx, unsigned slp_typ);
	void (*reset)(void *ctx);
};

struct acpi_pm {
	pthread_mutex_t lock;
	u16 sts, en, cnt;
	u16 gpe_sts, gpe_en;	/* GPE0 block: bit n is GPE n */
	u8 rst_cnt;
	bool sci_level;
	bool reset_port; /* PORT_RESET is registered on pio */
	struct irq_line sci;
	const struct acpi_pm_ops *ops;
	void *ctx;
	struct bus *pio;
	u64 (*clock_ns)(void); /* CLOCK_MONOTONIC; replaceable in tests */
	u64 base_ns;	       /* the PM timer counts from here */
};

/*
 * Registers the PM1a event, PM1a control, PM timer and reset-control ports on
 * pio. *pm may be zeroed memory; sci is copied.
 */
int acpi_pm_create(struct bus *pio, const struct irq_line *sci, const struct acpi_pm_ops *ops,
		   void *ctx, struct acpi_pm **out, struct err *e);
/* Unregisters the ports and frees pm (NULL is fine). */
void acpi_pm_destroy(struct acpi_pm *pm);

/* Presses the fixed power button: sets PWRBTN_STS; the SCI follows PWRBTN_EN. */
void acpi_pm_power_button(struct acpi_pm *pm);

/*
 * Sets GPE gpe's status bit (0-15; others are ignored): the SCI follows its
 * enable bit, and the guest's _Exx/_Lxx method clears it. Thread-safe.
 */
void acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned gpe);

/*
 * Port 0xCF9 sits inside the 0xCF8-0xCFF PCI configuration ports. A PCI host
 * bridge that wants that whole range calls acpi_pm_release_reset_port() and
 * forwards byte accesses at 0xCF9 to these two.
 */
void acpi_pm_release_reset_port(struct acpi_pm *pm);
u8 acpi_pm_reset_control_read(struct acpi_pm *pm);
void acpi_pm_reset_control_write(struct acpi_pm *pm, u8 value);

/* The current PM timer value (32 bits). */
u32 acpi_pm_timer(struct acpi_pm *pm);

#endif
