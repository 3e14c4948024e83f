// SPDX-License-Identifier: MIT
/*
 * Installing a thread's filter at run time: the BPF was compiled when merak
 * was built (sandbox_policy.c, sandbox_gen.c), so this is one prctl and one
 * seccomp call.
 */
#include "vm/sandbox.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vm/sandbox_policy.h"
#include "util/types.h"

const char *sandbox_kind_name(enum sandbox_kind kind)
{
	switch (kind) {
	case SANDBOX_VCPU:
		return "vCPU";
	case SANDBOX_DEVICE:
		return "device";
	case SANDBOX_CONSOLE:
		return "console";
	case SANDBOX_CONTROL:
		return "control";
	case SANDBOX_QGS:
		return "QGS client";
	case SANDBOX_MAIN:
		return "main";
	}
	return "?";
}

#ifdef HAVE_SECCOMP

/* The calling thread's filter, for the message of a violation. */
static __thread const char *thread_filter;

static size_t put_str(char *buf, size_t at, size_t cap, const char *s)
{
	while (*s && at < cap)
		buf[at++] = *s++;
	return at;
}

static size_t put_uint(char *buf, size_t at, size_t cap, unsigned long v)
{
	char digits[24];
	int n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < (int)sizeof(digits));
	while (n && at < cap)
		buf[at++] = digits[--n];
	return at;
}

/*
 * A forbidden system call traps here rather than killing merak silently: one
 * line names the thread's filter and the call's number, then merak exits as
 * a kill would have (status 128 + SIGSYS). Only async-signal-safe calls that
 * every filter allows (write, exit_group).
 */
static void on_forbidden_syscall(int sig, siginfo_t *si, void *uctx)
{
	char msg[160];
	size_t n = 0;

	(void)uctx;
	n = put_str(msg, n, sizeof(msg), "merak: seccomp: a ");
	n = put_str(msg, n, sizeof(msg), thread_filter ? thread_filter : "merak");
	n = put_str(msg, n, sizeof(msg), " thread made system call ");
	n = put_uint(msg, n, sizeof(msg), (unsigned long)si->si_syscall);
	n = put_str(msg, n, sizeof(msg),
		    ", which its filter forbids; stopping (--seccomp=log finds them all)\n");
	if (write(STDERR_FILENO, msg, n) < 0) {
		/* nothing more can be said */
	}
	_exit(128 + sig);
}

static int install_trap_handler(struct err *e)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_forbidden_syscall;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return errf_sys(e, -errno, "seccomp: cannot install the SIGSYS handler");
	return 0;
}

/*
 * LeakSanitizer stops the world from the main thread at exit (clone, ptrace,
 * prctl, reads of /proc): in a sanitizer build that one thread stays
 * unfiltered. The production build, which users run, filters it.
 */
#if defined(__SANITIZE_ADDRESS__)
#define MAIN_FILTER_BLOCKS_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAIN_FILTER_BLOCKS_LSAN 1
#endif
#endif

int sandbox_apply(enum sandbox_kind kind, enum sandbox_mode mode, struct err *e)
{
	struct sock_fprog prog;
	int r;

	if (mode == SANDBOX_OFF)
		return 0;
#ifdef MAIN_FILTER_BLOCKS_LSAN
	if (kind == SANDBOX_MAIN)
		return 0;
#endif
	if (mode == SANDBOX_ON) {
		r = install_trap_handler(e);
		if (r < 0)
			return r;
	}
	thread_filter = sandbox_kind_name(kind);
	prog.filter = (struct sock_filter *)sandbox_filters[kind][mode == SANDBOX_LOG].insns;
	prog.len = sandbox_filters[kind][mode == SANDBOX_LOG].len;
	/* What libseccomp's seccomp_load does: no new privileges, then the filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return errf_sys(e, -errno, "seccomp: cannot install the %s filter",
				sandbox_kind_name(kind));
	return 0;
}

#else

int sandbox_apply(enum sandbox_kind kind, enum sandbox_mode mode, struct err *e)
{
	if (mode == SANDBOX_OFF)
		return 0;
	return errf(e, -ENOTSUP,
		    "seccomp: merak was built without libseccomp; use --seccomp=false");
}

#endif
