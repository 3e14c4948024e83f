/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TESTS_BOOT_TEST_H
#define MERAK_TESTS_BOOT_TEST_H

/* Shared fixtures for the boot loader tests: guest RAM filled with a canary. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "arch/x86/e820.h"
#include "arch/x86/layout.h"
#include "boot/boot.h"
#include "vm/mem.h"

#define CANARY 0xA5

struct fixture {
	struct guest_mem gm;
	struct e820_entry e820[E820_MAX];
	unsigned n_e820;
	u64 ram;
	u8 *hva;
};

/* Low RAM [0, ram) filled with the canary, plus its e820 map. */
static inline void fixture_init(struct fixture *f, u64 ram)
{
	struct err e;

	guest_mem_init(&f->gm);
	assert_int_equal(guest_mem_add_anon(&f->gm, 0, ram, MEM_RAM, &e), 0);
	f->ram = ram;
	f->hva = f->gm.r[0].hva;
	memset(f->hva, CANARY, ram);
	assert_int_equal(e820_build(&f->gm, f->e820, E820_MAX, &f->n_e820, &e), 0);
}

static inline void fixture_free(struct fixture *f)
{
	guest_mem_free(&f->gm);
}

struct span {
	u64 start, len;
};

/* Asserts hva[a, b) all hold the canary; compares a page at a time. */
static inline void assert_canary(const u8 *hva, u64 a, u64 b)
{
	static u8 page[4096];

	if (!page[0])
		memset(page, CANARY, sizeof(page));
	while (a < b) {
		u64 n = MIN(b - a, sizeof(page));

		if (memcmp(hva + a, page, n)) {
			for (u64 i = a; i < a + n; i++)
				if (hva[i] != CANARY) {
					print_error("guest byte 0x%llx was written (0x%02x)\n",
						    (unsigned long long)i, hva[i]);
					fail();
				}
		}
		a += n;
	}
}

/*
 * Asserts that every byte of low RAM outside the given spans still holds the
 * canary: the loader wrote nowhere it did not declare.
 */
static inline void assert_untouched_except(const struct fixture *f, const struct span *s,
					   unsigned n)
{
	for (u64 a = 0; a < f->ram;) {
		u64 next = f->ram;
		bool inside = false;

		for (unsigned i = 0; i < n; i++) {
			if (a >= s[i].start && a < s[i].start + s[i].len) {
				a = s[i].start + s[i].len;
				inside = true;
				break;
			}
			if (s[i].start > a && s[i].start < next)
				next = s[i].start;
		}
		if (inside)
			continue;
		assert_canary(f->hva, a, next);
		a = next;
	}
}

static inline void assert_untouched(const struct fixture *f)
{
	assert_untouched_except(f, NULL, 0);
}

#define assert_msg(e, s)                                                                           \
	do {                                                                                       \
		if (!strstr((e)->msg, (s))) {                                                      \
			print_error("error \"%s\" lacks \"%s\"\n", (e)->msg, (s));                 \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

static inline void fill_pattern(u8 *p, size_t len, u8 seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (u8)(i * 7 + seed + (i >> 9));
}

/* An initrd_fill that copies src, as merak's reads its file, and records the call. */
struct fill_rec {
	const u8 *src;
	bool fail;
	unsigned calls;
	u64 gpa;
	size_t len;
};

static inline int fake_initrd_fill(void *ctx, struct guest_mem *gm, u64 gpa, size_t len,
				   struct err *e)
{
	struct fill_rec *f = ctx;

	f->calls++;
	f->gpa = gpa;
	f->len = len;
	if (f->fail)
		return errf(e, -EIO, "initramfs 'x.cpio': file shrank while reading");
	return guest_mem_write(gm, gpa, f->src, len, e);
}

/*
 * Loads *p again into fresh RAM of the same size with its initrd given as a
 * fill function instead of bytes, and checks that RAM ends up byte for byte
 * as ref's did (the initrd where the bytes went, nothing else different).
 * With fail set, the fill's error must come back unchanged.
 */
typedef int (*boot_loader_fn)(struct guest_mem *, const struct boot_payload *, struct boot_entry *,
			      struct err *);
static inline void check_fill_like_bytes(boot_loader_fn load, const struct fixture *ref,
					 const struct boot_payload *p, u64 ram, u64 want_gpa,
					 bool fail)
{
	struct fill_rec f = {.src = p->initrd, .fail = fail};
	struct boot_payload q = *p;
	struct boot_entry out;
	struct fixture g;
	struct err e;
	int r;

	fixture_init(&g, ram);
	q.initrd = NULL;
	q.initrd_fill = fake_initrd_fill;
	q.initrd_ctx = &f;
	err_clear(&e);
	r = load(&g.gm, &q, &out, &e);
	assert_int_equal(f.calls, 1);
	assert_int_equal(f.gpa, want_gpa);
	assert_int_equal(f.len, p->initrd_len);
	if (fail) {
		assert_int_equal(r, -EIO);
		assert_msg(&e, "initramfs 'x.cpio': file shrank while reading");
	} else {
		assert_int_equal(r, 0);
		assert_memory_equal(g.hva, ref->hva, ram);
	}
	fixture_free(&g);
}

/* A kernel_read over bytes, as merak's reads its file; the call numbered fail_call fails. */
struct read_rec {
	const u8 *src;
	size_t len;
	unsigned calls, fail_call;
	u64 bytes;
};

static inline int fake_kernel_read(void *ctx, u64 off, void *dst, size_t len, struct err *e)
{
	struct read_rec *rd = ctx;

	/* The loader keeps every read inside the image. */
	assert_true(off <= rd->len && len <= rd->len - off);
	if (++rd->calls == rd->fail_call)
		return errf(e, -EIO, "file shrank while reading (offset 0x%llx)",
			    (unsigned long long)off);
	memcpy(dst, rd->src + off, len);
	rd->bytes += len;
	return 0;
}

/*
 * Loads *p again into fresh RAM of ref's size with its kernel given as a
 * read function instead of bytes, and checks that everything comes out as
 * it did from the bytes: the result, the error message, the boot entry and
 * RAM byte for byte. Then once for each read the loader made, with that
 * read failing: its error must come back (with the loader's context).
 */
static inline void check_read_like_bytes(boot_loader_fn load, const struct fixture *ref,
					 const struct boot_payload *p, int ref_r,
					 const struct boot_entry *ref_out, const struct err *ref_e)
{
	struct read_rec rd = {.src = p->kernel, .len = p->kernel_len};
	struct boot_payload q = *p;
	struct boot_entry out = {0};
	struct fixture g;
	unsigned calls;
	struct err e;
	int r;

	q.kernel = NULL;
	q.kernel_read = fake_kernel_read;
	q.kernel_ctx = &rd;
	fixture_init(&g, ref->ram);
	err_clear(&e);
	r = load(&g.gm, &q, &out, &e);
	assert_int_equal(r, ref_r);
	if (r < 0) {
		assert_string_equal(e.msg, ref_e->msg);
	} else {
		assert_memory_equal(&out, ref_out, sizeof(out));
		assert_memory_equal(g.hva, ref->hva, ref->ram);
		/* Headers once, segments once: no whole-image staging. */
		assert_true(rd.bytes <= p->kernel_len + 4096);
	}
	fixture_free(&g);
	calls = rd.calls;
	for (unsigned k = 1; k <= calls; k++) {
		rd = (struct read_rec){.src = p->kernel, .len = p->kernel_len, .fail_call = k};
		fixture_init(&g, ref->ram);
		err_clear(&e);
		assert_int_equal(load(&g.gm, &q, &out, &e), -EIO);
		assert_msg(&e, "file shrank while reading");
		fixture_free(&g);
	}
}

#endif
