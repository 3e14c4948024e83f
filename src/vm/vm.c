// SPDX-License-Identifier: MIT
/*
 * One VM's life: created (board.c builds a plain VM, td_build.c a TD), run
 * until a stop request (guest power-off, reset, crash, a signal, the API),
 * paused and resumed, destroyed. The vCPU threads themselves are vcpu.c's.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "devices/console_io.h"
#include "devices/serial.h"
#include "util/clock.h"
#include "util/log.h"
#include "vm/sandbox.h"
#include "vm/td.h"
#include "vm/vcpu.h"
#include "vm/vm.h"

/* How long a guest has to power off after SIGTERM presses its power button. */
#define VM_SIGTERM_GRACE_S 10

int vm_create(const struct vm_config *cfg, struct vm **out, struct err *e)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	int r;

	if (!vm)
		return errf(e, -ENOMEM, "out of memory");
	vm->cfg = cfg;
	vm->ncpus = cfg->cpus;
	vm->hv.kvm_fd = vm->hv.vm_fd = -1;
	vm->stop_fd = -1;
	guest_mem_init(&vm->mem);
	bus_init(&vm->pio, "port I/O");
	bus_init(&vm->mmio, "MMIO");
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	pthread_mutex_init(&vm->routes_lock, NULL);
	pthread_mutex_init(&vm->counters_lock, NULL);
	/* Exits by device: what the guest's port and MMIO accesses hit. */
	vm_add_counters(vm, "pio", bus_collect_counters, &vm->pio);
	vm_add_counters(vm, "mmio", bus_collect_counters, &vm->mmio);
	*out = vm;
	/* Before any thread exists: every thread inherits the mask. */
	vm_block_signals();

	vm->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (vm->stop_fd < 0)
		return errf_sys(e, -errno, "eventfd");
	r = hv_open(&vm->hv, e);
	if (r < 0)
		return r;
	if (cfg->tdx.enabled)
		return td_build(vm, e);
	return board_build(vm, e);
}

void vm_destroy(struct vm *vm)
{
	if (!vm)
		return;
	board_pci_destroy(vm);
	board_fwcfg_destroy(vm);
	if (vm->tdx)
		td_destroy(vm);
	board_destroy(vm);
	hv_close(&vm->hv);
	guest_mem_free(&vm->mem);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	free(vm->routes);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	pthread_mutex_destroy(&vm->routes_lock);
	pthread_mutex_destroy(&vm->counters_lock);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->cond);
	free(vm);
}

void vm_request_stop(struct vm *vm, enum vm_stop_cause cause, int status, const char *fmt, ...)
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
	vm->stop_cause = cause;
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

enum vm_state vm_get_state(struct vm *vm)
{
	return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE);
}

u64 vm_ram_size(const struct vm *vm)
{
	return guest_mem_ram_size(&vm->mem);
}

enum vm_stop_cause vm_stop_cause(struct vm *vm, int *status, const char **reason)
{
	enum vm_stop_cause cause;

	pthread_mutex_lock(&vm->lock);
	cause = vm->state == VM_STOPPING ? vm->stop_cause : VM_STOP_NONE;
	if (status)
		*status = vm->exit_status;
	if (reason)
		*reason = vm->exit_reason;	/* fixed once the VM is stopping */
	pthread_mutex_unlock(&vm->lock);
	return cause;
}

int vm_add_counters(struct vm *vm, const char *name,
		    void (*collect)(void *ctx, counter_emit_fn emit, void *arg), void *ctx)
{
	int r = 0;

	pthread_mutex_lock(&vm->counters_lock);
	if (vm->n_counters == VM_MAX_COUNTER_SOURCES)
		r = -ENOSPC;
	else
		vm->counters[vm->n_counters++] = (struct vm_counter_source){name, collect, ctx};
	pthread_mutex_unlock(&vm->counters_lock);
	return r;
}

void vm_remove_counters(struct vm *vm, void *ctx)
{
	pthread_mutex_lock(&vm->counters_lock);
	for (unsigned i = 0; i < vm->n_counters; i++) {
		if (vm->counters[i].ctx == ctx) {
			memmove(&vm->counters[i], &vm->counters[i + 1],
				(vm->n_counters - i - 1) * sizeof(vm->counters[0]));
			vm->n_counters--;
			break;
		}
	}
	pthread_mutex_unlock(&vm->counters_lock);
}

/* Each vCPU's exits by kind, and the nanoseconds merak spent handling them. */
static void walk_vcpu(struct vcpu *v, u32 index, const struct vm_counter_visitor *vis, void *arg)
{
	char group[16], key[64];	/* the group's name stays valid through its counters */

	snprintf(group, sizeof(group), "vcpu%u", index);
	vis->group(arg, group);
	for (int k = 0; k < VM_EXIT_KINDS; k++) {
		u64 n = __atomic_load_n(&v->exit_count[k], __ATOMIC_RELAXED);
		u64 ns = __atomic_load_n(&v->exit_ns[k], __ATOMIC_RELAXED);

		if (!n)
			continue;
		snprintf(key, sizeof(key), "exits_%s", vm_exit_kind_name(k));
		vis->counter(arg, key, n);
		snprintf(key, sizeof(key), "exits_%s_ns", vm_exit_kind_name(k));
		vis->counter(arg, key, ns);
	}
}

void vm_walk_counters(struct vm *vm, const struct vm_counter_visitor *v, void *arg)
{
	for (u32 i = 0; i < vm->ncpus; i++)
		walk_vcpu(&vm->vcpus[i], i, v, arg);
	pthread_mutex_lock(&vm->counters_lock);
	for (unsigned i = 0; i < vm->n_counters; i++) {
		v->group(arg, vm->counters[i].name);
		vm->counters[i].collect(vm->counters[i].ctx, v->counter, arg);
	}
	pthread_mutex_unlock(&vm->counters_lock);
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
	vcpus_kick(vm);
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

/*
 * The signal set a VMM's main thread takes through a signalfd; blocks them
 * (and the kick) first, as vm_create does.
 */
int vm_signalfd(struct err *e)
{
	sigset_t set;
	int sfd;

	vm_block_signals();
	stop_signals(&set);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return sfd < 0 ? errf_sys(e, -errno, "signalfd") : sfd;
}

int vm_start(struct vm *vm, bool confine_main, struct err *e)
{
	int r;

	/*
	 * vm_create blocked the stop signals before it started any thread;
	 * blocking again covers a caller that did not go through it. They stay
	 * blocked after the run, so a late signal cannot cut teardown short.
	 */
	vm_block_signals();
	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_STOPPING)
		vm->state = VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);

	if (vm->serial_io && vm->serial) {
		r = console_io_start_input(vm->serial_io, serial_receive, vm->serial, e);
		if (r < 0)
			return r;
	}
	vcpus_start(vm);
	/* Every thread runs: the main thread confines itself for the rest of the run. */
	if (confine_main && sandbox_apply(SANDBOX_MAIN, (enum sandbox_mode)vm->cfg->seccomp, e) < 0)
		vm_request_stop(vm, VM_STOP_VMM_ERROR, EXIT_VMM_ERROR, "%s", e->msg);
	return 0;
}

/*
 * A stop signal for a running VM: the first SIGTERM presses the power button
 * and gives the guest VM_SIGTERM_GRACE_S to power off before the hang report
 * and 128 + SIGTERM; any other stops it at once.
 */
void vm_signal(struct vm *vm, int signo)
{
	if (signo == SIGTERM && !vm->term_deadline_ns && vm->pm) {
		log_info("SIGTERM: pressing the ACPI power button");
		vm_power_button(vm);
		vm->term_deadline_ns = monotonic_ns() + VM_SIGTERM_GRACE_S * 1000000000ULL;
		return;
	}
	vm_request_stop(vm, VM_STOP_SIGNAL, 128 + signo, "stopped by signal %d (%s)", signo,
			strsignal(signo));
}

int vm_poll_timeout_ms(struct vm *vm)
{
	u64 now;

	if (!vm->term_deadline_ns || vm_stopping(vm))
		return -1;
	now = monotonic_ns();
	if (now >= vm->term_deadline_ns) {
		log_hung_vcpus(vm);
		vm_request_stop(vm, VM_STOP_SIGNAL, 128 + SIGTERM,
				"the guest did not power off within %d s of SIGTERM",
				VM_SIGTERM_GRACE_S);
		return -1;
	}
	return (int)((vm->term_deadline_ns - now) / 1000000) + 1;
}

/* What the guest cost in exits to merak, summed over vCPUs (-v): benchmarks read it. */
static void log_exit_summary(struct vm *vm)
{
	char line[512];
	size_t n = 0;

	if (log_get_level() < LOG_INFO)
		return;
	for (int k = 0; k < VM_EXIT_KINDS && n < sizeof(line); k++) {
		u64 count = 0, ns = 0;

		for (u32 i = 0; i < vm->ncpus; i++) {
			count += __atomic_load_n(&vm->vcpus[i].exit_count[k], __ATOMIC_RELAXED);
			ns += __atomic_load_n(&vm->vcpus[i].exit_ns[k], __ATOMIC_RELAXED);
		}
		if (count)
			n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %llu (%llu us)",
					      vm_exit_kind_name(k), (unsigned long long)count,
					      (unsigned long long)(ns / 1000));
	}
	log_info("exits to merak:%s", n ? line : " none");
	log_info("guest RAM resident at exit: %llu KiB",
		 (unsigned long long)(guest_mem_resident(&vm->mem) >> 10));
}

int vm_finish(struct vm *vm)
{
	vcpus_kick(vm);
	vcpus_join(vm);
	log_exit_summary(vm);
	return vm->exit_status;
}
