// SPDX-License-Identifier: MIT
/* virtio-blk: one request queue, raw image, synchronous I/O on the worker. */
#include "virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/file.h"
#include "util/log.h"

#define SECTOR 512ULL
#define HDR_LEN 16
#define SEG_LEN 16

int blk_disk_open(struct blk_disk *d, const char *path, bool readonly, const char *serial,
		  struct err *e)
{
	struct stat st;

	memset(d, 0, sizeof(*d));
	d->readonly = readonly;
	if (serial)
		memcpy(d->serial, serial, strnlen(serial, sizeof(d->serial)));
	/* O_NONBLOCK: a FIFO is refused below instead of waiting for a writer. */
	d->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
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
			static const u8 zeros[65536];

			while (len) {
				ssize_t r = pwrite(d->fd, zeros, MIN(len, sizeof(zeros)), (off_t)off);

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

/* ---- the device ---------------------------------------------------------------- */

struct virtio_blk {
	struct virtio_dev vd;
	struct blk_disk disk;
	struct virtq_chain chain;
	char name[32];
};

static void blk_kick(void *dev, u16 q)
{
	struct virtio_blk *b = dev;
	struct virtq *vq = virtio_vq(&b->vd, q);
	unsigned done = 0;
	struct err e;
	int r;

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
	.destroy = blk_destroy,
	.counters = blk_counters,
};

int virtio_blk_create(const struct virtio_pci_env *env, const struct disk_config *cfg,
		      unsigned index, struct virtio_blk **out, struct err *e)
{
	struct virtio_blk *b = calloc(1, sizeof(*b));
	struct virtio_dev_params p = {
		.device_id = 2,
		.class_code = 0x010000,	/* mass storage, SCSI: what QEMU reports */
		.num_queues = 1,
		.queue_size = VIRTIO_BLK_QUEUE_SIZE,
		.config_size = 60,
		.ops = &blk_ops,
	};
	u8 *c;
	int r;

	if (!b)
		return errf(e, -ENOMEM, "virtio-blk: out of memory");
	b->disk.fd = -1;
	b->vd.epfd = -1;
	snprintf(b->name, sizeof(b->name), "virtio-blk%u", index);
	r = blk_disk_open(&b->disk, cfg->path, cfg->readonly, cfg->serial, e);
	if (r < 0) {
		free(b);
		return r;
	}
	p.name = b->name;
	p.dev = b;
	p.features = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_FLUSH;
	if (cfg->readonly)
		p.features |= 1ULL << VIRTIO_BLK_F_RO;
	else
		p.features |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
	r = virtio_dev_init(&b->vd, env, &p, e);
	if (r < 0) {
		virtio_blk_destroy(b);
		return r;
	}
	c = b->vd.config;
	put_le64(c + 0, b->disk.sectors);
	put_le32(c + 12, VIRTIO_BLK_QUEUE_SIZE - 2);	/* seg_max: header and status take two */
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
	virtio_dev_destroy(&b->vd);
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
