// SPDX-License-Identifier: MIT
/*
 * MSI delivery through KVM_SIGNAL_MSI against an irqfd (an eventfd bound to
 * an MSI GSI route), on a real VM: a 64-bit guest with the in-kernel
 * irqchip halts with interrupts on; its handler for vector 0x30 counts in
 * guest memory and EOIs. The host sends one MSI, spins until the count
 * moves, and repeats, alternating the two methods round by round.
 *
 *   irqbench [N_PER_ROUND [ROUNDS]]
 *
 * Per method and interrupt: the sending thread's CPU time in the send call
 * (the device worker's cost), the vCPU thread's CPU time, and the median
 * round trip (send to the guest's count seen). Prints one line per method:
 *   irqbench method=signal_msi n=... send_ns=... vcpu_ns=... rtt_med_ns=...
 * Uses only KVM's uapi, so it measures the two primitives, not merak.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE   0x100000
#define CODE	   0x1000
#define GDT	   0x500
#define IDT	   0x600
#define COUNT	   0x3000
#define PML4	   0x4000	/* then the PDPT and two page directories */
#define VECTOR	   0x30
#define MSI_GSI	   24
#define MSI_ADDR   0xfee00000u

/*
 * The guest, 64-bit code assembled here and copied to CODE (long mode: some
 * nested KVMs emulate 32-bit kernel code, and their emulator has no
 * protected-mode iret).
 */
__asm__(".pushsection .rodata\n"
	"guest_start:\n"
	"	mov $0xfee000f0, %eax\n"
	"	movl $0x1ff, (%rax)\n"		/* LAPIC software enable */
	"	sti\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	"guest_handler:\n"
	"	lock incl 0x3000\n"
	"	push %rax\n"
	"	mov $0xfee000b0, %eax\n"
	"	movl $0, (%rax)\n"		/* EOI */
	"	pop %rax\n"
	"	iretq\n"
	"guest_end:\n"
	".popsection\n");
extern const unsigned char guest_start[], guest_handler[], guest_end[];

struct bench {
	int kvm, vm, vcpu, efd;
	struct kvm_run *run;
	unsigned char *mem;
	pthread_t thread;
};

static void die(const char *what)
{
	fprintf(stderr, "irqbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t ns(clockid_t c)
{
	struct timespec t;

	clock_gettime(c, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void *vcpu_main(void *arg)
{
	struct bench *b = arg;

	for (;;) {
		if (ioctl(b->vcpu, KVM_RUN, 0) < 0 && errno != EINTR)
			die("KVM_RUN");
		if (b->run->exit_reason != KVM_EXIT_INTR) {
			struct kvm_regs r = {0};

			ioctl(b->vcpu, KVM_GET_REGS, &r);
			fprintf(stderr, "irqbench: unexpected exit %u (suberror %u) at rip 0x%llx\n",
				b->run->exit_reason, b->run->internal.suberror,
				(unsigned long long)r.rip);
			exit(1);
		}
	}
	return NULL;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	*s = (struct kvm_segment){.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
				  .present = 1, .db = 1, .s = 1, .g = 1};
}

static void setup(struct bench *b)
{
	struct kvm_userspace_memory_region reg;
	struct kvm_sregs sr;
	struct kvm_regs regs = {.rip = CODE, .rflags = 2, .rsp = 0x8000};
	uint64_t *gdt, *idt, *pt, h;
	struct kvm_cpuid2 *cpuid;
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} rt = {0};
	struct kvm_irqfd irqfd = {0};

	b->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (b->kvm < 0)
		die("/dev/kvm");
	b->vm = ioctl(b->kvm, KVM_CREATE_VM, 0);
	if (b->vm < 0)
		die("KVM_CREATE_VM");
	b->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->mem == MAP_FAILED)
		die("mmap");
	reg = (struct kvm_userspace_memory_region){.memory_size = MEM_SIZE,
						   .userspace_addr = (uintptr_t)b->mem};
	if (ioctl(b->vm, KVM_SET_USER_MEMORY_REGION, &reg) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	if (ioctl(b->vm, KVM_CREATE_IRQCHIP, 0) < 0)
		die("KVM_CREATE_IRQCHIP");
	memcpy(b->mem + CODE, guest_start, (size_t)(guest_end - guest_start));
	gdt = (uint64_t *)(b->mem + GDT);
	gdt[1] = 0x00af9a000000ffffULL;	/* code, 64-bit */
	gdt[2] = 0x00cf92000000ffffULL;	/* data, flat */
	idt = (uint64_t *)(b->mem + IDT);
	h = CODE + (uint64_t)(guest_handler - guest_start);
	idt[2 * VECTOR] = (h & 0xffff) | 0x08ULL << 16 | 0x8eULL << 40 | ((h >> 16) & 0xffff) << 48;
	idt[2 * VECTOR + 1] = h >> 32;
	/* 2 MiB pages: the first one (code, data) and the local APIC's. */
	pt = (uint64_t *)(b->mem + PML4);
	pt[0] = (PML4 + 0x1000) | 3;
	pt[512] = (PML4 + 0x2000) | 3;		/* PDPT[0]: 0-1 GiB */
	pt[512 + 3] = (PML4 + 0x3000) | 3;	/* PDPT[3]: 3-4 GiB */
	pt[1024] = 0x83;
	pt[1536 + (0xfee00000u >> 21 & 511)] = 0xfee00000u | 0x9b;	/* uncached */
	b->vcpu = ioctl(b->vm, KVM_CREATE_VCPU, 0);
	if (b->vcpu < 0)
		die("KVM_CREATE_VCPU");
	b->run = mmap(NULL, (size_t)ioctl(b->kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
		      PROT_READ | PROT_WRITE, MAP_SHARED, b->vcpu, 0);
	if (b->run == MAP_FAILED)
		die("mmap kvm_run");
	if (ioctl(b->vcpu, KVM_GET_SREGS, &sr) < 0)
		die("KVM_GET_SREGS");
	/* Long mode needs the LM bit in the vCPU's CPUID. */
	cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(struct kvm_cpuid_entry2));
	if (!cpuid)
		die("calloc");
	cpuid->nent = 256;
	if (ioctl(b->kvm, KVM_GET_SUPPORTED_CPUID, cpuid) < 0 ||
	    ioctl(b->vcpu, KVM_SET_CPUID2, cpuid) < 0)
		die("CPUID");
	free(cpuid);
	seg(&sr.cs, 0x08, 11);
	sr.cs.l = 1;
	sr.cs.db = 0;
	seg(&sr.ds, 0x10, 3);
	sr.es = sr.fs = sr.gs = sr.ss = sr.ds;
	/* A busy 32-bit TSS in TR, as at a PVH entry: VM entry checks it. */
	sr.tr = (struct kvm_segment){.limit = 0x67, .selector = 0x18, .type = 11, .present = 1};
	sr.gdt = (struct kvm_dtable){.base = GDT, .limit = 23};
	sr.idt = (struct kvm_dtable){.base = IDT, .limit = VECTOR * 16 + 15};
	sr.cr0 = 0x80000011;	/* PG, ET, PE */
	sr.cr3 = PML4;
	sr.cr4 = 0x20;		/* PAE */
	sr.efer = 0x500;	/* LME, LMA */
	if (ioctl(b->vcpu, KVM_SET_SREGS, &sr) < 0 || ioctl(b->vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_SREGS/REGS");
	/* The irqfd: GSI 24 (above the IOAPIC's pins) routed to the same message. */
	rt.r.nr = 1;
	rt.e[0] = (struct kvm_irq_routing_entry){.gsi = MSI_GSI, .type = KVM_IRQ_ROUTING_MSI};
	rt.e[0].u.msi.address_lo = MSI_ADDR;
	rt.e[0].u.msi.data = VECTOR;
	if (ioctl(b->vm, KVM_SET_GSI_ROUTING, &rt) < 0)
		die("KVM_SET_GSI_ROUTING");
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	irqfd.fd = (uint32_t)b->efd;
	irqfd.gsi = MSI_GSI;
	if (b->efd < 0 || ioctl(b->vm, KVM_IRQFD, &irqfd) < 0)
		die("KVM_IRQFD");
}

static volatile uint32_t *count(struct bench *b)
{
	return (volatile uint32_t *)(b->mem + COUNT);
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One round of n interrupts by method m; adds CPU times, stores round trips. */
static void round_of(struct bench *b, int m, unsigned n, uint64_t *send, uint64_t *vcpu,
		     uint64_t *rtt)
{
	struct kvm_msi msi = {.address_lo = MSI_ADDR, .data = VECTOR};
	clockid_t vc;
	uint64_t v0, one = 1;

	pthread_getcpuclockid(b->thread, &vc);
	v0 = ns(vc);
	for (unsigned i = 0; i < n; i++) {
		uint32_t c0 = *count(b);
		uint64_t w0 = ns(CLOCK_MONOTONIC), s0 = ns(CLOCK_THREAD_CPUTIME_ID), deadline;

		if (m == 0 ? ioctl(b->vm, KVM_SIGNAL_MSI, &msi) < 0
			   : write(b->efd, &one, sizeof(one)) != sizeof(one))
			die(m == 0 ? "KVM_SIGNAL_MSI" : "eventfd write");
		*send += ns(CLOCK_THREAD_CPUTIME_ID) - s0;
		deadline = w0 + 1000000000u;
		while (*count(b) == c0)
			if (ns(CLOCK_MONOTONIC) > deadline) {
				fprintf(stderr, "irqbench: interrupt %u not taken in 1 s\n", i);
				exit(1);
			}
		rtt[i] = ns(CLOCK_MONOTONIC) - w0;
	}
	*vcpu += ns(vc) - v0;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 2000;
	unsigned rounds = argc > 2 ? (unsigned)atoi(argv[2]) : 5;
	static const char *names[2] = {"signal_msi", "irqfd"};
	uint64_t send[2] = {0}, vcpu[2] = {0}, *rtt[2];
	struct bench b = {0};

	if (!n || !rounds)
		return 2;
	setup(&b);
	rtt[0] = calloc((size_t)n * rounds, sizeof(uint64_t));
	rtt[1] = calloc((size_t)n * rounds, sizeof(uint64_t));
	if (!rtt[0] || !rtt[1])
		die("calloc");
	if (pthread_create(&b.thread, NULL, vcpu_main, &b))
		die("pthread_create");
	/* Wait for the guest to reach its hlt loop (the LAPIC enabled). */
	usleep(200000);
	for (unsigned r = 0; r < rounds; r++)
		for (int m = 0; m < 2; m++)
			round_of(&b, (int)((r + (unsigned)m) % 2), n, &send[(r + (unsigned)m) % 2],
				 &vcpu[(r + (unsigned)m) % 2], rtt[(r + (unsigned)m) % 2] + (size_t)r * n);
	for (int m = 0; m < 2; m++) {
		size_t total = (size_t)n * rounds;

		qsort(rtt[m], total, sizeof(uint64_t), cmp);
		printf("irqbench method=%s n=%zu send_ns=%llu vcpu_ns=%llu rtt_med_ns=%llu "
		       "rtt_p99_ns=%llu\n",
		       names[m], total, (unsigned long long)(send[m] / total),
		       (unsigned long long)(vcpu[m] / total), (unsigned long long)rtt[m][total / 2],
		       (unsigned long long)rtt[m][total * 99 / 100]);
	}
	fflush(stdout);
	_exit(0);	/* the vCPU sits in KVM_RUN (halted): the process's end stops it */
}
