// SPDX-License-Identifier: MIT
#include "vm/sandbox.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/if_tun.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>
#include <linux/vm_sockets.h>

#ifdef HAVE_SECCOMP
#include <seccomp.h>
#endif

#include "hv/uapi/kvm_ext.h"
#include "util/types.h"

const char *sandbox_kind_name(enum sandbox_kind kind)
{
	switch (kind) {
	case SANDBOX_VCPU:
		return "vCPU";
	case SANDBOX_DEVICE:
		return "device";
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

/* What every merak thread needs: memory, locks, time, signals, plain fd I/O. */
static const int common_syscalls[] = {
	SCMP_SYS(read),		 SCMP_SYS(write),	   SCMP_SYS(readv),
	SCMP_SYS(writev),	 SCMP_SYS(pread64),	   SCMP_SYS(pwrite64),
	SCMP_SYS(preadv),	 SCMP_SYS(pwritev),	   SCMP_SYS(close),
	SCMP_SYS(lseek),	 SCMP_SYS(fstat),	   SCMP_SYS(newfstatat),
	SCMP_SYS(futex),	 SCMP_SYS(mmap),	   SCMP_SYS(munmap),
	SCMP_SYS(mremap),	 SCMP_SYS(mprotect),	   SCMP_SYS(madvise),
	SCMP_SYS(brk),		 SCMP_SYS(exit),	   SCMP_SYS(exit_group),
	SCMP_SYS(rt_sigreturn),	 SCMP_SYS(rt_sigprocmask), SCMP_SYS(sigaltstack),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettid),	 SCMP_SYS(getpid),	   SCMP_SYS(tgkill),
	SCMP_SYS(sched_yield),	 SCMP_SYS(restart_syscall), SCMP_SYS(poll),
	SCMP_SYS(ppoll),	 SCMP_SYS(epoll_wait),	   SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl),	 SCMP_SYS(getrandom),	   SCMP_SYS(rseq),
	SCMP_SYS(set_robust_list), SCMP_SYS(fcntl),
	/* The vDSO's fallbacks, for a host without a usable vDSO clock. */
	SCMP_SYS(time),		 SCMP_SYS(gettimeofday),   SCMP_SYS(clock_getres),
};

/*
 * Refused with EACCES rather than trapped: glibc opens optional files lazily
 * and copes when it cannot, e.g. the first time a thread's malloc arena
 * shrinks it reads /proc/sys/vm/overcommit_memory. A thread still cannot
 * open anything.
 */
static const int refused_syscalls[] = {
	SCMP_SYS(open),
	SCMP_SYS(openat),
};

/* vCPU threads: guest exits may touch devices, convert TD memory, send MSIs. */
static const int vcpu_syscalls[] = {
	SCMP_SYS(fallocate),	/* TD private->shared: punch the guest_memfd */
};

static const unsigned long vcpu_ioctls[] = {
	KVM_RUN,
	KVM_GET_REGS,	/* the RIP in crash reports */
	KVM_IRQ_LINE,
	KVM_SIGNAL_MSI,
	KVM_SET_GSI_ROUTING,
	KVM_IOEVENTFD,
	MERAK_KVM_SET_MEMORY_ATTRIBUTES,
};

/* Device workers: disk, tap and vsock I/O, interrupts to the guest. */
static const int device_syscalls[] = {
	SCMP_SYS(fdatasync), SCMP_SYS(fsync),	 SCMP_SYS(fallocate),
	SCMP_SYS(connect),   SCMP_SYS(accept4),	 SCMP_SYS(sendto),    SCMP_SYS(recvfrom),
	SCMP_SYS(sendmsg),   SCMP_SYS(recvmsg),	 SCMP_SYS(shutdown),  SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(eventfd2), SCMP_SYS(epoll_create1),
};

static const unsigned long device_ioctls[] = {
	KVM_IRQ_LINE,
	KVM_SIGNAL_MSI,
	KVM_SET_GSI_ROUTING,
	TUNSETOFFLOAD,
	TUNSETVNETHDRSZ,
	FIONBIO,
	FIONREAD,
};

/* The QGS client: a connection per GetQuote to the host's quote service. */
static const int qgs_syscalls[] = {
	SCMP_SYS(connect), SCMP_SYS(sendto),   SCMP_SYS(recvfrom),   SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
};

/* The GetQuote completion runs on the QGS thread: the notify interrupt. */
static const unsigned long qgs_ioctls[] = {
	KVM_SIGNAL_MSI,
};

/*
 * The main thread once the VM runs: signals, the hang report, then teardown
 * (joining threads, notifiers deassigned, the terminal's mode restored,
 * socket files removed).
 */
static const int main_syscalls[] = {
	SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
};

static const unsigned long main_ioctls[] = {
	KVM_GET_REGS,	/* the hang report */
	KVM_IRQ_LINE,	/* power button: the SCI */
	KVM_SIGNAL_MSI,
	KVM_SET_GSI_ROUTING,
	KVM_IOEVENTFD,	/* teardown: devices deassign their notifiers */
	KVM_MEMORY_ENCRYPT_OP, /* teardown: KVM_TDX_TERMINATE_VM before guest_memfds close */
	TCGETS,
	TCSETS,
	TCSETSW,
	TCSETSF,
};

/* The control thread: its socket, and pausing, resuming or signalling the VM. */
static const int control_syscalls[] = {
	SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg), SCMP_SYS(shutdown),
};

static const unsigned long control_ioctls[] = {
	KVM_IRQ_LINE,	/* power button: the SCI */
	KVM_SIGNAL_MSI,
	KVM_SET_GSI_ROUTING,
};

static int allow_all(scmp_filter_ctx ctx, const int *nrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nrs[i], 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* socket() for these address families only. */
static int allow_sockets(scmp_filter_ctx ctx, const int *families, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
					 SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)families[i]));
		if (r < 0)
			return r;
	}
	return 0;
}

static int refuse_all(scmp_filter_ctx ctx, const int *nrs, size_t n, uint32_t action)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, action, nrs[i], 0);
		if (r < 0)
			return r;
	}
	return 0;
}

static int allow_ioctls(scmp_filter_ctx ctx, const unsigned long *reqs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* The request is an unsigned int in the kernel: compare the low 32 bits. */
		int r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
					 SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL,
						 (scmp_datum_t)(reqs[i] & 0xffffffffULL)));
		if (r < 0)
			return r;
	}
	return 0;
}

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

/* Sockets: unix ones for the vsock device, unix or vsock ones for the QGS client. */
static const int unix_only[] = {AF_UNIX};
static const int qgs_families[] = {AF_UNIX, AF_VSOCK};

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
	scmp_filter_ctx ctx;
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
	ctx = seccomp_init(mode == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (!ctx)
		return errf(e, -ENOMEM, "seccomp: cannot create the %s filter",
			    sandbox_kind_name(kind));
	r = allow_all(ctx, common_syscalls, ARRAY_SIZE(common_syscalls));
	/* In log mode the default action logs them already (a rule may not repeat it). */
	if (!r && mode != SANDBOX_LOG)
		r = refuse_all(ctx, refused_syscalls, ARRAY_SIZE(refused_syscalls),
			       SCMP_ACT_ERRNO(EACCES));
	switch (kind) {
	case SANDBOX_VCPU:
		if (!r)
			r = allow_all(ctx, vcpu_syscalls, ARRAY_SIZE(vcpu_syscalls));
		if (!r)
			r = allow_ioctls(ctx, vcpu_ioctls, ARRAY_SIZE(vcpu_ioctls));
		break;
	case SANDBOX_DEVICE:
		if (!r)
			r = allow_all(ctx, device_syscalls, ARRAY_SIZE(device_syscalls));
		if (!r)
			r = allow_sockets(ctx, unix_only, ARRAY_SIZE(unix_only));
		if (!r)
			r = allow_ioctls(ctx, device_ioctls, ARRAY_SIZE(device_ioctls));
		break;
	case SANDBOX_QGS:
		if (!r)
			r = allow_all(ctx, qgs_syscalls, ARRAY_SIZE(qgs_syscalls));
		if (!r)
			r = allow_sockets(ctx, qgs_families, ARRAY_SIZE(qgs_families));
		if (!r)
			r = allow_ioctls(ctx, qgs_ioctls, ARRAY_SIZE(qgs_ioctls));
		break;
	case SANDBOX_MAIN:
		if (!r)
			r = allow_all(ctx, main_syscalls, ARRAY_SIZE(main_syscalls));
		if (!r)
			r = allow_ioctls(ctx, main_ioctls, ARRAY_SIZE(main_ioctls));
		break;
	case SANDBOX_CONTROL:
		if (!r)
			r = allow_all(ctx, control_syscalls, ARRAY_SIZE(control_syscalls));
		if (!r)
			r = allow_ioctls(ctx, control_ioctls, ARRAY_SIZE(control_ioctls));
		break;
	}
	if (!r)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return errf_sys(e, r, "seccomp: cannot install the %s filter",
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
