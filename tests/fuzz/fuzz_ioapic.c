// SPDX-License-Identifier: MIT
/*
 * Drives the IOAPIC with a stream of MMIO accesses (any offset, any size),
 * line changes and EOIs, and checks the model's invariants after each step.
 * The MSI sink sometimes EOIs from inside send_msi, as a racing guest could.
 */
#include <stdlib.h>
#include <string.h>

#include "arch/x86/ioapic.h"

#define RTE_DELIVS     (1ULL << 12)
#define RTE_REMOTE_IRR (1ULL << 14)
#define RTE_LEVEL      (1ULL << 15)
#define RTE_MASKED     (1ULL << 16)
#define RTE_RESERVED   0x0001fffffffe0000ULL /* bits 48:17 */

struct sink {
	struct ioapic *io;
	unsigned depth;
	unsigned long msis;
	u8 reenter;
};

static void check_msi(u64 addr, u32 data)
{
	/* The fixed 0xFEE window, no bits outside what an RTE can set. */
	if ((addr & ~0xfffffULL) != 0xfee00000ULL || (addr & 0x1b))
		abort();
	if (data & ~0xc7ffu)
		abort();
	if (!!(data & 0x8000) != !!(data & 0x4000))
		abort();
}

static void fz_msi(void *ctx, u64 addr, u32 data)
{
	struct sink *s = ctx;

	check_msi(addr, data);
	s->msis++;
	if (s->reenter & 1 && s->depth < 4) {
		s->depth++;
		ioapic_eoi(s->io, data & 0xff);
		s->depth--;
	}
	s->reenter = (u8)(s->reenter >> 1 | s->reenter << 7);
}

static void fz_route(void *ctx, unsigned pin, u64 addr, u32 data, bool masked)
{
	if (pin >= IOAPIC_PINS)
		abort();
	check_msi(addr, data);
}

static void check_state(struct ioapic *io)
{
	if (io->ioregsel > 0xff || io->id > 0xf)
		abort();
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		u64 rte = io->redir[pin];
		bool high = io->irr & (1u << pin);

		if (rte & (RTE_DELIVS | RTE_RESERVED))
			abort();
		if (!(rte & RTE_LEVEL) && (rte & RTE_REMOTE_IRR))
			abort();
		/* An unmasked level pin that is high has been delivered. */
		if ((rte & RTE_LEVEL) && !(rte & RTE_MASKED) && high && !(rte & RTE_REMOTE_IRR))
			abort();
	}
	if (io->irr >> IOAPIC_PINS)
		abort();
}

static const u64 offsets[] = {0x00, 0x10, 0x40, 0x01, 0x11, 0x14, 0x20, 0x3c, 0x100, 0xfff};
static const u32 lens[] = {4, 4, 4, 1, 2, 8, 0, 3};

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct ioapic io;
	struct sink s = {.io = &io};
	size_t i = 0;

	if (size > 0)
		s.reenter = data[0];
	ioapic_init(&io, fz_msi, fz_route, &s);
	while (i < size) {
		u8 op = data[i++];
		u8 buf[8] = {0};
		u8 a = i < size ? data[i] : 0;
		u8 b = i + 1 < size ? data[i + 1] : 0;

		switch (op % 6) {
		case 0: { /* raw MMIO write */
			u64 off = offsets[a % ARRAY_SIZE(offsets)];
			u32 len = lens[b % ARRAY_SIZE(lens)];
			size_t n = MIN((size_t)8, size - MIN(size, i + 2));

			memcpy(buf, data + MIN(size, i + 2), n);
			ioapic_mmio_ops.write(&io, off, buf, len);
			i += 2 + n;
			break;
		}
		case 1: { /* raw MMIO read: bytes past len stay untouched */
			u64 off = offsets[a % ARRAY_SIZE(offsets)];
			u32 len = lens[b % ARRAY_SIZE(lens)];

			memset(buf, 0xa5, sizeof(buf));
			ioapic_mmio_ops.read(&io, off, buf, len);
			for (u32 k = len; k < 8; k++)
				if (buf[k] != 0xa5)
					abort();
			i += 2;
			break;
		}
		case 2: /* a line, including pins that do not exist */
			ioapic_set_irq(&io, a % 32, b & 1);
			i += 2;
			break;
		case 3: /* an EOI, sometimes of an impossible vector */
			ioapic_eoi(&io, b & 1 ? a : (u32)a << 4);
			i += 2;
			break;
		case 4: { /* a whole RTE write, the way a guest does it */
			u32 sel = 0x10 + 2 * (a % IOAPIC_PINS);
			u8 v[4];

			memcpy(buf, data + MIN(size, i + 1),
			       MIN((size_t)8, size - MIN(size, i + 1)));
			put_le32(v, sel + 1);
			ioapic_mmio_ops.write(&io, 0x00, v, 4);
			ioapic_mmio_ops.write(&io, 0x10, buf + 4, 4);
			put_le32(v, sel);
			ioapic_mmio_ops.write(&io, 0x00, v, 4);
			ioapic_mmio_ops.write(&io, 0x10, buf, 4);
			i += 9;
			break;
		}
		case 5: { /* read back the selected register */
			u8 v[4];

			ioapic_mmio_ops.read(&io, 0x10, v, 4);
			if (io.ioregsel == 1 && get_le32(v) != 0x00170020)
				abort();
			i += 0;
			break;
		}
		}
		check_state(&io);
	}
	pthread_mutex_destroy(&io.lock);
	return 0;
}
