// SPDX-License-Identifier: MIT
/*
 * merak's ACPI tables, laid out from LAYOUT_ACPI_BASE:
 *   RSDP (revision 2) -> XSDT -> FADT (-> FACS, DSDT), MADT, MCFG
 * The platform is full ACPI, not hardware-reduced: the PM1a event and
 * control blocks, the PM timer and the reset register are served by
 * src/devices/acpi_pm.c. There is no SMM, so SMI_CMD is 0 and the system is
 * always in ACPI mode (SCI_EN reads 1).
 *
 * The power button is the fixed-feature one (FADT PWR_BUTTON clear, PM1
 * PWRBTN_STS/EN): Linux creates its LNXPWRBN device from the FADT, so the
 * DSDT has no PNP0C0C device.
 *
 * PCI hotplug on bus 0 is ACPI's, as Linux's acpiphp drives it (the shape
 * QEMU's legacy PCI hotplug and Cloud Hypervisor use): under \_SB.PCI0 the
 * registers of devices/pci_hotplug.h as a field, one device per hotplug
 * slot (_ADR, _SUN, _EJ0 writing the slot's bit to EJECT), and a method
 * that reads UP and DOWN and notifies each slot named there (1, device
 * check; 3, eject request); \_GPE._E01 (edge: ACPICA clears the status
 * before it runs the method, so an event raised meanwhile is not lost)
 * calls it. Slots occupied at boot are hotplug slots too.
 */
#include "arch/x86/acpi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/aml.h"
#include "arch/x86/layout.h"
#include "devices/pci_hotplug.h"

#define OEM_ID	     "MERAK "
#define OEM_TABLE_ID "MERAKVM "
#define CREATOR_ID   "MRAK"
#define OEM_REVISION 1
#define CREATOR_REV  1

#define HDR_LEN	 36
#define RSDP_LEN 36
#define FACS_LEN 64
#define FADT_LEN 276
#define MCFG_LEN 60

/* FADT field offsets (ACPI 6.4 table 5.9). */
#define FADT_FIRMWARE_CTRL   36
#define FADT_DSDT	     40
#define FADT_SCI_INT	     46
#define FADT_SMI_CMD	     48
#define FADT_PM1A_EVT_BLK    56
#define FADT_PM1A_CNT_BLK    64
#define FADT_PM_TMR_BLK	     76
#define FADT_GPE0_BLK	     80
#define FADT_PM1_EVT_LEN     88
#define FADT_PM1_CNT_LEN     89
#define FADT_PM_TMR_LEN	     91
#define FADT_GPE0_BLK_LEN    92
#define FADT_P_LVL2_LAT	     96
#define FADT_P_LVL3_LAT	     98
#define FADT_CENTURY	     108
#define FADT_IAPC_BOOT_ARCH  109
#define FADT_FLAGS	     112
#define FADT_RESET_REG	     116
#define FADT_RESET_VALUE     128
#define FADT_MINOR_VERSION   131
#define FADT_X_FIRMWARE_CTRL 132
#define FADT_X_DSDT	     140
#define FADT_X_PM1A_EVT_BLK  148
#define FADT_X_PM1A_CNT_BLK  172
#define FADT_X_PM_TMR_BLK    208
#define FADT_X_GPE0_BLK	     220

#define FADT_F_WBINVD	     (1u << 0)
#define FADT_F_PROC_C1	     (1u << 2)
#define FADT_F_SLP_BUTTON    (1u << 5) /* set: no fixed sleep button */
#define FADT_F_FIX_RTC	     (1u << 6) /* set: no RTC wake status in PM1 */
#define FADT_F_TMR_VAL_EXT   (1u << 8) /* 32-bit PM timer */
#define FADT_F_RESET_REG_SUP (1u << 10)

#define BOOT_ARCH_LEGACY_DEVICES  (1u << 0)
#define BOOT_ARCH_8042		  (1u << 1)
#define BOOT_ARCH_VGA_NOT_PRESENT (1u << 2)

#define GAS_SYSTEM_IO	 1
#define GAS_ACCESS_BYTE	 1
#define GAS_ACCESS_WORD	 2
#define GAS_ACCESS_DWORD 3

#define CMOS_CENTURY_REG 0x32
#define RESET_VALUE	 0x06 /* SYS_RST | RST_CPU */

/* MADT (ACPI 6.4 section 5.2.12). */
#define MADT_PCAT_COMPAT    1
#define MADT_LAPIC	    0
#define MADT_IOAPIC	    1
#define MADT_ISO	    2
#define MADT_LAPIC_NMI	    4
#define MADT_X2APIC	    9
#define MADT_X2APIC_NMI	    10
#define MADT_LAPIC_LEN	    8
#define MADT_IOAPIC_LEN	    12
#define MADT_ISO_LEN	    10
#define MADT_LAPIC_NMI_LEN  6
#define MADT_X2APIC_LEN	    16
#define MADT_X2APIC_NMI_LEN 12
#define MADT_ENABLED	    1
/* MPS INTI flags: polarity bits 1:0, trigger mode bits 3:2. */
#define INTI_ACTIVE_HIGH 0x1
#define INTI_EDGE	 (0x1 << 2)
#define INTI_LEVEL	 (0x3 << 2)
#define X2APIC_FIRST_ID	 255 /* IDs from here on need x2APIC entries */

#define ECAM_BUS_SIZE (1ULL << 20)

u8 acpi_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;

	while (len--)
		sum = (u8)(sum + *b++);
	return sum;
}

static void put_header(u8 *t, const char *sig, u32 len, u8 rev)
{
	memcpy(t, sig, 4);
	put_le32(t + 4, len);
	t[8] = rev;
	t[9] = 0;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put_le32(t + 24, OEM_REVISION);
	memcpy(t + 28, CREATOR_ID, 4);
	put_le32(t + 32, CREATOR_REV);
}

static void set_checksum(u8 *t, size_t len, size_t csum_off)
{
	t[csum_off] = 0;
	t[csum_off] = (u8)-acpi_checksum(t, len);
}

static void put_gas(u8 *p, u8 space, u8 bit_width, u8 access, u64 addr)
{
	p[0] = space;
	p[1] = bit_width;
	p[2] = 0; /* bit offset */
	p[3] = access;
	put_le64(p + 4, addr);
}

/* ---- DSDT ------------------------------------------------------------------ */

static void name_eisaid(struct aml *a, const char *name, const char *id)
{
	u32 v = 0;

	if (!aml_eisaid(id, &v))
		a->failed = true;
	aml_name(a, name);
	aml_integer(a, v);
}

static void name_int(struct aml *a, const char *name, u64 v)
{
	aml_name(a, name);
	aml_integer(a, v);
}

static void name_crs(struct aml *a, struct aml *res)
{
	aml_res_end_tag(res);
	if (aml_failed(res))
		a->failed = true;
	aml_name(a, "_CRS");
	aml_buffer(a, res->buf, res->len);
	aml_free(res);
}

static void dsdt_com1(struct aml *a)
{
	struct aml res;
	size_t dev;

	dev = aml_device_begin(a, "COM1");
	name_eisaid(a, "_HID", "PNP0501");
	name_int(a, "_UID", 1);
	name_int(a, "_STA", 0x0f); /* present, enabled, shown, functioning */
	aml_init(&res);
	aml_res_io(&res, PORT_COM1, PORT_COM1, 1, 8);
	aml_res_irq_noflags(&res, 1u << IRQ_COM1);
	name_crs(a, &res);
	aml_end(a, dev);
}

static void slot_name(char name[5], unsigned slot)
{
	static const char hex[] = "0123456789ABCDEF";

	name[0] = 'S';
	name[1] = 'L';
	name[2] = hex[(slot >> 4) & 0xf];
	name[3] = hex[slot & 0xf];
	name[4] = 0;
}

/*
 * Inside \_SB.PCI0 (names as the disassembler shows them):
 *   OperationRegion (HPRG, SystemIO, PORT_PCI_HOTPLUG, 0x10)
 *   Field (HPRG, DWordAcc, NoLock, WriteAsZeros) { HPUP, 32, HPDN, 32, HPEJ, 32, HPSL, 32 }
 *   Device (HPRS) { PNP0C02 claiming the ports }
 *   Device (SLnn) { _ADR (nn << 16), _SUN (nn), Method (_EJ0, 1) { HPEJ = 1 << nn } }  per slot
 *   Method (HPSC, 0, Serialized) {
 *       Local0 = HPUP; Local1 = HPDN     (each read clears what it returned)
 *       If (Local0 & (1 << nn)) { Notify (SLnn, 1) }   per slot
 *       If (Local1 & (1 << nn)) { Notify (SLnn, 3) }   per slot
 *   }
 */
static void dsdt_pci_hotplug(struct aml *a, u32 slots)
{
	struct aml res;
	size_t blk, m, cond;
	char name[5];

	aml_operation_region(a, "HPRG", AML_SPACE_SYSTEM_IO, PORT_PCI_HOTPLUG, PCI_HOTPLUG_LEN);
	blk = aml_field_begin(a, "HPRG", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_AS_ZEROS);
	aml_field_unit(a, "HPUP", 32);
	aml_field_unit(a, "HPDN", 32);
	aml_field_unit(a, "HPEJ", 32);
	aml_field_unit(a, "HPSL", 32);
	aml_end(a, blk);

	/* The ports are the chipset's: no PCI device may be given them. */
	blk = aml_device_begin(a, "HPRS");
	name_eisaid(a, "_HID", "PNP0C02");
	name_int(a, "_UID", 1);
	aml_init(&res);
	aml_res_io(&res, PORT_PCI_HOTPLUG, PORT_PCI_HOTPLUG, 1, PCI_HOTPLUG_LEN);
	name_crs(a, &res);
	aml_end(a, blk);

	for (unsigned s = 1; s < 32; s++) {
		if (!(slots >> s & 1))
			continue;
		slot_name(name, s);
		blk = aml_device_begin(a, name);
		name_int(a, "_ADR", (u64)s << 16); /* device s, function 0 */
		name_int(a, "_SUN", s);
		m = aml_method_begin(a, "_EJ0", 1, false);
		aml_store(a);
		aml_integer(a, 1u << s);
		aml_namestring(a, "HPEJ");
		aml_end(a, m);
		aml_end(a, blk);
	}

	m = aml_method_begin(a, "HPSC", 0, true);
	aml_store(a);
	aml_namestring(a, "HPUP");
	aml_local(a, 0);
	aml_store(a);
	aml_namestring(a, "HPDN");
	aml_local(a, 1);
	for (unsigned s = 1; s < 32; s++) {
		if (!(slots >> s & 1))
			continue;
		slot_name(name, s);
		for (unsigned down = 0; down < 2; down++) {
			cond = aml_if_begin(a);
			aml_and(a);
			aml_local(a, down);
			aml_integer(a, 1u << s);
			aml_no_target(a);
			aml_notify(a);
			aml_namestring(a, name);
			aml_integer(a, down ? 3 : 1); /* eject request : device check */
			aml_end(a, cond);
		}
	}
	aml_end(a, m);
}

static void dsdt_pci0(struct aml *a, const struct acpi_config *cfg, unsigned last_bus)
{
	struct aml res;
	size_t dev;

	dev = aml_device_begin(a, "PCI0");
	name_eisaid(a, "_HID", "PNP0A08"); /* PCI Express root bridge */
	name_eisaid(a, "_CID", "PNP0A03"); /* compatible with a PCI root bridge */
	name_int(a, "_SEG", 0);
	name_int(a, "_BBN", 0);
	name_int(a, "_UID", 0);
	aml_init(&res);
	aml_res_word_bus(&res, 0, (u16)last_bus);
	/* The config ports are the bridge's own; the rest of I/O space goes downstream. */
	aml_res_io(&res, PORT_PCI_CONFIG_ADDR, PORT_PCI_CONFIG_ADDR, 1, 8);
	aml_res_word_io(&res, 0x0000, PORT_PCI_CONFIG_ADDR - 1);
	aml_res_word_io(&res, PORT_PCI_CONFIG_ADDR + 8, 0xffff);
	aml_res_dword_mem(&res, false, (u32)cfg->pci_mmio32_base,
			  (u32)(cfg->pci_mmio32_base + cfg->pci_mmio32_size - 1));
	if (cfg->pci_mmio64_size)
		aml_res_qword_mem(&res, true, cfg->pci_mmio64_base,
				  cfg->pci_mmio64_base + cfg->pci_mmio64_size - 1);
	name_crs(a, &res);
	if (cfg->pci_hotplug_slots)
		dsdt_pci_hotplug(a, cfg->pci_hotplug_slots);
	aml_end(a, dev);
}

/* The whole DSDT, header included, into a. */
static void build_dsdt(struct aml *a, const struct acpi_config *cfg, unsigned last_bus)
{
	u8 hdr[HDR_LEN] = {0};
	size_t sb, pkg;

	aml_bytes(a, hdr, sizeof(hdr));
	sb = aml_scope_begin(a, "\\_SB");
	if (cfg->serial)
		dsdt_com1(a);
	if (cfg->pci)
		dsdt_pci0(a, cfg, last_bus);
	aml_end(a, sb);

	/* \_GPE._E01: the hotplug GPE runs the slot scan. */
	if (cfg->pci && cfg->pci_hotplug_slots) {
		char gpe[5] = "_E00";
		size_t scope, m;

		gpe[2] = "0123456789ABCDEF"[(ACPI_GPE_PCI_HOTPLUG >> 4) & 0xf];
		gpe[3] = "0123456789ABCDEF"[ACPI_GPE_PCI_HOTPLUG & 0xf];
		scope = aml_scope_begin(a, "\\_GPE");
		m = aml_method_begin(a, gpe, 0, false);
		aml_namestring(a, "\\_SB.PCI0.HPSC");
		aml_end(a, m);
		aml_end(a, scope);
	}

	/* \_S5: SLP_TYPa, SLP_TYPb, two reserved. */
	aml_name(a, "\\_S5");
	pkg = aml_package_begin(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a, pkg);

	if (aml_failed(a))
		return;
	/* Revision 2: integers are 64 bits wide. */
	put_header(a->buf, "DSDT", (u32)a->len, 2);
	set_checksum(a->buf, a->len, 9);
}

/* ---- fixed tables ------------------------------------------------------------ */

static size_t madt_len(u32 ncpus)
{
	size_t len = HDR_LEN + 8 + MADT_IOAPIC_LEN + 2 * MADT_ISO_LEN + MADT_LAPIC_NMI_LEN;
	u32 xapic = MIN(ncpus, (u32)X2APIC_FIRST_ID);

	len += (size_t)xapic * MADT_LAPIC_LEN;
	if (ncpus > xapic)
		len += (size_t)(ncpus - xapic) * MADT_X2APIC_LEN + MADT_X2APIC_NMI_LEN;
	return len;
}

static void put_iso(u8 *p, u8 irq, u32 gsi, u16 flags)
{
	p[0] = MADT_ISO;
	p[1] = MADT_ISO_LEN;
	p[2] = 0; /* ISA */
	p[3] = irq;
	put_le32(p + 4, gsi);
	put_le16(p + 8, flags);
}

static void build_madt(u8 *t, size_t len, u32 ncpus)
{
	u8 *p = t + HDR_LEN + 8;
	u32 i;

	put_header(t, "APIC", (u32)len, 5);
	put_le32(t + HDR_LEN, (u32)LAYOUT_LAPIC_BASE);
	put_le32(t + HDR_LEN + 4, MADT_PCAT_COMPAT);
	/* ACPI processor UID = APIC ID = vCPU index. */
	for (i = 0; i < ncpus; i++) {
		if (i < X2APIC_FIRST_ID) {
			p[0] = MADT_LAPIC;
			p[1] = MADT_LAPIC_LEN;
			p[2] = (u8)i;
			p[3] = (u8)i;
			put_le32(p + 4, MADT_ENABLED);
			p += MADT_LAPIC_LEN;
		} else {
			p[0] = MADT_X2APIC;
			p[1] = MADT_X2APIC_LEN;
			put_le16(p + 2, 0);
			put_le32(p + 4, i);
			put_le32(p + 8, MADT_ENABLED);
			put_le32(p + 12, i);
			p += MADT_X2APIC_LEN;
		}
	}
	/*
	 * The ID the IOAPIC's own ID register reports: KVM's in-kernel IOAPIC
	 * and merak's both reset to 0 (QEMU's tables say 0 too).
	 */
	p[0] = MADT_IOAPIC;
	p[1] = MADT_IOAPIC_LEN;
	p[2] = IOAPIC_ID;
	p[3] = 0;
	put_le32(p + 4, (u32)LAYOUT_IOAPIC_BASE);
	put_le32(p + 8, 0); /* GSI base */
	p += MADT_IOAPIC_LEN;
	/* The PIT's IRQ 0 is wired to IOAPIC pin 2, as on every PC. */
	put_iso(p, 0, 2, INTI_ACTIVE_HIGH | INTI_EDGE);
	p += MADT_ISO_LEN;
	/* The SCI is level-triggered, active high (acpi_pm drives it so). */
	put_iso(p, IRQ_SCI, IRQ_SCI, INTI_ACTIVE_HIGH | INTI_LEVEL);
	p += MADT_ISO_LEN;
	/* LINT1 of every processor is the NMI input. */
	p[0] = MADT_LAPIC_NMI;
	p[1] = MADT_LAPIC_NMI_LEN;
	p[2] = 0xff; /* all processors */
	put_le16(p + 3, 0);
	p[5] = 1;
	p += MADT_LAPIC_NMI_LEN;
	if (ncpus > X2APIC_FIRST_ID) {
		p[0] = MADT_X2APIC_NMI;
		p[1] = MADT_X2APIC_NMI_LEN;
		put_le16(p + 2, 0);
		put_le32(p + 4, 0xffffffff);
		p[8] = 1;
		p += MADT_X2APIC_NMI_LEN;
	}
	set_checksum(t, len, 9);
}

static void build_mcfg(u8 *t, u64 ecam_base, unsigned last_bus)
{
	put_header(t, "MCFG", MCFG_LEN, 1);
	/* 8 reserved bytes, then one allocation. */
	put_le64(t + 44, ecam_base);
	put_le16(t + 52, 0); /* segment */
	t[54] = 0;
	t[55] = (u8)last_bus;
	put_le32(t + 56, 0);
	set_checksum(t, MCFG_LEN, 9);
}

static void build_fadt(u8 *t, u64 facs, u64 dsdt)
{
	put_header(t, "FACP", FADT_LEN, 6);
	put_le32(t + FADT_FIRMWARE_CTRL, (u32)facs);
	put_le32(t + FADT_DSDT, (u32)dsdt);
	put_le16(t + FADT_SCI_INT, IRQ_SCI);
	put_le32(t + FADT_SMI_CMD, 0); /* no SMM: always in ACPI mode */
	put_le32(t + FADT_PM1A_EVT_BLK, PORT_PM1A_EVT);
	put_le32(t + FADT_PM1A_CNT_BLK, PORT_PM1A_CNT);
	put_le32(t + FADT_PM_TMR_BLK, PORT_PM_TMR);
	put_le32(t + FADT_GPE0_BLK, PORT_GPE0_BLK);
	t[FADT_PM1_EVT_LEN] = 4;
	t[FADT_PM1_CNT_LEN] = 2;
	t[FADT_PM_TMR_LEN] = 4;
	t[FADT_GPE0_BLK_LEN] = PORT_GPE0_LEN;
	/* Latencies above 100 and 1000 us say that C2 and C3 are not supported. */
	put_le16(t + FADT_P_LVL2_LAT, 0x0fff);
	put_le16(t + FADT_P_LVL3_LAT, 0xffff);
	t[FADT_CENTURY] = CMOS_CENTURY_REG;
	put_le16(t + FADT_IAPC_BOOT_ARCH,
		 BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042 | BOOT_ARCH_VGA_NOT_PRESENT);
	/* PWR_BUTTON stays clear: the power button is the fixed-feature one. */
	put_le32(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON |
				     FADT_F_FIX_RTC | FADT_F_TMR_VAL_EXT | FADT_F_RESET_REG_SUP);
	put_gas(t + FADT_RESET_REG, GAS_SYSTEM_IO, 8, GAS_ACCESS_BYTE, PORT_RESET);
	t[FADT_RESET_VALUE] = RESET_VALUE;
	t[FADT_MINOR_VERSION] = 4; /* ACPI 6.4 */
	put_le64(t + FADT_X_FIRMWARE_CTRL, facs);
	put_le64(t + FADT_X_DSDT, dsdt);
	put_gas(t + FADT_X_PM1A_EVT_BLK, GAS_SYSTEM_IO, 32, GAS_ACCESS_WORD, PORT_PM1A_EVT);
	put_gas(t + FADT_X_PM1A_CNT_BLK, GAS_SYSTEM_IO, 16, GAS_ACCESS_WORD, PORT_PM1A_CNT);
	put_gas(t + FADT_X_PM_TMR_BLK, GAS_SYSTEM_IO, 32, GAS_ACCESS_DWORD, PORT_PM_TMR);
	put_gas(t + FADT_X_GPE0_BLK, GAS_SYSTEM_IO, 8 * PORT_GPE0_LEN, GAS_ACCESS_BYTE, PORT_GPE0_BLK);
	set_checksum(t, FADT_LEN, 9);
}

static void build_facs(u8 *t)
{
	/* No checksum field; the waking vectors and global lock start at zero. */
	memcpy(t, "FACS", 4);
	put_le32(t + 4, FACS_LEN);
	t[32] = 2; /* version (ACPI 4.0 and later) */
}

static void build_rsdp(u8 *t, u64 xsdt)
{
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, OEM_ID, 6);
	t[15] = 2;	     /* revision: ACPI 2.0+ layout */
	put_le32(t + 16, 0); /* no RSDT */
	put_le32(t + 20, RSDP_LEN);
	put_le64(t + 24, xsdt);
	set_checksum(t, 20, 8);	       /* the ACPI 1.0 part */
	set_checksum(t, RSDP_LEN, 32); /* the whole structure */
}

/* ---- assembly ---------------------------------------------------------------- */

static int check_config(const struct acpi_config *cfg, unsigned *last_bus, struct err *e)
{
	u64 ecam_size = cfg->pci_ecam_size ? cfg->pci_ecam_size : 256 * ECAM_BUS_SIZE;
	u64 end;

	if (!cfg->ncpus)
		return errf(e, -EINVAL, "no vCPUs to describe");
	*last_bus = 0;
	if (!cfg->pci)
		return 0;
	if (!IS_ALIGNED(cfg->pci_ecam_base, ECAM_BUS_SIZE) ||
	    !IS_ALIGNED(ecam_size, ECAM_BUS_SIZE) || ecam_size > 256 * ECAM_BUS_SIZE ||
	    add_overflows(cfg->pci_ecam_base, ecam_size, &end))
		return errf(e, -EINVAL,
			    "PCI ECAM window 0x%llx+0x%llx is not whole 1 MiB buses (at most 256)",
			    (unsigned long long)cfg->pci_ecam_base, (unsigned long long)ecam_size);
	*last_bus = (unsigned)(ecam_size / ECAM_BUS_SIZE) - 1;
	if (!cfg->pci_mmio32_size ||
	    add_overflows(cfg->pci_mmio32_base, cfg->pci_mmio32_size, &end) || end > 1ULL << 32)
		return errf(e, -EINVAL,
			    "PCI 32-bit window 0x%llx+0x%llx is empty or not below 4 GiB",
			    (unsigned long long)cfg->pci_mmio32_base,
			    (unsigned long long)cfg->pci_mmio32_size);
	if (cfg->pci_mmio64_size && add_overflows(cfg->pci_mmio64_base, cfg->pci_mmio64_size, &end))
		return errf(e, -EINVAL, "PCI 64-bit window 0x%llx+0x%llx wraps around",
			    (unsigned long long)cfg->pci_mmio64_base,
			    (unsigned long long)cfg->pci_mmio64_size);
	return 0;
}

/* Places n bytes at the next multiple of align; false when the area is full. */
static bool place(size_t *cursor, size_t n, size_t align, size_t *off)
{
	size_t start = ALIGN_UP(*cursor, align);

	if (n > LAYOUT_ACPI_SIZE || start > LAYOUT_ACPI_SIZE - n)
		return false;
	*off = start;
	*cursor = start + n;
	return true;
}

/* Where each table went inside the assembled area (offsets from its start). */
struct acpi_layout {
	size_t rsdp, facs, xsdt, fadt, madt, mcfg, dsdt, xsdt_len, madt_len, dsdt_len;
	size_t len;
};

/*
 * Builds all tables into a fresh LAYOUT_ACPI_SIZE buffer whose first byte
 * will sit at `base`, with the RSDP first when with_rsdp. acpi_build writes
 * the result to guest memory; acpi_build_blob hands it to the firmware.
 */
static int assemble(const struct acpi_config *cfg, u64 base, bool with_rsdp, u8 **out,
		    struct acpi_layout *lay, struct err *e)
{
	size_t cursor = 0, n_xsdt = cfg->pci ? 3 : 2, xsdt_len = HDR_LEN + 8 * n_xsdt;
	size_t m_len;
	unsigned last_bus = 0;
	struct aml dsdt;
	u8 *blob;
	int r;

	*out = NULL;
	memset(lay, 0, sizeof(*lay));
	r = check_config(cfg, &last_bus, e);
	if (r < 0)
		return r;
	/* Some 8000 vCPUs fit: far more than KVM allows, but place() checks all the same. */
	m_len = madt_len(cfg->ncpus);

	aml_init(&dsdt);
	build_dsdt(&dsdt, cfg, last_bus);
	if (aml_failed(&dsdt)) {
		aml_free(&dsdt);
		return errf(e, -ENOMEM, "DSDT: out of memory building the AML");
	}
	blob = calloc(1, LAYOUT_ACPI_SIZE);
	if (!blob) {
		aml_free(&dsdt);
		return errf(e, -ENOMEM, "out of memory for the ACPI tables");
	}

	/* The RSDP first, 16-byte aligned, where legacy scans of 0xE0000 find it. */
	if ((with_rsdp && !place(&cursor, RSDP_LEN, 16, &lay->rsdp)) ||
	    !place(&cursor, FACS_LEN, 64, &lay->facs) ||
	    !place(&cursor, xsdt_len, 16, &lay->xsdt) ||
	    !place(&cursor, FADT_LEN, 16, &lay->fadt) ||
	    !place(&cursor, m_len, 16, &lay->madt) ||
	    (cfg->pci && !place(&cursor, MCFG_LEN, 16, &lay->mcfg)) ||
	    !place(&cursor, dsdt.len, 16, &lay->dsdt)) {
		r = errf(e, -E2BIG,
			 "the ACPI tables (%u vCPUs, %zu-byte DSDT) exceed the %llu KiB area",
			 cfg->ncpus, dsdt.len, LAYOUT_ACPI_SIZE / KiB);
		free(blob);
		aml_free(&dsdt);
		return r;
	}
	lay->xsdt_len = xsdt_len;
	lay->madt_len = m_len;
	lay->dsdt_len = dsdt.len;
	lay->len = cursor;

#define GPA(off) (base + (u64)(off))
	memcpy(blob + lay->dsdt, dsdt.buf, dsdt.len);
	build_facs(blob + lay->facs);
	build_fadt(blob + lay->fadt, GPA(lay->facs), GPA(lay->dsdt));
	build_madt(blob + lay->madt, m_len, cfg->ncpus);
	if (cfg->pci)
		build_mcfg(blob + lay->mcfg, cfg->pci_ecam_base, last_bus);

	put_header(blob + lay->xsdt, "XSDT", (u32)xsdt_len, 1);
	put_le64(blob + lay->xsdt + HDR_LEN, GPA(lay->fadt));
	put_le64(blob + lay->xsdt + HDR_LEN + 8, GPA(lay->madt));
	if (cfg->pci)
		put_le64(blob + lay->xsdt + HDR_LEN + 16, GPA(lay->mcfg));
	set_checksum(blob + lay->xsdt, xsdt_len, 9);

	if (with_rsdp)
		build_rsdp(blob + lay->rsdp, GPA(lay->xsdt));
#undef GPA
	aml_free(&dsdt);
	*out = blob;
	return 0;
}

int acpi_build(struct guest_mem *gm, const struct acpi_config *cfg, u64 *rsdp_gpa, struct err *e)
{
	struct acpi_layout lay;
	u8 *blob;
	int r;

	r = assemble(cfg, LAYOUT_ACPI_BASE, true, &blob, &lay, e);
	if (r < 0)
		return r;
	r = guest_mem_write(gm, LAYOUT_ACPI_BASE, blob, lay.len, e);
	if (r < 0)
		err_ctx(e, "writing the ACPI tables");
	else
		*rsdp_gpa = LAYOUT_ACPI_BASE + lay.rsdp;
	free(blob);
	return r;
}

/* ---- relocatable form (fw_cfg) -------------------------------------------- */

static void blob_ptr(struct acpi_blob *b, bool in_rsdp, size_t off, u8 size)
{
	b->ptrs[b->n_ptrs++] = (struct acpi_blob_ptr){in_rsdp, (u32)off, size};
}

static void blob_csum(struct acpi_blob *b, bool in_rsdp, size_t off, size_t start, size_t len)
{
	u8 *base = in_rsdp ? b->rsdp : b->tables;

	/* The firmware computes it after relocation over a zero field. */
	base[off] = 0;
	b->csums[b->n_csums++] = (struct acpi_blob_csum){in_rsdp, (u32)off, (u32)start, (u32)len};
}

int acpi_build_blob(const struct acpi_config *cfg, struct acpi_blob *b, struct err *e)
{
	struct acpi_layout lay;
	u8 *blob;
	int r;

	memset(b, 0, sizeof(*b));
	r = assemble(cfg, 0, false, &blob, &lay, e);
	if (r < 0)
		return r;
	b->tables = blob;
	b->tables_len = lay.len;
	/* Base 0: every pointer already holds its target's offset in the tables. */
	build_rsdp(b->rsdp, lay.xsdt);

	blob_ptr(b, true, 24, 8); /* RSDP -> XSDT */
	blob_ptr(b, false, lay.fadt + FADT_FIRMWARE_CTRL, 4);
	blob_ptr(b, false, lay.fadt + FADT_DSDT, 4);
	blob_ptr(b, false, lay.fadt + FADT_X_FIRMWARE_CTRL, 8);
	blob_ptr(b, false, lay.fadt + FADT_X_DSDT, 8);
	for (size_t i = 0; i < (lay.xsdt_len - HDR_LEN) / 8; i++)
		blob_ptr(b, false, lay.xsdt + HDR_LEN + 8 * i, 8);

	blob_csum(b, false, lay.dsdt + 9, lay.dsdt, lay.dsdt_len);
	blob_csum(b, false, lay.fadt + 9, lay.fadt, FADT_LEN);
	blob_csum(b, false, lay.madt + 9, lay.madt, lay.madt_len);
	if (cfg->pci)
		blob_csum(b, false, lay.mcfg + 9, lay.mcfg, MCFG_LEN);
	blob_csum(b, false, lay.xsdt + 9, lay.xsdt, lay.xsdt_len);
	blob_csum(b, true, 8, 0, 20);
	blob_csum(b, true, 32, 0, RSDP_LEN);
	return 0;
}

void acpi_blob_free(struct acpi_blob *b)
{
	free(b->tables);
	b->tables = NULL;
	b->tables_len = 0;
}
