// SPDX-License-Identifier: MIT
/* Temporary, until board_pci.c lands: a board without PCI. */
#include <errno.h>

#include "vm.h"

int board_pci_setup(struct vm *vm, struct err *e)
{
	const struct vm_config *c = vm->cfg;

	if (c->n_disks || c->n_nets || c->rng || c->vsock.enabled ||
	    c->console.mode != CHARDEV_OFF)
		return errf(e, -ENOTSUP, "virtio devices are not built into this merak yet");
	return 0;
}

void board_pci_destroy(struct vm *vm)
{
}
