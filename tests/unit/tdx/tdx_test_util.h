/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TESTS_TDX_UTIL_H
#define MERAK_TESTS_TDX_UTIL_H

/* Shared helpers for the TDX unit tests: reading the real firmware and data files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"

#define OVMF_PATH "/usr/share/ovmf/OVMF.fd"

/* Reads a file of tests/data (MERAK_TEST_DATA when meson passes it; tests/data/README.md). */
static inline int read_test_data(const char *rel, struct file_buf *out)
{
	const char *dir = getenv("MERAK_TEST_DATA");
	char path[1024];
	struct err e;

	if (dir && *dir)
		snprintf(path, sizeof(path), "%s/%s", dir, rel);
	else
		snprintf(path, sizeof(path), "%s/tests/data/%s", MERAK_SOURCE_ROOT, rel);
	return file_read_all(path, 64 << 20, "test data", out, &e);
}

static inline int read_ovmf(struct file_buf *out)
{
	struct err e;

	return file_read_all(OVMF_PATH, 16 << 20, "firmware", out, &e);
}

static inline void unhex(const char *h, u8 *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (u8)v;
	}
}

#endif
