/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VIRTIO_VSOCK_H
#define MERAK_VIRTIO_VSOCK_H

/*
 * virtio-vsock (device ID 19), stream sockets, host side on unix sockets as
 * Firecracker and Cloud Hypervisor do it: a host program connects to PATH
 * and writes "CONNECT <port>\n"; once the guest accepts, merak answers
 * "OK <host port>\n" and relays bytes. A guest connecting to host port P is
 * relayed to the unix socket PATH_P. Credit-based flow control (§5.10.6.3):
 * merak never reads more from a host socket than the guest has room for,
 * and advertises a fixed receive buffer per connection.
 */
#include "vm/config.h"
#include "virtio/virtio_pci.h"

#define VSOCK_HOST_CID	   2
#define VSOCK_HDR_LEN	   44
#define VSOCK_TYPE_STREAM  1
#define VSOCK_OP_REQUEST   1
#define VSOCK_OP_RESPONSE  2
#define VSOCK_OP_RST	   3
#define VSOCK_OP_SHUTDOWN  4
#define VSOCK_OP_RW	   5
#define VSOCK_OP_CREDIT_UPDATE	6
#define VSOCK_OP_CREDIT_REQUEST 7
#define VSOCK_SHUTDOWN_RCV  1
#define VSOCK_SHUTDOWN_SEND 2
#define VSOCK_BUF_ALLOC	   (256 * 1024)	/* merak's receive buffer per connection */

struct virtio_vsock;
int virtio_vsock_create(const struct virtio_pci_env *env, const struct vsock_config *cfg,
			struct virtio_vsock **out, struct err *e);
struct virtio_dev *virtio_vsock_dev(struct virtio_vsock *v);
void virtio_vsock_destroy(struct virtio_vsock *v);
extern const struct virtio_device_type virtio_vsock_type;
/* Open connections (tests). */
unsigned virtio_vsock_nconns(struct virtio_vsock *v);

#endif
