// SPDX-License-Identifier: MIT
/*
 * The board's PCI part: the host bridge (ECAM + ports 0xCF8/0xCFC), the
 * LPC bridge function firmware expects at 00:1f.0, and one virtio-pci
 * function per configured device, made from the table of device types in a
 * fixed order so a guest sees stable slots: disks, nets, console, rng,
 * vsock. board_pci_add and board_pci_remove serve devices after boot too;
 * vm_hotplug_add and vm_hotplug_remove wrap them in the ACPI hotplug
 * handshake with the guest (devices/pci_hotplug.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arch/x86/layout.h"
#include "devices/lpc.h"
#include "devices/pci.h"
#include "virtio/blk.h"
#include "virtio/console.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "virtio/vsock.h"
#include "devices/acpi_pm.h"
#include "devices/pci_hotplug.h"
#include "util/clock.h"
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
	const struct virtio_device_type *type[PCI_MAX_SLOTS];
	char id[PCI_MAX_SLOTS][VM_ID_MAX];	/* as the configuration named it when it came */
	unsigned n;
	/*
	 * Hotplug: the register block, and the slots a vm_hotplug_remove
	 * waits on. lock serialises hotplug calls and guards the list above
	 * against board_pci_walk while vCPUs run; it is never held while
	 * waiting for the guest.
	 */
	struct pci_hotplug *hotplug;
	pthread_mutex_t lock;
	u32 waiting;
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
	bp->type[bp->n] = type;
	snprintf(bp->id[bp->n], VM_ID_MAX, "%s", type->id(vm->cfg, index));
	/* vm.counters keys devices by id, as Cloud Hypervisor does. */
	snprintf(vd->id, sizeof(vd->id), "%s", bp->id[bp->n]);
	bp->dev[bp->n++] = vd;
	/* Counters are a nicety: a full table is not worth failing the VM for. */
	vm_add_counters(vm, vd->id[0] ? vd->id : vd->name, virtio_dev_collect, vd);
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
		bp->n--;
		bp->dev[i] = bp->dev[bp->n];
		bp->type[i] = bp->type[bp->n];
		memcpy(bp->id[i], bp->id[bp->n], VM_ID_MAX);
		virtio_device_destroy(vd);
		return;
	}
}

const struct virtio_device_type *board_pci_type(const char *name)
{
	for (size_t t = 0; t < ARRAY_SIZE(virtio_types); t++)
		if (!strcmp(virtio_types[t]->name, name))
			return virtio_types[t];
	return NULL;
}

void board_pci_walk(struct vm *vm, board_pci_visit_fn *visit, void *arg)
{
	struct board_pci *bp = vm->pci_devices;

	if (!bp)
		return;
	pthread_mutex_lock(&bp->lock);
	for (unsigned i = 0; i < bp->n; i++)
		visit(arg, bp->type[i]->name, bp->id[i], bp->dev[i]->pci.slot);
	pthread_mutex_unlock(&bp->lock);
}

/* ---- hotplug ------------------------------------------------------------------ */

u32 board_pci_hotplug_slots(const struct vm *vm)
{
	const struct board_pci *bp = vm->pci_devices;

	return bp && bp->hotplug ? bp->hotplug->slots : 0;
}

/* vCPU thread, from an EJECT write: wakes vm_hotplug_remove's wait on vm->cond. */
static void on_ejected(void *ctx, u32 slots)
{
	struct vm *vm = ctx;

	pthread_mutex_lock(&vm->lock);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static const struct pci_hotplug_ops hotplug_ops = {.ejected = on_ejected};

static struct virtio_dev *slot_dev(struct board_pci *bp, unsigned slot)
{
	for (unsigned i = 0; i < bp->n; i++)
		if (bp->dev[i]->pci.slot == slot)
			return bp->dev[i];
	return NULL;
}

/*
 * Keeps the vCPUs out of the guest while the buses change (their handlers
 * run outside the bus lock): a running VM is paused and *resume set; a
 * paused one, or one whose vCPUs have not started, stays as it is.
 */
static int hold_vcpus(struct vm *vm, bool *resume, struct err *e)
{
	*resume = false;
	switch (vm_get_state(vm)) {
	case VM_CREATED:
	case VM_PAUSED:
		return 0;
	case VM_RUNNING:
		break;
	default:
		return errf(e, -ESHUTDOWN, "the VM is stopping");
	}
	/* Paused meanwhile by someone else: that will do; stopping: it will not. */
	if (vm_pause(vm, e) == 0 && vm_get_state(vm) == VM_PAUSED)
		*resume = true;
	switch (vm_get_state(vm)) {
	case VM_PAUSED:
		return 0;
	case VM_STOPPING:
		return errf(e, -ESHUTDOWN, "the VM is stopping");
	default:
		return errf(e, -EBUSY, "the vCPUs could not be held: the VM was resumed meanwhile");
	}
}

static void release_vcpus(struct vm *vm, bool resume)
{
	struct err e;

	if (resume)
		vm_resume(vm, &e); /* fails only if a stop came meanwhile: then it does not matter */
}

int vm_hotplug_add(struct vm *vm, const struct virtio_device_type *type, unsigned index,
		   unsigned *slot_out, struct err *e)
{
	struct board_pci *bp = vm->pci_devices;
	struct virtio_dev *vd = NULL;
	bool resume;
	int r;

	if (!bp || !bp->hotplug)
		return errf(e, -ENOTSUP, "pci hotplug: this VM has no PCI bus");
	pthread_mutex_lock(&bp->lock);
	r = hold_vcpus(vm, &resume, e);
	if (r == 0) {
		r = board_pci_add(vm, type, index, true, &vd, e);
		if (r == 0 && !(bp->hotplug->slots >> vd->pci.slot & 1)) {
			board_pci_remove(vm, vd);
			r = errf(e, -ENOSPC, "no hotplug slot left for a %s device", type->name);
		}
		/* A guest that has not started finds the device at boot. */
		if (r == 0 && vm_get_state(vm) != VM_CREATED) {
			pci_hotplug_insert(bp->hotplug, vd->pci.slot);
			acpi_pm_gpe_raise(vm->pm, ACPI_GPE_PCI_HOTPLUG);
		}
		release_vcpus(vm, resume);
	}
	pthread_mutex_unlock(&bp->lock);
	if (r < 0)
		return err_ctx(e, "pci hotplug");
	if (slot_out)
		*slot_out = vd->pci.slot;
	return 0;
}

/*
 * Waits for the guest's eject of slot, or a stop, for up to timeout_ms, on
 * vm->cond (on_ejected and vm_request_stop broadcast it). vm->cond counts
 * CLOCK_REALTIME: the wait goes in short slices against a monotonic deadline
 * so that a step of the wall clock cannot stretch it.
 */
static int wait_for_eject(struct vm *vm, struct pci_hotplug *hp, unsigned slot, unsigned timeout_ms)
{
	u64 deadline = monotonic_ns() + (u64)timeout_ms * 1000000ULL;
	int r;

	pthread_mutex_lock(&vm->lock);
	for (;;) {
		struct timespec ts;
		u64 now, slice;

		if (pci_hotplug_ejected(hp, slot)) {
			r = 0;
			break;
		}
		if (vm->state == VM_STOPPING) {
			r = -ESHUTDOWN;
			break;
		}
		now = monotonic_ns();
		if (now >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		slice = MIN(deadline - now, 100000000ULL);
		clock_gettime(CLOCK_REALTIME, &ts);
		slice += (u64)ts.tv_nsec;
		ts.tv_sec += (time_t)(slice / 1000000000ULL);
		ts.tv_nsec = (long)(slice % 1000000000ULL);
		pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
	}
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int vm_hotplug_remove(struct vm *vm, unsigned slot, unsigned timeout_ms, struct err *e)
{
	struct board_pci *bp = vm->pci_devices;
	struct pci_hotplug *hp;
	struct virtio_dev *vd;
	bool resume;
	int r = 0;

	if (!bp || !bp->hotplug)
		return errf(e, -ENOTSUP, "pci hotplug: this VM has no PCI bus");
	hp = bp->hotplug;
	if (slot >= PCI_MAX_SLOTS || !(hp->slots >> slot & 1))
		return errf(e, -EINVAL, "pci hotplug: slot %u is not a hotplug slot", slot);
	pthread_mutex_lock(&bp->lock);
	if (bp->waiting >> slot & 1) {
		r = errf(e, -EALREADY, "pci hotplug: the removal of slot %u is already under way",
			 slot);
		goto out;
	}
	if (!slot_dev(bp, slot)) {
		r = errf(e, -ENOENT, "pci hotplug: no device in slot %u", slot);
		goto out;
	}
	switch (vm_get_state(vm)) {
	case VM_CREATED:
		break; /* no guest yet: nothing to ask */
	case VM_PAUSED:
		r = errf(e, -EBUSY,
			 "pci hotplug: the VM is paused, so its guest cannot release slot %u; "
			 "resume it first", slot);
		goto out;
	case VM_RUNNING:
		/* Ejected after an earlier request timed out: finish now. */
		if (pci_hotplug_ejected(hp, slot))
			break;
		pci_hotplug_request_removal(hp, slot);
		acpi_pm_gpe_raise(vm->pm, ACPI_GPE_PCI_HOTPLUG);
		bp->waiting |= 1u << slot;
		pthread_mutex_unlock(&bp->lock);
		r = wait_for_eject(vm, hp, slot, timeout_ms);
		pthread_mutex_lock(&bp->lock);
		bp->waiting &= ~(1u << slot);
		if (r == -ETIMEDOUT)
			errf(e, r,
			     "pci hotplug: the guest did not eject slot %u within %u ms (does it run "
			     "an ACPI PCI hotplug driver, such as Linux's acpiphp?); the device stays, "
			     "and a retry asks again", slot, timeout_ms);
		else if (r < 0)
			errf(e, r, "pci hotplug: the VM stopped before the guest ejected slot %u", slot);
		if (r < 0)
			goto out;
		break;
	default:
		r = errf(e, -ESHUTDOWN, "pci hotplug: the VM is stopping");
		goto out;
	}
	r = hold_vcpus(vm, &resume, e);
	if (r < 0) {
		err_ctx(e, "pci hotplug");
		goto out;
	}
	vd = slot_dev(bp, slot);
	if (vd)
		board_pci_remove(vm, vd);
	pci_hotplug_removed(hp, slot);
	release_vcpus(vm, resume);
out:
	pthread_mutex_unlock(&bp->lock);
	return r;
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
	pthread_mutex_init(&bp->lock, NULL);
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
	/* Every slot the chipset leaves free is a hotplug slot, those taken at boot included. */
	if (r == 0) {
		u32 slots = 0;

		for (unsigned s = 1; s < PCI_MAX_SLOTS; s++)
			if (!vm->pci->slots[s])
				slots |= 1u << s;
		r = pci_hotplug_create(&vm->pio, PORT_PCI_HOTPLUG, slots, &hotplug_ops, vm,
				       &bp->hotplug, e);
		if (r == 0)
			vm_add_counters(vm, "pci-hotplug", pci_hotplug_collect, bp->hotplug);
	}
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
		if (bp->hotplug) {
			vm_remove_counters(vm, bp->hotplug);
			pci_hotplug_destroy(bp->hotplug);
		}
		lpc_destroy(bp->lpc);
		pthread_mutex_destroy(&bp->lock);
		free(bp);
		vm->pci_devices = NULL;
	}
	pci_bus_destroy(vm->pci);
	vm->pci = NULL;
}
