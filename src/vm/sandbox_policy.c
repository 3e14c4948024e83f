// SPDX-License-Identifier: MIT
/*
 * What each kind of merak thread may do, as libseccomp rules. Only the
 * build uses this file: sandbox_gen compiles every filter to BPF once, into
 * sandbox_filters.c, so merak neither links libseccomp nor compiles a filter
 * in every thread it starts (bench/floor measured 0.5 ms of each start).
 */
#define SANDBOX_GEN 1
#include "vm/sandbox_policy.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/vm_sockets.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <termios.h>

#include "hv/uapi/kvm_ext.h"
#include "util/types.h"

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
	SCMP_SYS(io_uring_enter), /* a disk reset drains its (restricted) ring */
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
	/*
	 * virtio-blk's rings: made, restricted and enabled before the filter;
	 * io_uring_setup and io_uring_register stay refused (docs/security.md).
	 */
	SCMP_SYS(io_uring_enter),
};

/* No KVM ioctl: a worker raises MSI-X vectors by writing their irqfds. */
static const unsigned long device_ioctls[] = {
	TUNSETOFFLOAD,
	TUNSETVNETHDRSZ,
	FIONBIO,
	FIONREAD,
};

/* Console input (device syscalls too): COM1's line, an MSI with the split IOAPIC. */
static const unsigned long console_ioctls[] = {
	KVM_IRQ_LINE,
	KVM_SIGNAL_MSI,
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
	SCMP_SYS(mincore), /* -v: the guest RAM resident at exit */
	SCMP_SYS(io_uring_enter), /* teardown: disks drain their rings */
};

static const unsigned long main_ioctls[] = {
	KVM_GET_REGS,	/* the hang report */
	KVM_IRQ_LINE,	/* power button: the SCI */
	KVM_SIGNAL_MSI,
	KVM_SET_GSI_ROUTING,
	KVM_IOEVENTFD,	/* teardown: devices deassign their notifiers */
	KVM_IRQFD,	/* teardown: and their MSI-X vectors' irqfds */
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

/* The same action for each of these system calls. */
static int add_rules(scmp_filter_ctx ctx, uint32_t action, const int *nrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(ctx, action, nrs[i], 0);
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

/* Sockets: unix ones for the vsock device, unix or vsock ones for the QGS client. */
static const int unix_only[] = {AF_UNIX};
static const int qgs_families[] = {AF_UNIX, AF_VSOCK};

/* What one kind may do beyond common_syscalls. */
struct policy {
	const int *syscalls;
	size_t n_syscalls;
	const int *families;	/* socket() */
	size_t n_families;
	const unsigned long *ioctls;
	size_t n_ioctls;
};

#define RULES(field, list) .field = list, .n_##field = ARRAY_SIZE(list)

static const struct policy policies[SANDBOX_KINDS] = {
	[SANDBOX_VCPU] = {RULES(syscalls, vcpu_syscalls), RULES(ioctls, vcpu_ioctls)},
	[SANDBOX_DEVICE] = {RULES(syscalls, device_syscalls), RULES(families, unix_only),
			    RULES(ioctls, device_ioctls)},
	[SANDBOX_CONSOLE] = {RULES(syscalls, device_syscalls), RULES(families, unix_only),
			     RULES(ioctls, console_ioctls)},
	[SANDBOX_CONTROL] = {RULES(syscalls, control_syscalls), RULES(ioctls, control_ioctls)},
	[SANDBOX_QGS] = {RULES(syscalls, qgs_syscalls), RULES(families, qgs_families),
			 RULES(ioctls, qgs_ioctls)},
	[SANDBOX_MAIN] = {RULES(syscalls, main_syscalls), RULES(ioctls, main_ioctls)},
};

int sandbox_policy_build(enum sandbox_kind kind, enum sandbox_mode mode, scmp_filter_ctx *out)
{
	const struct policy *p = &policies[kind];
	scmp_filter_ctx ctx;
	int r;

	ctx = seccomp_init(mode == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	/* x86-64 whatever machine builds it: merak runs nowhere else. */
	if (seccomp_arch_native() != SCMP_ARCH_X86_64) {
		r = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE);
		if (!r)
			r = seccomp_arch_add(ctx, SCMP_ARCH_X86_64);
		if (r < 0) {
			seccomp_release(ctx);
			return r;
		}
	}
	r = add_rules(ctx, SCMP_ACT_ALLOW, common_syscalls, ARRAY_SIZE(common_syscalls));
	/* In log mode the default action logs them already (a rule may not repeat it). */
	if (!r && mode != SANDBOX_LOG)
		r = add_rules(ctx, SCMP_ACT_ERRNO(EACCES), refused_syscalls,
			      ARRAY_SIZE(refused_syscalls));
	if (!r)
		r = add_rules(ctx, SCMP_ACT_ALLOW, p->syscalls, p->n_syscalls);
	if (!r)
		r = allow_sockets(ctx, p->families, p->n_families);
	if (!r)
		r = allow_ioctls(ctx, p->ioctls, p->n_ioctls);
	if (r < 0) {
		seccomp_release(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}
