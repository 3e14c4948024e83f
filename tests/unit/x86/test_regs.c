// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/layout.h"
#include "arch/x86/regs.h"

/* sregs roughly as KVM returns them after KVM_CREATE_VCPU. */
static void reset_sregs(struct kvm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	s->cs = (struct kvm_segment){.base = 0xffff0000,
				     .limit = 0xffff,
				     .selector = 0xf000,
				     .type = 11,
				     .present = 1,
				     .s = 1};
	s->ds = s->es = s->fs = s->gs = s->ss =
	    (struct kvm_segment){.limit = 0xffff, .type = 3, .present = 1, .s = 1};
	s->tr = (struct kvm_segment){.limit = 0xffff, .type = 11, .present = 1};
	s->ldt = (struct kvm_segment){.limit = 0xffff, .type = 2, .present = 1};
	s->gdt.limit = s->idt.limit = 0xffff;
	s->cr0 = 0x60000010;
	s->apic_base = 0xfee00900;
}

static struct guest_mem gm;

static int setup(void **state)
{
	struct err e;

	guest_mem_init(&gm);
	return guest_mem_add_anon(&gm, 0, 2 * MiB, MEM_RAM, &e);
}

static int teardown(void **state)
{
	guest_mem_free(&gm);
	return 0;
}

static u64 rd64(u64 gpa)
{
	u8 b[8];
	struct err e;

	assert_int_equal(guest_mem_read(&gm, gpa, b, 8, &e), 0);
	return get_le64(b);
}

/* A 4-level walk as the CPU does it for the tables merak wrote; false if not mapped. */
static bool translate(u64 cr3, u64 va, u64 *pa)
{
	u64 pml4e = rd64((cr3 & ~0xfffULL) + ((va >> 39) & 511) * 8);
	u64 pdpte, pde;

	if (!(pml4e & 1))
		return false;
	assert_false(pml4e & 0x80);
	pdpte = rd64((pml4e & 0xffffffffff000ULL) + ((va >> 30) & 511) * 8);
	if (!(pdpte & 1))
		return false;
	assert_false(pdpte & 0x80); /* no 1 GiB pages */
	pde = rd64((pdpte & 0xffffffffff000ULL) + ((va >> 21) & 511) * 8);
	if (!(pde & 1))
		return false;
	assert_true(pde & 0x80); /* 2 MiB page */
	assert_true(pde & 2);	 /* writable */
	*pa = (pde & 0xfffffffe00000ULL) | (va & 0x1fffff);
	return true;
}

static void check_seg(const struct kvm_segment *s, u16 sel, u8 type, u8 s_bit, u8 db, u8 l,
		      u32 limit, u8 g)
{
	assert_int_equal(s->selector, sel);
	assert_int_equal(s->base, 0);
	assert_int_equal(s->limit, limit);
	assert_int_equal(s->type, type);
	assert_int_equal(s->present, 1);
	assert_int_equal(s->dpl, 0);
	assert_int_equal(s->s, s_bit);
	assert_int_equal(s->db, db);
	assert_int_equal(s->l, l);
	assert_int_equal(s->g, g);
	assert_int_equal(s->unusable, 0);
}

static void check_data_segs(const struct kvm_sregs *s)
{
	const struct kvm_segment *d[] = {&s->ds, &s->es, &s->fs, &s->gs, &s->ss};

	for (unsigned i = 0; i < ARRAY_SIZE(d); i++)
		check_seg(d[i], 0x18, 3, 1, 1, 0, 0xffffffff, 1);
}

static void test_gdt_bytes(void **state)
{
	static const u8 want[48] = {
	    0,	  0,	0, 0, 0, 0,    0,    0, /* null */
	    0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, /* 0x08 code32 */
	    0xff, 0xff, 0, 0, 0, 0x9b, 0xaf, 0, /* 0x10 code64 */
	    0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0, /* 0x18 data */
	    0x67, 0,	0, 0, 0, 0x8b, 0,    0, /* 0x20 busy TSS */
	    0,	  0,	0, 0, 0, 0,    0,    0, /* its upper half */
	};
	struct boot_entry be = {.mode = BOOT_MODE_LINUX64, .entry = 0x1000000};
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct err e;
	u8 got[48];

	reset_sregs(&sregs);
	assert_int_equal(x86_setup_boot_regs(&gm, &be, &regs, &sregs, &e), 0);
	assert_int_equal(guest_mem_read(&gm, LAYOUT_GDT, got, sizeof(got), &e), 0);
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(sregs.gdt.base, LAYOUT_GDT);
	assert_int_equal(sregs.gdt.limit, 47);
	assert_int_equal(sregs.idt.base, LAYOUT_IDT);
	assert_int_equal(sregs.idt.limit, 0);
	assert_true(LAYOUT_GDT + 48 <= LAYOUT_IDT);
}

static void test_linux64(void **state)
{
	struct boot_entry be = {
	    .mode = BOOT_MODE_LINUX64, .entry = 0x1000200, .boot_info = LAYOUT_ZERO_PAGE};
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct err e;

	memset(&regs, 0x5a, sizeof(regs));
	reset_sregs(&sregs);
	assert_int_equal(x86_setup_boot_regs(&gm, &be, &regs, &sregs, &e), 0);
	assert_int_equal(regs.rip, 0x1000200);
	assert_int_equal(regs.rsi, LAYOUT_ZERO_PAGE);
	assert_int_equal(regs.rflags, 2);
	assert_int_equal(regs.rsp, LAYOUT_BOOT_STACK);
	assert_int_equal(regs.rax | regs.rbx | regs.rcx | regs.rdx | regs.rdi | regs.r8 | regs.r15,
			 0);
	assert_int_equal(sregs.cr0, 0x80000031); /* PG NE ET PE, caches on */
	assert_int_equal(sregs.cr3, LAYOUT_PML4);
	assert_int_equal(sregs.cr4, 0x20);
	assert_int_equal(sregs.efer, 0x500);
	assert_int_equal(sregs.apic_base, 0xfee00900); /* untouched */
	check_seg(&sregs.cs, 0x10, 11, 1, 0, 1, 0xffffffff, 1);
	check_data_segs(&sregs);
	check_seg(&sregs.tr, 0x20, 11, 0, 0, 0, 0x67, 0);
	/* LDT keeps KVM's value. */
	assert_int_equal(sregs.ldt.type, 2);
}

static void test_page_tables(void **state)
{
	static const u64 addrs[] = {0,		0x1234,	    0x1fffff,	0x200000,   0x1234567,
				    0x7fffffff, 0xc0000000, 0xfec00000, 0xfee00ff0, 0xffffffff};
	struct boot_entry be = {.mode = BOOT_MODE_LINUX64, .entry = 0x100000};
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct err e;
	u64 pa;

	/* Junk first, to see that the unused entries are cleared. */
	u8 junk[3 * 4096];
	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(guest_mem_write(&gm, LAYOUT_PML4, junk, sizeof(junk), &e), 0);
	reset_sregs(&sregs);
	assert_int_equal(x86_setup_boot_regs(&gm, &be, &regs, &sregs, &e), 0);
	for (unsigned i = 0; i < ARRAY_SIZE(addrs); i++) {
		assert_true(translate(sregs.cr3, addrs[i], &pa));
		assert_int_equal(pa, addrs[i]);
	}
	/* Nothing above 4 GiB, nothing in other PML4 slots. */
	assert_false(translate(sregs.cr3, 0x100000000ULL, &pa));
	assert_false(translate(sregs.cr3, 0x7fffffffffULL, &pa));
	assert_false(translate(sregs.cr3, 1ULL << 39, &pa));
	assert_false(translate(sregs.cr3, 0xffffffff80000000ULL, &pa));
	assert_int_equal(rd64(LAYOUT_PML4), LAYOUT_PDPT | 3);
	assert_int_equal(rd64(LAYOUT_PDPT + 24), (LAYOUT_PD + 3 * 4096) | 3);
	assert_int_equal(rd64(LAYOUT_PD + 4096 + 8), (513ULL << 21) | 0x83);
}

static void test_pvh(void **state)
{
	struct boot_entry be = {
	    .mode = BOOT_MODE_PVH, .entry = 0x1000000, .boot_info = LAYOUT_PVH_START_INFO};
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct err e;

	memset(&regs, 0x5a, sizeof(regs));
	reset_sregs(&sregs);
	sregs.cr4 = 0x20;
	sregs.efer = 0x500;
	assert_int_equal(x86_setup_boot_regs(&gm, &be, &regs, &sregs, &e), 0);
	assert_int_equal(regs.rip, 0x1000000);
	assert_int_equal(regs.rbx, LAYOUT_PVH_START_INFO);
	assert_int_equal(regs.rsi, 0);
	assert_int_equal(regs.rflags, 2); /* VM (17), IF (9), TF (8) clear */
	assert_int_equal(sregs.cr0, 0x11);
	assert_int_equal(sregs.cr3, 0);
	assert_int_equal(sregs.cr4, 0);
	assert_int_equal(sregs.efer, 0);
	check_seg(&sregs.cs, 0x08, 11, 1, 1, 0, 0xffffffff, 1);
	check_data_segs(&sregs);
	check_seg(&sregs.tr, 0x20, 11, 0, 0, 0, 0x67, 0);
	assert_int_equal(sregs.gdt.base, LAYOUT_GDT);
	assert_int_equal(rd64(LAYOUT_GDT + 8), 0x00cf9b000000ffffULL);
}

static void test_pvh_entry_above_4g(void **state)
{
	struct boot_entry be = {
	    .mode = BOOT_MODE_PVH, .entry = 0x100000000ULL, .boot_info = LAYOUT_PVH_START_INFO};
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct err e;

	reset_sregs(&sregs);
	assert_int_equal(x86_setup_boot_regs(&gm, &be, &regs, &sregs, &e), -EINVAL);
	assert_string_equal(e.msg,
			    "PVH entry 0x100000000 / start info 0x6000 must lie below 4 GiB");
}

static void test_reset(void **state)
{
	struct boot_entry be = {.mode = BOOT_MODE_RESET};
	struct kvm_regs regs;
	struct kvm_sregs sregs, before;
	struct err e;
	u8 gdt[48], zero[48] = {0};

	assert_int_equal(guest_mem_write(&gm, LAYOUT_GDT, zero, sizeof(zero), &e), 0);
	memset(&regs, 0, sizeof(regs));
	regs.rdx = 0x600; /* KVM's reset signature survives */
	reset_sregs(&sregs);
	before = sregs;
	assert_int_equal(x86_setup_boot_regs(&gm, &be, &regs, &sregs, &e), 0);
	assert_int_equal(regs.rip, 0xfff0);
	assert_int_equal(regs.rflags, 2);
	assert_int_equal(regs.rdx, 0x600);
	assert_memory_equal(&sregs, &before, sizeof(sregs));
	assert_int_equal(sregs.cs.base + regs.rip, 0xfffffff0);
	/* Nothing written to guest memory. */
	assert_int_equal(guest_mem_read(&gm, LAYOUT_GDT, gdt, sizeof(gdt), &e), 0);
	assert_memory_equal(gdt, zero, sizeof(zero));
}

static void test_errors(void **state)
{
	struct boot_entry be = {.mode = BOOT_MODE_LINUX64, .entry = 0x100000};
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct guest_mem high;
	struct err e;

	/* No RAM at the low addresses the set-up needs. */
	guest_mem_init(&high);
	assert_int_equal(guest_mem_add_anon(&high, 1 * MiB, 1 * MiB, MEM_RAM, &e), 0);
	reset_sregs(&sregs);
	assert_int_equal(x86_setup_boot_regs(&high, &be, &regs, &sregs, &e), -EFAULT);
	assert_non_null(strstr(e.msg, "boot GDT: "));
	guest_mem_free(&high);

	/* RAM for the GDT but not the page tables (ends at 0x9000). */
	guest_mem_init(&high);
	assert_int_equal(guest_mem_add_anon(&high, 0, 0x9000, MEM_RAM, &e), 0);
	assert_int_equal(x86_setup_boot_regs(&high, &be, &regs, &sregs, &e), -EFAULT);
	assert_non_null(strstr(e.msg, "boot page tables: PML4: "));
	guest_mem_free(&high);

	be.mode = (enum boot_mode)42;
	assert_int_equal(x86_setup_boot_regs(&gm, &be, &regs, &sregs, &e), -EINVAL);
	assert_string_equal(e.msg, "boot registers: unknown boot mode 42");
}

static void test_msrs(void **state)
{
	struct kvm_msr_entry m[32];
	unsigned n;
	bool seen_misc = false, seen_mtrr = false, seen_lstar = false;

	memset(m, 0xee, sizeof(m));
	n = x86_boot_msrs(m, ARRAY_SIZE(m));
	assert_int_equal(n, 10);
	for (unsigned i = 0; i < n; i++) {
		assert_int_not_equal(m[i].index, 0x10); /* never the TSC */
		assert_int_equal(m[i].reserved, 0);
		if (m[i].index == 0x1a0) {
			assert_int_equal(m[i].data, 1);
			seen_misc = true;
		} else if (m[i].index == 0x2ff) {
			assert_int_equal(m[i].data, 0x806);
			seen_mtrr = true;
		} else {
			assert_int_equal(m[i].data, 0);
			seen_lstar |= m[i].index == 0xc0000082;
		}
	}
	assert_true(seen_misc && seen_mtrr && seen_lstar);
	assert_int_equal(m[n].index, 0xeeeeeeee);

	memset(m, 0xee, sizeof(m));
	assert_int_equal(x86_boot_msrs(m, 3), 3);
	assert_int_equal(m[3].index, 0xeeeeeeee);
	assert_int_equal(x86_boot_msrs(m, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_gdt_bytes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_linux64, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_page_tables, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pvh, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_pvh_entry_above_4g, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	    cmocka_unit_test(test_msrs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
