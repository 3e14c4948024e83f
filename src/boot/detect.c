// SPDX-License-Identifier: MIT
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot/boot.h"
#include "boot/loader.h"
#include "boot/x86_boot_abi.h"

enum kernel_format boot_detect_kernel(const u8 *img, size_t len)
{
	if (!img)
		return KERNEL_UNKNOWN;
	if (len >= BZ_HEADER_OFF + 4 && get_le16(img + BZ_BOOT_FLAG_OFF) == BZ_BOOT_FLAG &&
	    get_le32(img + BZ_HEADER_OFF) == BZ_HEADER_MAGIC)
		return KERNEL_BZIMAGE;
	/* e_machine sits at offset 18 of the ELF header. */
	if (len >= 20 && !memcmp(img, ELFMAG, SELFMAG) && img[EI_CLASS] == ELFCLASS64 &&
	    img[EI_DATA] == ELFDATA2LSB && get_le16(img + 18) == EM_X86_64)
		return KERNEL_ELF;
	return KERNEL_UNKNOWN;
}

int boot_load_kernel(struct guest_mem *gm, const struct boot_payload *p, struct boot_entry *out,
		     struct err *e)
{
	u8 head[BZ_HEADER_OFF + 4];
	size_t n = MIN(p->kernel_len, sizeof(head));
	int r;

	r = boot_kernel_read(p, 0, head, n, e);
	if (r < 0)
		return r;
	switch (boot_detect_kernel(head, n)) {
	case KERNEL_BZIMAGE:
		return boot_load_bzimage(gm, p, out, e);
	case KERNEL_ELF:
		return boot_load_pvh(gm, p, out, e);
	default:
		return errf(e, -EINVAL, "neither a bzImage nor an ELF64 x86-64 image");
	}
}
