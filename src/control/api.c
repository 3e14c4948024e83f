// SPDX-License-Identifier: MIT
#include "api.h"

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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../util/clock.h"
#include "../util/log.h"
#include "../vm/sandbox.h"
#include "../vm/vm.h"
#include "http.h"

#define CONN_BUF (HTTP_MAX_HEAD + HTTP_MAX_BODY)
#define OUT_BUF	 (256 * 1024)

struct conn {
	int fd;
	u8 in[CONN_BUF];
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	u64 deadline_ms;	/* 0 while idle between requests */
	bool close_after;
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
	pthread_mutex_lock(&vm->lock);
	state = vm->state;
	pthread_mutex_unlock(&vm->lock);
	add_str(root, "state", state_name(state));
	json_object_object_add(root, "memory_actual_size",
			       json_object_new_int64((int64_t)guest_mem_ram_size(&vm->mem)));
	return root;
}

static void emit_counter(void *arg, const char *key, u64 value)
{
	json_object_object_add(arg, key, json_object_new_int64((int64_t)value));
}

static json_object *vm_counters_json(struct vm *vm)
{
	json_object *root = json_object_new_object();

	for (u32 i = 0; i < vm->ncpus; i++) {
		json_object *c = json_object_new_object();
		char name[32];

		for (int k = 0; k < VM_EXIT_KINDS; k++) {
			u64 n = __atomic_load_n(&vm->vcpus[i].exit_count[k], __ATOMIC_RELAXED);
			u64 ns = __atomic_load_n(&vm->vcpus[i].exit_ns[k], __ATOMIC_RELAXED);
			char key[64];

			if (!n)
				continue;
			snprintf(key, sizeof(key), "exits_%s", vm_exit_kind_name(k));
			emit_counter(c, key, n);
			snprintf(key, sizeof(key), "exits_%s_ns", vm_exit_kind_name(k));
			emit_counter(c, key, ns);
		}
		snprintf(name, sizeof(name), "vcpu%u", i);
		json_object_object_add(root, name, c);
	}
	for (unsigned i = 0; i < vm->n_counters; i++) {
		json_object *c = json_object_new_object();

		vm->counters[i].collect(vm->counters[i].ctx, emit_counter, c);
		json_object_object_add(root, vm->counters[i].name, c);
	}
	return root;
}

static void queue_response(struct conn *c, int status, json_object *body, bool keep_alive)
{
	const char *text = body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN)
				: NULL;
	size_t len = text ? strlen(text) : 0;
	int n;

	free(c->out);
	c->out = malloc(OUT_BUF);
	c->out_off = 0;
	c->out_len = 0;
	if (!c->out)
		return;
	n = http_format_response(c->out, OUT_BUF, status, text ? "application/json" : NULL, text,
				 len, keep_alive);
	if (n < 0)
		n = http_format_response(c->out, OUT_BUF, 500, NULL, NULL, 0, false);
	c->out_len = n > 0 ? (size_t)n : 0;
	c->close_after = !keep_alive;
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
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
	s->conns[slot] = NULL;
}

/* Writes pending output; returns false when the connection is done. */
static bool conn_flush(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];
	struct epoll_event ev = {.data.u32 = slot};

	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			ev.events = EPOLLOUT;
			epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
			return true;
		}
		if (n <= 0)
			return false;
		c->out_off += (size_t)n;
	}
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_off = 0;
	if (c->shutdown_after)
		vm_request_stop(s->vm, 0, "shut down through the API socket");
	if (c->close_after)
		return false;
	ev.events = EPOLLIN;
	epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return true;
}

/* Parses and serves what the buffer holds; returns false to close. */
static bool conn_serve(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];

	while (c->in_len && !c->out) {
		struct http_request req;
		size_t used = 0;
		int r = http_parse_request(c->in, c->in_len, &req, &used);

		if (r == 0) {
			if (!c->deadline_ms)
				c->deadline_ms = monotonic_ms() + API_REQUEST_TIMEOUT_MS;
			return true;
		}
		if (r < 0) {
			queue_response(c, -r, error_body("malformed request"), false);
			return conn_flush(s, slot);
		}
		handle_request(s, c, &req);
		memmove(c->in, c->in + used, c->in_len - used);
		c->in_len -= used;
		c->deadline_ms = c->in_len ? monotonic_ms() + API_REQUEST_TIMEOUT_MS : 0;
		if (!conn_flush(s, slot))
			return false;
		if (c->close_after || c->shutdown_after)
			return true;
	}
	return true;
}

static void conn_readable(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];
	ssize_t n;

	if (c->out) {
		if (!conn_flush(s, slot))
			conn_close(s, slot);
		return;
	}
	if (c->in_len == sizeof(c->in)) {
		queue_response(c, 413, error_body("request too large"), false);
		if (!conn_flush(s, slot))
			conn_close(s, slot);
		return;
	}
	n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		conn_close(s, slot);
		return;
	}
	c->in_len += (size_t)n;
	if (!conn_serve(s, slot))
		conn_close(s, slot);
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

		if (!c || !c->deadline_ms || now < c->deadline_ms)
			continue;
		if (c->out) {
			conn_close(s, i);	/* cannot even take its answer */
			continue;
		}
		queue_response(c, 408, error_body("request timeout"), false);
		if (!conn_flush(s, i))
			conn_close(s, i);
		else
			c->deadline_ms = now + API_REQUEST_TIMEOUT_MS;
	}
}

static void *api_main(void *arg)
{
	struct api_server *s = arg;
	struct err e;

	if (sandbox_apply(SANDBOX_CONTROL, (enum sandbox_mode)s->vm->cfg->seccomp, &e) < 0) {
		vm_request_stop(s->vm, 1, "control socket: %s", e.msg);
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
				conn_readable(s, tag);
		}
		expire_slow_clients(s);
	}
	return NULL;
}

int api_server_start(struct vm *vm, const char *path, struct api_server **out, struct err *e)
{
	struct api_server *s = calloc(1, sizeof(*s));
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN};
	struct stat st;
	int r;

	if (!s)
		return errf(e, -ENOMEM, "API socket: out of memory");
	s->vm = vm;
	s->listen_fd = s->epfd = s->stop_fd = -1;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		free(s);
		return errf(e, -ENAMETOOLONG, "API socket '%s': path longer than %zu bytes", path,
			    sizeof(addr.sun_path) - 1);
	}
	strcpy(addr.sun_path, path);
	strcpy(s->path, path);
	/* A stale socket from a previous run is replaced; anything else is kept. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			free(s);
			return errf(e, -EEXIST, "API socket '%s': exists and is not a socket", path);
		}
		unlink(path);
	}
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(s->listen_fd, 16) < 0) {
		r = errf_sys(e, -errno, "API socket '%s'", path);
		goto fail;
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
	unlink(s->path);
	close(s->epfd);
	close(s->stop_fd);
	free(s);
}
