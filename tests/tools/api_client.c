// SPDX-License-Identifier: MIT
/*
 * Clients and a fake server for tests/control/api.sh, which must stay plain
 * sh: what needs timing, many connections or exact bytes on a socket is here.
 *
 *   api_client pipeline SOCK N DELAY_MS
 *	N pipelined vmm.ping written at once, read DELAY_MS later; all must
 *	be answered 200.
 *   api_client burst SOCK CLIENTS ROUNDS
 *	CLIENTS threads connect at the same moment, wait until the server
 *	has taken them all, and close together; ROUNDS times.
 *   api_client load SOCK CLIENTS REQUESTS CHURNERS
 *	CLIENTS threads each make REQUESTS requests (vmm.ping, vm.info,
 *	vm.counters, then a vm.pause/vm.resume pair): three in four keep
 *	their connection for 100 requests, the fourth takes a new one for
 *	each; CHURNERS threads meanwhile open connections and drop them at
 *	once, mid-request or unread. Every request must get its expected
 *	status (a 503 from a full server is retried on a new connection).
 *   api_client fake-server SOCK truncated|garbage|ok
 *	Answers one connection as told, for `merak remote`. The socket
 *	appears at SOCK only once it listens.
 *
 * Exit status 0 when all went as expected; one summary line on stdout.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 10000

static const char *sock_path;

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int dial(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		p += w;
		n -= (size_t)w;
	}
	return true;
}

/* A connection's input, read as responses: status line, headers, body. */
struct reader {
	int fd;
	char buf[512 * 1024];
	size_t len;
};

/*
 * Reads one response; returns its status, 0 if the server closed cleanly
 * before one began, or -1 on a timeout, a cut or a malformed response.
 */
static int read_response(struct reader *r)
{
	for (;;) {
		char *end = memmem(r->buf, r->len, "\r\n\r\n", 4);

		if (end) {
			size_t head = (size_t)(end + 4 - r->buf), body = 0;
			char *cl;
			int status;

			*end = '\0';
			if (r->len < 12 || strncmp(r->buf, "HTTP/1.1 ", 9))
				return -1;
			status = atoi(r->buf + 9);
			cl = strcasestr(r->buf, "\r\nContent-Length:");
			if (cl)
				body = strtoul(cl + 17, NULL, 10);
			if (r->len >= head + body) {
				memmove(r->buf, r->buf + head + body, r->len - head - body);
				r->len -= head + body;
				return status;
			}
			*end = '\r';
		}
		if (r->len == sizeof(r->buf))
			return -1;
		struct pollfd p = {.fd = r->fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, REPLY_TIMEOUT_MS) <= 0)
			return -1;
		n = recv(r->fd, r->buf + r->len, sizeof(r->buf) - r->len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return r->len ? -1 : 0;
		r->len += (size_t)n;
	}
}

static const char ping[] = "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: merak\r\n\r\n";

static int cmd_pipeline(int n, long delay_ms)
{
	struct reader *r = calloc(1, sizeof(*r));
	size_t len = strlen(ping);
	char *reqs = malloc(len * (size_t)n);
	int ok = 0, other = 0;

	if (!r || !reqs)
		return 2;
	for (int i = 0; i < n; i++)
		memcpy(reqs + (size_t)i * len, ping, len);
	r->fd = dial();
	if (r->fd < 0) {
		printf("pipeline: cannot connect to %s: %s\n", sock_path, strerror(errno));
		return 1;
	}
	if (!send_all(r->fd, reqs, len * (size_t)n)) {
		printf("pipeline: sending %d requests failed: %s\n", n, strerror(errno));
		return 1;
	}
	sleep_ms(delay_ms);
	while (ok + other < n) {
		int s = read_response(r);

		if (s <= 0)
			break;
		if (s == 200)
			ok++;
		else
			other++;
	}
	printf("pipeline: %d of %d pipelined requests answered 200 (%d other answers)\n", ok, n,
	       other);
	close(r->fd);
	free(reqs);
	free(r);
	return ok == n ? 0 : 1;
}

struct burst {
	pthread_barrier_t barrier;
	int rounds;
	int failed;
};

/* All connect, stay long enough to be accepted, and all close together. */
static void *burst_thread(void *arg)
{
	struct burst *b = arg;

	for (int i = 0; i < b->rounds; i++) {
		int fd;

		pthread_barrier_wait(&b->barrier);
		fd = dial();
		if (fd < 0)
			__atomic_add_fetch(&b->failed, 1, __ATOMIC_RELAXED);
		sleep_ms(20);
		pthread_barrier_wait(&b->barrier);
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

static int cmd_burst(int clients, int rounds)
{
	struct burst b = {.rounds = rounds};
	pthread_t t[64];

	if (clients < 1 || clients > 64)
		return 2;
	pthread_barrier_init(&b.barrier, NULL, (unsigned)clients);
	for (int i = 0; i < clients; i++)
		pthread_create(&t[i], NULL, burst_thread, &b);
	for (int i = 0; i < clients; i++)
		pthread_join(t[i], NULL);
	printf("burst: %d clients x %d rounds, %d connections refused\n", clients, rounds,
	       b.failed);
	return b.failed ? 1 : 0;
}

struct load {
	int requests;
	int stop;	/* set when the clients are done: churners stop */
	/* totals */
	int answered, expected, unexpected, lost, retries, churned, churn_failed;
	int by_status[6];	/* 1xx..5xx */
};

static const struct {
	const char *req;
	int ok1, ok2;	/* the statuses that are right for it */
} ops[] = {
	{"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: merak\r\n", 200, 200},
	{"GET /api/v1/vm.info HTTP/1.1\r\nHost: merak\r\n", 200, 200},
	{"GET /api/v1/vm.counters HTTP/1.1\r\nHost: merak\r\n", 200, 200},
	/* Another client may have paused or resumed the VM in between: Cloud Hypervisor's 500. */
	{"PUT /api/v1/vm.pause HTTP/1.1\r\nHost: merak\r\nContent-Length: 0\r\n", 204, 500},
	{"PUT /api/v1/vm.resume HTTP/1.1\r\nHost: merak\r\nContent-Length: 0\r\n", 204, 500},
};
#define NOPS (int)(sizeof(ops) / sizeof(ops[0]))

static void add(int *counter, int n)
{
	__atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

struct load_client {
	struct load *l;
	int index;
};

static void *load_thread(void *arg)
{
	const struct load_client *lc = arg;
	struct load *l = lc->l;
	struct reader *r = calloc(1, sizeof(*r));

	if (!r) {
		add(&l->lost, l->requests);
		return NULL;
	}
	r->fd = -1;
	for (int j = 0; j < l->requests; j++) {
		const int op = j % NOPS;
		bool last = lc->index % 4 == 3 || j % 100 == 99;
		char req[256];
		int status = -1;

		snprintf(req, sizeof(req), "%s%s\r\n", ops[op].req,
			 last ? "Connection: close\r\n" : "");
		for (int tries = 0; tries < 2000; tries++) {
			if (r->fd < 0) {
				r->fd = dial();
				r->len = 0;
				if (r->fd < 0)
					break;
			}
			/* A full server may have answered 503 and closed before the send. */
			bool sent = send_all(r->fd, req, strlen(req));

			status = read_response(r);
			if (!sent && status != 503)
				status = -1;
			if (status == 503) {
				/* A full server answers so on accept: this request was not read. */
				add(&l->retries, 1);
				close(r->fd);
				r->fd = -1;
				sleep_ms(1 + tries % 10);
				continue;
			}
			break;
		}
		if (status <= 0) {
			add(&l->lost, 1);
		} else {
			add(&l->answered, 1);
			add(&l->by_status[status / 100 % 6], 1);
			add(status == ops[op].ok1 || status == ops[op].ok2 ? &l->expected
									 : &l->unexpected,
			    1);
		}
		if ((last || status <= 0) && r->fd >= 0) {
			close(r->fd);
			r->fd = -1;
		}
	}
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return NULL;
}

/* Clients that go away: at once, mid-request, unread, half-closed. */
static void *churn_thread(void *arg)
{
	static const char partial[] = "GET /api/v1/vm.inf";
	struct load *l = arg;
	char buf[4096];

	for (unsigned k = 0; !__atomic_load_n(&l->stop, __ATOMIC_RELAXED); k++) {
		int fd = dial();

		if (fd < 0) {
			add(&l->churn_failed, 1);
			sleep_ms(10);
			continue;
		}
		switch (k % 4) {
		case 0:
			break;
		case 1:
			send_all(fd, partial, sizeof(partial) - 1);
			break;
		case 2:
			send_all(fd, ping, strlen(ping));
			send_all(fd, ping, strlen(ping));
			break;
		case 3:
			send_all(fd, ping, strlen(ping));
			shutdown(fd, SHUT_WR);
			while (recv(fd, buf, sizeof(buf), 0) > 0)
				;
			break;
		}
		close(fd);
		add(&l->churned, 1);
		sleep_ms(1);
	}
	return NULL;
}

static int cmd_load(int clients, int requests, int churners)
{
	struct load l = {.requests = requests};
	struct load_client lc[64];
	pthread_t t[64], c[16];
	int total = clients * requests;

	if (clients < 1 || clients > 64 || churners < 0 || churners > 16)
		return 2;
	for (int i = 0; i < churners; i++)
		pthread_create(&c[i], NULL, churn_thread, &l);
	for (int i = 0; i < clients; i++) {
		lc[i] = (struct load_client){.l = &l, .index = i};
		pthread_create(&t[i], NULL, load_thread, &lc[i]);
	}
	for (int i = 0; i < clients; i++)
		pthread_join(t[i], NULL);
	__atomic_store_n(&l.stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < churners; i++)
		pthread_join(c[i], NULL);
	printf("load: %d of %d requests answered as expected (2xx %d, 4xx %d, 5xx %d; "
	       "%d unexpected, %d unanswered); %d retries after 503; %d throw-away "
	       "connections, %d refused\n",
	       l.expected, total, l.by_status[2], l.by_status[4], l.by_status[5], l.unexpected,
	       l.lost, l.retries, l.churned, l.churn_failed);
	return l.expected == total && !l.churn_failed ? 0 : 1;
}

static int cmd_fake_server(const char *mode)
{
	static const char truncated[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					"Content-Length: 100\r\nConnection: close\r\n\r\n"
					"{\"version\":\"0.";
	static const char garbage[] = "hello, this is not HTTP\r\n";
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
				 "Content-Length: 17\r\nConnection: close\r\n\r\n"
				 "{\"version\":\"0.1\"}";
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *reply = !strcmp(mode, "truncated") ? truncated
			    : !strcmp(mode, "garbage") ? garbage
			    : !strcmp(mode, "ok")      ? ok
						       : NULL;
	char tmp[sizeof(sa.sun_path)], buf[4096];
	size_t got = 0;
	int lfd, fd;

	if (!reply)
		return 2;
	if (snprintf(tmp, sizeof(tmp), "%s.%d", sock_path, (int)getpid()) >= (int)sizeof(tmp))
		return 2;
	strcpy(sa.sun_path, tmp);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0 ||
	    rename(tmp, sock_path) < 0) {
		printf("fake-server: %s: %s\n", sock_path, strerror(errno));
		unlink(tmp);
		return 1;
	}
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return 1;
	/* The request first, so the client never meets a reset. */
	while (got < sizeof(buf) && !memmem(buf, got, "\r\n\r\n", 4)) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	send_all(fd, reply, strlen(reply));
	close(fd);
	close(lfd);
	unlink(sock_path);
	printf("fake-server: answered one client (%s)\n", mode);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3)
		sock_path = argv[2];
	if (argc == 5 && !strcmp(argv[1], "pipeline"))
		return cmd_pipeline(atoi(argv[3]), atol(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "burst"))
		return cmd_burst(atoi(argv[3]), atoi(argv[4]));
	if (argc == 6 && !strcmp(argv[1], "load"))
		return cmd_load(atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
	if (argc == 4 && !strcmp(argv[1], "fake-server"))
		return cmd_fake_server(argv[3]);
	fprintf(stderr, "usage: api_client pipeline SOCK N DELAY_MS | burst SOCK CLIENTS ROUNDS |\n"
			"       load SOCK CLIENTS REQUESTS CHURNERS | fake-server SOCK MODE\n");
	return 2;
}
