// SPDX-License-Identifier: MIT
/* virtio-rng, virtio-console, virtio-net and virtio-vsock through the transport. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "devices/console_io.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vsock.h"
#include "vtest.h"

#define BUF 0x800000ULL

/* Runs the worker until pred holds or ~1 s passes. */
#define POLL_UNTIL(vd, pred)                                                                       \
	do {                                                                                       \
		for (int i_ = 0; i_ < 100 && !(pred); i_++)                                        \
			virtio_dev_poll((vd), 10);                                                  \
	} while (0)

/* ---- rng ---------------------------------------------------------------------- */

static void test_rng(void **state)
{
	struct vt_board b;
	struct virtio_rng *r;
	struct vt_drv d;
	struct err e;
	struct virtio_pci_env env;
	struct drv_buf buf[2] = {{BUF, 64, true}, {BUF + 4096, 32, true}};
	u32 id, len;
	u8 zero[64] = {0};

	assert_int_equal(vt_board_init(&b, true), 0);
	env = vt_env(&b);
	assert_int_equal(virtio_rng_create(&env, &r, &e), 0);
	assert_int_equal(vt_drv_up(&d, &b, virtio_rng_dev(r), ~0ULL, 16), 0x0f);
	assert_int_equal(cfg_rd(&b, virtio_rng_dev(r)->pci.slot, 0, 4), 0x10441af4);
	memset(gp(&b.gm, BUF), 0, 64);
	drvq_publish(&d.q[0], drvq_add(&d.q[0], buf, 2));
	vt_kick(&d, 0);
	assert_true(vt_wait_used(&d, 0, &id, &len, 1000));
	assert_int_equal(len, 96);
	assert_memory_not_equal(gp(&b.gm, BUF), zero, 64);
	virtio_rng_destroy(r);
	vt_board_free(&b);
}

/* ---- console ---------------------------------------------------------------- */

static void test_console(void **state)
{
	struct vt_board b;
	struct virtio_console *c;
	struct console_io *io;
	struct vt_drv d;
	struct err e;
	struct virtio_pci_env env;
	char path[] = "/tmp/merak-hvc-XXXXXX";
	struct chardev_config cc = {.mode = CHARDEV_FILE, .path = path};
	struct drv_buf out[2] = {{BUF, 6, false}, {BUF + 100, 7, false}};
	struct drv_buf in[1] = {{BUF + 4096, 4, true}};
	char got[64] = {0};
	u32 id, len;
	int fd = mkstemp(path);

	close(fd);
	assert_int_equal(vt_board_init(&b, true), 0);
	env = vt_env(&b);
	assert_int_equal(console_io_open(&cc, "console output file", &io, &e), 0);
	assert_int_equal(virtio_console_create(&env, io, &c, &e), 0);
	assert_int_equal(vt_drv_up(&d, &b, virtio_console_dev(c), ~0ULL, 16), 0x0f);
	/* Output: both descriptors, in order. */
	memcpy(gp(&b.gm, BUF), "hello ", 6);
	memcpy(gp(&b.gm, BUF + 100), "world!\n", 7);
	drvq_publish(&d.q[1], drvq_add(&d.q[1], out, 2));
	vt_kick(&d, 1);
	assert_true(vt_wait_used(&d, 1, &id, &len, 1000));
	/* Emergency write: one byte through device config. */
	vt_wr(&d, 0x2000 + 8, 4, '#');
	/* Input typed before the guest posts buffers waits, then arrives in pieces. */
	virtio_console_input(c, (const u8 *)"abcdef", 6);
	virtio_dev_poll(virtio_console_dev(c), 10);
	drvq_publish(&d.q[0], drvq_add(&d.q[0], in, 1));
	vt_kick(&d, 0);
	assert_true(vt_wait_used(&d, 0, &id, &len, 1000));
	assert_int_equal(len, 4);
	assert_memory_equal(gp(&b.gm, BUF + 4096), "abcd", 4);
	drvq_publish(&d.q[0], drvq_add(&d.q[0], in, 1));
	vt_kick(&d, 0);
	assert_true(vt_wait_used(&d, 0, &id, &len, 1000));
	assert_int_equal(len, 2);
	assert_memory_equal(gp(&b.gm, BUF + 4096), "ef", 2);
	virtio_console_destroy(c);	/* closes io, flushing the file */
	fd = open(path, O_RDONLY);
	assert_int_equal(read(fd, got, sizeof(got)), 14);
	close(fd);
	assert_string_equal(got, "hello world!\n#");
	unlink(path);
	vt_board_free(&b);
}

/* ---- net -------------------------------------------------------------------- */

struct netfx {
	struct vt_board b;
	struct virtio_net *n;
	struct vt_drv d;
	int peer;
	unsigned rx_posted;
};

static struct netfx *net_mk(u64 want)
{
	struct netfx *f = calloc(1, sizeof(*f));
	struct virtio_pci_env env;
	struct err e;
	u8 mac[6] = {0x52, 0x54, 0, 1, 2, 3};
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sv), 0);
	assert_int_equal(vt_board_init(&f->b, true), 0);
	env = vt_env(&f->b);
	assert_int_equal(virtio_net_create_fd(&env, sv[0], false, false, mac, "net-test", &f->n, &e), 0);
	f->peer = sv[1];
	assert_int_equal(vt_drv_up(&f->d, &f->b, virtio_net_dev(f->n), want, 256), 0x0f);
	return f;
}

static void net_rm(struct netfx *f)
{
	virtio_net_destroy(f->n);
	close(f->peer);
	vt_board_free(&f->b);
	free(f);
}

/* Posts k receive buffers of size sz (buffer i at BUF + i * 0x1000 modulo 2 MiB). */
static void net_post_rx(struct netfx *f, unsigned k, u32 sz)
{
	for (unsigned i = 0; i < k; i++) {
		struct drv_buf b = {BUF + (u64)(f->rx_posted++ % 512) * 0x1000, sz, true};
		drvq_publish(&f->d.q[0], drvq_add(&f->d.q[0], &b, 1));
	}
	vt_kick(&f->d, 0);
}

static void test_net_config_and_tx(void **state)
{
	struct netfx *f = net_mk(~0ULL);
	struct drv_buf tx[2] = {{BUF, 12, false}, {BUF + 0x100, 60, false}};
	u8 pkt[128];
	u32 id, len;
	struct virtio_net_stats st;

	assert_int_equal(vt_rd(&f->d, 0x2000, 4), 0x01005452);
	assert_int_equal(vt_rd(&f->d, 0x2004, 2), 0x0302);
	/* No offloads on a socket: only MAC and MRG_RXBUF among device bits. */
	vt_wr(&f->d, 0x08, 4, 0);
	assert_int_equal(vt_rd(&f->d, 0x0c, 4) & 0xffffff,
			 1u << VIRTIO_NET_F_MAC | 1u << VIRTIO_NET_F_MRG_RXBUF);
	memset(gp(&f->b.gm, BUF), 0, 12);
	memset(gp(&f->b.gm, BUF + 0x100), 0xab, 60);
	drvq_publish(&f->d.q[1], drvq_add(&f->d.q[1], tx, 2));
	vt_kick(&f->d, 1);
	assert_true(vt_wait_used(&f->d, 1, &id, &len, 1000));
	assert_int_equal(recv(f->peer, pkt, sizeof(pkt), 0), 72);
	assert_int_equal(pkt[12], 0xab);
	virtio_net_stats(f->n, &st);
	assert_int_equal(st.tx_packets, 1);
	net_rm(f);
}

static void test_net_rx_mergeable(void **state)
{
	struct netfx *f = net_mk(~0ULL);
	u8 pkt[12 + 3000];
	u32 id, len, total = 0;
	unsigned used = 0;

	memset(pkt, 0, 12);
	for (unsigned i = 12; i < sizeof(pkt); i++)
		pkt[i] = (u8)i;
	assert_int_equal(send(f->peer, pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	net_post_rx(f, 4, 1500);
	POLL_UNTIL(virtio_net_dev(f->n), get_le16(gp(&f->b.gm, f->d.q[0].used + 2)) >= 3);
	while (drvq_used(&f->d.q[0], &id, &len)) {
		total += len;
		used++;
	}
	assert_int_equal(used, 3);
	assert_int_equal(total, sizeof(pkt));
	/* num_buffers in the first buffer's header; payload continues across buffers. */
	assert_int_equal(get_le16(gp(&f->b.gm, BUF) + 10), 3);
	assert_int_equal(gp(&f->b.gm, BUF + 0x1000)[0], (u8)1500);
	net_rm(f);
}

static void test_net_rx_no_drop_under_load(void **state)
{
	struct netfx *f = net_mk(~0ULL);
	u8 pkt[12 + 200];
	unsigned got = 0;
	u32 id, len;
	struct virtio_net_stats st;

	memset(pkt, 0, sizeof(pkt));
	/* 100 packets queue in the socket before any receive buffer exists. */
	for (unsigned i = 0; i < 100; i++) {
		put_le32(pkt + 12, i);
		assert_int_equal(send(f->peer, pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	}
	virtio_dev_poll(virtio_net_dev(f->n), 10);
	/* Buffers trickle in 7 at a time; every packet arrives, in order. */
	while (got < 100) {
		net_post_rx(f, 7, 2048);
		for (int k = 0; k < 20; k++)
			virtio_dev_poll(virtio_net_dev(f->n), 5);
		while (drvq_used(&f->d.q[0], &id, &len)) {
			u64 gpa = get_le64(gp(&f->b.gm, f->d.q[0].desc + 16ULL * id));
			assert_int_equal(len, sizeof(pkt));
			assert_int_equal(get_le32(gp(&f->b.gm, gpa + 12)), got);
			got++;
		}
		assert_true(f->rx_posted < 400);
	}
	virtio_net_stats(f->n, &st);
	assert_int_equal(st.rx_packets, 100);
	assert_int_equal(st.rx_dropped, 0);
	assert_true(st.rx_stalls > 0);
	net_rm(f);
}

static void test_net_malformed_rx_buffer(void **state)
{
	struct netfx *f = net_mk(~0ULL);
	u8 pkt[12 + 60] = {0};

	/* A 4-byte receive buffer cannot hold the 12-byte header. */
	assert_int_equal(send(f->peer, pkt, sizeof(pkt), 0), (ssize_t)sizeof(pkt));
	net_post_rx(f, 1, 4);
	POLL_UNTIL(virtio_net_dev(f->n), virtio_net_dev(f->n)->broken);
	assert_string_equal(virtio_net_dev(f->n)->broken_msg,
			    "receive buffer of 4 bytes cannot hold the header");
	net_rm(f);
}

static void test_tap(void **state)
{
	int fd;
	bool offloads;
	struct err e;

	/* Needs /dev/net/tun and CAP_NET_ADMIN: skipped where they are missing. */
	if (tap_open("mrk-test-tap0", &fd, &offloads, &e) < 0) {
		print_message("tap unavailable: %s\n", e.msg);
		skip();
	}
	struct vt_board b;
	struct virtio_net *n;
	struct virtio_pci_env env;
	struct vt_drv d;

	assert_int_equal(vt_board_init(&b, true), 0);
	env = vt_env(&b);
	assert_int_equal(virtio_net_create_fd(&env, fd, true, offloads, (const u8 *)"\x52\x54\0\0\0\1",
					      "tap", &n, &e), 0);
	assert_int_equal(vt_drv_up(&d, &b, virtio_net_dev(n), ~0ULL, 256), 0x0f);
	vt_wr(&d, 0x08, 4, 0);
	u32 feat = (u32)vt_rd(&d, 0x0c, 4);
	assert_int_equal(!!(feat & 1u << VIRTIO_NET_F_GUEST_TSO4), offloads);
	assert_int_equal(!!(feat & 1u << VIRTIO_NET_F_CSUM), offloads);
	virtio_net_destroy(n);
	vt_board_free(&b);
	assert_int_equal(tap_open("this-name-is-far-too-long", &fd, &offloads, &e), -EINVAL);
}

/* ---- vsock -------------------------------------------------------------------- */

struct vsfx {
	struct vt_board b;
	struct virtio_vsock *v;
	struct vt_drv d;
	char dir[64], path[96];
	unsigned rx_posted;
};

static struct vsfx *vs_mk(void)
{
	struct vsfx *f = calloc(1, sizeof(*f));
	struct virtio_pci_env env;
	struct vsock_config vc = {.enabled = true, .cid = 3};
	struct err e;

	strcpy(f->dir, "/tmp/merak-vsock-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/v.sock", f->dir);
	vc.socket = f->path;
	assert_int_equal(vt_board_init(&f->b, true), 0);
	env = vt_env(&f->b);
	assert_int_equal(virtio_vsock_create(&env, &vc, &f->v, &e), 0);
	assert_int_equal(vt_drv_up(&f->d, &f->b, virtio_vsock_dev(f->v), ~0ULL, 64), 0x0f);
	assert_int_equal(vt_rd(&f->d, 0x2000, 8), 3);
	for (unsigned i = 0; i < 32; i++) {
		struct drv_buf b = {BUF + (u64)i * 0x1000, 4096, true};
		drvq_publish(&f->d.q[0], drvq_add(&f->d.q[0], &b, 1));
	}
	f->rx_posted = 32;
	vt_kick(&f->d, 0);
	return f;
}

static void vs_rm(struct vsfx *f)
{
	char p[128];

	virtio_vsock_destroy(f->v);
	vt_board_free(&f->b);
	snprintf(p, sizeof(p), "%s/v.sock_5000", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
}

struct pkt {
	struct vt_vsock_hdr h;
	u8 data[4096];
};

/* Next packet the device put on the receive queue (re-posting its buffer). */
static bool vs_rx(struct vsfx *f, struct pkt *p)
{
	u32 id, len;
	u64 gpa;
	const u8 *h;

	if (!vt_wait_used(&f->d, 0, &id, &len, 1000))
		return false;
	gpa = get_le64(gp(&f->b.gm, f->d.q[0].desc + 16ULL * id));
	h = gp(&f->b.gm, gpa);
	vt_vsock_hdr_get(h, &p->h);
	assert_int_equal(len, VT_VSOCK_HDR_LEN + p->h.len);
	memcpy(p->data, h + VT_VSOCK_HDR_LEN, p->h.len);
	/* Give the buffer back. */
	struct drv_buf b = {gpa, 4096, true};
	drvq_publish(&f->d.q[0], drvq_add(&f->d.q[0], &b, 1));
	vt_kick(&f->d, 0);
	return true;
}

static void vs_tx(struct vsfx *f, u32 src_port, u32 dst_port, u16 op, u32 flags, u32 buf_alloc,
		  u32 fwd_cnt, const void *data, u32 len)
{
	static unsigned slot;
	u64 gpa = 0xa00000 + (u64)(slot++ % 64) * 0x1000;
	u8 *h = gp(&f->b.gm, gpa);
	struct drv_buf b = {gpa, VT_VSOCK_HDR_LEN + len, false};
	u32 id, ulen;

	vt_vsock_hdr_put(h, &(struct vt_vsock_hdr){.src_cid = 3, .dst_cid = 2,
						   .src_port = src_port, .dst_port = dst_port,
						   .len = len, .type = 1, .op = op, .flags = flags,
						   .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt});
	if (len)
		memcpy(h + VT_VSOCK_HDR_LEN, data, len);
	drvq_publish(&f->d.q[1], drvq_add(&f->d.q[1], &b, 1));
	vt_kick(&f->d, 1);
	assert_true(vt_wait_used(&f->d, 1, &id, &ulen, 1000));
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static ssize_t recv_wait(struct vsfx *f, int fd, void *buf, size_t len)
{
	ssize_t n = -1;

	for (int i = 0; i < 100; i++) {
		n = recv(fd, buf, len, MSG_DONTWAIT);
		if (n >= 0 || errno != EAGAIN)
			break;
		virtio_dev_poll(virtio_vsock_dev(f->v), 10);
	}
	return n;
}

static void test_vsock_host_connect(void **state)
{
	struct vsfx *f = vs_mk();
	struct pkt p;
	char line[32] = {0};
	int fd = unix_connect(f->path);
	u32 hport;

	assert_int_equal(write(fd, "CONNECT 1234\nhel", 16), 16);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.op, VSOCK_OP_REQUEST);
	assert_int_equal(p.h.src_cid, 2);
	assert_int_equal(p.h.dst_cid, 3);
	assert_int_equal(p.h.dst_port, 1234);
	assert_int_equal(p.h.buf_alloc, VSOCK_BUF_ALLOC);
	hport = p.h.src_port;
	/* The guest accepts; the host client learns its port. */
	vs_tx(f, 1234, hport, VSOCK_OP_RESPONSE, 0, 65536, 0, NULL, 0);
	assert_true(recv_wait(f, fd, line, sizeof(line) - 1) > 0);
	char want[32];
	snprintf(want, sizeof(want), "OK %u\n", hport);
	assert_string_equal(line, want);
	/* Bytes written after the CONNECT line reach the guest. */
	assert_int_equal(write(fd, "lo", 2), 2);
	unsigned got = 0;
	char data[8] = {0};
	while (got < 5 && vs_rx(f, &p)) {
		assert_int_equal(p.h.op, VSOCK_OP_RW);
		memcpy(data + got, p.data, p.h.len);
		got += p.h.len;
	}
	assert_string_equal(data, "hello");
	/* Guest to host. */
	vs_tx(f, 1234, hport, VSOCK_OP_RW, 0, 65536, 5, "world", 5);
	memset(line, 0, sizeof(line));
	assert_int_equal(recv_wait(f, fd, line, sizeof(line)), 5);
	assert_string_equal(line, "world");
	/* The guest closes: the device answers with RST and closes the socket. */
	vs_tx(f, 1234, hport, VSOCK_OP_SHUTDOWN, 3, 65536, 5, NULL, 0);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.op, VSOCK_OP_RST);
	assert_int_equal(recv_wait(f, fd, line, sizeof(line)), 0);
	assert_int_equal(virtio_vsock_nconns(f->v), 0);
	close(fd);
	vs_rm(f);
}

/* A host listener on port 5000 (*lfd), and the guest's connection to it from
 * GUEST_PORT with BUF_ALLOC bytes of buffer, answered: the accepted socket. */
static int vs_guest_connects(struct vsfx *f, int *lfd, u32 guest_port, u32 buf_alloc)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct pkt p;
	int cfd;

	*lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_5000", f->path);
	assert_int_equal(bind(*lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(*lfd, 4), 0);
	vs_tx(f, guest_port, 5000, VSOCK_OP_REQUEST, 0, buf_alloc, 0, NULL, 0);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.op, VSOCK_OP_RESPONSE);
	assert_int_equal(p.h.src_port, 5000);
	assert_int_equal(p.h.dst_port, guest_port);
	cfd = accept(*lfd, NULL, NULL);
	assert_true(cfd >= 0);
	return cfd;
}

static void test_vsock_guest_connect_and_credit(void **state)
{
	struct vsfx *f = vs_mk();
	struct pkt p;
	int lfd, cfd;
	char buf[16] = {0};

	/* The guest (port 999) connects to host port 5000 with a 4-byte buffer. */
	cfd = vs_guest_connects(f, &lfd, 999, 4);
	/* Ten bytes from the host: only four fit the guest's credit. */
	assert_int_equal(write(cfd, "0123456789", 10), 10);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.op, VSOCK_OP_RW);
	assert_int_equal(p.h.len, 4);
	assert_memory_equal(p.data, "0123", 4);
	for (int i = 0; i < 10; i++)
		virtio_dev_poll(virtio_vsock_dev(f->v), 5);
	u32 id, len;
	assert_false(drvq_used(&f->d.q[0], &id, &len));
	/* The guest consumed them and says so; the rest flows, 4 at a time. */
	vs_tx(f, 999, 5000, VSOCK_OP_CREDIT_UPDATE, 0, 4, 4, NULL, 0);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.len, 4);
	assert_memory_equal(p.data, "4567", 4);
	vs_tx(f, 999, 5000, VSOCK_OP_CREDIT_UPDATE, 0, 4, 8, NULL, 0);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.len, 2);
	assert_memory_equal(p.data, "89", 2);
	/* A credit request gets a credit update. */
	vs_tx(f, 999, 5000, VSOCK_OP_CREDIT_REQUEST, 0, 4, 10, NULL, 0);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.op, VSOCK_OP_CREDIT_UPDATE);
	assert_int_equal(p.h.buf_alloc, VSOCK_BUF_ALLOC);
	/* Host closes: SHUTDOWN to the guest. */
	close(cfd);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.op, VSOCK_OP_SHUTDOWN);
	assert_int_equal(p.h.flags, 3);
	vs_tx(f, 999, 5000, VSOCK_OP_RST, 0, 4, 10, NULL, 0);
	POLL_UNTIL(virtio_vsock_dev(f->v), virtio_vsock_nconns(f->v) == 0);
	assert_int_equal(virtio_vsock_nconns(f->v), 0);
	close(lfd);
	(void)buf;
	vs_rm(f);
}

static void test_vsock_refusals(void **state)
{
	struct vsfx *f = vs_mk();
	struct pkt p;
	int fd;

	/* Nobody listens on PATH_6000: reset. */
	vs_tx(f, 1000, 6000, VSOCK_OP_REQUEST, 0, 4096, 0, NULL, 0);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.op, VSOCK_OP_RST);
	assert_int_equal(p.h.src_port, 6000);
	assert_int_equal(p.h.dst_port, 1000);
	/* Data for a connection that does not exist: reset. */
	vs_tx(f, 1000, 7000, VSOCK_OP_RW, 0, 4096, 0, "x", 1);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.op, VSOCK_OP_RST);
	/* A host client with a bad hello is dropped. */
	fd = unix_connect(f->path);
	assert_int_equal(write(fd, "HELLO\n", 6), 6);
	char c;
	assert_int_equal(recv_wait(f, fd, &c, 1), 0);
	close(fd);
	assert_int_equal(virtio_vsock_nconns(f->v), 0);
	vs_rm(f);
}

/*
 * One epoll round that carries the guest's RST for a connection and, after
 * it, its host socket's readable event: the RST frees the connection, and
 * the socket's event of the same round must not reach it (under ASan a
 * use after free; in production merak a crash the guest can provoke).
 */
static void test_vsock_conn_freed_mid_round(void **state)
{
	struct vsfx *f = vs_mk();
	struct pkt p;
	u64 gpa = 0xa80000;
	u8 *h = gp(&f->b.gm, gpa);
	struct drv_buf b = {gpa, VT_VSOCK_HDR_LEN, false};
	u32 id, len;
	int lfd, cfd = vs_guest_connects(f, &lfd, 999, 4096);

	/* The RST is published and kicked first, then the host writes. */
	vt_vsock_hdr_put(h, &(struct vt_vsock_hdr){.src_cid = 3, .dst_cid = 2, .src_port = 999,
						   .dst_port = 5000, .type = 1,
						   .op = VSOCK_OP_RST, .buf_alloc = 4096});
	drvq_publish(&f->d.q[1], drvq_add(&f->d.q[1], &b, 1));
	vt_kick(&f->d, 1);
	assert_int_equal(write(cfd, "late", 4), 4);
	/* Both in one round. */
	virtio_dev_poll(virtio_vsock_dev(f->v), 10);
	assert_true(drvq_used(&f->d.q[1], &id, &len));
	assert_int_equal(virtio_vsock_nconns(f->v), 0);
	for (int i = 0; i < 5; i++)
		virtio_dev_poll(virtio_vsock_dev(f->v), 5);
	/* The device goes on: a new connection works. */
	vs_tx(f, 1001, 5000, VSOCK_OP_REQUEST, 0, 4096, 0, NULL, 0);
	assert_true(vs_rx(f, &p));
	assert_int_equal(p.h.op, VSOCK_OP_RESPONSE);
	close(cfd);
	cfd = accept(lfd, NULL, NULL);
	assert_true(cfd >= 0);
	close(cfd);
	close(lfd);
	vs_rm(f);
}

static void test_vsock_bad_config(void **state)
{
	struct vt_board b;
	struct virtio_vsock *v;
	struct virtio_pci_env env;
	struct vsock_config vc = {.enabled = true, .cid = 2, .socket = "/tmp/x"};
	struct err e;

	assert_int_equal(vt_board_init(&b, true), 0);
	env = vt_env(&b);
	assert_int_equal(virtio_vsock_create(&env, &vc, &v, &e), -EINVAL);
	assert_string_equal(e.msg, "vsock cid 2 is reserved (use 3 or above)");
	vc.cid = 3;
	vc.socket = "/etc/passwd";
	assert_int_equal(virtio_vsock_create(&env, &vc, &v, &e), -EEXIST);
	assert_string_equal(e.msg, "vsock socket path '/etc/passwd' exists and is not a socket");
	vt_board_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_console),
		cmocka_unit_test(test_net_config_and_tx),
		cmocka_unit_test(test_net_rx_mergeable),
		cmocka_unit_test(test_net_rx_no_drop_under_load),
		cmocka_unit_test(test_net_malformed_rx_buffer),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_vsock_host_connect),
		cmocka_unit_test(test_vsock_guest_connect_and_credit),
		cmocka_unit_test(test_vsock_refusals),
		cmocka_unit_test(test_vsock_conn_freed_mid_round),
		cmocka_unit_test(test_vsock_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
