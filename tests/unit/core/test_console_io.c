// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pty.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/console_io.h"
#include "util/file.h"

struct sink {
	pthread_mutex_t lock;
	u8 buf[64];
	size_t len;
	int quits;
};

static void collect(void *ctx, const u8 *buf, size_t len)
{
	struct sink *s = ctx;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < len && s->len < sizeof(s->buf); i++)
		s->buf[s->len++] = buf[i];
	pthread_mutex_unlock(&s->lock);
}

static void quit(void *ctx)
{
	struct sink *s = ctx;

	pthread_mutex_lock(&s->lock);
	s->quits++;
	pthread_mutex_unlock(&s->lock);
}

static void wait_for(struct sink *s, size_t len, int quits)
{
	for (int i = 0; i < 200; i++) {
		bool done;

		pthread_mutex_lock(&s->lock);
		done = s->len >= len && s->quits >= quits;
		pthread_mutex_unlock(&s->lock);
		if (done)
			return;
		nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
	}
}

static void test_tty_raw_mode_and_escape(void **state)
{
	struct chardev_config cfg = {.mode = CHARDEV_TTY};
	struct sink s = {.lock = PTHREAD_MUTEX_INITIALIZER};
	struct termios before, during, after;
	struct console_io *c;
	int master, slave, saved_stdin;
	struct err e;
	/* Ctrl-A Ctrl-A gives one Ctrl-A, Ctrl-A c gives both, Ctrl-C is data. */
	static const u8 keys[] = {'a', 'b', 0x01, 0x01, 0x01, 'c', 0x03, 0x01, 'x', 'z'};
	static const u8 want[] = {'a', 'b', 0x01, 0x01, 'c', 0x03, 'z'};

	assert_int_equal(openpty(&master, &slave, NULL, NULL, NULL), 0);
	saved_stdin = dup(STDIN_FILENO);
	assert_true(dup2(slave, STDIN_FILENO) >= 0);
	assert_int_equal(tcgetattr(STDIN_FILENO, &before), 0);

	assert_int_equal(console_io_open(&cfg, "console output file", &c, &e), 0);
	console_io_set_escape(c, quit, &s);
	assert_int_equal(console_io_start_input(c, collect, &s, &e), 0);
	assert_int_equal(tcgetattr(STDIN_FILENO, &during), 0);
	assert_false(during.c_lflag & ICANON);
	assert_false(during.c_lflag & ECHO);
	assert_false(during.c_lflag & ISIG);

	assert_int_equal(write(master, keys, sizeof(keys)), (ssize_t)sizeof(keys));
	wait_for(&s, sizeof(want), 1);
	pthread_mutex_lock(&s.lock);
	assert_int_equal(s.len, sizeof(want));
	assert_memory_equal(s.buf, want, sizeof(want));
	assert_int_equal(s.quits, 1);
	pthread_mutex_unlock(&s.lock);

	console_io_close(c);
	/* The terminal is back as it was. */
	assert_int_equal(tcgetattr(STDIN_FILENO, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_int_equal(after.c_iflag, before.c_iflag);
	dup2(saved_stdin, STDIN_FILENO);
	close(saved_stdin);
	close(master);
	close(slave);
}

static void test_file_output_and_bad_path(void **state)
{
	char path[] = "/tmp/merak-console-XXXXXX";
	struct chardev_config cfg = {.mode = CHARDEV_FILE, .path = path};
	struct console_io *c;
	struct err e;
	char buf[16] = {0};
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(console_io_open(&cfg, "console output file", &c, &e), 0);
	console_io_write(c, "guest\n", 6);
	console_io_close(c);
	assert_int_equal(read(fd, buf, sizeof(buf)), 6);
	assert_string_equal(buf, "guest\n");
	close(fd);
	unlink(path);

	cfg.path = "/nonexistent-dir/out";
	assert_int_equal(console_io_open(&cfg, "console output file", &c, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "/nonexistent-dir/out"));
}

/* FIFOs where a file is meant are refused at once, never waited on. */
static void test_fifo_refused(void **state)
{
	char path[64];
	struct chardev_config cfg = {.mode = CHARDEV_FILE, .path = path};
	struct console_io *c;
	struct file_buf buf;
	struct err e;

	snprintf(path, sizeof(path), "/tmp/merak-fifo-%d", getpid());
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);	/* a hang fails the test instead of stalling the suite */
	assert_int_equal(console_io_open(&cfg, "serial output file", &c, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "serial output file '"));
	assert_non_null(strstr(e.msg, "' is a FIFO, not a regular file"));
	assert_int_equal(file_read_all(path, 1 << 20, "kernel", &buf, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "kernel '"));
	assert_non_null(strstr(e.msg, "not a regular file (a FIFO)"));
	assert_int_equal(file_read_all("/tmp", 1 << 20, "initramfs", &buf, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "(a directory)"));
	alarm(0);
	unlink(path);
}

/* pread at an offset: the file position stays, a file that ends early is named by offset. */
static void test_pread_exact(void **state)
{
	char path[] = "/tmp/merak-pread-XXXXXX";
	u8 buf[16];
	struct err e;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, "0123456789", 10), 10);
	assert_int_equal(lseek(fd, 2, SEEK_SET), 2);
	assert_int_equal(file_pread_exact(fd, 4, buf, 5, &e), 0);
	assert_memory_equal(buf, "45678", 5);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 2);
	assert_int_equal(file_pread_exact(fd, 0, buf, 0, &e), 0);
	assert_int_equal(file_pread_exact(fd, 8, buf, 4, &e), -EIO);
	assert_string_equal(e.msg, "file shrank while reading (offset 0xa)");
	assert_int_equal(file_pread_exact(fd, ~0ULL, buf, 1, &e), -EINVAL);
	close(fd);
	assert_true(file_pread_exact(fd, 0, buf, 1, &e) < 0);
	assert_non_null(strstr(e.msg, "read at offset 0x0 failed"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tty_raw_mode_and_escape),
		cmocka_unit_test(test_file_output_and_bad_path),
		cmocka_unit_test(test_fifo_refused),
		cmocka_unit_test(test_pread_exact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
