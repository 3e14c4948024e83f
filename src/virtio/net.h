/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VIRTIO_NET_H
#define MERAK_VIRTIO_NET_H

/*
 * virtio-net (device ID 1) on a tap device. Receive uses mergeable receive
 * buffers (VIRTIO_NET_F_MRG_RXBUF): a packet spreads over as many posted
 * buffers as it needs. When the guest has posted too few, the packet stays
 * in merak and the tap is not read until the guest posts more: nothing is
 * dropped for want of buffers. Checksum and TSO offloads are offered only
 * when the tap accepts TUNSETOFFLOAD, and the tap is told what the guest
 * negotiated.
 */
#include <linux/virtio_net.h>	/* feature bits */

#include "vm/config.h"
#include "virtio/virtio_pci.h"

#define VIRTIO_NET_HDR_LEN	((unsigned)sizeof(struct virtio_net_hdr_v1))
#define VIRTIO_NET_MAX_PACKET	(65536 + VIRTIO_NET_HDR_LEN)

struct virtio_net;

/* Opens (creating if missing) tap `name` with IFF_VNET_HDR; *offloads says if TUNSETOFFLOAD works. */
int tap_open(const char *name, int *fd, bool *offloads, struct err *e);

int virtio_net_create(const struct virtio_pci_env *env, const struct net_config *cfg,
		      unsigned index, struct virtio_net **out, struct err *e);
/*
 * The same on an already open packet fd (a tap, or a SOCK_SEQPACKET socket in
 * tests) that carries a 12-byte virtio-net header in front of every frame.
 * The device owns fd afterwards.
 */
int virtio_net_create_fd(const struct virtio_pci_env *env, int fd, bool is_tap, bool offloads,
			 const u8 mac[6], const char *name, struct virtio_net **out,
			 struct err *e);
struct virtio_dev *virtio_net_dev(struct virtio_net *n);
void virtio_net_destroy(struct virtio_net *n);
extern const struct virtio_device_type virtio_net_type;

struct virtio_net_stats {
	u64 rx_packets, rx_bytes, tx_packets, tx_bytes, tx_dropped, rx_dropped, rx_stalls;
};
void virtio_net_stats(struct virtio_net *n, struct virtio_net_stats *s);

#endif
