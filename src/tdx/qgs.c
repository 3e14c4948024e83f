// SPDX-License-Identifier: MIT
#include "tdx/qgs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "util/clock.h"
#include "util/file.h"
#include "vm/sandbox.h"

/* ---- wire format (pure) -------------------------------------------------- */

static void put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

static u32 get_be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

size_t qgs_request_size(u32 report_len)
{
	return QGS_PREFIX_SIZE + QGS_REQ_SIZE + (size_t)report_len;
}

int qgs_encode_request(const u8 *report, u32 report_len, u8 *out, size_t out_cap, struct err *e)
{
	u8 *m = out + QGS_PREFIX_SIZE;

	if (report_len == 0 || report_len > QGS_MAX_REPORT)
		return errf(e, -EINVAL, "QGS request: report of %u bytes (1..%u allowed)",
			    report_len, QGS_MAX_REPORT);
	if (out_cap < qgs_request_size(report_len))
		return errf(e, -ENOSPC, "QGS request: %zu-byte buffer, %zu needed", out_cap,
			    qgs_request_size(report_len));
	put_be32(out, QGS_REQ_SIZE + report_len);
	put_le16(m + 0, QGS_MAJOR);
	put_le16(m + 2, QGS_MINOR);
	put_le32(m + 4, QGS_GET_QUOTE_REQ);
	put_le32(m + 8, QGS_REQ_SIZE + report_len);
	put_le32(m + 12, 0);
	put_le32(m + 16, report_len);
	put_le32(m + 20, 0);	/* no id list: QGS picks the attestation key */
	memcpy(m + QGS_REQ_SIZE, report, report_len);
	return 0;
}

int qgs_frame_status(const u8 *buf, size_t len, size_t *frame_len, struct err *e)
{
	u32 body;

	if (len < QGS_PREFIX_SIZE)
		return 0;
	body = get_be32(buf);
	if (body < QGS_RESP_SIZE || body > QGS_MAX_FRAME - QGS_PREFIX_SIZE)
		return errf(e, -EPROTO, "QGS response: length prefix %u outside [%u, %u]", body,
			    QGS_RESP_SIZE, QGS_MAX_FRAME - QGS_PREFIX_SIZE);
	if (len < QGS_PREFIX_SIZE + (size_t)body)
		return 0;
	*frame_len = QGS_PREFIX_SIZE + body;
	return 1;
}

int qgs_decode_response(const u8 *buf, size_t len, const u8 **quote, u32 *quote_len,
			struct err *e)
{
	size_t frame;
	const u8 *m = buf + QGS_PREFIX_SIZE;
	u32 body, size, err, sel, qlen;
	int r = qgs_frame_status(buf, len, &frame, e);

	if (r < 0)
		return r;
	if (r == 0)
		return errf(e, -EPROTO, "QGS response: truncated at %zu bytes", len);
	if (frame != len)
		return errf(e, -EPROTO, "QGS response: %zu bytes after the %zu-byte frame",
			    len - frame, frame);
	body = (u32)(frame - QGS_PREFIX_SIZE);
	if (get_le16(m) != QGS_MAJOR || get_le16(m + 2) != QGS_MINOR)
		return errf(e, -EPROTO, "QGS response: version %u.%u, expected %u.%u",
			    get_le16(m), get_le16(m + 2), QGS_MAJOR, QGS_MINOR);
	if (get_le32(m + 4) != QGS_GET_QUOTE_RESP)
		return errf(e, -EPROTO, "QGS response: message type %u, expected %u (GET_QUOTE_RESP)",
			    get_le32(m + 4), QGS_GET_QUOTE_RESP);
	size = get_le32(m + 8);
	if (size != body)
		return errf(e, -EPROTO, "QGS response: header size %u but the frame holds %u",
			    size, body);
	err = get_le32(m + 12);
	if (err)
		return errf(e, -EREMOTEIO, "QGS response: error code 0x%x", err);
	sel = get_le32(m + 16);
	qlen = get_le32(m + 20);
	if (sel != 0)
		return errf(e, -EPROTO, "QGS response: selected_id_size %u, expected 0", sel);
	if (qlen == 0 || (u64)qlen != (u64)body - QGS_RESP_SIZE)
		return errf(e, -EPROTO,
			    "QGS response: quote_size %u but %u bytes follow the header", qlen,
			    body - QGS_RESP_SIZE);
	*quote = m + QGS_RESP_SIZE;
	*quote_len = qlen;
	return 0;
}

int qgs_parse_address(const char *s, struct qgs_addr *out, struct err *e)
{
	memset(out, 0, sizeof(*out));
	if (!s)
		return errf(e, -EINVAL, "quote-socket: empty");
	if (!strncmp(s, "unix:", 5)) {
		const char *p = s + 5;

		if (!*p)
			return errf(e, -EINVAL, "quote-socket '%s': empty path", s);
		if (strlen(p) >= sizeof(out->path))
			return errf(e, -ENAMETOOLONG,
				    "quote-socket '%s': path longer than %zu bytes", s,
				    sizeof(out->path) - 1);
		strcpy(out->path, p);
		return 0;
	}
	if (!strncmp(s, "vsock:", 6)) {
		char tmp[64];
		char *colon;
		u64 cid, port;

		if (strlen(s + 6) >= sizeof(tmp))
			return errf(e, -EINVAL, "quote-socket '%s': malformed", s);
		strcpy(tmp, s + 6);
		colon = strchr(tmp, ':');
		if (!colon)
			return errf(e, -EINVAL, "quote-socket '%s': expected vsock:CID:PORT", s);
		*colon = '\0';
		if (parse_u64(tmp, &cid) < 0 || cid > UINT32_MAX ||
		    parse_u64(colon + 1, &port) < 0 || port > UINT32_MAX)
			return errf(e, -EINVAL, "quote-socket '%s': CID and port must be 32-bit numbers",
				    s);
		out->vsock = true;
		out->cid = (u32)cid;
		out->port = (u32)port;
		return 0;
	}
	return errf(e, -EINVAL, "quote-socket '%s': expected unix:PATH or vsock:CID:PORT", s);
}

/* ---- asynchronous client ------------------------------------------------- */

struct qgs_req {
	struct qgs_req *next;
	int fd;
	bool connected;
	u8 *tx;
	size_t tx_len, tx_off;
	u8 *rx;
	size_t rx_len, rx_cap;
	u64 deadline_ms;
	qgs_done_fn done;
	void *ctx;
};

struct qgs_client {
	struct qgs_addr addr;
	u32 timeout_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	struct qgs_req *pending;	/* queued by submit, taken by the thread */
	unsigned inflight;		/* pending + active */
	bool stop;
	int wake_fd;
	/* The thread's start-up: its filter installed (0) or why not, for qgs_client_start. */
	int sandbox_mode;
	pthread_cond_t started_cond;
	bool started;
	struct err start_err;
	int start_status;
};

static void req_free(struct qgs_req *q)
{
	if (q->fd >= 0)
		close(q->fd);
	free(q->tx);
	free(q->rx);
	free(q);
}

static void req_finish(struct qgs_client *c, struct qgs_req *q, enum qgs_result res,
		       const u8 *quote, u32 qlen, const char *why)
{
	/* Counted out first: a callback may already queue the guest's next request. */
	pthread_mutex_lock(&c->lock);
	c->inflight--;
	pthread_mutex_unlock(&c->lock);
	q->done(q->ctx, res, quote, qlen, why);
	req_free(q);
}

/* Starts a non-blocking connect; false with why filled when it fails at once. */
static bool req_connect(struct qgs_client *c, struct qgs_req *q, char *why, size_t wlen)
{
	int r;

	if (c->addr.vsock) {
		struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = c->addr.cid,
					 .svm_port = c->addr.port};
		q->fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (q->fd < 0)
			goto fail;
		r = connect(q->fd, (struct sockaddr *)&sa, sizeof(sa));
	} else {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		memcpy(sa.sun_path, c->addr.path, sizeof(c->addr.path));
		q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (q->fd < 0)
			goto fail;
		r = connect(q->fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (r == 0) {
		q->connected = true;
		return true;
	}
	/* A full unix backlog gives EAGAIN: that is a failure, not progress. */
	if (errno == EINPROGRESS)
		return true;
fail:
	snprintf(why, wlen, "connect to QGS: %s", strerror(errno));
	return false;
}

/* Moves one request forward after poll; returns true when it is finished. */
static bool req_step(struct qgs_client *c, struct qgs_req *q, short rev)
{
	char why[160];

	if (!q->connected) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (!(rev & (POLLOUT | POLLERR | POLLHUP)))
			return false;
		getsockopt(q->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
		if (soerr) {
			snprintf(why, sizeof(why), "connect to QGS: %s", strerror(soerr));
			req_finish(c, q, QGS_UNAVAILABLE, NULL, 0, why);
			return true;
		}
		q->connected = true;
	}
	if (q->tx_off < q->tx_len) {
		ssize_t n;

		if (!(rev & (POLLOUT | POLLERR | POLLHUP)) && q->tx_off)
			return false;
		n = send(q->fd, q->tx + q->tx_off, q->tx_len - q->tx_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (n < 0) {
			snprintf(why, sizeof(why), "send to QGS: %s", strerror(errno));
			req_finish(c, q, QGS_FAILED, NULL, 0, why);
			return true;
		}
		q->tx_off += (size_t)n;
		return false;
	}
	if (rev & (POLLIN | POLLHUP | POLLERR)) {
		struct err e;
		size_t frame;
		ssize_t n;
		int st;

		if (q->rx_len == q->rx_cap) {
			size_t cap = q->rx_cap ? q->rx_cap * 2 : 4096;
			u8 *nb;

			if (cap > QGS_MAX_FRAME + 1)
				cap = QGS_MAX_FRAME + 1;
			nb = realloc(q->rx, cap);
			if (!nb) {
				req_finish(c, q, QGS_FAILED, NULL, 0, "out of memory");
				return true;
			}
			q->rx = nb;
			q->rx_cap = cap;
		}
		n = recv(q->fd, q->rx + q->rx_len, q->rx_cap - q->rx_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return false;
		if (n < 0) {
			snprintf(why, sizeof(why), "receive from QGS: %s", strerror(errno));
			req_finish(c, q, QGS_FAILED, NULL, 0, why);
			return true;
		}
		q->rx_len += (size_t)n;
		st = qgs_frame_status(q->rx, q->rx_len, &frame, &e);
		if (st < 0) {
			req_finish(c, q, QGS_FAILED, NULL, 0, e.msg);
			return true;
		}
		if (st == 1) {
			const u8 *quote;
			u32 qlen;

			/* Bytes past the frame are the peer's problem; decode the frame. */
			if (qgs_decode_response(q->rx, frame, &quote, &qlen, &e) < 0)
				req_finish(c, q, QGS_FAILED, NULL, 0, e.msg);
			else
				req_finish(c, q, QGS_OK, quote, qlen, "");
			return true;
		}
		if (n == 0) {
			snprintf(why, sizeof(why),
				 "QGS closed the connection after %zu response bytes", q->rx_len);
			req_finish(c, q, QGS_FAILED, NULL, 0, why);
			return true;
		}
	}
	return false;
}

static void *qgs_thread(void *arg)
{
	struct qgs_client *c = arg;
	struct qgs_req *active = NULL;
	int r;

	/* The thread parses another process's replies: it is filtered before it reads any. */
	r = sandbox_apply(SANDBOX_QGS, (enum sandbox_mode)c->sandbox_mode, &c->start_err);
	pthread_mutex_lock(&c->lock);
	c->start_status = r;
	c->started = true;
	pthread_cond_signal(&c->started_cond);
	pthread_mutex_unlock(&c->lock);
	if (r < 0)
		return NULL;

	for (;;) {
		struct pollfd pfd[QGS_MAX_INFLIGHT + 1];
		struct qgs_req *slot[QGS_MAX_INFLIGHT + 1];
		u64 now, next = UINT64_MAX;
		unsigned n = 1;
		int timeout;
		bool stop;

		pthread_mutex_lock(&c->lock);
		stop = c->stop;
		while (c->pending) {
			struct qgs_req *q = c->pending;
			char why[160];

			c->pending = q->next;
			pthread_mutex_unlock(&c->lock);
			q->next = NULL;
			if (!req_connect(c, q, why, sizeof(why))) {
				req_finish(c, q, QGS_UNAVAILABLE, NULL, 0, why);
			} else {
				q->next = active;
				active = q;
			}
			pthread_mutex_lock(&c->lock);
		}
		pthread_mutex_unlock(&c->lock);
		if (stop)
			break;

		now = monotonic_ms();
		pfd[0] = (struct pollfd){.fd = c->wake_fd, .events = POLLIN};
		for (struct qgs_req **pp = &active; *pp;) {
			struct qgs_req *q = *pp;

			if (now >= q->deadline_ms) {
				char why[64];

				*pp = q->next;
				snprintf(why, sizeof(why), "QGS did not answer within %u ms",
					 c->timeout_ms);
				req_finish(c, q, QGS_FAILED, NULL, 0, why);
				continue;
			}
			next = MIN(next, q->deadline_ms);
			pfd[n] = (struct pollfd){
				.fd = q->fd,
				.events = (!q->connected || q->tx_off < q->tx_len) ? POLLOUT : POLLIN,
			};
			slot[n++] = q;
			pp = &q->next;
		}
		timeout = next == UINT64_MAX ? -1 : (int)MIN(next - now, (u64)INT32_MAX);
		if (poll(pfd, n, timeout) < 0 && errno != EINTR)
			continue;
		if (pfd[0].revents & POLLIN) {
			u64 v;
			if (read(c->wake_fd, &v, sizeof(v)) < 0) {
				/* Nothing to do: the counter is only a wake-up. */
			}
		}
		for (unsigned i = 1; i < n; i++) {
			struct qgs_req *q = slot[i];

			/* A connected socket with data to send is writable; try it at once. */
			if (!pfd[i].revents)
				continue;
			for (struct qgs_req **pp = &active; *pp; pp = &(*pp)->next) {
				if (*pp == q) {
					struct qgs_req *next_q = q->next;
					if (req_step(c, q, pfd[i].revents))
						*pp = next_q;
					break;
				}
			}
		}
	}
	while (active) {
		struct qgs_req *q = active;
		active = q->next;
		req_free(q);
	}
	return NULL;
}

int qgs_client_start(const struct qgs_addr *addr, u32 timeout_ms, int sandbox_mode,
		     struct qgs_client **out, struct err *e)
{
	struct qgs_client *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return errf(e, -ENOMEM, "QGS client: out of memory");
	c->addr = *addr;
	c->timeout_ms = timeout_ms ? timeout_ms : QGS_DEFAULT_TIMEOUT_MS;
	c->sandbox_mode = sandbox_mode;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->started_cond, NULL);
	c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->wake_fd < 0) {
		r = errf_sys(e, -errno, "QGS client: eventfd");
		goto fail;
	}
	r = pthread_create(&c->thread, NULL, qgs_thread, c);
	if (r) {
		r = errf(e, -r, "QGS client: cannot start its thread: %s", strerror(r));
		goto fail;
	}
	pthread_mutex_lock(&c->lock);
	while (!c->started)
		pthread_cond_wait(&c->started_cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	if (c->start_status < 0) {
		pthread_join(c->thread, NULL);
		r = errf(e, c->start_status, "QGS client: %s", c->start_err.msg);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	pthread_cond_destroy(&c->started_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return r;
}

int qgs_client_submit(struct qgs_client *c, const u8 *report, u32 report_len, qgs_done_fn done,
		      void *ctx, struct err *e)
{
	struct qgs_req *q;
	u64 one = 1;
	int r;

	pthread_mutex_lock(&c->lock);
	if (c->inflight >= QGS_MAX_INFLIGHT) {
		pthread_mutex_unlock(&c->lock);
		return errf(e, -EBUSY, "QGS client: %u requests already in flight",
			    QGS_MAX_INFLIGHT);
	}
	c->inflight++;
	pthread_mutex_unlock(&c->lock);

	q = calloc(1, sizeof(*q));
	if (!q || !(q->tx = malloc(qgs_request_size(report_len)))) {
		r = errf(e, -ENOMEM, "QGS client: out of memory");
		goto fail;
	}
	q->fd = -1;
	q->tx_len = qgs_request_size(report_len);
	r = qgs_encode_request(report, report_len, q->tx, q->tx_len, e);
	if (r < 0)
		goto fail;
	q->done = done;
	q->ctx = ctx;
	q->deadline_ms = monotonic_ms() + c->timeout_ms;
	pthread_mutex_lock(&c->lock);
	q->next = c->pending;
	c->pending = q;
	pthread_mutex_unlock(&c->lock);
	if (write(c->wake_fd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow with single increments. */
	}
	return 0;
fail:
	if (q) {
		free(q->tx);
		free(q);
	}
	pthread_mutex_lock(&c->lock);
	c->inflight--;
	pthread_mutex_unlock(&c->lock);
	return r;
}

unsigned qgs_client_inflight(struct qgs_client *c)
{
	unsigned n;

	pthread_mutex_lock(&c->lock);
	n = c->inflight;
	pthread_mutex_unlock(&c->lock);
	return n;
}

void qgs_client_stop(struct qgs_client *c)
{
	u64 one = 1;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	c->stop = true;
	pthread_mutex_unlock(&c->lock);
	if (write(c->wake_fd, &one, sizeof(one)) < 0) {
		/* See qgs_client_submit. */
	}
	pthread_join(c->thread, NULL);
	while (c->pending) {
		struct qgs_req *q = c->pending;
		c->pending = q->next;
		req_free(q);
	}
	close(c->wake_fd);
	pthread_cond_destroy(&c->started_cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
