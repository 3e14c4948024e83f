// SPDX-License-Identifier: MIT
#include "tdx/caps.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/uapi/kvm_ext.h"
#include "tdx/tdvmcall.h"

int tdx_host_check(const struct tdx_host_caps *h, struct err *e)
{
	if (h->vm_types <= 0 || !(h->vm_types & (1 << MERAK_KVM_X86_TDX_VM)))
		return errf(e, -ENOTSUP, TDX_HOST_MISSING_VM_TYPE);
	if (h->guest_memfd <= 0)
		return errf(e, -ENOTSUP,
			    "this host cannot run TDs: KVM lacks KVM_CAP_GUEST_MEMFD (private "
			    "guest memory; Linux >= 6.8)");
	if (h->user_memory2 <= 0)
		return errf(e, -ENOTSUP,
			    "this host cannot run TDs: KVM lacks KVM_CAP_USER_MEMORY2 "
			    "(KVM_SET_USER_MEMORY_REGION2; Linux >= 6.8)");
	if (h->memory_attributes <= 0 ||
	    !(h->memory_attributes & MERAK_KVM_MEMORY_ATTRIBUTE_PRIVATE))
		return errf(e, -ENOTSUP,
			    "this host cannot run TDs: KVM_CAP_MEMORY_ATTRIBUTES lacks "
			    "KVM_MEMORY_ATTRIBUTE_PRIVATE");
	return 0;
}

const char *tdx_attr_name(unsigned bit)
{
	switch (bit) {
	case 0: return "DEBUG";
	case 28: return "SEPT_VE_DISABLE";
	case 29: return "MIGRATABLE";
	case 30: return "PKS";
	case 31: return "KL";
	case 63: return "PERFMON";
	default: return NULL;
	}
}

const char *tdx_xfam_name(unsigned bit)
{
	static const char *const n[] = {
		[0] = "x87", [1] = "SSE", [2] = "AVX", [3] = "MPX_BNDREGS",
		[4] = "MPX_BNDCSR", [5] = "AVX512_OPMASK", [6] = "AVX512_ZMM_HI256",
		[7] = "AVX512_HI16_ZMM", [8] = "PT", [9] = "PKRU", [10] = "PASID",
		[11] = "CET_U", [12] = "CET_S", [13] = "HDC", [14] = "ULI", [15] = "LBR",
		[16] = "HWP", [17] = "AMX_TILECFG", [18] = "AMX_TILEDATA", [19] = "APX",
	};
	return bit < ARRAY_SIZE(n) ? n[bit] : NULL;
}

void tdx_bits_describe(u64 v, const char *(*name)(unsigned), char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	if (!v) {
		snprintf(buf, len, "none");
		return;
	}
	for (unsigned b = 0; b < 64 && n < len; b++) {
		const char *s;
		int w;

		if (!(v & (1ULL << b)))
			continue;
		s = name(b);
		w = s ? snprintf(buf + n, len - n, "%s%s", n ? " " : "", s)
		      : snprintf(buf + n, len - n, "%sbit%u", n ? " " : "", b);
		if (w < 0)
			break;
		n += (size_t)w;
	}
}

/* Feature names of the leaves users ask about most; others print as bit numbers. */
struct cpuid_bit_name {
	u32 fn, idx;
	char reg;	/* 'a' 'b' 'c' 'd' */
	u8 bit;
	const char *name;
};

static const struct cpuid_bit_name cpuid_names[] = {
	{1, 0, 'c', 0, "sse3"}, {1, 0, 'c', 1, "pclmulqdq"}, {1, 0, 'c', 5, "vmx"},
	{1, 0, 'c', 9, "ssse3"}, {1, 0, 'c', 12, "fma"}, {1, 0, 'c', 13, "cx16"},
	{1, 0, 'c', 19, "sse4.1"}, {1, 0, 'c', 20, "sse4.2"}, {1, 0, 'c', 21, "x2apic"},
	{1, 0, 'c', 22, "movbe"}, {1, 0, 'c', 23, "popcnt"}, {1, 0, 'c', 24, "tsc-deadline"},
	{1, 0, 'c', 25, "aes"}, {1, 0, 'c', 26, "xsave"}, {1, 0, 'c', 28, "avx"},
	{1, 0, 'c', 29, "f16c"}, {1, 0, 'c', 30, "rdrand"}, {1, 0, 'c', 31, "hypervisor"},
	{1, 0, 'd', 0, "fpu"}, {1, 0, 'd', 4, "tsc"}, {1, 0, 'd', 9, "apic"},
	{1, 0, 'd', 25, "sse"}, {1, 0, 'd', 26, "sse2"},
	{7, 0, 'b', 0, "fsgsbase"}, {7, 0, 'b', 3, "bmi1"}, {7, 0, 'b', 4, "hle"},
	{7, 0, 'b', 5, "avx2"}, {7, 0, 'b', 8, "bmi2"}, {7, 0, 'b', 11, "rtm"},
	{7, 0, 'b', 16, "avx512f"}, {7, 0, 'b', 18, "rdseed"}, {7, 0, 'b', 19, "adx"},
	{7, 0, 'b', 29, "sha"}, {7, 0, 'c', 1, "avx512vbmi"}, {7, 0, 'c', 5, "waitpkg"},
	{7, 0, 'c', 7, "cet-ss"}, {7, 0, 'c', 8, "gfni"}, {7, 0, 'c', 9, "vaes"},
	{7, 0, 'c', 22, "rdpid"}, {7, 0, 'd', 4, "fsrm"}, {7, 0, 'd', 14, "serialize"},
	{7, 0, 'd', 22, "amx-bf16"}, {7, 0, 'd', 24, "amx-tile"}, {7, 0, 'd', 25, "amx-int8"},
	{0x80000001, 0, 'c', 0, "lahf_lm"}, {0x80000001, 0, 'd', 11, "syscall"},
	{0x80000001, 0, 'd', 20, "nx"}, {0x80000001, 0, 'd', 26, "pdpe1gb"},
	{0x80000001, 0, 'd', 27, "rdtscp"}, {0x80000001, 0, 'd', 29, "lm"},
};

const char *tdx_cpuid_bit_name(u32 fn, u32 idx, char reg, unsigned bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(cpuid_names); i++)
		if (cpuid_names[i].fn == fn && cpuid_names[i].idx == idx &&
		    cpuid_names[i].reg == reg && cpuid_names[i].bit == bit)
			return cpuid_names[i].name;
	return NULL;
}

static void describe_reg(FILE *f, u32 fn, u32 idx, char reg, u32 mask)
{
	bool any = false;

	fprintf(f, "      e%cx 0x%08x", reg, mask);
	for (unsigned b = 0; b < 32; b++) {
		const char *nm;

		if (!(mask & (1u << b)))
			continue;
		nm = tdx_cpuid_bit_name(fn, idx, reg, b);
		if (nm) {
			fprintf(f, "%s%s", any ? " " : "  (", nm);
			any = true;
		}
	}
	fprintf(f, "%s\n", any ? ")" : "");
}

char *tdx_caps_report(const struct merak_kvm_tdx_capabilities *c, int max_vcpus)
{
	char bits[1024];
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	u64 r11;

	if (!f)
		return NULL;
	fprintf(f, "TDX: supported by this host\n");
	if (max_vcpus >= 0)
		fprintf(f, "max vCPUs per TD: %d\n", max_vcpus);
	tdx_bits_describe(c->supported_attrs, tdx_attr_name, bits, sizeof(bits));
	fprintf(f, "TD attributes (0x%016llx): %s\n", (unsigned long long)c->supported_attrs,
		bits);
	tdx_bits_describe(c->supported_xfam, tdx_xfam_name, bits, sizeof(bits));
	fprintf(f, "XFAM (0x%016llx): %s\n", (unsigned long long)c->supported_xfam, bits);
	r11 = c->kernel_tdvmcallinfo_1_r11 | c->user_tdvmcallinfo_1_r11;
	fprintf(f, "TDVMCALL info leaf 1: kernel R11 0x%llx R12 0x%llx, userspace R11 0x%llx "
		   "R12 0x%llx\n",
		(unsigned long long)c->kernel_tdvmcallinfo_1_r11,
		(unsigned long long)c->kernel_tdvmcallinfo_1_r12,
		(unsigned long long)c->user_tdvmcallinfo_1_r11,
		(unsigned long long)c->user_tdvmcallinfo_1_r12);
	fprintf(f, "  SetupEventNotifyInterrupt: %s\n",
		(c->kernel_tdvmcallinfo_1_r11 & TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT)
			? "handled by KVM"
		: (r11 & TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT)
			? "forwarded to merak (implemented)"
			: "not offered");
	fprintf(f, "  GetQuote: forwarded to merak (needs quote-socket=)\n");
	fprintf(f, "configurable CPUID leaves (%u; masks of bits a TD may configure):\n",
		c->cpuid.nent);
	for (u32 i = 0; i < c->cpuid.nent; i++) {
		const struct kvm_cpuid_entry2 *en = &c->entries[i];

		fprintf(f, "  leaf 0x%08x.%u\n", en->function, en->index);
		describe_reg(f, en->function, en->index, 'a', en->eax);
		describe_reg(f, en->function, en->index, 'b', en->ebx);
		describe_reg(f, en->function, en->index, 'c', en->ecx);
		describe_reg(f, en->function, en->index, 'd', en->edx);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}
