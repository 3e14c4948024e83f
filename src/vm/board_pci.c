// SPDX-License-Identifier: MIT
/*
 * The board's PCI part: the host bridge (ECAM + ports 0xCF8/0xCFC), the
 * LPC bridge function firmware expects at 00:1f.0, and one virtio-pci
 * function per configured device, in a fixed order so a guest
 * sees stable slots: disks, nets, console, rng, vsock.
 */
#include <errno.h>
#include <stdlib.h>

#include "../arch/x86/layout.h"
#include "../devices/console_io.h"
#include "../devices/lpc.h"
#include "../devices/pci.h"
#include "../virtio/blk.h"
#include "../virtio/console.h"
#include "../virtio/net.h"
#include "../virtio/rng.h"
#include "../virtio/vsock.h"
#include "../devices/acpi_pm.h"
#include "vm.h"

struct board_pci {
	struct lpc *lpc;
	struct virtio_blk *blk[MAX_DISKS];
	struct virtio_net *net[MAX_NETS];
	struct virtio_console *console;
	struct virtio_rng *rng;
	struct virtio_vsock *vsock;
	struct virtio_dev *all[MAX_DISKS + MAX_NETS + 3];
	unsigned n;
};

static int ioeventfd_svc(void *ctx, int fd, u64 addr, u32 len, bool deassign)
{
	struct vm *vm = ctx;

	if (!vm->services.ioeventfd)
		return -ENOTSUP;
	return vm->services.ioeventfd(vm, fd, addr, len, false, deassign);
}

static void collect(void *ctx, counter_emit_fn emit, void *arg)
{
	struct virtio_dev *vd = ctx;
	u64 requests = 0, from_guest = 0, to_guest = 0;

	for (u16 i = 0; i < vd->num_queues; i++) {
		const struct virtq_stats *st = &vd->q[i].vq.stats;

		requests += __atomic_load_n(&st->chains, __ATOMIC_RELAXED);
		from_guest += __atomic_load_n(&st->bytes_from_guest, __ATOMIC_RELAXED);
		to_guest += __atomic_load_n(&st->bytes_to_guest, __ATOMIC_RELAXED);
	}
	emit(arg, "requests", requests);
	emit(arg, "bytes_from_guest", from_guest);
	emit(arg, "bytes_to_guest", to_guest);
	emit(arg, "kicks", __atomic_load_n(&vd->kicks, __ATOMIC_RELAXED));
	emit(arg, "interrupts", __atomic_load_n(&vd->interrupts, __ATOMIC_RELAXED));
	emit(arg, "resets", __atomic_load_n(&vd->resets, __ATOMIC_RELAXED));
	emit(arg, "msi_sent", __atomic_load_n(&vd->pci.msi_sent, __ATOMIC_RELAXED));
	emit(arg, "needs_reset", __atomic_load_n(&vd->broken, __ATOMIC_RELAXED));
}

static void on_console_quit(void *ctx)
{
	vm_request_stop(ctx, 0, "quit from the console (Ctrl-A x)");
}

static int add(struct vm *vm, struct board_pci *bp, struct virtio_dev *vd, struct err *e)
{
	bp->all[bp->n++] = vd;
	/* Counters are a nicety: a full table is not worth failing the VM for. */
	vm_add_counters(vm, vd->name, collect, vd);
	return 0;
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
	struct virtio_pci_env env = {
		.mem = &vm->mem,
		.ioeventfd = ioeventfd_svc,
		.ioeventfd_ctx = vm,
		.access_platform = c->tdx.enabled,
		.sandbox_mode = c->seccomp,
	};
	struct board_pci *bp = calloc(1, sizeof(*bp));
	int r;

	if (!bp)
		return errf(e, -ENOMEM, "pci: out of memory");
	/* The config ports take 0xCF8-0xCFF; the reset register at 0xCF9 rides along. */
	acpi_pm_release_reset_port(vm->pm);
	r = pci_bus_create(&pc, &vm->pci, e);
	if (r < 0) {
		free(bp);
		return r;
	}
	vm->pci->board = bp;
	env.pci = vm->pci;
	/* Before the virtio functions, so none of them takes its slot. */
	r = lpc_create(vm->pci, PORT_PM_BASE, &bp->lpc, e);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < c->n_disks; i++) {
		r = virtio_blk_create(&env, &c->disks[i], i, &bp->blk[i], e);
		if (r < 0)
			return r;
		add(vm, bp, virtio_blk_dev(bp->blk[i]), e);
	}
	for (unsigned i = 0; i < c->n_nets; i++) {
		r = virtio_net_create(&env, &c->nets[i], i, &bp->net[i], e);
		if (r < 0)
			return r;
		add(vm, bp, virtio_net_dev(bp->net[i]), e);
	}
	if (c->console.mode != CHARDEV_OFF) {
		struct console_io *io;

		r = console_io_open(&c->console, "console output file", &io, e);
		if (r < 0)
			return err_ctx(e, "virtio-console");
		console_io_set_sandbox(io, c->seccomp);
		console_io_set_escape(io, on_console_quit, vm);
		r = virtio_console_create(&env, io, &bp->console, e);
		if (r < 0)
			return r;
		add(vm, bp, virtio_console_dev(bp->console), e);
	}
	if (c->rng) {
		r = virtio_rng_create(&env, &bp->rng, e);
		if (r < 0)
			return r;
		add(vm, bp, virtio_rng_dev(bp->rng), e);
	}
	if (c->vsock.enabled) {
		r = virtio_vsock_create(&env, &c->vsock, &bp->vsock, e);
		if (r < 0)
			return r;
		add(vm, bp, virtio_vsock_dev(bp->vsock), e);
	}
	for (unsigned i = 0; i < bp->n; i++) {
		r = virtio_dev_start(bp->all[i], e);
		if (r < 0)
			return r;
	}
	return 0;
}

void board_pci_destroy(struct vm *vm)
{
	struct board_pci *bp;

	if (!vm->pci)
		return;
	bp = vm->pci->board;
	if (bp) {
		for (unsigned i = 0; i < MAX_DISKS; i++)
			virtio_blk_destroy(bp->blk[i]);
		for (unsigned i = 0; i < MAX_NETS; i++)
			virtio_net_destroy(bp->net[i]);
		virtio_console_destroy(bp->console);
		virtio_rng_destroy(bp->rng);
		virtio_vsock_destroy(bp->vsock);
		lpc_destroy(bp->lpc);
		free(bp);
	}
	pci_bus_destroy(vm->pci);
	vm->pci = NULL;
}
