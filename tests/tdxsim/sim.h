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
	u64 wait_deadline_ms;   /* 0: no wait in progress */
	unsigned long msi_seen;
	/* what the guest got back from its last request */
	bool have_result;
	bool have_ret;
	u64 ret_raw;
	u64 status, r11, r12, r13, r14;
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
	unsigned long msi_count;
	u32 last_msi_data;
	u64 last_msi_addr;
};

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
const struct script *sim_script(void);
void sim_count_expect_failure(void);
const struct sim_caps *sim_caps(void);

#endif
