/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_PCI_H
#define MERAK_DEVICES_PCI_H

/*
 * A PCI host bridge with one bus (bus 0): config space through ECAM (MMIO)
 * and configuration mechanism #1 (ports 0xCF8/0xCFC), one function per slot.
 * merak assigns BARs itself (64-bit memory BARs in the window above RAM, the
 * 32-bit window as fallback) and enables decoding, so a guest booted without
 * firmware finds them ready; a guest (or firmware) that reprograms a BAR moves
 * its bus registration. MSI-X table and PBA live in a BAR and are served here.
 */
#include <linux/pci_regs.h>	/* config-space registers and bits */
#include <pthread.h>

#include "util/err.h"
#include "util/types.h"
#include "vm/bus.h"
#include "vm/irq.h"

#define PCI_MAX_SLOTS	     32
#define PCI_MSIX_MAX_VECTORS 64
#define PCI_MSIX_NO_VECTOR   0xffff	/* an MSI-X entry index meaning "none" */

/*
 * The Q35 host bridge's PCIEXBAR (64-bit): bit 0 enables ECAM, bits 2:1
 * give its length (0: 256 buses, 1: 128, 2: 64), bits 35:26 its base.
 * Firmware written for q35 (OVMF) programs it; merak moves the window.
 */
#define PCI_HOST_PCIEXBAR	   0x60
#define PCI_PCIEXBAR_EN		   0x1

enum pci_bar_kind { PCI_BAR_NONE, PCI_BAR_MEM32, PCI_BAR_MEM64 };

struct pci_bus;
struct pci_dev;

/* A device's view of its BARs: accesses (offset within the BAR) and moves. */
struct pci_dev_ops {
	void (*bar_read)(void *opaque, unsigned bar, u64 off, void *data, u32 len);
	void (*bar_write)(void *opaque, unsigned bar, u64 off, const void *data, u32 len);
	/* The BAR now decodes at addr (mapped) or no longer decodes (optional). */
	void (*bar_moved)(void *opaque, unsigned bar, u64 addr, bool mapped);
	/* Config writes at or above 0x40 outside the MSI-X capability (optional). */
	void (*cfg_written)(void *opaque, u32 off, u32 len);
	/* Before a config read at or above 0x40: a chance to refresh bytes (optional). */
	void (*cfg_read)(void *opaque, u32 off, u32 len);
};

struct pci_bar {
	enum pci_bar_kind kind;
	u64 size;
	u64 addr;	/* as programmed (flag bits cleared) */
	u64 mapped_at;	/* where it is registered on the bus */
	bool mapped;
	struct pci_dev *dev;	/* back pointer: the bus range's opaque */
	unsigned idx;
};

struct pci_msix {
	u16 nvec;
	u8 cap;		/* config offset of the capability, 0 without MSI-X */
	unsigned bar;
	u64 table_off, pba_off;
	u8 table[PCI_MSIX_MAX_VECTORS * 16];
	u64 pending;	/* one bit per vector */
	bool enabled, maskall;
	/* Per vector: routed to its message while MSI-X is on and it is unmasked. */
	struct msi_route route[PCI_MSIX_MAX_VECTORS];
};

struct pci_dev {
	struct pci_bus *bus;
	unsigned slot;
	u8 cfg[PCI_CFG_SPACE_EXP_SIZE];
	u8 wmask[PCI_CFG_SPACE_EXP_SIZE];	/* writable bits */
	u8 next_cap;		/* where the next capability goes */
	u8 *last_cap_next;	/* the "next" byte to patch when adding one */
	struct pci_bar bars[PCI_STD_NUM_BARS];
	struct pci_msix msix;
	pthread_mutex_t msix_lock;	/* table and pending bits: vCPUs vs workers */
	const struct pci_dev_ops *ops;
	void *opaque;
	const char *name;
	u64 msi_sent, msi_pended, msi_dropped;	/* counters (dropped: no route) */
};

struct pci_bus_config {
	struct bus *pio, *mmio;
	u64 ecam_base, ecam_size;
	u16 cfg_port;			/* 0xcf8 (0 for none) */
	u64 mmio32_base, mmio32_size;
	u64 mmio64_base, mmio64_size;	/* size 0: 64-bit BARs go to the 32-bit window */
	struct irq_line msi;		/* MSI-X vectors' routes come from its ops */
	/*
	 * Byte accesses at 0xCF9 belong to the chipset's reset control
	 * register, inside the 0xCF8 dword: the bus hands them to these.
	 */
	u8 (*cf9_read)(void *ctx);
	void (*cf9_write)(void *ctx, u8 value);
	void *cf9_ctx;
};

struct pci_bus {
	struct pci_bus_config c;
	struct pci_dev *slots[PCI_MAX_SLOTS];
	pthread_mutex_t lock;	/* config space */
	u32 cf8;		/* config address latch */
	struct pci_dev host;	/* 00:00.0 */
	bool ecam_registered, pio_registered;
	u64 ecam_at, ecam_len;	/* where ECAM is registered, while it is */
	bool ecam_warned;	/* a PCIEXBAR that could not be honoured was logged */
};

/* Creates the host bridge (slot 0) and registers ECAM and the config ports. */
int pci_bus_create(const struct pci_bus_config *c, struct pci_bus **out, struct err *e);
void pci_bus_destroy(struct pci_bus *b);

/*
 * Starts a function in the next free slot: IDs and class (0xCCSSPP), header
 * type 0. Add BARs and capabilities, then pci_dev_realize places the BARs.
 */
int pci_dev_init(struct pci_bus *b, struct pci_dev *d, u16 vendor, u16 device, u32 class_code,
		 u16 subsys_vendor, u16 subsys_id, const char *name, struct err *e);
/* The same in a given slot (chipset functions sit where firmware looks). */
int pci_dev_init_slot(struct pci_bus *b, struct pci_dev *d, unsigned slot, u16 vendor,
		      u16 device, u32 class_code, u16 subsys_vendor, u16 subsys_id,
		      const char *name, struct err *e);
/* size is a power of two >= 4 KiB (rounded up). */
int pci_dev_add_bar(struct pci_dev *d, unsigned bar, enum pci_bar_kind kind, u64 size,
		    struct err *e);
/* Marks config bytes [off, off+len) writable with mask (per byte, little-endian). */
void pci_dev_set_wmask(struct pci_dev *d, u32 off, u32 len, u32 mask);
/* Appends a capability of len bytes; returns its config offset, or negative. */
int pci_dev_add_cap(struct pci_dev *d, u8 id, u8 len, struct err *e);
/* MSI-X with nvec vectors, table at table_off and PBA at pba_off inside bar. */
int pci_dev_add_msix(struct pci_dev *d, u16 nvec, unsigned bar, u64 table_off, u64 pba_off,
		     struct err *e);
/* Allocates the BARs in the windows, programs them, enables memory decode. */
int pci_dev_realize(struct pci_dev *d, const struct pci_dev_ops *ops, void *opaque,
		    struct err *e);
/* Unregisters the BARs and frees the slot. */
void pci_dev_unrealize(struct pci_dev *d);

/*
 * Signals an MSI-X vector: sent now, or left pending while the vector or the
 * function is masked; nothing when MSI-X is off or vector is NO_VECTOR.
 * Returns true when the message went out. Thread-safe.
 */
bool pci_msix_notify(struct pci_dev *d, u16 vector);
/* The message of a vector as the guest programmed it; false if none/masked. */
bool pci_msix_message(struct pci_dev *d, u16 vector, u64 *addr, u32 *data);

/* Config access by bus/device/function (for tests and the two mechanisms). */
void pci_cfg_read(struct pci_bus *b, u32 bdf, u32 off, void *data, u32 len);
void pci_cfg_write(struct pci_bus *b, u32 bdf, u32 off, const void *data, u32 len);
#define PCI_BDF(bus, dev, fn) (((u32)(bus) << 8) | ((u32)(dev) << 3) | (u32)(fn))

#endif
