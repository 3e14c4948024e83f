// SPDX-License-Identifier: MIT
#include "control/api.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "util/unix_socket.h"
#include "vm/sandbox.h"
#include "vm/vm.h"
#include "control/http.h"

#define CONN_BUF (HTTP_MAX_HEAD + HTTP_MAX_BODY)
/* The longest answer (vm.counters of 64 vCPUs is well under it). */
#define ANSWER_MAX (256 * 1024)
/*
 * Buffered requests are served while less output than this waits for the
 * client: one that reads late stalls only itself, holding at most this much
 * plus one answer, and is served again as it drains.
 */
#define OUT_HIGH (64 * 1024)
/* An output buffer larger than this is given back once it drains. */
#define OUT_KEEP (16 * 1024)

struct conn {
	int fd;
	u32 events;		/* what epoll watches for now */
	u8 in[CONN_BUF];
	size_t in_len;
	char *out;		/* answers not yet sent: out[out_off, out_len) */
	size_t out_off, out_len, out_cap;
	u64 deadline_ms;	/* for the request arriving; 0 while idle or answering */
	u64 out_deadline_ms;	/* for the client to take some of its answers */
	u64 idle_deadline_ms;	/* keep-alive between requests: the slot is not held forever */
	bool peer_closed;	/* the client sent all it will: answer it, then close */
	bool close_after;	/* no more requests: close once the answers are out */
	bool shutdown_after;	/* vm.shutdown: stop the VM once the reply is out */
};

struct api_server {
	struct vm *vm;
	char path[108];
	int listen_fd;
	int epfd;
	int stop_fd;
	pthread_t thread;
	struct conn *conns[API_MAX_CONNECTIONS];
};

static const char *state_name(enum vm_state s)
{
	switch (s) {
	case VM_CREATED:
		return "Created";
	case VM_RUNNING:
		return "Running";
	case VM_PAUSED:
		return "Paused";
	case VM_STOPPING:
		return "Shutdown";
	}
	return "Unknown";
}

static const char *chardev_name(enum chardev_mode m)
{
	switch (m) {
	case CHARDEV_OFF:
		return "Off";
	case CHARDEV_NULL:
		return "Null";
	case CHARDEV_TTY:
		return "Tty";
	case CHARDEV_FILE:
		return "File";
	}
	return "Off";
}

static void add_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static json_object *chardev_json(const struct chardev_config *c)
{
	json_object *o = json_object_new_object();

	add_str(o, "mode", chardev_name(c->mode));
	add_str(o, "file", c->path);
	return o;
}

static json_object *vm_info_json(struct vm *vm)
{
	const struct vm_config *c = vm->cfg;
	json_object *root = json_object_new_object(), *cfg = json_object_new_object();
	json_object *cpus = json_object_new_object(), *mem = json_object_new_object();
	json_object *payload = json_object_new_object(), *disks = json_object_new_array();
	json_object *nets = json_object_new_array(), *platform = json_object_new_object();
	enum vm_state state;

	json_object_object_add(cpus, "boot_vcpus", json_object_new_int((int)c->cpus));
	json_object_object_add(cpus, "max_vcpus", json_object_new_int((int)c->cpus));
	json_object_object_add(cfg, "cpus", cpus);
	json_object_object_add(mem, "size", json_object_new_int64((int64_t)c->mem_size));
	json_object_object_add(cfg, "memory", mem);
	add_str(payload, "kernel", c->kernel);
	add_str(payload, "initramfs", c->initramfs);
	add_str(payload, "cmdline", c->cmdline);
	add_str(payload, "firmware", c->firmware);
	json_object_object_add(cfg, "payload", payload);
	for (unsigned i = 0; i < c->n_disks; i++) {
		json_object *d = json_object_new_object();
		add_str(d, "path", c->disks[i].path);
		json_object_object_add(d, "readonly", json_object_new_boolean(c->disks[i].readonly));
		if (c->disks[i].serial[0])
			add_str(d, "serial", c->disks[i].serial);
		json_object_array_add(disks, d);
	}
	json_object_object_add(cfg, "disks", disks);
	for (unsigned i = 0; i < c->n_nets; i++) {
		json_object *n = json_object_new_object();
		add_str(n, "tap", c->nets[i].tap);
		if (c->nets[i].has_mac) {
			char mac[18];
			const u8 *m = c->nets[i].mac;
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
				 m[3], m[4], m[5]);
			add_str(n, "mac", mac);
		}
		json_object_array_add(nets, n);
	}
	json_object_object_add(cfg, "net", nets);
	json_object_object_add(cfg, "serial", chardev_json(&c->serial));
	json_object_object_add(cfg, "console", chardev_json(&c->console));
	json_object_object_add(platform, "tdx", json_object_new_boolean(c->tdx.enabled));
	add_str(platform, "irqchip", c->irqchip == IRQCHIP_SPLIT ? "split" : "kernel");
	json_object_object_add(cfg, "platform", platform);
	json_object_object_add(root, "config", cfg);
	state = vm_get_state(vm);
	add_str(root, "state", state_name(state));
	json_object_object_add(root, "memory_actual_size",
			       json_object_new_int64((int64_t)vm_ram_size(vm)));
	return root;
}

/* vm.counters: one JSON object per group, filled as the VM's counter walk goes. */
struct counters_out {
	json_object *root;
	json_object *group;
};

static void counters_group(void *arg, const char *name)
{
	struct counters_out *o = arg;

	o->group = json_object_new_object();
	json_object_object_add(o->root, name, o->group);
}

static void counters_value(void *arg, const char *key, u64 value)
{
	struct counters_out *o = arg;

	json_object_object_add(o->group, key, json_object_new_int64((int64_t)value));
}

static json_object *vm_counters_json(struct vm *vm)
{
	static const struct vm_counter_visitor v = {counters_group, counters_value};
	struct counters_out o = {.root = json_object_new_object()};

	vm_walk_counters(vm, &v, &o);
	return o.root;
}

static size_t out_pending(const struct conn *c)
{
	return c->out_len - c->out_off;
}

/* Makes room for `need` more bytes of output; false if memory ran out. */
static bool out_reserve(struct conn *c, size_t need)
{
	char *p;

	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, out_pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + need <= c->out_cap)
		return true;
	p = realloc(c->out, c->out_len + need);
	if (!p)
		return false;
	c->out = p;
	c->out_cap = c->out_len + need;
	return true;
}

/* Appends a response to the connection's output. */
static void queue_response(struct conn *c, int status, json_object *body, bool keep_alive)
{
	const char *text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN)
				: NULL;
	size_t len = text ? strlen(text) : 0, head = 256;
	int n = -1;

	if (len > ANSWER_MAX) {
		status = 500;
		text = NULL;
		len = 0;
	}
	if (!out_pending(c))
		c->out_deadline_ms = monotonic_ms() + API_REQUEST_TIMEOUT_MS;
	if (out_reserve(c, head + len)) {
		n = http_format_response(c->out + c->out_len, c->out_cap - c->out_len, status,
					 text ? "application/json" : NULL, text, len, keep_alive);
		if (n < 0) {
			keep_alive = false;
			n = http_format_response(c->out + c->out_len, c->out_cap - c->out_len, 500,
						 NULL, NULL, 0, false);
		}
	}
	if (n > 0)
		c->out_len += (size_t)n;
	/* Without an answer the client must not wait for one: close. */
	if (n <= 0 || !keep_alive)
		c->close_after = true;
	if (body)
		json_object_put(body);
}

static json_object *error_body(const char *msg)
{
	json_object *o = json_object_new_object();

	add_str(o, "error", msg);
	return o;
}

/* Routes one request; the response goes into c->out. */
static void handle_request(struct api_server *s, struct conn *c, const struct http_request *req)
{
	static const char prefix[] = "/api/v1/";
	const char *call = req->path;
	bool get = !strcmp(req->method, "GET"), put = !strcmp(req->method, "PUT");
	struct err e;

	if (strncmp(call, prefix, sizeof(prefix) - 1)) {
		queue_response(c, 404, error_body("unknown path"), req->keep_alive);
		return;
	}
	call += sizeof(prefix) - 1;
	if (!strcmp(call, "vmm.ping")) {
		json_object *o = json_object_new_object();

		if (!get) {
			queue_response(c, 405, error_body("use GET"), req->keep_alive);
			json_object_put(o);
			return;
		}
		add_str(o, "build_version", "merak " MERAK_VERSION);
		add_str(o, "version", MERAK_VERSION);
		json_object_object_add(o, "pid", json_object_new_int64(getpid()));
		json_object_object_add(o, "features", json_object_new_array());
		queue_response(c, 200, o, req->keep_alive);
	} else if (!strcmp(call, "vm.info") || !strcmp(call, "vm.counters")) {
		if (!get) {
			queue_response(c, 405, error_body("use GET"), req->keep_alive);
			return;
		}
		queue_response(c, 200,
			       call[3] == 'i' ? vm_info_json(s->vm) : vm_counters_json(s->vm),
			       req->keep_alive);
	} else if (!strcmp(call, "vm.pause") || !strcmp(call, "vm.resume")) {
		int r;

		if (!put) {
			queue_response(c, 405, error_body("use PUT"), req->keep_alive);
			return;
		}
		r = call[3] == 'p' ? vm_pause(s->vm, &e) : vm_resume(s->vm, &e);
		if (r < 0)
			queue_response(c, 409, error_body(e.msg), req->keep_alive);
		else
			queue_response(c, 204, NULL, req->keep_alive);
	} else if (!strcmp(call, "vm.shutdown")) {
		if (!put) {
			queue_response(c, 405, error_body("use PUT"), req->keep_alive);
			return;
		}
		queue_response(c, 204, NULL, false);
		c->shutdown_after = true;
	} else if (!strcmp(call, "vm.power-button")) {
		if (!put) {
			queue_response(c, 405, error_body("use PUT"), req->keep_alive);
			return;
		}
		vm_power_button(s->vm);
		queue_response(c, 204, NULL, req->keep_alive);
	} else {
		queue_response(c, 404, error_body("unknown API call"), req->keep_alive);
	}
}

static void conn_close(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];

	if (!c)
		return;
	/* A vm.shutdown answered (or not) to a client that went away still happens. */
	if (c->shutdown_after)
		vm_request_stop(s->vm, VM_STOP_REQUEST, 0, "shut down through the API socket");
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
	s->conns[slot] = NULL;
}

/*
 * Answers the complete requests in the input while the output has room.
 * Returns true if it stopped for want of room, with requests maybe left.
 */
static bool conn_serve(struct api_server *s, struct conn *c)
{
	size_t off = 0;
	bool full = false;

	while (!c->close_after) {
		struct http_request req;
		size_t used = 0;
		int r;

		if (out_pending(c) >= OUT_HIGH) {
			full = true;
			break;
		}
		r = http_parse_request(c->in + off, c->in_len - off, &req, &used);
		if (r == 0)
			break;
		if (r < 0) {
			queue_response(c, -r, error_body("malformed request"), false);
			break;
		}
		handle_request(s, c, &req);
		off += used;
		c->deadline_ms = 0;	/* the next request's time starts when it is awaited */
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return full;
}

/* Sends what output the socket takes; false if the client is gone. */
static bool conn_flush(struct conn *c)
{
	while (out_pending(c)) {
		ssize_t n = send(c->fd, c->out + c->out_off, out_pending(c), MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n <= 0)
			return false;
		c->out_off += (size_t)n;
		/* The deadline is for making progress, not for taking everything. */
		c->out_deadline_ms = monotonic_ms() + API_REQUEST_TIMEOUT_MS;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > OUT_KEEP) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return true;
}

/*
 * Moves a connection on after input arrived, output drained or a deadline
 * passed: serves buffered requests, sends, and chooses what to wait for.
 */
static void conn_progress(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];
	struct epoll_event ev = {.data.u32 = slot};
	bool more;

	do {
		more = conn_serve(s, c);
		if (!conn_flush(c))
			goto close;
		if (out_pending(c))
			break;
		if (c->shutdown_after) {
			c->shutdown_after = false;
			vm_request_stop(s->vm, VM_STOP_REQUEST, 0, "shut down through the API socket");
		}
		if (c->close_after)
			goto close;
	} while (more);
	if (c->peer_closed && !out_pending(c))
		goto close;	/* what is left is a request that cannot complete */

	ev.events = out_pending(c) ? EPOLLOUT : 0;
	if (!c->peer_closed && !c->close_after && out_pending(c) < OUT_HIGH &&
	    c->in_len < sizeof(c->in))
		ev.events |= EPOLLIN;
	if (!ev.events)
		goto close;
	if (ev.events != c->events) {
		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
			goto close;
		c->events = ev.events;
	}
	/* A request's deadline runs only while merak waits for its bytes. */
	if (out_pending(c))
		c->deadline_ms = 0;
	else if (c->in_len && !c->deadline_ms)
		c->deadline_ms = monotonic_ms() + API_REQUEST_TIMEOUT_MS;
	c->idle_deadline_ms = !out_pending(c) && !c->in_len ? monotonic_ms() + API_IDLE_TIMEOUT_MS : 0;
	return;
close:
	conn_close(s, slot);
}

static void conn_event(struct api_server *s, unsigned slot, u32 events)
{
	struct conn *c = s->conns[slot];

	if ((c->events & EPOLLIN) && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);

		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			conn_close(s, slot);
			return;
		}
		if (n == 0)
			c->peer_closed = true;
		else if (n > 0)
			c->in_len += (size_t)n;
	}
	conn_progress(s, slot);
}

static void accept_conn(struct api_server *s)
{
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN};
	unsigned slot;

	if (fd < 0)
		return;
	for (slot = 0; slot < API_MAX_CONNECTIONS && s->conns[slot]; slot++)
		;
	if (slot == API_MAX_CONNECTIONS) {
		static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
					   "Content-Length: 0\r\nConnection: close\r\n\r\n";
		if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* The client is gone or stuck; either way it is dropped. */
		}
		close(fd);
		return;
	}
	s->conns[slot] = calloc(1, sizeof(struct conn));
	if (!s->conns[slot]) {
		close(fd);
		return;
	}
	s->conns[slot]->fd = fd;
	s->conns[slot]->events = EPOLLIN;
	/* A client that connects and says nothing is not kept either. */
	s->conns[slot]->deadline_ms = monotonic_ms() + API_REQUEST_TIMEOUT_MS;
	ev.data.u32 = slot;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		conn_close(s, slot);
}

#define EV_LISTEN 0xfffffff0u
#define EV_STOP	  0xfffffff1u

static void expire_slow_clients(struct api_server *s)
{
	u64 now = monotonic_ms();

	for (unsigned i = 0; i < API_MAX_CONNECTIONS; i++) {
		struct conn *c = s->conns[i];

		if (!c)
			continue;
		if (out_pending(c)) {
			if (now >= c->out_deadline_ms)
				conn_close(s, i);	/* takes none of its answers */
			continue;
		}
		if (!c->in_len && c->idle_deadline_ms && now >= c->idle_deadline_ms) {
			conn_close(s, i);	/* an idle keep-alive: the client reconnects */
			continue;
		}
		if (!c->deadline_ms || now < c->deadline_ms)
			continue;
		queue_response(c, 408, error_body("request timeout"), false);
		conn_progress(s, i);
	}
}

static void *api_main(void *arg)
{
	struct api_server *s = arg;
	struct err e;

	if (sandbox_apply(SANDBOX_CONTROL, (enum sandbox_mode)s->vm->cfg->seccomp, &e) < 0) {
		vm_request_stop(s->vm, VM_STOP_VMM_ERROR, 1, "control socket: %s", e.msg);
		return NULL;
	}

	for (;;) {
		struct epoll_event evs[16];
		int n = epoll_wait(s->epfd, evs, 16, 500);

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			u32 tag = evs[i].data.u32;

			if (tag == EV_STOP)
				return NULL;
			if (tag == EV_LISTEN)
				accept_conn(s);
			else if (tag < API_MAX_CONNECTIONS && s->conns[tag])
				conn_event(s, tag, evs[i].events);
		}
		expire_slow_clients(s);
	}
	return NULL;
}

int api_listen_fd_check(int fd, struct err *e)
{
	int v = 0, r;
	socklen_t len = sizeof(v);

	if (fcntl(fd, F_GETFD) < 0)
		return errf_sys(e, -errno, "API socket fd=%d", fd);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 || v != AF_UNIX ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 || v != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) < 0 || !v)
		return errf(e, -ENOTSOCK, "API socket fd=%d is not a listening unix stream socket",
			    fd);
	r = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (r == 0)
		r = fcntl(fd, F_SETFD, FD_CLOEXEC);
	return r < 0 ? errf_sys(e, -errno, "API socket fd=%d", fd) : fd;
}

int api_server_start(struct vm *vm, const char *path, int listen_fd, struct api_server **out,
		     struct err *e)
{
	struct api_server *s = calloc(1, sizeof(*s));
	struct epoll_event ev = {.events = EPOLLIN};
	int r;

	if (!s)
		return errf(e, -ENOMEM, "API socket: out of memory");
	s->vm = vm;
	s->listen_fd = s->epfd = s->stop_fd = -1;
	if (path && strlen(path) >= sizeof(s->path)) {
		free(s);
		return errf(e, -ENAMETOOLONG, "API socket '%s': path longer than %zu bytes", path,
			    sizeof(s->path) - 1);
	}
	if (path) {
		strcpy(s->path, path);
		s->listen_fd = unix_socket_listen(path, "API socket", 16, e);
	} else {
		s->listen_fd = api_listen_fd_check(listen_fd, e);
	}
	if (s->listen_fd < 0) {
		r = s->listen_fd;
		free(s);
		return r;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (s->epfd < 0 || s->stop_fd < 0) {
		r = errf_sys(e, -errno, "API socket: epoll");
		goto fail;
	}
	ev.data.u32 = EV_LISTEN;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev);
	ev.data.u32 = EV_STOP;
	epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stop_fd, &ev);
	r = pthread_create(&s->thread, NULL, api_main, s);
	if (r) {
		r = errf_sys(e, -r, "API socket: thread");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->listen_fd >= 0) {
		close(s->listen_fd);
		if (path)
			unlink(path);
	}
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	free(s);
	return r;
}

void api_server_stop(struct api_server *s)
{
	u64 one = 1;

	if (!s)
		return;
	if (write(s->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(s->thread, NULL);
	for (unsigned i = 0; i < API_MAX_CONNECTIONS; i++)
		conn_close(s, i);
	close(s->listen_fd);
	if (s->path[0])
		unlink(s->path);
	close(s->epfd);
	close(s->stop_fd);
	free(s);
}
