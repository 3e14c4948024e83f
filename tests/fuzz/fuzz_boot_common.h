/* SPDX-License-Identifier: MIT */
#ifndef MERAK_FUZZ_BOOT_COMMON_H
#define MERAK_FUZZ_BOOT_COMMON_H

/*
 * Shared set-up of the boot loader harnesses. Input: one control byte (bit 0:
 * stamp the format's magic so the fuzzer reaches the deeper checks at once),
 * one byte choosing the initramfs size, one choosing the command-line length,
 * then the kernel image. Guest RAM is mapped once and reused.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/boot.h"

/*
 * The loaders are compiled into the harness itself so that they carry the
 * fuzzer's coverage and the sanitizers even when libmerak is built without
 * them; the archive's copies are then never pulled in.
 */
#include "boot/loader.c"

#define FUZZ_RAM (64 * MiB)

struct fuzz_boot {
	struct guest_mem gm;
	struct e820_entry e820[E820_MAX];
	unsigned n_e820;
	u8 initrd[255 * 4099];
	char cmdline[256 * 16 + 1];
};

static struct fuzz_boot *fuzz_boot_setup(void)
{
	static struct fuzz_boot *fb;
	struct err e;

	if (fb)
		return fb;
	fb = calloc(1, sizeof(*fb));
	if (!fb)
		abort();
	guest_mem_init(&fb->gm);
	if (guest_mem_add_anon(&fb->gm, 0, FUZZ_RAM, MEM_RAM, &e) < 0 ||
	    guest_mem_add_anon(&fb->gm, LAYOUT_HIGH_RAM_START, 16 * MiB, MEM_RAM, &e) < 0 ||
	    e820_build(&fb->gm, fb->e820, E820_MAX, &fb->n_e820, &e) < 0)
		abort();
	memset(fb->initrd, 0x42, sizeof(fb->initrd));
	return fb;
}

/* Splits the input; returns a malloc'd copy of the kernel (caller frees) or NULL. */
static u8 *fuzz_boot_payload(struct fuzz_boot *fb, const u8 *data, size_t size,
			     struct boot_payload *p, u8 *flags)
{
	size_t cl;
	u8 *k;

	if (size < 3)
		return NULL;
	*flags = data[0];
	cl = (size_t)data[2] * 16;
	memset(fb->cmdline, 'c', cl);
	fb->cmdline[cl] = '\0';
	k = malloc(size - 3 ? size - 3 : 1);
	if (!k)
		abort();
	memcpy(k, data + 3, size - 3);
	*p = (struct boot_payload){
	    .kernel = k,
	    .kernel_len = size - 3,
	    .initrd = data[1] ? fb->initrd : NULL,
	    .initrd_len = (size_t)data[1] * 4099,
	    .cmdline = (data[0] & 2) ? NULL : fb->cmdline,
	    .e820 = fb->e820,
	    .n_e820 = fb->n_e820,
	    .rsdp_gpa = LAYOUT_ACPI_BASE,
	};
	return k;
}

#endif
