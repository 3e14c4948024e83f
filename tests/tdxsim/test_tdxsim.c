// SPDX-License-Identifier: MIT
/*
 * Tests of tdxsim through raw ioctls, the way a VMM talks to KVM. Each case
 * runs in a fresh child process (re-exec of this binary) so that it gets its
 * own simulator state and environment (TDXSIM_LOG, TDXSIM_SCRIPT, ...); the
 * parent then checks the child's exit status and the log.
 */
#include "uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096ull

static int failures;

#define CHECK(cond, ...)                                                                       \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
			fprintf(stderr, __VA_ARGS__);                                          \
			fprintf(stderr, "\n");                                                 \
			failures++;                                                            \
		}                                                                              \
	} while (0)

/* Expect ioctl to fail with exactly err. */
#define EXPECT_ERR(call, err)                                                                  \
	do {                                                                                   \
		errno = 0;                                                                     \
		long r_ = (long)(call);                                                        \
		CHECK(r_ == -1 && errno == (err), "%s returned %ld errno %d (%s), want %s",    \
		      #call, r_, errno, strerror(errno), #err);                                \
	} while (0)

#define EXPECT_OK(call)                                                                        \
	do {                                                                                   \
		errno = 0;                                                                     \
		long r_ = (long)(call);                                                        \
		CHECK(r_ >= 0, "%s failed: %s", #call, strerror(errno));                       \
	} while (0)

/* ------------------------------------------------------------ a tiny VMM */

#define RAM_SIZE (16ull << 20)
#define FW_GPA 0xffe00000ull
#define FW_SIZE (2ull << 20)

struct td {
	int kvm, vm, gmem, fwgmem;
	int vcpu[4];
	struct s_kvm_run *run[4];
	u8 *ram, *fw;
	struct s_kvm_cpuid_entry2 caps[64];
	u32 ncaps;
};

static int tdx_op(int fd, u32 id, u32 flags, u64 data, u64 *hw_error)
{
	struct s_kvm_tdx_cmd c = {.id = id, .flags = flags, .data = data};
	int r = ioctl(fd, S_KVM_MEMORY_ENCRYPT_OP, &c);

	if (hw_error)
		*hw_error = c.hw_error;
	return r;
}

static int enable_cap(int vm, u32 cap, u64 a0)
{
	struct s_kvm_enable_cap c = {.cap = cap, .args = {a0}};

	return ioctl(vm, S_KVM_ENABLE_CAP, &c);
}

static void td_open(struct td *t)
{
	memset(t, 0, sizeof(*t));
	t->kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	CHECK(t->kvm >= 0, "open /dev/kvm: %s", strerror(errno));
	CHECK(ioctl(t->kvm, S_KVM_GET_API_VERSION, 0) == 12, "api version");
	CHECK(ioctl(t->kvm, S_KVM_CHECK_EXTENSION, S_CAP_VM_TYPES) & (1 << 5), "VM_TYPES bit 5");
	t->vm = ioctl(t->kvm, S_KVM_CREATE_VM, S_KVM_X86_TDX_VM);
	CHECK(t->vm >= 0, "create TD VM: %s", strerror(errno));
}

static void td_caps(struct td *t)
{
	struct {
		struct s_kvm_tdx_capabilities c;
		struct s_kvm_cpuid_entry2 e[64];
	} caps;

	memset(&caps, 0, sizeof(caps));
	caps.c.cpuid.nent = 64;
	EXPECT_OK(tdx_op(t->vm, S_KVM_TDX_CAPABILITIES, 0, (u64)(uintptr_t)&caps, NULL));
	CHECK(caps.c.supported_attrs == S_TDX_ATTR_SEPT_VE_DISABLE, "attrs 0x%" PRIx64,
	      caps.c.supported_attrs);
	CHECK(caps.c.user_tdvmcallinfo_1_r11 == 2, "user r11");
	t->ncaps = caps.c.cpuid.nent;
	memcpy(t->caps, caps.e, t->ncaps * sizeof(caps.e[0]));
	for (u32 i = 0; i < t->ncaps; i++)
		CHECK(t->caps[i].flags == 0, "6.16 leaves caps flags 0");
}

static void td_irqchip_and_mem(struct td *t)
{
	struct s_kvm_create_guest_memfd g = {.size = RAM_SIZE};
	struct s_kvm_create_guest_memfd gf = {.size = FW_SIZE};
	struct s_kvm_userspace_memory_region2 r = {0};
	struct s_kvm_memory_attributes a = {0};

	EXPECT_OK(enable_cap(t->vm, S_CAP_SPLIT_IRQCHIP, 24));
	EXPECT_OK(enable_cap(t->vm, S_CAP_X2APIC_API, 3));
	EXPECT_OK(enable_cap(t->vm, S_CAP_EXIT_HYPERCALL, 1ull << 12));
	EXPECT_OK(enable_cap(t->vm, S_CAP_X86_APIC_BUS_CYCLES_NS, 40));
	EXPECT_OK(ioctl(t->vm, S_KVM_SET_TSC_KHZ, 2000000));
	t->gmem = ioctl(t->vm, S_KVM_CREATE_GUEST_MEMFD, &g);
	CHECK(t->gmem >= 0, "gmem: %s", strerror(errno));
	t->fwgmem = ioctl(t->vm, S_KVM_CREATE_GUEST_MEMFD, &gf);
	CHECK(t->fwgmem >= 0, "fw gmem: %s", strerror(errno));
	t->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	t->fw = mmap(NULL, FW_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r.slot = 0;
	r.flags = S_KVM_MEM_GUEST_MEMFD;
	r.guest_phys_addr = 0;
	r.memory_size = RAM_SIZE;
	r.userspace_addr = (u64)(uintptr_t)t->ram;
	r.guest_memfd = (u32)t->gmem;
	EXPECT_OK(ioctl(t->vm, S_KVM_SET_USER_MEMORY_REGION2, &r));
	r.slot = 1;
	r.guest_phys_addr = FW_GPA;
	r.memory_size = FW_SIZE;
	r.userspace_addr = (u64)(uintptr_t)t->fw;
	r.guest_memfd = (u32)t->fwgmem;
	EXPECT_OK(ioctl(t->vm, S_KVM_SET_USER_MEMORY_REGION2, &r));
	a.address = FW_GPA;
	a.size = FW_SIZE;
	a.attributes = S_KVM_MEMORY_ATTRIBUTE_PRIVATE;
	EXPECT_OK(ioctl(t->vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a));
	/* the first 10 MiB of RAM private, the rest shared */
	a.address = 0;
	a.size = 10 << 20;
	EXPECT_OK(ioctl(t->vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a));
}

struct init_vm_buf {
	struct s_kvm_tdx_init_vm iv;
	struct s_kvm_cpuid_entry2 e[S_KVM_MAX_CPUID_ENTRIES + 1];
};

/* The minimum INIT_VM: GPAW 48 through CPUID 0x80000008, nothing else. */
static void init_vm_buf(struct init_vm_buf *b)
{
	memset(b, 0, sizeof(*b));
	b->iv.attributes = S_TDX_ATTR_SEPT_VE_DISABLE;
	b->iv.xfam = 0x3;
	b->iv.mrconfigid[0] = 0x1122334455667788ull;
	b->iv.cpuid.nent = 2;
	b->e[0].function = 0x80000008;
	b->e[0].eax = 48 << 16;
	b->e[1].function = 7;
	b->e[1].index = 1;
	b->e[1].flags = S_KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	b->e[1].eax = 0x10;
}

static void td_init_vm(struct td *t)
{
	struct init_vm_buf b;

	init_vm_buf(&b);
	EXPECT_OK(tdx_op(t->vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL));
}

static void set_cpuid(int vcpu, bool x2apic)
{
	struct {
		struct s_kvm_cpuid2 h;
		struct s_kvm_cpuid_entry2 e[2];
	} c;

	memset(&c, 0, sizeof(c));
	c.h.nent = 2;
	c.e[0].function = 1;
	c.e[0].ecx = x2apic ? 1u << 21 : 0;
	c.e[1].function = 0x80000008;
	c.e[1].eax = 0x3030;
	EXPECT_OK(ioctl(vcpu, S_KVM_SET_CPUID2, &c));
}

static void td_vcpus(struct td *t, int n, u64 hob)
{
	int sz = ioctl(t->kvm, S_KVM_GET_VCPU_MMAP_SIZE, 0);

	CHECK(sz >= (int)sizeof(struct s_kvm_run), "mmap size %d", sz);
	for (int i = 0; i < n; i++) {
		t->vcpu[i] = ioctl(t->vm, S_KVM_CREATE_VCPU, i);
		CHECK(t->vcpu[i] >= 0, "vcpu %d: %s", i, strerror(errno));
		t->run[i] = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, t->vcpu[i], 0);
		CHECK(t->run[i] != MAP_FAILED, "mmap run");
		set_cpuid(t->vcpu[i], true);
		EXPECT_OK(tdx_op(t->vcpu[i], S_KVM_TDX_INIT_VCPU, 0, hob, NULL));
	}
}

static int init_mem(int vcpu, void *src, u64 gpa, u64 pages, bool measure,
		    struct s_kvm_tdx_init_mem_region *out)
{
	struct s_kvm_tdx_init_mem_region r = {(u64)(uintptr_t)src, gpa, pages};
	int ret = tdx_op(vcpu, S_KVM_TDX_INIT_MEM_REGION, measure ? 1 : 0, (u64)(uintptr_t)&r, NULL);

	if (out)
		*out = r;
	return ret;
}

/* -------------------------------------------------------- reference MRTD */

static void ref_page(EVP_MD_CTX *c, u64 gpa, const u8 *page, bool measure)
{
	u8 b[128] = {0};

	memcpy(b, "MEM.PAGE.ADD", 12);
	memcpy(b + 16, &gpa, 8);
	EVP_DigestUpdate(c, b, 128);
	for (int i = 0; measure && i < 16; i++) {
		u64 g = gpa + (u64)i * 256;

		memset(b, 0, sizeof(b));
		memcpy(b, "MR.EXTEND", 9);
		memcpy(b + 16, &g, 8);
		EVP_DigestUpdate(c, b, 128);
		EVP_DigestUpdate(c, page + i * 256, 256);
	}
}

static void hexs(char *out, const u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

/* ------------------------------------------------------------- log checks */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = 0;
	fclose(f);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static char g_log[256];

static char *child_log(void)
{
	return slurp(g_log);
}

/* ================================================================ cases */

/* A correct launch of a synthetic two-section image; MRTD checked against a
 * reference computed here, write-back of INIT_MEM_REGION checked. */
static void case_flow(void)
{
	struct td t;
	struct s_kvm_tdx_init_mem_region out;
	u8 *bfv = aligned_alloc(4096, 2 * PG), *hob = aligned_alloc(4096, PG);
	EVP_MD_CTX *ref = EVP_MD_CTX_new();
	u8 md[48];
	char want[97], line[120];
	unsigned int len;
	char *log;

	for (int i = 0; i < (int)(2 * PG); i++)
		bfv[i] = (u8)(i * 7 + 3);
	memset(hob, 0, PG);
	memcpy(hob, "\x01\x00\x38\x00", 4);
	td_open(&t);
	td_caps(&t);
	td_irqchip_and_mem(&t);
	td_init_vm(&t);
	td_vcpus(&t, 2, 0x809000);
	EXPECT_OK(init_mem(t.vcpu[0], bfv, 0xffffe000 - PG, 2, true, &out));
	CHECK(out.nr_pages == 0 && out.gpa == 0xffffe000 + PG &&
	      out.source_addr == (u64)(uintptr_t)bfv + 2 * PG, "write-back %" PRIx64, out.gpa);
	EXPECT_OK(init_mem(t.vcpu[1], hob, 0x809000, 1, false, NULL));
	EXPECT_OK(tdx_op(t.vm, S_KVM_TDX_FINALIZE_VM, 0, 0, NULL));

	EVP_DigestInit_ex(ref, EVP_sha384(), NULL);
	ref_page(ref, 0xffffe000 - PG, bfv, true);
	ref_page(ref, 0xffffe000, bfv + PG, true);
	ref_page(ref, 0x809000, hob, false);
	EVP_DigestFinal_ex(ref, md, &len);
	hexs(want, md, 48);
	snprintf(line, sizeof(line), "MRTD %s\n", want);
	log = child_log();
	CHECK(strstr(log, line), "log lacks '%s'", line);
	CHECK(strstr(log, "INIT_MEM_REGION vcpu=0 gpa=0xffffd000 pages=2 flags=0x1 done=2"),
	      "INIT_MEM_REGION record");
	CHECK(strstr(log, "INIT_VCPU vcpu=1 rcx=0x809000"), "INIT_VCPU record");
	CHECK(count(log, "VIOLATION") == 0, "unexpected violations:\n%s", log);
	printf("%s\n", want);
}

/* Debian's OVMF.fd: every TDVF section in metadata order, MEASURE iff MR.EXTEND. */
static u64 rd(const u8 *p, int n)
{
	u64 v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void case_ovmf(void)
{
	static const u8 footer[16] = {0xde, 0x82, 0xb5, 0x96, 0xb2, 0x1f, 0xf7, 0x45,
				      0xba, 0xea, 0xa3, 0x66, 0xc5, 0x5a, 0x08, 0x2d};
	static const u8 tdxoff[16] = {0x35, 0x65, 0x7a, 0xe4, 0x4a, 0x98, 0x98, 0x47,
				      0x86, 0x5e, 0x46, 0x85, 0xa7, 0xbf, 0x8e, 0xc2};
	const char *path = "/usr/share/ovmf/OVMF.fd";
	struct td t;
	struct stat st;
	u8 *img;
	u64 n, table, pos, desc = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0) {
		printf("SKIP\n");
		return;
	}
	n = (u64)st.st_size;
	img = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
	CHECK(img != MAP_FAILED, "mmap OVMF");
	CHECK(!memcmp(img + n - 48, footer, 16), "footer GUID");
	table = rd(img + n - 50, 2);
	for (pos = n - 50; pos > n - 32 - table;) {
		u64 elen = rd(img + pos - 18, 2);

		if (!memcmp(img + pos - 16, tdxoff, 16)) {
			desc = n - rd(img + pos - 22, 4);
			break;
		}
		if (elen < 18)
			break;
		pos -= elen;
	}
	CHECK(desc && !memcmp(img + desc, "TDVF", 4), "TDVF descriptor");

	td_open(&t);
	td_caps(&t);
	{
		/* firmware at 4G - size, RAM below 16 MiB: sections must fit */
		struct s_kvm_create_guest_memfd g = {.size = RAM_SIZE}, gf = {.size = n};
		struct s_kvm_userspace_memory_region2 r = {0};
		struct s_kvm_memory_attributes a = {.attributes = S_KVM_MEMORY_ATTRIBUTE_PRIVATE};
		void *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		void *fw = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		EXPECT_OK(enable_cap(t.vm, S_CAP_SPLIT_IRQCHIP, 24));
		t.gmem = ioctl(t.vm, S_KVM_CREATE_GUEST_MEMFD, &g);
		t.fwgmem = ioctl(t.vm, S_KVM_CREATE_GUEST_MEMFD, &gf);
		r.flags = S_KVM_MEM_GUEST_MEMFD;
		r.memory_size = RAM_SIZE;
		r.userspace_addr = (u64)(uintptr_t)ram;
		r.guest_memfd = (u32)t.gmem;
		EXPECT_OK(ioctl(t.vm, S_KVM_SET_USER_MEMORY_REGION2, &r));
		r.slot = 1;
		r.guest_phys_addr = 0x100000000ull - n;
		r.memory_size = n;
		r.userspace_addr = (u64)(uintptr_t)fw;
		r.guest_memfd = (u32)t.fwgmem;
		EXPECT_OK(ioctl(t.vm, S_KVM_SET_USER_MEMORY_REGION2, &r));
		a.address = 0;
		a.size = RAM_SIZE;
		EXPECT_OK(ioctl(t.vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a));
		a.address = 0x100000000ull - n;
		a.size = n;
		EXPECT_OK(ioctl(t.vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a));
	}
	td_init_vm(&t);
	td_vcpus(&t, 1, 0x809000);
	for (u32 i = 0; i < rd(img + desc + 12, 4); i++) {
		const u8 *s = img + desc + 16 + 32 * i;
		u64 doff = rd(s, 4), raw = rd(s + 4, 4), gpa = rd(s + 8, 8), msz = rd(s + 16, 8);
		u64 attr = rd(s + 28, 4);
		u8 *buf = mmap(NULL, msz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		memcpy(buf, img + doff, raw);
		EXPECT_OK(init_mem(t.vcpu[0], buf, gpa, msz / PG, attr & 1, NULL));
		munmap(buf, msz);
	}
	EXPECT_OK(tdx_op(t.vm, S_KVM_TDX_FINALIZE_VM, 0, 0, NULL));
	printf("OK\n");
}

/* Rules before INIT_VM and around VM creation. */
static void case_rules_vm(void)
{
	struct td t;
	struct init_vm_buf b;
	u64 hw = 0;
	struct {
		struct s_kvm_tdx_capabilities c;
		struct s_kvm_cpuid_entry2 e[64];
	} caps;
	struct s_kvm_tdx_cmd cmd = {.id = S_KVM_TDX_CAPABILITIES, .hw_error = 1};

	td_open(&t);
	/* capabilities: too small a buffer gives E2BIG and no count */
	memset(&caps, 0, sizeof(caps));
	caps.c.cpuid.nent = 1;
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_CAPABILITIES, 0, (u64)(uintptr_t)&caps, NULL), E2BIG);
	CHECK(caps.c.cpuid.nent == 1, "nent must not be written back on E2BIG (got %u)",
	      caps.c.cpuid.nent);
	cmd.data = (u64)(uintptr_t)&caps;
	EXPECT_ERR(ioctl(t.vm, S_KVM_MEMORY_ENCRYPT_OP, &cmd), EINVAL);
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_CAPABILITIES, 1, (u64)(uintptr_t)&caps, NULL), EINVAL);
	EXPECT_ERR(tdx_op(t.vm, 99, 0, 0, NULL), EINVAL);
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_MEM_REGION, 0, 0, NULL), EINVAL);
	td_caps(&t);

	/* irqchip and friends */
	EXPECT_ERR(ioctl(t.vm, S_KVM_CREATE_IRQCHIP, 0), ENOTTY);
	{
		struct s_kvm_pit_config pit = {0};
		EXPECT_ERR(ioctl(t.vm, S_KVM_CREATE_PIT2, &pit), ENOENT);
	}
	EXPECT_ERR(enable_cap(t.vm, S_CAP_X86_APIC_BUS_CYCLES_NS, 40), ENXIO);
	EXPECT_ERR(enable_cap(t.vm, S_CAP_SPLIT_IRQCHIP, 49), EINVAL);
	EXPECT_ERR(enable_cap(t.vm, S_CAP_EXIT_HYPERCALL, 1), EINVAL);
	/* vCPUs need INIT_VM first (EIO), and split irqchip (EINVAL) */
	EXPECT_ERR(ioctl(t.vm, S_KVM_CREATE_VCPU, 0), EIO);

	/* memory */
	{
		struct s_kvm_create_guest_memfd g = {.size = 0};
		struct s_kvm_userspace_memory_region r1 = {.slot = 5, .flags = S_KVM_MEM_READONLY,
							   .memory_size = PG};
		struct s_kvm_userspace_memory_region2 r2 = {0};
		struct s_kvm_memory_attributes a = {.address = 1, .size = PG};
		void *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		int gm;

		EXPECT_ERR(ioctl(t.vm, S_KVM_CREATE_GUEST_MEMFD, &g), EINVAL);
		g.size = 100;
		EXPECT_ERR(ioctl(t.vm, S_KVM_CREATE_GUEST_MEMFD, &g), EINVAL);
		g.size = 4 * PG;
		g.flags = 1;
		EXPECT_ERR(ioctl(t.vm, S_KVM_CREATE_GUEST_MEMFD, &g), EINVAL);
		g.flags = 0;
		gm = ioctl(t.vm, S_KVM_CREATE_GUEST_MEMFD, &g);
		CHECK(gm >= 0, "gmem");
		CHECK(mmap(NULL, PG, PROT_READ, MAP_SHARED, gm, 0) == MAP_FAILED && errno == ENODEV,
		      "mmap of guest_memfd must fail with ENODEV");
		EXPECT_ERR(fallocate(gm, FALLOC_FL_PUNCH_HOLE, 0, PG), EOPNOTSUPP);
		EXPECT_OK(fallocate(gm, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, PG));
		r1.userspace_addr = (u64)(uintptr_t)p;
		EXPECT_ERR(ioctl(t.vm, S_KVM_SET_USER_MEMORY_REGION, &r1), EINVAL);
		r2.slot = 6;
		r2.flags = S_KVM_MEM_GUEST_MEMFD | S_KVM_MEM_LOG_DIRTY_PAGES;
		r2.guest_phys_addr = 0x10000000;
		r2.memory_size = 4 * PG;
		r2.userspace_addr = (u64)(uintptr_t)p;
		r2.guest_memfd = (u32)gm;
		EXPECT_ERR(ioctl(t.vm, S_KVM_SET_USER_MEMORY_REGION2, &r2), EINVAL);
		r2.flags = S_KVM_MEM_GUEST_MEMFD | S_KVM_MEM_READONLY;
		EXPECT_ERR(ioctl(t.vm, S_KVM_SET_USER_MEMORY_REGION2, &r2), EINVAL);
		r2.flags = S_KVM_MEM_GUEST_MEMFD;
		r2.memory_size = 8 * PG;
		EXPECT_ERR(ioctl(t.vm, S_KVM_SET_USER_MEMORY_REGION2, &r2), EINVAL); /* past gmem */
		r2.memory_size = 4 * PG;
		r2.guest_memfd_offset = 12;
		EXPECT_ERR(ioctl(t.vm, S_KVM_SET_USER_MEMORY_REGION2, &r2), EINVAL);
		r2.guest_memfd_offset = 0;
		r2.guest_memfd = (u32)t.kvm;
		EXPECT_ERR(ioctl(t.vm, S_KVM_SET_USER_MEMORY_REGION2, &r2), EINVAL);
		EXPECT_ERR(ioctl(t.vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a), EINVAL);
		a.address = 0;
		a.flags = 1;
		EXPECT_ERR(ioctl(t.vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a), EINVAL);
		a.flags = 0;
		a.attributes = 1;
		EXPECT_ERR(ioctl(t.vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a), EINVAL);
		a.attributes = S_KVM_MEMORY_ATTRIBUTE_PRIVATE;
		a.size = 0;
		EXPECT_ERR(ioctl(t.vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a), EINVAL);
	}

	/* INIT_VM argument rules */
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_FINALIZE_VM, 0, 0, NULL), EINVAL);
	init_vm_buf(&b);
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 1, (u64)(uintptr_t)&b, NULL), EINVAL);
	b.iv.attributes = 1; /* DEBUG is not supported by 6.16 */
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);
	init_vm_buf(&b);
	b.iv.xfam = 1ull << 40;
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);
	init_vm_buf(&b);
	b.iv.reserved[3] = 1;
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);
	init_vm_buf(&b);
	b.iv.cpuid.padding = 1;
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);
	init_vm_buf(&b);
	b.iv.cpuid.nent = 257;
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), E2BIG);
	init_vm_buf(&b);
	b.iv.cpuid.nent = 1;
	b.e[0] = b.e[1]; /* no 0x80000008 */
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);
	init_vm_buf(&b);
	b.e[0].eax = 40 << 16;
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);
	init_vm_buf(&b);
	b.e[0].eax = 52 << 16; /* default caps: no 5-level EPT */
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);
	init_vm_buf(&b);
	b.iv.cpuid.nent = 3;
	b.e[2].function = 0x15; /* not configurable */
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);
	init_vm_buf(&b);
	b.e[1].flags = 0; /* 7.1 without SIGNIFCANT_INDEX also matches 7.0 */
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);
	init_vm_buf(&b);
	b.e[1].eax = 0x80000000u; /* outside the configurable mask of 7.1 */
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, &hw), EINVAL);
	CHECK(hw == S_TDX_OPERAND_INVALID, "hw_error 0x%" PRIx64, hw);
	init_vm_buf(&b);
	b.iv.cpuid.nent = 3;
	b.e[2].function = 7;
	b.e[2].flags = S_KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	b.e[2].ebx = 1u << 11; /* RTM */
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);

	/* a good INIT_VM, then once more */
	td_init_vm(&t);
	init_vm_buf(&b);
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EINVAL);
	EXPECT_ERR(ioctl(t.vm, S_KVM_CREATE_VCPU, 0), EINVAL); /* no split irqchip yet */
	EXPECT_OK(enable_cap(t.vm, S_CAP_SPLIT_IRQCHIP, 24));
	EXPECT_ERR(enable_cap(t.vm, S_CAP_SPLIT_IRQCHIP, 24), EEXIST);
	t.vcpu[0] = ioctl(t.vm, S_KVM_CREATE_VCPU, 0);
	CHECK(t.vcpu[0] >= 0, "vcpu");
	EXPECT_ERR(ioctl(t.vm, S_KVM_CREATE_VCPU, 0), EEXIST);
	EXPECT_ERR(enable_cap(t.vm, S_CAP_X86_APIC_BUS_CYCLES_NS, 40), EINVAL);
	EXPECT_ERR(ioctl(t.vm, S_KVM_SET_TSC_KHZ, 2000000), EINVAL);
	printf("OK\n");
}

/* Rules on vCPUs, INIT_MEM_REGION, FINALIZE and KVM_RUN. */
static void case_rules_vcpu(void)
{
	struct td t;
	struct s_kvm_tdx_init_mem_region out;
	u8 *src = aligned_alloc(4096, 4 * PG);
	struct s_kvm_tdx_cmd cmd = {.id = S_KVM_TDX_INIT_VCPU, .hw_error = 5};
	struct s_kvm_regs regs;
	struct s_kvm_sregs sregs;
	struct s_kvm_fpu fpu;
	struct s_kvm_lapic_state lapic;
	struct s_kvm_xcrs xcrs;

	memset(src, 0x5a, 4 * PG);
	td_open(&t);
	td_caps(&t);
	td_irqchip_and_mem(&t);
	td_init_vm(&t);
	t.vcpu[0] = ioctl(t.vm, S_KVM_CREATE_VCPU, 0);
	CHECK(t.vcpu[0] >= 0, "vcpu");
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_GET_REGS, &regs), EINVAL);
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_SET_REGS, &regs), EINVAL);
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_SET_SREGS, &sregs), EINVAL);
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_SET_FPU, &fpu), EINVAL);
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_GET_LAPIC, &lapic), EINVAL);
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_GET_XCRS, &xcrs), EINVAL);
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_SET_TSC_KHZ, 2000000), EINVAL);
	/* INIT_MEM_REGION before INIT_VCPU */
	EXPECT_ERR(init_mem(t.vcpu[0], src, FW_GPA, 1, true, NULL), EINVAL);
	/* INIT_VCPU rules */
	cmd.data = 0x809000;
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_MEMORY_ENCRYPT_OP, &cmd), EINVAL);
	EXPECT_ERR(tdx_op(t.vcpu[0], S_KVM_TDX_INIT_VCPU, 0, 0x809000, NULL), EINVAL); /* no CPUID */
	set_cpuid(t.vcpu[0], false);
	EXPECT_ERR(tdx_op(t.vcpu[0], S_KVM_TDX_INIT_VCPU, 0, 0x809000, NULL), EINVAL); /* no x2APIC */
	set_cpuid(t.vcpu[0], true);
	EXPECT_ERR(tdx_op(t.vcpu[0], S_KVM_TDX_INIT_VCPU, 1, 0x809000, NULL), EINVAL);
	EXPECT_OK(tdx_op(t.vcpu[0], S_KVM_TDX_INIT_VCPU, 0, 0x809000, NULL));
	EXPECT_ERR(tdx_op(t.vcpu[0], S_KVM_TDX_INIT_VCPU, 0, 0x809000, NULL), EINVAL);
	EXPECT_ERR(tdx_op(t.vcpu[0], S_KVM_TDX_CAPABILITIES, 0, 0, NULL), EINVAL);
	/* INIT_MEM_REGION argument rules */
	EXPECT_ERR(init_mem(t.vcpu[0], src + 8, FW_GPA, 1, true, NULL), EINVAL);
	EXPECT_ERR(init_mem(t.vcpu[0], src, FW_GPA + 8, 1, true, NULL), EINVAL);
	EXPECT_ERR(init_mem(t.vcpu[0], src, FW_GPA, 0, true, NULL), EINVAL);
	EXPECT_ERR(init_mem(t.vcpu[0], src, FW_GPA | (1ull << 47), 1, true, NULL), EINVAL);
	EXPECT_ERR(tdx_op(t.vcpu[0], S_KVM_TDX_INIT_MEM_REGION, 2, (u64)(uintptr_t)src, NULL),
		   EINVAL);
	EXPECT_ERR(init_mem(t.vcpu[0], src, 12ull << 20, 1, false, NULL), EINVAL); /* shared */
	EXPECT_ERR(init_mem(t.vcpu[0], src, 0x40000000, 1, false, NULL), EINVAL); /* no slot */
	EXPECT_ERR(init_mem(t.vcpu[0], (void *)0x1000, FW_GPA, 1, false, NULL), EFAULT);
	/* partial progress is written back: page 2 of 3 runs into shared memory */
	EXPECT_ERR(init_mem(t.vcpu[0], src, (10ull << 20) - 2 * PG, 3, false, &out), EINVAL);
	CHECK(out.nr_pages == 1 && out.gpa == 10ull << 20, "partial write-back %" PRIu64,
	      out.nr_pages);
	EXPECT_OK(init_mem(t.vcpu[0], src, FW_GPA, 2, true, NULL));
	EXPECT_ERR(init_mem(t.vcpu[0], src, FW_GPA + PG, 1, true, NULL), EEXIST);
	/* punching the hole frees the private page: it may be added again */
	EXPECT_OK(fallocate(t.fwgmem, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, PG, PG));
	EXPECT_OK(init_mem(t.vcpu[0], src, FW_GPA + PG, 1, true, NULL));
	/* KVM_RUN before FINALIZE; immediate_exit wins over that */
	t.run[0] = mmap(NULL, SIM_VCPU_MMAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, t.vcpu[0], 0);
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_RUN, 0), EINVAL);
	t.run[0]->immediate_exit = 1;
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_RUN, 0), EINTR);
	t.run[0]->immediate_exit = 0;
	EXPECT_OK(tdx_op(t.vm, S_KVM_TDX_FINALIZE_VM, 0, 0, NULL));
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_FINALIZE_VM, 0, 0, NULL), EINVAL);
	EXPECT_ERR(init_mem(t.vcpu[0], src, FW_GPA + 4 * PG, 1, true, NULL), EINVAL);
	EXPECT_ERR(ioctl(t.vm, S_KVM_CREATE_VCPU, 1), EIO);
	/* without a script, the guest shuts down at once */
	EXPECT_OK(ioctl(t.vcpu[0], S_KVM_RUN, 0));
	CHECK(t.run[0]->exit_reason == S_KVM_EXIT_SYSTEM_EVENT &&
	      t.run[0]->system_event.type == S_KVM_SYSTEM_EVENT_SHUTDOWN, "shutdown exit");
	printf("OK\n");
}

/* TDXSIM_NO_TDX=1: a host without TDX. */
static void case_no_tdx(void)
{
	int kvm = open("/dev/kvm", O_RDWR);

	CHECK(kvm >= 0, "open");
	CHECK(!(ioctl(kvm, S_KVM_CHECK_EXTENSION, S_CAP_VM_TYPES) & (1 << 5)), "bit 5 must be clear");
	EXPECT_ERR(ioctl(kvm, S_KVM_CREATE_VM, 5), EINVAL);
	printf("OK\n");
}

/* Without a usable real /dev/kvm, other VM types fail like the real open did. */
static void case_no_real_kvm(void)
{
	int kvm = open("/dev/kvm", O_RDWR);
	char *log;

	CHECK(kvm >= 0, "open");
	log = child_log();
	if (strstr(log, "real=yes")) {
		printf("SKIP\n");
		return;
	}
	errno = 0;
	CHECK(ioctl(kvm, S_KVM_CREATE_VM, 0) == -1 && errno != 0, "type 0 must fail");
	CHECK(strstr(child_log(), "CREATE_VM type=0 -> -"), "logged");
	printf("OK\n");
}

/* A finalized TD with its vCPUs (INIT_VCPU with hob) and one page of fw at FW_GPA. */
static void td_one_page_finalized(struct td *t, u8 *fw, int nvcpus, u64 hob, bool measure)
{
	td_open(t);
	td_caps(t);
	td_irqchip_and_mem(t);
	td_init_vm(t);
	td_vcpus(t, nvcpus, hob);
	EXPECT_OK(init_mem(t->vcpu[0], fw, FW_GPA, 1, measure, NULL));
	EXPECT_OK(tdx_op(t->vm, S_KVM_TDX_FINALIZE_VM, 0, 0, NULL));
}

/* The guest script: every exit kind, answered the way a VMM would. */
static void *ap_thread(void *p)
{
	struct td *t = p;
	int r = ioctl(t->vcpu[1], S_KVM_RUN, 0);

	return (void *)(intptr_t)(r == -1 && errno == EINTR ? 0 : 1);
}

static void on_sig(int s)
{
	(void)s;
}

static void case_script(void)
{
	struct td t;
	u8 *fw = aligned_alloc(4096, PG);
	pthread_t ap;
	void *apr;
	int exits = 0;
	bool fatal = false;

	memset(fw, 0x90, PG);
	signal(SIGUSR1, on_sig);
	td_one_page_finalized(&t, fw, 2, 0x809000, true);
	pthread_create(&ap, NULL, ap_thread, &t);

	for (int guard = 0; guard < 100; guard++) {
		struct s_kvm_run *run = t.run[0];
		int r = ioctl(t.vcpu[0], S_KVM_RUN, 0);

		if (r == -1 && errno == EFAULT && run->exit_reason == S_KVM_EXIT_MEMORY_FAULT) {
			struct s_kvm_memory_attributes a = {
				.address = run->memory_fault.gpa,
				.size = run->memory_fault.size,
				.attributes = run->memory_fault.flags & S_KVM_MEMORY_EXIT_FLAG_PRIVATE};
			EXPECT_OK(ioctl(t.vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a));
			exits++;
			continue;
		}
		CHECK(r == 0, "KVM_RUN: %s", strerror(errno));
		if (r)
			break;
		exits++;
		if (run->exit_reason == S_KVM_EXIT_TDX) {
			if (run->tdx.nr == 0x10000) {
				run->tdx.get_tdvmcall_info.r11 = 2;
			} else if (run->tdx.nr == 0x10004) {
				run->tdx.setup_event_notify.ret = 0;
			} else if (run->tdx.nr == 0x10002) {
				u64 st = ~0ull;
				u8 *q = t.ram + run->tdx.get_quote.gpa;

				CHECK(run->tdx.get_quote.ret == S_TDVMCALL_SUBFUNC_UNSUPPORTED,
				      "getquote pre-filled ret");
				CHECK(run->tdx.get_quote.size == 0x2000, "size");
				memcpy(q + 8, &st, 8);      /* in flight */
				run->tdx.get_quote.ret = 0;
			}
		} else if (run->exit_reason == S_KVM_EXIT_HYPERCALL) {
			struct s_kvm_memory_attributes a = {
				.address = run->hypercall.args[0],
				.size = run->hypercall.args[1] * PG,
				.attributes = run->hypercall.args[2] & 0x10 ? S_KVM_MEMORY_ATTRIBUTE_PRIVATE : 0};

			CHECK(run->hypercall.nr == 12 && run->hypercall.flags == 1, "hypercall");
			EXPECT_OK(ioctl(t.vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a));
			run->hypercall.ret = 0;
		} else if (run->exit_reason == S_KVM_EXIT_MMIO) {
			if (!run->mmio.is_write) {
				u32 v = 0xabcd1234;
				memcpy(run->mmio.data, &v, 4);
			}
		} else if (run->exit_reason == S_KVM_EXIT_IO) {
			CHECK(run->io.data_offset == 4096, "pio data offset");
			if (run->io.direction == S_KVM_EXIT_IO_IN)
				*((u8 *)run + run->io.data_offset) = 0x42;
			else {
				/* the guest now waits for the quote: complete it */
				u64 st = 0;
				struct s_kvm_msi m = {.address_lo = 0, .data = 33};

				memcpy(t.ram + 0xb00000 + 8, &st, 8);
				EXPECT_OK(ioctl(t.vm, S_KVM_SIGNAL_MSI, &m));
			}
		} else if (run->exit_reason == S_KVM_EXIT_SYSTEM_EVENT) {
			fatal = run->system_event.type == S_KVM_SYSTEM_EVENT_TDX_FATAL;
			if (fatal) {
				CHECK(run->system_event.ndata == 16, "ndata");
				CHECK(run->system_event.data[12] == 0x1230000, "error code");
				CHECK(!memcmp(&run->system_event.data[14], "panic!", 6), "message in R14");
			}
			break;
		}
	}
	CHECK(fatal, "script ends with the fatal error");
	/* the kick protocol: immediate_exit first, then the signal, so none is lost */
	__atomic_store_n(&t.run[1]->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(ap, SIGUSR1);
	pthread_join(ap, &apr);
	CHECK(apr == NULL, "AP KVM_RUN must return EINTR on a signal");
	CHECK(exits >= 10, "exits %d", exits);
	printf("OK\n");
}


static void case_script_fail(void)
{
	struct td t;
	u8 *fw = aligned_alloc(4096, PG);

	memset(fw, 0, PG);
	td_one_page_finalized(&t, fw, 1, 0, false);
	EXPECT_OK(ioctl(t.vcpu[0], S_KVM_RUN, 0));
	CHECK(t.run[0]->exit_reason == S_KVM_EXIT_TDX, "tdx exit");
	/* leave ret at SUBFUNC_UNSUPPORTED: the script wants 0 */
	EXPECT_OK(ioctl(t.vcpu[0], S_KVM_RUN, 0));
	CHECK(t.run[0]->exit_reason == S_KVM_EXIT_SYSTEM_EVENT &&
	      t.run[0]->system_event.type == S_KVM_SYSTEM_EVENT_TDX_FATAL &&
	      t.run[0]->system_event.data[12] == 0xdead0000, "failed expectation -> TDX fatal");
	printf("OK\n");
}

/*
 * 'accept': private RAM is AUGed without an exit; shared RAM faults (PRIVATE)
 * once, then is AUGed; a GPA without a memslot keeps faulting however the VMM
 * sets its attributes (KVM: kvm_handle_noslot_fault), so the line fails.
 */
static void case_script_accept(void)
{
	struct td t;
	u8 *fw = aligned_alloc(4096, PG);
	int faults = 0;
	bool fatal = false;

	memset(fw, 0, PG);
	td_one_page_finalized(&t, fw, 1, 0, false);
	for (int guard = 0; guard < 20; guard++) {
		struct s_kvm_run *run = t.run[0];
		int r = ioctl(t.vcpu[0], S_KVM_RUN, 0);

		if (r == -1 && errno == EFAULT && run->exit_reason == S_KVM_EXIT_MEMORY_FAULT) {
			struct s_kvm_memory_attributes a = {
				.address = run->memory_fault.gpa,
				.size = run->memory_fault.size,
				.attributes = S_KVM_MEMORY_ATTRIBUTE_PRIVATE};

			CHECK(run->memory_fault.flags & S_KVM_MEMORY_EXIT_FLAG_PRIVATE, "private fault");
			EXPECT_OK(ioctl(t.vm, S_KVM_SET_MEMORY_ATTRIBUTES, &a));
			faults++;
			continue;
		}
		CHECK(r == 0, "KVM_RUN: %s", strerror(errno));
		if (r || run->exit_reason != S_KVM_EXIT_SYSTEM_EVENT)
			break;
		fatal = run->system_event.type == S_KVM_SYSTEM_EVENT_TDX_FATAL &&
			run->system_event.data[12] == 0xdead0000;
		break;
	}
	CHECK(faults == 4, "memory faults %d, want 1 for shared RAM and 3 without a memslot", faults);
	CHECK(fatal, "the accept without a memslot fails its line");
	printf("OK\n");
}

/*
 * The rules that differ between the simulated kernel versions (TDXSIM_KERNEL
 * set by the case): INIT_MEM_REGION with source 0 (6.16 fails on reading it,
 * 6.19 and next refuse it up front), a page added twice (-EEXIST until
 * guest_memfd's preparation tracking went, then -EIO from the TDP MMU), and
 * KVM_TDX_TERMINATE_VM (an unknown command but on kvm-x86-6.17).
 */
static void case_kernel_rules(void)
{
	const char *k = getenv("TDXSIM_KERNEL");
	bool old = !strcmp(k, "6.16") || !strcmp(k, "kvm-x86-6.17");
	bool term = !strcmp(k, "kvm-x86-6.17");
	u8 *src = aligned_alloc(4096, PG);
	struct td t;

	memset(src, 0x11, PG);
	td_open(&t);
	td_caps(&t);
	td_irqchip_and_mem(&t);
	td_init_vm(&t);
	td_vcpus(&t, 1, 0x809000);
	EXPECT_ERR(init_mem(t.vcpu[0], NULL, FW_GPA, 1, true, NULL), old ? EFAULT : EINVAL);
	EXPECT_OK(init_mem(t.vcpu[0], src, FW_GPA, 1, true, NULL));
	EXPECT_ERR(init_mem(t.vcpu[0], src, FW_GPA, 1, true, NULL), !strcmp(k, "next") ? EIO : EEXIST);
	EXPECT_OK(tdx_op(t.vm, S_KVM_TDX_FINALIZE_VM, 0, 0, NULL));
	if (term) {
		EXPECT_OK(tdx_op(t.vm, S_KVM_TDX_TERMINATE_VM, 0, 0, NULL));
	} else {
		EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_TERMINATE_VM, 0, 0, NULL), EINVAL);
		EXPECT_OK(ioctl(t.vm, S_KVM_CHECK_EXTENSION, S_CAP_VM_TYPES));
	}
	close(t.fwgmem);
	printf("OK\n");
}

static void *create_vcpu1(void *p)
{
	struct td *t = p;

	t->vcpu[1] = ioctl(t->vm, S_KVM_CREATE_VCPU, 1);
	return NULL;
}

static u64 ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000 + (u64)ts.tv_nsec / 1000000;
}

/*
 * A TDX sub-command while another thread creates a vCPU (which takes 300 ms,
 * TDXSIM_VCPU_CREATE_US): 6.16 goes ahead, 6.19 answers -EBUSY, next waits
 * for the creation (kvm->lock is held across it).
 */
static void case_busy_creating(void)
{
	const char *k = getenv("TDXSIM_KERNEL");
	u8 *src = aligned_alloc(4096, PG);
	pthread_t th;
	struct td t;
	u64 t0;
	int r;

	memset(src, 0x22, PG);
	td_open(&t);
	td_caps(&t);
	td_irqchip_and_mem(&t);
	td_init_vm(&t);
	td_vcpus(&t, 1, 0x809000);
	pthread_create(&th, NULL, create_vcpu1, &t);
	usleep(100000);
	t0 = ms_now();
	errno = 0;
	r = init_mem(t.vcpu[0], src, FW_GPA, 1, true, NULL);
	if (!strcmp(k, "6.19"))
		CHECK(r == -1 && errno == EBUSY, "6.19: want EBUSY, got %d errno %d", r, errno);
	else
		CHECK(r == 0, "%s: want success, got errno %d", k, errno);
	if (!strcmp(k, "next"))
		CHECK(ms_now() - t0 >= 100, "next must wait for the vCPU creation");
	else
		CHECK(ms_now() - t0 < 100, "%s must not wait", k);
	pthread_join(th, NULL);
	CHECK(t.vcpu[1] >= 0, "vCPU 1 created");
	if (r)
		EXPECT_OK(init_mem(t.vcpu[0], src, FW_GPA, 1, true, NULL));
	printf("OK\n");
}

/* TDXSIM_INJECT_BUSY=2 on 6.19: INIT_VM answers -EBUSY twice, then works. */
static void case_inject_busy(void)
{
	struct init_vm_buf b;
	struct td t;

	td_open(&t);
	td_caps(&t);
	td_irqchip_and_mem(&t);
	init_vm_buf(&b);
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EBUSY);
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL), EBUSY);
	EXPECT_OK(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL));
	printf("OK\n");
}

/*
 * KVM_TDX_TERMINATE_VM (kvm-x86-6.17): -EBUSY while a vCPU sits in KVM_RUN,
 * flags and data must be 0, then the VM is dead (-EIO) and closing a
 * guest_memfd reclaims its pages without the HKID.
 */
static void case_terminate(void)
{
	u8 *fw = aligned_alloc(4096, PG);
	pthread_t ap;
	void *apr;
	struct td t;

	memset(fw, 0x33, PG);
	signal(SIGUSR1, on_sig);
	td_one_page_finalized(&t, fw, 2, 0x809000, true);
	pthread_create(&ap, NULL, ap_thread, &t);
	usleep(100000);
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_TERMINATE_VM, 0, 0, NULL), EBUSY);
	__atomic_store_n(&t.run[1]->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(ap, SIGUSR1);
	pthread_join(ap, &apr);
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_TERMINATE_VM, 1, 0, NULL), EINVAL);
	EXPECT_ERR(tdx_op(t.vm, S_KVM_TDX_TERMINATE_VM, 0, 1, NULL), EINVAL);
	EXPECT_OK(tdx_op(t.vm, S_KVM_TDX_TERMINATE_VM, 0, 0, NULL));
	EXPECT_ERR(ioctl(t.vm, S_KVM_CHECK_EXTENSION, S_CAP_VM_TYPES), EIO);
	EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_RUN, 0), EIO);
	close(t.fwgmem);
	printf("OK\n");
}

/* A poisoned page: -1/EHWPOISON with the memory-fault exit, again on every re-entry. */
static void case_hwpoison(void)
{
	u8 *fw = aligned_alloc(4096, PG);
	struct td t;

	memset(fw, 0, PG);
	td_one_page_finalized(&t, fw, 1, 0, false);
	for (int i = 0; i < 2; i++) {
		EXPECT_ERR(ioctl(t.vcpu[0], S_KVM_RUN, 0), EHWPOISON);
		CHECK(t.run[0]->exit_reason == S_KVM_EXIT_MEMORY_FAULT &&
		      t.run[0]->memory_fault.gpa == 0x300000 &&
		      (t.run[0]->memory_fault.flags & S_KVM_MEMORY_EXIT_FLAG_PRIVATE), "poison exit");
	}
	printf("OK\n");
}

static const struct s_kvm_cpuid_entry2 *find_leaf(const struct s_kvm_cpuid_entry2 *e, u32 n,
						    u32 fn, u32 idx)
{
	for (u32 i = 0; i < n; i++)
		if (e[i].function == fn && e[i].index == idx)
			return &e[i];
	return NULL;
}

/* KVM_TDX_GET_CPUID answers as the TDX module would (TDXSIM_CAPS=caps_td_cpuid.txt). */
static void case_get_cpuid(void)
{
	struct td t;
	struct init_vm_buf b;
	struct {
		struct s_kvm_cpuid2 h;
		struct s_kvm_cpuid_entry2 e[64];
	} c;
	const struct s_kvm_cpuid_entry2 *l;
	u32 n;

	td_open(&t);
	td_caps(&t);
	td_irqchip_and_mem(&t);
	init_vm_buf(&b);
	b.iv.cpuid.nent = 3;
	b.e[2].function = 1;
	b.e[2].ecx = 0x8; /* configurable in the preset */
	EXPECT_OK(tdx_op(t.vm, S_KVM_TDX_INIT_VM, 0, (u64)(uintptr_t)&b, NULL));
	t.vcpu[0] = ioctl(t.vm, S_KVM_CREATE_VCPU, 0);
	CHECK(t.vcpu[0] >= 0, "vcpu");
	/* Too small: -E2BIG and the count written back (no INIT_VCPU needed). */
	memset(&c, 0, sizeof(c));
	c.h.nent = 2;
	EXPECT_ERR(tdx_op(t.vcpu[0], S_KVM_TDX_GET_CPUID, 0, (u64)(uintptr_t)&c, NULL), E2BIG);
	n = c.h.nent;
	CHECK(n > 2 && n <= 64, "count written back: %u", n);
	c.h.nent = 64;
	EXPECT_OK(tdx_op(t.vcpu[0], S_KVM_TDX_GET_CPUID, 0, (u64)(uintptr_t)&c, NULL));
	CHECK(c.h.nent == n, "nent %u, want %u", c.h.nent, n);
	CHECK(c.e[0].function == 0 && c.e[0].eax == 0xd && c.e[0].ebx == 0x756e6547,
	      "leaf 0 first, highest basic leaf 0xd: %x %x", c.e[0].function, c.e[0].eax);
	for (u32 i = 1; i < n; i++) {
		CHECK(c.e[i - 1].function < c.e[i].function ||
			      (c.e[i - 1].function == c.e[i].function && c.e[i - 1].index < c.e[i].index),
		      "leaf order at %u", i);
		CHECK(c.e[i].function < 0x40000000 || c.e[i].function >= 0x80000000,
		      "the module has no 0x4000_00xx leaves (0x%x)", c.e[i].function);
	}
	l = find_leaf(c.e, n, 1, 0);
	CHECK(l && (l->ecx & 0x80200000) == 0x80200000, "fixed-1 x2APIC and HYPERVISOR");
	CHECK(l && (l->ecx & 0x8) && !(l->ecx & 0x80), "configured bit only: 0x%x", l ? l->ecx : 0);
	l = find_leaf(c.e, n, 7, 0);
	CHECK(l && (l->ebx & 0x219424c1) == 0x219424c1 && l->flags == S_KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
	      "fixed-1 7.0 EBX, indexed");
	l = find_leaf(c.e, n, 7, 1);
	CHECK(l && l->eax == 0, "7.1 EAX bit 4 asked for but native 0: 0x%x", l ? l->eax : 0);
	l = find_leaf(c.e, n, 0xd, 0);
	CHECK(l && l->eax == 0x3, "XSAVE features from XFAM 0x3: 0x%x", l ? l->eax : 0);
	l = find_leaf(c.e, n, 0x80000007, 0);
	CHECK(l && l->edx == 0x100, "fixed-1 INVTSC from the caps file");
	l = find_leaf(c.e, n, 0x80000008, 0);
	CHECK(l && ((l->eax >> 16) & 0xff) == 48, "GPAW 48");
	/* vCPU sub-commands end with FINALIZE. */
	EXPECT_OK(tdx_op(t.vm, S_KVM_TDX_FINALIZE_VM, 0, 0, NULL));
	EXPECT_ERR(tdx_op(t.vcpu[0], S_KVM_TDX_GET_CPUID, 0, (u64)(uintptr_t)&c, NULL), EINVAL);
	printf("OK\n");
}

/*
 * The guest's CPUID and MSR accesses that reach KVM, and a level-triggered
 * interrupt completed through the IOAPIC's EOI register: the vCPU's table
 * offers kvmclock (as merak's did before it limited leaf 0x40000001).
 */
static void case_guest_cpuid_msr(void)
{
	struct td t;
	u8 *fw = aligned_alloc(4096, PG);
	struct {
		struct s_kvm_cpuid2 h;
		struct s_kvm_cpuid_entry2 e[3];
	} c;
	bool done = false;
	int msis = 0;

	memset(fw, 0, PG);
	td_open(&t);
	td_caps(&t);
	td_irqchip_and_mem(&t);
	td_init_vm(&t);
	td_vcpus(&t, 1, 0);
	memset(&c, 0, sizeof(c));
	c.h.nent = 3;
	c.e[0].function = 1;
	c.e[0].ecx = 1u << 21;
	c.e[1].function = 0x40000000;
	c.e[1].eax = 0x40000001;
	c.e[2].function = 0x40000001;
	c.e[2].eax = 0x01007afb;
	EXPECT_OK(ioctl(t.vcpu[0], S_KVM_SET_CPUID2, &c));
	EXPECT_OK(init_mem(t.vcpu[0], fw, FW_GPA, 1, false, NULL));
	EXPECT_OK(tdx_op(t.vm, S_KVM_TDX_FINALIZE_VM, 0, 0, NULL));
	for (int guard = 0; guard < 50 && !done; guard++) {
		struct s_kvm_run *run = t.run[0];
		int r = ioctl(t.vcpu[0], S_KVM_RUN, 0);

		CHECK(r == 0, "KVM_RUN: %s", strerror(errno));
		if (r)
			break;
		if (run->exit_reason == S_KVM_EXIT_MMIO && run->mmio.is_write &&
		    run->mmio.phys_addr == 0xfec00040) {
			/* The VMM's IOAPIC: EOI register, line still high, so deliver again. */
			struct s_kvm_msi m = {.address_lo = 0xfee00000, .data = 0xc000 | run->mmio.data[0]};

			EXPECT_OK(ioctl(t.vm, S_KVM_SIGNAL_MSI, &m));
			msis++;
		} else if (run->exit_reason == S_KVM_EXIT_SYSTEM_EVENT) {
			done = run->system_event.type == S_KVM_SYSTEM_EVENT_SHUTDOWN;
		}
	}
	CHECK(done && msis == 1, "done %d, %d MSIs", done, msis);
	printf("OK\n");
}

/* expect-no-msi fails as soon as the vector is signalled. */
static void case_no_msi_fail(void)
{
	struct td t;
	u8 *fw = aligned_alloc(4096, PG);
	struct s_kvm_msi m = {.address_lo = 0xfee00000, .data = 33};

	memset(fw, 0, PG);
	td_one_page_finalized(&t, fw, 1, 0, false);
	EXPECT_OK(ioctl(t.vm, S_KVM_SIGNAL_MSI, &m));
	EXPECT_OK(ioctl(t.vcpu[0], S_KVM_RUN, 0));
	CHECK(t.run[0]->exit_reason == S_KVM_EXIT_SYSTEM_EVENT &&
	      t.run[0]->system_event.type == S_KVM_SYSTEM_EVENT_TDX_FATAL, "failed expectation");
	printf("OK\n");
}

/* ============================================================== driver */

struct tcase {
	const char *name;
	void (*fn)(void);
	const char *script;   /* script text, or NULL */
	const char *env;      /* extra NAME=VALUE */
};

static const char script_all[] =
	"# every exit kind\n"
	"tdx get_tdvmcall_info 1\n"
	"expect-status 0\n"
	"expect-reg r11 2\n"
	"tdx get_tdvmcall_info 0\n"
	"expect-status 0\n"
	"tdx setup_event_notify 7\n"
	"expect-status 0x8000000000000000\n"
	"tdx setup_event_notify 33\n"
	"expect-ret 0\n"
	"write-u64 0xb00000 1\n"
	"write-mem 0xb00010 00040000\n"
	"tdx getquote 0xb00000 0x2000\n" /* private: KVM refuses it itself, no exit */
	"expect-ret 0x8000000000000000\n"
	"tdx getquote 0x800000b00000 0x2000\n"
	"expect-ret 0\n"
	"expect-mem 0xb00008 ffffffffffffffff\n"
	"mapgpa 0xb00000 768 shared\n"
	"expect-status 0\n"
	"expect-attr 0xb00000 0x300000 shared\n"
	"memfault 0x100000 0x1000 shared\n"
	"expect-attr 0x100000 0x1000 shared\n"
	"mmio read 0xfec00000 4\n"
	"expect-data 0xabcd1234\n"
	"mmio write 0xfed00000 8 0x1122334455667788\n"
	"pio in 0x3f8 1\n"
	"expect-data 0x42\n"
	"pio out 0x3f8 1 0x41\n"
	"wait-mem 0xb00008 0 2000\n"
	"wait-msi 33 2000\n"
	"log all good\n"
	"fatal 0x1230000 panic!\n";

/* The guest's view of CPUID and MSRs in a TD, and a level interrupt's EOI. */
static const char script_guest[] =
	"cpuid 0x40000001\n"
	"expect-reg r12 0x01007afb\n"           /* KVM's table: kvmclock offered */
	"cpuid 1\n"
	"expect-reg r14 0x80200000 0x80200000\n" /* the module's fixed-1 x2APIC, HYPERVISOR */
	"cpuid 0x40000002\n"
	"expect-reg r12 0\n"                    /* in neither: zeros */
	"wrmsr 0x4b564d01 0x1001\n"             /* MSR_KVM_SYSTEM_TIME_NEW */
	"expect-status 0x8000000000000000\n"
	"wrmsr 0x12 0x1001\n"                   /* MSR_KVM_SYSTEM_TIME */
	"expect-status 0x8000000000000000\n"
	"wrmsr 0x4b564d05 2\n"                  /* MSR_KVM_POLL_CONTROL, reserved bit */
	"expect-status 0x8000000000000000\n"
	"wrmsr 0x4b564d05 1\n"
	"expect-status 0\n"
	"wrmsr 0x1b 0xfee00d00\n"               /* APIC base: read-only for a TD */
	"expect-status 0x8000000000000000\n"
	"rdmsr 0x1b\n"
	"expect-data 0xfee00d00\n"
	"rdmsr 0x4b564d00\n"
	"expect-status 0x8000000000000000\n"
	"lapic-eoi 0x34\n"
	"expect-no-msi 0x34 50\n"
	"mmio write 0xfec00040 4 0x34\n"
	"wait-msi 0x34 1000\n"
	"expect-no-msi 0x34 50\n"
	"shutdown\n";

static const struct tcase cases[] = {
	{"flow", case_flow, NULL, NULL},
	{"ovmf", case_ovmf, NULL, NULL},
	{"rules_vm", case_rules_vm, NULL, NULL},
	{"rules_vcpu", case_rules_vcpu, NULL, "TDXSIM_KERNEL=6.16"},
	{"kernel_6.16", case_kernel_rules, NULL, "TDXSIM_KERNEL=6.16"},
	{"kernel_kvm-x86-6.17", case_kernel_rules, NULL, "TDXSIM_KERNEL=kvm-x86-6.17"},
	{"kernel_6.19", case_kernel_rules, NULL, "TDXSIM_KERNEL=6.19"},
	{"kernel_next", case_kernel_rules, NULL, "TDXSIM_KERNEL=next"},
	{"busy_creating_6.16", case_busy_creating, NULL,
	 "TDXSIM_KERNEL=6.16 TDXSIM_VCPU_CREATE_US=300000"},
	{"busy_creating_6.19", case_busy_creating, NULL,
	 "TDXSIM_KERNEL=6.19 TDXSIM_VCPU_CREATE_US=300000"},
	{"busy_creating_next", case_busy_creating, NULL,
	 "TDXSIM_KERNEL=next TDXSIM_VCPU_CREATE_US=300000"},
	{"inject_busy_6.19", case_inject_busy, NULL, "TDXSIM_KERNEL=6.19 TDXSIM_INJECT_BUSY=2"},
	{"terminate", case_terminate, NULL, "TDXSIM_KERNEL=kvm-x86-6.17"},
	{"hwpoison", case_hwpoison, "hwpoison 0x300000 0x1000 private\nshutdown\n", NULL},
	{"no_tdx", case_no_tdx, NULL, "TDXSIM_NO_TDX=1"},
	{"no_real_kvm", case_no_real_kvm, NULL, NULL},
	{"script", case_script, script_all, NULL},
	{"script_fail", case_script_fail, "tdx getquote 0x800000b00000 0x1000\nexpect-ret 0\nshutdown\n",
	 NULL},
	{"script_accept", case_script_accept,
	 "accept 0x200000 0x2000\naccept 0xc00000 0x1000\naccept 0x40000000 0x1000\nshutdown\n", NULL},
	{"get_cpuid", case_get_cpuid, NULL, "TDXSIM_CAPS=" TDXSIM_SOURCE_DIR "/caps_td_cpuid.txt"},
	{"guest_cpuid_msr", case_guest_cpuid_msr, script_guest, NULL},
	{"no_msi_fail", case_no_msi_fail, "expect-no-msi 33 2000\nshutdown\n", NULL},
};

static const struct tcase *find_case(const char *name)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (!strcmp(cases[i].name, name))
			return &cases[i];
	return NULL;
}

/* Runs a case in a child; returns its stdout (one line) and fills *log. */
static int run_case(const char *self, const struct tcase *c, char *out, size_t outlen, char **log)
{
	char dir[] = "/tmp/tdxsim-test-XXXXXX", logp[300], scriptp[300], cmd[1200];
	FILE *p;
	int st;

	if (!mkdtemp(dir))
		return -1;
	snprintf(logp, sizeof(logp), "%s/log", dir);
	snprintf(scriptp, sizeof(scriptp), "%s/script", dir);
	if (c->script) {
		FILE *f = fopen(scriptp, "w");
		fputs(c->script, f);
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "env TDXSIM_LOG=%s %s%s %s %s --case %s", logp,
		 c->script ? "TDXSIM_SCRIPT=" : "", c->script ? scriptp : "", c->env ? c->env : "",
		 self, c->name);
	p = popen(cmd, "r");
	out[0] = 0;
	if (p) {
		if (!fgets(out, (int)outlen, p))
			out[0] = 0;
		out[strcspn(out, "\n")] = 0;
	}
	st = p ? pclose(p) : -1;
	*log = slurp(logp);
	/* The log is in memory now; leave nothing behind in /tmp. */
	unlink(logp);
	unlink(scriptp);
	rmdir(dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

int main(int argc, char **argv)
{
	int total = 0, bad = 0;
	char self[512];
	ssize_t n;

	if (argc == 3 && !strcmp(argv[1], "--case")) {
		const struct tcase *c = find_case(argv[2]);
		const char *l = getenv("TDXSIM_LOG");

		snprintf(g_log, sizeof(g_log), "%s", l ? l : "");
		if (!c)
			return 2;
		c->fn();
		return failures ? 1 : 0;
	}
	if (!getenv("LD_PRELOAD") || !strstr(getenv("LD_PRELOAD"), "tdxsim")) {
		fprintf(stderr, "run with LD_PRELOAD=libtdxsim.so\n");
		return 1;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		char out[256];
		char *log = NULL;
		int r = run_case(self, c, out, sizeof(out), &log);
		bool ok = r == 0;

		total++;
		/* case-specific checks on the log */
		if (ok && !strcmp(c->name, "rules_vm"))
			ok = count(log, "VIOLATION") >= 40 && strstr(log, "SUMMARY violations=");
		if (ok && !strcmp(c->name, "rules_vcpu"))
			ok = strstr(log, "VIOLATION KVM_RUN on vCPU 0 before KVM_TDX_FINALIZE_VM -> -EINVAL") &&
			     strstr(log, "VIOLATION KVM_GET_REGS on TD vCPU 0");
		if (ok && !strcmp(c->name, "script"))
			ok = !strstr(log, "EXPECT-FAIL") && count(log, "EXPECT-OK") == 13 &&
			     count(log, "HYPERCALL MAP_GPA_RANGE") == 2 &&
			     strstr(log, "MSI addr=0x0 data=0x21 vector=33") &&
			     strstr(log, "SCRIPT vcpu=0 line=31 all good") &&
			     strstr(log, "GetQuote at private GPA 0xb00000 -> INVALID_OPERAND from KVM") &&
			     count(log, "VIOLATION") == 0;
		if (ok && !strcmp(c->name, "script_fail"))
			ok = strstr(log, "EXPECT-FAIL vcpu=0 line=2 ret: got 0x8000000000000003, want 0x0") &&
			     strstr(log, "SUMMARY violations=0 expect_failures=1");
		if (ok && !strcmp(c->name, "script_accept"))
			ok = strstr(log, "accepted [0x200000, +0x2000) (PAGE.AUG)") &&
			     strstr(log, "accepted [0xc00000, +0x1000) (PAGE.AUG)") &&
			     strstr(log, "EXPECT-FAIL vcpu=0 line=3 accept at 0x40000000: no private") &&
			     count(log, "VIOLATION") == 0;
		if (ok && !strcmp(c->name, "get_cpuid"))
			ok = strstr(log, "GET_CPUID vcpu=0 nent=") && count(log, "VIOLATION") == 1;
		if (ok && !strcmp(c->name, "guest_cpuid_msr"))
			ok = !strstr(log, "EXPECT-FAIL") && count(log, "EXPECT-OK") == 10 &&
			     strstr(log, "CPUID 0x40000001 EAX 0x01007afb offers KVM PV features 0x4079") &&
			     strstr(log, "KVM_SET_CPUID2 disagrees with the TD's CPUID") &&
			     strstr(log, "no KVM_EXIT_IOAPIC_EOI") &&
			     count(log, "vector=52") == 1 && count(log, "VIOLATION") == 0;
		if (ok && !strcmp(c->name, "no_msi_fail"))
			ok = strstr(log, "EXPECT-FAIL vcpu=0 line=1 expect-no-msi: vector 33 was signalled") &&
			     strstr(log, "SUMMARY violations=0 expect_failures=1");
		if (ok && !strcmp(c->name, "no_tdx"))
			ok = strstr(log, "VIOLATION KVM_CREATE_VM type 5 on a host whose");
		/* the version rules: what the kernel said, and only those violations */
		if (ok && !strncmp(c->name, "kernel_", 7)) {
			bool term = !strcmp(c->name, "kernel_kvm-x86-6.17");

			ok = strstr(log, "already added") && count(log, "VIOLATION") == 2 &&
			     (strcmp(c->name, "kernel_6.16") || strstr(log, "not readable")) &&
			     (term ? strstr(log, "TERMINATE_VM hkid=released -> 0") &&
					     strstr(log, "hkid=released modelled_ms")
				   : strstr(log, "command 6 (KVM_TDX_TERMINATE_VM) is unknown") &&
					     strstr(log, "hkid=assigned modelled_ms"));
		}
		if (ok && !strcmp(c->name, "busy_creating_6.19"))
			ok = strstr(log, "while a vCPU is being created -> -EBUSY") != NULL;
		if (ok && !strcmp(c->name, "inject_busy_6.19"))
			ok = count(log, "KVM_TDX_INIT_VM -> -EBUSY (TDXSIM_INJECT_BUSY") == 2;
		if (ok && !strcmp(c->name, "terminate"))
			ok = count(log, "VIOLATION") == 5 && strstr(log, "TERMINATE_VM while vCPU 1") &&
			     strstr(log, "hkid=released modelled_ms");
		if (ok && !strcmp(c->name, "hwpoison"))
			ok = count(log, "(-EHWPOISON)") == 2 &&
			     strstr(log, "re-entered after a poisoned-page fault at 0x300000");
		if (ok && !strcmp(c->name, "ovmf") && strcmp(out, "SKIP")) {
			/* cross-check with the independent Python implementation */
			const char *m = strstr(log, "MRTD ");
			char cmd[600], ref[128] = "";
			FILE *p;

			snprintf(cmd, sizeof(cmd), "python3 %s/mrtd_ref.py /usr/share/ovmf/OVMF.fd 2>/dev/null",
				 TDXSIM_SOURCE_DIR);
			p = popen(cmd, "r");
			if (p && fgets(ref, sizeof(ref), p))
				ref[strcspn(ref, "\n")] = 0;
			if (p)
				pclose(p);
			ok = m != NULL;
			if (ok && strlen(ref) == 96)
				ok = !strncmp(m + 5, ref, 96);
			else
				printf("  (python3 reference unavailable: MRTD not cross-checked)\n");
			if (m)
				printf("  OVMF.fd MRTD %.96s\n", m + 5);
		}
		printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", c->name, out[0] ? ": " : "", out);
		if (!ok) {
			bad++;
			fprintf(stderr, "---- log of %s ----\n%s----\n", c->name, log);
		}
		free(log);
	}
	printf("%d/%d cases passed\n", total - bad, total);
	return bad ? 1 : 0;
}
