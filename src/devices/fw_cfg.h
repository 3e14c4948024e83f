/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_FW_CFG_H
#define MERAK_DEVICES_FW_CFG_H

/*
 * QEMU's firmware configuration device (fw_cfg), the x86 port flavour, as
 * OVMF/TDVF expect it (docs/devices-fwcfg.md):
 *   0x510  selector, 16-bit write: selects an item, rewinds its offset
 *   0x511  data, 8-bit read: the next byte of the item (zeros past the end)
 *   0x514  DMA address, big-endian 64-bit, written as two 32-bit halves (the
 *          low half at 0x518 starts the transfer) or at once; reads give
 *          "QEMU CFG"
 * Items are keyed blobs (the legacy keys below) and named files, listed in
 * the FILE_DIR item sorted by name, with keys FW_CFG_FILE_FIRST + their rank.
 *
 * All items are added before the guest runs; the device then only reads
 * them. Data given to fw_cfg_add_bytes/fw_cfg_add_file is copied; the _take
 * variants take a malloc'd buffer, which fw_cfg frees (also when adding fails).
 */
#include <pthread.h>

#include "util/err.h"
#include "util/types.h"
#include "vm/bus.h"
#include "vm/mem.h"

#define FW_CFG_PORT_SEL	 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_PORT_DMA	 0x514
#define FW_CFG_DMA_LEN	 8

/* Legacy item keys (QEMU include/standard-headers/linux/qemu_fw_cfg.h). */
#define FW_CFG_SIGNATURE    0x00
#define FW_CFG_ID	    0x01
#define FW_CFG_RAM_SIZE	    0x03
#define FW_CFG_NB_CPUS	    0x05
#define FW_CFG_KERNEL_ADDR  0x07
#define FW_CFG_KERNEL_SIZE  0x08
#define FW_CFG_INITRD_ADDR  0x0a
#define FW_CFG_INITRD_SIZE  0x0b
#define FW_CFG_MAX_CPUS	    0x0f
#define FW_CFG_KERNEL_DATA  0x11
#define FW_CFG_INITRD_DATA  0x12
#define FW_CFG_CMDLINE_ADDR 0x13
#define FW_CFG_CMDLINE_SIZE 0x14
#define FW_CFG_CMDLINE_DATA 0x15
#define FW_CFG_SETUP_ADDR   0x16
#define FW_CFG_SETUP_SIZE   0x17
#define FW_CFG_SETUP_DATA   0x18
#define FW_CFG_FILE_DIR	    0x19
#define FW_CFG_FILE_FIRST   0x20
#define FW_CFG_WRITE_CHANNEL 0x4000 /* ignored in a selector, as QEMU does */
#define FW_CFG_ARCH_LOCAL   0x8000
#define FW_CFG_INVALID	    0xffff

/* FW_CFG_ID feature bits. */
#define FW_CFG_VERSION	   0x01
#define FW_CFG_VERSION_DMA 0x02

/* DMA control word bits; the selector rides in bits 31:16 with SELECT. */
#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_READ   0x02
#define FW_CFG_DMA_CTL_SKIP   0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE  0x10
#define FW_CFG_DMA_SIGNATURE  0x51454d5520434647ULL /* "QEMU CFG", big-endian */
#define FW_CFG_DMA_ACCESS_LEN 16 /* be32 control, be32 length, be64 address */

#define FW_CFG_NAME_LEN	  56 /* a file name with its NUL */
#define FW_CFG_DIR_ENTRY  64 /* be32 size, be16 select, be16 reserved, name[56] */
#define FW_CFG_MAX_FILES  256

struct fw_cfg_item {
	u16 key;
	char name[FW_CFG_NAME_LEN]; /* "" for a keyed (non-file) item */
	const u8 *data;
	u32 len;
	void *owned; /* freed with the device */
};

struct fw_cfg {
	const struct guest_mem *gm;
	pthread_mutex_t lock; /* selector state: vCPUs may race on the ports */
	struct fw_cfg_item *items;
	unsigned n, cap;
	unsigned nfiles;
	/* Selector state. */
	int cur;  /* index into items, -1 for none */
	u32 off;
	u8 dma_addr[FW_CFG_DMA_LEN]; /* big-endian, as written */
	u64 dma_transfers, dma_errors;
};

/* Adds the signature, the ID (traditional + DMA) and an empty FILE_DIR. */
int fw_cfg_create(const struct guest_mem *gm, struct fw_cfg **out, struct err *e);
/* Frees the device; its ports stay registered until the bus goes (the VM's teardown). */
void fw_cfg_destroy(struct fw_cfg *f);
/* Registers 0x510-0x511 and the DMA register 0x514-0x51b. */
int fw_cfg_register(struct fw_cfg *f, struct bus *pio, struct err *e);

/* Keyed items: key below FW_CFG_FILE_FIRST or arch-local; -EEXIST if present. */
int fw_cfg_add_bytes(struct fw_cfg *f, u16 key, const void *data, size_t len, struct err *e);
/* Takes buf (malloc'd); the item is buf[off, off+len). */
int fw_cfg_add_bytes_take(struct fw_cfg *f, u16 key, void *buf, size_t off, size_t len,
			  struct err *e);
int fw_cfg_add_u16(struct fw_cfg *f, u16 key, u16 v, struct err *e); /* little-endian */
int fw_cfg_add_u32(struct fw_cfg *f, u16 key, u32 v, struct err *e);
int fw_cfg_add_u64(struct fw_cfg *f, u16 key, u64 v, struct err *e);
/* Named files: 1..55 bytes of name, unique; keys follow the sorted order. */
int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len,
		    struct err *e);
int fw_cfg_add_file_take(struct fw_cfg *f, const char *name, void *buf, size_t len,
			 struct err *e);
/* The item a key selects now (files included), or NULL. */
const struct fw_cfg_item *fw_cfg_find(const struct fw_cfg *f, u16 key);
const struct fw_cfg_item *fw_cfg_find_file(const struct fw_cfg *f, const char *name);

/*
 * Linux for OVMF's QemuKernelLoaderFsDxe: the bzImage split as QEMU splits
 * it, the setup part ((setup_sects or 4) + 1 sectors) in SETUP_*, the rest in
 * KERNEL_*; OVMF's "kernel" file is the two concatenated again, so it equals
 * the file byte for byte (merak does not patch the setup header: OVMF fills
 * in what its own loader needs). initrd and cmdline (with its NUL) optional.
 * kernel is taken (malloc'd, freed by fw_cfg, also on failure); initrd too.
 */
struct fw_cfg_linux {
	u8 *kernel;
	size_t kernel_len;
	u8 *initrd; /* NULL: none */
	size_t initrd_len;
	const char *cmdline; /* NULL: none */
};
int fw_cfg_add_linux(struct fw_cfg *f, struct fw_cfg_linux *l, struct err *e);

/* The device's register handlers (tests drive them through a bus). */
extern const struct bus_ops fw_cfg_ctl_ops, fw_cfg_dma_ops;

#endif
