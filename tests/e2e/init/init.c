// SPDX-License-Identifier: MIT
/*
 * /init of the tiny-Linux e2e test: reports what the kernel sees, checks it
 * against merak_e2e.cpus= and merak_e2e.mem= (MiB) on the command line, and
 * powers off. Built static with musl-gcc and without stdio so that it stays
 * a few KB: the guest kernel unpacks the initramfs byte by byte in emulated
 * code on our build machines.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

static void say(const char *s)
{
	(void)write(1, s, strlen(s));
}

static void say_num(long v)
{
	char buf[24];
	int n = sizeof(buf);

	if (v < 0) {
		say("-");
		v = -v;
	}
	do {
		buf[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	(void)write(1, buf + n, sizeof(buf) - (size_t)n);
}

/* Reads a small file into buf (NUL-terminated); -1 when it cannot. */
static int slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, size - 1);

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static long number_after(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	long v = 0;

	if (!p)
		return -1;
	for (p += strlen(key); *p == ' '; p++)
		;
	if (*p < '0' || *p > '9')
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (*p - '0');
	return v;
}

/* Counts the CPUs in a sysfs list such as "0-1" or "0,2-3". */
static long count_cpu_list(const char *s)
{
	long n = 0;

	while (*s >= '0' && *s <= '9') {
		long a = 0, b;

		for (; *s >= '0' && *s <= '9'; s++)
			a = a * 10 + (*s - '0');
		b = a;
		if (*s == '-')
			for (b = 0, s++; *s >= '0' && *s <= '9'; s++)
				b = b * 10 + (*s - '0');
		n += b - a + 1;
		if (*s == ',')
			s++;
	}
	return n;
}

int main(void)
{
	static char cmdline[4096], meminfo[512], online[64];
	cpu_set_t set;
	long want_cpus = -1, want_mem = -1, mem = -1, sys_cpus = -1, cpus = -1;
	int ok = 1;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	say("merak-e2e: init ran\n");

	if (!slurp("/proc/cmdline", cmdline, sizeof(cmdline))) {
		want_cpus = number_after(cmdline, "merak_e2e.cpus=");
		want_mem = number_after(cmdline, "merak_e2e.mem=");
	}
	if (!slurp("/proc/meminfo", meminfo, sizeof(meminfo))) {
		mem = number_after(meminfo, "MemTotal:");
		mem = mem < 0 ? -1 : mem / 1024;
	}
	if (!slurp("/sys/devices/system/cpu/online", online, sizeof(online)))
		sys_cpus = count_cpu_list(online);
	if (!sched_getaffinity(0, sizeof(set), &set))
		cpus = CPU_COUNT(&set);

	say("merak-e2e: ");
	say_num(cpus);
	say(" CPUs (sysfs online: ");
	say_num(sys_cpus);
	say("), MemTotal ");
	say_num(mem);
	say(" MiB\n");
	if (want_cpus > 0 && (cpus != want_cpus || sys_cpus != want_cpus)) {
		say("merak-e2e: FAIL: CPU count differs from merak_e2e.cpus=");
		say_num(want_cpus);
		say("\n");
		ok = 0;
	}
	/* MemTotal excludes what the kernel keeps for itself: allow 1/8. */
	if (want_mem > 0 && (mem > want_mem || mem < want_mem - want_mem / 8)) {
		say("merak-e2e: FAIL: MemTotal is not about merak_e2e.mem=");
		say_num(want_mem);
		say(" MiB\n");
		ok = 0;
	}
	say(ok ? "merak-e2e: PASS\n" : "merak-e2e: FAIL\n");
	sync();
	reboot(RB_POWER_OFF);
	say("merak-e2e: FAIL: reboot(RB_POWER_OFF) returned\n");
	for (;;)
		pause();
}
