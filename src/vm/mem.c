// SPDX-License-Identifier: MIT
#include "vm/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "util/log.h"

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

/*
 * Guest memory is most of merak's RSS: the name lets /proc/PID/smaps (and
 * bench/rss.py) tell it from merak's own memory. Kernels without
 * CONFIG_ANON_VMA_NAME answer EINVAL; the debug line says the same.
 */
static void name_guest_mapping(void *p, u64 size, u64 gpa, enum mem_region_kind kind)
{
	const char *name = kind == MEM_RAM ? "merak-guest-ram" : "merak-guest-firmware";

	(void)prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, (unsigned long)size,
		    (unsigned long)name);
	log_debug("guest memory: %s gpa 0x%llx size 0x%llx at host %p-%p", name,
		  (unsigned long long)gpa, (unsigned long long)size, p, (u8 *)p + size);
}

int guest_mem_map_anon(u64 size, void **out, struct err *e)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return errf_sys(e, -errno, "guest memory: cannot map %llu MiB",
				(unsigned long long)(size >> 20));
	*out = p;
	return 0;
}

int guest_mem_adopt(struct guest_mem *gm, u64 gpa, u64 size, void *hva, enum mem_region_kind kind,
		    struct err *e)
{
	int r = guest_mem_add(gm, gpa, size, hva, kind, e);

	if (r < 0)
		return r;
	gm->r[gm->n - 1].owned = true;
	name_guest_mapping(hva, size, gpa, kind);
	return 0;
}

int guest_mem_add_anon(struct guest_mem *gm, u64 gpa, u64 size, enum mem_region_kind kind,
		       struct err *e)
{
	void *p;
	int r = guest_mem_map_anon(size, &p, e);

	if (r < 0)
		return r;
	r = guest_mem_adopt(gm, gpa, size, p, kind, e);
	if (r < 0)
		munmap(p, size);
	return r;
}

void guest_mem_free(struct guest_mem *gm)
{
	for (unsigned i = 0; i < gm->n; i++)
		if (gm->r[i].owned && gm->r[i].hva)
			munmap(gm->r[i].hva, gm->r[i].size);
	gm->n = 0;
}

u64 guest_mem_resident(const struct guest_mem *gm)
{
	static const size_t chunk = 1 << 16; /* pages per mincore() call */
	unsigned char vec[1 << 16];
	long page = sysconf(_SC_PAGESIZE);
	u64 bytes = 0;

	for (unsigned i = 0; i < gm->n; i++) {
		const struct mem_region *r = &gm->r[i];

		for (u64 off = 0; r->hva && off < r->size; off += chunk * page) {
			size_t len = r->size - off < chunk * page ? r->size - off : chunk * page;

			if (mincore(r->hva + off, len, vec) < 0)
				break;
			for (size_t p = 0; p < (len + page - 1) / page; p++)
				bytes += (vec[p] & 1) * (u64)page;
		}
	}
	return bytes;
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

void *guest_mem_span(const struct guest_mem *gm, u64 gpa, u64 len, struct err *e)
{
	void *p = guest_mem_ptr(gm, gpa, len);

	if (!p)
		errf(e, -EFAULT, "[0x%llx, +0x%llx) is not inside guest RAM",
		     (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

int guest_mem_write(const struct guest_mem *gm, u64 gpa, const void *src, u64 len, struct err *e)
{
	void *p = guest_mem_span(gm, gpa, len, e);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int guest_mem_read(const struct guest_mem *gm, u64 gpa, void *dst, u64 len, struct err *e)
{
	void *p = guest_mem_span(gm, gpa, len, e);

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
