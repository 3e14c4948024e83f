/* SPDX-License-Identifier: MIT */
#ifndef MERAK_HV_HV_H
#define MERAK_HV_HV_H

/*
 * The only layer that calls KVM. Everything above it sees file descriptors
 * wrapped in these structs and exits decoded into struct vm_exit.
 */
#include "util/err.h"
#include "util/types.h"

struct kvm_run;
struct kvm_regs;
struct kvm_sregs;
struct kvm_fpu;
struct kvm_cpuid2;
struct kvm_msrs;
struct kvm_lapic_state;
struct kvm_irq_routing;

struct hv_vm {
	int kvm_fd;
	int vm_fd;
	u32 type;
	int run_size;
	bool split_irqchip;
};

struct hv_vcpu {
	int fd;
	u32 index;
	struct kvm_run *run;
	int run_size;
};

enum vm_exit_kind {
	VM_EXIT_NONE,	       /* nothing to do: interrupted, or handled in kernel */
	VM_EXIT_IO,
	VM_EXIT_MMIO,
	VM_EXIT_HLT,
	VM_EXIT_SHUTDOWN,      /* triple fault */
	VM_EXIT_SYSTEM_EVENT,
	VM_EXIT_MEMORY_FAULT,  /* private<->shared conversion requested by an access */
	VM_EXIT_MAP_GPA,       /* explicit conversion (KVM_HC_MAP_GPA_RANGE) */
	VM_EXIT_TDX,	       /* TDVMCALL forwarded to userspace */
	VM_EXIT_IOAPIC_EOI,    /* split irqchip: EOI of a level-triggered vector */
	VM_EXIT_INTERNAL_ERROR,
	VM_EXIT_FAIL_ENTRY,
	VM_EXIT_MEMORY_ERROR,  /* the page backing a GPA is hardware-poisoned: no conversion helps */
	VM_EXIT_UNKNOWN,
};

enum vm_system_event {
	VM_SYSTEM_EVENT_SHUTDOWN = 1,
	VM_SYSTEM_EVENT_RESET = 2,
	VM_SYSTEM_EVENT_CRASH = 3,
	VM_SYSTEM_EVENT_TDX_FATAL = 7,
};

struct vm_exit {
	enum vm_exit_kind kind;
	union {
		struct {
			u16 port;
			u8 size;     /* 1, 2 or 4 */
			bool write;
			u32 count;   /* > 1 for string I/O: data holds count * size bytes */
			u8 *data;    /* in kvm_run: a read handler fills it in place */
		} io;
		struct {
			u64 gpa;
			u8 *data;    /* in kvm_run, 8 bytes */
			u32 len;
			bool write;
		} mmio;
		struct {
			u32 type;
			u32 ndata;
			u64 data[16];
		} system_event;
		struct {
			u64 gpa;
			u64 size;
			bool to_private;
			u64 *ret;    /* MAP_GPA only: 0 on success, written back to KVM */
		} convert;
		struct {
			u64 gpa;
			u64 size;
			bool private_;	/* the faulting access was private */
		} memory_error;
		struct {
			u64 nr;      /* TDVMCALL sub-function */
			u64 *regs;   /* in kvm_run: regs[0] is ret, then the call's fields */
		} tdx;
		struct {
			u32 vector;
		} eoi;
		struct {
			u32 suberror;
			u32 ndata;
			u64 data[16];
		} internal;
		struct {
			u64 reason;
		} fail_entry;
		struct {
			u32 reason;
		} unknown;
	};
};

/* System and VM */
int hv_open(struct hv_vm *vm, struct err *e);
int hv_check_extension(const struct hv_vm *vm, bool on_vm, long cap);
int hv_create_vm(struct hv_vm *vm, u32 type, struct err *e);
void hv_close(struct hv_vm *vm);
int hv_enable_cap(struct hv_vm *vm, u32 cap, u64 arg0, u64 arg1, struct err *e);
int hv_get_supported_cpuid(struct hv_vm *vm, struct kvm_cpuid2 **out, struct err *e);
int hv_set_tss_and_identity_map(struct hv_vm *vm, u64 tss_gpa, u64 identity_gpa, struct err *e);

/* Memory */
int hv_set_memslot(struct hv_vm *vm, u32 slot, u64 gpa, u64 size, void *hva, int gmem_fd,
		   u64 gmem_off, struct err *e);
int hv_create_guest_memfd(struct hv_vm *vm, u64 size, u64 flags, struct err *e);
int hv_set_memory_private(struct hv_vm *vm, u64 gpa, u64 size, bool private_, struct err *e);

/* Interrupts */
int hv_create_irqchip(struct hv_vm *vm, bool split, u32 ioapic_pins, struct err *e);
int hv_create_pit(struct hv_vm *vm, struct err *e);
int hv_irq_line(struct hv_vm *vm, u32 gsi, bool level);
int hv_signal_msi(struct hv_vm *vm, u64 addr, u32 data);
/* Binds eventfd fd to GSI gsi (KVM_IRQFD), or unbinds it. */
int hv_irqfd(struct hv_vm *vm, int fd, u32 gsi, bool deassign, struct err *e);
int hv_set_gsi_routing(struct hv_vm *vm, const struct kvm_irq_routing *table, struct err *e);
int hv_ioeventfd(struct hv_vm *vm, int fd, u64 addr, u32 len, bool pio, bool deassign,
		 struct err *e);

/* vCPUs */
int hv_create_vcpu(struct hv_vm *vm, u32 index, struct hv_vcpu *vcpu, struct err *e);
void hv_destroy_vcpu(struct hv_vcpu *vcpu);
/*
 * Runs the vCPU until an exit userspace must handle, and decodes it. Returns 0
 * with exit filled (VM_EXIT_NONE after a signal), or a negative errno.
 */
int hv_vcpu_run(struct hv_vcpu *vcpu, struct vm_exit *exit, struct err *e);
/* Makes the next (or current) KVM_RUN return at once; safe from a signal handler. */
void hv_vcpu_kick(struct hv_vcpu *vcpu);
void hv_vcpu_clear_kick(struct hv_vcpu *vcpu);
int hv_vcpu_get_regs(struct hv_vcpu *vcpu, struct kvm_regs *regs, struct err *e);
int hv_vcpu_set_regs(struct hv_vcpu *vcpu, const struct kvm_regs *regs, struct err *e);
int hv_vcpu_get_sregs(struct hv_vcpu *vcpu, struct kvm_sregs *sregs, struct err *e);
int hv_vcpu_set_sregs(struct hv_vcpu *vcpu, const struct kvm_sregs *sregs, struct err *e);
int hv_vcpu_set_fpu(struct hv_vcpu *vcpu, const struct kvm_fpu *fpu, struct err *e);
int hv_vcpu_set_cpuid(struct hv_vcpu *vcpu, const struct kvm_cpuid2 *cpuid, struct err *e);
int hv_vcpu_set_msrs(struct hv_vcpu *vcpu, const struct kvm_msrs *msrs, struct err *e);
int hv_vcpu_get_lapic(struct hv_vcpu *vcpu, struct kvm_lapic_state *lapic, struct err *e);
int hv_vcpu_set_lapic(struct hv_vcpu *vcpu, const struct kvm_lapic_state *lapic, struct err *e);
int hv_vcpu_set_mp_state(struct hv_vcpu *vcpu, u32 state, struct err *e);

/* KVM_MEMORY_ENCRYPT_OP on the VM (vcpu == NULL) or on a vCPU; for src/tdx. */
int hv_memory_encrypt_op(struct hv_vm *vm, struct hv_vcpu *vcpu, void *cmd);

/* ---- TDX (src/hv/tdx.c): the TDX sub-commands of KVM_MEMORY_ENCRYPT_OP ---- */
struct merak_kvm_tdx_capabilities;
struct merak_kvm_tdx_init_vm;

/* KVM_TDX_CAPABILITIES, growing the CPUID buffer on -E2BIG; *out is malloc'ed. */
int hv_tdx_capabilities(struct hv_vm *vm, struct merak_kvm_tdx_capabilities **out,
			struct err *e);
/* KVM_TDX_INIT_VM, retried on -EAGAIN (TDX_RND_NO_ENTROPY); names hw_error on failure. */
int hv_tdx_init_vm(struct hv_vm *vm, struct merak_kvm_tdx_init_vm *init, struct err *e);
/* KVM_TDX_INIT_VCPU: rcx is the vCPU's initial RCX (the TD HOB GPA), passed by value. */
int hv_tdx_init_vcpu(struct hv_vcpu *vcpu, u64 rcx, struct err *e);
/* KVM_TDX_INIT_MEM_REGION, re-issued with KVM's progress on -EAGAIN/-EINTR/-EBUSY. */
int hv_tdx_init_mem_region(struct hv_vcpu *vcpu, const void *src, u64 gpa, u64 nr_pages,
			   bool measure, struct err *e);
int hv_tdx_finalize(struct hv_vm *vm, struct err *e);
/*
 * KVM_TDX_TERMINATE_VM where the kernel offers it: 0 when the HKID was
 * released, -EINVAL from kernels without it (an unknown sub-command), another
 * negative errno otherwise. Only after every vCPU thread has left KVM_RUN:
 * the VM is dead afterwards and every VM or vCPU ioctl fails with -EIO.
 */
int hv_tdx_terminate_vm(struct hv_vm *vm);
/* KVM_TDX_GET_CPUID on a vCPU; *out is malloc'ed. */
int hv_tdx_get_cpuid(struct hv_vcpu *vcpu, struct kvm_cpuid2 **out, struct err *e);
/* VM-scope KVM_SET_TSC_KHZ (KVM_CAP_VM_TSC_CONTROL), before KVM_TDX_INIT_VM. */
int hv_set_vm_tsc_khz(struct hv_vm *vm, u64 khz, struct err *e);

#endif
