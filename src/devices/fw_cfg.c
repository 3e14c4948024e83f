// SPDX-License-Identifier: MIT
/*
 * fw_cfg: QEMU's firmware configuration interface (port I/O and DMA), the
 * channel through which OVMF/TDVF learn the memory map, the CPU count, the
 * ACPI tables and a directly booted kernel. Protocol facts from QEMU's
 * hw/nvram/fw_cfg.c and docs/specs/fw_cfg.rst; see docs/devices-fwcfg.md.
 */
#include "devices/fw_cfg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "boot/x86_boot_abi.h"

/* Where QEMU tells a legacy loader to put the pieces (OVMF allocates its own). */
#define LINUX_SETUP_ADDR   0x10000u
#define LINUX_CMDLINE_ADDR 0x20000u
#define LINUX_KERNEL_ADDR  0x100000u

static const u8 signature[4] = {'Q', 'E', 'M', 'U'};

static u32 get_be32(const u8 *b)
{
	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

static u64 get_be64(const u8 *b)
{
	return (u64)get_be32(b) << 32 | get_be32(b + 4);
}

static void put_be16(u8 *b, u16 v)
{
	b[0] = (u8)(v >> 8);
	b[1] = (u8)v;
}

static void put_be32(u8 *b, u32 v)
{
	b[0] = (u8)(v >> 24);
	b[1] = (u8)(v >> 16);
	b[2] = (u8)(v >> 8);
	b[3] = (u8)v;
}

/* ---- item table ------------------------------------------------------------ */

static int find_index(const struct fw_cfg *f, u16 key)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->items[i].key == key)
			return (int)i;
	return -1;
}

const struct fw_cfg_item *fw_cfg_find(const struct fw_cfg *f, u16 key)
{
	int i = find_index(f, key);

	return i < 0 ? NULL : &f->items[i];
}

const struct fw_cfg_item *fw_cfg_find_file(const struct fw_cfg *f, const char *name)
{
	for (unsigned i = 0; i < f->n; i++)
		if (f->items[i].name[0] && !strcmp(f->items[i].name, name))
			return &f->items[i];
	return NULL;
}

/* Appends an item; owned is freed here on failure. */
static int append(struct fw_cfg *f, u16 key, const char *name, const u8 *data, size_t len,
		  void *owned, struct err *e)
{
	struct fw_cfg_item *it;

	if (len > UINT32_MAX) {
		free(owned);
		return errf(e, -E2BIG, "fw_cfg item 0x%x%s%s: %zu bytes exceed the 4 GiB limit", key,
			    name ? " " : "", name ? name : "", len);
	}
	if (f->n == f->cap) {
		unsigned cap = f->cap ? f->cap * 2 : 32;
		struct fw_cfg_item *n = realloc(f->items, cap * sizeof(*n));

		if (!n) {
			free(owned);
			return errf(e, -ENOMEM, "fw_cfg: out of memory");
		}
		f->items = n;
		f->cap = cap;
	}
	it = &f->items[f->n++];
	memset(it, 0, sizeof(*it));
	it->key = key;
	if (name)
		strcpy(it->name, name);
	it->data = data;
	it->len = (u32)len;
	it->owned = owned;
	return 0;
}

static int check_key(const struct fw_cfg *f, u16 key, struct err *e)
{
	u16 idx = key & (u16)~(FW_CFG_ARCH_LOCAL | FW_CFG_WRITE_CHANNEL);

	if ((key & FW_CFG_WRITE_CHANNEL) || key == FW_CFG_INVALID ||
	    (!(key & FW_CFG_ARCH_LOCAL) && idx >= FW_CFG_FILE_FIRST))
		return errf(e, -EINVAL,
			    "fw_cfg key 0x%x is not a legacy or arch-local key (files get theirs "
			    "from fw_cfg_add_file)",
			    key);
	if (find_index(f, key) >= 0)
		return errf(e, -EEXIST, "fw_cfg key 0x%x is already set", key);
	return 0;
}

int fw_cfg_add_bytes_take(struct fw_cfg *f, u16 key, void *buf, size_t off, size_t len,
			  struct err *e)
{
	int r = check_key(f, key, e);

	if (r < 0) {
		free(buf);
		return r;
	}
	return append(f, key, NULL, (const u8 *)buf + off, len, buf, e);
}

int fw_cfg_add_bytes(struct fw_cfg *f, u16 key, const void *data, size_t len, struct err *e)
{
	u8 *copy = malloc(len ? len : 1);

	if (!copy)
		return errf(e, -ENOMEM, "fw_cfg key 0x%x: out of memory for %zu bytes", key, len);
	if (len)
		memcpy(copy, data, len);
	return fw_cfg_add_bytes_take(f, key, copy, 0, len, e);
}

int fw_cfg_add_u16(struct fw_cfg *f, u16 key, u16 v, struct err *e)
{
	u8 b[2];

	put_le16(b, v);
	return fw_cfg_add_bytes(f, key, b, sizeof(b), e);
}

int fw_cfg_add_u32(struct fw_cfg *f, u16 key, u32 v, struct err *e)
{
	u8 b[4];

	put_le32(b, v);
	return fw_cfg_add_bytes(f, key, b, sizeof(b), e);
}

int fw_cfg_add_u64(struct fw_cfg *f, u16 key, u64 v, struct err *e)
{
	u8 b[8];

	put_le64(b, v);
	return fw_cfg_add_bytes(f, key, b, sizeof(b), e);
}

/* FILE_DIR: be32 count, then one entry per file in key (= name) order. */
static int rebuild_dir(struct fw_cfg *f, struct err *e)
{
	size_t len = 4 + (size_t)f->nfiles * FW_CFG_DIR_ENTRY;
	u8 *dir = calloc(1, len);
	int d = find_index(f, FW_CFG_FILE_DIR);

	if (!dir)
		return errf(e, -ENOMEM, "fw_cfg: out of memory for the file directory");
	put_be32(dir, f->nfiles);
	for (unsigned i = 0; i < f->n; i++) {
		const struct fw_cfg_item *it = &f->items[i];
		u8 *p;

		if (!it->name[0])
			continue;
		p = dir + 4 + (size_t)(it->key - FW_CFG_FILE_FIRST) * FW_CFG_DIR_ENTRY;
		put_be32(p, it->len);
		put_be16(p + 4, it->key);
		memcpy(p + 8, it->name, strlen(it->name));
	}
	if (d < 0)
		return append(f, FW_CFG_FILE_DIR, NULL, dir, len, dir, e);
	free(f->items[d].owned);
	f->items[d].owned = dir;
	f->items[d].data = dir;
	f->items[d].len = (u32)len;
	return 0;
}

int fw_cfg_add_file_take(struct fw_cfg *f, const char *name, void *buf, size_t len,
			 struct err *e)
{
	size_t nl = name ? strlen(name) : 0;
	unsigned rank = 0;
	int r;

	if (!nl || nl >= FW_CFG_NAME_LEN) {
		free(buf);
		return errf(e, -EINVAL, "fw_cfg file name '%s' must have 1 to %d bytes",
			    name ? name : "", FW_CFG_NAME_LEN - 1);
	}
	if (fw_cfg_find_file(f, name)) {
		free(buf);
		return errf(e, -EEXIST, "fw_cfg file '%s' is already present", name);
	}
	if (f->nfiles >= FW_CFG_MAX_FILES) {
		free(buf);
		return errf(e, -ENOSPC, "fw_cfg file '%s': all %d file slots are taken", name,
			    FW_CFG_MAX_FILES);
	}
	/* Keys follow the names' sorted order, as QEMU assigns them. */
	for (unsigned i = 0; i < f->n; i++)
		if (f->items[i].name[0] && strcmp(f->items[i].name, name) < 0)
			rank++;
	r = append(f, (u16)(FW_CFG_FILE_FIRST + rank), name, buf, len, buf, e);
	if (r < 0)
		return r;
	for (unsigned i = 0; i + 1 < f->n; i++)
		if (f->items[i].name[0] && strcmp(f->items[i].name, name) > 0)
			f->items[i].key++;
	f->nfiles++;
	return rebuild_dir(f, e);
}

int fw_cfg_add_file(struct fw_cfg *f, const char *name, const void *data, size_t len,
		    struct err *e)
{
	u8 *copy = malloc(len ? len : 1);

	if (!copy)
		return errf(e, -ENOMEM, "fw_cfg file '%s': out of memory for %zu bytes",
			    name ? name : "", len);
	if (len)
		memcpy(copy, data, len);
	return fw_cfg_add_file_take(f, name, copy, len, e);
}

int fw_cfg_create(const struct guest_mem *gm, struct fw_cfg **out, struct err *e)
{
	struct fw_cfg *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return errf(e, -ENOMEM, "fw_cfg: out of memory");
	f->gm = gm;
	f->cur = -1;
	pthread_mutex_init(&f->lock, NULL);
	r = fw_cfg_add_bytes(f, FW_CFG_SIGNATURE, signature, sizeof(signature), e);
	if (r == 0)
		r = fw_cfg_add_u32(f, FW_CFG_ID, FW_CFG_VERSION | FW_CFG_VERSION_DMA, e);
	if (r == 0)
		r = rebuild_dir(f, e);
	if (r < 0) {
		fw_cfg_destroy(f);
		return r;
	}
	*out = f;
	return 0;
}

void fw_cfg_destroy(struct fw_cfg *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < f->n; i++)
		free(f->items[i].owned);
	free(f->items);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* ---- Linux payload ----------------------------------------------------------- */

int fw_cfg_add_linux(struct fw_cfg *f, struct fw_cfg_linux *l, struct err *e)
{
	u8 *kernel = l->kernel, *initrd = l->initrd;
	size_t setup_len;
	unsigned sects;
	int r;

	l->kernel = l->initrd = NULL;
	if (!kernel || l->kernel_len < BZ_HEADER_OFF + 4 ||
	    get_le32(kernel + BZ_HEADER_OFF) != BZ_HEADER_MAGIC) {
		r = errf(e, -EINVAL,
			 "OVMF boots a bzImage through fw_cfg: no \"HdrS\" setup-header magic at "
			 "offset 0x%x of the %zu-byte kernel",
			 BZ_HEADER_OFF, l->kernel_len);
		goto fail;
	}
	sects = kernel[BZ_SETUP_HEADER_OFF];
	if (!sects)
		sects = BZ_DEFAULT_SETUP_SECTS;
	setup_len = (size_t)(sects + 1) * BZ_SECTOR_SIZE;
	if (setup_len >= l->kernel_len) {
		r = errf(e, -EINVAL, "setup_sects %u runs past the end of the %zu-byte kernel",
			 sects, l->kernel_len);
		goto fail;
	}
	r = fw_cfg_add_u32(f, FW_CFG_SETUP_ADDR, LINUX_SETUP_ADDR, e);
	if (r == 0)
		r = fw_cfg_add_u32(f, FW_CFG_SETUP_SIZE, (u32)setup_len, e);
	if (r == 0)
		r = fw_cfg_add_bytes(f, FW_CFG_SETUP_DATA, kernel, setup_len, e);
	if (r == 0)
		r = fw_cfg_add_u32(f, FW_CFG_KERNEL_ADDR, LINUX_KERNEL_ADDR, e);
	if (r == 0 && l->kernel_len - setup_len > UINT32_MAX)
		r = errf(e, -E2BIG, "a %zu-byte kernel does not fit fw_cfg's 32-bit sizes",
			 l->kernel_len);
	if (r == 0)
		r = fw_cfg_add_u32(f, FW_CFG_KERNEL_SIZE, (u32)(l->kernel_len - setup_len), e);
	if (r < 0)
		goto fail;
	r = fw_cfg_add_bytes_take(f, FW_CFG_KERNEL_DATA, kernel, setup_len,
				  l->kernel_len - setup_len, e);
	kernel = NULL;
	if (r < 0)
		goto fail;
	if (initrd) {
		if (l->initrd_len > UINT32_MAX) {
			r = errf(e, -E2BIG, "a %zu-byte initrd does not fit fw_cfg's 32-bit sizes",
				 l->initrd_len);
			goto fail;
		}
		r = fw_cfg_add_u32(f, FW_CFG_INITRD_SIZE, (u32)l->initrd_len, e);
		if (r < 0)
			goto fail;
		r = fw_cfg_add_bytes_take(f, FW_CFG_INITRD_DATA, initrd, 0, l->initrd_len, e);
		initrd = NULL;
		if (r < 0)
			goto fail;
	}
	if (l->cmdline) {
		size_t n = strlen(l->cmdline) + 1;

		r = fw_cfg_add_u32(f, FW_CFG_CMDLINE_ADDR, LINUX_CMDLINE_ADDR, e);
		if (r == 0)
			r = fw_cfg_add_u32(f, FW_CFG_CMDLINE_SIZE, (u32)n, e);
		if (r == 0)
			r = fw_cfg_add_bytes(f, FW_CFG_CMDLINE_DATA, l->cmdline, n, e);
	}
	return r;
fail:
	free(kernel);
	free(initrd);
	return r;
}

/* ---- the device -------------------------------------------------------------- */

/* Called with the lock held. Keys out of range select nothing (reads give 0). */
static void select_key(struct fw_cfg *f, u16 key)
{
	f->cur = find_index(f, key & (u16)~FW_CFG_WRITE_CHANNEL);
	f->off = 0;
}

static u8 read_byte(struct fw_cfg *f)
{
	const struct fw_cfg_item *it;

	if (f->cur < 0)
		return 0;
	it = &f->items[f->cur];
	if (f->off >= it->len)
		return 0;
	return it->data[f->off++];
}

/*
 * 0x510 and 0x511 as one 2-byte range, as QEMU's x86 flavour has them: a
 * 16-bit write selects, byte writes (the old write channel) are ignored, a
 * byte read returns the next data byte. Wider reads are not part of the
 * protocol and read as all ones.
 */
static void ctl_read(void *opaque, u64 off, void *data, u32 len)
{
	struct fw_cfg *f = opaque;

	if (len != 1) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&f->lock);
	*(u8 *)data = read_byte(f);
	pthread_mutex_unlock(&f->lock);
}

static void ctl_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct fw_cfg *f = opaque;

	if (len != 2)
		return;
	pthread_mutex_lock(&f->lock);
	select_key(f, get_le16(data));
	pthread_mutex_unlock(&f->lock);
}

/* Copies into guest memory; false if [gpa, +len) is not all guest RAM. */
static bool dma_to_guest(const struct fw_cfg *f, u64 gpa, const u8 *src, u32 len)
{
	u8 *dst = guest_mem_ptr(f->gm, gpa, len);

	if (!dst)
		return false;
	if (src)
		memcpy(dst, src, len);
	else
		memset(dst, 0, len);
	return true;
}

/*
 * One DMA request (called with the lock held). QEMU's rules: SELECT first;
 * then READ, else WRITE, else SKIP moves through the item; past its end reads
 * give zeros. There are no writable items, so WRITE fails. The control word
 * is written back: 0, or ERROR when anything failed.
 */
static void dma_transfer(struct fw_cfg *f, u64 desc_gpa)
{
	u8 *desc = guest_mem_ptr(f->gm, desc_gpa, FW_CFG_DMA_ACCESS_LEN);
	u32 control, length, status = 0;
	u64 addr;

	f->dma_transfers++;
	if (!desc) {
		/* Nowhere to report the error: QEMU tries the control word alone. */
		u8 *ctl = guest_mem_ptr(f->gm, desc_gpa, 4);

		f->dma_errors++;
		if (ctl)
			put_be32(ctl, FW_CFG_DMA_CTL_ERROR);
		return;
	}
	control = get_be32(desc);
	length = get_be32(desc + 4);
	addr = get_be64(desc + 8);
	if (control & FW_CFG_DMA_CTL_SELECT)
		select_key(f, (u16)(control >> 16));
	if (!(control & (FW_CFG_DMA_CTL_READ | FW_CFG_DMA_CTL_WRITE | FW_CFG_DMA_CTL_SKIP)))
		length = 0;
	while (length && !status) {
		const struct fw_cfg_item *it = f->cur >= 0 ? &f->items[f->cur] : NULL;
		u32 n;

		if (!it || f->off >= it->len) {
			/* Past the end: reads give zeros, writes fail, skips do nothing. */
			n = length;
			if (control & FW_CFG_DMA_CTL_READ) {
				if (!dma_to_guest(f, addr, NULL, n))
					status = FW_CFG_DMA_CTL_ERROR;
			} else if (control & FW_CFG_DMA_CTL_WRITE) {
				status = FW_CFG_DMA_CTL_ERROR;
			}
		} else {
			n = MIN(length, it->len - f->off);
			if (control & FW_CFG_DMA_CTL_READ) {
				if (!dma_to_guest(f, addr, it->data + f->off, n))
					status = FW_CFG_DMA_CTL_ERROR;
			} else if (control & FW_CFG_DMA_CTL_WRITE) {
				status = FW_CFG_DMA_CTL_ERROR; /* no item is writable */
			}
			if (!status)
				f->off += n;
		}
		/* The guest's address may wrap; the next guest_mem_ptr refuses it. */
		addr += n;
		length -= n;
	}
	if (status)
		f->dma_errors++;
	/* The descriptor may have been overwritten by the transfer itself: re-check. */
	desc = guest_mem_ptr(f->gm, desc_gpa, 4);
	if (desc)
		put_be32(desc, status);
}

static void dma_read(void *opaque, u64 off, void *data, u32 len)
{
	u8 *out = data;

	for (u32 i = 0; i < len; i++)
		out[i] = off + i < 8 ? (u8)(FW_CFG_DMA_SIGNATURE >> (56 - 8 * (off + i))) : 0xff;
}

/*
 * The address register is big-endian: the guest writes the high half at
 * 0x514 and the low half at 0x518, which starts the transfer; an 8-byte
 * write at 0x514 does both. Other widths are ignored, as in QEMU.
 */
static void dma_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct fw_cfg *f = opaque;
	bool go;

	if (!((len == 4 && (off == 0 || off == 4)) || (len == 8 && off == 0)))
		return;
	pthread_mutex_lock(&f->lock);
	memcpy(f->dma_addr + off, data, len);
	go = off + len == FW_CFG_DMA_LEN;
	if (go) {
		u64 gpa = get_be64(f->dma_addr);

		memset(f->dma_addr, 0, sizeof(f->dma_addr));
		dma_transfer(f, gpa);
	}
	pthread_mutex_unlock(&f->lock);
}

const struct bus_ops fw_cfg_ctl_ops = {ctl_read, ctl_write};
const struct bus_ops fw_cfg_dma_ops = {dma_read, dma_write};

int fw_cfg_register(struct fw_cfg *f, struct bus *pio, struct err *e)
{
	int r = bus_register(pio, FW_CFG_PORT_SEL, 2, &fw_cfg_ctl_ops, f, "fw_cfg", e);

	if (r < 0)
		return r;
	return bus_register(pio, FW_CFG_PORT_DMA, FW_CFG_DMA_LEN, &fw_cfg_dma_ops, f,
			    "fw_cfg-dma", e);
}
