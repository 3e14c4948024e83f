// SPDX-License-Identifier: MIT
/*
 * Prints this machine's TSC frequency in kHz, measured against
 * CLOCK_MONOTONIC_RAW. tests/kvm-suite.sh runs it on the host and hands the
 * value to the tiny Linux booted in the nested L1 without its PV clock
 * (tsc_early_khz=): the L1 runs on QEMU's TCG, whose TSC is the host's, and
 * its own calibration under emulation is only as good as its load allowed.
 *
 * Each of several windows brackets both ends between two clock reads and
 * keeps the tightest bracket of a few tries, so a preemption costs accuracy
 * only in that window; the median window is printed. Exits 1 when the
 * windows disagree by more than 1% (a TSC that is not constant-rate).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

#define WINDOWS 5
#define WINDOW_NS 50000000ULL
#define TRIES 16

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* A TSC reading and the clock's time at it, from the tightest of TRIES brackets. */
static void sample(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < TRIES; i++) {
		uint64_t a = now_ns(), t = __rdtsc(), b = now_ns();

		if (b - a < best) {
			best = b - a;
			*tsc = t;
			*ns = a + (b - a) / 2;
		}
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	double khz[WINDOWS];

	for (int w = 0; w < WINDOWS; w++) {
		uint64_t t0, n0, t1, n1;
		struct timespec pause = {0, WINDOW_NS};

		sample(&t0, &n0);
		nanosleep(&pause, NULL);
		sample(&t1, &n1);
		if (n1 <= n0 || t1 <= t0) {
			fprintf(stderr, "tsc_khz: the TSC or the clock did not advance\n");
			return 1;
		}
		khz[w] = (double)(t1 - t0) * 1e6 / (double)(n1 - n0);
	}
	qsort(khz, WINDOWS, sizeof(khz[0]), cmp);
	if (khz[WINDOWS - 1] - khz[0] > khz[WINDOWS / 2] / 100) {
		fprintf(stderr, "tsc_khz: windows disagree: %.0f to %.0f kHz\n", khz[0],
			khz[WINDOWS - 1]);
		return 1;
	}
	printf("%.0f\n", khz[WINDOWS / 2]);
	return 0;
}
