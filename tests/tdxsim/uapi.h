// SPDX-License-Identifier: MIT
/*
 * The KVM userspace ABI the simulator speaks, written out independently of
 * merak's src/hv/uapi and of Debian's (pre-TDX) <linux/kvm.h>. Layouts are
 * facts from the upstream Linux 6.16 uapi headers (include/uapi/linux/kvm.h,
 * arch/x86/include/uapi/asm/kvm.h); every size and offset the simulator relies
 * on is pinned by a static assert.
 */
#ifndef TDXSIM_UAPI_H
#define TDXSIM_UAPI_H

#include <linux/ioctl.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#define SIM_KVMIO 0xAE

/* System ioctls */
#define S_KVM_GET_API_VERSION _IO(SIM_KVMIO, 0x00)
#define S_KVM_CREATE_VM _IO(SIM_KVMIO, 0x01)
#define S_KVM_GET_MSR_INDEX_LIST _IOWR(SIM_KVMIO, 0x02, struct s_kvm_msr_list)
#define S_KVM_CHECK_EXTENSION _IO(SIM_KVMIO, 0x03)
#define S_KVM_GET_VCPU_MMAP_SIZE _IO(SIM_KVMIO, 0x04)
#define S_KVM_GET_SUPPORTED_CPUID _IOWR(SIM_KVMIO, 0x05, struct s_kvm_cpuid2)
#define S_KVM_GET_EMULATED_CPUID _IOWR(SIM_KVMIO, 0x09, struct s_kvm_cpuid2)
#define S_KVM_GET_MSR_FEATURE_INDEX_LIST _IOWR(SIM_KVMIO, 0x0a, struct s_kvm_msr_list)

/* VM ioctls */
#define S_KVM_CREATE_VCPU _IO(SIM_KVMIO, 0x41)
#define S_KVM_SET_USER_MEMORY_REGION _IOW(SIM_KVMIO, 0x46, struct s_kvm_userspace_memory_region)
#define S_KVM_SET_TSS_ADDR _IO(SIM_KVMIO, 0x47)
#define S_KVM_SET_IDENTITY_MAP_ADDR _IOW(SIM_KVMIO, 0x48, u64)
#define S_KVM_SET_USER_MEMORY_REGION2 _IOW(SIM_KVMIO, 0x49, struct s_kvm_userspace_memory_region2)
#define S_KVM_CREATE_IRQCHIP _IO(SIM_KVMIO, 0x60)
#define S_KVM_IRQ_LINE _IOW(SIM_KVMIO, 0x61, struct s_kvm_irq_level)
#define S_KVM_IRQ_LINE_STATUS _IOWR(SIM_KVMIO, 0x67, struct s_kvm_irq_level)
#define S_KVM_REGISTER_COALESCED_MMIO _IOW(SIM_KVMIO, 0x67, struct s_kvm_coalesced_mmio_zone)
#define S_KVM_UNREGISTER_COALESCED_MMIO _IOW(SIM_KVMIO, 0x68, struct s_kvm_coalesced_mmio_zone)
#define S_KVM_SET_GSI_ROUTING _IOW(SIM_KVMIO, 0x6a, struct s_kvm_irq_routing)
#define S_KVM_IRQFD _IOW(SIM_KVMIO, 0x76, struct s_kvm_irqfd)
#define S_KVM_CREATE_PIT2 _IOW(SIM_KVMIO, 0x77, struct s_kvm_pit_config)
#define S_KVM_SET_BOOT_CPU_ID _IO(SIM_KVMIO, 0x78)
#define S_KVM_IOEVENTFD _IOW(SIM_KVMIO, 0x79, struct s_kvm_ioeventfd)
#define S_KVM_SET_CLOCK _IOW(SIM_KVMIO, 0x7b, struct s_kvm_clock_data)
#define S_KVM_GET_CLOCK _IOR(SIM_KVMIO, 0x7c, struct s_kvm_clock_data)
#define S_KVM_SET_TSC_KHZ _IO(SIM_KVMIO, 0xa2)
#define S_KVM_GET_TSC_KHZ _IO(SIM_KVMIO, 0xa3)
#define S_KVM_ENABLE_CAP _IOW(SIM_KVMIO, 0xa3, struct s_kvm_enable_cap)
#define S_KVM_SIGNAL_MSI _IOW(SIM_KVMIO, 0xa5, struct s_kvm_msi)
#define S_KVM_MEMORY_ENCRYPT_OP _IOWR(SIM_KVMIO, 0xba, unsigned long)
#define S_KVM_X86_SET_MSR_FILTER _IOW(SIM_KVMIO, 0xc6, struct s_kvm_msr_filter)
#define S_KVM_SET_MEMORY_ATTRIBUTES _IOW(SIM_KVMIO, 0xd2, struct s_kvm_memory_attributes)
#define S_KVM_CREATE_GUEST_MEMFD _IOWR(SIM_KVMIO, 0xd4, struct s_kvm_create_guest_memfd)

/* vCPU ioctls */
#define S_KVM_RUN _IO(SIM_KVMIO, 0x80)
#define S_KVM_GET_REGS _IOR(SIM_KVMIO, 0x81, struct s_kvm_regs)
#define S_KVM_SET_REGS _IOW(SIM_KVMIO, 0x82, struct s_kvm_regs)
#define S_KVM_GET_SREGS _IOR(SIM_KVMIO, 0x83, struct s_kvm_sregs)
#define S_KVM_SET_SREGS _IOW(SIM_KVMIO, 0x84, struct s_kvm_sregs)
#define S_KVM_GET_MSRS _IOWR(SIM_KVMIO, 0x88, struct s_kvm_msrs)
#define S_KVM_SET_MSRS _IOW(SIM_KVMIO, 0x89, struct s_kvm_msrs)
#define S_KVM_SET_SIGNAL_MASK _IOW(SIM_KVMIO, 0x8b, struct s_kvm_signal_mask)
#define S_KVM_GET_FPU _IOR(SIM_KVMIO, 0x8c, struct s_kvm_fpu)
#define S_KVM_SET_FPU _IOW(SIM_KVMIO, 0x8d, struct s_kvm_fpu)
#define S_KVM_GET_LAPIC _IOR(SIM_KVMIO, 0x8e, struct s_kvm_lapic_state)
#define S_KVM_SET_LAPIC _IOW(SIM_KVMIO, 0x8f, struct s_kvm_lapic_state)
#define S_KVM_SET_CPUID2 _IOW(SIM_KVMIO, 0x90, struct s_kvm_cpuid2)
#define S_KVM_GET_CPUID2 _IOWR(SIM_KVMIO, 0x91, struct s_kvm_cpuid2)
#define S_KVM_GET_MP_STATE _IOR(SIM_KVMIO, 0x98, struct s_kvm_mp_state)
#define S_KVM_SET_MP_STATE _IOW(SIM_KVMIO, 0x99, struct s_kvm_mp_state)
#define S_KVM_SET_GUEST_DEBUG _IOW(SIM_KVMIO, 0x9b, struct s_kvm_guest_debug)
#define S_KVM_GET_VCPU_EVENTS _IOR(SIM_KVMIO, 0x9f, struct s_kvm_vcpu_events)
#define S_KVM_SET_VCPU_EVENTS _IOW(SIM_KVMIO, 0xa0, struct s_kvm_vcpu_events)
#define S_KVM_GET_DEBUGREGS _IOR(SIM_KVMIO, 0xa1, struct s_kvm_debugregs)
#define S_KVM_SET_DEBUGREGS _IOW(SIM_KVMIO, 0xa2, struct s_kvm_debugregs)
#define S_KVM_GET_XSAVE _IOR(SIM_KVMIO, 0xa4, struct s_kvm_xsave)
#define S_KVM_SET_XSAVE _IOW(SIM_KVMIO, 0xa5, struct s_kvm_xsave)
#define S_KVM_GET_XCRS _IOR(SIM_KVMIO, 0xa6, struct s_kvm_xcrs)
#define S_KVM_SET_XCRS _IOW(SIM_KVMIO, 0xa7, struct s_kvm_xcrs)
#define S_KVM_GET_SREGS2 _IOR(SIM_KVMIO, 0xcc, struct s_kvm_sregs2)
#define S_KVM_SET_SREGS2 _IOW(SIM_KVMIO, 0xcd, struct s_kvm_sregs2)
#define S_KVM_GET_XSAVE2 _IOR(SIM_KVMIO, 0xcf, struct s_kvm_xsave)
#define S_KVM_PRE_FAULT_MEMORY _IOWR(SIM_KVMIO, 0xd5, struct s_kvm_pre_fault_memory)

/* Capabilities */
#define S_CAP_IRQCHIP 0
#define S_CAP_USER_MEMORY 3
#define S_CAP_SET_TSS_ADDR 4
#define S_CAP_EXT_CPUID 7
#define S_CAP_NR_VCPUS 9
#define S_CAP_NR_MEMSLOTS 10
#define S_CAP_MP_STATE 14
#define S_CAP_COALESCED_MMIO 15
#define S_CAP_IRQ_ROUTING 25
#define S_CAP_IRQFD 32
#define S_CAP_IOEVENTFD 36
#define S_CAP_TSC_CONTROL 60
#define S_CAP_MAX_VCPUS 66
#define S_CAP_SYNC_REGS 74
#define S_CAP_SIGNAL_MSI 77
#define S_CAP_READONLY_MEM 81
#define S_CAP_X86_SMM 117
#define S_CAP_SPLIT_IRQCHIP 121
#define S_CAP_X2APIC_API 129
#define S_CAP_MAX_VCPU_ID 128
#define S_CAP_EXIT_HYPERCALL 201
#define S_CAP_VM_TSC_CONTROL 214
#define S_CAP_USER_MEMORY2 231
#define S_CAP_MEMORY_FAULT_INFO 232
#define S_CAP_MEMORY_ATTRIBUTES 233
#define S_CAP_GUEST_MEMFD 234
#define S_CAP_VM_TYPES 235
#define S_CAP_PRE_FAULT_MEMORY 236
#define S_CAP_X86_APIC_BUS_CYCLES_NS 237

#define S_KVM_X86_DEFAULT_VM 0
#define S_KVM_X86_TDX_VM 5

#define S_KVM_MEM_LOG_DIRTY_PAGES (1u << 0)
#define S_KVM_MEM_READONLY (1u << 1)
#define S_KVM_MEM_GUEST_MEMFD (1u << 2)
#define S_KVM_MEMORY_ATTRIBUTE_PRIVATE (1ull << 3)

#define S_KVM_HC_MAP_GPA_RANGE 12
#define S_KVM_MAP_GPA_RANGE_ENCRYPTED (1ull << 4)
#define S_KVM_EXIT_HYPERCALL_LONG_MODE 1ull

#define S_KVM_CPUID_FLAG_SIGNIFCANT_INDEX 1u
#define S_KVM_MAX_CPUID_ENTRIES 256

/* TDX sub-commands of KVM_MEMORY_ENCRYPT_OP */
enum {
	S_KVM_TDX_CAPABILITIES = 0,
	S_KVM_TDX_INIT_VM = 1,
	S_KVM_TDX_INIT_VCPU = 2,
	S_KVM_TDX_INIT_MEM_REGION = 3,
	S_KVM_TDX_FINALIZE_VM = 4,
	S_KVM_TDX_GET_CPUID = 5,
	S_KVM_TDX_TERMINATE_VM = 6,	/* kvm-x86 queue of June 2025 only */
};
#define S_KVM_TDX_MEASURE_MEMORY_REGION 1u
#define S_TDX_ATTR_SEPT_VE_DISABLE (1ull << 28)
#define S_TDX_OPERAND_INVALID 0xC000010000000000ull

/* Exit reasons */
#define S_KVM_EXIT_IO 2
#define S_KVM_EXIT_HYPERCALL 3
#define S_KVM_EXIT_MMIO 6
#define S_KVM_EXIT_SHUTDOWN 8
#define S_KVM_EXIT_INTR 10
#define S_KVM_EXIT_SYSTEM_EVENT 24
#define S_KVM_EXIT_MEMORY_FAULT 39
#define S_KVM_EXIT_TDX 40

#define S_KVM_SYSTEM_EVENT_SHUTDOWN 1
#define S_KVM_SYSTEM_EVENT_RESET 2
#define S_KVM_SYSTEM_EVENT_TDX_FATAL 7
#define S_KVM_MEMORY_EXIT_FLAG_PRIVATE (1ull << 3)
#define S_KVM_EXIT_IO_IN 0
#define S_KVM_EXIT_IO_OUT 1

/* TDVMCALL leaves and statuses (GHCI) */
#define S_TDVMCALL_GET_TD_VM_CALL_INFO 0x10000
#define S_TDVMCALL_MAP_GPA 0x10001
#define S_TDVMCALL_GET_QUOTE 0x10002
#define S_TDVMCALL_REPORT_FATAL_ERROR 0x10003
#define S_TDVMCALL_SETUP_EVENT_NOTIFY 0x10004
#define S_TDVMCALL_SUCCESS 0ull
#define S_TDVMCALL_INVALID_OPERAND 0x8000000000000000ull
#define S_TDVMCALL_ALIGN_ERROR 0x8000000000000002ull
#define S_TDVMCALL_SUBFUNC_UNSUPPORTED 0x8000000000000003ull

struct s_kvm_msr_list {
	u32 nmsrs;
	u32 indices[];
};

struct s_kvm_cpuid_entry2 {
	u32 function;
	u32 index;
	u32 flags;
	u32 eax, ebx, ecx, edx;
	u32 padding[3];
};
_Static_assert(sizeof(struct s_kvm_cpuid_entry2) == 40, "cpuid_entry2");

struct s_kvm_cpuid2 {
	u32 nent;
	u32 padding;
	struct s_kvm_cpuid_entry2 entries[];
};
_Static_assert(sizeof(struct s_kvm_cpuid2) == 8, "cpuid2");

struct s_kvm_userspace_memory_region {
	u32 slot;
	u32 flags;
	u64 guest_phys_addr;
	u64 memory_size;
	u64 userspace_addr;
};
_Static_assert(sizeof(struct s_kvm_userspace_memory_region) == 32, "region");

struct s_kvm_userspace_memory_region2 {
	u32 slot;
	u32 flags;
	u64 guest_phys_addr;
	u64 memory_size;
	u64 userspace_addr;
	u64 guest_memfd_offset;
	u32 guest_memfd;
	u32 pad1;
	u64 pad2[14];
};
_Static_assert(sizeof(struct s_kvm_userspace_memory_region2) == 160, "region2");
_Static_assert(offsetof(struct s_kvm_userspace_memory_region2, guest_memfd_offset) == 32, "r2");
_Static_assert(offsetof(struct s_kvm_userspace_memory_region2, guest_memfd) == 40, "r2");

struct s_kvm_create_guest_memfd {
	u64 size;
	u64 flags;
	u64 reserved[6];
};
_Static_assert(sizeof(struct s_kvm_create_guest_memfd) == 64, "gmem");

struct s_kvm_memory_attributes {
	u64 address;
	u64 size;
	u64 attributes;
	u64 flags;
};
_Static_assert(sizeof(struct s_kvm_memory_attributes) == 32, "attrs");

struct s_kvm_enable_cap {
	u32 cap;
	u32 flags;
	u64 args[4];
	u8 pad[64];
};
_Static_assert(sizeof(struct s_kvm_enable_cap) == 104, "enable_cap");

struct s_kvm_irq_level {
	u32 irq;
	u32 level;
};

struct s_kvm_coalesced_mmio_zone {
	u64 addr;
	u32 size;
	u32 pad;
};

struct s_kvm_irq_routing {
	u32 nr;
	u32 flags;
	/* struct kvm_irq_routing_entry entries[] (48 bytes each) */
};

struct s_kvm_irqfd {
	u32 fd;
	u32 gsi;
	u32 flags;
	u32 resamplefd;
	u8 pad[16];
};
_Static_assert(sizeof(struct s_kvm_irqfd) == 32, "irqfd");
#define S_KVM_IRQFD_FLAG_DEASSIGN 1u
#define S_KVM_IRQFD_FLAG_RESAMPLE 2u

struct s_kvm_pit_config {
	u32 flags;
	u32 pad[15];
};
_Static_assert(sizeof(struct s_kvm_pit_config) == 64, "pit");

struct s_kvm_ioeventfd {
	u64 datamatch;
	u64 addr;
	u32 len;
	int32_t fd;
	u32 flags;
	u8 pad[36];
};
_Static_assert(sizeof(struct s_kvm_ioeventfd) == 64, "ioeventfd");
#define S_KVM_IOEVENTFD_VALID_FLAGS 0x1fu

struct s_kvm_clock_data {
	u64 clock;
	u32 flags;
	u32 pad0;
	u64 realtime;
	u64 host_tsc;
	u32 pad[4];
};
_Static_assert(sizeof(struct s_kvm_clock_data) == 48, "clock");

struct s_kvm_msi {
	u32 address_lo;
	u32 address_hi;
	u32 data;
	u32 flags;
	u32 devid;
	u8 pad[12];
};
_Static_assert(sizeof(struct s_kvm_msi) == 32, "msi");

struct s_kvm_msr_filter_range {
	u32 flags;
	u32 nmsrs;
	u32 base;
	u8 *bitmap;
};
struct s_kvm_msr_filter {
	u32 flags;
	struct s_kvm_msr_filter_range ranges[16];
};
_Static_assert(sizeof(struct s_kvm_msr_filter) == 392, "msr_filter");

struct s_kvm_msr_entry {
	u32 index;
	u32 reserved;
	u64 data;
};
struct s_kvm_msrs {
	u32 nmsrs;
	u32 pad;
	struct s_kvm_msr_entry entries[];
};
_Static_assert(sizeof(struct s_kvm_msrs) == 8, "msrs");

struct s_kvm_signal_mask {
	u32 len;
	u8 sigset[];
};

struct s_kvm_mp_state {
	u32 mp_state;
};

/* Register-state structs: only their sizes matter (they encode the ioctl). */
struct s_kvm_regs {
	u64 r[18];
};
_Static_assert(sizeof(struct s_kvm_regs) == 144, "regs");
struct s_kvm_sregs {
	u8 b[312];
};
struct s_kvm_sregs2 {
	u8 b[320];
};
struct s_kvm_fpu {
	u8 b[416];
};
struct s_kvm_lapic_state {
	char regs[1024];
};
struct s_kvm_xsave {
	u32 region[1024];
};
struct s_kvm_xcrs {
	u8 b[392];
};
struct s_kvm_debugregs {
	u8 b[128];
};
struct s_kvm_vcpu_events {
	u8 b[64];
};
struct s_kvm_guest_debug {
	u8 b[72];
};

struct s_kvm_pre_fault_memory {
	u64 gpa;
	u64 size;
	u64 flags;
	u64 padding[5];
};
_Static_assert(sizeof(struct s_kvm_pre_fault_memory) == 64, "prefault");

struct s_kvm_tdx_cmd {
	u32 id;
	u32 flags;
	u64 data;
	u64 hw_error;
};
_Static_assert(sizeof(struct s_kvm_tdx_cmd) == 24, "tdx_cmd");

struct s_kvm_tdx_capabilities {
	u64 supported_attrs;
	u64 supported_xfam;
	u64 kernel_tdvmcallinfo_1_r11;
	u64 user_tdvmcallinfo_1_r11;
	u64 kernel_tdvmcallinfo_1_r12;
	u64 user_tdvmcallinfo_1_r12;
	u64 reserved[250];
	struct s_kvm_cpuid2 cpuid;
};
_Static_assert(offsetof(struct s_kvm_tdx_capabilities, cpuid) == 2048, "caps");
_Static_assert(sizeof(struct s_kvm_tdx_capabilities) == 2056, "caps");

struct s_kvm_tdx_init_vm {
	u64 attributes;
	u64 xfam;
	u64 mrconfigid[6];
	u64 mrowner[6];
	u64 mrownerconfig[6];
	u64 reserved[12];
	struct s_kvm_cpuid2 cpuid;
};
_Static_assert(offsetof(struct s_kvm_tdx_init_vm, mrconfigid) == 16, "init_vm");
_Static_assert(offsetof(struct s_kvm_tdx_init_vm, mrowner) == 64, "init_vm");
_Static_assert(offsetof(struct s_kvm_tdx_init_vm, mrownerconfig) == 112, "init_vm");
_Static_assert(offsetof(struct s_kvm_tdx_init_vm, reserved) == 160, "init_vm");
_Static_assert(offsetof(struct s_kvm_tdx_init_vm, cpuid) == 256, "init_vm");
_Static_assert(sizeof(struct s_kvm_tdx_init_vm) == 264, "init_vm");

struct s_kvm_tdx_init_mem_region {
	u64 source_addr;
	u64 gpa;
	u64 nr_pages;
};
_Static_assert(sizeof(struct s_kvm_tdx_init_mem_region) == 24, "init_mem_region");

/* struct kvm_run: the header and the exit union the simulator fills. */
struct s_kvm_run {
	u8 request_interrupt_window;
	u8 immediate_exit;
	u8 padding1[6];
	u32 exit_reason;
	u8 ready_for_interrupt_injection;
	u8 if_flag;
	u16 flags;
	u64 cr8;
	u64 apic_base;
	union {
		struct {
			u8 direction;
			u8 size;
			u16 port;
			u32 count;
			u64 data_offset;
		} io;
		struct {
			u64 phys_addr;
			u8 data[8];
			u32 len;
			u8 is_write;
		} mmio;
		struct {
			u64 nr;
			u64 args[6];
			u64 ret;
			u64 flags;
		} hypercall;
		struct {
			u32 type;
			u32 ndata;
			u64 data[16];
		} system_event;
		struct {
			u64 flags;
			u64 gpa;
			u64 size;
		} memory_fault;
		struct {
			u64 flags;
			u64 nr;
			union {
				struct {
					u64 ret;
					u64 data[5];
				} unknown;
				struct {
					u64 ret;
					u64 gpa;
					u64 size;
				} get_quote;
				struct {
					u64 ret;
					u64 leaf;
					u64 r11, r12, r13, r14;
				} get_tdvmcall_info;
				struct {
					u64 ret;
					u64 vector;
				} setup_event_notify;
			};
		} tdx;
		char padding[256];
	};
	u64 kvm_valid_regs;
	u64 kvm_dirty_regs;
};
_Static_assert(offsetof(struct s_kvm_run, immediate_exit) == 1, "run");
_Static_assert(offsetof(struct s_kvm_run, exit_reason) == 8, "run");
_Static_assert(offsetof(struct s_kvm_run, io) == 32, "run");
_Static_assert(offsetof(struct s_kvm_run, io.data_offset) == 40, "run");
_Static_assert(offsetof(struct s_kvm_run, mmio.len) == 48, "run");
_Static_assert(offsetof(struct s_kvm_run, mmio.is_write) == 52, "run");
_Static_assert(offsetof(struct s_kvm_run, hypercall.args) == 40, "run");
_Static_assert(offsetof(struct s_kvm_run, hypercall.ret) == 88, "run");
_Static_assert(offsetof(struct s_kvm_run, hypercall.flags) == 96, "run");
_Static_assert(offsetof(struct s_kvm_run, system_event.ndata) == 36, "run");
_Static_assert(offsetof(struct s_kvm_run, system_event.data) == 40, "run");
_Static_assert(offsetof(struct s_kvm_run, memory_fault.gpa) == 40, "run");
_Static_assert(offsetof(struct s_kvm_run, tdx.nr) == 40, "run");
_Static_assert(offsetof(struct s_kvm_run, tdx.get_quote.ret) == 48, "run");
_Static_assert(offsetof(struct s_kvm_run, tdx.get_quote.size) == 64, "run");
_Static_assert(offsetof(struct s_kvm_run, tdx.get_tdvmcall_info.r14) == 88, "run");
_Static_assert(offsetof(struct s_kvm_run, tdx.setup_event_notify.vector) == 56, "run");
_Static_assert(offsetof(struct s_kvm_run, kvm_valid_regs) == 288, "run");

/* Three pages, like x86 KVM: kvm_run, the PIO data page, the coalesced-MMIO ring. */
#define SIM_VCPU_MMAP_SIZE (3 * 4096)
#define SIM_PIO_DATA_OFFSET 4096

#endif
