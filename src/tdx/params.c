// SPDX-License-Identifier: MIT
#include "tdx/params.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tdx/qgs.h"
#include "tdx/td_cpuid.h"

int td_check_config(const struct vm_config *cfg, struct err *e)
{
	if (cfg->irqchip_set && cfg->irqchip == IRQCHIP_KERNEL)
		return errf(e, -EINVAL,
			    "a TD cannot use the in-kernel irqchip (nor its PIC and PIT): the TDX "
			    "module requires KVM's split irqchip with merak's IOAPIC; drop the "
			    "in-kernel irqchip option");
	if (!cfg->firmware)
		return errf(e, -EINVAL,
			    "a TD needs a TDVF (OVMF) or TD-Shim image in --firmware: merak cannot "
			    "set a TD's registers, so %s is impossible",
			    cfg->kernel ? "a direct --kernel boot without firmware"
					: "booting without firmware");
	if (cfg->cpus == 0)
		return errf(e, -EINVAL, "a TD needs at least one vCPU");
	if (!IS_ALIGNED(cfg->mem_size, PAGE_SIZE) || cfg->mem_size < 32 * MiB)
		return errf(e, -EINVAL,
			    "a TD needs at least 32 MiB of page-aligned memory (TDVF places its "
			    "TD HOB and temporary memory in low RAM); got %llu bytes",
			    (unsigned long long)cfg->mem_size);
	if (td_check_tsc(cfg->tdx.tsc_khz, e) < 0)
		return -EINVAL;
	if (cfg->tdx.quote_socket) {
		struct qgs_addr a;
		int r = qgs_parse_address(cfg->tdx.quote_socket, &a, e);
		if (r < 0)
			return r;
	}
	return 0;
}

bool td_is_shim(const struct tdvf_info *fw)
{
	for (u32 i = 0; i < fw->nsections; i++)
		if (fw->sections[i].type == TDVF_SECTION_PAYLOAD)
			return true;
	return false;
}

int td_check_firmware_use(const struct vm_config *cfg, const struct tdvf_info *fw,
			  struct err *e)
{
	const struct tdvf_section *payload = tdvf_find(fw, TDVF_SECTION_PAYLOAD);
	const struct tdvf_section *param = tdvf_find(fw, TDVF_SECTION_PAYLOAD_PARAM);

	/* TDVF (OVMF) takes --kernel/--initramfs/--cmdline from fw_cfg (board_fwcfg.c). */
	if (!payload)
		return 0;
	if (cfg->initramfs)
		return errf(e, -ENOTSUP,
			    "--initramfs with a TD-Shim image: td-shim has no section for an "
			    "initramfs; build it into the kernel");
	if (payload->raw_size && cfg->kernel)
		return errf(e, -EINVAL,
			    "--kernel with a TD-Shim image that embeds its payload (%u bytes at "
			    "file offset 0x%x)",
			    payload->raw_size, payload->data_offset);
	if (!payload->raw_size && !cfg->kernel)
		return errf(e, -EINVAL,
			    "this TD-Shim image has an empty Payload section at 0x%llx: give the "
			    "kernel (bzImage) with --kernel",
			    (unsigned long long)payload->gpa);
	if (cfg->cmdline && !param)
		return errf(e, -EINVAL,
			    "--cmdline with a TD-Shim image that has no PayloadParam section");
	/* merak writes PayloadParam only for a payload it loads; it would be dropped. */
	if (cfg->cmdline && payload->raw_size)
		return errf(e, -EINVAL,
			    "--cmdline with a TD-Shim image that embeds its payload: the image "
			    "brings its own command line");
	return 0;
}

int td_attributes(const struct tdx_config *cfg, u64 supported, u64 *out, struct err *e)
{
	u64 a = 0;

	if (cfg->debug) {
		if (!(supported & TDX_ATTR_DEBUG))
			return errf(e, -ENOTSUP,
				    "debug=on: this host's KVM does not offer the DEBUG TD "
				    "attribute (bit 0); KVM up to at least 6.16 never does");
		a |= TDX_ATTR_DEBUG;
	}
	if (cfg->sept_ve_disable) {
		if (!(supported & TDX_ATTR_SEPT_VE_DISABLE))
			return errf(e, -ENOTSUP,
				    "sept-ve-disable=on: this host does not offer the "
				    "SEPT_VE_DISABLE TD attribute (bit 28)");
		a |= TDX_ATTR_SEPT_VE_DISABLE;
	}
	*out = a;
	return 0;
}

int td_xfam(u64 requested, u64 supported, u64 *out, struct err *e)
{
	static const struct {
		u64 mask;
		const char *what;
	} groups[] = {
		{TDX_XFAM_MPX, "MPX (bits 3-4)"},
		{TDX_XFAM_AVX512, "AVX-512 (bits 5-7)"},
		{TDX_XFAM_CET, "CET (bits 11-12)"},
		{TDX_XFAM_AMX, "AMX (bits 17-18)"},
	};
	u64 x;

	if (requested & ~supported)
		return errf(e, -ENOTSUP,
			    "XFAM 0x%llx asks for state components 0x%llx this host does not "
			    "offer (supported 0x%llx)",
			    (unsigned long long)requested,
			    (unsigned long long)(requested & ~supported),
			    (unsigned long long)supported);
	x = requested;
	if ((x & (TDX_XFAM_X87 | TDX_XFAM_SSE)) != (TDX_XFAM_X87 | TDX_XFAM_SSE))
		return errf(e, -ENOTSUP,
			    "XFAM 0x%llx lacks x87 and SSE state, which every TD has",
			    (unsigned long long)x);
	/* The TDX module takes these state groups whole or not at all. */
	for (size_t i = 0; i < ARRAY_SIZE(groups); i++) {
		u64 g = x & groups[i].mask;
		if (g && g != groups[i].mask)
			x &= ~groups[i].mask;
	}
	if ((x & TDX_XFAM_AVX512) && !(x & TDX_XFAM_AVX))
		x &= ~TDX_XFAM_AVX512;
	*out = x;
	return 0;
}

int td_check_tsc(u64 khz, struct err *e)
{
	if (khz == 0)
		return 0;
	if (khz < TD_TSC_KHZ_MIN || khz > TD_TSC_KHZ_MAX)
		return errf(e, -EINVAL, "TD TSC frequency %llu kHz is outside [%llu, %llu] kHz",
			    (unsigned long long)khz, TD_TSC_KHZ_MIN, TD_TSC_KHZ_MAX);
	if (khz % TD_TSC_KHZ_STEP)
		return errf(e, -EINVAL,
			    "TD TSC frequency %llu kHz is not a multiple of 25 MHz (the TDX "
			    "module counts it in 25 MHz units)",
			    (unsigned long long)khz);
	return 0;
}

bool cpuid_leaf_indexed(u32 fn)
{
	switch (fn) {
	case 0x4: case 0x7: case 0xb: case 0xd: case 0xf: case 0x10: case 0x12: case 0x14:
	case 0x17: case 0x18: case 0x1d: case 0x1e: case 0x1f: case 0x20: case 0x23:
	case 0x24: case 0x8000001d: case 0x80000020: case 0x80000026:
		return true;
	default:
		return false;
	}
}

const struct kvm_cpuid_entry2 *td_caps_find(const struct merak_kvm_tdx_capabilities *caps,
					    u32 fn, u32 idx)
{
	/* KVM 6.16 leaves flags 0 even on indexed leaves: the index is always meant. */
	for (u32 i = 0; i < caps->cpuid.nent; i++)
		if (caps->entries[i].function == fn && caps->entries[i].index == idx)
			return &caps->entries[i];
	return NULL;
}

int td_vcpu_cpuid_base(const struct kvm_cpuid2 *supported, struct kvm_cpuid2 **out,
		       struct err *e)
{
	size_t sz = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	bool leaf1 = false;

	if (!c)
		return errf(e, -ENOMEM, "TD CPUID: out of memory");
	memcpy(c, supported, sz);
	for (u32 i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *en = &c->entries[i];

		if (cpuid_leaf_indexed(en->function))
			en->flags |= MERAK_KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (en->function == 1) {
			en->ecx |= 1u << 21;	/* x2APIC: KVM_TDX_INIT_VCPU enables it */
			leaf1 = true;
		}
	}
	if (!leaf1) {
		free(c);
		return errf(e, -EINVAL, "TD CPUID: the host's table has no leaf 1");
	}
	/* kvmclock, steal time, async PF, PV EOI: KVM refuses their MSRs to a TD. */
	td_cpuid_mask_pv(c);
	*out = c;
	return 0;
}

int td_build_init_vm(const struct tdx_config *cfg, u64 attrs, u64 xfam,
		     const struct kvm_cpuid2 *cpuid, const struct merak_kvm_tdx_capabilities *caps,
		     struct merak_kvm_tdx_init_vm **out, struct err *e)
{
	struct merak_kvm_tdx_init_vm *iv;
	bool gpaw = false;
	u32 n = 0;

	/* One spare entry: leaf 0x80000008 is added when the table lacks it. */
	iv = calloc(1, sizeof(*iv) + (cpuid->nent + 1) * sizeof(struct kvm_cpuid_entry2));
	if (!iv)
		return errf(e, -ENOMEM, "KVM_TDX_INIT_VM: out of memory");
	iv->attributes = attrs;
	iv->xfam = xfam;
	if (cfg->has_mrconfigid)
		memcpy(iv->mrconfigid, cfg->mrconfigid, 48);
	if (cfg->has_mrowner)
		memcpy(iv->mrowner, cfg->mrowner, 48);
	if (cfg->has_mrownerconfig)
		memcpy(iv->mrownerconfig, cfg->mrownerconfig, 48);
	for (u32 i = 0; i < cpuid->nent; i++) {
		const struct kvm_cpuid_entry2 *src = &cpuid->entries[i];
		const struct kvm_cpuid_entry2 *cap = td_caps_find(caps, src->function, src->index);
		struct kvm_cpuid_entry2 *d;

		if (!cap)
			continue;	/* not configurable: the TDX module decides */
		/* Two entries for one (function, index) would make KVM's count check fail. */
		for (u32 j = 0; j < n; j++)
			if (iv->entries[j].function == src->function &&
			    iv->entries[j].index == src->index)
				cap = NULL;
		if (!cap)
			continue;
		d = &iv->entries[n++];
		d->function = src->function;
		d->index = src->index;
		d->flags = cpuid_leaf_indexed(src->function) ? MERAK_KVM_CPUID_FLAG_SIGNIFCANT_INDEX
							     : 0;
		d->eax = src->eax & cap->eax;
		d->ebx = src->ebx & cap->ebx;
		d->ecx = src->ecx & cap->ecx;
		d->edx = src->edx & cap->edx;
		if (d->function == 0x80000008 && d->index == 0) {
			d->eax = (d->eax & ~0x00ff0000u) | ((u32)TD_GPAW << 16);
			gpaw = true;
		}
	}
	if (!gpaw) {
		const struct kvm_cpuid_entry2 *cap = td_caps_find(caps, 0x80000008, 0);

		if (!cap) {
			free(iv);
			return errf(e, -ENOTSUP,
				    "KVM_TDX_CAPABILITIES lists no CPUID leaf 0x80000008, which "
				    "KVM_TDX_INIT_VM needs for the guest physical address width");
		}
		iv->entries[n++] = (struct kvm_cpuid_entry2){
			.function = 0x80000008,
			.eax = (u32)TD_GPAW << 16,
		};
	}
	iv->cpuid.nent = n;
	*out = iv;
	return 0;
}
