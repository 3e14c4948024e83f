// SPDX-License-Identifier: MIT
/*
 * PVH loader: an ELF64 x86-64 executable (a vmlinux or a test guest) whose
 * PT_LOAD segments go to their physical addresses and whose
 * XEN_ELFNOTE_PHYS32_ENTRY note gives the 32-bit entry point. The guest gets
 * hvm_start_info v1 with the memory map and the module list in the same page.
 */
#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "boot/boot.h"
#include "boot/loader.h"
#include "boot/x86_boot_abi.h"

#define EHDR_SIZE 64
#define PHDR_SIZE 56
#define NOTE_HDR  12
/* Real kernels have a handful; a bound keeps the placement bookkeeping fixed. */
#define PVH_MAX_LOAD 64

struct phdr {
	u32 type;
	u64 offset, paddr, filesz, memsz, align;
};

struct pvh_image {
	struct boot_range load[PVH_MAX_LOAD];
	unsigned idx[PVH_MAX_LOAD]; /* program header index of each load[] */
	unsigned n_load;
	u64 entry;
	bool have_entry;
};

static void read_phdr(const u8 *img, u64 off, struct phdr *ph)
{
	const u8 *b = img + off;

	ph->type = get_le32(b);
	ph->offset = get_le64(b + 8);
	ph->paddr = get_le64(b + 24);
	ph->filesz = get_le64(b + 32);
	ph->memsz = get_le64(b + 40);
	ph->align = get_le64(b + 48);
}

/* img holds the image's first MIN(len, EHDR_SIZE) bytes; len is the image's size. */
static int check_ehdr(const u8 *img, size_t len, u64 *phoff, unsigned *phnum, struct err *e)
{
	u64 tab;

	if (len < EHDR_SIZE)
		return errf(e, -EINVAL, "%zu bytes is too small for an ELF64 header", len);
	if (memcmp(img, ELFMAG, SELFMAG) || img[EI_CLASS] != ELFCLASS64 ||
	    img[EI_DATA] != ELFDATA2LSB || get_le16(img + 18) != EM_X86_64)
		return errf(e, -EINVAL, "not an ELF64 little-endian x86-64 image");
	if (get_le16(img + 16) != ET_EXEC)
		return errf(e, -EINVAL, "ELF type %u is not ET_EXEC", get_le16(img + 16));
	if (get_le16(img + 54) != PHDR_SIZE)
		return errf(e, -EINVAL, "program header entry size %u (expected %d)",
			    get_le16(img + 54), PHDR_SIZE);
	*phoff = get_le64(img + 32);
	*phnum = get_le16(img + 56);
	if (!*phnum)
		return errf(e, -EINVAL, "no program headers");
	tab = (u64)*phnum * PHDR_SIZE;
	if (!range_within(*phoff, tab, len))
		return errf(e, -EINVAL,
			    "%u program headers at offset 0x%llx run past the end of the "
			    "%zu-byte file",
			    *phnum, (unsigned long long)*phoff, len);
	return 0;
}

static int check_load(const struct guest_mem *gm, unsigned i, const struct phdr *ph, struct err *e)
{
	const struct mem_region *r;
	u64 end;

	if (ph->memsz < ph->filesz)
		return errf(e, -EINVAL, "segment %u: memsz 0x%llx is smaller than filesz 0x%llx", i,
			    (unsigned long long)ph->memsz, (unsigned long long)ph->filesz);
	if (!ph->memsz)
		return 0;
	if (add_overflows(ph->paddr, ph->memsz, &end))
		return errf(e, -EINVAL, "segment %u: address 0x%llx + size 0x%llx overflows", i,
			    (unsigned long long)ph->paddr, (unsigned long long)ph->memsz);
	if (ph->paddr < LAYOUT_HIGH_RAM)
		return errf(e, -EINVAL,
			    "segment %u at 0x%llx is below 1 MiB, where merak keeps its boot "
			    "structures",
			    i, (unsigned long long)ph->paddr);
	if (ph->paddr < LAYOUT_HIGH_RAM_START && end > LAYOUT_LOW_RAM_MAX)
		return errf(e, -EINVAL, "segment %u [0x%llx, 0x%llx) lies in the MMIO hole", i,
			    (unsigned long long)ph->paddr, (unsigned long long)end);
	r = guest_mem_find(gm, ph->paddr);
	if (!r || r->kind != MEM_RAM || !guest_mem_ptr(gm, ph->paddr, ph->memsz))
		return errf(e, -EINVAL, "segment %u [0x%llx, 0x%llx) is not inside guest RAM", i,
			    (unsigned long long)ph->paddr, (unsigned long long)end);
	return 0;
}

/* Looks for the PVH entry note among the notes of one PT_NOTE segment. */
static int scan_notes(const u8 *seg, u64 size, u64 align, unsigned i, struct pvh_image *im,
		      struct err *e)
{
	u64 pos = 0;

	while (size - pos >= NOTE_HDR) {
		u32 namesz = get_le32(seg + pos), descsz = get_le32(seg + pos + 4);
		u32 type = get_le32(seg + pos + 8);
		/* u32 sizes cannot overflow a u64 position that is at most the file size. */
		u64 name = pos + NOTE_HDR;
		u64 desc = ALIGN_UP(name + namesz, align);

		if (desc > size || descsz > size - desc)
			return errf(e, -EINVAL,
				    "segment %u: note at offset 0x%llx (name %u bytes, value %u "
				    "bytes) runs past the end of its PT_NOTE segment",
				    i, (unsigned long long)pos, namesz, descsz);
		if (!im->have_entry && type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
		    !memcmp(seg + name, "Xen", 4)) {
			if (descsz == 4)
				im->entry = get_le32(seg + desc);
			else if (descsz == 8)
				im->entry = get_le64(seg + desc);
			else
				return errf(e, -EINVAL,
					    "PVH entry note has a %u-byte value (4 or 8 expected)",
					    descsz);
			im->have_entry = true;
		}
		pos = ALIGN_UP(desc + descsz, align);
		if (pos > size)
			break;
	}
	return 0;
}

/* A PT_NOTE segment read from the image and scanned. */
static int scan_note_segment(const struct boot_payload *p, unsigned i, const struct phdr *ph,
			     struct pvh_image *im, struct err *e)
{
	u8 *seg;
	int r;

	if (!ph->filesz)
		return 0;
	seg = malloc(ph->filesz);
	if (!seg)
		return errf(e, -ENOMEM, "segment %u: no memory for its %llu-byte notes", i,
			    (unsigned long long)ph->filesz);
	r = boot_kernel_read(p, ph->offset, seg, ph->filesz, e);
	if (r < 0)
		err_ctx(e, "segment %u", i);
	else
		r = scan_notes(seg, ph->filesz, ph->align == 8 ? 8 : 4, i, im, e);
	free(seg);
	return r;
}

/* tab: the program header table, phnum entries. */
static int scan_image(const struct guest_mem *gm, const struct boot_payload *p, const u8 *tab,
		      unsigned phnum, struct pvh_image *im, struct err *e)
{
	int r;

	for (unsigned i = 0; i < phnum; i++) {
		struct phdr ph;

		read_phdr(tab, (u64)i * PHDR_SIZE, &ph);
		if (ph.type != PT_LOAD && ph.type != PT_NOTE)
			continue;
		if (!range_within(ph.offset, ph.filesz, p->kernel_len))
			return errf(e, -EINVAL,
				    "segment %u: file range [0x%llx, +0x%llx) runs past the end of "
				    "the %zu-byte file",
				    i, (unsigned long long)ph.offset, (unsigned long long)ph.filesz,
				    p->kernel_len);
		if (ph.type == PT_NOTE) {
			r = scan_note_segment(p, i, &ph, im, e);
			if (r < 0)
				return r;
			continue;
		}
		r = check_load(gm, i, &ph, e);
		if (r < 0)
			return r;
		if (!ph.memsz)
			continue;
		if (im->n_load == PVH_MAX_LOAD)
			return errf(e, -E2BIG, "more than %d PT_LOAD segments", PVH_MAX_LOAD);
		im->idx[im->n_load] = i;
		im->load[im->n_load++] = (struct boot_range){ph.paddr, ph.paddr + ph.memsz};
	}
	if (!im->n_load)
		return errf(e, -EINVAL, "no loadable (PT_LOAD) segment");
	if (!im->have_entry)
		return errf(e, -EINVAL,
			    "no PVH entry note (Xen note XEN_ELFNOTE_PHYS32_ENTRY); a Linux "
			    "vmlinux needs CONFIG_PVH=y");
	if (im->entry >= 4 * GiB)
		return errf(e, -EINVAL, "PVH entry 0x%llx is not a 32-bit address",
			    (unsigned long long)im->entry);
	for (unsigned k = 0; k < im->n_load; k++)
		if (im->entry >= im->load[k].start && im->entry < im->load[k].end)
			return 0;
	return errf(e, -EINVAL, "PVH entry 0x%llx is not inside any loaded segment",
		    (unsigned long long)im->entry);
}

int boot_load_pvh(struct guest_mem *gm, const struct boot_payload *p, struct boot_entry *out,
		  struct err *e)
{
	const u64 info_gpa = LAYOUT_PVH_START_INFO;
	const u64 memmap_gpa = info_gpa + sizeof(struct hvm_start_info);
	struct hvm_start_info info = {.magic = PVH_START_MAGIC, .version = PVH_START_VERSION};
	struct hvm_modlist_entry mod = {0};
	struct pvh_image im = {0};
	bool initrd = boot_has_initrd(p);
	u64 phoff = 0, modlist_gpa, initrd_gpa = 0;
	unsigned phnum = 0;
	u8 ehdr[EHDR_SIZE], *tab = NULL;
	int r;

	r = boot_kernel_read(p, 0, ehdr, MIN(p->kernel_len, sizeof(ehdr)), e);
	if (r < 0)
		return r;
	r = check_ehdr(ehdr, p->kernel_len, &phoff, &phnum, e);
	if (r < 0)
		return r;
	/* At most 65535 entries of 56 bytes, and inside the file (check_ehdr). */
	tab = malloc((size_t)phnum * PHDR_SIZE);
	if (!tab)
		return errf(e, -ENOMEM, "no memory for %u program headers", phnum);
	r = boot_kernel_read(p, phoff, tab, (size_t)phnum * PHDR_SIZE, e);
	if (r < 0) {
		err_ctx(e, "program headers");
		goto out;
	}
	r = scan_image(gm, p, tab, phnum, &im, e);
	if (r < 0)
		goto out;
	if (!p->e820 || !p->n_e820) {
		r = errf(e, -EINVAL, "no e820 memory map to pass");
		goto out;
	}
	/* start_info, then the memory map, then the module list: one page. */
	modlist_gpa = memmap_gpa + (u64)p->n_e820 * sizeof(struct hvm_memmap_table_entry);
	if (modlist_gpa + sizeof(mod) > info_gpa + PAGE_SIZE) {
		r = errf(e, -E2BIG, "memory map of %u entries does not fit in the start-info page",
			 p->n_e820);
		goto out;
	}
	if (initrd && boot_place_high(p->initrd_len, LAYOUT_HIGH_RAM, boot_low_ram_end(gm), im.load,
				      im.n_load, &initrd_gpa) < 0) {
		r = errf(e, -ENOMEM,
			 "no room for the %zu-byte initramfs in low RAM (1 MiB to 0x%llx) clear "
			 "of the kernel's segments",
			 p->initrd_len, (unsigned long long)boot_low_ram_end(gm));
		goto out;
	}

	/* Validated: now write guest memory. */
	for (unsigned k = 0; k < im.n_load; k++) {
		struct phdr ph;

		read_phdr(tab, (u64)im.idx[k] * PHDR_SIZE, &ph);
		r = boot_kernel_to_guest(gm, p, ph.offset, ph.paddr, ph.filesz, e);
		if (r < 0) {
			err_ctx(e, "segment %u", im.idx[k]);
			goto out;
		}
		/* check_load found [paddr, +memsz) in RAM; the rest past filesz is bss. */
		memset((u8 *)guest_mem_ptr(gm, ph.paddr, ph.memsz) + ph.filesz, 0,
		       ph.memsz - ph.filesz);
	}
	free(tab);
	tab = NULL;
	r = boot_write_cmdline(gm, p->cmdline, LAYOUT_CMDLINE_MAX - 1, e);
	if (r < 0)
		return r;
	info.cmdline_paddr = LAYOUT_CMDLINE;
	info.rsdp_paddr = p->rsdp_gpa;
	info.memmap_paddr = memmap_gpa;
	info.memmap_entries = p->n_e820;
	for (unsigned i = 0; i < p->n_e820; i++) {
		struct hvm_memmap_table_entry m = {
		    .addr = p->e820[i].addr,
		    .size = p->e820[i].size,
		    .type = p->e820[i].type,
		};
		r = guest_mem_write(gm, memmap_gpa + i * sizeof(m), &m, sizeof(m), e);
		if (r < 0)
			return err_ctx(e, "PVH memory map");
	}
	if (initrd) {
		r = boot_write_initrd(gm, p, initrd_gpa, e);
		if (r < 0)
			return r;
		mod.paddr = initrd_gpa;
		mod.size = p->initrd_len;
		r = guest_mem_write(gm, modlist_gpa, &mod, sizeof(mod), e);
		if (r < 0)
			return err_ctx(e, "PVH module list");
		info.nr_modules = 1;
		info.modlist_paddr = modlist_gpa;
	}
	r = guest_mem_write(gm, info_gpa, &info, sizeof(info), e);
	if (r < 0)
		return err_ctx(e, "hvm_start_info");
	out->mode = BOOT_MODE_PVH;
	out->entry = im.entry;
	out->boot_info = info_gpa;
	return 0;
out:
	free(tab);
	return r;
}
