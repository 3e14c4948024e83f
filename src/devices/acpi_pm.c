// SPDX-License-Identifier: MIT
#include "devices/acpi_pm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "util/clock.h"

#define PM1_EVT_LEN 4
#define PM1_CNT_LEN 2
#define PM_TMR_LEN  4

/* Enable bits kept as written (timer, global lock, power button, sleep button, RTC). */
#define EN_WRITABLE 0x0721
/* Control bits kept as written: BM_RLD and SLP_TYP. GBL_RLS and SLP_EN are write-only. */
#define CNT_WRITABLE ((1u << 1) | ACPI_PM1_SLP_TYP_MASK)
#define RST_WRITABLE (ACPI_RST_CNT_SYS_RST | ACPI_RST_CNT_FULL_RST)

/* Byte-lane helpers: an access of len bytes at byte offset off of a register. */
static u32 lane_mask(u64 off, u32 len)
{
	u64 m = (len >= 4 ? 0xffffffffULL : ((1ULL << (8 * len)) - 1)) << (8 * off);
	return (u32)m;
}

static u32 load(const void *data, u32 len)
{
	u8 b[4] = {0};

	memcpy(b, data, MIN(len, 4u));
	return get_le32(b);
}

static void store(void *data, u32 len, u32 v)
{
	u8 b[4];

	put_le32(b, v);
	memset(data, 0, len);
	memcpy(data, b, MIN(len, 4u));
}

/* Caller holds the lock. The SCI is a level: high while an enabled event is pending. */
static void update_sci(struct acpi_pm *pm)
{
	bool pending = (pm->sts & pm->en) != 0 || (pm->gpe_sts & pm->gpe_en) != 0;
	bool level = pending && (pm->cnt & ACPI_PM1_SCI_EN);

	if (level != pm->sci_level) {
		pm->sci_level = level;
		irq_line_set(&pm->sci, level);
	}
}

static void evt_read(void *opaque, u64 off, void *data, u32 len)
{
	struct acpi_pm *pm = opaque;
	u32 image;

	pthread_mutex_lock(&pm->lock);
	image = (u32)pm->sts | (u32)pm->en << 16;
	pthread_mutex_unlock(&pm->lock);
	store(data, len, (u32)((u64)image >> (8 * off)));
}

static void evt_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct acpi_pm *pm = opaque;
	u32 m = lane_mask(off, len);
	u32 v = (u32)((u64)load(data, len) << (8 * off)) & m;
	u16 sts_clear = (u16)v, en_mask = (u16)(m >> 16), en_val = (u16)(v >> 16);

	pthread_mutex_lock(&pm->lock);
	pm->sts &= (u16)~sts_clear;
	pm->en = (u16)((pm->en & ~en_mask) | (en_val & EN_WRITABLE));
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static void cnt_read(void *opaque, u64 off, void *data, u32 len)
{
	struct acpi_pm *pm = opaque;
	u32 v;

	pthread_mutex_lock(&pm->lock);
	v = pm->cnt;
	pthread_mutex_unlock(&pm->lock);
	store(data, len, v >> (8 * off));
}

static void cnt_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct acpi_pm *pm = opaque;
	u32 m = lane_mask(off, len) & 0xffff;
	u32 v = (u32)((u64)load(data, len) << (8 * off)) & m;
	bool sleep;
	unsigned slp_typ;

	pthread_mutex_lock(&pm->lock);
	pm->cnt = (u16)((pm->cnt & ~(m & CNT_WRITABLE)) | (v & CNT_WRITABLE) | ACPI_PM1_SCI_EN);
	sleep = v & ACPI_PM1_SLP_EN;
	slp_typ = (pm->cnt & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	/* Outside the lock: the callback may stop the VM and call back in. */
	if (sleep && pm->ops && pm->ops->sleep)
		pm->ops->sleep(pm->ctx, slp_typ);
}

u32 acpi_pm_timer(struct acpi_pm *pm)
{
	u64 ns = pm->clock_ns() - pm->base_ns;

	/* Ticks = ns * 3579545 / 1e9, in 128 bits so that no uptime overflows. */
	return (u32)((unsigned __int128)ns * ACPI_PM_TIMER_HZ / 1000000000ULL);
}

static void tmr_read(void *opaque, u64 off, void *data, u32 len)
{
	store(data, len, acpi_pm_timer(opaque) >> (8 * off));
}

static void tmr_write(void *opaque, u64 off, const void *data, u32 len)
{
	/* Read-only. */
}

u8 acpi_pm_reset_control_read(struct acpi_pm *pm)
{
	u8 v;

	pthread_mutex_lock(&pm->lock);
	v = pm->rst_cnt;
	pthread_mutex_unlock(&pm->lock);
	return v;
}

void acpi_pm_reset_control_write(struct acpi_pm *pm, u8 value)
{
	pthread_mutex_lock(&pm->lock);
	pm->rst_cnt = value & RST_WRITABLE;
	pthread_mutex_unlock(&pm->lock);
	/* RST_CPU is self-clearing: every write with it set resets. */
	if ((value & ACPI_RST_CNT_RST_CPU) && pm->ops && pm->ops->reset)
		pm->ops->reset(pm->ctx);
}

static void rst_read(void *opaque, u64 off, void *data, u32 len)
{
	store(data, len, acpi_pm_reset_control_read(opaque));
}

static void rst_write(void *opaque, u64 off, const void *data, u32 len)
{
	acpi_pm_reset_control_write(opaque, *(const u8 *)data);
}

/* GPE0: status in bytes 0-1 (write 1 to clear), enable in bytes 2-3, as PM1's event block. */
static void gpe_read(void *opaque, u64 off, void *data, u32 len)
{
	struct acpi_pm *pm = opaque;
	u32 image;

	pthread_mutex_lock(&pm->lock);
	image = (u32)pm->gpe_sts | (u32)pm->gpe_en << 16;
	pthread_mutex_unlock(&pm->lock);
	store(data, len, (u32)((u64)image >> (8 * off)));
}

static void gpe_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct acpi_pm *pm = opaque;
	u32 m = lane_mask(off, len);
	u32 v = (u32)((u64)load(data, len) << (8 * off)) & m;

	pthread_mutex_lock(&pm->lock);
	pm->gpe_sts &= (u16)~v;
	pm->gpe_en = (u16)((pm->gpe_en & ~(m >> 16)) | (v >> 16));
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

static const struct bus_ops evt_ops = {evt_read, evt_write};
static const struct bus_ops cnt_ops = {cnt_read, cnt_write};
static const struct bus_ops tmr_ops = {tmr_read, tmr_write};
static const struct bus_ops rst_ops = {rst_read, rst_write};
static const struct bus_ops gpe_ops = {gpe_read, gpe_write};

static void unregister_all(struct acpi_pm *pm)
{
	bus_unregister(pm->pio, PORT_PM1A_EVT, pm);
	bus_unregister(pm->pio, PORT_PM1A_CNT, pm);
	bus_unregister(pm->pio, PORT_PM_TMR, pm);
	bus_unregister(pm->pio, PORT_GPE0_BLK, pm);
	if (pm->reset_port)
		bus_unregister(pm->pio, PORT_RESET, pm);
	pm->reset_port = false;
}

int acpi_pm_create(struct bus *pio, const struct irq_line *sci, const struct acpi_pm_ops *ops,
		   void *ctx, struct acpi_pm **out, struct err *e)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int r;

	if (!pm)
		return errf(e, -ENOMEM, "ACPI PM: out of memory");
	pthread_mutex_init(&pm->lock, NULL);
	pm->cnt = ACPI_PM1_SCI_EN;
	if (sci)
		pm->sci = *sci;
	pm->ops = ops;
	pm->ctx = ctx;
	pm->pio = pio;
	pm->clock_ns = monotonic_ns;
	pm->base_ns = monotonic_ns();

	r = bus_register(pio, PORT_PM1A_EVT, PM1_EVT_LEN, &evt_ops, pm, "acpi-pm1a-evt", e);
	if (!r)
		r = bus_register(pio, PORT_PM1A_CNT, PM1_CNT_LEN, &cnt_ops, pm, "acpi-pm1a-cnt", e);
	if (!r)
		r = bus_register(pio, PORT_PM_TMR, PM_TMR_LEN, &tmr_ops, pm, "acpi-pm-tmr", e);
	if (!r)
		r = bus_register(pio, PORT_GPE0_BLK, PORT_GPE0_LEN, &gpe_ops, pm, "acpi-gpe0", e);
	if (!r) {
		r = bus_register(pio, PORT_RESET, 1, &rst_ops, pm, "reset-control", e);
		pm->reset_port = r == 0;
	}
	if (r < 0) {
		unregister_all(pm);
		pthread_mutex_destroy(&pm->lock);
		free(pm);
		return err_ctx(e, "ACPI PM");
	}
	*out = pm;
	return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	unregister_all(pm);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

void acpi_pm_release_reset_port(struct acpi_pm *pm)
{
	if (pm->reset_port)
		bus_unregister(pm->pio, PORT_RESET, pm);
	pm->reset_port = false;
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->lock);
	pm->sts |= ACPI_PM1_PWRBTN_STS;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}

void acpi_pm_gpe_raise(struct acpi_pm *pm, unsigned gpe)
{
	if (gpe >= 8 * PORT_GPE0_LEN / 2)
		return;
	pthread_mutex_lock(&pm->lock);
	pm->gpe_sts |= (u16)(1u << gpe);
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
}
