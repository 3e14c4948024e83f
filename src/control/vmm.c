// SPDX-License-Identifier: MIT
/*
 * The VMM's lifecycle (see vmm.h): the main thread's loop, and the calls the
 * API thread makes into it.
 */
#include "control/vmm.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "control/event_monitor.h"
#include "control/vmconfig.h"
#include "util/log.h"

/* What the API thread asks of the main thread. */
enum vmm_call {
	CALL_NONE,
	CALL_BOOT,
	CALL_SHUTDOWN,
	CALL_REBOOT,
	CALL_DELETE,
	CALL_ADD_DEVICE,
	CALL_REMOVE_DEVICE,
};

struct vmm {
	pthread_mutex_t lock;	/* cfg, vm, the call slot, exiting */
	pthread_cond_t cond;
	struct vm_config *cfg;
	struct vm *vm;
	bool api_mode;
	bool boot_at_start;	/* the command line gave the VM (not the API, racing vmm_run) */
	bool booting;		/* until that first boot is over: cfg is being read unlocked */
	int seccomp;
	int wake_fd;		/* eventfd: a call or an exit request waits */

	enum vmm_call call;	/* the one call in flight (the API thread makes one at a time) */
	bool call_done;
	int call_result;
	struct err call_err;
	enum vmm_device_kind call_kind;	/* add: what call_dev is */
	void *call_dev;
	char call_id[VM_ID_MAX];	/* add: the new device's id; remove: which */
	int call_slot;

	bool exit_requested;	/* vmm.shutdown, or the API thread failed */
	int exit_status;
	char exit_request_reason[256];
	bool exiting;		/* vmm_run is returning: calls fail at once */
	enum vm_stop_cause exit_cause;
	char exit_reason[256];
	struct event_monitor *events;
};

void vmm_set_event_monitor(struct vmm *m, struct event_monitor *events)
{
	m->events = events;
	event_monitor_emit(events, "vmm", "starting", NULL, NULL, NULL, NULL);
}

void vmm_event(struct vmm *m, const char *source, const char *event, const char *key1,
	       const char *value1, const char *key2, const char *value2)
{
	event_monitor_emit(m->events, source, event, key1, value1, key2, value2);
}

static void vm_event(struct vmm *m, const char *event)
{
	event_monitor_emit(m->events, "vm", event, NULL, NULL, NULL, NULL);
}

static void config_drop(struct vm_config *cfg)
{
	if (cfg) {
		vm_config_free(cfg);
		free(cfg);
	}
}

int vmm_new(struct vm_config *cfg, bool api_mode, struct vmm **out, struct err *e)
{
	struct vmm *m = calloc(1, sizeof(*m));

	if (!m) {
		config_drop(cfg);
		return errf(e, -ENOMEM, "out of memory");
	}
	m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->wake_fd < 0) {
		int r = errf_sys(e, -errno, "eventfd");

		free(m);
		config_drop(cfg);
		return r;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	/* Before the API thread or any VM thread exists: they inherit the mask. */
	vm_block_signals();
	m->api_mode = api_mode;
	m->seccomp = cfg->seccomp;
	if (cfg->kernel || cfg->firmware) {
		m->cfg = cfg;
		m->boot_at_start = m->booting = true;
	} else {
		vm_config_free(cfg);
		free(cfg);
	}
	*out = m;
	return 0;
}

void vmm_free(struct vmm *m)
{
	if (!m)
		return;
	config_drop(m->cfg);
	event_monitor_close(m->events);
	close(m->wake_fd);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m);
}

void vmm_lock(struct vmm *m)
{
	pthread_mutex_lock(&m->lock);
}

void vmm_unlock(struct vmm *m)
{
	pthread_mutex_unlock(&m->lock);
}

struct vm_config *vmm_config(struct vmm *m)
{
	return m->cfg;
}

struct vm *vmm_vm(struct vmm *m)
{
	return m->vm;
}

int vmm_seccomp_mode(struct vmm *m)
{
	return m->seccomp;
}

void vmm_attach_vm(struct vmm *m, struct vm *vm)
{
	pthread_mutex_lock(&m->lock);
	m->vm = vm;
	pthread_mutex_unlock(&m->lock);
}

enum vm_stop_cause vmm_exit_reason(struct vmm *m, const char **reason)
{
	*reason = m->exit_reason;
	return m->exit_cause;
}

/* Input files are checked before anything else, so a typo is named first. */
static int check_inputs(const struct vm_config *cfg, struct err *e)
{
	const struct {
		const char *what, *path;
	} files[] = {
		{"kernel", cfg->kernel},
		{"initramfs", cfg->initramfs},
		{"firmware", cfg->firmware},
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i].path && access(files[i].path, R_OK) < 0)
			return errf_sys(e, -errno, "%s '%s': cannot read", files[i].what,
					files[i].path);
	for (unsigned i = 0; i < cfg->n_disks; i++) {
		struct stat st;

		if (access(cfg->disks[i].path, cfg->disks[i].readonly ? R_OK : R_OK | W_OK) < 0)
			return errf_sys(e, -errno, "disk '%s': cannot open%s", cfg->disks[i].path,
					cfg->disks[i].readonly ? "" : " for writing");
		/* The same image twice (by any name) would otherwise read as "in use". */
		if (stat(cfg->disks[i].path, &st) < 0)
			continue;
		for (unsigned j = 0; j < i; j++) {
			struct stat o;

			if (stat(cfg->disks[j].path, &o) == 0 && o.st_dev == st.st_dev &&
			    o.st_ino == st.st_ino)
				return errf(e, -EINVAL, "disk '%s' is given twice (also as '%s')",
					    cfg->disks[i].path, cfg->disks[j].path);
		}
	}
	return 0;
}

static void print_group(void *arg, const char *name)
{
	*(const char **)arg = name;
}

static void print_counter(void *arg, const char *key, u64 value)
{
	log_debug("  %s.%s = %llu", *(const char **)arg, key, (unsigned long long)value);
}

/* Main thread: builds and starts the VM of m->cfg. */
static int boot(struct vmm *m, struct err *e)
{
	struct vm *vm = NULL;
	int r;

	vm_event(m, "booting");
	r = check_inputs(m->cfg, e);
	if (r == 0)
		r = vm_create(m->cfg, &vm, e);
	if (r == 0)
		r = vm_start(vm, !m->api_mode, e);
	if (r < 0) {
		vm_destroy(vm);
		return r;
	}
	pthread_mutex_lock(&m->lock);
	m->vm = vm;
	pthread_mutex_unlock(&m->lock);
	vm_event(m, "booted");
	return 0;
}

/* Main thread: joins a stopping VM's vCPUs and frees it; returns its exit status. */
static int reap(struct vmm *m, enum vm_stop_cause *cause)
{
	struct vm *vm = m->vm;
	const char *reason;
	int status = vm_finish(vm);

	if (log_get_level() >= LOG_DEBUG) {
		static const struct vm_counter_visitor v = {print_group, print_counter};
		const char *group = "";

		log_debug("counters:");
		vm_walk_counters(vm, &v, &group);
	}
	*cause = vm_stop_cause(vm, NULL, &reason);
	snprintf(m->exit_reason, sizeof(m->exit_reason), "%s", reason);
	m->exit_cause = *cause;
	pthread_mutex_lock(&m->lock);
	m->vm = NULL;
	pthread_mutex_unlock(&m->lock);
	vm_destroy(vm);
	vm_event(m, "shutdown");
	return status;
}

/* Main thread: the API's stop (shutdown, reboot, delete, vmm.shutdown). */
static void stop_for_api(struct vmm *m, const char *why)
{
	enum vm_stop_cause cause;

	if (!m->vm)
		return;
	vm_request_stop(m->vm, VM_STOP_REQUEST, 0, "%s through the API", why);
	reap(m, &cause);
}

/*
 * A boot (or a hot-add) that fails is the server's failure to the API (500), whatever errno
 * said why: -ENOENT there is a missing file, not a missing VM.
 */
static int api_status_of_boot(int r)
{
	return r == -ENOENT || r == -EINVAL || r == -EEXIST ? -EIO : r;
}

static const char *const kind_type[] = {
	[VMM_DEV_DISK] = "disk",
	[VMM_DEV_NET] = "net",
	[VMM_DEV_VSOCK] = "vsock",
};

/* Under the lock: dev joins the configuration; its index there and its id come back. */
static int config_add(struct vmm *m, enum vmm_device_kind kind, void *dev, unsigned *index,
		      char id[VM_ID_MAX], struct err *e)
{
	struct vm_config *c = m->cfg;
	int r;

	switch (kind) {
	case VMM_DEV_DISK:
		r = vmconfig_add_disk(c, dev, e);
		*index = c->n_disks - 1;
		snprintf(id, VM_ID_MAX, "%s", c->disks[*index].id);
		break;
	case VMM_DEV_NET:
		/*
		 * A default MAC follows the device's index, which a removal
		 * frees for the next: an added NIC gets one of its own, out of
		 * the range the defaults use.
		 */
		if (!((struct net_config *)dev)->has_mac) {
			struct net_config *n = dev;
			static const u8 base[5] = {0x52, 0x54, 0x00, 0x12, 0x35};

			memcpy(n->mac, base, sizeof(base));
			n->mac[5] = (u8)c->next_dev_id;
			n->has_mac = true;
		}
		r = vmconfig_add_net(c, dev, e);
		*index = c->n_nets - 1;
		snprintf(id, VM_ID_MAX, "%s", c->nets[*index].id);
		break;
	default:
		r = vmconfig_add_vsock(c, dev, e);
		*index = 0;
		snprintf(id, VM_ID_MAX, "%s", c->vsock.id);
		break;
	}
	return r;
}

static void bdf_event(struct vmm *m, const char *event, const char *id, unsigned slot)
{
	char bdf[16];

	snprintf(bdf, sizeof(bdf), "0000:00:%02x.0", slot & 0x1f);
	event_monitor_emit(m->events, "vm", event, "id", id, "bdf", bdf);
}

/* Main thread: a device for the running VM, first in the configuration, then on the bus. */
static int hotplug_add(struct vmm *m, struct err *e)
{
	const struct virtio_device_type *type = board_pci_type(kind_type[m->call_kind]);
	unsigned index, slot;
	int r;

	if (!m->vm)
		return errf(e, -EBUSY, "the VM is not running");
	pthread_mutex_lock(&m->lock);
	r = config_add(m, m->call_kind, m->call_dev, &index, m->call_id, e);
	pthread_mutex_unlock(&m->lock);
	if (r < 0)
		return r;
	r = api_status_of_boot(vm_hotplug_add(m->vm, type, index, &slot, e));
	if (r < 0) {
		struct err ignored;

		pthread_mutex_lock(&m->lock);
		vmconfig_remove(m->cfg, m->call_id, &ignored);
		pthread_mutex_unlock(&m->lock);
		return r;
	}
	m->call_slot = (int)slot;
	bdf_event(m, "device-added", m->call_id, slot);
	return 0;
}

struct find_slot {
	const char *id;
	int slot;
	bool removable;	/* a disk, net or vsock device: what the API adds, it may remove */
};

static void find_slot_visit(void *arg, const char *type, const char *id, unsigned slot)
{
	struct find_slot *f = arg;

	if (strcmp(id, f->id))
		return;
	f->slot = (int)slot;
	f->removable = !strcmp(type, "disk") || !strcmp(type, "net") || !strcmp(type, "vsock");
}

/* Main thread: the guest ejects the device, then it leaves bus and configuration. */
static int hotplug_remove(struct vmm *m, struct err *e)
{
	struct find_slot f = {.id = m->call_id, .slot = -1};
	int r;

	if (!m->vm)
		return errf(e, -EBUSY, "the VM is not running");
	board_pci_walk(m->vm, find_slot_visit, &f);
	if (f.slot >= 0 && !f.removable)
		return errf(e, -EINVAL, "device '%s' cannot be removed (only disks, nets and vsock)",
			    m->call_id);
	if (f.slot < 0) {
		pthread_mutex_lock(&m->lock);
		r = vm_config_id_used(m->cfg, m->call_id, NULL, 0)
			    ? errf(e, -EINVAL, "device '%s' cannot be removed (not a PCI device)",
				   m->call_id)
			    : errf(e, -ENOENT, "no device with id '%s'", m->call_id);
		pthread_mutex_unlock(&m->lock);
		return r;
	}
	r = vm_hotplug_remove(m->vm, (unsigned)f.slot, VMM_EJECT_TIMEOUT_MS, e);
	if (r < 0)
		return r;
	bdf_event(m, "device-removed", m->call_id, (unsigned)f.slot);
	pthread_mutex_lock(&m->lock);
	r = vmconfig_remove(m->cfg, m->call_id, e);
	pthread_mutex_unlock(&m->lock);
	return r;
}

static void serve_call(struct vmm *m)
{
	enum vmm_call call;
	struct err e;
	int r = 0;

	err_clear(&e);
	pthread_mutex_lock(&m->lock);
	call = m->call;
	pthread_mutex_unlock(&m->lock);
	switch (call) {
	case CALL_NONE:
		return;
	case CALL_BOOT:
		if (m->vm)
			r = errf(&e, -EBUSY, "the VM is already booted");
		else if (!m->cfg)
			r = errf(&e, -ENOENT, "no VM is created");
		else
			r = api_status_of_boot(boot(m, &e));
		break;
	case CALL_SHUTDOWN:
		/* Cloud Hypervisor's VmNotRunning (500), created or not. */
		if (!m->vm)
			r = errf(&e, -EBUSY, "the VM is not running");
		else
			stop_for_api(m, "shut down");
		break;
	case CALL_REBOOT:
		if (!m->vm) {
			r = errf(&e, -EBUSY, "the VM is not running");
			break;
		}
		vm_event(m, "rebooting");
		stop_for_api(m, "rebooted");
		r = api_status_of_boot(boot(m, &e));
		if (r == 0)
			vm_event(m, "rebooted");
		break;
	case CALL_ADD_DEVICE:
		r = hotplug_add(m, &e);
		break;
	case CALL_REMOVE_DEVICE:
		r = hotplug_remove(m, &e);
		break;
	case CALL_DELETE:
		stop_for_api(m, "deleted");
		pthread_mutex_lock(&m->lock);
		config_drop(m->cfg);
		m->cfg = NULL;
		pthread_mutex_unlock(&m->lock);
		vm_event(m, "deleted");
		break;
	}
	pthread_mutex_lock(&m->lock);
	m->call_result = r;
	m->call_err = e;
	m->call_done = true;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static void wake(struct vmm *m)
{
	u64 one = 1;

	if (write(m->wake_fd, &one, sizeof(one)) < 0) {
		/* Single increments cannot overflow the eventfd. */
	}
}

/* API thread: hands a call to the main thread and waits for its answer. */
static int call_main(struct vmm *m, enum vmm_call call, struct err *e)
{
	int r;

	pthread_mutex_lock(&m->lock);
	if (m->exiting) {
		pthread_mutex_unlock(&m->lock);
		return errf(e, -ESHUTDOWN, "the VMM is shutting down");
	}
	m->call = call;
	m->call_done = false;
	wake(m);
	while (!m->call_done)
		pthread_cond_wait(&m->cond, &m->lock);
	m->call = CALL_NONE;
	r = m->call_result;
	*e = m->call_err;
	pthread_mutex_unlock(&m->lock);
	return r;
}

int vmm_create_vm(struct vmm *m, struct vm_config *cfg, struct err *e)
{
	int r = 0;

	pthread_mutex_lock(&m->lock);
	if (m->cfg) {
		r = errf(e, -EBUSY, "a VM is already created");
	} else {
		cfg->seccomp = m->seccomp;
		m->cfg = cfg;
	}
	pthread_mutex_unlock(&m->lock);
	if (r == 0)
		vm_event(m, "created");
	return r;
}

int vmm_boot(struct vmm *m, struct err *e)
{
	return call_main(m, CALL_BOOT, e);
}

int vmm_shutdown_vm(struct vmm *m, struct err *e)
{
	return call_main(m, CALL_SHUTDOWN, e);
}

int vmm_reboot(struct vmm *m, struct err *e)
{
	return call_main(m, CALL_REBOOT, e);
}

int vmm_delete(struct vmm *m, struct err *e)
{
	return call_main(m, CALL_DELETE, e);
}

/* Takes the lock if a VM is created (0); else -ENOENT, Cloud Hypervisor's 404. */
static int lock_created(struct vmm *m, struct err *e)
{
	pthread_mutex_lock(&m->lock);
	if (m->cfg)
		return 0;
	pthread_mutex_unlock(&m->lock);
	return errf(e, -ENOENT, "no VM is created");
}

int vmm_add_device(struct vmm *m, enum vmm_device_kind kind, void *dev, char id[VM_ID_MAX],
		   int *slot, struct err *e)
{
	unsigned index;
	int r = lock_created(m, e);

	if (r < 0)
		return r;
	if (!m->vm && !m->booting) {
		/* Cold: the device joins the configuration; the guest finds it at boot. */
		r = config_add(m, kind, dev, &index, id, e);
		pthread_mutex_unlock(&m->lock);
		*slot = -1;
		return r;
	}
	pthread_mutex_unlock(&m->lock);
	m->call_kind = kind;
	m->call_dev = dev;
	r = call_main(m, CALL_ADD_DEVICE, e);
	if (r == 0) {
		snprintf(id, VM_ID_MAX, "%s", m->call_id);
		*slot = m->call_slot;
	}
	return r;
}

int vmm_remove_device(struct vmm *m, const char *id, struct err *e)
{
	int r = lock_created(m, e);

	if (r < 0)
		return r;
	if (!m->vm && !m->booting) {
		r = vmconfig_remove(m->cfg, id, e);
		pthread_mutex_unlock(&m->lock);
		return r;
	}
	pthread_mutex_unlock(&m->lock);
	snprintf(m->call_id, sizeof(m->call_id), "%s", id);
	return call_main(m, CALL_REMOVE_DEVICE, e);
}

void vmm_request_exit(struct vmm *m, int status, const char *reason)
{
	pthread_mutex_lock(&m->lock);
	if (!m->exit_requested) {
		m->exit_requested = true;
		m->exit_status = status;
		snprintf(m->exit_request_reason, sizeof(m->exit_request_reason), "%s", reason);
	}
	pthread_mutex_unlock(&m->lock);
	wake(m);
}

/* Calls that come in while vmm_run returns are answered, not left waiting. */
static void refuse_calls(struct vmm *m)
{
	pthread_mutex_lock(&m->lock);
	m->exiting = true;
	if (m->call != CALL_NONE && !m->call_done) {
		errf(&m->call_err, -ESHUTDOWN, "the VMM is shutting down");
		m->call_result = -ESHUTDOWN;
		m->call_done = true;
		pthread_cond_broadcast(&m->cond);
	}
	pthread_mutex_unlock(&m->lock);
}

int vmm_run(struct vmm *m, struct err *e)
{
	int sfd = vm_signalfd(e), status = 0;

	if (sfd < 0) {
		refuse_calls(m);
		return sfd;
	}
	if (m->boot_at_start && !m->vm) {
		int r = boot(m, e);

		pthread_mutex_lock(&m->lock);
		m->booting = false;
		pthread_mutex_unlock(&m->lock);
		if (r < 0) {
			close(sfd);
			refuse_calls(m);
			return r;
		}
	}
	for (;;) {
		struct pollfd pfd[3] = {
			{.fd = m->wake_fd, .events = POLLIN},
			{.fd = sfd, .events = POLLIN},
			{.fd = m->vm ? m->vm->stop_fd : -1, .events = POLLIN},
		};
		struct signalfd_siginfo si;
		enum vm_stop_cause cause;
		bool exit_requested;
		u64 n;

		if (poll(pfd, 3, m->vm ? vm_poll_timeout_ms(m->vm) : -1) < 0 && errno != EINTR) {
			if (!m->vm) {
				status = errf_sys(e, -errno, "poll");
				break;
			}
			/* Without a stop request the vCPUs would run on and the join would hang. */
			vm_request_stop(m->vm, VM_STOP_VMM_ERROR, 1, "waiting for the VM: %s",
					strerror(errno));
		}
		if ((pfd[1].revents & POLLIN) && read(sfd, &si, sizeof(si)) == sizeof(si)) {
			if (m->vm) {
				vm_signal(m->vm, (int)si.ssi_signo);
			} else {
				status = 128 + (int)si.ssi_signo;
				m->exit_cause = VM_STOP_SIGNAL;
				snprintf(m->exit_reason, sizeof(m->exit_reason),
					 "stopped by signal %u (%s)", si.ssi_signo,
					 strsignal((int)si.ssi_signo));
				break;
			}
		}
		/* A VM that stopped on its own (or by a signal) ends the VMM with its status. */
		if (m->vm && vm_stopping(m->vm)) {
			status = reap(m, &cause);
			break;
		}
		if (!(pfd[0].revents & POLLIN))
			continue;
		if (read(m->wake_fd, &n, sizeof(n)) < 0) {
			/* Non-blocking: a wake already taken. */
		}
		pthread_mutex_lock(&m->lock);
		exit_requested = m->exit_requested;
		pthread_mutex_unlock(&m->lock);
		if (exit_requested) {
			refuse_calls(m);
			stop_for_api(m, "shut down with the VMM");
			m->exit_cause = m->exit_status ? VM_STOP_VMM_ERROR : VM_STOP_REQUEST;
			snprintf(m->exit_reason, sizeof(m->exit_reason), "%s",
				 m->exit_request_reason);
			status = m->exit_status;
			break;
		}
		serve_call(m);
	}
	refuse_calls(m);
	close(sfd);
	event_monitor_emit(m->events, "vmm", "shutdown", NULL, NULL, NULL, NULL);
	return status;
}
