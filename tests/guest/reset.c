// SPDX-License-Identifier: MIT
/* Asks for a reset through the ACPI reset register (port 0xCF9). */
#include "lib/guest.h"

const char test_name[] = "reset";

void test_main(const struct boot_info *bi)
{
	gprintf("TEST %s: PASS (requesting reset)\n", test_name);
	outb(0xcf9, 0x06);
	fail("still running after the reset request");
}
