/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VIRTIO_RNG_H
#define MERAK_VIRTIO_RNG_H

/* virtio-rng (device ID 4): fills the driver's buffers from getrandom(2). */
#include "virtio/virtio_pci.h"

struct virtio_rng;
int virtio_rng_create(const struct virtio_pci_env *env, struct virtio_rng **out, struct err *e);
struct virtio_dev *virtio_rng_dev(struct virtio_rng *r);
void virtio_rng_destroy(struct virtio_rng *r);
extern const struct virtio_device_type virtio_rng_type;

#endif
