/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_TD_CPUID_H
#define MERAK_TDX_TD_CPUID_H

/*
 * KVM's view of a TD's CPUID. The TDX module answers most CPUID leaves of a
 * TD itself; KVM answers the rest (the 0x4000_00xx leaves among them, through
 * TDG.VP.VMCALL<Instruction.CPUID>) from the KVM_SET_CPUID2 table, and uses
 * that table to decide which MSRs and instructions it emulates. So the table
 * must offer a TD only the paravirtual features KVM supports for TDs, and must
 * agree with what the module really gives the TD (KVM_TDX_GET_CPUID). Pure.
 */
#include <asm/kvm_para.h>
#include <linux/kvm.h>

#include "hv/uapi/kvm_tdx.h"
#include "util/err.h"
#include "util/types.h"

/*
 * The KVM paravirtual features (CPUID 0x40000001 EAX) a TD may be offered:
 * the ones that need no MSR, or only MSR_KVM_POLL_CONTROL, the one KVM PV MSR
 * in KVM's tdx_has_emulated_msr(). kvmclock, steal time, async PF and PV EOI
 * are out: the guest's writes to their MSRs fail. QEMU offers TDs this set.
 */
#define TD_KVM_PV_FEATURES                                                                         \
	((1u << KVM_FEATURE_NOP_IO_DELAY) | (1u << KVM_FEATURE_PV_UNHALT) |                        \
	 (1u << KVM_FEATURE_PV_TLB_FLUSH) | (1u << KVM_FEATURE_PV_SEND_IPI) |                      \
	 (1u << KVM_FEATURE_POLL_CONTROL) | (1u << KVM_FEATURE_PV_SCHED_YIELD) |                   \
	 (1u << KVM_FEATURE_MSI_EXT_DEST_ID))

/* Limits a table from the kernel must respect (KVM_MAX_CPUID_ENTRIES is 256). */
#define TD_CPUID_MAX_NENT 4096
#define TD_CPUID_OFF_MAX  32

/* Leaf 0x40000001 EAX of c limited to TD_KVM_PV_FEATURES; the hints (EDX) stay. */
void td_cpuid_mask_pv(struct kvm_cpuid2 *c);

/* Requested features the TDX module turned off, per register. */
struct td_cpuid_off {
	u32 n; /* entries used; more were dropped if truncated */
	bool truncated;
	struct {
		u32 function, index;
		char reg; /* 'a' 'b' 'c' 'd' */
		u32 bits;
	} e[TD_CPUID_OFF_MAX];
};

/*
 * *out = want (one vCPU's KVM_SET_CPUID2 table) made consistent with td (the
 * TD's CPUID from KVM_TDX_GET_CPUID): for every leaf the module virtualizes,
 * the feature registers take the TD's bits (leaves missing from want are
 * added); bits KVM computes at run time or that describe this vCPU's topology
 * (OSXSAVE, OSPKE, HTT) and SYSCALL (which the module reports only in 64-bit
 * mode) keep want's value; leaf 0x80000008 EAX (address widths, GPAW) is the
 * TD's; every other register and leaf stays as in want. *off lists the bits
 * want had in configurable feature registers (caps) that the TD lacks: what
 * merak asked of KVM_TDX_INIT_VM and did not get. *out is malloc'ed.
 */
int td_cpuid_reconcile(const struct kvm_cpuid2 *want, const struct kvm_cpuid2 *td,
		       const struct merak_kvm_tdx_capabilities *caps, struct kvm_cpuid2 **out,
		       struct td_cpuid_off *off, struct err *e);

/* "0x7.0 ebx bmi1 bit9, 0xd.1 eax bit4" (feature names where merak knows them). */
void td_cpuid_off_describe(const struct td_cpuid_off *off, char *buf, size_t len);

#endif
