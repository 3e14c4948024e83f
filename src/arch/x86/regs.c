// SPDX-License-Identifier: MIT
/*
 * Boot vCPU state per boot mode. Segment registers are decoded from the very
 * GDT written to guest memory, so the hidden parts KVM loads always agree
 * with what the guest would read back with a selector reload.
 */
#include "arch/x86/regs.h"

#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"

#define CR0_PE	 (1ULL << 0)
#define CR0_ET	 (1ULL << 4)
#define CR0_NE	 (1ULL << 5)
#define CR0_NW	 (1ULL << 29)
#define CR0_CD	 (1ULL << 30)
#define CR0_PG	 (1ULL << 31)
#define CR4_PAE	 (1ULL << 5)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

#define PTE_P  (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7)

#define RFLAGS_RESERVED 0x2ULL /* bit 1 always reads as 1 */
#define RESET_RIP	0xfff0ULL

#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MISC_ENABLE_FAST_STRING (1ULL << 0)
#define MTRR_DEF_TYPE_E		(1ULL << 11) /* variable MTRRs enabled */
#define MTRR_TYPE_WB		6ULL

/* The GDT shared by both direct-boot modes; selector = index * 8. */
enum {
	GDT_NULL,
	GDT_CODE32, /* 0x08: PVH's CS */
	GDT_CODE64, /* 0x10: __BOOT_CS of the Linux boot protocol */
	GDT_DATA,   /* 0x18: __BOOT_DS */
	GDT_TSS,    /* 0x20: 16 bytes, a long-mode system descriptor */
	GDT_TSS_HI,
	GDT_ENTRIES,
};

static const u64 gdt_table[GDT_ENTRIES] = {
    [GDT_NULL] = 0,
    [GDT_CODE32] = 0x00cf9b000000ffffULL, /* base 0, 4 GiB, exec/read, D=1 */
    [GDT_CODE64] = 0x00af9b000000ffffULL, /* L=1 */
    [GDT_DATA] = 0x00cf93000000ffffULL,	  /* base 0, 4 GiB, read/write, B=1 */
    /* Busy TSS (type 11), base 0, limit 0x67: what TR must look like at PVH entry. */
    [GDT_TSS] = 0x00008b0000000067ULL,
    [GDT_TSS_HI] = 0, /* base bits 63:32 */
};

_Static_assert(LAYOUT_GDT + sizeof(gdt_table) <= LAYOUT_IDT, "the GDT runs into the IDT");

/* The hidden segment state a selector load of descriptor d would produce. */
static struct kvm_segment seg_from_desc(u64 d, u16 selector)
{
	struct kvm_segment s;
	u32 limit = (u32)((d & 0xffff) | ((d >> 48) & 0xf) << 16);

	memset(&s, 0, sizeof(s));
	s.selector = selector;
	s.base = ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
	s.g = (d >> 55) & 1;
	s.limit = s.g ? (limit << 12) | 0xfff : limit;
	s.type = (d >> 40) & 0xf;
	s.s = (d >> 44) & 1;
	s.dpl = (d >> 45) & 3;
	s.present = (d >> 47) & 1;
	s.avl = (d >> 52) & 1;
	s.l = (d >> 53) & 1;
	s.db = (d >> 54) & 1;
	return s;
}

static int write_gdt(struct guest_mem *gm, struct kvm_sregs *sregs, struct err *e)
{
	u8 buf[sizeof(gdt_table)];

	for (unsigned i = 0; i < GDT_ENTRIES; i++)
		put_le64(buf + 8 * i, gdt_table[i]);
	if (guest_mem_write(gm, LAYOUT_GDT, buf, sizeof(buf), e) < 0)
		return err_ctx(e, "boot GDT");
	sregs->gdt.base = LAYOUT_GDT;
	sregs->gdt.limit = sizeof(gdt_table) - 1;
	/* No IDT yet: any exception before the guest loads one is a triple fault. */
	sregs->idt.base = LAYOUT_IDT;
	sregs->idt.limit = 0;
	return 0;
}

static void load_segments(struct kvm_sregs *sregs, unsigned code)
{
	struct kvm_segment data = seg_from_desc(gdt_table[GDT_DATA], GDT_DATA * 8);

	sregs->cs = seg_from_desc(gdt_table[code], (u16)(code * 8));
	sregs->ds = data;
	sregs->es = data;
	sregs->fs = data;
	sregs->gs = data;
	sregs->ss = data;
	sregs->tr = seg_from_desc(gdt_table[GDT_TSS], GDT_TSS * 8);
}

/*
 * Identity map of the low 4 GiB with 2 MiB pages: one PML4 entry, four PDPT
 * entries, four page directories of 512 entries.
 */
static int write_page_tables(struct guest_mem *gm, struct err *e)
{
	u8 buf[PAGE_SIZE];

	memset(buf, 0, sizeof(buf));
	put_le64(buf, LAYOUT_PDPT | PTE_P | PTE_RW);
	if (guest_mem_write(gm, LAYOUT_PML4, buf, sizeof(buf), e) < 0)
		return err_ctx(e, "boot page tables: PML4");
	memset(buf, 0, sizeof(buf));
	for (u64 i = 0; i < 4; i++)
		put_le64(buf + 8 * i, (LAYOUT_PD + i * PAGE_SIZE) | PTE_P | PTE_RW);
	if (guest_mem_write(gm, LAYOUT_PDPT, buf, sizeof(buf), e) < 0)
		return err_ctx(e, "boot page tables: PDPT");
	for (u64 i = 0; i < 4; i++) {
		for (u64 j = 0; j < 512; j++)
			put_le64(buf + 8 * j, ((i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS);
		if (guest_mem_write(gm, LAYOUT_PD + i * PAGE_SIZE, buf, sizeof(buf), e) < 0)
			return err_ctx(e, "boot page tables: page directory %llu",
				       (unsigned long long)i);
	}
	return 0;
}

static int setup_linux64(struct guest_mem *gm, const struct boot_entry *be, struct kvm_regs *regs,
			 struct kvm_sregs *sregs, struct err *e)
{
	int r = write_gdt(gm, sregs, e);

	if (r < 0)
		return r;
	r = write_page_tables(gm, e);
	if (r < 0)
		return r;
	load_segments(sregs, GDT_CODE64);
	sregs->cr0 = (sregs->cr0 & ~(CR0_CD | CR0_NW)) | CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs->cr3 = LAYOUT_PML4;
	sregs->cr4 = CR4_PAE;
	sregs->efer = EFER_LME | EFER_LMA;

	memset(regs, 0, sizeof(*regs));
	regs->rip = be->entry;
	regs->rsi = be->boot_info;
	/* The protocol needs no stack at entry; a valid one costs nothing. */
	regs->rsp = LAYOUT_BOOT_STACK;
	regs->rbp = LAYOUT_BOOT_STACK;
	regs->rflags = RFLAGS_RESERVED;
	return 0;
}

/* The PVH entry state of Xen's docs/misc/pvh.pandoc. */
static int setup_pvh(struct guest_mem *gm, const struct boot_entry *be, struct kvm_regs *regs,
		     struct kvm_sregs *sregs, struct err *e)
{
	int r;

	if (be->entry > UINT32_MAX || be->boot_info > UINT32_MAX)
		return errf(e, -EINVAL, "PVH entry 0x%llx / start info 0x%llx must lie below 4 GiB",
			    (unsigned long long)be->entry, (unsigned long long)be->boot_info);
	r = write_gdt(gm, sregs, e);
	if (r < 0)
		return r;
	load_segments(sregs, GDT_CODE32);
	/* PE set, every other writable bit clear; paging off. */
	sregs->cr0 = CR0_PE | CR0_ET;
	sregs->cr3 = 0;
	sregs->cr4 = 0;
	sregs->efer = 0;

	memset(regs, 0, sizeof(*regs));
	regs->rip = be->entry;
	regs->rbx = be->boot_info;
	regs->rflags = RFLAGS_RESERVED; /* VM, IF and TF clear */
	return 0;
}

int x86_setup_boot_regs(struct guest_mem *gm, const struct boot_entry *entry, struct kvm_regs *regs,
			struct kvm_sregs *sregs, struct err *e)
{
	switch (entry->mode) {
	case BOOT_MODE_LINUX64:
		return setup_linux64(gm, entry, regs, sregs, e);
	case BOOT_MODE_PVH:
		return setup_pvh(gm, entry, regs, sregs, e);
	case BOOT_MODE_RESET:
		/*
		 * KVM's post-create sregs are the architectural reset state (CS
		 * selector 0xF000, base 0xFFFF0000, real mode), so only the
		 * instruction pointer and flags are set and the rest of regs is
		 * left as passed in.
		 */
		regs->rip = RESET_RIP;
		regs->rflags = RFLAGS_RESERVED;
		return 0;
	}
	return errf(e, -EINVAL, "boot registers: unknown boot mode %d", (int)entry->mode);
}

/*
 * The SYSCALL/SYSENTER MSRs zeroed, fast strings on and MTRRs enabled with
 * write-back as the default type (fixed-range MTRRs off), as other KVM VMMs
 * start Linux. The TSC is not in the list: each vCPU keeps KVM's value, so
 * that APs set up later stay in step with the boot vCPU.
 */
static const struct kvm_msr_entry boot_msrs[] = {
    {.index = MSR_IA32_SYSENTER_CS},
    {.index = MSR_IA32_SYSENTER_ESP},
    {.index = MSR_IA32_SYSENTER_EIP},
    {.index = MSR_STAR},
    {.index = MSR_LSTAR},
    {.index = MSR_CSTAR},
    {.index = MSR_SYSCALL_MASK},
    {.index = MSR_KERNEL_GS_BASE},
    {.index = MSR_IA32_MISC_ENABLE, .data = MISC_ENABLE_FAST_STRING},
    {.index = MSR_MTRR_DEF_TYPE, .data = MTRR_DEF_TYPE_E | MTRR_TYPE_WB},
};

unsigned x86_boot_msrs(struct kvm_msr_entry *out, unsigned max)
{
	unsigned n = MIN((unsigned)ARRAY_SIZE(boot_msrs), max);

	memcpy(out, boot_msrs, n * sizeof(*out));
	return n;
}
