// SPDX-License-Identifier: MIT
#include "vm/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

void guest_mem_init(struct guest_mem *gm)
{
	memset(gm, 0, sizeof(*gm));
	for (unsigned i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		gm->r[i].gmem_fd = -1;
}

int guest_mem_add(struct guest_mem *gm, u64 gpa, u64 size, u8 *hva, enum mem_region_kind kind,
		  struct err *e)
{
	u64 end;
	struct mem_region *r;

	if (!size || !IS_ALIGNED(gpa, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE) ||
	    add_overflows(gpa, size, &end))
		return errf(e, -EINVAL, "guest memory [0x%llx, +0x%llx): not page-aligned",
			    (unsigned long long)gpa, (unsigned long long)size);
	if (gm->n == GUEST_MEM_MAX_REGIONS)
		return errf(e, -ENOSPC, "guest memory: more than %d regions",
			    GUEST_MEM_MAX_REGIONS);
	for (unsigned i = 0; i < gm->n; i++) {
		const struct mem_region *o = &gm->r[i];
		if (gpa < o->gpa + o->size && o->gpa < end)
			return errf(e, -EEXIST,
				    "guest memory [0x%llx, +0x%llx) overlaps [0x%llx, +0x%llx)",
				    (unsigned long long)gpa, (unsigned long long)size,
				    (unsigned long long)o->gpa, (unsigned long long)o->size);
	}
	r = &gm->r[gm->n];
	memset(r, 0, sizeof(*r));
	r->gpa = gpa;
	r->size = size;
	r->hva = hva;
	r->gmem_fd = -1;
	r->slot = gm->n;
	r->kind = kind;
	gm->n++;
	return 0;
}

int guest_mem_add_anon(struct guest_mem *gm, u64 gpa, u64 size, enum mem_region_kind kind,
		       struct err *e)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int r;

	if (p == MAP_FAILED)
		return errf_sys(e, -errno, "guest memory: cannot map %llu MiB",
				(unsigned long long)(size >> 20));
	r = guest_mem_add(gm, gpa, size, p, kind, e);
	if (r < 0) {
		munmap(p, size);
		return r;
	}
	gm->r[gm->n - 1].owned = true;
	return 0;
}

void guest_mem_free(struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->n; i++)
		if (gm->r[i].owned && gm->r[i].hva)
			munmap(gm->r[i].hva, gm->r[i].size);
	gm->n = 0;
}

const struct mem_region *guest_mem_find(const struct guest_mem *gm, u64 gpa)
{
	gpa &= ~gm->alias_mask;
	for (unsigned i = 0; i < gm->n; i++)
		if (gpa >= gm->r[i].gpa && gpa - gm->r[i].gpa < gm->r[i].size)
			return &gm->r[i];
	return NULL;
}

void *guest_mem_ptr(const struct guest_mem *gm, u64 gpa, u64 len)
{
	const struct mem_region *r = guest_mem_find(gm, gpa);

	gpa &= ~gm->alias_mask;
	if (!r || !r->hva || !range_within(gpa - r->gpa, len, r->size))
		return NULL;
	return r->hva + (gpa - r->gpa);
}

/* The host address of [gpa, gpa + len), or NULL with the reason in e. */
static void *span_or_fail(const struct guest_mem *gm, u64 gpa, u64 len, struct err *e)
{
	void *p = guest_mem_ptr(gm, gpa, len);

	if (!p)
		errf(e, -EFAULT, "[0x%llx, +0x%llx) is not inside guest RAM",
		     (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

int guest_mem_write(const struct guest_mem *gm, u64 gpa, const void *src, u64 len, struct err *e)
{
	void *p = span_or_fail(gm, gpa, len, e);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int guest_mem_read(const struct guest_mem *gm, u64 gpa, void *dst, u64 len, struct err *e)
{
	void *p = span_or_fail(gm, gpa, len, e);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

u64 guest_mem_ram_size(const struct guest_mem *gm)
{
	u64 total = 0;

	for (unsigned i = 0; i < gm->n; i++)
		if (gm->r[i].kind == MEM_RAM)
			total += gm->r[i].size;
	return total;
}
