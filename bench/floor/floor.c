// SPDX-License-Identifier: MIT
/*
 * The floor for merak's start-up: the least a KVM program must do to run a
 * PVH test guest (tests/guest) to its exit. One vCPU, RAM from mmap, the
 * ELF's segments copied in, the guest's CPUID set (long mode needs it), an
 * hvm_start_info for EBX, and a run loop that answers COM1 and stops at the
 * debug-exit port. No irqchip unless asked for, so the cost of KVM's own
 * interrupt models can be measured on its own:
 *
 *   floor [--irqchip none|kernel|split] [--pit] GUEST.elf [OUTPUT]
 *
 * Writes the guest's serial output to OUTPUT (default stdout); exits with the
 * guest's debug-exit code.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/kvm.h>

#define RAM_SIZE	 (64UL << 20)
#define START_INFO	 0x6000UL
#define XEN_PHYS32_ENTRY 18
#define PVH_MAGIC	 0x336ec578
#define PORT_COM1	 0x3f8
#define PORT_DEBUG_EXIT	 0xf4

static int fail(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	return 1;
}

/* PT_LOADs into RAM; the PVH entry from the Xen PHYS32_ENTRY note. */
static int load_elf(const char *path, unsigned char *ram, unsigned *entry)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	unsigned char *f;
	const Elf64_Ehdr *eh;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -1;
	f = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (f == MAP_FAILED || (size_t)st.st_size < sizeof(*eh))
		return -1;
	eh = (const Elf64_Ehdr *)f;
	*entry = 0;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff) + i;

		if (ph->p_type == PT_LOAD && ph->p_paddr + ph->p_memsz <= RAM_SIZE) {
			memcpy(ram + ph->p_paddr, f + ph->p_offset, ph->p_filesz);
		} else if (ph->p_type == PT_NOTE) {
			for (size_t o = 0; o + 12 <= ph->p_filesz;) {
				const unsigned *n = (const unsigned *)(f + ph->p_offset + o);
				size_t desc = o + 12 + ((n[0] + 3) & ~3u);

				if (n[2] == XEN_PHYS32_ENTRY && n[1] >= 4)
					*entry = *(const unsigned *)(f + ph->p_offset + desc);
				o = desc + ((n[1] + 3) & ~3u);
			}
		}
	}
	munmap(f, st.st_size);
	return *entry ? 0 : -1;
}

static int setup_vcpu(int kvm, int vcpu, unsigned entry)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} cpuid = {.c.nent = 256};
	struct kvm_sregs sregs;
	struct kvm_regs regs = {.rflags = 2, .rip = entry, .rbx = START_INFO};
	struct kvm_segment code = {
	    .limit = ~0u, .selector = 0x8, .type = 11, .present = 1, .s = 1, .db = 1, .g = 1};
	struct kvm_segment data = code;

	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0 ||
	    ioctl(vcpu, KVM_SET_CPUID2, &cpuid) < 0 || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	data.selector = 0x10;
	data.type = 3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.cr0 = 0x11; /* PE | ET: the PVH entry runs in flat 32-bit protected mode */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return -1;
	return 0;
}

static int run(int vcpu, struct kvm_run *kr, FILE *out)
{
	for (;;) {
		unsigned char *data;

		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			return fail("KVM_RUN");
		}
		if (kr->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "floor: exit reason %u\n", kr->exit_reason);
			return 1;
		}
		data = (unsigned char *)kr + kr->io.data_offset;
		if (kr->io.direction == KVM_EXIT_IO_OUT) {
			if (kr->io.port == PORT_COM1)
				fwrite(data, 1, kr->io.count * kr->io.size, out);
			else if (kr->io.port == PORT_DEBUG_EXIT)
				return data[0];
		} else {
			/* LSR: transmitter empty; everything else reads as nothing there. */
			memset(data, kr->io.port == PORT_COM1 + 5 ? 0x60 : 0xff,
			       kr->io.size * kr->io.count);
		}
	}
}

int main(int argc, char **argv)
{
	const char *irqchip = "none";
	int pit = 0, kvm, vm, vcpu, i = 1, rc;
	unsigned entry;
	unsigned char *ram;
	struct kvm_run *kr;
	FILE *out = stdout;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--irqchip") && i + 1 < argc)
			irqchip = argv[++i];
		else if (!strcmp(argv[i], "--pit"))
			pit = 1;
		else
			break;
	}
	if (i >= argc) {
		fprintf(stderr,
			"usage: floor [--irqchip none|kernel|split] [--pit] GUEST.elf [OUTPUT]\n");
		return 2;
	}
	if (i + 1 < argc && !(out = fopen(argv[i + 1], "w")))
		return fail(argv[i + 1]);

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		return fail("guest RAM");
	struct kvm_userspace_memory_region slot = {.memory_size = RAM_SIZE,
						   .userspace_addr = (unsigned long)ram};
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0 ||
	    ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0)
		return fail("memory");
	if (!strcmp(irqchip, "kernel")) {
		if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
			return fail("KVM_CREATE_IRQCHIP");
	} else if (!strcmp(irqchip, "split")) {
		struct kvm_enable_cap cap = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};

		if (ioctl(vm, KVM_ENABLE_CAP, &cap) < 0)
			return fail("KVM_CAP_SPLIT_IRQCHIP");
	}
	if (pit) {
		struct kvm_pit_config pc = {.flags = KVM_PIT_SPEAKER_DUMMY};

		if (ioctl(vm, KVM_CREATE_PIT2, &pc) < 0)
			return fail("KVM_CREATE_PIT2");
	}
	if (load_elf(argv[i], ram, &entry) < 0) {
		fprintf(stderr, "floor: %s: not a PVH ELF\n", argv[i]);
		return 1;
	}
	/* hvm_start_info version 0: magic, nothing else (no cmdline, no modules). */
	*(unsigned *)(ram + START_INFO) = PVH_MAGIC;

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	kr = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE, MAP_SHARED,
		  vcpu, 0);
	if (kr == MAP_FAILED)
		return fail("kvm_run");
	if (setup_vcpu(kvm, vcpu, entry) < 0)
		return fail("vCPU state");
	rc = run(vcpu, kr, out);
	fflush(out);
	return rc;
}
