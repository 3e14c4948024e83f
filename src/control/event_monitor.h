/* SPDX-License-Identifier: MIT */
#ifndef MERAK_CONTROL_EVENT_MONITOR_H
#define MERAK_CONTROL_EVENT_MONITOR_H

/*
 * --event-monitor path=PATH|fd=N: lifecycle events as Cloud Hypervisor writes
 * them, for orchestrators that follow them. Each event is a pretty-printed
 * JSON object followed by an empty line:
 *
 *   {
 *     "timestamp": {
 *       "secs": 0,
 *       "nanos": 30412
 *     },
 *     "source": "vm",
 *     "event": "device-removed",
 *     "properties": {
 *       "id": "_disk1",
 *       "bdf": "0000:00:04.0"
 *     }
 *   }
 *
 * The timestamp counts from merak's start (the monitor's opening). Sources
 * and events are Cloud Hypervisor's (vmm starting/shutdown; vm booting,
 * booted, pausing, paused, resuming, resumed, shutdown, rebooting, rebooted,
 * deleted, device-removed), plus merak's vm created and device-added. Writes
 * are whole events, thread-safe; a reader that goes away (EPIPE) ends the
 * monitor, never merak.
 */
#include <stddef.h>

#include "util/err.h"

struct event_monitor;

/* spec: "path=PATH" (appended to, created if missing; no FIFOs) or "fd=N". */
int event_monitor_open(const char *spec, struct event_monitor **out, struct err *e);
/* key1/value1, key2/value2 may be NULL: the properties (null without any). */
void event_monitor_emit(struct event_monitor *m, const char *source, const char *event,
			const char *key1, const char *value1, const char *key2, const char *value2);
void event_monitor_close(struct event_monitor *m);

/* Formats one event (pure, for the unit tests); returns its length or -1 if cap is short. */
int event_monitor_format(char *out, size_t cap, unsigned long long ns, const char *source,
			 const char *event, const char *key1, const char *value1, const char *key2,
			 const char *value2);

#endif
