// SPDX-License-Identifier: MIT
/*
 * merak's ACPI tables, read back from guest memory. Field offsets are those
 * of the ACPI 6.4 specification (and Linux include/acpi/actbl*.h).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"

struct fixture {
	struct guest_mem gm;
	u64 rsdp;
};

/* Hotplug slots as merak's board has them: all but the host bridge (0) and the LPC (31). */
#define BOARD_HOTPLUG_SLOTS 0x7ffffffeu

static const struct acpi_config full_cfg = {
    .ncpus = 2,
    .pci = true,
    .pci_ecam_base = LAYOUT_PCI_ECAM_BASE,
    .pci_mmio32_base = LAYOUT_PCI_MMIO32_BASE,
    .pci_mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
    .pci_mmio64_base = 0x8000000000ULL,
    .pci_mmio64_size = 0x4000000000ULL,
    .serial = true,
    .pci_hotplug_slots = BOARD_HOTPLUG_SLOTS,
};

static void build(struct fixture *f, const struct acpi_config *cfg)
{
	struct err e = {0};

	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add_anon(&f->gm, 0, 1 * MiB, MEM_RAM, &e), 0);
	assert_int_equal(acpi_build(&f->gm, cfg, &f->rsdp, &e), 0);
}

static const u8 *ptr(struct fixture *f, u64 gpa, u64 len)
{
	const u8 *p = guest_mem_ptr(&f->gm, gpa, len);

	assert_non_null(p);
	return p;
}

/* A table at gpa with a good header; returns it and checks its signature. */
static const u8 *table(struct fixture *f, u64 gpa, const char *sig)
{
	const u8 *t = ptr(f, gpa, 36);
	u32 len = get_le32(t + 4);

	assert_memory_equal(t, sig, 4);
	assert_true(len >= 36);
	t = ptr(f, gpa, len);
	assert_int_equal(acpi_checksum(t, len), 0);
	assert_memory_equal(t + 10, "MERAK ", 6);
	assert_memory_equal(t + 16, "MERAKVM ", 8);
	assert_memory_equal(t + 28, "MRAK", 4);
	/* Tables sit inside the ACPI area. */
	assert_true(gpa >= LAYOUT_ACPI_BASE && gpa + len <= LAYOUT_ACPI_BASE + LAYOUT_ACPI_SIZE);
	return t;
}

static const u8 *xsdt(struct fixture *f)
{
	return table(f, get_le64(ptr(f, f->rsdp, 36) + 24), "XSDT");
}

/* The table with signature sig listed in the XSDT, or NULL. */
static const u8 *find(struct fixture *f, const char *sig, u64 *gpa)
{
	const u8 *x = xsdt(f);
	u32 n = (get_le32(x + 4) - 36) / 8;

	for (u32 i = 0; i < n; i++) {
		u64 a = get_le64(x + 36 + 8 * i);

		if (!memcmp(ptr(f, a, 4), sig, 4)) {
			if (gpa)
				*gpa = a;
			return table(f, a, sig);
		}
	}
	return NULL;
}

static const u8 *dsdt(struct fixture *f)
{
	const u8 *fadt = find(f, "FACP", NULL);

	assert_non_null(fadt);
	return table(f, get_le64(fadt + 140), "DSDT");
}

static bool contains(const u8 *hay, size_t n, const void *needle, size_t m)
{
	return memmem(hay, n, needle, m) != NULL;
}

static void test_rsdp(void **state)
{
	struct fixture f;
	const u8 *r;

	build(&f, &full_cfg);
	assert_int_equal(f.rsdp, LAYOUT_ACPI_BASE);
	assert_true(IS_ALIGNED(f.rsdp, 16));
	r = ptr(&f, f.rsdp, 36);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(acpi_checksum(r, 20), 0);
	assert_int_equal(acpi_checksum(r, 36), 0);
	assert_memory_equal(r + 9, "MERAK ", 6);
	assert_int_equal(r[15], 2);
	assert_int_equal(get_le32(r + 20), 36);
	assert_int_equal(get_le32(r + 16), 0); /* XSDT only */
	xsdt(&f);
	guest_mem_free(&f.gm);
}

static void test_xsdt_entries(void **state)
{
	static const char *const want[] = {"FACP", "APIC", "MCFG"};
	struct fixture f;
	const u8 *x;

	build(&f, &full_cfg);
	x = xsdt(&f);
	assert_int_equal(get_le32(x + 4), 36 + 8 * 3);
	assert_int_equal(x[8], 1);
	for (int i = 0; i < 3; i++)
		table(&f, get_le64(x + 36 + 8 * i), want[i]);
	guest_mem_free(&f.gm);

	/* Without PCI there is no MCFG. */
	struct acpi_config cfg = full_cfg;
	cfg.pci = false;
	build(&f, &cfg);
	x = xsdt(&f);
	assert_int_equal(get_le32(x + 4), 36 + 8 * 2);
	assert_null(find(&f, "MCFG", NULL));
	assert_non_null(find(&f, "APIC", NULL));
	guest_mem_free(&f.gm);
}

static void assert_gas(const u8 *g, u8 space, u8 width, u64 addr)
{
	assert_int_equal(g[0], space);
	assert_int_equal(g[1], width);
	assert_int_equal(g[2], 0);
	assert_int_equal(get_le64(g + 4), addr);
}

static void test_fadt(void **state)
{
	struct fixture f;
	const u8 *t;
	u64 facs, dsdt_gpa;
	u32 flags;

	build(&f, &full_cfg);
	t = find(&f, "FACP", NULL);
	assert_non_null(t);
	assert_int_equal(get_le32(t + 4), 276);
	assert_int_equal(t[8], 6);
	assert_int_equal(t[131], 4); /* minor version */
	facs = get_le64(t + 132);
	dsdt_gpa = get_le64(t + 140);
	assert_int_equal(get_le32(t + 36), facs);
	assert_int_equal(get_le32(t + 40), dsdt_gpa);
	assert_int_equal(get_le16(t + 46), 9);	   /* SCI_INT */
	assert_int_equal(get_le32(t + 48), 0);	   /* SMI_CMD: no SMM */
	assert_int_equal(t[52], 0);		   /* ACPI_ENABLE */
	assert_int_equal(t[53], 0);		   /* ACPI_DISABLE */
	assert_int_equal(get_le32(t + 56), 0x600); /* PM1a_EVT_BLK */
	assert_int_equal(get_le32(t + 60), 0);	   /* PM1b_EVT_BLK */
	assert_int_equal(get_le32(t + 64), 0x604); /* PM1a_CNT_BLK */
	assert_int_equal(get_le32(t + 68), 0);
	assert_int_equal(get_le32(t + 76), 0x608); /* PM_TMR_BLK */
	assert_int_equal(get_le32(t + 80), 0x620); /* GPE0_BLK */
	assert_int_equal(get_le32(t + 84), 0);	   /* no GPE1 block */
	assert_int_equal(t[88], 4);		   /* PM1_EVT_LEN */
	assert_int_equal(t[89], 2);		   /* PM1_CNT_LEN */
	assert_int_equal(t[91], 4);		   /* PM_TMR_LEN */
	assert_int_equal(t[92], 4);		   /* GPE0_BLK_LEN: 2 status + 2 enable bytes */
	assert_int_equal(t[93], 0);		   /* GPE1_BLK_LEN */
	assert_true(get_le16(t + 96) > 100);	   /* no C2 */
	assert_true(get_le16(t + 98) > 1000);	   /* no C3 */
	assert_int_equal(t[108], 0x32);		   /* CENTURY */
	/* IAPC_BOOT_ARCH: legacy devices, 8042, no VGA; MSI not supported stays clear. */
	assert_int_equal(get_le16(t + 109), 0x0007);
	flags = get_le32(t + 112);
	assert_true(flags & (1u << 0));	   /* WBINVD */
	assert_false(flags & (1u << 4));   /* PWR_BUTTON clear: fixed power button */
	assert_true(flags & (1u << 8));	   /* TMR_VAL_EXT: 32-bit timer */
	assert_true(flags & (1u << 10));   /* RESET_REG_SUP */
	assert_false(flags & (1u << 20));  /* not HW_REDUCED_ACPI */
	assert_gas(t + 116, 1, 8, 0xcf9);  /* RESET_REG */
	assert_int_equal(t[128], 0x06);	   /* RESET_VALUE */
	assert_gas(t + 148, 1, 32, 0x600); /* X_PM1a_EVT_BLK */
	assert_gas(t + 160, 0, 0, 0);	   /* X_PM1b_EVT_BLK */
	assert_gas(t + 172, 1, 16, 0x604); /* X_PM1a_CNT_BLK */
	assert_gas(t + 208, 1, 32, 0x608); /* X_PM_TMR_BLK */
	assert_gas(t + 220, 1, 32, 0x620); /* X_GPE0_BLK */
	assert_int_equal(t[223], 1);	   /* byte access, as ACPICA makes it */
	assert_gas(t + 232, 0, 0, 0);	   /* X_GPE1_BLK */
	assert_gas(t + 244, 0, 0, 0);	   /* SLEEP_CONTROL_REG: not HW-reduced */
	table(&f, dsdt_gpa, "DSDT");

	/* The FACS: 64 bytes, 64-byte aligned, no checksum field. */
	const u8 *fc = ptr(&f, facs, 64);
	assert_true(IS_ALIGNED(facs, 64));
	assert_memory_equal(fc, "FACS", 4);
	assert_int_equal(get_le32(fc + 4), 64);
	assert_int_equal(get_le32(fc + 12), 0); /* waking vector */
	assert_int_equal(get_le32(fc + 16), 0); /* global lock */
	assert_int_equal(fc[32], 2);
	guest_mem_free(&f.gm);
}

struct madt_summary {
	unsigned lapics, x2apics, ioapics, isos, nmis, x2nmis, other;
	u32 ids[400];
	u32 uids[400];
	u8 ioapic_id;
	u32 ioapic_addr, ioapic_gsi;
	u8 iso_irq[4];
	u32 iso_gsi[4];
	u16 iso_flags[4];
};

static void walk_madt(struct fixture *f, struct madt_summary *s)
{
	const u8 *t = find(f, "APIC", NULL);
	u32 len, off;

	memset(s, 0, sizeof(*s));
	assert_non_null(t);
	len = get_le32(t + 4);
	assert_int_equal(t[8], 5);
	assert_int_equal(get_le32(t + 36), 0xfee00000);
	assert_int_equal(get_le32(t + 40), 1); /* PCAT_COMPAT */
	for (off = 44; off < len;) {
		const u8 *p = t + off;
		unsigned cpu = s->lapics + s->x2apics;

		assert_true(off + 2 <= len && p[1] >= 2 && off + p[1] <= len);
		switch (p[0]) {
		case 0:
			assert_int_equal(p[1], 8);
			s->uids[cpu] = p[2];
			s->ids[cpu] = p[3];
			assert_int_equal(get_le32(p + 4), 1); /* enabled */
			s->lapics++;
			break;
		case 9:
			assert_int_equal(p[1], 16);
			s->ids[cpu] = get_le32(p + 4);
			assert_int_equal(get_le32(p + 8), 1);
			s->uids[cpu] = get_le32(p + 12);
			s->x2apics++;
			break;
		case 1:
			assert_int_equal(p[1], 12);
			s->ioapic_id = p[2];
			s->ioapic_addr = get_le32(p + 4);
			s->ioapic_gsi = get_le32(p + 8);
			s->ioapics++;
			break;
		case 2:
			assert_int_equal(p[1], 10);
			assert_int_equal(p[2], 0); /* ISA bus */
			assert_true(s->isos < 4);
			s->iso_irq[s->isos] = p[3];
			s->iso_gsi[s->isos] = get_le32(p + 4);
			s->iso_flags[s->isos] = get_le16(p + 8);
			s->isos++;
			break;
		case 4:
			assert_int_equal(p[1], 6);
			assert_int_equal(p[2], 0xff);
			assert_int_equal(p[5], 1); /* LINT1 */
			s->nmis++;
			break;
		case 10:
			assert_int_equal(p[1], 12);
			assert_int_equal(get_le32(p + 4), 0xffffffff);
			assert_int_equal(p[8], 1);
			s->x2nmis++;
			break;
		default:
			s->other++;
		}
		off += p[1];
	}
	assert_int_equal(off, len);
}

static void test_madt_counts(void **state)
{
	static const u32 counts[] = {1, 2, 8};

	for (size_t c = 0; c < ARRAY_SIZE(counts); c++) {
		struct acpi_config cfg = full_cfg;
		struct madt_summary s;
		struct fixture f;

		cfg.ncpus = counts[c];
		build(&f, &cfg);
		walk_madt(&f, &s);
		assert_int_equal(s.lapics, counts[c]);
		assert_int_equal(s.x2apics, 0);
		for (u32 i = 0; i < counts[c]; i++) {
			assert_int_equal(s.ids[i], i);
			assert_int_equal(s.uids[i], i);
		}
		assert_int_equal(s.ioapics, 1);
		assert_int_equal(s.ioapic_id, 0); /* what the IOAPIC's ID register says */
		assert_int_equal(s.ioapic_addr, 0xfec00000);
		assert_int_equal(s.ioapic_gsi, 0);
		assert_int_equal(s.isos, 2);
		assert_int_equal(s.iso_irq[0], 0);
		assert_int_equal(s.iso_gsi[0], 2);
		assert_int_equal(s.iso_flags[0], 0x5); /* edge, active high */
		assert_int_equal(s.iso_irq[1], 9);
		assert_int_equal(s.iso_gsi[1], 9);
		assert_int_equal(s.iso_flags[1], 0xd); /* level, active high */
		assert_int_equal(s.nmis, 1);
		assert_int_equal(s.x2nmis, 0);
		assert_int_equal(s.other, 0);
		guest_mem_free(&f.gm);
	}
}

static void test_madt_x2apic(void **state)
{
	struct acpi_config cfg = full_cfg;
	struct madt_summary s;
	struct fixture f;

	cfg.ncpus = 300;
	build(&f, &cfg);
	walk_madt(&f, &s);
	/* APIC ID 255 is the xAPIC broadcast ID: from there on, x2APIC entries. */
	assert_int_equal(s.lapics, 255);
	assert_int_equal(s.x2apics, 45);
	for (u32 i = 0; i < 300; i++) {
		assert_int_equal(s.ids[i], i);
		assert_int_equal(s.uids[i], i);
	}
	assert_int_equal(s.ioapics, 1);
	assert_int_equal(s.x2nmis, 1);
	guest_mem_free(&f.gm);
}

static void test_mcfg(void **state)
{
	struct acpi_config cfg = full_cfg;
	struct fixture f;
	const u8 *t;

	build(&f, &cfg);
	t = find(&f, "MCFG", NULL);
	assert_non_null(t);
	assert_int_equal(get_le32(t + 4), 60);
	assert_int_equal(get_le64(t + 44), 0xb0000000);
	assert_int_equal(get_le16(t + 52), 0);
	assert_int_equal(t[54], 0);
	assert_int_equal(t[55], 255);
	guest_mem_free(&f.gm);

	/* A 16 MiB ECAM window holds buses 0-15; the DSDT bus range says the same. */
	cfg.pci_ecam_size = 16 * MiB;
	build(&f, &cfg);
	t = find(&f, "MCFG", NULL);
	assert_int_equal(t[55], 15);
	t = dsdt(&f);
	const u8 bus[] = {0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 15, 0, 0, 0, 16, 0};
	assert_true(contains(t, get_le32(t + 4), bus, sizeof(bus)));
	guest_mem_free(&f.gm);
}

static void test_dsdt_contents(void **state)
{
	/* Name(\_S5, Package(4){5, 0, 0, 0}) */
	static const u8 s5[] = {0x08, '\\', '_',  'S',	'5',  '_',  0x12,
				0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00};
	static const u8 com1_hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01};
	static const u8 pci_hid[] = {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08};
	static const u8 pci_cid[] = {0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03};
	static const u8 com1_io[] = {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03,
				     0x01, 0x08, 0x22, 0x10, 0x00};
	static const u8 cfg_io[] = {0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08};
	static const u8 dev_com1[] = {'C', 'O', 'M', '1', 0x08, '_', 'H', 'I', 'D'};
	static const u8 dev_pci0[] = {'P', 'C', 'I', '0', 0x08, '_', 'H', 'I', 'D'};
	struct acpi_config cfg = full_cfg;
	struct fixture f;
	const u8 *t;
	u32 len;

	build(&f, &cfg);
	t = dsdt(&f);
	len = get_le32(t + 4);
	assert_int_equal(t[8], 2);
	assert_true(contains(t, len, s5, sizeof(s5)));
	assert_true(contains(t, len, dev_com1, sizeof(dev_com1)));
	assert_true(contains(t, len, com1_hid, sizeof(com1_hid)));
	assert_true(contains(t, len, com1_io, sizeof(com1_io)));
	assert_true(contains(t, len, dev_pci0, sizeof(dev_pci0)));
	assert_true(contains(t, len, pci_hid, sizeof(pci_hid)));
	assert_true(contains(t, len, pci_cid, sizeof(pci_cid)));
	assert_true(contains(t, len, cfg_io, sizeof(cfg_io)));
	assert_true(contains(t, len, "\x8a\x2b\x00", 3)); /* the 64-bit window */
	/* No power-button device: the FADT's fixed power button is used. */
	assert_false(contains(t, len, "PWRB", 4));
	guest_mem_free(&f.gm);

	/* Neither serial nor PCI, nor a 64-bit window: only \_SB and \_S5 remain. */
	cfg.serial = false;
	cfg.pci = false;
	build(&f, &cfg);
	t = dsdt(&f);
	len = get_le32(t + 4);
	assert_true(contains(t, len, s5, sizeof(s5)));
	assert_false(contains(t, len, "COM1", 4));
	assert_false(contains(t, len, "PCI0", 4));
	guest_mem_free(&f.gm);

	cfg = full_cfg;
	cfg.pci_mmio64_size = 0;
	build(&f, &cfg);
	t = dsdt(&f);
	assert_false(contains(t, get_le32(t + 4), "\x8a\x2b\x00", 3));
	guest_mem_free(&f.gm);
}

/* The DSDT's PCI hotplug AML (devices/pci_hotplug.h has the registers it drives). */
static void test_dsdt_hotplug(void **state)
{
	/* OperationRegion (HPRG, SystemIO, 0x0AE0, 0x10) */
	static const u8 region[] = {0x5b, 0x80, 'H', 'P', 'R', 'G', 0x01, 0x0b, 0xe0, 0x0a, 0x0a, 0x10};
	/* Field (HPRG, DWordAcc, NoLock, WriteAsZeros) { HPUP, 32, HPDN, 32, HPEJ, 32, HPSL, 32 } */
	static const u8 field[] = {0x5b, 0x81, 26,  'H', 'P', 'R', 'G', 0x43, 'H', 'P',
				   'U',	 'P',  0x20, 'H', 'P', 'D', 'N', 0x20, 'H', 'P',
				   'E',	 'J',  0x20, 'H', 'P', 'S', 'L', 0x20};
	/* Device (SL01) { _ADR 0x00010000, _SUN 1, Method (_EJ0, 1) { Store (2, HPEJ) } } */
	static const u8 sl01[] = {0x5b, 0x82, 35,  'S',  'L', '0', '1', 0x08, '_', 'A', 'D',
				  'R',	0x0c, 0x00, 0x00, 0x01, 0x00, 0x08, '_', 'S', 'U', 'N',
				  0x01, 0x14, 13,   '_',  'E', 'J', '0', 0x01, 0x70, 0x0a, 0x02,
				  'H',	'P',  'E',  'J'};
	/* Slot 30's bit needs a DWordConst. */
	static const u8 sl1e_ej0[] = {'_', 'E', 'J', '0', 0x01, 0x70, 0x0c, 0x00,
				      0x00, 0x00, 0x40, 'H', 'P', 'E', 'J'};
	static const u8 sl1e_adr[] = {'S', 'L', '1', 'E', 0x08, '_', 'A', 'D', 'R',
				      0x0c, 0x00, 0x00, 0x1e, 0x00, 0x08, '_', 'S', 'U',
				      'N',  0x0a, 0x1e};
	/* Method (HPSC, 0, Serialized) { Local0 = HPUP; Local1 = HPDN; If (Local0 & 2) ... */
	static const u8 scan[] = {'H', 'P', 'S', 'C', 0x08, 0x70, 'H', 'P', 'U', 'P', 0x60,
				  0x70, 'H', 'P', 'D', 'N', 0x61, 0xa0, 12, 0x7b, 0x60, 0x0a,
				  0x02, 0x00, 0x86, 'S', 'L', '0', '1', 0x01, 0xa0, 13,
				  0x7b, 0x61, 0x0a, 0x02, 0x00, 0x86, 'S', 'L', '0', '1',
				  0x0a, 0x03};
	/* Scope (\_GPE) { Method (_E01) { \_SB.PCI0.HPSC () } } */
	static const u8 gpe[] = {0x10, 28,   '\\', '_', 'G', 'P', 'E', 0x14, 21, '_', 'E',
				 '0',  '1',  0x00, '\\', 0x2f, 3,   '_', 'S', 'B', '_',
				 'P',  'C',  'I',  '0', 'H', 'P', 'S', 'C'};
	static const u8 hprs_io[] = {0x47, 0x01, 0xe0, 0x0a, 0xe0, 0x0a, 0x01, 0x10};
	static const u8 hprs_hid[] = {'H', 'P', 'R', 'S', 0x08, '_', 'H', 'I', 'D',
				      0x0c, 0x41, 0xd0, 0x0c, 0x02};
	struct acpi_config cfg = full_cfg;
	struct fixture f;
	const u8 *t;
	u32 len;

	build(&f, &cfg);
	t = dsdt(&f);
	len = get_le32(t + 4);
	assert_true(contains(t, len, region, sizeof(region)));
	assert_true(contains(t, len, field, sizeof(field)));
	assert_true(contains(t, len, hprs_hid, sizeof(hprs_hid)));
	assert_true(contains(t, len, hprs_io, sizeof(hprs_io)));
	assert_true(contains(t, len, sl01, sizeof(sl01)));
	assert_true(contains(t, len, sl1e_adr, sizeof(sl1e_adr)));
	assert_true(contains(t, len, sl1e_ej0, sizeof(sl1e_ej0)));
	assert_true(contains(t, len, scan, sizeof(scan)));
	assert_true(contains(t, len, gpe, sizeof(gpe)));
	/* Slots 0 (host bridge) and 31 (LPC) are not hotplug slots. */
	assert_false(contains(t, len, "SL00", 4));
	assert_false(contains(t, len, "SL1F", 4));
	for (unsigned s = 1; s < 31; s++) {
		char name[5];

		snprintf(name, sizeof(name), "SL%02X", s);
		assert_true(contains(t, len, name, 4));
	}
	guest_mem_free(&f.gm);

	/* A subset: only those slots appear. */
	cfg.pci_hotplug_slots = (1u << 3) | (1u << 5);
	build(&f, &cfg);
	t = dsdt(&f);
	len = get_le32(t + 4);
	assert_true(contains(t, len, "SL03", 4));
	assert_true(contains(t, len, "SL05", 4));
	assert_false(contains(t, len, "SL01", 4));
	assert_false(contains(t, len, "SL04", 4));
	guest_mem_free(&f.gm);

	/* No hotplug slots, or no PCI: no registers, slots or GPE method. */
	for (int i = 0; i < 2; i++) {
		cfg = full_cfg;
		if (i == 0)
			cfg.pci_hotplug_slots = 0;
		else
			cfg.pci = false;
		build(&f, &cfg);
		t = dsdt(&f);
		len = get_le32(t + 4);
		assert_false(contains(t, len, "HPRG", 4));
		assert_false(contains(t, len, "SL01", 4));
		assert_false(contains(t, len, "_GPE", 4));
		assert_false(contains(t, len, "_E01", 4));
		guest_mem_free(&f.gm);
	}
}

static void expect_error(const struct acpi_config *cfg, u64 mem_base, int code, const char *msg)
{
	struct guest_mem gm;
	struct err e = {0};
	u64 rsdp = 0x1234;
	int r;

	guest_mem_init(&gm);
	assert_int_equal(guest_mem_add_anon(&gm, mem_base, 1 * MiB, MEM_RAM, &e), 0);
	r = acpi_build(&gm, cfg, &rsdp, &e);
	if (r != code)
		fail_msg("acpi_build returned %d, not %d, expecting '%s'", r, code, msg);
	if (e.code != code)
		fail_msg("e.code %d for \"%s\"", e.code, e.msg);
	if (!strstr(e.msg, msg))
		fail_msg("error '%s' lacks '%s'", e.msg, msg);
	assert_int_equal(rsdp, 0x1234);
	guest_mem_free(&gm);
}

static void test_bad_configs(void **state)
{
	struct acpi_config cfg;

	cfg = full_cfg;
	cfg.ncpus = 0;
	expect_error(&cfg, 0, -EINVAL, "no vCPUs");

	cfg = full_cfg;
	cfg.pci_ecam_base = LAYOUT_PCI_ECAM_BASE + 4096;
	expect_error(&cfg, 0, -EINVAL, "PCI ECAM window 0xb0001000+0x10000000 is not whole 1 MiB");
	cfg = full_cfg;
	cfg.pci_ecam_size = 512 * MiB;
	expect_error(&cfg, 0, -EINVAL, "at most 256");
	cfg = full_cfg;
	cfg.pci_ecam_base = 0xfffffffffff00000ULL;
	expect_error(&cfg, 0, -EINVAL, "PCI ECAM window");

	cfg = full_cfg;
	cfg.pci_mmio32_base = 0xf0000000;
	expect_error(&cfg, 0, -EINVAL, "PCI 32-bit window 0xf0000000+0x20000000");
	cfg = full_cfg;
	cfg.pci_mmio32_size = 0;
	expect_error(&cfg, 0, -EINVAL, "is empty");
	cfg = full_cfg;
	cfg.pci_mmio64_base = ~0ULL - 10;
	expect_error(&cfg, 0, -EINVAL, "PCI 64-bit window");

	cfg = full_cfg;
	cfg.ncpus = 8300;
	expect_error(&cfg, 0, -E2BIG,
		     "the ACPI tables (8300 vCPUs, 2535-byte DSDT) exceed the 128 KiB area");
	cfg.ncpus = 0xffffffff;
	expect_error(&cfg, 0, -E2BIG, "exceed the 128 KiB area");

	/* Guest RAM that does not cover 0xE0000. */
	expect_error(&full_cfg, 16 * MiB, -EFAULT, "writing the ACPI tables");
}

/* ---- disassembly with iasl, when installed ------------------------------------ */

static const char *find_iasl(void)
{
	const char *p = getenv("MERAK_IASL");

	if (p && *p)
		return p;
	return access("/usr/bin/iasl", X_OK) == 0 ? "/usr/bin/iasl" : NULL;
}

static void dump(const char *dir, const char *name, const u8 *t)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(t, 1, get_le32(t + 4), fp), get_le32(t + 4));
	assert_int_equal(fclose(fp), 0);
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	if (!fp)
		return NULL;
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

/* Runs iasl with args in dir; returns its exit status and its output in *out. */
static int run_iasl(const char *iasl, const char *dir, const char *args, char **out)
{
	char cmd[1024], log[300];
	int st;

	snprintf(log, sizeof(log), "%s/iasl.log", dir);
	snprintf(cmd, sizeof(cmd), "cd '%s' && '%s' %s > iasl.log 2>&1", dir, iasl, args);
	st = system(cmd);
	*out = slurp(log);
	assert_non_null(*out);
	return st;
}

static void must_have(const char *text, const char *what)
{
	if (!strstr(text, what))
		fail_msg("disassembly lacks '%s':\n%s", what, text);
}

static void test_iasl_roundtrip(void **state)
{
	const char *iasl = find_iasl();
	char dir[] = "/tmp/merak-acpi-XXXXXX", *out, *dsl, path[300];
	struct fixture f;

	if (!iasl) {
		fprintf(stderr,
			"iasl (acpica-tools) not installed: skipping the disassembly check\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	build(&f, &full_cfg);
	dump(dir, "dsdt", dsdt(&f));
	dump(dir, "facp", find(&f, "FACP", NULL));
	dump(dir, "apic", find(&f, "APIC", NULL));
	dump(dir, "mcfg", find(&f, "MCFG", NULL));
	guest_mem_free(&f.gm);

	/* The DSDT disassembles, and the result compiles again without errors. */
	assert_int_equal(run_iasl(iasl, dir, "-d dsdt.dat", &out), 0);
	free(out);
	snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
	dsl = slurp(path);
	assert_non_null(dsl);
	must_have(dsl, "Scope (\\_SB)");
	must_have(dsl, "Device (COM1)");
	must_have(dsl, "EisaId (\"PNP0501\")");
	must_have(dsl, "IO (Decode16,");
	must_have(dsl, "IRQNoFlags ()");
	must_have(dsl, "Device (PCI0)");
	must_have(dsl, "EisaId (\"PNP0A08\")");
	must_have(dsl, "EisaId (\"PNP0A03\")");
	must_have(dsl, "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,");
	must_have(dsl, "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,");
	must_have(dsl, "DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, "
		       "NonCacheable, ReadWrite,");
	must_have(
	    dsl,
	    "QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, Cacheable, ReadWrite,");
	must_have(dsl, "Name (\\_S5, Package (0x04)");
	/* PCI hotplug: registers, slots, the scan method and the GPE that runs it. */
	must_have(dsl, "OperationRegion (HPRG, SystemIO, 0x0AE0, 0x10)");
	must_have(dsl, "Field (HPRG, DWordAcc, NoLock, WriteAsZeros)");
	must_have(dsl, "EisaId (\"PNP0C02\")");
	must_have(dsl, "Device (SL01)");
	must_have(dsl, "Device (SL1E)");
	must_have(dsl, "Name (_ADR, 0x00010000)");
	must_have(dsl, "Name (_SUN, 0x1E)");
	must_have(dsl, "Method (_EJ0, 1, NotSerialized)");
	must_have(dsl, "HPEJ = 0x40000000");
	must_have(dsl, "Method (HPSC, 0, Serialized)");
	must_have(dsl, "Local0 = HPUP");
	must_have(dsl, "Notify (SL01, One)");
	must_have(dsl, "Notify (SL1E, 0x03)");
	must_have(dsl, "Scope (\\_GPE)");
	must_have(dsl, "Method (_E01, 0, NotSerialized)");
	must_have(dsl, "\\_SB.PCI0.HPSC ()");
	free(dsl);
	assert_int_equal(run_iasl(iasl, dir, "-p dsdt2 dsdt.dsl", &out), 0);
	must_have(out, "Compilation successful. 0 Errors");
	free(out);

	/* The data tables disassemble without complaints about their contents. */
	const char *const tabs[] = {"facp", "apic", "mcfg"};
	for (size_t i = 0; i < ARRAY_SIZE(tabs); i++) {
		char args[64];

		snprintf(args, sizeof(args), "-d %s.dat", tabs[i]);
		assert_int_equal(run_iasl(iasl, dir, args, &out), 0);
		free(out);
		snprintf(path, sizeof(path), "%s/%s.dsl", dir, tabs[i]);
		dsl = slurp(path);
		assert_non_null(dsl);
		if (strstr(dsl, "**** ") || strstr(dsl, "Invalid"))
			fail_msg("iasl flagged %s:\n%s", tabs[i], dsl);
		if (i == 0) {
			must_have(dsl, "PM1A Event Block Address : 00000600");
			must_have(dsl, "Control Method Power Button (V1) : 0");
			must_have(dsl, "GPE0 Block Address : 00000620");
			must_have(dsl, "GPE0 Block Length : 04");
		}
		free(dsl);
	}
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rsdp),	   cmocka_unit_test(test_xsdt_entries),
	    cmocka_unit_test(test_fadt),	   cmocka_unit_test(test_madt_counts),
	    cmocka_unit_test(test_madt_x2apic),	   cmocka_unit_test(test_mcfg),
	    cmocka_unit_test(test_dsdt_contents),  cmocka_unit_test(test_bad_configs),
	    cmocka_unit_test(test_dsdt_hotplug),   cmocka_unit_test(test_iasl_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
