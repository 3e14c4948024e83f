// SPDX-License-Identifier: MIT
/*
 * A guest that ignores everything: interrupts off, spinning with a marker in
 * RAX. The runner sends merak SIGTERM; merak presses the power button, waits
 * out its grace period, then must report where the vCPU was (RIP, and RAX
 * holding the marker) and exit 128 + SIGTERM.
 */
#include "lib/guest.h"

const char test_name[] = "hang";

void test_main(const struct boot_info *bi)
{
	gputs("hang: spinning with interrupts off\n");
	__asm__ volatile("cli\n"
			 "1: pause\n"
			 "jmp 1b" ::"a"(0x4d4552414bULL));
}
