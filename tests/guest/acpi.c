// SPDX-License-Identifier: MIT
/*
 * ACPI tables as an OS finds them (RSDP from the boot protocol and from the
 * BIOS area scan), their checksums and contents; then an S5 power-off, so
 * merak's exit status 0 also proves the PM device.
 */
#include "lib/guest.h"

const char test_name[] = "acpi";

static const void *scan_rsdp(void)
{
	for (u64 a = 0xe0000; a < 0x100000; a += 16)
		if (!gmemcmp((const void *)a, "RSD PTR ", 8))
			return (const void *)a;
	return NULL;
}

static void check_table(const struct boot_info *bi, const char *sig)
{
	const u8 *t = acpi_find(bi, sig);
	u32 len;

	CHECK(t, "table %s not found", sig);
	len = *(const u32 *)(t + 4);
	CHECK(len >= 36 && len < 65536, "table %s length %u", sig, len);
	CHECK(acpi_checksum_ok(t, len), "table %s checksum", sig);
	gprintf("acpi: %s at 0x%lx, %u bytes\n", sig, (u64)t, len);
}

void test_main(const struct boot_info *bi)
{
	const u8 *rsdp = (const u8 *)bi->rsdp, *fadt, *madt, *facs;
	unsigned want = (unsigned)cmdline_u64(bi, "expect_cpus", 1);
	u32 len, off;
	bool ioapic = false;

	CHECK(rsdp == scan_rsdp(), "RSDP from boot info 0x%lx differs from the scan", (u64)rsdp);
	CHECK(acpi_checksum_ok(rsdp, 20), "RSDP checksum");
	CHECK(rsdp[15] == 2 && acpi_checksum_ok(rsdp, *(const u32 *)(rsdp + 20)),
	      "RSDP revision %u or extended checksum", rsdp[15]);
	check_table(bi, "XSDT");
	check_table(bi, "FACP");
	check_table(bi, "APIC");
	check_table(bi, "DSDT");
	facs = acpi_find(bi, "FACS");
	CHECK(facs && !gmemcmp(facs, "FACS", 4) && !((u64)facs & 63) &&
	      *(const u32 *)(facs + 4) >= 64, "FACS missing, misaligned or short");

	fadt = acpi_find(bi, "FACP");
	CHECK(*(const u32 *)(fadt + 64) == 0x604, "FADT PM1a_CNT_BLK 0x%x",
	      *(const u32 *)(fadt + 64));
	CHECK(*(const u32 *)(fadt + 56) == 0x600, "FADT PM1a_EVT_BLK");
	CHECK(*(const u16 *)(fadt + 46) == 9, "FADT SCI_INT %u", *(const u16 *)(fadt + 46));
	/* A 32-bit DSDT pointer, where given, must agree with X_DSDT. */
	CHECK(!*(const u32 *)(fadt + 40) || *(const u32 *)(fadt + 40) == *(const u64 *)(fadt + 140),
	      "FADT DSDT 0x%x and X_DSDT 0x%lx differ", *(const u32 *)(fadt + 40),
	      *(const u64 *)(fadt + 140));

	madt = acpi_find(bi, "APIC");
	CHECK(*(const u32 *)(madt + 36) == 0xfee00000, "MADT local APIC address");
	len = *(const u32 *)(madt + 4);
	for (off = 44; off + 2 <= len && madt[off + 1]; off += madt[off + 1])
		if (madt[off] == 1 && *(const u32 *)(madt + off + 4) == 0xfec00000)
			ioapic = true;
	CHECK(ioapic, "MADT has no IOAPIC at 0xfec00000");
	CHECK(madt_cpus(bi) == want, "MADT lists %u CPUs, expected %u", madt_cpus(bi), want);
	/* MCFG exists only with PCI: then one ECAM window at 0xb0000000, segment 0, bus 0 up. */
	{
		const u8 *mcfg = acpi_find(bi, "MCFG");

		if (mcfg) {
			check_table(bi, "MCFG");
			CHECK(*(const u32 *)(mcfg + 4) >= 44 + 16, "MCFG has no allocation");
			CHECK(*(const u64 *)(mcfg + 44) == 0xb0000000 && *(const u16 *)(mcfg + 52) == 0 &&
				      mcfg[54] == 0 && mcfg[55] >= mcfg[54],
			      "MCFG window 0x%lx segment %u buses %u-%u", *(const u64 *)(mcfg + 44),
			      *(const u16 *)(mcfg + 52), mcfg[54], mcfg[55]);
		} else {
			gprintf("acpi: no MCFG (no PCI)\n");
		}
	}
	/* The DSDT carries _S5 and COM1. */
	{
		const u8 *d = acpi_find(bi, "DSDT");
		u32 dl = *(const u32 *)(d + 4);
		bool s5 = false, com1 = false;

		for (u32 i = 36; i + 4 <= dl; i++) {
			s5 |= !gmemcmp(d + i, "_S5_", 4);
			com1 |= !gmemcmp(d + i, "COM1", 4);
		}
		CHECK(s5 && com1, "DSDT: _S5 %u, COM1 %u", s5, com1);
	}
	gprintf("TEST %s: PASS\n", test_name);
	guest_poweroff();
}
