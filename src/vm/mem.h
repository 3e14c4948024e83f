/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_MEM_H
#define MERAK_VM_MEM_H

/*
 * Guest physical memory: a list of RAM regions, each a host mapping (the
 * shared side) and, for confidential guests, a guest_memfd range (the private
 * side). Pure bookkeeping: no ioctls here, so loaders and devices can be
 * tested on plain buffers.
 */
#include "util/err.h"
#include "util/types.h"

#define GUEST_MEM_MAX_REGIONS 16

enum mem_region_kind {
	MEM_RAM,
	MEM_FIRMWARE,	/* flash image mapped below 4 GiB */
};

struct mem_region {
	u64 gpa;
	u64 size;
	u8 *hva;
	int gmem_fd;	/* -1 without guest_memfd */
	u64 gmem_off;
	u32 slot;
	enum mem_region_kind kind;
	bool owned;	/* hva is an anonymous mapping guest_mem_free unmaps */
};

struct guest_mem {
	struct mem_region r[GUEST_MEM_MAX_REGIONS];
	unsigned n;
	/*
	 * Address bits that name an alias of the same RAM: a TD's shared bit.
	 * A TD guest may hand devices shared-alias GPAs; KVM maps both aliases
	 * to one memslot, and so do lookups here. 0 for ordinary VMs.
	 */
	u64 alias_mask;
};

void guest_mem_init(struct guest_mem *gm);
/* Registers an existing mapping; rejects overlaps and unaligned ranges. */
int guest_mem_add(struct guest_mem *gm, u64 gpa, u64 size, u8 *hva, enum mem_region_kind kind,
		  struct err *e);
/* mmaps anonymous memory (MAP_NORESERVE) for [gpa, gpa+size) and registers it. */
int guest_mem_add_anon(struct guest_mem *gm, u64 gpa, u64 size, enum mem_region_kind kind,
		       struct err *e);
/*
 * An anonymous mapping of size bytes, filled before it becomes guest memory
 * (a firmware image read into it): guest_mem_adopt then registers it and
 * owns it; until then (or if that fails) the caller munmaps it.
 */
int guest_mem_map_anon(u64 size, void **out, struct err *e);
int guest_mem_adopt(struct guest_mem *gm, u64 gpa, u64 size, void *hva, enum mem_region_kind kind,
		    struct err *e);
void guest_mem_free(struct guest_mem *gm);
/* Bytes of guest RAM the host holds in memory now (mincore). */
u64 guest_mem_resident(const struct guest_mem *gm);

/* Host pointer for [gpa, gpa+len) if it lies wholly inside one region, else NULL. */
void *guest_mem_ptr(const struct guest_mem *gm, u64 gpa, u64 len);
/* The same, or NULL with the reason ("... is not inside guest RAM") in e. */
void *guest_mem_span(const struct guest_mem *gm, u64 gpa, u64 len, struct err *e);
const struct mem_region *guest_mem_find(const struct guest_mem *gm, u64 gpa);
/* Bounds-checked copies; -EFAULT naming the range if it is not RAM. */
int guest_mem_write(const struct guest_mem *gm, u64 gpa, const void *src, u64 len,
		    struct err *e);
int guest_mem_read(const struct guest_mem *gm, u64 gpa, void *dst, u64 len, struct err *e);
/* Total bytes of RAM regions (kind MEM_RAM). */
u64 guest_mem_ram_size(const struct guest_mem *gm);

#endif
