// SPDX-License-Identifier: MIT
/* virtio-net: queue 0 receives (tap to guest), queue 1 transmits. */
#include "virtio/net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

#define RXQ 0
#define TXQ 1
#define MAX_RX_CHAINS 256	/* buffers one packet may take */

struct virtio_net {
	struct virtio_dev vd;
	struct virtio_watch tap;
	bool is_tap, offloads;
	bool tap_watched;	/* EPOLLIN on the tap (off while rx buffers are short) */
	int offload_want;	/* TUNSETOFFLOAD flags to apply on the worker, -1 if applied */
	char name[32];
	struct virtq_chain chain;
	u8 pkt[VIRTIO_NET_MAX_PACKET];	/* a packet read from the tap, not yet delivered */
	u32 pkt_len;
	struct virtio_net_stats st;
};

int tap_open(const char *name, int *fd, bool *offloads, struct err *e)
{
	struct ifreq ifr;
	int f, sz = VIRTIO_NET_HDR_LEN;

	if (strlen(name) >= IFNAMSIZ)
		return errf(e, -EINVAL, "tap name '%s' is longer than %d bytes", name, IFNAMSIZ - 1);
	f = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (f < 0)
		return errf_sys(e, -errno, "tap '%s': /dev/net/tun", name);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	/* Attaches to an existing tap or creates it (needs CAP_NET_ADMIN then). */
	if (ioctl(f, TUNSETIFF, &ifr) < 0) {
		int err = errno;

		close(f);
		return errf_sys(e, -err, "tap '%s': TUNSETIFF", name);
	}
	if (ioctl(f, TUNSETVNETHDRSZ, &sz) < 0) {
		int err = errno;

		close(f);
		return errf_sys(e, -err, "tap '%s': TUNSETVNETHDRSZ", name);
	}
	*offloads = ioctl(f, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) == 0;
	/* Until the guest negotiates, the tap must hand us plain packets. */
	ioctl(f, TUNSETOFFLOAD, 0);
	*fd = f;
	return 0;
}

/*
 * A tap opened by someone else (Kata passes it over the API socket, blocking
 * and maybe without a vnet header size set): a dup of it, checked to be a
 * tap with virtio-net headers, made non-blocking, sized and probed as
 * tap_open does.
 */
int tap_adopt(int given, int *fd, bool *offloads, struct err *e)
{
	struct ifreq ifr;
	int f, sz = VIRTIO_NET_HDR_LEN, err;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(given, TUNGETIFF, &ifr) < 0)
		return errf(e, -EINVAL, "net fd %d is not a tap device (TUNGETIFF: %s)", given,
			    strerror(errno));
	if ((ifr.ifr_flags & (IFF_TAP | IFF_TUN)) != IFF_TAP || !(ifr.ifr_flags & IFF_VNET_HDR) ||
	    !(ifr.ifr_flags & IFF_NO_PI))
		return errf(e, -EINVAL,
			    "net fd %d: tap '%.*s' must be opened with IFF_TAP, IFF_NO_PI and "
			    "IFF_VNET_HDR (flags 0x%x)",
			    given, IFNAMSIZ, ifr.ifr_name, (unsigned)ifr.ifr_flags);
	f = fcntl(given, F_DUPFD_CLOEXEC, 3);
	if (f < 0)
		return errf_sys(e, -errno, "net fd %d: dup", given);
	if (fcntl(f, F_SETFL, fcntl(f, F_GETFL) | O_NONBLOCK) < 0 ||
	    ioctl(f, TUNSETVNETHDRSZ, &sz) < 0) {
		err = errno;
		close(f);
		return errf_sys(e, -err, "net fd %d (tap '%.*s')", given, IFNAMSIZ, ifr.ifr_name);
	}
	*offloads = ioctl(f, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) == 0;
	ioctl(f, TUNSETOFFLOAD, 0);
	*fd = f;
	return 0;
}

static void apply_offloads(struct virtio_net *n);

static void set_tap_watch(struct virtio_net *n, bool on)
{
	if (n->tap_watched == on)
		return;
	if (virtio_watch_mod(&n->vd, &n->tap, on ? EPOLLIN : 0) == 0)
		n->tap_watched = on;
}

/* Writable byte `off` of a chain, or NULL. */
static u8 *chain_in_byte(const struct virtq_chain *c, u64 off)
{
	for (u32 i = c->n_out; i < c->n; i++) {
		if (off < c->bufs[i].len)
			return c->bufs[i].hva + off;
		off -= c->bufs[i].len;
	}
	return NULL;
}

enum place_result { PLACED, NO_BUFFERS, BROKEN, DROPPED };

/* Spreads the pending packet over receive buffers, all or nothing. */
static enum place_result place_packet(struct virtio_net *n)
{
	struct virtq *vq = virtio_vq(&n->vd, RXQ);
	bool mrg = virtio_has(&n->vd, VIRTIO_NET_F_MRG_RXBUF);
	u16 heads[MAX_RX_CHAINS];
	u32 lens[MAX_RX_CHAINS];
	u8 *nb_lo = NULL, *nb_hi = NULL;
	u32 k = 0, off = 0;
	struct err e;

	while (off < n->pkt_len) {
		int r;
		u32 take;

		if (k == MAX_RX_CHAINS || (!mrg && k == 1)) {
			virtq_unpop(vq, (u16)k);
			return DROPPED;
		}
		r = virtq_pop(vq, n->vd.env.mem, &n->chain, &e);
		if (r < 0) {
			virtio_fail(&n->vd, "receive queue: %s", e.msg);
			return BROKEN;
		}
		if (r == 0) {
			virtq_unpop(vq, (u16)k);
			return NO_BUFFERS;
		}
		if (k == 0) {
			if (n->chain.in_len < VIRTIO_NET_HDR_LEN) {
				virtio_fail(&n->vd, "receive buffer of %llu bytes cannot hold the header",
					    (unsigned long long)n->chain.in_len);
				return BROKEN;
			}
			nb_lo = chain_in_byte(&n->chain, 10);
			nb_hi = chain_in_byte(&n->chain, 11);
		}
		take = (u32)MIN((u64)(n->pkt_len - off), n->chain.in_len);
		if (!mrg && take < n->pkt_len) {
			/* Without mergeable buffers one buffer must hold it all. */
			virtq_unpop(vq, 1);
			return DROPPED;
		}
		virtq_chain_write(&n->chain, 0, n->pkt + off, take);
		heads[k] = n->chain.head;
		lens[k] = take;
		k++;
		off += take;
	}
	/* num_buffers: the tap leaves it 0; the driver needs the count (1 without MRG). */
	*nb_lo = (u8)k;
	*nb_hi = (u8)(k >> 8);
	for (u32 i = 0; i < k; i++)
		virtq_push(vq, heads[i], lens[i]);
	return PLACED;
}

static void rx_process(struct virtio_net *n)
{
	unsigned done = 0;

	apply_offloads(n);
	if (!virtio_active(&n->vd) || !n->vd.q[RXQ].enabled) {
		set_tap_watch(n, false);
		return;
	}
	for (;;) {
		enum place_result pr;

		if (!n->pkt_len) {
			ssize_t r = read(n->tap.fd, n->pkt, sizeof(n->pkt));

			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				/* Drained (EAGAIN): wait for the tap. */
				set_tap_watch(n, true);
				break;
			}
			if (r == 0) {
				/* The other end is gone (socket back-ends): stop polling it. */
				virtio_watch_del(&n->vd, &n->tap);
				n->tap_watched = false;
				break;
			}
			if (r <= VIRTIO_NET_HDR_LEN) {
				n->st.rx_dropped++;
				continue;
			}
			n->pkt_len = (u32)r;
		}
		pr = place_packet(n);
		if (pr == BROKEN)
			return;
		if (pr == NO_BUFFERS) {
			/* Keep the packet; stop reading the tap until the guest posts buffers. */
			n->st.rx_stalls++;
			set_tap_watch(n, false);
			if (virtq_set_notify(virtio_vq(&n->vd, RXQ), true))
				continue;
			break;
		}
		if (pr == DROPPED) {
			n->st.rx_dropped++;
		} else {
			n->st.rx_packets++;
			n->st.rx_bytes += n->pkt_len - VIRTIO_NET_HDR_LEN;
			done++;
		}
		n->pkt_len = 0;
	}
	if (done)
		virtio_queue_notify(&n->vd, RXQ);
}

static void tx_process(struct virtio_net *n)
{
	struct virtq *vq = virtio_vq(&n->vd, TXQ);
	struct iovec iov[VIRTQ_MAX_CHAIN];
	unsigned done = 0;
	struct err e;
	int r;

	apply_offloads(n);
	while ((r = virtq_pop(vq, n->vd.env.mem, &n->chain, &e)) > 0) {
		u32 k = 0;
		ssize_t w;

		for (u32 i = 0; i < n->chain.n_out; i++) {
			iov[k].iov_base = n->chain.bufs[i].hva;
			iov[k++].iov_len = n->chain.bufs[i].len;
		}
		if (n->chain.out_len <= VIRTIO_NET_HDR_LEN || n->chain.out_len > VIRTIO_NET_MAX_PACKET) {
			n->st.tx_dropped++;
		} else {
			do
				w = writev(n->tap.fd, iov, (int)MIN(k, 1024u));
			while (w < 0 && errno == EINTR);
			if (w < 0) {
				n->st.tx_dropped++;
			} else {
				n->st.tx_packets++;
				n->st.tx_bytes += n->chain.out_len - VIRTIO_NET_HDR_LEN;
			}
		}
		virtq_push(vq, n->chain.head, 0);
		done++;
	}
	if (r < 0)
		virtio_fail(&n->vd, "transmit queue: %s", e.msg);
	else if (done)
		virtio_queue_notify(&n->vd, TXQ);
}

static void tap_cb(struct virtio_watch *w, u32 events)
{
	rx_process(w->ctx);
}

static void net_kick(void *dev, u16 q)
{
	struct virtio_net *n = dev;

	if (q == TXQ)
		tx_process(n);
	else
		rx_process(n);
}

/*
 * The tap's offloads follow what the guest accepts. The ioctl is made on the
 * worker (activation and reset run on vCPU threads, whose seccomp filter has
 * no tap ioctls); the worker applies it before it touches the tap again.
 */
static void apply_offloads(struct virtio_net *n)
{
	if (n->offload_want < 0)
		return;
	if (ioctl(n->tap.fd, TUNSETOFFLOAD, (unsigned)n->offload_want) < 0)
		virtio_fail(&n->vd, "TUNSETOFFLOAD 0x%x failed", (unsigned)n->offload_want);
	n->offload_want = -1;
}

static int net_activate(void *dev, struct err *e)
{
	struct virtio_net *n = dev;
	unsigned off = 0;

	if (n->is_tap && n->offloads) {
		if (virtio_has(&n->vd, VIRTIO_NET_F_GUEST_CSUM))
			off |= TUN_F_CSUM;
		if (virtio_has(&n->vd, VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (virtio_has(&n->vd, VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if (virtio_has(&n->vd, VIRTIO_NET_F_GUEST_ECN))
			off |= TUN_F_TSO_ECN;
		n->offload_want = (int)off;
	}
	set_tap_watch(n, true);
	return 0;
}

static void net_reset(void *dev)
{
	struct virtio_net *n = dev;

	if (n->tap.fd < 0)
		return;
	set_tap_watch(n, false);
	n->pkt_len = 0;
	if (n->is_tap && n->offloads)
		n->offload_want = 0;
}

static void net_destroy(void *dev)
{
	virtio_net_destroy(dev);
}

/* Cloud Hypervisor's names for what it counts (frames are packets), merak's for the rest. */
static void net_counters(void *dev, counter_emit_fn emit, void *arg)
{
	const struct virtio_net_stats *st = &((struct virtio_net *)dev)->st;

	emit(arg, "rx_bytes", __atomic_load_n(&st->rx_bytes, __ATOMIC_RELAXED));
	emit(arg, "rx_frames", __atomic_load_n(&st->rx_packets, __ATOMIC_RELAXED));
	emit(arg, "tx_bytes", __atomic_load_n(&st->tx_bytes, __ATOMIC_RELAXED));
	emit(arg, "tx_frames", __atomic_load_n(&st->tx_packets, __ATOMIC_RELAXED));
	emit(arg, "rx_dropped", __atomic_load_n(&st->rx_dropped, __ATOMIC_RELAXED));
	emit(arg, "tx_dropped", __atomic_load_n(&st->tx_dropped, __ATOMIC_RELAXED));
	emit(arg, "rx_stalls", __atomic_load_n(&st->rx_stalls, __ATOMIC_RELAXED));
}

static const struct virtio_dev_ops net_ops = {
	.activate = net_activate,
	.reset = net_reset,
	.queue_kick = net_kick,
	.destroy = net_destroy,
	.counters = net_counters,
};

int virtio_net_create_fd(const struct virtio_pci_env *env, int fd, bool is_tap, bool offloads,
			 const u8 mac[6], const char *name, struct virtio_net **out,
			 struct err *e)
{
	struct virtio_net *n = calloc(1, sizeof(*n));
	struct virtio_dev_params p = {
		.device_id = 1,
		.class_code = 0x020000,
		.num_queues = 2,
		.queue_size = 256,
		.config_size = 12,
		.ops = &net_ops,
	};
	int r;

	if (!n) {
		close(fd);
		return errf(e, -ENOMEM, "virtio-net: out of memory");
	}
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->tap.fd = fd;
	n->tap.cb = tap_cb;
	n->tap.ctx = n;
	n->is_tap = is_tap;
	n->offloads = offloads;
	n->offload_want = -1;
	p.name = n->name;
	p.dev = n;
	p.features = 1ULL << VIRTIO_NET_F_MAC | 1ULL << VIRTIO_NET_F_MRG_RXBUF;
	if (offloads)
		p.features |= 1ULL << VIRTIO_NET_F_CSUM | 1ULL << VIRTIO_NET_F_GUEST_CSUM |
			      1ULL << VIRTIO_NET_F_GUEST_TSO4 | 1ULL << VIRTIO_NET_F_GUEST_TSO6 |
			      1ULL << VIRTIO_NET_F_GUEST_ECN | 1ULL << VIRTIO_NET_F_HOST_TSO4 |
			      1ULL << VIRTIO_NET_F_HOST_TSO6;
	r = virtio_dev_init(&n->vd, env, &p, e);
	if (r == 0) {
		memcpy(n->vd.config, mac, 6);
		/* Registered with no events: reading starts at DRIVER_OK. */
		r = virtio_watch_add(&n->vd, &n->tap, 0);
		if (r < 0)
			errf_sys(e, r, "%s: epoll", n->name);
	}
	if (r < 0) {
		virtio_net_destroy(n);
		return r;
	}
	*out = n;
	return 0;
}

int virtio_net_create(const struct virtio_pci_env *env, const struct net_config *cfg,
		      unsigned index, struct virtio_net **out, struct err *e)
{
	u8 mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, (u8)(0x56 + index)};
	char name[32];
	bool offloads;
	int fd, r;

	if (cfg->n_fds)
		r = tap_adopt(cfg->fds[0], &fd, &offloads, e);
	else
		r = tap_open(cfg->tap, &fd, &offloads, e);
	if (r < 0)
		return r;
	if (cfg->has_mac)
		memcpy(mac, cfg->mac, 6);
	snprintf(name, sizeof(name), "virtio-net%u", index);
	return virtio_net_create_fd(env, fd, true, offloads, mac, name, out, e);
}

struct virtio_dev *virtio_net_dev(struct virtio_net *n)
{
	return &n->vd;
}

void virtio_net_stats(struct virtio_net *n, struct virtio_net_stats *s)
{
	*s = n->st;
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (!n)
		return;
	virtio_dev_destroy(&n->vd);
	if (n->tap.fd >= 0)
		close(n->tap.fd);
	free(n);
}

static unsigned net_count(const struct vm_config *cfg)
{
	return cfg->n_nets;
}

static int net_add(const struct virtio_pci_env *env, const struct vm_config *cfg, unsigned index,
		   struct virtio_dev **out, struct err *e)
{
	struct virtio_net *n;
	int r = virtio_net_create(env, &cfg->nets[index], index, &n, e);

	if (r == 0)
		*out = &n->vd;
	return r;
}

static const char *net_id(const struct vm_config *cfg, unsigned index)
{
	return cfg->nets[index].id;
}

const struct virtio_device_type virtio_net_type = {"net", net_count, net_add, net_id};
