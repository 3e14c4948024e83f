/* SPDX-License-Identifier: MIT */
#ifndef MERAK_BOOT_X86_BOOT_ABI_H
#define MERAK_BOOT_X86_BOOT_ABI_H

/*
 * Guest ABI structures of the two direct-boot protocols: Linux's boot_params
 * ("zero page", Documentation/arch/x86/boot.rst) and the PVH hvm_start_info.
 * Userspace headers do not ship them; offsets are pinned by the asserts
 * below. Little-endian x86 layouts, packed as the kernel declares them.
 */
#include <stddef.h>

#include "util/types.h"

/* ---- Linux boot protocol --------------------------------------------------- */

#define BZ_SETUP_HEADER_OFF    0x1f1
#define BZ_BOOT_FLAG_OFF       0x1fe
#define BZ_JUMP_OFF	       0x200
#define BZ_HEADER_OFF	       0x202
#define BZ_BOOT_FLAG	       0xAA55
#define BZ_HEADER_MAGIC	       0x53726448u /* "HdrS" */
#define BZ_DEFAULT_SETUP_SECTS 4
#define BZ_SECTOR_SIZE	       512
#define BZ_ENTRY64_OFF	       0x200 /* 64-bit entry, relative to the load address */

/* loadflags */
#define BZ_LOADED_HIGH	0x01
#define BZ_CAN_USE_HEAP 0x80
/* xloadflags */
#define BZ_XLF_KERNEL_64 0x0001

#define BZ_LOADER_UNDEFINED 0xff /* type_of_loader: no assigned id */
#define BZ_VID_MODE_NORMAL  0xffff
#define BZ_E820_MAX	    128

struct bz_setup_header {
	u8 setup_sects;
	u16 root_flags;
	u32 syssize;
	u16 ram_size;
	u16 vid_mode;
	u16 root_dev;
	u16 boot_flag;
	u16 jump;
	u32 header;
	u16 version;
	u32 realmode_swtch;
	u16 start_sys_seg;
	u16 kernel_version;
	u8 type_of_loader;
	u8 loadflags;
	u16 setup_move_size;
	u32 code32_start;
	u32 ramdisk_image;
	u32 ramdisk_size;
	u32 bootsect_kludge;
	u16 heap_end_ptr;
	u8 ext_loader_ver;
	u8 ext_loader_type;
	u32 cmd_line_ptr;
	u32 initrd_addr_max;
	u32 kernel_alignment;
	u8 relocatable_kernel;
	u8 min_alignment;
	u16 xloadflags;
	u32 cmdline_size;
	u32 hardware_subarch;
	u64 hardware_subarch_data;
	u32 payload_offset;
	u32 payload_length;
	u64 setup_data;
	u64 pref_address;
	u32 init_size;
	u32 handover_offset;
	u32 kernel_info_offset;
} __attribute__((packed));

struct bz_e820_entry {
	u64 addr;
	u64 size;
	u32 type;
} __attribute__((packed));

/* Only the fields merak writes are named; the rest is opaque padding. */
struct bz_boot_params {
	u8 _screen_apm_etc[0x070];
	u64 acpi_rsdp_addr; /* 0x070 */
	u8 _pad1[0x1e8 - 0x078];
	u8 e820_entries; /* 0x1e8 */
	u8 _pad2[BZ_SETUP_HEADER_OFF - 0x1e9];
	struct bz_setup_header hdr; /* 0x1f1 */
	u8 _pad3[0x2d0 - BZ_SETUP_HEADER_OFF - sizeof(struct bz_setup_header)];
	struct bz_e820_entry e820_table[BZ_E820_MAX]; /* 0x2d0 */
	u8 _pad4[0x1000 - 0xcd0];
} __attribute__((packed));

#define BZ_HDR_OFF(f) (BZ_SETUP_HEADER_OFF + offsetof(struct bz_setup_header, f))

_Static_assert(sizeof(struct bz_setup_header) == 0x7b, "setup_header size");
_Static_assert(sizeof(struct bz_e820_entry) == 20, "boot_e820_entry size");
_Static_assert(sizeof(struct bz_boot_params) == 4096, "boot_params size");
_Static_assert(offsetof(struct bz_boot_params, acpi_rsdp_addr) == 0x070, "acpi_rsdp_addr");
_Static_assert(offsetof(struct bz_boot_params, e820_entries) == 0x1e8, "e820_entries");
_Static_assert(offsetof(struct bz_boot_params, hdr) == 0x1f1, "hdr");
_Static_assert(offsetof(struct bz_boot_params, e820_table) == 0x2d0, "e820_table");
_Static_assert(BZ_HDR_OFF(boot_flag) == 0x1fe, "boot_flag");
_Static_assert(BZ_HDR_OFF(header) == 0x202, "header");
_Static_assert(BZ_HDR_OFF(version) == 0x206, "version");
_Static_assert(BZ_HDR_OFF(type_of_loader) == 0x210, "type_of_loader");
_Static_assert(BZ_HDR_OFF(loadflags) == 0x211, "loadflags");
_Static_assert(BZ_HDR_OFF(code32_start) == 0x214, "code32_start");
_Static_assert(BZ_HDR_OFF(ramdisk_image) == 0x218, "ramdisk_image");
_Static_assert(BZ_HDR_OFF(heap_end_ptr) == 0x224, "heap_end_ptr");
_Static_assert(BZ_HDR_OFF(cmd_line_ptr) == 0x228, "cmd_line_ptr");
_Static_assert(BZ_HDR_OFF(initrd_addr_max) == 0x22c, "initrd_addr_max");
_Static_assert(BZ_HDR_OFF(kernel_alignment) == 0x230, "kernel_alignment");
_Static_assert(BZ_HDR_OFF(relocatable_kernel) == 0x234, "relocatable_kernel");
_Static_assert(BZ_HDR_OFF(xloadflags) == 0x236, "xloadflags");
_Static_assert(BZ_HDR_OFF(cmdline_size) == 0x238, "cmdline_size");
_Static_assert(BZ_HDR_OFF(setup_data) == 0x250, "setup_data");
_Static_assert(BZ_HDR_OFF(pref_address) == 0x258, "pref_address");
_Static_assert(BZ_HDR_OFF(init_size) == 0x260, "init_size");
_Static_assert(BZ_HDR_OFF(kernel_info_offset) == 0x268, "kernel_info_offset");

/* ---- PVH ------------------------------------------------------------------- */

#define PVH_START_MAGIC		 0x336ec578u
#define PVH_START_VERSION	 1
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct hvm_start_info {
	u32 magic;
	u32 version;
	u32 flags;
	u32 nr_modules;
	u64 modlist_paddr;
	u64 cmdline_paddr;
	u64 rsdp_paddr;
	u64 memmap_paddr; /* version 1 */
	u32 memmap_entries;
	u32 reserved;
};

struct hvm_modlist_entry {
	u64 paddr;
	u64 size;
	u64 cmdline_paddr;
	u64 reserved;
};

struct hvm_memmap_table_entry {
	u64 addr;
	u64 size;
	u32 type; /* E820 type values */
	u32 reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info v1 size");
_Static_assert(offsetof(struct hvm_start_info, modlist_paddr) == 16, "modlist_paddr");
_Static_assert(offsetof(struct hvm_start_info, cmdline_paddr) == 24, "cmdline_paddr");
_Static_assert(offsetof(struct hvm_start_info, rsdp_paddr) == 32, "rsdp_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40, "memmap_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_entries) == 48, "memmap_entries");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry size");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry size");

#endif
