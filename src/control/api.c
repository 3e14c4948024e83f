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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices/console_io.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/unix_socket.h"
#include "vm/sandbox.h"
#include "vm/vm.h"
#include "control/http.h"
#include "control/vmconfig.h"
#include "control/vmm.h"

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
	bool exit_after;	/* vmm.shutdown: end the VMM once the reply is out */
	/* File descriptors that came with the request being read (SCM_RIGHTS). */
	int fds[API_MAX_FDS];
	unsigned n_fds;
	bool fds_cut;		/* more came than API_MAX_FDS: the request is refused */
	size_t fds_end;		/* in[] offset where the bytes they came with end */
};

static void close_fds(struct conn *c);

struct api_server {
	struct vmm *vmm;
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

static void add_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

/* Cloud Hypervisor's form of a PCI address: segment:bus:slot.function. */
static void format_bdf(char out[16], unsigned slot)
{
	snprintf(out, 16, "0000:00:%02x.0", slot & 0x1f);
}

static void device_tree_visit(void *arg, const char *type, const char *id, unsigned slot)
{
	json_object *node = json_object_new_object();
	char bdf[16];

	(void)type;
	format_bdf(bdf, slot);
	add_str(node, "id", id);
	json_object_object_add(node, "resources", json_object_new_array());
	json_object_object_add(node, "children", json_object_new_array());
	add_str(node, "pci_bdf", bdf);
	json_object_object_add(arg, id, node);
}

/* vm.info, under the VMM's lock: the configuration as given, and the VM as it runs. */
static json_object *vm_info_json(const struct vm_config *cfg, struct vm *vm)
{
	json_object *root = json_object_new_object();

	json_object *config = vmconfig_json(cfg), *serial;

	/* A serial port on a pseudo-terminal shows where it is, as Cloud Hypervisor's does. */
	if (vm && console_io_pty_path(vm->serial_io) &&
	    json_object_object_get_ex(config, "serial", &serial))
		json_object_object_add(serial, "file",
				       json_object_new_string(console_io_pty_path(vm->serial_io)));
	json_object_object_add(root, "config", config);
	add_str(root, "state", vm ? state_name(vm_get_state(vm)) : "Created");
	json_object_object_add(root, "memory_actual_size",
			       json_object_new_int64((int64_t)(vm ? vm_ram_size(vm) : 0)));
	if (vm) {
		json_object *tree = json_object_new_object();

		board_pci_walk(vm, device_tree_visit, tree);
		json_object_object_add(root, "device_tree", tree);
	}
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
	const int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
	const char *text = body ? json_object_to_json_string_ext(body, flags) : NULL;
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

/* Cloud Hypervisor's error body: a JSON array of messages, the outermost first. */
static json_object *error_body(const char *msg)
{
	json_object *o = json_object_new_array();

	json_object_array_add(o, json_object_new_string(msg));
	return o;
}

static void answer(struct conn *c, const struct http_request *req, int status, json_object *body)
{
	queue_response(c, status, body, req->keep_alive);
}

/* Cloud Hypervisor's statuses: no VM 404, a bad configuration 400, a clash 409, else 500. */
static void answer_error(struct conn *c, const struct http_request *req, int r,
			 const struct err *e)
{
	int status = r == -ENOENT ? 404 : r == -EINVAL ? 400 : r == -EEXIST ? 409 : 500;

	answer(c, req, status, error_body(e->msg));
}

static void answer_result(struct conn *c, const struct http_request *req, int r,
			  const struct err *e)
{
	if (r < 0)
		answer_error(c, req, r, e);
	else
		answer(c, req, 204, NULL);
}

static void api_ping(struct api_server *s, struct conn *c, const struct http_request *req)
{
	json_object *o = json_object_new_object();

	(void)s;
	add_str(o, "build_version", "merak " MERAK_VERSION);
	add_str(o, "version", MERAK_VERSION);
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "features", json_object_new_array());
	answer(c, req, 200, o);
}

static void api_vmm_shutdown(struct api_server *s, struct conn *c, const struct http_request *req)
{
	(void)s;
	/* The process ends once the answer is out (or the client is gone). */
	queue_response(c, 204, NULL, false);
	c->exit_after = true;
}

static void api_info(struct api_server *s, struct conn *c, const struct http_request *req)
{
	json_object *o = NULL;

	vmm_lock(s->vmm);
	if (vmm_config(s->vmm))
		o = vm_info_json(vmm_config(s->vmm), vmm_vm(s->vmm));
	vmm_unlock(s->vmm);
	if (o)
		answer(c, req, 200, o);
	else
		answer(c, req, 404, error_body("no VM is created"));
}

/* The calls made on a running VM, under the VMM's lock so it cannot go meanwhile. */
enum vm_op { OP_COUNTERS, OP_PAUSE, OP_RESUME, OP_POWER_BUTTON };

/* Cloud Hypervisor's pair of events around a pause or resume that happened. */
static int paused(struct api_server *s, int r, const char *before, const char *after)
{
	if (r == 0) {
		vmm_event(s->vmm, "vm", before, NULL, NULL, NULL, NULL);
		vmm_event(s->vmm, "vm", after, NULL, NULL, NULL, NULL);
	}
	return r;
}

static void vm_call(struct api_server *s, struct conn *c, const struct http_request *req,
		    enum vm_op op)
{
	json_object *o = NULL;
	struct vm *vm;
	struct err e;
	int r = 0;

	err_clear(&e);
	vmm_lock(s->vmm);
	vm = vmm_vm(s->vmm);
	/* Cloud Hypervisor's VmNotRunning (500), whether a VM is created or not. */
	if (!vm)
		r = errf(&e, -EBUSY, "the VM is not running");
	else if (op == OP_COUNTERS)
		o = vm_counters_json(vm);
	else if (op == OP_PAUSE)
		r = paused(s, vm_pause(vm, &e), "pausing", "paused");
	else if (op == OP_RESUME)
		r = paused(s, vm_resume(vm, &e), "resuming", "resumed");
	else
		vm_power_button(vm);
	vmm_unlock(s->vmm);
	if (r < 0)
		answer_error(c, req, -EBUSY, &e);
	else if (o)
		answer(c, req, 200, o);
	else
		answer(c, req, 204, NULL);
}

static void api_counters(struct api_server *s, struct conn *c, const struct http_request *req)
{
	vm_call(s, c, req, OP_COUNTERS);
}

static void api_pause(struct api_server *s, struct conn *c, const struct http_request *req)
{
	vm_call(s, c, req, OP_PAUSE);
}

static void api_resume(struct api_server *s, struct conn *c, const struct http_request *req)
{
	vm_call(s, c, req, OP_RESUME);
}

static void api_power_button(struct api_server *s, struct conn *c, const struct http_request *req)
{
	vm_call(s, c, req, OP_POWER_BUTTON);
}

/* A vsock socket at the API socket's path would replace it. */
static bool vsock_on_api_path(const struct api_server *s, const char *path)
{
	return s->path[0] && path && !strcmp(path, s->path);
}

static void api_create(struct api_server *s, struct conn *c, const struct http_request *req)
{
	struct vm_config *cfg = calloc(1, sizeof(*cfg));
	struct err e;
	int r;

	err_clear(&e);
	if (!cfg) {
		answer(c, req, 500, error_body("out of memory"));
		return;
	}
	r = vmconfig_parse((const char *)req->body, req->body_len, cfg, &e);
	if (r == 0 && cfg->vsock.enabled && vsock_on_api_path(s, cfg->vsock.socket))
		r = errf(&e, -EINVAL, "vsock.socket: '%s' is the API socket's path", cfg->vsock.socket);
	if (r == 0)
		r = vmm_create_vm(s->vmm, cfg, &e);
	if (r < 0) {
		vm_config_free(cfg);
		free(cfg);
	}
	answer_result(c, req, r, &e);
}

static void api_boot(struct api_server *s, struct conn *c, const struct http_request *req)
{
	struct err e;

	err_clear(&e);
	answer_result(c, req, vmm_boot(s->vmm, &e), &e);
}

static void api_shutdown(struct api_server *s, struct conn *c, const struct http_request *req)
{
	struct err e;

	err_clear(&e);
	answer_result(c, req, vmm_shutdown_vm(s->vmm, &e), &e);
}

static void api_reboot(struct api_server *s, struct conn *c, const struct http_request *req)
{
	struct err e;

	err_clear(&e);
	answer_result(c, req, vmm_reboot(s->vmm, &e), &e);
}

static void api_delete(struct api_server *s, struct conn *c, const struct http_request *req)
{
	struct err e;

	err_clear(&e);
	answer_result(c, req, vmm_delete(s->vmm, &e), &e);
}

/* vm.add-*: 200 with PciDeviceInfo on a running VM, 204 when it joins the configuration. */
static void answer_added(struct conn *c, const struct http_request *req, int r, const char *id,
			 int slot, const struct err *e)
{
	json_object *o;
	char bdf[16];

	if (r < 0) {
		answer_error(c, req, r, e);
		return;
	}
	if (slot < 0) {
		answer(c, req, 204, NULL);
		return;
	}
	o = json_object_new_object();
	format_bdf(bdf, (unsigned)slot);
	add_str(o, "id", id);
	add_str(o, "bdf", bdf);
	answer(c, req, 200, o);
}

static void api_add_disk(struct api_server *s, struct conn *c, const struct http_request *req)
{
	struct disk_config d;
	char id[VM_ID_MAX] = "";
	struct err e;
	int slot = -1, r;

	err_clear(&e);
	r = vmconfig_parse_disk((const char *)req->body, req->body_len, &d, &e);
	if (r == 0) {
		r = vmm_add_device(s->vmm, VMM_DEV_DISK, &d, id, &slot, &e);
		vmconfig_disk_free(&d);	/* what the configuration did not take */
	}
	answer_added(c, req, r, id, slot, &e);
}

static void api_add_net(struct api_server *s, struct conn *c, const struct http_request *req)
{
	struct net_config n;
	char id[VM_ID_MAX] = "";
	struct err e;
	int slot = -1, r;

	err_clear(&e);
	r = vmconfig_parse_net((const char *)req->body, req->body_len, &n, &e);
	/* A tap is a /dev/net/tun file; anything else is refused now, not at boot. */
	for (unsigned i = 0; r == 0 && i < c->n_fds; i++) {
		struct stat st;

		if (fstat(c->fds[i], &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 ||
		    minor(st.st_rdev) != 200)
			r = errf(&e, -EINVAL, "net: the fd that came with the request is not a tap "
					      "(/dev/net/tun)");
	}
	/* The taps Kata opened come with the request; the configuration owns them from here. */
	if (r == 0 && c->n_fds) {
		r = vmconfig_net_set_fds(&n, c->fds, c->n_fds, &e);
		if (r == 0)
			c->n_fds = 0;
	}
	if (r == 0)
		r = vmm_add_device(s->vmm, VMM_DEV_NET, &n, id, &slot, &e);
	vmconfig_net_free(&n);	/* what the configuration did not take */
	answer_added(c, req, r, id, slot, &e);
}

static void api_add_vsock(struct api_server *s, struct conn *c, const struct http_request *req)
{
	struct vsock_config v;
	char id[VM_ID_MAX] = "";
	struct err e;
	int slot = -1, r;

	err_clear(&e);
	r = vmconfig_parse_vsock((const char *)req->body, req->body_len, &v, &e);
	if (r == 0 && vsock_on_api_path(s, v.socket))
		r = errf(&e, -EINVAL, "socket: '%s' is the API socket's path", v.socket);
	if (r == 0)
		r = vmm_add_device(s->vmm, VMM_DEV_VSOCK, &v, id, &slot, &e);
	vmconfig_vsock_free(&v);
	answer_added(c, req, r, id, slot, &e);
}

static void api_remove_device(struct api_server *s, struct conn *c, const struct http_request *req)
{
	char id[VM_ID_MAX];
	struct err e;
	int r;

	err_clear(&e);
	r = vmconfig_parse_remove((const char *)req->body, req->body_len, id, &e);
	if (r == 0)
		r = vmm_remove_device(s->vmm, id, &e);
	answer_result(c, req, r, &e);
}

/*
 * vm.resize: merak has no CPU or memory hotplug, but a request for what the
 * VM already has is answered (Kata asks for its vCPU count as it stands).
 */
static void api_resize(struct api_server *s, struct conn *c, const struct http_request *req)
{
	struct err e;
	int r;

	err_clear(&e);
	vmm_lock(s->vmm);
	r = vmconfig_check_resize((const char *)req->body, req->body_len, vmm_config(s->vmm), &e);
	vmm_unlock(s->vmm);
	answer_result(c, req, r, &e);
}

typedef void api_handler(struct api_server *s, struct conn *c, const struct http_request *req);

/* Cloud Hypervisor's endpoints; those merak lacks are named, so the refusal says which. */
static const struct api_route {
	const char *call;
	const char *method;
	api_handler *handler;	/* NULL: not supported by merak */
	bool body;		/* takes a JSON body */
} routes[] = {
	{"vmm.ping", "GET", api_ping, false},
	{"vmm.shutdown", "PUT", api_vmm_shutdown, false},
	{"vm.create", "PUT", api_create, true},
	{"vm.boot", "PUT", api_boot, false},
	{"vm.info", "GET", api_info, false},
	{"vm.counters", "GET", api_counters, false},
	{"vm.pause", "PUT", api_pause, false},
	{"vm.resume", "PUT", api_resume, false},
	{"vm.shutdown", "PUT", api_shutdown, false},
	{"vm.reboot", "PUT", api_reboot, false},
	{"vm.power-button", "PUT", api_power_button, false},
	{"vm.delete", "PUT", api_delete, false},
	{"vm.resize", "PUT", api_resize, true},
	{"vm.add-disk", "PUT", api_add_disk, true},
	{"vm.add-net", "PUT", api_add_net, true},
	{"vm.add-vsock", "PUT", api_add_vsock, true},
	{"vm.remove-device", "PUT", api_remove_device, true},
	{"vm.resize-disk", "PUT", NULL, true},
	{"vm.resize-zone", "PUT", NULL, true},
	{"vm.add-device", "PUT", NULL, true},
	{"vm.add-fs", "PUT", NULL, true},
	{"vm.add-generic-vhost-user", "PUT", NULL, true},
	{"vm.add-pmem", "PUT", NULL, true},
	{"vm.add-vdpa", "PUT", NULL, true},
	{"vm.add-user-device", "PUT", NULL, true},
	{"vm.snapshot", "PUT", NULL, true},
	{"vm.coredump", "PUT", NULL, true},
	{"vm.nmi", "PUT", NULL, false},
	{"vm.restore", "PUT", NULL, true},
	{"vm.receive-migration", "PUT", NULL, true},
	{"vm.send-migration", "PUT", NULL, true},
};

/* Routes one request; the response goes into c->out. */
static void handle_request(struct api_server *s, struct conn *c, const struct http_request *req)
{
	static const char prefix[] = "/api/v1/";
	const char *call = req->path;
	char msg[160];

	if (strncmp(call, prefix, sizeof(prefix) - 1)) {
		answer(c, req, 404, error_body("unknown path"));
		return;
	}
	call += sizeof(prefix) - 1;
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct api_route *rt = &routes[i];

		if (strcmp(call, rt->call))
			continue;
		if (strcmp(req->method, rt->method)) {
			snprintf(msg, sizeof(msg), "%s: use %s", rt->call, rt->method);
			answer(c, req, 405, error_body(msg));
		} else if (!rt->handler) {
			snprintf(msg, sizeof(msg), "%s: not supported by merak", rt->call);
			answer(c, req, 400, error_body(msg));
		} else if (rt->body && !req->body_len) {
			snprintf(msg, sizeof(msg), "%s: a JSON body is required", rt->call);
			answer(c, req, 400, error_body(msg));
		} else {
			rt->handler(s, c, req);
		}
		return;
	}
	answer(c, req, 404, error_body("unknown API call"));
}

static void conn_close(struct api_server *s, unsigned slot)
{
	struct conn *c = s->conns[slot];

	if (!c)
		return;
	/* A vmm.shutdown answered (or not) to a client that went away still happens. */
	if (c->exit_after)
		vmm_request_exit(s->vmm, 0, "the VMM was shut down through the API");
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	close_fds(c);
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
		bool mine;
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
		/* Descriptors go with the request whose bytes they came with. */
		mine = (c->n_fds || c->fds_cut) && c->fds_end > off && c->fds_end <= off + used;
		if (mine && c->fds_cut) {
			queue_response(c, 400, error_body("too many file descriptors came with the request"),
				       req.keep_alive);
		} else {
			unsigned held = c->n_fds;

			if (!mine)
				c->n_fds = 0;	/* another request's: hidden from this one */
			handle_request(s, c, &req);
			if (!mine)
				c->n_fds = held;
		}
		/* Descriptors the request did not take are not kept for the next. */
		if (mine)
			close_fds(c);
		off += used;
		c->deadline_ms = 0;	/* the next request's time starts when it is awaited */
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	c->fds_end = c->fds_end > off ? c->fds_end - off : 0;
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
		if (c->exit_after) {
			c->exit_after = false;
			vmm_request_exit(s->vmm, 0, "the VMM was shut down through the API");
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

static void close_fds(struct conn *c)
{
	for (unsigned i = 0; i < c->n_fds; i++)
		close(c->fds[i]);
	c->n_fds = 0;
	c->fds_cut = false;
}

/*
 * Reads what the client sent, with any file descriptors passed alongside
 * (Kata sends tap fds with vm.add-net's bytes). Past API_MAX_FDS they are
 * closed and the request refused.
 */
static ssize_t recv_with_fds(struct conn *c)
{
	union {
		struct cmsghdr h;
		u8 buf[CMSG_SPACE(sizeof(int) * API_MAX_FDS)];
	} ctl;
	struct iovec iov = {c->in + c->in_len, sizeof(c->in) - c->in_len};
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n = recvmsg(c->fd, &msg, MSG_CMSG_CLOEXEC);

	if (n < 0)
		return n;
	for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h)) {
		size_t count;
		int fd;

		if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
			continue;
		count = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < count; i++) {
			memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof(int));
			if (c->n_fds < API_MAX_FDS) {
				c->fds[c->n_fds++] = fd;
			} else {
				close(fd);
				c->fds_cut = true;
			}
		}
	}
	if (msg.msg_flags & MSG_CTRUNC)
		c->fds_cut = true;
	/* They belong to the request these bytes end in (or complete), not an earlier one. */
	if ((c->n_fds || c->fds_cut) && n > 0)
		c->fds_end = c->in_len + (size_t)n;
	return n;
}

static void conn_event(struct api_server *s, unsigned slot, u32 events)
{
	struct conn *c = s->conns[slot];

	if ((c->events & EPOLLIN) && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
		ssize_t n = recv_with_fds(c);

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

	if (sandbox_apply(SANDBOX_CONTROL, (enum sandbox_mode)vmm_seccomp_mode(s->vmm), &e) < 0) {
		char why[sizeof(e.msg) + 32];

		snprintf(why, sizeof(why), "control socket: %s", e.msg);
		vmm_request_exit(s->vmm, 1, why);
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

int api_server_start(struct vmm *vmm, const char *path, int listen_fd, struct api_server **out,
		     struct err *e)
{
	struct api_server *s = calloc(1, sizeof(*s));
	struct epoll_event ev = {.events = EPOLLIN};
	int r;

	if (!s)
		return errf(e, -ENOMEM, "API socket: out of memory");
	s->vmm = vmm;
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
