/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VIRTIO_BLK_H
#define MERAK_VIRTIO_BLK_H

/*
 * virtio-blk (device ID 2) on a raw image file. The request parser and
 * executor (blk_request) is separate from the transport so tests, the
 * fuzzer and the benchmark drive it with synthetic chains.
 */
#include <linux/virtio_blk.h>	/* request types, status, feature bits */

#include "util/err.h"
#include "vm/config.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_BLK_QUEUE_SIZE	  DISK_QUEUE_SIZE	/* offered unless queue_size says otherwise */
#define VIRTIO_BLK_MAX_DISCARD_SEG 32

struct blk_disk {
	int fd;
	u64 sectors;	/* capacity in 512-byte sectors (a partial last sector is not visible) */
	bool readonly;
	char serial[VIRTIO_BLK_ID_BYTES];
	u64 reads, writes, flushes, discards, write_zeroes, errors;
	u64 read_bytes, write_bytes;
};

/* Opens and locks the image (exclusive, or shared when read-only). */
int blk_disk_open(struct blk_disk *d, const char *path, bool readonly, const char *serial,
		  struct err *e);
/* The same with extra open(2) flags (O_DIRECT for direct=on). */
int blk_disk_open_flags(struct blk_disk *d, const char *path, bool readonly, const char *serial,
			int flags, struct err *e);
void blk_disk_close(struct blk_disk *d);
/*
 * Executes one request. Returns the used length (bytes written to the
 * driver's buffers, status included) or -EINVAL when the chain has no room
 * for a header or a status byte (the device then needs a reset).
 */
int blk_request(struct blk_disk *d, const struct virtq_chain *c, struct err *e);

struct virtio_blk;
int virtio_blk_create(const struct virtio_pci_env *env, const struct disk_config *cfg,
		      unsigned index, struct virtio_blk **out, struct err *e);
struct virtio_dev *virtio_blk_dev(struct virtio_blk *b);
struct blk_disk *virtio_blk_disk(struct virtio_blk *b);
void virtio_blk_destroy(struct virtio_blk *b);
/* "io_uring" or "preadv": the backend the device ended up with. */
const char *virtio_blk_backend(const struct virtio_blk *b);
extern const struct virtio_device_type virtio_blk_type;

#endif
