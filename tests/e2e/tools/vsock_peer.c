// SPDX-License-Identifier: MIT
/*
 * The host end of the tiny Linux's vsock check, on merak's unix-socket
 * convention: answers the guest's connection to port 1234 on PATH_1234,
 * then connects to the guest's port 5678 through PATH ("CONNECT 5678\n",
 * answered "OK ..."). Prints one line; exit 0 when both exchanges worked.
 * With --listen-only (the test guests' driver) only the first exchange.
 *
 *   vsock_peer PATH [--listen-only]
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(const char *what)
{
	printf("vsock-peer: FAIL: %s (%s)\n", what, strerror(errno));
	return 1;
}

/* One line (up to size - 1 bytes) within ms; its length, or -1. */
static int read_line(int fd, char *buf, size_t size, int ms)
{
	size_t n = 0;

	while (n < size - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, ms) != 1)
			return -1;
		r = read(fd, buf + n, 1);
		if (r <= 0)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return (int)n;
}

static int unix_addr(struct sockaddr_un *a, const char *path, const char *suffix)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	return snprintf(a->sun_path, sizeof(a->sun_path), "%s%s", path, suffix) <
			       (int)sizeof(a->sun_path)
		       ? 0
		       : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un a;
	char line[128];
	int l, c, s;
	struct pollfd p;
	bool listen_only = argc == 3 && !strcmp(argv[2], "--listen-only");

	if ((argc != 2 && !listen_only) || unix_addr(&a, argv[1], "_1234") < 0) {
		fprintf(stderr, "usage: vsock_peer PATH [--listen-only]\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	unlink(a.sun_path);
	l = socket(AF_UNIX, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0)
		return fail("cannot listen on PATH_1234");
	printf("vsock-peer: listening\n");
	p = (struct pollfd){.fd = l, .events = POLLIN};
	if (poll(&p, 1, 300000) != 1 || (c = accept(l, NULL, NULL)) < 0)
		return fail("the guest never connected to port 1234");
	if (read_line(c, line, sizeof(line), 10000) <= 0)
		return fail("nothing from the guest on port 1234");
	if (dprintf(c, "pong: %s", line) < 0)
		return fail("cannot answer the guest");
	close(c);
	close(l);
	if (listen_only) {
		printf("vsock-peer: ok: answered port 1234\n");
		return 0;
	}

	if (unix_addr(&a, argv[1], "") < 0)
		return fail("path too long");
	for (int tries = 0;; tries++) {
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		    dprintf(s, "CONNECT 5678\n") > 0 && read_line(s, line, sizeof(line), 10000) > 0 &&
		    !strncmp(line, "OK ", 3))
			break;
		if (s >= 0)
			close(s);
		if (tries == 100)
			return fail("CONNECT 5678 through the vsock socket was never answered OK");
		usleep(200000);
	}
	if (dprintf(s, "ping from host\n") < 0 || read_line(s, line, sizeof(line), 10000) <= 0 ||
	    strncmp(line, "pong from guest", 15))
		return fail("no answer from the guest's port 5678");
	close(s);
	printf("vsock-peer: ok: answered port 1234, and port 5678 answered\n");
	return 0;
}
