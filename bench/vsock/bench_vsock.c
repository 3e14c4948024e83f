// SPDX-License-Identifier: MIT
/*
 * Round-trip latency of a vsock stream through merak's device path against a
 * plain unix-socket round trip between two threads. The device is the real
 * one with its own worker thread: a host program writes 64 bytes to its unix
 * socket, the worker puts them on the receive queue, the driver (this thread,
 * busy-polling the used ring as a guest spinning on its queue would) answers
 * with 64 bytes on the transmit queue and a notify, the worker writes them
 * to the socket, the host program reads them. Guest interrupt delivery and a
 * guest kernel are not included. Prints the median and 99th percentile in
 * microseconds of each and the ratio of medians; the last line is
 * "<merak median us> <raw median us> <ratio>".
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "virtio/vsock.h"
#include "vtest.h"

#define ROUNDS	 20000
#define MSG	 64
#define RX_BUF	 0x800000ULL
#define TX_BUF	 0xa00000ULL
#define NRX	 32
#define GUEST_CID 3
#define PORT	 1234

static u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, u64 *t, unsigned n, double *median)
{
	qsort(t, n, sizeof(*t), cmp_u64);
	*median = t[n / 2] / 1000.0;
	printf("%-28s median %8.1f us   p99 %8.1f us   (%u round trips)\n", what, *median,
	       t[n * 99 / 100] / 1000.0, n);
}

static bool read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* ---- the device path -------------------------------------------------------- */

struct drv {
	struct vt_board b;
	struct vt_drv d;
	u32 fwd_cnt;	/* bytes the "guest" consumed */
	unsigned tx_slot;
};

static void tx(struct drv *v, u16 op, const void *data, u32 len)
{
	u64 gpa = TX_BUF + (u64)(v->tx_slot++ % 16) * 0x1000;
	u8 *h = gp(&v->b.gm, gpa);
	struct drv_buf b = {gpa, VT_VSOCK_HDR_LEN + len, false};
	u32 id, ulen;

	vt_vsock_hdr_put(h, &(struct vt_vsock_hdr){.src_cid = GUEST_CID, .dst_cid = 2,
						   .src_port = 40000, .dst_port = PORT, .len = len,
						   .type = 1, .op = op, .buf_alloc = 1 << 20,
						   .fwd_cnt = v->fwd_cnt});
	if (len)
		memcpy(h + VT_VSOCK_HDR_LEN, data, len);
	drvq_publish(&v->d.q[1], drvq_add(&v->d.q[1], &b, 1));
	vt_kick(&v->d, 1);
	/* The transmit buffer is done with once used; spin like a polling guest. */
	while (!drvq_used(&v->d.q[1], &id, &ulen))
		;
}

/* Busy-polls the receive queue for the next packet: its op (data copied out). */
static u16 rx(struct drv *v, void *data, u32 *len)
{
	struct vt_vsock_hdr hdr;
	u32 id, ulen;
	u64 gpa;
	const u8 *h;

	while (!drvq_used(&v->d.q[0], &id, &ulen))
		;
	gpa = get_le64(gp(&v->b.gm, v->d.q[0].desc + 16ULL * id));
	h = gp(&v->b.gm, gpa);
	vt_vsock_hdr_get(h, &hdr);
	*len = hdr.len;
	if (hdr.op == VSOCK_OP_RW && data) {
		memcpy(data, h + VT_VSOCK_HDR_LEN, *len);
		v->fwd_cnt += *len;
	}
	struct drv_buf b = {gpa, 4096, true};
	drvq_publish(&v->d.q[0], drvq_add(&v->d.q[0], &b, 1));
	vt_kick(&v->d, 0);
	return hdr.op;
}

static int listen_unix(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1) < 0)
		return -1;
	return fd;
}

static int run_device(u64 *t)
{
	char dir[] = "/tmp/merak-bench-vsock-XXXXXX", path[128], lpath[160];
	struct vsock_config vc = {.enabled = true, .cid = GUEST_CID};
	struct virtio_pci_env env;
	struct virtio_vsock *vs;
	struct drv *v = calloc(1, sizeof(*v));
	u8 msg[MSG], got[MSG];
	struct err e;
	int l, c;
	u32 len;
	u16 op;

	if (!v || !mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	snprintf(lpath, sizeof(lpath), "%s_%d", path, PORT);
	vc.socket = path;
	if (vt_board_init(&v->b, true) < 0)
		return -1;
	env = vt_env(&v->b);
	if (virtio_vsock_create(&env, &vc, &vs, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	if (vt_drv_up(&v->d, &v->b, virtio_vsock_dev(vs), ~0ULL, 64) != 0x0f)
		return -1;
	for (unsigned i = 0; i < NRX; i++) {
		struct drv_buf b = {RX_BUF + (u64)i * 0x1000, 4096, true};
		drvq_publish(&v->d.q[0], drvq_add(&v->d.q[0], &b, 1));
	}
	if ((l = listen_unix(lpath)) < 0 || virtio_dev_start(virtio_vsock_dev(vs), &e) < 0)
		return -1;
	vt_kick(&v->d, 0);
	/* The guest connects to host port 1234: merak connects to PATH_1234. */
	tx(v, VSOCK_OP_REQUEST, NULL, 0);
	if ((c = accept(l, NULL, NULL)) < 0)
		return -1;
	do
		op = rx(v, NULL, &len);
	while (op == VSOCK_OP_CREDIT_UPDATE);
	if (op != VSOCK_OP_RESPONSE) {
		fprintf(stderr, "connect answered with op %u\n", op);
		return -1;
	}
	memset(msg, 'h', sizeof(msg));
	for (unsigned i = 0; i < ROUNDS; i++) {
		u64 t0 = now_ns();

		if (write(c, msg, sizeof(msg)) != sizeof(msg))
			return -1;
		for (u32 have = 0; have < MSG; have += len) {
			op = rx(v, got + have, &len);
			if (op == VSOCK_OP_CREDIT_UPDATE || op == VSOCK_OP_CREDIT_REQUEST)
				len = 0;
			else if (op != VSOCK_OP_RW)
				return fprintf(stderr, "op %u in round %u\n", op, i), -1;
		}
		tx(v, VSOCK_OP_RW, got, MSG);
		if (!read_full(c, got, MSG))
			return -1;
		t[i] = now_ns() - t0;
	}
	close(c);
	close(l);
	virtio_vsock_destroy(vs);
	vt_board_free(&v->b);
	unlink(lpath);
	rmdir(dir);
	free(v);
	return 0;
}

/* ---- a plain unix-socket round trip ---------------------------------------- */

static void *echo(void *arg)
{
	int fd = *(int *)arg;
	char buf[MSG];

	while (read_full(fd, buf, MSG))
		if (write(fd, buf, MSG) != MSG)
			break;
	return NULL;
}

static int run_raw(u64 *t)
{
	int sv[2];
	pthread_t th;
	char msg[MSG];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    pthread_create(&th, NULL, echo, &sv[1]) != 0)
		return -1;
	memset(msg, 'r', sizeof(msg));
	for (unsigned i = 0; i < ROUNDS; i++) {
		u64 t0 = now_ns();

		if (write(sv[0], msg, MSG) != MSG || !read_full(sv[0], msg, MSG))
			return -1;
		t[i] = now_ns() - t0;
	}
	close(sv[0]);
	pthread_join(th, NULL);
	close(sv[1]);
	return 0;
}

int main(void)
{
	static u64 dev[ROUNDS], raw[ROUNDS];
	double md, mr;

	if (run_device(dev) < 0) {
		fprintf(stderr, "bench_vsock: the device path failed\n");
		return 1;
	}
	if (run_raw(raw) < 0) {
		fprintf(stderr, "bench_vsock: the unix-socket round trip failed\n");
		return 1;
	}
	report("merak vsock device path", dev, ROUNDS, &md);
	report("unix socket, two threads", raw, ROUNDS, &mr);
	printf("%.1f %.1f %.2f\n", md, mr, md / mr);
	return 0;
}
