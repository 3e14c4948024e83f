/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_TD_H
#define MERAK_VM_TD_H

/*
 * A TD (Intel TDX Trust Domain) on upstream KVM: td_build.c builds it in the
 * order the kernel demands (docs/tdx.md), td_exits.c serves its exits
 * (private/shared conversion, the TDVMCALLs KVM forwards, GetQuote,
 * ReportFatalError). The state both share is here; the rest of merak sees
 * only vm->tdx as an opaque pointer and the three functions below.
 */
#include "hv/uapi/kvm_tdx.h"
#include "tdx/qgs.h"
#include "tdx/tdvf.h"
#include "tdx/tdvmcall.h"
#include "vm/vm.h"

#define TD_NOTIFY_VALID (1ULL << 63)

struct tdx_vm {
	struct vm *vm;
	struct merak_kvm_tdx_capabilities *caps;
	struct tdvmcall_info info;
	struct tdvf_info fw;
	struct qgs_client *qgs;
	/* SetupEventNotifyInterrupt: TD_NOTIFY_VALID | apic_id << 32 | vector; atomic. */
	u64 notify;
	/* Counters (relaxed atomics): what makes a TD slow is worth seeing. */
	u64 to_private, to_private_bytes, to_shared, to_shared_bytes, convert_failed;
	u64 tdvmcall_get_quote, tdvmcall_get_td_vm_call_info;
	u64 tdvmcall_setup_event_notify_interrupt, tdvmcall_other;
};

/* Builds the whole TD, from the host check to KVM_TDX_FINALIZE_VM (td_build.c). */
int td_build(struct vm *vm, struct err *e);
void td_destroy(struct vm *vm);
/* Exits the TD layer handles (TDX, MAP_GPA, MEMORY_FAULT, TDX fatal); 1 if handled. */
int td_handle_exit(struct vm *vm, struct vcpu *vcpu, struct vm_exit *x, struct err *e);
/* vm.counters' "tdx" group (td_exits.c). */
void td_collect_counters(void *ctx, counter_emit_fn emit, void *arg);

#endif
