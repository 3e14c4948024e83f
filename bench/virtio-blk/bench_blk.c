// SPDX-License-Identifier: MIT
/*
 * virtio-blk device path against raw pread/pwrite on the same file: 4 KiB
 * requests at pseudo-random offsets of a 64 MiB image, half reads, half
 * writes. The device side is the real one: requests in a split virtqueue in
 * guest RAM, a notify write on BAR 0, the worker loop (run inline here),
 * the walker, blk_request, used ring and MSI-X. The raw side does the same
 * pread/pwrite calls directly. Prints requests/s of each and the ratio.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "vtest.h"

#define IMG   (64 * MiB)
#define BATCH 64
#define REQS  200000

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static u64 rnd(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static double run_device(const char *path)
{
	struct vt_board b;
	struct virtio_blk *blk;
	struct vt_drv d;
	struct err e;
	struct virtio_pci_env env;
	struct disk_config dc = {.path = (char *)path};
	u64 seed = 42;
	double t0;
	unsigned done = 0;

	if (vt_board_init(&b, true) < 0)
		return -1;
	env = vt_env(&b);
	if (virtio_blk_create(&env, &dc, 0, &blk, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	vt_drv_up(&d, &b, virtio_blk_dev(blk), ~0ULL, 256);
	t0 = now();
	while (done < REQS) {
		u32 id, len;

		for (unsigned i = 0; i < BATCH; i++) {
			u64 hdr = 0x800000 + i * 0x2000ULL, data = hdr + 0x1000;
			u8 *h = gp(&b.gm, hdr);
			struct drv_buf c[3];
			bool wr = rnd(&seed) & 1;

			put_le32(h, wr ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
			put_le64(h + 8, (rnd(&seed) % (IMG / 4096)) * 8);
			c[0] = (struct drv_buf){hdr, 16, false};
			c[1] = (struct drv_buf){data, 4096, !wr};
			c[2] = (struct drv_buf){hdr + 16, 1, true};
			drvq_publish(&d.q[0], drvq_add(&d.q[0], c, 3));
		}
		vt_kick(&d, 0);
		for (unsigned got = 0; got < BATCH;) {
			if (drvq_used(&d.q[0], &id, &len)) {
				got++;
				continue;
			}
			virtio_dev_poll(virtio_blk_dev(blk), 100);
		}
		done += BATCH;
	}
	t0 = now() - t0;
	virtio_blk_destroy(blk);
	vt_board_free(&b);
	return done / t0;
}

static double run_raw(const char *path)
{
	int fd = open(path, O_RDWR);
	static u8 buf[4096];
	u64 seed = 42;
	double t0 = now();

	for (unsigned i = 0; i < REQS; i++) {
		bool wr = rnd(&seed) & 1;
		off_t off = (off_t)((rnd(&seed) % (IMG / 4096)) * 4096);

		if ((wr ? pwrite(fd, buf, 4096, off) : pread(fd, buf, 4096, off)) != 4096)
			return -1;
	}
	t0 = now() - t0;
	close(fd);
	return REQS / t0;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/tmp/merak-bench-blk.img";
	int fd = open(path, O_RDWR | O_CREAT, 0600);
	double dev, raw;

	if (fd < 0 || ftruncate(fd, IMG) < 0) {
		perror(path);
		return 1;
	}
	close(fd);
	/* Warm the page cache so both sides measure the same thing. */
	run_raw(path);
	dev = run_device(path);
	raw = run_raw(path);
	if (dev < 0 || raw < 0)
		return 1;
	printf("4 KiB random read/write, %d requests, batches of %d\n", REQS, BATCH);
	printf("%14.0f %14.0f %8.2f\n", dev, raw, dev / raw);
	return 0;
}
