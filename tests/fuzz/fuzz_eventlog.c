// SPDX-License-Identifier: MIT
/* CCEL event-log walk and replay on hostile logs. */
#include <string.h>

#include "tdx/eventlog.h"

static int touch(void *ctx, const struct cc_event *ev)
{
	/* Read every byte the parser hands out so ASan sees any overrun. */
	u32 *sum = ctx;

	for (u32 i = 0; i < ev->data_len; i++)
		*sum += ev->data[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	u8 rtmr[4][48];
	struct cc_evlog_spec spec;
	struct err e;
	u32 sum = 0;

	cc_evlog_walk(data, size, &spec, touch, &sum, &e);
	cc_evlog_replay(data, size, rtmr, NULL, &e);
	return 0;
}
