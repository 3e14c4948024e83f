// SPDX-License-Identifier: MIT
/*
 * PCI host bridge, config space and MSI-X. Config accesses are serialised by
 * the bus lock; BAR accesses go straight to the device (bus handlers run
 * outside the bus lock, so a config write may move a BAR's registration).
 */
#include "devices/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define PCI_HOST_VENDOR 0x8086
#define PCI_HOST_DEVICE 0x29c0	/* a Q35 host bridge: every OS knows it */

static void bar_read(void *opaque, u64 off, void *data, u32 len);
static void bar_write(void *opaque, u64 off, const void *data, u32 len);
static const struct bus_ops pci_bar_bus_ops = {bar_read, bar_write};

/* ---- helpers --------------------------------------------------------------- */

static u32 cfg_get(const struct pci_dev *d, u32 off, u32 len)
{
	u32 v = 0;

	for (u32 i = 0; i < len; i++)
		v |= (u32)d->cfg[off + i] << (8 * i);
	return v;
}

static void cfg_put(struct pci_dev *d, u32 off, u32 len, u32 v)
{
	for (u32 i = 0; i < len; i++)
		d->cfg[off + i] = (u8)(v >> (8 * i));
}

static void wmask_put(struct pci_dev *d, u32 off, u32 len, u32 v)
{
	for (u32 i = 0; i < len; i++)
		d->wmask[off + i] = (u8)(v >> (8 * i));
}

void pci_dev_set_wmask(struct pci_dev *d, u32 off, u32 len, u32 mask)
{
	if (len <= 4 && off < PCI_CFG_SPACE_EXP_SIZE && len <= PCI_CFG_SPACE_EXP_SIZE - off)
		wmask_put(d, off, len, mask);
}

static u64 bar_cfg_addr(const struct pci_dev *d, unsigned i)
{
	const struct pci_bar *b = &d->bars[i];
	u64 a = cfg_get(d, PCI_BASE_ADDRESS_0 + 4 * i, 4) & ~0xfULL;

	if (b->kind == PCI_BAR_MEM64)
		a |= (u64)cfg_get(d, PCI_BASE_ADDRESS_0 + 4 * (i + 1), 4) << 32;
	return a;
}

/* Registers the BAR where the guest put it, if decoding is on and it fits. */
static void bar_update(struct pci_dev *d, unsigned i)
{
	struct pci_bar *b = &d->bars[i];
	bool decode = cfg_get(d, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY;
	u64 addr = bar_cfg_addr(d, i), end;
	bool want = decode && addr && !add_overflows(addr, b->size, &end) &&
		    (b->kind == PCI_BAR_MEM64 || end <= 0x100000000ULL);
	struct err e;

	b->addr = addr;
	if (b->mapped && (!want || b->mapped_at != addr)) {
		bus_unregister(d->bus->c.mmio, b->mapped_at, b);
		b->mapped = false;
		if (d->ops && d->ops->bar_moved)
			d->ops->bar_moved(d->opaque, i, b->mapped_at, false);
	}
	if (want && !b->mapped) {
		if (bus_register(d->bus->c.mmio, addr, b->size, &pci_bar_bus_ops, b, d->name,
				 &e) < 0) {
			/* A transient overlap while the guest reprograms: stay unmapped. */
			log_debug("pci %s BAR%u at 0x%llx: %s", d->name, i,
				  (unsigned long long)addr, e.msg);
			return;
		}
		b->mapped = true;
		b->mapped_at = addr;
		if (d->ops && d->ops->bar_moved)
			d->ops->bar_moved(d->opaque, i, addr, true);
	}
}

static void bars_update(struct pci_dev *d)
{
	for (unsigned i = 0; i < PCI_STD_NUM_BARS; i++)
		if (d->bars[i].kind != PCI_BAR_NONE)
			bar_update(d, i);
}

/* ---- ECAM window (PCIEXBAR) ------------------------------------------------ */

static const struct bus_ops ecam_ops;

/*
 * Registers ECAM where PCIEXBAR says, if enabled; moves or drops an earlier
 * registration. Called with b->lock held (or before the bus is shared).
 */
static int ecam_update(struct pci_bus *b, struct err *e)
{
	u64 v = cfg_get(&b->host, PCI_HOST_PCIEXBAR, 4) |
		(u64)cfg_get(&b->host, PCI_HOST_PCIEXBAR + 4, 4) << 32;
	static const u64 lengths[4] = {256 * MiB, 128 * MiB, 64 * MiB, 0 /* reserved */};
	u64 len = MIN(lengths[(v >> 1) & 3], b->c.ecam_size);
	u64 base = len ? v & ((1ULL << 36) - 1) & ~(len - 1) : 0;
	bool want = (v & PCI_PCIEXBAR_EN) && len;
	int r;

	if (b->ecam_registered && (!want || b->ecam_at != base || b->ecam_len != len)) {
		bus_unregister(b->c.mmio, b->ecam_at, b);
		b->ecam_registered = false;
	}
	if (!want || b->ecam_registered)
		return 0;
	r = bus_register(b->c.mmio, base, len, &ecam_ops, b, "pci-ecam", e);
	if (r < 0)
		return r;
	b->ecam_registered = true;
	b->ecam_at = base;
	b->ecam_len = len;
	return 0;
}

/* The guest wrote PCIEXBAR: a window that cannot be registered stays off. */
static void ecam_written(struct pci_bus *b)
{
	struct err e;

	/* Logged once: a guest rewriting PCIEXBAR in a loop must not flood the log. */
	if (ecam_update(b, &e) < 0 && !b->ecam_warned) {
		log_warn("pci: ECAM from PCIEXBAR: %s; the window stays off", e.msg);
		b->ecam_warned = true;
	}
}

/* ---- MSI-X ----------------------------------------------------------------- */

static bool msix_vec_masked(const struct pci_msix *m, u16 v)
{
	return m->maskall || (get_le32(&m->table[v * 16 + 12]) & 1);
}

/* A board without MSI routes (unit tests of other parts) drops MSIs. */
static bool msix_routed(const struct irq_line *l)
{
	return l->ops && l->ops->msi_route_open;
}

/*
 * Keeps vector v's route on its message while MSI-X is on and v unmasked, so
 * that raising it needs no ioctl (the worker has none). A masked vector keeps
 * its last route: nothing raises it, and unmasking an unchanged entry costs
 * no routing update. Runs on the thread that wrote the table or the control
 * register (a vCPU). Called with msix_lock held.
 */
static void msix_route_sync(struct pci_dev *d, u16 v)
{
	const struct irq_line *l = &d->bus->c.msi;
	struct pci_msix *m = &d->msix;
	struct msi_route *r = &m->route[v];
	const u8 *ent = &m->table[v * 16];
	u64 addr = get_le64(ent);
	u32 data = get_le32(ent + 8);
	struct err e;

	if (!msix_routed(l) || r->fd < 0)
		return;
	if (m->enabled ? msix_vec_masked(m, v) || (r->on && r->addr == addr && r->data == data)
		       : !r->on)
		return;	/* MSI-X off: routes go off (the function is being reset) */
	if (l->ops->msi_route_set(l->ctx, r, m->enabled, addr, data, &e) < 0)
		log_warn("pci %s: MSI-X vector %u: %s", d->name, v, e.msg);
}

static void msix_sync_all(struct pci_dev *d)
{
	for (u16 v = 0; v < d->msix.nvec; v++)
		msix_route_sync(d, v);
}

/* Called with msix_lock held, v unmasked and MSI-X on, so its route is current. */
static void msix_send(struct pci_dev *d, u16 v)
{
	const struct irq_line *l = &d->bus->c.msi;
	struct msi_route *r = &d->msix.route[v];

	if (!msix_routed(l) || !r->on) {
		d->msi_dropped++;	/* its route could not be set (logged then) */
		return;
	}
	l->ops->msi_route_raise(l->ctx, r);
	d->msi_sent++;
}

/* Delivers what unmasking released. Called with msix_lock held. */
static void msix_flush_pending(struct pci_dev *d)
{
	struct pci_msix *m = &d->msix;

	if (!m->enabled)
		return;
	for (u16 v = 0; v < m->nvec; v++) {
		if ((m->pending >> v & 1) && !msix_vec_masked(m, v)) {
			m->pending &= ~(1ULL << v);
			msix_send(d, v);
		}
	}
}

bool pci_msix_notify(struct pci_dev *d, u16 vector)
{
	struct pci_msix *m = &d->msix;
	bool sent = false;

	if (vector == PCI_MSIX_NO_VECTOR)
		return false;
	pthread_mutex_lock(&d->msix_lock);
	if (m->cap && m->enabled && vector < m->nvec) {
		if (msix_vec_masked(m, vector)) {
			m->pending |= 1ULL << vector;
			d->msi_pended++;
		} else {
			msix_send(d, vector);
			sent = true;
		}
	}
	pthread_mutex_unlock(&d->msix_lock);
	return sent;
}

bool pci_msix_message(struct pci_dev *d, u16 vector, u64 *addr, u32 *data)
{
	struct pci_msix *m = &d->msix;
	bool ok = false;

	pthread_mutex_lock(&d->msix_lock);
	if (m->cap && m->enabled && vector < m->nvec && !msix_vec_masked(m, vector)) {
		*addr = get_le64(&m->table[vector * 16]);
		*data = get_le32(&m->table[vector * 16 + 8]);
		ok = true;
	}
	pthread_mutex_unlock(&d->msix_lock);
	return ok;
}

/* Message control changed (config write): mirror enable / function mask. */
static void msix_ctrl_written(struct pci_dev *d)
{
	struct pci_msix *m = &d->msix;
	u16 ctrl = (u16)cfg_get(d, m->cap + 2, 2);

	pthread_mutex_lock(&d->msix_lock);
	m->enabled = ctrl & PCI_MSIX_FLAGS_ENABLE;
	m->maskall = ctrl & PCI_MSIX_FLAGS_MASKALL;
	msix_sync_all(d);
	msix_flush_pending(d);
	pthread_mutex_unlock(&d->msix_lock);
}

/* Returns true if the access hit the table or PBA. */
static bool msix_bar_access(struct pci_dev *d, unsigned bar, u64 off, void *data, u32 len,
			    bool write)
{
	struct pci_msix *m = &d->msix;
	u64 tsize = (u64)m->nvec * 16, psize = ALIGN_UP((u64)m->nvec, 64) / 8;

	if (!m->cap || bar != m->bar)
		return false;
	if (off >= m->table_off && off - m->table_off < tsize) {
		u64 o = off - m->table_off;

		/* Only naturally aligned dword/qword accesses (PCI spec). */
		if ((len != 4 && len != 8) || (o & (len - 1)) || o + len > tsize) {
			if (!write)
				memset(data, 0xff, len);
			return true;
		}
		pthread_mutex_lock(&d->msix_lock);
		if (write) {
			memcpy(&m->table[o], data, len);
			msix_route_sync(d, (u16)(o / 16));
			msix_flush_pending(d);
		} else {
			memcpy(data, &m->table[o], len);
		}
		pthread_mutex_unlock(&d->msix_lock);
		return true;
	}
	if (off >= m->pba_off && off - m->pba_off < psize) {
		u64 o = off - m->pba_off;

		if (!write) {
			u8 pba[PCI_MSIX_MAX_VECTORS / 8];

			pthread_mutex_lock(&d->msix_lock);
			put_le64(pba, m->pending);
			pthread_mutex_unlock(&d->msix_lock);
			memset(data, 0, len);
			memcpy(data, &pba[o], MIN((u64)len, psize - o));
		}
		return true;	/* PBA is read-only */
	}
	return false;
}

/* ---- BAR dispatch ---------------------------------------------------------- */

static void bar_read(void *opaque, u64 off, void *data, u32 len)
{
	struct pci_bar *b = opaque;
	struct pci_dev *d = b->dev;

	if (msix_bar_access(d, b->idx, off, data, len, false))
		return;
	if (d->ops && d->ops->bar_read)
		d->ops->bar_read(d->opaque, b->idx, off, data, len);
	else
		memset(data, 0xff, len);
}

static void bar_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct pci_bar *b = opaque;
	struct pci_dev *d = b->dev;

	if (msix_bar_access(d, b->idx, off, (void *)data, len, true))
		return;
	if (d->ops && d->ops->bar_write)
		d->ops->bar_write(d->opaque, b->idx, off, data, len);
}

/* ---- config space ---------------------------------------------------------- */

static struct pci_dev *find_dev(struct pci_bus *b, u32 bdf)
{
	if ((bdf >> 8) != 0 || (bdf & 7) != 0)
		return NULL;	/* one bus, single-function devices */
	return b->slots[(bdf >> 3) & 31];
}

void pci_cfg_read(struct pci_bus *b, u32 bdf, u32 off, void *data, u32 len)
{
	struct pci_dev *d;
	u32 v;

	if ((len != 1 && len != 2 && len != 4) || (off & (len - 1)) || off + len > PCI_CFG_SPACE_EXP_SIZE) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&b->lock);
	d = find_dev(b, bdf);
	if (d && off >= 0x40 && d->ops && d->ops->cfg_read)
		d->ops->cfg_read(d->opaque, off, len);
	v = d ? cfg_get(d, off, len) : 0xffffffffu;
	pthread_mutex_unlock(&b->lock);
	memcpy(data, &v, len);	/* x86 is little-endian */
}

void pci_cfg_write(struct pci_bus *b, u32 bdf, u32 off, const void *data, u32 len)
{
	struct pci_dev *d;
	u32 v = 0;
	bool bars = false;

	if ((len != 1 && len != 2 && len != 4) || (off & (len - 1)) || off + len > PCI_CFG_SPACE_EXP_SIZE)
		return;
	memcpy(&v, data, len);
	pthread_mutex_lock(&b->lock);
	d = find_dev(b, bdf);
	if (!d) {
		pthread_mutex_unlock(&b->lock);
		return;
	}
	for (u32 i = 0; i < len; i++) {
		u8 m = d->wmask[off + i], nv = (u8)(v >> (8 * i));

		d->cfg[off + i] = (u8)((d->cfg[off + i] & ~m) | (nv & m));
	}
	if (off < PCI_COMMAND + 2 && off + len > PCI_COMMAND)
		bars = true;
	if (off < PCI_BASE_ADDRESS_0 + 24 && off + len > PCI_BASE_ADDRESS_0)
		bars = true;
	if (bars)
		bars_update(d);
	if (d == &b->host && b->c.ecam_size && off < PCI_HOST_PCIEXBAR + 8 &&
	    off + len > PCI_HOST_PCIEXBAR)
		ecam_written(b);
	if (d->msix.cap && off < d->msix.cap + 4u && off + len > d->msix.cap + 2u)
		msix_ctrl_written(d);
	else if (off >= 0x40 && d->ops && d->ops->cfg_written)
		d->ops->cfg_written(d->opaque, off, len);
	pthread_mutex_unlock(&b->lock);
}

static void ecam_read(void *opaque, u64 off, void *data, u32 len)
{
	pci_cfg_read(opaque, (u32)(off >> 12), (u32)(off & 0xfff), data, len);
}

static void ecam_write(void *opaque, u64 off, const void *data, u32 len)
{
	pci_cfg_write(opaque, (u32)(off >> 12), (u32)(off & 0xfff), data, len);
}

static const struct bus_ops ecam_ops = {ecam_read, ecam_write};

/* Mechanism #1: the address latch at 0xCF8 (dword only), data at 0xCFC-0xCFF. */
static void cfgio_read(void *opaque, u64 off, void *data, u32 len)
{
	struct pci_bus *b = opaque;
	u32 a;

	if (off < 4) {
		if (off == 0 && len == 4) {
			pthread_mutex_lock(&b->lock);
			a = b->cf8;
			pthread_mutex_unlock(&b->lock);
			memcpy(data, &a, 4);
		} else if (off == 1 && len == 1 && b->c.cf9_read) {
			*(u8 *)data = b->c.cf9_read(b->c.cf9_ctx);
		} else {
			memset(data, 0xff, len);
		}
		return;
	}
	pthread_mutex_lock(&b->lock);
	a = b->cf8;
	pthread_mutex_unlock(&b->lock);
	if (!(a & 0x80000000u)) {
		memset(data, 0xff, len);
		return;
	}
	pci_cfg_read(b, (a >> 8) & 0xffff, (a & 0xfc) + (u32)(off - 4), data, len);
}

static void cfgio_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct pci_bus *b = opaque;
	u32 a;

	if (off < 4) {
		if (off == 0 && len == 4) {
			pthread_mutex_lock(&b->lock);
			memcpy(&b->cf8, data, 4);
			pthread_mutex_unlock(&b->lock);
		} else if (off == 1 && len == 1 && b->c.cf9_write) {
			b->c.cf9_write(b->c.cf9_ctx, *(const u8 *)data);
		}
		return;
	}
	pthread_mutex_lock(&b->lock);
	a = b->cf8;
	pthread_mutex_unlock(&b->lock);
	if (a & 0x80000000u)
		pci_cfg_write(b, (a >> 8) & 0xffff, (a & 0xfc) + (u32)(off - 4), data, len);
}

static const struct bus_ops cfgio_ops = {cfgio_read, cfgio_write};

/* ---- building functions ---------------------------------------------------- */

static void dev_setup(struct pci_dev *d, struct pci_bus *b, unsigned slot, u16 vendor,
		      u16 device, u32 class_code, u16 sv, u16 sid, const char *name)
{
	memset(d, 0, sizeof(*d));
	d->bus = b;
	d->slot = slot;
	d->name = name;
	pthread_mutex_init(&d->msix_lock, NULL);
	cfg_put(d, PCI_VENDOR_ID, 2, vendor);
	cfg_put(d, PCI_DEVICE_ID, 2, device);
	cfg_put(d, PCI_REVISION_ID, 1, 1);
	cfg_put(d, PCI_CLASS_PROG, 3, class_code);
	cfg_put(d, PCI_SUBSYSTEM_VENDOR_ID, 2, sv);
	cfg_put(d, PCI_SUBSYSTEM_ID, 2, sid);
	/* Memory decode, bus master and INTx disable are the guest's to switch. */
	wmask_put(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	wmask_put(d, PCI_INTERRUPT_LINE, 1, 0xff);
	d->next_cap = 0x40;
	d->last_cap_next = &d->cfg[PCI_CAPABILITY_LIST];
	for (unsigned i = 0; i < PCI_STD_NUM_BARS; i++) {
		d->bars[i].dev = d;
		d->bars[i].idx = i;
	}
}

int pci_dev_init_slot(struct pci_bus *b, struct pci_dev *d, unsigned slot, u16 vendor,
		      u16 device, u32 class_code, u16 subsys_vendor, u16 subsys_id,
		      const char *name, struct err *e)
{
	if (slot == 0 || slot >= PCI_MAX_SLOTS || b->slots[slot])
		return errf(e, -EBUSY, "pci %s: slot %u is not free", name, slot);
	dev_setup(d, b, slot, vendor, device, class_code, subsys_vendor, subsys_id, name);
	return 0;
}

int pci_dev_init(struct pci_bus *b, struct pci_dev *d, u16 vendor, u16 device, u32 class_code,
		 u16 subsys_vendor, u16 subsys_id, const char *name, struct err *e)
{
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++) {
		if (b->slots[s])
			continue;
		dev_setup(d, b, s, vendor, device, class_code, subsys_vendor, subsys_id, name);
		return 0;
	}
	return errf(e, -ENOSPC, "pci %s: all %d slots of bus 0 are taken", name, PCI_MAX_SLOTS);
}

int pci_dev_add_bar(struct pci_dev *d, unsigned bar, enum pci_bar_kind kind, u64 size,
		    struct err *e)
{
	unsigned slots = kind == PCI_BAR_MEM64 ? 2 : 1;

	if (bar + slots > PCI_STD_NUM_BARS || kind == PCI_BAR_NONE)
		return errf(e, -EINVAL, "pci %s: BAR%u does not fit", d->name, bar);
	for (unsigned i = bar; i < bar + slots; i++)
		if (d->bars[i].kind != PCI_BAR_NONE || (i && d->bars[i - 1].kind == PCI_BAR_MEM64))
			return errf(e, -EEXIST, "pci %s: BAR%u is already in use", d->name, i);
	if (size < PAGE_SIZE)
		size = PAGE_SIZE;
	if (size & (size - 1))
		size = 1ULL << (64 - __builtin_clzll(size));
	if (kind == PCI_BAR_MEM32 && size > (1ULL << 31))
		return errf(e, -EINVAL, "pci %s: 32-bit BAR%u of %llu bytes is too big", d->name,
			    bar, (unsigned long long)size);
	d->bars[bar].kind = kind;
	d->bars[bar].size = size;
	/* Writable bits are the address bits above the size: sizing reads them back. */
	wmask_put(d, PCI_BASE_ADDRESS_0 + 4 * bar, 4, (u32)~(size - 1) & ~0xfu);
	cfg_put(d, PCI_BASE_ADDRESS_0 + 4 * bar, 4, kind == PCI_BAR_MEM64 ? 0x4 : 0x0);
	if (kind == PCI_BAR_MEM64)
		wmask_put(d, PCI_BASE_ADDRESS_0 + 4 * (bar + 1), 4, (u32)(~(size - 1) >> 32));
	return 0;
}

int pci_dev_add_cap(struct pci_dev *d, u8 id, u8 len, struct err *e)
{
	unsigned off = ALIGN_UP((unsigned)d->next_cap, 4u);

	if (len < 2 || off + len > 0x100)
		return errf(e, -ENOSPC, "pci %s: no room for a %u-byte capability", d->name, len);
	d->cfg[off] = id;
	d->cfg[off + 1] = 0;
	*d->last_cap_next = (u8)off;
	d->last_cap_next = &d->cfg[off + 1];
	d->next_cap = (u8)MIN(off + len, 0xffu);
	cfg_put(d, PCI_STATUS, 2, cfg_get(d, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
	return (int)off;
}

/* Releases the vectors' routes (GSIs and irqfds). */
static void msix_routes_close(struct pci_dev *d)
{
	const struct irq_line *l = &d->bus->c.msi;

	pthread_mutex_lock(&d->msix_lock);
	for (u16 v = 0; v < PCI_MSIX_MAX_VECTORS && msix_routed(l); v++)
		if (d->msix.route[v].fd >= 0)
			l->ops->msi_route_close(l->ctx, &d->msix.route[v]);
	pthread_mutex_unlock(&d->msix_lock);
}

int pci_dev_add_msix(struct pci_dev *d, u16 nvec, unsigned bar, u64 table_off, u64 pba_off,
		     struct err *e)
{
	int cap;

	if (!nvec || nvec > PCI_MSIX_MAX_VECTORS || bar >= PCI_STD_NUM_BARS ||
	    d->bars[bar].kind == PCI_BAR_NONE || (table_off & 7) || (pba_off & 7) ||
	    !range_within(table_off, nvec * 16ULL, d->bars[bar].size) ||
	    !range_within(pba_off, PCI_MSIX_MAX_VECTORS / 8, d->bars[bar].size))
		return errf(e, -EINVAL, "pci %s: MSI-X with %u vectors does not fit BAR%u",
			    d->name, nvec, bar);
	cap = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, 12, e);
	if (cap < 0)
		return cap;
	d->msix.cap = (u8)cap;
	d->msix.nvec = nvec;
	d->msix.bar = bar;
	d->msix.table_off = table_off;
	d->msix.pba_off = pba_off;
	cfg_put(d, cap + 2, 2, nvec - 1u);
	wmask_put(d, cap + 2, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	cfg_put(d, cap + 4, 4, (u32)table_off | bar);
	cfg_put(d, cap + 8, 4, (u32)pba_off | bar);
	/* Vectors start masked (PCI spec). */
	for (u16 v = 0; v < nvec; v++)
		put_le32(&d->msix.table[v * 16 + 12], 1);
	for (u16 v = 0; v < PCI_MSIX_MAX_VECTORS; v++)
		d->msix.route[v] = (struct msi_route){.fd = -1};
	/* Each vector's route exists as long as the function (unrealize closes it). */
	for (u16 v = 0; v < nvec && msix_routed(&d->bus->c.msi); v++) {
		const struct irq_line *l = &d->bus->c.msi;
		int r = l->ops->msi_route_open(l->ctx, &d->msix.route[v], e);

		if (r < 0) {
			msix_routes_close(d);
			return r;
		}
	}
	return 0;
}

/* The end of a BAR (of a device on the bus, or of d itself) overlapping [a, a + size), or 0. */
static u64 bar_conflict(struct pci_bus *b, const struct pci_dev *d, u64 a, u64 size)
{
	for (unsigned s = 0; s <= PCI_MAX_SLOTS; s++) {
		const struct pci_dev *o = s < PCI_MAX_SLOTS ? b->slots[s] : d;

		if (!o)
			continue;
		for (unsigned i = 0; i < PCI_STD_NUM_BARS; i++) {
			const struct pci_bar *x = &o->bars[i];

			if (x->kind != PCI_BAR_NONE && x->addr && x->addr < a + size &&
			    a < x->addr + x->size)
				return x->addr + x->size;
		}
	}
	return 0;
}

/*
 * First fit, naturally aligned, in a window: the BARs on the bus are the
 * allocator's only state, so a removed device's space (and slot) is free
 * again, and BARs the guest moved are respected.
 */
static int window_fit(struct pci_bus *b, const struct pci_dev *d, u64 base, u64 wsize, u64 size,
		      u64 *out)
{
	u64 a = ALIGN_UP(base, size), end, busy;

	while (!add_overflows(a, size, &end) && end <= base + wsize) {
		busy = bar_conflict(b, d, a, size);
		if (!busy) {
			*out = a;
			return 0;
		}
		a = ALIGN_UP(busy, size);
	}
	return -ENOSPC;
}

static int alloc_bar(struct pci_bus *b, const struct pci_dev *d, struct pci_bar *bar, u64 *out)
{
	if (bar->kind == PCI_BAR_MEM64 && b->c.mmio64_size &&
	    window_fit(b, d, b->c.mmio64_base, b->c.mmio64_size, bar->size, out) == 0)
		return 0;
	return window_fit(b, d, b->c.mmio32_base, b->c.mmio32_size, bar->size, out);
}

int pci_dev_realize(struct pci_dev *d, const struct pci_dev_ops *ops, void *opaque,
		    struct err *e)
{
	struct pci_bus *b = d->bus;
	int r = 0;

	pthread_mutex_lock(&b->lock);
	if (b->slots[d->slot]) {
		pthread_mutex_unlock(&b->lock);
		return errf(e, -EBUSY, "pci %s: slot %u is taken", d->name, d->slot);
	}
	d->ops = ops;
	d->opaque = opaque;
	/* Largest first keeps the alignment holes between BARs small. */
	for (;;) {
		struct pci_bar *big = NULL;
		u64 addr;

		for (unsigned i = 0; i < PCI_STD_NUM_BARS; i++) {
			struct pci_bar *bar = &d->bars[i];
			if (bar->kind != PCI_BAR_NONE && !bar->addr && (!big || bar->size > big->size))
				big = bar;
		}
		if (!big)
			break;
		if (alloc_bar(b, d, big, &addr) < 0) {
			r = errf(e, -ENOSPC, "pci %s: no room for BAR%u (%llu bytes) in the PCI windows",
				 d->name, big->idx, (unsigned long long)big->size);
			break;
		}
		big->addr = addr;
		cfg_put(d, PCI_BASE_ADDRESS_0 + 4 * big->idx, 4,
			(u32)addr | (big->kind == PCI_BAR_MEM64 ? 0x4 : 0));
		if (big->kind == PCI_BAR_MEM64)
			cfg_put(d, PCI_BASE_ADDRESS_0 + 4 * (big->idx + 1), 4, (u32)(addr >> 32));
	}
	if (r == 0) {
		cfg_put(d, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
		b->slots[d->slot] = d;
		bars_update(d);
		for (unsigned i = 0; i < PCI_STD_NUM_BARS; i++) {
			if (d->bars[i].kind != PCI_BAR_NONE && !d->bars[i].mapped) {
				b->slots[d->slot] = NULL;
				r = errf(e, -EEXIST, "pci %s: BAR%u at 0x%llx overlaps another device",
					 d->name, i, (unsigned long long)d->bars[i].addr);
				break;
			}
		}
	}
	if (r < 0) {
		for (unsigned i = 0; i < PCI_STD_NUM_BARS; i++)
			if (d->bars[i].mapped) {
				bus_unregister(b->c.mmio, d->bars[i].mapped_at, &d->bars[i]);
				d->bars[i].mapped = false;
			}
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

void pci_dev_unrealize(struct pci_dev *d)
{
	struct pci_bus *b = d->bus;

	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	if (b->slots[d->slot] == d) {
		for (unsigned i = 0; i < PCI_STD_NUM_BARS; i++)
			if (d->bars[i].mapped) {
				bus_unregister(b->c.mmio, d->bars[i].mapped_at, &d->bars[i]);
				d->bars[i].mapped = false;
			}
		b->slots[d->slot] = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	if (d->msix.cap)
		msix_routes_close(d);
}

int pci_bus_create(const struct pci_bus_config *c, struct pci_bus **out, struct err *e)
{
	struct pci_bus *b = calloc(1, sizeof(*b));
	int r;

	if (!b)
		return errf(e, -ENOMEM, "pci: out of memory");
	b->c = *c;
	pthread_mutex_init(&b->lock, NULL);
	dev_setup(&b->host, b, 0, PCI_HOST_VENDOR, PCI_HOST_DEVICE, 0x060000, PCI_HOST_VENDOR,
		  0x1100, "host bridge");
	b->slots[0] = &b->host;
	if (c->ecam_size) {
		/* 256 MiB (length code 0) is the only size merak starts with. */
		if (c->ecam_size != 256 * MiB || (c->ecam_base & (256 * MiB - 1)) ||
		    c->ecam_base >> 36) {
			r = errf(e, -EINVAL, "pci: ECAM 0x%llx+0x%llx is not a 256 MiB window "
				 "a Q35 PCIEXBAR can hold", (unsigned long long)c->ecam_base,
				 (unsigned long long)c->ecam_size);
			goto fail;
		}
		cfg_put(&b->host, PCI_HOST_PCIEXBAR, 4, (u32)c->ecam_base | PCI_PCIEXBAR_EN);
		cfg_put(&b->host, PCI_HOST_PCIEXBAR + 4, 4, (u32)(c->ecam_base >> 32));
		wmask_put(&b->host, PCI_HOST_PCIEXBAR, 4, 0xfc000007u);
		wmask_put(&b->host, PCI_HOST_PCIEXBAR + 4, 4, 0xfu);
		r = ecam_update(b, e);
		if (r < 0)
			goto fail;
	}
	if (c->cfg_port) {
		r = bus_register(c->pio, c->cfg_port, 8, &cfgio_ops, b, "pci-config", e);
		if (r < 0)
			goto fail;
		b->pio_registered = true;
	}
	*out = b;
	return 0;
fail:
	pci_bus_destroy(b);
	return r;
}

void pci_bus_destroy(struct pci_bus *b)
{
	if (!b)
		return;
	if (b->ecam_registered)
		bus_unregister(b->c.mmio, b->ecam_at, b);
	if (b->pio_registered)
		bus_unregister(b->c.pio, b->c.cfg_port, b);
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++)
		if (b->slots[s])
			pci_dev_unrealize(b->slots[s]);
	pthread_mutex_destroy(&b->lock);
	free(b);
}
