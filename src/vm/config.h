/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_CONFIG_H
#define MERAK_VM_CONFIG_H

/*
 * What the user asked for, typed and validated by src/cli (the command line)
 * or src/control/vmconfig.c (Cloud Hypervisor's VmConfig over the API). The
 * rules both share (ranges, the checks across fields, device ids) are in
 * src/vm/config.c.
 */
#include "util/err.h"
#include "util/types.h"

#define MAX_DISKS 8
#define MAX_NETS  4
#define MAX_VCPUS 64

#define VM_MEM_MIN	(8ULL << 20)	/* guest RAM: a multiple of 1 MiB from 8 MiB to 1 TiB */
#define VM_MEM_MAX	(1ULL << 40)
#define VSOCK_CID_MIN	3		/* 0-2 are reserved (hypervisor, local, host) */
#define VSOCK_CID_MAX	0xfffffffeULL	/* 2^32-1 is "any" */
#define DISK_SERIAL_MAX 20		/* virtio-blk ID: 20 bytes */
#define DISK_MAX_QUEUES 8		/* virtio-blk request queues (the transport's limit) */
#define DISK_QUEUE_SIZE 256		/* virtio-blk queue size offered by default */
#define DISK_QUEUE_SIZE_MAX 1024	/* the largest the virtqueue walker takes */
#define VM_ID_MAX	64		/* a device id, Cloud Hypervisor's "id": up to 63 bytes */
#define NET_MAX_FDS	1		/* tap fds of one net device: one queue pair, one fd */

enum chardev_mode {
	CHARDEV_OFF,	/* no device at all */
	CHARDEV_NULL,	/* device present, output discarded */
	CHARDEV_TTY,	/* stdin/stdout, terminal in raw mode when it is one */
	CHARDEV_FILE,	/* output appended to a file */
	CHARDEV_PTY,	/* a pseudo-terminal of its own: its path is logged and in vm.info */
	CHARDEV_SOCKET,	/* a unix socket it listens on: one client at a time has the console */
};

struct chardev_config {
	enum chardev_mode mode;
	char *path;		/* mode File: the output file */
	char *socket;		/* mode Socket: the unix socket's path */
	char id[VM_ID_MAX];	/* virtio-console only: its device id ("__console") */
};

/*
 * Device ids follow Cloud Hypervisor: given by the user, or made up as
 * "_disk0", "_net1", "_vsock2"... from one counter (vm_config.next_dev_id),
 * unique across every device. "" until vm_config_finalize or
 * vmconfig_add_* assigns one.
 */
struct disk_config {
	char *path;
	bool readonly;
	char serial[DISK_SERIAL_MAX + 1];
	char id[VM_ID_MAX];
	u16 num_queues;		/* request queues (virtio-blk MQ); 0: one */
	u16 queue_size;		/* largest queue offered; 0: DISK_QUEUE_SIZE */
	bool direct;		/* O_DIRECT: the host's page cache is bypassed */
	u8 backend;		/* enum disk_backend */
	bool no_poll;		/* poll_queue=off: the worker never polls the queues */
};

/*
 * How virtio-blk does I/O: AUTO picks io_uring for direct=on images and
 * preadv/pwritev otherwise (what measured faster); Cloud Hypervisor's
 * _disable_io_uring=on is PREADV, =off IO_URING.
 */
enum disk_backend { DISK_BACKEND_AUTO, DISK_BACKEND_PREADV, DISK_BACKEND_IO_URING };

struct net_config {
	char tap[16];		/* "" with fds: the tap is the fd */
	u8 mac[6];
	bool has_mac;
	char id[VM_ID_MAX];
	/*
	 * Open tap fds passed with the request (SCM_RIGHTS), filled by the API
	 * layer: fds[0..n_fds) are the config's own, closed by vm_config_free
	 * and vmconfig_remove. virtio-net is to use fds[0] instead of opening
	 * tap; not wired yet (virtio_net_create opens tap by name).
	 */
	int fds[NET_MAX_FDS];
	unsigned n_fds;
};

struct vsock_config {
	bool enabled;
	u32 cid;
	char *socket;
	char id[VM_ID_MAX];
};

enum irqchip_mode { IRQCHIP_KERNEL, IRQCHIP_SPLIT };

struct tdx_config {
	bool enabled;
	bool debug;
	bool sept_ve_disable;
	bool has_mrconfigid, has_mrowner, has_mrownerconfig;
	u8 mrconfigid[48];
	u8 mrowner[48];
	u8 mrownerconfig[48];
	char *quote_socket;	/* "unix:PATH" or "vsock:CID:PORT", NULL for none */
	u64 tsc_khz;		/* 0: host TSC */
};

struct vm_config {
	char *kernel;
	char *initramfs;
	char *cmdline;
	char *firmware;
	u32 cpus;
	u32 max_cpus;		/* cpus.max_vcpus (up to 8192 over the API), recorded: no CPU
				 * hotplug, so cpus vCPUs run */
	u64 mem_size;
	bool mem_shared;	/* memory.shared as asked; guest RAM is a private mapping today */
	struct chardev_config serial;
	struct chardev_config console;	/* virtio-console */
	struct disk_config disks[MAX_DISKS];
	unsigned n_disks;
	struct net_config nets[MAX_NETS];
	unsigned n_nets;
	bool rng;
	char *rng_src;		/* rng.src: NULL is /dev/urandom; both feed from getrandom(2) */
	char rng_id[VM_ID_MAX];
	struct vsock_config vsock;
	enum irqchip_mode irqchip;
	bool irqchip_set;	/* given explicitly (--platform irqchip=, platform.irqchip) */
	struct tdx_config tdx;
	char *api_socket;	/* path=PATH */
	char *event_monitor;	/* --event-monitor path=PATH|fd=N */
	char *log_file;		/* --log-file: log lines go here */
	int api_fd;		/* fd=N: an inherited listening socket; -1 without */
	int seccomp;		/* 0 off, 1 on, 2 log */
	unsigned next_dev_id;	/* the counter behind generated device ids */
};

/* Who gave the configuration: its messages name fields as that one spells them. */
enum config_origin { CONFIG_CLI, CONFIG_API };

/*
 * The rules across fields (something to boot, initramfs needs a kernel, one
 * terminal, a TD's firmware and irqchip...): -EINVAL with the first one
 * broken, named as the command line (--initramfs) or the API
 * (payload.initramfs) spells it.
 */
int vm_config_check(const struct vm_config *cfg, enum config_origin o, struct err *e);
/* After vm_config_check: a TD's split irqchip, max_cpus, and ids for devices without one. */
void vm_config_finalize(struct vm_config *cfg);
/* Frees the strings and closes the net fds cfg owns; cfg is zeroed. */
void vm_config_free(struct vm_config *cfg);
/*
 * rng.src / --rng src=PATH: /dev/urandom (the default, kept as NULL) or
 * /dev/random, both what getrandom(2) gives merak's virtio-rng; anything else
 * is -EINVAL naming what (the field or option).
 */
int vm_config_set_rng_src(struct vm_config *cfg, const char *what, const char *src, struct err *e);

/* Single values, as both front ends check them. */
bool vm_cpus_valid(u64 n);		/* 1..MAX_VCPUS */
bool vm_mem_size_valid(u64 size);	/* VM_MEM_MIN..VM_MEM_MAX, a multiple of 1 MiB */
bool vm_vsock_cid_valid(u64 cid);	/* VSOCK_CID_MIN..VSOCK_CID_MAX */
/* "52:54:00:12:34:56", unicast: 0 or -EINVAL. */
int vm_parse_mac(const char *v, u8 mac[6]);
/* "kernel" or "split": 0 or -EINVAL. */
int vm_parse_irqchip(const char *v, enum irqchip_mode *out);
/* 96 hex digits into 48 bytes; what names the field in the message ("--platform: mrowner"). */
int vm_parse_hex48(const char *what, const char *v, u8 out[48], struct err *e);
/* unix:PATH or vsock:CID:PORT; what names the field in the message. */
int vm_check_quote_socket(const char *what, const char *v, struct err *e);

/*
 * Device ids: whether id is taken (owner, if given, gets what has it, e.g.
 * "disks[1]"), and the next free generated one for prefix ("_disk").
 */
bool vm_config_id_used(const struct vm_config *cfg, const char *id, char *owner, size_t n);
void vm_config_new_id(struct vm_config *cfg, const char *prefix, char out[VM_ID_MAX]);

#endif
