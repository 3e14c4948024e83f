// SPDX-License-Identifier: MIT
/*
 * Options of `merak run` into a struct vm_config. Option names follow Cloud
 * Hypervisor's where it has one. Pure: errors come back in a struct err.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/file.h"
#include "util/log.h"

#ifndef MERAK_VERSION
#define MERAK_VERSION "unknown"
#endif

static const char usage_text[] =
	"usage: merak [run] [OPTIONS]          boot a VM or a TD\n"
	"       merak measure [OPTIONS]        predict a TD's MRTD and RTMRs offline\n"
	"       merak tdx-caps                 report this host's TDX capabilities\n"
	"\n"
	"Boot payload (--kernel or --firmware; without either, --api-socket starts the VMM\n"
	"empty and the VM comes from the API's vm.create):\n"
	"  --kernel PATH             bzImage (64-bit boot protocol) or ELF vmlinux with a PVH note\n"
	"                            (with --firmware: a bzImage handed to OVMF through fw_cfg)\n"
	"  --initramfs PATH          initial ramdisk for --kernel\n"
	"  --cmdline STRING          kernel command line\n"
	"  --firmware PATH           raw firmware image mapped to end at 4 GiB (OVMF.fd, TDVF, TD-Shim)\n"
	"\n"
	"Resources:\n"
	"  --cpus boot=N             number of vCPUs (default 1, at most 64)\n"
	"  --memory size=SIZE        guest RAM, e.g. 256M or 2G (default 512M)\n"
	"\n"
	"Devices:\n"
	"  --serial MODE             8250 UART on COM1: tty | pty | file=PATH | socket=PATH | null | off\n"
	"                            (default tty; socket: a unix socket one client at a time attaches to)\n"
	"  --console MODE            virtio-console (hvc0): the same modes (default off)\n"
	"  --disk path=FILE[,readonly=on][,serial=ID][,num_queues=N][,queue_size=N][,direct=on]\n"
	"         [,poll_queue=on|off][,_disable_io_uring=on|off]\n"
	"                            virtio-blk disk; repeatable (up to 8); num_queues 1 to 8,\n"
	"                            queue_size a power of two from 4 to 1024 (default 256);\n"
	"                            io_uring with direct=on, preadv otherwise (_disable_io_uring);\n"
	"                            poll_queue: the worker polls briefly after each request (on)\n"
	"  --net tap=NAME|fd=N[,mac=MAC]\n"
	"                            virtio-net on a tap device (created if missing), or on the\n"
	"                            tap fd N the caller opened; repeatable (up to 4)\n"
	"  --rng [src=PATH]          virtio-rng fed from getrandom(2); src: /dev/urandom (default)\n"
	"                            or /dev/random, which give the same\n"
	"  --vsock cid=N,socket=PATH virtio-vsock; the host side is a unix socket at PATH\n"
	"\n"
	"Platform:\n"
	"  --platform irqchip=kernel|split\n"
	"                            interrupt model: KVM's in-kernel IOAPIC/PIC/PIT, or KVM's\n"
	"                            local APICs with merak's userspace IOAPIC (default split;\n"
	"                            kernel with --firmware, whose timer is the PIT)\n"
	"  --platform tdx=on[,debug=on][,sept-ve-disable=on|off][,mrconfigid=HEX][,mrowner=HEX]\n"
	"             [,mrownerconfig=HEX][,quote-socket=unix:PATH|vsock:CID:PORT][,tsc-khz=N]\n"
	"                            launch an Intel TDX Trust Domain (needs --firmware)\n"
	"\n"
	"Control:\n"
	"  -v, -vv                   more log: info, then debug (as --log-level)\n"
	"  --log-file PATH           log lines go to PATH instead of stderr\n"
	"  --event-monitor path=PATH|fd=N\n"
	"                            lifecycle events as JSON, as Cloud Hypervisor writes them\n"
	"  --api-socket path=PATH|fd=N  HTTP control socket (Cloud Hypervisor's REST API);\n"
	"                            fd=N: a listening unix socket passed down by the caller\n"
	"  --seccomp true|false|log  system-call filters (default true)\n"
	"  --log-level LEVEL         error | warn | info | debug (default warn)\n"
	"  --version                 print the version\n"
	"  --help                    print this help\n"
	"\n"
	"Exit status: 0 when the guest powers off or asks for a reset, the value a test guest\n"
	"writes to port 0xf4 (low 8 bits), 1 on a merak error, 2 on a usage error, 3 when the\n"
	"guest crashes (triple fault, emulation failure), 128+N when stopped by signal N.\n";

/* Splits "k1=v1,k2=v2" in place; returns the next pair or NULL at the end. */
static char *next_pair(char **cursor, char **value)
{
	char *s = *cursor, *comma, *eq;

	if (!s || !*s)
		return NULL;
	comma = strchr(s, ',');
	if (comma) {
		*comma = '\0';
		*cursor = comma + 1;
	} else {
		*cursor = s + strlen(s);
	}
	eq = strchr(s, '=');
	if (eq) {
		*eq = '\0';
		*value = eq + 1;
	} else {
		*value = NULL;
	}
	return s;
}

static int parse_bool(const char *opt, const char *key, const char *v, bool *out, struct err *e)
{
	if (!v || !strcmp(v, "on") || !strcmp(v, "true")) {
		*out = true;
		return 0;
	}
	if (!strcmp(v, "off") || !strcmp(v, "false")) {
		*out = false;
		return 0;
	}
	return errf(e, -EINVAL, "%s: %s='%s': expected on or off", opt, key, v);
}

static int parse_chardev(const char *opt, const char *arg, struct chardev_config *out,
			 struct err *e)
{
	free(out->path);
	free(out->socket);
	out->path = out->socket = NULL;
	if (!strcmp(arg, "tty"))
		out->mode = CHARDEV_TTY;
	else if (!strcmp(arg, "null"))
		out->mode = CHARDEV_NULL;
	else if (!strcmp(arg, "off"))
		out->mode = CHARDEV_OFF;
	else if (!strcmp(arg, "pty"))
		out->mode = CHARDEV_PTY;
	else if (!strncmp(arg, "file=", 5) && arg[5]) {
		out->mode = CHARDEV_FILE;
		out->path = strdup(arg + 5);
	} else if (!strncmp(arg, "socket=", 7) && arg[7]) {
		out->mode = CHARDEV_SOCKET;
		out->socket = strdup(arg + 7);
	} else
		return errf(e, -EINVAL, "%s: '%s': expected tty, pty, file=PATH, socket=PATH, null or off", opt, arg);
	return 0;
}

static int parse_hex48(const char *opt, const char *key, const char *v, u8 out[48],
		       struct err *e)
{
	char what[64];

	snprintf(what, sizeof(what), "%s: %s", opt, key);
	return vm_parse_hex48(what, v, out, e);
}

int cli_check_cpus(const char *v, u32 *out, struct err *e)
{
	u64 n;

	if (!v || parse_u64(v, &n) < 0 || !vm_cpus_valid(n))
		return errf(e, -EINVAL, "--cpus: boot='%s': expected a number from 1 to %d",
			    v ? v : "", MAX_VCPUS);
	*out = (u32)n;
	return 0;
}

static int parse_cpus(char *arg, struct vm_config *cfg, struct err *e)
{
	char *cur = arg, *k, *v;

	while ((k = next_pair(&cur, &v))) {
		int r;

		if (strcmp(k, "boot"))
			return errf(e, -EINVAL, "--cpus: unknown key '%s' (expected boot=N)", k);
		r = cli_check_cpus(v, &cfg->cpus, e);
		if (r < 0)
			return r;
	}
	return 0;
}

int cli_check_memory(const char *v, u64 *out, struct err *e)
{
	u64 size;

	if (!v || parse_size(v, &size) < 0)
		return errf(e, -EINVAL, "--memory: size='%s' is not a size like 256M or 2G",
			    v ? v : "");
	if (!vm_mem_size_valid(size))
		return errf(e, -EINVAL,
			    "--memory: size='%s': must be a multiple of 1 MiB from 8M to 1T", v);
	*out = size;
	return 0;
}

static int parse_memory(char *arg, struct vm_config *cfg, struct err *e)
{
	char *cur = arg, *k, *v;

	while ((k = next_pair(&cur, &v))) {
		int r;

		if (strcmp(k, "size"))
			return errf(e, -EINVAL, "--memory: unknown key '%s' (expected size=SIZE)",
				    k);
		r = cli_check_memory(v, &cfg->mem_size, e);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_disk(char *arg, struct vm_config *cfg, struct err *e)
{
	struct disk_config *d;
	char *cur = arg, *k, *v;
	int r = 0;

	if (cfg->n_disks == MAX_DISKS)
		return errf(e, -EINVAL, "--disk: at most %d disks", MAX_DISKS);
	d = &cfg->disks[cfg->n_disks];
	memset(d, 0, sizeof(*d));
	while (!r && (k = next_pair(&cur, &v))) {
		if (!strcmp(k, "path") && v && *v) {
			free(d->path);
			d->path = strdup(v);
		} else if (!strcmp(k, "readonly")) {
			r = parse_bool("--disk", k, v, &d->readonly, e);
		} else if (!strcmp(k, "direct")) {
			r = parse_bool("--disk", k, v, &d->direct, e);
		} else if (!strcmp(k, "poll_queue")) {
			bool on;

			r = parse_bool("--disk", k, v, &on, e);
			d->no_poll = !on;
		} else if (!strcmp(k, "_disable_io_uring")) {
			bool off;

			r = parse_bool("--disk", k, v, &off, e);
			d->backend = off ? DISK_BACKEND_PREADV : DISK_BACKEND_IO_URING;
		} else if (!strcmp(k, "num_queues")) {
			u64 n;

			if (parse_u64(v, &n) < 0 || n < 1 || n > DISK_MAX_QUEUES)
				r = errf(e, -EINVAL, "--disk: num_queues must be 1 to %d",
					 DISK_MAX_QUEUES);
			else
				d->num_queues = (u16)n;
		} else if (!strcmp(k, "queue_size")) {
			u64 n;

			if (parse_u64(v, &n) < 0 || n < 4 || n > DISK_QUEUE_SIZE_MAX || (n & (n - 1)))
				r = errf(e, -EINVAL,
					 "--disk: queue_size must be a power of two from 4 to %d",
					 DISK_QUEUE_SIZE_MAX);
			else
				d->queue_size = (u16)n;
		} else if (!strcmp(k, "serial") && v) {
			if (strlen(v) > DISK_SERIAL_MAX)
				r = errf(e, -EINVAL, "--disk: serial '%s' is longer than %d bytes", v,
					 DISK_SERIAL_MAX);
			else
				strcpy(d->serial, v);
		} else {
			r = errf(e, -EINVAL, "--disk: unknown or empty key '%s'", k);
		}
	}
	if (!r && !d->path)
		r = errf(e, -EINVAL, "--disk: path=FILE is required");
	if (r) {
		/* Not counted yet, so vm_config_free would not see it. */
		free(d->path);
		d->path = NULL;
		return r;
	}
	cfg->n_disks++;
	return 0;
}

static int parse_net(char *arg, struct vm_config *cfg, struct err *e)
{
	struct net_config *n;
	char *cur = arg, *k, *v;

	if (cfg->n_nets == MAX_NETS)
		return errf(e, -EINVAL, "--net: at most %d network devices", MAX_NETS);
	n = &cfg->nets[cfg->n_nets];
	memset(n, 0, sizeof(*n));
	while ((k = next_pair(&cur, &v))) {
		if (!strcmp(k, "tap") && v && *v) {
			if (strlen(v) >= sizeof(n->tap))
				return errf(e, -EINVAL, "--net: tap name '%s' is longer than %zu bytes",
					    v, sizeof(n->tap) - 1);
			strcpy(n->tap, v);
		} else if (!strcmp(k, "mac") && v) {
			if (vm_parse_mac(v, n->mac) < 0)
				return errf(e, -EINVAL,
					    "--net: mac '%s' is not a unicast address like "
					    "52:54:00:12:34:56",
					    v);
			n->has_mac = true;
		} else if (!strcmp(k, "fd") && v && *v && !n->n_fds) {
			/* Cloud Hypervisor's fd=N or fd=[N]: a tap the caller opened. */
			size_t l = strlen(v);
			u64 fd;

			if (v[0] == '[' && l > 2 && v[l - 1] == ']') {
				v[l - 1] = '\0';
				v++;
			}
			if (parse_u64(v, &fd) < 0 || fd < 3 || fd > INT32_MAX || fcntl((int)fd, F_GETFD) < 0)
				return errf(e, -EINVAL,
					    "--net: fd='%s' is not an open file descriptor (3 or more; "
					    "one tap: one queue pair)",
					    v);
			n->fds[0] = (int)fd;
			n->n_fds = 1;
		} else {
			return errf(e, -EINVAL, "--net: unknown or empty key '%s'", k);
		}
	}
	if (!n->tap[0] && !n->n_fds)
		return errf(e, -EINVAL, "--net: tap=NAME or fd=N is required");
	if (n->tap[0] && n->n_fds)
		return errf(e, -EINVAL, "--net: tap=NAME and fd=N both name the tap: give one");
	cfg->n_nets++;
	return 0;
}

/* --rng[=src=PATH] or --rng src=PATH, as Cloud Hypervisor spells it. */
static int parse_rng(const char *arg, struct vm_config *cfg, struct err *e)
{
	if (strncmp(arg, "src=", 4))
		return errf(e, -EINVAL, "--rng: '%s': expected src=PATH", arg);
	return vm_config_set_rng_src(cfg, "--rng src", arg + 4, e);
}

static int parse_vsock(char *arg, struct vm_config *cfg, struct err *e)
{
	char *cur = arg, *k, *v;
	bool has_cid = false;

	while ((k = next_pair(&cur, &v))) {
		u64 cid;

		if (!strcmp(k, "cid") && v) {
			/* 0-2 are reserved (hypervisor, local, host); 2^32-1 is "any". */
			if (parse_u64(v, &cid) < 0 || !vm_vsock_cid_valid(cid))
				return errf(e, -EINVAL, "--vsock: cid '%s' must be from 3 to 4294967294",
					    v);
			cfg->vsock.cid = (u32)cid;
			has_cid = true;
		} else if (!strcmp(k, "socket") && v && *v) {
			free(cfg->vsock.socket);
			cfg->vsock.socket = strdup(v);
		} else {
			return errf(e, -EINVAL, "--vsock: unknown or empty key '%s'", k);
		}
	}
	if (!has_cid || !cfg->vsock.socket)
		return errf(e, -EINVAL, "--vsock: both cid=N and socket=PATH are required");
	cfg->vsock.enabled = true;
	return 0;
}

int cli_parse_platform(char *arg, struct vm_config *cfg, struct err *e)
{
	struct tdx_config *t = &cfg->tdx;
	char *cur = arg, *k, *v;
	int r = 0;

	while ((k = next_pair(&cur, &v))) {
		if (!strcmp(k, "tdx"))
			r = parse_bool("--platform", k, v, &t->enabled, e);
		else if (!strcmp(k, "debug"))
			r = parse_bool("--platform", k, v, &t->debug, e);
		else if (!strcmp(k, "sept-ve-disable"))
			r = parse_bool("--platform", k, v, &t->sept_ve_disable, e);
		else if (!strcmp(k, "mrconfigid")) {
			r = parse_hex48("--platform", k, v, t->mrconfigid, e);
			t->has_mrconfigid = true;
		} else if (!strcmp(k, "mrowner")) {
			r = parse_hex48("--platform", k, v, t->mrowner, e);
			t->has_mrowner = true;
		} else if (!strcmp(k, "mrownerconfig")) {
			r = parse_hex48("--platform", k, v, t->mrownerconfig, e);
			t->has_mrownerconfig = true;
		} else if (!strcmp(k, "quote-socket") && v) {
			r = vm_check_quote_socket("--platform: quote-socket", v, e);
			if (!r) {
				free(t->quote_socket);
				t->quote_socket = strdup(v);
			}
		} else if (!strcmp(k, "tsc-khz") && v) {
			if (parse_u64(v, &t->tsc_khz) < 0 || !t->tsc_khz)
				r = errf(e, -EINVAL, "--platform: tsc-khz='%s' is not a frequency in kHz",
					 v);
		} else if (!strcmp(k, "irqchip") && v) {
			if (vm_parse_irqchip(v, &cfg->irqchip) < 0)
				r = errf(e, -EINVAL,
					 "--platform: irqchip='%s': expected kernel or split", v);
			cfg->irqchip_set = true;
		} else {
			r = errf(e, -EINVAL, "--platform: unknown or empty key '%s'", k);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
}

/* path=PATH (or a bare PATH), or fd=N: a listening socket the caller passed down. */
static int parse_api_socket(const char *arg, struct vm_config *cfg, struct err *e)
{
	u64 fd;

	if (!strncmp(arg, "fd=", 3)) {
		if (parse_u64(arg + 3, &fd) < 0 || fd > INT32_MAX)
			return errf(e, -EINVAL, "--api-socket: fd='%s' is not a file descriptor number",
				    arg + 3);
		cfg->api_fd = (int)fd;
		return 0;
	}
	set_str(&cfg->api_socket, strncmp(arg, "path=", 5) ? arg : arg + 5);
	if (!cfg->api_socket[0])
		return errf(e, -EINVAL, "--api-socket: empty path");
	return 0;
}

static int parse_seccomp(const char *arg, struct vm_config *cfg, struct err *e)
{
	if (!strcmp(arg, "true") || !strcmp(arg, "on"))
		cfg->seccomp = 1;
	else if (!strcmp(arg, "false") || !strcmp(arg, "off"))
		cfg->seccomp = 0;
	else if (!strcmp(arg, "log"))
		cfg->seccomp = 2;
	else
		return errf(e, -EINVAL, "--seccomp: '%s': expected true, false or log", arg);
	return 0;
}

enum {
	OPT_KERNEL = 256,
	OPT_INITRAMFS,
	OPT_CMDLINE,
	OPT_FIRMWARE,
	OPT_CPUS,
	OPT_MEMORY,
	OPT_SERIAL,
	OPT_CONSOLE,
	OPT_DISK,
	OPT_NET,
	OPT_RNG,
	OPT_VSOCK,
	OPT_PLATFORM,
	OPT_API_SOCKET,
	OPT_SECCOMP,
	OPT_LOG_LEVEL,
	OPT_LOG_FILE,
	OPT_EVENT_MONITOR,
	OPT_VERSION,
	OPT_HELP,
};

static const struct option run_options[] = {
	{"kernel", required_argument, NULL, OPT_KERNEL},
	{"initramfs", required_argument, NULL, OPT_INITRAMFS},
	{"cmdline", required_argument, NULL, OPT_CMDLINE},
	{"firmware", required_argument, NULL, OPT_FIRMWARE},
	{"cpus", required_argument, NULL, OPT_CPUS},
	{"memory", required_argument, NULL, OPT_MEMORY},
	{"serial", required_argument, NULL, OPT_SERIAL},
	{"console", required_argument, NULL, OPT_CONSOLE},
	{"disk", required_argument, NULL, OPT_DISK},
	{"net", required_argument, NULL, OPT_NET},
	{"rng", optional_argument, NULL, OPT_RNG},
	{"vsock", required_argument, NULL, OPT_VSOCK},
	{"platform", required_argument, NULL, OPT_PLATFORM},
	{"api-socket", required_argument, NULL, OPT_API_SOCKET},
	{"seccomp", required_argument, NULL, OPT_SECCOMP},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"log-file", required_argument, NULL, OPT_LOG_FILE},
	{"event-monitor", required_argument, NULL, OPT_EVENT_MONITOR},
	{"version", no_argument, NULL, OPT_VERSION},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

void cli_config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->mem_size = 512 * MiB;
	cfg->serial.mode = CHARDEV_TTY;
	cfg->console.mode = CHARDEV_OFF;
	cfg->irqchip = IRQCHIP_KERNEL;
	cfg->tdx.sept_ve_disable = true;
	cfg->seccomp = 1;
	cfg->api_fd = -1;
}

/* Each of these adds a device; every other option is given once (as Cloud Hypervisor has it). */
static bool repeatable(int opt)
{
	return opt == OPT_DISK || opt == OPT_NET;
}

/* A duplicate or an empty value ("--memory ''") is refused rather than silently used. */
static int check_occurrence(int opt, int index, const char *arg, unsigned *seen, struct err *e)
{
	const char *name;

	if (opt < OPT_KERNEL || opt > OPT_HELP || index < 0)
		return 0;
	name = run_options[index].name;
	if (seen[opt - OPT_KERNEL]++ && !repeatable(opt))
		return errf(e, -EINVAL, "--%s is given more than once", name);
	if (arg && !*arg && opt != OPT_CMDLINE)
		return errf(e, -EINVAL, "--%s: empty value", name);
	return 0;
}

/*
 * Returns 0 with cfg filled, 1 when --help or --version was handled, or a
 * negative errno with the message in e.
 */
int cli_parse_run(int argc, char **argv, struct vm_config *cfg, struct err *e)
{
	unsigned seen[OPT_HELP - OPT_KERNEL + 1] = {0}, verbose = 0;
	int opt, index = -1, r = 0;
	enum log_level level;

	cli_config_defaults(cfg);
	optind = 0; /* glibc: 0 also resets its internal state between parses */
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":v", run_options, &index)) != -1) {
		char *arg;

		r = check_occurrence(opt, index, optarg, seen, e);
		index = -1;
		if (r)
			return r;
		arg = optarg ? strdup(optarg) : NULL;
		if (optarg && !arg)
			return errf(e, -ENOMEM, "out of memory");
		switch (opt) {
		case OPT_KERNEL:
			set_str(&cfg->kernel, arg);
			break;
		case OPT_INITRAMFS:
			set_str(&cfg->initramfs, arg);
			break;
		case OPT_CMDLINE:
			set_str(&cfg->cmdline, arg);
			break;
		case OPT_FIRMWARE:
			set_str(&cfg->firmware, arg);
			break;
		case OPT_CPUS:
			r = parse_cpus(arg, cfg, e);
			break;
		case OPT_MEMORY:
			r = parse_memory(arg, cfg, e);
			break;
		case OPT_SERIAL:
			r = parse_chardev("--serial", arg, &cfg->serial, e);
			break;
		case OPT_CONSOLE:
			r = parse_chardev("--console", arg, &cfg->console, e);
			break;
		case OPT_DISK:
			r = parse_disk(arg, cfg, e);
			break;
		case OPT_NET:
			r = parse_net(arg, cfg, e);
			break;
		case OPT_RNG:
			cfg->rng = true;
			if (arg)
				r = parse_rng(arg, cfg, e);
			break;
		case OPT_VSOCK:
			r = parse_vsock(arg, cfg, e);
			break;
		case OPT_PLATFORM:
			r = cli_parse_platform(arg, cfg, e);
			break;
		case OPT_API_SOCKET:
			r = parse_api_socket(arg, cfg, e);
			break;
		case OPT_SECCOMP:
			r = parse_seccomp(arg, cfg, e);
			break;
		case 'v':
			/* Cloud Hypervisor's habit: -v info, -vv and more debug. */
			verbose++;
			log_set_level(verbose == 1 ? LOG_INFO : LOG_DEBUG);
			break;
		case OPT_LOG_FILE:
			set_str(&cfg->log_file, arg);
			break;
		case OPT_EVENT_MONITOR:
			set_str(&cfg->event_monitor, arg);
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(arg, &level) < 0)
				r = errf(e, -EINVAL,
					 "--log-level: '%s': expected error, warn, info or debug",
					 arg);
			else
				log_set_level(level);
			break;
		case OPT_VERSION:
			printf("merak %s\n", MERAK_VERSION);
			r = 1;
			break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			r = 1;
			break;
		case ':':
			r = errf(e, -EINVAL, "%s needs a value", argv[optind - 1]);
			break;
		default:
			r = errf(e, -EINVAL, "unknown option '%s' (see merak --help)",
				 argv[optind - 1]);
			break;
		}
		free(arg);
		if (r)
			return r;
	}
	/* "--rng src=PATH": getopt moved the value, a word of its own, to the end. */
	if (optind < argc && seen[OPT_RNG - OPT_KERNEL] && !strncmp(argv[optind], "src=", 4) &&
	    !cfg->rng_src) {
		r = parse_rng(argv[optind++], cfg, e);
		if (r)
			return r;
	}
	if (optind < argc)
		return errf(e, -EINVAL, "unexpected argument '%s' (see merak --help)", argv[optind]);
	/*
	 * With an API socket and no payload the VMM starts empty and waits for
	 * vm.create, as Cloud Hypervisor does; options for a VM would be lost.
	 */
	if (!cfg->kernel && !cfg->firmware && (cfg->api_socket || cfg->api_fd >= 0)) {
		for (const struct option *o = run_options; o->name; o++)
			if (o->val >= OPT_KERNEL && o->val <= OPT_PLATFORM && seen[o->val - OPT_KERNEL])
				return errf(e, -EINVAL,
					    "--%s without --kernel or --firmware: a VMM started empty "
					    "takes its VM from the API (vm.create)",
					    o->name);
		return 0;
	}
	/* The rules across options are the API's too (vm/config.c). */
	r = vm_config_check(cfg, CONFIG_CLI, e);
	if (r == 0)
		vm_config_finalize(cfg);
	return r;
}

