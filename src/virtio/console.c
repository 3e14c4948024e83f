// SPDX-License-Identifier: MIT
/* virtio-console: queue 0 receives (host to guest), queue 1 transmits. */
#include "virtio/console.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define RXQ 0
#define TXQ 1

struct virtio_console {
	struct virtio_dev vd;
	struct console_io *io;
	struct virtq_chain chain;
	/* Input from the reader thread; in_lock only, never vd.lock, on its side. */
	pthread_mutex_t in_lock;
	u8 in[VIRTIO_CONSOLE_INBUF];
	size_t in_head, in_len;
	u64 in_dropped, out_bytes;
	struct virtio_watch in_ev;
};

void virtio_console_input(struct virtio_console *c, const u8 *buf, size_t len)
{
	u64 one = 1;

	pthread_mutex_lock(&c->in_lock);
	for (size_t i = 0; i < len; i++) {
		if (c->in_len == sizeof(c->in)) {
			/* The guest is not reading: typing ahead is bounded. */
			c->in_dropped += len - i;
			break;
		}
		c->in[(c->in_head + c->in_len++) % sizeof(c->in)] = buf[i];
	}
	pthread_mutex_unlock(&c->in_lock);
	if (write(c->in_ev.fd, &one, sizeof(one)) < 0)
		c->in_dropped++;
}

static void on_input(void *ctx, const u8 *buf, size_t len)
{
	virtio_console_input(ctx, buf, len);
}

/* Moves buffered input into receive buffers. Worker, vd.lock held. */
static void deliver_input(struct virtio_console *c)
{
	struct virtq *vq = virtio_vq(&c->vd, RXQ);
	unsigned done = 0;
	struct err e;

	if (!virtio_active(&c->vd) || !c->vd.q[RXQ].enabled)
		return;
	pthread_mutex_lock(&c->in_lock);
	while (c->in_len) {
		int r = virtq_pop(vq, c->vd.env.mem, &c->chain, &e);
		u32 used = 0;

		if (r < 0) {
			pthread_mutex_unlock(&c->in_lock);
			virtio_fail(&c->vd, "receive queue: %s", e.msg);
			return;
		}
		if (r == 0)
			break;
		for (u32 i = c->chain.n_out; i < c->chain.n && c->in_len; i++) {
			const struct virtq_buf *b = &c->chain.bufs[i];
			u32 k = 0;

			while (k < b->len && c->in_len) {
				b->hva[k++] = c->in[c->in_head];
				c->in_head = (c->in_head + 1) % sizeof(c->in);
				c->in_len--;
			}
			used += k;
		}
		virtq_push(vq, c->chain.head, used);
		done++;
	}
	pthread_mutex_unlock(&c->in_lock);
	if (done)
		virtio_queue_notify(&c->vd, RXQ);
}

static void in_ev_cb(struct virtio_watch *w, u32 events)
{
	struct virtio_console *c = w->ctx;
	u64 v;

	if (read(w->fd, &v, sizeof(v)) < 0)
		return;
	deliver_input(c);
}

static void transmit(struct virtio_console *c)
{
	struct virtq *vq = virtio_vq(&c->vd, TXQ);
	unsigned done = 0;
	struct err e;
	int r;

	while ((r = virtq_pop(vq, c->vd.env.mem, &c->chain, &e)) > 0) {
		for (u32 i = 0; i < c->chain.n_out && c->io; i++) {
			console_io_write(c->io, c->chain.bufs[i].hva, c->chain.bufs[i].len);
			c->out_bytes += c->chain.bufs[i].len;
		}
		virtq_push(vq, c->chain.head, 0);
		done++;
	}
	if (r < 0)
		virtio_fail(&c->vd, "transmit queue: %s", e.msg);
	else if (done)
		virtio_queue_notify(&c->vd, TXQ);
}

static void console_kick(void *dev, u16 q)
{
	struct virtio_console *c = dev;

	if (q == TXQ)
		transmit(c);
	else
		deliver_input(c);
}

static void console_config_write(void *dev, u32 off, const void *data, u32 len)
{
	struct virtio_console *c = dev;

	/* emerg_wr: one character, printed at once, before any queue exists. */
	if (off == 8 && c->io && virtio_has(&c->vd, VIRTIO_CONSOLE_F_EMERG_WRITE))
		console_io_write(c->io, data, 1);
}

static void console_destroy(void *dev)
{
	virtio_console_destroy(dev);
}

static const struct virtio_dev_ops console_ops = {
	.queue_kick = console_kick,
	.config_write = console_config_write,
	.destroy = console_destroy,
};

int virtio_console_create(const struct virtio_pci_env *env, struct console_io *io,
			  struct virtio_console **out, struct err *e)
{
	struct virtio_console *c = calloc(1, sizeof(*c));
	struct virtio_dev_params p = {
		.name = "virtio-console",
		.device_id = 3,
		.class_code = 0x078000,	/* simple communication controller, other */
		.num_queues = 2,
		.queue_size = 128,
		.features = 1ULL << VIRTIO_CONSOLE_F_EMERG_WRITE,
		.config_size = 12,
		.ops = &console_ops,
	};
	int r;

	if (!c) {
		console_io_close(io);
		return errf(e, -ENOMEM, "virtio-console: out of memory");
	}
	c->io = io;
	c->in_ev.fd = -1;
	pthread_mutex_init(&c->in_lock, NULL);
	p.dev = c;
	r = virtio_dev_init(&c->vd, env, &p, e);
	if (r < 0)
		goto fail;
	put_le32(c->vd.config + 4, 1);	/* max_nr_ports (meaningful with MULTIPORT only) */
	c->in_ev.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->in_ev.cb = in_ev_cb;
	c->in_ev.ctx = c;
	if (c->in_ev.fd < 0) {
		r = errf_sys(e, -errno, "virtio-console: eventfd");
		goto fail;
	}
	r = virtio_watch_add(&c->vd, &c->in_ev, EPOLLIN);
	if (r < 0) {
		errf_sys(e, r, "virtio-console: epoll");
		goto fail;
	}
	if (io) {
		r = console_io_start_input(io, on_input, c, e);
		if (r < 0)
			goto fail;
	}
	*out = c;
	return 0;
fail:
	virtio_console_destroy(c);
	return r;
}

struct virtio_dev *virtio_console_dev(struct virtio_console *c)
{
	return &c->vd;
}

void virtio_console_destroy(struct virtio_console *c)
{
	if (!c)
		return;
	virtio_dev_destroy(&c->vd);
	/* The worker is gone; stop the reader before the memory it writes to goes. */
	console_io_close(c->io);
	if (c->in_ev.fd >= 0)
		close(c->in_ev.fd);
	pthread_mutex_destroy(&c->in_lock);
	free(c);
}

static unsigned console_count(const struct vm_config *cfg)
{
	return cfg->console.mode != CHARDEV_OFF ? 1 : 0;
}

/* --console MODE: the back-end first (file, terminal), then the device that owns it. */
static int console_add(const struct virtio_pci_env *env, const struct vm_config *cfg,
		       unsigned index, struct virtio_dev **out, struct err *e)
{
	struct virtio_console *c;
	struct console_io *io;
	int r;

	r = console_io_open(&cfg->console, "console output file", &io, e);
	if (r < 0)
		return err_ctx(e, "virtio-console");
	console_io_set_sandbox(io, env->sandbox_mode);
	if (env->console_quit)
		console_io_set_escape(io, env->console_quit, env->console_quit_ctx);
	r = virtio_console_create(env, io, &c, e);
	if (r == 0)
		*out = &c->vd;
	return r;
}

static const char *console_id(const struct vm_config *cfg, unsigned index)
{
	(void)index;
	return cfg->console.id;
}

const struct virtio_device_type virtio_console_type = {"console", console_count, console_add, console_id};
