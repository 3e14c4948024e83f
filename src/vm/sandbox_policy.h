/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_SANDBOX_POLICY_H
#define MERAK_VM_SANDBOX_POLICY_H
#include <linux/filter.h>

#include "vm/sandbox.h"

#define SANDBOX_KINDS (SANDBOX_MAIN + 1)

struct sandbox_filter {
	const struct sock_filter *insns;
	unsigned short len;
};

/*
 * Each kind's filter as BPF, compiled when merak was built (sandbox_gen):
 * [kind][0] traps a forbidden call (--seccomp=true), [kind][1] logs it.
 */
extern const struct sandbox_filter sandbox_filters[SANDBOX_KINDS][2];

#ifdef SANDBOX_GEN
#include <seccomp.h>

/* The libseccomp rules of kind's filter in mode; a negative errno on failure. */
int sandbox_policy_build(enum sandbox_kind kind, enum sandbox_mode mode, scmp_filter_ctx *out);
#endif

#endif
