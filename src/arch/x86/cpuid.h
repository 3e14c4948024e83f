/* SPDX-License-Identifier: MIT */
#ifndef MERAK_ARCH_X86_CPUID_H
#define MERAK_ARCH_X86_CPUID_H

#include <linux/kvm.h>

#include "util/err.h"
#include "util/types.h"

struct x86_cpuid_config {
	u32 vcpu_index;	/* also the APIC ID */
	u32 ncpus;
	u64 tsc_khz;	/* 0: leave the timing leaves out */
};

/*
 * The CPUID table of one vCPU from KVM_GET_SUPPORTED_CPUID: per-vCPU APIC IDs
 * and topology (leaves 1, 4, 0xB, 0x1F, 0x8000001E), the hypervisor bit, the
 * KVM leaves at 0x40000000, features merak cannot support masked. Pure.
 * The result is malloc'ed.
 */
int x86_cpuid_build(const struct kvm_cpuid2 *supported, const struct x86_cpuid_config *cfg,
		    struct kvm_cpuid2 **out, struct err *e);

#endif
