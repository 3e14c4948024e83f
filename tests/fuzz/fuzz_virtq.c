// SPDX-License-Identifier: MIT
/*
 * The split virtqueue walker on guest RAM the fuzzer writes: queue geometry
 * and features from the first bytes, then up to 64 pops and pushes. Every
 * chain handed out must lie inside guest RAM, keep readable buffers before
 * writable ones, and respect the chain bound; nothing may crash.
 */
#include <stdlib.h>
#include <string.h>

#include "virtio/virtqueue.h"

#define RAM (64 * 1024)

static struct guest_mem gm;
static u8 *ram;
static struct virtq_chain chain;

static void check_chain(const struct virtq_chain *c)
{
	if (c->n > VIRTQ_MAX_CHAIN || c->n_out > c->n)
		abort();
	for (u32 i = 0; i < c->n; i++) {
		const struct virtq_buf *b = &c->bufs[i];

		if (b->hva < ram || b->hva + b->len > ram + RAM)
			abort();
		if (b->write != (i >= c->n_out))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct virtq vq;
	struct err e;
	u8 scratch[256];

	if (!ram) {
		guest_mem_init(&gm);
		if (guest_mem_add_anon(&gm, 0, RAM, MEM_RAM, &e) < 0)
			abort();
		ram = guest_mem_ptr(&gm, 0, RAM);
	}
	if (size < 12)
		return 0;
	memset(&vq, 0, sizeof(vq));
	vq.size = (u16)(1u << (data[0] % 11));	/* 1..1024 */
	vq.desc_gpa = get_le16(data + 1) & ~15u;
	vq.avail_gpa = get_le16(data + 3) & ~1u;
	vq.used_gpa = get_le16(data + 5) & ~3u;
	vq.event_idx = data[7] & 1;
	vq.indirect = data[7] & 2;
	memset(ram, 0, RAM);
	memcpy(ram, data + 8, MIN(size - 8, (size_t)RAM));
	if (virtq_start(&vq, &gm, &e) < 0)
		return 0;
	/* The driver's avail index: start somewhere arbitrary (wrap-around). */
	vq.last_avail = get_le16(data + 8);
	for (int i = 0; i < 64; i++) {
		int r = virtq_pop(&vq, &gm, &chain, &e);

		if (r <= 0)
			break;
		check_chain(&chain);
		virtq_chain_read(&chain, data[i % size], scratch, sizeof(scratch));
		virtq_chain_write(&chain, data[(i + 1) % size], scratch, sizeof(scratch));
		virtq_push(&vq, chain.head, (u32)chain.in_len);
		virtq_should_notify(&vq);
		if (data[i % size] & 0x80)
			virtq_set_notify(&vq, data[i % size] & 0x40);
	}
	return 0;
}
