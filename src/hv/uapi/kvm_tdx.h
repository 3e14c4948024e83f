/* SPDX-License-Identifier: MIT */
#ifndef MERAK_HV_UAPI_KVM_TDX_H
#define MERAK_HV_UAPI_KVM_TDX_H

/*
 * The TDX sub-commands of KVM_MEMORY_ENCRYPT_OP (arch/x86/include/uapi/asm/kvm.h,
 * Linux 6.16+), which Debian 12's headers predate. Every size and offset is
 * pinned against the upstream layout, so interface churn breaks the build
 * instead of a TD launch.
 */
#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

enum merak_kvm_tdx_cmd_id {
	MERAK_KVM_TDX_CAPABILITIES = 0,	  /* VM ioctl */
	MERAK_KVM_TDX_INIT_VM = 1,	  /* VM ioctl */
	MERAK_KVM_TDX_INIT_VCPU = 2,	  /* vCPU ioctl, data = initial RCX (TD HOB GPA) */
	MERAK_KVM_TDX_INIT_MEM_REGION = 3, /* vCPU ioctl */
	MERAK_KVM_TDX_FINALIZE_VM = 4,	  /* VM ioctl */
	MERAK_KVM_TDX_GET_CPUID = 5,	  /* vCPU ioctl */
	/*
	 * VM ioctl, flags and data 0: releases the HKID so private memory is
	 * reclaimed fast at teardown. Documented in intel-tdx.rst as queued on
	 * kvm-x86 in June 2025; absent from the newest tdx.c, where id 6 is an
	 * unknown command (-EINVAL). Optional, so merak probes it at exit.
	 */
	MERAK_KVM_TDX_TERMINATE_VM = 6,
};

struct merak_kvm_tdx_cmd {
	uint32_t id;
	uint32_t flags;
	uint64_t data;	   /* immediate or user pointer, per command */
	uint64_t hw_error; /* out: SEAMCALL status; must be 0 on input */
};
_Static_assert(sizeof(struct merak_kvm_tdx_cmd) == 24, "kvm_tdx_cmd size");
_Static_assert(offsetof(struct merak_kvm_tdx_cmd, flags) == 4, "kvm_tdx_cmd.flags");
_Static_assert(offsetof(struct merak_kvm_tdx_cmd, data) == 8, "kvm_tdx_cmd.data");
_Static_assert(offsetof(struct merak_kvm_tdx_cmd, hw_error) == 16, "kvm_tdx_cmd.hw_error");

/* struct kvm_cpuid2 without its flexible array, as embedded in the TDX structs. */
struct merak_kvm_cpuid2_hdr {
	uint32_t nent;
	uint32_t padding;
};

_Static_assert(sizeof(struct kvm_cpuid_entry2) == 40, "kvm_cpuid_entry2 size");
_Static_assert(offsetof(struct kvm_cpuid_entry2, flags) == 8, "kvm_cpuid_entry2.flags");
_Static_assert(offsetof(struct kvm_cpuid_entry2, eax) == 12, "kvm_cpuid_entry2.eax");
_Static_assert(offsetof(struct kvm_cpuid_entry2, edx) == 24, "kvm_cpuid_entry2.edx");
_Static_assert(sizeof(struct kvm_cpuid2) == 8, "kvm_cpuid2 header");
#define MERAK_KVM_CPUID_FLAG_SIGNIFCANT_INDEX 1u

struct merak_kvm_tdx_capabilities {
	uint64_t supported_attrs;
	uint64_t supported_xfam;
	uint64_t kernel_tdvmcallinfo_1_r11;
	uint64_t user_tdvmcallinfo_1_r11;
	uint64_t kernel_tdvmcallinfo_1_r12;
	uint64_t user_tdvmcallinfo_1_r12;
	uint64_t reserved[250];
	struct merak_kvm_cpuid2_hdr cpuid;
	struct kvm_cpuid_entry2 entries[];
};
_Static_assert(sizeof(struct merak_kvm_tdx_capabilities) == 2056, "kvm_tdx_capabilities size");
_Static_assert(offsetof(struct merak_kvm_tdx_capabilities, supported_xfam) == 8, "caps.xfam");
_Static_assert(offsetof(struct merak_kvm_tdx_capabilities, kernel_tdvmcallinfo_1_r11) == 16,
	       "caps.kernel_tdvmcallinfo_1_r11");
_Static_assert(offsetof(struct merak_kvm_tdx_capabilities, user_tdvmcallinfo_1_r11) == 24,
	       "caps.user_tdvmcallinfo_1_r11");
_Static_assert(offsetof(struct merak_kvm_tdx_capabilities, kernel_tdvmcallinfo_1_r12) == 32,
	       "caps.kernel_tdvmcallinfo_1_r12");
_Static_assert(offsetof(struct merak_kvm_tdx_capabilities, user_tdvmcallinfo_1_r12) == 40,
	       "caps.user_tdvmcallinfo_1_r12");
_Static_assert(offsetof(struct merak_kvm_tdx_capabilities, reserved) == 48, "caps.reserved");
_Static_assert(offsetof(struct merak_kvm_tdx_capabilities, cpuid) == 2048, "caps.cpuid");
_Static_assert(offsetof(struct merak_kvm_tdx_capabilities, entries) == 2056, "caps.entries");

struct merak_kvm_tdx_init_vm {
	uint64_t attributes;
	uint64_t xfam;
	uint64_t mrconfigid[6];	   /* SHA-384 digests, 48 bytes each */
	uint64_t mrowner[6];
	uint64_t mrownerconfig[6];
	uint64_t reserved[12];	   /* must be zero */
	struct merak_kvm_cpuid2_hdr cpuid;
	struct kvm_cpuid_entry2 entries[];
};
_Static_assert(sizeof(struct merak_kvm_tdx_init_vm) == 264, "kvm_tdx_init_vm size");
_Static_assert(offsetof(struct merak_kvm_tdx_init_vm, xfam) == 8, "init_vm.xfam");
_Static_assert(offsetof(struct merak_kvm_tdx_init_vm, mrconfigid) == 16, "init_vm.mrconfigid");
_Static_assert(offsetof(struct merak_kvm_tdx_init_vm, mrowner) == 64, "init_vm.mrowner");
_Static_assert(offsetof(struct merak_kvm_tdx_init_vm, mrownerconfig) == 112,
	       "init_vm.mrownerconfig");
_Static_assert(offsetof(struct merak_kvm_tdx_init_vm, reserved) == 160, "init_vm.reserved");
_Static_assert(offsetof(struct merak_kvm_tdx_init_vm, cpuid) == 256, "init_vm.cpuid");
_Static_assert(offsetof(struct merak_kvm_tdx_init_vm, entries) == 264, "init_vm.entries");

#define MERAK_KVM_TDX_MEASURE_MEMORY_REGION (1u << 0)

struct merak_kvm_tdx_init_mem_region {
	uint64_t source_addr; /* host VA, 4 KiB aligned; advanced in place by KVM */
	uint64_t gpa;
	uint64_t nr_pages;
};
_Static_assert(sizeof(struct merak_kvm_tdx_init_mem_region) == 24, "init_mem_region size");
_Static_assert(offsetof(struct merak_kvm_tdx_init_mem_region, gpa) == 8, "init_mem_region.gpa");
_Static_assert(offsetof(struct merak_kvm_tdx_init_mem_region, nr_pages) == 16,
	       "init_mem_region.nr_pages");

/* TD attributes (TDX module ABI; KVM 6.16 accepts only SEPT_VE_DISABLE). */
#define TDX_ATTR_DEBUG		 (1ULL << 0)
#define TDX_ATTR_SEPT_VE_DISABLE (1ULL << 28)
#define TDX_ATTR_MIGRATABLE	 (1ULL << 29)
#define TDX_ATTR_PKS		 (1ULL << 30)
#define TDX_ATTR_KL		 (1ULL << 31)
#define TDX_ATTR_PERFMON	 (1ULL << 63)

/* XFAM uses the XCR0 / IA32_XSS bit layout. */
#define TDX_XFAM_X87	     (1ULL << 0)
#define TDX_XFAM_SSE	     (1ULL << 1)
#define TDX_XFAM_AVX	     (1ULL << 2)
#define TDX_XFAM_MPX	     (3ULL << 3)
#define TDX_XFAM_AVX512	     (7ULL << 5)
#define TDX_XFAM_PT	     (1ULL << 8)
#define TDX_XFAM_PKRU	     (1ULL << 9)
#define TDX_XFAM_CET	     (3ULL << 11)
#define TDX_XFAM_ULI	     (1ULL << 14)
#define TDX_XFAM_LBR	     (1ULL << 15)
#define TDX_XFAM_AMX	     (3ULL << 17)



#endif
