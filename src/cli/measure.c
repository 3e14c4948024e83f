// SPDX-License-Identifier: MIT
/*
 * `merak measure`: predicts the MRTD (and whatever RTMR inputs can be
 * predicted exactly) of a TD merak would launch, and replays CCEL event logs.
 * All the work is in src/tdx; this file parses options and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "arch/x86/layout.h"
#include "tdx/eventlog.h"
#include "tdx/hob.h"
#include "tdx/params.h"
#include "tdx/mrtd.h"
#include "tdx/sha384.h"
#include "tdx/rtmr.h"
#include "tdx/tdshim.h"
#include "tdx/tdvf.h"
#include "vm/config.h"
#include "util/file.h"

#define EVLOG_MAX (64ULL << 20)
#define INPUT_MAX (2ULL << 30)

struct measure_opts {
	const char *firmware, *kernel, *initramfs, *cmdline, *evlog;
	u64 mem;
	bool has_mem, json;
	u32 cpus;
	enum td_measure_order order;
};

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: merak measure --firmware FILE [--memory SIZE] [--kernel FILE]\n"
	       "                     [--initramfs FILE] [--cmdline STR] [--cpus [boot=]N]\n"
	       "                     [--platform tdx=on,...] [--order per-page|two-pass] [--json]\n"
	       "       merak measure --replay-event-log FILE [--json]\n");
}

static int fail(const char *msg)
{
	fprintf(stderr, "merak measure: %s\n", msg);
	return 1;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void hex48(const u8 *d, char out[97])
{
	td_hex(d, 48, out);
}

/* "size=2G" and "2G" alike (merak's own spelling, or the short one). */
static const char *strip_key(const char *arg, const char *key)
{
	size_t n = strlen(key);

	return strncmp(arg, key, n) ? arg : arg + n;
}

/* --platform: merak's parser (unknown keys refused); measuring needs tdx=on. */
static int platform_option(const char *arg, struct vm_config *td, struct err *e)
{
	char *copy = strdup(arg);
	int r;

	if (!copy)
		return errf(e, -ENOMEM, "out of memory");
	r = cli_parse_platform(copy, td, e);
	free(copy);
	if (r == 0 && !td->tdx.enabled)
		r = errf(e, -EINVAL, "--platform: tdx=off: measure only applies to TDs (tdx=on)");
	return r;
}

/* ---- firmware prediction --------------------------------------------------- */

/*
 * The firmware is mapped rather than read: one populated mapping of the page
 * cache costs far less than faulting in a fresh heap buffer, and the MRTD
 * walk reads the image straight from it.
 */
struct fw_map {
	u8 *data;
	size_t len;
	struct file_buf buf; /* fallback when mmap is not possible */
};

static int fw_open(const char *path, struct fw_map *m, struct err *e)
{
	struct stat st;
	void *p;
	int fd;

	memset(m, 0, sizeof(*m));
	/* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (u64)st.st_size <= LAYOUT_FIRMWARE_MAX) {
		p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
		if (p != MAP_FAILED) {
			close(fd);
			m->data = p;
			m->len = (size_t)st.st_size;
			return 0;
		}
	}
	if (fd >= 0)
		close(fd);
	/* Let the common reader produce the error (missing, too big, not a file). */
	int r = file_read_all(path, LAYOUT_FIRMWARE_MAX, "firmware", &m->buf, e);
	if (r < 0)
		return r;
	m->data = m->buf.data;
	m->len = m->buf.len;
	return 0;
}

static void fw_close(struct fw_map *m)
{
	if (m->buf.data)
		file_buf_free(&m->buf);
	else if (m->data)
		munmap(m->data, m->len);
	m->data = NULL;
}

/*
 * td-shim: the kernel and PayloadParam bytes exactly as the launch
 * (src/vm/td_build.c read_payload) builds them, after the launch's refusals.
 */
static int shim_inputs(const struct measure_opts *o, const struct tdvf_info *fw,
		       struct file_buf *kernel, u8 **param, size_t *param_len, struct err *e)
{
	const struct tdvf_section *ps = tdvf_find(fw, TDVF_SECTION_PAYLOAD);
	const struct tdvf_section *pp = tdvf_find(fw, TDVF_SECTION_PAYLOAD_PARAM);
	struct vm_config cfg = {0};
	int r;

	cfg.kernel = (char *)o->kernel;
	cfg.initramfs = (char *)o->initramfs;
	cfg.cmdline = (char *)o->cmdline;
	r = td_check_firmware_use(&cfg, fw, e);
	if (r < 0 || !td_shim_vmm_payload(fw))
		return r;
	r = file_read_all(o->kernel, INPUT_MAX, "kernel", kernel, e);
	if (r < 0)
		return r;
	r = td_shim_payload_check(kernel->data, kernel->len, ps, e);
	if (r < 0)
		return err_ctx(e, "kernel '%s'", o->kernel);
	if (pp)
		return td_shim_param(o->cmdline, pp, param, param_len, e);
	return 0;
}

static int predict(const struct measure_opts *o, u8 mrtd[48], struct td_rtmr_pred rt[4],
		   struct tdvf_info *fw, struct err *e)
{
	struct file_buf initrd = {0}, kernel = {0};
	struct fw_map img;
	struct td_section_inputs in = {0};
	struct td_rtmr_inputs ri = {0};
	const struct tdvf_section *hobsec;
	u8 *hob = NULL, *param = NULL;
	size_t param_len = 0;
	int r;

	r = fw_open(o->firmware, &img, e);
	if (r < 0)
		return r;
	r = tdvf_parse(img.data, img.len, fw, e);
	if (r < 0) {
		err_ctx(e, "firmware '%s'", o->firmware);
		goto out;
	}
	hobsec = tdvf_find(fw, TDVF_SECTION_TD_HOB);
	/* The same inputs and refusals as the launch (src/vm/td_build.c). */
	if (td_is_shim(fw)) {
		r = shim_inputs(o, fw, &kernel, &param, &param_len, e);
		if (r < 0)
			goto out;
		in.payload = kernel.data;
		in.payload_len = kernel.len;
		in.param = param;
		in.param_len = param_len;
	}
	if (o->has_mem) {
		struct td_ram_range ram[2];
		unsigned nram;

		r = td_ram_from_size(o->mem, ram, &nram, e);
		if (r == 0)
			r = td_hob_make(fw, ram, nram, &hob, &in.hob_len, e);
		if (r < 0) {
			err_ctx(e, "memory %llu", (unsigned long long)o->mem);
			goto out;
		}
		in.hob = hob;
	}
	if (hobsec && (hobsec->attributes & TDVF_ATTR_MR_EXTEND) && !in.hob) {
		r = errf(e, -EINVAL,
			 "firmware '%s' measures its TD_HOB section into MRTD: MRTD depends on the "
			 "memory size (--memory)",
			 o->firmware);
		goto out;
	}
	r = td_mrtd_compute(fw, img.data, img.len, &in, o->order, mrtd, e);
	if (r < 0)
		goto out;
	if (o->initramfs && !td_is_shim(fw)) {
		r = file_read_all(o->initramfs, INPUT_MAX, "initramfs", &initrd, e);
		if (r < 0)
			goto out;
		ri.initrd = initrd.data;
		ri.initrd_len = initrd.len;
	}
	ri.image = img.data;
	ri.image_len = img.len;
	ri.have_kernel = o->kernel != NULL;
	ri.cmdline = o->cmdline;
	r = td_predict_rtmrs(fw, &in, &ri, rt, e);
out:
	free(hob);
	free(param);
	file_buf_free(&kernel);
	file_buf_free(&initrd);
	fw_close(&img);
	return r;
}

static void print_prediction(const struct measure_opts *o, const struct tdvf_info *fw,
			     const u8 mrtd[48], const struct td_rtmr_pred rt[4])
{
	char h[97];

	hex48(mrtd, h);
	if (o->json) {
		printf("\"firmware\":");
		json_str(o->firmware);
		printf(",\"order\":\"%s\",\"mrtd\":\"%s\",\"rtmr\":[",
		       td_measure_order_name(o->order), h);
		for (int i = 0; i < 4; i++) {
			printf("%s{\"index\":%d,\"predicted\":%s", i ? "," : "", i,
			       rt[i].predicted ? "true" : "false");
			if (rt[i].predicted) {
				hex48(rt[i].value, h);
				printf(",\"value\":\"%s\"", h);
			} else {
				printf(",\"reason\":");
				json_str(rt[i].reason);
			}
			printf(",\"events\":[");
			for (unsigned k = 0; k < rt[i].nev; k++) {
				hex48(rt[i].ev[k].digest, h);
				printf("%s{\"name\":", k ? "," : "");
				json_str(rt[i].ev[k].name);
				printf(",\"digest\":\"%s\"}", h);
			}
			printf("]}");
		}
		printf("]");
		return;
	}
	printf("firmware: %s (%llu bytes, %u TDVF sections)\n", o->firmware,
	       (unsigned long long)fw->image_size, fw->nsections);
	for (u32 i = 0; i < fw->nsections; i++) {
		const struct tdvf_section *s = &fw->sections[i];

		printf("  section %u: %-12s gpa 0x%09llx size 0x%08llx raw 0x%08x@0x%08x%s%s\n", i,
		       tdvf_section_type_name(s->type), (unsigned long long)s->gpa,
		       (unsigned long long)s->mem_size, s->raw_size, s->data_offset,
		       s->attributes & TDVF_ATTR_MR_EXTEND ? " MR.EXTEND" : "",
		       s->attributes & TDVF_ATTR_PAGE_AUG ? " PAGE.AUG" : "");
	}
	printf("MRTD: %s (order %s)\n", h, td_measure_order_name(o->order));
	for (int i = 0; i < 4; i++) {
		if (rt[i].predicted) {
			hex48(rt[i].value, h);
			printf("RTMR%d: %s\n", i, h);
		} else {
			printf("RTMR%d: not predicted: %s\n", i, rt[i].reason);
		}
		for (unsigned k = 0; k < rt[i].nev; k++) {
			hex48(rt[i].ev[k].digest, h);
			printf("  event digest: %s: %s\n", rt[i].ev[k].name, h);
		}
	}
}

/* ---- event-log replay ------------------------------------------------------ */

struct print_ctx {
	bool json;
	unsigned printed;
};

static int print_event(void *ctx, const struct cc_event *ev)
{
	struct print_ctx *pc = ctx;
	const char *tn = cc_event_type_name(ev->type);
	int rt = cc_mr_to_rtmr(ev->mr_index);
	char h[97] = "-";

	if (ev->has_sha384)
		hex48(ev->sha384, h);
	if (pc->json) {
		printf("%s{\"index\":%u,\"mr_index\":%u,\"rtmr\":%d,\"type\":%u,\"type_name\":",
		       pc->printed ? "," : "", ev->index, ev->mr_index, rt, ev->type);
		json_str(tn ? tn : "unknown");
		printf(",\"digest\":\"%s\",\"replayed\":%s}", ev->has_sha384 ? h : "",
		       ev->type == EV_NO_ACTION ? "false" : "true");
	} else {
		char mr[16];

		if (rt >= 0)
			snprintf(mr, sizeof(mr), "RTMR%d", rt);
		else
			snprintf(mr, sizeof(mr), "MR%u", ev->mr_index);
		printf("%4u %-6s 0x%08x %-32s %s%s\n", ev->index, mr, ev->type, tn ? tn : "unknown",
		       h, ev->type == EV_NO_ACTION ? " (not replayed)" : "");
	}
	pc->printed++;
	return 0;
}

static int replay(const struct measure_opts *o, bool comma, struct err *e)
{
	struct file_buf f;
	struct print_ctx pc = {.json = o->json};
	u8 rtmr[4][48];
	unsigned n;
	char h[97];
	int r;

	r = file_read_all(o->evlog, EVLOG_MAX, "event log", &f, e);
	if (r < 0)
		return r;
	/* The replay hashes: a missing libcrypto is one error, before any digest. */
	r = sha384_load(e);
	if (r < 0) {
		file_buf_free(&f);
		return r;
	}
	/* Validate and replay first so that bad input prints nothing but the error. */
	r = cc_evlog_replay(f.data, f.len, rtmr, &n, e);
	if (r < 0) {
		err_ctx(e, "event log '%s'", o->evlog);
		file_buf_free(&f);
		return r;
	}
	if (o->json) {
		printf("%s\"event_log\":{\"file\":", comma ? "," : "");
		json_str(o->evlog);
		printf(",\"events\":[");
	} else {
		printf("event log: %s (%u events)\n", o->evlog, n);
		printf("   # MR     type       type name                        SHA-384\n");
	}
	cc_evlog_walk(f.data, f.len, NULL, print_event, &pc, e);
	if (o->json)
		printf("],\"rtmr\":[");
	for (int i = 0; i < 4; i++) {
		hex48(rtmr[i], h);
		if (o->json)
			printf("%s\"%s\"", i ? "," : "", h);
		else
			printf("replayed RTMR%d: %s\n", i, h);
	}
	if (o->json)
		printf("]}");
	file_buf_free(&f);
	return 0;
}

enum {
	OPT_KERNEL = 256,
	OPT_INITRAMFS,
	OPT_CMDLINE,
	OPT_MEMORY,
	OPT_CPUS,
	OPT_PLATFORM,
	OPT_ORDER,
	OPT_JSON,
	OPT_REPLAY,
	OPT_FIRMWARE
};

static const struct option measure_options[] = {
    {"firmware", required_argument, NULL, OPT_FIRMWARE},
    {"kernel", required_argument, NULL, OPT_KERNEL},
    {"initramfs", required_argument, NULL, OPT_INITRAMFS},
    {"cmdline", required_argument, NULL, OPT_CMDLINE},
    {"memory", required_argument, NULL, OPT_MEMORY},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"platform", required_argument, NULL, OPT_PLATFORM},
    {"order", required_argument, NULL, OPT_ORDER},
    {"json", no_argument, NULL, OPT_JSON},
    {"replay-event-log", required_argument, NULL, OPT_REPLAY},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* One option into o (and td's platform keys); -1 with the message in e. */
static int measure_option(int c, const char *arg, struct measure_opts *o, struct vm_config *td,
			  struct err *e)
{
	switch (c) {
	case OPT_FIRMWARE:
		o->firmware = arg;
		return 0;
	case OPT_KERNEL:
		o->kernel = arg;
		return 0;
	case OPT_INITRAMFS:
		o->initramfs = arg;
		return 0;
	case OPT_CMDLINE:
		o->cmdline = arg;
		return 0;
	case OPT_REPLAY:
		o->evlog = arg;
		return 0;
	case OPT_JSON:
		o->json = true;
		return 0;
	/* The launch's own checks (cli/options.c), in the launch's words. */
	case OPT_MEMORY:
		o->has_mem = true;
		return cli_check_memory(strip_key(arg, "size="), &o->mem, e);
	case OPT_CPUS:
		return cli_check_cpus(strip_key(arg, "boot="), &o->cpus, e);
	case OPT_PLATFORM:
		return platform_option(arg, td, e);
	case OPT_ORDER:
		if (!strcmp(arg, "per-page"))
			o->order = TD_ORDER_PER_PAGE;
		else if (!strcmp(arg, "two-pass"))
			o->order = TD_ORDER_TWO_PASS;
		else
			return errf(e, -EINVAL, "--order '%s': want per-page or two-pass", arg);
		return 0;
	}
	return -EINVAL;
}

/*
 * The command line: 0 to go on, else merak's exit status (1 for a bad value,
 * EXIT_USAGE for a malformed command line, 0 after --help).
 */
static int parse_measure_args(int argc, char **argv, struct measure_opts *o,
			      struct vm_config *td)
{
	struct err e;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", measure_options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "merak measure: unknown option or missing argument '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
		if (measure_option(c, optarg, o, td, &e) < 0)
			return fail(e.msg);
	}
	if (optind < argc) {
		fprintf(stderr, "merak measure: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!o->firmware && !o->evlog) {
		fprintf(stderr,
			"merak measure: --firmware FILE or --replay-event-log FILE is required\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/* The launch's refusals of the whole TD configuration, before any prediction. */
static int check_td(const struct measure_opts *o, struct vm_config *td, struct err *e)
{
	int r;

	td->firmware = (char *)o->firmware;
	td->cpus = o->cpus;
	if (o->has_mem)
		td->mem_size = o->mem;
	r = td_check_config(td, e);
	td->firmware = NULL;
	return r;
}

/* The event log replayed, checked before anything is printed (bad input leaves stdout empty). */
static int check_evlog(const char *path, struct err *e)
{
	struct file_buf f;
	u8 tmp[4][48];
	int r = file_read_all(path, EVLOG_MAX, "event log", &f, e);

	if (r < 0)
		return r;
	r = sha384_load(e);	/* the replay hashes */
	if (r == 0)
		r = cc_evlog_replay(f.data, f.len, tmp, NULL, e);
	if (r < 0 && f.data)
		err_ctx(e, "event log '%s'", path);
	file_buf_free(&f);
	return r;
}

int cmd_measure(int argc, char **argv)
{
	struct measure_opts o = {.order = TD_ORDER_PER_PAGE, .cpus = 1};
	struct vm_config td;
	struct td_rtmr_pred rt[4];
	struct tdvf_info *fw;
	struct err e;
	u8 mrtd[48];
	int r;

	cli_config_defaults(&td);
	td.tdx.enabled = true;
	r = parse_measure_args(argc, argv, &o, &td);
	if (r == 0 && o.firmware && check_td(&o, &td, &e) < 0)
		r = fail(e.msg);
	vm_config_free(&td);
	if (r)
		return r < 0 ? 0 : r;
	err_clear(&e);
	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return fail("out of memory");
	r = o.firmware ? predict(&o, mrtd, rt, fw, &e) : 0;
	if (r == 0 && o.evlog)
		r = check_evlog(o.evlog, &e);
	if (r < 0) {
		free(fw);
		return fail(e.msg);
	}
	/* With --json everything goes into one object. */
	if (o.json)
		printf("{");
	if (o.firmware)
		print_prediction(&o, fw, mrtd, rt);
	free(fw);
	if (o.evlog) {
		r = replay(&o, o.firmware != NULL, &e);
		if (r < 0)
			return fail(e.msg);
	}
	if (o.json)
		printf("}\n");
	return 0;
}
