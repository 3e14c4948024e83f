// SPDX-License-Identifier: MIT
/*
 * Building a TD on upstream KVM, in the order the kernel demands
 * (docs/tdx.md): refusals before anything exists, the firmware and payload
 * read, KVM_CREATE_VM(TDX) and its capabilities, the split irqchip and the
 * capabilities a TD needs, guest_memfd-backed private RAM, INIT_VM, devices
 * and vCPUs, INIT_VCPU with the TD HOB, the vCPUs' CPUID made to agree with
 * the TD's (KVM_TDX_GET_CPUID), INIT_MEM_REGION per firmware
 * section, FINALIZE, the quote service's client. One short step each.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/x86/cpuid.h"
#include "arch/x86/layout.h"
#include "hv/uapi/kvm_ext.h"
#include "tdx/caps.h"
#include "tdx/hob.h"
#include "tdx/mrtd.h"
#include "tdx/params.h"
#include "tdx/td_cpuid.h"
#include "tdx/tdshim.h"
#include "util/file.h"
#include "util/log.h"
#include "vm/td.h"

#define TD_KERNEL_MAX (512ULL << 20)

/* What the build reads and computes on the way; freed when it ends. */
struct td_inputs {
	/*
	 * The firmware image, read into the anonymous mapping that becomes its
	 * region's shared memory (no second copy); NULL once guest memory owns it.
	 */
	u8 *fw_map;
	size_t fw_len, fw_map_len;
	struct file_buf kernel;
	u8 *param;	/* td-shim PayloadParam: the command line */
	size_t param_len;
	struct td_ram_range ram[2];
	unsigned nram;
	struct kvm_cpuid2 *cpuid;	/* the vCPUs' base table (INIT_VM's view) */
	u8 *hob;
	size_t hob_len;
};

static int check_host(struct vm *vm, struct err *e)
{
	struct tdx_host_caps h = {
		.vm_types = hv_check_extension(&vm->hv, false, MERAK_KVM_CAP_VM_TYPES),
		.guest_memfd = hv_check_extension(&vm->hv, false, MERAK_KVM_CAP_GUEST_MEMFD),
		.user_memory2 = hv_check_extension(&vm->hv, false, MERAK_KVM_CAP_USER_MEMORY2),
		.memory_attributes =
			hv_check_extension(&vm->hv, false, MERAK_KVM_CAP_MEMORY_ATTRIBUTES),
	};

	return tdx_host_check(&h, e);
}

/*
 * One guest_memfd per region, bound at offset 0, and the whole region
 * private. adopt: NULL, or an anonymous mapping to take as its shared
 * memory; once taken, guest memory owns it and *adopt is set to NULL.
 */
static int add_private_region(struct vm *vm, u64 gpa, u64 size, enum mem_region_kind kind,
			      u8 **adopt, struct err *e)
{
	struct mem_region *m;
	int r, fd;

	if (adopt) {
		r = guest_mem_adopt(&vm->mem, gpa, size, *adopt, kind, e);
		if (r == 0)
			*adopt = NULL;
	} else {
		r = guest_mem_add_anon(&vm->mem, gpa, size, kind, e);
	}
	if (r < 0)
		return r;
	m = &vm->mem.r[vm->mem.n - 1];
	fd = hv_create_guest_memfd(&vm->hv, size, 0, e);
	if (fd < 0)
		return fd;
	m->gmem_fd = fd;
	m->gmem_off = 0;
	r = hv_set_memslot(&vm->hv, m->slot, gpa, size, m->hva, fd, 0, e);
	if (r < 0)
		return r;
	/* As QEMU does: all guest_memfd-backed memory starts private. */
	return hv_set_memory_private(&vm->hv, gpa, size, true, e);
}

/* Private RAM as the q35 layout splits it, then the firmware image as private memory. */
static int setup_memory(struct vm *vm, struct td_inputs *in, struct err *e)
{
	struct tdx_vm *t = vm->tdx;
	struct td_ram_range *ram = in->ram;
	unsigned *nram = &in->nram;
	struct td_ram_range perm[TD_PERM_MAX];
	unsigned nperm;
	u64 top;
	int r;

	r = td_ram_from_size(vm->cfg->mem_size, ram, nram, e);
	if (r == 0)
		r = td_perm_mem_outside_ram(ram, *nram, &t->fw, perm, &nperm, e);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < *nram; i++) {
		r = add_private_region(vm, ram[i].gpa, ram[i].size, MEM_RAM, NULL, e);
		if (r < 0)
			return err_ctx(e, "TD RAM");
	}
	top = ram[*nram - 1].gpa + ram[*nram - 1].size;
	/* td-shim's PermMem outside RAM: private memory the guest accepts (PAGE.AUG). */
	for (unsigned i = 0; i < nperm; i++) {
		r = add_private_region(vm, perm[i].gpa, perm[i].size, MEM_RAM, NULL, e);
		if (r < 0)
			return err_ctx(e, "TD PermMem at 0x%llx", (unsigned long long)perm[i].gpa);
		log_info("TD: PermMem [0x%llx, +0x%llx) lies outside RAM: backed on its own",
			 (unsigned long long)perm[i].gpa, (unsigned long long)perm[i].size);
		top = MAX(top, perm[i].gpa + perm[i].size);
	}
	vm->mmio64_base = ALIGN_UP(top, GiB);
	if (vm->mmio64_base < LAYOUT_HIGH_RAM_START)
		vm->mmio64_base = LAYOUT_HIGH_RAM_START;
	vm->mmio64_size = 64 * GiB;
	/* The firmware is RAM too: read-only memslots do not exist for TDs. */
	r = add_private_region(vm, t->fw.image_gpa, in->fw_len, MEM_FIRMWARE, &in->fw_map, e);
	if (r < 0)
		return err_ctx(e, "TD firmware region");
	return 0;
}

/* XCR0 | XSS the host's KVM reports, from CPUID leaf 0xD. */
static u64 host_xfam(const struct kvm_cpuid2 *c)
{
	u64 x = 0;

	for (u32 i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *en = &c->entries[i];

		if (en->function == 0xd && en->index == 0)
			x |= en->eax | (u64)en->edx << 32;
		if (en->function == 0xd && en->index == 1)
			x |= en->ecx | (u64)en->edx << 32;
	}
	return x;
}

static int init_vm(struct vm *vm, struct kvm_cpuid2 **base_out, struct err *e)
{
	struct tdx_vm *t = vm->tdx;
	struct kvm_cpuid2 *supported = NULL, *base = NULL, *vcpu0 = NULL;
	struct merak_kvm_tdx_init_vm *iv = NULL;
	struct x86_cpuid_config cc = {.vcpu_index = 0, .ncpus = vm->ncpus};
	u64 attrs, xfam, want_xfam;
	int r;

	r = td_attributes(&vm->cfg->tdx, t->caps->supported_attrs, &attrs, e);
	if (r < 0)
		return r;
	r = hv_get_supported_cpuid(&vm->hv, &supported, e);
	if (r < 0)
		return r;
	want_xfam = t->caps->supported_xfam & (host_xfam(supported) | TDX_XFAM_X87 | TDX_XFAM_SSE);
	r = td_xfam(want_xfam, t->caps->supported_xfam, &xfam, e);
	if (r < 0)
		goto out;
	r = td_vcpu_cpuid_base(supported, &base, e);
	if (r < 0)
		goto out;
	/* INIT_VM sees what vCPU 0's KVM_SET_CPUID2 will say, masked by the capabilities. */
	r = x86_cpuid_build(base, &cc, &vcpu0, e);
	if (r < 0)
		goto out;
	r = td_build_init_vm(&vm->cfg->tdx, attrs, xfam, vcpu0, t->caps, &iv, e);
	if (r < 0)
		goto out;
	r = hv_tdx_init_vm(&vm->hv, iv, e);
	if (r < 0)
		goto out;
	log_debug("TD: INIT_VM attributes 0x%llx xfam 0x%llx, %u CPUID entries",
		  (unsigned long long)attrs, (unsigned long long)xfam, iv->cpuid.nent);
	*base_out = base;
	base = NULL;
out:
	free(iv);
	free(vcpu0);
	free(base);
	free(supported);
	return r;
}

/* A page-aligned host buffer holding a region's content, as INIT_MEM_REGION needs. */
static int mem_region_source(const struct td_mem_region *m, const u8 **src, void **staged,
			     struct err *e)
{
	size_t len = m->nr_pages * PAGE_SIZE;
	void *p;

	*staged = NULL;
	if (m->src && IS_ALIGNED((uintptr_t)m->src, PAGE_SIZE) && m->src_len == len) {
		*src = m->src;
		return 0;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return errf_sys(e, -errno, "TD: staging buffer of %zu bytes", len);
	if (m->src && m->src_len)
		memcpy(p, m->src, m->src_len);
	*src = p;
	*staged = p;
	return 0;
}

static int add_sections(struct vm *vm, const struct td_section_inputs *in, struct err *e)
{
	struct tdx_vm *t = vm->tdx;
	const struct mem_region *fwr = &vm->mem.r[vm->mem.n - 1];
	struct td_mem_region regs[TDVF_MAX_SECTIONS];
	unsigned n;
	int r;

	/* The image bytes come from the firmware region's shared mapping. */
	r = td_mem_regions(&t->fw, fwr->hva, fwr->size, in, regs, &n, e);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < n; i++) {
		const struct td_mem_region *m = &regs[i];
		const struct mem_region *g = guest_mem_find(&vm->mem, m->gpa);
		const u8 *src = NULL;
		void *staged = NULL;

		if (!g || g->gmem_fd < 0 ||
		    !range_within(m->gpa - g->gpa, m->nr_pages * PAGE_SIZE, g->size))
			return errf(e, -ERANGE,
				    "firmware section %u (%s) at [0x%llx, +0x%llx) lies outside the "
				    "TD's memory (more --memory may be needed)",
				    m->section, tdvf_section_type_name(m->type),
				    (unsigned long long)m->gpa,
				    (unsigned long long)(m->nr_pages * PAGE_SIZE));
		r = mem_region_source(m, &src, &staged, e);
		if (r < 0)
			return r;
		r = hv_tdx_init_mem_region(&vm->vcpus[0].hv, src, m->gpa, m->nr_pages, m->measure,
					   e);
		if (staged)
			munmap(staged, m->nr_pages * PAGE_SIZE);
		if (r < 0)
			return err_ctx(e, "firmware section %u (%s)", m->section,
				       tdvf_section_type_name(m->type));
	}
	return 0;
}

/* td-shim's Payload and PayloadParam when the VMM supplies the kernel (--kernel). */
static int read_payload(struct vm *vm, struct file_buf *kernel, u8 **param, size_t *param_len,
			struct err *e)
{
	struct tdx_vm *t = vm->tdx;
	const struct tdvf_section *ps = tdvf_find(&t->fw, TDVF_SECTION_PAYLOAD);
	const struct tdvf_section *pp = tdvf_find(&t->fw, TDVF_SECTION_PAYLOAD_PARAM);
	int r;

	if (!ps || ps->raw_size)
		return 0;
	r = file_read_all(vm->cfg->kernel, TD_KERNEL_MAX, "kernel", kernel, e);
	if (r < 0)
		return r;
	r = td_shim_payload_check(kernel->data, kernel->len, ps, e);
	if (r < 0)
		return err_ctx(e, "kernel '%s'", vm->cfg->kernel);
	if (pp)
		return td_shim_param(vm->cfg->cmdline, pp, param, param_len, e);
	return 0;
}

/* Everything that can be refused is refused before any guest memory exists. */
static int td_prepare(struct vm *vm, struct err *e)
{
	struct tdx_vm *t;
	int r;

	r = td_check_config(vm->cfg, e);
	if (r == 0)
		r = check_host(vm, e);
	if (r < 0)
		return r;
	t = calloc(1, sizeof(*t));
	if (!t)
		return errf(e, -ENOMEM, "TD: out of memory");
	t->vm = vm;
	vm->tdx = t;
	vm_add_counters(vm, "tdx", td_collect_counters, t);
	/* Devices may be handed shared-alias addresses (bit GPAW-1 set). */
	vm->mem.alias_mask = 1ULL << (TD_GPAW - 1);
	return 0;
}

/* The image into an anonymous mapping that setup_memory makes the firmware region. */
static int read_firmware(const char *path, struct td_inputs *in, struct err *e)
{
	void *map;
	int fd, r;

	r = file_open_input(path, LAYOUT_FIRMWARE_MAX, "firmware", &fd, &in->fw_len, e);
	if (r < 0)
		return r;
	in->fw_map_len = ALIGN_UP(MAX(in->fw_len, (size_t)1), PAGE_SIZE);
	r = guest_mem_map_anon(in->fw_map_len, &map, e);
	if (r == 0) {
		in->fw_map = map;
		r = file_read_exact(fd, map, in->fw_len, "firmware", path, e);
	}
	close(fd);
	return r;
}

static int load_firmware(struct vm *vm, struct td_inputs *in, struct err *e)
{
	const struct vm_config *cfg = vm->cfg;
	struct tdx_vm *t = vm->tdx;
	int r;

	r = read_firmware(cfg->firmware, in, e);
	if (r < 0)
		return r;
	r = tdvf_parse(in->fw_map, in->fw_len, &t->fw, e);
	if (r < 0)
		return err_ctx(e, "firmware '%s'", cfg->firmware);
	if (!IS_ALIGNED(in->fw_len, PAGE_SIZE))
		return errf(e, -EINVAL, "firmware '%s': %zu bytes is not a multiple of 4 KiB",
			    cfg->firmware, in->fw_len);
	r = td_check_firmware_use(cfg, &t->fw, e);
	if (r < 0)
		return r;
	/* td-shim gives the VMM nothing to do with it; say that merak ignores it. */
	if (tdvf_find(&t->fw, TDVF_SECTION_TD_PARAMS))
		log_warn("firmware '%s' carries a TD_PARAMS section (TDH.MNG.INIT parameters for "
			 "loaders that take them from the image); merak does not apply it: the "
			 "TD's attributes, XFAM and MRCONFIGID/MROWNER come from --platform",
			 cfg->firmware);
	return read_payload(vm, &in->kernel, &in->param, &in->param_len, e);
}

/* KVM_CREATE_VM(TDX), what it offers TDs, and the TDVMCALLs userspace serves. */
static int create_td_vm(struct vm *vm, struct err *e)
{
	struct tdx_vm *t = vm->tdx;
	int r, maxv;

	r = hv_create_vm(&vm->hv, MERAK_KVM_X86_TDX_VM, e);
	if (r < 0)
		return r;
	if (!(hv_check_extension(&vm->hv, true, MERAK_KVM_CAP_MEMORY_ATTRIBUTES) &
	      MERAK_KVM_MEMORY_ATTRIBUTE_PRIVATE))
		return errf(e, -ENOTSUP, "this TD VM does not support private memory attributes");
	r = hv_tdx_capabilities(&vm->hv, &t->caps, e);
	if (r < 0)
		return r;
	t->info = (struct tdvmcall_info){
		.kernel_r11 = t->caps->kernel_tdvmcallinfo_1_r11,
		.user_r11 = t->caps->user_tdvmcallinfo_1_r11,
		.kernel_r12 = t->caps->kernel_tdvmcallinfo_1_r12,
		.user_r12 = t->caps->user_tdvmcallinfo_1_r12,
	};
	maxv = hv_check_extension(&vm->hv, true, KVM_CAP_MAX_VCPUS);
	if (maxv > 0 && vm->cfg->cpus > (u32)maxv)
		return errf(e, -EINVAL,
			    "%u vCPUs requested but this host allows at most %d per TD (the "
			    "number of present host CPUs)",
			    vm->cfg->cpus, maxv);
	return 0;
}

/* The split irqchip and MapGPA exits. */
static int enable_td_caps(struct vm *vm, struct err *e)
{
	int r;

	r = vm_setup_interrupts(vm, e); /* split: vm_setup_interrupts forces it for TDs */
	if (r < 0)
		return r;
	r = hv_enable_cap(&vm->hv, KVM_CAP_EXIT_HYPERCALL, 1ULL << KVM_HC_MAP_GPA_RANGE,
			  0, e);
	return r < 0 ? err_ctx(e, "MapGPA exits (KVM_CAP_EXIT_HYPERCALL)") : 0;
}

/* The 25 MHz APIC timer and the TSC, which INIT_VM fixes for the TD's life. */
static int set_td_clocks(struct vm *vm, struct err *e)
{
	int r;

	if (!hv_check_extension(&vm->hv, true, MERAK_KVM_CAP_X86_APIC_BUS_CYCLES_NS))
		return errf(e, -ENOTSUP, "KVM lacks KVM_CAP_X86_APIC_BUS_CYCLES_NS, which a TD "
					 "needs for its 25 MHz APIC timer");
	r = hv_enable_cap(&vm->hv, MERAK_KVM_CAP_X86_APIC_BUS_CYCLES_NS, TD_APIC_BUS_CYCLES_NS, 0,
			  e);
	if (r == 0 && vm->cfg->tdx.tsc_khz)
		r = hv_set_vm_tsc_khz(&vm->hv, vm->cfg->tdx.tsc_khz, e);
	return r;
}

/* Devices exist before any vCPU can run (they need no vCPU state); then the vCPUs. */
static int add_board(struct vm *vm, struct td_inputs *in, struct err *e)
{
	int r;

	r = vm_setup_devices(vm, e);
	if (r < 0)
		return r;
	if (!td_is_shim(&vm->tdx->fw)) {
		/* TDVF reads the board, ACPI and --kernel from fw_cfg (port I/O, shared DMA). */
		r = board_fwcfg_setup(vm, true, e);
		if (r < 0)
			return r;
	}
	return vm_create_vcpus(vm, in->cpuid, e);
}

/* The TD HOB, and KVM_TDX_INIT_VCPU with its address for every vCPU. */
static int init_vcpus(struct vm *vm, struct td_inputs *in, struct err *e)
{
	const struct tdvf_section *hobsec = tdvf_find(&vm->tdx->fw, TDVF_SECTION_TD_HOB);
	int r;

	r = td_hob_make(&vm->tdx->fw, in->ram, in->nram, &in->hob, &in->hob_len, e);
	if (r < 0)
		return r;
	for (u32 i = 0; i < vm->ncpus; i++) {
		r = hv_tdx_init_vcpu(&vm->vcpus[i].hv, hobsec ? hobsec->gpa : 0, e);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * One vCPU's KVM_SET_CPUID2 again, now agreeing with the TD's CPUID as the
 * uapi asks: else KVM may emulate MSRs or CPUID leaves by features the TD
 * lacks. The TD's CPUID is one for all vCPUs, so vCPU 0 reports what the
 * TDX module turned off.
 */
static int sync_vcpu_cpuid(struct vm *vm, u32 i, const struct kvm_cpuid2 *base,
			   const struct kvm_cpuid2 *td, struct err *e)
{
	struct x86_cpuid_config cc = {.vcpu_index = i, .ncpus = vm->ncpus};
	struct kvm_cpuid2 *want = NULL, *have = NULL;
	struct td_cpuid_off off;
	char what[512];
	int r;

	r = x86_cpuid_build(base, &cc, &want, e);
	if (r == 0)
		r = td_cpuid_reconcile(want, td, vm->tdx->caps, &have, &off, e);
	if (r == 0)
		r = hv_vcpu_set_cpuid(&vm->vcpus[i].hv, have, e);
	if (r == 0 && i == 0 && off.n) {
		td_cpuid_off_describe(&off, what, sizeof(what));
		log_warn("TD: the TDX module turned off CPUID features merak asked for: %s", what);
	}
	free(want);
	free(have);
	return r;
}

/* KVM_TDX_GET_CPUID (after INIT_VCPU) and every vCPU's table made to match it. */
static int sync_cpuid(struct vm *vm, const struct td_inputs *in, struct err *e)
{
	struct kvm_cpuid2 *td = NULL;
	int r;

	r = hv_tdx_get_cpuid(&vm->vcpus[0].hv, &td, e);
	for (u32 i = 0; r == 0 && i < vm->ncpus; i++)
		r = sync_vcpu_cpuid(vm, i, in->cpuid, td, e);
	free(td);
	return r;
}

/* FINALIZE, after which the TD's memory is sealed; then the quote service's client. */
static int finalize(struct vm *vm, struct err *e)
{
	const struct vm_config *cfg = vm->cfg;
	struct tdx_vm *t = vm->tdx;
	struct qgs_addr a;
	int r;

	/* The private copies are in place: the shared copy of the image is dead weight. */
	madvise(vm->mem.r[vm->mem.n - 1].hva, vm->mem.r[vm->mem.n - 1].size, MADV_DONTNEED);
	r = hv_tdx_finalize(&vm->hv, e);
	if (r < 0)
		return r;
	if (cfg->tdx.quote_socket) {
		r = qgs_parse_address(cfg->tdx.quote_socket, &a, e);
		if (r == 0)
			r = qgs_client_start(&a, QGS_DEFAULT_TIMEOUT_MS, cfg->seccomp, &t->qgs, e);
		if (r < 0)
			return r;
	}
	log_info("TD finalized: %u vCPUs, %llu MiB, firmware '%s'%s", vm->ncpus,
		 (unsigned long long)(cfg->mem_size >> 20), cfg->firmware,
		 td_is_shim(&t->fw) ? " (td-shim)" : "");
	return 0;
}

int td_build(struct vm *vm, struct err *e)
{
	struct td_inputs in = {0};
	int r;

	r = td_prepare(vm, e);
	if (r == 0)
		r = load_firmware(vm, &in, e);
	if (r == 0)
		r = create_td_vm(vm, e);
	if (r == 0)
		r = enable_td_caps(vm, e);
	if (r == 0)
		r = setup_memory(vm, &in, e);
	if (r == 0)
		r = set_td_clocks(vm, e);
	if (r == 0)
		r = init_vm(vm, &in.cpuid, e);
	if (r == 0)
		r = add_board(vm, &in, e);
	if (r == 0)
		r = init_vcpus(vm, &in, e);
	if (r == 0)
		r = sync_cpuid(vm, &in, e);
	if (r == 0) {
		struct td_section_inputs sec = {
			.hob = in.hob,
			.hob_len = in.hob_len,
			.payload = in.kernel.data,
			.payload_len = in.kernel.len,
			.param = in.param,
			.param_len = in.param_len,
		};

		r = add_sections(vm, &sec, e);
	}
	if (r == 0)
		r = finalize(vm, e);
	free(in.cpuid);
	free(in.hob);
	free(in.param);
	file_buf_free(&in.kernel);
	if (in.fw_map)
		munmap(in.fw_map, in.fw_map_len);
	return r;
}

/*
 * Closing a guest_memfd while the TD still holds its HKID reclaims every
 * private page the slow way (block, track, remove, one by one). Where the
 * kernel offers KVM_TDX_TERMINATE_VM, releasing the HKID first lets it
 * reclaim them directly; elsewhere the unknown sub-command costs one -EINVAL.
 * Called once no vCPU thread is left in KVM_RUN and no device will issue
 * another KVM ioctl: the VM is dead afterwards.
 */
static void td_terminate(struct vm *vm)
{
	int r;

	if (vm->hv.vm_fd < 0)
		return;
	r = hv_tdx_terminate_vm(&vm->hv);
	if (r == 0)
		log_debug("TD: KVM_TDX_TERMINATE_VM released the HKID before teardown");
	else if (r == -EINVAL)
		log_debug("TD: this kernel has no KVM_TDX_TERMINATE_VM; teardown reclaims "
			  "private memory with the HKID held");
	else
		log_debug("TD: KVM_TDX_TERMINATE_VM: %s", strerror(-r));
}

void td_destroy(struct vm *vm)
{
	struct tdx_vm *t = vm->tdx;

	if (!t)
		return;
	/* The QGS thread writes guest memory: it stops before memory goes away. */
	qgs_client_stop(t->qgs);
	td_terminate(vm);
	vm_remove_counters(vm, t);
	for (unsigned i = 0; i < vm->mem.n; i++) {
		if (vm->mem.r[i].gmem_fd >= 0) {
			close(vm->mem.r[i].gmem_fd);
			vm->mem.r[i].gmem_fd = -1;
		}
	}
	free(t->caps);
	free(t);
	vm->tdx = NULL;
}

