/* SPDX-License-Identifier: MIT */
#ifndef MERAK_CONTROL_VMM_H
#define MERAK_CONTROL_VMM_H

/*
 * The VMM: at most one VM configuration and, once booted, its VM, driven by
 * the command line or the API as Cloud Hypervisor's is. The main thread runs
 * vmm_run; it alone builds and destroys VMs (vm_create blocks signals for
 * the threads it starts), so the API thread hands it boot, shutdown, reboot
 * and delete and waits for the answer. Everything else the API does runs in
 * the API thread under vmm_lock.
 *
 * Lifecycle as Cloud Hypervisor's: vm.create stores a configuration (state
 * Created), vm.boot builds and starts the VM (Running), vm.shutdown stops it
 * and keeps the configuration (Created again; boot starts it anew),
 * vm.delete drops both, vmm.shutdown ends the process (exit 0). A guest that
 * powers off, resets or crashes, or a stop signal, ends the process with the
 * VM's exit status, as a VM started from the command line always did.
 */
#include "util/err.h"
#include "vm/config.h"
#include "vm/vm.h"

struct vmm;

/*
 * cfg (heap-allocated, from the command line) becomes the VMM's: its VMM
 * options (seccomp) apply from now on, and with a payload (kernel or
 * firmware) it is the VM's configuration, booted by vmm_run; without one the
 * VMM starts empty and cfg is freed. With api_mode the VMM may build a VM
 * again later, so the main thread is not confined by its system-call filter
 * (every thread it starts is).
 */
int vmm_new(struct vm_config *cfg, bool api_mode, struct vmm **out, struct err *e);
/*
 * The main thread's loop: boots the configuration given to vmm_new (if
 * any), serves the API's requests, and returns merak's exit status when the
 * VMM ends; a negative errno (e says why) when the command line's VM could
 * not be started. vmm_exit_reason then says why it ended.
 */
int vmm_run(struct vmm *m, struct err *e);
/*
 * Before vmm_run: a VM the caller built (the API's unit tests make one
 * without KVM) stands for the configuration's, running; vmm_run does not
 * boot another and destroys it like its own.
 */
void vmm_attach_vm(struct vmm *m, struct vm *vm);
enum vm_stop_cause vmm_exit_reason(struct vmm *m, const char **reason);
/* --event-monitor: the VMM's from now on (closed by vmm_free); emits vmm starting. */
struct event_monitor;
void vmm_set_event_monitor(struct vmm *m, struct event_monitor *events);
/* One lifecycle event (event_monitor.h), from any thread; nothing without a monitor. */
void vmm_event(struct vmm *m, const char *source, const char *event, const char *key1,
	       const char *value1, const char *key2, const char *value2);
void vmm_free(struct vmm *m);

/*
 * For the API thread. Each returns 0 or a negative errno with e set; the API
 * maps -ENOENT (no VM created) to 404, -EINVAL to 400, -EEXIST to 409 and
 * the rest (wrong state, a failed boot) to 500, as Cloud Hypervisor does.
 */
int vmm_create_vm(struct vmm *m, struct vm_config *cfg, struct err *e); /* takes cfg on success */
int vmm_boot(struct vmm *m, struct err *e);
int vmm_shutdown_vm(struct vmm *m, struct err *e);
int vmm_reboot(struct vmm *m, struct err *e);
int vmm_delete(struct vmm *m, struct err *e);
/*
 * vm.add-disk, vm.add-net, vm.add-vsock: dev (a parsed struct disk_config,
 * net_config or vsock_config) joins the configuration, its contents moved
 * there on success; a running VM also gets it hot-plugged (the main thread
 * does it: devices open files and start threads). *slot is its slot on bus
 * 0, or -1 when no VM runs (the guest finds it at boot). id names it.
 * vm.remove-device: the device leaves the configuration, and a running VM
 * once its guest has ejected it (bounded wait: -ETIMEDOUT leaves it in place).
 */
enum vmm_device_kind { VMM_DEV_DISK, VMM_DEV_NET, VMM_DEV_VSOCK };
int vmm_add_device(struct vmm *m, enum vmm_device_kind kind, void *dev, char id[VM_ID_MAX],
		   int *slot, struct err *e);
int vmm_remove_device(struct vmm *m, const char *id, struct err *e);
/* How long vm.remove-device waits for the guest's eject: inside Kata's 5 s deadline. */
#define VMM_EJECT_TIMEOUT_MS 4000

/*
 * vmm.shutdown (status 0), or the API thread could not go on: the VM (if
 * any) stops and vmm_run returns status, reason saying why.
 */
void vmm_request_exit(struct vmm *m, int status, const char *reason);

/*
 * The configuration and VM as they stand, held still while locked: either
 * may be NULL. The VM's own calls (pause, info, counters) are made under the
 * lock; the main thread takes it only to swap them.
 */
void vmm_lock(struct vmm *m);
void vmm_unlock(struct vmm *m);
struct vm_config *vmm_config(struct vmm *m);
struct vm *vmm_vm(struct vmm *m);
int vmm_seccomp_mode(struct vmm *m);

#endif
