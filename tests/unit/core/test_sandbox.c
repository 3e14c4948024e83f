// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <malloc.h>
#include <pthread.h>
#include <time.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vm/sandbox.h"

enum action {
	DO_ALLOWED,
	DO_OPEN,
	DO_EXECVE,
	DO_SOCKET,
	DO_UNIX_SOCKET,
	DO_BAD_IOCTL,
	DO_MSI_IOCTL,
	DO_LIBC,
	DO_TEARDOWN_IOCTL,
};

/* A sanitizer build leaves the main thread unfiltered for LeakSanitizer (sandbox.c). */
#if defined(__SANITIZE_ADDRESS__)
#define NO_MAIN_FILTER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NO_MAIN_FILTER 1
#endif
#endif

static const enum sandbox_kind all_kinds[] = {SANDBOX_VCPU, SANDBOX_DEVICE, SANDBOX_CONSOLE,
					      SANDBOX_CONTROL,
					      SANDBOX_QGS,
#ifndef NO_MAIN_FILTER
					      SANDBOX_MAIN,
#endif
};

/*
 * What glibc and json-c do behind a thread's back: a new thread's malloc
 * arena grows and, when freed, shrinks (glibc then reads
 * /proc/sys/vm/overcommit_memory once), time and strerror, formatted
 * numbers, json-c's hash seed and parser, the thread's exit. Runs under the
 * filter in a thread of its own (a thread gets its own arena), as merak's
 * threads do; 0 when all of it worked.
 */
struct libc_job {
	enum sandbox_kind kind;
	int status;
};

static void *libc_thread(void *arg)
{
	struct libc_job *job = arg;
	enum { N = 96 };
	void *blocks[N];
	struct timespec ts;
	struct err e;
	char buf[64];

	if (sandbox_apply(job->kind, SANDBOX_ON, &e) < 0) {
		job->status = 1;
		return NULL;
	}
	for (int round = 0; round < 4; round++) {
		for (int i = 0; i < N; i++) {
			blocks[i] = malloc(64 * 1024 - 64); /* below the mmap threshold */
			if (!blocks[i]) {
				job->status = 2;
				return NULL;
			}
			memset(blocks[i], i, 4096);
		}
		for (int i = N - 1; i >= 0; i--)
			free(blocks[i]); /* the top chunk is trimmed: the heap shrinks */
	}
	malloc_trim(0);
	if (time(NULL) == (time_t)-1 || clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		job->status = 3;
	snprintf(buf, sizeof(buf), "%s %.3f %lld", strerror(EBADF), 3.25, (long long)ts.tv_sec);
	{
		json_object *o = json_object_new_object();
		json_object *p;

		json_object_object_add(o, "state", json_object_new_string(buf));
		json_object_object_add(o, "ratio", json_object_new_double(0.5));
		p = json_tokener_parse(json_object_to_json_string(o));
		if (!p || !json_object_object_get_ex(p, "state", NULL))
			job->status = 4;
		json_object_put(p);
		json_object_put(o);
	}
	return NULL;
}

static int libc_under_filter(enum sandbox_kind kind)
{
	struct libc_job job = {.kind = kind};
	pthread_t t;

	if (pthread_create(&t, NULL, libc_thread, &job) || pthread_join(t, NULL))
		return 9;
	return job.status;
}

/* What the last child wrote to stderr. */
static char child_stderr[512];

/* Runs one action in a child under the filter; returns the wait status. */
static int run_in_child(enum sandbox_kind kind, enum action act)
{
	int status, errp[2];
	ssize_t n, got = 0;
	pid_t pid;

	assert_int_equal(pipe(errp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct err e;
		char c = 'x';
		int p[2];

		close(errp[0]);
		if (dup2(errp[1], STDERR_FILENO) < 0 || pipe(p) < 0)
			_exit(90);
		if (act != DO_LIBC && sandbox_apply(kind, SANDBOX_ON, &e) < 0)
			_exit(91);
		switch (act) {
		case DO_ALLOWED:
			/* Plain fd I/O, memory and time are allowed to every kind. */
			if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
				_exit(92);
			free(malloc(1 << 20));
			_exit(0);
		case DO_OPEN:
			/* Refused, not trapped: glibc opens optional files lazily. */
			if (open("/etc/hostname", O_RDONLY) < 0 && errno == EACCES)
				_exit(0);
			_exit(94);
		case DO_LIBC:
			_exit(libc_under_filter(kind));
		case DO_EXECVE:
			execl("/bin/true", "true", (char *)NULL);
			break;
		case DO_SOCKET:
			socket(AF_INET, SOCK_STREAM, 0);
			break;
		case DO_UNIX_SOCKET:
			if (socket(AF_UNIX, SOCK_STREAM, 0) < 0)
				_exit(95);
			_exit(0);
		case DO_BAD_IOCTL:
			ioctl(p[0], KVM_CREATE_VM, 0);
			break;
		case DO_MSI_IOCTL:
			/* Allowed: fails on a pipe (ENOTTY) instead of trapping. */
			if (ioctl(p[0], KVM_SIGNAL_MSI, NULL) < 0)
				_exit(0);
			_exit(96);
		case DO_TEARDOWN_IOCTL:
			/* KVM_TDX_TERMINATE_VM at teardown: refused by a pipe, not trapped. */
			if (ioctl(p[0], KVM_MEMORY_ENCRYPT_OP, &c) < 0)
				_exit(0);
			_exit(96);
		}
		_exit(93);	/* the forbidden call returned: the filter failed */
	}
	close(errp[1]);
	while (got < (ssize_t)sizeof(child_stderr) - 1 &&
	       (n = read(errp[0], child_stderr + got, sizeof(child_stderr) - 1 - got)) > 0)
		got += n;
	child_stderr[got] = 0;
	close(errp[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* Stopped as a kill would (128 + SIGSYS), with one line naming the filter and call. */
static void expect_stopped(int status, enum sandbox_kind kind, long nr)
{
	char want[96];

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 128 + SIGSYS) {
		print_error("status 0x%x: expected exit %d (128 + SIGSYS)\n", status, 128 + SIGSYS);
		fail();
	}
	snprintf(want, sizeof(want), "merak: seccomp: a %s thread made system call %ld,",
		 sandbox_kind_name(kind), nr);
	if (!strstr(child_stderr, want)) {
		print_error("stderr '%s' lacks '%s'\n", child_stderr, want);
		fail();
	}
	assert_non_null(strchr(child_stderr, '\n'));
}

static void expect_exit0(int status)
{
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_error("status 0x%x, stderr '%s'\n", status, child_stderr);
		fail();
	}
}

static void test_each_kind(void **state)
{
	for (size_t i = 0; i < sizeof(all_kinds) / sizeof(all_kinds[0]); i++) {
		enum sandbox_kind k = all_kinds[i];

		expect_exit0(run_in_child(k, DO_ALLOWED));
		expect_exit0(run_in_child(k, DO_OPEN));
		expect_stopped(run_in_child(k, DO_EXECVE), k, SYS_execve);
		expect_stopped(run_in_child(k, DO_BAD_IOCTL), k, SYS_ioctl);
		/* Sockets: unix ones for devices (vsock) and the QGS client, none elsewhere. */
		expect_stopped(run_in_child(k, DO_SOCKET), k, SYS_socket);
		if (k == SANDBOX_DEVICE || k == SANDBOX_CONSOLE || k == SANDBOX_QGS)
			expect_exit0(run_in_child(k, DO_UNIX_SOCKET));
		else
			expect_stopped(run_in_child(k, DO_UNIX_SOCKET), k, SYS_socket);
		/* Every kind that completes work for the guest can interrupt it; the QGS
		 * client does, for the GetQuote notify. Virtio workers write irqfds. */
		if (k == SANDBOX_DEVICE)
			expect_stopped(run_in_child(k, DO_MSI_IOCTL), k, SYS_ioctl);
		else
			expect_exit0(run_in_child(k, DO_MSI_IOCTL));
	}
}

/* The defect this guards: a control thread killed by glibc's lazy open in free(). */
static void test_libc_under_each_filter(void **state)
{
	for (size_t i = 0; i < sizeof(all_kinds) / sizeof(all_kinds[0]); i++)
		expect_exit0(run_in_child(all_kinds[i], DO_LIBC));
}

/* The main thread tears a TD down: KVM_TDX_TERMINATE_VM goes through KVM_MEMORY_ENCRYPT_OP. */
static void test_main_teardown_ioctls(void **state)
{
#ifndef NO_MAIN_FILTER
	expect_exit0(run_in_child(SANDBOX_MAIN, DO_TEARDOWN_IOCTL));
#endif
	expect_stopped(run_in_child(SANDBOX_VCPU, DO_TEARDOWN_IOCTL), SANDBOX_VCPU, SYS_ioctl);
}

static void test_off_is_off(void **state)
{
	struct err e;

	/* Mode off installs nothing (this process keeps every system call). */
	assert_int_equal(sandbox_apply(SANDBOX_VCPU, SANDBOX_OFF, &e), 0);
	int fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_each_kind),
	    cmocka_unit_test(test_libc_under_each_filter),
		cmocka_unit_test(test_main_teardown_ioctls),
		cmocka_unit_test(test_off_is_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
