// SPDX-License-Identifier: MIT
/*
 * One request per virtio device, each checked from the guest side and (by
 * tests/guest/run.sh) from the host side. The command line names the devices
 * to check: blk (and ro: a second, read-only disk), rng, console, net, vsock.
 *   blk      capacity (blk_sectors=N), the image's first sector, get-id
 *            (serial "vdisk0"), a write at 4 KiB + flush + read back
 *   ro       a write to the read-only disk fails with IOERR
 *   rng      64 bytes, not all zero
 *   console  a line on port 0 (hvc0)
 *   net      an ARP request for 10.0.2.2 answered by the host's tap
 *   vsock    a connection to host port 1234, a line there and its answer
 * Every queue's completion must also raise its MSI-X vector.
 *
 * Every wait is bounded in real time (now_ms(), the ACPI PM timer), never by
 * a count of loop iterations: where guest kernel code is instruction-emulated
 * a loop turn costs microseconds, and a spin count meant as "a moment" became
 * nearly a minute per wait there.
 */
#include "lib/guest.h"
#include "lib/virtio.h"

const char test_name[] = "virtio";

/* Real-time bounds (ms). */
#define DEVICE_MS     10000	/* a request merak's device completes by itself */
#define IRQ_MS	      2000	/* an MSI-X interrupt after its used entry */
#define ARP_MS	      20000	/* the host's ARP reply, all requests together */
#define ARP_RESEND_MS 200	/* the request again (the tap may not be up yet) */
#define PEER_MS	      20000	/* each answer of the host's vsock listener */

/* The used entry may be seen before its interrupt lands: give it a moment. */
static void check_irq(unsigned slot, const char *what)
{
	u64 end = now_ms() + IRQ_MS;

	while (irq_count[slot] < 1 && now_ms() < end) {
		sti();
		cpu_relax();
	}
	cli();
	CHECK(irq_count[slot] >= 1, "%s: no MSI-X interrupt in %u ms", what, IRQ_MS);
}

/* A completion of merak's own device (no host peer involved). */
static long wait_device(struct vdev *d, unsigned qi, void **buf)
{
	return vq_wait_used_until(d, qi, now_ms() + DEVICE_MS, buf);
}

/* ---- block ------------------------------------------------------------------ */

struct blk_hdr {
	u32 type, reserved;
	u64 sector;
};
#define BLK_IN	   0
#define BLK_OUT	   1
#define BLK_FLUSH  4
#define BLK_GET_ID 8

static u8 blk_data[512] __attribute__((aligned(512)));

static u8 blk_request(struct vdev *d, u32 type, u64 sector, void *data, u32 len)
{
	static struct blk_hdr hdr;
	static volatile u8 status;
	struct vbuf b[3];
	unsigned n = 0;

	hdr = (struct blk_hdr){.type = type, .sector = sector};
	status = 0xff;
	b[n++] = (struct vbuf){&hdr, sizeof(hdr), false};
	if (len)
		b[n++] = (struct vbuf){data, len, type != BLK_OUT};
	b[n++] = (struct vbuf){(void *)&status, 1, true};
	vq_submit(d, 0, b, n);
	CHECK(wait_device(d, 0, NULL) >= 0, "blk: request type %u not completed in %u ms", type,
	      DEVICE_MS);
	return status;
}

static void check_blk(const struct boot_info *bi)
{
	static const char write_marker[] = "merak test guest wrote this block";
	struct vdev d;
	u64 want = cmdline_u64(bi, "blk_sectors", 0), cap;
	char id[21];

	CHECK(vdev_find(bi, VIRTIO_ID_BLOCK, 0, 0xc0000000UL, &d), "blk: no device");
	vdev_init(&d, 1, 0);
	cap = vcfg_read64(&d, 0);
	CHECK(cap == want, "blk: capacity %lu sectors, want %lu", cap, want);
	CHECK(blk_request(&d, BLK_IN, 0, blk_data, 512) == 0, "blk: read failed");
	CHECK(!gmemcmp(blk_data, "merak-disk-image", 16), "blk: sector 0 is not the image's");
	gmemset(id, 0, sizeof(id));
	CHECK(blk_request(&d, BLK_GET_ID, 0, id, 20) == 0, "blk: get-id failed");
	CHECK(!gmemcmp(id, "vdisk0", 7), "blk: serial '%s'", id);
	gmemset(blk_data, 0, 512);
	gmemcpy(blk_data, write_marker, sizeof(write_marker));
	CHECK(blk_request(&d, BLK_OUT, 8, blk_data, 512) == 0, "blk: write failed");
	CHECK(blk_request(&d, BLK_FLUSH, 0, NULL, 0) == 0, "blk: flush failed");
	gmemset(blk_data, 0, 512);
	CHECK(blk_request(&d, BLK_IN, 8, blk_data, 512) == 0, "blk: read back failed");
	CHECK(!gmemcmp(blk_data, write_marker, sizeof(write_marker)), "blk: read back differs");
	/* Past the end: an error status, not a crash. */
	CHECK(blk_request(&d, BLK_IN, cap, blk_data, 512) == 1, "blk: read past the end succeeded");
	check_irq(0, "blk");
	gprintf("virtio: blk ok (%lu sectors, serial %s)\n", cap, id);
}

static void check_blk_readonly(const struct boot_info *bi)
{
	struct vdev d;

	CHECK(vdev_find(bi, VIRTIO_ID_BLOCK, 1, 0xc0080000UL, &d), "ro: no second disk");
	vdev_init(&d, 1, 14);
	CHECK(blk_request(&d, BLK_IN, 0, blk_data, 512) == 0, "ro: read failed");
	CHECK(blk_request(&d, BLK_OUT, 0, blk_data, 512) == 1, "ro: a write was not refused");
	gprintf("virtio: read-only disk refuses writes\n");
}

/* ---- rng ---------------------------------------------------------------------- */

static void check_rng(const struct boot_info *bi)
{
	static u8 buf[64];
	struct vdev d;
	struct vbuf b = {buf, sizeof(buf), true};
	long len;
	unsigned nonzero = 0;

	CHECK(vdev_find(bi, VIRTIO_ID_RNG, 0, 0xc0100000UL, &d), "rng: no device");
	vdev_init(&d, 1, 2);
	vq_submit(&d, 0, &b, 1);
	len = wait_device(&d, 0, NULL);
	CHECK(len == sizeof(buf), "rng: %ld bytes", len);
	for (unsigned i = 0; i < sizeof(buf); i++)
		nonzero += buf[i] != 0;
	CHECK(nonzero > 32, "rng: %u of 64 bytes non-zero", nonzero);
	check_irq(2, "rng");
	gprintf("virtio: rng ok\n");
}

/* ---- console -------------------------------------------------------------------- */

static void check_console(const struct boot_info *bi)
{
	static const char line[] = "merak-guest: hello on hvc0\n";
	struct vdev d;
	struct vbuf b = {(void *)line, sizeof(line) - 1, false};

	CHECK(vdev_find(bi, VIRTIO_ID_CONSOLE, 0, 0xc0200000UL, &d), "console: no device");
	vdev_init(&d, 2, 4);
	vq_submit(&d, 1, &b, 1);
	CHECK(wait_device(&d, 1, NULL) >= 0, "console: transmit not completed in %u ms", DEVICE_MS);
	check_irq(5, "console");
	gprintf("virtio: console ok\n");
}

/* ---- net ---------------------------------------------------------------------- */

#define NET_HDR 12	/* virtio_net_hdr with num_buffers (VERSION_1) */

static void check_net(const struct boot_info *bi)
{
	static u8 rx[2][NET_HDR + 1514], tx[NET_HDR + 42];
	static const u8 guest_ip[4] = {10, 0, 2, 15}, host_ip[4] = {10, 0, 2, 2};
	/*
	 * Static, not on the stack: the device keeps its receive buffers (and
	 * so its rings, inside struct vdev) after we return, and host frames
	 * keep coming; the next check's frame would reuse that memory.
	 */
	static struct vdev d;
	u8 mac[6];
	u8 *p;

	CHECK(vdev_find(bi, VIRTIO_ID_NET, 0, 0xc0300000UL, &d), "net: no device");
	vdev_init(&d, 2, 7);
	for (unsigned i = 0; i < 6; i++)
		mac[i] = vcfg_read8(&d, i);
	for (unsigned i = 0; i < 2; i++) {
		struct vbuf b = {rx[i], sizeof(rx[i]), true};
		vq_submit(&d, 0, &b, 1);
	}
	/* An ARP request: who has 10.0.2.2? */
	gmemset(tx, 0, sizeof(tx));
	p = tx + NET_HDR;
	gmemset(p, 0xff, 6);
	gmemcpy(p + 6, mac, 6);
	p[12] = 0x08, p[13] = 0x06;
	p[14] = 0, p[15] = 1, p[16] = 0x08, p[17] = 0, p[18] = 6, p[19] = 4, p[20] = 0, p[21] = 1;
	gmemcpy(p + 22, mac, 6);
	gmemcpy(p + 28, guest_ip, 4);
	gmemcpy(p + 38, host_ip, 4);
	/*
	 * The first requests may go out before the host has brought its end of
	 * the tap up (they are dropped), and the host sends frames of its own
	 * (IPv6 router solicitations...): ask again every ARP_RESEND_MS and skip
	 * other frames, all within one ARP_MS deadline.
	 */
	u64 start = now_ms(), end = start + ARP_MS;
	unsigned sent = 0, other = 0;

	while (now_ms() < end) {
		struct vbuf b = {tx, sizeof(tx), false};
		u64 resend;
		long len;
		void *got;

		vq_submit(&d, 1, &b, 1);
		CHECK(wait_device(&d, 1, NULL) >= 0, "net: transmit not completed in %u ms",
		      DEVICE_MS);
		sent++;
		resend = now_ms() + ARP_RESEND_MS;
		while ((len = vq_wait_used_until(&d, 0, resend < end ? resend : end, &got)) >= 0) {
			u8 *f = (u8 *)got + NET_HDR;
			struct vbuf b2 = {got, sizeof(rx[0]), true};

			if (len >= NET_HDR + 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
			    !gmemcmp(f + 28, host_ip, 4) && !gmemcmp(f + 32, mac, 6)) {
				check_irq(7, "net rx");
				check_irq(8, "net tx");
				gprintf("virtio: net ok (10.0.2.2 is at %x:%x:%x:%x:%x:%x; %lu ms, "
					"%u requests, %u other frames)\n", f[22], f[23], f[24], f[25],
					f[26], f[27], now_ms() - start, sent, other);
				return;
			}
			other++;
			vq_submit(&d, 0, &b2, 1);
		}
	}
	fail("net: no ARP reply from 10.0.2.2 in %u ms (%u requests sent, %u other frames)",
	     ARP_MS, sent, other);
}

/* ---- vsock -------------------------------------------------------------------- */

struct vsock_hdr {
	u64 src_cid, dst_cid;
	u32 src_port, dst_port, len;
	u16 type, op;
	u32 flags, buf_alloc, fwd_cnt;
} __attribute__((packed));
#define VSOCK_OP_REQUEST  1
#define VSOCK_OP_RESPONSE 2
#define VSOCK_OP_RST	  3
#define VSOCK_OP_SHUTDOWN 4
#define VSOCK_OP_RW	  5

static struct {
	struct vsock_hdr h;
	u8 data[256];
} vs_rx[2], vs_tx;
static u32 vs_fwd;

static void vs_send(struct vdev *d, u64 cid, u16 op, u32 flags, const char *data, u32 len)
{
	struct vbuf b = {&vs_tx, sizeof(struct vsock_hdr) + len, false};

	vs_tx.h = (struct vsock_hdr){.src_cid = cid, .dst_cid = 2, .src_port = 40000,
				     .dst_port = 1234, .len = len, .type = 1, .op = op,
				     .flags = flags, .buf_alloc = 4096, .fwd_cnt = vs_fwd};
	if (len)
		gmemcpy(vs_tx.data, data, len);
	vq_submit(d, 1, &b, 1);
	CHECK(wait_device(d, 1, NULL) >= 0, "vsock: transmit of op %u not completed in %u ms", op,
	      DEVICE_MS);
}

/*
 * The next packet for our port that is not a credit message, by end_ms (real
 * time; credit messages do not extend it): its op; data in *out.
 */
static u16 vs_recv(struct vdev *d, u64 end_ms, const char *what, char *out, u32 *len)
{
	for (;;) {
		void *got;
		long n = vq_wait_used_until(d, 0, end_ms, &got);
		struct vsock_hdr *h = got;
		u8 *data = (u8 *)got + sizeof(*h);
		u16 op;
		struct vbuf b;

		CHECK(n >= 0, "vsock: no %s from the host in %u ms", what, PEER_MS);
		CHECK(n >= (long)sizeof(struct vsock_hdr), "vsock: a %ld-byte packet", n);
		op = h->op;
		if (op == VSOCK_OP_RW && out) {
			*len = h->len;
			CHECK(*len < 256, "vsock: %u bytes", *len);
			gmemcpy(out, data, *len);
			out[*len] = 0;
			vs_fwd += *len;
		}
		b = (struct vbuf){got, sizeof(vs_rx[0]), true};
		vq_submit(d, 0, &b, 1);
		if (op == 6 || op == 7) /* CREDIT_UPDATE, CREDIT_REQUEST */
			continue;
		return op;
	}
}

static void check_vsock(const struct boot_info *bi)
{
	static const char ping[] = "ping from guest\n";
	char got[256];
	struct vdev d;
	u64 cid, want = cmdline_u64(bi, "cid", 3);
	u32 len = 0;
	u16 op;
	u64 start, end;

	CHECK(vdev_find(bi, VIRTIO_ID_VSOCK, 0, 0xc0400000UL, &d), "vsock: no device");
	vdev_init(&d, 3, 10);
	cid = vcfg_read64(&d, 0);
	CHECK(cid == want, "vsock: guest CID %lu, want %lu", cid, want);
	for (unsigned i = 0; i < 2; i++) {
		struct vbuf b = {&vs_rx[i], sizeof(vs_rx[0]), true};
		vq_submit(&d, 0, &b, 1);
	}
	start = now_ms();
	vs_send(&d, cid, VSOCK_OP_REQUEST, 0, NULL, 0);
	op = vs_recv(&d, start + PEER_MS, "answer to the connection request", NULL, NULL);
	CHECK(op == VSOCK_OP_RESPONSE, "vsock: connect answered with op %u", op);
	end = now_ms() + PEER_MS;
	vs_send(&d, cid, VSOCK_OP_RW, 0, ping, sizeof(ping) - 1);
	got[0] = 0;
	while (gstrlen(got) < 22) {
		char part[256];

		op = vs_recv(&d, end, "answer to the line", part, &len);
		CHECK(op == VSOCK_OP_RW, "vsock: op %u instead of data", op);
		CHECK(gstrlen(got) + len < sizeof(got), "vsock: too much data");
		gmemcpy(got + gstrlen(got), part, len + 1);
	}
	CHECK(!gmemcmp(got, "pong: ping from guest\n", 22), "vsock: answer '%s'", got);
	vs_send(&d, cid, VSOCK_OP_SHUTDOWN, 3, NULL, 0);
	check_irq(10, "vsock rx");
	gprintf("virtio: vsock ok (CID %lu; %lu ms)\n", cid, now_ms() - start);
}

void test_main(const struct boot_info *bi)
{
	lapic_enable();
	CHECK(pm_timer_runs(), "the ACPI PM timer (port 0x%x) does not advance", PORT_PM_TMR);
	if (cmdline_has(bi, "blk"))
		check_blk(bi);
	if (cmdline_has(bi, "ro"))
		check_blk_readonly(bi);
	if (cmdline_has(bi, "rng"))
		check_rng(bi);
	if (cmdline_has(bi, "console"))
		check_console(bi);
	if (cmdline_has(bi, "net"))
		check_net(bi);
	if (cmdline_has(bi, "vsock"))
		check_vsock(bi);
}
