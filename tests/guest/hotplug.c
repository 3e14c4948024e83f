// SPDX-License-Identifier: MIT
/*
 * ACPI PCI hotplug as the guest sees it, without a host that hot-adds or
 * removes anything (the guest kit starts VMs from the command line): the
 * FADT's GPE0 block and the DSDT's hotplug AML are there, the registers of
 * devices/pci_hotplug.h read as a quiet board's do, and what a confused or
 * hostile guest may write is ignored: ejects of an empty slot, of an
 * occupied slot nobody asked to remove, the same eject twice, every bit at
 * once, narrow writes, writes to the read-only registers. The device of the
 * occupied slot must still answer afterwards, the GPE must stay quiet, and
 * merak must still power the guest off with status 0.
 *
 * Command line: "occupied=N" is the slot the --rng device sits in.
 */
#include "lib/guest.h"

const char test_name[] = "hotplug";

#define PORT_GPE0	0x620
#define GPE0_LEN	4
#define HP_GPE		(1u << 1)	/* \_GPE._E01 */
#define PORT_HP		0xae0
#define HP_UP		(PORT_HP + 0x0)
#define HP_DOWN		(PORT_HP + 0x4)
#define HP_EJECT	(PORT_HP + 0x8)
#define HP_SLOTS	(PORT_HP + 0xc)
#define BOARD_SLOTS	0x7ffffffeu	/* all but the host bridge (0) and the LPC (31) */

static u32 pci_cfg_read(unsigned slot, u32 off)
{
	outl(0xcf8, 0x80000000u | slot << 11 | (off & 0xfc));
	return inl(0xcfc);
}

static bool dsdt_has(const u8 *d, u32 len, const char *s)
{
	u32 n = (u32)gstrlen(s);

	for (u32 i = 36; i + n <= len; i++)
		if (!gmemcmp(d + i, s, n))
			return true;
	return false;
}

/* Nothing announced, nothing pending. */
static void check_quiet(const char *when)
{
	u32 up = inl(HP_UP), down = inl(HP_DOWN), sts = inw(PORT_GPE0);

	CHECK(!up && !down && !(sts & HP_GPE), "%s: UP 0x%x DOWN 0x%x GPE0_STS 0x%x", when, up,
	      down, sts);
}

void test_main(const struct boot_info *bi)
{
	const u8 *fadt = acpi_find(bi, "FACP"), *dsdt = acpi_find(bi, "DSDT");
	unsigned occ = (unsigned)cmdline_u64(bi, "occupied", 1), empty = 0;
	u32 id, len, en;

	/* FADT: the GPE0 block (X_GPE0_BLK agrees). */
	CHECK(fadt && *(const u32 *)(fadt + 80) == PORT_GPE0 && fadt[92] == GPE0_LEN,
	      "FADT GPE0_BLK 0x%x length %u", fadt ? *(const u32 *)(fadt + 80) : 0,
	      fadt ? fadt[92] : 0);
	CHECK(fadt[220] == 1 && fadt[221] == 8 * GPE0_LEN && *(const u64 *)(fadt + 224) == PORT_GPE0,
	      "FADT X_GPE0_BLK space %u width %u address 0x%lx", fadt[220], fadt[221],
	      *(const u64 *)(fadt + 224));

	/* DSDT: registers, a device per hotplug slot, the scan method and its GPE. */
	CHECK(dsdt, "no DSDT");
	len = *(const u32 *)(dsdt + 4);
	CHECK(dsdt_has(dsdt, len, "HPRG") && dsdt_has(dsdt, len, "HPSC") &&
		      dsdt_has(dsdt, len, "_E01") && dsdt_has(dsdt, len, "_GPE") &&
		      dsdt_has(dsdt, len, "_EJ0") && dsdt_has(dsdt, len, "_SUN"),
	      "DSDT lacks the hotplug AML");
	for (unsigned s = 0; s < 32; s++) {
		char name[5] = {'S', 'L', "0123456789ABCDEF"[s >> 4], "0123456789ABCDEF"[s & 15], 0};
		bool want = BOARD_SLOTS >> s & 1;

		CHECK(dsdt_has(dsdt, len, name) == want, "DSDT: device %s %s", name,
		      want ? "missing" : "present");
	}

	/* The registers of a board nobody hot-plugs into. */
	CHECK(inl(HP_SLOTS) == BOARD_SLOTS, "SLOTS 0x%x", inl(HP_SLOTS));
	CHECK(inl(HP_EJECT) == 0, "EJECT reads 0x%x", inl(HP_EJECT));
	check_quiet("at boot");
	/* GPE0: every enable bit writable, status write-1-to-clear with nothing set. */
	outw(PORT_GPE0 + 2, 0xffff);
	en = inw(PORT_GPE0 + 2);
	CHECK(en == 0xffff, "GPE0_EN reads 0x%x after 0xffff", en);
	outw(PORT_GPE0, 0xffff);
	CHECK(inw(PORT_GPE0) == 0, "GPE0_STS 0x%x", inw(PORT_GPE0));

	/* The --rng device, and an empty slot to abuse. */
	id = pci_cfg_read(occ, 0);
	CHECK(id == 0x10441af4, "slot %u: ID 0x%x, not virtio-rng", occ, id);
	for (unsigned s = 1; s < 31 && !empty; s++)
		if (pci_cfg_read(s, 0) == 0xffffffffu)
			empty = s;
	CHECK(empty, "no empty slot");
	gprintf("hotplug: virtio-rng in slot %u, slot %u empty\n", occ, empty);

	/* Hostile ejects: empty slot, occupied slot without a request, twice, all at once. */
	outl(HP_EJECT, 1u << empty);
	check_quiet("eject of an empty slot");
	outl(HP_EJECT, 1u << occ);
	outl(HP_EJECT, 1u << occ);
	check_quiet("eject without a removal request");
	outl(HP_EJECT, 0xffffffffu);
	outb(HP_EJECT + 3, 0xff);
	outw(HP_EJECT + 1, 0xffff);
	outb(HP_EJECT, (u8)(1u << occ));
	check_quiet("eject of every slot");
	/* Writes to the read-only registers. */
	outl(HP_UP, 0xffffffffu);
	outl(HP_DOWN, 0xffffffffu);
	outl(HP_SLOTS, 0);
	CHECK(inl(HP_SLOTS) == BOARD_SLOTS, "SLOTS 0x%x after a write", inl(HP_SLOTS));
	check_quiet("writes to read-only registers");
	/* Narrow reads see byte lanes and read 0 too. */
	CHECK(!inb(HP_UP + 1) && !inw(HP_DOWN + 2) && inb(HP_SLOTS + 3) == 0x7f,
	      "narrow reads");

	/* The device is still there and answers, its command register as it was. */
	id = pci_cfg_read(occ, 0);
	CHECK(id == 0x10441af4, "slot %u: ID 0x%x after the ejects", occ, id);
	CHECK(pci_cfg_read(occ, 4) & 0x2, "slot %u: memory decoding off", occ);

	outw(PORT_GPE0 + 2, 0);
	gprintf("TEST %s: PASS\n", test_name);
	guest_poweroff();
}
