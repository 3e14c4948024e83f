/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_PARAMS_H
#define MERAK_TDX_PARAMS_H

/*
 * A TD's parameters, decided apart from the ioctls (src/vm/td_build.c
 * issues those): which configurations a TD refuses, the TD attributes and
 * XFAM checked against KVM_TDX_CAPABILITIES, the CPUID list for
 * KVM_TDX_INIT_VM (capability entries matched on function and index, their
 * flags ignored; SIGNIFCANT_INDEX set by merak on indexed leaves), and the
 * TSC rule: what the TDX module calls TD_PARAMS. Pure.
 */
#include <linux/kvm.h>

#include "hv/uapi/kvm_tdx.h"
#include "util/err.h"
#include "util/types.h"
#include "vm/config.h"
#include "tdx/tdvf.h"

#define TD_APIC_BUS_CYCLES_NS 40	/* the TD's virtual APIC timer runs at 25 MHz */
#define TD_TSC_KHZ_MIN	      100000ULL
#define TD_TSC_KHZ_MAX	      10000000ULL
#define TD_TSC_KHZ_STEP	      25000ULL
#define TD_GPAW		      48	/* 4-level EPT, shared bit 47 */

/* Options a TD cannot honour, refused before anything is allocated. */
int td_check_config(const struct vm_config *cfg, struct err *e);
/* Refusals that depend on the firmware kind (TDVF vs td-shim). */
int td_check_firmware_use(const struct vm_config *cfg, const struct tdvf_info *fw,
			  struct err *e);
/* True for a td-shim image (it has a Payload section). */
bool td_is_shim(const struct tdvf_info *fw);

/* TD attributes from the options, each checked against supported. */
int td_attributes(const struct tdx_config *cfg, u64 supported, u64 *out, struct err *e);
/* XFAM: what the host supports, checked for the architectural groups. */
int td_xfam(u64 requested, u64 supported, u64 *out, struct err *e);
/* tsc_khz 0 (host TSC) or within [100 MHz, 10 GHz] in 25 MHz steps. */
int td_check_tsc(u64 khz, struct err *e);

bool cpuid_leaf_indexed(u32 function);
/* The capability entry for (function, index), whatever its flags say. */
const struct kvm_cpuid_entry2 *td_caps_find(const struct merak_kvm_tdx_capabilities *caps,
					    u32 function, u32 index);
/*
 * The base table handed to vm_create_vcpus: supported with x2APIC set
 * (KVM_TDX_INIT_VCPU needs it), SIGNIFCANT_INDEX on indexed leaves and the
 * KVM PV features limited to TD_KVM_PV_FEATURES (tdx/td_cpuid.h). malloc'ed.
 */
int td_vcpu_cpuid_base(const struct kvm_cpuid2 *supported, struct kvm_cpuid2 **out,
		       struct err *e);
/*
 * KVM_TDX_INIT_VM's argument: attributes, xfam, the three 48-byte values, and
 * the CPUID entries of `cpuid` whose (function, index) the capabilities list,
 * each register masked by the capability, with leaf 0x80000008 EAX[23:16]
 * set to the GPAW. malloc'ed.
 */
int td_build_init_vm(const struct tdx_config *cfg, u64 attrs, u64 xfam,
		     const struct kvm_cpuid2 *cpuid, const struct merak_kvm_tdx_capabilities *caps,
		     struct merak_kvm_tdx_init_vm **out, struct err *e);

#endif
