// SPDX-License-Identifier: MIT
/*
 * ACPI PCI hotplug registers for bus 0 (layout and protocol in
 * pci_hotplug.h):
 *
 *   PORT_PCI_HOTPLUG + 0x0  UP     RO, read clears   insertions to announce
 *                    + 0x4  DOWN   RO, read clears   removal requests to announce
 *                    + 0x8  EJECT  WO                _EJ0: the slot's bit
 *                    + 0xC  SLOTS  RO                the hotplug slots
 *
 * A removal runs: host sets DOWN and "removing" and raises the GPE; the
 * guest's GPE method reads DOWN and notifies the slot; the guest releases
 * the function and its _EJ0 writes EJECT; the slot becomes "ejected" and the
 * host (woken through ops->ejected) takes the function away and calls
 * pci_hotplug_removed.
 */
#include "devices/pci_hotplug.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define PCI_HOTPLUG_LOG_MAX 8 /* ignored ejects logged (debug), then only counted */

/* The byte lanes [off, off + len) of a 32-bit register, as a mask. */
static u32 lanes(u64 off, u32 len)
{
	u64 m = len >= 4 ? 0xffffffffULL : (1ULL << (8 * len)) - 1;

	return (u32)(m << (8 * (off & 3)));
}

static void hp_read(void *opaque, u64 off, void *data, u32 len)
{
	struct pci_hotplug *hp = opaque;
	u32 m = lanes(off, len), v = 0;
	u8 b[4];

	pthread_mutex_lock(&hp->lock);
	switch (off & ~3ULL) {
	case PCI_HOTPLUG_UP:
		v = hp->up & m;
		hp->up &= ~m;
		break;
	case PCI_HOTPLUG_DOWN:
		v = hp->down & m;
		hp->down &= ~m;
		break;
	case PCI_HOTPLUG_SLOTS:
		v = hp->slots;
		break;
	default: /* EJECT reads 0 */
		break;
	}
	pthread_mutex_unlock(&hp->lock);
	put_le32(b, v >> (8 * (off & 3)));
	memset(data, 0, len);
	memcpy(data, b, MIN(len, 4u));
}

static void hp_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct pci_hotplug *hp = opaque;
	u8 b[4] = {0};
	u32 v, done, ignored;
	bool log_it;

	if ((off & ~3ULL) != PCI_HOTPLUG_EJECT)
		return;
	memcpy(b, data, MIN(len, 4u));
	v = (get_le32(b) << (8 * (off & 3))) & lanes(off, len);
	if (!v)
		return;
	pthread_mutex_lock(&hp->lock);
	done = v & hp->removing;
	ignored = v & ~done;
	hp->removing &= ~done;
	hp->ejected |= done;
	hp->ejects += (u64)__builtin_popcount(done);
	hp->ignored_ejects += (u64)__builtin_popcount(ignored);
	/* The first few are logged: a guest writing EJECT in a loop must not flood the log. */
	log_it = ignored && hp->ignored_logged < PCI_HOTPLUG_LOG_MAX;
	if (log_it)
		hp->ignored_logged++;
	pthread_mutex_unlock(&hp->lock);
	if (log_it)
		log_debug("pci hotplug: eject of slots 0x%x ignored: no removal was requested there",
			  ignored);
	if (done && hp->ops && hp->ops->ejected)
		hp->ops->ejected(hp->ctx, done);
}

static const struct bus_ops hp_ops = {hp_read, hp_write};

int pci_hotplug_create(struct bus *pio, u16 base, u32 slots, const struct pci_hotplug_ops *ops,
		       void *ctx, struct pci_hotplug **out, struct err *e)
{
	struct pci_hotplug *hp = calloc(1, sizeof(*hp));
	int r;

	if (!hp)
		return errf(e, -ENOMEM, "pci hotplug: out of memory");
	pthread_mutex_init(&hp->lock, NULL);
	hp->pio = pio;
	hp->base = base;
	hp->slots = slots & ~1u; /* slot 0 is the host bridge */
	hp->ops = ops;
	hp->ctx = ctx;
	r = bus_register(pio, base, PCI_HOTPLUG_LEN, &hp_ops, hp, "pci-hotplug", e);
	if (r < 0) {
		pthread_mutex_destroy(&hp->lock);
		free(hp);
		return err_ctx(e, "pci hotplug");
	}
	*out = hp;
	return 0;
}

void pci_hotplug_destroy(struct pci_hotplug *hp)
{
	if (!hp)
		return;
	bus_unregister(hp->pio, hp->base, hp);
	pthread_mutex_destroy(&hp->lock);
	free(hp);
}

static bool valid(const struct pci_hotplug *hp, unsigned slot)
{
	return slot < 32 && (hp->slots >> slot & 1);
}

int pci_hotplug_insert(struct pci_hotplug *hp, unsigned slot)
{
	u32 bit = 1u << (slot & 31);

	if (!valid(hp, slot))
		return -EINVAL;
	pthread_mutex_lock(&hp->lock);
	hp->up |= bit;
	hp->down &= ~bit;
	hp->removing &= ~bit;
	hp->ejected &= ~bit;
	hp->inserts++;
	pthread_mutex_unlock(&hp->lock);
	return 0;
}

int pci_hotplug_request_removal(struct pci_hotplug *hp, unsigned slot)
{
	u32 bit = 1u << (slot & 31);

	if (!valid(hp, slot))
		return -EINVAL;
	pthread_mutex_lock(&hp->lock);
	if (!(hp->ejected & bit)) {
		hp->down |= bit;
		hp->removing |= bit;
		hp->removal_requests++;
	}
	pthread_mutex_unlock(&hp->lock);
	return 0;
}

bool pci_hotplug_ejected(struct pci_hotplug *hp, unsigned slot)
{
	bool r;

	if (!valid(hp, slot))
		return false;
	pthread_mutex_lock(&hp->lock);
	r = hp->ejected >> slot & 1;
	pthread_mutex_unlock(&hp->lock);
	return r;
}

void pci_hotplug_removed(struct pci_hotplug *hp, unsigned slot)
{
	u32 bit = 1u << (slot & 31);

	if (!valid(hp, slot))
		return;
	pthread_mutex_lock(&hp->lock);
	hp->up &= ~bit;
	hp->down &= ~bit;
	hp->removing &= ~bit;
	hp->ejected &= ~bit;
	pthread_mutex_unlock(&hp->lock);
}

void pci_hotplug_collect(void *ctx, counter_emit_fn emit, void *arg)
{
	struct pci_hotplug *hp = ctx;
	u64 v[4];

	pthread_mutex_lock(&hp->lock);
	v[0] = hp->inserts;
	v[1] = hp->removal_requests;
	v[2] = hp->ejects;
	v[3] = hp->ignored_ejects;
	pthread_mutex_unlock(&hp->lock);
	emit(arg, "inserts", v[0]);
	emit(arg, "removal_requests", v[1]);
	emit(arg, "ejects", v[2]);
	emit(arg, "ignored_ejects", v[3]);
}
