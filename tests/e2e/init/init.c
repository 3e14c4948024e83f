// SPDX-License-Identifier: MIT
/*
 * /init of the tiny-Linux e2e test: reports what the kernel sees, checks it
 * against merak_e2e.cpus= and merak_e2e.mem= (MiB) on the command line, and
 * powers off. A few KB, built static with musl-gcc.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

static long cmdline_value(const char *key)
{
	static char buf[4096];
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	char *p;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static long mem_total_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	long kb = -1;

	if (f) {
		if (fscanf(f, "MemTotal: %ld kB", &kb) != 1)
			kb = -1;
		fclose(f);
	}
	return kb < 0 ? -1 : kb / 1024;
}

int main(void)
{
	cpu_set_t set;
	long want_cpus, want_mem, mem;
	int cpus, ok = 1;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	printf("merak-e2e: init ran\n");
	sched_getaffinity(0, sizeof(set), &set);
	cpus = CPU_COUNT(&set);
	mem = mem_total_mib();
	want_cpus = cmdline_value("merak_e2e.cpus=");
	want_mem = cmdline_value("merak_e2e.mem=");
	printf("merak-e2e: %d CPUs, MemTotal %ld MiB\n", cpus, mem);
	if (want_cpus > 0 && cpus != want_cpus) {
		printf("merak-e2e: FAIL: %d CPUs, expected %ld\n", cpus, want_cpus);
		ok = 0;
	}
	/* MemTotal excludes what the kernel keeps for itself: allow 1/8. */
	if (want_mem > 0 && (mem > want_mem || mem < want_mem - want_mem / 8)) {
		printf("merak-e2e: FAIL: MemTotal %ld MiB, expected about %ld\n", mem, want_mem);
		ok = 0;
	}
	printf("merak-e2e: %s\n", ok ? "PASS" : "FAIL");
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 1;
}
