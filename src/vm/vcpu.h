/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_VCPU_H
#define MERAK_VM_VCPU_H

/* The vCPU threads (vcpu.c), as vm.c starts, kicks and joins them. */
#include "vm/vm.h"

/* Exit statuses for guest failures and merak's own (documented in README). */
#define EXIT_GUEST_CRASH 3
#define EXIT_VMM_ERROR	 1

/* Starts every vCPU's thread; a thread that cannot start stops the VM. */
void vcpus_start(struct vm *vm);
/* Makes every running vCPU leave KVM_RUN (to pause or stop). */
void vcpus_kick(struct vm *vm);
void vcpus_join(struct vm *vm);

#endif
