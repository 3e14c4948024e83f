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
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/cli.h"

/* The commands, named as ch-remote names them. */
enum remote_arg {
	ARG_NONE,
	ARG_FILE,	/* a JSON file, or - for standard input */
	ARG_DEVICE,	/* JSON, or KEY=VALUE,... as the command line's device options */
	ARG_ID,		/* {"id": ARG} */
};

static const struct {
	const char *cmd;
	const char *method;
	const char *call;
	enum remote_arg arg;
} calls[] = {
	{"ping", "GET", "vmm.ping", ARG_NONE},
	{"shutdown-vmm", "PUT", "vmm.shutdown", ARG_NONE},
	{"create", "PUT", "vm.create", ARG_FILE},
	{"boot", "PUT", "vm.boot", ARG_NONE},
	{"info", "GET", "vm.info", ARG_NONE},
	{"counters", "GET", "vm.counters", ARG_NONE},
	{"pause", "PUT", "vm.pause", ARG_NONE},
	{"resume", "PUT", "vm.resume", ARG_NONE},
	{"shutdown", "PUT", "vm.shutdown", ARG_NONE},
	{"reboot", "PUT", "vm.reboot", ARG_NONE},
	{"power-button", "PUT", "vm.power-button", ARG_NONE},
	{"delete", "PUT", "vm.delete", ARG_NONE},
	{"add-disk", "PUT", "vm.add-disk", ARG_DEVICE},
	{"add-net", "PUT", "vm.add-net", ARG_DEVICE},
	{"add-vsock", "PUT", "vm.add-vsock", ARG_DEVICE},
	{"remove-device", "PUT", "vm.remove-device", ARG_ID},
};

static void remote_usage(FILE *f)
{
	fprintf(f, "usage: merak remote --api-socket PATH COMMAND [ARG]\n"
		   "commands: ping shutdown-vmm create FILE|- boot info counters pause resume\n"
		   "          shutdown reboot power-button delete remove-device ID\n"
		   "          add-disk|add-net|add-vsock JSON|KEY=VALUE,...\n"
		   "          (add-net fd=N or fd=[N,M]: taps this process holds, passed along)\n");
}

/* The longest request body: the API's own limit. */
#define BODY_CAP (64 * 1024)

/* Reads a JSON file (or standard input for "-") into a NUL-terminated buffer. */
static char *read_body_file(const char *path, char *why, size_t why_len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	char *buf = malloc(BODY_CAP + 1);
	size_t n = 0;

	if (!f || !buf) {
		snprintf(why, why_len, "'%s': %s", path, strerror(errno));
		if (f && f != stdin)
			fclose(f);
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, BODY_CAP + 1, f);
	if (f != stdin)
		fclose(f);
	if (n > BODY_CAP) {
		snprintf(why, why_len, "'%s' is longer than %d bytes", path, BODY_CAP);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Appends a JSON string literal. */
static bool put_json_string(char *out, size_t cap, size_t *len, const char *v, size_t vlen)
{
	if (*len + 2 >= cap)
		return false;
	out[(*len)++] = '"';
	for (size_t i = 0; i < vlen; i++) {
		unsigned char ch = (unsigned char)v[i];
		int n;

		if (ch == '"' || ch == '\\')
			n = snprintf(out + *len, cap - *len, "\\%c", ch);
		else if (ch < 0x20)
			n = snprintf(out + *len, cap - *len, "\\u%04x", ch);
		else
			n = snprintf(out + *len, cap - *len, "%c", ch);
		if (n < 0 || (size_t)n >= cap - *len)
			return false;
		*len += (size_t)n;
	}
	if (*len + 1 >= cap)
		return false;
	out[(*len)++] = '"';
	out[*len] = '\0';
	return true;
}

/*
 * KEY=VALUE,... (the command line's device syntax) as a JSON object: on/off
 * and true/false are booleans, digits numbers, the rest strings. A value
 * merak's API does not take is refused there, with the key named.
 */
#define REMOTE_MAX_FDS 8

static char *device_json(const char *arg, char *why, size_t why_len, int *fds, unsigned *n_fds)
{
	char *out = malloc(BODY_CAP);
	size_t len = 0;
	const char *p = arg;

	if (!out) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	if (*arg == '{') {
		snprintf(out, BODY_CAP, "%s", arg);
		return out;
	}
	out[len++] = '{';
	while (*p) {
		const char *comma = strchr(p, ','), *eq;
		size_t pair = comma ? (size_t)(comma - p) : strlen(p), klen, vlen;
		const char *v;
		bool number = true;
		int n;

		eq = memchr(p, '=', pair);
		if (!eq || eq == p) {
			snprintf(why, why_len, "'%.*s' is not KEY=VALUE", (int)pair, p);
			free(out);
			return NULL;
		}
		klen = (size_t)(eq - p);
		v = eq + 1;
		vlen = pair - klen - 1;
		/* fd=N or fd=[N,M]: descriptors passed with the request, as ch-remote does. */
		if (klen == 2 && !strncmp(p, "fd", 2)) {
			char list[64], *tok, *save = NULL;

			snprintf(list, sizeof(list), "%.*s", (int)vlen, v);
			for (tok = strtok_r(list, "[],", &save); tok; tok = strtok_r(NULL, "[],", &save)) {
				char *end;
				long num = strtol(tok, &end, 10);

				if (*end || num < 0 || num > 65535 || *n_fds == REMOTE_MAX_FDS) {
					snprintf(why, why_len, "fd: '%s' is not a file descriptor number", tok);
					free(out);
					return NULL;
				}
				fds[(*n_fds)++] = (int)num;
			}
			p += pair + (comma ? 1 : 0);
			continue;
		}
		for (size_t i = 0; i < vlen; i++)
			number &= v[i] >= '0' && v[i] <= '9';
		if (len > 1)
			out[len++] = ',';
		if (!put_json_string(out, BODY_CAP, &len, p, klen))
			goto too_long;
		out[len++] = ':';
		if (vlen && number && vlen < 20)
			n = snprintf(out + len, BODY_CAP - len, "%.*s", (int)vlen, v);
		else if ((vlen == 2 && !strncmp(v, "on", 2)) || (vlen == 4 && !strncmp(v, "true", 4)))
			n = snprintf(out + len, BODY_CAP - len, "true");
		else if ((vlen == 3 && !strncmp(v, "off", 3)) ||
			 (vlen == 5 && !strncmp(v, "false", 5)))
			n = snprintf(out + len, BODY_CAP - len, "false");
		else
			n = put_json_string(out, BODY_CAP, &len, v, vlen) ? 0 : -1;
		if (n < 0 || (size_t)n >= BODY_CAP - len)
			goto too_long;
		len += (size_t)n;
		p += pair + (comma ? 1 : 0);
	}
	if (len + 2 > BODY_CAP)
		goto too_long;
	out[len++] = '}';
	out[len] = '\0';
	return out;
too_long:
	snprintf(why, why_len, "the device description is too long");
	free(out);
	return NULL;
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

/* The request's head, with the descriptors (SCM_RIGHTS) riding on its first byte. */
static ssize_t send_head(int fd, const char *head, const int *fds, unsigned n_fds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * REMOTE_MAX_FDS)];
	} ctl;
	struct iovec iov = {(void *)head, strlen(head)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (n_fds) {
		struct cmsghdr *h;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		h = CMSG_FIRSTHDR(&msg);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(h), fds, sizeof(int) * n_fds);
	}
	return sendmsg(fd, &msg, MSG_NOSIGNAL);
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
	enum remote_arg arg = ARG_NONE;
	char head[256], *resp = NULL, *json = NULL;
	int fds[REMOTE_MAX_FDS];
	unsigned n_fds = 0;
	size_t json_len;
	const char *body;
	char why[160];
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
	if (!path || optind >= argc) {
		remote_usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		if (!strcmp(argv[optind], calls[i].cmd)) {
			method = calls[i].method;
			call = calls[i].call;
			arg = calls[i].arg;
		}
	if (!call) {
		fprintf(stderr, "merak remote: unknown command '%s'\n", argv[optind]);
		remote_usage(stderr);
		return EXIT_USAGE;
	}
	if (optind + (arg == ARG_NONE ? 1 : 2) != argc) {
		fprintf(stderr, "merak remote: %s takes %s\n", argv[optind],
			arg == ARG_NONE ? "no argument" : "one argument");
		return EXIT_USAGE;
	}
	if (arg == ARG_FILE) {
		json = read_body_file(argv[optind + 1], why, sizeof(why));
	} else if (arg == ARG_DEVICE) {
		json = device_json(argv[optind + 1], why, sizeof(why), fds, &n_fds);
	} else if (arg == ARG_ID) {
		json = malloc(BODY_CAP);
		json_len = 0;
		if (json) {
			json_len = (size_t)snprintf(json, BODY_CAP, "{\"id\":");
			if (!put_json_string(json, BODY_CAP, &json_len, argv[optind + 1],
					     strlen(argv[optind + 1]))) {
				free(json);
				json = NULL;
			} else {
				strcat(json, "}");
			}
		}
		snprintf(why, sizeof(why), "the id is too long");
	}
	if (arg != ARG_NONE && !json) {
		fprintf(stderr, "merak remote: %s: %s\n", argv[optind], why);
		return 1;
	}
	json_len = json ? strlen(json) : 0;
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
		free(json);
		return 1;
	}
	snprintf(head, sizeof(head),
		 "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\n%sContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n",
		 method, call, json ? "Content-Type: application/json\r\n" : "", json_len);
	if (send_head(fd, head, fds, n_fds) != (ssize_t)strlen(head) ||
	    (json_len && send(fd, json, json_len, MSG_NOSIGNAL) != (ssize_t)json_len)) {
		fprintf(stderr, "merak remote: send failed: %s\n", strerror(errno));
		close(fd);
		free(json);
		return 1;
	}
	free(json);
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
