/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_DEBUG_EXIT_H
#define MERAK_DEVICES_DEBUG_EXIT_H

/*
 * The test/debug-exit port: a guest writes a value V (any width) to port
 * PORT_DEBUG_EXIT and merak stops the VM with exit status V & 0xff. Test
 * guests report their verdict this way.
 */
#include "util/err.h"
#include "vm/bus.h"

struct debug_exit {
	void (*on_exit)(void *ctx, u32 value);
	void *ctx;
	struct bus *pio;
};

int debug_exit_create(struct bus *pio, void (*on_exit)(void *, u32), void *ctx,
		      struct debug_exit **out, struct err *e);
void debug_exit_destroy(struct debug_exit *d);

#endif
