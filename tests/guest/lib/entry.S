/* SPDX-License-Identifier: MIT */
/*
 * Entry code of the test guests: the PVH 32-bit entry (EBX = hvm_start_info),
 * the Linux 64-bit entry at load address + 0x200 (RSI = boot_params), the
 * exception/interrupt stubs, and the real-mode trampoline APs start in.
 */
#define GDT_CODE64 0x08
#define GDT_DATA   0x10
#define GDT_CODE32 0x18
#define TRAMPOLINE 0x10000
/* One 4 KiB stack per AP: merak starts up to 64 vCPUs (MAX_VCPUS), so 63 APs. */
#define AP_STACKS  63

	.section .note.Xen, "a"
	.balign 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.section .head32, "ax"
	.code32
	/* A Linux loader could enter here in 32-bit mode; merak never does. */
1:	hlt
	jmp 1b

	.section .text.pvh, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	mov %ebx, %edi
	mov $boot_stack_top, %esp
	/* Identity-map 4 GiB with 2 MiB pages: PML4 -> PDPT -> 4 PDs. */
	mov $pml4, %eax
	movl $(pdpt + 3), (%eax)
	mov $pdpt, %eax
	movl $(pd + 0x0003), 0(%eax)
	movl $(pd + 0x1003), 8(%eax)
	movl $(pd + 0x2003), 16(%eax)
	movl $(pd + 0x3003), 24(%eax)
	mov $pd, %ebx
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax
	mov %eax, (%ebx,%ecx,8)
	mov %ecx, %eax
	shr $11, %eax
	mov %eax, 4(%ebx,%ecx,8)
	inc %ecx
	cmp $2048, %ecx
	jne 2b
	mov %cr4, %eax
	or $0x20, %eax			/* PAE */
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx		/* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax		/* PG | PE */
	mov %eax, %cr0
	lgdt gdt_desc
	ljmp $GDT_CODE64, $pvh_long

	.code64
pvh_long:
	mov %edi, %esi			/* hvm_start_info */
	mov $1, %edi			/* BOOT_PVH */
	jmp common_start

	/* The Linux 64-bit entry: load address + 0x200 (see the linker script). */
	.section .entry64, "ax"
	.globl linux_start
linux_start:
	cli
	mov $2, %edi			/* BOOT_LINUX; RSI = boot_params */
	lgdt gdt_desc
	/* merak's identity page tables (low memory) stay in use. */
	jmp common_start

	.text
common_start:
	lea boot_stack_top(%rip), %rsp
	mov $GDT_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	pushq $GDT_CODE64
	lea 1f(%rip), %rax
	pushq %rax
	lretq
1:	call guest_start
2:	cli
	hlt
	jmp 2b

/* Exception and interrupt stubs: push a dummy error code where the CPU does not. */
.macro STUB vec, has_err
	.globl isr_\vec
isr_\vec:
	.if \has_err == 0
	pushq $0
	.endif
	pushq $\vec
	jmp isr_common
.endm

	STUB 0,0
	STUB 1,0
	STUB 2,0
	STUB 3,0
	STUB 4,0
	STUB 5,0
	STUB 6,0
	STUB 7,0
	STUB 8,1
	STUB 9,0
	STUB 10,1
	STUB 11,1
	STUB 12,1
	STUB 13,1
	STUB 14,1
	STUB 15,0
	STUB 16,0
	STUB 17,1
	STUB 18,0
	STUB 19,0
	STUB 20,0
	STUB 21,1
	STUB 48,0
	STUB 49,0
	STUB 50,0
	STUB 51,0
	STUB 52,0
	STUB 53,0
	STUB 54,0
	STUB 55,0
	STUB 56,0
	STUB 57,0
	STUB 58,0
	STUB 59,0
	STUB 60,0
	STUB 61,0
	STUB 62,0
	STUB 63,0
	STUB 255,0

isr_common:
	push %rbx
	push %rax
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %r8
	push %r9
	push %r10
	push %r11
	mov %rsp, %rdi			/* struct trap_frame * */
	mov %rsp, %rbx
	and $-16, %rsp
	call trap_dispatch
	mov %rbx, %rsp
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rax
	pop %rbx
	add $16, %rsp			/* vector and error code */
	iretq

/*
 * Where a started AP lands in long mode: take a stack of its own (the n-th
 * AP to arrive the n-th of AP_STACKS pages; one beyond them halts rather
 * than run on someone else's stack), call ap_main.
 */
	.globl ap_entry
ap_entry:
	mov $GDT_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $1, %eax
	lock xadd %eax, ap_next(%rip)
	inc %eax
	cmp $AP_STACKS, %eax
	ja 3f
	shl $12, %rax
	lea ap_stacks(%rip), %rsp
	add %rax, %rsp
	call ap_main
3:	cli
	hlt
	jmp 3b

/*
 * The AP trampoline, copied to TRAMPOLINE (SIPI vector 0x10): real mode ->
 * protected mode -> long mode with the BSP's page tables -> ap_entry.
 */
	.section .rodata
	.globl trampoline_start, trampoline_end, trampoline_cr3, trampoline_target
	.code16
trampoline_start:
	cli
	mov %cs, %ax
	mov %ax, %ds
	lgdtl (tr_gdt_desc - trampoline_start)
	mov %cr0, %eax
	or $1, %eax
	mov %eax, %cr0
	ljmpl $GDT_CODE32, $(TRAMPOLINE + (tr_32 - trampoline_start))
	.code32
tr_32:
	mov $GDT_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %cr4, %eax
	or $0x20, %eax
	mov %eax, %cr4
	mov (TRAMPOLINE + (trampoline_cr3 - trampoline_start)), %eax
	mov %eax, %cr3
	mov $0xc0000080, %ecx
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
	ljmp $GDT_CODE64, $(TRAMPOLINE + (tr_64 - trampoline_start))
	.code64
tr_64:
	mov (TRAMPOLINE + (trampoline_target - trampoline_start)), %rax
	jmp *%rax
	.balign 8
tr_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 code64 */
	.quad 0x00cf92000000ffff	/* 0x10 data */
	.quad 0x00cf9a000000ffff	/* 0x18 code32 */
tr_gdt_desc:
	.word tr_gdt_desc - tr_gdt - 1
	.long TRAMPOLINE + (tr_gdt - trampoline_start)
	.balign 8
trampoline_cr3:
	.quad 0
trampoline_target:
	.quad 0
trampoline_end:
	.code64

	.data
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08 code64 */
	.quad 0x00cf92000000ffff	/* 0x10 data */
	.quad 0x00cf9a000000ffff	/* 0x18 code32 */
gdt_end:
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.quad gdt
	.globl ap_next
ap_next:
	.long 0

	.bss
	.balign 4096
	.globl pml4
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4 * 4096
	.globl ap_stacks
ap_stacks:
	.skip AP_STACKS * 4096
	.skip 16384
boot_stack_top:
