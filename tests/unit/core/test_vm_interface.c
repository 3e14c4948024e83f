// SPDX-License-Identifier: MIT
/*
 * struct vm's small interface, as the API and the CLI use it: state, the stop
 * cause (first request wins), the counter walk with groups added and removed
 * at run time. A VM object is set up by hand: none of this needs KVM.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "vm/vm.h"

static struct vm *mk(u32 ncpus)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	assert_non_null(vm);
	vm->ncpus = ncpus;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	pthread_mutex_init(&vm->counters_lock, NULL);
	vm->stop_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(vm->stop_fd >= 0);
	return vm;
}

static void rm(struct vm *vm)
{
	close(vm->stop_fd);
	free(vm);
}

static void test_stop_cause_first_wins(void **state)
{
	struct vm *vm = mk(1);
	const char *reason;
	int status = -1;

	assert_int_equal(vm_get_state(vm), VM_CREATED);
	assert_int_equal(vm_stop_cause(vm, NULL, NULL), VM_STOP_NONE);
	vm_request_stop(vm, VM_STOP_RESET, 0, "guest requested a reset");
	vm_request_stop(vm, VM_STOP_SIGNAL, 143, "stopped by signal 15");
	assert_int_equal(vm_get_state(vm), VM_STOPPING);
	assert_int_equal(vm_stop_cause(vm, &status, &reason), VM_STOP_RESET);
	assert_int_equal(status, 0);
	assert_string_equal(reason, "guest requested a reset");
	rm(vm);
}

struct seen {
	char text[512];
	const char *group;
};

static void on_group(void *arg, const char *name)
{
	struct seen *s = arg;

	s->group = name;
}

static void on_counter(void *arg, const char *key, u64 value)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);

	snprintf(s->text + n, sizeof(s->text) - n, "%s.%s=%llu ", s->group, key,
		 (unsigned long long)value);
}

static void collect_a(void *ctx, counter_emit_fn emit, void *arg)
{
	emit(arg, "x", *(u64 *)ctx);
}

static void test_counter_walk(void **state)
{
	static const struct vm_counter_visitor v = {on_group, on_counter};
	struct vm *vm = mk(2);
	struct seen s = {.text = ""};
	u64 a = 7, b = 9;

	vm->vcpus[1].exit_count[VM_EXIT_IO] = 3;
	vm->vcpus[1].exit_ns[VM_EXIT_IO] = 3000;
	assert_int_equal(vm_add_counters(vm, "dev-a", collect_a, &a), 0);
	assert_int_equal(vm_add_counters(vm, "dev-b", collect_a, &b), 0);
	vm_walk_counters(vm, &v, &s);
	/* vCPUs first (only kinds that happened), then the groups in order. */
	assert_string_equal(s.text, "vcpu1.exits_io=3 vcpu1.exits_io_ns=3000 dev-a.x=7 dev-b.x=9 ");
	/* A device removed at run time takes its group along. */
	vm_remove_counters(vm, &a);
	s.text[0] = 0;
	vm_walk_counters(vm, &v, &s);
	assert_string_equal(s.text, "vcpu1.exits_io=3 vcpu1.exits_io_ns=3000 dev-b.x=9 ");
	for (unsigned i = vm->n_counters; i < VM_MAX_COUNTER_SOURCES; i++)
		assert_int_equal(vm_add_counters(vm, "more", collect_a, &b), 0);
	assert_int_equal(vm_add_counters(vm, "one too many", collect_a, &b), -ENOSPC);
	rm(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_cause_first_wins),
		cmocka_unit_test(test_counter_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
