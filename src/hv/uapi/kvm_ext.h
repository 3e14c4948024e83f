/* SPDX-License-Identifier: MIT */
#ifndef MERAK_HV_UAPI_KVM_EXT_H
#define MERAK_HV_UAPI_KVM_EXT_H

/*
 * KVM uapi that Debian 12's linux-libc-dev (6.1) predates: guest_memfd,
 * KVM_SET_USER_MEMORY_REGION2, memory attributes, the memory-fault and TDX
 * exits. Values and layouts are the upstream ones (include/uapi/linux/kvm.h,
 * Linux 6.16+); the static asserts below pin every size and offset.
 */
#include <linux/kvm.h>
#include <linux/kvm_para.h>	/* KVM_HC_MAP_GPA_RANGE and its flags */
#include <stddef.h>
#include <stdint.h>

#define MERAK_KVM_CAP_USER_MEMORY2	      231
#define MERAK_KVM_CAP_MEMORY_FAULT_INFO	      232
#define MERAK_KVM_CAP_MEMORY_ATTRIBUTES	      233
#define MERAK_KVM_CAP_GUEST_MEMFD	      234
#define MERAK_KVM_CAP_VM_TYPES		      235
#define MERAK_KVM_CAP_PRE_FAULT_MEMORY	      236
#define MERAK_KVM_CAP_X86_APIC_BUS_CYCLES_NS  237
#define MERAK_KVM_CAP_GUEST_MEMFD_FLAGS	      244

#define MERAK_KVM_X86_DEFAULT_VM 0
#define MERAK_KVM_X86_TDX_VM	 5

#define MERAK_KVM_MEM_GUEST_MEMFD (1U << 2)

struct merak_kvm_userspace_memory_region2 {
	uint32_t slot;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t guest_memfd_offset;
	uint32_t guest_memfd;
	uint32_t pad1;
	uint64_t pad2[14];
};
_Static_assert(sizeof(struct merak_kvm_userspace_memory_region2) == 160, "region2 size");
_Static_assert(offsetof(struct merak_kvm_userspace_memory_region2, guest_memfd_offset) == 32,
	       "region2.guest_memfd_offset");
_Static_assert(offsetof(struct merak_kvm_userspace_memory_region2, guest_memfd) == 40,
	       "region2.guest_memfd");

struct merak_kvm_create_guest_memfd {
	uint64_t size;
	uint64_t flags;
	uint64_t reserved[6];
};
_Static_assert(sizeof(struct merak_kvm_create_guest_memfd) == 64, "create_guest_memfd size");

#define MERAK_KVM_MEMORY_ATTRIBUTE_PRIVATE (1ULL << 3)

struct merak_kvm_memory_attributes {
	uint64_t address;
	uint64_t size;
	uint64_t attributes;
	uint64_t flags;
};
_Static_assert(sizeof(struct merak_kvm_memory_attributes) == 32, "memory_attributes size");

#define MERAK_KVM_SET_USER_MEMORY_REGION2 \
	_IOW(KVMIO, 0x49, struct merak_kvm_userspace_memory_region2)
#define MERAK_KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct merak_kvm_memory_attributes)
#define MERAK_KVM_CREATE_GUEST_MEMFD	_IOWR(KVMIO, 0xd4, struct merak_kvm_create_guest_memfd)
_Static_assert(MERAK_KVM_SET_USER_MEMORY_REGION2 == 0x40A0AE49, "ioctl number");
_Static_assert(MERAK_KVM_SET_MEMORY_ATTRIBUTES == 0x4020AED2, "ioctl number");
_Static_assert(MERAK_KVM_CREATE_GUEST_MEMFD == 0xC040AED4, "ioctl number");

#define MERAK_KVM_EXIT_MEMORY_FAULT	    39
#define MERAK_KVM_EXIT_TDX		    40
#define MERAK_KVM_MEMORY_EXIT_FLAG_PRIVATE  (1ULL << 3)
#define MERAK_KVM_SYSTEM_EVENT_TDX_FATAL    7

/* The exit union of struct kvm_run starts at byte 32 and is 256 bytes long. */
_Static_assert(offsetof(struct kvm_run, exit_reason) == 8, "kvm_run.exit_reason");
_Static_assert(offsetof(struct kvm_run, hypercall) == 32, "kvm_run exit union");
_Static_assert(sizeof(((struct kvm_run *)0)->padding) == 256, "kvm_run exit union size");

struct merak_kvm_run_memory_fault {
	uint64_t flags;
	uint64_t gpa;
	uint64_t size;
};

struct merak_kvm_run_tdx {
	uint64_t flags;
	uint64_t nr;
	union {
		struct {
			uint64_t ret;
			uint64_t data[5];
		} unknown;
		struct {
			uint64_t ret;
			uint64_t gpa;
			uint64_t size;
		} get_quote;
		struct {
			uint64_t ret;
			uint64_t leaf;
			uint64_t r11, r12, r13, r14;
		} get_tdvmcall_info;
		struct {
			uint64_t ret;
			uint64_t vector;
		} setup_event_notify;
	};
};
_Static_assert(offsetof(struct merak_kvm_run_tdx, nr) == 8, "run.tdx.nr @40");
_Static_assert(offsetof(struct merak_kvm_run_tdx, get_quote.ret) == 16, "run.tdx ret @48");
_Static_assert(offsetof(struct merak_kvm_run_tdx, get_tdvmcall_info.r14) == 56,
	       "run.tdx.get_tdvmcall_info.r14 @88");

static inline struct merak_kvm_run_memory_fault *kvm_run_memory_fault(struct kvm_run *run)
{
	return (struct merak_kvm_run_memory_fault *)(void *)run->padding;
}

static inline struct merak_kvm_run_tdx *kvm_run_tdx(struct kvm_run *run)
{
	return (struct merak_kvm_run_tdx *)(void *)run->padding;
}

#endif
