// SPDX-License-Identifier: MIT
#include "devices/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/layout.h"

#define STATUS_OBF	0x01
#define STATUS_SYS	0x04	/* self-test passed */
#define STATUS_CMD	0x08	/* last write was to the command port */

#define CMD_READ_CTR	0x20
#define CMD_WRITE_CTR	0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE	0xa8
#define CMD_AUX_TEST	0xa9
#define CMD_SELF_TEST	0xaa
#define CMD_KBD_TEST	0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE	0xae
#define CMD_READ_OUTP	0xd0
#define CMD_WRITE_OUTP	0xd1
#define CMD_PULSE_RESET 0xfe

struct i8042 {
	pthread_mutex_t lock;
	u8 status;
	u8 ctr;		/* controller configuration byte */
	u8 outp;	/* output port: bit 0 is the CPU reset line (active low) */
	u8 out_byte;
	u8 pending_cmd;	/* command waiting for its data byte, 0 if none */
	void (*reset)(void *ctx);
	void *ctx;
};

static void put_output(struct i8042 *k, u8 v)
{
	k->out_byte = v;
	k->status |= STATUS_OBF;
}

static void i8042_read(void *opaque, u64 off, void *data, u32 len)
{
	struct i8042 *k = opaque;
	u8 v;

	pthread_mutex_lock(&k->lock);
	if (off == 0) {
		v = k->out_byte;
		k->status &= (u8)~STATUS_OBF;
	} else {
		v = k->status;
	}
	pthread_mutex_unlock(&k->lock);
	memset(data, 0, len);
	*(u8 *)data = v;
}

static void i8042_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct i8042 *k = opaque;
	u8 v = *(const u8 *)data;
	bool do_reset = false;

	pthread_mutex_lock(&k->lock);
	if (off == 0) {
		k->status &= (u8)~STATUS_CMD;
		switch (k->pending_cmd) {
		case CMD_WRITE_CTR:
			k->ctr = v;
			break;
		case CMD_WRITE_OUTP:
			k->outp = v;
			do_reset = !(v & 1);
			break;
		default:
			/* Bytes for the (absent) keyboard are dropped. */
			break;
		}
		k->pending_cmd = 0;
	} else {
		k->status |= STATUS_CMD;
		k->pending_cmd = 0;
		switch (v) {
		case CMD_READ_CTR:
			put_output(k, k->ctr);
			break;
		case CMD_WRITE_CTR:
		case CMD_WRITE_OUTP:
			k->pending_cmd = v;
			break;
		case CMD_READ_OUTP:
			put_output(k, k->outp);
			break;
		case CMD_SELF_TEST:
			put_output(k, 0x55);
			break;
		case CMD_KBD_TEST:
		case CMD_AUX_TEST:
			put_output(k, 0x00);
			break;
		case CMD_KBD_DISABLE:
			k->ctr |= 0x10;
			break;
		case CMD_KBD_ENABLE:
			k->ctr &= (u8)~0x10;
			break;
		case CMD_AUX_DISABLE:
			k->ctr |= 0x20;
			break;
		case CMD_AUX_ENABLE:
			k->ctr &= (u8)~0x20;
			break;
		case CMD_PULSE_RESET:
			do_reset = true;
			break;
		default:
			break;
		}
	}
	pthread_mutex_unlock(&k->lock);
	if (do_reset)
		k->reset(k->ctx);
}

static const struct bus_ops i8042_data_ops = {i8042_read, i8042_write};

static void i8042_cmd_read(void *opaque, u64 off, void *data, u32 len)
{
	i8042_read(opaque, 4, data, len);
}

static void i8042_cmd_write(void *opaque, u64 off, const void *data, u32 len)
{
	i8042_write(opaque, 4, data, len);
}

static const struct bus_ops i8042_cmd_ops = {i8042_cmd_read, i8042_cmd_write};

int i8042_create(struct bus *pio, void (*reset)(void *ctx), void *ctx, struct i8042 **out,
		 struct err *e)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	int r;

	if (!k)
		return errf(e, -ENOMEM, "i8042: out of memory");
	pthread_mutex_init(&k->lock, NULL);
	k->status = STATUS_SYS;
	k->ctr = 0x30;	/* both ports disabled, no interrupts */
	k->outp = 0x01;
	k->reset = reset;
	k->ctx = ctx;
	r = bus_register(pio, PORT_I8042_DATA, 1, &i8042_data_ops, k, "i8042", e);
	if (!r)
		r = bus_register(pio, PORT_I8042_CMD, 1, &i8042_cmd_ops, k, "i8042", e);
	if (r < 0) {
		bus_unregister(pio, PORT_I8042_DATA, k);
		pthread_mutex_destroy(&k->lock);
		free(k);
		return r;
	}
	*out = k;
	return 0;
}

void i8042_destroy(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}
