/* SPDX-License-Identifier: MIT */
#ifndef MERAK_ARCH_X86_REGS_H
#define MERAK_ARCH_X86_REGS_H

#include <linux/kvm.h>

#include "boot/boot.h"
#include "util/err.h"
#include "vm/mem.h"

/*
 * Initial state of the boot vCPU for a boot mode. Writes what the mode needs
 * into guest memory (GDT, identity page tables for LINUX64) and fills regs and
 * sregs; sregs comes in as read from KVM so that fields merak does not set
 * keep KVM's reset values. Pure: no ioctls.
 */
int x86_setup_boot_regs(struct guest_mem *gm, const struct boot_entry *entry,
			struct kvm_regs *regs, struct kvm_sregs *sregs, struct err *e);

/* MSR values every vCPU starts with (merak's list); returns the count written. */
unsigned x86_boot_msrs(struct kvm_msr_entry *out, unsigned max);

#endif
