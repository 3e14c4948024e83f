// SPDX-License-Identifier: MIT
/* virtio-blk driven through the transport with synthetic requests in guest RAM. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "virtio/blk.h"
#include "vtest.h"

#define HDR  0x800000ULL
#define DATA 0x810000ULL
#define STAT 0x8f0000ULL
#define IMG_SECTORS 64

struct fx {
	struct vt_board b;
	struct virtio_blk *blk;
	struct vt_drv d;
	char path[64];
	struct err e;
};

/* Every test runs once per backend (main); the device must end up with it. */
static u8 g_backend = DISK_BACKEND_PREADV;

static struct fx *mk_cfg(bool readonly, u64 img_size, u16 nq, bool direct)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct virtio_pci_env env;
	struct disk_config dc = {.readonly = readonly, .backend = g_backend, .num_queues = nq,
				 .direct = direct};
	int fd;

	strcpy(f->path, "/tmp/merak-blk-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)img_size), 0);
	/* Recognisable content: sector i is filled with byte i. */
	for (u64 s = 0; s < img_size / 512; s++) {
		u8 buf[512];
		memset(buf, (int)s, sizeof(buf));
		assert_int_equal(pwrite(fd, buf, 512, (off_t)(s * 512)), 512);
	}
	close(fd);
	dc.path = f->path;
	strcpy(dc.serial, "merak-disk-0");
	assert_int_equal(vt_board_init(&f->b, true), 0);
	env = vt_env(&f->b);
	assert_int_equal(virtio_blk_create(&env, &dc, 0, &f->blk, &f->e), 0);
	assert_string_equal(virtio_blk_backend(f->blk),
			    g_backend == DISK_BACKEND_IO_URING ? "io_uring" : "preadv");
	assert_int_equal(vt_drv_up(&f->d, &f->b, virtio_blk_dev(f->blk), ~0ULL, 64), 0x0f);
	return f;
}

static struct fx *mk_img(bool readonly, u64 img_size)
{
	return mk_cfg(readonly, img_size, 0, false);
}

static struct fx *mk(bool readonly)
{
	return mk_img(readonly, IMG_SECTORS * 512);
}

static void rm(struct fx *f)
{
	virtio_blk_destroy(f->blk);
	vt_board_free(&f->b);
	unlink(f->path);
	free(f);
}

/* One request: header, optional data (direction by type), status. Returns status. */
static int req(struct fx *f, u32 type, u64 sector, u32 data_len, bool data_write, u32 *used)
{
	struct drv_buf b[3];
	unsigned n = 0;
	u8 *h = gp(&f->b.gm, HDR);
	u32 id, len;

	put_le32(h, type);
	put_le32(h + 4, 0);
	put_le64(h + 8, sector);
	b[n++] = (struct drv_buf){HDR, 16, false};
	if (data_len)
		b[n++] = (struct drv_buf){DATA, data_len, data_write};
	b[n++] = (struct drv_buf){STAT, 1, true};
	*gp(&f->b.gm, STAT) = 0xee;
	drvq_publish(&f->d.q[0], drvq_add(&f->d.q[0], b, n));
	vt_kick(&f->d, 0);
	if (!vt_wait_used(&f->d, 0, &id, &len, 2000))
		return -1;
	if (used)
		*used = len;
	return *gp(&f->b.gm, STAT);
}

static void test_config_and_features(void **state)
{
	struct fx *f = mk(false);

	assert_int_equal(vt_rd(&f->d, 0x2000, 8), IMG_SECTORS);
	assert_int_equal(vt_rd(&f->d, 0x2000 + 12, 4), VIRTIO_BLK_QUEUE_SIZE - 2);
	vt_wr(&f->d, 0x00, 4, 0);
	u32 feat = (u32)vt_rd(&f->d, 0x04, 4);
	assert_true(feat & 1u << VIRTIO_BLK_F_FLUSH);
	assert_true(feat & 1u << VIRTIO_BLK_F_DISCARD);
	assert_true(feat & 1u << VIRTIO_BLK_F_WRITE_ZEROES);
	assert_false(feat & 1u << VIRTIO_BLK_F_RO);
	rm(f);
}

static void test_read(void **state)
{
	struct fx *f = mk(false);
	u32 used;

	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 3, 1024, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1025);
	assert_int_equal(gp(&f->b.gm, DATA)[0], 3);
	assert_int_equal(gp(&f->b.gm, DATA)[1023], 4);
	rm(f);
}

static void test_write_flush_then_host_reads(void **state)
{
	struct fx *f = mk(false);
	u8 back[1024];
	u32 used;
	int fd;

	memset(gp(&f->b.gm, DATA), 0x77, 1024);
	assert_int_equal(req(f, VIRTIO_BLK_T_OUT, 10, 1024, false, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 1);
	assert_int_equal(req(f, VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	/* Data safety: the bytes are in the file, seen by an independent reader. */
	fd = open(f->path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, back, sizeof(back), 10 * 512), 1024);
	close(fd);
	for (int i = 0; i < 1024; i++)
		assert_int_equal(back[i], 0x77);
	assert_int_equal(virtio_blk_disk(f->blk)->flushes, 1);
	rm(f);
}

static void test_get_id(void **state)
{
	struct fx *f = mk(false);
	u32 used;

	memset(gp(&f->b.gm, DATA), 0xff, 20);
	assert_int_equal(req(f, VIRTIO_BLK_T_GET_ID, 0, 20, true, &used), VIRTIO_BLK_S_OK);
	assert_int_equal(used, 21);
	assert_memory_equal(gp(&f->b.gm, DATA), "merak-disk-0\0\0\0\0\0\0\0", 20);
	rm(f);
}

static void test_discard_and_write_zeroes(void **state)
{
	struct fx *f = mk(false);
	u8 *seg = gp(&f->b.gm, DATA);
	u8 back[512];
	int fd;

	put_le64(seg, 8);
	put_le32(seg + 8, 8);
	put_le32(seg + 12, 0);
	assert_int_equal(req(f, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL), VIRTIO_BLK_S_OK);
	put_le64(seg, 20);
	put_le32(seg + 8, 2);
	assert_int_equal(req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL), VIRTIO_BLK_S_OK);
	put_le32(seg + 12, 1);	/* unmap allowed */
	put_le64(seg, 30);
	assert_int_equal(req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL), VIRTIO_BLK_S_OK);
	fd = open(f->path, O_RDONLY);
	for (u64 s = 0; s < IMG_SECTORS; s++) {
		bool zero = (s >= 8 && s < 16) || (s >= 20 && s < 22) || (s >= 30 && s < 32);
		assert_int_equal(pread(fd, back, 512, (off_t)(s * 512)), 512);
		assert_int_equal(back[0], zero ? 0 : (u8)s);
		assert_int_equal(back[511], zero ? 0 : (u8)s);
	}
	close(fd);
	/* Discard with the unmap flag, and unknown flag bits, are unsupported. */
	put_le32(seg + 12, 1);
	assert_int_equal(req(f, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL), VIRTIO_BLK_S_UNSUPP);
	put_le32(seg + 12, 4);
	assert_int_equal(req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL), VIRTIO_BLK_S_UNSUPP);
	/* A segment past the end is an I/O error. */
	put_le32(seg + 12, 0);
	put_le64(seg, IMG_SECTORS - 1);
	put_le32(seg + 8, 2);
	assert_int_equal(req(f, VIRTIO_BLK_T_DISCARD, 0, 16, false, NULL), VIRTIO_BLK_S_IOERR);
	rm(f);
}

static void test_out_of_range(void **state)
{
	struct fx *f = mk(false);

	assert_int_equal(req(f, VIRTIO_BLK_T_IN, IMG_SECTORS, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 1024, true, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, VIRTIO_BLK_T_OUT, UINT64_MAX / 512, 512, false, NULL),
			 VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, 512, true, NULL), VIRTIO_BLK_S_OK);
	rm(f);
}

static void test_unknown_type(void **state)
{
	struct fx *f = mk(false);

	assert_int_equal(req(f, 99, 0, 0, false, NULL), VIRTIO_BLK_S_UNSUPP);
	rm(f);
}

static void test_readonly(void **state)
{
	struct fx *f = mk(true);
	u8 back[512];
	int fd;

	vt_wr(&f->d, 0x00, 4, 0);
	u32 feat = (u32)vt_rd(&f->d, 0x04, 4);
	assert_true(feat & 1u << VIRTIO_BLK_F_RO);
	assert_false(feat & 1u << VIRTIO_BLK_F_DISCARD);
	memset(gp(&f->b.gm, DATA), 0x99, 512);
	assert_int_equal(req(f, VIRTIO_BLK_T_OUT, 1, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	put_le64(gp(&f->b.gm, DATA), 1);
	put_le32(gp(&f->b.gm, DATA) + 8, 1);
	put_le32(gp(&f->b.gm, DATA) + 12, 0);
	assert_int_equal(req(f, VIRTIO_BLK_T_WRITE_ZEROES, 0, 16, false, NULL), VIRTIO_BLK_S_IOERR);
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 1, 512, true, NULL), VIRTIO_BLK_S_OK);
	assert_int_equal(req(f, VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	fd = open(f->path, O_RDONLY);
	assert_int_equal(pread(fd, back, 512, 512), 512);
	close(fd);
	assert_int_equal(back[0], 1);
	rm(f);
}

static void test_exclusive_lock(void **state)
{
	struct fx *f = mk(false);
	struct disk_config dc = {.path = f->path};
	struct blk_disk d2;
	struct err e;

	assert_int_equal(blk_disk_open(&d2, f->path, false, NULL, &e), -EBUSY);
	char want[128];
	snprintf(want, sizeof(want), "disk '%s' is in use by another process", f->path);
	assert_string_equal(e.msg, want);
	/* Read-only users are kept out too while a writer holds it. */
	assert_int_equal(blk_disk_open(&d2, f->path, true, NULL, &e), -EBUSY);
	(void)dc;
	rm(f);
}

static void test_size_not_multiple_of_512(void **state)
{
	struct fx *f = mk_img(false, 10 * 512 + 100);

	/* The partial last sector is not visible. */
	assert_int_equal(vt_rd(&f->d, 0x2000, 8), 10);
	assert_int_equal(req(f, VIRTIO_BLK_T_IN, 10, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	rm(f);
}

static void test_missing_file(void **state)
{
	struct blk_disk d;
	struct err e;

	assert_int_equal(blk_disk_open(&d, "/nonexistent/merak.img", false, NULL, &e), -ENOENT);
	assert_string_equal(e.msg, "disk '/nonexistent/merak.img': No such file or directory");
}

/* A FIFO is refused at once (opening it used to wait forever for a writer). */
static void test_fifo_refused(void **state)
{
	char path[64];
	struct blk_disk d;
	struct err e;

	snprintf(path, sizeof(path), "/tmp/merak-blk-fifo-%d", getpid());
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);	/* a hang fails the test instead of stalling the suite */
	assert_int_equal(blk_disk_open(&d, path, true, NULL, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "is a FIFO, not a regular file or block device"));
	assert_int_equal(blk_disk_open(&d, path, false, NULL, &e), -EINVAL);
	alarm(0);
	unlink(path);
}

static void test_no_status_byte_needs_reset(void **state)
{
	struct fx *f = mk(false);
	struct drv_buf b[1] = {{HDR, 16, false}};
	u32 id, len;

	put_le32(gp(&f->b.gm, HDR), VIRTIO_BLK_T_IN);
	drvq_publish(&f->d.q[0], drvq_add(&f->d.q[0], b, 1));
	vt_kick(&f->d, 0);
	assert_false(vt_wait_used(&f->d, 0, &id, &len, 100));
	assert_int_equal(vt_rd(&f->d, 0x14, 1) & VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_CONFIG_S_NEEDS_RESET);
	assert_string_equal(virtio_blk_dev(f->blk)->broken_msg,
			    "request queue: request has no writable status byte");
	rm(f);
}

static void test_data_out_of_guest_ram_needs_reset(void **state)
{
	struct fx *f = mk(false);
	struct drv_buf b[3] = {{HDR, 16, false}, {VT_RAM - 256, 512, true}, {STAT, 1, true}};
	u32 id, len;

	put_le32(gp(&f->b.gm, HDR), VIRTIO_BLK_T_IN);
	drvq_publish(&f->d.q[0], drvq_add(&f->d.q[0], b, 3));
	vt_kick(&f->d, 0);
	assert_false(vt_wait_used(&f->d, 0, &id, &len, 100));
	assert_true(virtio_blk_dev(f->blk)->broken);
	assert_non_null(strstr(virtio_blk_dev(f->blk)->broken_msg, "outside guest RAM"));
	rm(f);
}

/* Publishes n 4 KiB requests on queue q (request i: sector 8i, write when w has bit i). */
static void publish_batch(struct fx *f, u16 q, unsigned n, u64 w)
{
	for (unsigned i = 0; i < n; i++) {
		u64 hdr = HDR + i * 0x2000ULL, data = hdr + 0x1000;
		u8 *h = gp(&f->b.gm, hdr);
		bool wr = w >> i & 1;
		struct drv_buf b[3] = {{hdr, 16, false}, {data, 4096, !wr}, {hdr + 16, 1, true}};

		put_le32(h, wr ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
		put_le32(h + 4, 0);
		put_le64(h + 8, 8ULL * i);
		h[16] = 0xee;
		if (wr)
			memset(gp(&f->b.gm, data), 0xa0 + (int)i, 4096);
		drvq_publish(&f->d.q[q], drvq_add(&f->d.q[q], b, 3));
	}
}

static void wait_batch(struct fx *f, u16 q, unsigned n)
{
	u32 id, len;

	for (unsigned got = 0; got < n; got++)
		assert_true(vt_wait_used(&f->d, q, &id, &len, 2000));
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(*gp(&f->b.gm, HDR + i * 0x2000ULL + 16), VIRTIO_BLK_S_OK);
}

/* 16 writes in one kick, a flush, then 16 reads of them in one kick. */
static void test_batch_write_flush_read(void **state)
{
	struct fx *f = mk_img(false, 256 * 512);
	u32 used;

	publish_batch(f, 0, 16, 0xffff);
	vt_kick(&f->d, 0);
	wait_batch(f, 0, 16);
	assert_int_equal(req(f, VIRTIO_BLK_T_FLUSH, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	for (unsigned i = 0; i < 16; i++)
		memset(gp(&f->b.gm, HDR + i * 0x2000ULL + 0x1000), 0, 4096);
	publish_batch(f, 0, 16, 0);
	vt_kick(&f->d, 0);
	wait_batch(f, 0, 16);
	for (unsigned i = 0; i < 16; i++) {
		const u8 *d = gp(&f->b.gm, HDR + i * 0x2000ULL + 0x1000);

		assert_int_equal(d[0], 0xa0 + i);
		assert_int_equal(d[4095], 0xa0 + i);
	}
	assert_int_equal(virtio_blk_disk(f->blk)->writes, 16);
	assert_int_equal(virtio_blk_disk(f->blk)->reads, 16);
	assert_int_equal(virtio_blk_disk(f->blk)->write_bytes, 16 * 4096);
	rm(f);
}

/* A request that crosses the end of a short image fails alone; its neighbours succeed. */
static void test_batch_with_error(void **state)
{
	struct fx *f = mk_img(false, 20 * 512);	/* requests 0 and 1 fit, 2 does not */
	u32 id, len;

	publish_batch(f, 0, 3, 0);
	vt_kick(&f->d, 0);
	for (unsigned got = 0; got < 3; got++)
		assert_true(vt_wait_used(&f->d, 0, &id, &len, 2000));
	assert_int_equal(*gp(&f->b.gm, HDR + 16), VIRTIO_BLK_S_OK);
	assert_int_equal(*gp(&f->b.gm, HDR + 0x2000 + 16), VIRTIO_BLK_S_OK);
	assert_int_equal(*gp(&f->b.gm, HDR + 0x4000 + 16), VIRTIO_BLK_S_IOERR);
	assert_int_equal(virtio_blk_disk(f->blk)->errors, 1);
	rm(f);
}

/* Two request queues: VIRTIO_BLK_F_MQ, num_queues in config, each queue its vector. */
static void test_two_queues(void **state)
{
	struct fx *f = mk_cfg(false, IMG_SECTORS * 512, 2, false);
	u64 before;

	vt_wr(&f->d, 0x00, 4, 0);
	assert_true(vt_rd(&f->d, 0x04, 4) & 1u << VIRTIO_BLK_F_MQ);
	assert_int_equal(vt_rd(&f->d, 0x2000 + 34, 2), 2);
	assert_int_equal(vt_rd(&f->d, 0x12, 2), 2);
	before = f->b.msi_count;
	publish_batch(f, 1, 4, 0x5);
	vt_kick(&f->d, 1);
	wait_batch(f, 1, 4);
	assert_true(f->b.msi_count > before);
	publish_batch(f, 0, 2, 0);
	vt_kick(&f->d, 0);
	wait_batch(f, 0, 2);
	rm(f);
}

/*
 * A reset with requests in flight (O_DIRECT keeps them in flight where the
 * file system takes it): nothing completes into the reset rings, nothing is
 * leaked (ASan), and the device works again after the driver comes back.
 */
static void test_reset_in_flight(void **state)
{
	struct fx *f;
	int probe;
	char path[] = "/tmp/merak-blk-dio-XXXXXX";
	u32 id, len;

	probe = mkstemp(path);
	assert_true(probe >= 0);
	close(probe);
	probe = open(path, O_RDWR | O_DIRECT);
	unlink(path);
	if (probe < 0)
		skip();
	close(probe);
	f = mk_cfg(false, 256 * 512, 0, true);
	publish_batch(f, 0, 16, 0xaaaa);
	vt_kick(&f->d, 0);
	virtio_dev_poll(virtio_blk_dev(f->blk), 0);	/* the kick: requests start */
	vt_wr(&f->d, 0x14, 1, 0);			/* reset: waits for them */
	assert_int_equal(vt_rd(&f->d, 0x14, 1), 0);
	virtio_dev_poll(virtio_blk_dev(f->blk), 50);
	assert_int_equal(vt_drv_up(&f->d, &f->b, virtio_blk_dev(f->blk), ~0ULL, 64), 0x0f);
	publish_batch(f, 0, 4, 0);
	vt_kick(&f->d, 0);
	wait_batch(f, 0, 4);
	assert_false(vt_wait_used(&f->d, 0, &id, &len, 10));
	/* Teardown with requests in flight too. */
	publish_batch(f, 0, 16, 0x5555);
	vt_kick(&f->d, 0);
	virtio_dev_poll(virtio_blk_dev(f->blk), 0);
	rm(f);
}

/* A guest that publishes one head over and over: bounded work, no overrun. */
static void test_same_head_repeated(void **state)
{
	struct fx *f = mk(false);
	struct drv_buf b[3] = {{HDR, 16, false}, {DATA, 512, true}, {STAT, 1, true}};
	struct drvq *q = &f->d.q[0];
	u16 head = drvq_add(q, b, 3);
	u32 id, len;
	unsigned got = 0;

	put_le32(gp(&f->b.gm, HDR), VIRTIO_BLK_T_IN);
	put_le64(gp(&f->b.gm, HDR) + 8, 0);
	for (unsigned i = 0; i < 64; i++)
		drvq_publish(q, head);
	vt_kick(&f->d, 0);
	while (vt_wait_used(&f->d, 0, &id, &len, 50))
		got++;
	assert_int_equal(got, 64);
	assert_false(virtio_blk_dev(f->blk)->broken);
	rm(f);
}

/* The used ring reaches want entries within ms, watched from this thread (the worker runs). */
static bool used_within(struct fx *f, u16 want, int ms)
{
	const u16 *idx = (const u16 *)gp(&f->b.gm, f->d.q[0].used + 2);

	for (int i = 0; i < ms * 10; i++) {
		if (__atomic_load_n(idx, __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(100);
	}
	return __atomic_load_n(idx, __ATOMIC_ACQUIRE) == want;
}

static u64 worker_cpu_ns(struct virtio_dev *vd)
{
	struct timespec ts;
	clockid_t cid;

	assert_int_equal(pthread_getcpuclockid(vd->worker, &cid), 0);
	assert_int_equal(clock_gettime(cid, &ts), 0);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

/* *p reaches want within ms, watched from this thread. */
static bool u16_within(const u16 *p, u16 want, int ms)
{
	for (int i = 0; i < ms * 10; i++) {
		if (__atomic_load_n(p, __ATOMIC_ACQUIRE) == want)
			return true;
		usleep(100);
	}
	return __atomic_load_n(p, __ATOMIC_ACQUIRE) == want;
}

/*
 * The worker on its thread, polling: after a request it serves the next
 * one without a kick while its window lasts (kicks suppressed through
 * avail_event), then asks for kicks again and sleeps: no CPU while idle, a
 * request without a kick then waits. A reset and a teardown inside a window
 * end it.
 *
 * The bounds hold on a loaded (sanitizer, shared CPU) host: each wait for
 * something that must happen is seconds, and what must not happen is
 * checked by its absence. The window is 2 s, so only this thread being
 * descheduled for seconds could make it end before a step inside it.
 */
static void test_worker_polls(void **state)
{
	const u32 window_ns = 2000U * 1000000U;
	struct fx *f = mk(false);
	struct virtio_dev *vd = virtio_blk_dev(f->blk);
	const u16 *avail_event = (const u16 *)gp(&f->b.gm, f->d.q[0].used + 4 + 8 * 64);
	struct timespec t0, t1;
	u64 cpu;

	assert_true(virtio_has(vd, VIRTIO_RING_F_EVENT_IDX));
	vd->poll_max_ns = vd->poll_ns = window_ns;
	assert_int_equal(virtio_dev_start(vd, &f->e), 0);
	publish_batch(f, 0, 1, 0);
	vt_kick(&f->d, 0);
	assert_true(used_within(f, 1, 10000));
	/* Inside the window: the next request needs no kick. */
	publish_batch(f, 0, 1, 1);
	assert_true(used_within(f, 2, 10000));
	assert_true(__atomic_load_n(&vd->poll_hits, __ATOMIC_RELAXED) > 0);
	/* Kicks are off: avail_event stays where the window opened, already crossed. */
	assert_int_equal(__atomic_load_n(avail_event, __ATOMIC_ACQUIRE), 0);
	/* The window ends: kicks wanted at the next entry, and the worker sleeps. */
	assert_true(u16_within(avail_event, 2, 10000));
	usleep(20 * 1000);	/* its last look at the rings, after enabling kicks */
	cpu = worker_cpu_ns(vd);
	usleep(200 * 1000);
	assert_true(worker_cpu_ns(vd) - cpu < 5 * 1000000);
	publish_batch(f, 0, 1, 0);
	assert_false(used_within(f, 3, 50));
	vt_kick(&f->d, 0);
	assert_true(used_within(f, 3, 10000));
	/* A reset inside the window, then the device works again. */
	vt_wr(&f->d, 0x14, 1, 0);
	assert_int_equal(vt_rd(&f->d, 0x14, 1), 0);
	assert_int_equal(vt_drv_up(&f->d, &f->b, vd, ~0ULL, 64), 0x0f);
	publish_batch(f, 0, 1, 0);
	vt_kick(&f->d, 0);
	assert_true(used_within(f, 1, 10000));
	/*
	 * Teardown inside a window (halved to 1 s by the pause over 2 s before
	 * the third request's kick): the worker stops at once, not when the
	 * window ends.
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rm(f);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec) <
		    window_ns / 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_and_features),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_write_flush_then_host_reads),
		cmocka_unit_test(test_get_id),
		cmocka_unit_test(test_discard_and_write_zeroes),
		cmocka_unit_test(test_out_of_range),
		cmocka_unit_test(test_unknown_type),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_exclusive_lock),
		cmocka_unit_test(test_size_not_multiple_of_512),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_fifo_refused),
		cmocka_unit_test(test_no_status_byte_needs_reset),
		cmocka_unit_test(test_data_out_of_guest_ram_needs_reset),
		cmocka_unit_test(test_batch_write_flush_read),
		cmocka_unit_test(test_batch_with_error),
		cmocka_unit_test(test_two_queues),
		cmocka_unit_test(test_reset_in_flight),
		cmocka_unit_test(test_same_head_repeated),
		cmocka_unit_test(test_worker_polls),
	};
	int failed;

	failed = cmocka_run_group_tests_name("preadv", tests, NULL, NULL);
#ifdef HAVE_LIBURING
	g_backend = DISK_BACKEND_IO_URING;
	failed += cmocka_run_group_tests_name("io_uring", tests, NULL, NULL);
#endif
	return failed;
}
