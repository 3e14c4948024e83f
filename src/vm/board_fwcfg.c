// SPDX-License-Identifier: MIT
/*
 * The fw_cfg device of a firmware-booted VM (plain OVMF or TDVF in a TD):
 * CPU counts, the memory map, the ACPI tables with their loader script, and
 * the kernel, initrd and command line for OVMF's direct boot
 * (docs/devices-fwcfg.md).
 */
#include <errno.h>
#include <stdlib.h>

#include "arch/x86/fwcfg_tables.h"
#include "arch/x86/layout.h"
#include "devices/fw_cfg.h"
#include "util/file.h"
#include "util/log.h"
#include "vm/vm.h"

#define FWCFG_KERNEL_MAX (512ULL << 20)
#define FWCFG_INITRD_MAX (2ULL << 30) /* fw_cfg sizes are 32-bit anyway */

static int add_acpi(struct vm *vm, struct fw_cfg *f, struct err *e)
{
	struct acpi_config acfg = vm_acpi_config(vm);
	struct fwcfg_acpi a;
	int r;

	r = fwcfg_acpi_build(&acfg, &a, e);
	if (r < 0)
		return err_ctx(e, "ACPI tables for fw_cfg");
	/* fw_cfg takes each buffer, also when adding fails. */
	r = fw_cfg_add_file_take(f, FWCFG_FILE_ACPI_TABLES, a.tables, a.tables_len, e);
	a.tables = NULL;
	if (r == 0) {
		r = fw_cfg_add_file_take(f, FWCFG_FILE_ACPI_RSDP, a.rsdp, a.rsdp_len, e);
		a.rsdp = NULL;
	}
	if (r == 0) {
		r = fw_cfg_add_file_take(f, FWCFG_FILE_LOADER, a.loader, a.loader_len, e);
		a.loader = NULL;
	}
	fwcfg_acpi_free(&a);
	return r;
}

static int add_linux(struct vm *vm, struct fw_cfg *f, struct err *e)
{
	const struct vm_config *cfg = vm->cfg;
	struct file_buf kernel = {0}, initrd = {0};
	struct fw_cfg_linux l;
	int r;

	r = file_read_all(cfg->kernel, FWCFG_KERNEL_MAX, "kernel", &kernel, e);
	if (r < 0)
		return r;
	if (cfg->initramfs) {
		r = file_read_all(cfg->initramfs, FWCFG_INITRD_MAX, "initramfs", &initrd, e);
		if (r < 0) {
			file_buf_free(&kernel);
			return r;
		}
	}
	l = (struct fw_cfg_linux){
		.kernel = kernel.data,
		.kernel_len = kernel.len,
		.initrd = initrd.data,
		.initrd_len = initrd.len,
		.cmdline = cfg->cmdline,
	};
	r = fw_cfg_add_linux(f, &l, e); /* takes both buffers */
	if (r < 0)
		return err_ctx(e, "kernel '%s'", cfg->kernel);
	return 0;
}

int board_fwcfg_setup(struct vm *vm, bool with_kernel, struct err *e)
{
	struct fw_cfg *f;
	u8 *e820 = NULL;
	size_t e820_len = 0;
	int r;

	r = fw_cfg_create(&vm->mem, &f, e);
	if (r < 0)
		return r;
	vm->fw_cfg = f;
	r = fw_cfg_add_u16(f, FW_CFG_NB_CPUS, (u16)vm->ncpus, e);
	if (r == 0)
		r = fw_cfg_add_u16(f, FW_CFG_MAX_CPUS, (u16)vm->ncpus, e);
	if (r == 0)
		r = fw_cfg_add_u64(f, FW_CFG_RAM_SIZE, vm->cfg->mem_size, e);
	if (r < 0)
		return r;
	/* KVM's identity-map and TSS pages exist only in ordinary VMs. */
	r = fwcfg_e820_build(&vm->mem, vm->tdx == NULL, &e820, &e820_len, e);
	if (r == 0)
		r = fw_cfg_add_file_take(f, FWCFG_FILE_E820, e820, e820_len, e);
	if (r == 0)
		r = add_acpi(vm, f, e);
	if (r == 0 && with_kernel && vm->cfg->kernel)
		r = add_linux(vm, f, e);
	if (r == 0)
		r = fw_cfg_register(f, &vm->pio, e);
	if (r == 0)
		log_debug("fw_cfg: %u items, %u files", f->n, f->nfiles);
	return r;
}

void board_fwcfg_destroy(struct vm *vm)
{
	if (!vm->fw_cfg)
		return;
	fw_cfg_destroy(vm->fw_cfg);
	vm->fw_cfg = NULL;
}
