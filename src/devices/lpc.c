// SPDX-License-Identifier: MIT
/* ICH9 LPC bridge function: see lpc.h. */
#include "devices/lpc.h"

#include <errno.h>
#include <stdlib.h>

#define LPC_VENDOR 0x8086
#define LPC_DEVICE 0x2918   /* ICH9 LPC interface controller, as on q35 */
#define LPC_CLASS  0x060100 /* ISA bridge */

int lpc_create(struct pci_bus *bus, u16 pm_base, struct lpc **out, struct err *e)
{
	struct lpc *l = calloc(1, sizeof(*l));
	struct pci_dev *d;
	int r;

	if (!l)
		return errf(e, -ENOMEM, "lpc: out of memory");
	d = &l->pci;
	r = pci_dev_init_slot(bus, d, LPC_SLOT, LPC_VENDOR, LPC_DEVICE, LPC_CLASS, 0x1af4, 0x1100,
			      "lpc", e);
	if (r < 0)
		goto fail;
	/* Everything from 0x48 on is the guest's to write; PMBASE and ACPI_CNTL are not. */
	for (u32 off = 0x48; off < 0x100; off += 4)
		pci_dev_set_wmask(d, off, 4, 0xffffffffu);
	d->cfg[LPC_PMBASE] = (u8)(pm_base | 1);
	d->cfg[LPC_PMBASE + 1] = (u8)(pm_base >> 8);
	d->cfg[LPC_ACPI_CNTL] = LPC_ACPI_EN;
	for (u32 i = 0; i < 4; i++)
		d->cfg[LPC_PIRQ_ROUTE_LO + i] = d->cfg[LPC_PIRQ_ROUTE_HI + i] = 0x80;
	r = pci_dev_realize(d, NULL, NULL, e);
	if (r < 0)
		goto fail;
	/* Decodes its I/O (the PM block) from reset, as firmware would leave it. */
	d->cfg[PCI_COMMAND] |= PCI_COMMAND_IO;
	*out = l;
	return 0;
fail:
	free(l);
	return r;
}

void lpc_destroy(struct lpc *l)
{
	if (!l)
		return;
	pci_dev_unrealize(&l->pci);
	free(l);
}
