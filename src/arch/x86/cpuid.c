// SPDX-License-Identifier: MIT
/*
 * Per-vCPU CPUID from KVM's supported table. merak presents one package of
 * ncpus cores, one thread per core, with APIC ID == vCPU index. Bit positions
 * follow the Intel SDM / AMD APM descriptions of each leaf.
 */
#include "arch/x86/cpuid.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* More than any KVM reports (KVM_MAX_CPUID_ENTRIES is 256); guards the sizes below. */
#define CPUID_MAX_ENTRIES 1024
#define CPUID_MAX_VCPUS	  32768 /* 15-bit APIC IDs (extended destination ID) */

/* Leaf 1. */
#define L1_EBX_KEEP	  0x0000ffffu /* brand index, CLFLUSH line size */
#define L1_ECX_MONITOR	  (1u << 3)
#define L1_ECX_PDCM	  (1u << 15) /* perf capabilities MSR: no PMU */
#define L1_ECX_HYPERVISOR (1u << 31)
#define L1_EDX_HTT	  (1u << 28)

/* Leaf 4 (deterministic cache parameters). */
#define L4_EAX_TYPE_MASK   0x1fu
#define L4_EAX_LEVEL(eax)  (((eax) >> 5) & 7)
#define L4_EAX_KEEP	   0x00003fffu /* type, level, self-init, assoc */
#define L4_EAX_SHARING_MAX 0xfffu      /* bits 25:14 */
#define L4_EAX_CORES_MAX   0x3fu       /* bits 31:26 */

/* Leaves 0xB / 0x1F level types. */
#define TOPO_TYPE_INVALID 0
#define TOPO_TYPE_SMT	  1
#define TOPO_TYPE_CORE	  2

/* Extended leaves. */
#define X1_ECX_PERFCTR_CORE (1u << 23)
#define X1_ECX_MONITORX	    (1u << 29)

/* The KVM paravirtual leaves. */
#define KVM_LEAF_SIGNATURE 0x40000000u
#define KVM_LEAF_FEATURES  0x40000001u
#define KVM_LEAF_TIMING	   0x40000010u /* TSC and APIC bus frequencies, kHz */
#define KVM_SIG_EBX	   0x4b4d564bu /* "KVMK" */
#define KVM_SIG_ECX	   0x564b4d56u /* "VMKV" */
#define KVM_SIG_EDX	   0x0000004du /* "M\0\0\0" */
/* KVM's default APIC bus cycle is 1 ns: 1 GHz, reported in kHz. */
#define KVM_APIC_BUS_KHZ 1000000u

struct builder {
	struct kvm_cpuid2 *t;
	u32 cap;
};

static struct kvm_cpuid_entry2 *add(struct builder *b, u32 function, u32 index, u32 flags)
{
	struct kvm_cpuid_entry2 *en;

	if (b->t->nent >= b->cap)
		return NULL;
	en = &b->t->entries[b->t->nent++];
	memset(en, 0, sizeof(*en));
	en->function = function;
	en->index = index;
	en->flags = flags;
	return en;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *t, u32 function, u32 index)
{
	for (u32 i = 0; i < t->nent; i++) {
		struct kvm_cpuid_entry2 *en = &t->entries[i];
		if (en->function == function &&
		    (!(en->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || en->index == index))
			return en;
	}
	return NULL;
}

static bool has_leaf(const struct kvm_cpuid2 *t, u32 function)
{
	for (u32 i = 0; i < t->nent; i++)
		if (t->entries[i].function == function)
			return true;
	return false;
}

/* ceil(log2(n)) for n >= 1: the APIC ID bits a level with n members needs. */
static u32 order(u32 n)
{
	u32 s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

/* x2APIC topology (0xB, 0x1F): an SMT level of 1 thread, a core level of ncpus. */
static int add_topology(struct builder *b, u32 leaf, const struct x86_cpuid_config *cfg)
{
	static const u32 types[] = {TOPO_TYPE_SMT, TOPO_TYPE_CORE, TOPO_TYPE_INVALID};
	u32 core_shift = order(cfg->ncpus);

	for (u32 i = 0; i < ARRAY_SIZE(types); i++) {
		struct kvm_cpuid_entry2 *en = add(b, leaf, i, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);

		if (!en)
			return -ENOSPC;
		en->ecx = types[i] << 8 | i;
		en->edx = cfg->vcpu_index;
		if (types[i] == TOPO_TYPE_SMT) {
			en->eax = 0;
			en->ebx = 1;
		} else if (types[i] == TOPO_TYPE_CORE) {
			en->eax = core_shift;
			en->ebx = cfg->ncpus & 0xffff;
		}
	}
	return 0;
}

static void fix_leaf1(struct kvm_cpuid_entry2 *en, const struct x86_cpuid_config *cfg)
{
	u32 ids = 1u << order(cfg->ncpus);

	/* Addressable logical processor IDs per package: an 8-bit field. */
	if (ids > 0xff)
		ids = 0xff;
	en->ebx = (en->ebx & L1_EBX_KEEP) | (cfg->vcpu_index & 0xff) << 24 | ids << 16;
	if (cfg->ncpus > 1)
		en->edx |= L1_EDX_HTT;
	else
		en->edx &= ~L1_EDX_HTT;
	/* merak does not want guests to idle with MWAIT; and there is no PMU. */
	en->ecx &= ~(L1_ECX_MONITOR | L1_ECX_PDCM);
	en->ecx |= L1_ECX_HYPERVISOR;
}

/*
 * Leaf 4: L1 and L2 belong to one core (one thread), L3 to the package. Both
 * counts are "addressable IDs - 1", i.e. powers of two, as the SDM defines them.
 */
static void fix_leaf4(struct kvm_cpuid_entry2 *en, const struct x86_cpuid_config *cfg)
{
	u32 pkg_ids = (1u << order(cfg->ncpus)) - 1;
	u32 sharing = 0, cores = MIN(pkg_ids, L4_EAX_CORES_MAX);

	if ((en->eax & L4_EAX_TYPE_MASK) == 0)
		return; /* the terminating "no more caches" sub-leaf */
	if (L4_EAX_LEVEL(en->eax) >= 3)
		sharing = MIN(pkg_ids, L4_EAX_SHARING_MAX);
	en->eax = (en->eax & L4_EAX_KEEP) | sharing << 14 | cores << 26;
}

/* AMD's extended APIC ID leaf: core ID = APIC ID, one thread per core, one node. */
static void fix_leaf_8000001e(struct kvm_cpuid_entry2 *en, const struct x86_cpuid_config *cfg)
{
	en->eax = cfg->vcpu_index;
	en->ebx = cfg->vcpu_index & 0xff;
	en->ecx = 0;
	en->edx = 0;
}

int x86_cpuid_build(const struct kvm_cpuid2 *supported, const struct x86_cpuid_config *cfg,
		    struct kvm_cpuid2 **out, struct err *e)
{
	struct builder b;
	struct kvm_cpuid_entry2 *en;
	bool has_0b, has_1f;
	int r = -ENOSPC;

	*out = NULL;
	if (!supported)
		return errf(e, -EINVAL, "CPUID: no supported table to start from");
	if (supported->nent > CPUID_MAX_ENTRIES)
		return errf(e, -E2BIG, "CPUID: the supported table has %u entries, more than %u",
			    supported->nent, CPUID_MAX_ENTRIES);
	if (cfg->ncpus == 0 || cfg->ncpus > CPUID_MAX_VCPUS)
		return errf(e, -EINVAL, "CPUID: %u vCPUs is outside 1..%u", cfg->ncpus,
			    CPUID_MAX_VCPUS);
	if (cfg->vcpu_index >= cfg->ncpus)
		return errf(e, -EINVAL, "CPUID: vCPU index %u is not below the vCPU count %u",
			    cfg->vcpu_index, cfg->ncpus);
	if (cfg->tsc_khz > UINT32_MAX)
		return errf(e, -EINVAL, "CPUID: TSC frequency %llu kHz does not fit leaf 0x%x",
			    (unsigned long long)cfg->tsc_khz, KVM_LEAF_TIMING);

	/* Room for the regenerated topology sub-leaves and the KVM leaves. */
	b.cap = supported->nent + 12;
	b.t = calloc(1, sizeof(*b.t) + b.cap * sizeof(b.t->entries[0]));
	if (!b.t)
		return errf(e, -ENOMEM, "CPUID: out of memory for %u entries", b.cap);

	has_0b = has_leaf(supported, 0xb);
	has_1f = has_leaf(supported, 0x1f);
	for (u32 i = 0; i < supported->nent; i++) {
		const struct kvm_cpuid_entry2 *s = &supported->entries[i];

		/* Rebuilt below: the host's sub-leaves describe the host. */
		if (s->function == 0xb || s->function == 0x1f || s->function == KVM_LEAF_TIMING)
			continue;
		en = add(&b, s->function, s->index, s->flags);
		if (!en)
			goto fail;
		*en = *s;
		switch (s->function) {
		case 1:
			fix_leaf1(en, cfg);
			break;
		case 4:
			fix_leaf4(en, cfg);
			break;
		case 0xa:	 /* architectural PMU: none offered */
		case 0x80000022: /* AMD PerfMonV2 */
			en->eax = en->ebx = en->ecx = en->edx = 0;
			break;
		case 0x80000001:
			en->ecx &= ~(X1_ECX_MONITORX | X1_ECX_PERFCTR_CORE);
			break;
		case 0x8000001e:
			fix_leaf_8000001e(en, cfg);
			break;
		}
	}
	if (has_0b && add_topology(&b, 0xb, cfg) < 0)
		goto fail;
	if (has_1f && add_topology(&b, 0x1f, cfg) < 0)
		goto fail;

	en = find(b.t, KVM_LEAF_SIGNATURE, 0);
	if (!en && !(en = add(&b, KVM_LEAF_SIGNATURE, 0, 0)))
		goto fail;
	en->eax = cfg->tsc_khz ? KVM_LEAF_TIMING : KVM_LEAF_FEATURES;
	en->ebx = KVM_SIG_EBX;
	en->ecx = KVM_SIG_ECX;
	en->edx = KVM_SIG_EDX;
	/* Feature bits stay as KVM reports them; an absent leaf means none. */
	if (!find(b.t, KVM_LEAF_FEATURES, 0) && !add(&b, KVM_LEAF_FEATURES, 0, 0))
		goto fail;
	if (cfg->tsc_khz) {
		en = add(&b, KVM_LEAF_TIMING, 0, 0);
		if (!en)
			goto fail;
		en->eax = (u32)cfg->tsc_khz;
		en->ebx = KVM_APIC_BUS_KHZ;
	}
	*out = b.t;
	return 0;
fail:
	free(b.t);
	return errf(e, r, "CPUID: table for vCPU %u needs more than %u entries", cfg->vcpu_index,
		    b.cap);
}
