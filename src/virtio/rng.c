// SPDX-License-Identifier: MIT
/* virtio-rng: one request queue of device-writable buffers. */
#include "virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

/* Per request: a guest asking for megabytes gets them in several requests. */
#define RNG_MAX_PER_REQUEST (64 * 1024)

struct virtio_rng {
	struct virtio_dev vd;
	struct virtq_chain chain;
	u64 bytes;
};

/* Fills the writable buffers; returns the bytes written. */
static u32 rng_fill(const struct virtq_chain *c)
{
	u32 total = 0;

	for (u32 i = c->n_out; i < c->n && total < RNG_MAX_PER_REQUEST; i++) {
		const struct virtq_buf *b = &c->bufs[i];
		u32 want = MIN(b->len, RNG_MAX_PER_REQUEST - total), got = 0;

		while (got < want) {
			ssize_t r = getrandom(b->hva + got, want - got, 0);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return total + got;
			got += (u32)r;
		}
		total += got;
	}
	return total;
}

static void rng_kick(void *dev, u16 q)
{
	struct virtio_rng *r = dev;
	struct virtq *vq = virtio_vq(&r->vd, q);
	unsigned done = 0;
	struct err e;
	int n;

	while ((n = virtq_pop(vq, r->vd.env.mem, &r->chain, &e)) > 0) {
		u32 len = rng_fill(&r->chain);

		r->bytes += len;
		virtq_push(vq, r->chain.head, len);
		done++;
	}
	if (n < 0)
		virtio_fail(&r->vd, "request queue: %s", e.msg);
	else if (done)
		virtio_queue_notify(&r->vd, q);
}

static void rng_destroy(void *dev)
{
	virtio_rng_destroy(dev);
}

static const struct virtio_dev_ops rng_ops = {.queue_kick = rng_kick, .destroy = rng_destroy};

int virtio_rng_create(const struct virtio_pci_env *env, struct virtio_rng **out, struct err *e)
{
	struct virtio_rng *r = calloc(1, sizeof(*r));
	struct virtio_dev_params p = {
		.name = "virtio-rng",
		.device_id = 4,
		.class_code = 0xff0000,
		.num_queues = 1,
		.queue_size = 64,
		.ops = &rng_ops,
	};
	int ret;

	if (!r)
		return errf(e, -ENOMEM, "virtio-rng: out of memory");
	p.dev = r;
	ret = virtio_dev_init(&r->vd, env, &p, e);
	if (ret < 0) {
		virtio_rng_destroy(r);
		return ret;
	}
	*out = r;
	return 0;
}

struct virtio_dev *virtio_rng_dev(struct virtio_rng *r)
{
	return &r->vd;
}

void virtio_rng_destroy(struct virtio_rng *r)
{
	if (!r)
		return;
	virtio_dev_destroy(&r->vd);
	free(r);
}

static unsigned rng_count(const struct vm_config *cfg)
{
	return cfg->rng ? 1 : 0;
}

static int rng_add(const struct virtio_pci_env *env, const struct vm_config *cfg, unsigned index,
		   struct virtio_dev **out, struct err *e)
{
	struct virtio_rng *g;
	int r = virtio_rng_create(env, &g, e);

	if (r == 0)
		*out = &g->vd;
	return r;
}

static const char *rng_id(const struct vm_config *cfg, unsigned index)
{
	(void)index;
	return cfg->rng_id;
}

const struct virtio_device_type virtio_rng_type = {"rng", rng_count, rng_add, rng_id};
