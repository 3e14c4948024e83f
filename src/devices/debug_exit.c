// SPDX-License-Identifier: MIT
#include "debug_exit.h"

#include <string.h>

#include "../arch/x86/layout.h"

static void debug_exit_read(void *opaque, u64 off, void *data, u32 len)
{
	memset(data, 0, len);
}

static void debug_exit_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct debug_exit *d = opaque;
	u32 v = 0;

	memcpy(&v, data, MIN(len, (u32)sizeof(v)));
	d->on_exit(d->ctx, v);
}

static const struct bus_ops debug_exit_ops = {debug_exit_read, debug_exit_write};

int debug_exit_init(struct debug_exit *d, struct bus *pio, void (*on_exit)(void *, u32),
		    void *ctx, struct err *e)
{
	d->on_exit = on_exit;
	d->ctx = ctx;
	return bus_register(pio, PORT_DEBUG_EXIT, 4, &debug_exit_ops, d, "debug-exit", e);
}
