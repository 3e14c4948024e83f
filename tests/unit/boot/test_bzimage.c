// SPDX-License-Identifier: MIT
#include "boot_test.h"

#include "boot/x86_boot_abi.h"

#define RAM	   (32 * MiB)
#define RSDP	   0xE0000ULL
#define INITRD_MAX 0x37FFFFFFu

struct bz_spec {
	unsigned setup_sects; /* as written in the header (0 means 4) */
	size_t pm_size;
	u16 version;
	u16 xloadflags;
	u8 loadflags;
	u8 relocatable;
	u8 hdr_len; /* byte at 0x201 */
	u32 kernel_alignment;
	u32 initrd_addr_max;
	u32 cmdline_size;
	u64 pref_address;
	u32 init_size;
};

static struct bz_spec default_spec(void)
{
	return (struct bz_spec){
	    .setup_sects = 3,
	    .pm_size = 0x5432,
	    .version = 0x20f,
	    .xloadflags = BZ_XLF_KERNEL_64,
	    .loadflags = BZ_LOADED_HIGH,
	    .relocatable = 1,
	    .hdr_len = 0x6a, /* header ends at 0x26c */
	    .kernel_alignment = 0x200000,
	    .initrd_addr_max = INITRD_MAX,
	    .cmdline_size = 2048,
	    .pref_address = 0x1000000,
	    .init_size = 0x800000,
	};
}

static size_t setup_bytes(const struct bz_spec *s)
{
	return ((s->setup_sects ? s->setup_sects : 4) + 1) * 512;
}

/* A synthetic bzImage: real-mode part with a setup header, then a patterned body. */
static u8 *make_bz(const struct bz_spec *s, size_t *len)
{
	size_t setup = setup_bytes(s);
	u8 *b;

	*len = setup + s->pm_size;
	b = calloc(1, *len);
	assert_non_null(b);
	fill_pattern(b, setup, 0x11); /* non-zero junk around the header */
	fill_pattern(b + setup, s->pm_size, 0x5a);
	b[0x1f1] = (u8)s->setup_sects;
	put_le16(b + 0x1fe, BZ_BOOT_FLAG);
	b[0x200] = 0xeb;
	b[0x201] = s->hdr_len;
	put_le32(b + 0x202, BZ_HEADER_MAGIC);
	put_le16(b + 0x206, s->version);
	b[0x210] = 0;
	b[0x211] = s->loadflags;
	put_le32(b + 0x214, 0x100000);
	put_le32(b + 0x218, 0xdeadbeef); /* stale ramdisk fields must be overwritten */
	put_le32(b + 0x21c, 0xdeadbeef);
	put_le32(b + 0x228, 0);
	put_le32(b + 0x22c, s->initrd_addr_max);
	put_le32(b + 0x230, s->kernel_alignment);
	b[0x234] = s->relocatable;
	put_le16(b + 0x236, s->xloadflags);
	put_le32(b + 0x238, s->cmdline_size);
	put_le32(b + 0x23c, 0);
	put_le64(b + 0x240, 0);
	put_le64(b + 0x250, 0x1234567890ULL); /* setup_data must be cleared */
	put_le64(b + 0x258, s->pref_address);
	put_le32(b + 0x260, s->init_size);
	return b;
}

struct run {
	struct fixture f;
	struct boot_payload p;
	struct boot_entry out;
	struct err e;
	u8 *kernel;
	u8 *initrd;
	int r;
};

static void run_load(struct run *t, const struct bz_spec *s, u64 ram, size_t initrd_len,
		     const char *cmdline)
{
	size_t klen;

	memset(t, 0, sizeof(*t));
	fixture_init(&t->f, ram);
	t->kernel = make_bz(s, &klen);
	if (initrd_len) {
		t->initrd = malloc(initrd_len);
		assert_non_null(t->initrd);
		fill_pattern(t->initrd, initrd_len, 0x33);
	}
	t->p = (struct boot_payload){
	    .kernel = t->kernel,
	    .kernel_len = klen,
	    .initrd = t->initrd,
	    .initrd_len = initrd_len,
	    .cmdline = cmdline,
	    .e820 = t->f.e820,
	    .n_e820 = t->f.n_e820,
	    .rsdp_gpa = RSDP,
	};
	err_clear(&t->e);
	t->r = boot_load_bzimage(&t->f.gm, &t->p, &t->out, &t->e);
	check_read_like_bytes(boot_load_bzimage, &t->f, &t->p, t->r, &t->out, &t->e);
}

static void run_free(struct run *t)
{
	fixture_free(&t->f);
	free(t->kernel);
	free(t->initrd);
}

static const struct bz_boot_params *zero_page(struct run *t)
{
	return (const struct bz_boot_params *)(t->f.hva + LAYOUT_ZERO_PAGE);
}

static void check_common(struct run *t, const struct bz_spec *s, const char *cmdline)
{
	const struct bz_boot_params *bp = zero_page(t);
	const u8 *raw = (const u8 *)bp;
	size_t setup = setup_bytes(s);
	size_t hdr_end = 0x202 + s->hdr_len;

	assert_int_equal(t->r, 0);
	assert_int_equal(t->out.mode, BOOT_MODE_LINUX64);
	assert_int_equal(t->out.entry, 0x100200);
	assert_int_equal(t->out.boot_info, LAYOUT_ZERO_PAGE);

	/* The protected-mode part sits at 1 MiB, byte for byte. */
	assert_memory_equal(t->f.hva + 0x100000, t->kernel + setup, s->pm_size);
	/* The command line with its NUL. */
	assert_string_equal((const char *)t->f.hva + LAYOUT_CMDLINE, cmdline ? cmdline : "");

	/* Everything before the header is zero except the two fields merak sets. */
	for (size_t i = 0; i < 0x1f1; i++) {
		if (i >= 0x070 && i < 0x078)
			continue;
		if (i == 0x1e8)
			continue;
		assert_int_equal(raw[i], 0);
	}
	assert_int_equal(bp->e820_entries, t->f.n_e820);
	for (unsigned i = 0; i < t->f.n_e820; i++) {
		assert_int_equal(bp->e820_table[i].addr, t->f.e820[i].addr);
		assert_int_equal(bp->e820_table[i].size, t->f.e820[i].size);
		assert_int_equal(bp->e820_table[i].type, t->f.e820[i].type);
	}
	/* Past the header and past the used e820 entries: zero. */
	for (size_t i = hdr_end; i < 0x2d0; i++)
		assert_int_equal(raw[i], 0);
	for (size_t i = 0x2d0 + 20 * t->f.n_e820; i < 4096; i++)
		assert_int_equal(raw[i], 0);

	/* Fields copied from the image unchanged. */
	assert_int_equal(bp->hdr.setup_sects, s->setup_sects);
	assert_int_equal(bp->hdr.boot_flag, BZ_BOOT_FLAG);
	assert_int_equal(bp->hdr.header, BZ_HEADER_MAGIC);
	assert_int_equal(bp->hdr.version, s->version);
	assert_int_equal(bp->hdr.initrd_addr_max, s->initrd_addr_max);
	assert_int_equal(bp->hdr.kernel_alignment, s->kernel_alignment);
	assert_int_equal(bp->hdr.relocatable_kernel, s->relocatable);
	assert_int_equal(bp->hdr.xloadflags, s->xloadflags);
	assert_int_equal(bp->hdr.cmdline_size, s->cmdline_size);
	assert_int_equal(bp->hdr.pref_address, s->pref_address);
	assert_int_equal(bp->hdr.init_size, s->init_size);
	assert_memory_equal(raw + 0x1f2, t->kernel + 0x1f2, 0x1fa - 0x1f2);

	/* Fields merak writes. */
	assert_int_equal(bp->hdr.vid_mode, 0xffff);
	assert_int_equal(bp->hdr.type_of_loader, 0xff);
	assert_int_equal(bp->hdr.loadflags, s->loadflags | BZ_CAN_USE_HEAP);
	assert_int_equal(bp->hdr.heap_end_ptr, 0xfe00);
	assert_int_equal(bp->hdr.code32_start, 0x100000);
	assert_int_equal(bp->hdr.cmd_line_ptr, LAYOUT_CMDLINE);
	assert_int_equal(bp->hdr.setup_data, 0);
	assert_int_equal(bp->hdr.hardware_subarch, 0);
	assert_int_equal(bp->hdr.ext_loader_ver, 0);
	assert_int_equal(bp->hdr.ext_loader_type, 0);
}

static void test_load_with_initrd(void **state)
{
	struct bz_spec s = default_spec();
	const char *cmdline = "console=ttyS0 root=/dev/vda rw";
	const size_t ilen = 0x12345;
	struct run t;

	run_load(&t, &s, RAM, ilen, cmdline);
	check_common(&t, &s, cmdline);
	const struct bz_boot_params *bp = zero_page(&t);
	/* Highest page-aligned spot below the end of RAM. */
	u64 want = ALIGN_DOWN(RAM - ilen, PAGE_SIZE);
	assert_int_equal(bp->hdr.ramdisk_image, want);
	assert_int_equal(bp->hdr.ramdisk_size, ilen);
	assert_memory_equal(t.f.hva + want, t.initrd, ilen);
	assert_int_equal(bp->acpi_rsdp_addr, RSDP);

	const struct span written[] = {
	    {LAYOUT_ZERO_PAGE, 4096},
	    {LAYOUT_CMDLINE, strlen(cmdline) + 1},
	    {0x100000, s.pm_size},
	    {want, ilen},
	};
	assert_untouched_except(&t.f, written, ARRAY_SIZE(written));
	run_free(&t);
}

/* An initramfs read from its file straight into guest RAM: the same bytes in the same place. */
static void test_initrd_fill(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	run_load(&t, &s, RAM, 0x12345, "console=ttyS0");
	assert_int_equal(t.r, 0);
	check_fill_like_bytes(boot_load_bzimage, &t.f, &t.p, RAM, zero_page(&t)->hdr.ramdisk_image,
			      false);
	check_fill_like_bytes(boot_load_bzimage, &t.f, &t.p, RAM, zero_page(&t)->hdr.ramdisk_image,
			      true);
	run_free(&t);
}

static void test_load_without_initrd_or_cmdline(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	s.setup_sects = 0; /* means 4 */
	run_load(&t, &s, RAM, 0, NULL);
	check_common(&t, &s, NULL);
	assert_int_equal(zero_page(&t)->hdr.ramdisk_image, 0);
	assert_int_equal(zero_page(&t)->hdr.ramdisk_size, 0);
	const struct span written[] = {
	    {LAYOUT_ZERO_PAGE, 4096},
	    {LAYOUT_CMDLINE, 1},
	    {0x100000, s.pm_size},
	};
	assert_untouched_except(&t.f, written, ARRAY_SIZE(written));
	run_free(&t);
}

static void test_initrd_addr_max_respected(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	s.initrd_addr_max = 0x1ffffff; /* last usable byte below 32 MiB */
	run_load(&t, &s, RAM, 0x3000, "x");
	check_common(&t, &s, "x");
	assert_int_equal(zero_page(&t)->hdr.ramdisk_image, 0x2000000 - 0x3000);
	run_free(&t);
}

static void test_initrd_avoids_kernel_runtime_area(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	/* The kernel runs in [16 MiB, 56 MiB); 10 MiB do not fit above it. */
	s.init_size = 40 * MiB;
	run_load(&t, &s, 64 * MiB, 10 * MiB, "");
	check_common(&t, &s, "");
	assert_int_equal(zero_page(&t)->hdr.ramdisk_image, 6 * MiB);
	/* 4 MiB do. */
	run_free(&t);
	run_load(&t, &s, 64 * MiB, 4 * MiB, "");
	assert_int_equal(t.r, 0);
	assert_int_equal(zero_page(&t)->hdr.ramdisk_image, 60 * MiB);
	run_free(&t);
}

static void test_old_protocol_fields(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	/* 2.12: no acpi_rsdp_addr (2.14+); a header ending at 0x264 is long enough. */
	s.version = 0x20c;
	s.hdr_len = 0x62;
	run_load(&t, &s, RAM, 0, "a");
	check_common(&t, &s, "a");
	assert_int_equal(zero_page(&t)->acpi_rsdp_addr, 0);
	run_free(&t);

	/* 2.06 with a header that ends right after cmdline_size. */
	s = default_spec();
	s.version = 0x206;
	s.hdr_len = 0x3a;
	s.pref_address = 0;
	s.init_size = 0;
	run_load(&t, &s, RAM, 0x1000, "b");
	assert_int_equal(t.r, 0);
	assert_int_equal(zero_page(&t)->hdr.init_size, 0);
	assert_int_equal(zero_page(&t)->hdr.pref_address, 0);
	assert_int_equal(zero_page(&t)->acpi_rsdp_addr, 0);
	run_free(&t);
}

static void test_cmdline_limit(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	s.cmdline_size = 16;
	run_load(&t, &s, RAM, 0, "0123456789abcdef"); /* exactly 16: fine */
	assert_int_equal(t.r, 0);
	run_free(&t);
	run_load(&t, &s, RAM, 0, "0123456789abcdefg");
	assert_int_equal(t.r, -E2BIG);
	assert_msg(&t.e, "command line of 17 bytes exceeds the kernel's limit of 16");
	assert_untouched(&t.f);
	run_free(&t);

	/* Past merak's own 64 KiB area even when the kernel allows more. */
	char *big = malloc(LAYOUT_CMDLINE_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', LAYOUT_CMDLINE_MAX);
	big[LAYOUT_CMDLINE_MAX] = '\0';
	s.cmdline_size = 0x7fffffff;
	run_load(&t, &s, RAM, 0, big);
	assert_int_equal(t.r, -E2BIG);
	assert_msg(&t.e, "exceeds merak's limit of 65535");
	assert_untouched(&t.f);
	run_free(&t);
	free(big);
}

/* ---- hostile images ------------------------------------------------------ */

static void expect_fail(struct run *t, int code, const char *msg)
{
	assert_int_equal(t->r, code);
	assert_msg(&t->e, msg);
	/* Validation happens before any write. */
	assert_untouched(&t->f);
	run_free(t);
}

static void load_raw(struct run *t, const u8 *img, size_t len)
{
	memset(t, 0, sizeof(*t));
	fixture_init(&t->f, RAM);
	t->p = (struct boot_payload){
	    .kernel = img, .kernel_len = len, .e820 = t->f.e820, .n_e820 = t->f.n_e820};
	t->r = boot_load_bzimage(&t->f.gm, &t->p, &t->out, &t->e);
	check_read_like_bytes(boot_load_bzimage, &t->f, &t->p, t->r, &t->out, &t->e);
}

static void test_too_small(void **state)
{
	u8 img[0x207] = {0};
	struct run t;

	put_le16(img + 0x1fe, BZ_BOOT_FLAG);
	put_le32(img + 0x202, BZ_HEADER_MAGIC);
	load_raw(&t, img, sizeof(img));
	expect_fail(&t, -EINVAL, "519 bytes is too small for a bzImage setup header");
}

static void test_bad_magic(void **state)
{
	struct bz_spec s = default_spec();
	size_t len;
	u8 *img = make_bz(&s, &len);
	struct run t;

	put_le16(img + 0x1fe, 0x55aa);
	load_raw(&t, img, len);
	expect_fail(&t, -EINVAL, "no boot signature 0xAA55");
	put_le16(img + 0x1fe, BZ_BOOT_FLAG);
	memcpy(img + 0x202, "HdrZ", 4);
	load_raw(&t, img, len);
	expect_fail(&t, -EINVAL, "no \"HdrS\" setup-header magic");
	free(img);
}

static void test_protocol_too_old(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	s.version = 0x205;
	run_load(&t, &s, RAM, 0, NULL);
	expect_fail(&t, -ENOTSUP, "boot protocol 2.05 is too old (2.06 or later needed)");
}

static void test_not_64bit(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	s.xloadflags = 0x2;
	run_load(&t, &s, RAM, 0, NULL);
	expect_fail(&t, -ENOTSUP, "no 64-bit entry point (xloadflags 0x2 lacks XLF_KERNEL_64");

	s = default_spec();
	s.loadflags = 0;
	run_load(&t, &s, RAM, 0, NULL);
	expect_fail(&t, -ENOTSUP, "loadflags lacks LOADED_HIGH");
}

static void test_setup_sects_past_end(void **state)
{
	struct bz_spec s = default_spec();
	size_t len;
	u8 *img;
	struct run t;

	s.pm_size = 5000 - 4 * 512;
	img = make_bz(&s, &len);
	assert_int_equal(len, 5000);
	img[0x1f1] = 200;
	load_raw(&t, img, len);
	expect_fail(&t, -EINVAL, "setup_sects 200 runs past the end of the 5000-byte file");
	/* Setup exactly as long as the file: no protected-mode part at all. */
	img[0x1f1] = 0;
	load_raw(&t, img, 5 * 512);
	expect_fail(&t, -EINVAL, "setup_sects 4 runs past the end of the 2560-byte file");
	free(img);
}

static void test_header_too_short(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	s.hdr_len = 0x40; /* ends at 0x242: lacks init_size for 2.15 */
	run_load(&t, &s, RAM, 0, NULL);
	expect_fail(&t, -EINVAL, "setup header ends at 0x242, too short for boot protocol 2.15");
}

static void test_kernel_too_big(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	/* init_size past the end of RAM. */
	s.init_size = 0x3000000;
	run_load(&t, &s, 32 * MiB, 0, NULL);
	expect_fail(&t, -ENOMEM, "kernel needs RAM up to 0x4000000");
	assert_true(strstr(t.e.msg, "low RAM ends at 0x2000000") != NULL);

	/* The file itself larger than RAM above 1 MiB. */
	s = default_spec();
	s.pref_address = 0;
	s.init_size = 0;
	s.pm_size = 2 * MiB;
	run_load(&t, &s, 2 * MiB, 0, NULL);
	expect_fail(&t, -ENOMEM, "low RAM ends at 0x200000");

	/* A hostile pref_address that wraps around. */
	s = default_spec();
	s.pref_address = 0xfffffffffff00000ULL;
	run_load(&t, &s, RAM, 0, NULL);
	expect_fail(&t, -ENOMEM, "kernel needs RAM");
}

static void test_bad_alignment(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	s.kernel_alignment = 0x300000;
	run_load(&t, &s, RAM, 0, NULL);
	expect_fail(&t, -EINVAL, "kernel_alignment 0x300000 is not a power of two");
}

static void test_initrd_no_room(void **state)
{
	struct bz_spec s = default_spec();
	struct run t;

	/* Kernel runs in [16 MiB, 24 MiB) of 32 MiB: 15 MiB fits nowhere. */
	run_load(&t, &s, 32 * MiB, 15 * MiB, NULL);
	expect_fail(&t, -ENOMEM, "no room for the 15728640-byte initramfs below 0x2000000");

	/* initrd_addr_max below the kernel. */
	s.initrd_addr_max = 0xfffff;
	run_load(&t, &s, RAM, 4096, NULL);
	expect_fail(&t, -ENOMEM, "initrd_addr_max 0xfffff");
}

static void test_bad_e820(void **state)
{
	struct bz_spec s = default_spec();
	size_t len;
	u8 *img = make_bz(&s, &len);
	struct run t;

	memset(&t, 0, sizeof(t));
	fixture_init(&t.f, RAM);
	t.p = (struct boot_payload){.kernel = img, .kernel_len = len};
	t.r = boot_load_bzimage(&t.f.gm, &t.p, &t.out, &t.e);
	expect_fail(&t, -EINVAL, "e820 map of 0 entries");
	free(img);
}

/* ---- detection, dispatch, firmware --------------------------------------- */

static void test_detect_and_dispatch(void **state)
{
	struct bz_spec s = default_spec();
	size_t len;
	u8 *img = make_bz(&s, &len);
	u8 elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
	u8 junk[600];
	struct run t;

	put_le16(elf + 18, 62);
	assert_int_equal(boot_detect_kernel(img, len), KERNEL_BZIMAGE);
	assert_int_equal(boot_detect_kernel(elf, sizeof(elf)), KERNEL_ELF);
	assert_int_equal(boot_detect_kernel(elf, 19), KERNEL_UNKNOWN);
	elf[4] = 1; /* ELF32 */
	assert_int_equal(boot_detect_kernel(elf, sizeof(elf)), KERNEL_UNKNOWN);
	elf[4] = 2;
	put_le16(elf + 18, 183); /* aarch64 */
	assert_int_equal(boot_detect_kernel(elf, sizeof(elf)), KERNEL_UNKNOWN);
	assert_int_equal(boot_detect_kernel(img, 0x205), KERNEL_UNKNOWN);
	assert_int_equal(boot_detect_kernel(NULL, 0), KERNEL_UNKNOWN);
	memset(junk, 0x90, sizeof(junk));
	assert_int_equal(boot_detect_kernel(junk, sizeof(junk)), KERNEL_UNKNOWN);

	/* boot_load_kernel sends a bzImage to the bzImage loader... */
	memset(&t, 0, sizeof(t));
	fixture_init(&t.f, RAM);
	t.p = (struct boot_payload){
	    .kernel = img, .kernel_len = len, .e820 = t.f.e820, .n_e820 = t.f.n_e820};
	assert_int_equal(boot_load_kernel(&t.f.gm, &t.p, &t.out, &t.e), 0);
	assert_int_equal(t.out.mode, BOOT_MODE_LINUX64);
	check_read_like_bytes(boot_load_kernel, &t.f, &t.p, 0, &t.out, &t.e);
	run_free(&t);

	/* ...and refuses what it does not know. */
	memset(&t, 0, sizeof(t));
	fixture_init(&t.f, RAM);
	t.p = (struct boot_payload){
	    .kernel = junk, .kernel_len = sizeof(junk), .e820 = t.f.e820, .n_e820 = t.f.n_e820};
	t.r = boot_load_kernel(&t.f.gm, &t.p, &t.out, &t.e);
	assert_string_equal(t.e.msg, "neither a bzImage nor an ELF64 x86-64 image");
	check_read_like_bytes(boot_load_kernel, &t.f, &t.p, t.r, &t.out, &t.e);
	expect_fail(&t, -EINVAL, "neither");
	free(img);
}

static void test_firmware_check(void **state)
{
	struct err e;

	assert_int_equal(boot_check_firmware(4096, &e), 0);
	assert_int_equal(boot_check_firmware(2 * MiB, &e), 0);
	assert_int_equal(boot_check_firmware(LAYOUT_FIRMWARE_MAX, &e), 0);
	assert_int_equal(boot_check_firmware(0, &e), -EINVAL);
	assert_msg(&e, "empty");
	assert_int_equal(boot_check_firmware(4095, &e), -EINVAL);
	assert_msg(&e, "size 4095 bytes is not a multiple of 4 KiB");
	assert_int_equal(boot_check_firmware(2 * MiB + 512, &e), -EINVAL);
	assert_int_equal(boot_check_firmware(LAYOUT_FIRMWARE_MAX + 4096, &e), -EFBIG);
	assert_msg(&e, "exceeds the 16 MiB flash window");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_with_initrd),
	    cmocka_unit_test(test_initrd_fill),
	    cmocka_unit_test(test_load_without_initrd_or_cmdline),
	    cmocka_unit_test(test_initrd_addr_max_respected),
	    cmocka_unit_test(test_initrd_avoids_kernel_runtime_area),
	    cmocka_unit_test(test_old_protocol_fields),
	    cmocka_unit_test(test_cmdline_limit),
	    cmocka_unit_test(test_too_small),
	    cmocka_unit_test(test_bad_magic),
	    cmocka_unit_test(test_protocol_too_old),
	    cmocka_unit_test(test_not_64bit),
	    cmocka_unit_test(test_setup_sects_past_end),
	    cmocka_unit_test(test_header_too_short),
	    cmocka_unit_test(test_kernel_too_big),
	    cmocka_unit_test(test_bad_alignment),
	    cmocka_unit_test(test_initrd_no_room),
	    cmocka_unit_test(test_bad_e820),
	    cmocka_unit_test(test_detect_and_dispatch),
	    cmocka_unit_test(test_firmware_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
