// SPDX-License-Identifier: MIT
/*
 * boot_load_bzimage on hostile images; a load that succeeds must be sane.
 * Control bit 2 stamps a plausible header so that loads also succeed.
 */
#include "boot/x86_boot_abi.h"
#include "fuzz_boot_common.h"
#include "boot/bzimage.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_boot *fb = fuzz_boot_setup();
	struct boot_payload p;
	struct boot_entry out;
	struct err e;
	u8 flags;
	u8 *k = fuzz_boot_payload(fb, data, size, &p, &flags);

	if (!k)
		return 0;
	err_clear(&e);
	if ((flags & 1) && p.kernel_len >= 0x208) {
		put_le16(k + BZ_BOOT_FLAG_OFF, BZ_BOOT_FLAG);
		put_le32(k + BZ_HEADER_OFF, BZ_HEADER_MAGIC);
	}
	if ((flags & 4) && p.kernel_len > 2 * 512) {
		/* A plausible 2.15 header; init_size stays fuzzed (up to 64 MiB). */
		struct bz_setup_header *h = (struct bz_setup_header *)(k + BZ_SETUP_HEADER_OFF);

		h->setup_sects = 1;
		h->jump = 0x6aeb;
		h->version = 0x20f;
		h->loadflags |= BZ_LOADED_HIGH;
		h->xloadflags |= BZ_XLF_KERNEL_64;
		h->relocatable_kernel = 1;
		h->kernel_alignment = 0x200000;
		h->initrd_addr_max = 0x37ffffff;
		h->cmdline_size = 0x800;
		h->pref_address = 0x1000000;
		h->init_size &= 0x3ffffff;
	}
	if (boot_load_bzimage(&fb->gm, &p, &out, &e) == 0) {
		const struct bz_boot_params *bp = guest_mem_ptr(&fb->gm, LAYOUT_ZERO_PAGE, 4096);
		u64 rd = bp->hdr.ramdisk_image, rs = bp->hdr.ramdisk_size;

		if (out.mode != BOOT_MODE_LINUX64 || out.entry != LAYOUT_HIGH_RAM + 0x200 ||
		    out.boot_info != LAYOUT_ZERO_PAGE || bp->hdr.cmd_line_ptr != LAYOUT_CMDLINE)
			__builtin_trap();
		/* The initramfs lies in low RAM above 1 MiB and within initrd_addr_max. */
		if (p.initrd && (rs != p.initrd_len || rd < LAYOUT_HIGH_RAM || rd % PAGE_SIZE ||
				 rd + rs > FUZZ_RAM || rd + rs - 1 > bp->hdr.initrd_addr_max))
			__builtin_trap();
	} else if (!e.msg[0]) {
		__builtin_trap(); /* every failure says why */
	}
	free(k);
	return 0;
}
