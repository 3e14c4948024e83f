// SPDX-License-Identifier: MIT
/*
 * fw_cfg files of the x86 board: the ACPI tables are run through the
 * linker/loader script the way OVMF's AcpiPlatformDxe runs it (allocate,
 * patch pointers, compute checksums), then read back as a guest would; the
 * e820 file is checked entry by entry.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/e820.h"
#include "arch/x86/fwcfg_tables.h"
#include "arch/x86/layout.h"

/* Where the simulated firmware puts the two files. */
#define TABLES_BASE 0x7ff00000ULL
#define RSDP_BASE   0x000f0000ULL

struct loaded {
	u8 *tables;
	size_t tables_len;
	u8 rsdp[ACPI_RSDP_LEN];
	bool tables_alloc, rsdp_alloc;
};

static const struct acpi_config cfg_pci = {
    .ncpus = 3,
    .pci = true,
    .pci_ecam_base = LAYOUT_PCI_ECAM_BASE,
    .pci_mmio32_base = LAYOUT_PCI_MMIO32_BASE,
    .pci_mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
    .pci_mmio64_base = 0x8000000000ULL,
    .pci_mmio64_size = 0x4000000000ULL,
    .serial = true,
};

static u8 *file_of(struct loaded *l, const u8 *name, size_t *len, u64 *base)
{
	if (!strcmp((const char *)name, FWCFG_FILE_ACPI_TABLES)) {
		*len = l->tables_len;
		*base = TABLES_BASE;
		return l->tables;
	}
	if (!strcmp((const char *)name, FWCFG_FILE_ACPI_RSDP)) {
		*len = sizeof(l->rsdp);
		*base = RSDP_BASE;
		return l->rsdp;
	}
	fail_msg("loader names an unknown file '%.56s'", name);
	return NULL;
}

/* Runs the loader script as the firmware does; fails the test on any bad command. */
static void run_loader(const struct fwcfg_acpi *a, struct loaded *l)
{
	memset(l, 0, sizeof(*l));
	l->tables = malloc(a->tables_len);
	assert_non_null(l->tables);
	memcpy(l->tables, a->tables, a->tables_len);
	l->tables_len = a->tables_len;
	assert_int_equal(a->rsdp_len, ACPI_RSDP_LEN);
	memcpy(l->rsdp, a->rsdp, ACPI_RSDP_LEN);
	assert_int_equal(a->loader_len % LOADER_ENTRY_LEN, 0);

	for (size_t off = 0; off < a->loader_len; off += LOADER_ENTRY_LEN) {
		const u8 *c = a->loader + off;
		size_t len, srclen;
		u64 base, srcbase;
		u8 *dst;

		/* Every name field is NUL-terminated inside its 56 bytes. */
		switch (get_le32(c)) {
		case LOADER_ALLOCATE:
			assert_non_null(memchr(c + LOADER_ALLOC_FILE, 0, LOADER_FILE_LEN));
			file_of(l, c + LOADER_ALLOC_FILE, &len, &base);
			assert_int_equal(base % get_le32(c + LOADER_ALLOC_ALIGN), 0);
			if (!strcmp((const char *)c + LOADER_ALLOC_FILE, FWCFG_FILE_ACPI_RSDP)) {
				assert_int_equal(c[LOADER_ALLOC_ZONE], LOADER_ZONE_FSEG);
				l->rsdp_alloc = true;
			} else {
				assert_int_equal(c[LOADER_ALLOC_ZONE], LOADER_ZONE_HIGH);
				assert_true(get_le32(c + LOADER_ALLOC_ALIGN) >= 64); /* FACS */
				l->tables_alloc = true;
			}
			break;
		case LOADER_ADD_POINTER: {
			u32 poff = get_le32(c + LOADER_PTR_OFFSET);
			u8 size = c[LOADER_PTR_SIZE];
			u64 v;

			assert_true(l->tables_alloc && l->rsdp_alloc);
			dst = file_of(l, c + LOADER_PTR_DEST, &len, &base);
			file_of(l, c + LOADER_PTR_SRC, &srclen, &srcbase);
			assert_true(size == 4 || size == 8);
			assert_true(poff + size <= len);
			v = size == 8 ? get_le64(dst + poff) : get_le32(dst + poff);
			assert_true(v < srclen); /* an offset into the source file */
			v += srcbase;
			if (size == 8)
				put_le64(dst + poff, v);
			else
				put_le32(dst + poff, (u32)v);
			break;
		}
		case LOADER_ADD_CHECKSUM: {
			u32 coff = get_le32(c + LOADER_CSUM_OFFSET);
			u32 start = get_le32(c + LOADER_CSUM_START);
			u32 clen = get_le32(c + LOADER_CSUM_LENGTH);
			u8 sum = 0;

			dst = file_of(l, c + LOADER_CSUM_FILE, &len, &base);
			assert_true(start + clen <= len && coff >= start && coff < start + clen);
			assert_int_equal(dst[coff], 0); /* QEMU's contract: the field starts at 0 */
			for (u32 i = 0; i < clen; i++)
				sum += dst[start + i];
			dst[coff] = (u8)-sum;
			break;
		}
		default:
			fail_msg("unknown loader command %u at entry %zu", get_le32(c),
				 off / LOADER_ENTRY_LEN);
		}
	}
	assert_true(l->tables_alloc && l->rsdp_alloc);
}

/* A guest-address pointer into the loaded tables, checked to lie inside them. */
static const u8 *at(const struct loaded *l, u64 gpa, size_t need)
{
	assert_true(gpa >= TABLES_BASE && gpa - TABLES_BASE + need <= l->tables_len);
	return l->tables + (gpa - TABLES_BASE);
}

static u8 sum8(const u8 *p, size_t len)
{
	u8 s = 0;

	while (len--)
		s += *p++;
	return s;
}

static const u8 *table(const struct loaded *l, u64 gpa, const char *sig)
{
	const u8 *t = at(l, gpa, 36);

	assert_memory_equal(t, sig, 4);
	at(l, gpa, get_le32(t + 4));
	assert_int_equal(sum8(t, get_le32(t + 4)), 0);
	return t;
}

static void test_acpi_through_loader(void **state)
{
	struct fwcfg_acpi a;
	struct loaded l;
	struct err e = {0};
	const u8 *xsdt, *fadt = NULL, *madt = NULL, *mcfg = NULL, *dsdt, *facs;
	unsigned n_lapic = 0;

	(void)state;
	assert_int_equal(fwcfg_acpi_build(&cfg_pci, &a, &e), 0);
	run_loader(&a, &l);

	/* RSDP: revision 2, both checksums, XSDT pointer relocated into the tables. */
	assert_memory_equal(l.rsdp, "RSD PTR ", 8);
	assert_int_equal(l.rsdp[15], 2);
	assert_int_equal(sum8(l.rsdp, 20), 0);
	assert_int_equal(sum8(l.rsdp, ACPI_RSDP_LEN), 0);
	xsdt = table(&l, get_le64(l.rsdp + 24), "XSDT");

	for (u32 off = 36; off < get_le32(xsdt + 4); off += 8) {
		u64 p = get_le64(xsdt + off);
		const u8 *t = at(&l, p, 36);

		if (!memcmp(t, "FACP", 4))
			fadt = table(&l, p, "FACP");
		else if (!memcmp(t, "APIC", 4))
			madt = table(&l, p, "APIC");
		else if (!memcmp(t, "MCFG", 4))
			mcfg = table(&l, p, "MCFG");
		else
			fail_msg("unexpected XSDT entry %.4s", t);
	}
	assert_non_null(fadt);
	assert_non_null(madt);
	assert_non_null(mcfg);

	/* FADT: the 32- and 64-bit DSDT and FACS pointers agree after relocation. */
	assert_int_equal(get_le32(fadt + 40), get_le64(fadt + 140));
	assert_int_equal(get_le32(fadt + 36), get_le64(fadt + 132));
	dsdt = table(&l, get_le64(fadt + 140), "DSDT");
	facs = at(&l, get_le64(fadt + 132), 64);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal((get_le64(fadt + 132)) % 64, 0);
	assert_non_null(dsdt);

	/* MADT: one enabled local APIC per vCPU. */
	for (u32 off = 44; off + 2 <= get_le32(madt + 4); off += madt[off + 1]) {
		assert_true(madt[off + 1] >= 2);
		if (madt[off] == 0 && (get_le32(madt + off + 4) & 1))
			n_lapic++;
	}
	assert_int_equal(n_lapic, cfg_pci.ncpus);
	assert_int_equal(get_le64(mcfg + 44), LAYOUT_PCI_ECAM_BASE);

	free(l.tables);
	fwcfg_acpi_free(&a);
	assert_null(a.tables);
}

static void test_acpi_without_pci_has_no_mcfg(void **state)
{
	struct acpi_config cfg = {.ncpus = 1, .serial = true};
	struct fwcfg_acpi a;
	struct loaded l;
	struct err e = {0};
	const u8 *xsdt;

	(void)state;
	assert_int_equal(fwcfg_acpi_build(&cfg, &a, &e), 0);
	run_loader(&a, &l);
	xsdt = table(&l, get_le64(l.rsdp + 24), "XSDT");
	assert_int_equal(get_le32(xsdt + 4), 36 + 2 * 8); /* FADT and MADT only */
	free(l.tables);
	fwcfg_acpi_free(&a);
}

static void test_acpi_bad_config_is_an_error(void **state)
{
	struct acpi_config cfg = {.ncpus = 0};
	struct fwcfg_acpi a;
	struct err e = {0};

	(void)state;
	assert_true(fwcfg_acpi_build(&cfg, &a, &e) < 0);
	assert_true(e.msg[0] != '\0');
	assert_null(a.tables);
	assert_null(a.loader);
}

static void test_e820_sorted_with_kvm_pages(void **state)
{
	struct guest_mem gm;
	struct err e = {0};
	static u8 hi[4096], lo[4096], fw[4096];
	u8 *buf = NULL;
	size_t len = 0;

	(void)state;
	guest_mem_init(&gm);
	/* Registered out of order, with a firmware region that must not appear. */
	assert_int_equal(guest_mem_add(&gm, 0x100000000ULL, 0x40000000ULL, hi, MEM_RAM, &e), 0);
	assert_int_equal(guest_mem_add(&gm, 0xffc00000ULL, 0x400000ULL, fw, MEM_FIRMWARE, &e), 0);
	assert_int_equal(guest_mem_add(&gm, 0, 0x80000000ULL, lo, MEM_RAM, &e), 0);

	assert_int_equal(fwcfg_e820_build(&gm, true, &buf, &len, &e), 0);
	assert_int_equal(len, 3 * FWCFG_E820_ENTRY_LEN);
	assert_int_equal(get_le64(buf), 0);
	assert_int_equal(get_le64(buf + 8), 0x80000000ULL);
	assert_int_equal(get_le32(buf + 16), E820_RAM);
	assert_int_equal(get_le64(buf + 20), 0x100000000ULL);
	assert_int_equal(get_le64(buf + 28), 0x40000000ULL);
	assert_int_equal(get_le32(buf + 36), E820_RAM);
	assert_int_equal(get_le64(buf + 40), LAYOUT_IDENTITY_MAP);
	assert_int_equal(get_le64(buf + 48), 0x4000);
	assert_int_equal(get_le32(buf + 56), E820_RESERVED);
	free(buf);

	/* A TD has no identity map or TSS: RAM only. */
	assert_int_equal(fwcfg_e820_build(&gm, false, &buf, &len, &e), 0);
	assert_int_equal(len, 2 * FWCFG_E820_ENTRY_LEN);
	free(buf);
	guest_mem_free(&gm);
}

static void test_e820_without_ram_is_an_error(void **state)
{
	struct guest_mem gm;
	struct err e = {0};
	u8 *buf = NULL;
	size_t len = 0;

	(void)state;
	guest_mem_init(&gm);
	assert_int_equal(fwcfg_e820_build(&gm, true, &buf, &len, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "no RAM"));
	assert_null(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_acpi_through_loader),
	    cmocka_unit_test(test_acpi_without_pci_has_no_mcfg),
	    cmocka_unit_test(test_acpi_bad_config_is_an_error),
	    cmocka_unit_test(test_e820_sorted_with_kvm_pages),
	    cmocka_unit_test(test_e820_without_ram_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
