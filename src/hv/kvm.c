// SPDX-License-Identifier: MIT
/* KVM backend: every ioctl merak issues goes through this file. */
#include "hv/hv.h"
#include "hv/uapi/kvm_ext.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && (errno == EINTR || errno == EAGAIN) && req != KVM_RUN);
	return r < 0 ? -errno : r;
}

int hv_open(struct hv_vm *vm, struct err *e)
{
	int version;

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return errf_sys(e, -errno,
				"/dev/kvm: cannot open (KVM must be enabled on this host and the "
				"user needs read-write access)");
	version = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		close(vm->kvm_fd);
		vm->kvm_fd = -1;
		return errf(e, -ENOTSUP, "/dev/kvm: API version %d, merak needs %d", version,
			    KVM_API_VERSION);
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run)) {
		close(vm->kvm_fd);
		vm->kvm_fd = -1;
		return errf(e, -EIO, "/dev/kvm: bad vCPU mmap size %d", vm->run_size);
	}
	return 0;
}

int hv_check_extension(const struct hv_vm *vm, bool on_vm, long cap)
{
	int fd = on_vm ? vm->vm_fd : vm->kvm_fd;
	int r = ioctl(fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

int hv_create_vm(struct hv_vm *vm, u32 type, struct err *e)
{
	int fd;

	do
		fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, (unsigned long)type);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		return errf_sys(e, -errno, "KVM_CREATE_VM (type %u)", type);
	vm->vm_fd = fd;
	vm->type = type;
	return 0;
}

void hv_close(struct hv_vm *vm)
{
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}

int hv_enable_cap(struct hv_vm *vm, u32 cap, u64 arg0, u64 arg1, struct err *e)
{
	struct kvm_enable_cap c = {.cap = cap, .args = {arg0, arg1}};
	int r = xioctl(vm->vm_fd, KVM_ENABLE_CAP, &c);

	return r < 0 ? errf_sys(e, r, "KVM_ENABLE_CAP %u", cap) : 0;
}

int hv_get_supported_cpuid(struct hv_vm *vm, struct kvm_cpuid2 **out, struct err *e)
{
	for (u32 n = 64; n <= 4096; n *= 2) {
		struct kvm_cpuid2 *c =
			calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
		int r;

		if (!c)
			return errf(e, -ENOMEM, "KVM_GET_SUPPORTED_CPUID: out of memory");
		c->nent = n;
		r = xioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (r != -E2BIG)
			return errf_sys(e, r, "KVM_GET_SUPPORTED_CPUID");
	}
	return errf(e, -E2BIG, "KVM_GET_SUPPORTED_CPUID: more than 4096 entries");
}

int hv_set_tss_and_identity_map(struct hv_vm *vm, u64 tss_gpa, u64 identity_gpa, struct err *e)
{
	u64 ident = identity_gpa;
	int r = ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)tss_gpa);

	if (r < 0)
		return errf_sys(e, -errno, "KVM_SET_TSS_ADDR");
	r = xioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
	return r < 0 ? errf_sys(e, r, "KVM_SET_IDENTITY_MAP_ADDR") : 0;
}

int hv_set_memslot(struct hv_vm *vm, u32 slot, u64 gpa, u64 size, void *hva, int gmem_fd,
		   u64 gmem_off, struct err *e)
{
	int r;

	if (gmem_fd < 0) {
		struct kvm_userspace_memory_region reg = {
			.slot = slot,
			.guest_phys_addr = gpa,
			.memory_size = size,
			.userspace_addr = (u64)(uintptr_t)hva,
		};
		r = xioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &reg);
	} else {
		struct merak_kvm_userspace_memory_region2 reg = {
			.slot = slot,
			.flags = MERAK_KVM_MEM_GUEST_MEMFD,
			.guest_phys_addr = gpa,
			.memory_size = size,
			.userspace_addr = (u64)(uintptr_t)hva,
			.guest_memfd_offset = gmem_off,
			.guest_memfd = (u32)gmem_fd,
		};
		r = xioctl(vm->vm_fd, MERAK_KVM_SET_USER_MEMORY_REGION2, &reg);
	}
	if (r < 0)
		return errf_sys(e, r, "memslot %u [0x%llx, +0x%llx)%s", slot,
				(unsigned long long)gpa, (unsigned long long)size,
				gmem_fd >= 0 ? " with guest_memfd" : "");
	return 0;
}

int hv_create_guest_memfd(struct hv_vm *vm, u64 size, u64 flags, struct err *e)
{
	struct merak_kvm_create_guest_memfd c = {.size = size, .flags = flags};
	int r = xioctl(vm->vm_fd, MERAK_KVM_CREATE_GUEST_MEMFD, &c);

	return r < 0 ? errf_sys(e, r, "KVM_CREATE_GUEST_MEMFD (%llu bytes)",
				(unsigned long long)size)
		     : r;
}

int hv_set_memory_private(struct hv_vm *vm, u64 gpa, u64 size, bool private_, struct err *e)
{
	struct merak_kvm_memory_attributes a = {
		.address = gpa,
		.size = size,
		.attributes = private_ ? MERAK_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0,
	};
	int r = xioctl(vm->vm_fd, MERAK_KVM_SET_MEMORY_ATTRIBUTES, &a);

	return r < 0 ? errf_sys(e, r, "KVM_SET_MEMORY_ATTRIBUTES [0x%llx, +0x%llx) %s",
				(unsigned long long)gpa, (unsigned long long)size,
				private_ ? "private" : "shared")
		     : 0;
}

int hv_create_irqchip(struct hv_vm *vm, bool split, u32 ioapic_pins, struct err *e)
{
	int r;

	if (split) {
		r = hv_enable_cap(vm, KVM_CAP_SPLIT_IRQCHIP, ioapic_pins, 0, e);
		if (r < 0)
			return err_ctx(e, "split irqchip");
	} else {
		r = ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0);
		if (r < 0)
			return errf_sys(e, -errno, "KVM_CREATE_IRQCHIP");
	}
	vm->split_irqchip = split;
	return 0;
}

int hv_create_pit(struct hv_vm *vm, struct err *e)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	int r = xioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit);

	return r < 0 ? errf_sys(e, r, "KVM_CREATE_PIT2") : 0;
}

int hv_irq_line(struct hv_vm *vm, u32 gsi, bool level)
{
	struct kvm_irq_level l = {.irq = gsi, .level = level};

	return xioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

int hv_signal_msi(struct hv_vm *vm, u64 addr, u32 data)
{
	struct kvm_msi msi = {
		.address_lo = (u32)addr,
		.address_hi = (u32)(addr >> 32),
		.data = data,
	};

	return xioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi);
}

int hv_irqfd(struct hv_vm *vm, int fd, u32 gsi, bool deassign, struct err *e)
{
	struct kvm_irqfd f = {
		.fd = (u32)fd,
		.gsi = gsi,
		.flags = deassign ? KVM_IRQFD_FLAG_DEASSIGN : 0,
	};
	int r = xioctl(vm->vm_fd, KVM_IRQFD, &f);

	return r < 0 ? errf_sys(e, r, "KVM_IRQFD gsi %u", gsi) : 0;
}

int hv_set_gsi_routing(struct hv_vm *vm, const struct kvm_irq_routing *table, struct err *e)
{
	int r = xioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, (void *)table);

	return r < 0 ? errf_sys(e, r, "KVM_SET_GSI_ROUTING") : 0;
}

int hv_ioeventfd(struct hv_vm *vm, int fd, u64 addr, u32 len, bool pio, bool deassign,
		 struct err *e)
{
	struct kvm_ioeventfd io = {
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0),
	};
	int r = xioctl(vm->vm_fd, KVM_IOEVENTFD, &io);

	return r < 0 ? errf_sys(e, r, "KVM_IOEVENTFD 0x%llx", (unsigned long long)addr) : 0;
}

int hv_create_vcpu(struct hv_vm *vm, u32 index, struct hv_vcpu *vcpu, struct err *e)
{
	void *run;
	int fd;

	memset(vcpu, 0, sizeof(*vcpu));
	fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)index);
	if (fd < 0)
		return errf_sys(e, -errno, "KVM_CREATE_VCPU %u", index);
	run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		int r = -errno;
		close(fd);
		return errf_sys(e, r, "vCPU %u: mmap of kvm_run", index);
	}
	vcpu->fd = fd;
	vcpu->index = index;
	vcpu->run = run;
	vcpu->run_size = vm->run_size;
	return 0;
}

void hv_destroy_vcpu(struct hv_vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->run_size);
	if (vcpu->fd > 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

void hv_vcpu_kick(struct hv_vcpu *vcpu)
{
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

void hv_vcpu_clear_kick(struct hv_vcpu *vcpu)
{
	__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

static void decode_exit(struct kvm_run *run, struct vm_exit *x)
{
	memset(x, 0, sizeof(*x));
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		x->kind = VM_EXIT_IO;
		x->io.port = run->io.port;
		x->io.size = run->io.size;
		x->io.write = run->io.direction == KVM_EXIT_IO_OUT;
		x->io.count = run->io.count;
		x->io.data = (u8 *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		x->kind = VM_EXIT_MMIO;
		x->mmio.gpa = run->mmio.phys_addr;
		x->mmio.data = run->mmio.data;
		x->mmio.len = run->mmio.len;
		x->mmio.write = run->mmio.is_write;
		break;
	case KVM_EXIT_HLT:
		x->kind = VM_EXIT_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		x->kind = VM_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		x->kind = VM_EXIT_SYSTEM_EVENT;
		x->system_event.type = run->system_event.type;
		x->system_event.ndata = MIN(run->system_event.ndata, 16u);
		memcpy(x->system_event.data, run->system_event.data,
		       sizeof(u64) * x->system_event.ndata);
		break;
	case KVM_EXIT_HYPERCALL:
		if (run->hypercall.nr == KVM_HC_MAP_GPA_RANGE) {
			x->kind = VM_EXIT_MAP_GPA;
			x->convert.gpa = run->hypercall.args[0];
			x->convert.size = run->hypercall.args[1] * PAGE_SIZE;
			x->convert.to_private =
				run->hypercall.args[2] & KVM_MAP_GPA_RANGE_ENCRYPTED;
			x->convert.ret = (u64 *)&run->hypercall.ret;
		} else {
			x->kind = VM_EXIT_UNKNOWN;
			x->unknown.reason = run->exit_reason;
		}
		break;
	case MERAK_KVM_EXIT_TDX:
		x->kind = VM_EXIT_TDX;
		x->tdx.nr = kvm_run_tdx(run)->nr;
		x->tdx.regs = &kvm_run_tdx(run)->unknown.ret;
		break;
	case KVM_EXIT_IOAPIC_EOI:
		x->kind = VM_EXIT_IOAPIC_EOI;
		x->eoi.vector = run->eoi.vector;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		x->kind = VM_EXIT_INTERNAL_ERROR;
		x->internal.suberror = run->internal.suberror;
		x->internal.ndata = MIN(run->internal.ndata, 16u);
		memcpy(x->internal.data, run->internal.data, sizeof(u64) * x->internal.ndata);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		x->kind = VM_EXIT_FAIL_ENTRY;
		x->fail_entry.reason = run->fail_entry.hardware_entry_failure_reason;
		break;
	case KVM_EXIT_INTR:
		x->kind = VM_EXIT_NONE;
		break;
	default:
		x->kind = VM_EXIT_UNKNOWN;
		x->unknown.reason = run->exit_reason;
		break;
	}
}

int hv_vcpu_run(struct hv_vcpu *vcpu, struct vm_exit *exit, struct err *e)
{
	int r = ioctl(vcpu->fd, KVM_RUN, 0);

	if (r < 0) {
		int err = errno;

		if (err == EINTR || err == EAGAIN) {
			memset(exit, 0, sizeof(*exit));
			exit->kind = VM_EXIT_NONE;
			return 0;
		}
		/*
		 * The memory-fault exit is the one that arrives as -1 with errno
		 * EFAULT or EHWPOISON (api.rst). Only EFAULT asks for a conversion:
		 * EHWPOISON means guest_memfd found the backing page poisoned, and
		 * re-entering would fault again forever.
		 */
		if ((err == EHWPOISON || err == EFAULT) &&
		    vcpu->run->exit_reason == MERAK_KVM_EXIT_MEMORY_FAULT) {
			struct merak_kvm_run_memory_fault *mf = kvm_run_memory_fault(vcpu->run);
			bool private_ = mf->flags & MERAK_KVM_MEMORY_EXIT_FLAG_PRIVATE;

			memset(exit, 0, sizeof(*exit));
			if (err == EHWPOISON) {
				exit->kind = VM_EXIT_MEMORY_ERROR;
				exit->memory_error.gpa = mf->gpa;
				exit->memory_error.size = mf->size;
				exit->memory_error.private_ = private_;
			} else {
				exit->kind = VM_EXIT_MEMORY_FAULT;
				exit->convert.gpa = mf->gpa;
				exit->convert.size = mf->size;
				exit->convert.to_private = private_;
			}
			return 0;
		}
		return errf_sys(e, -err, "vCPU %u: KVM_RUN", vcpu->index);
	}
	decode_exit(vcpu->run, exit);
	return 0;
}

#define VCPU_IOCTL(name, req, type, what)                                              \
	int name(struct hv_vcpu *vcpu, type arg, struct err *e)                        \
	{                                                                              \
		int r = xioctl(vcpu->fd, req, (void *)arg);                            \
		return r < 0 ? errf_sys(e, r, "vCPU %u: " what, vcpu->index) : 0;      \
	}

VCPU_IOCTL(hv_vcpu_get_regs, KVM_GET_REGS, struct kvm_regs *, "KVM_GET_REGS")
VCPU_IOCTL(hv_vcpu_set_regs, KVM_SET_REGS, const struct kvm_regs *, "KVM_SET_REGS")
VCPU_IOCTL(hv_vcpu_get_sregs, KVM_GET_SREGS, struct kvm_sregs *, "KVM_GET_SREGS")
VCPU_IOCTL(hv_vcpu_set_sregs, KVM_SET_SREGS, const struct kvm_sregs *, "KVM_SET_SREGS")
VCPU_IOCTL(hv_vcpu_set_fpu, KVM_SET_FPU, const struct kvm_fpu *, "KVM_SET_FPU")
VCPU_IOCTL(hv_vcpu_set_cpuid, KVM_SET_CPUID2, const struct kvm_cpuid2 *, "KVM_SET_CPUID2")
VCPU_IOCTL(hv_vcpu_get_lapic, KVM_GET_LAPIC, struct kvm_lapic_state *, "KVM_GET_LAPIC")
VCPU_IOCTL(hv_vcpu_set_lapic, KVM_SET_LAPIC, const struct kvm_lapic_state *, "KVM_SET_LAPIC")

int hv_vcpu_set_msrs(struct hv_vcpu *vcpu, const struct kvm_msrs *msrs, struct err *e)
{
	int r = xioctl(vcpu->fd, KVM_SET_MSRS, (void *)msrs);

	if (r < 0)
		return errf_sys(e, r, "vCPU %u: KVM_SET_MSRS", vcpu->index);
	/* KVM stops at the first MSR it rejects and returns how many it set. */
	if ((u32)r != msrs->nmsrs)
		return errf(e, -EINVAL, "vCPU %u: KVM_SET_MSRS rejected MSR 0x%x", vcpu->index,
			    msrs->entries[r].index);
	return 0;
}

int hv_vcpu_set_mp_state(struct hv_vcpu *vcpu, u32 state, struct err *e)
{
	struct kvm_mp_state mp = {.mp_state = state};
	int r = xioctl(vcpu->fd, KVM_SET_MP_STATE, &mp);

	return r < 0 ? errf_sys(e, r, "vCPU %u: KVM_SET_MP_STATE", vcpu->index) : 0;
}

int hv_memory_encrypt_op(struct hv_vm *vm, struct hv_vcpu *vcpu, void *cmd)
{
	int fd = vcpu ? vcpu->fd : vm->vm_fd;
	int r;

	do
		r = ioctl(fd, KVM_MEMORY_ENCRYPT_OP, cmd);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}
