// SPDX-License-Identifier: MIT
#include "arch/x86/aml.h"

#include <stdlib.h>
#include <string.h>

/* AML opcodes (ACPI 6.4 section 20.3). */
#define AML_ZERO_OP	  0x00
#define AML_ONE_OP	  0x01
#define AML_NAME_OP	  0x08
#define AML_BYTE_PREFIX	  0x0a
#define AML_WORD_PREFIX	  0x0b
#define AML_DWORD_PREFIX  0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX  0x0e
#define AML_SCOPE_OP	  0x10
#define AML_BUFFER_OP	  0x11
#define AML_PACKAGE_OP	  0x12
#define AML_METHOD_OP	  0x14
#define AML_LOCAL0_OP	  0x60
#define AML_ARG0_OP	  0x68
#define AML_STORE_OP	  0x70
#define AML_AND_OP	  0x7b
#define AML_NOTIFY_OP	  0x86
#define AML_IF_OP	  0xa0
#define AML_OPREGION_OP	  0x80 /* after the ExtOpPrefix */
#define AML_FIELD_OP	  0x81 /* after the ExtOpPrefix */
#define AML_DUAL_NAME	  0x2e
#define AML_MULTI_NAME	  0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP	  0x82 /* after the ExtOpPrefix */
#define AML_ROOT_CHAR	  '\\'
#define AML_PARENT_CHAR	  '^'
#define AML_RETURN_OP	  0xa4
#define AML_ONES_OP	  0xff

void aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void aml_free(struct aml *a)
{
	free(a->buf);
	aml_init(a);
}

static bool reserve(struct aml *a, size_t n)
{
	size_t need, cap;
	u8 *b;

	if (a->failed)
		return false;
	if (add_overflows(a->len, n, &need)) {
		a->failed = true;
		return false;
	}
	if (need <= a->cap)
		return true;
	cap = a->cap ? a->cap : 256;
	while (cap < need)
		cap *= 2;
	b = realloc(a->buf, cap);
	if (!b) {
		a->failed = true;
		return false;
	}
	a->buf = b;
	a->cap = cap;
	return true;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (!n || !reserve(a, n))
		return;
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, u8 b)
{
	aml_bytes(a, &b, 1);
}

void aml_integer(struct aml *a, u64 v)
{
	u8 b[9];

	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_byte(a, AML_ONE_OP);
	} else if (v == ~0ULL) {
		aml_byte(a, AML_ONES_OP);
	} else if (v <= 0xff) {
		b[0] = AML_BYTE_PREFIX;
		b[1] = (u8)v;
		aml_bytes(a, b, 2);
	} else if (v <= 0xffff) {
		b[0] = AML_WORD_PREFIX;
		put_le16(b + 1, (u16)v);
		aml_bytes(a, b, 3);
	} else if (v <= 0xffffffff) {
		b[0] = AML_DWORD_PREFIX;
		put_le32(b + 1, (u32)v);
		aml_bytes(a, b, 5);
	} else {
		b[0] = AML_QWORD_PREFIX;
		put_le64(b + 1, v);
		aml_bytes(a, b, 9);
	}
}

void aml_string(struct aml *a, const char *s)
{
	/* AML strings are ASCII without embedded NULs: the NUL ends them. */
	for (const char *c = s; *c; c++) {
		if ((u8)*c > 0x7f) {
			a->failed = true;
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static bool lead_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
	return lead_char(c) || (c >= '0' && c <= '9');
}

void aml_namestring(struct aml *a, const char *name)
{
	u8 segs[255][4];
	unsigned nsegs = 0;
	const char *p = name;

	if (*p == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		for (; *p == AML_PARENT_CHAR; p++)
			aml_byte(a, AML_PARENT_CHAR);
	}
	if (!*p) {
		aml_byte(a, AML_ZERO_OP); /* NullName */
		return;
	}
	for (;;) {
		unsigned n = 0;

		if (nsegs == ARRAY_SIZE(segs) || !lead_char(*p))
			goto bad;
		memset(segs[nsegs], '_', 4);
		while (name_char(*p)) {
			if (n == 4)
				goto bad;
			segs[nsegs][n++] = (u8)*p++;
		}
		nsegs++;
		if (!*p)
			break;
		if (*p++ != '.')
			goto bad;
	}
	if (nsegs == 2) {
		aml_byte(a, AML_DUAL_NAME);
	} else if (nsegs > 2) {
		aml_byte(a, AML_MULTI_NAME);
		aml_byte(a, (u8)nsegs);
	}
	aml_bytes(a, segs, 4 * (size_t)nsegs);
	return;
bad:
	a->failed = true;
}

void aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, name);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

unsigned aml_pkglength_size(size_t len)
{
	/* The encoded length counts the PkgLength bytes themselves. */
	if (len + 1 <= 0x3f)
		return 1;
	if (len + 2 <= 0xfff)
		return 2;
	if (len + 3 <= 0xfffff)
		return 3;
	if (len + 4 <= 0xfffffff)
		return 4;
	return 0;
}

unsigned aml_pkglength_encode(size_t len, u8 out[4])
{
	unsigned n = aml_pkglength_size(len);
	size_t total = len + n;

	if (!n)
		return 0;
	if (n == 1) {
		out[0] = (u8)total;
		return 1;
	}
	/* Lead byte: bits 7:6 the count of following bytes, bits 3:0 the low nibble. */
	out[0] = (u8)(((n - 1) << 6) | (total & 0xf));
	for (unsigned i = 1; i < n; i++)
		out[i] = (u8)(total >> (4 + 8 * (i - 1)));
	return n;
}

void aml_end(struct aml *a, size_t handle)
{
	u8 enc[4];
	unsigned n;

	if (a->failed)
		return;
	if (handle > a->len) {
		a->failed = true;
		return;
	}
	n = aml_pkglength_encode(a->len - handle, enc);
	if (!n || !reserve(a, n)) {
		a->failed = true;
		return;
	}
	memmove(a->buf + handle + n, a->buf + handle, a->len - handle);
	memcpy(a->buf + handle, enc, n);
	a->len += n;
}

size_t aml_scope_begin(struct aml *a, const char *name)
{
	size_t h;

	aml_byte(a, AML_SCOPE_OP);
	h = a->len;
	aml_namestring(a, name);
	return h;
}

size_t aml_device_begin(struct aml *a, const char *name)
{
	size_t h;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	h = a->len;
	aml_namestring(a, name);
	return h;
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized)
{
	size_t h;

	if (nargs > 7)
		a->failed = true;
	aml_byte(a, AML_METHOD_OP);
	h = a->len;
	aml_namestring(a, name);
	aml_byte(a, (u8)((nargs & 7) | (serialized ? 0x08 : 0)));
	return h;
}

size_t aml_package_begin(struct aml *a, u8 nelems)
{
	size_t h;

	aml_byte(a, AML_PACKAGE_OP);
	h = a->len;
	aml_byte(a, nelems);
	return h;
}

void aml_buffer(struct aml *a, const void *data, size_t len)
{
	size_t h;

	aml_byte(a, AML_BUFFER_OP);
	h = a->len;
	aml_integer(a, len);
	aml_bytes(a, data, len);
	aml_end(a, h);
}

/* ---- method bodies ------------------------------------------------------------ */

void aml_local(struct aml *a, unsigned n)
{
	if (n > 7)
		a->failed = true;
	aml_byte(a, (u8)(AML_LOCAL0_OP + (n & 7)));
}

void aml_arg(struct aml *a, unsigned n)
{
	if (n > 6)
		a->failed = true;
	aml_byte(a, (u8)(AML_ARG0_OP + MIN(n, 6u)));
}

void aml_store(struct aml *a)
{
	aml_byte(a, AML_STORE_OP);
}

void aml_and(struct aml *a)
{
	aml_byte(a, AML_AND_OP);
}

void aml_notify(struct aml *a)
{
	aml_byte(a, AML_NOTIFY_OP);
}

void aml_no_target(struct aml *a)
{
	aml_byte(a, AML_ZERO_OP); /* NullName */
}

size_t aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_IF_OP);
	return a->len;
}

/* ---- operation regions and fields ---------------------------------------------- */

void aml_operation_region(struct aml *a, const char *name, u8 space, u64 offset, u64 len)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_OPREGION_OP);
	aml_namestring(a, name);
	aml_byte(a, space);
	aml_integer(a, offset);
	aml_integer(a, len);
}

size_t aml_field_begin(struct aml *a, const char *region, u8 flags)
{
	size_t h;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_FIELD_OP);
	h = a->len;
	aml_namestring(a, region);
	aml_byte(a, flags);
	return h;
}

void aml_field_unit(struct aml *a, const char *name, u32 bits)
{
	u8 enc[4];
	unsigned n;

	if (name) {
		/* One NameSeg: no root, parent or dotted path. */
		if (!*name || strpbrk(name, "\\^.")) {
			a->failed = true;
			return;
		}
		aml_namestring(a, name);
	} else {
		aml_byte(a, AML_ZERO_OP); /* ReservedField */
	}
	/* The width in bits, in PkgLength's encoding but counting only itself. */
	if (bits >= 1u << 28) {
		a->failed = true;
		return;
	}
	if (bits < 0x40) {
		enc[0] = (u8)bits;
		n = 1;
	} else {
		n = bits < 1u << 12 ? 2 : bits < 1u << 20 ? 3 : 4;
		enc[0] = (u8)(((n - 1) << 6) | (bits & 0xf));
		for (unsigned i = 1; i < n; i++)
			enc[i] = (u8)(bits >> (4 + 8 * (i - 1)));
	}
	aml_bytes(a, enc, n);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool aml_eisaid(const char *id, u32 *out)
{
	u8 b[4];
	int h[4];

	if (strlen(id) != 7)
		return false;
	for (int i = 0; i < 3; i++)
		if (id[i] < 'A' || id[i] > 'Z')
			return false;
	for (int i = 0; i < 4; i++)
		if ((h[i] = hexval(id[3 + i])) < 0)
			return false;
	/* Three 5-bit letters ('A' is 1), then four hex digits, stored big-endian. */
	b[0] = (u8)(((id[0] - 0x40) << 2) | ((id[1] - 0x40) >> 3));
	b[1] = (u8)((((id[1] - 0x40) & 7) << 5) | (id[2] - 0x40));
	b[2] = (u8)(h[0] << 4 | h[1]);
	b[3] = (u8)(h[2] << 4 | h[3]);
	*out = get_le32(b);
	return true;
}

/* ---- resource descriptors -------------------------------------------------- */

#define RES_IO		0x47 /* small item 0x08, length 7 */
#define RES_IRQ_NOFLAGS 0x22 /* small item 0x04, length 2 */
#define RES_END_TAG	0x79 /* small item 0x0f, length 1 */
#define RES_DWORD_ADDR	0x87
#define RES_WORD_ADDR	0x88
#define RES_EXT_IRQ	0x89
#define RES_QWORD_ADDR	0x8a

#define ADDR_TYPE_MEM 0
#define ADDR_TYPE_IO  1
#define ADDR_TYPE_BUS 2

/* General flags of address space descriptors: producer, positive decode, fixed min and max. */
#define ADDR_FLAGS_WINDOW 0x0c
#define MEM_RW		  0x01
#define MEM_CACHEABLE	  0x02
#define IO_ENTIRE_RANGE	  0x03

void aml_res_io(struct aml *r, u16 min, u16 max, u8 align, u8 len)
{
	u8 d[8] = {RES_IO, 0x01 /* 16-bit decode */};

	put_le16(d + 2, min);
	put_le16(d + 4, max);
	d[6] = align;
	d[7] = len;
	aml_bytes(r, d, sizeof(d));
}

void aml_res_irq_noflags(struct aml *r, u16 irq_mask)
{
	u8 d[3] = {RES_IRQ_NOFLAGS};

	put_le16(d + 1, irq_mask);
	aml_bytes(r, d, sizeof(d));
}

void aml_res_ext_irq(struct aml *r, bool consumer, bool level, bool active_low, bool shared,
		     u32 gsi)
{
	u8 d[9] = {RES_EXT_IRQ};

	put_le16(d + 1, 6);
	d[3] = (u8)((consumer ? 0x01 : 0) | (level ? 0 : 0x02) | (active_low ? 0x04 : 0) |
		    (shared ? 0x08 : 0));
	d[4] = 1; /* one interrupt number */
	put_le32(d + 5, gsi);
	aml_bytes(r, d, sizeof(d));
}

static void word_addr(struct aml *r, u8 type, u8 tflags, u16 min, u16 max)
{
	u8 d[16] = {RES_WORD_ADDR};

	put_le16(d + 1, sizeof(d) - 3);
	d[3] = type;
	d[4] = ADDR_FLAGS_WINDOW;
	d[5] = tflags;
	put_le16(d + 6, 0); /* granularity */
	put_le16(d + 8, min);
	put_le16(d + 10, max);
	put_le16(d + 12, 0);			/* translation */
	put_le16(d + 14, (u16)(max - min + 1)); /* 0 for the whole 64 Ki range */
	aml_bytes(r, d, sizeof(d));
}

void aml_res_word_bus(struct aml *r, u16 min, u16 max)
{
	word_addr(r, ADDR_TYPE_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *r, u16 min, u16 max)
{
	word_addr(r, ADDR_TYPE_IO, IO_ENTIRE_RANGE, min, max);
}

void aml_res_dword_mem(struct aml *r, bool cacheable, u32 min, u32 max)
{
	u8 d[26] = {RES_DWORD_ADDR};

	put_le16(d + 1, sizeof(d) - 3);
	d[3] = ADDR_TYPE_MEM;
	d[4] = ADDR_FLAGS_WINDOW;
	d[5] = MEM_RW | (cacheable ? MEM_CACHEABLE : 0);
	put_le32(d + 6, 0);
	put_le32(d + 10, min);
	put_le32(d + 14, max);
	put_le32(d + 18, 0);
	put_le32(d + 22, max - min + 1);
	aml_bytes(r, d, sizeof(d));
}

void aml_res_qword_mem(struct aml *r, bool cacheable, u64 min, u64 max)
{
	u8 d[46] = {RES_QWORD_ADDR};

	put_le16(d + 1, sizeof(d) - 3);
	d[3] = ADDR_TYPE_MEM;
	d[4] = ADDR_FLAGS_WINDOW;
	d[5] = MEM_RW | (cacheable ? MEM_CACHEABLE : 0);
	put_le64(d + 6, 0);
	put_le64(d + 14, min);
	put_le64(d + 22, max);
	put_le64(d + 30, 0);
	put_le64(d + 38, max - min + 1);
	aml_bytes(r, d, sizeof(d));
}

void aml_res_end_tag(struct aml *r)
{
	u8 sum = RES_END_TAG;

	for (size_t i = 0; !r->failed && i < r->len; i++)
		sum = (u8)(sum + r->buf[i]);
	aml_byte(r, RES_END_TAG);
	aml_byte(r, (u8)-sum);
}
