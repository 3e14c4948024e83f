/* SPDX-License-Identifier: MIT */
#ifndef MERAK_VM_VM_H
#define MERAK_VM_VM_H

/*
 * One virtual machine: everything it owns lives here (memory map, buses,
 * vCPU threads, devices, lifecycle). Board assembly for merak's PC-like x86
 * board is in board.c; a TD's in td_build.c (its exits in td_exits.c), PCI and virtio
 * devices in board_pci.c.
 */
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>

#include "arch/x86/acpi.h"
#include "arch/x86/e820.h"
#include "arch/x86/ioapic.h"
#include "boot/boot.h"
#include "hv/hv.h"
#include "util/err.h"
#include "vm/bus.h"
#include "vm/config.h"
#include "vm/irq.h"
#include "vm/mem.h"

struct vm;
struct serial;
struct acpi_pm;
struct tdx_vm;
struct pci_bus;
struct board_pci;
struct console_io;
struct i8042;
struct debug_exit;
struct cmos;
struct fw_cfg;

#define VM_EXIT_KINDS (VM_EXIT_UNKNOWN + 1)

struct vcpu {
	struct vm *vm;
	struct hv_vcpu hv;
	u32 index;
	pthread_t thread;
	bool thread_started;
	/* Exits by kind and the time merak spent handling them (relaxed atomics). */
	u64 exit_count[VM_EXIT_KINDS];
	u64 exit_ns[VM_EXIT_KINDS];
};

/* A named group of counters (a device, the TD layer) that vm.counters reports. */
struct vm_counter_source {
	const char *name;
	void (*collect)(void *ctx, counter_emit_fn emit, void *arg);
	void *ctx;
};
#define VM_MAX_COUNTER_SOURCES 32

/* Lifecycle: the first stop request wins and decides merak's exit status. */
enum vm_state { VM_CREATED, VM_RUNNING, VM_PAUSED, VM_STOPPING };

/* Why a VM stopped, for the caller's report (the reason's text says more). */
enum vm_stop_cause {
	VM_STOP_NONE,
	VM_STOP_POWER_OFF,	/* ACPI S5 */
	VM_STOP_RESET,		/* the guest asked for a reset: merak exits instead */
	VM_STOP_GUEST_EXIT,	/* a test guest's debug-exit port */
	VM_STOP_GUEST_CRASH,	/* triple fault, emulation failure, entry failure, TD fatal error */
	VM_STOP_SIGNAL,
	VM_STOP_REQUEST,	/* the API, the console's escape */
	VM_STOP_VMM_ERROR,	/* merak could not go on */
};

/*
 * Services the board offers devices without exposing KVM: an ioeventfd is an
 * optimisation, so a device falls back to exits when it fails.
 */
struct vm_services {
	int (*ioeventfd)(struct vm *vm, int fd, u64 addr, u32 len, bool pio, bool deassign);
};

struct vm {
	const struct vm_config *cfg;
	struct hv_vm hv;
	struct guest_mem mem;
	struct bus pio;
	struct bus mmio;

	/* Interrupts: lines go to the in-kernel irqchip or to merak's IOAPIC. */
	struct irq_ops irq_ops;
	struct ioapic ioapic;	/* used with the split irqchip */
	struct vm_services services;

	u32 ncpus;
	struct vcpu vcpus[MAX_VCPUS];

	struct e820_entry e820[E820_MAX];
	unsigned n_e820;
	u64 rsdp_gpa;
	struct boot_entry boot;
	u64 mmio64_base, mmio64_size;	/* 64-bit PCI window above RAM */

	/* Devices of the board. */
	struct serial *serial;
	struct acpi_pm *pm;
	struct pci_bus *pci;
	struct board_pci *pci_devices;	/* board_pci.c's list of functions */
	struct tdx_vm *tdx;
	struct console_io *stdio;	/* the terminal, shared by serial and virtio-console */

	/* Lifecycle. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum vm_state state;
	int exit_status;
	enum vm_stop_cause stop_cause;
	char exit_reason[256];
	int kick_signal;	/* real-time signal used to kick vCPUs out of KVM_RUN */
	u32 paused_vcpus;
	int stop_fd;		/* eventfd: the main thread wakes when the VM must stop */
	u64 term_deadline_ns;	/* SIGTERM pressed the power button: the grace ends here */

	/* GSI routing as last given to KVM (split IOAPIC pins and MSI routes). */
	pthread_mutex_t routes_lock;
	struct kvm_irq_routing_entry *routes;
	u32 n_routes, cap_routes;
	/*
	 * GSIs of MSI routes (irqfds): IOAPIC_PINS up to VM_MSI_GSI_END, so
	 * they never meet the IOAPIC's; under routes_lock.
	 */
#define VM_MSI_GSI_END 1024
	u64 msi_gsis[VM_MSI_GSI_END / 64];

	pthread_mutex_t counters_lock;
	struct vm_counter_source counters[VM_MAX_COUNTER_SOURCES];
	unsigned n_counters;

	/* Devices owned by board.c. */
	struct i8042 *i8042;
	struct debug_exit *debug_exit;
	struct cmos *cmos;
	struct console_io *serial_io;
	struct fw_cfg *fw_cfg;	/* firmware boots only (board_fwcfg.c) */
};

/*
 * vm_create blocks SIGINT, SIGTERM and SIGHUP (and the vCPU kick signal) in
 * the calling thread before it starts any thread, so that every thread merak
 * creates inherits the mask and only the main thread's signalfd
 * (vm_signalfd) takes them. Call it from the main thread.
 */
int vm_create(const struct vm_config *cfg, struct vm **out, struct err *e);
void vm_block_signals(void);
int vm_signalfd(struct err *e);
/*
 * Running a VM, from the main thread: vm_start starts the vCPUs (and, with
 * confine_main, applies the main thread's system-call filter: a VMM that
 * will never build another VM). The caller then waits on vm->stop_fd (and
 * its signalfd, passing stop signals to vm_signal, with vm_poll_timeout_ms
 * as the timeout) until vm_stopping; vm_finish joins the vCPUs and returns
 * merak's exit status.
 */
int vm_start(struct vm *vm, bool confine_main, struct err *e);
void vm_signal(struct vm *vm, int signo);
int vm_poll_timeout_ms(struct vm *vm);
int vm_finish(struct vm *vm);
void vm_destroy(struct vm *vm);

/* Asks the VM to stop with this status; the first request wins. Thread-safe. */
void vm_request_stop(struct vm *vm, enum vm_stop_cause cause, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The state as of now, and (once stopped) why and with which exit status. */
enum vm_state vm_get_state(struct vm *vm);
/* Bytes of guest RAM (what vm.info calls memory_actual_size). */
u64 vm_ram_size(const struct vm *vm);
enum vm_stop_cause vm_stop_cause(struct vm *vm, int *status, const char **reason);

/* A counter walk: each group in turn (vCPUs first), then its counters. */
struct vm_counter_visitor {
	void (*group)(void *arg, const char *name);
	void (*counter)(void *arg, const char *key, u64 value);
};
void vm_walk_counters(struct vm *vm, const struct vm_counter_visitor *v, void *arg);
bool vm_stopping(struct vm *vm);
int vm_pause(struct vm *vm, struct err *e);
int vm_resume(struct vm *vm, struct err *e);

/* An interrupt line of the board's interrupt model for a GSI. */
struct irq_line vm_irq_line(struct vm *vm, u32 gsi);
/* Registers a counter group for vm.counters; -ENOSPC when full. Thread-safe. */
int vm_add_counters(struct vm *vm, const char *name,
		    void (*collect)(void *ctx, counter_emit_fn emit, void *arg), void *ctx);
/* Drops the group registered with ctx (a device removed at run time). */
void vm_remove_counters(struct vm *vm, void *ctx);
const char *vm_exit_kind_name(enum vm_exit_kind kind);
/* ACPI power button: the guest sees a power-button press (clean shutdown request). */
void vm_power_button(struct vm *vm);

/* Sets (or with masked, removes) the MSI route of a GSI and commits the table. */
int vm_set_msi_route(struct vm *vm, u32 gsi, u64 addr, u32 data, bool masked, struct err *e);

/*
 * Steps of board assembly that the plain and the TD paths share (board.c).
 * vm_setup_interrupts: in-kernel irqchip + PIT, or split irqchip + merak's
 * IOAPIC, per cfg->irqchip (a TD is always split). vm_setup_devices: serial,
 * ACPI PM, i8042, debug-exit port, then board_pci_setup. vm_create_vcpus:
 * KVM_CREATE_VCPU and KVM_SET_CPUID2 for every vCPU, the table built by
 * x86_cpuid_build from `base` (NULL: KVM_GET_SUPPORTED_CPUID).
 */
int vm_setup_interrupts(struct vm *vm, struct err *e);
int vm_setup_devices(struct vm *vm, struct err *e);
int vm_create_vcpus(struct vm *vm, const struct kvm_cpuid2 *base, struct err *e);

/* A plain VM's whole board, from KVM_CREATE_VM to the boot vCPU's registers (board.c). */
int board_build(struct vm *vm, struct err *e);
/* The vCPUs and the legacy devices board.c made (plain VMs and TDs alike). */
void board_destroy(struct vm *vm);
/* Board pieces, each in its own file (a TD's are in td.h: td_build.c, td_exits.c). */
int board_pci_setup(struct vm *vm, struct err *e);	/* board_pci.c */
void board_pci_destroy(struct vm *vm);
/*
 * A virtio device of a type board_pci.c's table lists, the index-th of what
 * vm->cfg describes for it, in the first free slot with BARs from the free
 * space of the PCI windows; start also starts its worker. Removal frees its
 * slot, BARs and counters. They run at boot and teardown; while vCPUs run,
 * only through vm_hotplug_add/remove below, which pause them around the
 * change (bus handlers run outside the bus lock).
 */
struct virtio_device_type;
struct virtio_dev;
int board_pci_add(struct vm *vm, const struct virtio_device_type *type, unsigned index, bool start,
		  struct virtio_dev **out, struct err *e);
void board_pci_remove(struct vm *vm, struct virtio_dev *vd);
/* Each virtio function: its type's name ("disk"), its device id, its slot on bus 0. */
typedef void board_pci_visit_fn(void *arg, const char *type, const char *id, unsigned slot);
void board_pci_walk(struct vm *vm, board_pci_visit_fn *visit, void *arg);
/* The device type the table lists under name ("disk", "net", ...), NULL if none. */
const struct virtio_device_type *board_pci_type(const char *name);
/*
 * PCI hotplug on bus 0 through ACPI (devices/pci_hotplug.h, the DSDT's
 * slots), for plain VMs and TDs alike.
 *
 * vm_hotplug_add: the index-th device of type as vm->cfg describes it (the
 * caller adds it to the configuration first) in the first free slot, started,
 * with the vCPUs paused around it; then the guest is told (UP bit, GPE) and
 * the slot returned. A VM not started yet just gets the device, which its
 * guest finds at boot; a paused one is told when it resumes.
 *
 * vm_hotplug_remove: asks the guest to give up slot's device (DOWN bit, GPE)
 * and waits up to timeout_ms for its _EJ0, then takes the device away with
 * the vCPUs paused (slot, BARs, MSI-X, worker, counters). Errors: -EINVAL not
 * a hotplug slot; -ENOENT no device there; -EALREADY another call is waiting
 * on that slot; -EBUSY the VM is paused (its guest cannot eject);
 * -ETIMEDOUT the guest did not eject in time: the device stays and the
 * request stays outstanding, so a later eject is honoured and a retry (which
 * notifies the guest again) finishes at once if the guest ejected meanwhile;
 * -ESHUTDOWN the VM is stopping. A VM not started yet loses the device at once.
 *
 * Both are made from a thread other than the vCPUs' (the eject arrives on a
 * vCPU thread), serialised with vm_pause/vm_resume by the caller, and need a
 * thread allowed to open files, start threads and assign ioeventfds (the
 * control thread's system-call filter allows none of these). Calls for
 * different slots may overlap (a removal does not hold the board while it
 * waits); none may still run when the VM is destroyed (a stop ends a wait at
 * once).
 */
int vm_hotplug_add(struct vm *vm, const struct virtio_device_type *type, unsigned index,
		   unsigned *slot_out, struct err *e);
int vm_hotplug_remove(struct vm *vm, unsigned slot, unsigned timeout_ms, struct err *e);
/* The slots the DSDT offers for hotplug (bit n: slot n); 0 without PCI. */
u32 board_pci_hotplug_slots(const struct vm *vm);
/*
 * fw_cfg for OVMF/TDVF (board_fwcfg.c): CPU counts, etc/e820, the ACPI tables
 * and loader script, and with with_kernel the --kernel/--initramfs/--cmdline
 * items; registers the ports. After vm_setup_devices (the ACPI tables
 * describe the devices).
 */
int board_fwcfg_setup(struct vm *vm, bool with_kernel, struct err *e);
/* The ACPI description of this VM's board (board.c), for acpi_build and fw_cfg. */
struct acpi_config vm_acpi_config(const struct vm *vm);
void board_fwcfg_destroy(struct vm *vm);

#endif
