// SPDX-License-Identifier: MIT
/*
 * A hostile driver against virtio-blk, with virtio-rng as the bystander:
 * a descriptor chain that loops, a buffer outside guest RAM, an absurd
 * length, a head index beyond the queue. Each time the block device must
 * either fail the request (an error status) or set DEVICE_NEEDS_RESET and
 * raise its config interrupt, never complete it as good; merak must keep
 * running; the rng must still answer; and after a reset the block device
 * must serve a plain read again.
 */
#include "lib/guest.h"
#include "lib/virtio.h"

const char test_name[] = "virtio_hostile";

#define SPINS 5000000UL
#define BLK_IN 0

static struct {
	u32 type, reserved;
	u64 sector;
} hdr;
static u8 data[512];
static volatile u8 status;

static void rng_still_works(const struct boot_info *bi, const char *after)
{
	static u8 buf[16];
	struct vdev r;
	struct vbuf b = {buf, sizeof(buf), true};

	CHECK(vdev_find(bi, VIRTIO_ID_RNG, 0, 0xc0100000UL, &r), "no rng");
	vdev_init(&r, 1, 4);
	vq_submit(&r, 0, &b, 1);
	CHECK(vq_wait_used(&r, 0, SPINS, NULL) == sizeof(buf), "rng broken after %s", after);
}

static void blk_plain_read(struct vdev *d, const char *after)
{
	struct vbuf b[3] = {{&hdr, sizeof(hdr), false}, {data, 512, true}, {(void *)&status, 1, true}};

	vdev_init(d, 1, 0);
	hdr.type = BLK_IN;
	hdr.sector = 0;
	status = 0xff;
	vq_submit(d, 0, b, 3);
	CHECK(vq_wait_used(d, 0, SPINS, NULL) >= 0 && status == 0,
	      "blk does not read after a reset following %s", after);
	CHECK(!gmemcmp(data, "merak-disk-image", 16), "blk read wrong data after %s", after);
}

/*
 * Publishes the chain already written at descriptor 0 and returns how the
 * device dealt with it: 'r' needs reset, 'e' error status, 'g' completed as good.
 * The wait ends at a used entry or at the config interrupt, whichever comes
 * first: a device that needs a reset never completes the request, and
 * spinning out SPINS for it costs about a minute where guest kernel code is
 * instruction-emulated (docs/testing.md).
 */
static char outcome(struct vdev *d, u16 head)
{
	u32 cfg_irqs = irq_count[1];
	struct vq *q = &d->q[0];
	long len;

	status = 0xff;
	vq_publish(d, 0, head);
	for (unsigned long i = 0; i < SPINS; i++) {
		if (*(volatile u16 *)&q->used.idx != q->last_used || irq_count[1] != cfg_irqs)
			break;
		sti();
		cpu_relax();
	}
	len = vq_wait_used(d, 0, 1, NULL);	/* interrupts off again; -1 if nothing was used */
	if (vdev_status(d) & VIRTIO_STATUS_NEEDS_RESET) {
		for (unsigned i = 0; i < 100000 && irq_count[1] == cfg_irqs; i++)
			sti_hlt();
		cli();
		CHECK(irq_count[1] > cfg_irqs, "NEEDS_RESET without a config interrupt");
		return 'r';
	}
	CHECK(len >= 0, "request neither completed nor flagged NEEDS_RESET");
	return status == 0 ? 'g' : 'e';
}

static void set_desc(struct vdev *d, unsigned i, u64 addr, u32 len, u16 flags, u16 next)
{
	d->q[0].desc[i] = (struct vring_desc){addr, len, flags, next};
}

/* A read whose data descriptor is addr+len: must not be served as good. */
static void bad_data_buffer(const struct boot_info *bi, struct vdev *d, u64 addr, u32 len,
			    const char *what)
{
	char r;

	set_desc(d, 0, (u64)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, 1);
	set_desc(d, 1, addr, len, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	set_desc(d, 2, (u64)&status, 1, VRING_DESC_F_WRITE, 0);
	r = outcome(d, 0);
	CHECK(r != 'g', "%s was served", what);
	gprintf("virtio_hostile: %s -> %s\n", what, r == 'r' ? "needs reset" : "error");
	rng_still_works(bi, what);
	blk_plain_read(d, what);
}

void test_main(const struct boot_info *bi)
{
	struct vdev d;
	char r;

	lapic_enable();
	CHECK(vdev_find(bi, VIRTIO_ID_BLOCK, 0, 0xc0000000UL, &d), "no blk");
	blk_plain_read(&d, "nothing");
	hdr = (typeof(hdr)){.type = BLK_IN};

	/* 1. A chain that loops back on itself (device-readable throughout, so only the loop is wrong). */
	set_desc(&d, 0, (u64)&hdr, sizeof(hdr), VRING_DESC_F_NEXT, 1);
	set_desc(&d, 1, (u64)data, 512, VRING_DESC_F_NEXT, 0);
	r = outcome(&d, 0);
	CHECK(r != 'g', "a looping chain was served");
	gprintf("virtio_hostile: looping chain -> %s\n", r == 'r' ? "needs reset" : "error");
	rng_still_works(bi, "a looping chain");
	blk_plain_read(&d, "a looping chain");

	/* 2. A data buffer far outside guest RAM; 3. an absurd length past its end. */
	bad_data_buffer(bi, &d, 0x7f0000000000UL, 512, "a buffer outside RAM");
	bad_data_buffer(bi, &d, (u64)data, 0xfffffe00u, "a 4 GiB buffer");

	/* 4. A head index beyond the queue. */
	r = outcome(&d, 200);
	CHECK(r == 'r', "a head index of 200 in a queue of %u: %c", VQ_SIZE, r);
	gprintf("virtio_hostile: head out of range -> needs reset\n");
	rng_still_works(bi, "a head index out of range");
	blk_plain_read(&d, "a head index out of range");
}
