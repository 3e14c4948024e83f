// SPDX-License-Identifier: MIT
/*
 * kvm_probe: what this host's KVM can really do, for the test dispatcher
 * (tests/kvm-suite.sh) and the test-guest kit. It does not trust a device
 * node's existence: it creates a VM and runs tiny long-mode guest snippets.
 *
 *  1. A `dec rcx; jnz` loop of N iterations, at CPL 0 and at CPL 3, each
 *     timed against a 1-iteration run. On a KVM that instruction-emulates
 *     guest kernel code (the nested "PVM" KVM of our build machines) CPL 0
 *     costs about 1 us per instruction while CPL 3 runs natively; on bare
 *     metal, or a normal nested KVM, both cost about a nanosecond; under an
 *     emulated L1 (TCG) both are equally slow.
 *  2. The in-kernel IOAPIC: pin 20 programmed level-triggered, the line
 *     raised by KVM_IRQ_LINE, the guest's handler has the line lowered,
 *     writes the local APIC's EOI and reads the redirection entry back. A
 *     sound IOAPIC has cleared Remote IRR (bit 14) on the EOI.
 *
 * Output, one key=value per line (tests/lib/probe.sh reads it):
 *   verdict=nokvm|pvm|sound
 *   reason=TEXT
 *   cpl0_ns_per_insn=N   cpl3_ns_per_insn=N   (when measured)
 *   ioapic=ok|defect|unknown
 *   ioapic_evidence=TEXT
 *   faked=1               (when MERAK_HOST_PROBE supplied the answer)
 *
 * MERAK_HOST_PROBE fakes the answer, so that every branch of the dispatcher
 * can be tested on any host: "nokvm", "pvm" or "sound", optionally followed
 * by ",ioapic-defect"; or an absolute path to a file holding the lines above.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Guest physical layout (one 2 MiB memslot at 0). */
#define MEM_SIZE  0x200000ul
#define PML4_GPA  0x1000ul
#define PDPT_GPA  0x2000ul
#define PD0_GPA   0x3000ul /* 0 .. 1 GiB */
#define PD3_GPA   0x4000ul /* 3 .. 4 GiB: the IOAPIC and local APIC */
#define GDT_GPA   0x5000ul
#define IDT_GPA   0x6000ul
#define CODE_GPA  0x8000ul
#define STACK_TOP 0x80000ul

#define PORT_DONE  0xf4 /* the timing loop ended */
#define PORT_LINE  0xf5 /* al=1: raise pin 20, al=2: lower it */
#define PORT_RTE   0xf6 /* eax: the redirection entry after EOI */
#define IRQ_PIN    20   /* above 15: routed to the IOAPIC only, never the PIC */
#define IRQ_VECTOR 0x40

/* Thresholds of the verdict (ns per instruction). */
#define EMULATED_NS 100 /* CPL 0 slower than this ... */
#define EMULATED_RATIO 10 /* ... and this many times slower than CPL 3 */

/*
 * Guest code, position-independent, copied to CODE_GPA. The loop runs at
 * either CPL (IOPL 3 lets CPL 3 use OUT), the IOAPIC snippet at CPL 0.
 */
__asm__(".pushsection .rodata\n"
	".globl probe_code_start, probe_code_end, probe_loop_off, probe_ioapic_off, probe_handler_off\n"
	"probe_code_start:\n"
	".Lg_loop:\n"
	"1:	dec %rcx\n"
	"	jnz 1b\n"
	"	out %al, $0xf4\n"
	"	jmp .Lg_loop\n"
	".Lg_ioapic:\n"
	"	movl $0xfee00000, %ebx\n"
	"	movl $0xfec00000, %edx\n"
	"	movl $0x1ff, 0xf0(%rbx)\n" /* SVR: enabled, spurious vector 0xff */
	"	movl $0, 0x80(%rbx)\n"     /* TPR 0 */
	"	movl $0x38, (%rdx)\n"      /* IOREGSEL: pin 20, low half */
	"	movl $0x8040, 0x10(%rdx)\n" /* level, active high, fixed, vector 0x40 */
	"	movl $0x39, (%rdx)\n"
	"	movl $0, 0x10(%rdx)\n"     /* destination APIC 0 */
	"	mov $1, %al\n"
	"	out %al, $0xf5\n"          /* the host raises the line */
	"	sti\n"
	"2:	hlt\n"
	"	jmp 2b\n"
	".Lg_handler:\n"
	"	mov $2, %al\n"
	"	out %al, $0xf5\n"          /* the host lowers the line */
	"	movl $0, 0xb0(%rbx)\n"     /* EOI */
	"	movl $0x38, (%rdx)\n"
	"	movl 0x10(%rdx), %eax\n"
	"	out %eax, $0xf6\n"
	"3:	jmp 3b\n"
	"probe_code_end:\n"
	"probe_loop_off: .quad .Lg_loop - probe_code_start\n"
	"probe_ioapic_off: .quad .Lg_ioapic - probe_code_start\n"
	"probe_handler_off: .quad .Lg_handler - probe_code_start\n"
	".popsection\n");
extern const unsigned char probe_code_start[], probe_code_end[];
extern const uint64_t probe_loop_off, probe_ioapic_off, probe_handler_off;

struct probe {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	unsigned char *mem;
	char why[256];
};

static volatile sig_atomic_t alarmed;
static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t dpl, int code)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->limit = 0xffffffff;
	s->type = type;
	s->present = 1;
	s->dpl = dpl;
	s->s = 1;
	s->l = code;
	s->db = code ? 0 : 1;
	s->g = 1;
}

/* Long mode, paging on, at CPL cpl; the GDT and IDT the snippets need. */
static int set_long_mode(struct probe *p, int cpl)
{
	struct kvm_sregs sr;

	if (ioctl(p->vcpu, KVM_GET_SREGS, &sr) < 0)
		return -errno;
	sr.cr0 = 0x80050033; /* PG WP NE ET MP PE */
	sr.cr3 = PML4_GPA;
	sr.cr4 = 0x20; /* PAE */
	sr.efer = 0x500; /* LME LMA */
	sr.gdt.base = GDT_GPA;
	sr.gdt.limit = 5 * 8 - 1;
	sr.idt.base = IDT_GPA;
	sr.idt.limit = 256 * 16 - 1;
	if (cpl == 0) {
		seg(&sr.cs, 0x08, 11, 0, 1);
		seg(&sr.ss, 0x10, 3, 0, 0);
	} else {
		seg(&sr.cs, 0x1b, 11, 3, 1);
		seg(&sr.ss, 0x23, 3, 3, 0);
	}
	sr.ds = sr.es = sr.fs = sr.gs = sr.ss;
	if (ioctl(p->vcpu, KVM_SET_SREGS, &sr) < 0)
		return -errno;
	return 0;
}

static int set_regs(struct probe *p, uint64_t rip, uint64_t rcx, uint64_t rflags)
{
	struct kvm_regs r;

	memset(&r, 0, sizeof(r));
	r.rip = CODE_GPA + rip;
	r.rcx = rcx;
	r.rsp = STACK_TOP;
	r.rflags = rflags;
	return ioctl(p->vcpu, KVM_SET_REGS, &r) < 0 ? -errno : 0;
}

/* KVM_RUN until an exit that is not an interrupted run; 10 s at most. */
static int run_once(struct probe *p)
{
	struct itimerval it = {.it_value = {.tv_sec = 10}};

	alarmed = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	for (;;) {
		int r = ioctl(p->vcpu, KVM_RUN, 0);

		if (r == 0)
			break;
		if (errno != EINTR || alarmed) {
			int e = alarmed ? ETIMEDOUT : errno;

			memset(&it, 0, sizeof(it));
			setitimer(ITIMER_REAL, &it, NULL);
			return -e;
		}
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	return 0;
}

static const char *exit_name(const struct kvm_run *run)
{
	static char buf[64];

	switch (run->exit_reason) {
	case KVM_EXIT_SHUTDOWN: return "shutdown (triple fault)";
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf, sizeof(buf), "internal error, suberror %u", run->internal.suberror);
		return buf;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, sizeof(buf), "entry failure 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return buf;
	case KVM_EXIT_IO:
		snprintf(buf, sizeof(buf), "I/O to port 0x%x", run->io.port);
		return buf;
	default:
		snprintf(buf, sizeof(buf), "exit reason %u", run->exit_reason);
		return buf;
	}
}

static int is_io(const struct kvm_run *run, uint16_t port)
{
	return run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
	       run->io.port == port;
}

/* Time of a loop of n iterations at CPL cpl, in ns; <0 on failure (p->why). */
static int64_t time_loop(struct probe *p, int cpl, uint64_t n)
{
	uint64_t t0, t1;
	int r;

	if ((r = set_long_mode(p, cpl)) < 0 ||
	    (r = set_regs(p, probe_loop_off, n, cpl ? 0x3002 : 0x2)) < 0) {
		snprintf(p->why, sizeof(p->why), "setting CPL %d registers: %s", cpl, strerror(-r));
		return -1;
	}
	t0 = now_ns();
	r = run_once(p);
	t1 = now_ns();
	if (r < 0) {
		snprintf(p->why, sizeof(p->why), "KVM_RUN at CPL %d: %s", cpl, strerror(-r));
		return -1;
	}
	if (!is_io(p->run, PORT_DONE)) {
		snprintf(p->why, sizeof(p->why), "a CPL %d loop ended in %s", cpl, exit_name(p->run));
		return -1;
	}
	return (int64_t)(t1 - t0);
}

/* ns per instruction at CPL cpl (the loop is 2 instructions an iteration). */
static double ns_per_insn(struct probe *p, int cpl)
{
	const uint64_t n = 20000;
	double best = -1;

	for (int i = 0; i < 3; i++) {
		int64_t base = time_loop(p, cpl, 1), full;

		if (base < 0 || (full = time_loop(p, cpl, n)) < 0)
			return -1;
		double v = (double)(full - base) / (2.0 * (double)(n - 1));

		if (v < 0)
			v = 0;
		if (best < 0 || v < best)
			best = v;
	}
	return best;
}

static void build_guest(struct probe *p)
{
	uint64_t *pml4 = (uint64_t *)(p->mem + PML4_GPA), *pdpt = (uint64_t *)(p->mem + PDPT_GPA);
	uint64_t *pd0 = (uint64_t *)(p->mem + PD0_GPA), *pd3 = (uint64_t *)(p->mem + PD3_GPA);
	uint64_t *gdt = (uint64_t *)(p->mem + GDT_GPA);
	uint64_t handler = CODE_GPA + probe_handler_off;
	unsigned char *gate = p->mem + IDT_GPA + IRQ_VECTOR * 16;

	/* P RW US everywhere: the CPL 3 loop runs on the same tables. */
	pml4[0] = PDPT_GPA | 7;
	pdpt[0] = PD0_GPA | 7;
	pdpt[3] = PD3_GPA | 7;
	pd0[0] = 0x87; /* 2 MiB page at 0 */
	for (int i = 0; i < 512; i++)
		pd3[i] = (0xc0000000ull + ((uint64_t)i << 21)) | 0x83 | 0x18; /* PWT PCD */
	gdt[1] = 0x00209a0000000000ull; /* 0x08 kernel code, 64-bit */
	gdt[2] = 0x0000920000000000ull; /* 0x10 kernel data */
	gdt[3] = 0x0020fa0000000000ull; /* 0x18 user code, 64-bit */
	gdt[4] = 0x0000f20000000000ull; /* 0x20 user data */
	/* 64-bit interrupt gate, selector 0x08, DPL 0, present. */
	memset(gate, 0, 16);
	gate[0] = handler & 0xff;
	gate[1] = (handler >> 8) & 0xff;
	gate[2] = 0x08;
	gate[5] = 0x8e;
	gate[6] = (handler >> 16) & 0xff;
	gate[7] = (handler >> 24) & 0xff;
	memcpy(p->mem + CODE_GPA, probe_code_start, (size_t)(probe_code_end - probe_code_start));
}

static int irq_line(struct probe *p, int level)
{
	struct kvm_irq_level l = {.irq = IRQ_PIN, .level = (uint32_t)level};

	return ioctl(p->vm, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

/* The in-kernel IOAPIC after EOI of a level-triggered interrupt. */
static const char *probe_ioapic(struct probe *p, char *ev, size_t evlen)
{
	int r, raised = 0;

	if ((r = set_long_mode(p, 0)) < 0 || (r = set_regs(p, probe_ioapic_off, 0, 0x2)) < 0) {
		snprintf(ev, evlen, "setting registers: %s", strerror(-r));
		return "unknown";
	}
	for (int steps = 0; steps < 16; steps++) {
		if ((r = run_once(p)) < 0) {
			snprintf(ev, evlen, "KVM_RUN: %s%s", strerror(-r),
				 raised ? " (the level-triggered interrupt was never delivered)" : "");
			return "unknown";
		}
		if (is_io(p->run, PORT_LINE)) {
			int v = *((unsigned char *)p->run + p->run->io.data_offset);

			if ((r = irq_line(p, v == 1)) < 0) {
				snprintf(ev, evlen, "KVM_IRQ_LINE: %s", strerror(-r));
				return "unknown";
			}
			raised |= v == 1;
			continue;
		}
		if (is_io(p->run, PORT_RTE) && p->run->io.size == 4) {
			uint32_t rte;

			memcpy(&rte, (unsigned char *)p->run + p->run->io.data_offset, 4);
			if ((rte & 0xff) != IRQ_VECTOR || !(rte & 0x8000)) {
				snprintf(ev, evlen, "pin %d redirection entry reads back as 0x%08x", IRQ_PIN, rte);
				return "unknown";
			}
			if (rte & (1u << 14)) {
				snprintf(ev, evlen,
					 "in-kernel IOAPIC leaves Remote IRR set after EOI (probe: pin %d "
					 "redirection entry 0x%08x after the EOI of its level-triggered "
					 "interrupt, bit 14 set)", IRQ_PIN, rte);
				return "defect";
			}
			snprintf(ev, evlen, "pin %d redirection entry 0x%08x after EOI: Remote IRR clear",
				 IRQ_PIN, rte);
			return "ok";
		}
		snprintf(ev, evlen, "the IOAPIC snippet ended in %s", exit_name(p->run));
		return "unknown";
	}
	snprintf(ev, evlen, "the IOAPIC snippet did not finish");
	return "unknown";
}

static int fake(const char *spec)
{
	if (spec[0] == '/') {
		FILE *f = fopen(spec, "r");
		char line[512];

		if (!f) {
			fprintf(stderr, "kvm_probe: MERAK_HOST_PROBE file %s: %s\n", spec, strerror(errno));
			return 2;
		}
		while (fgets(line, sizeof(line), f))
			fputs(line, stdout);
		fclose(f);
		printf("faked=1\n");
		return 0;
	}
	int defect = strstr(spec, ",ioapic-defect") != NULL;
	size_t n = strcspn(spec, ",");

	if (n == 5 && !strncmp(spec, "nokvm", 5)) {
		printf("verdict=nokvm\nreason=faked: MERAK_HOST_PROBE=%s\nioapic=unknown\n"
		       "ioapic_evidence=no KVM\n", spec);
	} else if ((n == 3 && !strncmp(spec, "pvm", 3)) || (n == 5 && !strncmp(spec, "sound", 5))) {
		int pvm = n == 3;

		printf("verdict=%s\nreason=faked: MERAK_HOST_PROBE=%s\n", pvm ? "pvm" : "sound", spec);
		printf("cpl0_ns_per_insn=%d\ncpl3_ns_per_insn=1\n", pvm ? 950 : 1);
		if (defect)
			printf("ioapic=defect\nioapic_evidence=in-kernel IOAPIC leaves Remote IRR set "
			       "after EOI (probe: faked, redirection entry 0x0000c040)\n");
		else
			printf("ioapic=ok\nioapic_evidence=faked\n");
	} else {
		fprintf(stderr, "kvm_probe: MERAK_HOST_PROBE=%s: want nokvm, pvm or sound "
				"[,ioapic-defect], or an absolute file path\n", spec);
		return 2;
	}
	printf("faked=1\n");
	return 0;
}

static int nokvm(const char *why)
{
	printf("verdict=nokvm\nreason=%s\nioapic=unknown\nioapic_evidence=no usable KVM\n", why);
	return 0;
}

int main(void)
{
	const char *spec = getenv("MERAK_HOST_PROBE");
	struct probe p = {.kvm = -1, .vm = -1, .vcpu = -1};
	struct kvm_userspace_memory_region region;
	struct kvm_cpuid2 *cpuid;
	struct sigaction sa;
	char why[300], ev[300];
	double c0, c3;
	long mmap_size;
	const char *io;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (spec && *spec)
		return fake(spec);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm; /* no SA_RESTART: KVM_RUN returns EINTR */
	sigaction(SIGALRM, &sa, NULL);

	p.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (p.kvm < 0) {
		snprintf(why, sizeof(why), "/dev/kvm: %s", strerror(errno));
		return nokvm(why);
	}
	if (ioctl(p.kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		return nokvm("/dev/kvm: unexpected KVM API version");
	p.vm = ioctl(p.kvm, KVM_CREATE_VM, 0);
	if (p.vm < 0) {
		snprintf(why, sizeof(why), "KVM_CREATE_VM: %s", strerror(errno));
		return nokvm(why);
	}
	p.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p.mem == MAP_FAILED)
		return nokvm("cannot allocate guest memory");
	build_guest(&p);
	region = (struct kvm_userspace_memory_region){
	    .slot = 0, .guest_phys_addr = 0, .memory_size = MEM_SIZE,
	    .userspace_addr = (uint64_t)(uintptr_t)p.mem};
	if (ioctl(p.vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(why, sizeof(why), "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		return nokvm(why);
	}
	ioctl(p.vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);
	int irqchip = ioctl(p.vm, KVM_CREATE_IRQCHIP, 0) == 0;
	int irqchip_errno = errno;

	p.vcpu = ioctl(p.vm, KVM_CREATE_VCPU, 0);
	if (p.vcpu < 0) {
		snprintf(why, sizeof(why), "KVM_CREATE_VCPU: %s", strerror(errno));
		return nokvm(why);
	}
	cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(struct kvm_cpuid_entry2));
	cpuid->nent = 256;
	if (ioctl(p.kvm, KVM_GET_SUPPORTED_CPUID, cpuid) == 0)
		ioctl(p.vcpu, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	mmap_size = ioctl(p.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	p.run = mmap_size > 0 ? mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				     p.vcpu, 0)
			      : MAP_FAILED;
	if (p.run == MAP_FAILED)
		return nokvm("cannot map the vCPU's kvm_run");

	c0 = ns_per_insn(&p, 0);
	if (c0 < 0) {
		snprintf(why, sizeof(why), "a minimal long-mode guest does not run: %s", p.why);
		return nokvm(why);
	}
	c3 = ns_per_insn(&p, 3);
	if (c0 > EMULATED_NS && (c3 < 0 || c0 > EMULATED_RATIO * c3)) {
		printf("verdict=pvm\nreason=guest kernel (CPL 0) code is instruction-emulated: "
		       "%.1f ns per instruction at CPL 0, ", c0);
		if (c3 < 0)
			printf("CPL 3 not measured (%s)\n", p.why);
		else
			printf("%.1f at CPL 3\n", c3);
	} else {
		printf("verdict=sound\nreason=guest code runs at %.1f ns per instruction at CPL 0, "
		       "%.1f at CPL 3\n", c0, c3 < 0 ? 0 : c3);
	}
	printf("cpl0_ns_per_insn=%.1f\n", c0);
	if (c3 >= 0)
		printf("cpl3_ns_per_insn=%.1f\n", c3);

	if (!irqchip) {
		snprintf(ev, sizeof(ev), "KVM_CREATE_IRQCHIP: %s", strerror(irqchip_errno));
		io = "unknown";
	} else {
		io = probe_ioapic(&p, ev, sizeof(ev));
	}
	printf("ioapic=%s\nioapic_evidence=%s\n", io, ev);
	return 0;
}
