// SPDX-License-Identifier: MIT
/* The control socket served by a real api_server on a VM without vCPUs. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "control/api.h"
#include "control/vmm.h"
#include "vm/vm.h"

struct fixture {
	struct vm *vm;		/* a VM without vCPUs or KVM; the VMM frees it */
	struct vmm *vmm;
	struct api_server *api;
	pthread_t main_thread;	/* runs vmm_run, as merak's main thread does */
	int status;
	bool done;
	char path[64];
};

static void collect_demo(void *ctx, counter_emit_fn emit, void *arg)
{
	emit(arg, "requests", 42);
	emit(arg, "bytes", 4096);
}

static void *vmm_main(void *arg)
{
	struct fixture *f = arg;
	struct err e;

	f->status = vmm_run(f->vmm, &e);
	__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct vm_config *cfg = calloc(1, sizeof(*cfg));
	struct vm *vm = calloc(1, sizeof(*vm));
	struct err e;

	cfg->cpus = cfg->max_cpus = 1;
	cfg->mem_size = 64 << 20;
	cfg->kernel = strdup("vmlinux");
	cfg->cmdline = strdup("console=ttyS0");
	cfg->seccomp = 0;
	cfg->api_fd = -1;
	vm->cfg = cfg;
	vm->ncpus = 0;	/* no vCPU threads: pause completes at once */
	vm->state = VM_RUNNING;
	vm->hv.kvm_fd = vm->hv.vm_fd = -1;
	vm->stop_fd = eventfd(0, EFD_CLOEXEC);
	guest_mem_init(&vm->mem);
	bus_init(&vm->pio, "port I/O");
	bus_init(&vm->mmio, "MMIO");
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	pthread_mutex_init(&vm->routes_lock, NULL);
	pthread_mutex_init(&vm->counters_lock, NULL);
	assert_int_equal(vm_add_counters(vm, "blk0", collect_demo, NULL), 0);
	f->vm = vm;
	assert_int_equal(vmm_new(cfg, true, &f->vmm, &e), 0);
	vmm_attach_vm(f->vmm, vm);
	snprintf(f->path, sizeof(f->path), "/tmp/merak-api-test-%d.sock", getpid());
	assert_int_equal(api_server_start(f->vmm, f->path, -1, &f->api, &e), 0);
	assert_int_equal(pthread_create(&f->main_thread, NULL, vmm_main, f), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vmm_request_exit(f->vmm, 0, "the test is over");
	pthread_join(f->main_thread, NULL);
	api_server_stop(f->api);
	vmm_free(f->vmm);
	free(f);
	return 0;
}

static int connect_to(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(addr.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

/* Sends raw bytes and reads until the server closes or 5 s pass. */
static int exchange_raw(const char *path, const char *req, char *resp, size_t cap)
{
	int fd = connect_to(path);
	size_t got = 0;

	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 8000) <= 0)
			break;
		n = recv(fd, resp + got, cap - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	resp[got] = '\0';
	close(fd);
	return atoi(resp + 9);	/* "HTTP/1.1 NNN" */
}

static int call(struct fixture *f, const char *method, const char *api, char *resp, size_t cap)
{
	char req[256];

	snprintf(req, sizeof(req), "%s /api/v1/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		 method, api);
	return exchange_raw(f->path, req, resp, cap);
}

static void test_ping_info_counters(void **state)
{
	struct fixture *f = *state;
	static char resp[65536];

	assert_int_equal(call(f, "GET", "vmm.ping", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "\"version\":\"" MERAK_VERSION "\""));
	assert_int_equal(call(f, "GET", "vm.info", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "\"state\":\"Running\""));
	assert_non_null(strstr(resp, "\"boot_vcpus\":1"));
	assert_non_null(strstr(resp, "\"cmdline\":\"console=ttyS0\""));
	assert_int_equal(call(f, "GET", "vm.counters", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "\"blk0\":{\"requests\":42,\"bytes\":4096}"));
}

static void test_pause_resume_power_shutdown(void **state)
{
	struct fixture *f = *state;
	static char resp[65536];

	assert_int_equal(call(f, "PUT", "vm.pause", resp, sizeof(resp)), 204);
	assert_int_equal(f->vm->state, VM_PAUSED);
	assert_int_equal(call(f, "GET", "vm.info", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "\"state\":\"Paused\""));
	/* Pausing twice is Cloud Hypervisor's 500, with the reason. */
	assert_int_equal(call(f, "PUT", "vm.pause", resp, sizeof(resp)), 500);
	assert_non_null(strstr(resp, "not running"));
	assert_int_equal(call(f, "PUT", "vm.resume", resp, sizeof(resp)), 204);
	assert_int_equal(f->vm->state, VM_RUNNING);
	assert_int_equal(call(f, "PUT", "vm.power-button", resp, sizeof(resp)), 204);
	/* vm.shutdown stops the VM and keeps its configuration; the VMM stays. */
	assert_int_equal(call(f, "PUT", "vm.shutdown", resp, sizeof(resp)), 204);
	f->vm = NULL;	/* the VMM destroyed it */
	assert_int_equal(call(f, "GET", "vm.info", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "\"state\":\"Created\""));
	assert_int_equal(call(f, "PUT", "vm.shutdown", resp, sizeof(resp)), 500);
	assert_int_equal(call(f, "PUT", "vm.pause", resp, sizeof(resp)), 500);
	assert_int_equal(call(f, "GET", "vm.counters", resp, sizeof(resp)), 500);
	assert_false(__atomic_load_n(&f->done, __ATOMIC_ACQUIRE));
	/* vm.delete drops the configuration: then there is nothing to show or boot. */
	assert_int_equal(call(f, "PUT", "vm.delete", resp, sizeof(resp)), 204);
	assert_int_equal(call(f, "GET", "vm.info", resp, sizeof(resp)), 404);
	assert_int_equal(call(f, "PUT", "vm.boot", resp, sizeof(resp)), 404);
	assert_non_null(strstr(resp, "[\"no VM is created\"]"));
	assert_int_equal(call(f, "PUT", "vm.delete", resp, sizeof(resp)), 204);
}

/* A client that sends vmm.shutdown and goes away at once still ends the VMM, with 0. */
static void test_shutdown_then_hang_up(void **state)
{
	struct fixture *f = *state;
	const char *req = "PUT /api/v1/vmm.shutdown HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
	int fd = connect_to(f->path);

	assert_int_equal(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	close(fd);
	for (int i = 0; i < 200 && !__atomic_load_n(&f->done, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	assert_true(__atomic_load_n(&f->done, __ATOMIC_ACQUIRE));
	assert_int_equal(f->status, 0);
}

static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	static char resp[65536];

	assert_int_equal(call(f, "GET", "vm.bogus", resp, sizeof(resp)), 404);
	assert_int_equal(call(f, "DELETE", "vm.pause", resp, sizeof(resp)), 405);
	assert_int_equal(call(f, "PUT", "vmm.ping", resp, sizeof(resp)), 405);
	assert_int_equal(exchange_raw(f->path, "GET /x HTTP/1.1\nbroken\r\n\r\n", resp,
				      sizeof(resp)),
			 400);
	assert_int_equal(exchange_raw(f->path, "GET /notapi HTTP/1.1\r\n\r\n", resp, sizeof(resp)),
			 404);
	assert_int_equal(exchange_raw(f->path,
				      "PUT /api/v1/vm.pause HTTP/1.1\r\nContent-Length: 999999\r\n\r\n",
				      resp, sizeof(resp)),
			 413);
}

static void test_keep_alive_pipelining(void **state)
{
	struct fixture *f = *state;
	static char resp[65536];
	const char *two = "GET /api/v1/vmm.ping HTTP/1.1\r\n\r\n"
			  "GET /api/v1/vm.info HTTP/1.1\r\nConnection: close\r\n\r\n";

	assert_int_equal(exchange_raw(f->path, two, resp, sizeof(resp)), 200);
	/* Both answers arrive on the one connection. */
	assert_non_null(strstr(resp, "\"pid\""));
	assert_non_null(strstr(resp, "\"state\""));
}

static const char ping_req[] = "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n";

/* Writes n pipelined pings at once (the socket buffers hold them all). */
static int send_pings(const char *path, int n)
{
	size_t len = strlen(ping_req);
	char *all = malloc(len * (size_t)n);
	int fd = connect_to(path);

	for (int i = 0; i < n; i++)
		memcpy(all + (size_t)i * len, ping_req, len);
	assert_int_equal(send(fd, all, len * (size_t)n, 0), (ssize_t)(len * (size_t)n));
	free(all);
	return fd;
}

/*
 * Reads answers, at most `chunk` bytes every `pause_ms`, until `want` of them
 * have come, the server closes or nothing comes for 8 s; returns how many
 * "200 OK" answers came.
 */
static int read_answers(int fd, int want, size_t chunk, int pause_ms)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\n";
	char buf[4096 + sizeof(ok)];
	size_t keep = 0;
	int got = 0;

	while (got < want) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		size_t room = sizeof(buf) - 1 - keep;
		ssize_t n;
		char *q;

		if (pause_ms)
			usleep(pause_ms * 1000);
		if (poll(&p, 1, 8000) <= 0)
			break;
		n = recv(fd, buf + keep, chunk < room ? chunk : room, 0);
		if (n <= 0)
			break;
		keep += (size_t)n;
		buf[keep] = '\0';
		for (q = buf; (q = strstr(q, ok)); q += sizeof(ok) - 1)
			got++;
		/* Keep a tail that may hold the start of the next status line. */
		if (keep >= sizeof(ok) - 1) {
			memmove(buf, buf + keep - (sizeof(ok) - 2), sizeof(ok) - 2);
			keep = sizeof(ok) - 2;
		}
	}
	return got;
}

/* 1000 pipelined requests read a second late: every one is answered. */
static void test_pipelined_read_late(void **state)
{
	struct fixture *f = *state;
	int fd = send_pings(f->path, 1000);

	sleep(1);
	assert_int_equal(read_answers(fd, 1000, 4096, 0), 1000);
	close(fd);
}

/*
 * A client that drains its answers slowly, for longer than the request
 * deadline, is making progress: it is served to the end, not cut off.
 */
static void test_slow_reader_is_not_cut_off(void **state)
{
	struct fixture *f = *state;
	struct timespec t0, t1;
	/* About 350 KB of answers, more than the socket holds, taken at 40 KB/s. */
	int fd = send_pings(f->path, 2000);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(read_answers(fd, 2000, 4096, 100), 2000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec > API_REQUEST_TIMEOUT_MS / 1000);
	close(fd);
}

/* A client that sent its requests and shut its side down gets every answer. */
static void test_half_closed_client_answered(void **state)
{
	struct fixture *f = *state;
	int fd = send_pings(f->path, 3);
	char byte;

	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_int_equal(read_answers(fd, 3, 4096, 0), 3);
	assert_int_equal(recv(fd, &byte, 1, 0), 0);	/* then the server closes */
	close(fd);
}

/*
 * A client that never reads holds only itself up: others are served while
 * its answers wait, and it is dropped once it has taken nothing for the
 * deadline.
 */
static void test_client_that_never_reads(void **state)
{
	struct fixture *f = *state;
	size_t len = strlen(ping_req), sent = 0;
	static char resp[4096];
	struct timespec t0, t1;
	int fd = connect_to(f->path);
	char *all = malloc(len * 20000);

	for (int i = 0; i < 20000; i++)
		memcpy(all + (size_t)i * len, ping_req, len);
	/* As much as the server and the socket take, without blocking. */
	for (;;) {
		ssize_t n = send(fd, all + sent, len * 20000 - sent, MSG_DONTWAIT);

		if (n <= 0) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};

			if (poll(&p, 1, 500) <= 0)
				break;
			continue;
		}
		sent += (size_t)n;
		if (sent == len * 20000)
			break;
	}
	free(all);
	assert_true(sent < len * 20000);	/* the server stopped reading */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(call(f, "GET", "vmm.ping", resp, sizeof(resp)), 200);
	/* Dropped: its unread answers end in EOF or a reset within the deadline and a bit. */
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		static char sink[65536];
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true(t1.tv_sec - t0.tv_sec < API_REQUEST_TIMEOUT_MS / 1000 + 5);
		/* Reading now would be progress; wait until the server gives up first. */
		if (t1.tv_sec - t0.tv_sec < API_REQUEST_TIMEOUT_MS / 1000 + 1) {
			usleep(100000);
			continue;
		}
		assert_true(poll(&p, 1, 1000) > 0);
		n = recv(fd, sink, sizeof(sink), 0);
		if (n <= 0)
			break;
	}
	close(fd);
}

static void test_slow_client_and_connection_limit(void **state)
{
	struct fixture *f = *state;
	int fds[API_MAX_CONNECTIONS];
	static char resp[4096];
	struct timespec t0, t1;
	int extra;

	/* A client that never finishes its request gets 408 after the deadline. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(exchange_raw(f->path, "GET /api/v1/vmm.ping HTTP/1.1\r\nHost:", resp,
				      sizeof(resp)),
			 408);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec >= API_REQUEST_TIMEOUT_MS / 1000 - 1);

	/* Past the connection limit, a newcomer is told the service is busy. */
	for (int i = 0; i < API_MAX_CONNECTIONS; i++)
		fds[i] = connect_to(f->path);
	usleep(200000);
	extra = connect_to(f->path);
	{
		struct pollfd p = {.fd = extra, .events = POLLIN};
		ssize_t n;

		assert_true(poll(&p, 1, 3000) > 0);
		n = recv(extra, resp, sizeof(resp) - 1, 0);
		assert_true(n > 0);
		resp[n] = '\0';
		assert_non_null(strstr(resp, "503"));
	}
	close(extra);
	for (int i = 0; i < API_MAX_CONNECTIONS; i++)
		close(fds[i]);
	/* And the server still answers afterwards. */
	usleep(100000);
	assert_int_equal(call(f, "GET", "vmm.ping", resp, sizeof(resp)), 200);
}

/* --api-socket fd=N: a listening socket handed down is served and left in place. */
static void test_inherited_listen_fd(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct api_server *s2;
	char path[64], resp[4096];
	struct err e;
	int fd, p[2];

	snprintf(path, sizeof(path), "/tmp/merak-api-fd-%d.sock", getpid());
	unlink(path);
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(api_server_start(f->vmm, NULL, fd, &s2, &e), 0);
	assert_true(exchange_raw(path,
				 "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
				 resp, sizeof(resp)) > 0);
	assert_non_null(strstr(resp, "200 OK"));
	api_server_stop(s2);
	assert_int_equal(access(path, F_OK), 0);	/* the caller's socket file stays */
	unlink(path);
	/* Anything but a listening unix stream socket is refused, by number. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(api_server_start(f->vmm, NULL, p[0], &s2, &e), -ENOTSOCK);
	assert_non_null(strstr(e.msg, "is not a listening unix stream socket"));
	close(p[0]);
	close(p[1]);
	assert_true(api_server_start(f->vmm, NULL, 1000, &s2, &e) < 0);
	assert_non_null(strstr(e.msg, "API socket fd=1000"));
}

/* An empty VMM (no payload on the command line), driven as Kata drives it. */
struct empty {
	struct vmm *vmm;
	struct api_server *api;
	pthread_t main_thread;
	int status;
	bool done;
	char path[64];
};

static void *empty_main(void *arg)
{
	struct empty *f = arg;
	struct err e;

	f->status = vmm_run(f->vmm, &e);
	__atomic_store_n(&f->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static int put_json(const char *path, const char *call, const char *body, char *resp, size_t cap)
{
	char req[4096];

	snprintf(req, sizeof(req),
		 "PUT /api/v1/%s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 call, strlen(body), body);
	return exchange_raw(path, req, resp, cap);
}

static int get(const char *path, const char *call, char *resp, size_t cap)
{
	char req[256];

	snprintf(req, sizeof(req), "GET /api/v1/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		 call);
	return exchange_raw(path, req, resp, cap);
}

static void test_empty_vmm_lifecycle(void **state)
{
	struct empty f = {0};
	struct vm_config *cfg = calloc(1, sizeof(*cfg));
	static char resp[65536];
	char disk[64];
	struct err e;
	FILE *img;

	(void)state;
	cfg->api_fd = -1;	/* what the command line gives with only --api-socket */
	snprintf(f.path, sizeof(f.path), "/tmp/merak-api-empty-%d.sock", getpid());
	snprintf(disk, sizeof(disk), "/tmp/merak-api-empty-%d.img", getpid());
	img = fopen(disk, "w");
	assert_non_null(img);
	fclose(img);
	assert_int_equal(vmm_new(cfg, true, &f.vmm, &e), 0);
	assert_int_equal(api_server_start(f.vmm, f.path, -1, &f.api, &e), 0);
	assert_int_equal(pthread_create(&f.main_thread, NULL, empty_main, &f), 0);

	assert_int_equal(get(f.path, "vmm.ping", resp, sizeof(resp)), 200);
	/* Out of order: nothing is created yet. */
	assert_int_equal(get(f.path, "vm.info", resp, sizeof(resp)), 404);
	assert_int_equal(put_json(f.path, "vm.boot", "", resp, sizeof(resp)), 404);
	assert_int_equal(put_json(f.path, "vm.add-disk", "{\"path\":\"/x\"}", resp, sizeof(resp)), 404);
	assert_int_equal(put_json(f.path, "vm.shutdown", "", resp, sizeof(resp)), 500);
	assert_int_equal(put_json(f.path, "vm.resize", "{\"desired_vcpus\":2}", resp, sizeof(resp)),
			 404);
	/* A bad configuration names its field; nothing is created. */
	assert_int_equal(put_json(f.path, "vm.create", "{\"payload\":{\"kernel\":\"/k\"},\"bogus\":1}",
				  resp, sizeof(resp)),
			 400);
	assert_non_null(strstr(resp, "bogus"));
	assert_int_equal(put_json(f.path, "vm.create", "[1,2]", resp, sizeof(resp)), 400);
	assert_int_equal(put_json(f.path, "vm.create", "", resp, sizeof(resp)), 400);
	assert_int_equal(get(f.path, "vm.info", resp, sizeof(resp)), 404);

	assert_int_equal(put_json(f.path, "vm.create",
				  "{\"payload\":{\"kernel\":\"/nonexistent/k\",\"cmdline\":\"c\"},"
				  "\"cpus\":{\"boot_vcpus\":2,\"max_vcpus\":4},\"memory\":{\"size\":268435456}}",
				  resp, sizeof(resp)),
			 204);
	assert_int_equal(get(f.path, "vm.info", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "\"state\":\"Created\""));
	assert_non_null(strstr(resp, "\"boot_vcpus\":2"));
	assert_non_null(strstr(resp, "\"size\":268435456"));
	assert_null(strstr(resp, "device_tree"));
	/* A second create is Cloud Hypervisor's 500; resize to what it has is fine. */
	assert_int_equal(put_json(f.path, "vm.create", "{\"payload\":{\"kernel\":\"/k\"}}", resp,
				  sizeof(resp)),
			 500);
	assert_int_equal(put_json(f.path, "vm.resize", "{\"desired_vcpus\":2}", resp, sizeof(resp)),
			 204);
	assert_int_equal(put_json(f.path, "vm.resize", "{\"desired_vcpus\":3}", resp, sizeof(resp)),
			 500);
	assert_non_null(strstr(resp, "CPU hotplug"));

	/* Devices join the configuration before boot: 204, then in vm.info with their ids. */
	{
		char body[160];

		snprintf(body, sizeof(body), "{\"path\":\"%s\",\"id\":\"data\"}", disk);
		assert_int_equal(put_json(f.path, "vm.add-disk", body, resp, sizeof(resp)), 204);
		assert_int_equal(put_json(f.path, "vm.add-disk", body, resp, sizeof(resp)), 409);
	}
	assert_int_equal(get(f.path, "vm.info", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "\"id\":\"data\""));
	assert_int_equal(put_json(f.path, "vm.remove-device", "{\"id\":\"nope\"}", resp, sizeof(resp)),
			 404);
	assert_int_equal(put_json(f.path, "vm.remove-device", "{\"id\":\"data\"}", resp, sizeof(resp)),
			 204);
	assert_int_equal(put_json(f.path, "vm.remove-device", "{\"id\":\"data\"}", resp, sizeof(resp)),
			 404);
	/* Unsupported calls say so; the VMM keeps serving. */
	assert_int_equal(put_json(f.path, "vm.add-fs", "{}", resp, sizeof(resp)), 400);
	assert_non_null(strstr(resp, "not supported by merak"));
	/* A boot that fails (the kernel is not there) leaves the configuration to fix. */
	assert_int_equal(put_json(f.path, "vm.boot", "", resp, sizeof(resp)), 500);
	assert_non_null(strstr(resp, "/nonexistent/k"));
	assert_int_equal(get(f.path, "vm.info", resp, sizeof(resp)), 200);
	assert_non_null(strstr(resp, "\"state\":\"Created\""));
	assert_int_equal(put_json(f.path, "vm.delete", "", resp, sizeof(resp)), 204);
	assert_int_equal(get(f.path, "vm.info", resp, sizeof(resp)), 404);

	assert_false(__atomic_load_n(&f.done, __ATOMIC_ACQUIRE));
	assert_int_equal(put_json(f.path, "vmm.shutdown", "", resp, sizeof(resp)), 204);
	pthread_join(f.main_thread, NULL);
	assert_int_equal(f.status, 0);
	api_server_stop(f.api);
	vmm_free(f.vmm);
	unlink(disk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_vmm_lifecycle),
		cmocka_unit_test_setup_teardown(test_ping_info_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inherited_listen_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume_power_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown_then_hang_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keep_alive_pipelining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_read_late, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader_is_not_cut_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_closed_client_answered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_that_never_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_client_and_connection_limit, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
