/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_I8042_H
#define MERAK_DEVICES_I8042_H

/*
 * An i8042 keyboard controller with no keyboard attached: enough for Linux's
 * probe and for the classic reset (command 0xFE, or clearing bit 0 of the
 * output port).
 */
#include "util/err.h"
#include "vm/bus.h"

struct i8042;

int i8042_create(struct bus *pio, void (*reset)(void *ctx), void *ctx, struct i8042 **out,
		 struct err *e);
void i8042_destroy(struct i8042 *k);

#endif
