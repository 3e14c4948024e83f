// SPDX-License-Identifier: MIT
/*
 * A guest that ignores everything: interrupts off, spinning with a marker in
 * RAX. The runner sends merak SIGTERM; merak presses the power button, waits
 * out its grace period, then must report where the vCPU was (RIP, and RAX
 * holding the marker) and exit 128 + SIGTERM.
 *
 * With "button" on the command line it instead watches the ACPI power button
 * (PM1a status, PWRBTN_STS) by polling and powers off when it is pressed, as
 * an OS would: the runner checks that SIGTERM reaches the guest that way.
 *
 * With "echo" it sends back every byte its serial port receives (polled): the
 * API tests' check of a serial port on a socket. With "eject" it runs until
 * stopped and gives up every PCI function the host asks it to, polling the
 * hotplug registers (devices/pci_hotplug.h) where an OS's GPE handler and
 * _EJ0 would: the API tests' stand-in for Linux's acpiphp.
 */
#include "lib/guest.h"

const char test_name[] = "hang";

#define PM1A_STS	0x600
#define PM1_PWRBTN_STS	(1u << 8)
#define HP_UP		0xae0	/* reading clears */
#define HP_DOWN		0xae4	/* reading clears */
#define HP_EJECT	0xae8

void test_main(const struct boot_info *bi)
{
	if (cmdline_has(bi, "button")) {
		gputs("hang: spinning until the power button is pressed\n");
		while (!(inw(PM1A_STS) & PM1_PWRBTN_STS))
			__asm__ volatile("pause");
		outw(PM1A_STS, PM1_PWRBTN_STS);	/* write-1-to-clear, as an OS acknowledges it */
		gputs("hang: power button pressed; powering off\n");
		guest_poweroff();
	}
	if (cmdline_has(bi, "echo")) {
		/* Every byte the serial port receives goes back out (polled). */
		gputs("hang: echoing the serial port\n");
		for (;;) {
			if (inb(0x3f8 + 5) & 1)
				outb(0x3f8, inb(0x3f8));
			cpu_relax();
		}
	}
	if (cmdline_has(bi, "eject")) {
		gputs("hang: ejecting what the host removes\n");
		for (;;) {
			u32 down = inl(HP_DOWN);

			(void)inl(HP_UP);
			if (down)
				outl(HP_EJECT, down);
			for (int i = 0; i < 1000; i++)
				cpu_relax();
		}
	}
	gputs("hang: spinning with interrupts off\n");
	__asm__ volatile("cli\n"
			 "1: pause\n"
			 "jmp 1b" ::"a"(0x4d4552414bULL));
}
