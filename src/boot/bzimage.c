// SPDX-License-Identifier: MIT
/*
 * Linux bzImage loader for the 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst): the protected-mode part goes to 1 MiB,
 * boot_params to LAYOUT_ZERO_PAGE, the command line to LAYOUT_CMDLINE and the
 * initramfs as high in low RAM as the kernel allows. The real-mode setup code
 * is not used.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "boot/boot.h"
#include "boot/loader.h"
#include "boot/x86_boot_abi.h"

#define PROTO(v) (unsigned)((v) >> 8), (unsigned)((v)&0xff)

/* Protocol 2.06 defines the fields up to cmdline_size; 2.10 up to init_size. */
#define HDR_END_206 (BZ_HDR_OFF(cmdline_size) + 4)
#define HDR_END_210 (BZ_HDR_OFF(init_size) + 4)
/* Bytes past the known header belong to boot_params fields after it. */
#define HDR_END_MAX 0x290

struct bz_layout {
	u64 load; /* protected-mode part */
	u64 pm_size;
	u64 run_start; /* where the kernel decompresses and runs */
	u64 run_end;
	u64 initrd;
};

/* img holds the image's first MIN(len, HDR_END_MAX) bytes; len is the image's size. */
static int check_header(const u8 *img, size_t len, u64 *hdr_end, u64 *setup_size, struct err *e)
{
	u16 version;
	unsigned sects;

	if (len < BZ_HEADER_OFF + 6)
		return errf(e, -EINVAL, "%zu bytes is too small for a bzImage setup header", len);
	if (get_le16(img + BZ_BOOT_FLAG_OFF) != BZ_BOOT_FLAG)
		return errf(e, -EINVAL, "no boot signature 0xAA55 at offset 0x1fe");
	if (get_le32(img + BZ_HEADER_OFF) != BZ_HEADER_MAGIC)
		return errf(e, -EINVAL, "no \"HdrS\" setup-header magic at offset 0x202");
	version = get_le16(img + BZ_HDR_OFF(version));
	if (version < 0x206)
		return errf(e, -ENOTSUP, "boot protocol %u.%02u is too old (2.06 or later needed)",
			    PROTO(version));
	/* The byte after the jump instruction says where the header ends. */
	*hdr_end = BZ_HEADER_OFF + img[BZ_JUMP_OFF + 1];
	if (*hdr_end < (version >= 0x20a ? HDR_END_210 : HDR_END_206))
		return errf(e, -EINVAL,
			    "setup header ends at 0x%llx, too short for boot protocol %u.%02u",
			    (unsigned long long)*hdr_end, PROTO(version));
	sects = img[BZ_SETUP_HEADER_OFF];
	if (!sects)
		sects = BZ_DEFAULT_SETUP_SECTS;
	*setup_size = (u64)(sects + 1) * BZ_SECTOR_SIZE;
	if (*setup_size >= len)
		return errf(e, -EINVAL, "setup_sects %u runs past the end of the %zu-byte file",
			    sects, len);
	return 0;
}

static int plan_kernel(const struct bz_setup_header *h, u64 pm_size, u64 ram_end,
		       struct bz_layout *l, struct err *e)
{
	u64 init_size = h->version >= 0x20a ? h->init_size : 0;
	u64 pref = h->version >= 0x20a ? h->pref_address : 0;

	if (!(h->xloadflags & BZ_XLF_KERNEL_64))
		return errf(e, -ENOTSUP,
			    "no 64-bit entry point (xloadflags 0x%x lacks XLF_KERNEL_64, "
			    "boot protocol %u.%02u)",
			    h->xloadflags, PROTO(h->version));
	if (!(h->loadflags & BZ_LOADED_HIGH))
		return errf(e, -ENOTSUP, "not loadable at 1 MiB (loadflags lacks LOADED_HIGH)");

	l->load = LAYOUT_HIGH_RAM;
	l->pm_size = pm_size;
	/*
	 * Where the kernel will run: a relocatable one at the load address
	 * rounded up to kernel_alignment, a fixed one at pref_address. The
	 * 64-bit decompressor never runs below its link address (pref_address)
	 * either, so the larger of the two is what must fit.
	 */
	if (h->relocatable_kernel) {
		u64 align = h->kernel_alignment;

		if (!align || (align & (align - 1)) || align > GiB)
			return errf(e, -EINVAL, "kernel_alignment 0x%llx is not a power of two",
				    (unsigned long long)align);
		l->run_start = ALIGN_UP(l->load, align);
	} else {
		l->run_start = pref ? pref : l->load;
	}
	l->run_start = MAX(l->run_start, pref);
	if (add_overflows(l->run_start, MAX(init_size, pm_size), &l->run_end) ||
	    l->run_end > ram_end || l->load + pm_size > ram_end)
		return errf(e, -ENOMEM,
			    "kernel needs RAM up to 0x%llx (runs at 0x%llx, init_size 0x%llx) but "
			    "low RAM ends at 0x%llx",
			    (unsigned long long)MAX(l->run_end, l->load + pm_size),
			    (unsigned long long)l->run_start, (unsigned long long)init_size,
			    (unsigned long long)ram_end);
	return 0;
}

static int plan_initrd(const struct bz_setup_header *h, const struct boot_payload *p, u64 ram_end,
		       struct bz_layout *l, struct err *e)
{
	const struct boot_range avoid[] = {
	    {l->load, l->load + l->pm_size},
	    {l->run_start, l->run_end},
	};
	/* initrd_addr_max is the last byte the initrd may occupy. */
	u64 ceiling = MIN((u64)h->initrd_addr_max + 1, ram_end);

	if (p->initrd_len > UINT32_MAX)
		return errf(e, -E2BIG, "initramfs of %zu bytes is too big for the boot protocol",
			    p->initrd_len);
	if (boot_place_high(p->initrd_len, LAYOUT_HIGH_RAM, ceiling, avoid, ARRAY_SIZE(avoid),
			    &l->initrd) < 0)
		return errf(e, -ENOMEM,
			    "no room for the %zu-byte initramfs below 0x%llx (initrd_addr_max "
			    "0x%x, low RAM end 0x%llx) clear of the kernel at [0x%llx, 0x%llx)",
			    p->initrd_len, (unsigned long long)ceiling, h->initrd_addr_max,
			    (unsigned long long)ram_end, (unsigned long long)l->load,
			    (unsigned long long)MAX(l->run_end, l->load + l->pm_size));
	return 0;
}

int boot_load_bzimage(struct guest_mem *gm, const struct boot_payload *p, struct boot_entry *out,
		      struct err *e)
{
	static const struct bz_boot_params zero;
	struct bz_boot_params bp = zero;
	struct bz_setup_header *h = &bp.hdr;
	struct bz_layout l = {0};
	u64 hdr_end = 0, setup_size = 0, ram_end = boot_low_ram_end(gm);
	bool initrd = boot_has_initrd(p);
	/* Holds the whole header once check_header passes: the setup part is >= 1 KiB. */
	u8 head[HDR_END_MAX];
	int r;

	r = boot_kernel_read(p, 0, head, MIN(p->kernel_len, sizeof(head)), e);
	if (r < 0)
		return r;
	r = check_header(head, p->kernel_len, &hdr_end, &setup_size, e);
	if (r < 0)
		return r;
	/* boot_params starts zeroed with the image's setup header copied in. */
	memcpy((u8 *)&bp + BZ_SETUP_HEADER_OFF, head + BZ_SETUP_HEADER_OFF,
	       MIN(hdr_end, HDR_END_MAX) - BZ_SETUP_HEADER_OFF);

	r = plan_kernel(h, p->kernel_len - setup_size, ram_end, &l, e);
	if (r < 0)
		return r;
	if (initrd) {
		r = plan_initrd(h, p, ram_end, &l, e);
		if (r < 0)
			return r;
	}
	if (!p->e820 || !p->n_e820 || p->n_e820 > BZ_E820_MAX)
		return errf(e, -EINVAL, "e820 map of %u entries (1 to %d fit in boot_params)",
			    p->n_e820, BZ_E820_MAX);

	/* Validated: now write guest memory. */
	r = boot_write_cmdline(gm, p->cmdline, h->cmdline_size, e);
	if (r < 0)
		return r;
	r = boot_kernel_to_guest(gm, p, setup_size, l.load, l.pm_size, e);
	if (r < 0)
		return err_ctx(e, "protected-mode kernel");
	if (initrd) {
		r = boot_write_initrd(gm, p, l.initrd, e);
		if (r < 0)
			return r;
		h->ramdisk_image = (u32)l.initrd;
		h->ramdisk_size = (u32)p->initrd_len;
	} else {
		h->ramdisk_image = 0;
		h->ramdisk_size = 0;
	}

	h->vid_mode = BZ_VID_MODE_NORMAL;
	h->type_of_loader = BZ_LOADER_UNDEFINED;
	h->ext_loader_ver = 0;
	h->ext_loader_type = 0;
	h->loadflags |= BZ_CAN_USE_HEAP;
	/* End of the (unused) setup heap: the whole 64 KiB real-mode segment. */
	h->heap_end_ptr = 0xfe00;
	h->code32_start = (u32)l.load;
	h->cmd_line_ptr = (u32)LAYOUT_CMDLINE;
	h->hardware_subarch = 0;
	h->hardware_subarch_data = 0;
	h->setup_data = 0; /* merak passes no setup_data list */
	for (unsigned i = 0; i < p->n_e820; i++) {
		bp.e820_table[i].addr = p->e820[i].addr;
		bp.e820_table[i].size = p->e820[i].size;
		bp.e820_table[i].type = p->e820[i].type;
	}
	bp.e820_entries = (u8)p->n_e820;
	if (h->version >= 0x20e && p->rsdp_gpa)
		bp.acpi_rsdp_addr = p->rsdp_gpa;

	r = guest_mem_write(gm, LAYOUT_ZERO_PAGE, &bp, sizeof(bp), e);
	if (r < 0)
		return err_ctx(e, "boot_params");
	out->mode = BOOT_MODE_LINUX64;
	out->entry = l.load + BZ_ENTRY64_OFF;
	out->boot_info = LAYOUT_ZERO_PAGE;
	return 0;
}
