// SPDX-License-Identifier: MIT
/*
 * Assembly of merak's PC-like x86 board for ordinary VMs, and the steps a TD
 * shares with it: interrupt model, legacy devices, vCPU creation.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/cpuid.h"
#include "arch/x86/layout.h"
#include "arch/x86/regs.h"
#include "devices/acpi_pm.h"
#include "devices/cmos.h"
#include "devices/console_io.h"
#include "devices/debug_exit.h"
#include "devices/i8042.h"
#include "devices/serial.h"
#include "util/file.h"
#include "util/log.h"
#include "vm/td.h"
#include "vm/vm.h"

#define KERNEL_MAX_SIZE	   (512ULL << 20)
#define INITRD_MAX_SIZE	   (2ULL << 30)

/* ---- interrupts ---------------------------------------------------------- */

static void kernel_irq_set_level(void *ctx, u32 gsi, bool level)
{
	struct vm *vm = ctx;

	if (hv_irq_line(&vm->hv, gsi, level) < 0)
		log_debug("KVM_IRQ_LINE gsi %u failed", gsi);
}

static void vm_send_msi(void *ctx, u64 addr, u32 data)
{
	struct vm *vm = ctx;

	if (hv_signal_msi(&vm->hv, addr, data) < 0)
		log_debug("KVM_SIGNAL_MSI 0x%llx/0x%x failed", (unsigned long long)addr, data);
}

static void split_irq_set_level(void *ctx, u32 gsi, bool level)
{
	struct vm *vm = ctx;

	if (gsi < IOAPIC_PINS)
		ioapic_set_irq(&vm->ioapic, gsi, level);
}

/*
 * MSI-X vectors raise their interrupts through irqfds: the device worker
 * writes an eventfd and KVM delivers the routed message (an IRQ work item in
 * the kernel, no ioctl and no KVM fd on the worker). Measured against
 * KVM_SIGNAL_MSI in bench/irq. Works alike with both irqchips and for TDs.
 */
static void msi_gsi_release(struct vm *vm, u32 gsi)
{
	pthread_mutex_lock(&vm->routes_lock);
	vm->msi_gsis[gsi / 64] &= ~(1ULL << (gsi % 64));
	pthread_mutex_unlock(&vm->routes_lock);
}

static int msi_route_open(void *ctx, struct msi_route *r, struct err *e)
{
	struct vm *vm = ctx;
	u32 gsi;
	int fd, ret;

	pthread_mutex_lock(&vm->routes_lock);
	for (gsi = IOAPIC_PINS; gsi < VM_MSI_GSI_END; gsi++)
		if (!(vm->msi_gsis[gsi / 64] >> (gsi % 64) & 1))
			break;
	if (gsi == VM_MSI_GSI_END) {
		pthread_mutex_unlock(&vm->routes_lock);
		return errf(e, -ENOSPC, "MSI routes: all %u GSIs in use", VM_MSI_GSI_END - IOAPIC_PINS);
	}
	vm->msi_gsis[gsi / 64] |= 1ULL << (gsi % 64);
	pthread_mutex_unlock(&vm->routes_lock);
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ret = fd < 0 ? errf_sys(e, -errno, "MSI route: eventfd") : hv_irqfd(&vm->hv, fd, gsi, false, e);
	if (ret < 0) {
		if (fd >= 0)
			close(fd);
		msi_gsi_release(vm, gsi);
		return ret;
	}
	*r = (struct msi_route){.fd = fd, .gsi = gsi};
	return 0;
}

static int msi_route_set(void *ctx, struct msi_route *r, bool on, u64 addr, u32 data,
			 struct err *e)
{
	int ret;

	if (r->fd < 0)
		return errf(e, -EBADF, "MSI route: not open");
	ret = vm_set_msi_route(ctx, r->gsi, addr, data, !on, e);
	if (ret < 0)
		return ret;
	r->on = on;
	r->addr = addr;
	r->data = data;
	return 0;
}

static void msi_route_raise(void *ctx, struct msi_route *r)
{
	u64 one = 1;

	/* EAGAIN: the counter is full of raises KVM has not consumed; one is enough. */
	if (r->on && write(r->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_debug("MSI route gsi %u: eventfd write failed", r->gsi);
}

static void msi_route_close(void *ctx, struct msi_route *r)
{
	struct vm *vm = ctx;
	struct err e;

	if (r->fd < 0)
		return;
	if (hv_irqfd(&vm->hv, r->fd, r->gsi, true, &e) < 0)
		log_warn("MSI route: %s", e.msg);
	if (r->on && vm_set_msi_route(vm, r->gsi, 0, 0, true, &e) < 0)
		log_warn("MSI route: %s", e.msg);
	close(r->fd);
	msi_gsi_release(vm, r->gsi);
	*r = (struct msi_route){.fd = -1};
}

static const struct irq_ops kernel_irq_ops = {kernel_irq_set_level, msi_route_open, msi_route_set,
					      msi_route_raise, msi_route_close};
static const struct irq_ops split_irq_ops = {split_irq_set_level, msi_route_open, msi_route_set,
					     msi_route_raise, msi_route_close};

struct irq_line vm_irq_line(struct vm *vm, u32 gsi)
{
	return (struct irq_line){.ops = &vm->irq_ops, .ctx = vm, .gsi = gsi};
}

static struct kvm_irq_routing_entry *route_slot(struct vm *vm, u32 gsi, u32 type, u32 chip,
						bool create)
{
	for (u32 i = 0; i < vm->n_routes; i++) {
		struct kvm_irq_routing_entry *r = &vm->routes[i];
		if (r->gsi == gsi && r->type == type &&
		    (type != KVM_IRQ_ROUTING_IRQCHIP || r->u.irqchip.irqchip == chip))
			return r;
	}
	if (!create)
		return NULL;
	if (vm->n_routes == vm->cap_routes) {
		u32 cap = vm->cap_routes ? vm->cap_routes * 2 : 64;
		struct kvm_irq_routing_entry *n = realloc(vm->routes, cap * sizeof(*n));
		if (!n)
			return NULL;
		vm->routes = n;
		vm->cap_routes = cap;
	}
	memset(&vm->routes[vm->n_routes], 0, sizeof(vm->routes[0]));
	vm->routes[vm->n_routes].gsi = gsi;
	vm->routes[vm->n_routes].type = type;
	return &vm->routes[vm->n_routes++];
}

/* Called with routes_lock held. */
static int routes_commit(struct vm *vm, struct err *e)
{
	size_t sz = sizeof(struct kvm_irq_routing) + vm->n_routes * sizeof(*vm->routes);
	struct kvm_irq_routing *t = calloc(1, sz);
	int r;

	if (!t)
		return errf(e, -ENOMEM, "GSI routing: out of memory");
	t->nr = vm->n_routes;
	memcpy(t->entries, vm->routes, vm->n_routes * sizeof(*vm->routes));
	r = hv_set_gsi_routing(&vm->hv, t, e);
	free(t);
	return r;
}

int vm_set_msi_route(struct vm *vm, u32 gsi, u64 addr, u32 data, bool masked, struct err *e)
{
	struct kvm_irq_routing_entry *r, saved;
	u32 n_before, idx;
	bool existed;
	int ret;

	pthread_mutex_lock(&vm->routes_lock);
	n_before = vm->n_routes;
	r = route_slot(vm, gsi, KVM_IRQ_ROUTING_MSI, 0, !masked);
	if (!r) {
		pthread_mutex_unlock(&vm->routes_lock);
		/* Masking a vector that has no route: nothing to tell KVM. */
		return masked ? 0 : errf(e, -ENOMEM, "GSI routing: out of memory");
	}
	existed = vm->n_routes == n_before;
	saved = *r;
	idx = (u32)(r - vm->routes);
	if (masked) {
		*r = vm->routes[--vm->n_routes];
	} else {
		r->u.msi.address_lo = (u32)addr;
		r->u.msi.address_hi = (u32)(addr >> 32);
		r->u.msi.data = data;
	}
	ret = routes_commit(vm, e);
	if (ret < 0) {
		/* KVM still has the old table; so does merak's copy. */
		if (masked) {
			vm->routes[vm->n_routes++] = vm->routes[idx];
			vm->routes[idx] = saved;
		} else if (existed) {
			*r = saved;
		} else {
			vm->n_routes--;
		}
	}
	pthread_mutex_unlock(&vm->routes_lock);
	return ret;
}

/*
 * With the split irqchip KVM learns which vectors need an EOI exit from the
 * MSI routes of the IOAPIC's GSIs, so every RTE change is mirrored there.
 */
static void ioapic_route_changed(void *ctx, unsigned pin, u64 addr, u32 data, bool masked)
{
	struct vm *vm = ctx;
	struct err e;

	if (vm_set_msi_route(vm, pin, addr, data, masked, &e) < 0)
		log_warn("IOAPIC pin %u: %s", pin, e.msg);
}

/*
 * In-kernel irqchip: KVM's default routing is replaced as soon as an MSI
 * route is added, so install the PC routing explicitly, with ISA IRQ 0 on
 * IOAPIC pin 2 as the MADT's interrupt source override says.
 */
static int kernel_default_routes(struct vm *vm, struct err *e)
{
	for (u32 gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		struct kvm_irq_routing_entry *r;

		if (gsi < 16) {
			r = route_slot(vm, gsi, KVM_IRQ_ROUTING_IRQCHIP,
				       gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				       true);
			if (!r)
				return errf(e, -ENOMEM, "GSI routing: out of memory");
			r->u.irqchip.irqchip =
				gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			r->u.irqchip.pin = gsi % 8;
		}
		if (gsi == 2)
			continue;
		r = route_slot(vm, gsi, KVM_IRQ_ROUTING_IRQCHIP, KVM_IRQCHIP_IOAPIC, true);
		if (!r)
			return errf(e, -ENOMEM, "GSI routing: out of memory");
		r->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		r->u.irqchip.pin = gsi == 0 ? 2 : gsi;
	}
	return routes_commit(vm, e);
}

int vm_setup_interrupts(struct vm *vm, struct err *e)
{
	bool split = vm->cfg->irqchip == IRQCHIP_SPLIT || vm->cfg->tdx.enabled;
	int r;

	r = hv_create_irqchip(&vm->hv, split, IOAPIC_PINS, e);
	if (r < 0)
		return r;
	if (split) {
		vm->irq_ops = split_irq_ops;
		ioapic_init(&vm->ioapic, vm_send_msi, ioapic_route_changed, vm);
		r = bus_register(&vm->mmio, LAYOUT_IOAPIC_BASE, LAYOUT_IOAPIC_SIZE,
				 &ioapic_mmio_ops, &vm->ioapic, "ioapic", e);
		if (r < 0)
			return r;
		/* x2APIC IDs above 255 and broadcast semantics as on hardware. */
		if (hv_check_extension(&vm->hv, true, KVM_CAP_X2APIC_API))
			hv_enable_cap(&vm->hv, KVM_CAP_X2APIC_API,
				      KVM_X2APIC_API_USE_32BIT_IDS |
					      KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK,
				      0, NULL);
		return 0;
	}
	vm->irq_ops = kernel_irq_ops;
	pthread_mutex_lock(&vm->routes_lock);
	r = kernel_default_routes(vm, e);
	pthread_mutex_unlock(&vm->routes_lock);
	if (r < 0)
		return r;
	/* The PIT gives Linux a calibration source and the legacy timer. */
	return hv_create_pit(&vm->hv, e);
}

/* ---- services for devices ------------------------------------------------ */

static int svc_ioeventfd(struct vm *vm, int fd, u64 addr, u32 len, bool pio, bool deassign)
{
	return hv_ioeventfd(&vm->hv, fd, addr, len, pio, deassign, NULL);
}

/* ---- lifecycle callbacks of board devices -------------------------------- */

static void on_sleep(void *ctx, unsigned slp_typ)
{
	struct vm *vm = ctx;

	if (slp_typ == ACPI_S5_SLP_TYP)
		vm_request_stop(vm, VM_STOP_POWER_OFF, 0, "guest powered off");
	else
		log_warn("guest asked for sleep state with SLP_TYP %u; ignored", slp_typ);
}

static void on_reset(void *ctx)
{
	struct vm *vm = ctx;

	/* merak does not rebuild a VM in place: a reset request ends it, logged. */
	vm_request_stop(vm, VM_STOP_RESET, 0, "guest requested a reset; merak exits instead of rebooting");
}

static void on_debug_exit(void *ctx, u32 value)
{
	struct vm *vm = ctx;

	vm_request_stop(vm, VM_STOP_GUEST_EXIT, (int)(value & 0xff), "guest wrote 0x%x to the debug-exit port",
			value);
}

static void on_console_quit(void *ctx)
{
	vm_request_stop(ctx, VM_STOP_REQUEST, 0, "quit from the console (Ctrl-A x)");
}

void vm_power_button(struct vm *vm)
{
	if (vm->pm)
		acpi_pm_power_button(vm->pm);
}

/*
 * The board's emulated hardware, in one list: COM1 on its console back-end,
 * the CMOS RTC/NVRAM, the ACPI PM block (SCI, power button, PM timer, reset
 * register), the i8042's reset line, the debug-exit port for test guests,
 * then PCI with its devices. Each is X_create(..., &out), undone by
 * board_destroy's X_destroy.
 */
int vm_setup_devices(struct vm *vm, struct err *e)
{
	const struct vm_config *cfg = vm->cfg;
	struct irq_line com1 = vm_irq_line(vm, IRQ_COM1), sci = vm_irq_line(vm, IRQ_SCI);
	static const struct acpi_pm_ops pm_ops = {.sleep = on_sleep, .reset = on_reset};
	u64 low = layout_low_ram_size(cfg->mem_size);
	int r = 0;

	vm->services.ioeventfd = svc_ioeventfd;
	if (cfg->serial.mode != CHARDEV_OFF) {
		r = console_io_open(&cfg->serial, "serial output file", &vm->serial_io, e);
		if (r < 0)
			return r;
		console_io_set_sandbox(vm->serial_io, cfg->seccomp);
		console_io_set_escape(vm->serial_io, on_console_quit, vm);
		r = serial_create(&vm->pio, PORT_COM1, &com1, vm->serial_io, &vm->serial, e);
	}
	if (r == 0)
		r = cmos_create(&vm->pio, low, cfg->mem_size - low, vm->ncpus, NULL, &vm->cmos, e);
	if (r == 0)
		r = acpi_pm_create(&vm->pio, &sci, &pm_ops, vm, &vm->pm, e);
	if (r == 0)
		r = i8042_create(&vm->pio, on_reset, vm, &vm->i8042, e);
	if (r == 0)
		r = debug_exit_create(&vm->pio, on_debug_exit, vm, &vm->debug_exit, e);
	if (r == 0)
		r = board_pci_setup(vm, e);
	return r;
}

/* ---- vCPUs ----------------------------------------------------------------- */

int vm_create_vcpus(struct vm *vm, const struct kvm_cpuid2 *base, struct err *e)
{
	struct kvm_cpuid2 *supported = NULL;
	int r = 0;

	if (!base) {
		r = hv_get_supported_cpuid(&vm->hv, &supported, e);
		if (r < 0)
			return r;
		base = supported;
	}
	for (u32 i = 0; i < vm->ncpus; i++) {
		struct x86_cpuid_config cc = {.vcpu_index = i, .ncpus = vm->ncpus};
		struct kvm_cpuid2 *table = NULL;
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->index = i;
		r = hv_create_vcpu(&vm->hv, i, &v->hv, e);
		if (r < 0)
			break;
		r = x86_cpuid_build(base, &cc, &table, e);
		if (r < 0)
			break;
		r = hv_vcpu_set_cpuid(&v->hv, table, e);
		free(table);
		if (r < 0)
			break;
	}
	free(supported);
	return r;
}

/* LINT0 as ExtINT and LINT1 as NMI, as a PC's firmware leaves the local APICs. */
static int setup_lapic_lints(struct vcpu *v, struct err *e)
{
	struct kvm_lapic_state lapic;
	u32 lvt0, lvt1;
	int r = hv_vcpu_get_lapic(&v->hv, &lapic, e);

	if (r < 0)
		return r;
	memcpy(&lvt0, &lapic.regs[0x350], 4);
	memcpy(&lvt1, &lapic.regs[0x360], 4);
	lvt0 = (lvt0 & ~0x700u) | (7u << 8);
	lvt1 = (lvt1 & ~0x700u) | (4u << 8);
	memcpy(&lapic.regs[0x350], &lvt0, 4);
	memcpy(&lapic.regs[0x360], &lvt1, 4);
	return hv_vcpu_set_lapic(&v->hv, &lapic, e);
}

static int setup_vcpu_state(struct vm *vm, struct err *e)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry entries[32];
	} msrs;
	struct kvm_fpu fpu = {.fcw = 0x37f, .mxcsr = 0x1f80};
	int r;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = x86_boot_msrs(msrs.entries, ARRAY_SIZE(msrs.entries));
	for (u32 i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		r = hv_vcpu_set_msrs(&v->hv, &msrs.hdr, e);
		if (r < 0)
			return r;
		r = hv_vcpu_set_fpu(&v->hv, &fpu, e);
		if (r < 0)
			return r;
		r = setup_lapic_lints(v, e);
		if (r < 0)
			return r;
	}
	/* The boot vCPU starts as the boot mode says; APs wait for INIT/SIPI. */
	{
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct vcpu *bsp = &vm->vcpus[0];

		memset(&regs, 0, sizeof(regs));
		r = hv_vcpu_get_sregs(&bsp->hv, &sregs, e);
		if (r < 0)
			return r;
		r = x86_setup_boot_regs(&vm->mem, &vm->boot, &regs, &sregs, e);
		if (r < 0)
			return r;
		r = hv_vcpu_set_sregs(&bsp->hv, &sregs, e);
		if (r < 0)
			return r;
		return hv_vcpu_set_regs(&bsp->hv, &regs, e);
	}
}

/* ---- memory and boot payload ---------------------------------------------- */

static int setup_ram(struct vm *vm, struct err *e)
{
	u64 size = vm->cfg->mem_size;
	u64 low = layout_low_ram_size(size);
	int r;

	r = guest_mem_add_anon(&vm->mem, 0, low, MEM_RAM, e);
	if (r < 0)
		return r;
	if (size > low) {
		r = guest_mem_add_anon(&vm->mem, LAYOUT_HIGH_RAM_START, size - low, MEM_RAM, e);
		if (r < 0)
			return r;
	}
	/* The 64-bit PCI window starts above RAM on a 1 GiB boundary. */
	vm->mmio64_base = ALIGN_UP(LAYOUT_HIGH_RAM_START + (size - low), GiB);
	vm->mmio64_size = 64 * GiB;
	return 0;
}

/* The firmware is read from its file straight into its flash window, with no copy on the heap. */
static int setup_firmware(struct vm *vm, struct err *e)
{
	const char *path = vm->cfg->firmware;
	size_t len;
	void *dst;
	u64 gpa;
	int fd, r;

	r = file_open_input(path, LAYOUT_FIRMWARE_MAX, "firmware", &fd, &len, e);
	if (r < 0)
		return r;
	r = boot_check_firmware(len, e);
	if (r < 0) {
		err_ctx(e, "firmware '%s'", path);
		goto out;
	}
	gpa = LAYOUT_FIRMWARE_TOP - len;
	r = guest_mem_add_anon(&vm->mem, gpa, len, MEM_FIRMWARE, e);
	if (r < 0)
		goto out;
	dst = guest_mem_span(&vm->mem, gpa, len, e);
	r = dst ? file_read_exact(fd, dst, len, "firmware", path, e) : -EFAULT;
	vm->boot.mode = BOOT_MODE_RESET;
	vm->boot.entry = 0xfffffff0ULL;
out:
	close(fd);
	return r;
}

struct acpi_config vm_acpi_config(const struct vm *vm)
{
	return (struct acpi_config){
		.ncpus = vm->ncpus,
		.pci = vm->pci != NULL,
		.pci_ecam_base = LAYOUT_PCI_ECAM_BASE,
		.pci_mmio32_base = LAYOUT_PCI_MMIO32_BASE,
		.pci_mmio32_size = LAYOUT_PCI_MMIO32_SIZE,
		.pci_mmio64_base = vm->mmio64_base,
		.pci_mmio64_size = vm->mmio64_size,
		.serial = vm->serial != NULL,
		.pci_hotplug_slots = board_pci_hotplug_slots(vm),
	};
}

/*
 * The kernel and the initramfs are read from their files straight into the
 * guest RAM the loader chose: no second copy of either on the heap.
 */
struct initrd_file {
	int fd;
	const char *path;
};

static int kernel_read(void *ctx, u64 off, void *dst, size_t len, struct err *e)
{
	const int *fd = ctx;

	return file_pread_exact(*fd, off, dst, len, e);
}

static int initrd_fill(void *ctx, struct guest_mem *gm, u64 gpa, size_t len, struct err *e)
{
	const struct initrd_file *f = ctx;
	void *dst = guest_mem_span(gm, gpa, len, e);

	if (!dst)
		return err_ctx(e, "initramfs '%s'", f->path);
	return file_read_exact(f->fd, dst, len, "initramfs", f->path, e);
}

static int setup_kernel(struct vm *vm, struct err *e)
{
	const struct vm_config *cfg = vm->cfg;
	struct initrd_file initrd = {.fd = -1, .path = cfg->initramfs};
	size_t kernel_len, initrd_len = 0;
	int kernel_fd;
	struct acpi_config acfg = vm_acpi_config(vm);
	struct boot_payload p;
	int r;

	r = e820_build(&vm->mem, vm->e820, E820_MAX, &vm->n_e820, e);
	if (r < 0)
		return r;
	r = acpi_build(&vm->mem, &acfg, &vm->rsdp_gpa, e);
	if (r < 0)
		return err_ctx(e, "ACPI tables");
	r = file_open_input(cfg->kernel, KERNEL_MAX_SIZE, "kernel", &kernel_fd, &kernel_len, e);
	if (r < 0)
		return r;
	if (cfg->initramfs) {
		r = file_open_input(cfg->initramfs, INITRD_MAX_SIZE, "initramfs", &initrd.fd,
				    &initrd_len, e);
		if (r < 0)
			goto out;
	}
	p = (struct boot_payload){
		.kernel_len = kernel_len,
		.kernel_read = kernel_read,
		.kernel_ctx = &kernel_fd,
		.initrd_fill = initrd_fill,
		.initrd_ctx = &initrd,
		.initrd_len = initrd_len,
		.cmdline = cfg->cmdline,
		.e820 = vm->e820,
		.n_e820 = vm->n_e820,
		.rsdp_gpa = vm->rsdp_gpa,
	};
	r = boot_load_kernel(&vm->mem, &p, &vm->boot, e);
	if (r < 0)
		err_ctx(e, "kernel '%s'", cfg->kernel);
out:
	close(kernel_fd);
	if (initrd.fd >= 0)
		close(initrd.fd);
	return r;
}

int board_build(struct vm *vm, struct err *e)
{
	int r;

	r = hv_create_vm(&vm->hv, 0, e);
	if (r < 0)
		return r;
	r = setup_ram(vm, e);
	if (r < 0)
		return r;
	if (vm->cfg->firmware) {
		r = setup_firmware(vm, e);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < vm->mem.n; i++) {
		const struct mem_region *m = &vm->mem.r[i];

		r = hv_set_memslot(&vm->hv, m->slot, m->gpa, m->size, m->hva, -1, 0, e);
		if (r < 0)
			return r;
	}
	/* Intel VMX needs these pages for real-mode emulation; they sit in the hole. */
	r = hv_set_tss_and_identity_map(&vm->hv, LAYOUT_TSS, LAYOUT_IDENTITY_MAP, e);
	if (r < 0)
		return r;
	r = vm_setup_interrupts(vm, e);
	if (r < 0)
		return r;
	r = vm_setup_devices(vm, e);
	if (r < 0)
		return r;
	if (vm->cfg->firmware) {
		/* OVMF learns the board and any --kernel through fw_cfg. */
		r = board_fwcfg_setup(vm, true, e);
		if (r < 0)
			return r;
	}
	r = vm_create_vcpus(vm, NULL, e);
	if (r < 0)
		return r;
	if (!vm->cfg->firmware) {
		r = setup_kernel(vm, e);
		if (r < 0)
			return r;
	}
	return setup_vcpu_state(vm, e);
}

void board_destroy(struct vm *vm)
{
	for (u32 i = 0; i < vm->ncpus; i++)
		if (vm->vcpus[i].hv.run)
			hv_destroy_vcpu(&vm->vcpus[i].hv);
	/* The terminal's reader feeds the UART: it stops before the UART goes. */
	console_io_close(vm->serial_io);
	serial_destroy(vm->serial);
	cmos_destroy(vm->cmos);
	acpi_pm_destroy(vm->pm);
	i8042_destroy(vm->i8042);
	debug_exit_destroy(vm->debug_exit);
}
