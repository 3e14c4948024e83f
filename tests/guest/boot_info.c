// SPDX-License-Identifier: MIT
/*
 * Checks what the boot protocol handed over: command line, memory map,
 * initrd contents, RSDP. The runner passes its expectations on the command
 * line: expect_mem=MiB expect_initrd=BYTES.
 */
#include "lib/guest.h"

const char test_name[] = "boot_info";

static u8 cmos(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static bool is_bcd(u8 v, unsigned lo, unsigned hi)
{
	unsigned d = (v >> 4) * 10 + (v & 0xf);

	return (v & 0xf) < 10 && (v >> 4) < 10 && d >= lo && d <= hi;
}

/*
 * The RTC shows the host's date in BCD. Read on this vCPU's thread under
 * merak's seccomp filter, which is what this is also about: the first read
 * once killed merak (the C library opened /etc/localtime).
 */
static void check_rtc(void)
{
	u8 sec = cmos(0x00), min = cmos(0x02), hour = cmos(0x04), day = cmos(0x07);
	u8 mon = cmos(0x08), year = cmos(0x09), century = cmos(0x32);

	gprintf("RTC: %x%x-%x-%x %x:%x:%x UTC (BCD)\n", century, year, mon, day, hour,
		min, sec);
	CHECK(cmos(0x0d) & 0x80, "RTC status D says the battery is dead");
	CHECK(century == 0x20 && is_bcd(year, 24, 99), "RTC year %x%02x", century, year);
	CHECK(is_bcd(mon, 1, 12) && is_bcd(day, 1, 31), "RTC date %02x-%02x", mon, day);
	CHECK(is_bcd(hour, 0, 23) && is_bcd(min, 0, 59) && is_bcd(sec, 0, 59),
	      "RTC time %02x:%02x:%02x", hour, min, sec);
}

void test_main(const struct boot_info *bi)
{
	u64 want_mem = cmdline_u64(bi, "expect_mem", 0) << 20;
	u64 want_initrd = cmdline_u64(bi, "expect_initrd", 0);
	u64 ram = 0;
	bool low = false, high = false;

	gprintf("boot protocol: %s, cmdline '%s'\n", bi->kind == BOOT_PVH ? "PVH" : "Linux",
		bi->cmdline);
	CHECK(cmdline_has(bi, "marker=merak"), "command line lacks the runner's marker");
	CHECK(want_mem, "no expect_mem= on the command line");
	CHECK(bi->n_mem >= 2, "memory map has %u entries", bi->n_mem);
	for (unsigned i = 0; i < bi->n_mem; i++) {
		const struct memmap_entry *m = &bi->mem[i];

		gprintf("  memmap %u: 0x%lx +0x%lx type %u\n", i, m->addr, m->size, m->type);
		if (i)
			CHECK(m->addr >= bi->mem[i - 1].addr + bi->mem[i - 1].size,
			      "memory map entry %u overlaps or is unsorted", i);
		if (m->type != 1)
			continue;
		ram += m->size;
		low |= m->addr == 0;
		high |= m->addr <= 0x100000 && m->addr + m->size > 0x100000;
	}
	CHECK(low && high, "RAM at 0 and at 1 MiB missing from the memory map");
	/* All RAM but the 384 KiB below 1 MiB the PC reserves. */
	CHECK(ram <= want_mem && ram >= want_mem - 0x61000, "RAM %lu bytes, expected about %lu",
	      ram, want_mem);
	CHECK(bi->rsdp && !gmemcmp((const void *)bi->rsdp, "RSD PTR ", 8),
	      "no RSDP at the address given (0x%lx)", bi->rsdp);
	if (want_initrd) {
		const u8 *p = (const u8 *)bi->initrd;

		CHECK(bi->initrd_size == want_initrd, "initrd size %lu, expected %lu",
		      bi->initrd_size, want_initrd);
		CHECK(bi->initrd >= 0x100000 && !(bi->initrd & 0xfff), "initrd at 0x%lx",
		      bi->initrd);
		for (u64 i = 0; i < want_initrd; i += 509)
			CHECK(p[i] == (u8)(i * 7 + 3), "initrd byte %lu is 0x%x", i, p[i]);
		CHECK(p[want_initrd - 1] == (u8)((want_initrd - 1) * 7 + 3), "last initrd byte");
	}
	check_rtc();
}
