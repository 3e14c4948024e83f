// SPDX-License-Identifier: MIT
#include "boot_test.h"

#include "boot/x86_boot_abi.h"

#define RAM  (16 * MiB)
#define RSDP 0xE0000ULL

/* A tiny ELF writer: header at 0, program headers at 64, data from 0x1000. */
struct elf {
	u8 buf[0x10000];
	size_t len;
	unsigned phnum;
};

#define PH(el, i) ((el)->buf + 64 + (size_t)(i)*56)

static void elf_init(struct elf *el)
{
	memset(el, 0, sizeof(*el));
	memcpy(el->buf,
	       "\x7f"
	       "ELF",
	       4);
	el->buf[4] = 2; /* ELFCLASS64 */
	el->buf[5] = 1; /* little-endian */
	el->buf[6] = 1;
	put_le16(el->buf + 16, 2);  /* ET_EXEC */
	put_le16(el->buf + 18, 62); /* EM_X86_64 */
	put_le32(el->buf + 20, 1);
	put_le64(el->buf + 32, 64); /* e_phoff */
	put_le16(el->buf + 52, 64);
	put_le16(el->buf + 54, 56);
	el->len = 0x1000;
}

static u64 elf_data(struct elf *el, const void *d, size_t n)
{
	u64 off = el->len;

	assert_true(el->len + n <= sizeof(el->buf));
	memcpy(el->buf + off, d, n);
	el->len += ALIGN_UP(n, 8);
	return off;
}

static unsigned elf_phdr(struct elf *el, u32 type, u64 off, u64 paddr, u64 filesz, u64 memsz,
			 u64 align)
{
	unsigned i = el->phnum++;
	u8 *p = PH(el, i);

	put_le32(p, type);
	put_le32(p + 4, 5);
	put_le64(p + 8, off);
	put_le64(p + 16, paddr + 0xffffffff80000000ULL); /* vaddr: ignored */
	put_le64(p + 24, paddr);
	put_le64(p + 32, filesz);
	put_le64(p + 40, memsz);
	put_le64(p + 48, align);
	put_le16(el->buf + 56, (u16)el->phnum);
	return i;
}

/* One note; returns its size with padding. */
static size_t note(u8 *p, const char *name, u32 namesz, u32 type, const void *desc, u32 descsz)
{
	size_t n = 12;

	put_le32(p, namesz);
	put_le32(p + 4, descsz);
	put_le32(p + 8, type);
	memcpy(p + n, name, namesz);
	n += ALIGN_UP(namesz, 4);
	memcpy(p + n, desc, descsz);
	return n + ALIGN_UP(descsz, 4);
}

#define SEG0_PADDR 0x100000ULL
#define SEG0_FILE  0x3000
#define SEG0_MEM   0x5000
#define SEG1_PADDR 0x200000ULL
#define SEG1_FILE  0x1000
#define ENTRY	   (SEG0_PADDR + 0x40)

struct pvh_layout {
	unsigned seg0, seg1, notes;
};

/*
 * The standard image: text+bss at 1 MiB, data at 2 MiB, a PT_NOTE with a GNU
 * build-id note before the Xen entry note (value size entry_size).
 */
static struct pvh_layout make_pvh(struct elf *el, unsigned entry_size, u64 entry)
{
	static u8 s0[SEG0_FILE], s1[SEG1_FILE];
	u8 notes[256];
	u8 id[20];
	u8 val[8];
	size_t n = 0;
	struct pvh_layout l;

	elf_init(el);
	fill_pattern(s0, sizeof(s0), 1);
	fill_pattern(s1, sizeof(s1), 2);
	fill_pattern(id, sizeof(id), 3);
	put_le64(val, entry);
	n += note(notes + n, "GNU", 4, 3, id, sizeof(id));
	n += note(notes + n, "Xen", 4, XEN_ELFNOTE_PHYS32_ENTRY, val, entry_size);
	l.seg0 =
	    elf_phdr(el, 1, elf_data(el, s0, sizeof(s0)), SEG0_PADDR, SEG0_FILE, SEG0_MEM, 0x1000);
	l.seg1 =
	    elf_phdr(el, 1, elf_data(el, s1, sizeof(s1)), SEG1_PADDR, SEG1_FILE, SEG1_FILE, 0x1000);
	elf_phdr(el, 0x6474e551, 0, 0, 0, 0, 16); /* PT_GNU_STACK: skipped */
	l.notes = elf_phdr(el, 4, elf_data(el, notes, n), 0, n, n, 4);
	return l;
}

struct run {
	struct fixture f;
	struct boot_payload p;
	struct boot_entry out;
	struct err e;
	u8 *initrd;
	int r;
};

static void run_load(struct run *t, const struct elf *el, size_t len, size_t initrd_len,
		     const char *cmdline)
{
	memset(t, 0, sizeof(*t));
	fixture_init(&t->f, RAM);
	if (initrd_len) {
		t->initrd = malloc(initrd_len);
		assert_non_null(t->initrd);
		fill_pattern(t->initrd, initrd_len, 0x44);
	}
	t->p = (struct boot_payload){
	    .kernel = el->buf,
	    .kernel_len = len,
	    .initrd = t->initrd,
	    .initrd_len = initrd_len,
	    .cmdline = cmdline,
	    .e820 = t->f.e820,
	    .n_e820 = t->f.n_e820,
	    .rsdp_gpa = RSDP,
	};
	err_clear(&t->e);
	t->r = boot_load_pvh(&t->f.gm, &t->p, &t->out, &t->e);
	check_read_like_bytes(boot_load_pvh, &t->f, &t->p, t->r, &t->out, &t->e);
}

static void run_free(struct run *t)
{
	fixture_free(&t->f);
	free(t->initrd);
}

static const struct hvm_start_info *start_info(struct run *t)
{
	return (const struct hvm_start_info *)(t->f.hva + LAYOUT_PVH_START_INFO);
}

static void check_loaded(struct run *t, const struct elf *el, u64 entry, const char *cmdline)
{
	const struct hvm_start_info *si = start_info(t);
	const struct hvm_memmap_table_entry *mm;
	const u8 *s0 = el->buf + 0x1000;

	assert_int_equal(t->r, 0);
	assert_int_equal(t->out.mode, BOOT_MODE_PVH);
	assert_int_equal(t->out.entry, entry);
	assert_int_equal(t->out.boot_info, LAYOUT_PVH_START_INFO);

	/* Segments: file bytes copied, the bss tail zeroed. */
	assert_memory_equal(t->f.hva + SEG0_PADDR, s0, SEG0_FILE);
	for (u64 i = SEG0_FILE; i < SEG0_MEM; i++)
		assert_int_equal(t->f.hva[SEG0_PADDR + i], 0);
	assert_memory_equal(t->f.hva + SEG1_PADDR, el->buf + 0x1000 + SEG0_FILE, SEG1_FILE);

	assert_int_equal(si->magic, 0x336ec578);
	assert_int_equal(si->version, 1);
	assert_int_equal(si->flags, 0);
	assert_int_equal(si->cmdline_paddr, LAYOUT_CMDLINE);
	assert_string_equal((const char *)t->f.hva + LAYOUT_CMDLINE, cmdline ? cmdline : "");
	assert_int_equal(si->rsdp_paddr, RSDP);
	assert_int_equal(si->memmap_paddr, LAYOUT_PVH_START_INFO + 56);
	assert_int_equal(si->memmap_entries, t->f.n_e820);
	assert_int_equal(si->reserved, 0);
	mm = (const void *)(t->f.hva + si->memmap_paddr);
	for (unsigned i = 0; i < t->f.n_e820; i++) {
		assert_int_equal(mm[i].addr, t->f.e820[i].addr);
		assert_int_equal(mm[i].size, t->f.e820[i].size);
		assert_int_equal(mm[i].type, t->f.e820[i].type);
		assert_int_equal(mm[i].reserved, 0);
	}
}

static void test_load_with_initrd(void **state)
{
	static struct elf el;
	const char *cmdline = "console=ttyS0 init=/init";
	const size_t ilen = 0x2345;
	struct run t;

	make_pvh(&el, 8, ENTRY);
	run_load(&t, &el, el.len, ilen, cmdline);
	check_loaded(&t, &el, ENTRY, cmdline);

	const struct hvm_start_info *si = start_info(&t);
	u64 want = ALIGN_DOWN(RAM - ilen, PAGE_SIZE);
	u64 modlist = LAYOUT_PVH_START_INFO + 56 + 24 * t.f.n_e820;
	assert_int_equal(si->nr_modules, 1);
	assert_int_equal(si->modlist_paddr, modlist);
	const struct hvm_modlist_entry *m = (const void *)(t.f.hva + modlist);
	assert_int_equal(m->paddr, want);
	assert_int_equal(m->size, ilen);
	assert_int_equal(m->cmdline_paddr, 0);
	assert_int_equal(m->reserved, 0);
	assert_memory_equal(t.f.hva + want, t.initrd, ilen);

	const struct span written[] = {
	    {LAYOUT_PVH_START_INFO, 56 + 24 * t.f.n_e820 + 32},
	    {LAYOUT_CMDLINE, strlen(cmdline) + 1},
	    {SEG0_PADDR, SEG0_MEM},
	    {SEG1_PADDR, SEG1_FILE},
	    {want, ilen},
	};
	assert_untouched_except(&t.f, written, ARRAY_SIZE(written));
	run_free(&t);
}

/* An initramfs read from its file straight into guest RAM: the same bytes in the same place. */
static void test_initrd_fill(void **state)
{
	static struct elf el;
	const size_t ilen = 0x2345;
	struct run t;

	make_pvh(&el, 8, ENTRY);
	run_load(&t, &el, el.len, ilen, "console=ttyS0");
	assert_int_equal(t.r, 0);
	check_fill_like_bytes(boot_load_pvh, &t.f, &t.p, RAM, ALIGN_DOWN(RAM - ilen, PAGE_SIZE),
			      false);
	check_fill_like_bytes(boot_load_pvh, &t.f, &t.p, RAM, ALIGN_DOWN(RAM - ilen, PAGE_SIZE),
			      true);
	run_free(&t);
}

static void test_load_4byte_note_no_initrd(void **state)
{
	static struct elf el;
	struct run t;

	make_pvh(&el, 4, SEG1_PADDR + 0x10);
	run_load(&t, &el, el.len, 0, NULL);
	check_loaded(&t, &el, SEG1_PADDR + 0x10, NULL);
	assert_int_equal(start_info(&t)->nr_modules, 0);
	assert_int_equal(start_info(&t)->modlist_paddr, 0);
	const struct span written[] = {
	    {LAYOUT_PVH_START_INFO, 56 + 24 * t.f.n_e820},
	    {LAYOUT_CMDLINE, 1},
	    {SEG0_PADDR, SEG0_MEM},
	    {SEG1_PADDR, SEG1_FILE},
	};
	assert_untouched_except(&t.f, written, ARRAY_SIZE(written));
	run_free(&t);
}

static void test_initrd_avoids_segments(void **state)
{
	static struct elf el;
	struct run t;
	struct pvh_layout l = make_pvh(&el, 8, ENTRY);

	/* Move the data segment to the top of RAM: the initrd must go below it. */
	put_le64(PH(&el, l.seg1) + 24, RAM - 0x2000);
	put_le64(PH(&el, l.seg1) + 40, 0x2000);
	run_load(&t, &el, el.len, 0x1800, "");
	assert_int_equal(t.r, 0);
	u64 want = RAM - 0x2000 - 0x2000;
	const struct hvm_start_info *si = start_info(&t);
	const struct hvm_modlist_entry *m = (const void *)(t.f.hva + si->modlist_paddr);
	assert_int_equal(m->paddr, want);
	assert_memory_equal(t.f.hva + want, t.initrd, 0x1800);
	assert_memory_equal(t.f.hva + RAM - 0x2000, el.buf + 0x1000 + SEG0_FILE, SEG1_FILE);
	run_free(&t);
}

/* ---- hostile images ------------------------------------------------------ */

static void expect_fail(struct run *t, int code, const char *msg)
{
	if (t->r != code)
		print_error("expected %d \"%s\", got %d \"%s\"\n", code, msg, t->r, t->e.msg);
	assert_int_equal(t->r, code);
	assert_msg(&t->e, msg);
	assert_untouched(&t->f);
	run_free(t);
}

static void test_note_in_8_aligned_segment(void **state)
{
	static struct elf el;
	u8 notes[48];
	size_t n = sizeof(notes);
	struct run t;
	struct pvh_layout l = make_pvh(&el, 8, ENTRY);

	/*
	 * With p_align 8 each note starts on an 8-byte boundary: the Xen note
	 * follows a 20-byte note at offset 24, not 20.
	 */
	memset(notes, 0, sizeof(notes));
	put_le32(notes, 4);
	put_le32(notes + 4, 4);
	put_le32(notes + 8, 1);
	memcpy(notes + 12, "GNU", 4);
	put_le32(notes + 24, 4);
	put_le32(notes + 28, 8);
	put_le32(notes + 32, XEN_ELFNOTE_PHYS32_ENTRY);
	memcpy(notes + 36, "Xen", 4);
	put_le64(notes + 40, SEG1_PADDR);
	put_le64(PH(&el, l.notes) + 8, elf_data(&el, notes, n));
	put_le64(PH(&el, l.notes) + 32, n);
	put_le64(PH(&el, l.notes) + 48, 8);
	run_load(&t, &el, el.len, 0, NULL);
	assert_int_equal(t.r, 0);
	assert_int_equal(t.out.entry, SEG1_PADDR);
	run_free(&t);

	/* Read with 4-byte alignment the padding looks like a huge note. */
	put_le64(PH(&el, l.notes) + 48, 4);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "note at offset 0x24 (name 7234904 bytes");
}

static void test_truncated_header(void **state)
{
	static struct elf el;
	struct run t;

	make_pvh(&el, 8, ENTRY);
	run_load(&t, &el, 40, 0, NULL);
	expect_fail(&t, -EINVAL, "40 bytes is too small for an ELF64 header");
}

static void test_wrong_kind_of_elf(void **state)
{
	static struct elf el;
	struct run t;

	make_pvh(&el, 8, ENTRY);
	put_le16(el.buf + 18, 3); /* i386 */
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "not an ELF64 little-endian x86-64 image");

	make_pvh(&el, 8, ENTRY);
	el.buf[5] = 2; /* big-endian */
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "not an ELF64 little-endian x86-64 image");

	make_pvh(&el, 8, ENTRY);
	put_le16(el.buf + 16, 3); /* ET_DYN */
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "ELF type 3 is not ET_EXEC");

	make_pvh(&el, 8, ENTRY);
	put_le16(el.buf + 54, 32);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "program header entry size 32 (expected 56)");
}

static void test_phdrs_past_file(void **state)
{
	static struct elf el;
	struct run t;

	make_pvh(&el, 8, ENTRY);
	put_le16(el.buf + 56, 0);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "no program headers");

	make_pvh(&el, 8, ENTRY);
	put_le64(el.buf + 32, el.len - 100);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "4 program headers at offset");

	make_pvh(&el, 8, ENTRY);
	put_le64(el.buf + 32, 0xffffffffffffff00ULL); /* phoff + size wraps */
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "run past the end of the");

	/* File cut inside the program header table. */
	make_pvh(&el, 8, ENTRY);
	run_load(&t, &el, 64 + 56 * 3 + 10, 0, NULL);
	expect_fail(&t, -EINVAL, "run past the end of the 242-byte file");
}

static void test_segment_past_file(void **state)
{
	static struct elf el;
	struct run t;
	struct pvh_layout l = make_pvh(&el, 8, ENTRY);

	put_le64(PH(&el, l.seg1) + 32, 0x100000);
	put_le64(PH(&el, l.seg1) + 40, 0x100000);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "segment 1: file range [0x4000, +0x100000) runs past the end");

	l = make_pvh(&el, 8, ENTRY);
	put_le64(PH(&el, l.seg0) + 8, 0xfffffffffffff000ULL);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "segment 0: file range");

	/* The same for a PT_NOTE segment. */
	l = make_pvh(&el, 8, ENTRY);
	put_le64(PH(&el, l.notes) + 32, 0x10000);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "segment 3: file range");
}

static void test_memsz_below_filesz(void **state)
{
	static struct elf el;
	struct run t;
	struct pvh_layout l = make_pvh(&el, 8, ENTRY);

	put_le64(PH(&el, l.seg0) + 40, 0x1000);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "segment 0: memsz 0x1000 is smaller than filesz 0x3000");
}

static void test_bad_addresses(void **state)
{
	static struct elf el;
	struct run t;
	struct pvh_layout l = make_pvh(&el, 8, ENTRY);

	put_le64(PH(&el, l.seg1) + 24, 0xfffffffffffff800ULL);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "segment 1: address 0xfffffffffffff800 + size 0x1000 overflows");

	l = make_pvh(&el, 8, ENTRY);
	put_le64(PH(&el, l.seg1) + 24, 0xbffff800ULL);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "segment 1 [0xbffff800, 0xc0000800) lies in the MMIO hole");

	l = make_pvh(&el, 8, ENTRY);
	put_le64(PH(&el, l.seg1) + 24, 0xfee00000ULL);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "lies in the MMIO hole");

	l = make_pvh(&el, 8, ENTRY);
	put_le64(PH(&el, l.seg1) + 24, RAM - 0x800);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "segment 1 [0xfff800, 0x1000800) is not inside guest RAM");

	l = make_pvh(&el, 8, ENTRY);
	put_le64(PH(&el, l.seg1) + 24, 5 * GiB);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "is not inside guest RAM");

	l = make_pvh(&el, 8, ENTRY);
	put_le64(PH(&el, l.seg1) + 24, LAYOUT_ZERO_PAGE);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "segment 1 at 0x7000 is below 1 MiB");
}

static void test_missing_or_bad_note(void **state)
{
	static struct elf el;
	struct run t;
	struct pvh_layout l = make_pvh(&el, 8, ENTRY);

	/* Turn the note segment into something else. */
	put_le32(PH(&el, l.notes), 0x6474e550);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "no PVH entry note");

	/* Right type, wrong owner. */
	l = make_pvh(&el, 8, ENTRY);
	el.buf[0x1000 + SEG0_FILE + SEG1_FILE + 12 + 4 + 20 + 12] = 'x';
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "no PVH entry note");

	l = make_pvh(&el, 2, ENTRY);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "PVH entry note has a 2-byte value (4 or 8 expected)");

	/* A namesz that runs far past the segment. */
	l = make_pvh(&el, 8, ENTRY);
	put_le32(el.buf + 0x1000 + SEG0_FILE + SEG1_FILE, 0xfffffff0u);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL,
		    "segment 3: note at offset 0x0 (name 4294967280 bytes, value 20 bytes) runs "
		    "past the end of its PT_NOTE segment");

	/* A descsz that runs past by one. */
	l = make_pvh(&el, 8, ENTRY);
	put_le32(el.buf + 0x1000 + SEG0_FILE + SEG1_FILE + 36 + 4, 9);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "note at offset 0x24 (name 4 bytes, value 9 bytes) runs past");
}

static void test_bad_entry(void **state)
{
	static struct elf el;
	struct run t;

	make_pvh(&el, 8, 0x100000000ULL + ENTRY);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "PVH entry 0x100100040 is not a 32-bit address");

	make_pvh(&el, 4, 0x300000);
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "PVH entry 0x300000 is not inside any loaded segment");
}

static void test_no_load_segment(void **state)
{
	static struct elf el;
	struct run t;
	struct pvh_layout l = make_pvh(&el, 8, ENTRY);

	put_le32(PH(&el, l.seg0), 3); /* PT_INTERP */
	put_le32(PH(&el, l.seg1), 6); /* PT_PHDR */
	run_load(&t, &el, el.len, 0, NULL);
	expect_fail(&t, -EINVAL, "no loadable (PT_LOAD) segment");
}

static void test_initrd_no_room(void **state)
{
	static struct elf el;
	struct run t;

	make_pvh(&el, 8, ENTRY);
	run_load(&t, &el, el.len, RAM - 2 * MiB, NULL);
	expect_fail(&t, -ENOMEM, "no room for the 14680064-byte initramfs in low RAM");
}

static void test_memmap_too_big(void **state)
{
	static struct elf el;
	static struct e820_entry big[200];
	struct run t;

	make_pvh(&el, 8, ENTRY);
	memset(&t, 0, sizeof(t));
	fixture_init(&t.f, RAM);
	t.p = (struct boot_payload){.kernel = el.buf, .kernel_len = el.len, .e820 = big};
	/* (4096 - 56 - 32) / 24 = 167 entries fit next to a module entry. */
	t.p.n_e820 = 168;
	t.r = boot_load_pvh(&t.f.gm, &t.p, &t.out, &t.e);
	expect_fail(&t, -E2BIG, "memory map of 168 entries does not fit in the start-info page");

	memset(&t, 0, sizeof(t));
	fixture_init(&t.f, RAM);
	t.p = (struct boot_payload){.kernel = el.buf, .kernel_len = el.len, .e820 = big};
	t.p.n_e820 = 167;
	t.r = boot_load_pvh(&t.f.gm, &t.p, &t.out, &t.e);
	assert_int_equal(t.r, 0);
	assert_int_equal(start_info(&t)->memmap_entries, 167);
	run_free(&t);

	memset(&t, 0, sizeof(t));
	fixture_init(&t.f, RAM);
	t.p = (struct boot_payload){.kernel = el.buf, .kernel_len = el.len};
	t.r = boot_load_pvh(&t.f.gm, &t.p, &t.out, &t.e);
	expect_fail(&t, -EINVAL, "no e820 memory map");
}

static void test_cmdline_too_long(void **state)
{
	static struct elf el;
	char *big = malloc(LAYOUT_CMDLINE_MAX + 1);
	struct run t;

	assert_non_null(big);
	memset(big, 'y', LAYOUT_CMDLINE_MAX);
	big[LAYOUT_CMDLINE_MAX] = '\0';
	make_pvh(&el, 8, ENTRY);
	run_load(&t, &el, el.len, 0, big);
	assert_int_equal(t.r, -E2BIG);
	assert_msg(&t.e, "command line of 65536 bytes exceeds merak's limit of 65535");
	run_free(&t);
	big[LAYOUT_CMDLINE_MAX - 1] = '\0';
	run_load(&t, &el, el.len, 0, big);
	assert_int_equal(t.r, 0);
	run_free(&t);
	free(big);
}

static void test_dispatch_to_pvh(void **state)
{
	static struct elf el;
	struct run t;

	make_pvh(&el, 8, ENTRY);
	memset(&t, 0, sizeof(t));
	fixture_init(&t.f, RAM);
	t.p = (struct boot_payload){
	    .kernel = el.buf, .kernel_len = el.len, .e820 = t.f.e820, .n_e820 = t.f.n_e820};
	assert_int_equal(boot_load_kernel(&t.f.gm, &t.p, &t.out, &t.e), 0);
	assert_int_equal(t.out.mode, BOOT_MODE_PVH);
	assert_int_equal(t.out.entry, ENTRY);
	run_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_with_initrd),
	    cmocka_unit_test(test_initrd_fill),
	    cmocka_unit_test(test_load_4byte_note_no_initrd),
	    cmocka_unit_test(test_initrd_avoids_segments),
	    cmocka_unit_test(test_note_in_8_aligned_segment),
	    cmocka_unit_test(test_truncated_header),
	    cmocka_unit_test(test_wrong_kind_of_elf),
	    cmocka_unit_test(test_phdrs_past_file),
	    cmocka_unit_test(test_segment_past_file),
	    cmocka_unit_test(test_memsz_below_filesz),
	    cmocka_unit_test(test_bad_addresses),
	    cmocka_unit_test(test_missing_or_bad_note),
	    cmocka_unit_test(test_bad_entry),
	    cmocka_unit_test(test_no_load_segment),
	    cmocka_unit_test(test_initrd_no_room),
	    cmocka_unit_test(test_memmap_too_big),
	    cmocka_unit_test(test_cmdline_too_long),
	    cmocka_unit_test(test_dispatch_to_pvh),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
