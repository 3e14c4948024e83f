// SPDX-License-Identifier: MIT
/* `merak remote`: a shell client for the control socket. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"

static const struct {
	const char *cmd;
	const char *method;
	const char *call;
} calls[] = {
	{"ping", "GET", "vmm.ping"},	   {"info", "GET", "vm.info"},
	{"counters", "GET", "vm.counters"}, {"pause", "PUT", "vm.pause"},
	{"resume", "PUT", "vm.resume"},	   {"shutdown", "PUT", "vm.shutdown"},
	{"power-button", "PUT", "vm.power-button"},
};

static void remote_usage(FILE *f)
{
	fprintf(f, "usage: merak remote --api-socket PATH COMMAND\n"
		   "commands: ping info counters pause resume shutdown power-button\n");
}

/* merak's longest answer is 256 KiB; anything past this is not merak. */
#define ANSWER_CAP (1024 * 1024)

/*
 * Reads until the server closes (the request says Connection: close).
 * Returns the length, NUL-terminated in *out, or a negative errno.
 */
static ssize_t read_answer(int fd, char **out)
{
	size_t got = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (cap - got < 4096) {
			char *p = cap >= ANSWER_CAP ? NULL : realloc(buf, cap + 65536);

			if (!p) {
				*out = buf;
				return cap >= ANSWER_CAP ? -EFBIG : -ENOMEM;
			}
			buf = p;
			cap += 65536;
		}
		if (poll(&pfd, 1, 30000) <= 0) {
			*out = buf;
			return -ETIMEDOUT;
		}
		n = recv(fd, buf + got, cap - 1 - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*out = buf;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	return (ssize_t)got;
}

/*
 * Checks an HTTP/1.x answer: status line, headers, and a body exactly as
 * long as Content-Length says (a shorter one is a truncated answer, which
 * must not pass for success). Returns the status with *body set, or -1 with
 * the fault in why.
 */
static int parse_answer(char *resp, size_t len, const char **body, char *why, size_t why_len)
{
	char *head_end = strstr(resp, "\r\n\r\n"), *line;
	long long content_length = -1;
	size_t have;
	int status;

	if (strlen(resp) != len) {
		snprintf(why, why_len, "a NUL byte in it");
		return -1;
	}
	if (len < 12 || memcmp(resp, "HTTP/1.", 7) || (resp[7] != '0' && resp[7] != '1') ||
	    resp[8] != ' ' || resp[9] < '1' || resp[9] > '5' || resp[10] < '0' || resp[10] > '9' ||
	    resp[11] < '0' || resp[11] > '9' || (resp[12] != ' ' && resp[12] != '\r')) {
		snprintf(why, why_len, "%s", len ? "no HTTP status line" : "empty");
		return -1;
	}
	status = (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0');
	if (!head_end) {
		snprintf(why, why_len, "headers cut short");
		return -1;
	}
	*head_end = '\0';
	for (line = strstr(resp, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
		char *end;

		if (strncasecmp(line + 2, "Content-Length:", 15))
			continue;
		errno = 0;
		content_length = strtoll(line + 17, &end, 10);
		if (errno || content_length < 0 || line + 17 == end ||
		    (*end && *end != '\r' && *end != ' ')) {
			snprintf(why, why_len, "bad Content-Length");
			return -1;
		}
	}
	*body = head_end + 4;
	have = len - (size_t)(*body - resp);
	if (content_length >= 0 && (size_t)content_length != have) {
		snprintf(why, why_len, "%s: %zu of %lld body bytes",
			 (size_t)content_length > have ? "truncated" : "data past the body", have,
			 content_length);
		return -1;
	}
	return status;
}

int cmd_remote(int argc, char **argv)
{
	static const struct option opts[] = {
		{"api-socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const char *path = NULL, *method = NULL, *call = NULL;
	char req[256], *resp = NULL;
	const char *body;
	char why[80];
	ssize_t got;
	int opt, fd, status;

	optind = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (opt == 's') {
			path = strncmp(optarg, "path=", 5) ? optarg : optarg + 5;
		} else if (opt == 'h') {
			remote_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "merak remote: bad option '%s'\n", argv[optind - 1]);
			remote_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!path || optind != argc - 1) {
		remote_usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (!strcmp(argv[optind], calls[i].cmd)) {
			method = calls[i].method;
			call = calls[i].call;
		}
	if (!call) {
		fprintf(stderr, "merak remote: unknown command '%s'\n", argv[optind]);
		remote_usage(stderr);
		return EXIT_USAGE;
	}
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "merak remote: socket path '%s' is too long\n", path);
		return 1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "merak remote: cannot connect to '%s': %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	snprintf(req, sizeof(req),
		 "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n"
		 "Connection: close\r\n\r\n",
		 method, call);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		fprintf(stderr, "merak remote: send failed: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	got = read_answer(fd, &resp);
	close(fd);
	if (got < 0) {
		if (got == -ETIMEDOUT)
			fprintf(stderr, "merak remote: %s: no answer within 30 s\n", call);
		else if (got == -EFBIG)
			fprintf(stderr, "merak remote: %s: answer longer than 1 MiB\n", call);
		else
			fprintf(stderr, "merak remote: %s: reading the answer: %s\n", call,
				strerror((int)-got));
		free(resp);
		return 1;
	}
	status = parse_answer(resp, (size_t)got, &body, why, sizeof(why));
	if (status < 0) {
		fprintf(stderr, "merak remote: %s: bad answer (%s)\n", call, why);
		free(resp);
		return 1;
	}
	if (status / 100 != 2) {
		fprintf(stderr, "merak remote: %s: HTTP %d %s\n", call, status, body);
		free(resp);
		return 1;
	}
	if (*body)
		printf("%s\n", body);
	free(resp);
	return 0;
}
