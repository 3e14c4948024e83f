/* SPDX-License-Identifier: MIT */
#ifndef MERAK_BOOT_LOADER_H
#define MERAK_BOOT_LOADER_H

/* Helpers shared by the bzImage and PVH loaders (private to src/boot). */
#include "util/err.h"
#include "util/types.h"
#include "vm/mem.h"

struct boot_range {
	u64 start, end; /* [start, end) */
};

/*
 * End of the guest RAM that runs contiguously upwards from 1 MiB, capped at
 * the 32-bit hole; LAYOUT_HIGH_RAM itself when there is no RAM at 1 MiB.
 */
u64 boot_low_ram_end(const struct guest_mem *gm);

/*
 * Highest page-aligned address A with [A, A+len) inside [floor, ceiling) and
 * clear of every avoid range; -ENOSPC when there is none.
 */
int boot_place_high(u64 len, u64 floor, u64 ceiling, const struct boot_range *avoid,
		    unsigned n_avoid, u64 *out);

/*
 * Copies cmdline (NULL means "") NUL-terminated to LAYOUT_CMDLINE. max_len is
 * the kernel's limit in characters without the NUL.
 */
int boot_write_cmdline(struct guest_mem *gm, const char *cmdline, u64 max_len, struct err *e);

struct boot_payload;
/* Whether the payload has an initrd, given as bytes or as a fill function. */
bool boot_has_initrd(const struct boot_payload *p);
/* Puts the payload's initrd at gpa, from its bytes or through its fill function. */
int boot_write_initrd(struct guest_mem *gm, const struct boot_payload *p, u64 gpa, struct err *e);

/*
 * Reads [off, off + len) of the payload's kernel image, from its bytes or
 * through its kernel_read; a range past kernel_len is an error.
 */
int boot_kernel_read(const struct boot_payload *p, u64 off, void *dst, size_t len,
		     struct err *e);
/* The same range into guest memory at gpa (checked to be inside it). */
int boot_kernel_to_guest(struct guest_mem *gm, const struct boot_payload *p, u64 off, u64 gpa,
			 size_t len, struct err *e);

#endif
