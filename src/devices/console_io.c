// SPDX-License-Identifier: MIT
#include "devices/console_io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "util/file.h"
#include "util/unix_socket.h"
#include "util/log.h"
#include "vm/sandbox.h"

struct console_io {
	enum chardev_mode mode;
	int out_fd;
	int in_fd;		/* -1 without input */
	bool own_out_fd;
	bool termios_saved;
	struct termios saved;
	int stop_fd;		/* eventfd that ends the reader */
	pthread_t reader;
	bool reader_started;
	console_input_fn fn;
	void *ctx;
	u64 write_errors;
	int sandbox_mode;
	void (*quit)(void *ctx);
	void *quit_ctx;
	bool escape_armed;	/* Ctrl-A seen, waiting for the command key */
	int pty_keep;		/* PTY: merak's own handle on the far end (see open_pty) */
	char pty_path[64];
	/* Socket: the listening socket (in_fd) and its client (out_fd), swapped under lock. */
	pthread_mutex_t lock;
	int client;
	char *socket_path;
};

/*
 * A pseudo-terminal of the device's own (Cloud Hypervisor's Pty mode): the
 * user attaches to its far end (screen /dev/pts/N). merak keeps that end open
 * too, so the near end never reads as hung up between users, and the near
 * end is non-blocking: output nobody reads is dropped once the terminal's
 * buffer is full, it never stalls the vCPU that wrote it.
 */
static int open_pty(struct console_io *c, const char *what, struct err *e)
{
	struct termios t;
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);

	if (m < 0)
		return errf_sys(e, -errno, "%s: cannot open a pseudo-terminal", what);
	if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, c->pty_path, sizeof(c->pty_path))) {
		int r = errf_sys(e, -errno, "%s: pseudo-terminal set-up", what);

		close(m);
		return r;
	}
	c->pty_keep = open(c->pty_path, O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
	if (c->pty_keep >= 0 && tcgetattr(c->pty_keep, &t) == 0) {
		cfmakeraw(&t);
		tcsetattr(c->pty_keep, TCSANOW, &t);
	}
	c->out_fd = c->in_fd = m;
	c->own_out_fd = true;
	/* what names the output file ("serial output file"): its first word names the device. */
	log_warn("%.*s: on pseudo-terminal %s", (int)strcspn(what, " "), what, c->pty_path);
	return 0;
}

const char *console_io_pty_path(const struct console_io *c)
{
	return c && c->mode == CHARDEV_PTY ? c->pty_path : NULL;
}

void console_io_set_escape(struct console_io *c, void (*quit)(void *ctx), void *ctx)
{
	c->quit = quit;
	c->quit_ctx = ctx;
}

/* Filters the escape sequence out of terminal input; returns the bytes left. */
static size_t filter_escape(struct console_io *c, u8 *buf, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		u8 b = buf[i];

		if (c->escape_armed) {
			c->escape_armed = false;
			if (b == 'x' || b == 'X') {
				c->quit(c->quit_ctx);
				continue;
			}
			if (b != CONSOLE_ESCAPE_CHAR)
				buf[out++] = CONSOLE_ESCAPE_CHAR;
			buf[out++] = b;
		} else if (b == CONSOLE_ESCAPE_CHAR) {
			c->escape_armed = true;
		} else {
			buf[out++] = b;
		}
	}
	return out;
}

void console_io_set_sandbox(struct console_io *c, int mode)
{
	c->sandbox_mode = mode;
}

int console_io_open(const struct chardev_config *cfg, const char *what, struct console_io **out,
		    struct err *e)
{
	int r;

	struct console_io *c = calloc(1, sizeof(*c));

	if (!c)
		return errf(e, -ENOMEM, "console: out of memory");
	c->mode = cfg->mode;
	c->out_fd = -1;
	c->in_fd = -1;
	c->stop_fd = -1;
	c->pty_keep = -1;
	c->client = -1;
	pthread_mutex_init(&c->lock, NULL);
	switch (cfg->mode) {
	case CHARDEV_TTY:
		c->out_fd = STDOUT_FILENO;
		c->in_fd = STDIN_FILENO;
		break;
	case CHARDEV_FILE:
		r = file_open_output(cfg->path, what, &c->out_fd, e);
		if (r < 0) {
			free(c);
			return r;
		}
		c->own_out_fd = true;
		break;
	case CHARDEV_PTY:
		r = open_pty(c, what, e);
		if (r < 0) {
			free(c);
			return r;
		}
		break;
	case CHARDEV_SOCKET:
		/* One client at a time has the console; output with none is dropped. */
		c->in_fd = unix_socket_listen(cfg->socket, what, 1, e);
		if (c->in_fd < 0) {
			r = c->in_fd;
			free(c);
			return r;
		}
		c->socket_path = strdup(cfg->socket);
		break;
	case CHARDEV_NULL:
	case CHARDEV_OFF:
		break;
	}
	*out = c;
	return 0;
}

static void write_out(struct console_io *c, const void *buf, size_t len);

void console_io_write(struct console_io *c, const void *buf, size_t len)
{
	if (!c)
		return;
	if (c->mode != CHARDEV_SOCKET) {
		write_out(c, buf, len);
		return;
	}
	/* The reader swaps the client: the fd written to stays the one it checked. */
	pthread_mutex_lock(&c->lock);
	write_out(c, buf, len);
	pthread_mutex_unlock(&c->lock);
}

static void write_out(struct console_io *c, const void *buf, size_t len)
{
	const u8 *p = buf;

	if (c->out_fd < 0)
		return;
	while (len) {
		ssize_t n = write(c->out_fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && (c->mode == CHARDEV_PTY || c->mode == CHARDEV_SOCKET)) {
			/* Nobody reads the terminal: the output is dropped, not waited on. */
			__atomic_add_fetch(&c->write_errors, 1, __ATOMIC_RELAXED);
			return;
		}
		if (n < 0 && errno == EAGAIN) {
			struct pollfd pfd = {.fd = c->out_fd, .events = POLLOUT};
			poll(&pfd, 1, 100);
			continue;
		}
		if (n <= 0) {
			/* A closed or full output loses guest output, never the VM. */
			__atomic_add_fetch(&c->write_errors, 1, __ATOMIC_RELAXED);
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void set_client(struct console_io *c, int fd)
{
	pthread_mutex_lock(&c->lock);
	if (c->client >= 0)
		close(c->client);
	c->client = c->out_fd = fd;
	pthread_mutex_unlock(&c->lock);
}

/*
 * Socket mode: accepts a client (a newer one takes over from an older),
 * feeds what it sends to the device, and drops it when it goes away.
 */
static void *socket_reader(struct console_io *c)
{
	u8 buf[256];

	for (;;) {
		struct pollfd pfd[3] = {
			{.fd = c->in_fd, .events = POLLIN},
			{.fd = c->stop_fd, .events = POLLIN},
			{.fd = c->client, .events = POLLIN},
		};
		ssize_t n;

		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(c->in_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

			if (fd >= 0)
				set_client(c, fd);
			continue;
		}
		if (!(pfd[2].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(c->client, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			set_client(c, -1);	/* gone: the next client gets the console */
			continue;
		}
		c->fn(c->ctx, buf, (size_t)n);
	}
	return NULL;
}

static void *reader_main(void *arg)
{
	struct console_io *c = arg;
	u8 buf[256];
	struct err e;

	/* Input is lost, but the guest and its output carry on. */
	if (sandbox_apply(SANDBOX_CONSOLE, (enum sandbox_mode)c->sandbox_mode, &e) < 0) {
		log_warn("console input disabled: %s", e.msg);
		return NULL;
	}

	if (c->mode == CHARDEV_SOCKET)
		return socket_reader(c);
	for (;;) {
		struct pollfd pfd[2] = {
			{.fd = c->in_fd, .events = POLLIN},
			{.fd = c->stop_fd, .events = POLLIN},
		};
		ssize_t n;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		n = read(c->in_fd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno == EIO && c->pty_keep >= 0)
			continue;	/* a user went away; merak's own handle keeps it open */
		if (n <= 0)
			break;	/* end of input: the guest simply gets no more bytes */
		if (c->termios_saved && c->quit)
			n = (ssize_t)filter_escape(c, buf, (size_t)n);
		if (n)
			c->fn(c->ctx, buf, (size_t)n);
	}
	return NULL;
}

int console_io_start_input(struct console_io *c, console_input_fn fn, void *ctx, struct err *e)
{
	int r;

	if (c->in_fd < 0)
		return 0;
	c->fn = fn;
	c->ctx = ctx;
	if (isatty(c->in_fd) && tcgetattr(c->in_fd, &c->saved) == 0) {
		struct termios raw = c->saved;

		/* Raw input: the guest sees every key, Ctrl-C included; merak is
		 * left with the escape sequence (or only ISIG when none is set). */
		raw.c_iflag &= ~(unsigned)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR |
					   ICRNL | IXON);
		raw.c_lflag &= ~(unsigned)(ECHO | ECHONL | ICANON | IEXTEN);
		if (c->quit)
			raw.c_lflag &= ~(unsigned)ISIG;
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(c->in_fd, TCSANOW, &raw) == 0)
			c->termios_saved = true;
	}
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->stop_fd < 0)
		return errf_sys(e, -errno, "console: eventfd");
	r = pthread_create(&c->reader, NULL, reader_main, c);
	if (r)
		return errf_sys(e, -r, "console: cannot start the input thread");
	c->reader_started = true;
	return 0;
}

void console_io_close(struct console_io *c)
{
	if (!c)
		return;
	if (c->reader_started) {
		u64 one = 1;
		if (write(c->stop_fd, &one, sizeof(one)) < 0) {
			/* The reader then ends at end of input or process exit. */
		}
		pthread_join(c->reader, NULL);
	}
	if (c->termios_saved)
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	if (c->own_out_fd)
		close(c->out_fd);
	if (c->pty_keep >= 0)
		close(c->pty_keep);
	if (c->mode == CHARDEV_SOCKET) {
		if (c->client >= 0)
			close(c->client);
		close(c->in_fd);
		if (c->socket_path)
			unlink(c->socket_path);
		free(c->socket_path);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}
