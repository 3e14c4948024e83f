// SPDX-License-Identifier: MIT
/*
 * /init of the tiny-Linux e2e test: reports what the kernel sees, checks it
 * against merak_e2e.cpus= and merak_e2e.mem= (MiB) on the command line, and
 * powers off. With merak_e2e.devices=1 it also uses every virtio device
 * (tests/e2e/run-linux.sh checks the host's side): writes a block to vda and
 * flushes it, reads /dev/hwrng, prints on hvc0, sends on eth0 and waits for
 * the host's answer, and talks to the host over vsock both ways. Built static with musl-gcc and without stdio so that it stays
 * a few KB: the guest kernel unpacks the initramfs byte by byte in emulated
 * code on our build machines.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <unistd.h>

/* <linux/vm_sockets.h>, which musl's headers lack. */
#define AF_VSOCK_FAMILY 40
#define VSOCK_CID_HOST	2
struct vsock_addr {
	unsigned short family, reserved1;
	unsigned int port, cid;
	unsigned char flags, zero[3];
};

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

/* Whether a small (sysfs) file starts with prefix. */
static int file_starts_with(const char *path, const char *prefix)
{
	static char buf[64];

	return !slurp(path, buf, sizeof(buf)) && !strncmp(buf, prefix, strlen(prefix));
}

static int fail_line(const char *what)
{
	say("merak-e2e: FAIL: ");
	say(what);
	say("\n");
	return 0;
}

/* Reads up to size - 1 bytes within ms milliseconds; -1 on timeout or error. */
static ssize_t read_timeout(int fd, char *buf, size_t size, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return -1;
	n = read(fd, buf, size - 1);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* The block the host looks for at byte 1 MiB of the first disk. */
static void disk_pattern(char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('A' + (i * 7 + 3) % 26);
	memcpy(buf, "merak-e2e block", 15);
}

static int check_disk(void)
{
	static char blk[4096], back[4096];
	int fd = open("/dev/vda", O_RDWR);

	if (fd < 0)
		return fail_line("no /dev/vda");
	disk_pattern(blk, sizeof(blk));
	if (pwrite(fd, blk, sizeof(blk), 1 << 20) != (ssize_t)sizeof(blk) || fsync(fd) < 0) {
		close(fd);
		return fail_line("write or flush of /dev/vda failed");
	}
	/* Past the page cache: a fresh descriptor with the cache dropped. */
	close(fd);
	fd = open("/dev/vda", O_RDONLY);
	if (fd < 0 || ioctl(fd, 0x1261 /* BLKFLSBUF */, 0) < 0 ||
	    pread(fd, back, sizeof(back), 1 << 20) != (ssize_t)sizeof(back) ||
	    memcmp(blk, back, sizeof(blk)))
		return fail_line("vda does not read back what was written");
	close(fd);
	if (!file_starts_with("/sys/block/vda/serial", "merak-e2e"))
		return fail_line("vda's serial is not merak-e2e");
	say("merak-e2e: vda: wrote and flushed 4 KiB at 1 MiB, serial ok\n");
	return 1;
}

static int check_rng(void)
{
	unsigned char buf[64];
	int fd = open("/dev/hwrng", O_RDONLY), zeros = 0;
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf));

	if (fd >= 0)
		close(fd);
	if (n != (ssize_t)sizeof(buf))
		return fail_line("cannot read 64 bytes from /dev/hwrng");
	for (size_t i = 0; i < sizeof(buf); i++)
		zeros += !buf[i];
	if (zeros > 8)
		return fail_line("/dev/hwrng gave mostly zeros");
	if (!file_starts_with("/sys/class/misc/hw_random/rng_current", "virtio_rng"))
		return fail_line("the hwrng in use is not virtio_rng");
	say("merak-e2e: hwrng: 64 bytes from virtio_rng\n");
	return 1;
}

static int check_console(void)
{
	static const char line[] = "merak-e2e: hello on hvc0\n";
	int fd = open("/dev/hvc0", O_WRONLY | O_NOCTTY);

	if (fd < 0 || write(fd, line, sizeof(line) - 1) != (ssize_t)sizeof(line) - 1)
		return fail_line("cannot write to /dev/hvc0");
	close(fd);
	say("merak-e2e: hvc0: wrote a line\n");
	return 1;
}

static int set_addr(int s, struct ifreq *ifr, unsigned long req, const char *ip)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&ifr->ifr_addr;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return ioctl(s, req, ifr);
}

/*
 * eth0 carries the MAC merak was given; a datagram to the host's tap address
 * makes the host answer (ARP, then ICMP port unreachable), which must arrive.
 */
static int check_net(const char *cmdline)
{
	static char mac[32], rx[32];
	const char *want = strstr(cmdline, "merak_e2e.mac=");
	struct sockaddr_in host = {.sin_family = AF_INET, .sin_port = htons(9)};
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (slurp("/sys/class/net/eth0/address", mac, sizeof(mac)) < 0)
		return fail_line("no eth0");
	if (!want || strncmp(mac, want + 14, 17))
		return fail_line("eth0's MAC is not merak_e2e.mac=");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "eth0");
	if (s < 0 || set_addr(s, &ifr, SIOCSIFADDR, "10.0.2.15") < 0 ||
	    set_addr(s, &ifr, SIOCSIFNETMASK, "255.255.255.0") < 0)
		return fail_line("cannot give eth0 an address");
	ifr.ifr_flags = IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		return fail_line("cannot bring eth0 up");
	inet_pton(AF_INET, "10.0.2.2", &host.sin_addr);
	for (int i = 0; i < 50; i++) {
		long got;

		(void)sendto(s, "merak-e2e", 9, 0, (struct sockaddr *)&host, sizeof(host));
		usleep(100000);
		if (!slurp("/sys/class/net/eth0/statistics/rx_packets", rx, sizeof(rx)) &&
		    (got = number_after(rx, "")) > 0) {
			close(s);
			say("merak-e2e: eth0: sent to 10.0.2.2, ");
			say_num(got);
			say(" packet(s) back\n");
			return 1;
		}
	}
	close(s);
	return fail_line("nothing came back on eth0");
}

/* Guest-initiated stream to host port 1234, then host-initiated to port 5678. */
static int check_vsock(void)
{
	struct vsock_addr host = {.family = AF_VSOCK_FAMILY, .port = 1234, .cid = VSOCK_CID_HOST};
	struct vsock_addr any = {.family = AF_VSOCK_FAMILY, .port = 5678, .cid = -1U};
	char buf[128];
	int l = socket(AF_VSOCK_FAMILY, SOCK_STREAM, 0), c, a;

	if (l < 0 || bind(l, (struct sockaddr *)&any, sizeof(any)) < 0 || listen(l, 1) < 0)
		return fail_line("cannot listen on vsock port 5678");
	c = socket(AF_VSOCK_FAMILY, SOCK_STREAM, 0);
	if (c < 0 || connect(c, (struct sockaddr *)&host, sizeof(host)) < 0)
		return fail_line("cannot connect to the host's vsock port 1234");
	if (write(c, "ping from guest\n", 16) != 16 || read_timeout(c, buf, sizeof(buf), 10000) <= 0 ||
	    strncmp(buf, "pong: ping from guest", 21))
		return fail_line("no pong from the host on vsock port 1234");
	close(c);
	say("merak-e2e: vsock: host answered on port 1234\n");
	{
		struct pollfd p = {.fd = l, .events = POLLIN};

		if (poll(&p, 1, 20000) != 1 || (a = accept(l, NULL, NULL)) < 0)
			return fail_line("the host did not connect to vsock port 5678");
	}
	if (read_timeout(a, buf, sizeof(buf), 10000) <= 0 || strncmp(buf, "ping from host", 14))
		return fail_line("the host's connection on port 5678 sent nothing");
	if (write(a, "pong from guest\n", 16) != 16)
		return fail_line("cannot answer on vsock port 5678");
	/*
	 * The host closes once it has the answer. Waiting for that proves the
	 * delivery; without it the guest's own TX work could still hold the
	 * answer when init powers off, and the host would never see it.
	 */
	if (read_timeout(a, buf, sizeof(buf), 10000) != 0)
		return fail_line("the host did not close port 5678 after the answer");
	close(a);
	close(l);
	say("merak-e2e: vsock: answered the host on port 5678\n");
	return 1;
}

/*
 * merak_e2e.hotplug=1: a disk arrives at run time (the host's vm.add-disk)
 * and leaves again (vm.remove-device). The VM has no other disk, so it is
 * vda: the guest waits for it, reads its first bytes (the host wrote
 * "merak-hotplug" there), says so, then waits for vda to go: acpiphp handled
 * the eject request and the host took the device.
 */
static int exists(const char *path)
{
	return access(path, F_OK) == 0;
}

static int check_hotplug(void)
{
	char buf[64];
	int fd, i;

	say("merak-e2e: hotplug: waiting for vda\n");
	for (i = 0; i < 1200 && !exists("/sys/block/vda"); i++)
		usleep(100000);
	if (i == 1200)
		return fail_line("hotplug: no vda within 120 s of the start");
	for (i = 0; i < 100 && (fd = open("/dev/vda", O_RDONLY)) < 0; i++)
		usleep(100000);
	if (fd < 0)
		return fail_line("hotplug: /dev/vda cannot be opened");
	memset(buf, 0, sizeof(buf));
	if (read(fd, buf, 13) != 13 || memcmp(buf, "merak-hotplug", 13)) {
		close(fd);
		return fail_line("hotplug: vda does not start with merak-hotplug");
	}
	close(fd);
	say("merak-e2e: hotplug: vda arrived and reads merak-hotplug\n");
	for (i = 0; i < 1200 && exists("/sys/block/vda"); i++)
		usleep(100000);
	if (i == 1200)
		return fail_line("hotplug: vda still there 120 s after it arrived");
	say("merak-e2e: hotplug: vda removed\n");
	return 1;
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
	if (strstr(cmdline, "merak_e2e.devices=1")) {
		ok &= check_disk();
		ok &= check_rng();
		ok &= check_console();
		ok &= check_net(cmdline);
		ok &= check_vsock();
	}
	if (strstr(cmdline, "merak_e2e.hotplug=1"))
		ok &= check_hotplug();
	say(ok ? "merak-e2e: PASS\n" : "merak-e2e: FAIL\n");
	sync();
	reboot(RB_POWER_OFF);
	say("merak-e2e: FAIL: reboot(RB_POWER_OFF) returned\n");
	for (;;)
		pause();
}
