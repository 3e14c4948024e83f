// SPDX-License-Identifier: MIT
/* `merak remote`: a shell client for the control socket. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"

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

int cmd_remote(int argc, char **argv)
{
	static const struct option opts[] = {
		{"api-socket", required_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	const char *path = NULL, *method = NULL, *call = NULL;
	char req[256], resp[65536];
	size_t got = 0;
	int opt, fd, status;
	char *body;

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
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&pfd, 1, 30000) <= 0) {
			fprintf(stderr, "merak remote: no answer within 30 s\n");
			close(fd);
			return 1;
		}
		n = recv(fd, resp + got, sizeof(resp) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(resp) - 1)
			break;
	}
	close(fd);
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/1.%*c %d", &status) != 1) {
		fprintf(stderr, "merak remote: malformed answer\n");
		return 1;
	}
	body = strstr(resp, "\r\n\r\n");
	body = body ? body + 4 : resp + got;
	if (status / 100 != 2) {
		fprintf(stderr, "merak remote: %s: HTTP %d %s\n", call, status, body);
		return 1;
	}
	if (*body)
		printf("%s\n", body);
	return 0;
}
