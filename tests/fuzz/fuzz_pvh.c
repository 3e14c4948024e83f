// SPDX-License-Identifier: MIT
/*
 * boot_load_pvh on hostile ELF images; a load that succeeds must be sane.
 * Control bits 0 and 2 together stamp a loadable skeleton (bit 3 leaves the
 * note's value size fuzzed) so that loads also succeed.
 */
#include <elf.h>

#include "boot/x86_boot_abi.h"
#include "fuzz_boot_common.h"
#include "boot/pvh.c"

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
	if ((flags & 1) && p.kernel_len >= 64) {
		/* A valid ELF64 x86-64 ET_EXEC identity, header layout left to the fuzzer. */
		memcpy(k, ELFMAG, SELFMAG);
		k[EI_CLASS] = ELFCLASS64;
		k[EI_DATA] = ELFDATA2LSB;
		put_le16(k + 16, ET_EXEC);
		put_le16(k + 18, EM_X86_64);
		put_le16(k + 54, 56);
	}
	if ((flags & 5) == 5 && p.kernel_len >= 64 + 2 * 56 + 24) {
		/*
		 * Two program headers: the whole file as one PT_LOAD at 1 MiB
		 * (memsz fuzzed a little above filesz) and a PT_NOTE holding a
		 * PVH entry note whose value stays fuzzed near 1 MiB.
		 */
		u8 *ph = k + 64, *note = k + 64 + 2 * 56;

		put_le64(k + 32, 64);
		put_le16(k + 56, 2);
		put_le32(ph, PT_LOAD);
		put_le64(ph + 8, 0);
		put_le64(ph + 24, LAYOUT_HIGH_RAM);
		put_le64(ph + 32, p.kernel_len);
		put_le64(ph + 40, p.kernel_len + (u64)get_le16(ph + 40) * 16);
		put_le32(ph + 56, PT_NOTE);
		put_le64(ph + 56 + 8, 64 + 2 * 56);
		put_le64(ph + 56 + 32, MIN(p.kernel_len - (64 + 2 * 56), 64));
		put_le32(note, 4);
		if (!(flags & 8))
			put_le32(note + 4, 8);
		put_le32(note + 8, XEN_ELFNOTE_PHYS32_ENTRY);
		memcpy(note + 12, "Xen", 4);
		if (p.kernel_len >= 64 + 2 * 56 + 24)
			put_le64(note + 16, LAYOUT_HIGH_RAM + (get_le16(note + 16) & 0xfff));
	}
	if (boot_load_pvh(&fb->gm, &p, &out, &e) == 0) {
		const struct hvm_start_info *si =
		    guest_mem_ptr(&fb->gm, LAYOUT_PVH_START_INFO, sizeof(*si));

		if (out.mode != BOOT_MODE_PVH || out.boot_info != LAYOUT_PVH_START_INFO ||
		    out.entry < LAYOUT_HIGH_RAM || out.entry >= LAYOUT_LOW_RAM_MAX ||
		    si->magic != PVH_START_MAGIC || si->memmap_entries != p.n_e820 ||
		    si->nr_modules != (p.initrd ? 1u : 0u))
			__builtin_trap();
		if (p.initrd) {
			const struct hvm_modlist_entry *m =
			    guest_mem_ptr(&fb->gm, si->modlist_paddr, sizeof(*m));

			if (!m || m->size != p.initrd_len || m->paddr < LAYOUT_HIGH_RAM ||
			    m->paddr + m->size > FUZZ_RAM)
				__builtin_trap();
		}
	} else if (!e.msg[0]) {
		__builtin_trap();
	}
	free(k);
	return 0;
}
