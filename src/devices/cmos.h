/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_CMOS_H
#define MERAK_DEVICES_CMOS_H

/*
 * MC146818 CMOS RTC at ports 0x70/0x71: the wall clock (BCD or binary,
 * 24- or 12-hour, as register B asks) and the memory-size bytes that PC
 * firmware reads when no other memory map is offered (OVMF without fw_cfg).
 * No alarm or periodic interrupt.
 */
#include <time.h>

#include "util/err.h"
#include "vm/bus.h"

struct cmos {
	pthread_mutex_t lock;
	u8 index;
	u8 ram[128];
	time_t (*now)(void);	/* the clock, replaceable in tests */
	struct bus *pio;
};

#define CMOS_PORT_INDEX 0x70
#define CMOS_PORT_DATA	0x71

/* low_ram: RAM below 4 GiB; high_ram: RAM above 4 GiB; now: the clock (NULL: the host's). */
int cmos_create(struct bus *pio, u64 low_ram, u64 high_ram, u32 ncpus, time_t (*now)(void),
		struct cmos **out, struct err *e);
void cmos_destroy(struct cmos *c);

#endif
