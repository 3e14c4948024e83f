// SPDX-License-Identifier: MIT
/* vCPU threads: the exit loop, exits dispatched to buses and the TD layer, pause parking. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "vm/sandbox.h"
#include "vm/td.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

static void kick_handler(int sig)
{
	/* Only interrupts KVM_RUN; immediate_exit does the rest. */
}

void vcpus_kick(struct vm *vm)
{
	for (u32 i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (!v->thread_started)
			continue;
		hv_vcpu_kick(&v->hv);
		pthread_kill(v->thread, vm->kick_signal);
	}
}

static void handle_io(struct vm *vm, struct vm_exit *x)
{
	u8 *data = x->io.data;

	for (u32 i = 0; i < x->io.count; i++, data += x->io.size) {
		if (x->io.write)
			bus_write(&vm->pio, x->io.port, data, x->io.size);
		else
			bus_read(&vm->pio, x->io.port, data, x->io.size);
	}
}

static void handle_mmio(struct vm *vm, struct vm_exit *x)
{
	if (x->mmio.len > 8)
		return;
	if (x->mmio.write) {
		if (!bus_write(&vm->mmio, x->mmio.gpa, x->mmio.data, x->mmio.len))
			log_debug("unclaimed MMIO write at 0x%llx",
				  (unsigned long long)x->mmio.gpa);
	} else {
		bus_read(&vm->mmio, x->mmio.gpa, x->mmio.data, x->mmio.len);
	}
}

/* "RIP 0x..." when registers can be read (never for a protected TD). */
static void describe_rip(struct vcpu *v, char *buf, size_t len)
{
	struct kvm_regs regs;

	if (!v->vm->tdx && hv_vcpu_get_regs(&v->hv, &regs, NULL) == 0)
		snprintf(buf, len, "at RIP 0x%llx", (unsigned long long)regs.rip);
	else
		snprintf(buf, len, "(RIP not readable)");
}

static void guest_crash(struct vcpu *v, const char *what, const char *detail)
{
	char rip[64];

	describe_rip(v, rip, sizeof(rip));
	vm_request_stop(v->vm, VM_STOP_GUEST_CRASH, EXIT_GUEST_CRASH, "vCPU %u: %s %s%s%s", v->index, what, rip,
			detail[0] ? ": " : "", detail);
}

static void handle_internal_error(struct vcpu *v, struct vm_exit *x)
{
	char detail[192] = "";
	size_t n = 0;

	if (x->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		/* data[0] flags, data[1] instruction length, then the bytes. */
		if (x->internal.ndata >= 3 && (x->internal.data[0] & 1)) {
			u32 ilen = (u32)MIN(x->internal.data[1], 15);
			const u8 *b = (const u8 *)&x->internal.data[2];

			n += (size_t)snprintf(detail, sizeof(detail), "instruction bytes");
			for (u32 i = 0; i < ilen && n < sizeof(detail) - 4; i++)
				n += (size_t)snprintf(detail + n, sizeof(detail) - n, " %02x", b[i]);
		}
		guest_crash(v, "KVM could not emulate an instruction", detail);
		return;
	}
	snprintf(detail, sizeof(detail), "suberror %u", x->internal.suberror);
	guest_crash(v, "KVM internal error", detail);
}

static void handle_system_event(struct vcpu *v, struct vm_exit *x)
{
	switch (x->system_event.type) {
	case VM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(v->vm, VM_STOP_POWER_OFF, 0, "guest powered off");
		break;
	case VM_SYSTEM_EVENT_RESET:
		vm_request_stop(v->vm, VM_STOP_RESET, 0,
				"guest requested a reset; merak exits instead of rebooting");
		break;
	case VM_SYSTEM_EVENT_CRASH:
		guest_crash(v, "guest reported a crash", "");
		break;
	default: {
		char d[48];
		snprintf(d, sizeof(d), "type %u", x->system_event.type);
		guest_crash(v, "unhandled system event", d);
		break;
	}
	}
}

/* Handles one exit; false when the vCPU must stop. */
static bool handle_exit(struct vcpu *v, struct vm_exit *x)
{
	struct vm *vm = v->vm;
	struct err e;

	if (vm->tdx) {
		int r = td_handle_exit(vm, v, x, &e);
		if (r < 0) {
			vm_request_stop(vm, VM_STOP_VMM_ERROR, EXIT_VMM_ERROR, "vCPU %u: %s", v->index, e.msg);
			return false;
		}
		if (r > 0)
			return true;
	}
	switch (x->kind) {
	case VM_EXIT_NONE:
	case VM_EXIT_HLT:
		return true;
	case VM_EXIT_IO:
		handle_io(vm, x);
		return true;
	case VM_EXIT_MMIO:
		handle_mmio(vm, x);
		return true;
	case VM_EXIT_IOAPIC_EOI:
		ioapic_eoi(&vm->ioapic, x->eoi.vector);
		return true;
	case VM_EXIT_SHUTDOWN:
		guest_crash(v, "triple fault", "");
		return false;
	case VM_EXIT_SYSTEM_EVENT:
		handle_system_event(v, x);
		return false;
	case VM_EXIT_INTERNAL_ERROR:
		handle_internal_error(v, x);
		return false;
	case VM_EXIT_FAIL_ENTRY: {
		char d[64];
		snprintf(d, sizeof(d), "hardware entry failure reason 0x%llx",
			 (unsigned long long)x->fail_entry.reason);
		guest_crash(v, "KVM could not enter the guest", d);
		return false;
	}
	case VM_EXIT_MEMORY_ERROR: {
		/* Guest-crash class: the guest lost memory; a VMM answer cannot bring it back. */
		char d[160];
		snprintf(d, sizeof(d),
			 "the host page backing %s GPA 0x%llx (+0x%llx) is hardware-poisoned",
			 x->memory_error.private_ ? "private" : "shared",
			 (unsigned long long)x->memory_error.gpa,
			 (unsigned long long)x->memory_error.size);
		guest_crash(v, "memory error", d);
		return false;
	}
	case VM_EXIT_MEMORY_FAULT:
	case VM_EXIT_MAP_GPA:
	case VM_EXIT_TDX:
		vm_request_stop(vm, VM_STOP_VMM_ERROR, EXIT_VMM_ERROR,
				"vCPU %u: confidential-computing exit on a VM that is not a TD",
				v->index);
		return false;
	case VM_EXIT_UNKNOWN:
		vm_request_stop(vm, VM_STOP_VMM_ERROR, EXIT_VMM_ERROR, "vCPU %u: unhandled KVM exit reason %u",
				v->index, x->unknown.reason);
		return false;
	}
	return true;
}

/* Parks the vCPU while the VM is paused; false when it must stop instead. */
static bool wait_if_paused(struct vcpu *v)
{
	struct vm *vm = v->vm;
	bool run;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_PAUSED) {
		vm->paused_vcpus++;
		pthread_cond_broadcast(&vm->cond);
		while (vm->state == VM_PAUSED)
			pthread_cond_wait(&vm->cond, &vm->lock);
		vm->paused_vcpus--;
	}
	run = vm->state != VM_STOPPING;
	if (run)
		hv_vcpu_clear_kick(&v->hv);
	pthread_mutex_unlock(&vm->lock);
	return run;
}

const char *vm_exit_kind_name(enum vm_exit_kind kind)
{
	static const char *const names[VM_EXIT_KINDS] = {
		[VM_EXIT_NONE] = "interrupted",
		[VM_EXIT_IO] = "io",
		[VM_EXIT_MMIO] = "mmio",
		[VM_EXIT_HLT] = "hlt",
		[VM_EXIT_SHUTDOWN] = "shutdown",
		[VM_EXIT_SYSTEM_EVENT] = "system_event",
		[VM_EXIT_MEMORY_FAULT] = "memory_fault",
		[VM_EXIT_MAP_GPA] = "map_gpa",
		[VM_EXIT_TDX] = "tdvmcall",
		[VM_EXIT_IOAPIC_EOI] = "ioapic_eoi",
		[VM_EXIT_INTERNAL_ERROR] = "internal_error",
		[VM_EXIT_FAIL_ENTRY] = "fail_entry",
		[VM_EXIT_MEMORY_ERROR] = "memory_error",
		[VM_EXIT_UNKNOWN] = "unknown",
	};

	return (unsigned)kind < VM_EXIT_KINDS ? names[kind] : "unknown";
}

static void *vcpu_main(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, vm->kick_signal);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	{
		struct err e;

		if (sandbox_apply(SANDBOX_VCPU, (enum sandbox_mode)vm->cfg->seccomp, &e) < 0) {
			vm_request_stop(vm, VM_STOP_VMM_ERROR, EXIT_VMM_ERROR, "vCPU %u: %s", v->index, e.msg);
			return NULL;
		}
	}

	while (wait_if_paused(v)) {
		struct vm_exit x;
		struct err e;
		bool go_on;
		u64 t0;

		if (hv_vcpu_run(&v->hv, &x, &e) < 0) {
			vm_request_stop(vm, VM_STOP_VMM_ERROR, EXIT_VMM_ERROR, "%s", e.msg);
			break;
		}
		t0 = monotonic_ns();
		go_on = handle_exit(v, &x);
		__atomic_add_fetch(&v->exit_count[x.kind], 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&v->exit_ns[x.kind], monotonic_ns() - t0, __ATOMIC_RELAXED);
		if (!go_on)
			break;
	}
	return NULL;
}

void vcpus_start(struct vm *vm)
{
	struct sigaction sa;

	vm->kick_signal = SIGRTMIN + 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigaction(vm->kick_signal, &sa, NULL);
	for (u32 i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int pr = pthread_create(&v->thread, NULL, vcpu_main, v);

		if (pr) {
			vm_request_stop(vm, VM_STOP_VMM_ERROR, EXIT_VMM_ERROR, "cannot start vCPU %u thread: %s", i,
					strerror(pr));
			return;
		}
		v->thread_started = true;
	}
}

void vcpus_join(struct vm *vm)
{
	for (u32 i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].thread_started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread_started = false;
		}
	}
}
