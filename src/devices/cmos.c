// SPDX-License-Identifier: MIT
#include "devices/cmos.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REG_SECONDS	0x00
#define REG_MINUTES	0x02
#define REG_HOURS	0x04
#define REG_WEEKDAY	0x06
#define REG_DAY		0x07
#define REG_MONTH	0x08
#define REG_YEAR	0x09
#define REG_A		0x0a
#define REG_B		0x0b
#define REG_C		0x0c
#define REG_D		0x0d
#define REG_CENTURY	0x32

#define REG_B_24H	0x02
#define REG_B_BINARY	0x04
#define REG_D_VRT	0x80	/* valid RAM and time: the battery is fine */

static u8 to_bcd(unsigned v)
{
	return (u8)(((v / 10) << 4) | (v % 10));
}

static u8 rtc_field(const struct cmos *c, unsigned v)
{
	return (c->ram[REG_B] & REG_B_BINARY) ? (u8)v : to_bcd(v);
}

static u8 rtc_hours(const struct cmos *c, unsigned h)
{
	unsigned h12;
	u8 pm;

	if (c->ram[REG_B] & REG_B_24H)
		return rtc_field(c, h);
	h12 = h % 12 ? h % 12 : 12;
	pm = h >= 12 ? 0x80 : 0;
	return (u8)(rtc_field(c, h12) | pm);
}

/*
 * UTC calendar fields from seconds since the epoch, computed here rather than
 * by gmtime_r: glibc's first broken-down-time call opens /etc/localtime, and
 * this runs on a vCPU thread whose seccomp filter forbids open.
 */
struct rtc_time {
	unsigned sec, min, hour, wday, mday, mon, year; /* wday 0 = Sunday, mon 1..12 */
};

static void rtc_time_from_epoch(time_t t, struct rtc_time *rt)
{
	long long days = t / 86400, secs = t % 86400;
	long long z, era, doe, yoe, doy, mp, y;

	if (secs < 0) {
		secs += 86400;
		days--;
	}
	rt->sec = (unsigned)(secs % 60);
	rt->min = (unsigned)(secs / 60 % 60);
	rt->hour = (unsigned)(secs / 3600);
	rt->wday = (unsigned)(((days + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
	/* Days to a proleptic Gregorian date, in 400-year eras starting on 1 March. */
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	rt->mday = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	rt->mon = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	y = yoe + era * 400 + (rt->mon <= 2);
	rt->year = y < 0 ? 0 : (unsigned)y;
}

static u8 cmos_read_reg(struct cmos *c, u8 reg)
{
	struct rtc_time tm;

	if (reg > REG_YEAR && reg != REG_CENTURY) {
		u8 v = c->ram[reg];
		if (reg == REG_C)
			c->ram[REG_C] = 0;	/* interrupt flags clear on read */
		return v;
	}
	rtc_time_from_epoch(c->now(), &tm);
	switch (reg) {
	case REG_SECONDS:
		return rtc_field(c, tm.sec);
	case REG_MINUTES:
		return rtc_field(c, tm.min);
	case REG_HOURS:
		return rtc_hours(c, tm.hour);
	case REG_WEEKDAY:
		return rtc_field(c, tm.wday + 1);
	case REG_DAY:
		return rtc_field(c, tm.mday);
	case REG_MONTH:
		return rtc_field(c, tm.mon);
	case REG_YEAR:
		return rtc_field(c, tm.year % 100);
	case REG_CENTURY:
		return rtc_field(c, tm.year / 100 % 100);
	default:
		return c->ram[reg];	/* alarm registers */
	}
}

static void cmos_read(void *opaque, u64 off, void *data, u32 len)
{
	struct cmos *c = opaque;
	u8 v;

	pthread_mutex_lock(&c->lock);
	v = off == 0 ? c->index : cmos_read_reg(c, c->index);
	pthread_mutex_unlock(&c->lock);
	memset(data, 0, len);
	*(u8 *)data = v;
}

static void cmos_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct cmos *c = opaque;
	u8 v = *(const u8 *)data;

	pthread_mutex_lock(&c->lock);
	if (off == 0) {
		c->index = v & 0x7f;	/* bit 7 is the NMI mask */
	} else if (c->index == REG_A) {
		c->ram[REG_A] = v & 0x7f;	/* UIP is read-only (and never set) */
	} else if (c->index == REG_B) {
		c->ram[REG_B] = v;
	} else if (c->index == REG_C || c->index == REG_D) {
		/* read-only status registers */
	} else if (c->index > REG_YEAR && c->index != REG_CENTURY) {
		c->ram[c->index] = v;
	}
	/* Writes to the clock fields are ignored: the guest sees host time. */
	pthread_mutex_unlock(&c->lock);
}

static const struct bus_ops cmos_ops = {cmos_read, cmos_write};

static time_t host_now(void)
{
	return time(NULL);
}

int cmos_create(struct bus *pio, u64 low_ram, u64 high_ram, u32 ncpus, time_t (*now)(void),
		struct cmos **out, struct err *e)
{
	struct cmos *c = calloc(1, sizeof(*c));
	int r;
	u64 ext_kb = low_ram > (1 << 20) ? (low_ram - (1 << 20)) >> 10 : 0;
	u64 above16m = low_ram > (16 << 20) ? (low_ram - (16 << 20)) >> 16 : 0;
	u64 above4g = high_ram >> 16;

	if (!c)
		return errf(e, -ENOMEM, "cmos: out of memory");
	pthread_mutex_init(&c->lock, NULL);
	c->pio = pio;
	c->now = now ? now : host_now;
	c->ram[REG_A] = 0x26;	/* 32.768 kHz time base, 1024 Hz rate */
	c->ram[REG_B] = REG_B_24H;
	c->ram[REG_D] = REG_D_VRT;
	/* Base memory 640 KiB (0x15-0x16). */
	c->ram[0x15] = 0x80;
	c->ram[0x16] = 0x02;
	/* Extended memory in KiB above 1 MiB, capped at 0xffff (0x17-0x18, 0x30-0x31). */
	ext_kb = ext_kb > 0xffff ? 0xffff : ext_kb;
	c->ram[0x17] = c->ram[0x30] = (u8)ext_kb;
	c->ram[0x18] = c->ram[0x31] = (u8)(ext_kb >> 8);
	/* 64 KiB units above 16 MiB (0x34-0x35) and above 4 GiB (0x5b-0x5d). */
	above16m = above16m > 0xffff ? 0xffff : above16m;
	c->ram[0x34] = (u8)above16m;
	c->ram[0x35] = (u8)(above16m >> 8);
	c->ram[0x5b] = (u8)above4g;
	c->ram[0x5c] = (u8)(above4g >> 8);
	c->ram[0x5d] = (u8)(above4g >> 16);
	/* Number of CPUs minus one, as QEMU's firmware interface has it (0x5f). */
	c->ram[0x5f] = (u8)(ncpus - 1);
	r = bus_register(pio, CMOS_PORT_INDEX, 2, &cmos_ops, c, "cmos", e);
	if (r < 0) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		return r;
	}
	*out = c;
	return 0;
}

void cmos_destroy(struct cmos *c)
{
	if (!c)
		return;
	bus_unregister(c->pio, CMOS_PORT_INDEX, c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
