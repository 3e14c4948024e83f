/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VIRTIO_VIRTIO_PCI_H
#define MERAK_VIRTIO_VIRTIO_PCI_H

/*
 * virtio 1.2 modern PCI transport (§4.1), independent of device types: one
 * PCI function with a 64-bit BAR 0 holding the common, ISR, device-config and
 * notify structures and the MSI-X table/PBA. Each device runs on its own
 * worker thread (an epoll loop over queue kick eventfds and the device's own
 * fds); every device callback runs with the transport lock held, so devices
 * need no locking of their own against resets and register accesses.
 */
#include <linux/virtio_config.h>	/* status bits, transport feature bits */
#include <linux/virtio_pci.h>	/* ISR bits, VIRTIO_MSI_NO_VECTOR */
#include <linux/virtio_ring.h>	/* ring feature bits */
#include <pthread.h>

#include "devices/pci.h"
#include "util/err.h"
#include "util/types.h"
#include "vm/config.h"
#include "vm/mem.h"
#include "virtio/virtqueue.h"

/* Layout of BAR 0 (documented in docs/devices.md). */
#define VIRTIO_PCI_BAR		0
#define VIRTIO_PCI_BAR_SIZE	0x8000
#define VIRTIO_PCI_COMMON_OFF	0x0000
#define VIRTIO_PCI_COMMON_LEN	0x3c
#define VIRTIO_PCI_ISR_OFF	0x1000
#define VIRTIO_PCI_DEVCFG_OFF	0x2000
#define VIRTIO_PCI_NOTIFY_OFF	0x3000
#define VIRTIO_PCI_NOTIFY_MULT	4
#define VIRTIO_PCI_MSIX_TABLE	0x4000
#define VIRTIO_PCI_MSIX_PBA	0x5000
#define VIRTIO_MAX_QUEUES	8
#define VIRTIO_CONFIG_MAX	256

/* The ISR's queue bit (<linux/virtio_pci.h> names only the config bit). */
#define VIRTIO_PCI_ISR_QUEUE	0x1
#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040	/* + virtio device ID */

struct virtio_dev;

/* An fd the worker watches; cb runs on the worker with the transport lock held. */
struct virtio_watch {
	int fd;
	void (*cb)(struct virtio_watch *w, u32 events);	/* NULL once retired */
	void *ctx;
	/* virtio_watch_retire: freed after the epoll round that may still name it. */
	void (*release)(struct virtio_watch *w);
	struct virtio_watch *retired_next;
};

struct virtio_dev_ops {
	/* The driver set DRIVER_OK: queues are started; begin processing. */
	int (*activate)(void *dev, struct err *e);
	/* The driver reset the device (or merak is tearing it down): drop state. */
	void (*reset)(void *dev);
	/* Queue q was kicked (or must be re-polled). Worker thread. */
	void (*queue_kick)(void *dev, u16 q);
	/* A driver write into device config (optional; config is read-only otherwise). */
	void (*config_write)(void *dev, u32 off, const void *data, u32 len);
	/* Frees the whole device, its transport included (virtio_device_destroy). */
	void (*destroy)(void *dev);
	/* The device's own counters for vm.counters (optional), after the transport's. */
	void (*counters)(void *dev, counter_emit_fn emit, void *arg);
	/*
	 * Optional, with queue polling: look for the device's own work without
	 * a system call (a disk's io_uring completions). Worker, lock held.
	 */
	void (*poll)(void *dev);
};

struct virtio_pci_env {
	struct pci_bus *pci;
	const struct guest_mem *mem;
	/* Optional: assigns an eventfd to a notify address (KVM ioeventfd). */
	int (*ioeventfd)(void *ctx, int fd, u64 addr, u32 len, bool deassign);
	void *ioeventfd_ctx;
	bool access_platform;	/* offer VIRTIO_F_ACCESS_PLATFORM (TD guests) */
	int sandbox_mode;	/* seccomp mode the worker applies to itself */
	/* The terminal's escape (Ctrl-A x) for a console on it: the board stops the VM. */
	void (*console_quit)(void *ctx);
	void *console_quit_ctx;
};

/*
 * A kind of virtio device the board can add: one row of board_pci.c's table,
 * defined in the device's own file. count: how many the configuration asks
 * for; create: the index-th of them as a transport device (not started).
 * The same row serves devices added after boot.
 */
struct virtio_device_type {
	const char *name;	/* the option that asks for it ("disk", "rng") */
	unsigned (*count)(const struct vm_config *cfg);
	int (*create)(const struct virtio_pci_env *env, const struct vm_config *cfg, unsigned index,
		      struct virtio_dev **out, struct err *e);
	/* The device id (Cloud Hypervisor's "id") the configuration gives it. */
	const char *(*id)(const struct vm_config *cfg, unsigned index);
};

struct virtio_queue_state {
	struct virtq vq;
	u16 max_size;
	u16 msix_vector;
	bool enabled;
	struct virtio_watch kick;	/* eventfd the notify write (or ioeventfd) signals */
	u64 ioeventfd_addr;
	bool ioeventfd_on;
};

struct virtio_dev {
	const char *name;
	char id[VM_ID_MAX];	/* the configuration's device id: vm.counters' key */
	struct virtio_pci_env env;
	const struct virtio_dev_ops *ops;
	void *dev;
	u16 device_id;
	u16 num_queues;
	struct pci_dev pci;

	pthread_mutex_t lock;
	u64 device_features;	/* device-specific bits + transport bits offered */
	u64 driver_features;
	u32 dfselect, gfselect;
	u8 status;
	u8 config_generation;
	u16 msix_config;
	u16 queue_select;
	u32 isr;		/* atomic: bit 0 queue, bit 1 config */
	bool broken;		/* NEEDS_RESET set: queues are not processed */
	char broken_msg[256];
	struct virtio_queue_state q[VIRTIO_MAX_QUEUES];
	u8 config[VIRTIO_CONFIG_MAX];
	u32 config_size;

	u8 pcicfg_cap;		/* config offset of the PCI configuration access capability */

	int epfd;
	struct virtio_watch quit;
	pthread_t worker;
	bool worker_started;
	u64 kicks, interrupts, resets;	/* counters */

	/*
	 * Queue polling (worker only): after a round that did work, the worker
	 * watches the avail rings for up to poll_ns with kicks suppressed
	 * before it sleeps again; poll_ns adapts within [0, poll_max_ns].
	 */
	u32 poll_max_ns;	/* 0: never poll */
	u32 poll_ns;
	u64 poll_hits;		/* polls that found work: kicks the guest did not send */
	bool stopping;		/* atomic: virtio_dev_destroy asked the worker to quit */
	struct virtio_watch *retired;	/* under lock: watches to release after the round */
};

struct virtio_dev_params {
	const char *name;
	u16 device_id;		/* virtio device ID: 1 net, 2 blk, 3 console, 4 rng, 19 vsock */
	u32 class_code;		/* PCI class (0xCCSSPP) */
	u16 num_queues;
	u16 queue_size;		/* maximum per queue */
	u64 features;		/* device-specific feature bits implemented */
	u32 config_size;
	u32 poll_max_ns;	/* queue polling window cap (0: none), see struct virtio_dev */
	const struct virtio_dev_ops *ops;
	void *dev;
};

/* Creates the PCI function and the worker's epoll set; the worker is not running yet. */
int virtio_dev_init(struct virtio_dev *vd, const struct virtio_pci_env *env,
		    const struct virtio_dev_params *p, struct err *e);
/* Starts the worker thread. */
int virtio_dev_start(struct virtio_dev *vd, struct err *e);
/* Stops the worker, resets the device, removes the PCI function, closes fds. */
void virtio_dev_destroy(struct virtio_dev *vd);
/* Frees a device of any type through its ops (NULL is fine). */
void virtio_device_destroy(struct virtio_dev *vd);
/* The device's vm.counters group: requests and bytes over all queues, kicks, interrupts. */
void virtio_dev_collect(void *vd, counter_emit_fn emit, void *arg);

/* Worker-side helpers, called with the lock held (i.e. from device callbacks). */
int virtio_watch_add(struct virtio_dev *vd, struct virtio_watch *w, u32 events);
int virtio_watch_mod(struct virtio_dev *vd, struct virtio_watch *w, u32 events);
void virtio_watch_del(struct virtio_dev *vd, struct virtio_watch *w);
/*
 * Stops watching w for good and has release(w) free it once no epoll round
 * can still hold an event for it: an event already fetched in the current
 * round is dropped. For watches that live in memory the device frees.
 */
void virtio_watch_retire(struct virtio_dev *vd, struct virtio_watch *w,
			 void (*release)(struct virtio_watch *w));
static inline bool virtio_has(const struct virtio_dev *vd, unsigned bit)
{
	return vd->driver_features >> bit & 1;
}
static inline bool virtio_active(const struct virtio_dev *vd)
{
	return (vd->status & VIRTIO_CONFIG_S_DRIVER_OK) && !vd->broken;
}
static inline struct virtq *virtio_vq(struct virtio_dev *vd, u16 q)
{
	return &vd->q[q].vq;
}
/* After pushing used buffers on q: interrupts the driver if it wants one. */
void virtio_queue_notify(struct virtio_dev *vd, u16 q);
/* Device config changed: bumps the generation and sends a config interrupt. */
void virtio_config_changed(struct virtio_dev *vd);
/*
 * The driver broke the device's rules (malformed chain...): sets
 * DEVICE_NEEDS_RESET, stops all queue processing until reset, sends a config
 * interrupt. msg says why (logged once).
 */
void virtio_fail(struct virtio_dev *vd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Register access, exported for tests and fuzzers (offset inside BAR 0). */
void virtio_pci_bar_read(struct virtio_dev *vd, u64 off, void *data, u32 len);
void virtio_pci_bar_write(struct virtio_dev *vd, u64 off, const void *data, u32 len);
/* Runs pending worker events once without a thread (tests): returns events handled. */
int virtio_dev_poll(struct virtio_dev *vd, int timeout_ms);

#endif
