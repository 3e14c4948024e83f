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
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "vm/sandbox.h"

enum action { DO_ALLOWED, DO_OPEN, DO_EXECVE, DO_SOCKET, DO_BAD_IOCTL };

/* Runs one action in a child under the filter; returns the wait status. */
static int run_in_child(enum sandbox_kind kind, enum action act)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct err e;
		char c = 'x';
		int p[2];

		if (pipe(p) < 0)
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
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void expect_killed(int status)
{
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS) {
		print_error("status 0x%x: expected death by SIGSYS\n", status);
		fail();
	}
}

static void test_each_kind(void **state)
{
	static const enum sandbox_kind kinds[] = {SANDBOX_VCPU, SANDBOX_DEVICE, SANDBOX_CONTROL};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int st = run_in_child(kinds[i], DO_ALLOWED);

		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
		expect_killed(run_in_child(kinds[i], DO_OPEN));
		expect_killed(run_in_child(kinds[i], DO_EXECVE));
		expect_killed(run_in_child(kinds[i], DO_BAD_IOCTL));
	}
	/* vCPU and control threads have no business creating sockets. */
	expect_killed(run_in_child(SANDBOX_VCPU, DO_SOCKET));
	expect_killed(run_in_child(SANDBOX_CONTROL, DO_SOCKET));
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
