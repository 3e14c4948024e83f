// SPDX-License-Identifier: MIT
#include "tdx/td_cpuid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdx/caps.h"
#include "tdx/params.h"

/*
 * The registers that hold feature flags (the "feature words" of the Intel SDM's
 * CPUID tables). Only these are taken from the TD: the other registers of the
 * same leaves describe caches, sizes or this vCPU's place in the topology,
 * which KVM_TDX_GET_CPUID (one TD-wide answer) cannot say per vCPU.
 */
struct feature_reg {
	u32 function, index;
	u8 reg;	  /* 0..3: eax..edx */
	u32 keep; /* bits that stay as in the requested table */
};

#define EAX 0
#define EBX 1
#define ECX 2
#define EDX 3

static const struct feature_reg feature_regs[] = {
    {1, 0, ECX, 1u << 27}, /* OSXSAVE follows CR4, computed by KVM at run time */
    {1, 0, EDX, 1u << 28}, /* HTT describes this vCPU's package */
    {6, 0, EAX, 0},
    {7, 0, EBX, 0},
    {7, 0, ECX, 1u << 4}, /* OSPKE follows CR4 */
    {7, 0, EDX, 0},
    {7, 1, EAX, 0},
    {7, 1, EBX, 0},
    {7, 1, ECX, 0},
    {7, 1, EDX, 0},
    {7, 2, EDX, 0},
    {0xd, 0, EAX, 0},
    {0xd, 0, EDX, 0},
    {0xd, 1, EAX, 0},
    {0xd, 1, ECX, 0},
    {0xd, 1, EDX, 0},
    {0x14, 0, EBX, 0},
    {0x14, 0, ECX, 0},
    {0x19, 0, EBX, 0},
    {0x24, 0, EBX, 0},
    {0x80000001, 0, ECX, 0},
    /* SYSCALL reads as 1 only in 64-bit mode, so the module reports it clear. */
    {0x80000001, 0, EDX, 1u << 11},
    {0x80000007, 0, EDX, 0},
    {0x80000008, 0, EBX, 0},
};

static u32 *reg_of(struct kvm_cpuid_entry2 *en, unsigned r)
{
	switch (r) {
	case EAX:
		return &en->eax;
	case EBX:
		return &en->ebx;
	case ECX:
		return &en->ecx;
	default:
		return &en->edx;
	}
}

static u32 reg_val(const struct kvm_cpuid_entry2 *en, unsigned r)
{
	return r == EAX ? en->eax : r == EBX ? en->ebx : r == ECX ? en->ecx : en->edx;
}

void td_cpuid_mask_pv(struct kvm_cpuid2 *c)
{
	for (u32 i = 0; i < c->nent; i++)
		if (c->entries[i].function == KVM_CPUID_FEATURES)
			c->entries[i].eax &= TD_KVM_PV_FEATURES;
}

/* Matched on (function, index), flags aside: both tables keep the index of every leaf. */
static struct kvm_cpuid_entry2 *find_exact(struct kvm_cpuid2 *t, u32 fn, u32 idx)
{
	for (u32 i = 0; i < t->nent; i++)
		if (t->entries[i].function == fn && t->entries[i].index == idx)
			return &t->entries[i];
	return NULL;
}

static void note_off(struct td_cpuid_off *off, u32 fn, u32 idx, unsigned r, u32 bits)
{
	if (!bits)
		return;
	if (off->n == TD_CPUID_OFF_MAX) {
		off->truncated = true;
		return;
	}
	off->e[off->n].function = fn;
	off->e[off->n].index = idx;
	off->e[off->n].reg = (char)('a' + r);
	off->e[off->n].bits = bits;
	off->n++;
}

/* Takes the TD's feature bits of one leaf into t (which has room for one more entry). */
static void take_leaf(struct kvm_cpuid2 *t, const struct kvm_cpuid_entry2 *td,
		      const struct merak_kvm_tdx_capabilities *caps, struct td_cpuid_off *off)
{
	const struct kvm_cpuid_entry2 *cap = td_caps_find(caps, td->function, td->index);
	struct kvm_cpuid_entry2 *w = find_exact(t, td->function, td->index);

	for (size_t k = 0; k < ARRAY_SIZE(feature_regs); k++) {
		const struct feature_reg *f = &feature_regs[k];
		u32 had, now;

		if (f->function != td->function || f->index != td->index)
			continue;
		if (!w) {
			/* A leaf KVM did not report but the TD has: add it if it says anything. */
			if (!reg_val(td, f->reg))
				continue;
			w = &t->entries[t->nent++];
			memset(w, 0, sizeof(*w));
			w->function = td->function;
			w->index = td->index;
			w->flags = cpuid_leaf_indexed(td->function)
				       ? MERAK_KVM_CPUID_FLAG_SIGNIFCANT_INDEX
				       : 0;
		}
		had = reg_val(w, f->reg);
		now = (reg_val(td, f->reg) & ~f->keep) | (had & f->keep);
		/* Only configurable bits were asked of the module; the rest are KVM's offer. */
		if (cap)
			note_off(off, td->function, td->index, f->reg,
				 had & reg_val(cap, f->reg) & ~f->keep & ~now);
		*reg_of(w, f->reg) = now;
	}
	/* Address widths: GPAW in EAX[23:16] decides KVM's TDP level for a TD. */
	if (w && td->function == 0x80000008 && td->index == 0)
		w->eax = td->eax;
}

int td_cpuid_reconcile(const struct kvm_cpuid2 *want, const struct kvm_cpuid2 *td,
		       const struct merak_kvm_tdx_capabilities *caps, struct kvm_cpuid2 **out,
		       struct td_cpuid_off *off, struct err *e)
{
	struct kvm_cpuid2 *t;
	u32 cap;

	*out = NULL;
	memset(off, 0, sizeof(*off));
	if (want->nent > TD_CPUID_MAX_NENT || td->nent > TD_CPUID_MAX_NENT)
		return errf(e, -E2BIG, "TD CPUID: %u requested and %u TD entries, more than %u",
			    want->nent, td->nent, TD_CPUID_MAX_NENT);
	/* Each TD leaf adds at most one entry. */
	cap = want->nent + td->nent;
	t = malloc(sizeof(*t) + cap * sizeof(t->entries[0]));
	if (!t)
		return errf(e, -ENOMEM, "TD CPUID: out of memory for %u entries", cap);
	memcpy(t, want, sizeof(*t) + want->nent * sizeof(want->entries[0]));
	for (u32 i = 0; i < td->nent; i++)
		take_leaf(t, &td->entries[i], caps, off);
	*out = t;
	return 0;
}

/* Appends to buf, never past its end (a cut-off description is still one line). */
static void append(char *buf, size_t len, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*n >= len - 1)
		return;
	va_start(ap, fmt);
	w = vsnprintf(buf + *n, len - *n, fmt, ap);
	va_end(ap);
	if (w > 0)
		*n = MIN(*n + (size_t)w, len - 1);
}

void td_cpuid_off_describe(const struct td_cpuid_off *off, char *buf, size_t len)
{
	size_t n = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (u32 i = 0; i < off->n; i++) {
		append(buf, len, &n, "%s0x%x.%u e%cx", i ? ", " : "", off->e[i].function,
		       off->e[i].index, off->e[i].reg);
		for (unsigned b = 0; b < 32; b++) {
			const char *nm;

			if (!(off->e[i].bits & (1u << b)))
				continue;
			nm = tdx_cpuid_bit_name(off->e[i].function, off->e[i].index, off->e[i].reg,
						b);
			if (nm)
				append(buf, len, &n, " %s", nm);
			else
				append(buf, len, &n, " bit%u", b);
		}
	}
	if (off->truncated)
		append(buf, len, &n, ", ...");
}
