// SPDX-License-Identifier: MIT
/* Runtime of the test guests: serial output, verdicts, IDT, LAPIC, IOAPIC, ACPI, SMP. */
#include <stdarg.h>

#include "guest.h"

/* ---- output ------------------------------------------------------------- */

static volatile int print_lock;

static void serial_putc(char c)
{
	while (!(inb(PORT_COM1 + 5) & 0x20))
		cpu_relax();
	outb(PORT_COM1, (u8)c);
}

void gputs(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void put_num(u64 v, unsigned base, int width)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n < width)
		buf[n++] = '0';
	while (n)
		serial_putc(buf[--n]);
}

static void gvprintf(const char *fmt, va_list ap)
{
	spin_lock(&print_lock);
	for (; *fmt; fmt++) {
		int longs = 0;

		if (*fmt != '%') {
			serial_putc(*fmt);
			continue;
		}
		fmt++;
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			gputs(va_arg(ap, const char *));
			break;
		case 'c':
			serial_putc((char)va_arg(ap, int));
			break;
		case 'd': {
			long long v = longs ? va_arg(ap, long long) : va_arg(ap, int);
			if (v < 0) {
				serial_putc('-');
				v = -v;
			}
			put_num((u64)v, 10, 0);
			break;
		}
		case 'u':
			put_num(longs ? va_arg(ap, u64) : va_arg(ap, u32), 10, 0);
			break;
		case 'x':
			put_num(longs ? va_arg(ap, u64) : va_arg(ap, u32), 16, 0);
			break;
		case '%':
			serial_putc('%');
			break;
		default:
			serial_putc('?');
			break;
		}
	}
	spin_unlock(&print_lock);
}

void gprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gvprintf(fmt, ap);
	va_end(ap);
}

void guest_exit(u32 code)
{
	for (;;)
		outl(PORT_DEBUG_EXIT, code);
}

void guest_poweroff(void)
{
	/* SLP_TYP 5 (the DSDT's _S5) with SLP_EN. */
	for (;;)
		outw(PORT_PM1A_CNT, (5 << 10) | (1 << 13));
}

void pass(void)
{
	gprintf("TEST %s: PASS\n", test_name);
	guest_exit(0);
}

void fail(const char *fmt, ...)
{
	va_list ap;

	gprintf("TEST %s: FAIL: ", test_name);
	va_start(ap, fmt);
	gvprintf(fmt, ap);
	va_end(ap);
	gputs("\n");
	guest_exit(1);
}

/* ---- strings ------------------------------------------------------------ */

size_t gstrlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

int gmemcmp(const void *a, const void *b, size_t n)
{
	const u8 *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

void *gmemset(void *d, int c, size_t n)
{
	u8 *x = d;
	for (size_t i = 0; i < n; i++)
		x[i] = (u8)c;
	return d;
}

void *gmemcpy(void *d, const void *s, size_t n)
{
	u8 *x = d;
	const u8 *y = s;
	for (size_t i = 0; i < n; i++)
		x[i] = y[i];
	return d;
}

/* gcc may emit calls to these for struct copies. */
void *memcpy(void *d, const void *s, size_t n) { return gmemcpy(d, s, n); }
void *memset(void *d, int c, size_t n)
{
	u8 *x = d;
	for (size_t i = 0; i < n; i++)
		x[i] = (u8)c;
	return d;
}

static const char *find_word(const char *s, const char *key, size_t klen)
{
	while (s && *s) {
		while (*s == ' ')
			s++;
		if (!gmemcmp(s, key, klen) && (s[klen] == '=' || s[klen] == ' ' || !s[klen]))
			return s + klen;
		while (*s && *s != ' ')
			s++;
	}
	return NULL;
}

u64 cmdline_u64(const struct boot_info *bi, const char *key, u64 def)
{
	const char *p = find_word(bi->cmdline, key, gstrlen(key));
	u64 v = 0;

	if (!p || *p != '=')
		return def;
	for (p++; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (u64)(*p - '0');
	return v;
}

bool cmdline_has(const struct boot_info *bi, const char *word)
{
	return find_word(bi->cmdline, word, gstrlen(word)) != NULL;
}

void spin_lock(volatile int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

void spin_unlock(volatile int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* ---- time: the ACPI PM timer ----------------------------------------------- */

#define PM_TIMER_HZ   3579545u
#define PM_TIMER_MASK 0xffffffu	/* 24 bits; merak's is 32, but FADT may say either */

static u64 pm_ticks;	/* since the first reading, extended past each wrap */
static u32 pm_last;
static bool pm_started;

u64 now_ms(void)
{
	u32 v = inl(PORT_PM_TMR) & PM_TIMER_MASK;

	if (pm_started)
		pm_ticks += (v - pm_last) & PM_TIMER_MASK;
	pm_last = v;
	pm_started = true;
	return pm_ticks * 1000 / PM_TIMER_HZ;
}

bool pm_timer_runs(void)
{
	u32 first = inl(PORT_PM_TMR) & PM_TIMER_MASK;

	/* Each read is an exit to the VMM, far longer than one tick (279 ns). */
	for (unsigned i = 0; i < 1000; i++)
		if ((inl(PORT_PM_TMR) & PM_TIMER_MASK) != first)
			return true;
	return false;
}

/* ---- interrupts --------------------------------------------------------- */

struct trap_frame {
	u64 r11, r10, r9, r8, rdi, rsi, rdx, rcx, rax, rbx;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;
};

struct idt_entry {
	u16 off_lo, sel;
	u8 ist, type;
	u16 off_mid;
	u32 off_hi, zero;
} __attribute__((packed));

static struct idt_entry idt[256] __attribute__((aligned(16)));
static irq_hook hooks[16];
volatile u32 irq_count[16];

#define STUBS(X)                                                                            \
	X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) \
	X(16) X(17) X(18) X(19) X(20) X(21) X(48) X(49) X(50) X(51) X(52) X(53) X(54) X(55)  \
	X(56) X(57) X(58) X(59) X(60) X(61) X(62) X(63) X(255)
#define DECLARE(n) extern char isr_##n[];
STUBS(DECLARE)

static void set_gate(unsigned vec, void *fn)
{
	u64 a = (u64)fn;

	idt[vec] = (struct idt_entry){
		.off_lo = (u16)a, .sel = 0x08, .type = 0x8e, .off_mid = (u16)(a >> 16),
		.off_hi = (u32)(a >> 32),
	};
}

static void idt_load(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) d = {sizeof(idt) - 1, (u64)idt};

	__asm__ volatile("lidt %0" ::"m"(d));
}

static void idt_init(void)
{
#define SET(n) set_gate(n, isr_##n);
	STUBS(SET)
	idt_load();
}

void irq_set_hook(u32 vector, irq_hook hook)
{
	hooks[vector - VEC_TEST_BASE] = hook;
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector == 255)
		return;	/* spurious: no EOI */
	if (f->vector >= VEC_TEST_BASE && f->vector < VEC_TEST_BASE + 16) {
		unsigned i = (unsigned)(f->vector - VEC_TEST_BASE);

		__atomic_add_fetch(&irq_count[i], 1, __ATOMIC_SEQ_CST);
		if (hooks[i])
			hooks[i]((u32)f->vector);
		lapic_eoi();
		return;
	}
	gprintf("TEST %s: FAIL: exception %u at rip 0x%lx error 0x%lx\n", test_name,
		(u32)f->vector, f->rip, f->error);
	guest_exit(0x80 | (u32)f->vector);
}

/* ---- local APIC (xAPIC MMIO) and IOAPIC ---------------------------------- */

/* x2APIC MSR of an xAPIC register offset: 0x800 + offset / 16. */
#define X2APIC_MSR(off) (0x800u + ((off) >> 4))

bool lapic_is_x2apic(void)
{
	return (rdmsr(MSR_APIC_BASE) & APIC_BASE_X2APIC) != 0;
}

static u32 lapic_read(u32 off)
{
	return lapic_is_x2apic() ? (u32)rdmsr(X2APIC_MSR(off)) : mmio_read32(LAPIC_BASE + off);
}

static void lapic_write(u32 off, u32 v)
{
	if (lapic_is_x2apic())
		wrmsr(X2APIC_MSR(off), v);
	else
		mmio_write32(LAPIC_BASE + off, v);
}

bool x2apic_enable(void)
{
	u32 a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	if (!(c & CPUID1_ECX_X2APIC))
		return false;
	/* xAPIC -> x2APIC is allowed directly (the global enable bit stays set). */
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_X2APIC);
	return lapic_is_x2apic();
}

void lapic_enable(void)
{
	/* Spurious vector 0xff, software enable; accept every priority. */
	lapic_write(0xf0, 0x1ff);
	lapic_write(0x80, 0);
}

void lapic_eoi(void)
{
	lapic_write(0xb0, 0);
}

u32 lapic_id(void)
{
	/* The x2APIC ID is the whole register; the xAPIC ID is bits 31:24. */
	return lapic_is_x2apic() ? lapic_read(0x20) : lapic_read(0x20) >> 24;
}

void lapic_send_ipi(u32 icr_low, u32 dest)
{
	if (lapic_is_x2apic()) {
		/* One 64-bit write; there is no delivery-status bit to wait on. */
		wrmsr(X2APIC_MSR(0x300), (u64)dest << 32 | icr_low);
		return;
	}
	mmio_write32(LAPIC_BASE + 0x310, dest << 24);
	mmio_write32(LAPIC_BASE + 0x300, icr_low);
	while (mmio_read32(LAPIC_BASE + 0x300) & (1 << 12))
		cpu_relax();
}

u32 ioapic_read(u32 reg)
{
	mmio_write32(IOAPIC_BASE, reg);
	return mmio_read32(IOAPIC_BASE + 0x10);
}

static void ioapic_write(u32 reg, u32 v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

void ioapic_write_rte(unsigned pin, u64 rte)
{
	/* Mask first, then the destination, then the low half with the mask bit. */
	ioapic_write(0x10 + 2 * pin, (u32)RTE_MASKED);
	ioapic_write(0x11 + 2 * pin, (u32)(rte >> 32));
	ioapic_write(0x10 + 2 * pin, (u32)rte);
}

u64 ioapic_read_rte(unsigned pin)
{
	return ioapic_read(0x10 + 2 * pin) | (u64)ioapic_read(0x11 + 2 * pin) << 32;
}

/* ---- ACPI --------------------------------------------------------------- */

bool acpi_checksum_ok(const void *table, u32 len)
{
	const u8 *p = table;
	u8 sum = 0;

	for (u32 i = 0; i < len; i++)
		sum = (u8)(sum + p[i]);
	return sum == 0;
}

/* Table pointers from the XSDT (8 bytes each) or, for an ACPI 1.0 RSDP, the RSDT (4). */
static const u8 *sdt_entry(const u8 *sdt, unsigned width, u32 off)
{
	return (const u8 *)(width == 8 ? *(const u64 *)(sdt + off) : *(const u32 *)(sdt + off));
}

const void *acpi_find(const struct boot_info *bi, const char *sig)
{
	const u8 *rsdp = (const u8 *)bi->rsdp, *sdt;
	unsigned width = 8;
	u32 len;

	if (!rsdp || gmemcmp(rsdp, "RSD PTR ", 8))
		return NULL;
	if (rsdp[15] >= 2 && *(const u64 *)(rsdp + 24)) {
		sdt = (const u8 *)*(const u64 *)(rsdp + 24);
		if (gmemcmp(sdt, "XSDT", 4))
			return NULL;
	} else {
		sdt = (const u8 *)(u64) * (const u32 *)(rsdp + 16);
		width = 4;
		if (!sdt || gmemcmp(sdt, "RSDT", 4))
			return NULL;
	}
	if (!gmemcmp(sig, sdt, 4))
		return sdt;
	len = *(const u32 *)(sdt + 4);
	for (u32 off = 36; off + width <= len; off += width) {
		const u8 *t = sdt_entry(sdt, width, off);

		if (!gmemcmp(t, sig, 4))
			return t;
		/* The DSDT and FACS hang off the FADT: X_ fields, else the 32-bit ones. */
		if (!gmemcmp(t, "FACP", 4) && (!gmemcmp(sig, "DSDT", 4) || !gmemcmp(sig, "FACS", 4))) {
			bool dsdt = sig[0] == 'D';
			u32 flen = *(const u32 *)(t + 4);
			u64 a = flen >= (dsdt ? 148u : 140u) ? *(const u64 *)(t + (dsdt ? 140 : 132)) : 0;

			if (!a)
				a = *(const u32 *)(t + (dsdt ? 40 : 36));
			return (const void *)a;
		}
	}
	return NULL;
}

unsigned madt_cpus(const struct boot_info *bi)
{
	const u8 *m = acpi_find(bi, "APIC");
	unsigned n = 0;
	u32 len;

	if (!m)
		return 0;
	len = *(const u32 *)(m + 4);
	for (u32 off = 44; off + 2 <= len && m[off + 1]; off += m[off + 1]) {
		if (m[off] == 0 && (m[off + 4] & 1))
			n++;
		else if (m[off] == 9 && (m[off + 8] & 1))
			n++;
	}
	return n;
}

/* ---- SMP ---------------------------------------------------------------- */

extern char trampoline_start[], trampoline_end[], trampoline_cr3[], trampoline_target[];
extern char ap_entry[];
static ap_fn ap_callback;

void ap_main(void)
{
	idt_load();
	ap_callback(lapic_id());
}

static void delay(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

unsigned smp_start_aps(ap_fn fn, unsigned expected, volatile u32 *started)
{
	u8 *tramp = (u8 *)0x10000;
	u64 cr3;

	ap_callback = fn;
	gmemcpy(tramp, trampoline_start, (size_t)(trampoline_end - trampoline_start));
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	*(u64 *)(tramp + (trampoline_cr3 - trampoline_start)) = cr3;
	*(u64 *)(tramp + (trampoline_target - trampoline_start)) = (u64)ap_entry;
	/* INIT, then two STARTUPs to vector 0x10 (0x10000), to all but self. */
	lapic_send_ipi(0x000c4500, 0);
	delay(2000);
	lapic_send_ipi(0x000c4610, 0);
	delay(500);
	lapic_send_ipi(0x000c4610, 0);
	for (unsigned i = 0; i < 2000000 && *started < expected; i++)
		cpu_relax();
	return *started;
}

/* ---- start ---------------------------------------------------------------- */

static struct boot_info info;

static void parse_pvh(u64 p)
{
	const u32 *si = (const u32 *)p;

	/* hvm_start_info: magic, version, flags, nr_modules, modlist, cmdline, rsdp, memmap. */
	if (si[0] != 0x336ec578)
		fail("hvm_start_info magic 0x%x", si[0]);
	info.cmdline = (const char *)*(const u64 *)(p + 24);
	info.rsdp = *(const u64 *)(p + 32);
	if (si[3]) {
		const u64 *mod = (const u64 *)*(const u64 *)(p + 16);
		info.initrd = mod[0];
		info.initrd_size = mod[1];
	}
	if (si[1] >= 1) {
		const u8 *mm = (const u8 *)*(const u64 *)(p + 40);
		u32 n = *(const u32 *)(p + 48);
		for (u32 i = 0; i < n && i < MAX_MEMMAP; i++) {
			info.mem[i].addr = *(const u64 *)(mm + 24 * i);
			info.mem[i].size = *(const u64 *)(mm + 24 * i + 8);
			info.mem[i].type = *(const u32 *)(mm + 24 * i + 16);
		}
		info.n_mem = n < MAX_MEMMAP ? n : MAX_MEMMAP;
	}
}

static void parse_linux(u64 p)
{
	const u8 *bp = (const u8 *)p;
	u8 n = bp[0x1e8];

	info.cmdline = (const char *)(u64) * (const u32 *)(bp + 0x228);
	info.rsdp = *(const u64 *)(bp + 0x70);
	info.initrd = *(const u32 *)(bp + 0x218);
	info.initrd_size = *(const u32 *)(bp + 0x21c);
	for (u32 i = 0; i < n && i < MAX_MEMMAP; i++) {
		info.mem[i].addr = *(const u64 *)(bp + 0x2d0 + 20 * i);
		info.mem[i].size = *(const u64 *)(bp + 0x2d0 + 20 * i + 8);
		info.mem[i].type = *(const u32 *)(bp + 0x2d0 + 20 * i + 16);
	}
	info.n_mem = n < MAX_MEMMAP ? n : MAX_MEMMAP;
}

void guest_start(u32 kind, u64 boot_info_addr)
{
	/* Mask the legacy PIC (absent with the split irqchip: writes go nowhere). */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	idt_init();
	info.kind = kind;
	if (kind == BOOT_PVH)
		parse_pvh(boot_info_addr);
	else
		parse_linux(boot_info_addr);
	if (!info.cmdline)
		info.cmdline = "";
	test_main(&info);
	pass();
}
