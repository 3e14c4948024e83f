// SPDX-License-Identifier: MIT
/*
 * The guest side of tdxsim: KVM_RUN plays TDXSIM_SCRIPT, one line at a time,
 * turning guest actions into the exits KVM would produce (with KVM's own
 * pre-checks and pre-filled defaults) and checking what the VMM answered.
 */
#include "sim.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAP_GPA_CHUNK (2ull << 20)
#define FATAL_EXPECT_CODE 0xdead0000ull

struct cmd_spec {
	const char *name;
	int min, max;   /* argument counts, command excluded */
};

static const struct cmd_spec specs[] = {
	{"tdx", 2, 3},         {"mapgpa", 3, 3},    {"memfault", 3, 3},   {"mmio", 3, 4},
	{"pio", 3, 4},         {"fatal", 1, 7},     {"shutdown", 0, 0},   {"reset", 0, 0},
	{"triple-fault", 0, 0}, {"halt", 0, 0},     {"expect-ret", 1, 1}, {"expect-status", 1, 1},
	{"expect-data", 1, 1}, {"expect-reg", 2, 3}, {"expect-mem", 2, 2}, {"expect-attr", 3, 3},
	{"write-mem", 2, 2},   {"write-u64", 2, 2}, {"wait-mem", 3, 3},   {"wait-mem-ne", 3, 3},
	{"wait-msi", 2, 2},    {"sleep", 1, 1},     {"log", 0, 7},
	{"hwpoison", 3, 3},
	{"accept", 2, 2},
	{"cpuid", 1, 2},       {"wrmsr", 2, 2},     {"rdmsr", 1, 1},      {"lapic-eoi", 1, 1},
	{"expect-no-msi", 2, 2},
};

static char *skip_ws(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

int script_load(const char *path, struct script *s, char *errbuf, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int lineno = 0;

	memset(s, 0, sizeof(*s));
	if (!f) {
		snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct script_line *l;
		char *p = skip_ws(line), *copy;
		const struct cmd_spec *sp = NULL;
		int vcpu = 0, nargs;

		lineno++;
		p[strcspn(p, "\r\n")] = 0;
		if (!*p || *p == '#')
			continue;
		if (*p == '@') {
			vcpu = (int)strtol(p + 1, &p, 0);
			p = skip_ws(p);
		}
		copy = strdup(p);
		s->lines = realloc(s->lines, (size_t)(s->n + 1) * sizeof(*s->lines));
		if (!copy || !s->lines)
			abort();
		l = &s->lines[s->n++];
		memset(l, 0, sizeof(*l));
		l->lineno = lineno;
		l->vcpu = vcpu;
		/* tokenise; 'rest' keeps the raw text after the first two tokens */
		for (char *q = copy; *q && l->argc < 8;) {
			q = skip_ws(q);
			if (!*q)
				break;
			if (l->argc == 2 && !l->rest)
				l->rest = strdup(q);
			l->argv[l->argc++] = q;
			q += strcspn(q, " \t");
			if (*q)
				*q++ = 0;
		}
		if (l->argc == 1 && !strcmp(l->argv[0], "log"))
			l->rest = strdup("");
		if (!l->rest)
			l->rest = strdup("");
		for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
			if (!strcmp(specs[i].name, l->argv[0]))
				sp = &specs[i];
		nargs = l->argc - 1;
		if (!sp || (strcmp(sp->name, "log") && strcmp(sp->name, "fatal") &&
			    (nargs < sp->min || nargs > sp->max))) {
			snprintf(errbuf, errlen, "%s:%d: %s '%s'", path, lineno,
				 sp ? "wrong number of arguments for" : "unknown command", l->argv[0]);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

/* ------------------------------------------------------------ helpers */

static u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000;
}

static u64 num(const char *s)
{
	return strtoull(s, NULL, 0);
}

static int parse_hex(const char *h, u8 *out, size_t max)
{
	size_t n = 0;

	if (!strncmp(h, "0x", 2))
		h += 2;
	while (h[0] && h[1] && n < max) {
		unsigned int b;

		if (sscanf(h, "%2x", &b) != 1)
			return -1;
		out[n++] = (u8)b;
		h += 2;
	}
	return h[0] ? -1 : (int)n;
}

/* Anything unblocked and pending makes KVM_RUN return -EINTR, as in the kernel. */
static bool signal_pending(const sigset_t *runmask)
{
	sigset_t p;

	if (sigpending(&p))
		return false;
	for (int s = 1; s < 65; s++)
		if (sigismember(&p, s) == 1 && sigismember(runmask, s) != 1)
			return true;
	return false;
}

/* Sleeps up to ms with runmask applied; false when a signal interrupted it. */
static bool nap(u64 ms, const sigset_t *runmask)
{
	struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

	return !(ppoll(NULL, 0, &ts, runmask) < 0 && errno == EINTR);
}

static const struct script_line *cur_line(struct sim_vcpu *v)
{
	const struct script *s = sim_script();

	if (!s)
		return NULL;
	while (v->pc < s->n && s->lines[v->pc].vcpu != (int)v->id)
		v->pc++;
	return v->pc < s->n ? &s->lines[v->pc] : NULL;
}

static bool has_lines(struct sim_vcpu *v)
{
	const struct script *s = sim_script();

	for (int i = 0; s && i < s->n; i++)
		if (s->lines[i].vcpu == (int)v->id)
			return true;
	return false;
}

/* ------------------------------------------------------------- exits */

static void clear_exit(struct s_kvm_run *run)
{
	memset(run->padding, 0, sizeof(run->padding));
}

static void emit_fatal(struct sim_vcpu *v, u64 code, const char *msg, int lineno)
{
	static const int msg_regs[8] = {14, 15, 3, 7, 6, 8, 9, 2};
	struct s_kvm_run *run = v->run;
	u64 *d = run->system_event.data;
	u64 mask = (1ull << 10) | (1ull << 11) | (1ull << 12) | (1ull << 13);
	size_t len = msg ? strlen(msg) : 0;

	clear_exit(run);
	run->exit_reason = S_KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = S_KVM_SYSTEM_EVENT_TDX_FATAL;
	run->system_event.ndata = 16;
	d[0] = 77;      /* TDCALL exit reason, as vp_enter_ret */
	d[11] = S_TDVMCALL_REPORT_FATAL_ERROR;
	d[12] = code;
	if (len > 64)
		len = 64;
	for (int i = 0; len && i < 8; i++) {
		u64 w = 0;

		for (int b = 0; b < 8 && (size_t)(i * 8 + b) < len; b++)
			w |= (u64)(u8)msg[i * 8 + b] << (8 * b);
		d[msg_regs[i]] = w;
		mask |= 1ull << msg_regs[i];
	}
	d[1] = mask;
	v->pend = P_FINAL;
	v->done = true;
	sim_log("EXIT vcpu=%u line=%d SYSTEM_EVENT TDX_FATAL error_code=0x%" PRIx64 " message='%s'",
		v->id, lineno, code, msg ? msg : "");
}

static void emit_system_event(struct sim_vcpu *v, u32 type, int lineno)
{
	clear_exit(v->run);
	v->run->exit_reason = S_KVM_EXIT_SYSTEM_EVENT;
	v->run->system_event.type = type;
	v->run->system_event.ndata = 0;
	v->pend = P_FINAL;
	v->done = true;
	sim_log("EXIT vcpu=%u line=%d SYSTEM_EVENT type=%u", v->id, lineno, type);
}

static void emit_map_chunk(struct sim_vcpu *v)
{
	struct s_kvm_run *run = v->run;
	u64 size = v->map_end - v->map_next;

	if (size > MAP_GPA_CHUNK)
		size = MAP_GPA_CHUNK;
	clear_exit(run);
	run->exit_reason = S_KVM_EXIT_HYPERCALL;
	run->hypercall.nr = S_KVM_HC_MAP_GPA_RANGE;
	run->hypercall.ret = 0;
	run->hypercall.args[0] = v->map_next;
	run->hypercall.args[1] = size / SIM_PAGE;
	run->hypercall.args[2] = v->map_private ? S_KVM_MAP_GPA_RANGE_ENCRYPTED : 0;
	run->hypercall.flags = S_KVM_EXIT_HYPERCALL_LONG_MODE;
	v->pend = P_MAPGPA;
	sim_log("EXIT vcpu=%u line=%d HYPERCALL MAP_GPA_RANGE gpa=0x%" PRIx64 " pages=%" PRIu64 " %s",
		v->id, v->pend_line, v->map_next, size / SIM_PAGE,
		v->map_private ? "private" : "shared");
}

/*
 * A memory-fault exit: -EFAULT asks the VMM for a conversion; -EHWPOISON is a
 * poisoned page behind the access (guest_memfd's answer), which stays
 * poisoned, so every re-entry faults again.
 */
static int emit_fault(struct sim_vcpu *v, int err, int pend)
{
	struct s_kvm_run *run = v->run;

	clear_exit(run);
	run->exit_reason = S_KVM_EXIT_MEMORY_FAULT;
	run->memory_fault.flags = v->fault_private ? S_KVM_MEMORY_EXIT_FLAG_PRIVATE : 0;
	run->memory_fault.gpa = v->fault_gpa;
	run->memory_fault.size = v->fault_size;
	v->pend = pend;
	sim_log("EXIT vcpu=%u line=%d MEMORY_FAULT gpa=0x%" PRIx64 " size=0x%" PRIx64 " %s (%s)",
		v->id, v->pend_line, v->fault_gpa, v->fault_size,
		v->fault_private ? "private" : "shared", err == EHWPOISON ? "-EHWPOISON" : "-EFAULT");
	return -err;
}

static int emit_memfault(struct sim_vcpu *v)
{
	return emit_fault(v, EFAULT, P_MEMFAULT);
}

static int emit_hwpoison(struct sim_vcpu *v)
{
	return emit_fault(v, EHWPOISON, P_POISON);
}

static void set_result(struct sim_vcpu *v, u64 status)
{
	v->have_result = true;
	v->status = status;
}

/* Hands the VMM's answer to the previous exit back to the guest. Returns 1 when
 * KVM would produce another exit right away (the next MapGPA chunk). */
static int complete(struct sim_vcpu *v)
{
	struct s_kvm_run *run = v->run;
	enum pend_kind p = v->pend;

	v->pend = P_NONE;
	switch (p) {
	case P_TDX_SIMPLE:
		v->have_ret = true;
		v->ret_raw = run->tdx.unknown.ret;
		set_result(v, v->ret_raw);
		sim_log("RESPONSE vcpu=%u line=%d tdx nr=0x%" PRIx64 " ret=0x%" PRIx64, v->id,
			v->pend_line, run->tdx.nr, v->ret_raw);
		break;
	case P_TDX_INFO:
		v->have_ret = true;
		v->ret_raw = run->tdx.get_tdvmcall_info.ret;
		set_result(v, v->ret_raw);
		v->r11 = run->tdx.get_tdvmcall_info.r11;
		v->r12 = run->tdx.get_tdvmcall_info.r12;
		v->r13 = run->tdx.get_tdvmcall_info.r13;
		v->r14 = run->tdx.get_tdvmcall_info.r14;
		sim_log("RESPONSE vcpu=%u line=%d get_tdvmcall_info ret=0x%" PRIx64 " r11=0x%" PRIx64
			" r12=0x%" PRIx64 " r13=0x%" PRIx64 " r14=0x%" PRIx64,
			v->id, v->pend_line, v->ret_raw, v->r11, v->r12, v->r13, v->r14);
		break;
	case P_MAPGPA:
		v->have_ret = true;
		v->ret_raw = run->hypercall.ret;
		sim_log("RESPONSE vcpu=%u line=%d MAP_GPA_RANGE ret=0x%" PRIx64, v->id, v->pend_line,
			v->ret_raw);
		if (v->ret_raw) {
			set_result(v, S_TDVMCALL_INVALID_OPERAND);
			v->r11 = v->map_next;
			break;
		}
		v->map_next += MAP_GPA_CHUNK;
		if (v->map_next >= v->map_end) {
			set_result(v, S_TDVMCALL_SUCCESS);
			break;
		}
		emit_map_chunk(v);
		return 1;
	case P_MMIO_READ: {
		u64 val = 0;

		memcpy(&val, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
		set_result(v, S_TDVMCALL_SUCCESS);
		v->r11 = val;
		sim_log("RESPONSE vcpu=%u line=%d mmio read data=0x%" PRIx64, v->id, v->pend_line, val);
		break;
	}
	case P_PIO_IN: {
		u64 val = 0;

		memcpy(&val, (u8 *)run + SIM_PIO_DATA_OFFSET, run->io.size <= 4 ? run->io.size : 4);
		set_result(v, S_TDVMCALL_SUCCESS);
		v->r11 = val;
		sim_log("RESPONSE vcpu=%u line=%d pio in data=0x%" PRIx64, v->id, v->pend_line, val);
		break;
	}
	case P_MMIO_WRITE:
	case P_PIO_OUT:
		set_result(v, S_TDVMCALL_SUCCESS);
		break;
	case P_POISON:
		/* no conversion helps: the VMM re-entered a vCPU whose memory is gone */
		sim_log("WARNING vcpu=%u line=%d re-entered after a poisoned-page fault at 0x%" PRIx64
			": it faults again", v->id, v->pend_line, v->fault_gpa);
		v->poison_retry = true;
		break;
	case P_MEMFAULT:
		/* KVM re-enters and the access faults again unless the VMM converted it */
		if (sim_attr_private(v->vm, v->fault_gpa, v->fault_size, v->fault_private)) {
			sim_log("RESPONSE vcpu=%u line=%d memory fault resolved", v->id, v->pend_line);
			v->fault_retry = false;
		} else {
			v->fault_retry = true;
		}
		break;
	default:
		break;
	}
	return 0;
}

static int expect_fail(struct sim_vcpu *v, const struct script_line *l, const char *what)
{
	char msg[64];

	sim_count_expect_failure();
	sim_log("EXPECT-FAIL vcpu=%u line=%d %s", v->id, l->lineno, what);
	snprintf(msg, sizeof(msg), "tdxsim: line %d failed", l->lineno);
	emit_fatal(v, FATAL_EXPECT_CODE, msg, l->lineno);
	return 0;
}

static int expect_u64(struct sim_vcpu *v, const struct script_line *l, const char *name, bool have,
		      u64 got, u64 want)
{
	char what[256];

	if (have && got == want) {
		sim_log("EXPECT-OK vcpu=%u line=%d %s=0x%" PRIx64, v->id, l->lineno, name, got);
		return 1;
	}
	if (have)
		snprintf(what, sizeof(what), "%s: got 0x%" PRIx64 ", want 0x%" PRIx64, name, got, want);
	else
		snprintf(what, sizeof(what), "%s: the previous request produced none", name);
	return expect_fail(v, l, what);
}

/* Runs non-exit lines; returns 1 to go on with the next line, or the KVM_RUN
 * result (0, -EFAULT, -EINTR) when the line produced an exit or a block. */
static int exec_line(struct sim_vcpu *v, const struct script_line *l, const sigset_t *runmask)
{
	struct sim_vm *vm = v->vm;
	struct s_kvm_run *run = v->run;
	const char *c = l->argv[0];
	char what[512];

	v->pend_line = l->lineno;
	/* blocking lines advance themselves once they are done */
	if (strcmp(c, "wait-mem") && strcmp(c, "wait-mem-ne") && strcmp(c, "wait-msi") &&
	    strcmp(c, "sleep") && strcmp(c, "halt") && strcmp(c, "accept") &&
	    strcmp(c, "expect-no-msi"))
		v->pc++;
	if (!strcmp(c, "tdx")) {
		const char *sub = l->argv[1];
		u64 a = num(l->argv[2]);

		v->have_ret = false;
		clear_exit(run);
		if (!strcmp(sub, "getquote") && l->argc == 4) {
			/* KVM (tdx_get_quote) refuses a private buffer itself: no exit. */
			if (!(a & vm->shared_bit)) {
				sim_log("GUEST vcpu=%u line=%d GetQuote at private GPA 0x%" PRIx64
					" -> INVALID_OPERAND from KVM, no exit",
					v->id, l->lineno, a);
				v->have_ret = true;
				v->ret_raw = S_TDVMCALL_INVALID_OPERAND;
				return 1;
			}
			run->exit_reason = S_KVM_EXIT_TDX;
			run->tdx.nr = S_TDVMCALL_GET_QUOTE;
			run->tdx.get_quote.ret = S_TDVMCALL_SUBFUNC_UNSUPPORTED;
			run->tdx.get_quote.gpa = a & ~vm->shared_bit;
			run->tdx.get_quote.size = num(l->argv[3]);
			v->pend = P_TDX_SIMPLE;
			sim_log("EXIT vcpu=%u line=%d TDX GET_QUOTE gpa=0x%" PRIx64 " size=0x%" PRIx64,
				v->id, l->lineno, run->tdx.get_quote.gpa, run->tdx.get_quote.size);
		} else if (!strcmp(sub, "setup_event_notify")) {
			if (a < 32 || a > 255) {
				sim_log("GUEST vcpu=%u line=%d SetupEventNotifyInterrupt vector %" PRIu64
					" -> INVALID_OPERAND from KVM, no exit", v->id, l->lineno, a);
				set_result(v, S_TDVMCALL_INVALID_OPERAND);
				return 1;
			}
			run->exit_reason = S_KVM_EXIT_TDX;
			run->tdx.nr = S_TDVMCALL_SETUP_EVENT_NOTIFY;
			run->tdx.setup_event_notify.ret = S_TDVMCALL_SUBFUNC_UNSUPPORTED;
			run->tdx.setup_event_notify.vector = a;
			v->pend = P_TDX_SIMPLE;
			sim_log("EXIT vcpu=%u line=%d TDX SETUP_EVENT_NOTIFY vector=%" PRIu64, v->id,
				l->lineno, a);
		} else if (!strcmp(sub, "get_tdvmcall_info")) {
			if (a != 1) {
				/* leaf 0 is answered in the kernel, others are invalid */
				set_result(v, a == 0 ? S_TDVMCALL_SUCCESS : S_TDVMCALL_INVALID_OPERAND);
				v->r11 = v->r12 = v->r13 = v->r14 = 0;
				sim_log("GUEST vcpu=%u line=%d GetTdVmCallInfo leaf %" PRIu64
					" handled by KVM, no exit", v->id, l->lineno, a);
				return 1;
			}
			run->exit_reason = S_KVM_EXIT_TDX;
			run->tdx.nr = S_TDVMCALL_GET_TD_VM_CALL_INFO;
			run->tdx.get_tdvmcall_info.ret = S_TDVMCALL_SUCCESS;
			run->tdx.get_tdvmcall_info.leaf = a;
			v->pend = P_TDX_INFO;
			sim_log("EXIT vcpu=%u line=%d TDX GET_TD_VM_CALL_INFO leaf=1", v->id, l->lineno);
		} else {
			snprintf(what, sizeof(what), "unknown 'tdx %s'", sub);
			return expect_fail(v, l, what);
		}
		return 0;
	}
	if (!strcmp(c, "mapgpa")) {
		u64 gpa = num(l->argv[1]), size = num(l->argv[2]) * SIM_PAGE;

		v->have_ret = false;
		if (!(vm->hypercall_mask & (1ull << S_KVM_HC_MAP_GPA_RANGE))) {
			sim_log("WARNING vcpu=%u line=%d guest MapGPA fails with SUBFUNC_UNSUPPORTED: "
				"KVM_CAP_EXIT_HYPERCALL(MAP_GPA_RANGE) not enabled", v->id, l->lineno);
			set_result(v, S_TDVMCALL_SUBFUNC_UNSUPPORTED);
			return 1;
		}
		if (!size || gpa + size <= gpa || ((gpa + size - 1) >> vm->gpaw)) {
			set_result(v, S_TDVMCALL_INVALID_OPERAND);
			v->r11 = gpa;
			return 1;
		}
		if ((gpa | size) & (SIM_PAGE - 1)) {
			set_result(v, S_TDVMCALL_ALIGN_ERROR);
			v->r11 = gpa;
			return 1;
		}
		v->map_next = gpa;
		v->map_end = gpa + size;
		v->map_private = !strcmp(l->argv[3], "private");
		emit_map_chunk(v);
		return 0;
	}
	if (!strcmp(c, "memfault")) {
		v->fault_gpa = num(l->argv[1]);
		v->fault_size = num(l->argv[2]);
		v->fault_private = !strcmp(l->argv[3], "private");
		v->fault_tries = 1;
		return emit_memfault(v);
	}
	if (!strcmp(c, "hwpoison")) {
		v->fault_gpa = num(l->argv[1]);
		v->fault_size = num(l->argv[2]);
		v->fault_private = !strcmp(l->argv[3], "private");
		v->fault_tries = 1;
		return emit_hwpoison(v);
	}
	if (!strcmp(c, "accept")) {
		u64 gpa = num(l->argv[1]), size = num(l->argv[2]);

		/*
		 * TDG.MEM.PAGE.ACCEPT of pages nothing added: KVM AUGs each from a
		 * guest_memfd memslot whose attribute is PRIVATE; otherwise (no
		 * memslot: kvm_handle_noslot_fault; shared; no gmem) it exits
		 * MEMORY_FAULT with the PRIVATE flag, and the guest accepts again.
		 */
		if (!size || ((gpa | size) & (SIM_PAGE - 1)) || gpa + size < gpa) {
			v->pc++;
			return expect_fail(v, l, "accept: bad range");
		}
		for (u64 p = gpa; p < gpa + size; p += SIM_PAGE) {
			if (sim_gmem_backed(vm, p) && sim_attr_private(vm, p, SIM_PAGE, true))
				continue;
			if (++v->accept_tries > 3) {
				v->pc++;
				v->accept_tries = 0;
				snprintf(what, sizeof(what), "accept at 0x%" PRIx64 ": no private "
					 "guest_memfd memory there after 3 memory faults", p);
				return expect_fail(v, l, what);
			}
			v->fault_gpa = p;
			v->fault_size = SIM_PAGE;
			v->fault_private = true;
			v->fault_tries = 1;
			return emit_memfault(v);
		}
		v->pc++;
		v->accept_tries = 0;
		sim_mark_accepted(vm, gpa, size);
		sim_log("GUEST vcpu=%u line=%d accepted [0x%" PRIx64 ", +0x%" PRIx64 ") (PAGE.AUG)",
			v->id, l->lineno, gpa, size);
		return 1;
	}
	if (!strcmp(c, "mmio")) {
		bool wr = !strcmp(l->argv[1], "write");
		u64 gpa = num(l->argv[2]), len = num(l->argv[3]);
		u64 val = l->argc > 4 ? num(l->argv[4]) : 0;

		if (len != 1 && len != 2 && len != 4 && len != 8) {
			set_result(v, S_TDVMCALL_INVALID_OPERAND);
			return 1;
		}
		clear_exit(run);
		run->exit_reason = S_KVM_EXIT_MMIO;
		run->mmio.phys_addr = gpa & ~vm->shared_bit;
		run->mmio.len = (u32)len;
		run->mmio.is_write = wr;
		if (wr)
			memcpy(run->mmio.data, &val, len);
		v->pend = wr ? P_MMIO_WRITE : P_MMIO_READ;
		sim_log("EXIT vcpu=%u line=%d MMIO %s gpa=0x%" PRIx64 " len=%" PRIu64 " data=0x%" PRIx64,
			v->id, l->lineno, wr ? "write" : "read", run->mmio.phys_addr, len, val);
		return 0;
	}
	if (!strcmp(c, "pio")) {
		bool out = !strcmp(l->argv[1], "out");
		u64 port = num(l->argv[2]), len = num(l->argv[3]);
		u64 val = l->argc > 4 ? num(l->argv[4]) : 0;

		if (len != 1 && len != 2 && len != 4) {
			set_result(v, S_TDVMCALL_INVALID_OPERAND);
			return 1;
		}
		clear_exit(run);
		run->exit_reason = S_KVM_EXIT_IO;
		run->io.direction = out ? S_KVM_EXIT_IO_OUT : S_KVM_EXIT_IO_IN;
		run->io.size = (u8)len;
		run->io.port = (u16)port;
		run->io.count = 1;
		run->io.data_offset = SIM_PIO_DATA_OFFSET;
		memset((u8 *)run + SIM_PIO_DATA_OFFSET, 0, 8);
		if (out)
			memcpy((u8 *)run + SIM_PIO_DATA_OFFSET, &val, len);
		v->pend = out ? P_PIO_OUT : P_PIO_IN;
		sim_log("EXIT vcpu=%u line=%d IO %s port=0x%" PRIx64 " size=%" PRIu64 " data=0x%" PRIx64,
			v->id, l->lineno, out ? "out" : "in", port, len, val);
		return 0;
	}
	if (!strcmp(c, "fatal")) {
		emit_fatal(v, num(l->argv[1]), l->rest, l->lineno);
		return 0;
	}
	if (!strcmp(c, "shutdown") || !strcmp(c, "reset")) {
		emit_system_event(v, c[0] == 's' ? S_KVM_SYSTEM_EVENT_SHUTDOWN : S_KVM_SYSTEM_EVENT_RESET,
				  l->lineno);
		return 0;
	}
	if (!strcmp(c, "triple-fault")) {
		clear_exit(run);
		run->exit_reason = S_KVM_EXIT_SHUTDOWN;
		v->pend = P_FINAL;
		v->done = true;
		sim_log("EXIT vcpu=%u line=%d SHUTDOWN (triple fault)", v->id, l->lineno);
		return 0;
	}
	if (!strcmp(c, "expect-ret")) {
		return expect_u64(v, l, "ret", v->have_ret, v->ret_raw, num(l->argv[1]));
	}
	if (!strcmp(c, "expect-status")) {
		return expect_u64(v, l, "status", v->have_result, v->status, num(l->argv[1]));
	}
	if (!strcmp(c, "expect-data")) {
		return expect_u64(v, l, "data", v->have_result, v->r11, num(l->argv[1]));
	}
	if (!strcmp(c, "expect-reg")) {
		const char *r = l->argv[1];
		u64 got = !strcmp(r, "r11") ? v->r11 : !strcmp(r, "r12") ? v->r12
						     : !strcmp(r, "r13") ? v->r13
						     : !strcmp(r, "r14") ? v->r14 : v->r15;
		u64 mask = l->argc > 3 ? num(l->argv[3]) : ~0ull;

		return expect_u64(v, l, r, v->have_result, got & mask, num(l->argv[2]));
	}
	if (!strcmp(c, "cpuid")) {
		u32 out[4], fn = (u32)num(l->argv[1]), idx = l->argc > 2 ? (u32)num(l->argv[2]) : 0;
		bool by_kvm = sim_guest_cpuid(v, fn, idx, out);

		/* GHCI TDG.VP.VMCALL<Instruction.CPUID>: EAX..EDX come back in R12..R15. */
		v->have_ret = false;
		set_result(v, S_TDVMCALL_SUCCESS);
		v->r12 = out[0];
		v->r13 = out[1];
		v->r14 = out[2];
		v->r15 = out[3];
		sim_log("GUEST vcpu=%u line=%d CPUID 0x%x.%u -> %08x %08x %08x %08x (%s)", v->id,
			l->lineno, fn, idx, out[0], out[1], out[2], out[3],
			by_kvm ? "#VE, TDVMCALL: KVM answers from KVM_SET_CPUID2" : "the TDX module");
		return 1;
	}
	if (!strcmp(c, "wrmsr") || !strcmp(c, "rdmsr")) {
		bool wr = c[0] == 'w', ok;
		u32 msr = (u32)num(l->argv[1]);
		u64 val = wr ? num(l->argv[2]) : 0;

		/* An MSR the TDX module leaves to the VMM: #VE, then TDVMCALL<Instruction.*MSR>. */
		ok = sim_guest_msr(v, msr, wr, &val);
		v->have_ret = false;
		set_result(v, ok ? S_TDVMCALL_SUCCESS : S_TDVMCALL_INVALID_OPERAND);
		v->r11 = ok && !wr ? val : 0;
		sim_log("GUEST vcpu=%u line=%d %s 0x%x%s -> %s", v->id, l->lineno, wr ? "WRMSR" : "RDMSR",
			msr, wr ? " (value given)" : "",
			ok ? "KVM emulates it: SUCCESS"
			   : "KVM does not emulate it for a TD (tdx_has_emulated_msr): the TDVMCALL "
			     "fails with INVALID_OPERAND, a Linux guest takes #GP");
		return 1;
	}
	if (!strcmp(c, "lapic-eoi")) {
		sim_log("GUEST vcpu=%u line=%d local APIC EOI of vector %" PRIu64 ": the TDX module "
			"virtualizes it, KVM sees nothing (no EOI-exit bitmap for a TD), so no "
			"KVM_EXIT_IOAPIC_EOI", v->id, l->lineno, num(l->argv[1]));
		return 1;
	}
	if (!strcmp(c, "expect-mem")) {
		u8 want[512], got[512];
		int n = parse_hex(l->argv[2], want, sizeof(want));
		u64 gpa = num(l->argv[1]);

		if (n < 0)
			return expect_fail(v, l, "bad hex string");
		if (sim_read_shared(vm, gpa, got, (size_t)n))
			return expect_fail(v, l, "gpa not in any memslot's shared memory");
		if (memcmp(got, want, (size_t)n)) {
			int i = 0;

			while (got[i] == want[i])
				i++;
			snprintf(what, sizeof(what), "memory at 0x%" PRIx64 " differs at byte %d: "
				 "0x%02x, want 0x%02x", gpa, i, got[i], want[i]);
			return expect_fail(v, l, what);
		}
		sim_log("EXPECT-OK vcpu=%u line=%d mem 0x%" PRIx64 " (%d bytes)", v->id, l->lineno,
			gpa, n);
		return 1;
	}
	if (!strcmp(c, "expect-attr")) {
		u64 gpa = num(l->argv[1]), size = num(l->argv[2]);
		bool priv = !strcmp(l->argv[3], "private");

		if (!sim_attr_private(vm, gpa, size, priv)) {
			snprintf(what, sizeof(what), "[0x%" PRIx64 ", +0x%" PRIx64 ") is not all %s",
				 gpa, size, l->argv[3]);
			return expect_fail(v, l, what);
		}
		sim_log("EXPECT-OK vcpu=%u line=%d attr %s", v->id, l->lineno, l->argv[3]);
		return 1;
	}
	if (!strcmp(c, "write-mem") || !strcmp(c, "write-u64")) {
		u8 buf[512];
		u64 gpa = num(l->argv[1]);
		int n;

		if (c[6] == 'm') {
			n = parse_hex(l->argv[2], buf, sizeof(buf));
		} else {
			u64 x = num(l->argv[2]);

			memcpy(buf, &x, 8);
			n = 8;
		}
		if (n < 0 || sim_write_shared(vm, gpa, buf, (size_t)n))
			return expect_fail(v, l, "cannot write guest shared memory there");
		sim_log("GUEST vcpu=%u line=%d wrote %d bytes at 0x%" PRIx64, v->id, l->lineno, n, gpa);
		return 1;
	}
	if (!strcmp(c, "wait-mem") || !strcmp(c, "wait-mem-ne") || !strcmp(c, "wait-msi") ||
	    !strcmp(c, "sleep") || !strcmp(c, "halt") || !strcmp(c, "expect-no-msi")) {
		bool forever = c[0] == 'h';
		u64 timeout = forever ? 0 : num(l->argv[l->argc - 1]);

		if (!v->wait_deadline_ms)
			v->wait_deadline_ms = now_ms() + timeout;
		for (;;) {
			bool ok = false;
			u64 t = now_ms();

			if (!strcmp(c, "wait-mem") || !strcmp(c, "wait-mem-ne")) {
				u64 x = 0;

				if (sim_read_shared(vm, num(l->argv[1]), &x, 8))
					return expect_fail(v, l, "wait-mem: gpa not readable");
				ok = (x == num(l->argv[2])) == !strcmp(c, "wait-mem");
			} else if (!strcmp(c, "wait-msi")) {
				u32 vec = (u32)num(l->argv[1]) & 0xff;
				unsigned long cnt = __atomic_load_n(&vm->msi_vec[vec], __ATOMIC_SEQ_CST);

				/* Every MSI with this vector since the last wait for it counts. */
				ok = cnt > v->msi_vec_seen[vec];
				if (ok)
					v->msi_vec_seen[vec] = cnt;
			} else if (!strcmp(c, "expect-no-msi")) {
				u32 vec = (u32)num(l->argv[1]) & 0xff;
				unsigned long cnt = __atomic_load_n(&vm->msi_vec[vec], __ATOMIC_SEQ_CST);

				if (cnt > v->msi_vec_seen[vec]) {
					v->msi_vec_seen[vec] = cnt;
					v->wait_deadline_ms = 0;
					v->pc++;
					snprintf(what, sizeof(what), "expect-no-msi: vector %u was "
						 "signalled", vec);
					return expect_fail(v, l, what);
				}
				ok = t >= v->wait_deadline_ms;
			} else if (!strcmp(c, "sleep")) {
				ok = t >= v->wait_deadline_ms;
			}
			if (ok) {
				v->wait_deadline_ms = 0;
				v->pc++;
				sim_log("GUEST vcpu=%u line=%d %s done", v->id, l->lineno, c);
				return 1;
			}
			if (!forever && t >= v->wait_deadline_ms) {
				v->wait_deadline_ms = 0;
				v->pc++;
				snprintf(what, sizeof(what), "%s timed out after %" PRIu64 " ms", c,
					 timeout);
				return expect_fail(v, l, what);
			}
			if (!nap(forever ? 10 : (v->wait_deadline_ms - t < 10 ? v->wait_deadline_ms - t : 10),
				 runmask)) {
				run->exit_reason = S_KVM_EXIT_INTR;
				return -EINTR;
			}
		}
	}
	if (!strcmp(c, "log")) {
		sim_log("SCRIPT vcpu=%u line=%d %s%s%s", v->id, l->lineno, l->argc > 1 ? l->argv[1] : "",
			l->argc > 2 ? " " : "", l->rest);
		return 1;
	}
	snprintf(what, sizeof(what), "unknown command '%s'", c);
	return expect_fail(v, l, what);
}

int sim_run(struct sim_vcpu *v)
{
	struct sim_vm *vm = v->vm;
	struct s_kvm_run *run = v->run;
	sigset_t all, old, runmask;
	int r;

	/* Signals stay pending while the "kernel" works; ppoll lets them in atomically. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	runmask = v->has_sigmask ? v->sigmask : old;

	if (complete(v)) {
		r = 0;  /* the next MapGPA chunk */
		goto out;
	}
	if (run->immediate_exit) {
		r = -EINTR;
		goto out;
	}
	if (!v->initialized || vm->state != TD_RUNNABLE) {
		r = sim_violation(EINVAL, "KVM_RUN on vCPU %u %s", v->id,
				  !v->initialized ? "before its KVM_TDX_INIT_VCPU"
						  : "before KVM_TDX_FINALIZE_VM");
		goto out;
	}
	v->has_run = true;
	if (signal_pending(&runmask)) {
		run->exit_reason = S_KVM_EXIT_INTR;
		r = -EINTR;
		goto out;
	}
	if (v->poison_retry) {
		v->poison_retry = false;
		if (++v->fault_tries > 3) {
			char what[160];
			struct script_line l = {.lineno = v->pend_line};

			snprintf(what, sizeof(what), "VMM kept re-entering after a poisoned-page fault at "
				 "0x%" PRIx64 " (a livelock on a real host)", v->fault_gpa);
			r = expect_fail(v, &l, what);
			goto out;
		}
		r = emit_hwpoison(v);
		goto out;
	}
	if (v->fault_retry) {
		v->fault_retry = false;
		if (++v->fault_tries > 3) {
			char what[160];
			struct script_line l = {.lineno = v->pend_line};

			snprintf(what, sizeof(what), "memory fault at 0x%" PRIx64 " never converted to %s",
				 v->fault_gpa, v->fault_private ? "private" : "shared");
			r = expect_fail(v, &l, what);
			goto out;
		}
		r = emit_memfault(v);
		goto out;
	}
	for (;;) {
		const struct script_line *l = v->done ? NULL : cur_line(v);

		if (!l) {
			if (!v->done && v->id != 0 && !has_lines(v)) {
				/* an AP with nothing to do: halted until a signal */
				while (nap(50, &runmask))
					;
				run->exit_reason = S_KVM_EXIT_INTR;
				r = -EINTR;
				goto out;
			}
			emit_system_event(v, S_KVM_SYSTEM_EVENT_SHUTDOWN, 0);
			r = 0;
			goto out;
		}
		r = exec_line(v, l, &runmask);
		if (r != 1)
			goto out;
	}
out:
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}
