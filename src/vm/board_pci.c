// SPDX-License-Identifier: MIT
/*
 * The board's PCI part: the host bridge (ECAM + ports 0xCF8/0xCFC), the
 * LPC bridge function firmware expects at 00:1f.0, and one virtio-pci
 * function per configured device, made from the table of device types in a
 * fixed order so a guest sees stable slots: disks, nets, console, rng,
 * vsock. board_pci_add and board_pci_remove serve devices after boot too.
 */
#include <errno.h>
#include <stdlib.h>

#include "arch/x86/layout.h"
#include "devices/lpc.h"
#include "devices/pci.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vsock.h"
#include "devices/acpi_pm.h"
#include "vm/vm.h"

/*
 * The virtio device types, one row each, in the order their functions take
 * slots at boot (disks, nets, console, rng, vsock). Adding a type: its own
 * file defines virtio_X_type; one row here (docs/architecture.md).
 */
static const struct virtio_device_type *const virtio_types[] = {
	&virtio_blk_type, &virtio_net_type, &virtio_console_type, &virtio_rng_type,
	&virtio_vsock_type,
};

/* The board's PCI devices beyond the host bridge: one virtio function per slot at most. */
struct board_pci {
	struct lpc *lpc;
	struct virtio_pci_env env;
	struct virtio_dev *dev[PCI_MAX_SLOTS];
	unsigned n;
};

static int ioeventfd_svc(void *ctx, int fd, u64 addr, u32 len, bool deassign)
{
	struct vm *vm = ctx;

	if (!vm->services.ioeventfd)
		return -ENOTSUP;
	return vm->services.ioeventfd(vm, fd, addr, len, false, deassign);
}

static void on_console_quit(void *ctx)
{
	vm_request_stop(ctx, VM_STOP_REQUEST, 0, "quit from the console (Ctrl-A x)");
}

int board_pci_add(struct vm *vm, const struct virtio_device_type *type, unsigned index, bool start,
		  struct virtio_dev **out, struct err *e)
{
	struct board_pci *bp = vm->pci_devices;
	struct virtio_dev *vd;
	int r;

	if (bp->n == PCI_MAX_SLOTS)
		return errf(e, -ENOSPC, "pci: no slot left for a %s device", type->name);
	r = type->create(&bp->env, vm->cfg, index, &vd, e);
	if (r < 0)
		return r;
	if (start) {
		r = virtio_dev_start(vd, e);
		if (r < 0) {
			virtio_device_destroy(vd);
			return r;
		}
	}
	bp->dev[bp->n++] = vd;
	/* Counters are a nicety: a full table is not worth failing the VM for. */
	vm_add_counters(vm, vd->name, virtio_dev_collect, vd);
	if (out)
		*out = vd;
	return 0;
}

void board_pci_remove(struct vm *vm, struct virtio_dev *vd)
{
	struct board_pci *bp = vm->pci_devices;

	for (unsigned i = 0; i < bp->n; i++) {
		if (bp->dev[i] != vd)
			continue;
		vm_remove_counters(vm, vd);
		bp->dev[i] = bp->dev[--bp->n];
		virtio_device_destroy(vd);
		return;
	}
}

static u8 cf9_read(void *ctx)
{
	return acpi_pm_reset_control_read(ctx);
}

static void cf9_write(void *ctx, u8 value)
{
	acpi_pm_reset_control_write(ctx, value);
}

int board_pci_setup(struct vm *vm, struct err *e)
{
	const struct vm_config *c = vm->cfg;
	struct pci_bus_config pc = {
		.pio = &vm->pio,
		.mmio = &vm->mmio,
		.ecam_base = LAYOUT_PCI_ECAM_BASE,
		.ecam_size = LAYOUT_PCI_ECAM_SIZE,
		.cfg_port = PORT_PCI_CONFIG_ADDR,
		.mmio32_base = LAYOUT_PCI_MMIO32_BASE,
		.mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
		.mmio64_base = vm->mmio64_base,
		.mmio64_size = vm->mmio64_size,
		.msi = vm_irq_line(vm, 0),
		.cf9_read = cf9_read,
		.cf9_write = cf9_write,
		.cf9_ctx = vm->pm,
	};
	struct board_pci *bp = calloc(1, sizeof(*bp));
	int r;

	if (!bp)
		return errf(e, -ENOMEM, "pci: out of memory");
	vm->pci_devices = bp;
	/* The config ports take 0xCF8-0xCFF; the reset register at 0xCF9 rides along. */
	acpi_pm_release_reset_port(vm->pm);
	r = pci_bus_create(&pc, &vm->pci, e);
	if (r < 0)
		return r;
	bp->env = (struct virtio_pci_env){
		.pci = vm->pci,
		.mem = &vm->mem,
		.ioeventfd = ioeventfd_svc,
		.ioeventfd_ctx = vm,
		.access_platform = c->tdx.enabled,
		.sandbox_mode = c->seccomp,
		.console_quit = on_console_quit,
		.console_quit_ctx = vm,
	};
	/* Before the virtio functions, so none of them takes its slot. */
	r = lpc_create(vm->pci, PORT_PM_BASE, &bp->lpc, e);
	for (size_t t = 0; r == 0 && t < ARRAY_SIZE(virtio_types); t++)
		for (unsigned i = 0; r == 0 && i < virtio_types[t]->count(c); i++)
			r = board_pci_add(vm, virtio_types[t], i, false, NULL, e);
	/* Workers start once every function is in place. */
	for (unsigned i = 0; r == 0 && i < bp->n; i++)
		r = virtio_dev_start(bp->dev[i], e);
	return r;
}

void board_pci_destroy(struct vm *vm)
{
	struct board_pci *bp = vm->pci_devices;

	if (bp) {
		while (bp->n)
			board_pci_remove(vm, bp->dev[bp->n - 1]);
		lpc_destroy(bp->lpc);
		free(bp);
		vm->pci_devices = NULL;
	}
	pci_bus_destroy(vm->pci);
	vm->pci = NULL;
}
