// SPDX-License-Identifier: MIT
/* vCPU threads, the exit loop, and the VM lifecycle (run, pause, stop). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "../devices/console_io.h"
#include "../devices/serial.h"
#include "../util/clock.h"
#include "../util/log.h"
#include "sandbox.h"
#include "td.h"
#include "vm.h"

/* Exit statuses for guest failures (documented in README). */
#define EXIT_GUEST_CRASH 3
#define EXIT_VMM_ERROR	 1

/* How long a guest has to power off after SIGTERM presses its power button. */
#define VM_SIGTERM_GRACE_S 10

static void kick_handler(int sig)
{
	/* Only interrupts KVM_RUN; immediate_exit does the rest. */
}

void vm_request_stop(struct vm *vm, int status, const char *fmt, ...)
{
	va_list ap;
	u64 one = 1;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == VM_STOPPING) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	vm->state = VM_STOPPING;
	vm->exit_status = status;
	va_start(ap, fmt);
	vsnprintf(vm->exit_reason, sizeof(vm->exit_reason), fmt, ap);
	va_end(ap);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	if (write(vm->stop_fd, &one, sizeof(one)) < 0) {
		/* The eventfd cannot overflow with single increments. */
	}
}

bool vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_STOPPING;
}

static void kick_all(struct vm *vm)
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
	vm_request_stop(v->vm, EXIT_GUEST_CRASH, "vCPU %u: %s %s%s%s", v->index, what, rip,
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
		vm_request_stop(v->vm, 0, "guest powered off");
		break;
	case VM_SYSTEM_EVENT_RESET:
		vm_request_stop(v->vm, 0,
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
			vm_request_stop(vm, EXIT_VMM_ERROR, "vCPU %u: %s", v->index, e.msg);
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
	case VM_EXIT_MEMORY_FAULT:
	case VM_EXIT_MAP_GPA:
	case VM_EXIT_TDX:
		vm_request_stop(vm, EXIT_VMM_ERROR,
				"vCPU %u: confidential-computing exit on a VM that is not a TD",
				v->index);
		return false;
	case VM_EXIT_UNKNOWN:
		vm_request_stop(vm, EXIT_VMM_ERROR, "vCPU %u: unhandled KVM exit reason %u",
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
		[VM_EXIT_UNKNOWN] = "unknown",
	};

	return (unsigned)kind < VM_EXIT_KINDS ? names[kind] : "unknown";
}

int vm_add_counters(struct vm *vm, const char *name,
		    void (*collect)(void *ctx, counter_emit_fn emit, void *arg), void *ctx)
{
	if (vm->n_counters == VM_MAX_COUNTER_SOURCES)
		return -ENOSPC;
	vm->counters[vm->n_counters++] = (struct vm_counter_source){name, collect, ctx};
	return 0;
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
			vm_request_stop(vm, EXIT_VMM_ERROR, "vCPU %u: %s", v->index, e.msg);
			return NULL;
		}
	}

	while (wait_if_paused(v)) {
		struct vm_exit x;
		struct err e;
		bool go_on;
		u64 t0;

		if (hv_vcpu_run(&v->hv, &x, &e) < 0) {
			vm_request_stop(vm, EXIT_VMM_ERROR, "%s", e.msg);
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

int vm_pause(struct vm *vm, struct err *e)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_RUNNING) {
		pthread_mutex_unlock(&vm->lock);
		return errf(e, -EINVAL, "the VM is not running");
	}
	vm->state = VM_PAUSED;
	pthread_mutex_unlock(&vm->lock);
	kick_all(vm);
	pthread_mutex_lock(&vm->lock);
	while (vm->state == VM_PAUSED && vm->paused_vcpus < vm->ncpus)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

int vm_resume(struct vm *vm, struct err *e)
{
	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_PAUSED) {
		pthread_mutex_unlock(&vm->lock);
		return errf(e, -EINVAL, "the VM is not paused");
	}
	vm->state = VM_RUNNING;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

/*
 * Where each vCPU of a guest that ignored the power button is: pauses the VM
 * and logs the general registers (what a hang report needs first). A TD's
 * vCPU state is the TDX module's: one line says so instead.
 */
static void log_hung_vcpus(struct vm *vm)
{
	struct err e;

	/* A VM already paused (from the API) is reported as it stands. */
	if (vm_pause(vm, &e) < 0 && __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_PAUSED)
		return;
	if (vm->tdx) {
		log_warn("the TD's %u vCPU(s) cannot be shown: their registers belong to the TDX "
			 "module, which the host cannot read",
			 vm->ncpus);
		return;
	}
	for (u32 i = 0; i < vm->ncpus; i++) {
		struct kvm_regs r;

		if (hv_vcpu_get_regs(&vm->vcpus[i].hv, &r, &e) < 0) {
			log_warn("vCPU %u: state not readable (%s)", i, e.msg);
			continue;
		}
		log_warn("vCPU %u: RIP 0x%llx RSP 0x%llx RFLAGS 0x%llx RAX 0x%llx RBX 0x%llx "
			 "RCX 0x%llx RDX 0x%llx RSI 0x%llx RDI 0x%llx",
			 i, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi);
	}
}

/* The signals the main thread takes through its signalfd. */
static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

void vm_block_signals(void)
{
	sigset_t block;

	stop_signals(&block);
	sigaddset(&block, SIGRTMIN + 1); /* the kick: only vCPU threads unblock it */
	pthread_sigmask(SIG_BLOCK, &block, NULL);
}

int vm_run(struct vm *vm, struct err *e)
{
	struct sigaction sa;
	sigset_t block;
	u64 term_deadline = 0;
	int sfd, r = 0;

	vm->kick_signal = SIGRTMIN + 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigaction(vm->kick_signal, &sa, NULL);

	/*
	 * vm_create blocked these before it started any thread; blocking again
	 * covers a caller that did not go through it. They stay blocked after
	 * the run, so a late signal cannot cut teardown short.
	 */
	vm_block_signals();
	stop_signals(&block);
	sfd = signalfd(-1, &block, SFD_CLOEXEC);
	if (sfd < 0)
		return errf_sys(e, -errno, "signalfd");

	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_STOPPING)
		vm->state = VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);

	if (vm->serial_io && vm->serial) {
		r = console_io_start_input(vm->serial_io, serial_receive, vm->serial, e);
		if (r < 0)
			goto out_sfd;
	}
	for (u32 i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int pr = pthread_create(&v->thread, NULL, vcpu_main, v);

		if (pr) {
			vm_request_stop(vm, EXIT_VMM_ERROR, "cannot start vCPU %u thread: %s", i,
					strerror(pr));
			break;
		}
		v->thread_started = true;
	}
	/* Every thread runs: the main thread confines itself for the rest of the run. */
	r = sandbox_apply(SANDBOX_MAIN, (enum sandbox_mode)vm->cfg->seccomp, e);
	if (r < 0)
		vm_request_stop(vm, EXIT_VMM_ERROR, "%s", e->msg);
	r = 0;

	while (!vm_stopping(vm)) {
		struct pollfd pfd[2] = {
			{.fd = vm->stop_fd, .events = POLLIN},
			{.fd = sfd, .events = POLLIN},
		};
		int timeout = -1;

		if (term_deadline) {
			u64 now = monotonic_ns();

			if (now >= term_deadline) {
				log_hung_vcpus(vm);
				vm_request_stop(vm, 128 + SIGTERM,
						"the guest did not power off within %d s of SIGTERM",
						VM_SIGTERM_GRACE_S);
				break;
			}
			timeout = (int)((term_deadline - now) / 1000000) + 1;
		}
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			/* The first SIGTERM asks the guest to shut down cleanly. */
			if (si.ssi_signo == SIGTERM && !term_deadline && vm->pm) {
				log_info("SIGTERM: pressing the ACPI power button");
				vm_power_button(vm);
				term_deadline = monotonic_ns() + VM_SIGTERM_GRACE_S * 1000000000ULL;
				continue;
			}
			vm_request_stop(vm, 128 + (int)si.ssi_signo, "stopped by signal %u (%s)",
					si.ssi_signo, strsignal((int)si.ssi_signo));
		}
	}

	kick_all(vm);
	for (u32 i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].thread_started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].thread_started = false;
		}
	}
	r = vm->exit_status;
out_sfd:
	close(sfd);
	return r;
}
