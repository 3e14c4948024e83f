/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_CAPS_H
#define MERAK_TDX_CAPS_H

/*
 * What a host offers TDs, in words: the host check that precedes any TD
 * (VM type, guest_memfd and its companions) and the report `merak tdx-caps`
 * prints from KVM_TDX_CAPABILITIES. Pure.
 */
#include "hv/uapi/kvm_tdx.h"
#include "util/err.h"
#include "util/types.h"

/* KVM_CHECK_EXTENSION answers a TD needs, read from /dev/kvm. */
struct tdx_host_caps {
	int vm_types;		/* KVM_CAP_VM_TYPES bitmask */
	int guest_memfd;	/* KVM_CAP_GUEST_MEMFD */
	int user_memory2;	/* KVM_CAP_USER_MEMORY2 */
	int memory_attributes;	/* KVM_CAP_MEMORY_ATTRIBUTES bitmask */
};

#define TDX_HOST_MISSING_VM_TYPE                                                              \
	"this host cannot run TDs: KVM_CAP_VM_TYPES lacks KVM_X86_TDX_VM (needs a "        \
	"TDX-capable CPU with TDX enabled in the BIOS, the TDX module loaded, "               \
	"kvm_intel.tdx=1, Linux >= 6.16)"

/* 0 when a TD can be created; else -ENOTSUP naming the first missing piece. */
int tdx_host_check(const struct tdx_host_caps *h, struct err *e);

const char *tdx_attr_name(unsigned bit);	/* NULL for unnamed bits */
const char *tdx_xfam_name(unsigned bit);
/* A CPUID feature bit's name ("avx512f"; reg is 'a'..'d'), NULL where merak knows none. */
const char *tdx_cpuid_bit_name(u32 function, u32 index, char reg, unsigned bit);
/* Space-separated names of set bits ("DEBUG SEPT_VE_DISABLE bit5"); "none" if 0. */
void tdx_bits_describe(u64 v, const char *(*name)(unsigned), char *buf, size_t len);

/*
 * The capability report: attributes and XFAM by name, TDVMCALL info, the
 * configurable CPUID leaves with named bits where merak knows them.
 * max_vcpus < 0 leaves it out. Returns a malloc'ed string.
 */
char *tdx_caps_report(const struct merak_kvm_tdx_capabilities *c, int max_vcpus);

#endif
