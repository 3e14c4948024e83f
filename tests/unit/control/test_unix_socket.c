// SPDX-License-Identifier: MIT
/* unix_socket_listen: a stale socket is replaced, a live one or a non-socket refused. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/unix_socket.h"

struct fixture {
	char dir[64];
	char path[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	strcpy(f->dir, "/tmp/merak-usock-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/s.sock", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct sockaddr_un addr_of(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	strcpy(sa.sun_path, path);
	return sa;
}

/* A socket bound at path: listening (a live server) or not (what a dead one leaves). */
static int bound_socket(const char *path, bool listening)
{
	struct sockaddr_un sa = addr_of(path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static bool accepts(int listen_fd, const char *path)
{
	struct sockaddr_un sa = addr_of(path);
	int c = socket(AF_UNIX, SOCK_STREAM, 0), a;
	bool ok;

	assert_true(c >= 0);
	ok = connect(c, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(c);
	if (!ok)
		return false;
	a = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK);
	if (a >= 0)
		close(a);
	return a >= 0;
}

static void test_free_path(void **state)
{
	struct fixture *f = *state;
	struct err e;
	struct stat st;
	int fd = unix_socket_listen(f->path, "API socket", 4, &e);

	assert_true(fd >= 0);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_true(accepts(fd, f->path));
	close(fd);
}

static void test_stale_socket_replaced(void **state)
{
	struct fixture *f = *state;
	struct err e;
	int fd;

	/* Bound, never listening, then closed: the file stays, nobody accepts. */
	close(bound_socket(f->path, false));
	fd = unix_socket_listen(f->path, "API socket", 4, &e);
	assert_true(fd >= 0);
	assert_true(accepts(fd, f->path));
	close(fd);

	/* And what a listening server leaves when it dies (this one, closed). */
	fd = unix_socket_listen(f->path, "vsock socket path", 4, &e);
	assert_true(fd >= 0);
	assert_true(accepts(fd, f->path));
	close(fd);
}

static void test_live_socket_refused(void **state)
{
	struct fixture *f = *state;
	struct err e;
	char want[256];
	int live = bound_socket(f->path, true);

	assert_int_equal(unix_socket_listen(f->path, "API socket", 4, &e), -EADDRINUSE);
	snprintf(want, sizeof(want), "API socket '%s' is in use by another process", f->path);
	assert_string_equal(e.msg, want);
	/* The live server keeps its path and its clients. */
	assert_true(accepts(live, f->path));

	/* Even with its backlog full (connect says EAGAIN): still live. */
	int waiting[64], n = 0;

	for (; n < 64; n++) {
		struct sockaddr_un sa = addr_of(f->path);

		waiting[n] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (connect(waiting[n], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			assert_int_equal(errno, EAGAIN);
			close(waiting[n]);
			break;
		}
	}
	assert_true(n < 64);
	assert_int_equal(unix_socket_listen(f->path, "vsock socket path", 4, &e), -EADDRINUSE);
	assert_non_null(strstr(e.msg, "is in use by another process"));
	while (n--)
		close(waiting[n]);
	close(live);
}

static void test_not_a_socket_refused(void **state)
{
	struct fixture *f = *state;
	struct err e;
	char want[256], buf[8] = {0};
	int fd = open(f->path, O_CREAT | O_WRONLY | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(unix_socket_listen(f->path, "API socket", 4, &e), -EEXIST);
	snprintf(want, sizeof(want), "API socket '%s' exists and is not a socket", f->path);
	assert_string_equal(e.msg, want);
	fd = open(f->path, O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 4);
	assert_string_equal(buf, "keep");
	close(fd);
	unlink(f->path);

	/* Nor is a directory, or a symbolic link. */
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(unix_socket_listen(f->path, "API socket", 4, &e), -EEXIST);
	assert_int_equal(rmdir(f->path), 0);
	assert_int_equal(symlink("/tmp", f->path), 0);
	assert_int_equal(unix_socket_listen(f->path, "API socket", 4, &e), -EEXIST);
	assert_int_equal(unlink(f->path), 0);
}

static void test_bad_paths(void **state)
{
	char longpath[200];
	struct err e;

	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(unix_socket_listen(longpath, "API socket", 4, &e), -ENAMETOOLONG);
	assert_non_null(strstr(e.msg, "path longer than 107 bytes"));
	assert_int_equal(unix_socket_listen("/nonexistent-dir/s.sock", "API socket", 4, &e),
			 -ENOENT);
	assert_string_equal(e.msg,
			    "API socket '/nonexistent-dir/s.sock': No such file or directory");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_free_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_socket_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_socket_refused, setup, teardown),
		cmocka_unit_test(test_bad_paths),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
