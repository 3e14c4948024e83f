/* SPDX-License-Identifier: MIT */
#ifndef MERAK_CONTROL_VMCONFIG_H
#define MERAK_CONTROL_VMCONFIG_H

/*
 * Cloud Hypervisor's request bodies (vmm/src/api/openapi/cloud-hypervisor.yaml)
 * into struct vm_config and back. Pure: no files are opened, no device is
 * made; errors come back in a struct err as one line naming the field path
 * and why ("memory.hugepages: merak supports only false").
 *
 * Every property of VmConfig and of the objects under it has a row in a
 * table in vmconfig.c: honoured, accepted as a hint (checked, no effect), or
 * accepted only at its default (absent, null, the schema's default, an empty
 * list; anything else is "not supported by merak"). A property no row names
 * is refused. docs/api.md carries the table (vmconfig_describe prints it).
 *
 * Errors: -EINVAL for a body refused (HTTP 400), -EEXIST for an id or a disk
 * path already in the configuration (409), -ENOSPC for a device over merak's
 * limit, -ENOENT for an id no device has (404), -ENOMEM.
 */
#include <json-c/json.h>

#include "util/err.h"
#include "vm/config.h"

#define VMCONFIG_MAX_BODY  65536 /* bytes of JSON */
#define VMCONFIG_MAX_DEPTH 8	 /* nesting of objects and arrays; VmConfig needs 6 */

/*
 * vm.create's VmConfig. cfg starts from the schema's defaults, not the
 * command line's (serial Null, console Tty, rng on /dev/urandom, 1 vCPU,
 * 512 MiB), then takes the body. The rules across fields are checked
 * (vm_config_check) and ids assigned (vm_config_finalize). cfg's strings are
 * its own, for vm_config_free; on failure cfg is left empty (zeroed).
 * Process options (api_socket, seccomp, log_file) are the command line's
 * business and stay at their defaults.
 */
int vmconfig_parse(const char *json, size_t len, struct vm_config *cfg, struct err *e);

/*
 * The bodies of vm.add-disk (DiskConfig), vm.add-net (NetConfig),
 * vm.add-vsock (VsockConfig) and vm.remove-device (VmRemoveDevice). The
 * device is checked alone here; vmconfig_add_* checks it against a
 * configuration. Free a parsed device that was not added with
 * vmconfig_*_free.
 */
int vmconfig_parse_disk(const char *json, size_t len, struct disk_config *d, struct err *e);
int vmconfig_parse_net(const char *json, size_t len, struct net_config *n, struct err *e);
int vmconfig_parse_vsock(const char *json, size_t len, struct vsock_config *v, struct err *e);
int vmconfig_parse_remove(const char *json, size_t len, char id[VM_ID_MAX], struct err *e);

/*
 * The tap fds that came with vm.add-net (SCM_RIGHTS), in order. merak's
 * virtio-net has one queue pair, so it takes at most NET_MAX_FDS; more is
 * -EINVAL and none is taken. On success n owns them (vmconfig_net_free or,
 * once added, the configuration closes them); on failure the caller still
 * does. A "fds" array in the JSON body is ignored, as Cloud Hypervisor does:
 * numbers from another process mean nothing here.
 */
int vmconfig_net_set_fds(struct net_config *n, const int *fds, unsigned count, struct err *e);

/*
 * Adds a parsed device to cfg: an id is made up if it has none ("_disk3",
 * from cfg's counter, unique across all devices); -EEXIST if its id is
 * taken or (a disk) its path is already a disk; -ENOSPC past MAX_DISKS,
 * MAX_NETS or one vsock; -EINVAL if cfg's rules break (a vsock socket that
 * is the API socket, a net with neither tap nor fd). On success the device's
 * strings and fds move into cfg and *d is zeroed; the new device is the last
 * of cfg->disks / cfg->nets, or cfg->vsock. On failure *d is untouched.
 */
int vmconfig_add_disk(struct vm_config *cfg, struct disk_config *d, struct err *e);
int vmconfig_add_net(struct vm_config *cfg, struct net_config *n, struct err *e);
int vmconfig_add_vsock(struct vm_config *cfg, struct vsock_config *v, struct err *e);

/* Drops the disk, net or vsock device with this id (-ENOENT if none), freeing what it owns. */
int vmconfig_remove(struct vm_config *cfg, const char *id, struct err *e);

void vmconfig_disk_free(struct disk_config *d);
void vmconfig_net_free(struct net_config *n); /* closes its fds */
void vmconfig_vsock_free(struct vsock_config *v);

/*
 * The configuration in VmConfig's shape, for vm.info: every field merak
 * holds, the ids, and the defaults as Cloud Hypervisor shows them where
 * they describe what merak does. vmconfig_parse takes it back to an equal
 * configuration. NULL only when out of memory.
 */
json_object *vmconfig_json(const struct vm_config *cfg);

/*
 * The field policy, row by row, for the documentation: path ("disks[].id"),
 * policy ("honoured", "hint", "default only"), the accepted default where
 * there is one (or NULL), and a note.
 */
typedef void (*vmconfig_describe_fn)(void *ctx, const char *path, const char *policy,
				     const char *dflt, const char *note);
void vmconfig_describe(vmconfig_describe_fn fn, void *ctx);

/*
 * vm.resize's VmResize against cfg: merak has no CPU or memory hotplug, so
 * only what the VM already has passes (0); a change is -ENOTSUP, a malformed
 * body -EINVAL, no configuration -ENOENT.
 */
int vmconfig_check_resize(const char *json, size_t len, const struct vm_config *cfg,
			  struct err *e);

#endif
