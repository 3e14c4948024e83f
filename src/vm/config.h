/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_CONFIG_H
#define MERAK_VM_CONFIG_H

/* What the user asked for, typed and validated by src/cli. */
#include "util/types.h"

#define MAX_DISKS 8
#define MAX_NETS  4
#define MAX_VCPUS 64

enum chardev_mode {
	CHARDEV_OFF,	/* no device at all */
	CHARDEV_NULL,	/* device present, output discarded */
	CHARDEV_TTY,	/* stdin/stdout, terminal in raw mode when it is one */
	CHARDEV_FILE,	/* output appended to a file */
};

struct chardev_config {
	enum chardev_mode mode;
	char *path;
};

struct disk_config {
	char *path;
	bool readonly;
	char serial[21];	/* virtio-blk ID: 20 bytes max */
};

struct net_config {
	char tap[16];
	u8 mac[6];
	bool has_mac;
};

struct vsock_config {
	bool enabled;
	u32 cid;
	char *socket;
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
	u64 mem_size;
	struct chardev_config serial;
	struct chardev_config console;	/* virtio-console */
	struct disk_config disks[MAX_DISKS];
	unsigned n_disks;
	struct net_config nets[MAX_NETS];
	unsigned n_nets;
	bool rng;
	struct vsock_config vsock;
	enum irqchip_mode irqchip;
	bool irqchip_set;	/* given explicitly on the command line */
	struct tdx_config tdx;
	char *api_socket;	/* path=PATH */
	char *log_file;		/* --log-file: log lines go here */
	int api_fd;		/* fd=N: an inherited listening socket; -1 without */
	int seccomp;		/* 0 off, 1 on, 2 log */
};

#endif
