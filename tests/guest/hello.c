// SPDX-License-Identifier: MIT
/*
 * The smallest guest: one line on COM1, then the debug-exit port. Used by
 * bench/ to time VM start-to-exit, under merak and under QEMU alike (QEMU's
 * isa-debug-exit device sits at the same port).
 */
#include "lib/guest.h"

const char test_name[] = "hello";

void test_main(const struct boot_info *bi)
{
	gputs("hello from a merak test guest\n");
}
