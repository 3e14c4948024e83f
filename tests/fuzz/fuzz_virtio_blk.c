// SPDX-License-Identifier: MIT
/*
 * The virtio-blk request path: a chain the fuzzer describes (descriptor
 * table and buffers in guest RAM), walked and executed against a 32 KiB
 * in-memory image. Requests may fail, the device may refuse the chain; the
 * status byte must be the last writable byte and nothing may crash.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "virtio/blk.h"

#define RAM (64 * 1024)

static struct guest_mem gm;
static u8 *ram;
static struct virtq_chain chain;
static struct blk_disk disk;

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct virtq vq;
	struct err e;
	int r;

	if (!ram) {
		guest_mem_init(&gm);
		if (guest_mem_add_anon(&gm, 0, RAM, MEM_RAM, &e) < 0)
			abort();
		ram = guest_mem_ptr(&gm, 0, RAM);
		disk.fd = memfd_create("fuzz-disk", 0);
		if (disk.fd < 0 || ftruncate(disk.fd, 32 * 1024) < 0)
			abort();
		disk.sectors = 64;
		memcpy(disk.serial, "fuzz", 4);
	}
	if (size < 2)
		return 0;
	disk.readonly = data[0] & 1;
	memset(&vq, 0, sizeof(vq));
	/* Queue of 16 at 0, avail at 0x100, used at 0x200; head from avail[0]. */
	vq.size = 16;
	vq.desc_gpa = 0;
	vq.avail_gpa = 0x100;
	vq.used_gpa = 0x200;
	vq.indirect = data[0] & 2;
	memset(ram, 0, RAM);
	memcpy(ram, data + 1, MIN(size - 1, (size_t)RAM));
	put_le16(ram + 0x102, 1);	/* one chain available */
	if (virtq_start(&vq, &gm, &e) < 0)
		abort();
	r = virtq_pop(&vq, &gm, &chain, &e);
	if (r <= 0)
		return 0;
	r = blk_request(&disk, &chain, &e);
	if (r > 0 && (u64)r > chain.in_len)
		abort();
	return 0;
}
