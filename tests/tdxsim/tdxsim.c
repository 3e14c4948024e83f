// SPDX-License-Identifier: MIT
/*
 * tdxsim: a simulated TDX-capable KVM at the ioctl boundary, loaded with
 * LD_PRELOAD under an unmodified VMM. It serves "/dev/kvm" for the TDX VM type,
 * enforces the ordering and argument rules of upstream Linux (6.16, or a later
 * version chosen with TDXSIM_KERNEL; returning the kernel's errno), computes
 * MRTD the way the TDX module does and plays a
 * script of guest exits. Everything it sees goes to TDXSIM_LOG. See
 * docs/tdxsim.md. Being a preload test tool it necessarily keeps process-wide
 * state; it never prints to stdout/stderr except for fatal setup errors.
 */
/* the interposers must define the plain symbols; the 64 variants are aliases */
#undef _FILE_OFFSET_BITS

#include "sim.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 65536
#define violation sim_violation

enum okind { O_NONE, O_SYS, O_VM, O_VCPU, O_GMEM };
struct obj {
	enum okind kind;
	void *p;
};

struct sim_sys {
	int real_fd;      /* the real /dev/kvm, or -1 */
	int real_errno;   /* why the real open failed */
};

static struct {
	pthread_once_t once;
	pthread_mutex_t lock;     /* object table, log */
	struct obj objs[MAX_FDS];
	int log_fd;
	int vm_ids;
	bool no_tdx;
	char dump_dir[512];
	struct sim_caps caps;
	const struct sim_kernel *kernel;
	long inject_busy;         /* TDXSIM_INJECT_BUSY: -EBUSY answers left */
	u64 create_delay_us;      /* TDXSIM_VCPU_CREATE_US: KVM_CREATE_VCPU's duration */
	u64 reclaim_ns[2];        /* per private page: HKID assigned, HKID released */
	u64 time_div;             /* modelled reclaim time is slept divided by this */
	struct script script;
	bool script_ok;
	bool used;        /* this process opened /dev/kvm */
	unsigned long violations, expect_failures;
	int (*r_open)(const char *, int, ...);
	int (*r_openat)(int, const char *, int, ...);
	int (*r_ioctl)(int, unsigned long, ...);
	void *(*r_mmap)(void *, size_t, int, int, int, off_t);
	int (*r_close)(int);
	int (*r_fallocate)(int, int, off_t, off_t);
} G = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .log_fd = -1};

/* ---------------------------------------------------------------- logging */

void sim_log(const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	int n;

	if (G.log_fd < 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	pthread_mutex_lock(&G.lock);
	if (write(G.log_fd, buf, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
	pthread_mutex_unlock(&G.lock);
}

static const char *errname(int e)
{
	switch (e) {
	case EINVAL: return "EINVAL";
	case EIO: return "EIO";
	case EBUSY: return "EBUSY";
	case E2BIG: return "E2BIG";
	case EEXIST: return "EEXIST";
	case EFAULT: return "EFAULT";
	case ENOENT: return "ENOENT";
	case ENOTTY: return "ENOTTY";
	case ENXIO: return "ENXIO";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ENODEV: return "ENODEV";
	case EINTR: return "EINTR";
	case ENOMEM: return "ENOMEM";
	case EBADF: return "EBADF";
	case EHWPOISON: return "EHWPOISON";
	default: return "E?";
	}
}

/* A broken rule: log it and return the kernel's errno (negative). */
int sim_violation(int err, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&G.violations, 1, __ATOMIC_SEQ_CST);
	sim_log("VIOLATION %s -> -%s", buf, errname(err));
	return -err;
}

void sim_count_expect_failure(void)
{
	__atomic_add_fetch(&G.expect_failures, 1, __ATOMIC_SEQ_CST);
}

static void hex(char *out, const void *p, size_t n)
{
	static const char d[] = "0123456789abcdef";
	const u8 *b = p;

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

/* --------------------------------------------------------- user memory */

/* Reads the caller's memory the way copy_from_user would: -EFAULT, no crash. */
static int ucopy_from(void *dst, u64 src, size_t n)
{
	struct iovec l = {dst, n}, r = {(void *)(uintptr_t)src, n};

	if (n == 0)
		return 0;
	return process_vm_readv(getpid(), &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -EFAULT;
}

static int ucopy_to(u64 dst, const void *src, size_t n)
{
	struct iovec l = {(void *)src, n}, r = {(void *)(uintptr_t)dst, n};

	if (n == 0)
		return 0;
	return process_vm_writev(getpid(), &l, 1, &r, 1, 0) == (ssize_t)n ? 0 : -EFAULT;
}

/* ---------------------------------------------------------------- rsets */

void rset_set(struct rset *rs, u64 start, u64 end, bool on)
{
	size_t n = 0, cap = rs->n + 2;
	__typeof__(rs->r) out = calloc(cap, sizeof(*out));

	if (!out)
		abort();
	for (size_t i = 0; i < rs->n; i++) {
		u64 s = rs->r[i].start, e = rs->r[i].end;

		if (e <= start || s >= end) {
			out[n].start = s;
			out[n++].end = e;
			continue;
		}
		if (on) {
			/* merge into the new range */
			if (s < start)
				start = s;
			if (e > end)
				end = e;
		} else {
			if (s < start) {
				out[n].start = s;
				out[n++].end = start;
			}
			if (e > end) {
				out[n].start = end;
				out[n++].end = e;
			}
		}
	}
	if (on) {
		/* adjacent ranges merge too */
		size_t m = 0;
		for (size_t i = 0; i < n; i++) {
			if (out[i].end == start)
				start = out[i].start;
			else if (out[i].start == end)
				end = out[i].end;
			else
				out[m++] = out[i];
		}
		n = m;
		out[n].start = start;
		out[n++].end = end;
	}
	/* sort (small n) */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && out[j - 1].start > out[j].start; j--) {
			__typeof__(*out) t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	free(rs->r);
	rs->r = out;
	rs->n = n;
	rs->cap = cap;
}

bool rset_all(const struct rset *rs, u64 start, u64 end)
{
	for (size_t i = 0; i < rs->n && start < end; i++) {
		if (rs->r[i].end <= start)
			continue;
		if (rs->r[i].start > start)
			return false;
		start = rs->r[i].end;
	}
	return start >= end;
}

bool rset_any(const struct rset *rs, u64 start, u64 end)
{
	for (size_t i = 0; i < rs->n; i++)
		if (rs->r[i].start < end && rs->r[i].end > start)
			return true;
	return false;
}

/* How many bytes of [start, end) the set covers. */
static u64 rset_count(const struct rset *rs, u64 start, u64 end)
{
	u64 n = 0;

	for (size_t i = 0; i < rs->n; i++) {
		u64 a = rs->r[i].start > start ? rs->r[i].start : start;
		u64 b = rs->r[i].end < end ? rs->r[i].end : end;

		if (a < b)
			n += b - a;
	}
	return n;
}

/* -------------------------------------------------------- kernel versions */

/*
 * What changed after 6.16, per version (docs/tdxsim.md gives the sources).
 * -EBUSY is injectable (TDXSIM_INJECT_BUSY) only where that kernel can
 * answer it: the TDX module's lock (PAGE.ADD, MR.FINALIZE) and, in 6.19, the
 * state lock while a vCPU is being created.
 */
static const struct sim_kernel kernels[] = {
	{.name = "6.16", .readd_errno = EEXIST, .busy_ops = OP_INIT_MEM_REGION | OP_FINALIZE},
	{.name = "kvm-x86-6.17", .readd_errno = EEXIST, .terminate_vm = true,
	 .busy_ops = OP_INIT_MEM_REGION | OP_FINALIZE},
	{.name = "6.19", .state_guard = true, .busy_while_creating = true, .reject_src0 = true,
	 .readd_errno = EEXIST,
	 .busy_ops = OP_INIT_VM | OP_INIT_VCPU | OP_INIT_MEM_REGION | OP_FINALIZE},
	{.name = "next", .state_guard = true, .create_holds_lock = true, .reject_src0 = true,
	 .readd_errno = EIO, .busy_ops = OP_FINALIZE},
};

const struct sim_kernel *sim_kernel(void)
{
	return G.kernel;
}

static const struct sim_kernel *kernel_named(const char *name)
{
	if (!name || !*name)
		return &kernels[sizeof(kernels) / sizeof(kernels[0]) - 1];
	for (size_t i = 0; i < sizeof(kernels) / sizeof(kernels[0]); i++)
		if (!strcmp(kernels[i].name, name))
			return &kernels[i];
	return NULL;
}

/* ----------------------------------------------------------------- caps */

static void list_add(struct s_kvm_cpuid_entry2 *list, u32 *n, u32 fn, u32 idx, u32 a, u32 b,
		     u32 cx, u32 d)
{
	struct s_kvm_cpuid_entry2 *e;

	if (*n >= 64)
		return;
	e = &list[(*n)++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->eax = a;
	e->ebx = b;
	e->ecx = cx;
	e->edx = d;
}

static void caps_add(struct sim_caps *c, u32 fn, u32 idx, u32 a, u32 b, u32 cx, u32 d)
{
	struct s_kvm_cpuid_entry2 *e;

	if (c->nent >= S_KVM_MAX_CPUID_ENTRIES)
		return;
	e = &c->entries[c->nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	/* flags stay 0 even for indexed leaves: that is what 6.16 reports */
	e->eax = a;
	e->ebx = b;
	e->ecx = cx;
	e->edx = d;
}

/*
 * The "default" preset: what a 6.16 host with a TDX 1.5 module reports, in
 * shape (the mask values are synthetic but plausible). TSX and WAITPKG are
 * already cleared and 0x80000008 EAX[23:16] is 0xff, as KVM reports them.
 */
static void caps_default(struct sim_caps *c)
{
	memset(c, 0, sizeof(*c));
	c->supported_attrs = S_TDX_ATTR_SEPT_VE_DISABLE;
	c->supported_xfam = 0x00000000000602e7ull;
	c->user_r11 = 1ull << 1;  /* SetupEventNotifyInterrupt may go to userspace */
	c->max_vcpus = (int)sysconf(_SC_NPROCESSORS_CONF);
	if (c->max_vcpus < 1)
		c->max_vcpus = 1;
	caps_add(c, 0x1, 0, 0x0fff3fff, 0x00ff0000, 0x31044d88, 0xb8440000);
	caps_add(c, 0x7, 0, 0x00000000, 0xdc2b9308, 0x0002a44c, 0xbc000400);
	caps_add(c, 0x7, 1, 0x00001c30, 0, 0, 0);
	caps_add(c, 0xd, 0, 0x000602e7, 0, 0, 0);
	caps_add(c, 0xd, 1, 0x0000000f, 0, 0, 0);
	caps_add(c, 0x80000001, 0, 0, 0, 0x00000121, 0x2c100800);
	caps_add(c, 0x80000007, 0, 0, 0, 0, 0x00000100);
	caps_add(c, 0x80000008, 0, 0x00ff0000, 0x00000200, 0, 0);
	/*
	 * Fixed-1 bits, as the TDX module documentation and QEMU's table of them
	 * list them, minus those this preset makes configurable: SSE3..RDRAND,
	 * x2APIC and HYPERVISOR, the basic EDX set, ARAT, FSGSBASE/SMEP/SMAP/
	 * CLWB/SHA..., MOVDIRI/MOVDIR64B/bus-lock detect, CORE_CAPABILITIES, the
	 * 7.2 speculation controls. x87/SSE state comes from XFAM.
	 */
	list_add(c->fixed1, &c->nfixed1, 0x1, 0, 0, 0, 0xc6faa217, 0x07a9fbff);
	list_add(c->fixed1, &c->nfixed1, 0x6, 0, 0x4, 0, 0, 0);
	list_add(c->fixed1, &c->nfixed1, 0x7, 0, 0, 0x219424c1, 0x19000000, 0x40000000);
	list_add(c->fixed1, &c->nfixed1, 0x7, 2, 0, 0, 0, 0x17);
}

static u64 num(const char *s)
{
	return strtoull(s, NULL, 0);
}

/* Caps file: "attrs V", "xfam V", "kernel_r11 V" ..., "ept5 0|1", "max_vcpus N",
 * "cpuid FN IDX EAX EBX ECX EDX", "clear_cpuid" (drop the preset's list),
 * "fixed1 FN IDX EAX EBX ECX EDX", "clear_fixed1", "native0 FN IDX EAX EBX ECX EDX". */
static void caps_load(struct sim_caps *c, const char *spec)
{
	char line[512];
	FILE *f;

	caps_default(c);
	if (!spec || !*spec || !strcmp(spec, "default"))
		return;
	if (!strcmp(spec, "gpaw52")) {
		c->ept5 = true;
		return;
	}
	f = fopen(spec, "r");
	if (!f) {
		fprintf(stderr, "tdxsim: TDXSIM_CAPS '%s': %s\n", spec, strerror(errno));
		abort();
	}
	while (fgets(line, sizeof(line), f)) {
		char k[64];
		char v[6][64];
		int n = sscanf(line, "%63s %63s %63s %63s %63s %63s %63s", k, v[0], v[1], v[2],
			       v[3], v[4], v[5]);

		if (n < 1 || k[0] == '#')
			continue;
		if (!strcmp(k, "clear_cpuid"))
			c->nent = 0;
		else if (!strcmp(k, "clear_fixed1"))
			c->nfixed1 = 0;
		else if (n == 7 && (!strcmp(k, "fixed1") || !strcmp(k, "native0")))
			list_add(k[0] == 'f' ? c->fixed1 : c->native0,
				 k[0] == 'f' ? &c->nfixed1 : &c->nnative0, (u32)num(v[0]),
				 (u32)num(v[1]), (u32)num(v[2]), (u32)num(v[3]), (u32)num(v[4]),
				 (u32)num(v[5]));
		else if (n >= 2 && !strcmp(k, "attrs"))
			c->supported_attrs = num(v[0]);
		else if (n >= 2 && !strcmp(k, "xfam"))
			c->supported_xfam = num(v[0]);
		else if (n >= 2 && !strcmp(k, "kernel_r11"))
			c->kernel_r11 = num(v[0]);
		else if (n >= 2 && !strcmp(k, "kernel_r12"))
			c->kernel_r12 = num(v[0]);
		else if (n >= 2 && !strcmp(k, "user_r11"))
			c->user_r11 = num(v[0]);
		else if (n >= 2 && !strcmp(k, "user_r12"))
			c->user_r12 = num(v[0]);
		else if (n >= 2 && !strcmp(k, "ept5"))
			c->ept5 = num(v[0]) != 0;
		else if (n >= 2 && !strcmp(k, "max_vcpus"))
			c->max_vcpus = (int)num(v[0]);
		else if (n == 7 && !strcmp(k, "cpuid"))
			caps_add(c, (u32)num(v[0]), (u32)num(v[1]), (u32)num(v[2]),
				 (u32)num(v[3]), (u32)num(v[4]), (u32)num(v[5]));
		else {
			fprintf(stderr, "tdxsim: TDXSIM_CAPS '%s': bad line: %s", spec, line);
			abort();
		}
	}
	fclose(f);
}

const struct sim_caps *sim_caps(void)
{
	return &G.caps;
}

const struct script *sim_script(void)
{
	return G.script_ok ? &G.script : NULL;
}

/* ----------------------------------------------------------------- init */

static void sim_fini(void)
{
	if (G.log_fd >= 0 && G.used)
		sim_log("SUMMARY violations=%lu expect_failures=%lu", G.violations,
			G.expect_failures);
}

static void sim_init(void)
{
	const char *s;

	G.r_open = dlsym(RTLD_NEXT, "open");
	G.r_openat = dlsym(RTLD_NEXT, "openat");
	G.r_ioctl = dlsym(RTLD_NEXT, "ioctl");
	G.r_mmap = dlsym(RTLD_NEXT, "mmap");
	G.r_close = dlsym(RTLD_NEXT, "close");
	G.r_fallocate = dlsym(RTLD_NEXT, "fallocate");

	s = getenv("TDXSIM_LOG");
	if (s && *s)
		G.log_fd = G.r_open(s, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	G.no_tdx = (s = getenv("TDXSIM_NO_TDX")) && *s && strcmp(s, "0");
	s = getenv("TDXSIM_DUMP_DIR");
	if (s)
		snprintf(G.dump_dir, sizeof(G.dump_dir), "%s", s);
	caps_load(&G.caps, getenv("TDXSIM_CAPS"));
	G.kernel = kernel_named(getenv("TDXSIM_KERNEL"));
	if (!G.kernel) {
		fprintf(stderr, "tdxsim: TDXSIM_KERNEL=%s: not one of 6.16, kvm-x86-6.17, 6.19, next\n",
			getenv("TDXSIM_KERNEL"));
		abort();
	}
	s = getenv("TDXSIM_INJECT_BUSY");
	G.inject_busy = s && *s ? (long)num(s) : 0;
	s = getenv("TDXSIM_VCPU_CREATE_US");
	G.create_delay_us = s && *s ? num(s) : 0;
	/*
	 * Reclaim per 4 KiB page, from the KVM_TDX_TERMINATE_VM commit message
	 * (4 vCPUs, 18 GB: 72 s with the HKID held, 24 s after releasing it).
	 */
	G.reclaim_ns[0] = 15300;
	G.reclaim_ns[1] = 5100;
	s = getenv("TDXSIM_RECLAIM_NS");
	if (s && *s) {
		char *end;

		G.reclaim_ns[0] = strtoull(s, &end, 0);
		G.reclaim_ns[1] = *end == ',' ? strtoull(end + 1, NULL, 0) : G.reclaim_ns[0];
	}
	s = getenv("TDXSIM_TIME_DIV");
	G.time_div = s && *s ? num(s) : 1000;
	s = getenv("TDXSIM_MAX_VCPUS");
	if (s && *s)
		G.caps.max_vcpus = (int)num(s);
	s = getenv("TDXSIM_SCRIPT");
	if (s && *s) {
		char err[256];

		if (script_load(s, &G.script, err, sizeof(err)) < 0) {
			fprintf(stderr, "tdxsim: TDXSIM_SCRIPT: %s\n", err);
			abort();
		}
		G.script_ok = true;
	}
	atexit(sim_fini);
}

static void ensure_init(void)
{
	pthread_once(&G.once, sim_init);
}

static struct obj lookup(int fd)
{
	struct obj o = {O_NONE, NULL};

	if (fd < 0 || fd >= MAX_FDS)
		return o;
	pthread_mutex_lock(&G.lock);
	o = G.objs[fd];
	pthread_mutex_unlock(&G.lock);
	return o;
}

static int new_fd(const char *name, enum okind kind, void *p, bool cloexec, size_t size)
{
	int fd = memfd_create(name, cloexec ? MFD_CLOEXEC : 0);

	if (fd < 0)
		return -errno;
	if (fd >= MAX_FDS || (size && ftruncate(fd, (off_t)size) < 0)) {
		G.r_close(fd);
		return -EMFILE;
	}
	pthread_mutex_lock(&G.lock);
	G.objs[fd].kind = kind;
	G.objs[fd].p = p;
	pthread_mutex_unlock(&G.lock);
	return fd;
}

/* ------------------------------------------------------- guest memory */

static struct sim_slot *slot_for(struct sim_vm *vm, u64 gpa)
{
	for (int i = 0; i < SIM_MAX_SLOTS; i++) {
		struct sim_slot *s = &vm->slots[i];

		if (s->used && gpa >= s->gpa && gpa - s->gpa < s->size)
			return s;
	}
	return NULL;
}

static int shared_access(struct sim_vm *vm, u64 gpa, void *buf, size_t len, bool write)
{
	while (len) {
		struct sim_slot *s;
		size_t chunk;
		u64 hva;
		int r;

		pthread_mutex_lock(&vm->lock);
		s = slot_for(vm, gpa);
		if (!s) {
			pthread_mutex_unlock(&vm->lock);
			return -ENOENT;
		}
		chunk = s->size - (gpa - s->gpa);
		if (chunk > len)
			chunk = len;
		hva = s->uaddr + (gpa - s->gpa);
		pthread_mutex_unlock(&vm->lock);
		r = write ? ucopy_to(hva, buf, chunk) : ucopy_from(buf, hva, chunk);
		if (r)
			return r;
		buf = (u8 *)buf + chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

int sim_read_shared(struct sim_vm *vm, u64 gpa, void *buf, size_t len)
{
	return shared_access(vm, gpa, buf, len, false);
}

int sim_write_shared(struct sim_vm *vm, u64 gpa, const void *buf, size_t len)
{
	return shared_access(vm, gpa, (void *)buf, len, true);
}

bool sim_attr_private(struct sim_vm *vm, u64 gpa, u64 size, bool want_private)
{
	bool r;

	pthread_mutex_lock(&vm->lock);
	r = want_private ? rset_all(&vm->private_attr, gpa, gpa + size)
			 : !rset_any(&vm->private_attr, gpa, gpa + size);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

bool sim_gmem_backed(struct sim_vm *vm, u64 gpa)
{
	struct sim_slot *s;
	bool r;

	pthread_mutex_lock(&vm->lock);
	s = slot_for(vm, gpa);
	r = s && s->gmem;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static struct gpage *gmem_find(struct sim_gmem *g, u64 off, size_t *pos)
{
	size_t lo = 0, hi = g->npages;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (g->pages[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return lo < g->npages && g->pages[lo].off == off ? &g->pages[lo] : NULL;
}

static void gmem_add(struct sim_gmem *g, u64 off, const u8 *data)
{
	size_t pos;

	if (gmem_find(g, off, &pos))
		return;
	if (g->npages == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 256;
		g->pages = realloc(g->pages, g->cap * sizeof(*g->pages));
		if (!g->pages)
			abort();
	}
	memmove(&g->pages[pos + 1], &g->pages[pos], (g->npages - pos) * sizeof(*g->pages));
	g->pages[pos].off = off;
	g->pages[pos].data = malloc(SIM_PAGE);
	if (!g->pages[pos].data)
		abort();
	memcpy(g->pages[pos].data, data, SIM_PAGE);
	g->npages++;
}

static void gmem_punch(struct sim_gmem *g, u64 off, u64 len)
{
	size_t w = 0;

	/* pages the guest accepted there are freed too (back to shared) */
	for (int i = 0; i < SIM_MAX_SLOTS; i++) {
		struct sim_slot *sl = &g->vm->slots[i];
		u64 a = off > sl->gmem_off ? off : sl->gmem_off;
		u64 b = off + len < sl->gmem_off + sl->size ? off + len : sl->gmem_off + sl->size;

		if (sl->used && sl->gmem == g && a < b)
			rset_set(&g->vm->aug, sl->gpa + (a - sl->gmem_off), sl->gpa + (b - sl->gmem_off),
				 false);
	}

	for (size_t i = 0; i < g->npages; i++) {
		if (g->pages[i].off >= off && g->pages[i].off - off < len)
			free(g->pages[i].data);
		else
			g->pages[w++] = g->pages[i];
	}
	g->npages = w;
}

/* ------------------------------------------------------------- MRTD */

/* TDH.MEM.PAGE.ADD: one 128-byte block "MEM.PAGE.ADD" || gpa. */
static void mrtd_page_add(struct sim_vm *vm, u64 gpa)
{
	u8 blk[128] = {0};

	memcpy(blk, "MEM.PAGE.ADD", 12);
	for (int i = 0; i < 8; i++)
		blk[16 + i] = (u8)(gpa >> (8 * i));
	EVP_DigestUpdate(vm->mrtd, blk, sizeof(blk));
}

/* TDH.MR.EXTEND: a header block "MR.EXTEND" || gpa, then the 256 bytes. */
static void mrtd_extend(struct sim_vm *vm, u64 gpa, const u8 *chunk)
{
	u8 blk[128] = {0};

	memcpy(blk, "MR.EXTEND", 9);
	for (int i = 0; i < 8; i++)
		blk[16 + i] = (u8)(gpa >> (8 * i));
	EVP_DigestUpdate(vm->mrtd, blk, sizeof(blk));
	EVP_DigestUpdate(vm->mrtd, chunk, 256);
}

/* ------------------------------------------------------- system fd */

static long sys_check_extension(struct sim_sys *sys, struct sim_vm *vm, long cap)
{
	const struct sim_caps *c = &G.caps;

	switch (cap) {
	case S_CAP_VM_TYPES: {
		long real = 1;

		if (sys && sys->real_fd >= 0) {
			real = G.r_ioctl(sys->real_fd, S_KVM_CHECK_EXTENSION, cap);
			if (real < 0)
				real = 1;
		}
		return G.no_tdx ? (real & ~(1l << S_KVM_X86_TDX_VM))
				: (real | (1l << S_KVM_X86_TDX_VM));
	}
	case S_CAP_MAX_VCPUS:
		return vm ? vm->max_vcpus : 1024;
	case S_CAP_NR_VCPUS:
		return vm ? vm->max_vcpus : c->max_vcpus;
	case S_CAP_MAX_VCPU_ID:
		return 4096;
	case S_CAP_READONLY_MEM:
		return vm ? 0 : 1;   /* no read-only memory for protected-state VMs */
	case S_CAP_X86_SMM:
		return vm ? 0 : 1;
	case S_CAP_SYNC_REGS:
		return vm ? 0 : 0x7;
	case S_CAP_MEMORY_ATTRIBUTES:
		return (long)S_KVM_MEMORY_ATTRIBUTE_PRIVATE;
	case S_CAP_EXIT_HYPERCALL:
		return 1l << S_KVM_HC_MAP_GPA_RANGE;
	case S_CAP_X2APIC_API:
		return 3;
	case S_CAP_X86_APIC_BUS_CYCLES_NS:
		return 1;
	case S_CAP_COALESCED_MMIO:
		return 2;
	case S_CAP_NR_MEMSLOTS:
		return 32764;
	case S_CAP_IRQCHIP:
	case S_CAP_USER_MEMORY:
	case S_CAP_SET_TSS_ADDR:
	case S_CAP_EXT_CPUID:
	case S_CAP_MP_STATE:
	case S_CAP_IRQ_ROUTING:
	case S_CAP_IRQFD:
	case S_CAP_IOEVENTFD:
	case S_CAP_TSC_CONTROL:
	case S_CAP_SIGNAL_MSI:
	case S_CAP_SPLIT_IRQCHIP:
	case S_CAP_VM_TSC_CONTROL:
	case S_CAP_USER_MEMORY2:
	case S_CAP_MEMORY_FAULT_INFO:
	case S_CAP_GUEST_MEMFD:
	case S_CAP_PRE_FAULT_MEMORY:
		return 1;
	default:
		if (sys && sys->real_fd >= 0)
			return G.r_ioctl(sys->real_fd, S_KVM_CHECK_EXTENSION, cap);
		return 0;
	}
}

/* A plausible host CPUID for KVM_GET_SUPPORTED_CPUID when there is no real KVM. */
static const struct s_kvm_cpuid_entry2 host_cpuid[] = {
	{0x0, 0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69, {0}},
	{0x1, 0, 0, 0x000806f8, 0x00000800, 0xf7fa3223, 0x078bfbff, {0}},
	{0x6, 0, 0, 0x4, 0, 0, 0, {0}},
	{0x7, 0, 1, 0x1, 0xf3bfa7eb, 0x1b415f6e, 0xbc00c410, {0}},
	{0x7, 1, 1, 0x00001c30, 0, 0, 0, {0}},
	{0xb, 0, 1, 0, 1, 0x100, 0, {0}},
	{0xb, 1, 1, 0, 1, 0x201, 0, {0}},
	{0xd, 0, 1, 0x000602e7, 0x2b00, 0x2b00, 0, {0}},
	{0xd, 1, 1, 0x1f, 0, 0, 0, {0}},
	{0x1f, 0, 1, 0, 1, 0x100, 0, {0}},
	{0x1f, 1, 1, 0, 1, 0x201, 0, {0}},
	{0x40000000, 0, 0, 0x40000001, 0x4b4d564b, 0x564b4d56, 0x4d, {0}},
	{0x40000001, 0, 0, 0x01007afb, 0, 0, 0, {0}},
	{0x80000000, 0, 0, 0x80000008, 0, 0, 0, {0}},
	{0x80000001, 0, 0, 0, 0, 0x00000121, 0x2c100800, {0}},
	{0x80000007, 0, 0, 0, 0, 0, 0x100, {0}},
	{0x80000008, 0, 0, 0x00003034, 0x00000200, 0, 0, {0}},
};

static long sys_get_cpuid(u64 arg)
{
	struct s_kvm_cpuid2 hdr;
	u32 n = sizeof(host_cpuid) / sizeof(host_cpuid[0]);
	int r = ucopy_from(&hdr, arg, sizeof(hdr));

	if (r)
		return r;
	if (hdr.nent < n)
		return -E2BIG;  /* like kvm_dev_ioctl_get_cpuid: nent is not written back */
	hdr.nent = n;
	r = ucopy_to(arg, &hdr, sizeof(hdr));
	if (!r)
		r = ucopy_to(arg + sizeof(hdr), host_cpuid, sizeof(host_cpuid));
	return r;
}

static int vm_new(int type, bool cloexec);

static long sys_ioctl(struct sim_sys *sys, int fd, unsigned long req, u64 arg)
{
	switch (req) {
	case S_KVM_GET_API_VERSION:
		return 12;
	case S_KVM_CHECK_EXTENSION:
		return sys_check_extension(sys, NULL, (long)arg);
	case S_KVM_GET_VCPU_MMAP_SIZE:
		return SIM_VCPU_MMAP_SIZE;
	case S_KVM_CREATE_VM: {
		int type = (int)arg;

		if (type == S_KVM_X86_TDX_VM) {
			if (G.no_tdx)
				return violation(EINVAL,
						 "KVM_CREATE_VM type 5 on a host whose "
						 "KVM_CAP_VM_TYPES lacks bit 5");
			return vm_new(type, true);
		}
		if (sys->real_fd >= 0) {
			int r = G.r_ioctl(sys->real_fd, req, arg);
			return r < 0 ? -errno : r;
		}
		sim_log("CREATE_VM type=%d -> -%s (no real KVM)", type, errname(sys->real_errno));
		return -sys->real_errno;
	}
	case S_KVM_GET_SUPPORTED_CPUID:
	case S_KVM_GET_EMULATED_CPUID:
		if (sys->real_fd >= 0)
			break;
		return sys_get_cpuid(arg);
	default:
		break;
	}
	if (sys->real_fd >= 0) {
		int r = G.r_ioctl(sys->real_fd, req, arg);
		return r < 0 ? -errno : r;
	}
	sim_log("UNHANDLED system ioctl 0x%lx -> -EINVAL", req);
	return -EINVAL;
}

/* ------------------------------------------------------------- VM fd */

static int vm_new(int type, bool cloexec)
{
	struct sim_vm *vm = calloc(1, sizeof(*vm));
	int fd;

	if (!vm)
		return -ENOMEM;
	pthread_mutex_init(&vm->lock, NULL);
	vm->max_vcpus = G.caps.max_vcpus;
	vm->tsc_khz = 0;
	fd = new_fd("tdxsim-vm", O_VM, vm, cloexec, 0);
	if (fd < 0) {
		free(vm);
		return fd;
	}
	vm->fd = fd;
	pthread_mutex_lock(&G.lock);
	vm->id = ++G.vm_ids;
	pthread_mutex_unlock(&G.lock);
	sim_log("CREATE_VM type=%d vm=%d max_vcpus=%d -> fd", type, vm->id, vm->max_vcpus);
	return fd;
}

static long vm_enable_cap(struct sim_vm *vm, u64 arg)
{
	struct s_kvm_enable_cap c;
	int r = ucopy_from(&c, arg, sizeof(c));

	if (r)
		return r;
	if (c.flags)
		return violation(EINVAL, "KVM_ENABLE_CAP %u: flags 0x%x must be 0", c.cap, c.flags);
	switch (c.cap) {
	case S_CAP_SPLIT_IRQCHIP:
		if (c.args[0] > 48)
			return violation(EINVAL, "SPLIT_IRQCHIP: %" PRIu64 " pins > 48", c.args[0]);
		if (vm->split_irqchip)
			return violation(EEXIST, "SPLIT_IRQCHIP: irqchip already created");
		if (vm->created_vcpus)
			return violation(EEXIST, "SPLIT_IRQCHIP after KVM_CREATE_VCPU");
		vm->split_irqchip = true;
		vm->ioapic_pins = c.args[0];
		break;
	case S_CAP_X2APIC_API:
		if (c.args[0] & ~3ull)
			return violation(EINVAL, "X2APIC_API: unknown flags 0x%" PRIx64, c.args[0]);
		vm->x2apic_api = c.args[0];
		break;
	case S_CAP_EXIT_HYPERCALL:
		if (c.args[0] & ~(1ull << S_KVM_HC_MAP_GPA_RANGE))
			return violation(EINVAL, "EXIT_HYPERCALL: mask 0x%" PRIx64 " has unknown bits",
					 c.args[0]);
		vm->hypercall_mask = c.args[0];
		break;
	case S_CAP_X86_APIC_BUS_CYCLES_NS:
		if (!c.args[0] || c.args[0] > UINT64_MAX / (0xffffffffull * 128))
			return violation(EINVAL, "APIC_BUS_CYCLES_NS: bad value %" PRIu64, c.args[0]);
		if (!vm->split_irqchip)
			return violation(ENXIO, "APIC_BUS_CYCLES_NS without an in-kernel LAPIC "
						"(enable SPLIT_IRQCHIP first)");
		if (vm->created_vcpus)
			return violation(EINVAL, "APIC_BUS_CYCLES_NS after KVM_CREATE_VCPU");
		vm->apic_bus_ns = c.args[0];
		if (vm->state != TD_UNINITIALIZED)
			sim_log("WARNING APIC_BUS_CYCLES_NS set after KVM_TDX_INIT_VM");
		break;
	default:
		sim_log("ENABLE_CAP cap=%u unknown to the simulator -> -EINVAL", c.cap);
		return -EINVAL;
	}
	sim_log("ENABLE_CAP cap=%u args0=0x%" PRIx64 " -> 0", c.cap, c.args[0]);
	return 0;
}

static long vm_set_memslot(struct sim_vm *vm, const struct s_kvm_userspace_memory_region2 *m,
			   bool v2)
{
	u32 valid = S_KVM_MEM_LOG_DIRTY_PAGES | S_KVM_MEM_GUEST_MEMFD;
	struct sim_slot *s = NULL;
	struct sim_gmem *g = NULL;
	u16 as_id = (u16)(m->slot >> 16), id = (u16)m->slot;

	/* check_memory_region_flags(): READONLY only where readonly memory exists
	 * (never for protected-state VMs); no dirty logging on guest_memfd slots. */
	if (m->flags & S_KVM_MEM_GUEST_MEMFD)
		valid &= ~S_KVM_MEM_LOG_DIRTY_PAGES;
	if (!v2 && (m->flags & ~(S_KVM_MEM_LOG_DIRTY_PAGES | S_KVM_MEM_READONLY)))
		return violation(EINVAL, "KVM_SET_USER_MEMORY_REGION: flags 0x%x", m->flags);
	if (m->flags & ~valid)
		return violation(EINVAL, "memslot %u: flags 0x%x not allowed on a TD (%s)", id,
				 m->flags,
				 (m->flags & S_KVM_MEM_READONLY) ? "no read-only memory for TDs"
								 : "no dirty logging with guest_memfd");
	if (as_id != 0)
		return violation(EINVAL, "memslot 0x%x: private-memory VMs have one address space",
				 m->slot);
	if (id >= 32764)
		return violation(EINVAL, "memslot id %u out of range", id);
	if ((m->memory_size | m->guest_phys_addr | m->userspace_addr) & (SIM_PAGE - 1))
		return violation(EINVAL, "memslot %u: size/gpa/userspace_addr not page aligned", id);
	if (m->guest_phys_addr + m->memory_size < m->guest_phys_addr)
		return violation(EINVAL, "memslot %u: gpa range wraps", id);
	if ((m->flags & S_KVM_MEM_GUEST_MEMFD) &&
	    ((m->guest_memfd_offset & (SIM_PAGE - 1)) ||
	     m->guest_memfd_offset + m->memory_size < m->guest_memfd_offset))
		return violation(EINVAL, "memslot %u: guest_memfd_offset 0x%" PRIx64 " misaligned",
				 id, m->guest_memfd_offset);

	for (int i = 0; i < SIM_MAX_SLOTS; i++)
		if (vm->slots[i].used && vm->slots[i].id == id)
			s = &vm->slots[i];
	if (m->memory_size == 0) {
		if (s) {
			sim_log("MEMSLOT slot=%u deleted", id);
			s->used = false;
		}
		return 0;
	}
	if (s) {
		/* Changing a live slot: only flags, and never for guest_memfd slots. */
		if (s->gmem || (m->flags & S_KVM_MEM_GUEST_MEMFD) || s->size != m->memory_size ||
		    s->uaddr != m->userspace_addr)
			return violation(EINVAL, "memslot %u: cannot modify an existing slot "
						 "this way", id);
		s->gpa = m->guest_phys_addr;
		s->flags = m->flags;
		return 0;
	}
	for (int i = 0; i < SIM_MAX_SLOTS; i++) {
		struct sim_slot *o = &vm->slots[i];

		if (o->used && o->gpa < m->guest_phys_addr + m->memory_size &&
		    m->guest_phys_addr < o->gpa + o->size)
			return violation(EEXIST, "memslot %u overlaps memslot %u", id, o->id);
	}
	if (m->flags & S_KVM_MEM_GUEST_MEMFD) {
		struct obj o = lookup((int)m->guest_memfd);

		if (o.kind != O_GMEM || ((struct sim_gmem *)o.p)->vm != vm)
			return violation(EINVAL, "memslot %u: fd %u is not a guest_memfd of this VM",
					 id, m->guest_memfd);
		g = o.p;
		if (m->guest_memfd_offset + m->memory_size > g->size)
			return violation(EINVAL, "memslot %u: guest_memfd range [0x%" PRIx64
						 ", +0x%" PRIx64 ") past its size 0x%" PRIx64,
					 id, m->guest_memfd_offset, m->memory_size, g->size);
		for (int i = 0; i < SIM_MAX_SLOTS; i++) {
			struct sim_slot *b = &vm->slots[i];

			if (b->used && b->gmem == g && b->gmem_off < m->guest_memfd_offset + m->memory_size &&
			    m->guest_memfd_offset < b->gmem_off + b->size)
				return violation(EINVAL, "memslot %u: guest_memfd range already bound "
							 "to memslot %u", id, b->id);
		}
	}
	for (int i = 0; i < SIM_MAX_SLOTS; i++)
		if (!vm->slots[i].used) {
			s = &vm->slots[i];
			break;
		}
	if (!s)
		return violation(ENOMEM, "more than %d memslots (simulator limit)", SIM_MAX_SLOTS);
	s->used = true;
	s->id = id;
	s->flags = m->flags;
	s->gpa = m->guest_phys_addr;
	s->size = m->memory_size;
	s->uaddr = m->userspace_addr;
	s->gmem = g;
	s->gmem_off = m->guest_memfd_offset;
	sim_log("MEMSLOT slot=%u gpa=0x%" PRIx64 " size=0x%" PRIx64 " flags=0x%x gmem=%s off=0x%" PRIx64
		"%s -> 0",
		id, s->gpa, s->size, s->flags, g ? "yes" : "no", s->gmem_off,
		g ? "" : " (shared-only: nothing here can become private)");
	return 0;
}

static long vm_create_gmem(struct sim_vm *vm, u64 arg)
{
	struct s_kvm_create_guest_memfd c;
	struct sim_gmem *g;
	int r = ucopy_from(&c, arg, sizeof(c)), fd;

	if (r)
		return r;
	if (c.flags)
		return violation(EINVAL, "KVM_CREATE_GUEST_MEMFD: flags 0x%" PRIx64 " (6.16: none valid)",
				 c.flags);
	if ((int64_t)c.size <= 0 || (c.size & (SIM_PAGE - 1)))
		return violation(EINVAL, "KVM_CREATE_GUEST_MEMFD: size 0x%" PRIx64
					 " must be > 0 and page aligned", c.size);
	for (int i = 0; i < 6; i++)
		if (c.reserved[i])
			return violation(EINVAL, "KVM_CREATE_GUEST_MEMFD: reserved[%d] != 0", i);
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->vm = vm;
	g->size = c.size;
	fd = new_fd("tdxsim-gmem", O_GMEM, g, true, 0);
	if (fd < 0) {
		free(g);
		return fd;
	}
	g->fd = fd;
	sim_log("GMEM size=0x%" PRIx64 " -> fd", c.size);
	return fd;
}

static long vm_set_attributes(struct sim_vm *vm, u64 arg)
{
	struct s_kvm_memory_attributes a;
	int r = ucopy_from(&a, arg, sizeof(a));

	if (r)
		return r;
	if (a.flags)
		return violation(EINVAL, "KVM_SET_MEMORY_ATTRIBUTES: flags 0x%" PRIx64 " != 0", a.flags);
	if (a.attributes & ~S_KVM_MEMORY_ATTRIBUTE_PRIVATE)
		return violation(EINVAL, "KVM_SET_MEMORY_ATTRIBUTES: attributes 0x%" PRIx64
					 " (only PRIVATE)", a.attributes);
	if (a.size == 0 || a.address + a.size < a.address)
		return violation(EINVAL, "KVM_SET_MEMORY_ATTRIBUTES: empty or wrapping range");
	if ((a.address | a.size) & (SIM_PAGE - 1))
		return violation(EINVAL, "KVM_SET_MEMORY_ATTRIBUTES: [0x%" PRIx64 ", +0x%" PRIx64
					 ") not page aligned", a.address, a.size);
	rset_set(&vm->private_attr, a.address, a.address + a.size, a.attributes != 0);
	sim_log("ATTR gpa=0x%" PRIx64 " size=0x%" PRIx64 " %s -> 0", a.address, a.size,
		a.attributes ? "private" : "shared");
	return 0;
}

/* kvm_find_cpuid_entry2(): the index only counts when the entry says so. */
static const struct s_kvm_cpuid_entry2 *find_cpuid(const struct s_kvm_cpuid_entry2 *e, u32 n,
						     u32 fn, u32 idx)
{
	for (u32 i = 0; i < n; i++)
		if (e[i].function == fn &&
		    (!(e[i].flags & S_KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e[i].index == idx))
			return &e[i];
	return NULL;
}

static long tdx_capabilities(struct sim_vm *vm, struct s_kvm_tdx_cmd *cmd)
{
	const struct sim_caps *c = &G.caps;
	struct s_kvm_tdx_capabilities caps;
	int r;

	if (cmd->flags)
		return violation(EINVAL, "KVM_TDX_CAPABILITIES: flags 0x%x != 0", cmd->flags);
	r = ucopy_from(&caps, cmd->data, sizeof(caps));
	if (r)
		return r;
	if (caps.cpuid.nent < c->nent) {
		/* The kernel returns before writing anything back: no count for you. */
		sim_log("CAPS nent=%u < %u -> -E2BIG (nent not written back)", caps.cpuid.nent,
			c->nent);
		return -E2BIG;
	}
	caps.supported_attrs = c->supported_attrs;
	caps.supported_xfam = c->supported_xfam;
	caps.kernel_tdvmcallinfo_1_r11 = c->kernel_r11;
	caps.user_tdvmcallinfo_1_r11 = c->user_r11;
	caps.kernel_tdvmcallinfo_1_r12 = c->kernel_r12;
	caps.user_tdvmcallinfo_1_r12 = c->user_r12;
	caps.cpuid.nent = c->nent;
	r = ucopy_to(cmd->data, &caps, sizeof(caps));
	if (!r)
		r = ucopy_to(cmd->data + sizeof(caps), c->entries, c->nent * sizeof(c->entries[0]));
	sim_log("CAPS nent=%u attrs=0x%" PRIx64 " xfam=0x%" PRIx64 " -> %d", c->nent,
		c->supported_attrs, c->supported_xfam, r);
	(void)vm;
	return r;
}

static bool tsx_or_waitpkg(const struct s_kvm_cpuid_entry2 *e)
{
	return e->function == 7 && e->index == 0 &&
	       ((e->ebx & ((1u << 4) | (1u << 11))) || (e->ecx & (1u << 5)));
}

/* Leaves the TDX module enumerates by sub-leaf (KVM_TDX_GET_CPUID flags them). */
static bool leaf_has_subleaves(u32 fn)
{
	static const u32 l[] = {0x4,  0x7,	0xb,  0xd,  0xf,	0x10,	    0x12,
				0x14, 0x17, 0x18, 0x1d, 0x1e, 0x1f, 0x20, 0x23, 0x24,
				0x8000001d, 0x80000020, 0x80000026};

	for (size_t i = 0; i < sizeof(l) / sizeof(l[0]); i++)
		if (l[i] == fn)
			return true;
	return false;
}

static struct s_kvm_cpuid_entry2 *model_slot(struct sim_vm *vm, u32 fn, u32 idx)
{
	struct s_kvm_cpuid_entry2 *e;

	for (u32 i = 0; i < vm->td_model_nent; i++)
		if (vm->td_model[i].function == fn && vm->td_model[i].index == idx)
			return &vm->td_model[i];
	if (vm->td_model_nent >= S_KVM_MAX_CPUID_ENTRIES)
		abort();
	e = &vm->td_model[vm->td_model_nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->flags = leaf_has_subleaves(fn) ? S_KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	return e;
}

/* ORs (set) or clears (!set) each listed leaf's registers into the model. */
static void model_apply(struct sim_vm *vm, const struct s_kvm_cpuid_entry2 *list, u32 n, bool set)
{
	for (u32 i = 0; i < n; i++) {
		const struct s_kvm_cpuid_entry2 *l = &list[i];
		struct s_kvm_cpuid_entry2 *e = model_slot(vm, l->function, l->index);

		if (set) {
			e->eax |= l->eax;
			e->ebx |= l->ebx;
			e->ecx |= l->ecx;
			e->edx |= l->edx;
		} else {
			e->eax &= ~l->eax;
			e->ebx &= ~l->ebx;
			e->ecx &= ~l->ecx;
			e->edx &= ~l->edx;
		}
	}
}

/*
 * What the TDX module makes of TD_PARAMS (TDH.MNG.INIT): per leaf, its fixed-1
 * bits, the configurable bits the VMM asked for unless the CPU lacks them
 * (native0), the XSAVE leaves from XFAM and GPAW in 0x80000008 EAX[23:16];
 * leaf 0 and 0x80000000 give the highest leaves. Modelled only for the leaves
 * of the fixed-1 and configurable lists (the real module virtualizes more).
 */
static void td_model_build(struct sim_vm *vm)
{
	const struct sim_caps *c = &G.caps;
	u32 maxb = 1, maxe = 0x80000008;
	struct s_kvm_cpuid_entry2 *e;

	vm->td_model_nent = 0;
	model_slot(vm, 0, 0);
	model_slot(vm, 0x80000000, 0);
	model_apply(vm, c->fixed1, c->nfixed1, true);
	for (u32 i = 0; i < c->nent; i++)
		model_slot(vm, c->entries[i].function, c->entries[i].index);
	model_apply(vm, vm->td_cpuid, vm->td_cpuid_nent, true);
	model_apply(vm, c->native0, c->nnative0, false);
	/* XCR0-managed state (x87..AVX-512, PKRU, AMX) and XSS-managed state. */
	e = model_slot(vm, 0xd, 0);
	e->eax |= (u32)(vm->xfam & 0x000e02ffull);
	e->edx |= (u32)(vm->xfam >> 32);
	e = model_slot(vm, 0xd, 1);
	e->ecx |= (u32)(vm->xfam & 0x0001fd00ull);
	e = model_slot(vm, 0x80000008, 0);
	e->eax = (e->eax & ~0x00ff0000u) | (u32)vm->gpaw << 16;
	for (u32 i = 0; i < vm->td_model_nent; i++) {
		u32 f = vm->td_model[i].function;

		if (f < 0x80000000 && f > maxb)
			maxb = f;
		if (f >= 0x80000000 && f > maxe)
			maxe = f;
	}
	e = model_slot(vm, 0, 0);
	e->eax = maxb;
	e->ebx = 0x756e6547; /* "GenuineIntel" */
	e->edx = 0x49656e69;
	e->ecx = 0x6c65746e;
	model_slot(vm, 0x80000000, 0)->eax = maxe;
	/* KVM reads leaf by leaf, sub-leaf by sub-leaf. */
	for (u32 i = 1; i < vm->td_model_nent; i++)
		for (u32 j = i; j > 0; j--) {
			struct s_kvm_cpuid_entry2 *a = &vm->td_model[j - 1], *b = &vm->td_model[j], t;

			if (a->function < b->function ||
			    (a->function == b->function && a->index <= b->index))
				break;
			t = *a;
			*a = *b;
			*b = t;
		}
}

static long tdx_init_vm(struct sim_vm *vm, struct s_kvm_tdx_cmd *cmd)
{
	const struct sim_caps *c = &G.caps;
	struct s_kvm_tdx_init_vm iv;
	struct s_kvm_cpuid_entry2 *ents = NULL;
	const struct s_kvm_cpuid_entry2 *gp;
	char h1[97], h2[97], h3[97];
	u32 copy_cnt = 0;
	int gpaw, r;

	if (vm->state != TD_UNINITIALIZED)
		return violation(EINVAL, "KVM_TDX_INIT_VM issued twice");
	if (cmd->flags)
		return violation(EINVAL, "KVM_TDX_INIT_VM: flags 0x%x != 0", cmd->flags);
	r = ucopy_from(&iv, cmd->data, sizeof(iv));
	if (r)
		return r;
	if (iv.cpuid.nent > S_KVM_MAX_CPUID_ENTRIES)
		return violation(E2BIG, "KVM_TDX_INIT_VM: cpuid.nent %u > %d", iv.cpuid.nent,
				 S_KVM_MAX_CPUID_ENTRIES);
	ents = calloc(iv.cpuid.nent + 1, sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	r = ucopy_from(ents, cmd->data + sizeof(iv), iv.cpuid.nent * sizeof(*ents));
	if (r)
		goto out;
	for (int i = 0; i < 12; i++)
		if (iv.reserved[i]) {
			r = violation(EINVAL, "KVM_TDX_INIT_VM: reserved[%d] != 0", i);
			goto out;
		}
	if (iv.cpuid.padding) {
		r = violation(EINVAL, "KVM_TDX_INIT_VM: cpuid.padding != 0");
		goto out;
	}
	if (vm->created_vcpus) {
		r = violation(EBUSY, "KVM_TDX_INIT_VM after KVM_CREATE_VCPU");
		goto out;
	}
	if (iv.attributes & ~c->supported_attrs) {
		r = violation(EINVAL, "KVM_TDX_INIT_VM: attributes 0x%" PRIx64 " outside supported 0x%"
				      PRIx64, iv.attributes, c->supported_attrs);
		goto out;
	}
	if (iv.xfam & ~c->supported_xfam) {
		r = violation(EINVAL, "KVM_TDX_INIT_VM: xfam 0x%" PRIx64 " outside supported 0x%" PRIx64,
			      iv.xfam, c->supported_xfam);
		goto out;
	}
	gp = find_cpuid(ents, iv.cpuid.nent, 0x80000008, 0);
	if (!gp) {
		r = violation(EINVAL, "KVM_TDX_INIT_VM: CPUID 0x80000008 (GPAW) missing");
		goto out;
	}
	gpaw = (gp->eax >> 16) & 0xff;
	if ((gpaw != 48 && gpaw != 52) || (gpaw == 52 && !c->ept5)) {
		r = violation(EINVAL, "KVM_TDX_INIT_VM: CPUID 0x80000008 EAX[23:16] = %d (must be 48%s)",
			      gpaw, c->ept5 ? " or 52" : "; 52 needs 5-level EPT");
		goto out;
	}
	/* setup_tdparams_cpuids(): walk the module's configurable leaves. */
	vm->td_cpuid_nent = 0;
	for (u32 i = 0; i < c->nent; i++) {
		const struct s_kvm_cpuid_entry2 *cfg = &c->entries[i];
		const struct s_kvm_cpuid_entry2 *e =
			find_cpuid(ents, iv.cpuid.nent, cfg->function, cfg->index);
		u32 eax;

		if (!e)
			continue;
		if (tsx_or_waitpkg(e)) {
			r = violation(EINVAL, "KVM_TDX_INIT_VM: CPUID 7.0 asks for TSX or WAITPKG");
			goto out;
		}
		copy_cnt++;
		eax = e->eax;
		if (cfg->function == 0x80000008)
			eax &= ~0x00ff0000u;
		/* TDH.MNG.INIT: only configurable bits may be set */
		if ((eax & ~cfg->eax) || (e->ebx & ~cfg->ebx) || (e->ecx & ~cfg->ecx) ||
		    (e->edx & ~cfg->edx)) {
			cmd->hw_error = S_TDX_OPERAND_INVALID;
			r = violation(EINVAL,
				      "KVM_TDX_INIT_VM: CPUID 0x%x.%u sets bits outside the "
				      "configurable mask (%08x %08x %08x %08x vs %08x %08x %08x %08x)",
				      cfg->function, cfg->index, eax, e->ebx, e->ecx, e->edx,
				      cfg->eax, cfg->ebx, cfg->ecx, cfg->edx);
			goto out;
		}
		vm->td_cpuid[vm->td_cpuid_nent] = *cfg;
		vm->td_cpuid[vm->td_cpuid_nent].flags =
			cfg->index ? S_KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
		vm->td_cpuid[vm->td_cpuid_nent].eax = e->eax;
		vm->td_cpuid[vm->td_cpuid_nent].ebx = e->ebx;
		vm->td_cpuid[vm->td_cpuid_nent].ecx = e->ecx;
		vm->td_cpuid[vm->td_cpuid_nent++].edx = e->edx;
	}
	if (copy_cnt != iv.cpuid.nent) {
		r = violation(EINVAL, "KVM_TDX_INIT_VM: %u CPUID entries given but only %u match "
				      "configurable leaves (non-configurable leaf, or an indexed leaf "
				      "without SIGNIFCANT_INDEX matched twice)",
			      iv.cpuid.nent, copy_cnt);
		goto out;
	}
	vm->attributes = iv.attributes;
	vm->xfam = iv.xfam;
	vm->gpaw = gpaw;
	vm->shared_bit = gpaw == 52 ? 1ull << 51 : 1ull << 47;
	vm->mrtd = EVP_MD_CTX_new();
	if (!vm->mrtd || !EVP_DigestInit_ex(vm->mrtd, EVP_sha384(), NULL))
		abort();
	td_model_build(vm);
	vm->state = TD_INITIALIZED;
	hex(h1, iv.mrconfigid, 48);
	hex(h2, iv.mrowner, 48);
	hex(h3, iv.mrownerconfig, 48);
	sim_log("INIT_VM attrs=0x%" PRIx64 " xfam=0x%" PRIx64 " nent=%u gpaw=%d tsc_khz=%u "
		"apic_bus_ns=%" PRIu64 " mrconfigid=%s mrowner=%s mrownerconfig=%s -> 0",
		iv.attributes, iv.xfam, iv.cpuid.nent, gpaw, vm->tsc_khz, vm->apic_bus_ns, h1, h2,
		h3);
	for (u32 i = 0; i < iv.cpuid.nent; i++)
		sim_log("INIT_VM cpuid 0x%x.%u flags=%u %08x %08x %08x %08x", ents[i].function,
			ents[i].index, ents[i].flags, ents[i].eax, ents[i].ebx, ents[i].ecx,
			ents[i].edx);
	r = 0;
out:
	free(ents);
	return r;
}

static long tdx_finalize(struct sim_vm *vm, struct s_kvm_tdx_cmd *cmd)
{
	u8 md[48];
	char h[97];
	unsigned int len = 0;

	if (vm->state != TD_INITIALIZED)
		return violation(EINVAL, "KVM_TDX_FINALIZE_VM %s",
				 vm->state == TD_RUNNABLE ? "issued twice" : "before KVM_TDX_INIT_VM");
	if (cmd->flags)
		sim_log("NOTE KVM_TDX_FINALIZE_VM: flags 0x%x ignored by 6.16", cmd->flags);
	for (int i = 0; i < SIM_MAX_VCPUS; i++)
		if (vm->vcpus[i] && !vm->vcpus[i]->initialized)
			sim_log("WARNING FINALIZE with vCPU %d not initialised: it can never run "
				"(KVM_RUN -> EINVAL)", i);
	EVP_DigestFinal_ex(vm->mrtd, md, &len);
	vm->state = TD_RUNNABLE;
	hex(h, md, 48);
	sim_log("FINALIZE pages_added=%" PRIu64 " pages_measured=%" PRIu64 " -> 0", vm->pages_added,
		vm->pages_measured);
	sim_log("MRTD %s", h);
	return 0;
}

/* TDXSIM_INJECT_BUSY: -EBUSY where this kernel can answer it for op. */
static int inject_busy(enum sim_tdx_op op, const char *what)
{
	if (!(G.kernel->busy_ops & op) || __atomic_load_n(&G.inject_busy, __ATOMIC_SEQ_CST) <= 0 ||
	    __atomic_sub_fetch(&G.inject_busy, 1, __ATOMIC_SEQ_CST) < 0)
		return 0;
	sim_log("NOTE %s -> -EBUSY (TDXSIM_INJECT_BUSY; %s can answer it here, retry)", what,
		G.kernel->name);
	return -EBUSY;
}

/*
 * 6.19 and later take kvm->lock, every vCPU mutex and slots_lock around
 * INIT_VM, INIT_VCPU, INIT_MEM_REGION and FINALIZE (vm->lock held here
 * stands for kvm->lock). 6.19 answers -EBUSY while a KVM_CREATE_VCPU is in
 * flight; newer kernels hold kvm->lock across vCPU creation, so the call
 * waits instead. A vCPU inside another ioctl (KVM_RUN) makes the kernel wait
 * for it: a VMM doing that can hang, so it is reported.
 */
static int state_guard(struct sim_vm *vm, struct sim_vcpu *self, enum sim_tdx_op op,
		       const char *what)
{
	const struct sim_kernel *k = G.kernel;

	if (k->state_guard) {
		if (k->busy_while_creating && vm->creating) {
			sim_log("NOTE %s while a vCPU is being created -> -EBUSY (%s: retry)", what,
				k->name);
			return -EBUSY;
		}
		for (int i = 0; i < SIM_MAX_VCPUS; i++) {
			struct sim_vcpu *o = vm->vcpus[i];

			if (!o || o == self)
				continue;
			if (pthread_mutex_trylock(&o->lock)) {
				sim_log("WARNING %s while vCPU %d is inside an ioctl: %s waits for "
					"every vCPU mutex", what, i, k->name);
				continue;
			}
			pthread_mutex_unlock(&o->lock);
		}
	}
	return inject_busy(op, what);
}

/* kvm-x86 (June 2025): release the HKID; the VM is dead from then on. */
static long tdx_terminate_vm(struct sim_vm *vm, struct s_kvm_tdx_cmd *cmd)
{
	int locked = 0;
	long r = 0;

	if (cmd->flags || cmd->data)
		return violation(EINVAL, "KVM_TDX_TERMINATE_VM: flags 0x%x data 0x%" PRIx64
					 " (both must be 0)", cmd->flags, cmd->data);
	/* kvm_trylock_all_vcpus(): a vCPU still in an ioctl makes it -EBUSY */
	for (; locked < SIM_MAX_VCPUS; locked++) {
		struct sim_vcpu *o = vm->vcpus[locked];

		if (o && pthread_mutex_trylock(&o->lock)) {
			r = violation(EBUSY, "KVM_TDX_TERMINATE_VM while vCPU %d is inside an ioctl "
					     "(stop the vCPU threads first)", locked);
			break;
		}
	}
	if (!r) {
		vm->dead = true;
		vm->hkid_released = vm->state != TD_UNINITIALIZED;
		sim_log("TERMINATE_VM hkid=%s -> 0 (every later VM or vCPU ioctl -> -EIO)",
			vm->hkid_released ? "released" : "none");
	}
	while (locked-- > 0)
		if (vm->vcpus[locked])
			pthread_mutex_unlock(&vm->vcpus[locked]->lock);
	return r;
}

static long vm_encrypt_op(struct sim_vm *vm, u64 arg)
{
	struct s_kvm_tdx_cmd cmd;
	long r;
	int w;

	r = ucopy_from(&cmd, arg, sizeof(cmd));
	if (r)
		return r;
	if (cmd.hw_error)
		return violation(EINVAL, "KVM_MEMORY_ENCRYPT_OP (VM): hw_error must be 0 on input");
	switch (cmd.id) {
	case S_KVM_TDX_CAPABILITIES:
		r = tdx_capabilities(vm, &cmd);
		break;
	case S_KVM_TDX_INIT_VM:
		r = state_guard(vm, NULL, OP_INIT_VM, "KVM_TDX_INIT_VM");
		if (r)
			return r;
		r = tdx_init_vm(vm, &cmd);
		break;
	case S_KVM_TDX_FINALIZE_VM:
		r = state_guard(vm, NULL, OP_FINALIZE, "KVM_TDX_FINALIZE_VM");
		if (r)
			return r;
		r = tdx_finalize(vm, &cmd);
		break;
	case S_KVM_TDX_TERMINATE_VM:
		if (!G.kernel->terminate_vm) {
			/* an unknown id: how a VMM learns the kernel lacks it, so no violation */
			sim_log("NOTE KVM_MEMORY_ENCRYPT_OP (VM): command 6 (KVM_TDX_TERMINATE_VM) is "
				"unknown to %s -> -EINVAL", G.kernel->name);
			return -EINVAL;
		}
		r = tdx_terminate_vm(vm, &cmd);
		break;
	default:
		return violation(EINVAL, "KVM_MEMORY_ENCRYPT_OP (VM): command %u is not a VM command",
				 cmd.id);
	}
	/* VM commands copy the whole struct back, hw_error included. */
	w = ucopy_to(arg, &cmd, sizeof(cmd));
	return w ? w : r;
}

static long vcpu_new(struct sim_vm *vm, u64 id);

static long vm_ioctl(struct sim_vm *vm, unsigned long req, u64 arg)
{
	switch (req) {
	case S_KVM_CHECK_EXTENSION:
		return sys_check_extension(NULL, vm, (long)arg);
	case S_KVM_CREATE_VCPU:
		return vcpu_new(vm, arg);
	case S_KVM_ENABLE_CAP:
		return vm_enable_cap(vm, arg);
	case S_KVM_MEMORY_ENCRYPT_OP:
		return vm_encrypt_op(vm, arg);
	case S_KVM_SET_USER_MEMORY_REGION: {
		struct s_kvm_userspace_memory_region m1;
		struct s_kvm_userspace_memory_region2 m = {0};
		int r = ucopy_from(&m1, arg, sizeof(m1));

		if (r)
			return r;
		m.slot = m1.slot;
		m.flags = m1.flags;
		m.guest_phys_addr = m1.guest_phys_addr;
		m.memory_size = m1.memory_size;
		m.userspace_addr = m1.userspace_addr;
		return vm_set_memslot(vm, &m, false);
	}
	case S_KVM_SET_USER_MEMORY_REGION2: {
		struct s_kvm_userspace_memory_region2 m;
		int r = ucopy_from(&m, arg, sizeof(m));

		return r ? r : vm_set_memslot(vm, &m, true);
	}
	case S_KVM_CREATE_GUEST_MEMFD:
		return vm_create_gmem(vm, arg);
	case S_KVM_SET_MEMORY_ATTRIBUTES:
		return vm_set_attributes(vm, arg);
	case S_KVM_CREATE_IRQCHIP:
		return violation(ENOTTY, "KVM_CREATE_IRQCHIP on a TD (in-kernel IOAPIC not allowed; "
					 "use KVM_CAP_SPLIT_IRQCHIP)");
	case S_KVM_CREATE_PIT2:
		return violation(ENOENT, "KVM_CREATE_PIT2 on a TD (needs an in-kernel PIC)");
	case S_KVM_SET_TSC_KHZ: {
		u32 khz = (u32)arg;

		if (vm->created_vcpus)
			return violation(EINVAL, "VM KVM_SET_TSC_KHZ after KVM_CREATE_VCPU");
		vm->tsc_khz = khz;
		if (vm->state != TD_UNINITIALIZED)
			sim_log("WARNING VM KVM_SET_TSC_KHZ after KVM_TDX_INIT_VM: the TD keeps the "
				"old frequency");
		sim_log("SET_TSC_KHZ vm khz=%u -> 0", khz);
		return 0;
	}
	case S_KVM_GET_TSC_KHZ:
		return vm->tsc_khz ? vm->tsc_khz : 2000000;
	case S_KVM_SET_TSS_ADDR:
		sim_log("SET_TSS_ADDR 0x%" PRIx64 " -> 0 (no-op for TDs)", arg);
		return 0;
	case S_KVM_SET_IDENTITY_MAP_ADDR:
		if (vm->created_vcpus)
			return violation(EINVAL, "KVM_SET_IDENTITY_MAP_ADDR after KVM_CREATE_VCPU");
		sim_log("SET_IDENTITY_MAP_ADDR -> 0 (no-op for TDs)");
		return 0;
	case S_KVM_SIGNAL_MSI: {
		struct s_kvm_msi m;
		int r = ucopy_from(&m, arg, sizeof(m));

		if (r)
			return r;
		if (m.flags & ~1u)
			return violation(EINVAL, "KVM_SIGNAL_MSI: flags 0x%x", m.flags);
		vm->last_msi_addr = ((u64)m.address_hi << 32) | m.address_lo;
		vm->last_msi_data = m.data;
		__atomic_add_fetch(&vm->msi_vec[m.data & 0xff], 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&vm->msi_count, 1, __ATOMIC_SEQ_CST);
		sim_log("MSI addr=0x%" PRIx64 " data=0x%x vector=%u", vm->last_msi_addr, m.data,
			m.data & 0xff);
		return 1;
	}
	case S_KVM_IRQ_LINE:
	case S_KVM_IRQ_LINE_STATUS: {
		struct s_kvm_irq_level l;
		int r = ucopy_from(&l, arg, sizeof(l));

		if (r)
			return r;
		if (!vm->split_irqchip)
			return violation(ENXIO, "KVM_IRQ_LINE without an irqchip");
		sim_log("IRQ_LINE irq=%u level=%u", l.irq, l.level);
		return 0;
	}
	case S_KVM_SET_GSI_ROUTING: {
		struct s_kvm_irq_routing rt;
		int r = ucopy_from(&rt, arg, sizeof(rt));

		if (r)
			return r;
		if (rt.flags)
			return violation(EINVAL, "KVM_SET_GSI_ROUTING: flags != 0");
		if (rt.nr > 4096)
			return violation(EINVAL, "KVM_SET_GSI_ROUTING: %u entries", rt.nr);
		sim_log("GSI_ROUTING nr=%u -> 0", rt.nr);
		return 0;
	}
	case S_KVM_IRQFD: {
		struct s_kvm_irqfd f;
		int r = ucopy_from(&f, arg, sizeof(f));

		if (r)
			return r;
		if (f.flags & ~(S_KVM_IRQFD_FLAG_DEASSIGN | S_KVM_IRQFD_FLAG_RESAMPLE))
			return violation(EINVAL, "KVM_IRQFD: flags 0x%x", f.flags);
		sim_log("IRQFD fd=%u gsi=%u flags=0x%x -> 0", f.fd, f.gsi, f.flags);
		return 0;
	}
	case S_KVM_IOEVENTFD: {
		struct s_kvm_ioeventfd io;
		int r = ucopy_from(&io, arg, sizeof(io));

		if (r)
			return r;
		if (io.flags & ~S_KVM_IOEVENTFD_VALID_FLAGS)
			return violation(EINVAL, "KVM_IOEVENTFD: flags 0x%x", io.flags);
		if (io.len != 0 && io.len != 1 && io.len != 2 && io.len != 4 && io.len != 8)
			return violation(EINVAL, "KVM_IOEVENTFD: len %u", io.len);
		sim_log("IOEVENTFD addr=0x%" PRIx64 " len=%u flags=0x%x -> 0", io.addr, io.len,
			io.flags);
		return 0;
	}
	case S_KVM_SET_CLOCK:
	case S_KVM_GET_CLOCK:
	case S_KVM_REGISTER_COALESCED_MMIO:
	case S_KVM_UNREGISTER_COALESCED_MMIO:
	case S_KVM_X86_SET_MSR_FILTER:
	case S_KVM_SET_BOOT_CPU_ID:
		sim_log("VM ioctl 0x%lx accepted", req);
		return 0;
	default:
		sim_log("UNHANDLED VM ioctl 0x%lx -> -ENOTTY", req);
		return -ENOTTY;
	}
}

/* ----------------------------------------------------------- vCPU fd */

static long vcpu_new(struct sim_vm *vm, u64 id)
{
	struct sim_vcpu *v;
	int fd;

	if (id >= 4096)
		return violation(EINVAL, "KVM_CREATE_VCPU id %" PRIu64 " >= KVM_MAX_VCPU_IDS", id);
	if (vm->created_vcpus >= vm->max_vcpus)
		return violation(EINVAL, "KVM_CREATE_VCPU: already %d vCPUs (KVM_CAP_MAX_VCPUS = %d)",
				 vm->created_vcpus, vm->max_vcpus);
	if (vm->state != TD_INITIALIZED)
		return violation(EIO, "KVM_CREATE_VCPU %s KVM_TDX_INIT_VM",
				 vm->state == TD_UNINITIALIZED ? "before" : "after KVM_TDX_FINALIZE_VM, i.e. not between INIT_VM and");
	if (!vm->split_irqchip)
		return violation(EINVAL, "KVM_CREATE_VCPU without KVM_CAP_SPLIT_IRQCHIP");
	if (id >= SIM_MAX_VCPUS)
		return violation(EINVAL, "vCPU id %" PRIu64 " beyond the simulator's limit", id);
	if (vm->vcpus[id])
		return violation(EEXIST, "KVM_CREATE_VCPU: id %" PRIu64 " exists", id);
	if (G.create_delay_us) {
		/*
		 * Creation takes a while; kernels before the newest drop kvm->lock
		 * meanwhile (created_vcpus ahead of online_vcpus), which 6.19's TDX
		 * state lock answers with -EBUSY.
		 */
		struct timespec ts = {.tv_sec = (time_t)(G.create_delay_us / 1000000),
				      .tv_nsec = (long)(G.create_delay_us % 1000000) * 1000};

		vm->creating++;
		if (!G.kernel->create_holds_lock)
			pthread_mutex_unlock(&vm->lock);
		nanosleep(&ts, NULL);
		if (!G.kernel->create_holds_lock)
			pthread_mutex_lock(&vm->lock);
		vm->creating--;
		if (vm->vcpus[id])
			return violation(EEXIST, "KVM_CREATE_VCPU: id %" PRIu64 " exists", id);
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	pthread_mutex_init(&v->lock, NULL);
	v->vm = vm;
	v->id = (u32)id;
	fd = new_fd("tdxsim-vcpu", O_VCPU, v, true, SIM_VCPU_MMAP_SIZE);
	if (fd < 0) {
		free(v);
		return fd;
	}
	v->fd = fd;
	v->run = G.r_mmap(NULL, SIM_VCPU_MMAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (v->run == MAP_FAILED)
		abort();
	vm->vcpus[id] = v;
	vm->created_vcpus++;
	sim_log("CREATE_VCPU id=%" PRIu64 " -> fd", id);
	return fd;
}

static long vcpu_set_cpuid(struct sim_vcpu *v, u64 arg)
{
	struct s_kvm_cpuid2 hdr;
	struct s_kvm_cpuid_entry2 *e;
	bool x2apic = false;
	int r = ucopy_from(&hdr, arg, sizeof(hdr));

	if (r)
		return r;
	if (hdr.nent > S_KVM_MAX_CPUID_ENTRIES)
		return violation(E2BIG, "KVM_SET_CPUID2: nent %u > %d", hdr.nent, S_KVM_MAX_CPUID_ENTRIES);
	e = calloc(hdr.nent + 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = ucopy_from(e, arg + sizeof(hdr), hdr.nent * sizeof(*e));
	if (r) {
		free(e);
		return r;
	}
	if (v->has_run && (hdr.nent != v->cpuid_nent || memcmp(e, v->cpuid, hdr.nent * sizeof(*e)))) {
		free(e);
		return violation(EINVAL, "KVM_SET_CPUID2 on vCPU %u after KVM_RUN with a different "
					 "table", v->id);
	}
	for (u32 i = 0; i < hdr.nent; i++)
		if (e[i].function == 1 && (e[i].ecx & (1u << 21)))
			x2apic = true;
	free(v->cpuid);
	v->cpuid = e;
	v->cpuid_nent = hdr.nent;
	v->x2apic = x2apic;
	sim_log("SET_CPUID2 vcpu=%u nent=%u x2apic=%d -> 0", v->id, hdr.nent, x2apic);
	return 0;
}

static long tdx_init_vcpu(struct sim_vcpu *v, struct s_kvm_tdx_cmd *cmd)
{
	if (cmd->flags)
		return violation(EINVAL, "KVM_TDX_INIT_VCPU: flags 0x%x != 0", cmd->flags);
	if (v->initialized)
		return violation(EINVAL, "KVM_TDX_INIT_VCPU twice on vCPU %u", v->id);
	if (!v->x2apic)
		return violation(EINVAL, "KVM_TDX_INIT_VCPU on vCPU %u before KVM_SET_CPUID2 "
					 "with x2APIC (CPUID.1:ECX[21])", v->id);
	v->initialized = true;
	sim_log("INIT_VCPU vcpu=%u rcx=0x%" PRIx64 " -> 0", v->id, cmd->data);
	return 0;
}

static void dump_pages(u64 gpa, const u8 *buf, u64 n)
{
	char path[600];
	int fd;

	if (!G.dump_dir[0] || !n)
		return;
	snprintf(path, sizeof(path), "%s/gpa-%016" PRIx64 ".bin", G.dump_dir, gpa);
	fd = G.r_open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (write(fd, buf, n * SIM_PAGE) < 0) {
		/* best effort */
	}
	G.r_close(fd);
}

static long tdx_init_mem_region(struct sim_vcpu *v, struct s_kvm_tdx_cmd *cmd)
{
	struct sim_vm *vm = v->vm;
	struct s_kvm_tdx_init_mem_region rg, orig;
	u64 done = 0, size;
	u8 *buf = NULL, md[48];
	unsigned int mdlen = 0;
	EVP_MD_CTX *content = NULL;
	char h[97];
	long r = 0;
	int w;

	if (!v->initialized)
		return violation(EINVAL, "KVM_TDX_INIT_MEM_REGION on vCPU %u before its "
					 "KVM_TDX_INIT_VCPU", v->id);
	if (cmd->flags & ~S_KVM_TDX_MEASURE_MEMORY_REGION)
		return violation(EINVAL, "KVM_TDX_INIT_MEM_REGION: flags 0x%x (only MEASURE)",
				 cmd->flags);
	r = ucopy_from(&rg, cmd->data, sizeof(rg));
	if (r)
		return r;
	orig = rg;
	size = rg.nr_pages << 12;
	if ((rg.source_addr & (SIM_PAGE - 1)) || (rg.gpa & (SIM_PAGE - 1)) || !rg.nr_pages ||
	    rg.nr_pages > (UINT64_MAX >> 12) || rg.gpa + size <= rg.gpa ||
	    (rg.gpa & vm->shared_bit) || ((rg.gpa + size - 1) & vm->shared_bit) ||
	    ((rg.gpa + size - 1) >> vm->gpaw))
		return violation(EINVAL, "KVM_TDX_INIT_MEM_REGION: src=0x%" PRIx64 " gpa=0x%" PRIx64
					 " pages=%" PRIu64 " not aligned, empty, wrapping or not private",
				 rg.source_addr, rg.gpa, rg.nr_pages);
	if (G.kernel->reject_src0 && !rg.source_addr)
		return violation(EINVAL, "KVM_TDX_INIT_MEM_REGION: source_addr 0 (%s refuses it)",
				 G.kernel->name);
	buf = malloc(rg.nr_pages * SIM_PAGE);
	content = EVP_MD_CTX_new();
	if (!buf || !content || !EVP_DigestInit_ex(content, EVP_sha384(), NULL))
		abort();
	while (rg.nr_pages) {
		struct sim_slot *s = slot_for(vm, rg.gpa);
		u8 *page = buf + done * SIM_PAGE;
		u64 off;

		if (!s || !s->gmem) {
			r = violation(EINVAL, "INIT_MEM_REGION gpa 0x%" PRIx64 ": %s", rg.gpa,
				      s ? "memslot has no guest_memfd" : "no memslot");
			break;
		}
		off = s->gmem_off + (rg.gpa - s->gpa);
		if (gmem_find(s->gmem, off, NULL)) {
			/* newer kernels: the TDP MMU finds it mapped (spurious fault) -> -EIO */
			r = violation(G.kernel->readd_errno, "INIT_MEM_REGION gpa 0x%" PRIx64
							     " already added", rg.gpa);
			break;
		}
		if (!rset_all(&vm->private_attr, rg.gpa, rg.gpa + SIM_PAGE)) {
			r = violation(EINVAL, "INIT_MEM_REGION gpa 0x%" PRIx64 " is not PRIVATE "
					      "(KVM_SET_MEMORY_ATTRIBUTES first)", rg.gpa);
			break;
		}
		if (ucopy_from(page, rg.source_addr, SIM_PAGE)) {
			r = violation(EFAULT, "INIT_MEM_REGION source 0x%" PRIx64 " not readable",
				      rg.source_addr);
			break;
		}
		/* TDH.MEM.PAGE.ADD, then TDH.MR.EXTEND per 256-byte chunk: KVM's order. */
		mrtd_page_add(vm, rg.gpa);
		vm->pages_added++;
		if (cmd->flags & S_KVM_TDX_MEASURE_MEMORY_REGION) {
			for (int i = 0; i < 4096; i += 256)
				mrtd_extend(vm, rg.gpa + (u64)i, page + i);
			vm->pages_measured++;
		}
		gmem_add(s->gmem, off, page);
		EVP_DigestUpdate(content, page, SIM_PAGE);
		rg.source_addr += SIM_PAGE;
		rg.gpa += SIM_PAGE;
		rg.nr_pages--;
		done++;
	}
	EVP_DigestFinal_ex(content, md, &mdlen);
	EVP_MD_CTX_free(content);
	hex(h, md, 48);
	sim_log("INIT_MEM_REGION vcpu=%u gpa=0x%" PRIx64 " pages=%" PRIu64 " flags=0x%x done=%" PRIu64
		" content_sha384=%s -> %ld",
		v->id, orig.gpa, orig.nr_pages, cmd->flags, done, h, r);
	dump_pages(orig.gpa, buf, done);
	free(buf);
	w = ucopy_to(cmd->data, &rg, sizeof(rg));
	return w ? w : r;
}

/*
 * tdx_vcpu_get_cpuid(): the TD's CPUID as the TDX module holds it (td_model),
 * leaf 0 first, every leaf up to the highest, then the extended range. Too
 * small a buffer: -E2BIG with the count written back.
 */
static long tdx_get_cpuid(struct sim_vcpu *v, struct s_kvm_tdx_cmd *cmd)
{
	struct sim_vm *vm = v->vm;
	struct s_kvm_cpuid2 hdr;
	u32 n = vm->td_model_nent;
	int r = ucopy_from(&hdr, cmd->data, sizeof(hdr));

	if (r)
		return r;
	if (cmd->flags)
		sim_log("NOTE KVM_TDX_GET_CPUID: flags 0x%x (documented as must be 0; the kernel "
			"does not check)", cmd->flags);
	if (hdr.nent < n)
		r = -E2BIG;
	hdr.nent = n;
	if (ucopy_to(cmd->data, &hdr, sizeof(hdr)))
		return -EFAULT;
	sim_log("GET_CPUID vcpu=%u nent=%u -> %s", v->id, n, r ? "-E2BIG" : "0");
	if (r)
		return r;
	return ucopy_to(cmd->data + sizeof(hdr), vm->td_model, n * sizeof(vm->td_model[0]));
}

static long vcpu_encrypt_op(struct sim_vcpu *v, u64 arg)
{
	struct sim_vm *vm = v->vm;
	struct s_kvm_tdx_cmd cmd;
	long r;

	if (vm->state != TD_INITIALIZED)
		return violation(EINVAL, "KVM_MEMORY_ENCRYPT_OP on vCPU %u %s", v->id,
				 vm->state == TD_RUNNABLE ? "after KVM_TDX_FINALIZE_VM"
							  : "before KVM_TDX_INIT_VM");
	r = ucopy_from(&cmd, arg, sizeof(cmd));
	if (r)
		return r;
	if (cmd.hw_error)
		return violation(EINVAL, "KVM_MEMORY_ENCRYPT_OP (vCPU): hw_error must be 0 on input");
	/* vCPU commands do not copy the command struct back in 6.16. */
	switch (cmd.id) {
	case S_KVM_TDX_INIT_VCPU:
		pthread_mutex_lock(&vm->lock);
		r = state_guard(vm, v, OP_INIT_VCPU, "KVM_TDX_INIT_VCPU");
		if (!r)
			r = tdx_init_vcpu(v, &cmd);
		pthread_mutex_unlock(&vm->lock);
		return r;
	case S_KVM_TDX_INIT_MEM_REGION:
		pthread_mutex_lock(&vm->lock);
		r = state_guard(vm, v, OP_INIT_MEM_REGION, "KVM_TDX_INIT_MEM_REGION");
		if (!r)
			r = tdx_init_mem_region(v, &cmd);
		pthread_mutex_unlock(&vm->lock);
		return r;
	case S_KVM_TDX_GET_CPUID:
		return tdx_get_cpuid(v, &cmd);
	default:
		return violation(EINVAL, "KVM_MEMORY_ENCRYPT_OP (vCPU): command %u is not a vCPU "
					 "command", cmd.id);
	}
}

/* tdx_has_emulated_msr(): what host-initiated MSR accesses a TD vCPU accepts. */
static bool tdx_msr_ok(u32 i, bool write)
{
	switch (i) {
	case 0x1b:          /* APICBASE */
	case 0xc0000080:    /* EFER */
	case 0x3a:          /* FEAT_CTL */
		return !write;
	case 0x8b: case 0x10a: case 0x1fc: case 0x277: case 0x6e0: case 0x1a0: case 0xce:
	case 0x140: case 0xfe: case 0x2ff: case 0x250: case 0x258: case 0x259:
	case 0x179: case 0x17a: case 0x17b: case 0x4d0: case 0x4b564d05:
		return true;
	default:
		break;
	}
	if ((i >= 0x200 && i <= 0x21f) || (i >= 0x268 && i <= 0x26f) ||
	    (i >= 0x400 && i <= 0x47f) || (i >= 0x280 && i <= 0x29f))
		return true;
	if (i >= 0x800 && i <= 0x8ff)
		return !(i == 0x808 || i == 0x80a || i == 0x80b || (i >= 0x810 && i <= 0x827));
	return false;
}

bool sim_guest_msr(struct sim_vcpu *v, u32 index, bool write, u64 *data)
{
	/* MCG_EXT_CTL needs LMCE in MCG_CAP for the guest; nothing here offers it. */
	if (index == 0x4d0 || !tdx_msr_ok(index, write))
		return false;
	/* MSR_KVM_POLL_CONTROL: only the enable bit exists. */
	if (write && index == 0x4b564d05 && (*data & ~1ull))
		return false;
	if (!write)
		*data = index == 0x1b ? 0xfee00000ull | (1ull << 10) | (1ull << 11) |
					       (v->id == 0 ? 1ull << 8 : 0)
				      : 0;
	return true;
}

bool sim_guest_cpuid(struct sim_vcpu *v, u32 fn, u32 idx, u32 out[4])
{
	const struct s_kvm_cpuid_entry2 *e = NULL;
	bool via_kvm = fn >= 0x40000000 && fn <= 0x4fffffff;

	if (!via_kvm)
		e = find_cpuid(v->vm->td_model, v->vm->td_model_nent, fn, idx);
	if (!e) {
		/* KVM answers a TD's CPUID exactly or with zeros (kvm_cpuid, exact only). */
		via_kvm = true;
		e = find_cpuid(v->cpuid, v->cpuid_nent, fn, idx);
	}
	out[0] = e ? e->eax : 0;
	out[1] = e ? e->ebx : 0;
	out[2] = e ? e->ecx : 0;
	out[3] = e ? e->edx : 0;
	return via_kvm;
}

/* The KVM PV features whose MSRs tdx_has_emulated_msr() leaves out. */
#define PV_NEEDING_MSRS                                                                            \
	((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 6) | (1u << 14) | (1u << 17))

/*
 * The feature registers the TDX module decides and KVM consults (MSR and
 * instruction emulation): KVM_SET_CPUID2 should agree with the TD there
 * (the kvm_tdx_init_vm uapi comment). Bits KVM computes at run time (OSXSAVE,
 * APIC, OSPKE), HTT (topology) and SYSCALL (64-bit mode only) are left out.
 */
static const struct {
	u32 fn, idx;
	int reg;
	u32 ignore;
} td_feature_regs[] = {
	{1, 0, 2, 1u << 27}, {1, 0, 3, (1u << 9) | (1u << 28)}, {6, 0, 0, 0}, {7, 0, 1, 0},
	{7, 0, 2, 1u << 4},  {7, 0, 3, 0}, {7, 1, 0, 0}, {7, 1, 3, 0}, {7, 2, 3, 0},
	{0xd, 0, 0, 0},	     {0xd, 0, 3, 0}, {0xd, 1, 0, 0}, {0xd, 1, 2, 0}, {0xd, 1, 3, 0},
	{0x80000001, 0, 2, 0}, {0x80000001, 0, 3, 1u << 11}, {0x80000007, 0, 3, 0},
	{0x80000008, 0, 0, ~0x00ff0000u},
};

static u32 reg_of(const struct s_kvm_cpuid_entry2 *e, int r)
{
	return r == 0 ? e->eax : r == 1 ? e->ebx : r == 2 ? e->ecx : e->edx;
}

/* At a vCPU's first KVM_RUN: what KVM would accept but get wrong for a TD. */
static void check_vcpu_cpuid(struct sim_vcpu *v)
{
	const struct s_kvm_cpuid_entry2 *pv = find_cpuid(v->cpuid, v->cpuid_nent, 0x40000001, 0);
	int bad = 0;

	if (pv && (pv->eax & PV_NEEDING_MSRS))
		sim_log("WARNING vcpu=%u CPUID 0x40000001 EAX 0x%08x offers KVM PV features 0x%x "
			"(kvmclock, async PF, steal time, PV EOI...) whose MSRs KVM does not emulate "
			"for a TD: the guest's writes to them fail",
			v->id, pv->eax, pv->eax & PV_NEEDING_MSRS);
	for (size_t i = 0; i < sizeof(td_feature_regs) / sizeof(td_feature_regs[0]); i++) {
		const struct s_kvm_cpuid_entry2 *t = find_cpuid(v->vm->td_model, v->vm->td_model_nent,
								td_feature_regs[i].fn,
								td_feature_regs[i].idx);
		const struct s_kvm_cpuid_entry2 *k;
		u32 tv, kv, keep = ~td_feature_regs[i].ignore;

		if (!t)
			continue;
		k = find_cpuid(v->cpuid, v->cpuid_nent, td_feature_regs[i].fn, td_feature_regs[i].idx);
		tv = reg_of(t, td_feature_regs[i].reg) & keep;
		kv = k ? reg_of(k, td_feature_regs[i].reg) & keep : 0;
		if (tv == kv)
			continue;
		if (++bad <= 3)
			sim_log("WARNING vcpu=%u KVM_SET_CPUID2 disagrees with the TD's CPUID "
				"(KVM_TDX_GET_CPUID) at 0x%x.%u e%cx: 0x%08x, the TD has 0x%08x: KVM may "
				"emulate MSRs or CPUID by features the TD lacks",
				v->id, td_feature_regs[i].fn, td_feature_regs[i].idx,
				"abcd"[td_feature_regs[i].reg], kv, tv);
	}
	if (bad > 3)
		sim_log("WARNING vcpu=%u KVM_SET_CPUID2 disagrees with the TD's CPUID in %d more "
			"registers", v->id, bad - 3);
}

static long vcpu_msrs(struct sim_vcpu *v, u64 arg, bool write)
{
	struct s_kvm_msrs hdr;
	int r = ucopy_from(&hdr, arg, sizeof(hdr));

	if (r)
		return r;
	if (hdr.nmsrs >= 0x10000)
		return -E2BIG;
	for (u32 i = 0; i < hdr.nmsrs; i++) {
		struct s_kvm_msr_entry e;

		if (ucopy_from(&e, arg + sizeof(hdr) + i * sizeof(e), sizeof(e)))
			return -EFAULT;
		if (!tdx_msr_ok(e.index, write)) {
			sim_log("%s vcpu=%u stops at MSR 0x%x (not accessible for a TD) -> %u",
				write ? "SET_MSRS" : "GET_MSRS", v->id, e.index, i);
			return i;
		}
		if (!write) {
			e.data = 0;
			if (e.index == 0x1b)
				e.data = 0xfee00000ull | (1ull << 10) | (1ull << 11) |
					 (v->id == 0 ? 1ull << 8 : 0);
			if (ucopy_to(arg + sizeof(hdr) + i * sizeof(e), &e, sizeof(e)))
				return -EFAULT;
		}
	}
	sim_log("%s vcpu=%u n=%u -> %u", write ? "SET_MSRS" : "GET_MSRS", v->id, hdr.nmsrs,
		hdr.nmsrs);
	return hdr.nmsrs;
}

static const char *protected_ioctl_name(unsigned long req)
{
	switch (req) {
	case S_KVM_GET_REGS: return "KVM_GET_REGS";
	case S_KVM_SET_REGS: return "KVM_SET_REGS";
	case S_KVM_GET_SREGS: return "KVM_GET_SREGS";
	case S_KVM_SET_SREGS: return "KVM_SET_SREGS";
	case S_KVM_GET_SREGS2: return "KVM_GET_SREGS2";
	case S_KVM_SET_SREGS2: return "KVM_SET_SREGS2";
	case S_KVM_GET_FPU: return "KVM_GET_FPU";
	case S_KVM_SET_FPU: return "KVM_SET_FPU";
	case S_KVM_GET_XSAVE: return "KVM_GET_XSAVE";
	case S_KVM_GET_XSAVE2: return "KVM_GET_XSAVE2";
	case S_KVM_SET_XSAVE: return "KVM_SET_XSAVE";
	case S_KVM_GET_XCRS: return "KVM_GET_XCRS";
	case S_KVM_SET_XCRS: return "KVM_SET_XCRS";
	case S_KVM_GET_DEBUGREGS: return "KVM_GET_DEBUGREGS";
	case S_KVM_SET_DEBUGREGS: return "KVM_SET_DEBUGREGS";
	case S_KVM_GET_LAPIC: return "KVM_GET_LAPIC";
	case S_KVM_SET_LAPIC: return "KVM_SET_LAPIC";
	case S_KVM_SET_GUEST_DEBUG: return "KVM_SET_GUEST_DEBUG";
	case S_KVM_GET_VCPU_EVENTS: return "KVM_GET_VCPU_EVENTS";
	case S_KVM_SET_VCPU_EVENTS: return "KVM_SET_VCPU_EVENTS";
	case S_KVM_SET_TSC_KHZ: return "vCPU KVM_SET_TSC_KHZ";
	default: return NULL;
	}
}

static long vcpu_ioctl(struct sim_vcpu *v, unsigned long req, u64 arg)
{
	const char *prot = protected_ioctl_name(req);

	if (prot)
		return violation(EINVAL, "%s on TD vCPU %u (guest state is protected)", prot, v->id);
	switch (req) {
	case S_KVM_RUN:
		if (!v->cpuid_checked && v->initialized && v->vm->state == TD_RUNNABLE) {
			v->cpuid_checked = true;
			check_vcpu_cpuid(v);
		}
		return sim_run(v);
	case S_KVM_SET_CPUID2:
		return vcpu_set_cpuid(v, arg);
	case S_KVM_GET_CPUID2: {
		struct s_kvm_cpuid2 hdr;
		int r = ucopy_from(&hdr, arg, sizeof(hdr));

		if (r)
			return r;
		if (hdr.nent < v->cpuid_nent) {
			hdr.nent = v->cpuid_nent;
			ucopy_to(arg, &hdr, sizeof(hdr));
			return -E2BIG;
		}
		hdr.nent = v->cpuid_nent;
		r = ucopy_to(arg, &hdr, sizeof(hdr));
		return r ? r : ucopy_to(arg + sizeof(hdr), v->cpuid, v->cpuid_nent * sizeof(*v->cpuid));
	}
	case S_KVM_MEMORY_ENCRYPT_OP:
		return vcpu_encrypt_op(v, arg);
	case S_KVM_SET_MSRS:
		return vcpu_msrs(v, arg, true);
	case S_KVM_GET_MSRS:
		return vcpu_msrs(v, arg, false);
	case S_KVM_GET_TSC_KHZ:
		return v->vm->tsc_khz ? v->vm->tsc_khz : 2000000;
	case S_KVM_SET_MP_STATE: {
		struct s_kvm_mp_state mp;
		int r = ucopy_from(&mp, arg, sizeof(mp));

		if (r)
			return r;
		sim_log("SET_MP_STATE vcpu=%u state=%u -> 0", v->id, mp.mp_state);
		return 0;
	}
	case S_KVM_GET_MP_STATE: {
		struct s_kvm_mp_state mp = {0};
		return ucopy_to(arg, &mp, sizeof(mp));
	}
	case S_KVM_SET_SIGNAL_MASK: {
		struct s_kvm_signal_mask h;
		u8 set[8];
		int r;

		if (!arg) {
			v->has_sigmask = false;
			return 0;
		}
		r = ucopy_from(&h, arg, sizeof(h));
		if (r)
			return r;
		if (h.len != 8)
			return violation(EINVAL, "KVM_SET_SIGNAL_MASK: len %u != 8", h.len);
		r = ucopy_from(set, arg + sizeof(h), 8);
		if (r)
			return r;
		sigemptyset(&v->sigmask);
		for (int s = 1; s <= 64; s++)
			if (set[(s - 1) / 8] & (1u << ((s - 1) % 8)))
				sigaddset(&v->sigmask, s);
		v->has_sigmask = true;
		return 0;
	}
	case S_KVM_PRE_FAULT_MEMORY: {
		struct s_kvm_pre_fault_memory pf;
		int r = ucopy_from(&pf, arg, sizeof(pf));

		if (r)
			return r;
		if (v->vm->state != TD_RUNNABLE)
			return violation(EOPNOTSUPP, "KVM_PRE_FAULT_MEMORY before KVM_TDX_FINALIZE_VM");
		if (pf.flags || (pf.gpa | pf.size) & (SIM_PAGE - 1) || pf.gpa + pf.size <= pf.gpa)
			return violation(EINVAL, "KVM_PRE_FAULT_MEMORY: bad range or flags");
		pf.gpa += pf.size;
		pf.size = 0;
		return ucopy_to(arg, &pf, sizeof(pf));
	}
	default:
		sim_log("UNHANDLED vCPU ioctl 0x%lx -> -EINVAL", req);
		return -EINVAL;
	}
}

/* --------------------------------------------------------- interposers */

static bool is_dev_kvm(const char *path)
{
	return path && !strcmp(path, "/dev/kvm");
}

static int open_kvm(int flags)
{
	struct sim_sys *sys = calloc(1, sizeof(*sys));
	int fd;

	if (!sys) {
		errno = ENOMEM;
		return -1;
	}
	G.used = true;
	sys->real_fd = G.r_open("/dev/kvm", flags | O_CLOEXEC);
	sys->real_errno = sys->real_fd < 0 ? errno : 0;
	fd = new_fd("tdxsim-kvm", O_SYS, sys, flags & O_CLOEXEC, 0);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	sim_log("OPEN /dev/kvm real=%s kernel=%s", sys->real_fd >= 0 ? "yes" : errname(sys->real_errno),
		G.kernel->name);
	return fd;
}

int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	ensure_init();
	if (is_dev_kvm(path))
		return open_kvm(flags);
	va_start(ap, flags);
	if (flags & (O_CREAT | __O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	return G.r_open(path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int __open_2(const char *path, int flags)
{
	return open(path, flags);
}

int __open64_2(const char *path, int flags) __attribute__((alias("__open_2")));

int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	ensure_init();
	if (is_dev_kvm(path))
		return open_kvm(flags);
	va_start(ap, flags);
	if (flags & (O_CREAT | __O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	return G.r_openat(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int __openat_2(int dirfd, const char *path, int flags)
{
	return openat(dirfd, path, flags);
}

int ioctl(int fd, unsigned long req, ...)
{
	struct obj o;
	va_list ap;
	u64 arg;
	long r;

	ensure_init();
	va_start(ap, req);
	arg = (u64)va_arg(ap, unsigned long);
	va_end(ap);
	o = lookup(fd);
	switch (o.kind) {
	case O_NONE:
		return G.r_ioctl(fd, req, arg);
	case O_SYS:
		r = sys_ioctl(o.p, fd, req, arg);
		break;
	case O_VM: {
		struct sim_vm *vm = o.p;

		pthread_mutex_lock(&vm->lock);
		if (vm->dead)
			r = violation(EIO, "VM ioctl 0x%lx after KVM_TDX_TERMINATE_VM (the VM is dead)",
				      req);
		else
			r = vm_ioctl(vm, req, arg);
		pthread_mutex_unlock(&vm->lock);
		break;
	}
	case O_VCPU: {
		struct sim_vcpu *v = o.p;

		pthread_mutex_lock(&v->lock);
		if (__atomic_load_n(&v->vm->dead, __ATOMIC_SEQ_CST)) {
			r = violation(EIO, "vCPU %u ioctl 0x%lx after KVM_TDX_TERMINATE_VM (the VM "
					   "is dead)", v->id, req);
		} else if (req == S_KVM_RUN || req == S_KVM_MEMORY_ENCRYPT_OP) {
			/* these take the VM lock themselves, only where needed */
			r = vcpu_ioctl(v, req, arg);
		} else {
			pthread_mutex_lock(&v->vm->lock);
			r = vcpu_ioctl(v, req, arg);
			pthread_mutex_unlock(&v->vm->lock);
		}
		pthread_mutex_unlock(&v->lock);
		break;
	}
	case O_GMEM:
	default:
		r = -ENOTTY;
		break;
	}
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return (int)r;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct obj o;

	ensure_init();
	o = lookup(fd);
	if (o.kind == O_GMEM) {
		/* 6.16 guest_memfd has no mmap */
		sim_log("VIOLATION mmap of a guest_memfd -> -ENODEV");
		__atomic_add_fetch(&G.violations, 1, __ATOMIC_SEQ_CST);
		errno = ENODEV;
		return MAP_FAILED;
	}
	if (o.kind == O_SYS || o.kind == O_VM) {
		errno = ENODEV;
		return MAP_FAILED;
	}
	return G.r_mmap(addr, len, prot, flags, fd, off);
}

void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

void sim_mark_accepted(struct sim_vm *vm, u64 gpa, u64 size)
{
	pthread_mutex_lock(&vm->lock);
	rset_set(&vm->aug, gpa, gpa + size, true);
	pthread_mutex_unlock(&vm->lock);
}

/* Private pages of a guest_memfd: those added before FINALIZE or accepted since. */
static u64 gmem_private_pages(struct sim_gmem *g)
{
	struct sim_vm *vm = g->vm;
	u64 n = g->npages;

	for (int i = 0; i < SIM_MAX_SLOTS; i++) {
		struct sim_slot *sl = &vm->slots[i];

		if (!sl->used || sl->gmem != g)
			continue;
		n += rset_count(&vm->aug, sl->gpa, sl->gpa + sl->size) / SIM_PAGE;
		for (size_t j = 0; j < g->npages; j++) {
			u64 off = g->pages[j].off, gpa = sl->gpa + (off - sl->gmem_off);

			/* added and accepted: one page */
			if (off >= sl->gmem_off && off - sl->gmem_off < sl->size &&
			    rset_any(&vm->aug, gpa, gpa + SIM_PAGE))
				n--;
		}
	}
	return n;
}

/*
 * Closing a guest_memfd frees its private pages. While the TD holds its HKID
 * KVM takes each out of the Secure EPT first (BLOCK, TRACK, REMOVE); after
 * KVM_TDX_TERMINATE_VM they are reclaimed directly. The cost is modelled per
 * page (TDXSIM_RECLAIM_NS), logged, and slept divided by TDXSIM_TIME_DIV, so
 * a VMM's teardown can be timed without minutes of waiting.
 */
static void gmem_reclaim(struct sim_gmem *g)
{
	struct sim_vm *vm = g->vm;
	const char *hkid;
	u64 pages, ns;

	pthread_mutex_lock(&vm->lock);
	pages = gmem_private_pages(g);
	hkid = vm->state == TD_UNINITIALIZED ? "none" : vm->hkid_released ? "released" : "assigned";
	pthread_mutex_unlock(&vm->lock);
	ns = pages * (!strcmp(hkid, "assigned") ? G.reclaim_ns[0] : G.reclaim_ns[1]);
	sim_log("RECLAIM gmem size=0x%" PRIx64 " private_pages=%" PRIu64 " hkid=%s modelled_ms=%" PRIu64,
		g->size, pages, hkid, ns / 1000000);
	if (G.time_div && ns / G.time_div) {
		u64 d = ns / G.time_div;
		struct timespec ts = {.tv_sec = (time_t)(d / 1000000000), .tv_nsec = (long)(d % 1000000000)};

		nanosleep(&ts, NULL);
	}
}

int close(int fd)
{
	struct sim_gmem *gmem = NULL;

	ensure_init();
	if (fd >= 0 && fd < MAX_FDS) {
		pthread_mutex_lock(&G.lock);
		if (G.objs[fd].kind == O_GMEM)
			gmem = G.objs[fd].p;
		if (G.objs[fd].kind != O_NONE) {
			/* objects stay allocated: another thread may still be inside one */
			G.objs[fd].kind = O_NONE;
			G.objs[fd].p = NULL;
		}
		pthread_mutex_unlock(&G.lock);
	}
	if (gmem)
		gmem_reclaim(gmem);
	return G.r_close(fd);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	struct obj o;
	struct sim_gmem *g;

	ensure_init();
	o = lookup(fd);
	if (o.kind != O_GMEM)
		return G.r_fallocate(fd, mode, off, len);
	g = o.p;
	/* kvm_gmem_fallocate() */
	if (!(mode & FALLOC_FL_KEEP_SIZE) || (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE))) {
		violation(EOPNOTSUPP, "fallocate on guest_memfd: mode 0x%x (needs KEEP_SIZE, "
				      "optionally PUNCH_HOLE)", mode);
		errno = EOPNOTSUPP;
		return -1;
	}
	if (off < 0 || len <= 0 || ((u64)off | (u64)len) & (SIM_PAGE - 1)) {
		violation(EINVAL, "fallocate on guest_memfd: [0x%llx, +0x%llx) not page aligned",
			  (unsigned long long)off, (unsigned long long)len);
		errno = EINVAL;
		return -1;
	}
	if (!(mode & FALLOC_FL_PUNCH_HOLE) && (u64)off + (u64)len > g->size) {
		violation(EINVAL, "fallocate on guest_memfd past its size");
		errno = EINVAL;
		return -1;
	}
	pthread_mutex_lock(&g->vm->lock);
	if (mode & FALLOC_FL_PUNCH_HOLE)
		gmem_punch(g, (u64)off, (u64)len);
	pthread_mutex_unlock(&g->vm->lock);
	sim_log("GMEM_FALLOCATE %s off=0x%llx len=0x%llx -> 0",
		(mode & FALLOC_FL_PUNCH_HOLE) ? "punch" : "allocate", (unsigned long long)off,
		(unsigned long long)len);
	return 0;
}

int fallocate64(int fd, int mode, off_t off, off_t len) __attribute__((alias("fallocate")));
