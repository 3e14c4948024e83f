// SPDX-License-Identifier: MIT
#include "devices/debug_exit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"

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

int debug_exit_create(struct bus *pio, void (*on_exit)(void *, u32), void *ctx,
		      struct debug_exit **out, struct err *e)
{
	struct debug_exit *d = calloc(1, sizeof(*d));
	int r;

	if (!d)
		return errf(e, -ENOMEM, "debug-exit: out of memory");
	d->on_exit = on_exit;
	d->ctx = ctx;
	d->pio = pio;
	r = bus_register(pio, PORT_DEBUG_EXIT, 4, &debug_exit_ops, d, "debug-exit", e);
	if (r < 0) {
		free(d);
		return r;
	}
	*out = d;
	return 0;
}

void debug_exit_destroy(struct debug_exit *d)
{
	if (!d)
		return;
	bus_unregister(d->pio, PORT_DEBUG_EXIT, d);
	free(d);
}
