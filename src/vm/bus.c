// SPDX-License-Identifier: MIT
#include "vm/bus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/log.h"

#define BUS_UNCLAIMED_LOGGED 16

void bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->n = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* The counters entry for a device name. Caller holds the write lock. */
static struct bus_stat *stat_for(struct bus *bus, const char *name)
{
	for (unsigned i = 0; i < bus->n_stats; i++)
		if (!strcmp(bus->stats[i].name, name))
			return &bus->stats[i];
	if (bus->n_stats == BUS_MAX_STATS)
		return NULL;
	bus->stats[bus->n_stats].name = name;
	return &bus->stats[bus->n_stats++];
}

int bus_register(struct bus *bus, u64 base, u64 len, const struct bus_ops *ops, void *opaque,
		 const char *name, struct err *e)
{
	u64 end;
	unsigned pos;
	int ret = 0;

	if (!len || add_overflows(base, len, &end))
		return errf(e, -EINVAL, "%s bus: bad range for %s", bus->name, name);
	pthread_rwlock_wrlock(&bus->lock);
	for (pos = 0; pos < bus->n && bus->ranges[pos].base < base; pos++)
		;
	if ((pos > 0 && bus->ranges[pos - 1].base + bus->ranges[pos - 1].len > base) ||
	    (pos < bus->n && bus->ranges[pos].base < end)) {
		const struct bus_range *o =
			(pos > 0 && bus->ranges[pos - 1].base + bus->ranges[pos - 1].len > base)
				? &bus->ranges[pos - 1]
				: &bus->ranges[pos];
		ret = errf(e, -EEXIST, "%s bus: %s at 0x%llx+0x%llx overlaps %s at 0x%llx+0x%llx",
			   bus->name, name, (unsigned long long)base, (unsigned long long)len,
			   o->name, (unsigned long long)o->base, (unsigned long long)o->len);
		goto out;
	}
	if (bus->n == bus->cap) {
		unsigned cap = bus->cap ? bus->cap * 2 : 16;
		struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));
		if (!r) {
			ret = errf(e, -ENOMEM, "%s bus: out of memory", bus->name);
			goto out;
		}
		bus->ranges = r;
		bus->cap = cap;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos], (bus->n - pos) * sizeof(*bus->ranges));
	bus->ranges[pos] = (struct bus_range){base, len, ops, opaque, name, stat_for(bus, name)};
	bus->n++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, u64 base, void *opaque)
{
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	for (unsigned i = 0; i < bus->n; i++) {
		if (bus->ranges[i].base == base && bus->ranges[i].opaque == opaque) {
			memmove(&bus->ranges[i], &bus->ranges[i + 1],
				(bus->n - i - 1) * sizeof(*bus->ranges));
			bus->n--;
			ret = 0;
			break;
		}
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

/* Caller holds the lock. Binary search over the sorted, disjoint ranges. */
static const struct bus_range *bus_lookup(const struct bus *bus, u64 addr, u32 len)
{
	unsigned lo = 0, hi = bus->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return range_within(addr - r->base, len, r->len) ? r : NULL;
	}
	return NULL;
}

/*
 * The handler runs outside the lock so that it may itself (re)register ranges,
 * as a PCI BAR write through ECAM does; devices live as long as the bus.
 */
static bool bus_claim(struct bus *bus, u64 addr, u32 len, struct bus_range *out)
{
	const struct bus_range *r;

	pthread_rwlock_rdlock(&bus->lock);
	r = bus_lookup(bus, addr, len);
	if (r)
		*out = *r;
	pthread_rwlock_unlock(&bus->lock);
	return r != NULL;
}

static void count(struct bus_stat *st, u64 t0)
{
	if (!st)
		return;
	__atomic_add_fetch(&st->accesses, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->ns, monotonic_ns() - t0, __ATOMIC_RELAXED);
}

/* A guest poking where nothing is often explains a stuck guest: say where, a few times. */
static void unclaimed(struct bus *bus, u64 addr, u32 len, bool write)
{
	__atomic_add_fetch(&bus->unclaimed, 1, __ATOMIC_RELAXED);
	if (__atomic_fetch_add(&bus->unclaimed_logged, 1, __ATOMIC_RELAXED) <
	    BUS_UNCLAIMED_LOGGED)
		log_debug("%s bus: guest %s of %u bytes at 0x%llx: no device there", bus->name,
			  write ? "write" : "read", len, (unsigned long long)addr);
}

bool bus_read(struct bus *bus, u64 addr, void *data, u32 len)
{
	struct bus_range r;

	if (bus_claim(bus, addr, len, &r) && r.ops->read) {
		u64 t0 = monotonic_ns();

		r.ops->read(r.opaque, addr - r.base, data, len);
		count(r.stat, t0);
		return true;
	}
	memset(data, 0xff, len);
	unclaimed(bus, addr, len, false);
	return false;
}

bool bus_write(struct bus *bus, u64 addr, const void *data, u32 len)
{
	struct bus_range r;

	if (bus_claim(bus, addr, len, &r) && r.ops->write) {
		u64 t0 = monotonic_ns();

		r.ops->write(r.opaque, addr - r.base, data, len);
		count(r.stat, t0);
		return true;
	}
	unclaimed(bus, addr, len, true);
	return false;
}

void bus_collect_counters(void *opaque, void (*emit)(void *arg, const char *key, u64 value),
			  void *arg)
{
	struct bus *bus = opaque;
	struct bus_stat st[BUS_MAX_STATS];
	unsigned n;
	u64 un;

	pthread_rwlock_rdlock(&bus->lock);
	n = bus->n_stats;
	for (unsigned i = 0; i < n; i++) {
		st[i].name = bus->stats[i].name;
		st[i].accesses = __atomic_load_n(&bus->stats[i].accesses, __ATOMIC_RELAXED);
		st[i].ns = __atomic_load_n(&bus->stats[i].ns, __ATOMIC_RELAXED);
	}
	pthread_rwlock_unlock(&bus->lock);
	for (unsigned i = 0; i < n; i++) {
		char key[96];

		if (!st[i].accesses)
			continue;
		emit(arg, st[i].name, st[i].accesses);
		snprintf(key, sizeof(key), "%s_ns", st[i].name);
		emit(arg, key, st[i].ns);
	}
	un = __atomic_load_n(&bus->unclaimed, __ATOMIC_RELAXED);
	if (un)
		emit(arg, "unclaimed", un);
}
