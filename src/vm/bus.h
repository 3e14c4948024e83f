/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_BUS_H
#define MERAK_VM_BUS_H

/*
 * An address space (port I/O or MMIO) that devices claim ranges of. Lookups
 * happen on vCPU threads; registration may happen at run time (PCI BARs), so
 * a read-write lock guards the sorted range table.
 */
#include <pthread.h>

#include "util/err.h"
#include "util/types.h"

struct bus_ops {
	/* offset is relative to the range base; len is 1, 2, 4 or 8. */
	void (*read)(void *opaque, u64 offset, void *data, u32 len);
	void (*write)(void *opaque, u64 offset, const void *data, u32 len);
};

/*
 * Accesses and handling time per device name (all ranges of one name share
 * an entry), kept apart from the range table so that moving or re-registering
 * a range (a BAR) keeps its counts. vCPU threads add to them without the lock.
 */
#define BUS_MAX_STATS 48
struct bus_stat {
	const char *name;
	u64 accesses, ns;
};

struct bus_range {
	u64 base;
	u64 len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
	struct bus_stat *stat;	/* NULL once the table is full */
};

struct bus {
	const char *name;
	struct bus_range *ranges;
	unsigned n, cap;
	pthread_rwlock_t lock;
	struct bus_stat stats[BUS_MAX_STATS];
	unsigned n_stats;		/* under lock */
	u64 unclaimed;			/* accesses no device claimed */
	unsigned unclaimed_logged;	/* the first few are logged (debug) */
};

void bus_init(struct bus *bus, const char *name);
void bus_destroy(struct bus *bus);
int bus_register(struct bus *bus, u64 base, u64 len, const struct bus_ops *ops, void *opaque,
		 const char *name, struct err *e);
/* Removes the range starting at base that belongs to opaque; -ENOENT if none. */
int bus_unregister(struct bus *bus, u64 base, void *opaque);
/*
 * Dispatches an access. Returns false if no device claims addr; reads of
 * unclaimed addresses return all ones, as on a PC.
 */
bool bus_read(struct bus *bus, u64 addr, void *data, u32 len);
bool bus_write(struct bus *bus, u64 addr, const void *data, u32 len);

/*
 * Reports each device that was accessed as "<name>" (accesses) and
 * "<name>_ns" (time in its handlers), then "unclaimed" if any; the emit
 * signature is the VM's counter_emit_fn.
 */
void bus_collect_counters(void *bus, void (*emit)(void *arg, const char *key, u64 value),
			  void *arg);

#endif
