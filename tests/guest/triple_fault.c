// SPDX-License-Identifier: MIT
/* An exception with no IDT: #UD -> #DF -> triple fault. merak must say so. */
#include "lib/guest.h"

const char test_name[] = "triple_fault";

void test_main(const struct boot_info *bi)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) empty = {0, 0};

	gprintf("triple_fault: faulting now\n");
	__asm__ volatile("lidt %0; ud2" ::"m"(empty));
	fail("survived a fault without an IDT");
}
