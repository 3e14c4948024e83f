// SPDX-License-Identifier: MIT
/*
 * The TDX sub-commands of KVM_MEMORY_ENCRYPT_OP (Linux 6.16+ uapi). Each
 * wrapper follows the kernel's retry rules: CAPABILITIES grows its buffer on
 * -E2BIG; INIT_VM, INIT_VCPU, INIT_MEM_REGION and FINALIZE re-issue on the
 * transient errors (tdx_transient), a bounded number of times, and
 * INIT_MEM_REGION re-issues the struct KVM advanced in place.
 */
#include "hv/hv.h"
#include "hv/uapi/kvm_tdx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "util/clock.h"

#define TDX_RETRIES	    10000 /* QEMU's count for INIT_VM's -EAGAIN */
#define TDX_RETRY_BUDGET_MS 2000
#define TDX_CPUID_MAX_NENT  4096

/* One KVM_MEMORY_ENCRYPT_OP; hw_error is cleared first as KVM demands. */
static int tdx_op(int fd, struct merak_kvm_tdx_cmd *cmd)
{
	cmd->hw_error = 0;
	return ioctl(fd, KVM_MEMORY_ENCRYPT_OP, cmd) < 0 ? -errno : 0;
}

/*
 * Whether to re-issue a sub-command that failed with r, as the kernel
 * documents it: -EAGAIN when TDH.MNG.CREATE/KEY.CONFIG lack entropy, -EINTR
 * on a signal, -EBUSY when the TDX module's lock is contended (6.16's
 * PAGE.ADD and FINALIZE) or, from 6.19, while a vCPU is being created (the
 * state lock of INIT_VM, INIT_VCPU, INIT_MEM_REGION and FINALIZE). All are
 * transient; the bound (TDX_RETRIES tries, TDX_RETRY_BUDGET_MS) turns a
 * kernel that keeps answering -EBUSY into an error instead of a hang.
 */
static bool tdx_transient(int r, int *tries, u64 start_ms)
{
	if (r != -EAGAIN && r != -EINTR && r != -EBUSY)
		return false;
	if (++*tries >= TDX_RETRIES || monotonic_ms() - start_ms > TDX_RETRY_BUDGET_MS)
		return false;
	if (r == -EBUSY && *tries > 3) {
		/* Contention: give the other side a moment rather than spin. */
		struct timespec ts = {.tv_nsec = 1000000};

		nanosleep(&ts, NULL);
	}
	return true;
}

static int tdx_fail(struct err *e, int r, const struct merak_kvm_tdx_cmd *cmd, const char *what)
{
	if (cmd->hw_error)
		return errf_sys(e, r, "%s failed (TDX module status 0x%016llx)", what,
				(unsigned long long)cmd->hw_error);
	return errf_sys(e, r, "%s failed", what);
}

int hv_tdx_capabilities(struct hv_vm *vm, struct merak_kvm_tdx_capabilities **out,
			struct err *e)
{
	for (u32 n = 16; n <= TDX_CPUID_MAX_NENT; n *= 2) {
		struct merak_kvm_tdx_capabilities *c =
			calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		struct merak_kvm_tdx_cmd cmd = {.id = MERAK_KVM_TDX_CAPABILITIES};
		int r;

		if (!c)
			return errf(e, -ENOMEM, "KVM_TDX_CAPABILITIES: out of memory");
		c->cpuid.nent = n;
		cmd.data = (u64)(uintptr_t)c;
		do
			r = tdx_op(vm->vm_fd, &cmd);
		while (r == -EINTR);
		if (r == 0) {
			if (c->cpuid.nent > n) {
				u32 got = c->cpuid.nent;

				free(c);
				return errf(e, -EPROTO,
					    "KVM_TDX_CAPABILITIES: %u CPUID entries in a buffer of %u",
					    got, n);
			}
			*out = c;
			return 0;
		}
		if (r != -E2BIG) {
			r = tdx_fail(e, r, &cmd, "KVM_TDX_CAPABILITIES");
			free(c);
			return r;
		}
		free(c);
	}
	return errf(e, -E2BIG, "KVM_TDX_CAPABILITIES: more than %d CPUID entries",
		    TDX_CPUID_MAX_NENT);
}

int hv_tdx_init_vm(struct hv_vm *vm, struct merak_kvm_tdx_init_vm *init, struct err *e)
{
	struct merak_kvm_tdx_cmd cmd = {.id = MERAK_KVM_TDX_INIT_VM,
					.data = (u64)(uintptr_t)init};
	u64 start = monotonic_ms();
	int r, tries = 0;

	do
		r = tdx_op(vm->vm_fd, &cmd);
	while (tdx_transient(r, &tries, start));
	return r < 0 ? tdx_fail(e, r, &cmd, "KVM_TDX_INIT_VM") : 0;
}

int hv_tdx_init_vcpu(struct hv_vcpu *vcpu, u64 rcx, struct err *e)
{
	struct merak_kvm_tdx_cmd cmd = {.id = MERAK_KVM_TDX_INIT_VCPU, .data = rcx};
	u64 start = monotonic_ms();
	int r, tries = 0;

	do
		r = tdx_op(vcpu->fd, &cmd);
	while (tdx_transient(r, &tries, start));
	if (r < 0)
		return errf_sys(e, r, "vCPU %u: KVM_TDX_INIT_VCPU (RCX 0x%llx)", vcpu->index,
				(unsigned long long)rcx);
	return 0;
}

int hv_tdx_init_mem_region(struct hv_vcpu *vcpu, const void *src, u64 gpa, u64 nr_pages,
			   bool measure, struct err *e)
{
	struct merak_kvm_tdx_init_mem_region reg = {
		.source_addr = (u64)(uintptr_t)src,
		.gpa = gpa,
		.nr_pages = nr_pages,
	};
	struct merak_kvm_tdx_cmd cmd = {
		.id = MERAK_KVM_TDX_INIT_MEM_REGION,
		.flags = measure ? MERAK_KVM_TDX_MEASURE_MEMORY_REGION : 0,
		.data = (u64)(uintptr_t)&reg,
	};
	u64 start = monotonic_ms();
	int r, tries = 0;

	/* Newer kernels refuse source 0 (-EINVAL); no buffer of merak's lives there. */
	if (!src)
		return errf(e, -EINVAL, "KVM_TDX_INIT_MEM_REGION [0x%llx, +%llu pages): no source",
			    (unsigned long long)gpa, (unsigned long long)nr_pages);
	/*
	 * KVM advances reg as it adds pages, so a retry continues where it
	 * stopped; pages added since the last try restart the bound, which is
	 * for a kernel that keeps refusing, not for a long region.
	 */
	for (;;) {
		u64 left = reg.nr_pages;

		r = tdx_op(vcpu->fd, &cmd);
		if (reg.nr_pages < left) {
			tries = 0;
			start = monotonic_ms();
		}
		if (!reg.nr_pages || !tdx_transient(r, &tries, start))
			break;
	}
	if (r < 0)
		return errf_sys(e, r, "KVM_TDX_INIT_MEM_REGION [0x%llx, +%llu pages)%s",
				(unsigned long long)gpa, (unsigned long long)nr_pages,
				measure ? " measured" : "");
	return 0;
}

int hv_tdx_finalize(struct hv_vm *vm, struct err *e)
{
	struct merak_kvm_tdx_cmd cmd = {.id = MERAK_KVM_TDX_FINALIZE_VM};
	u64 start = monotonic_ms();
	int r, tries = 0;

	do
		r = tdx_op(vm->vm_fd, &cmd);
	while (tdx_transient(r, &tries, start));
	return r < 0 ? tdx_fail(e, r, &cmd, "KVM_TDX_FINALIZE_VM") : 0;
}

int hv_tdx_terminate_vm(struct hv_vm *vm)
{
	struct merak_kvm_tdx_cmd cmd = {.id = MERAK_KVM_TDX_TERMINATE_VM};

	/* One try: it is optional, and a kernel without it says -EINVAL. */
	return tdx_op(vm->vm_fd, &cmd);
}

int hv_tdx_get_cpuid(struct hv_vcpu *vcpu, struct kvm_cpuid2 **out, struct err *e)
{
	u32 n = 64;

	for (int tries = 0; tries < 8; tries++) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		struct merak_kvm_tdx_cmd cmd = {.id = MERAK_KVM_TDX_GET_CPUID};
		int r;

		if (!c)
			return errf(e, -ENOMEM, "KVM_TDX_GET_CPUID: out of memory");
		c->nent = n;
		cmd.data = (u64)(uintptr_t)c;
		do
			r = tdx_op(vcpu->fd, &cmd);
		while (r == -EINTR);
		if (r == 0 && c->nent > n) {
			u32 got = c->nent;

			free(c);
			return errf(e, -EPROTO, "vCPU %u: KVM_TDX_GET_CPUID: %u entries in a buffer of %u",
				    vcpu->index, got, n);
		}
		if (r == 0) {
			*out = c;
			return 0;
		}
		/* -E2BIG writes the needed count into nent. */
		if (r != -E2BIG || c->nent <= n || c->nent > TDX_CPUID_MAX_NENT) {
			free(c);
			return errf_sys(e, r, "vCPU %u: KVM_TDX_GET_CPUID", vcpu->index);
		}
		n = c->nent;
		free(c);
	}
	return errf(e, -E2BIG, "vCPU %u: KVM_TDX_GET_CPUID keeps growing", vcpu->index);
}

int hv_set_vm_tsc_khz(struct hv_vm *vm, u64 khz, struct err *e)
{
	int r;

	do
		r = ioctl(vm->vm_fd, KVM_SET_TSC_KHZ, (unsigned long)khz);
	while (r < 0 && errno == EINTR);
	return r < 0 ? errf_sys(e, -errno, "KVM_SET_TSC_KHZ %llu kHz on the VM",
				(unsigned long long)khz)
		     : 0;
}
