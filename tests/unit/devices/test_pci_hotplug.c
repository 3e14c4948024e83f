// SPDX-License-Identifier: MIT
/*
 * ACPI PCI hotplug: the register block on its own, then vm_hotplug_add and
 * vm_hotplug_remove on a VM set up by hand (no KVM): the board's PCI part
 * with real virtio-rng functions, the ACPI PM block, and a fake vCPU thread
 * that parks when the VM pauses and, between "exits", plays the guest: on
 * the hotplug GPE it clears the status, reads UP and DOWN and, if told to,
 * ejects what DOWN named, as the DSDT's _E01 / HPSC / _EJ0 would.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "devices/acpi_pm.h"
#include "devices/pci.h"
#include "devices/pci_hotplug.h"
#include "util/clock.h"
#include "virtio/rng.h"
#include "vm/vm.h"

#define HP_GPE	 (1u << ACPI_GPE_PCI_HOTPLUG)
#define HP_SLOTS 0x7ffffffeu /* all but the host bridge (0) and the LPC (31) */

static u32 pio_in(struct bus *pio, u64 port, u32 len)
{
	u8 b[4] = {0};

	assert_true(bus_read(pio, port, b, len));
	return get_le32(b);
}

static void pio_out(struct bus *pio, u64 port, u32 len, u32 v)
{
	u8 b[4];

	put_le32(b, v);
	assert_true(bus_write(pio, port, b, len));
}

/* ---- the register block alone ------------------------------------------------ */

struct ej_probe {
	u32 slots;
	unsigned calls;
};

static void on_ejected(void *ctx, u32 slots)
{
	struct ej_probe *p = ctx;

	p->slots |= slots;
	p->calls++;
}

static const struct pci_hotplug_ops probe_ops = {.ejected = on_ejected};

static void emit_into(void *arg, const char *key, u64 value)
{
	u64 *c = arg;

	if (!strcmp(key, "inserts"))
		c[0] = value;
	else if (!strcmp(key, "removal_requests"))
		c[1] = value;
	else if (!strcmp(key, "ejects"))
		c[2] = value;
	else if (!strcmp(key, "ignored_ejects"))
		c[3] = value;
	else
		fail_msg("unexpected counter %s", key);
}

#define REG(r) (PORT_PCI_HOTPLUG + (r))

static void test_registers(void **state)
{
	struct ej_probe p = {0};
	struct pci_hotplug *hp;
	struct bus pio;
	struct err e;
	u64 c[4] = {~0ULL, ~0ULL, ~0ULL, ~0ULL};

	bus_init(&pio, "pio");
	/* Slot 0 is never a hotplug slot, whatever the caller says. */
	assert_int_equal(pci_hotplug_create(&pio, PORT_PCI_HOTPLUG, 0xffffffffu, &probe_ops, &p, &hp,
					    &e),
			 0);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_SLOTS), 4), 0xfffffffeu);
	pci_hotplug_destroy(hp);
	assert_int_equal(pio.n, 0);

	assert_int_equal(pci_hotplug_create(&pio, PORT_PCI_HOTPLUG, HP_SLOTS, &probe_ops, &p, &hp, &e),
			 0);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_SLOTS), 4), HP_SLOTS);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_UP), 4), 0);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_DOWN), 4), 0);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_EJECT), 4), 0);

	/* UP: set by an insertion, and reading clears what was read (here byte by byte). */
	assert_int_equal(pci_hotplug_insert(hp, 3), 0);
	assert_int_equal(pci_hotplug_insert(hp, 9), 0);
	assert_int_equal(pci_hotplug_insert(hp, 0), -EINVAL);
	assert_int_equal(pci_hotplug_insert(hp, 31), -EINVAL);
	assert_int_equal(pci_hotplug_insert(hp, 32), -EINVAL);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_UP) + 1, 1), 1u << (9 - 8));
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_UP), 4), 1u << 3);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_UP), 4), 0);

	/* EJECT of a slot nobody asked to remove (or of an empty one) is ignored. */
	pio_out(&pio, REG(PCI_HOTPLUG_EJECT), 4, 1u << 3 | 1u << 20);
	assert_int_equal(p.calls, 0);
	assert_false(pci_hotplug_ejected(hp, 3));
	assert_int_equal(hp->ignored_ejects, 2);

	/* A removal request: DOWN (read clears), then the eject is honoured once. */
	assert_int_equal(pci_hotplug_request_removal(hp, 3), 0);
	assert_int_equal(pci_hotplug_request_removal(hp, 31), -EINVAL);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_DOWN), 4), 1u << 3);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_DOWN), 4), 0);
	/* Writes to the read-only registers change nothing. */
	pio_out(&pio, REG(PCI_HOTPLUG_UP), 4, ~0u);
	pio_out(&pio, REG(PCI_HOTPLUG_DOWN), 4, ~0u);
	pio_out(&pio, REG(PCI_HOTPLUG_SLOTS), 4, 0);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_SLOTS), 4), HP_SLOTS);
	assert_false(pci_hotplug_ejected(hp, 3));
	pio_out(&pio, REG(PCI_HOTPLUG_EJECT), 1, 1u << 3);
	assert_true(pci_hotplug_ejected(hp, 3));
	assert_int_equal(p.calls, 1);
	assert_int_equal(p.slots, 1u << 3);
	/* A second eject of the same slot is ignored: its removal is no longer outstanding. */
	pio_out(&pio, REG(PCI_HOTPLUG_EJECT), 4, 1u << 3);
	assert_int_equal(p.calls, 1);
	assert_int_equal(hp->ignored_ejects, 3);
	/* Asking again once ejected does not re-notify: the host only has to finish. */
	assert_int_equal(pci_hotplug_request_removal(hp, 3), 0);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_DOWN), 4), 0);
	pci_hotplug_removed(hp, 3);
	assert_false(pci_hotplug_ejected(hp, 3));

	/* A repeated request repeats the notification; a byte lane of EJECT ejects slot 9. */
	assert_int_equal(pci_hotplug_request_removal(hp, 9), 0);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_DOWN), 4), 1u << 9);
	assert_int_equal(pci_hotplug_request_removal(hp, 9), 0);
	assert_int_equal(pio_in(&pio, REG(PCI_HOTPLUG_DOWN), 4), 1u << 9);
	pio_out(&pio, REG(PCI_HOTPLUG_EJECT) + 1, 1, 1u << (9 - 8));
	assert_true(pci_hotplug_ejected(hp, 9));
	assert_int_equal(p.slots, 1u << 3 | 1u << 9);
	/* An insertion in a slot forgets what the slot had. */
	assert_int_equal(pci_hotplug_insert(hp, 9), 0);
	assert_false(pci_hotplug_ejected(hp, 9));

	/* The counters. */
	pci_hotplug_collect(hp, emit_into, c);
	assert_int_equal(c[0], 3);
	assert_int_equal(c[1], 3);
	assert_int_equal(c[2], 2);
	assert_int_equal(c[3], 3);

	/* A clash with another range fails cleanly. */
	struct pci_hotplug *hp2 = NULL;
	assert_int_equal(pci_hotplug_create(&pio, PORT_PCI_HOTPLUG + 4, 2, NULL, NULL, &hp2, &e),
			 -EEXIST);
	assert_null(hp2);
	assert_non_null(strstr(e.msg, "pci hotplug: "));
	pci_hotplug_destroy(hp);
	assert_int_equal(pio.n, 0);
	bus_destroy(&pio);
}

/* ---- vm_hotplug_* on a VM made by hand --------------------------------------- */

enum guest_mode { GUEST_IDLE, GUEST_EJECT, GUEST_IGNORE };

struct fixture {
	struct vm *vm;
	struct vm_config cfg;
	pthread_t vcpu;
	int mode;	  /* enum guest_mode, atomic */
	u32 seen_up;	  /* what the guest read, ORed (atomic) */
	u32 seen_down;
	unsigned parked;  /* under vm->lock */
	unsigned scans;	  /* atomic */
	bool sci;	  /* the SCI's level (atomic) */
	u32 poll_us;
};

static struct fixture *the_fixture;

static void set_level(void *ctx, u32 gsi, bool level)
{
	if (gsi == IRQ_SCI)
		__atomic_store_n(&the_fixture->sci, level, __ATOMIC_RELAXED);
}

/* One "exit" of the guest: the hotplug GPE's method, as the DSDT has it. */
static void guest_step(struct fixture *f)
{
	struct bus *pio = &f->vm->pio;
	u32 up, down;

	if (__atomic_load_n(&f->mode, __ATOMIC_RELAXED) == GUEST_IDLE)
		return;
	if (!(pio_in(pio, PORT_GPE0_BLK, 1) & HP_GPE))
		return;
	/* _E01 is edge-triggered: ACPICA clears the status before it runs the method. */
	pio_out(pio, PORT_GPE0_BLK, 1, HP_GPE);
	up = pio_in(pio, REG(PCI_HOTPLUG_UP), 4);
	down = pio_in(pio, REG(PCI_HOTPLUG_DOWN), 4);
	__atomic_or_fetch(&f->seen_up, up, __ATOMIC_RELAXED);
	__atomic_or_fetch(&f->seen_down, down, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->scans, 1, __ATOMIC_RELAXED);
	if (down && __atomic_load_n(&f->mode, __ATOMIC_RELAXED) == GUEST_EJECT)
		pio_out(pio, REG(PCI_HOTPLUG_EJECT), 4, down);
}

/* The vCPU loop's pause protocol (vcpu.c), then a guest step per turn. */
static void *vcpu_main(void *arg)
{
	struct fixture *f = arg;
	struct vm *vm = f->vm;

	for (;;) {
		bool stop, run;

		pthread_mutex_lock(&vm->lock);
		if (vm->state == VM_PAUSED) {
			vm->paused_vcpus++;
			f->parked++;
			pthread_cond_broadcast(&vm->cond);
			while (vm->state == VM_PAUSED)
				pthread_cond_wait(&vm->cond, &vm->lock);
			vm->paused_vcpus--;
		}
		stop = vm->state == VM_STOPPING;
		run = vm->state == VM_RUNNING;
		pthread_mutex_unlock(&vm->lock);
		if (stop)
			return NULL;
		if (run)
			guest_step(f);
		usleep(f->poll_us);
	}
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct irq_line sci;
	struct vm *vm;
	struct err e;

	assert_non_null(f);
	the_fixture = f;
	f->cfg.rng = true; /* one boot device, in slot 1 */
	f->poll_us = 200;
	vm = f->vm = calloc(1, sizeof(*vm));
	assert_non_null(vm);
	vm->cfg = &f->cfg;
	vm->ncpus = 1;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	pthread_mutex_init(&vm->counters_lock, NULL);
	vm->stop_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(vm->stop_fd >= 0);
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	guest_mem_init(&vm->mem);
	vm->irq_ops = (struct irq_ops){.set_level = set_level};
	vm->mmio64_base = 0x8000000000ULL;
	vm->mmio64_size = 0x4000000000ULL;
	sci = vm_irq_line(vm, IRQ_SCI);
	if (acpi_pm_create(&vm->pio, &sci, NULL, NULL, &vm->pm, &e) < 0 ||
	    board_pci_setup(vm, &e) < 0) {
		fprintf(stderr, "setup: %s\n", e.msg);
		return -1;
	}
	vm->state = VM_RUNNING;
	/* The one vCPU runs from the start: a pause waits for it to park. */
	if (pthread_create(&f->vcpu, NULL, vcpu_main, f) != 0)
		return -1;
	*state = f;
	return 0;
}

static void set_state(struct vm *vm, enum vm_state s)
{
	pthread_mutex_lock(&vm->lock);
	vm->state = s;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct vm *vm = f->vm;

	vm_request_stop(vm, VM_STOP_REQUEST, 0, "test over");
	pthread_join(f->vcpu, NULL);
	board_pci_destroy(vm);
	acpi_pm_destroy(vm->pm);
	assert_int_equal(vm->pio.n, 0);
	assert_int_equal(vm->mmio.n, 0);
	assert_int_equal(vm->n_counters, 0);
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	close(vm->stop_fd);
	free(vm);
	free(f);
	return 0;
}

static u32 vendor_device(struct vm *vm, unsigned slot)
{
	u32 v = 0;

	pci_cfg_read(vm->pci, PCI_BDF(0, slot, 0), PCI_VENDOR_ID, &v, 4);
	return v;
}

static u64 bar0(struct vm *vm, unsigned slot)
{
	u32 lo = 0, hi = 0;

	pci_cfg_read(vm->pci, PCI_BDF(0, slot, 0), PCI_BASE_ADDRESS_0, &lo, 4);
	pci_cfg_read(vm->pci, PCI_BDF(0, slot, 0), PCI_BASE_ADDRESS_1, &hi, 4);
	return (lo & ~0xfULL) | (u64)hi << 32;
}

#define RNG_ID 0x10441af4u /* virtio 1.0 rng, Red Hat's vendor ID */

struct walk_seen {
	u32 slots;
	unsigned n;
};

static void on_visit(void *arg, const char *type, const char *id, unsigned slot)
{
	struct walk_seen *w = arg;

	assert_string_equal(type, "rng");
	assert_non_null(id);
	w->slots |= 1u << slot;
	w->n++;
}

static u32 walk_slots(struct vm *vm)
{
	struct walk_seen w = {0};

	board_pci_walk(vm, on_visit, &w);
	return w.slots;
}

/* Waits (bounded) until the guest has run its GPE method n times. */
static void wait_scans(struct fixture *f, unsigned n)
{
	u64 end = monotonic_ms() + 5000;

	while (__atomic_load_n(&f->scans, __ATOMIC_RELAXED) < n && monotonic_ms() < end)
		usleep(100);
	assert_true(__atomic_load_n(&f->scans, __ATOMIC_RELAXED) >= n);
}

static void test_board_slots(void **state)
{
	struct fixture *f = *state;
	struct vm *vm = f->vm;

	/* Every slot but the host bridge's and the LPC's; the boot device's (1) included. */
	assert_int_equal(board_pci_hotplug_slots(vm), HP_SLOTS);
	assert_int_equal(pio_in(&vm->pio, REG(PCI_HOTPLUG_SLOTS), 4), HP_SLOTS);
	assert_int_equal(vendor_device(vm, 1), RNG_ID);
	assert_int_equal(walk_slots(vm), 1u << 1);
	assert_int_equal(pio_in(&vm->pio, REG(PCI_HOTPLUG_UP), 4), 0);
	assert_int_equal(pio_in(&vm->pio, PORT_GPE0_BLK, 2), 0);
}

static void test_add_then_remove(void **state)
{
	struct fixture *f = *state;
	struct vm *vm = f->vm;
	unsigned slot = 0, parked;
	struct err e;
	u64 bar;

	/* The guest enabled the hotplug GPE, as ACPICA does for an _E01 method. */
	pio_out(&vm->pio, PORT_GPE0_BLK + 2, 1, HP_GPE);
	__atomic_store_n(&f->mode, GUEST_EJECT, __ATOMIC_RELAXED);

	assert_int_equal(vm_hotplug_add(vm, &virtio_rng_type, 0, &slot, &e), 0);
	assert_int_equal(slot, 2);
	assert_int_equal(vm_get_state(vm), VM_RUNNING);
	pthread_mutex_lock(&vm->lock);
	parked = f->parked;
	pthread_mutex_unlock(&vm->lock);
	assert_int_equal(parked, 1); /* the vCPU was held out while the buses changed */
	assert_int_equal(vendor_device(vm, 2), RNG_ID);
	assert_int_equal(walk_slots(vm), 1u << 1 | 1u << 2);
	bar = bar0(vm, 2);
	assert_true(bar >= vm->mmio64_base);
	wait_scans(f, 1);
	assert_int_equal(__atomic_load_n(&f->seen_up, __ATOMIC_RELAXED), 1u << 2);
	/* The guest cleared the GPE: the SCI is low again. */
	assert_false(__atomic_load_n(&f->sci, __ATOMIC_RELAXED));

	/* Removal: DOWN, the guest's eject on its vCPU thread, then the function is gone. */
	assert_int_equal(vm_hotplug_remove(vm, 2, 5000, &e), 0);
	assert_int_equal(__atomic_load_n(&f->seen_down, __ATOMIC_RELAXED), 1u << 2);
	assert_int_equal(vendor_device(vm, 2), 0xffffffffu);
	assert_int_equal(walk_slots(vm), 1u << 1);
	assert_int_equal(vm_get_state(vm), VM_RUNNING);
	assert_int_equal(vm_hotplug_remove(vm, 2, 100, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "no device in slot 2"));

	/* The same slot and the same BAR space serve the next device. */
	assert_int_equal(vm_hotplug_add(vm, &virtio_rng_type, 0, &slot, &e), 0);
	assert_int_equal(slot, 2);
	assert_int_equal(bar0(vm, 2), bar);
	assert_int_equal(vendor_device(vm, 2), RNG_ID);

	/* A device present at boot is removable the same way. */
	assert_int_equal(vm_hotplug_remove(vm, 1, 5000, &e), 0);
	assert_int_equal(vendor_device(vm, 1), 0xffffffffu);
	assert_int_equal(walk_slots(vm), 1u << 2);
}

static void test_guest_never_ejects(void **state)
{
	struct fixture *f = *state;
	struct vm *vm = f->vm;
	struct err e;
	u64 t0;

	__atomic_store_n(&f->mode, GUEST_IGNORE, __ATOMIC_RELAXED);
	t0 = monotonic_ms();
	assert_int_equal(vm_hotplug_remove(vm, 1, 150, &e), -ETIMEDOUT);
	assert_true(monotonic_ms() - t0 >= 150);
	assert_true(monotonic_ms() - t0 < 3000);
	assert_non_null(strstr(e.msg, "did not eject slot 1 within 150 ms"));
	assert_non_null(strstr(e.msg, "the device stays"));
	assert_int_equal(vendor_device(vm, 1), RNG_ID);
	assert_int_equal(vm_get_state(vm), VM_RUNNING);
	wait_scans(f, 1);
	assert_int_equal(__atomic_load_n(&f->seen_down, __ATOMIC_RELAXED), 1u << 1);

	/* A retry asks again (a second notification) and times out again. */
	assert_int_equal(vm_hotplug_remove(vm, 1, 100, &e), -ETIMEDOUT);
	wait_scans(f, 2);

	/* The guest ejects late, after the timeout: honoured, and the next call finishes at once. */
	pio_out(&vm->pio, REG(PCI_HOTPLUG_EJECT), 4, 1u << 1);
	t0 = monotonic_ms();
	assert_int_equal(vm_hotplug_remove(vm, 1, 60000, &e), 0);
	assert_true(monotonic_ms() - t0 < 1000);
	assert_int_equal(vendor_device(vm, 1), 0xffffffffu);
	assert_int_equal(walk_slots(vm), 0);
}

struct remover {
	struct vm *vm;
	unsigned slot, timeout_ms;
	int r;
	struct err e;
	pthread_t t;
};

static void *remove_main(void *arg)
{
	struct remover *r = arg;

	r->r = vm_hotplug_remove(r->vm, r->slot, r->timeout_ms, &r->e);
	return NULL;
}

static u64 ignored_ejects;

static void count_group(void *arg, const char *name)
{
	*(bool *)arg = !strcmp(name, "pci-hotplug");
}

static void count_counter(void *arg, const char *key, u64 value)
{
	if (*(bool *)arg && !strcmp(key, "ignored_ejects"))
		ignored_ejects = value;
}

/* The pci-hotplug group's ignored_ejects, as vm.counters reports it. */
static u64 ignored(struct vm *vm)
{
	const struct vm_counter_visitor v = {count_group, count_counter};
	bool in_group = false;

	ignored_ejects = ~0ULL;
	vm_walk_counters(vm, &v, &in_group);
	return ignored_ejects;
}

static void test_hostile_sequences(void **state)
{
	struct fixture *f = *state;
	struct vm *vm = f->vm;
	struct remover rm = {.vm = vm, .slot = 1, .timeout_ms = 10000};
	unsigned slot;
	struct err e;
	u64 end;

	/* Not hotplug slots at all. */
	assert_int_equal(vm_hotplug_remove(vm, 0, 10, &e), -EINVAL);
	assert_int_equal(vm_hotplug_remove(vm, 31, 10, &e), -EINVAL);
	assert_int_equal(vm_hotplug_remove(vm, 32, 10, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "slot 32 is not a hotplug slot"));
	assert_int_equal(vm_hotplug_remove(vm, 7, 10, &e), -ENOENT);

	/* The guest (here: the test) ejects an empty slot, and an occupied one nobody asked for. */
	pio_out(&vm->pio, REG(PCI_HOTPLUG_EJECT), 4, 1u << 7);
	pio_out(&vm->pio, REG(PCI_HOTPLUG_EJECT), 4, 1u << 1);
	assert_int_equal(vendor_device(vm, 1), RNG_ID);

	/* A removal waits for the guest (which does nothing here: the test plays it). */
	assert_int_equal(pthread_create(&rm.t, NULL, remove_main, &rm), 0);
	end = monotonic_ms() + 5000;
	while (!(pio_in(&vm->pio, PORT_GPE0_BLK, 1) & HP_GPE) && monotonic_ms() < end)
		usleep(100);
	assert_int_equal(vm_hotplug_remove(vm, 1, 10, &e), -EALREADY);
	assert_non_null(strstr(e.msg, "already under way"));
	/* An add meanwhile takes another slot. */
	assert_int_equal(vm_hotplug_add(vm, &virtio_rng_type, 0, &slot, &e), 0);
	assert_int_equal(slot, 2);
	/* The guest ejects: the waiting call finishes; a double eject is ignored. */
	assert_int_equal(pio_in(&vm->pio, REG(PCI_HOTPLUG_DOWN), 4), 1u << 1);
	pio_out(&vm->pio, REG(PCI_HOTPLUG_EJECT), 4, 1u << 1);
	pthread_join(rm.t, NULL);
	assert_int_equal(rm.r, 0);
	pio_out(&vm->pio, REG(PCI_HOTPLUG_EJECT), 4, 1u << 1);
	assert_int_equal(vendor_device(vm, 1), 0xffffffffu);
	assert_int_equal(vendor_device(vm, 2), RNG_ID);
	assert_int_equal(vm_hotplug_remove(vm, 1, 10, &e), -ENOENT);
	/* Counted: the empty slot, the unrequested one and the double eject. */
	assert_int_equal(ignored(vm), 3);
}

static void test_counters_and_states(void **state)
{
	struct fixture *f = *state;
	struct vm *vm = f->vm;
	struct remover rm = {.vm = vm, .slot = 1, .timeout_ms = 10000};
	unsigned slot;
	struct err e;

	/* Ignored ejects reach vm.counters. */
	pio_out(&vm->pio, REG(PCI_HOTPLUG_EJECT), 4, 1u << 7 | 1u << 1);
	assert_int_equal(ignored(vm), 2);

	/* Paused: an add goes in (the guest hears of it on resume); a removal is refused. */
	assert_int_equal(vm_pause(vm, &e), 0);
	assert_int_equal(vm_hotplug_add(vm, &virtio_rng_type, 0, &slot, &e), 0);
	assert_int_equal(slot, 2);
	assert_int_equal(vm_get_state(vm), VM_PAUSED);
	assert_int_equal(pio_in(&vm->pio, PORT_GPE0_BLK, 1), HP_GPE);
	assert_int_equal(pio_in(&vm->pio, REG(PCI_HOTPLUG_UP), 4), 1u << 2);
	pio_out(&vm->pio, PORT_GPE0_BLK, 1, HP_GPE);
	assert_int_equal(vm_hotplug_remove(vm, 2, 10, &e), -EBUSY);
	assert_non_null(strstr(e.msg, "resume it first"));

	/* Not started yet: no guest to tell either way. */
	set_state(vm, VM_CREATED);
	assert_int_equal(vm_hotplug_add(vm, &virtio_rng_type, 0, &slot, &e), 0);
	assert_int_equal(slot, 3);
	assert_int_equal(vm_hotplug_remove(vm, 2, 10, &e), 0);
	assert_int_equal(pio_in(&vm->pio, PORT_GPE0_BLK, 1), 0);
	assert_int_equal(pio_in(&vm->pio, REG(PCI_HOTPLUG_UP), 4), 0);
	assert_int_equal(pio_in(&vm->pio, REG(PCI_HOTPLUG_DOWN), 4), 0);
	assert_int_equal(walk_slots(vm), 1u << 1 | 1u << 3);

	/* A stop ends a waiting removal at once; the device stays for teardown. */
	set_state(vm, VM_RUNNING);
	assert_int_equal(pthread_create(&rm.t, NULL, remove_main, &rm), 0);
	while (!(pio_in(&vm->pio, PORT_GPE0_BLK, 1) & HP_GPE))
		usleep(100);
	vm_request_stop(vm, VM_STOP_REQUEST, 0, "stop while a removal waits");
	pthread_join(rm.t, NULL);
	assert_int_equal(rm.r, -ESHUTDOWN);
	assert_non_null(strstr(rm.e.msg, "the VM stopped before the guest ejected slot 1"));
	assert_int_equal(vm_hotplug_add(vm, &virtio_rng_type, 0, &slot, &e), -ESHUTDOWN);
	assert_int_equal(vendor_device(vm, 1), RNG_ID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registers),
	    cmocka_unit_test_setup_teardown(test_board_slots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_then_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_guest_never_ejects, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hostile_sequences, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counters_and_states, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
