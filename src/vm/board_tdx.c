// SPDX-License-Identifier: MIT
/*
 * Assembly of a TD (Intel TDX Trust Domain) on upstream KVM, in the order
 * the kernel demands (docs/tdx.md): host check, KVM_CREATE_VM(TDX),
 * capabilities, split irqchip, guest_memfd-backed private RAM, INIT_VM,
 * vCPUs, INIT_VCPU with the TD HOB, INIT_MEM_REGION per firmware section,
 * FINALIZE. Then the TD's exits: private/shared conversion and the
 * TDVMCALLs KVM forwards (GetTdVmCallInfo, SetupEventNotifyInterrupt,
 * GetQuote), and ReportFatalError.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../arch/x86/cpuid.h"
#include "../arch/x86/layout.h"
#include "../hv/uapi/kvm_ext.h"
#include "../hv/uapi/kvm_tdx.h"
#include "../tdx/caps.h"
#include "../tdx/hob.h"
#include "../tdx/launch.h"
#include "../tdx/mrtd.h"
#include "../tdx/tdshim.h"
#include "../tdx/qgs.h"
#include "../tdx/tdvf.h"
#include "../tdx/tdvmcall.h"
#include "../util/file.h"
#include "../util/log.h"
#include "vm.h"

#define TD_KERNEL_MAX (512ULL << 20)
#define NOTIFY_VALID  (1ULL << 63)

struct tdx_vm {
	struct vm *vm;
	struct merak_kvm_tdx_capabilities *caps;
	struct tdvmcall_info info;
	struct tdvf_info fw;
	struct qgs_client *qgs;
	/* SetupEventNotifyInterrupt: NOTIFY_VALID | apic_id << 32 | vector; atomic. */
	u64 notify;
	/* Counters (relaxed atomics): what makes a TD slow is worth seeing. */
	u64 to_private, to_private_bytes, to_shared, to_shared_bytes, convert_failed;
	u64 tdvmcall_get_quote, tdvmcall_get_td_vm_call_info;
	u64 tdvmcall_setup_event_notify_interrupt, tdvmcall_other;
};

static void tdx_collect(void *ctx, counter_emit_fn emit, void *arg)
{
	struct tdx_vm *t = ctx;
#define EMIT(f) emit(arg, #f, __atomic_load_n(&t->f, __ATOMIC_RELAXED))
	EMIT(to_private);
	EMIT(to_private_bytes);
	EMIT(to_shared);
	EMIT(to_shared_bytes);
	EMIT(convert_failed);
	EMIT(tdvmcall_get_quote);
	EMIT(tdvmcall_get_td_vm_call_info);
	EMIT(tdvmcall_setup_event_notify_interrupt);
	EMIT(tdvmcall_other);
#undef EMIT
}

static void count(u64 *c, u64 n)
{
	__atomic_add_fetch(c, n, __ATOMIC_RELAXED);
}

struct quote_job {
	struct tdx_vm *t;
	u64 gpa;
	u64 size;
};

/* ---- launch --------------------------------------------------------------- */

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

/* One guest_memfd per region, bound at offset 0, and the whole region private. */
static int add_private_region(struct vm *vm, u64 gpa, u64 size, enum mem_region_kind kind,
			      struct err *e)
{
	struct mem_region *m;
	int r, fd;

	r = guest_mem_add_anon(&vm->mem, gpa, size, kind, e);
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

static int setup_memory(struct vm *vm, const struct file_buf *img, struct td_ram_range *ram,
			unsigned *nram, struct err *e)
{
	struct tdx_vm *t = vm->tdx;
	int r;

	r = td_ram_from_size(vm->cfg->mem_size, ram, nram, e);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < *nram; i++) {
		r = add_private_region(vm, ram[i].gpa, ram[i].size, MEM_RAM, e);
		if (r < 0)
			return err_ctx(e, "TD RAM");
	}
	vm->mmio64_base = ALIGN_UP(ram[*nram - 1].gpa + ram[*nram - 1].size, GiB);
	if (vm->mmio64_base < LAYOUT_HIGH_RAM_START)
		vm->mmio64_base = LAYOUT_HIGH_RAM_START;
	vm->mmio64_size = 64 * GiB;
	/* The firmware is RAM too: read-only memslots do not exist for TDs. */
	r = add_private_region(vm, t->fw.image_gpa, img->len, MEM_FIRMWARE, e);
	if (r < 0)
		return err_ctx(e, "TD firmware region");
	memcpy(vm->mem.r[vm->mem.n - 1].hva, img->data, img->len);
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

static void quote_done(void *ctx, enum qgs_result res, const u8 *quote, u32 qlen,
		       const char *why);

int board_tdx_setup(struct vm *vm, struct err *e)
{
	const struct vm_config *cfg = vm->cfg;
	struct tdx_vm *t;
	struct file_buf img = {0}, kernel = {0};
	struct td_ram_range ram[2];
	struct td_ram_map map;
	struct kvm_cpuid2 *base = NULL;
	struct td_section_inputs in = {0};
	const struct tdvf_section *hobsec;
	u8 *hob = NULL, *param = NULL;
	size_t hob_len = 0, hob_cap = 0, param_len = 0;
	unsigned nram;
	int r, maxv;

	/* Everything that can be refused is refused before any guest memory exists. */
	r = td_check_config(cfg, e);
	if (r < 0)
		return r;
	r = check_host(vm, e);
	if (r < 0)
		return r;
	t = calloc(1, sizeof(*t));
	if (!t)
		return errf(e, -ENOMEM, "TD: out of memory");
	t->vm = vm;
	vm->tdx = t;
	vm_add_counters(vm, "tdx", tdx_collect, t);
	/* Devices may be handed shared-alias addresses (bit GPAW-1 set). */
	vm->mem.alias_mask = 1ULL << (TD_GPAW - 1);

	r = file_read_all(cfg->firmware, LAYOUT_FIRMWARE_MAX, "firmware", &img, e);
	if (r < 0)
		return r;
	r = tdvf_parse(img.data, img.len, &t->fw, e);
	if (r < 0) {
		err_ctx(e, "firmware '%s'", cfg->firmware);
		goto out;
	}
	if (!IS_ALIGNED(img.len, PAGE_SIZE)) {
		r = errf(e, -EINVAL, "firmware '%s': %zu bytes is not a multiple of 4 KiB",
			 cfg->firmware, img.len);
		goto out;
	}
	r = td_check_firmware_use(cfg, &t->fw, e);
	if (r < 0)
		goto out;
	r = read_payload(vm, &kernel, &param, &param_len, e);
	if (r < 0)
		goto out;

	r = hv_create_vm(&vm->hv, MERAK_KVM_X86_TDX_VM, e);
	if (r < 0)
		goto out;
	if (!(hv_check_extension(&vm->hv, true, MERAK_KVM_CAP_MEMORY_ATTRIBUTES) &
	      MERAK_KVM_MEMORY_ATTRIBUTE_PRIVATE)) {
		r = errf(e, -ENOTSUP, "this TD VM does not support private memory attributes");
		goto out;
	}
	r = hv_tdx_capabilities(&vm->hv, &t->caps, e);
	if (r < 0)
		goto out;
	t->info = (struct tdvmcall_info){
		.kernel_r11 = t->caps->kernel_tdvmcallinfo_1_r11,
		.user_r11 = t->caps->user_tdvmcallinfo_1_r11,
		.kernel_r12 = t->caps->kernel_tdvmcallinfo_1_r12,
		.user_r12 = t->caps->user_tdvmcallinfo_1_r12,
	};
	maxv = hv_check_extension(&vm->hv, true, MERAK_KVM_CAP_MAX_VCPUS);
	if (maxv > 0 && cfg->cpus > (u32)maxv) {
		r = errf(e, -EINVAL,
			 "%u vCPUs requested but this host allows at most %d per TD (the number "
			 "of present host CPUs)",
			 cfg->cpus, maxv);
		goto out;
	}

	r = vm_setup_interrupts(vm, e);	/* split: vm_setup_interrupts forces it for TDs */
	if (r < 0)
		goto out;
	r = hv_enable_cap(&vm->hv, MERAK_KVM_CAP_EXIT_HYPERCALL, 1ULL << MERAK_KVM_HC_MAP_GPA_RANGE,
			  0, e);
	if (r < 0) {
		err_ctx(e, "MapGPA exits (KVM_CAP_EXIT_HYPERCALL)");
		goto out;
	}
	r = setup_memory(vm, &img, ram, &nram, e);
	if (r < 0)
		goto out;
	if (!hv_check_extension(&vm->hv, true, MERAK_KVM_CAP_X86_APIC_BUS_CYCLES_NS)) {
		r = errf(e, -ENOTSUP, "KVM lacks KVM_CAP_X86_APIC_BUS_CYCLES_NS, which a TD "
				      "needs for its 25 MHz APIC timer");
		goto out;
	}
	r = hv_enable_cap(&vm->hv, MERAK_KVM_CAP_X86_APIC_BUS_CYCLES_NS, TD_APIC_BUS_CYCLES_NS, 0,
			  e);
	if (r < 0)
		goto out;
	if (cfg->tdx.tsc_khz) {
		r = hv_set_vm_tsc_khz(&vm->hv, cfg->tdx.tsc_khz, e);
		if (r < 0)
			goto out;
	}
	r = init_vm(vm, &base, e);
	if (r < 0)
		goto out;

	/* Devices exist before any vCPU can run; they need no vCPU state. */
	r = vm_setup_devices(vm, e);
	if (r < 0)
		goto out;
	if (!td_is_shim(&t->fw)) {
		/* TDVF reads the board, ACPI and --kernel from fw_cfg (port I/O, shared DMA). */
		r = board_fwcfg_setup(vm, true, e);
		if (r < 0)
			goto out;
	}
	r = vm_create_vcpus(vm, base, e);
	if (r < 0)
		goto out;

	hobsec = tdvf_find(&t->fw, TDVF_SECTION_TD_HOB);
	if (hobsec) {
		r = td_ram_map_build(ram, nram, &t->fw, &map, e);
		if (r < 0)
			goto out;
		hob_cap = hobsec->mem_size;
		hob = calloc(1, hob_cap);
		if (!hob) {
			r = errf(e, -ENOMEM, "TD HOB: out of memory");
			goto out;
		}
		r = td_hob_build(&map, hobsec->gpa, hob, hob_cap, &hob_len, e);
		if (r == 0) /* td-shim boots a VMM-loaded kernel only with this HOB */
			r = td_shim_hob_finish(&t->fw, hob, hob_cap, &hob_len, e);
		if (r < 0)
			goto out;
	}
	for (u32 i = 0; i < vm->ncpus; i++) {
		r = hv_tdx_init_vcpu(&vm->vcpus[i].hv, hobsec ? hobsec->gpa : 0, e);
		if (r < 0)
			goto out;
	}
	in = (struct td_section_inputs){
		.hob = hob,
		.hob_len = hob_len,
		.payload = kernel.data,
		.payload_len = kernel.len,
		.param = param,
		.param_len = param_len,
	};
	r = add_sections(vm, &in, e);
	if (r < 0)
		goto out;
	/* The private copies are in place: the shared copy of the image is dead weight. */
	madvise(vm->mem.r[vm->mem.n - 1].hva, vm->mem.r[vm->mem.n - 1].size, MADV_DONTNEED);
	r = hv_tdx_finalize(&vm->hv, e);
	if (r < 0)
		goto out;

	if (cfg->tdx.quote_socket) {
		struct qgs_addr a;

		r = qgs_parse_address(cfg->tdx.quote_socket, &a, e);
		if (r == 0)
			r = qgs_client_start(&a, QGS_DEFAULT_TIMEOUT_MS, cfg->seccomp, &t->qgs, e);
		if (r < 0)
			goto out;
	}
	log_info("TD finalized: %u vCPUs, %llu MiB, firmware '%s'%s", vm->ncpus,
		 (unsigned long long)(cfg->mem_size >> 20), cfg->firmware,
		 td_is_shim(&t->fw) ? " (td-shim)" : "");
out:
	free(base);
	free(hob);
	free(param);
	file_buf_free(&kernel);
	file_buf_free(&img);
	return r;
}

void board_tdx_destroy(struct vm *vm)
{
	struct tdx_vm *t = vm->tdx;

	if (!t)
		return;
	/* The QGS thread writes guest memory: it stops before memory goes away. */
	qgs_client_stop(t->qgs);
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

/* ---- private/shared conversion -------------------------------------------- */

static int convert_part(struct vm *vm, const struct mem_region *g, u64 gpa, u64 len,
			bool to_private, struct err *e)
{
	u64 off = gpa - g->gpa;
	int r = hv_set_memory_private(&vm->hv, gpa, len, to_private, e);

	if (r < 0)
		return r;
	/* Free the side the guest no longer uses. */
	if (to_private) {
		if (madvise(g->hva + off, len, MADV_DONTNEED) < 0)
			log_debug("madvise(DONTNEED) [0x%llx, +0x%llx): %s",
				  (unsigned long long)gpa, (unsigned long long)len,
				  strerror(errno));
	} else if (fallocate(g->gmem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			     (off_t)(g->gmem_off + off), (off_t)len) < 0) {
		log_debug("guest_memfd hole [0x%llx, +0x%llx): %s", (unsigned long long)gpa,
			  (unsigned long long)len, strerror(errno));
	}
	return 0;
}

static int td_convert_range(struct vm *vm, u64 gpa, u64 size, bool to_private, struct err *e)
{
	u64 end;

	if (!size || !IS_ALIGNED(gpa, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE) ||
	    add_overflows(gpa, size, &end))
		return errf(e, -EINVAL, "conversion of [0x%llx, +0x%llx) to %s: not page-aligned",
			    (unsigned long long)gpa, (unsigned long long)size,
			    to_private ? "private" : "shared");
	while (gpa < end) {
		const struct mem_region *g = guest_mem_find(&vm->mem, gpa);
		u64 part;
		int r;

		if (!g) {
			/* A hole (MMIO): the guest may mark it shared; it cannot be private. */
			u64 next = end;
			for (unsigned i = 0; i < vm->mem.n; i++)
				if (vm->mem.r[i].gpa > gpa && vm->mem.r[i].gpa < next)
					next = vm->mem.r[i].gpa;
			if (to_private)
				return errf(e, -EINVAL,
					    "conversion of [0x%llx, +0x%llx) to private: no memory "
					    "there",
					    (unsigned long long)gpa,
					    (unsigned long long)(next - gpa));
			gpa = next;
			continue;
		}
		part = MIN(end, g->gpa + g->size) - gpa;
		if (g->gmem_fd < 0)
			return errf(e, -EINVAL, "conversion at 0x%llx: region has no guest_memfd",
				    (unsigned long long)gpa);
		r = convert_part(vm, g, gpa, part, to_private, e);
		if (r < 0)
			return r;
		gpa += part;
	}
	return 0;
}

/* A guest's private<->shared conversion, counted. */
static int td_convert(struct vm *vm, u64 gpa, u64 size, bool to_private, struct err *e)
{
	struct tdx_vm *t = vm->tdx;
	int r = td_convert_range(vm, gpa, size, to_private, e);

	if (r < 0) {
		count(&t->convert_failed, 1);
	} else if (to_private) {
		count(&t->to_private, 1);
		count(&t->to_private_bytes, size);
	} else {
		count(&t->to_shared, 1);
		count(&t->to_shared_bytes, size);
	}
	return r;
}

/* ---- TDVMCALLs ------------------------------------------------------------- */

static void quote_done(void *ctx, enum qgs_result res, const u8 *quote, u32 qlen,
		       const char *why)
{
	struct quote_job *job = ctx;
	struct tdx_vm *t = job->t;
	struct vm *vm = t->vm;
	u8 *buf = guest_mem_ptr(&vm->mem, job->gpa, job->size);
	u64 status = res == QGS_OK	    ? TDX_QUOTE_STATUS_SUCCESS
		     : res == QGS_UNAVAILABLE ? TDX_QUOTE_STATUS_QGS_UNAVAILABLE
					      : TDX_QUOTE_STATUS_ERROR;
	u64 notify;

	if (res != QGS_OK)
		log_warn("TD GetQuote at 0x%llx: %s", (unsigned long long)job->gpa, why);
	if (buf) {
		status = tdx_quote_complete(buf, job->size, status, quote, qlen);
		if (res == QGS_OK && status != TDX_QUOTE_STATUS_SUCCESS)
			log_warn("TD GetQuote at 0x%llx: the %u-byte quote does not fit the "
				 "%llu-byte buffer",
				 (unsigned long long)job->gpa, qlen,
				 (unsigned long long)job->size);
	}
	notify = __atomic_load_n(&t->notify, __ATOMIC_ACQUIRE);
	if (notify & NOTIFY_VALID) {
		u64 addr;
		u32 data;

		tdx_notify_msi((u32)(notify >> 32) & 0x7fffffff, (u32)notify & 0xff, &addr, &data);
		if (hv_signal_msi(&vm->hv, addr, data) < 0)
			log_debug("GetQuote notify interrupt: KVM_SIGNAL_MSI failed");
	}
	free(job);
}

static void get_quote(struct vm *vm, u64 *regs)
{
	struct tdx_vm *t = vm->tdx;
	u64 gpa = regs[1], size = regs[2], st, old;
	struct quote_job *job;
	struct err e;
	u32 in_len;
	u8 *buf;
	int r;

	st = tdx_quote_check_args(gpa, size);
	if (st != TDVMCALL_STATUS_SUCCESS) {
		regs[0] = st;
		return;
	}
	buf = guest_mem_ptr(&vm->mem, gpa, size);
	if (!buf) {
		regs[0] = TDVMCALL_STATUS_INVALID_OPERAND;
		return;
	}
	st = tdx_quote_check_header(buf, size, &in_len);
	if (st != TDVMCALL_STATUS_SUCCESS) {
		regs[0] = st;
		return;
	}
	regs[0] = TDVMCALL_STATUS_SUCCESS;
	if (!t->qgs) {
		tdx_quote_set_status(buf, TDX_QUOTE_STATUS_QGS_UNAVAILABLE);
		return;
	}
	if (qgs_client_inflight(t->qgs) >= TDX_QUOTE_MAX_INFLIGHT) {
		regs[0] = TDVMCALL_STATUS_RETRY;
		return;
	}
	job = malloc(sizeof(*job));
	if (!job) {
		tdx_quote_set_status(buf, TDX_QUOTE_STATUS_ERROR);
		return;
	}
	*job = (struct quote_job){.t = t, .gpa = gpa, .size = size};
	/* IN_FLIGHT first: the completion may land before submit returns. */
	old = get_le64(buf + 8);
	tdx_quote_set_status(buf, TDX_QUOTE_STATUS_IN_FLIGHT);
	r = qgs_client_submit(t->qgs, buf + TDX_QUOTE_HDR_SIZE, in_len, quote_done, job, &e);
	if (r == -EBUSY) {
		tdx_quote_set_status(buf, old);
		regs[0] = TDVMCALL_STATUS_RETRY;
		free(job);
	} else if (r < 0) {
		log_warn("TD GetQuote at 0x%llx: %s", (unsigned long long)gpa, e.msg);
		tdx_quote_set_status(buf, TDX_QUOTE_STATUS_ERROR);
		free(job);
	}
}

static void handle_tdvmcall(struct vm *vm, struct vcpu *vcpu, struct vm_exit *x)
{
	struct tdx_vm *t = vm->tdx;
	u64 *regs = x->tdx.regs;
	u32 vector;

	switch (x->tdx.nr) {
	case TDVMCALL_GET_TD_VM_CALL_INFO:
		count(&t->tdvmcall_get_td_vm_call_info, 1);
		tdvmcall_get_info(&t->info, regs);
		break;
	case TDVMCALL_SETUP_EVENT_NOTIFY_INTERRUPT:
		count(&t->tdvmcall_setup_event_notify_interrupt, 1);
		/* merak's vCPU index is its APIC ID (x86_cpuid_build). */
		if (tdvmcall_setup_event_notify(regs, &vector))
			__atomic_store_n(&t->notify,
					 NOTIFY_VALID | (u64)vcpu->index << 32 | vector,
					 __ATOMIC_RELEASE);
		break;
	case TDVMCALL_GET_QUOTE:
		count(&t->tdvmcall_get_quote, 1);
		get_quote(vm, regs);
		break;
	default:
		/* KVM pre-filled a safe answer (SUBFUNC_UNSUPPORTED): re-enter. */
		count(&t->tdvmcall_other, 1);
		break;
	}
}

int board_tdx_handle_exit(struct vm *vm, struct vcpu *vcpu, struct vm_exit *x, struct err *e)
{
	int r;

	if (!vm->tdx)
		return 0;
	switch (x->kind) {
	case VM_EXIT_MEMORY_FAULT:
		r = td_convert(vm, x->convert.gpa, x->convert.size, x->convert.to_private, e);
		return r < 0 ? err_ctx(e, "memory fault") : 1;
	case VM_EXIT_MAP_GPA:
		r = td_convert(vm, x->convert.gpa, x->convert.size, x->convert.to_private, e);
		if (r < 0)
			log_warn("vCPU %u: MapGPA refused: %s", vcpu->index, e->msg);
		/* Non-zero makes KVM return INVALID_OPERAND to the guest. */
		*x->convert.ret = r < 0 ? 1 : 0;
		return 1;
	case VM_EXIT_TDX:
		handle_tdvmcall(vm, vcpu, x);
		return 1;
	case VM_EXIT_SYSTEM_EVENT: {
		struct tdx_fatal f;
		char desc[200];

		if (x->system_event.type != VM_SYSTEM_EVENT_TDX_FATAL)
			return 0;
		r = tdx_fatal_decode(x->system_event.data, x->system_event.ndata, &f, e);
		if (r < 0)
			return r;
		tdx_fatal_describe(&f, desc, sizeof(desc));
		vm_request_stop(vm, 1, "TD reported a fatal error: %s", desc);
		return 1;
	}
	default:
		return 0;
	}
}
