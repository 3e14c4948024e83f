// SPDX-License-Identifier: MIT
/* tdxsim internals shared by its source files. */
#ifndef TDXSIM_SIM_H
#define TDXSIM_SIM_H

#include "uapi.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#define SIM_PAGE ((u64)4096)
#define SIM_MAX_VCPUS 512
#define SIM_MAX_SLOTS 64

struct sim_caps {
	u64 supported_attrs;
	u64 supported_xfam;
	u64 kernel_r11, user_r11, kernel_r12, user_r12;
	bool ept5;  /* host has 5-level EPT, so GPAW 52 is allowed */
	int max_vcpus;
	u32 nent;
	struct s_kvm_cpuid_entry2 entries[S_KVM_MAX_CPUID_ENTRIES];
	/*
	 * The rest of the TD's CPUID as KVM_TDX_GET_CPUID reports it: bits the
	 * TDX module sets in every TD (fixed1), and configurable bits it turns
	 * off whatever the VMM asks (native0: the CPU lacks them).
	 */
	u32 nfixed1, nnative0;
	struct s_kvm_cpuid_entry2 fixed1[64], native0[64];
};

/* A set of disjoint [start, end) ranges, kept sorted. */
struct rset {
	struct { u64 start, end; } *r;
	size_t n, cap;
};
void rset_set(struct rset *rs, u64 start, u64 end, bool on);
bool rset_all(const struct rset *rs, u64 start, u64 end);
bool rset_any(const struct rset *rs, u64 start, u64 end);

struct sim_vm;

struct sim_gmem {
	struct sim_vm *vm;
	int fd;
	u64 size;
	/* private pages added so far, sorted by offset */
	struct gpage { u64 off; u8 *data; } *pages;
	size_t npages, cap;
};

struct sim_slot {
	bool used;
	u32 id, flags;
	u64 gpa, size, uaddr, gmem_off;
	struct sim_gmem *gmem;
};

enum pend_kind {
	P_NONE,
	P_TDX_SIMPLE,   /* GetQuote, SetupEventNotify: ret -> R10 */
	P_TDX_INFO,     /* GetTdVmCallInfo leaf 1: ret, r11..r14 */
	P_MAPGPA,
	P_MMIO_READ,
	P_MMIO_WRITE,
	P_PIO_IN,
	P_PIO_OUT,
	P_MEMFAULT,
	P_POISON,       /* EHWPOISON fault: every re-entry faults again */
	P_FINAL,        /* fatal, shutdown: nothing to complete */
};

struct sim_vcpu {
	struct sim_vm *vm;
	pthread_mutex_t lock;
	u32 id;
	int fd;
	struct s_kvm_run *run;
	bool initialized;       /* KVM_TDX_INIT_VCPU done */
	bool x2apic;            /* CPUID.1:ECX[21] set through KVM_SET_CPUID2 */
	bool has_run;
	u32 cpuid_nent;
	struct s_kvm_cpuid_entry2 *cpuid;
	bool has_sigmask;
	sigset_t sigmask;

	/* script execution */
	int pc;                 /* index into this vCPU's script lines */
	bool done;
	enum pend_kind pend;
	int pend_line;
	u64 map_next, map_end;
	bool map_private;
	u64 fault_gpa, fault_size;
	bool fault_private;
	int fault_tries;
	bool fault_retry;       /* the faulting access is retried on the next entry */
	int accept_tries;       /* memory faults the current 'accept' line has caused */
	bool poison_retry;      /* re-entered after a poisoned-page fault */
	u64 wait_deadline_ms;   /* 0: no wait in progress */
	unsigned long msi_seen;
	unsigned long msi_vec_seen[256];  /* per vector: MSIs 'wait-msi' consumed */
	bool cpuid_checked;     /* KVM_SET_CPUID2 compared with the TD's CPUID at first run */
	/* what the guest got back from its last request */
	bool have_result;
	bool have_ret;
	u64 ret_raw;
	u64 status, r11, r12, r13, r14, r15;
};

enum td_state { TD_UNINITIALIZED, TD_INITIALIZED, TD_RUNNABLE };

struct sim_vm {
	pthread_mutex_t lock;
	int id;
	int fd;
	enum td_state state;
	bool split_irqchip;
	u64 ioapic_pins;
	u64 x2apic_api;
	u64 hypercall_mask;
	u64 apic_bus_ns;
	u32 tsc_khz;
	int max_vcpus;
	int created_vcpus;
	struct sim_vcpu *vcpus[SIM_MAX_VCPUS];
	u64 attributes, xfam;
	int gpaw;
	u64 shared_bit;
	u32 td_cpuid_nent;
	struct s_kvm_cpuid_entry2 td_cpuid[S_KVM_MAX_CPUID_ENTRIES];
	struct sim_slot slots[SIM_MAX_SLOTS];
	struct rset private_attr;
	EVP_MD_CTX *mrtd;
	u64 pages_added, pages_measured;
	int creating;           /* KVM_CREATE_VCPU calls in flight (kvm->lock dropped) */
	bool dead;              /* KVM_TDX_TERMINATE_VM: every VM/vCPU ioctl now -EIO */
	bool hkid_released;     /* private pages are reclaimed without the HKID */
	struct rset aug;        /* private GPAs the guest accepted (TDH.MEM.PAGE.AUG) */
	unsigned long msi_count;
	u32 last_msi_data;
	u64 last_msi_addr;
	unsigned long msi_vec[256];       /* KVM_SIGNAL_MSI calls per vector */
	/* The TD's CPUID (the TDX module's answer to KVM_TDX_GET_CPUID), from INIT_VM. */
	u32 td_model_nent;
	struct s_kvm_cpuid_entry2 td_model[S_KVM_MAX_CPUID_ENTRIES];
};

/*
 * The kernel version the simulator plays (TDXSIM_KERNEL): the rules that
 * changed after 6.16. docs/tdxsim.md says where each comes from.
 */
enum sim_tdx_op { OP_INIT_VM = 1, OP_INIT_VCPU = 2, OP_INIT_MEM_REGION = 4, OP_FINALIZE = 8 };
struct sim_kernel {
	const char *name;
	bool state_guard;       /* INIT_VM, INIT_VCPU, INIT_MEM_REGION, FINALIZE take kvm->lock,
				   every vCPU mutex and slots_lock */
	bool busy_while_creating; /* ... and fail with -EBUSY while a vCPU is being created */
	bool create_holds_lock; /* KVM_CREATE_VCPU holds kvm->lock throughout */
	bool reject_src0;       /* INIT_MEM_REGION refuses source_addr 0 */
	int readd_errno;        /* INIT_MEM_REGION on a page already added */
	bool terminate_vm;      /* KVM_TDX_TERMINATE_VM exists */
	unsigned busy_ops;      /* sim_tdx_op bits that can answer -EBUSY (TDXSIM_INJECT_BUSY) */
};
const struct sim_kernel *sim_kernel(void);
/* The guest accepted [gpa, gpa + size): private pages teardown must reclaim. */
void sim_mark_accepted(struct sim_vm *vm, u64 gpa, u64 size);

/* script.c */
struct script_line {
	int lineno;
	int vcpu;
	int argc;
	char *argv[8];
	char *rest;     /* text after argv[2] (for 'fatal CODE message', 'log ...') */
};
struct script {
	struct script_line *lines;
	int n;
};
int script_load(const char *path, struct script *s, char *errbuf, size_t errlen);

/* Runs the script for a vCPU until it produces an exit; returns KVM_RUN's result. */
int sim_run(struct sim_vcpu *v);

/* tdxsim.c services used by the runner */
void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sim_violation(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sim_read_shared(struct sim_vm *vm, u64 gpa, void *buf, size_t len);
int sim_write_shared(struct sim_vm *vm, u64 gpa, const void *buf, size_t len);
bool sim_attr_private(struct sim_vm *vm, u64 gpa, u64 size, bool want_private);
/* A guest_memfd memslot covers gpa (KVM can give the guest a private page there). */
bool sim_gmem_backed(struct sim_vm *vm, u64 gpa);
/*
 * The guest executes CPUID: the TDX module answers the leaves it virtualizes;
 * the others (0x4000_00xx among them) #VE into TDG.VP.VMCALL<Instruction.CPUID>
 * and KVM answers from the vCPU's KVM_SET_CPUID2 table. out = EAX..EDX;
 * returns true when KVM answered.
 */
bool sim_guest_cpuid(struct sim_vcpu *v, u32 fn, u32 idx, u32 out[4]);
/*
 * The guest's RDMSR/WRMSR of an MSR the TDX module leaves to the VMM (#VE,
 * TDVMCALL<Instruction.RDMSR/WRMSR>): true when KVM performs it, false when
 * KVM fails the TDVMCALL (TDVMCALL_STATUS_INVALID_OPERAND; Linux makes it a
 * #GP). *data is the value written, or the value read.
 */
bool sim_guest_msr(struct sim_vcpu *v, u32 index, bool write, u64 *data);
const struct script *sim_script(void);
void sim_count_expect_failure(void);
const struct sim_caps *sim_caps(void);

#endif
