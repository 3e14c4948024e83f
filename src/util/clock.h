/* SPDX-License-Identifier: MIT */
#ifndef MERAK_UTIL_CLOCK_H
#define MERAK_UTIL_CLOCK_H

/* CLOCK_MONOTONIC readings: exit timing, deadlines, the ACPI PM timer. */
#include <time.h>

#include "util/types.h"

static inline u64 monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static inline u64 monotonic_ms(void)
{
	return monotonic_ns() / 1000000;
}

#endif
