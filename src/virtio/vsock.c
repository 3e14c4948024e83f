// SPDX-License-Identifier: MIT
/*
 * virtio-vsock: queue 0 receives (host to guest), 1 transmits, 2 carries
 * events (never used: merak does not migrate). Everything runs on the
 * worker. Control packets owed to the guest are flags on their connection
 * (bounded memory whatever the guest does), plus a small ring of resets for
 * packets that matched no connection.
 */
#include "virtio/vsock.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/log.h"
#include "util/unix_socket.h"

#define RXQ 0
#define TXQ 1
#define EVQ 2
#define MAX_CONNS 1024
#define RST_RING 64
#define CONNECT_LINE_MAX 32

enum conn_state {
	CONN_HOST_HELLO,	/* host client: waiting for "CONNECT <port>\n" */
	CONN_REQUESTED,		/* REQUEST owed or sent to the guest, waiting for RESPONSE */
	CONN_CONNECTED,
};

struct vsock_conn {
	struct virtio_watch w;
	struct virtio_vsock *v;
	enum conn_state state;
	u32 local_port, peer_port;	/* host side, guest side */
	/* Flow control (§5.10.6.3): wrapping 32-bit counters. */
	u32 peer_buf_alloc, peer_fwd_cnt;
	u32 tx_cnt;			/* payload bytes sent to the guest */
	u32 fwd_cnt, fwd_cnt_sent;	/* payload bytes delivered to the host socket */
	u8 *buf;			/* guest bytes the host socket did not take yet */
	u32 buf_len;
	char line[CONNECT_LINE_MAX];
	u32 line_len;
	u32 events;			/* what we epoll for */
	bool want_request, want_response, want_credit, want_shutdown, want_rst;
	bool readable;			/* host socket may have data for the guest */
	bool host_eof, peer_shut_send, shut_wr_pending;
	struct vsock_conn *next;
};

struct vsock_rst {
	u32 src_port, dst_port;	/* as seen from the host */
};

struct virtio_vsock {
	struct virtio_dev vd;
	u64 guest_cid;
	char *path;
	struct virtio_watch listener;
	struct vsock_conn *conns;
	unsigned nconns;
	u32 next_port;
	struct vsock_rst rst[RST_RING];
	unsigned rst_head, rst_len;
	struct virtq_chain chain;
	u8 io[64 * 1024];
	u64 rx_packets, tx_packets, dropped;
};

/* ---- connections ------------------------------------------------------------ */

static void conn_set_events(struct vsock_conn *c, u32 ev)
{
	if (c->events == ev)
		return;
	if (virtio_watch_mod(&c->v->vd, &c->w, ev) == 0)
		c->events = ev;
}

static void conn_release(struct virtio_watch *w)
{
	struct vsock_conn *c = w->ctx;

	free(c->buf);
	free(c);
}

/*
 * Gone at once for the device (unlinked, unwatched, socket closed); its
 * memory waits for the end of the epoll round, which may still hold an
 * event for its socket.
 */
static void conn_free(struct virtio_vsock *v, struct vsock_conn *c)
{
	struct vsock_conn **pp;

	for (pp = &v->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	virtio_watch_retire(&v->vd, &c->w, conn_release);
	close(c->w.fd);
	c->w.fd = -1;
	v->nconns--;
}

static void conn_cb(struct virtio_watch *w, u32 events);

static struct vsock_conn *conn_new(struct virtio_vsock *v, int fd, enum conn_state st, u32 ev)
{
	struct vsock_conn *c;

	if (v->nconns >= MAX_CONNS)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->w.fd = fd;
	c->w.cb = conn_cb;
	c->w.ctx = c;
	c->v = v;
	c->state = st;
	c->events = ev;
	if (virtio_watch_add(&v->vd, &c->w, ev) < 0) {
		free(c);
		return NULL;
	}
	c->next = v->conns;
	v->conns = c;
	v->nconns++;
	return c;
}

static struct vsock_conn *conn_find(struct virtio_vsock *v, u32 local, u32 peer)
{
	for (struct vsock_conn *c = v->conns; c; c = c->next)
		if (c->local_port == local && c->peer_port == peer && c->state != CONN_HOST_HELLO)
			return c;
	return NULL;
}

static bool local_port_used(struct virtio_vsock *v, u32 port)
{
	for (struct vsock_conn *c = v->conns; c; c = c->next)
		if (c->local_port == port && c->state != CONN_HOST_HELLO)
			return true;
	return false;
}

static u32 peer_credit(const struct vsock_conn *c)
{
	u32 in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static void queue_rst(struct virtio_vsock *v, u32 src_port, u32 dst_port)
{
	if (v->rst_len == RST_RING) {
		v->dropped++;	/* the guest times the connection out instead */
		return;
	}
	v->rst[(v->rst_head + v->rst_len++) % RST_RING] = (struct vsock_rst){src_port, dst_port};
}

/* ---- receive path (host to guest) --------------------------------------------- */

static void put_hdr(u8 *h, struct virtio_vsock *v, u32 src_port, u32 dst_port, u32 len, u16 op,
		    u32 flags, const struct vsock_conn *c)
{
	memset(h, 0, VSOCK_HDR_LEN);
	put_le64(h + 0, VSOCK_HOST_CID);
	put_le64(h + 8, v->guest_cid);
	put_le32(h + 16, src_port);
	put_le32(h + 20, dst_port);
	put_le32(h + 24, len);
	put_le16(h + 28, VSOCK_TYPE_STREAM);
	put_le16(h + 30, op);
	put_le32(h + 32, flags);
	put_le32(h + 36, c ? VSOCK_BUF_ALLOC : 0);
	put_le32(h + 40, c ? c->fwd_cnt : 0);
}

/* Pops one receive buffer big enough for a header; 1, 0 (none) or -1 (device failed). */
static int rx_pop(struct virtio_vsock *v)
{
	struct err e;
	int r = virtq_pop(virtio_vq(&v->vd, RXQ), v->vd.env.mem, &v->chain, &e);

	if (r < 0) {
		virtio_fail(&v->vd, "receive queue: %s", e.msg);
		return -1;
	}
	if (r > 0 && v->chain.in_len < VSOCK_HDR_LEN) {
		virtio_fail(&v->vd, "receive buffer of %llu bytes cannot hold a packet header",
			    (unsigned long long)v->chain.in_len);
		return -1;
	}
	return r;
}

static void rx_send(struct virtio_vsock *v, const u8 *hdr, const u8 *data, u32 len)
{
	virtq_chain_write(&v->chain, 0, hdr, VSOCK_HDR_LEN);
	if (len)
		virtq_chain_write(&v->chain, VSOCK_HDR_LEN, data, len);
	virtq_push(virtio_vq(&v->vd, RXQ), v->chain.head, VSOCK_HDR_LEN + len);
	v->rx_packets++;
}

/* The next control packet owed on c, if any: fills hdr, returns true. */
static bool conn_ctrl(struct virtio_vsock *v, struct vsock_conn *c, u8 *hdr, bool *free_after)
{
	u16 op = 0;
	u32 flags = 0;

	*free_after = false;
	if (c->want_rst) {
		op = VSOCK_OP_RST;
		*free_after = true;
	} else if (c->want_request) {
		op = VSOCK_OP_REQUEST;
		c->want_request = false;
	} else if (c->want_response) {
		op = VSOCK_OP_RESPONSE;
		c->want_response = false;
	} else if (c->want_shutdown) {
		op = VSOCK_OP_SHUTDOWN;
		flags = VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND;
		c->want_shutdown = false;
	} else if (c->want_credit) {
		op = VSOCK_OP_CREDIT_UPDATE;
		c->want_credit = false;
	} else {
		return false;
	}
	put_hdr(hdr, v, c->local_port, c->peer_port, 0, op, flags, c);
	c->fwd_cnt_sent = c->fwd_cnt;
	return true;
}

static void rx_process(struct virtio_vsock *v)
{
	u8 hdr[VSOCK_HDR_LEN];
	unsigned done = 0;
	bool progress = true;

	if (!virtio_active(&v->vd) || !v->vd.q[RXQ].enabled)
		return;
	while (progress) {
		progress = false;
		/* Resets for strangers first: they are cheap and bounded. */
		while (v->rst_len) {
			int r = rx_pop(v);
			struct vsock_rst *rs = &v->rst[v->rst_head];

			if (r <= 0)
				goto out;
			put_hdr(hdr, v, rs->src_port, rs->dst_port, 0, VSOCK_OP_RST, 0, NULL);
			rx_send(v, hdr, NULL, 0);
			v->rst_head = (v->rst_head + 1) % RST_RING;
			v->rst_len--;
			done++;
		}
		for (struct vsock_conn *c = v->conns, *next; c; c = next) {
			bool free_after;
			u32 room;
			ssize_t n;
			int r;

			next = c->next;
			if (c->state == CONN_HOST_HELLO)
				continue;
			if (c->want_rst || c->want_request || c->want_response || c->want_shutdown ||
			    c->want_credit) {
				r = rx_pop(v);
				if (r <= 0)
					goto out;
				conn_ctrl(v, c, hdr, &free_after);
				rx_send(v, hdr, NULL, 0);
				done++;
				progress = true;
				if (free_after)
					conn_free(v, c);
				continue;
			}
			if (c->state != CONN_CONNECTED || !c->readable || c->host_eof)
				continue;
			room = peer_credit(c);
			if (!room) {
				conn_set_events(c, c->events & ~(u32)EPOLLIN);
				continue;
			}
			r = rx_pop(v);
			if (r <= 0)
				goto out;
			room = (u32)MIN((u64)room, v->chain.in_len - VSOCK_HDR_LEN);
			room = MIN(room, (u32)sizeof(v->io));
			n = room ? recv(c->w.fd, v->io, room, MSG_DONTWAIT) : -1;
			if (n > 0) {
				put_hdr(hdr, v, c->local_port, c->peer_port, (u32)n, VSOCK_OP_RW, 0, c);
				c->fwd_cnt_sent = c->fwd_cnt;
				c->tx_cnt += (u32)n;
				rx_send(v, hdr, v->io, (u32)n);
				done++;
				progress = true;
				continue;
			}
			/* Nothing to send after all: give the buffer back. */
			virtq_unpop(virtio_vq(&v->vd, RXQ), 1);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR && room)) {
				/* The host closed: tell the guest, wait for its RST. */
				c->host_eof = true;
				c->want_shutdown = true;
				progress = true;
				/* A hung-up socket reports EPOLLHUP whatever we ask: stop watching. */
				virtio_watch_del(&v->vd, &c->w);
				c->events = 0;
				c->readable = false;
				continue;
			}
			c->readable = false;
			conn_set_events(c, c->events | EPOLLIN);
		}
	}
out:
	if (done)
		virtio_queue_notify(&v->vd, RXQ);
}

/* ---- host sockets -------------------------------------------------------------- */

static void conn_flush(struct vsock_conn *c)
{
	while (c->buf_len) {
		ssize_t n = send(c->w.fd, c->buf, c->buf_len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n <= 0)
			break;
		memmove(c->buf, c->buf + n, c->buf_len - (u32)n);
		c->buf_len -= (u32)n;
		c->fwd_cnt += (u32)n;
	}
	if (!c->buf_len && c->shut_wr_pending) {
		shutdown(c->w.fd, SHUT_WR);
		c->shut_wr_pending = false;
	}
	conn_set_events(c, c->buf_len ? c->events | EPOLLOUT : c->events & ~(u32)EPOLLOUT);
	/* Tell the guest about freed space before it stalls on credit. */
	if (c->fwd_cnt - c->fwd_cnt_sent >= VSOCK_BUF_ALLOC / 4)
		c->want_credit = true;
}

/* A host client's "CONNECT <port>\n" line. */
static void host_hello(struct virtio_vsock *v, struct vsock_conn *c)
{
	unsigned long port;
	char *end;
	ssize_t n = recv(c->w.fd, c->line + c->line_len, sizeof(c->line) - 1 - c->line_len,
			 MSG_DONTWAIT | MSG_PEEK);
	char *nl;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0)
		goto drop;
	/* Consume only up to the newline: what follows is payload for the guest. */
	c->line[c->line_len + (u32)n] = '\0';
	nl = strchr(c->line + c->line_len, '\n');
	n = nl ? nl - (c->line + c->line_len) + 1 : n;
	if (recv(c->w.fd, c->line + c->line_len, (size_t)n, MSG_DONTWAIT) != n)
		goto drop;
	c->line_len += (u32)n;
	c->line[c->line_len] = '\0';
	if (!nl) {
		if (c->line_len >= sizeof(c->line) - 1)
			goto drop;
		return;
	}
	if (strncmp(c->line, "CONNECT ", 8) != 0)
		goto drop;
	errno = 0;
	port = strtoul(c->line + 8, &end, 10);
	if (errno || end == c->line + 8 || *end != '\n' || port > 0xffffffffUL)
		goto drop;
	if (!virtio_active(&v->vd))
		goto drop;
	do
		c->local_port = v->next_port++ | 0x40000000u;
	while (local_port_used(v, c->local_port));
	c->peer_port = (u32)port;
	c->state = CONN_REQUESTED;
	c->want_request = true;
	/* No reading until the guest accepts. */
	conn_set_events(c, 0);
	rx_process(v);
	return;
drop:
	conn_free(v, c);
}

static void conn_cb(struct virtio_watch *w, u32 events)
{
	struct vsock_conn *c = w->ctx;
	struct virtio_vsock *v = c->v;

	if (c->state == CONN_HOST_HELLO) {
		host_hello(v, c);
		return;
	}
	if (!virtio_active(&v->vd)) {
		conn_free(v, c);
		return;
	}
	if (events & EPOLLOUT)
		conn_flush(c);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		c->readable = true;
		/* Level-triggered: stop asking until rx_process drains it. */
		conn_set_events(c, c->events & ~(u32)EPOLLIN);
	}
	rx_process(v);
}

static void listener_cb(struct virtio_watch *w, u32 events)
{
	struct virtio_vsock *v = w->ctx;
	int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (!conn_new(v, fd, CONN_HOST_HELLO, EPOLLIN))
		close(fd);
}

/* ---- transmit path (guest to host) ------------------------------------------------ */

static void guest_request(struct virtio_vsock *v, u32 dst_port, u32 src_port, u32 buf_alloc,
			  u32 fwd_cnt)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_conn *c;
	int fd;

	if (conn_find(v, dst_port, src_port)) {
		queue_rst(v, dst_port, src_port);
		return;
	}
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->path, dst_port) >=
	    (int)sizeof(sa.sun_path)) {
		queue_rst(v, dst_port, src_port);
		return;
	}
	/* Non-blocking: a full backlog on the host side is a refusal, not a stall. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		queue_rst(v, dst_port, src_port);
		return;
	}
	c = conn_new(v, fd, CONN_CONNECTED, EPOLLIN);
	if (!c) {
		close(fd);
		queue_rst(v, dst_port, src_port);
		return;
	}
	c->local_port = dst_port;
	c->peer_port = src_port;
	c->peer_buf_alloc = buf_alloc;
	c->peer_fwd_cnt = fwd_cnt;
	c->want_response = true;
}

/* The guest accepted a host-initiated connection: tell the host side, start reading it. */
static void guest_response(struct vsock_conn *c)
{
	char ok[32];
	int n;

	if (c->state != CONN_REQUESTED) {
		c->want_rst = true;
		return;
	}
	n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	c->state = CONN_CONNECTED;
	if (send(c->w.fd, ok, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) != n) {
		c->want_rst = true;
		return;
	}
	c->readable = true;
	conn_set_events(c, EPOLLIN);
}

static void guest_shutdown(struct vsock_conn *c, u32 flags)
{
	if ((flags & (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) ==
	    (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)) {
		/* Full close: the peer expects our RST. */
		conn_flush(c);
		c->want_rst = true;
	} else if (flags & VSOCK_SHUTDOWN_SEND) {
		c->peer_shut_send = true;
		c->shut_wr_pending = true;
		conn_flush(c);
	}
}

/* Data for the host socket, within the buffer space merak advertised. */
static void guest_data(struct vsock_conn *c, const struct virtq_chain *ch, u32 len)
{
	u64 have = ch->out_len - VSOCK_HDR_LEN;

	if (c->state != CONN_CONNECTED || len > have || c->peer_shut_send ||
	    (u64)c->buf_len + len > VSOCK_BUF_ALLOC) {
		c->want_rst = true;
		return;
	}
	if (!c->buf) {
		c->buf = malloc(VSOCK_BUF_ALLOC);
		if (!c->buf) {
			c->want_rst = true;
			return;
		}
	}
	c->buf_len += (u32)virtq_chain_read(ch, VSOCK_HDR_LEN, c->buf + c->buf_len, len);
	conn_flush(c);
}

static void guest_packet(struct virtio_vsock *v, const struct virtq_chain *ch)
{
	u8 h[VSOCK_HDR_LEN];
	u64 src_cid, dst_cid;
	u32 src_port, dst_port, len, flags;
	u16 type, op;
	struct vsock_conn *c;

	if (ch->out_len < VSOCK_HDR_LEN) {
		v->dropped++;
		return;
	}
	virtq_chain_read(ch, 0, h, VSOCK_HDR_LEN);
	src_cid = get_le64(h);
	dst_cid = get_le64(h + 8);
	src_port = get_le32(h + 16);
	dst_port = get_le32(h + 20);
	len = get_le32(h + 24);
	type = get_le16(h + 28);
	op = get_le16(h + 30);
	flags = get_le32(h + 32);
	v->tx_packets++;
	/* A guest cannot speak for another CID; packets not for the host go nowhere. */
	if (src_cid != v->guest_cid || dst_cid != VSOCK_HOST_CID) {
		v->dropped++;
		return;
	}
	if (type != VSOCK_TYPE_STREAM) {
		if (op != VSOCK_OP_RST)
			queue_rst(v, dst_port, src_port);
		return;
	}
	if (op == VSOCK_OP_REQUEST) {
		guest_request(v, dst_port, src_port, get_le32(h + 36), get_le32(h + 40));
		return;
	}
	c = conn_find(v, dst_port, src_port);
	if (!c) {
		if (op != VSOCK_OP_RST)
			queue_rst(v, dst_port, src_port);
		return;
	}
	c->peer_buf_alloc = get_le32(h + 36);
	c->peer_fwd_cnt = get_le32(h + 40);
	switch (op) {
	case VSOCK_OP_RESPONSE:
		guest_response(c);
		break;
	case VSOCK_OP_RST:
		conn_free(v, c);
		return;
	case VSOCK_OP_SHUTDOWN:
		guest_shutdown(c, flags);
		break;
	case VSOCK_OP_RW:
		guest_data(c, ch, len);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;	/* the counters above are the update */
	case VSOCK_OP_CREDIT_REQUEST:
		c->want_credit = true;
		break;
	default:
		c->want_rst = true;
		break;
	}
	/* More credit may let a blocked host socket flow again. */
	if (c->state == CONN_CONNECTED && !c->host_eof && peer_credit(c) &&
	    !(c->events & EPOLLIN) && !c->readable)
		conn_set_events(c, c->events | EPOLLIN);
}

static void tx_process(struct virtio_vsock *v)
{
	struct virtq *vq = virtio_vq(&v->vd, TXQ);
	unsigned done = 0;
	struct err e;
	int r;

	while ((r = virtq_pop(vq, v->vd.env.mem, &v->chain, &e)) > 0) {
		guest_packet(v, &v->chain);
		virtq_push(vq, v->chain.head, 0);
		done++;
	}
	if (r < 0) {
		virtio_fail(&v->vd, "transmit queue: %s", e.msg);
		return;
	}
	if (done)
		virtio_queue_notify(&v->vd, TXQ);
	rx_process(v);
}

static void vsock_kick(void *dev, u16 q)
{
	struct virtio_vsock *v = dev;

	if (q == TXQ)
		tx_process(v);
	else if (q == RXQ)
		rx_process(v);
	/* The event queue only holds buffers for events merak never sends. */
}

static void vsock_reset(void *dev)
{
	struct virtio_vsock *v = dev;

	while (v->conns)
		conn_free(v, v->conns);
	v->rst_len = 0;
}

static void vsock_destroy(void *dev)
{
	virtio_vsock_destroy(dev);
}

static const struct virtio_dev_ops vsock_ops = {
	.reset = vsock_reset,
	.queue_kick = vsock_kick,
	.destroy = vsock_destroy,
};

static int listen_unix(const char *path, int *out, struct err *e)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path) - 12)	/* room for "_<port>" */
		return errf(e, -ENAMETOOLONG, "vsock socket path '%s' is too long", path);
	fd = unix_socket_listen(path, "vsock socket path", 64, e);
	if (fd < 0)
		return fd;
	*out = fd;
	return 0;
}

int virtio_vsock_create(const struct virtio_pci_env *env, const struct vsock_config *cfg,
			struct virtio_vsock **out, struct err *e)
{
	struct virtio_vsock *v = calloc(1, sizeof(*v));
	struct virtio_dev_params p = {
		.name = "virtio-vsock",
		.device_id = 19,
		.class_code = 0xff0000,
		.num_queues = 3,
		.queue_size = 256,
		.config_size = 8,
		.ops = &vsock_ops,
	};
	int r;

	if (!v)
		return errf(e, -ENOMEM, "virtio-vsock: out of memory");
	v->listener.fd = -1;
	if (cfg->cid < 3 || cfg->cid == 0xffffffffu) {
		free(v);
		return errf(e, -EINVAL, "vsock cid %u is reserved (use 3 or above)", cfg->cid);
	}
	v->guest_cid = cfg->cid;
	v->next_port = 1024;
	v->path = strdup(cfg->socket);
	p.dev = v;
	if (!v->path) {
		free(v);
		return errf(e, -ENOMEM, "virtio-vsock: out of memory");
	}
	r = virtio_dev_init(&v->vd, env, &p, e);
	if (r == 0)
		r = listen_unix(v->path, &v->listener.fd, e);
	if (r == 0) {
		put_le64(v->vd.config, v->guest_cid);
		v->listener.cb = listener_cb;
		v->listener.ctx = v;
		r = virtio_watch_add(&v->vd, &v->listener, EPOLLIN);
		if (r < 0)
			errf_sys(e, r, "virtio-vsock: epoll");
	}
	if (r < 0) {
		virtio_vsock_destroy(v);
		return r;
	}
	*out = v;
	return 0;
}

struct virtio_dev *virtio_vsock_dev(struct virtio_vsock *v)
{
	return &v->vd;
}

unsigned virtio_vsock_nconns(struct virtio_vsock *v)
{
	return v->nconns;
}

void virtio_vsock_destroy(struct virtio_vsock *v)
{
	if (!v)
		return;
	virtio_dev_destroy(&v->vd);	/* resets: closes every connection */
	if (v->listener.fd >= 0) {
		close(v->listener.fd);
		unlink(v->path);
	}
	free(v->path);
	free(v);
}

static unsigned vsock_count(const struct vm_config *cfg)
{
	return cfg->vsock.enabled ? 1 : 0;
}

static int vsock_add(const struct virtio_pci_env *env, const struct vm_config *cfg,
		     unsigned index, struct virtio_dev **out, struct err *e)
{
	struct virtio_vsock *v;
	int r = virtio_vsock_create(env, &cfg->vsock, &v, e);

	if (r == 0)
		*out = &v->vd;
	return r;
}

static const char *vsock_id(const struct vm_config *cfg, unsigned index)
{
	(void)index;
	return cfg->vsock.id;
}

const struct virtio_device_type virtio_vsock_type = {"vsock", vsock_count, vsock_add, vsock_id};
