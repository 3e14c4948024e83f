// SPDX-License-Identifier: MIT
/*
 * virtio-blk at queue depth 1, for bench/blk-guest: n 4 KiB reads, then n
 * 4 KiB writes, each notified, waited for with sti;hlt until its MSI-X
 * interrupt, and timed with rdtsc from the notify to the used entry seen
 * after the interrupt. Runs under merak and under QEMU (q35 + SeaBIOS: the
 * BARs are moved below 4 GiB by the guest library either way).
 *
 * Command line: n=N (default 2000), event_idx (negotiate
 * VIRTIO_RING_F_EVENT_IDX and honour used_event/avail_event), min_sectors=N
 * (the disk must be at least this big), settle_ms=N (default 0).
 *
 * Serial output:
 *   BLKBENCH mark OP start|end   each followed by settle_ms of sleep (one
 *                                LAPIC timer interrupt, no other exits), a
 *                                window for a host that samples counters
 *   BLKBENCH op=OP event_idx=E n=N ns_med=... ns_p99=... ns_avg=... rps=...
 *            irqs_x1000=... notifies_x1000=... halts_x1000=...  (per OP)
 * The *_x1000 fields are per-request rates times 1000.
 */
#include "lib/guest.h"
#include "lib/virtio.h"

const char test_name[] = "blkbench";

#define VIRTIO_RING_F_EVENT_IDX 29
#define VRING_USED_F_NO_NOTIFY	1
#define BLK_IN			0
#define BLK_OUT			1
#define MAX_N			8192
#define TIMER_SLOT		15	/* vector 0x3f: the LAPIC timer's */

struct blk_hdr {
	u32 type, reserved;
	u64 sector;
};

static u8 data[4096] __attribute__((aligned(4096)));
static struct blk_hdr hdr;
static volatile u8 status;
static u32 lat[MAX_N];
static u64 tsc_khz, apic_per_ms;

static inline u64 rdtsc(void)
{
	u32 lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return lo | (u64)hi << 32;
}

static u32 pm_read(void)
{
	return inl(PORT_PM_TMR) & 0xffffff;
}

/*
 * TSC and LAPIC timer rates against the ACPI PM timer (3.579545 MHz), over
 * ~100 ms. A fixed number of timer reads (each an exit), spaced by the TSC,
 * keeps the run's exit count the same however fast the vCPU runs.
 */
static void calibrate(void)
{
	u32 p0, p1, c1;
	u64 t0, t1;

	mmio_write32(LAPIC_BASE + 0x3e0, 0xa);	/* divide by 128: minutes fit in 32 bits */
	mmio_write32(LAPIC_BASE + 0x320, 1u << 16 | 0x3f);	/* masked */
	mmio_write32(LAPIC_BASE + 0x380, 0xffffffffu);
	p0 = pm_read();
	t0 = rdtsc();
	for (unsigned i = 0; i < 100; i++) {
		u64 t = rdtsc();

		while (rdtsc() - t < 2500000)
			cpu_relax();
		p1 = pm_read();
	}
	t1 = rdtsc();
	c1 = mmio_read32(LAPIC_BASE + 0x390);
	p1 = (p1 - p0) & 0xffffff;
	tsc_khz = (t1 - t0) * 3579545 / 1000 / p1;
	apic_per_ms = (0xffffffffu - c1) * 3579545ull / 1000 / p1;
	CHECK(p1 > 3580, "the ACPI PM timer moved %u ticks in 100 TSC ms", p1);
	mmio_write32(LAPIC_BASE + 0x380, 0);
	CHECK(tsc_khz && apic_per_ms, "no TSC (%lu kHz) or LAPIC timer (%lu/ms)", tsc_khz,
	      apic_per_ms);
}

/* One-shot LAPIC timer interrupt in ms (0: stops it). */
static void arm_timer(u64 ms)
{
	u64 c = ms * apic_per_ms;

	mmio_write32(LAPIC_BASE + 0x320, 0x3f);
	mmio_write32(LAPIC_BASE + 0x380, c > 0xffffffffu ? 0xffffffffu : (u32)c);
}

/* Sleeps ms with one one-shot LAPIC timer interrupt: no exits in between. */
static void sleep_ms(u64 ms)
{
	u32 before = irq_count[TIMER_SLOT];

	if (!ms)
		return;
	arm_timer(ms);
	cli();
	while (irq_count[TIMER_SLOT] == before) {
		sti_hlt();
		cli();
	}
}

static void sort(u32 *a, unsigned n)
{
	for (unsigned gap = n / 2; gap; gap /= 2)
		for (unsigned i = gap; i < n; i++)
			for (unsigned j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
				u32 t = a[j];
				a[j] = a[j - gap];
				a[j - gap] = t;
			}
}

/* vring_need_event (virtio 1.2, 2.7.10). */
static bool need_event(u16 event, u16 new_idx, u16 old)
{
	return (u16)(new_idx - event - 1) < (u16)(new_idx - old);
}

static void run(struct vdev *d, u32 type, unsigned n, u64 sectors, bool evidx, u64 settle)
{
	struct vq *q = &d->q[0];
	const char *op = type == BLK_IN ? "read" : "write";
	u32 irq0, timer, notifies = 0, halts = 0;
	u64 watchdog = 5000 + n * 20ul;
	u64 sum = 0, start, end;

	gprintf("BLKBENCH mark %s start\n", op);
	sleep_ms(settle);
	irq0 = irq_count[0];
	timer = irq_count[TIMER_SLOT];
	arm_timer(watchdog);	/* for the whole run: a lost interrupt fails it */
	start = rdtsc();
	for (unsigned i = 0; i < n; i++) {
		u16 head = q->next_desc, old = q->avail.idx;
		u32 irqs = irq_count[0];
		u64 t0;

		hdr = (struct blk_hdr){.type = type, .sector = (i * 8ul) % (sectors - 8)};
		status = 0xff;
		q->next_desc = (u16)((head + 3) % q->size);
		q->desc[head] = (struct vring_desc){(u64)&hdr, sizeof(hdr), VRING_DESC_F_NEXT,
						    (u16)((head + 1) % q->size)};
		q->desc[(head + 1) % q->size] =
			(struct vring_desc){(u64)data, sizeof(data),
					    VRING_DESC_F_NEXT | (type == BLK_IN ? VRING_DESC_F_WRITE : 0),
					    (u16)((head + 2) % q->size)};
		q->desc[(head + 2) % q->size] =
			(struct vring_desc){(u64)&status, 1, VRING_DESC_F_WRITE, 0};
		if (evidx)
			q->avail.used_event = q->last_used;	/* interrupt for the next one */
		q->avail.ring[old % q->size] = head;
		__asm__ volatile("" ::: "memory");
		q->avail.idx = (u16)(old + 1);
		__asm__ volatile("mfence" ::: "memory");
		t0 = rdtsc();
		if (evidx ? need_event(*(volatile u16 *)&q->used.avail_event, (u16)(old + 1), old)
			  : !(*(volatile u16 *)&q->used.flags & VRING_USED_F_NO_NOTIFY)) {
			*(volatile u16 *)(d->notify + (u64)q->notify_off * d->notify_mult) = q->index;
			notifies++;
		}
		/*
		 * Each request raises exactly one interrupt: wait for it, not only
		 * for the used entry (which a slow notify exit may already show).
		 */
		cli();
		while (irq_count[0] == irqs || *(volatile u16 *)&q->used.idx == q->last_used) {
			/* Says which was missing: the completion, or only its interrupt. */
			CHECK(irq_count[TIMER_SLOT] == timer,
			      "%s %u: no interrupt in %lu ms (used idx %u, waiting for %u; "
			      "interrupts %lu, waiting for %lu)",
			      op, i, watchdog, *(volatile u16 *)&q->used.idx, (u16)(q->last_used + 1),
			      (u64)irq_count[0], (u64)irqs + 1);
			sti_hlt();
			cli();
			halts++;
		}
		irqs++;
		lat[i] = (u32)((rdtsc() - t0) * 1000000 / tsc_khz);
		sum += lat[i];
		q->last_used++;
		CHECK(status == 0, "%s %u: status %u", op, i, status);
	}
	end = rdtsc();
	arm_timer(0);
	gprintf("BLKBENCH mark %s end\n", op);
	sleep_ms(settle);
	sort(lat, n);
	gprintf("BLKBENCH op=%s event_idx=%u n=%u ns_med=%u ns_p99=%u ns_avg=%lu rps=%lu "
		"irqs_x1000=%lu notifies_x1000=%lu halts_x1000=%lu\n",
		op, evidx, n, lat[n / 2], lat[n * 99 / 100], sum / n,
		(u64)n * tsc_khz * 1000 / (end - start), (u64)(irq_count[0] - irq0) * 1000 / n,
		(u64)notifies * 1000 / n, (u64)halts * 1000 / n);
}

void test_main(const struct boot_info *bi)
{
	unsigned n = (unsigned)cmdline_u64(bi, "n", 2000);
	u64 settle = cmdline_u64(bi, "settle_ms", 0), sectors;
	bool evidx = cmdline_has(bi, "event_idx");
	struct vdev d;

	CHECK(n >= 1 && n <= MAX_N, "n=%u", n);
	CHECK(pm_timer_runs(), "the ACPI PM timer does not run");
	lapic_enable();
	calibrate();
	CHECK(vdev_find(bi, VIRTIO_ID_BLOCK, 0, 0xc0000000UL, &d), "no virtio-blk");
	vdev_init_features(&d, 1, 0, evidx ? 1u << VIRTIO_RING_F_EVENT_IDX : 0);
	sectors = vcfg_read64(&d, 0);
	CHECK(sectors >= cmdline_u64(bi, "min_sectors", 64) && sectors >= 64,
	      "disk of %lu sectors", sectors);
	gprintf("BLKBENCH tsc_khz=%lu sectors=%lu\n", tsc_khz, sectors);
	run(&d, BLK_IN, n, sectors, evidx, settle);
	run(&d, BLK_OUT, n, sectors, evidx, settle);
}
