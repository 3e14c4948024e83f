/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VIRTIO_CONSOLE_H
#define MERAK_VIRTIO_CONSOLE_H

/*
 * virtio-console (device ID 3), port 0 only (no MULTIPORT): the guest's hvc0.
 * Output goes to a console_io back-end; terminal input is buffered until the
 * guest posts receive buffers. EMERG_WRITE is offered (a byte written to
 * config offset 8 is printed at once).
 */
#include <linux/virtio_console.h>	/* feature bits */

#include "devices/console_io.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_CONSOLE_INBUF	     4096

struct virtio_console;
/* The device owns io from here on (closed by virtio_console_destroy, even on failure). */
int virtio_console_create(const struct virtio_pci_env *env, struct console_io *io,
			  struct virtio_console **out, struct err *e);
struct virtio_dev *virtio_console_dev(struct virtio_console *c);
/* Queues input as the terminal reader does (tests). */
void virtio_console_input(struct virtio_console *c, const u8 *buf, size_t len);
void virtio_console_destroy(struct virtio_console *c);
extern const struct virtio_device_type virtio_console_type;

#endif
