/* SPDX-License-Identifier: MIT */
#ifndef MERAK_BOOT_BOOT_H
#define MERAK_BOOT_BOOT_H

/*
 * Boot payload loaders. Pure: they validate an image held in memory, copy it
 * into guest memory and describe how the boot vCPU must start. Every check
 * against untrusted image contents names the image and what is wrong.
 */
#include "arch/x86/e820.h"
#include "util/err.h"
#include "util/types.h"
#include "vm/mem.h"

enum boot_mode {
	BOOT_MODE_LINUX64, /* Linux 64-bit boot protocol: long mode, RSI = boot_params */
	BOOT_MODE_PVH,	   /* PVH: 32-bit protected mode, paging off, EBX = hvm_start_info */
	BOOT_MODE_RESET,   /* firmware: the reset vector at 0xFFFFFFF0 */
};

struct boot_payload {
	const u8 *kernel;	/* NULL: read through kernel_read */
	size_t kernel_len;
	/*
	 * Instead of kernel: reads len bytes at offset off of the image into
	 * dst, so the loader takes headers into small buffers and copies the
	 * segments from the file straight into guest RAM, and merak holds no
	 * second copy of the image. The loader keeps off + len <= kernel_len.
	 */
	int (*kernel_read)(void *ctx, u64 off, void *dst, size_t len, struct err *e);
	void *kernel_ctx;
	const u8 *initrd;	/* may be NULL */
	size_t initrd_len;
	/*
	 * Instead of initrd: writes the initrd_len bytes into guest memory at
	 * the address the loader chose, so that merak reads the file straight
	 * into guest RAM rather than holding a second copy of it.
	 */
	int (*initrd_fill)(void *ctx, struct guest_mem *gm, u64 gpa, size_t len, struct err *e);
	void *initrd_ctx;
	const char *cmdline;	/* may be NULL */
	const struct e820_entry *e820;
	unsigned n_e820;
	u64 rsdp_gpa;		/* 0 if no ACPI tables */
};

struct boot_entry {
	enum boot_mode mode;
	u64 entry;		/* guest-physical entry point */
	u64 boot_info;		/* boot_params (LINUX64) or hvm_start_info (PVH) */
};

enum kernel_format { KERNEL_UNKNOWN, KERNEL_BZIMAGE, KERNEL_ELF };
/* From the image's first bytes (0x206 suffice); len is how many img holds. */
enum kernel_format boot_detect_kernel(const u8 *img, size_t len);

/* bzImage (boot protocol >= 2.06, 64-bit entry) -> boot_params at LAYOUT_ZERO_PAGE. */
int boot_load_bzimage(struct guest_mem *gm, const struct boot_payload *p, struct boot_entry *out,
		      struct err *e);
/* ELF64 vmlinux with a XEN_ELFNOTE_PHYS32_ENTRY (18) note -> hvm_start_info v1. */
int boot_load_pvh(struct guest_mem *gm, const struct boot_payload *p, struct boot_entry *out,
		  struct err *e);
/* Detects the format and calls one of the above. */
int boot_load_kernel(struct guest_mem *gm, const struct boot_payload *p, struct boot_entry *out,
		     struct err *e);
/* A raw firmware image's size: a non-zero multiple of 4 KiB, at most 16 MiB. */
int boot_check_firmware(size_t len, struct err *e);

#endif
