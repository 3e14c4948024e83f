// SPDX-License-Identifier: MIT
#include "boot/loader.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "boot/boot.h"

u64 boot_low_ram_end(const struct guest_mem *gm)
{
	u64 end = LAYOUT_HIGH_RAM;
	const struct mem_region *r;

	/* Regions may be registered back to back; follow them up to the hole. */
	while (end < LAYOUT_LOW_RAM_MAX && (r = guest_mem_find(gm, end)) && r->kind == MEM_RAM &&
	       r->hva)
		end = r->gpa + r->size;
	return MIN(end, LAYOUT_LOW_RAM_MAX);
}

int boot_place_high(u64 len, u64 floor, u64 ceiling, const struct boot_range *avoid,
		    unsigned n_avoid, u64 *out)
{
	u64 top = ceiling;

	if (!len)
		return -EINVAL;
	/*
	 * Each pass either succeeds or drops top below the start of the range it
	 * hit, so no range is hit twice: at most n_avoid + 1 passes.
	 */
	for (;;) {
		u64 addr;
		bool moved = false;

		if (top < len || top - len < floor)
			return -ENOSPC;
		addr = ALIGN_DOWN(top - len, PAGE_SIZE);
		if (addr < floor)
			return -ENOSPC;
		for (unsigned i = 0; i < n_avoid; i++) {
			if (avoid[i].start < addr + len && addr < avoid[i].end) {
				top = avoid[i].start;
				moved = true;
				break;
			}
		}
		if (!moved) {
			*out = addr;
			return 0;
		}
	}
}

int boot_write_cmdline(struct guest_mem *gm, const char *cmdline, u64 max_len, struct err *e)
{
	const char *s = cmdline ? cmdline : "";
	size_t len = strlen(s);

	if (len + 1 > LAYOUT_CMDLINE_MAX)
		return errf(e, -E2BIG, "command line of %zu bytes exceeds merak's limit of %llu",
			    len, (unsigned long long)(LAYOUT_CMDLINE_MAX - 1));
	if (len > max_len)
		return errf(e, -E2BIG,
			    "command line of %zu bytes exceeds the kernel's limit of %llu", len,
			    (unsigned long long)max_len);
	if (guest_mem_write(gm, LAYOUT_CMDLINE, s, len + 1, e) < 0)
		return err_ctx(e, "command line");
	return 0;
}

bool boot_has_initrd(const struct boot_payload *p)
{
	return (p->initrd || p->initrd_fill) && p->initrd_len;
}

int boot_write_initrd(struct guest_mem *gm, const struct boot_payload *p, u64 gpa, struct err *e)
{
	/* The fill function names the file in its own errors. */
	if (!p->initrd)
		return p->initrd_fill(p->initrd_ctx, gm, gpa, p->initrd_len, e);
	if (guest_mem_write(gm, gpa, p->initrd, p->initrd_len, e) < 0)
		return err_ctx(e, "initramfs");
	return 0;
}

int boot_kernel_read(const struct boot_payload *p, u64 off, void *dst, size_t len,
		     struct err *e)
{
	if (!range_within(off, len, p->kernel_len))
		return errf(e, -EINVAL, "[0x%llx, +0x%zx) runs past the end of the %zu-byte image",
			    (unsigned long long)off, len, p->kernel_len);
	if (!len)
		return 0;
	if (p->kernel) {
		memcpy(dst, p->kernel + off, len);
		return 0;
	}
	if (!p->kernel_read)
		return errf(e, -EINVAL, "no kernel image");
	return p->kernel_read(p->kernel_ctx, off, dst, len, e);
}

int boot_kernel_to_guest(struct guest_mem *gm, const struct boot_payload *p, u64 off, u64 gpa,
			 size_t len, struct err *e)
{
	void *dst;

	if (!len)
		return 0;
	dst = guest_mem_span(gm, gpa, len, e);
	if (!dst)
		return -EFAULT;
	return boot_kernel_read(p, off, dst, len, e);
}
