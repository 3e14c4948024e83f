// SPDX-License-Identifier: MIT
/*
 * virtio-blk device path against raw pread/pwrite on the same file: 4 KiB
 * requests at pseudo-random offsets of a 64 MiB image in the page cache,
 * half reads, half writes. The device side is the real one: requests in a
 * split virtqueue in guest RAM, a notify write on BAR 0, the worker loop,
 * the walker, the backend, used ring and MSI-X.
 *
 * Two ways to run the device:
 * - worker: as in a VM. The device's worker thread runs (with its queue
 *   polling, or with it off for comparison); the "driver" publishes requests
 *   the way Linux does (avail index per request, used_event after each
 *   completion), kicks only when the device's avail_event asks for it, and
 *   waits for completions by watching the used ring (a vCPU halt-polling);
 *   every MSI the device sends is an eventfd write, as KVM's irqfd is.
 * - inline: the worker loop run on the bench thread (virtio_dev_poll), no
 *   second thread: the device path's own cost, one kick per round.
 * Queue depth 1: one request published, wait for its completion.
 * Queue depth 32: 32 published, wait for all of them.
 * Raw: the same offsets, one synchronous pread/pwrite per request.
 * Each backend (preadv, io_uring) at each depth, the median of RUNS runs
 * interleaved with raw runs. The last line is the default backend's on
 * its worker with polling (what a guest gets):
 *   QD1 <dev> <raw> <ratio> QD32 <dev> <raw> <ratio>   (requests/s)
 * With --direct, the same again with O_DIRECT on both sides, where the
 * file system takes it.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "vtest.h"

#define IMG	 (64 * MiB)
#define RUNS	 7
#define REQS_QD1 40000
#define REQS_QD32 80000

enum { B_PREADV, B_URING, B_DEFAULT, N_KINDS };
static const char *const kind_arg[N_KINDS] = {"preadv", "io_uring", "default"};
enum { M_INLINE, M_NOPOLL, M_POLL, N_MODES };
static const char *const mode_arg[N_MODES] = {"inline", "worker,nopoll", "worker"};
/* Every backend in every mode; the last one is the headline. */
#define N_BACKENDS (N_KINDS * N_MODES)
#define B_HEADLINE (M_POLL * N_KINDS + B_DEFAULT)

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

struct dev {
	struct vt_board b;
	struct virtio_blk *blk;
	struct vt_drv d;
	int mode;
	u64 kicks;	/* the driver's, in worker mode */
};

static const u8 backend_cfg[N_KINDS] = {DISK_BACKEND_PREADV, DISK_BACKEND_IO_URING,
					  DISK_BACKEND_AUTO};

static int dev_open(struct dev *x, const char *path, int k, bool direct)
{
	struct virtio_pci_env env;
	struct disk_config dc = {.path = (char *)path, .backend = backend_cfg[k % N_KINDS],
				 .direct = direct};
	struct virtio_dev *vd;
	struct err e;

	if (vt_board_init(&x->b, true) < 0)
		return -1;
	x->mode = k / N_KINDS;
	x->kicks = 0;
	env = vt_env(&x->b);
	if (virtio_blk_create(&env, &dc, 0, &x->blk, &e) < 0) {
		fprintf(stderr, "%s\n", e.msg);
		return -1;
	}
	vd = virtio_blk_dev(x->blk);
	vt_drv_up(&x->d, &x->b, vd, ~0ULL, 256);
	if (x->mode == M_INLINE)
		return 0;
	if (x->mode == M_NOPOLL)
		vd->poll_max_ns = 0;
	x->b.irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	x->b.irqfd_on = x->b.irqfd >= 0;
	if (!x->b.irqfd_on || virtio_dev_start(vd, &e) < 0) {
		fprintf(stderr, "worker: %s\n", x->b.irqfd_on ? e.msg : "no eventfd");
		return -1;
	}
	return 0;
}

static void dev_close(struct dev *x)
{
	virtio_blk_destroy(x->blk);
	if (x->mode != M_INLINE)
		close(x->b.irqfd);
	vt_board_free(&x->b);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__)
	__builtin_ia32_pause();
#endif
}

/* Request i of a round: a header, 4 KiB of data and a status byte. */
static void add_request(struct dev *x, unsigned i, u64 *seed)
{
	struct drvq *q = &x->d.q[0];
	u64 hdr = 0x800000 + i * 0x2000ULL, data = hdr + 0x1000;
	u8 *h = gp(&x->b.gm, hdr);
	struct drv_buf c[3];
	bool wr = rnd(seed) & 1;

	put_le32(h, wr ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN);
	put_le64(h + 8, (rnd(seed) % (IMG / 4096)) * 8);
	h[16] = 0xff;
	c[0] = (struct drv_buf){hdr, 16, false};
	c[1] = (struct drv_buf){data, 4096, !wr};
	c[2] = (struct drv_buf){hdr + 16, 1, true};
	/* The chain and the ring entry before the index that publishes them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	drvq_publish(q, drvq_add(q, c, 3));
}

static bool statuses_ok(struct dev *x, unsigned depth)
{
	for (unsigned i = 0; i < depth; i++)
		if (*gp(&x->b.gm, 0x800000 + i * 0x2000ULL + 16) != VIRTIO_BLK_S_OK)
			return false;
	return true;
}

/*
 * The device on its worker, driven as Linux's virtio-blk drives it: each
 * request published on its own, a kick only where the device asks for one
 * (EVENT_IDX's avail_event or USED_F_NO_NOTIFY), used_event moved after
 * each completion taken. Completions are watched for, not waited on.
 */
static double run_worker(struct dev *x, unsigned depth, unsigned reqs)
{
	struct drvq *q = &x->d.q[0];
	struct virtio_dev *vd = virtio_blk_dev(x->blk);
	bool event_idx = virtio_has(vd, VIRTIO_RING_F_EVENT_IDX);
	u16 *used_idx = (u16 *)gp(&x->b.gm, q->used + 2);
	u16 *used_flags = (u16 *)gp(&x->b.gm, q->used);
	u16 *avail_event = (u16 *)gp(&x->b.gm, q->used + 4 + 8ULL * q->size);
	u16 *used_event = (u16 *)gp(&x->b.gm, q->avail + 4 + 2ULL * q->size);
	u64 seed = 42;
	unsigned done = 0;
	double t0 = now();

	while (done < reqs) {
		u16 old = q->avail_idx;
		bool kick;

		for (unsigned i = 0; i < depth; i++)
			add_request(x, i, &seed);
		/* The index store before reading the device's wish (virtio_mb). */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (event_idx)
			kick = (u16)(q->avail_idx - __atomic_load_n(avail_event, __ATOMIC_RELAXED) -
				     1) < (u16)(q->avail_idx - old);
		else
			kick = !(__atomic_load_n(used_flags, __ATOMIC_RELAXED) &
				 VIRTQ_USED_F_NO_NOTIFY);
		if (kick) {
			vt_kick(&x->d, 0);
			x->kicks++;
		}
		for (unsigned got = 0; got < depth;) {
			u32 id, len;

			if (__atomic_load_n(used_idx, __ATOMIC_ACQUIRE) == q->used_seen) {
				cpu_relax();
				continue;
			}
			drvq_used(q, &id, &len);
			got++;
			__atomic_store_n(used_event, q->used_seen, __ATOMIC_SEQ_CST);
		}
		if (!statuses_ok(x, depth))
			return -1;
		done += depth;
	}
	return done / (now() - t0);
}

/* reqs requests, depth per kick; requests/s. */
static double run_device(struct dev *x, unsigned depth, unsigned reqs)
{
	struct drvq *q = &x->d.q[0];
	u64 seed = 42;
	unsigned done = 0;
	double t0;

	if (x->mode != M_INLINE)
		return run_worker(x, depth, reqs);
	t0 = now();
	while (done < reqs) {
		u32 id, len;

		for (unsigned i = 0; i < depth; i++)
			add_request(x, i, &seed);
		vt_kick(&x->d, 0);
		for (unsigned got = 0; got < depth;) {
			if (drvq_used(q, &id, &len)) {
				got++;
				continue;
			}
			virtio_dev_poll(virtio_blk_dev(x->blk), 100);
		}
		if (!statuses_ok(x, depth))
			return -1;
		done += depth;
	}
	return done / (now() - t0);
}

static double run_raw(int fd, unsigned reqs)
{
	static u8 buf[4096] __attribute__((aligned(4096)));
	u64 seed = 42;
	double t0 = now();

	for (unsigned i = 0; i < reqs; i++) {
		bool wr = rnd(&seed) & 1;
		off_t off = (off_t)((rnd(&seed) % (IMG / 4096)) * 4096);

		if ((wr ? pwrite(fd, buf, 4096, off) : pread(fd, buf, 4096, off)) != 4096)
			return -1;
	}
	return reqs / (now() - t0);
}

/* The image, every block written so that it is in the page cache. */
static int make_image(const char *path)
{
	static u8 blk[1 << 20];
	int fd = open(path, O_RDWR | O_CREAT, 0600);

	if (fd < 0 || ftruncate(fd, IMG) < 0) {
		perror(path);
		return -1;
	}
	for (u64 off = 0; off < IMG; off += sizeof(blk))
		if (pwrite(fd, blk, sizeof(blk), (off_t)off) != sizeof(blk))
			return -1;
	return fd;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	return v[n / 2];
}

/*
 * Each backend at depths 1 and 32 against raw, medians of runs; the images
 * are open (fd for raw, one per device) and warm. False when a run failed.
 */
static bool measure(int fd, struct dev *x, const unsigned reqs[2], int runs,
		    double dev[N_BACKENDS][2], double raw[2])
{
	static const unsigned depths[2] = {1, 32};

	for (int di = 0; di < 2; di++) {
		double v[N_BACKENDS + 1][RUNS];

		run_raw(fd, reqs[di] / 4);
		for (int k = 0; k < N_BACKENDS; k++)
			run_device(&x[k], depths[di], reqs[di] / 4);
		for (int r = 0; r < runs; r++) {
			v[N_BACKENDS][r] = run_raw(fd, reqs[di]);
			for (int k = 0; k < N_BACKENDS; k++)
				v[k][r] = run_device(&x[k], depths[di], reqs[di]);
		}
		raw[di] = median(v[N_BACKENDS], runs);
		for (int k = 0; k < N_BACKENDS; k++)
			dev[k][di] = median(v[k], runs);
		for (int k = 0; k <= N_BACKENDS; k++)
			for (int r = 0; r < runs; r++)
				if (v[k][r] < 0)
					return false;
	}
	return true;
}

static void table(const char *title, struct dev *x, double dev[N_BACKENDS][2], double raw[2])
{
	static const unsigned depths[2] = {1, 32};

	printf("%s\n", title);
	printf("  %-36s %5s %14s %14s %7s %s\n", "backend, mode", "depth", "device req/s",
	       "raw req/s", "ratio", "  kicks/req irqs/req (all depths)");
	for (int k = 0; k < N_BACKENDS; k++)
		for (int di = 0; di < 2; di++) {
			char name[64];
			int kind = k % N_KINDS;

			snprintf(name, sizeof(name), "%s%s%s, %s", kind_arg[kind],
				 kind == B_DEFAULT ? " = " : "",
				 kind == B_DEFAULT ? virtio_blk_backend(x[k].blk) : "",
				 mode_arg[k / N_KINDS]);
			printf("  %-36s %5u %14.0f %14.0f %7.2f", name, depths[di], dev[k][di],
			       raw[di], dev[k][di] / raw[di]);
			if (x[k].mode != M_INLINE && di == 0) {
				struct virtio_dev *vd = virtio_blk_dev(x[k].blk);
				double n = (double)vd->q[0].vq.stats.chains;

				printf("   %9.3f %8.3f", x[k].kicks / n, vd->interrupts / n);
			}
			printf("\n");
		}
}

/* Opens the raw fd and one device per backend on images of their own. */
static int open_all(const char *path, bool direct, char img[N_BACKENDS][4096], struct dev *x)
{
	int fd = make_image(path);

	if (fd < 0)
		return -1;
	if (direct) {
		close(fd);
		fd = open(path, O_RDWR | O_DIRECT);
		if (fd < 0)
			return -1;
	}
	for (int k = 0; k < N_BACKENDS; k++) {
		int f;

		snprintf(img[k], 4096, "%s.%d", path, k);
		f = make_image(img[k]);
		if (f < 0 || dev_open(&x[k], img[k], k, direct) < 0)
			return -1;
		close(f);
	}
	return fd;
}

static void close_all(int fd, char img[N_BACKENDS][4096], struct dev *x)
{
	for (int k = 0; k < N_BACKENDS; k++) {
		dev_close(&x[k]);
		unlink(img[k]);
	}
	close(fd);
}

/*
 * What the worker model adds to a request at QD1, measured on their own:
 * the driver and the worker hand the request over and back between two
 * threads (a round trip on two cache lines, both spinning, as the polling
 * worker and a halt-polling vCPU do), and the device raises the MSI with
 * one eventfd write (irqfd). Together they are most of the QD1 gap to raw.
 */
static volatile u32 hand_ping __attribute__((aligned(64)));
static volatile u32 hand_pong __attribute__((aligned(64)));
#define HANDOFFS 400000

static void *handoff_peer(void *arg)
{
	for (u32 i = 1; i <= HANDOFFS; i++) {
		while (hand_ping != i)
			cpu_relax();
		hand_pong = i;
	}
	return arg;
}

static bool handoff_costs(double *rtt_ns, double *efd_ns)
{
	pthread_t t;
	u64 one = 1, v;
	double t0;
	int fd;

	hand_ping = hand_pong = 0;
	if (pthread_create(&t, NULL, handoff_peer, NULL))
		return false;
	t0 = now();
	for (u32 i = 1; i <= HANDOFFS; i++) {
		hand_ping = i;
		while (hand_pong != i)
			cpu_relax();
	}
	*rtt_ns = (now() - t0) / HANDOFFS * 1e9;
	pthread_join(t, NULL);
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return false;
	t0 = now();
	for (u32 i = 0; i < HANDOFFS / 4; i++) {
		if (write(fd, &one, sizeof(one)) < 0) {
			close(fd);
			return false;
		}
		/* Drained now and then, as KVM consumes an irqfd. */
		if (!(i & 1023) && read(fd, &v, sizeof(v)) < 0) {
			close(fd);
			return false;
		}
	}
	*efd_ns = (now() - t0) / (HANDOFFS / 4) * 1e9;
	close(fd);
	return true;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/tmp/merak-bench-blk.img";
	static const unsigned reqs[2] = {REQS_QD1, REQS_QD32}, dreqs[2] = {400, 1600};
	double dev[N_BACKENDS][2], raw[2], ddev[N_BACKENDS][2], draw[2], rtt, efd, irq_per_req;
	struct virtio_dev *hvd;
	static char img[N_BACKENDS][4096];
	struct dev x[N_BACKENDS];
	int fd = open_all(path, false, img, x);

	if (fd < 0)
		return 1;
	if (strcmp(virtio_blk_backend(x[B_URING].blk), "io_uring"))
		fprintf(stderr, "io_uring unavailable: its rows are preadv's\n");
	if (!measure(fd, x, reqs, RUNS, dev, raw))
		return 1;
	table("4 KiB random read/write (50%), 64 MiB image in the page cache, median of 7 runs", x,
	      dev, raw);
	hvd = virtio_blk_dev(x[B_HEADLINE].blk);
	irq_per_req = (double)hvd->interrupts / (double)hvd->q[0].vq.stats.chains;
	close_all(fd, img, x);
	/* O_DIRECT where the file system takes it: a report, not a target. */
	fd = open_all(path, true, img, x);
	if (fd >= 0 && measure(fd, x, dreqs, 3, ddev, draw))
		table("the same with O_DIRECT (direct=on), median of 3 runs", x, ddev, draw);
	else
		printf("O_DIRECT: not measured (the file system refuses it)\n");
	if (fd >= 0)
		close_all(fd, img, x);
	unlink(path);
	/* Both sides spin: with one CPU each handoff would wait for a tick. */
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		printf("  QD1 gap to raw: its parts not measured (one CPU)\n");
	else if (handoff_costs(&rtt, &efd))
		printf("  QD1 gap to raw %.0f ns per request; a thread round trip costs %.0f ns here, "
		       "an eventfd write (one MSI) %.0f ns, raised for %.2f of requests (both depths)\n",
		       1e9 / dev[B_HEADLINE][0] - 1e9 / raw[0], rtt, efd,
		       irq_per_req);
	printf("QD1 %.0f %.0f %.2f QD32 %.0f %.0f %.2f\n", dev[B_HEADLINE][0], raw[0],
	       dev[B_HEADLINE][0] / raw[0], dev[B_HEADLINE][1], raw[1],
	       dev[B_HEADLINE][1] / raw[1]);
	return 0;
}
