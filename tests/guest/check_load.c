// SPDX-License-Identifier: MIT
/*
 * Every test-guest image must pass merak's loaders exactly as `merak run`
 * would use them: the right format, an entry point where the guest's code
 * is, boot information in place. Runs without KVM.
 */
#include <stdio.h>
#include <string.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/boot.h"
#include "util/file.h"

static int check(const char *path)
{
	struct guest_mem gm;
	struct e820_entry map[E820_MAX];
	struct boot_entry entry;
	struct file_buf img, initrd = {0};
	struct boot_payload p;
	unsigned n;
	struct err e;
	bool bz = strstr(path, ".bzImage") != NULL;
	int r;

	guest_mem_init(&gm);
	if (guest_mem_add_anon(&gm, 0, 64ULL << 20, MEM_RAM, &e) < 0 ||
	    e820_build(&gm, map, E820_MAX, &n, &e) < 0 ||
	    file_read_all(path, 512 << 20, "guest", &img, &e) < 0) {
		printf("FAIL %s: %s\n", path, e.msg);
		return 1;
	}
	p = (struct boot_payload){.kernel = img.data, .kernel_len = img.len,
				  .cmdline = "marker=merak", .e820 = map, .n_e820 = n,
				  .rsdp_gpa = LAYOUT_ACPI_BASE};
	r = boot_load_kernel(&gm, &p, &entry, &e);
	if (r < 0) {
		printf("FAIL %s: %s\n", path, e.msg);
	} else if (boot_detect_kernel(img.data, img.len) != (bz ? KERNEL_BZIMAGE : KERNEL_ELF) ||
		   entry.mode != (bz ? BOOT_MODE_LINUX64 : BOOT_MODE_PVH) ||
		   (bz && entry.entry != 0x100200) ||
		   (!bz && (entry.entry < 0x100000 || entry.entry >= 0x100000 + img.len))) {
		printf("FAIL %s: format/mode/entry 0x%llx not as built\n", path,
		       (unsigned long long)entry.entry);
		r = -1;
	} else {
		const char *cmd = guest_mem_ptr(&gm, LAYOUT_CMDLINE, 13);

		if (!cmd || strcmp(cmd, "marker=merak")) {
			printf("FAIL %s: command line not in place\n", path);
			r = -1;
		} else {
			printf("PASS %s: entry 0x%llx\n", path, (unsigned long long)entry.entry);
		}
	}
	file_buf_free(&img);
	file_buf_free(&initrd);
	guest_mem_free(&gm);
	return r < 0;
}

int main(int argc, char **argv)
{
	int failed = 0;

	for (int i = 1; i < argc; i++)
		failed += check(argv[i]);
	printf("%d passed, %d failed\n", argc - 1 - failed, failed);
	return failed != 0;
}
