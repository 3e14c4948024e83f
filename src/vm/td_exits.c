// SPDX-License-Identifier: MIT
/*
 * A running TD's exits: private/shared conversion (KVM_EXIT_MEMORY_FAULT and
 * MapGPA), the TDVMCALLs KVM forwards (GetTdVmCallInfo,
 * SetupEventNotifyInterrupt, GetQuote through the host's quote service) and
 * ReportFatalError.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "tdx/tdvmcall.h"
#include "util/log.h"
#include "vm/td.h"

struct quote_job {
	struct tdx_vm *t;
	u64 gpa;
	u64 size;
};

static void count(u64 *c, u64 n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

void td_collect_counters(void *ctx, counter_emit_fn emit, void *arg)
{
	struct tdx_vm *t = ctx;
#define EMIT(f) emit(arg, #f, __atomic_load_n(&t->f, __ATOMIC_RELAXED))
	EMIT(to_private);
	EMIT(to_private_bytes);
	EMIT(to_shared);
	EMIT(to_shared_bytes);
	EMIT(convert_failed);
	EMIT(tdvmcall_get_quote);
	EMIT(tdvmcall_get_td_vm_call_info);
	EMIT(tdvmcall_setup_event_notify_interrupt);
	EMIT(tdvmcall_other);
#undef EMIT
}

/* ---- private/shared conversion -------------------------------------------- */

static int convert_part(struct vm *vm, const struct mem_region *g, u64 gpa, u64 len,
			bool to_private, struct err *e)
{
	u64 off = gpa - g->gpa;
	int r = hv_set_memory_private(&vm->hv, gpa, len, to_private, e);

	if (r < 0)
		return r;
	/* Free the side the guest no longer uses. */
	if (to_private) {
		if (madvise(g->hva + off, len, MADV_DONTNEED) < 0)
			log_debug("madvise(DONTNEED) [0x%llx, +0x%llx): %s",
				  (unsigned long long)gpa, (unsigned long long)len,
				  strerror(errno));
	} else if (fallocate(g->gmem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     (off_t)(g->gmem_off + off), (off_t)len) < 0) {
		log_debug("guest_memfd hole [0x%llx, +0x%llx): %s", (unsigned long long)gpa,
			  (unsigned long long)len, strerror(errno));
	}
	return 0;
}

static int td_convert_range(struct vm *vm, u64 gpa, u64 size, bool to_private, struct err *e)
{
	u64 end;

	if (!size || !IS_ALIGNED(gpa, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE) ||
	    add_overflows(gpa, size, &end))
		return errf(e, -EINVAL, "conversion of [0x%llx, +0x%llx) to %s: not page-aligned",
			    (unsigned long long)gpa, (unsigned long long)size,
			    to_private ? "private" : "shared");
	while (gpa < end) {
		const struct mem_region *g = guest_mem_find(&vm->mem, gpa);
		u64 part;
		int r;

		if (!g) {
			/* A hole (MMIO): the guest may mark it shared; it cannot be private. */
			u64 next = end;
			for (unsigned i = 0; i < vm->mem.n; i++)
				if (vm->mem.r[i].gpa > gpa && vm->mem.r[i].gpa < next)
					next = vm->mem.r[i].gpa;
			if (to_private)
				return errf(e, -EINVAL,
					    "conversion of [0x%llx, +0x%llx) to private: no memory "
					    "there",
					    (unsigned long long)gpa,
					    (unsigned long long)(next - gpa));
			gpa = next;
			continue;
		}
		part = MIN(end, g->gpa + g->size) - gpa;
		if (g->gmem_fd < 0)
			return errf(e, -EINVAL, "conversion at 0x%llx: region has no guest_memfd",
				    (unsigned long long)gpa);
		r = convert_part(vm, g, gpa, part, to_private, e);
		if (r < 0)
			return r;
		gpa += part;
	}
	return 0;
}

/* A guest's private<->shared conversion, counted. */
static int td_convert(struct vm *vm, u64 gpa, u64 size, bool to_private, struct err *e)
{
	struct tdx_vm *t = vm->tdx;
	int r = td_convert_range(vm, gpa, size, to_private, e);

	if (r < 0) {
		count(&t->convert_failed, 1);
	} else if (to_private) {
		count(&t->to_private, 1);
		count(&t->to_private_bytes, size);
	} else {
		count(&t->to_shared, 1);
		count(&t->to_shared_bytes, size);
	}
	return r;
}

/* ---- TDVMCALLs ------------------------------------------------------------- */

static void quote_done(void *ctx, enum qgs_result res, const u8 *quote, u32 qlen,
		       const char *why)
{
	struct quote_job *job = ctx;
	struct tdx_vm *t = job->t;
	struct vm *vm = t->vm;
	u8 *buf = guest_mem_ptr(&vm->mem, job->gpa, job->size);
	u64 status = res == QGS_OK	    ? TDX_QUOTE_STATUS_SUCCESS
		     : res == QGS_UNAVAILABLE ? TDX_QUOTE_STATUS_QGS_UNAVAILABLE
					      : TDX_QUOTE_STATUS_ERROR;
	u64 notify;

	if (res != QGS_OK)
		log_warn("TD GetQuote at 0x%llx: %s", (unsigned long long)job->gpa, why);
	if (buf) {
		status = tdx_quote_complete(buf, job->size, status, quote, qlen);
		if (res == QGS_OK && status != TDX_QUOTE_STATUS_SUCCESS)
			log_warn("TD GetQuote at 0x%llx: the %u-byte quote does not fit the "
				 "%llu-byte buffer",
				 (unsigned long long)job->gpa, qlen,
				 (unsigned long long)job->size);
	}
	notify = __atomic_load_n(&t->notify, __ATOMIC_ACQUIRE);
	if (notify & TD_NOTIFY_VALID) {
		u64 addr;
		u32 data;

		tdx_notify_msi((u32)(notify >> 32) & 0x7fffffff, (u32)notify & 0xff, &addr, &data);
		if (hv_signal_msi(&vm->hv, addr, data) < 0)
			log_debug("GetQuote notify interrupt: KVM_SIGNAL_MSI failed");
	}
	free(job);
}

static void get_quote(struct vm *vm, u64 *regs)
{
	struct tdx_vm *t = vm->tdx;
	u64 gpa = regs[1], size = regs[2], st, old;
	struct quote_job *job;
	struct err e;
	u32 in_len;
	u8 *buf;
	int r;

	st = tdx_quote_check_args(gpa, size);
	if (st != TDVMCALL_STATUS_SUCCESS) {
		regs[0] = st;
		return;
	}
	buf = guest_mem_ptr(&vm->mem, gpa, size);
	if (!buf) {
		regs[0] = TDVMCALL_STATUS_INVALID_OPERAND;
		return;
	}
	st = tdx_quote_check_header(buf, size, &in_len);
	if (st != TDVMCALL_STATUS_SUCCESS) {
		regs[0] = st;
		return;
	}
	regs[0] = TDVMCALL_STATUS_SUCCESS;
	if (!t->qgs) {
		tdx_quote_set_status(buf, TDX_QUOTE_STATUS_QGS_UNAVAILABLE);
		return;
	}
	if (qgs_client_inflight(t->qgs) >= TDX_QUOTE_MAX_INFLIGHT) {
		regs[0] = TDVMCALL_STATUS_RETRY;
		return;
	}
	job = malloc(sizeof(*job));
	if (!job) {
		tdx_quote_set_status(buf, TDX_QUOTE_STATUS_ERROR);
		return;
	}
	*job = (struct quote_job){.t = t, .gpa = gpa, .size = size};
	/* IN_FLIGHT first: the completion may land before submit returns. */
	old = get_le64(buf + 8);
	tdx_quote_set_status(buf, TDX_QUOTE_STATUS_IN_FLIGHT);
	r = qgs_client_submit(t->qgs, buf + TDX_QUOTE_HDR_SIZE, in_len, quote_done, job, &e);
	if (r == -EBUSY) {
		tdx_quote_set_status(buf, old);
		regs[0] = TDVMCALL_STATUS_RETRY;
		free(job);
	} else if (r < 0) {
		log_warn("TD GetQuote at 0x%llx: %s", (unsigned long long)gpa, e.msg);
		tdx_quote_set_status(buf, TDX_QUOTE_STATUS_ERROR);
		free(job);
	}
}

static void handle_tdvmcall(struct vm *vm, struct vcpu *vcpu, struct vm_exit *x)
{
	struct tdx_vm *t = vm->tdx;
	u64 *regs = x->tdx.regs;
	u32 vector;

	switch (x->tdx.nr) {
	case TDVMCALL_GET_TD_VM_CALL_INFO:
		count(&t->tdvmcall_get_td_vm_call_info, 1);
		tdvmcall_get_info(&t->info, regs);
		break;
	case TDVMCALL_SETUP_EVENT_NOTIFY_INTERRUPT:
		count(&t->tdvmcall_setup_event_notify_interrupt, 1);
		/* merak's vCPU index is its APIC ID (x86_cpuid_build). */
		if (tdvmcall_setup_event_notify(regs, &vector))
			__atomic_store_n(&t->notify,
					 TD_NOTIFY_VALID | (u64)vcpu->index << 32 | vector,
					 __ATOMIC_RELEASE);
		break;
	case TDVMCALL_GET_QUOTE:
		count(&t->tdvmcall_get_quote, 1);
		get_quote(vm, regs);
		break;
	default:
		/* KVM pre-filled a safe answer (SUBFUNC_UNSUPPORTED): re-enter. */
		count(&t->tdvmcall_other, 1);
		break;
	}
}

int td_handle_exit(struct vm *vm, struct vcpu *vcpu, struct vm_exit *x, struct err *e)
{
	int r;

	if (!vm->tdx)
		return 0;
	switch (x->kind) {
	case VM_EXIT_MEMORY_FAULT:
		r = td_convert(vm, x->convert.gpa, x->convert.size, x->convert.to_private, e);
		return r < 0 ? err_ctx(e, "memory fault") : 1;
	case VM_EXIT_MAP_GPA:
		r = td_convert(vm, x->convert.gpa, x->convert.size, x->convert.to_private, e);
		if (r < 0)
			log_warn("vCPU %u: MapGPA refused: %s", vcpu->index, e->msg);
		/* Non-zero makes KVM return INVALID_OPERAND to the guest. */
		*x->convert.ret = r < 0 ? 1 : 0;
		return 1;
	case VM_EXIT_TDX:
		handle_tdvmcall(vm, vcpu, x);
		return 1;
	case VM_EXIT_SYSTEM_EVENT: {
		struct tdx_fatal f;
		char desc[200];

		if (x->system_event.type != VM_SYSTEM_EVENT_TDX_FATAL)
			return 0;
		r = tdx_fatal_decode(x->system_event.data, x->system_event.ndata, &f, e);
		if (r < 0)
			return r;
		tdx_fatal_describe(&f, desc, sizeof(desc));
		vm_request_stop(vm, VM_STOP_GUEST_CRASH, 3, "TD reported a fatal error: %s", desc);
		return 1;
	}
	default:
		return 0;
	}
}
