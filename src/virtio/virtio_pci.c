// SPDX-License-Identifier: MIT
/*
 * virtio-pci modern transport. Register accesses arrive on vCPU threads;
 * device work happens on the device's worker. Both take vd->lock, so a reset
 * never races a request in flight. A queue notification only writes the
 * queue's eventfd (or KVM does, with an ioeventfd), never blocks a vCPU.
 */
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/log.h"
#include "vm/sandbox.h"


struct virtio_pci_cap_desc {
	u8 type;
	u32 off, len;
};

/* ---- interrupts ------------------------------------------------------------ */

void virtio_queue_notify(struct virtio_dev *vd, u16 q)
{
	if (!virtq_should_notify(&vd->q[q].vq))
		return;
	__atomic_fetch_or(&vd->isr, VIRTIO_PCI_ISR_QUEUE, __ATOMIC_SEQ_CST);
	vd->interrupts++;
	pci_msix_notify(&vd->pci, vd->q[q].msix_vector);
}

void virtio_config_changed(struct virtio_dev *vd)
{
	vd->config_generation++;
	__atomic_fetch_or(&vd->isr, VIRTIO_PCI_ISR_CONFIG, __ATOMIC_SEQ_CST);
	vd->interrupts++;
	pci_msix_notify(&vd->pci, vd->msix_config);
}

void virtio_fail(struct virtio_dev *vd, const char *fmt, ...)
{
	va_list ap;

	if (vd->broken)
		return;
	va_start(ap, fmt);
	vsnprintf(vd->broken_msg, sizeof(vd->broken_msg), fmt, ap);
	va_end(ap);
	vd->broken = true;
	vd->status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	log_warn("virtio %s: %s; device needs a reset", vd->name, vd->broken_msg);
	if (vd->status & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio_config_changed(vd);
}

/* ---- worker ------------------------------------------------------------------ */

int virtio_watch_add(struct virtio_dev *vd, struct virtio_watch *w, u32 events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(vd->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

int virtio_watch_mod(struct virtio_dev *vd, struct virtio_watch *w, u32 events)
{
	struct epoll_event ev = {.events = events, .data.ptr = w};

	return epoll_ctl(vd->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

void virtio_watch_del(struct virtio_dev *vd, struct virtio_watch *w)
{
	epoll_ctl(vd->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

void virtio_watch_retire(struct virtio_dev *vd, struct virtio_watch *w,
			 void (*release)(struct virtio_watch *w))
{
	virtio_watch_del(vd, w);
	w->cb = NULL;
	w->release = release;
	w->retired_next = vd->retired;
	/* Atomic: handle_events peeks at the list without the lock. */
	__atomic_store_n(&vd->retired, w, __ATOMIC_RELAXED);
}

/* Called with the lock held, between epoll rounds. */
static void release_retired(struct virtio_dev *vd)
{
	while (vd->retired) {
		struct virtio_watch *w = vd->retired;

		__atomic_store_n(&vd->retired, w->retired_next, __ATOMIC_RELAXED);
		w->release(w);
	}
}

static void kick_cb(struct virtio_watch *w, u32 events)
{
	struct virtio_dev *vd = w->ctx;
	u16 q;

	/*
	 * Edge-triggered (virtio_dev_init): every write to the eventfd, ours or
	 * KVM's, is a new event, so the counter is never read back: one system
	 * call less per round. The device takes everything available anyway.
	 */
	for (q = 0; q < vd->num_queues; q++)
		if (&vd->q[q].kick == w)
			break;
	if (q == vd->num_queues || !virtio_active(vd) || !vd->q[q].enabled)
		return;
	vd->kicks++;
	vd->ops->queue_kick(vd->dev, q);
}

/*
 * One epoll round: events handled, or -1 when the quit eventfd was among them.
 * A callback may retire another watch of the same round (a vsock connection
 * freed while its socket also had an event): its event is skipped, and its
 * memory released only after the round.
 */
static int handle_events(struct virtio_dev *vd, int timeout_ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(vd->epfd, ev, 16, timeout_ms);
	bool quit = false;

	for (int i = 0; i < n; i++) {
		struct virtio_watch *w = ev[i].data.ptr;

		/* The rest of the round still runs: work that came with the quit is done. */
		if (w == &vd->quit) {
			quit = true;
			continue;
		}
		pthread_mutex_lock(&vd->lock);
		if (w->cb)
			w->cb(w, ev[i].events);
		pthread_mutex_unlock(&vd->lock);
	}
	if (__atomic_load_n(&vd->retired, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&vd->lock);
		release_retired(vd);
		pthread_mutex_unlock(&vd->lock);
	}
	if (quit)
		return -1;
	return n < 0 ? 0 : n;
}

int virtio_dev_poll(struct virtio_dev *vd, int timeout_ms)
{
	return handle_events(vd, timeout_ms);
}

/* ---- queue polling ------------------------------------------------------------ */

#define POLL_GROW_FROM_NS 4000	/* a window grows back from here after it shrank to 0 */
#define POLL_START_NS	  32000	/* the first window, as QEMU's poll-max-ns */
#define POLL_YIELD_EVERY  64	/* empty looks between offers of the CPU (a few us) */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Moves whenever a queue takes or completes a request (both indices only grow). Lock held. */
static u32 work_mark(const struct virtio_dev *vd)
{
	u32 m = 0;

	for (u16 i = 0; i < vd->num_queues; i++)
		m += (u32)vd->q[i].vq.last_avail + vd->q[i].vq.used_idx;
	return m;
}

/* Kicks off or on for every running queue; true if requests wait. Lock held. */
static bool notify_all(struct virtio_dev *vd, bool enable)
{
	bool pending = false;

	for (u16 i = 0; i < vd->num_queues; i++)
		if (vd->q[i].enabled && virtq_set_notify(&vd->q[i].vq, enable))
			pending = true;
	return pending;
}

/* One look at every ring, a memory read each; serves what is there. Lock held. */
static void poll_once(struct virtio_dev *vd)
{
	for (u16 i = 0; i < vd->num_queues; i++)
		if (vd->q[i].enabled && virtq_pending(&vd->q[i].vq) != 0)
			vd->ops->queue_kick(vd->dev, i);
	if (vd->ops->poll)
		vd->ops->poll(vd->dev);
}

/*
 * QEMU's adaptive rule, on the time from the last work to the kick that
 * woke us: a window that would have caught it grows (doubling, up to
 * poll_max_ns); a gap beyond the cap halves it, down to 0 (no polling), so
 * a guest that pauses between requests longer than the cap stops costing
 * the host any spinning.
 */
static void poll_adapt(struct virtio_dev *vd, u64 gap_ns)
{
	if (gap_ns <= vd->poll_ns)
		return;
	if (gap_ns > vd->poll_max_ns)
		vd->poll_ns = vd->poll_ns / 2 < POLL_GROW_FROM_NS ? 0 : vd->poll_ns / 2;
	else
		vd->poll_ns = (u32)MIN((u64)vd->poll_max_ns, MAX((u64)POLL_GROW_FROM_NS,
								 2ULL * vd->poll_ns));
}

/*
 * After a round that did work: watch the rings (and the device's own
 * completions) for poll_ns more, with kicks suppressed, so a driver that
 * answers quickly (a guest at queue depth 1) costs neither a kick (a VM
 * exit, an eventfd) nor an epoll_wait. Work found restarts the window. At
 * its end kicks are enabled and the rings looked at once more, or a
 * request published just before would wait for a kick that never comes.
 * A device stop or reset ends it at once. *last_work: when work was last seen.
 */
static void poll_queues(struct virtio_dev *vd, u64 *last_work)
{
	unsigned empty = 0;
	u32 mark, m;
	u64 t;

	pthread_mutex_lock(&vd->lock);
	if (!virtio_active(vd) || !vd->poll_ns) {
		pthread_mutex_unlock(&vd->lock);
		return;
	}
	notify_all(vd, false);
	mark = work_mark(vd);
	pthread_mutex_unlock(&vd->lock);
	for (;;) {
		bool active, found;

		if (__atomic_load_n(&vd->stopping, __ATOMIC_RELAXED))
			break;
		pthread_mutex_lock(&vd->lock);
		active = virtio_active(vd);
		if (active)
			poll_once(vd);
		m = work_mark(vd);
		pthread_mutex_unlock(&vd->lock);
		/* A reset stopped the queues; a fresh start has kicks on. */
		if (!active)
			return;
		found = m != mark;
		mark = m;
		t = monotonic_ns();
		if (found) {
			__atomic_store_n(&vd->poll_hits, vd->poll_hits + 1, __ATOMIC_RELAXED);
			*last_work = t;
		} else if (t - *last_work >= vd->poll_ns) {
			break;
		} else if (++empty % POLL_YIELD_EVERY == 0) {
			/* A vCPU sharing this CPU runs now, not when the window ends. */
			sched_yield();
			continue;
		}
		cpu_relax();
	}
	/* Kicks back on; what slipped in before that is served now, then we sleep. */
	for (;;) {
		pthread_mutex_lock(&vd->lock);
		if (virtio_active(vd) && notify_all(vd, true))
			poll_once(vd);
		m = work_mark(vd);
		pthread_mutex_unlock(&vd->lock);
		if (m == mark || __atomic_load_n(&vd->stopping, __ATOMIC_RELAXED))
			break;
		mark = m;
		*last_work = monotonic_ns();
	}
}

static void *worker_main(void *arg)
{
	struct virtio_dev *vd = arg;
	u64 last_work = 0;
	struct err e;

	if (sandbox_apply(SANDBOX_DEVICE, (enum sandbox_mode)vd->env.sandbox_mode, &e) < 0) {
		log_error("virtio %s worker: %s", vd->name, e.msg);
		return NULL;
	}
	for (;;) {
		u64 kicks = vd->kicks, t;
		u32 mark = 0;
		bool did;

		if (vd->poll_max_ns) {
			pthread_mutex_lock(&vd->lock);
			mark = work_mark(vd);
			pthread_mutex_unlock(&vd->lock);
		}
		if (handle_events(vd, -1) < 0)
			break;
		if (!vd->poll_max_ns)
			continue;
		pthread_mutex_lock(&vd->lock);
		did = work_mark(vd) != mark;
		pthread_mutex_unlock(&vd->lock);
		/* A kick with nothing new (a hostile one too) opens no window. */
		if (!did)
			continue;
		t = monotonic_ns();
		if (vd->kicks != kicks && last_work)
			poll_adapt(vd, t - last_work);
		last_work = t;
		poll_queues(vd, &last_work);
	}
	/*
	 * What the guest handed over before the VM stopped is still served: a
	 * kick that raced the stop (a last vsock answer, a last console line, a
	 * last write) is in a readable eventfd. A few rounds, without waiting;
	 * the quit eventfd stays readable, so each round also says -1.
	 */
	for (int i = 0; i < 4; i++)
		handle_events(vd, 0);
	return NULL;
}

/* ---- status machine -------------------------------------------------------- */

static void queues_reset(struct virtio_dev *vd)
{
	for (u16 i = 0; i < vd->num_queues; i++) {
		struct virtio_queue_state *q = &vd->q[i];

		virtq_reset(&q->vq);
		q->vq.size = q->max_size;
		q->msix_vector = VIRTIO_MSI_NO_VECTOR;
		q->enabled = false;
	}
}

/* Called with the lock held. */
static void device_reset(struct virtio_dev *vd)
{
	if (vd->ops->reset)
		vd->ops->reset(vd->dev);
	queues_reset(vd);
	vd->driver_features = 0;
	vd->dfselect = vd->gfselect = 0;
	vd->status = 0;
	vd->msix_config = VIRTIO_MSI_NO_VECTOR;
	vd->queue_select = 0;
	__atomic_store_n(&vd->isr, 0, __ATOMIC_SEQ_CST);
	vd->broken = false;
	vd->broken_msg[0] = '\0';
	vd->resets++;
}

static void kick_all(struct virtio_dev *vd)
{
	u64 one = 1;

	for (u16 i = 0; i < vd->num_queues; i++)
		if (vd->q[i].enabled && write(vd->q[i].kick.fd, &one, sizeof(one)) < 0)
			log_debug("virtio %s: kick queue %u: eventfd write failed", vd->name, i);
}

static void status_write(struct virtio_dev *vd, u8 v)
{
	u8 old = vd->status;
	struct err e;

	if (v == 0) {
		device_reset(vd);
		return;
	}
	if ((v & VIRTIO_CONFIG_S_FEATURES_OK) && !(old & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* Unknown bits or a legacy driver: FEATURES_OK does not stick. */
		if ((vd->driver_features & ~vd->device_features) ||
		    !virtio_has(vd, VIRTIO_F_VERSION_1)) {
			log_debug("virtio %s: driver features 0x%llx refused (offered 0x%llx)",
				  vd->name, (unsigned long long)vd->driver_features,
				  (unsigned long long)vd->device_features);
			v &= (u8)~VIRTIO_CONFIG_S_FEATURES_OK;
		} else {
			for (u16 i = 0; i < vd->num_queues; i++) {
				vd->q[i].vq.event_idx = virtio_has(vd, VIRTIO_RING_F_EVENT_IDX);
				vd->q[i].vq.indirect = virtio_has(vd, VIRTIO_RING_F_INDIRECT_DESC);
			}
		}
	}
	if ((v & VIRTIO_CONFIG_S_DRIVER_OK) && !(old & VIRTIO_CONFIG_S_DRIVER_OK)) {
		if (!(v & VIRTIO_CONFIG_S_FEATURES_OK)) {
			v &= (u8)~VIRTIO_CONFIG_S_DRIVER_OK;
		} else {
			vd->status = (u8)(v | (old & VIRTIO_CONFIG_S_NEEDS_RESET));
			if (vd->broken)
				return;
			if (vd->ops->activate && vd->ops->activate(vd->dev, &e) < 0) {
				virtio_fail(vd, "activation failed: %s", e.msg);
				return;
			}
			kick_all(vd);
			return;
		}
	}
	vd->status = (u8)(v | (old & VIRTIO_CONFIG_S_NEEDS_RESET));
}

static void queue_enable(struct virtio_dev *vd, struct virtio_queue_state *q)
{
	struct err e;

	if (q->enabled)
		return;
	if (virtq_start(&q->vq, vd->env.mem, &e) < 0) {
		virtio_fail(vd, "queue %u: %s", (unsigned)(q - vd->q), e.msg);
		return;
	}
	q->enabled = true;
}

/* ---- common configuration -------------------------------------------------- */

/* The common structure as the driver sees it now (virtio 1.2 §4.1.4.3). */
static void common_snapshot(struct virtio_dev *vd, u8 *s)
{
	struct virtio_queue_state *q = vd->queue_select < vd->num_queues ? &vd->q[vd->queue_select]
									 : NULL;

	memset(s, 0, 0x40);
	put_le32(s + 0x00, vd->dfselect);
	put_le32(s + 0x04, vd->dfselect < 2 ? (u32)(vd->device_features >> (32 * vd->dfselect)) : 0);
	put_le32(s + 0x08, vd->gfselect);
	put_le32(s + 0x0c, vd->gfselect < 2 ? (u32)(vd->driver_features >> (32 * vd->gfselect)) : 0);
	put_le16(s + 0x10, vd->msix_config);
	put_le16(s + 0x12, vd->num_queues);
	s[0x14] = vd->status;
	s[0x15] = vd->config_generation;
	put_le16(s + 0x16, vd->queue_select);
	if (q) {
		put_le16(s + 0x18, q->vq.size);
		put_le16(s + 0x1a, q->msix_vector);
		put_le16(s + 0x1c, q->enabled);
		put_le16(s + 0x1e, vd->queue_select);
		put_le64(s + 0x20, q->vq.desc_gpa);
		put_le64(s + 0x28, q->vq.avail_gpa);
		put_le64(s + 0x30, q->vq.used_gpa);
		put_le16(s + 0x38, vd->queue_select);
	}
}

static bool touches(u64 off, u32 len, u64 field, u32 flen)
{
	return off < field + flen && off + len > field;
}

static u16 valid_vector(struct virtio_dev *vd, u16 v)
{
	return v < vd->pci.msix.nvec ? v : VIRTIO_MSI_NO_VECTOR;
}

static void common_write(struct virtio_dev *vd, u64 off, const void *data, u32 len)
{
	struct virtio_queue_state *q = vd->queue_select < vd->num_queues ? &vd->q[vd->queue_select]
									 : NULL;
	u8 s[0x40];

	common_snapshot(vd, s);
	memcpy(s + off, data, len);
	if (touches(off, len, 0x00, 4))
		vd->dfselect = get_le32(s + 0x00);
	if (touches(off, len, 0x08, 4))
		vd->gfselect = get_le32(s + 0x08);
	if (touches(off, len, 0x0c, 4) && vd->gfselect < 2 &&
	    !(vd->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		unsigned sh = 32 * vd->gfselect;

		vd->driver_features = (vd->driver_features & ~(0xffffffffULL << sh)) |
				      (u64)get_le32(s + 0x0c) << sh;
	}
	if (touches(off, len, 0x10, 2))
		vd->msix_config = valid_vector(vd, get_le16(s + 0x10));
	if (touches(off, len, 0x14, 1))
		status_write(vd, s[0x14]);
	if (touches(off, len, 0x16, 2))
		vd->queue_select = get_le16(s + 0x16);
	if (!q)
		return;
	if (touches(off, len, 0x1a, 2))
		q->msix_vector = valid_vector(vd, get_le16(s + 0x1a));
	if (q->enabled)
		return;	/* the remaining queue fields are frozen once enabled */
	if (touches(off, len, 0x18, 2)) {
		u16 n = get_le16(s + 0x18);

		if (n && n <= q->max_size && !(n & (n - 1)))
			q->vq.size = n;
	}
	if (touches(off, len, 0x20, 8))
		q->vq.desc_gpa = get_le64(s + 0x20);
	if (touches(off, len, 0x28, 8))
		q->vq.avail_gpa = get_le64(s + 0x28);
	if (touches(off, len, 0x30, 8))
		q->vq.used_gpa = get_le64(s + 0x30);
	if (touches(off, len, 0x1c, 2) && get_le16(s + 0x1c) == 1)
		queue_enable(vd, q);
}

/* ---- BAR 0 ------------------------------------------------------------------ */

void virtio_pci_bar_read(struct virtio_dev *vd, u64 off, void *data, u32 len)
{
	memset(data, 0, len);
	if (off < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
		u8 s[0x40];

		if (off + len > VIRTIO_PCI_COMMON_LEN)
			return;
		pthread_mutex_lock(&vd->lock);
		common_snapshot(vd, s);
		pthread_mutex_unlock(&vd->lock);
		memcpy(data, s + off, len);
	} else if (off == VIRTIO_PCI_ISR_OFF) {
		/* Reading the ISR acknowledges it. */
		*(u8 *)data = (u8)__atomic_exchange_n(&vd->isr, 0, __ATOMIC_SEQ_CST);
	} else if (off >= VIRTIO_PCI_DEVCFG_OFF && off < VIRTIO_PCI_DEVCFG_OFF + vd->config_size) {
		u64 o = off - VIRTIO_PCI_DEVCFG_OFF;

		pthread_mutex_lock(&vd->lock);
		memcpy(data, vd->config + o, MIN((u64)len, vd->config_size - o));
		pthread_mutex_unlock(&vd->lock);
	}
}

void virtio_pci_bar_write(struct virtio_dev *vd, u64 off, const void *data, u32 len)
{
	if (off >= VIRTIO_PCI_NOTIFY_OFF &&
	    off < VIRTIO_PCI_NOTIFY_OFF + (u64)VIRTIO_PCI_NOTIFY_MULT * vd->num_queues) {
		u16 q = (u16)((off - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT);
		u64 one = 1;

		/* No ioeventfd: wake the worker ourselves; no lock on the vCPU path. */
		if (write(vd->q[q].kick.fd, &one, sizeof(one)) < 0)
			log_debug("virtio %s: notify queue %u: eventfd write failed", vd->name, q);
		return;
	}
	if (off < VIRTIO_PCI_COMMON_LEN) {
		if (off + len > VIRTIO_PCI_COMMON_LEN)
			return;
		pthread_mutex_lock(&vd->lock);
		common_write(vd, off, data, len);
		pthread_mutex_unlock(&vd->lock);
	} else if (off >= VIRTIO_PCI_DEVCFG_OFF && off < VIRTIO_PCI_DEVCFG_OFF + vd->config_size) {
		u64 o = off - VIRTIO_PCI_DEVCFG_OFF;

		if (o + len > vd->config_size || !vd->ops->config_write)
			return;
		pthread_mutex_lock(&vd->lock);
		vd->ops->config_write(vd->dev, (u32)o, data, len);
		pthread_mutex_unlock(&vd->lock);
	}
}

static void pci_bar_read(void *opaque, unsigned bar, u64 off, void *data, u32 len)
{
	virtio_pci_bar_read(opaque, off, data, len);
}

static void pci_bar_write(void *opaque, unsigned bar, u64 off, const void *data, u32 len)
{
	virtio_pci_bar_write(opaque, off, data, len);
}

/* BAR 0 moved: the notify addresses' ioeventfds follow it. */
static void pci_bar_moved(void *opaque, unsigned bar, u64 addr, bool mapped)
{
	struct virtio_dev *vd = opaque;

	if (!vd->env.ioeventfd)
		return;
	for (u16 i = 0; i < vd->num_queues; i++) {
		struct virtio_queue_state *q = &vd->q[i];

		if (q->ioeventfd_on) {
			vd->env.ioeventfd(vd->env.ioeventfd_ctx, q->kick.fd, q->ioeventfd_addr, 2,
					  true);
			q->ioeventfd_on = false;
		}
		if (!mapped)
			continue;
		q->ioeventfd_addr = addr + VIRTIO_PCI_NOTIFY_OFF + (u64)VIRTIO_PCI_NOTIFY_MULT * i;
		/* Failure is fine: the notify write then exits to us. */
		q->ioeventfd_on = vd->env.ioeventfd(vd->env.ioeventfd_ctx, q->kick.fd,
						    q->ioeventfd_addr, 2, false) == 0;
	}
}

/*
 * VIRTIO_PCI_CAP_PCI_CFG (§4.1.4.9): a window into BAR 0 through config
 * space, for drivers that cannot map the BAR. The driver sets bar, offset
 * and length in the capability, then reads or writes pci_cfg_data.
 * Called with the PCI bus lock held; takes only vd->lock below it.
 */
static bool pcicfg_window(struct virtio_dev *vd, u32 *off, u32 *len)
{
	u8 *c = &vd->pci.cfg[vd->pcicfg_cap];

	*off = get_le32(c + 8);
	*len = get_le32(c + 12);
	return c[4] == VIRTIO_PCI_BAR && (*len == 1 || *len == 2 || *len == 4) &&
	       *off < VIRTIO_PCI_BAR_SIZE && !(*off & (*len - 1));
}

static bool touches_data(struct virtio_dev *vd, u32 off, u32 len)
{
	u32 data = vd->pcicfg_cap + 16u;

	return vd->pcicfg_cap && off < data + 4 && off + len > data;
}

static void pcicfg_written(void *opaque, u32 off, u32 len)
{
	struct virtio_dev *vd = opaque;
	u32 boff, blen;

	if (!touches_data(vd, off, len) || !pcicfg_window(vd, &boff, &blen))
		return;
	/* The MSI-X table is not reachable this way; it is served by pci.c. */
	virtio_pci_bar_write(vd, boff, &vd->pci.cfg[vd->pcicfg_cap + 16], blen);
}

static void pcicfg_read(void *opaque, u32 off, u32 len)
{
	struct virtio_dev *vd = opaque;
	u32 boff, blen;
	u8 v[4] = {0};

	if (!touches_data(vd, off, len) || !pcicfg_window(vd, &boff, &blen))
		return;
	virtio_pci_bar_read(vd, boff, v, blen);
	memcpy(&vd->pci.cfg[vd->pcicfg_cap + 16], v, 4);
}

static const struct pci_dev_ops virtio_pci_dev_ops = {
	.bar_read = pci_bar_read,
	.bar_write = pci_bar_write,
	.bar_moved = pci_bar_moved,
	.cfg_written = pcicfg_written,
	.cfg_read = pcicfg_read,
};

/* ---- set-up ------------------------------------------------------------------ */

static int add_virtio_cap(struct pci_dev *d, u8 type, u32 off, u32 len, bool notify,
			  struct err *e)
{
	int c = pci_dev_add_cap(d, PCI_CAP_ID_VNDR, notify || type == 5 ? 20 : 16, e);

	if (c < 0)
		return c;
	d->cfg[c + 2] = notify || type == 5 ? 20 : 16;	/* cap_len */
	d->cfg[c + 3] = type;			/* cfg_type */
	d->cfg[c + 4] = VIRTIO_PCI_BAR;
	d->cfg[c + 5] = 0;			/* id */
	put_le32(&d->cfg[c + 8], off);
	put_le32(&d->cfg[c + 12], len);
	if (notify)
		put_le32(&d->cfg[c + 16], VIRTIO_PCI_NOTIFY_MULT);
	return 0;
}

int virtio_dev_init(struct virtio_dev *vd, const struct virtio_pci_env *env,
		    const struct virtio_dev_params *p, struct err *e)
{
	enum pci_bar_kind kind = PCI_BAR_MEM64;
	int r;

	memset(vd, 0, sizeof(*vd));
	vd->epfd = vd->quit.fd = -1;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vd->q[i].kick.fd = -1;
	if (!p->num_queues || p->num_queues > VIRTIO_MAX_QUEUES || p->config_size > VIRTIO_CONFIG_MAX ||
	    !p->queue_size || p->queue_size > VIRTQ_MAX_SIZE || (p->queue_size & (p->queue_size - 1)))
		return errf(e, -EINVAL, "virtio %s: bad device parameters", p->name);
	vd->name = p->name;
	vd->env = *env;
	vd->ops = p->ops;
	vd->dev = p->dev;
	vd->device_id = p->device_id;
	vd->num_queues = p->num_queues;
	vd->config_size = p->config_size;
	vd->poll_max_ns = p->poll_max_ns;
	vd->poll_ns = MIN(p->poll_max_ns, POLL_START_NS);
	vd->device_features = p->features | 1ULL << VIRTIO_F_VERSION_1 |
			      1ULL << VIRTIO_RING_F_EVENT_IDX | 1ULL << VIRTIO_RING_F_INDIRECT_DESC;
	if (env->access_platform)
		vd->device_features |= 1ULL << VIRTIO_F_ACCESS_PLATFORM;
	pthread_mutex_init(&vd->lock, NULL);
	vd->msix_config = VIRTIO_MSI_NO_VECTOR;
	for (u16 i = 0; i < p->num_queues; i++)
		vd->q[i].max_size = p->queue_size;
	queues_reset(vd);

	vd->epfd = epoll_create1(EPOLL_CLOEXEC);
	vd->quit.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vd->epfd < 0 || vd->quit.fd < 0)
		return errf_sys(e, -errno, "virtio %s: epoll/eventfd", p->name);
	vd->quit.ctx = vd;
	r = virtio_watch_add(vd, &vd->quit, EPOLLIN);
	for (u16 i = 0; r == 0 && i < p->num_queues; i++) {
		struct virtio_watch *w = &vd->q[i].kick;

		w->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		w->cb = kick_cb;
		w->ctx = vd;
		r = w->fd < 0 ? -errno : virtio_watch_add(vd, w, EPOLLIN | EPOLLET);
	}
	if (r < 0)
		return errf_sys(e, r, "virtio %s: kick eventfds", p->name);

	r = pci_dev_init(env->pci, &vd->pci, VIRTIO_PCI_VENDOR,
			 (u16)(VIRTIO_PCI_DEVICE_BASE + p->device_id), p->class_code,
			 VIRTIO_PCI_VENDOR, (u16)(VIRTIO_PCI_DEVICE_BASE + p->device_id), p->name, e);
	if (r < 0)
		return r;
	/* Rev 1 marks a modern-only device (§4.1.2.1). */
	vd->pci.cfg[PCI_REVISION_ID] = 1;
	if (!env->pci->c.mmio64_size)
		kind = PCI_BAR_MEM32;
	r = pci_dev_add_bar(&vd->pci, VIRTIO_PCI_BAR, kind, VIRTIO_PCI_BAR_SIZE, e);
	if (r == 0)
		r = pci_dev_add_msix(&vd->pci, (u16)(p->num_queues + 1), VIRTIO_PCI_BAR,
				     VIRTIO_PCI_MSIX_TABLE, VIRTIO_PCI_MSIX_PBA, e);
	if (r == 0)
		r = add_virtio_cap(&vd->pci, 1, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN, false, e);
	if (r == 0)
		r = add_virtio_cap(&vd->pci, 2, VIRTIO_PCI_NOTIFY_OFF,
				   VIRTIO_PCI_NOTIFY_MULT * p->num_queues, true, e);
	if (r == 0)
		r = add_virtio_cap(&vd->pci, 3, VIRTIO_PCI_ISR_OFF, 1, false, e);
	if (r == 0 && p->config_size)
		r = add_virtio_cap(&vd->pci, 4, VIRTIO_PCI_DEVCFG_OFF, p->config_size, false, e);
	if (r == 0) {
		r = add_virtio_cap(&vd->pci, 5, 0, 0, false, e);
		if (r == 0) {
			/* The capability that add_virtio_cap just placed is the last one. */
			vd->pcicfg_cap = (u8)(vd->pci.last_cap_next - vd->pci.cfg - 1);
			pci_dev_set_wmask(&vd->pci, vd->pcicfg_cap + 4, 1, 0xff);
			pci_dev_set_wmask(&vd->pci, vd->pcicfg_cap + 8, 4, 0xffffffff);
			pci_dev_set_wmask(&vd->pci, vd->pcicfg_cap + 12, 4, 0xffffffff);
			pci_dev_set_wmask(&vd->pci, vd->pcicfg_cap + 16, 4, 0xffffffff);
		}
	}
	if (r == 0)
		r = pci_dev_realize(&vd->pci, &virtio_pci_dev_ops, vd, e);
	return r;
}

int virtio_dev_start(struct virtio_dev *vd, struct err *e)
{
	int r = pthread_create(&vd->worker, NULL, worker_main, vd);

	if (r)
		return errf_sys(e, -r, "virtio %s: worker thread", vd->name);
	vd->worker_started = true;
	return 0;
}

void virtio_dev_destroy(struct virtio_dev *vd)
{
	u64 one = 1;

	if (vd->worker_started) {
		__atomic_store_n(&vd->stopping, true, __ATOMIC_RELAXED);
		if (write(vd->quit.fd, &one, sizeof(one)) < 0)
			log_debug("virtio %s: quit eventfd write failed", vd->name);
		pthread_join(vd->worker, NULL);
		vd->worker_started = false;
	}
	if (vd->ops) {
		pthread_mutex_lock(&vd->lock);
		device_reset(vd);
		release_retired(vd);
		pthread_mutex_unlock(&vd->lock);
	}
	pci_bar_moved(vd, VIRTIO_PCI_BAR, 0, false);
	pci_dev_unrealize(&vd->pci);
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		if (vd->q[i].kick.fd >= 0)
			close(vd->q[i].kick.fd);
	if (vd->quit.fd >= 0)
		close(vd->quit.fd);
	if (vd->epfd >= 0)
		close(vd->epfd);
	vd->epfd = vd->quit.fd = -1;
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
		vd->q[i].kick.fd = -1;
}

void virtio_device_destroy(struct virtio_dev *vd)
{
	if (vd)
		vd->ops->destroy(vd->dev);
}

void virtio_dev_collect(void *ctx, counter_emit_fn emit, void *arg)
{
	struct virtio_dev *vd = ctx;
	u64 requests = 0, from_guest = 0, to_guest = 0;

	for (u16 i = 0; i < vd->num_queues; i++) {
		const struct virtq_stats *st = &vd->q[i].vq.stats;

		requests += __atomic_load_n(&st->chains, __ATOMIC_RELAXED);
		from_guest += __atomic_load_n(&st->bytes_from_guest, __ATOMIC_RELAXED);
		to_guest += __atomic_load_n(&st->bytes_to_guest, __ATOMIC_RELAXED);
	}
	emit(arg, "requests", requests);
	emit(arg, "bytes_from_guest", from_guest);
	emit(arg, "bytes_to_guest", to_guest);
	emit(arg, "kicks", __atomic_load_n(&vd->kicks, __ATOMIC_RELAXED));
	emit(arg, "interrupts", __atomic_load_n(&vd->interrupts, __ATOMIC_RELAXED));
	emit(arg, "resets", __atomic_load_n(&vd->resets, __ATOMIC_RELAXED));
	emit(arg, "msi_sent", __atomic_load_n(&vd->pci.msi_sent, __ATOMIC_RELAXED));
	emit(arg, "msi_dropped", __atomic_load_n(&vd->pci.msi_dropped, __ATOMIC_RELAXED));
	emit(arg, "needs_reset", __atomic_load_n(&vd->broken, __ATOMIC_RELAXED));
	if (vd->poll_max_ns)
		emit(arg, "poll_hits", __atomic_load_n(&vd->poll_hits, __ATOMIC_RELAXED));
	if (vd->ops->counters)
		vd->ops->counters(vd->dev, emit, arg);
}
