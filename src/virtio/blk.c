// SPDX-License-Identifier: MIT
/*
 * virtio-blk: a raw image, one or more request queues served by one worker;
 * requests go to an io_uring (one submit per batch, completions reaped from
 * the worker's epoll loop) or, without one, to preadv/pwritev on the worker.
 */
#include "virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#include "util/file.h"
#include "util/log.h"

/*
 * The longest the worker watches the request queues after serving them
 * (virtio_pci.c, poll_queues; it starts at 32 us and adapts). Measured with
 * tests/guest/blkbench on a nested KVM host: a guest's next request at queue
 * depth 1 comes 130 us after the completion, so 64 or 128 us never caught
 * it and 256 us did (a quarter more requests/s, no notifies). A guest that
 * pauses longer than this between requests makes the window shrink to none.
 */
#ifndef BLK_POLL_MAX_NS
#define BLK_POLL_MAX_NS 256000
#endif

#define SECTOR 512ULL
#define HDR_LEN 16
#define SEG_LEN 16

int blk_disk_open(struct blk_disk *d, const char *path, bool readonly, const char *serial,
		  struct err *e)
{
	return blk_disk_open_flags(d, path, readonly, serial, 0, e);
}

int blk_disk_open_flags(struct blk_disk *d, const char *path, bool readonly, const char *serial,
			int flags, struct err *e)
{
	struct stat st;

	memset(d, 0, sizeof(*d));
	d->readonly = readonly;
	if (serial)
		memcpy(d->serial, serial, strnlen(serial, sizeof(d->serial)));
	/* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer. */
	d->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | flags);
	if (d->fd < 0 && errno == EINVAL && (flags & O_DIRECT))
		return errf(e, -EINVAL, "disk '%s': the file system refuses O_DIRECT (direct=on)",
			    path);
	if (d->fd < 0)
		return errf_sys(e, -errno, "disk '%s'", path);
	if (fstat(d->fd, &st) < 0) {
		int err = errno;

		blk_disk_close(d);
		return errf_sys(e, -err, "disk '%s': cannot stat", path);
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		blk_disk_close(d);
		return errf(e, -EINVAL, "disk '%s' is %s, not a regular file or block device",
			    path, file_type_name(st.st_mode));
	}
	/* Disk I/O blocks as it should: the flag was only for the open. */
	fcntl(d->fd, F_SETFL, fcntl(d->fd, F_GETFL) & ~O_NONBLOCK);
	/* flock: one writer per image across processes (and within one). */
	if (flock(d->fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		int err = errno;

		close(d->fd);
		d->fd = -1;
		if (err == EWOULDBLOCK)
			return errf(e, -EBUSY, "disk '%s' is in use by another process", path);
		return errf_sys(e, -err, "disk '%s': lock", path);
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(d->fd, 0, SEEK_END);
		st.st_size = end < 0 ? 0 : end;
	}
	d->sectors = (u64)st.st_size / SECTOR;
	return 0;
}

void blk_disk_close(struct blk_disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* The data part of a chain as iovecs: readable after the header, or writable before the status. */
static int data_iov(const struct virtq_chain *c, bool writable, u64 total, struct iovec *iov)
{
	u32 first = writable ? c->n_out : 0, last = writable ? c->n : c->n_out;
	u64 skip = writable ? 0 : HDR_LEN, left = total;
	int n = 0;

	for (u32 i = first; i < last && left; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		u64 len = b->len;
		u8 *p = b->hva;

		if (skip >= len) {
			skip -= len;
			continue;
		}
		p += skip;
		len -= skip;
		skip = 0;
		len = MIN(len, left);
		iov[n].iov_base = p;
		iov[n].iov_len = len;
		left -= len;
		n++;
	}
	return n;
}

static bool in_range(const struct blk_disk *d, u64 sector, u64 bytes)
{
	u64 nsec = (bytes + SECTOR - 1) / SECTOR;

	return sector <= d->sectors && nsec <= d->sectors - sector;
}

static u8 do_rw(struct blk_disk *d, const struct virtq_chain *c, u64 sector, bool write,
		u64 len, u32 *used)
{
	struct iovec iov[VIRTQ_MAX_CHAIN];
	int n;
	u64 off = sector * SECTOR, done = 0;

	if (write && d->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!in_range(d, sector, len))
		return VIRTIO_BLK_S_IOERR;
	/* A disk read fills the driver's writable buffers; a write takes its readable ones. */
	n = data_iov(c, !write, len, iov);
	while (done < len) {
		ssize_t r;
		int k = 0;
		u64 s = done;

		/* Skip iovecs already done (short transfers are rare). */
		while (k < n && s >= iov[k].iov_len)
			s -= iov[k++].iov_len;
		if (k == n)
			return VIRTIO_BLK_S_IOERR;
		iov[k].iov_base = (u8 *)iov[k].iov_base + s;
		iov[k].iov_len -= s;
		r = write ? pwritev(d->fd, iov + k, MIN(n - k, IOV_MAX), (off_t)(off + done))
			  : preadv(d->fd, iov + k, MIN(n - k, IOV_MAX), (off_t)(off + done));
		iov[k].iov_base = (u8 *)iov[k].iov_base - s;
		iov[k].iov_len += s;
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return VIRTIO_BLK_S_IOERR;
		done += (u64)r;
	}
	if (!write)
		*used = (u32)len;
	return VIRTIO_BLK_S_OK;
}

static u8 do_zero_or_discard(struct blk_disk *d, const struct virtq_chain *c, u32 type)
{
	u64 data = c->out_len - HDR_LEN, nseg;
	u8 seg[SEG_LEN];

	if (d->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (data == 0 || data % SEG_LEN || data / SEG_LEN > VIRTIO_BLK_MAX_DISCARD_SEG)
		return VIRTIO_BLK_S_UNSUPP;
	nseg = data / SEG_LEN;
	for (u64 i = 0; i < nseg; i++) {
		u64 sector, off, len;
		u32 num, flags;
		int mode;

		virtq_chain_read(c, HDR_LEN + i * SEG_LEN, seg, SEG_LEN);
		sector = get_le64(seg);
		num = get_le32(seg + 8);
		flags = get_le32(seg + 12);
		if (flags & ~1u)
			return VIRTIO_BLK_S_UNSUPP;
		/* Discard with the unmap flag is reserved (§5.2.6.2). */
		if (type == VIRTIO_BLK_T_DISCARD && flags)
			return VIRTIO_BLK_S_UNSUPP;
		if (!in_range(d, sector, (u64)num * SECTOR))
			return VIRTIO_BLK_S_IOERR;
		if (!num)
			continue;
		off = sector * SECTOR;
		len = (u64)num * SECTOR;
		if (type == VIRTIO_BLK_T_DISCARD || (flags & 1))
			mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		else
			mode = FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
		if (fallocate(d->fd, mode, (off_t)off, (off_t)len) == 0)
			continue;
		if (type == VIRTIO_BLK_T_DISCARD)
			return errno == EOPNOTSUPP ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		/* Write-zeroes must happen: fall back to writing zeros. */
		{
			/* One zero page repeated: a 64 KiB array would sit in merak's image. */
			/* Aligned: an O_DIRECT image (direct=on) takes no other. */
			static const u8 zero[4096] __attribute__((aligned(4096)));
			struct iovec iov[16];

			for (unsigned k = 0; k < 16; k++)
				iov[k] = (struct iovec){(void *)zero, sizeof(zero)};
			while (len) {
				u64 n = MIN(len, sizeof(zero) * 16);
				int cnt = (int)((n + sizeof(zero) - 1) / sizeof(zero));
				ssize_t r;

				iov[cnt - 1].iov_len = n - (u64)(cnt - 1) * sizeof(zero);
				r = pwritev(d->fd, iov, cnt, (off_t)off);
				iov[cnt - 1].iov_len = sizeof(zero);
				if (r <= 0)
					return VIRTIO_BLK_S_IOERR;
				off += (u64)r;
				len -= (u64)r;
			}
		}
	}
	return VIRTIO_BLK_S_OK;
}

int blk_request(struct blk_disk *d, const struct virtq_chain *c, struct err *e)
{
	u8 hdr[HDR_LEN], status;
	const struct virtq_buf *sb;
	u32 type, used = 0;
	u64 sector, in_data;

	if (c->out_len < HDR_LEN)
		return errf(e, -EINVAL, "request of %llu readable bytes has no 16-byte header",
			    (unsigned long long)c->out_len);
	if (c->n == c->n_out)
		return errf(e, -EINVAL, "request has no writable status byte");
	sb = &c->bufs[c->n - 1];
	virtq_chain_read(c, 0, hdr, HDR_LEN);
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);
	in_data = c->in_len - 1;
	switch (type) {
	case VIRTIO_BLK_T_IN:
		d->reads++;
		status = do_rw(d, c, sector, false, in_data, &used);
		if (status == VIRTIO_BLK_S_OK)
			d->read_bytes += in_data;
		break;
	case VIRTIO_BLK_T_OUT:
		d->writes++;
		status = do_rw(d, c, sector, true, c->out_len - HDR_LEN, &used);
		if (status == VIRTIO_BLK_S_OK)
			d->write_bytes += c->out_len - HDR_LEN;
		break;
	case VIRTIO_BLK_T_FLUSH:
		d->flushes++;
		status = fdatasync(d->fd) == 0 || d->readonly ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID: {
		u8 id[VIRTIO_BLK_ID_BYTES] = {0};

		memcpy(id, d->serial, strnlen(d->serial, sizeof(d->serial)));
		used = (u32)virtq_chain_write(c, 0, id, MIN(in_data, sizeof(id)));
		status = VIRTIO_BLK_S_OK;
		break;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (type == VIRTIO_BLK_T_DISCARD)
			d->discards++;
		else
			d->write_zeroes++;
		status = do_zero_or_discard(d, c, type);
		break;
	default:
		status = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	if (status != VIRTIO_BLK_S_OK)
		d->errors++;
	sb->hva[sb->len - 1] = status;
	return (int)(used + 1);
}

/* ---- the io_uring backend ------------------------------------------------------ */

/*
 * A request in flight on the ring. Its guest buffers stay mapped: guest RAM
 * lives as long as the VM, and every reset or teardown drains the ring first.
 */
#define REQ_INLINE_IOV 16

struct blk_req {
	struct blk_req *next_free;
	u16 q, head;
	u32 type;
	u8 *status;
	u64 off, len, done;	/* file offset, bytes asked for, bytes transferred */
	u32 used;		/* used length to report (data written to the driver) */
	int n_iov;
	struct iovec *iov;	/* iov_inline, or allocated for long chains */
	struct iovec iov_inline[REQ_INLINE_IOV];
};

struct virtio_blk {
	struct virtio_dev vd;
	struct blk_disk disk;
	struct virtq_chain chain;
	char name[32];
	u16 num_queues;
	bool uring;		/* the io_uring backend is in use */
#ifdef HAVE_LIBURING
	struct io_uring ring;
	struct virtio_watch ring_watch;	/* the ring fd: readable while completions wait */
	struct blk_req *reqs, *free_reqs;
	unsigned in_flight;
	u16 q_in_flight[DISK_MAX_QUEUES];
	bool q_stalled[DISK_MAX_QUEUES];	/* stopped popping at the in-flight limit */
	bool draining;		/* completions are dropped (reset, teardown) */
	bool submitting;	/* uring_submit is retrying: reaping does not submit */
#endif
};

static void blk_kick(void *dev, u16 q);

#ifdef HAVE_LIBURING
/*
 * The ring is created disabled, given the image as its only (fixed) file and
 * restricted to vectored read, vectored write and fsync on fixed files; no
 * registration is possible once it is enabled. The worker's seccomp filter
 * allows io_uring_enter but neither io_uring_setup nor io_uring_register
 * (docs/security.md).
 */
static int uring_setup(struct virtio_blk *b, unsigned entries, struct err *e)
{
	struct io_uring_params p = {.flags = IORING_SETUP_R_DISABLED};
	struct io_uring_restriction res[] = {
		{.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_READV},
		{.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_WRITEV},
		{.opcode = IORING_RESTRICTION_SQE_OP, .sqe_op = IORING_OP_FSYNC},
		{.opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED,
		 .sqe_flags = IOSQE_FIXED_FILE | IOSQE_IO_DRAIN},
		{.opcode = IORING_RESTRICTION_SQE_FLAGS_REQUIRED, .sqe_flags = IOSQE_FIXED_FILE},
	};
	int r = io_uring_queue_init_params(entries, &b->ring, &p);

	if (r < 0)
		return errf_sys(e, r, "io_uring_setup");
	r = io_uring_register_files(&b->ring, &b->disk.fd, 1);
	/* Debian's liburing 2.3 does not export the last two: the system call itself. */
	if (r == 0 && syscall(__NR_io_uring_register, b->ring.ring_fd,
			      IORING_REGISTER_RESTRICTIONS, res, ARRAY_SIZE(res)) < 0)
		r = -errno;
	if (r == 0 && syscall(__NR_io_uring_register, b->ring.ring_fd,
			      IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		r = -errno;
	if (r < 0) {
		io_uring_queue_exit(&b->ring);
		return errf_sys(e, r, "io_uring restrictions");
	}
	return 0;
}

static void req_put(struct virtio_blk *b, struct blk_req *rq)
{
	if (rq->iov != rq->iov_inline)
		free(rq->iov);
	rq->iov = NULL;
	rq->next_free = b->free_reqs;
	b->free_reqs = rq;
	b->q_in_flight[rq->q]--;
	b->in_flight--;
}

/* Queues rq's next transfer (or its flush); false when the ring is full. */
static bool req_prep(struct virtio_blk *b, struct blk_req *rq)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&b->ring);

	if (!sqe)
		return false;
	if (rq->type == VIRTIO_BLK_T_FLUSH) {
		io_uring_prep_fsync(sqe, 0, IORING_FSYNC_DATASYNC);
		/* Drain: the flush starts once every write queued before it is done. */
		io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE | IOSQE_IO_DRAIN);
	} else {
		if (rq->type == VIRTIO_BLK_T_OUT)
			io_uring_prep_writev(sqe, 0, rq->iov, (unsigned)rq->n_iov,
					     rq->off + rq->done);
		else
			io_uring_prep_readv(sqe, 0, rq->iov, (unsigned)rq->n_iov,
					    rq->off + rq->done);
		io_uring_sqe_set_flags(sqe, IOSQE_FIXED_FILE);
	}
	io_uring_sqe_set_data(sqe, rq);
	return true;
}

static void uring_reap(struct virtio_blk *b);

/*
 * EAGAIN (no memory for the request) and EBUSY (completions overflowing)
 * pass once completions are taken, so those are retried a bounded while;
 * what still waits then stays in the ring, and a drain submits it.
 */
static void uring_submit(struct virtio_blk *b)
{
	int r;

	b->submitting = true;
	for (int tries = 0;; tries++) {
		do
			r = io_uring_submit(&b->ring);
		while (r == -EINTR);
		if ((r != -EAGAIN && r != -EBUSY) || tries == 100)
			break;
		if (tries) {
			struct timespec ts = {0, 100000};

			nanosleep(&ts, NULL);
		}
		uring_reap(b);
	}
	b->submitting = false;
	if (r < 0)
		virtio_fail(&b->vd, "io_uring submit: %s", strerror(-r));
}

/*
 * Starts one request: 0 when it went to the ring, else its used length (it
 * was done here: refused, or a kind the ring does not carry).
 */
static int uring_start(struct virtio_blk *b, u16 q, const struct virtq_chain *c, struct err *e)
{
	struct blk_disk *d = &b->disk;
	struct blk_req *rq;
	u8 hdr[HDR_LEN];
	u32 type;
	u64 sector, len;
	bool write;
	int n;

	if (c->out_len < HDR_LEN || c->n == c->n_out)
		return blk_request(d, c, e);	/* the same refusal as the synchronous path */
	virtq_chain_read(c, 0, hdr, HDR_LEN);
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);
	if (type == VIRTIO_BLK_T_FLUSH && d->readonly)
		return blk_request(d, c, e);
	if (type != VIRTIO_BLK_T_IN && type != VIRTIO_BLK_T_OUT && type != VIRTIO_BLK_T_FLUSH)
		return blk_request(d, c, e);
	write = type == VIRTIO_BLK_T_OUT;
	len = type == VIRTIO_BLK_T_FLUSH ? 0 : write ? c->out_len - HDR_LEN : c->in_len - 1;
	/* Refusals, and empty transfers (a readv of nothing would read as an error). */
	if (type != VIRTIO_BLK_T_FLUSH &&
	    ((write && d->readonly) || !in_range(d, sector, len) || !len))
		return blk_request(d, c, e);
	rq = b->free_reqs;
	b->free_reqs = rq->next_free;
	b->q_in_flight[q]++;
	b->in_flight++;
	*rq = (struct blk_req){.q = q, .head = c->head, .type = type, .off = sector * SECTOR,
			       .len = len, .iov = rq->iov_inline,
			       .status = &c->bufs[c->n - 1].hva[c->bufs[c->n - 1].len - 1]};
	if (type == VIRTIO_BLK_T_FLUSH) {
		d->flushes++;
	} else {
		u32 nbuf = write ? c->n_out : c->n - c->n_out;

		if (write)
			d->writes++;
		else
			d->reads++;
		if (nbuf > REQ_INLINE_IOV) {
			rq->iov = calloc(nbuf, sizeof(*rq->iov));
			if (!rq->iov) {
				rq->iov = rq->iov_inline;
				*rq->status = VIRTIO_BLK_S_IOERR;
				req_put(b, rq);
				d->errors++;
				return 1;
			}
		}
		n = data_iov(c, !write, len, rq->iov);
		rq->n_iov = MIN(n, IOV_MAX);
		if (!write)
			rq->used = (u32)len;
	}
	while (!req_prep(b, rq))
		uring_submit(b);
	return 0;
}

/* Drops the iovecs a transfer of n bytes consumed. */
static void req_advance(struct blk_req *rq, u64 n)
{
	int k = 0;

	while (k < rq->n_iov && n >= rq->iov[k].iov_len)
		n -= rq->iov[k++].iov_len;
	memmove(rq->iov, rq->iov + k, (size_t)(rq->n_iov - k) * sizeof(*rq->iov));
	rq->n_iov -= k;
	if (rq->n_iov) {
		rq->iov[0].iov_base = (u8 *)rq->iov[0].iov_base + n;
		rq->iov[0].iov_len -= n;
	}
}

/* One completion: true when rq is finished (its status written), false when requeued. */
static bool req_complete(struct virtio_blk *b, struct blk_req *rq, int res)
{
	struct blk_disk *d = &b->disk;
	u8 status = VIRTIO_BLK_S_OK;

	if (b->draining)
		return true;
	/* Interrupted, or no memory for it yet: the same transfer again if the ring has room. */
	if ((res == -EINTR || res == -EAGAIN) && req_prep(b, rq))
		return false;
	if (res < 0 || (res == 0 && rq->type != VIRTIO_BLK_T_FLUSH)) {
		status = VIRTIO_BLK_S_IOERR;
	} else if (rq->type != VIRTIO_BLK_T_FLUSH) {
		rq->done += (u64)res;
		if (rq->done < rq->len) {
			/* A short transfer: the rest goes again from where it stopped. */
			req_advance(rq, (u64)res);
			if (rq->n_iov && req_prep(b, rq))
				return false;
			status = VIRTIO_BLK_S_IOERR;
		} else if (rq->type == VIRTIO_BLK_T_OUT) {
			d->write_bytes += rq->len;
		} else {
			d->read_bytes += rq->len;
		}
	}
	if (status != VIRTIO_BLK_S_OK) {
		d->errors++;
		rq->used = 0;
	}
	*rq->status = status;
	return true;
}

/* Takes every completion the ring holds; pushes and notifies unless draining. */
static void uring_reap(struct virtio_blk *b)
{
	bool touched[DISK_MAX_QUEUES] = {0}, requeued;

	do {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;

		requeued = false;
		io_uring_for_each_cqe(&b->ring, head, cqe) {
			struct blk_req *rq = io_uring_cqe_get_data(cqe);

			n++;
			if (!req_complete(b, rq, cqe->res)) {
				requeued = true;
				continue;
			}
			if (!b->draining && virtio_active(&b->vd) && b->vd.q[rq->q].enabled) {
				virtq_push(virtio_vq(&b->vd, rq->q), rq->head, rq->used + 1);
				touched[rq->q] = true;
			}
			req_put(b, rq);
		}
		io_uring_cq_advance(&b->ring, n);
		if (requeued && !b->submitting)
			uring_submit(b);
	} while (requeued && !b->vd.broken);
	if (b->draining)
		return;
	for (u16 q = 0; q < b->num_queues; q++) {
		if (touched[q])
			virtio_queue_notify(&b->vd, q);
		if (b->q_stalled[q] && b->q_in_flight[q] < virtio_vq(&b->vd, q)->size) {
			b->q_stalled[q] = false;
			blk_kick(b, q);
		}
	}
}

static void ring_cb(struct virtio_watch *w, u32 events)
{
	uring_reap(w->ctx);
}

/* The transport's polling window: completions are a look at the ring away. */
static void blk_poll(void *dev)
{
	struct virtio_blk *b = dev;

	if (b->uring && b->in_flight && io_uring_cq_ready(&b->ring))
		uring_reap(b);
}

/*
 * Waits for every request in flight and drops their completions: after a
 * reset or at teardown nothing may touch the guest's buffers any more.
 * Called with the transport lock held, which every user of the ring holds,
 * on any thread (vCPU, main, worker: each filter allows io_uring_enter): it
 * also submits what a failed submit left queued, which nobody else might.
 */
static void uring_drain(struct virtio_blk *b)
{
	b->draining = true;
	while (b->in_flight) {
		uring_reap(b);
		if (!b->in_flight)
			break;
		if (io_uring_submit_and_wait(&b->ring, 1) < 0) {
			struct timespec ts = {0, 20000};

			nanosleep(&ts, NULL);
		}
	}
	memset(b->q_stalled, 0, sizeof(b->q_stalled));
	b->draining = false;
}

static void uring_kick(struct virtio_blk *b, u16 q)
{
	struct virtq *vq = virtio_vq(&b->vd, q);
	unsigned done = 0, queued = 0;
	struct err e;
	int r;

	for (;;) {
		if (b->q_in_flight[q] >= vq->size) {
			/* Only a guest that reuses heads in flight gets here. */
			b->q_stalled[q] = virtq_pending(vq) > 0;
			break;
		}
		r = virtq_pop(vq, b->vd.env.mem, &b->chain, &e);
		if (r == 0)
			break;
		if (r > 0)
			r = uring_start(b, q, &b->chain, &e);
		if (r < 0) {
			virtio_fail(&b->vd, "request queue: %s", e.msg);
			break;
		}
		if (r == 0) {
			queued++;
			continue;
		}
		virtq_push(vq, b->chain.head, (u32)r);
		done++;
	}
	if (queued) {
		uring_submit(b);
		/* Page-cache hits complete inside the submit: answer them in this round. */
		uring_reap(b);
	}
	if (done)
		virtio_queue_notify(&b->vd, q);
}
#endif

/* ---- the device ---------------------------------------------------------------- */

static void blk_kick(void *dev, u16 q)
{
	struct virtio_blk *b = dev;
	struct virtq *vq = virtio_vq(&b->vd, q);
	unsigned done = 0;
	struct err e;
	int r;

#ifdef HAVE_LIBURING
	if (b->uring) {
		uring_kick(b, q);
		return;
	}
#endif
	for (;;) {
		r = virtq_pop(vq, b->vd.env.mem, &b->chain, &e);
		if (r == 0)
			break;
		if (r > 0)
			r = blk_request(&b->disk, &b->chain, &e);
		if (r < 0) {
			virtio_fail(&b->vd, "request queue: %s", e.msg);
			return;
		}
		virtq_push(vq, b->chain.head, (u32)r);
		done++;
	}
	if (done)
		virtio_queue_notify(&b->vd, q);
}

static void blk_reset(void *dev)
{
#ifdef HAVE_LIBURING
	struct virtio_blk *b = dev;

	if (b->uring)
		uring_drain(b);
#endif
}

static void blk_destroy(void *dev)
{
	virtio_blk_destroy(dev);
}

/* Cloud Hypervisor's names for what it counts, merak's for the rest. */
static void blk_counters(void *dev, counter_emit_fn emit, void *arg)
{
	const struct blk_disk *d = &((struct virtio_blk *)dev)->disk;

	emit(arg, "read_bytes", __atomic_load_n(&d->read_bytes, __ATOMIC_RELAXED));
	emit(arg, "write_bytes", __atomic_load_n(&d->write_bytes, __ATOMIC_RELAXED));
	emit(arg, "read_ops", __atomic_load_n(&d->reads, __ATOMIC_RELAXED));
	emit(arg, "write_ops", __atomic_load_n(&d->writes, __ATOMIC_RELAXED));
	emit(arg, "flush_ops", __atomic_load_n(&d->flushes, __ATOMIC_RELAXED));
	emit(arg, "discard_ops", __atomic_load_n(&d->discards, __ATOMIC_RELAXED));
	emit(arg, "write_zeroes_ops", __atomic_load_n(&d->write_zeroes, __ATOMIC_RELAXED));
	emit(arg, "errors", __atomic_load_n(&d->errors, __ATOMIC_RELAXED));
}

static const struct virtio_dev_ops blk_ops = {
	.queue_kick = blk_kick,
	.reset = blk_reset,
	.destroy = blk_destroy,
	.counters = blk_counters,
#ifdef HAVE_LIBURING
	.poll = blk_poll,
#endif
};

/*
 * io_uring where it wins (measured, bench/virtio-blk): O_DIRECT images,
 * whose requests then overlap; a cached image is faster with preadv/pwritev,
 * one system call per request either way. _disable_io_uring=off asks for the
 * ring anyway, =on never. A kernel that refuses the ring gets one line and
 * preadv/pwritev.
 */
static void backend_setup(struct virtio_blk *b, const struct disk_config *cfg, u16 qsize)
{
#ifdef HAVE_LIBURING
	unsigned nreq = (unsigned)b->num_queues * qsize, entries = 1;
	struct err e;

	if (cfg->backend == DISK_BACKEND_PREADV ||
	    (cfg->backend == DISK_BACKEND_AUTO && !cfg->direct))
		return;
	while (entries < nreq)
		entries <<= 1;
	b->reqs = calloc(nreq, sizeof(*b->reqs));
	if (!b->reqs) {
		log_warn("%s: out of memory for io_uring requests; using preadv/pwritev", b->name);
		return;
	}
	if (uring_setup(b, entries, &e) < 0) {
		log_warn("%s: %s; using preadv/pwritev", b->name, e.msg);
		free(b->reqs);
		b->reqs = NULL;
		return;
	}
	for (unsigned i = nreq; i-- > 0;) {
		b->reqs[i].next_free = b->free_reqs;
		b->free_reqs = &b->reqs[i];
	}
	b->ring_watch = (struct virtio_watch){.fd = b->ring.ring_fd, .cb = ring_cb, .ctx = b};
	if (virtio_watch_add(&b->vd, &b->ring_watch, EPOLLIN) < 0) {
		log_warn("%s: cannot watch the io_uring; using preadv/pwritev", b->name);
		io_uring_queue_exit(&b->ring);
		free(b->reqs);
		b->reqs = NULL;
		b->free_reqs = NULL;
		return;
	}
	b->uring = true;
#endif
}

const char *virtio_blk_backend(const struct virtio_blk *b)
{
	return b->uring ? "io_uring" : "preadv";
}

int virtio_blk_create(const struct virtio_pci_env *env, const struct disk_config *cfg,
		      unsigned index, struct virtio_blk **out, struct err *e)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	u16 nq = cfg->num_queues ? MIN(cfg->num_queues, DISK_MAX_QUEUES) : 1;
	u16 qsize = cfg->queue_size ? MIN(cfg->queue_size, DISK_QUEUE_SIZE_MAX) : DISK_QUEUE_SIZE;
	struct virtio_dev_params p = {
		.device_id = 2,
		.class_code = 0x010000,	/* mass storage, SCSI: what QEMU reports */
		.num_queues = nq,
		.queue_size = qsize,
		.config_size = 60,
		.ops = &blk_ops,
		.poll_max_ns = cfg->no_poll ? 0 : BLK_POLL_MAX_NS,
	};
	u8 *c;
	int r;

	if (!b)
		return errf(e, -ENOMEM, "virtio-blk: out of memory");
	if (qsize < 4 || (qsize & (qsize - 1))) {
		free(b);
		return errf(e, -EINVAL, "virtio-blk: queue size %u is not a power of two from 4",
			    (unsigned)qsize);
	}
	b->disk.fd = -1;
	b->vd.epfd = -1;
	b->num_queues = nq;
	snprintf(b->name, sizeof(b->name), "virtio-blk%u", index);
	r = blk_disk_open_flags(&b->disk, cfg->path, cfg->readonly, cfg->serial,
				cfg->direct ? O_DIRECT : 0, e);
	if (r < 0) {
		free(b);
		return r;
	}
	p.name = b->name;
	p.dev = b;
	p.features = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_FLUSH;
	if (nq > 1)
		p.features |= 1ULL << VIRTIO_BLK_F_MQ;
	if (cfg->readonly)
		p.features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		p.features |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	r = virtio_dev_init(&b->vd, env, &p, e);
	if (r < 0) {
		virtio_blk_destroy(b);
		return r;
	}
	backend_setup(b, cfg, qsize);
	c = b->vd.config;
	put_le64(c + 0, b->disk.sectors);
	put_le32(c + 12, qsize - 2u);			/* seg_max: header and status take two */
	put_le16(c + 34, nq);				/* num_queues (read with F_MQ) */
	put_le32(c + 36, 1u << 22);			/* max_discard_sectors: 2 GiB */
	put_le32(c + 40, VIRTIO_BLK_MAX_DISCARD_SEG);
	put_le32(c + 44, 8);				/* discard alignment: 4 KiB */
	put_le32(c + 48, 1u << 22);			/* max_write_zeroes_sectors */
	put_le32(c + 52, VIRTIO_BLK_MAX_DISCARD_SEG);
	c[56] = 1;					/* write_zeroes_may_unmap */
	*out = b;
	return 0;
}

struct virtio_dev *virtio_blk_dev(struct virtio_blk *b)
{
	return &b->vd;
}

struct blk_disk *virtio_blk_disk(struct virtio_blk *b)
{
	return &b->disk;
}

void virtio_blk_destroy(struct virtio_blk *b)
{
	if (!b)
		return;
	/* The transport joins the worker and resets, which drains the ring. */
	virtio_dev_destroy(&b->vd);
#ifdef HAVE_LIBURING
	if (b->uring)
		io_uring_queue_exit(&b->ring);
	free(b->reqs);
#endif
	blk_disk_close(&b->disk);
	free(b);
}

static unsigned blk_count(const struct vm_config *cfg)
{
	return cfg->n_disks;
}

static int blk_add(const struct virtio_pci_env *env, const struct vm_config *cfg, unsigned index,
		   struct virtio_dev **out, struct err *e)
{
	struct virtio_blk *b;
	int r = virtio_blk_create(env, &cfg->disks[index], index, &b, e);

	if (r == 0)
		*out = &b->vd;
	return r;
}

static const char *blk_id(const struct vm_config *cfg, unsigned index)
{
	return cfg->disks[index].id;
}

const struct virtio_device_type virtio_blk_type = {"disk", blk_count, blk_add, blk_id};
