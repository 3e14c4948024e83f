/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_SANDBOX_H
#define MERAK_VM_SANDBOX_H

/*
 * seccomp-bpf filters, one per kind of thread, installed by each thread on
 * itself once set-up is over: a vCPU thread may run the guest and dispatch
 * exits, a device worker may do its device's I/O, the control thread may
 * serve its socket. Anything else stops merak with one line naming the
 * thread's filter and the system call, exit status 128 + SIGSYS (or, with
 * --seccomp=log, is logged by the kernel and allowed); opening a file fails
 * with EACCES instead, since glibc opens optional files lazily.
 */
#include "util/err.h"

enum sandbox_kind {
	SANDBOX_VCPU,
	SANDBOX_DEVICE,	 /* virtio workers: no KVM ioctls (MSIs are irqfd writes) */
	SANDBOX_CONSOLE, /* terminal/socket input: raises the serial line */
	SANDBOX_CONTROL,
	SANDBOX_QGS,  /* the TD's client of the host's quote service */
	SANDBOX_MAIN, /* the main thread, once every other thread runs */
};

enum sandbox_mode {
	SANDBOX_OFF = 0,
	SANDBOX_ON = 1,
	SANDBOX_LOG = 2,
};

/* Installs the filter for kind on the calling thread. */
int sandbox_apply(enum sandbox_kind kind, enum sandbox_mode mode, struct err *e);
const char *sandbox_kind_name(enum sandbox_kind kind);

#endif
