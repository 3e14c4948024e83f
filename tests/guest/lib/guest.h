/* SPDX-License-Identifier: MIT */
#ifndef MERAK_GUEST_H
#define MERAK_GUEST_H

/*
 * The freestanding runtime of merak's test guests. Guest kernel code runs
 * under KVM's instruction emulator on our machines (~1 µs per instruction),
 * so everything here is short and simple.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef unsigned long size_t;
typedef _Bool bool;
#define true  1
#define false 0
#define NULL  ((void *)0)

#define PORT_DEBUG_EXIT 0xf4
#define PORT_COM1	0x3f8
#define PORT_PM1A_CNT	0x604
#define PORT_PM_TMR	0x608	/* ACPI PM timer, 3.579545 MHz */
#define IOAPIC_BASE	0xfec00000UL
#define LAPIC_BASE	0xfee00000UL

enum boot_kind { BOOT_PVH = 1, BOOT_LINUX = 2 };

#define MAX_MEMMAP 32
struct memmap_entry {
	u64 addr, size;
	u32 type;
};

struct boot_info {
	enum boot_kind kind;
	const char *cmdline;
	u64 rsdp;
	u64 initrd, initrd_size;
	unsigned n_mem;
	struct memmap_entry mem[MAX_MEMMAP];
};

/* Each guest defines these. */
extern const char test_name[];
void test_main(const struct boot_info *bi);

/* Port and memory I/O. */
static inline void outb(u16 p, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(u16 p, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(u16 p, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline u8 inb(u16 p) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u16 inw(u16 p) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u32 inl(u16 p) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline u32 mmio_read32(u64 a) { return *(volatile u32 *)a; }
static inline void mmio_write32(u64 a, u32 v) { *(volatile u32 *)a = v; }
static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
/* sti; hlt: the interrupt window opens exactly at the hlt. */
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (u64)hi << 32;
}
static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

/* Output and verdicts. */
void gputs(const char *s);
void gprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void guest_exit(u32 code);
__attribute__((noreturn)) void guest_poweroff(void);
__attribute__((noreturn)) void pass(void);
__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...);
#define CHECK(cond, ...)                  \
	do {                              \
		if (!(cond))              \
			fail(__VA_ARGS__); \
	} while (0)

/* Strings. */
size_t gstrlen(const char *s);
int gmemcmp(const void *a, const void *b, size_t n);
void *gmemcpy(void *d, const void *s, size_t n);
void *gmemset(void *d, int c, size_t n);
/* Value of "key=value" on the command line as a number (decimal), or def. */
u64 cmdline_u64(const struct boot_info *bi, const char *key, u64 def);
bool cmdline_has(const struct boot_info *bi, const char *word);

/*
 * Real time, from the ACPI PM timer: milliseconds since the first call.
 * Guest kernel code may run at any speed (instruction-emulated on some
 * hosts, ~1-10 us per instruction), so a wait for the host or the network
 * is bounded by this, never by a count of loop iterations. Only the low 24
 * bits of the timer are used (they wrap every 4.7 s): call it at least that
 * often (a wait loop does, on every turn); one CPU only.
 */
u64 now_ms(void);
/* False if the PM timer does not move (then no deadline would ever pass). */
bool pm_timer_runs(void);

/* Spinlock for output from several CPUs. */
void spin_lock(volatile int *l);
void spin_unlock(volatile int *l);

/* Interrupts: vectors 0x30-0x3f call the hook; the runtime sends the EOI. */
#define VEC_TEST_BASE 0x30
typedef void (*irq_hook)(u32 vector);
void irq_set_hook(u32 vector, irq_hook hook);
extern volatile u32 irq_count[16];
/*
 * Local APIC of the calling CPU, in whichever mode it is (xAPIC MMIO at
 * 0xfee00000 or x2APIC MSRs; IA32_APIC_BASE says which).
 */
#define MSR_APIC_BASE	    0x1b
#define APIC_BASE_X2APIC    (1u << 10)
#define CPUID1_ECX_X2APIC   (1u << 21)
void lapic_enable(void);
void lapic_eoi(void);
u32 lapic_id(void);
void lapic_send_ipi(u32 icr_low, u32 dest);
bool lapic_is_x2apic(void);
/* Switches this CPU's local APIC to x2APIC mode; false if CPUID lacks x2APIC. */
bool x2apic_enable(void);

/* IOAPIC. */
void ioapic_write_rte(unsigned pin, u64 rte);
u64 ioapic_read_rte(unsigned pin);
u32 ioapic_read(u32 reg);
#define RTE_LEVEL  (1ULL << 15)
#define RTE_MASKED (1ULL << 16)

/* ACPI. */
const void *acpi_find(const struct boot_info *bi, const char *sig);
bool acpi_checksum_ok(const void *table, u32 len);
/* Counts MADT processor entries (LAPIC type 0 and x2APIC type 9) that are enabled. */
unsigned madt_cpus(const struct boot_info *bi);

/* SMP: starts every AP with INIT-SIPI-SIPI; each runs fn(apic_id) and halts. */
typedef void (*ap_fn)(u32 apic_id);
unsigned smp_start_aps(ap_fn fn, unsigned expected, volatile u32 *started);

#endif
