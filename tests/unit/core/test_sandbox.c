// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
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

enum action { DO_ALLOWED, DO_OPEN, DO_EXECVE, DO_SOCKET, DO_BAD_IOCTL };

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
		if (sandbox_apply(kind, SANDBOX_ON, &e) < 0)
			_exit(91);
		switch (act) {
		case DO_ALLOWED:
			/* Plain fd I/O, memory and time are allowed to every kind. */
			if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
				_exit(92);
			free(malloc(1 << 20));
			_exit(0);
		case DO_OPEN:
			open("/etc/hostname", O_RDONLY);
			break;
		case DO_EXECVE:
			execl("/bin/true", "true", (char *)NULL);
			break;
		case DO_SOCKET:
			socket(AF_INET, SOCK_STREAM, 0);
			break;
		case DO_BAD_IOCTL:
			ioctl(p[0], KVM_CREATE_VM, 0);
			break;
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

static void test_each_kind(void **state)
{
	static const enum sandbox_kind kinds[] = {SANDBOX_VCPU, SANDBOX_DEVICE, SANDBOX_CONTROL};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int st = run_in_child(kinds[i], DO_ALLOWED);

		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
		expect_stopped(run_in_child(kinds[i], DO_OPEN), kinds[i], SYS_openat);
		expect_stopped(run_in_child(kinds[i], DO_EXECVE), kinds[i], SYS_execve);
		expect_stopped(run_in_child(kinds[i], DO_BAD_IOCTL), kinds[i], SYS_ioctl);
	}
	/* vCPU and control threads have no business creating sockets. */
	expect_stopped(run_in_child(SANDBOX_VCPU, DO_SOCKET), SANDBOX_VCPU, SYS_socket);
	expect_stopped(run_in_child(SANDBOX_CONTROL, DO_SOCKET), SANDBOX_CONTROL, SYS_socket);
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
		cmocka_unit_test(test_off_is_off),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
