// SPDX-License-Identifier: MIT
/* fw_cfg device: the port protocol, DMA, the item table and the Linux split. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "devices/fw_cfg.h"

#define DESC 0x1000ULL
#define BUF  0x2000ULL
#define RAM  (1 * MiB)

struct env {
	struct guest_mem gm;
	struct bus pio;
	struct fw_cfg *f;
};

static int setup(void **state)
{
	struct env *v = calloc(1, sizeof(*v));
	struct err e;

	guest_mem_init(&v->gm);
	assert_int_equal(guest_mem_add_anon(&v->gm, 0, RAM, MEM_RAM, &e), 0);
	bus_init(&v->pio, "pio");
	assert_int_equal(fw_cfg_create(&v->gm, &v->f, &e), 0);
	assert_int_equal(fw_cfg_register(v->f, &v->pio, &e), 0);
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	struct env *v = *state;

	fw_cfg_destroy(v->f);
	bus_destroy(&v->pio);
	guest_mem_free(&v->gm);
	free(v);
	return 0;
}

static void sel(struct env *v, u16 key)
{
	assert_true(bus_write(&v->pio, FW_CFG_PORT_SEL, &key, 2));
}

static u8 inb_data(struct env *v)
{
	u8 b = 0x55;

	assert_true(bus_read(&v->pio, FW_CFG_PORT_DATA, &b, 1));
	return b;
}

static void read_n(struct env *v, void *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((u8 *)out)[i] = inb_data(v);
}

static u32 be32(const u8 *b)
{
	return (u32)b[0] << 24 | (u32)b[1] << 16 | (u32)b[2] << 8 | b[3];
}

static void put_be32_(u8 *b, u32 v)
{
	b[0] = (u8)(v >> 24);
	b[1] = (u8)(v >> 16);
	b[2] = (u8)(v >> 8);
	b[3] = (u8)v;
}

static u8 *gptr(struct env *v, u64 gpa)
{
	return guest_mem_ptr(&v->gm, gpa, 1);
}

/* The guest's side of a DMA request, as OVMF issues it. */
static u32 dma(struct env *v, u64 desc, u32 control, u32 length, u64 addr)
{
	u8 *d = guest_mem_ptr(&v->gm, desc, 16);
	u32 hi, lo;

	if (d) {
		put_be32_(d, control);
		put_be32_(d + 4, length);
		put_be32_(d + 8, (u32)(addr >> 32));
		put_be32_(d + 12, (u32)addr);
	}
	/* outl(0x514, bswap32(high)); outl(0x518, bswap32(low)) */
	hi = __builtin_bswap32((u32)(desc >> 32));
	lo = __builtin_bswap32((u32)desc);
	assert_true(bus_write(&v->pio, FW_CFG_PORT_DMA, &hi, 4));
	assert_true(bus_write(&v->pio, FW_CFG_PORT_DMA + 4, &lo, 4));
	return d ? be32(d) : 0xdeadbeef;
}

static void test_signature_and_id(void **state)
{
	struct env *v = *state;
	u8 buf[8];
	u16 w = 0x1234;
	u64 sig = 0;

	sel(v, FW_CFG_SIGNATURE);
	read_n(v, buf, 5);
	assert_memory_equal(buf, "QEMU", 4);
	assert_int_equal(buf[4], 0); /* past the end */
	/* Selecting again rewinds. */
	sel(v, FW_CFG_SIGNATURE);
	assert_int_equal(inb_data(v), 'Q');
	/* The write-channel bit is ignored, as QEMU does. */
	sel(v, FW_CFG_SIGNATURE | FW_CFG_WRITE_CHANNEL);
	assert_int_equal(inb_data(v), 'Q');
	/* Reads at 0x510 are data reads too (one 2-byte range). */
	assert_true(bus_read(&v->pio, FW_CFG_PORT_SEL, &buf[0], 1));
	assert_int_equal(buf[0], 'E');
	/* Wider reads are not part of the protocol. */
	assert_true(bus_read(&v->pio, FW_CFG_PORT_SEL, &w, 2));
	assert_int_equal(w, 0xffff);
	/* Byte writes (the old write channel) change nothing. */
	buf[0] = 0x19;
	assert_true(bus_write(&v->pio, FW_CFG_PORT_SEL, buf, 1));
	assert_int_equal(inb_data(v), 'M');

	sel(v, FW_CFG_ID);
	read_n(v, buf, 4);
	assert_int_equal(get_le32(buf), FW_CFG_VERSION | FW_CFG_VERSION_DMA);

	/* Unknown keys select nothing: zeros. */
	sel(v, 0x1234);
	assert_int_equal(inb_data(v), 0);
	sel(v, FW_CFG_INVALID);
	assert_int_equal(inb_data(v), 0);

	/* The DMA register reads "QEMU CFG" big-endian. */
	assert_true(bus_read(&v->pio, FW_CFG_PORT_DMA, &sig, 8));
	assert_memory_equal(&sig, "QEMU CFG", 8);
	assert_true(bus_read(&v->pio, FW_CFG_PORT_DMA + 4, buf, 4));
	assert_memory_equal(buf, " CFG", 4);
}

static void test_file_dir_sorted(void **state)
{
	struct env *v = *state;
	const char *names[] = {"zeta", "alpha", "etc/e820", "mid", "etc/acpi/tables"};
	const char *sorted[] = {"alpha", "etc/acpi/tables", "etc/e820", "mid", "zeta"};
	u8 hdr[4], ent[FW_CFG_DIR_ENTRY];
	struct err e;

	sel(v, FW_CFG_FILE_DIR);
	read_n(v, hdr, 4);
	assert_int_equal(be32(hdr), 0);
	for (unsigned i = 0; i < 5; i++) {
		char data[16];

		memset(data, 'a' + i, sizeof(data));
		assert_int_equal(fw_cfg_add_file(v->f, names[i], data, i + 1, &e), 0);
	}
	sel(v, FW_CFG_FILE_DIR);
	read_n(v, hdr, 4);
	assert_int_equal(be32(hdr), 5);
	for (unsigned i = 0; i < 5; i++) {
		const struct fw_cfg_item *it = fw_cfg_find_file(v->f, sorted[i]);
		u16 key;
		char name[FW_CFG_NAME_LEN] = {0};

		read_n(v, ent, sizeof(ent));
		key = (u16)(ent[4] << 8 | ent[5]);
		assert_int_equal(key, FW_CFG_FILE_FIRST + i);
		assert_int_equal(ent[6] | ent[7], 0);
		memcpy(name, ent + 8, sizeof(name));
		assert_string_equal(name, sorted[i]);
		assert_non_null(it);
		assert_int_equal(it->key, key);
		assert_int_equal(be32(ent), it->len);
		assert_ptr_equal(fw_cfg_find(v->f, key), it);
	}
	assert_int_equal(inb_data(v), 0); /* the directory is exactly 4 + 5*64 bytes */

	/* Each file reads back through its key. */
	{
		const struct fw_cfg_item *it = fw_cfg_find_file(v->f, "mid");
		u8 b[5];

		sel(v, it->key);
		read_n(v, b, 5);
		assert_memory_equal(b, "dddd\0", 5);
	}
}

static void test_item_errors(void **state)
{
	struct env *v = *state;
	char longname[FW_CFG_NAME_LEN + 1];
	struct err e;

	assert_int_equal(fw_cfg_add_u16(v->f, FW_CFG_NB_CPUS, 4, &e), 0);
	assert_int_equal(fw_cfg_add_u16(v->f, FW_CFG_NB_CPUS, 4, &e), -EEXIST);
	assert_string_equal(e.msg, "fw_cfg key 0x5 is already set");
	assert_int_equal(fw_cfg_add_u32(v->f, FW_CFG_SIGNATURE, 0, &e), -EEXIST);
	assert_int_equal(fw_cfg_add_u32(v->f, FW_CFG_FILE_FIRST + 3, 0, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not a legacy or arch-local key"));
	assert_int_equal(fw_cfg_add_u32(v->f, 0x4005, 0, &e), -EINVAL);
	assert_int_equal(fw_cfg_add_u32(v->f, FW_CFG_INVALID, 0, &e), -EINVAL);
	assert_int_equal(fw_cfg_add_u32(v->f, FW_CFG_ARCH_LOCAL | 3, 7, &e), 0);

	assert_int_equal(fw_cfg_add_file(v->f, "", "x", 1, &e), -EINVAL);
	assert_string_equal(e.msg, "fw_cfg file name '' must have 1 to 55 bytes");
	memset(longname, 'n', sizeof(longname));
	longname[FW_CFG_NAME_LEN] = 0;
	assert_int_equal(fw_cfg_add_file(v->f, longname, "x", 1, &e), -EINVAL);
	longname[FW_CFG_NAME_LEN - 1] = 0; /* 55 bytes: fits with its NUL */
	assert_int_equal(fw_cfg_add_file(v->f, longname, "x", 1, &e), 0);
	assert_int_equal(fw_cfg_add_file(v->f, longname, "y", 1, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "is already present"));
	/* A zero-length file is legal. */
	assert_int_equal(fw_cfg_add_file(v->f, "empty", NULL, 0, &e), 0);
	assert_int_equal(fw_cfg_find_file(v->f, "empty")->len, 0);

	/* NB_CPUS is little-endian 16-bit. */
	{
		u8 b[3];

		sel(v, FW_CFG_NB_CPUS);
		read_n(v, b, 3);
		assert_int_equal(b[0], 4);
		assert_int_equal(b[1], 0);
		assert_int_equal(b[2], 0);
		sel(v, FW_CFG_ARCH_LOCAL | 3);
		assert_int_equal(inb_data(v), 7);
	}
}

static void test_file_slots_full(void **state)
{
	struct env *v = *state;
	struct err e;
	char name[16];

	for (int i = 0; i < FW_CFG_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "f%03d", FW_CFG_MAX_FILES - i);
		assert_int_equal(fw_cfg_add_file(v->f, name, "x", 1, &e), 0);
	}
	assert_int_equal(fw_cfg_add_file(v->f, "one-more", "x", 1, &e), -ENOSPC);
	assert_string_equal(e.msg, "fw_cfg file 'one-more': all 256 file slots are taken");
	/* Inserted in reverse order, keys still follow the names. */
	assert_int_equal(fw_cfg_find_file(v->f, "f001")->key, FW_CFG_FILE_FIRST);
	assert_int_equal(fw_cfg_find_file(v->f, "f256")->key, FW_CFG_FILE_FIRST + 255);
}

static void test_dma_read_skip_select(void **state)
{
	struct env *v = *state;
	struct err e;
	u8 *b = gptr(v, BUF);
	u8 data[300];

	for (unsigned i = 0; i < sizeof(data); i++)
		data[i] = (u8)i;
	assert_int_equal(fw_cfg_add_file(v->f, "etc/blob", data, sizeof(data), &e), 0);

	/* SELECT + READ of the signature. */
	memset(b, 0xaa, 16);
	assert_int_equal(dma(v, DESC, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT |
					      FW_CFG_DMA_CTL_READ,
			     4, BUF),
			 0);
	assert_memory_equal(b, "QEMU", 4);
	assert_int_equal(b[4], 0xaa);

	/* Reading past the end gives zeros and succeeds. */
	memset(b, 0xaa, 16);
	assert_int_equal(dma(v, DESC, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT |
					      FW_CFG_DMA_CTL_READ,
			     8, BUF),
			 0);
	assert_memory_equal(b, "QEMU\0\0\0\0", 8);
	assert_int_equal(b[8], 0xaa);

	/* SELECT + SKIP 100, then READ continues at 100 (no select). */
	assert_int_equal(dma(v, DESC, (u32)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT |
					      FW_CFG_DMA_CTL_SKIP,
			     100, 0),
			 0);
	assert_int_equal(dma(v, DESC, FW_CFG_DMA_CTL_READ, 50, BUF), 0);
	assert_memory_equal(b, data + 100, 50);
	/* The port interface shares the offset. */
	assert_int_equal(inb_data(v), 150);

	/* A SELECT alone rewinds and changes what the port reads. */
	assert_int_equal(dma(v, DESC, FW_CFG_ID << 16 | FW_CFG_DMA_CTL_SELECT, 99, BUF), 0);
	assert_int_equal(inb_data(v), FW_CFG_VERSION | FW_CFG_VERSION_DMA);

	/* The whole file in one go; a READ of an unknown key gives zeros. */
	assert_int_equal(dma(v, DESC, (u32)FW_CFG_FILE_FIRST << 16 | FW_CFG_DMA_CTL_SELECT |
					      FW_CFG_DMA_CTL_READ,
			     sizeof(data), BUF),
			 0);
	assert_memory_equal(b, data, sizeof(data));
	memset(b, 0xaa, 4);
	assert_int_equal(dma(v, DESC, 0x1234u << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ,
			     4, BUF),
			 0);
	assert_memory_equal(b, "\0\0\0\0", 4);

	/* One 8-byte write of the address register starts a transfer too. */
	{
		u8 *d = gptr(v, DESC);
		u64 be = __builtin_bswap64(DESC);

		put_be32_(d, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ);
		put_be32_(d + 4, 2);
		memset(d + 8, 0, 4);
		put_be32_(d + 12, (u32)BUF + 64);
		assert_true(bus_write(&v->pio, FW_CFG_PORT_DMA, &be, 8));
		assert_int_equal(be32(d), 0);
		assert_memory_equal(gptr(v, BUF + 64), "QE", 2);
	}
	assert_int_equal(v->f->dma_errors, 0);
}

static void test_dma_errors(void **state)
{
	struct env *v = *state;
	u8 *b = gptr(v, BUF);
	u8 before[16];

	/* No item is writable: WRITE fails, the item is untouched. */
	memcpy(b, "XXXX", 4);
	assert_int_equal(dma(v, DESC, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT |
					      FW_CFG_DMA_CTL_WRITE,
			     4, BUF),
			 FW_CFG_DMA_CTL_ERROR);
	sel(v, FW_CFG_SIGNATURE);
	assert_int_equal(inb_data(v), 'Q');
	/* A write past the end (or of nothing) fails as well. */
	assert_int_equal(dma(v, DESC, 0x1234u << 16 | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_WRITE,
			     4, BUF),
			 FW_CFG_DMA_CTL_ERROR);

	/* Data address outside guest RAM. */
	assert_int_equal(dma(v, DESC, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT |
					      FW_CFG_DMA_CTL_READ,
			     4, 3 * GiB),
			 FW_CFG_DMA_CTL_ERROR);
	/* Straddling the end of RAM. */
	assert_int_equal(dma(v, DESC, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT |
					      FW_CFG_DMA_CTL_READ,
			     4, RAM - 2),
			 FW_CFG_DMA_CTL_ERROR);
	/* Wrapping address. */
	assert_int_equal(dma(v, DESC, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT |
					      FW_CFG_DMA_CTL_READ,
			     4, UINT64_MAX - 1),
			 FW_CFG_DMA_CTL_ERROR);
	/* A huge length: the item part lands, the zero fill runs out of RAM. */
	assert_int_equal(dma(v, DESC, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT |
					      FW_CFG_DMA_CTL_READ,
			     UINT32_MAX, BUF),
			 FW_CFG_DMA_CTL_ERROR);
	assert_memory_equal(b, "QEMU", 4);
	/* A huge skip is harmless. */
	assert_int_equal(dma(v, DESC, FW_CFG_SIGNATURE << 16 | FW_CFG_DMA_CTL_SELECT |
					      FW_CFG_DMA_CTL_SKIP,
			     UINT32_MAX, 0),
			 0);
	assert_int_equal(inb_data(v), 0);

	/* Descriptor outside RAM: nothing to write back, nothing crashes. */
	memcpy(before, gptr(v, 0), sizeof(before));
	dma(v, 5 * GiB, FW_CFG_DMA_CTL_READ, 4, 0);
	/* Descriptor straddling the end of RAM: only its control word is reachable. */
	{
		u8 *last = gptr(v, RAM - 8);
		u32 hi = 0, lo = __builtin_bswap32((u32)(RAM - 8));

		memset(last, 0x77, 8);
		assert_true(bus_write(&v->pio, FW_CFG_PORT_DMA, &hi, 4));
		assert_true(bus_write(&v->pio, FW_CFG_PORT_DMA + 4, &lo, 4));
		assert_int_equal(be32(last), FW_CFG_DMA_CTL_ERROR);
	}
	assert_memory_equal(before, gptr(v, 0), sizeof(before));
	/* Odd-width or misplaced writes of the address register do nothing. */
	{
		u16 w = 0;
		u32 l = 0;

		assert_true(bus_write(&v->pio, FW_CFG_PORT_DMA + 2, &w, 2));
		assert_true(bus_write(&v->pio, FW_CFG_PORT_DMA + 2, &l, 4));
	}
	assert_true(v->f->dma_errors >= 8);
}

static void test_linux_split(void **state)
{
	struct env *v = *state;
	struct fw_cfg_linux l;
	struct err e;
	size_t klen = 5000;
	u8 *k = calloc(1, klen), *ird = malloc(3);
	const struct fw_cfg_item *it;

	for (size_t i = 0; i < klen; i++)
		k[i] = (u8)(i * 7);
	k[0x1f1] = 3; /* setup_sects: setup is 4 sectors */
	memcpy(k + 0x202, "HdrS", 4);
	memcpy(ird, "IRD", 3);
	u8 *copy = malloc(klen);
	memcpy(copy, k, klen);
	l = (struct fw_cfg_linux){k, klen, ird, 3, "console=hvc0"};
	assert_int_equal(fw_cfg_add_linux(v->f, &l, &e), 0);
	assert_null(l.kernel);

	it = fw_cfg_find(v->f, FW_CFG_SETUP_SIZE);
	assert_int_equal(get_le32(it->data), 2048);
	it = fw_cfg_find(v->f, FW_CFG_SETUP_DATA);
	assert_int_equal(it->len, 2048);
	assert_memory_equal(it->data, copy, 2048);
	it = fw_cfg_find(v->f, FW_CFG_KERNEL_SIZE);
	assert_int_equal(get_le32(it->data), klen - 2048);
	it = fw_cfg_find(v->f, FW_CFG_KERNEL_DATA);
	assert_int_equal(it->len, klen - 2048);
	assert_memory_equal(it->data, copy + 2048, klen - 2048);
	assert_int_equal(get_le32(fw_cfg_find(v->f, FW_CFG_KERNEL_ADDR)->data), 0x100000);
	assert_int_equal(get_le32(fw_cfg_find(v->f, FW_CFG_INITRD_SIZE)->data), 3);
	assert_memory_equal(fw_cfg_find(v->f, FW_CFG_INITRD_DATA)->data, "IRD", 3);
	assert_int_equal(get_le32(fw_cfg_find(v->f, FW_CFG_CMDLINE_SIZE)->data), 13);
	assert_memory_equal(fw_cfg_find(v->f, FW_CFG_CMDLINE_DATA)->data, "console=hvc0", 13);

	/* What OVMF does: SETUP_SIZE bytes of SETUP_DATA, then KERNEL_DATA = the file. */
	{
		u8 *g = gptr(v, BUF);

		assert_int_equal(dma(v, DESC, FW_CFG_SETUP_DATA << 16 | FW_CFG_DMA_CTL_SELECT |
						      FW_CFG_DMA_CTL_READ,
				     2048, BUF),
				 0);
		assert_int_equal(dma(v, DESC, FW_CFG_KERNEL_DATA << 16 | FW_CFG_DMA_CTL_SELECT |
						      FW_CFG_DMA_CTL_READ,
				     (u32)klen - 2048, BUF + 2048),
				 0);
		assert_memory_equal(g, copy, klen);
	}
	free(copy);
}

static void test_linux_bad(void **state)
{
	struct env *v = *state;
	struct fw_cfg_linux l;
	struct err e;
	u8 *k = calloc(1, 5000);

	l = (struct fw_cfg_linux){k, 5000, NULL, 0, NULL};
	assert_int_equal(fw_cfg_add_linux(v->f, &l, &e), -EINVAL);
	assert_string_equal(e.msg, "OVMF boots a bzImage through fw_cfg: no \"HdrS\" setup-header "
				   "magic at offset 0x202 of the 5000-byte kernel");
	k = calloc(1, 5000);
	memcpy(k + 0x202, "HdrS", 4);
	k[0x1f1] = 200;
	l = (struct fw_cfg_linux){k, 5000, malloc(1), 1, NULL};
	assert_int_equal(fw_cfg_add_linux(v->f, &l, &e), -EINVAL);
	assert_string_equal(e.msg, "setup_sects 200 runs past the end of the 5000-byte kernel");
	/* A truncated file. */
	l = (struct fw_cfg_linux){calloc(1, 16), 16, NULL, 0, NULL};
	assert_int_equal(fw_cfg_add_linux(v->f, &l, &e), -EINVAL);
	assert_null(fw_cfg_find(v->f, FW_CFG_KERNEL_SIZE));
	/* setup_sects 0 means 4. */
	k = calloc(1, 5000);
	memcpy(k + 0x202, "HdrS", 4);
	l = (struct fw_cfg_linux){k, 5000, NULL, 0, NULL};
	assert_int_equal(fw_cfg_add_linux(v->f, &l, &e), 0);
	assert_int_equal(get_le32(fw_cfg_find(v->f, FW_CFG_SETUP_SIZE)->data), 2560);
	assert_null(fw_cfg_find(v->f, FW_CFG_CMDLINE_SIZE));
	assert_null(fw_cfg_find(v->f, FW_CFG_INITRD_SIZE));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signature_and_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_dir_sorted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_item_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_slots_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_read_skip_select, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_bad, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
