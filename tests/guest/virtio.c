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
 */
#include "lib/guest.h"
#include "lib/virtio.h"

const char test_name[] = "virtio";

#define SPINS 20000000UL

/* The used entry may be seen before its interrupt lands: give it a moment. */
static void check_irq(unsigned slot, const char *what)
{
	for (unsigned long i = 0; i < SPINS && irq_count[slot] < 1; i++) {
		sti();
		cpu_relax();
	}
	cli();
	CHECK(irq_count[slot] >= 1, "%s: no MSI-X interrupt", what);
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
	CHECK(vq_wait_used(d, 0, SPINS, NULL) >= 0, "blk: request type %u never completed", type);
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
	len = vq_wait_used(&d, 0, SPINS, NULL);
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
	CHECK(vq_wait_used(&d, 1, SPINS, NULL) >= 0, "console: transmit never completed");
	check_irq(5, "console");
	gprintf("virtio: console ok\n");
}

/* ---- net ---------------------------------------------------------------------- */

#define NET_HDR 12	/* virtio_net_hdr with num_buffers (VERSION_1) */

static void check_net(const struct boot_info *bi)
{
	static u8 rx[2][NET_HDR + 1514], tx[NET_HDR + 42];
	static const u8 guest_ip[4] = {10, 0, 2, 15}, host_ip[4] = {10, 0, 2, 2};
	struct vdev d;
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
	for (unsigned tries = 0; tries < 20; tries++) {
		struct vbuf b = {tx, sizeof(tx), false};
		long len;

		vq_submit(&d, 1, &b, 1);
		CHECK(vq_wait_used(&d, 1, SPINS, NULL) >= 0, "net: transmit never completed");
		/* Other traffic (IPv6 from the host) may come first: look at a few frames. */
		void *got;

		while ((len = vq_wait_used(&d, 0, SPINS / 4, &got)) >= 0) {
			u8 *f = (u8 *)got + NET_HDR;
			struct vbuf b2 = {got, sizeof(rx[0]), true};

			if (len >= NET_HDR + 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 2 &&
			    !gmemcmp(f + 28, host_ip, 4) && !gmemcmp(f + 32, mac, 6)) {
				check_irq(7, "net rx");
				check_irq(8, "net tx");
				gprintf("virtio: net ok (10.0.2.2 is at %x:%x:%x:%x:%x:%x)\n", f[22],
					f[23], f[24], f[25], f[26], f[27]);
				return;
			}
			vq_submit(&d, 0, &b2, 1);
		}
	}
	fail("net: no ARP reply from 10.0.2.2");
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
	CHECK(vq_wait_used(d, 1, SPINS, NULL) >= 0, "vsock: transmit of op %u never completed", op);
}

/* The next packet for our port that is not a credit message: its op; data in *out. */
static u16 vs_recv(struct vdev *d, char *out, u32 *len)
{
	for (;;) {
		void *got;
		long n = vq_wait_used(d, 0, SPINS, &got);
		struct vsock_hdr *h = got;
		u8 *data = (u8 *)got + sizeof(*h);
		u16 op;
		struct vbuf b;

		CHECK(n >= (long)sizeof(struct vsock_hdr), "vsock: nothing received");
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

	CHECK(vdev_find(bi, VIRTIO_ID_VSOCK, 0, 0xc0400000UL, &d), "vsock: no device");
	vdev_init(&d, 3, 10);
	cid = vcfg_read64(&d, 0);
	CHECK(cid == want, "vsock: guest CID %lu, want %lu", cid, want);
	for (unsigned i = 0; i < 2; i++) {
		struct vbuf b = {&vs_rx[i], sizeof(vs_rx[0]), true};
		vq_submit(&d, 0, &b, 1);
	}
	vs_send(&d, cid, VSOCK_OP_REQUEST, 0, NULL, 0);
	op = vs_recv(&d, NULL, NULL);
	CHECK(op == VSOCK_OP_RESPONSE, "vsock: connect answered with op %u", op);
	vs_send(&d, cid, VSOCK_OP_RW, 0, ping, sizeof(ping) - 1);
	got[0] = 0;
	while (gstrlen(got) < 22) {
		char part[256];

		op = vs_recv(&d, part, &len);
		CHECK(op == VSOCK_OP_RW, "vsock: op %u instead of data", op);
		CHECK(gstrlen(got) + len < sizeof(got), "vsock: too much data");
		gmemcpy(got + gstrlen(got), part, len + 1);
	}
	CHECK(!gmemcmp(got, "pong: ping from guest\n", 22), "vsock: answer '%s'", got);
	vs_send(&d, cid, VSOCK_OP_SHUTDOWN, 3, NULL, 0);
	check_irq(10, "vsock rx");
	gprintf("virtio: vsock ok (CID %lu)\n", cid);
}

void test_main(const struct boot_info *bi)
{
	lapic_enable();
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
