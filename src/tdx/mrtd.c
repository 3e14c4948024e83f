// SPDX-License-Identifier: MIT
/*
 * MRTD as the TDX module computes it: one SHA-384 over 128-byte blocks.
 * TDH.MEM.PAGE.ADD appends {"MEM.PAGE.ADD", 0[4], gpa le64, 0[104]};
 * TDH.MR.EXTEND appends {"MR.EXTEND", 0[7], gpa le64, 0[104]} followed by the
 * 256 measured bytes. The sequence comes from td_walk_sections, the same walk
 * the launch uses, so prediction and launch cannot drift apart.
 */
#include "tdx/mrtd.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"

#define BLOCK 128

static const u8 zero_page[TD_PAGE_SIZE];

const char *td_measure_order_name(enum td_measure_order o)
{
	return o == TD_ORDER_TWO_PASS ? "two-pass" : "per-page";
}

void td_hex(const u8 *d, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static int section_source(const struct tdvf_section *s, u32 idx, const u8 *image, size_t len,
			  const struct td_section_inputs *in, const u8 **src, size_t *src_len,
			  struct err *e)
{
	const u8 *p = NULL;
	size_t n = 0;

	if (s->raw_size) {
		if (!range_within(s->data_offset, s->raw_size, len))
			return errf(e, -EINVAL,
				    "TDVF section %u (%s): raw data runs past the end of the image",
				    idx, tdvf_section_type_name(s->type));
		p = image + s->data_offset;
		n = s->raw_size;
	} else if (in && s->type == TDVF_SECTION_TD_HOB) {
		p = in->hob, n = in->hob_len;
	} else if (in && s->type == TDVF_SECTION_PAYLOAD) {
		p = in->payload, n = in->payload_len;
	} else if (in && s->type == TDVF_SECTION_PAYLOAD_PARAM) {
		p = in->param, n = in->param_len;
	}
	if (!p)
		n = 0;
	if (n > s->mem_size)
		return errf(e, -E2BIG,
			    "TDVF section %u (%s): %zu bytes of content do not fit its 0x%llx-byte "
			    "memory range",
			    idx, tdvf_section_type_name(s->type), n,
			    (unsigned long long)s->mem_size);
	*src = p;
	*src_len = n;
	return 0;
}

int td_mem_regions(const struct tdvf_info *fw, const u8 *image, size_t len,
		   const struct td_section_inputs *in, struct td_mem_region *out, unsigned *n,
		   struct err *e)
{
	unsigned k = 0;

	if (fw->nsections > TDVF_MAX_SECTIONS)
		return errf(e, -EINVAL, "TDVF: %u sections", fw->nsections);
	for (u32 i = 0; i < fw->nsections; i++) {
		const struct tdvf_section *s = &fw->sections[i];
		struct td_mem_region *r = &out[k];
		int ret;

		/*
		 * PAGE.AUG pages are neither added nor measured (td-shim spec);
		 * TD_INFO/TD_PARAMS have no pages: the BFV carries their bytes.
		 */
		if ((s->attributes & TDVF_ATTR_PAGE_AUG) || !tdvf_section_has_memory(s))
			continue;
		if (!IS_ALIGNED(s->gpa | s->mem_size, TD_PAGE_SIZE) || s->mem_size == 0)
			return errf(e, -EINVAL, "TDVF section %u: bad memory range", i);
		ret = section_source(s, i, image, len, in, &r->src, &r->src_len, e);
		if (ret < 0)
			return ret;
		r->section = i;
		r->type = s->type;
		r->gpa = s->gpa;
		r->nr_pages = s->mem_size / TD_PAGE_SIZE;
		r->measure = s->attributes & TDVF_ATTR_MR_EXTEND;
		k++;
	}
	*n = k;
	return 0;
}

/* The bytes of page p of a region: straight from the source when whole. */
static const u8 *page_data(const struct td_mem_region *r, u64 p, u8 *buf)
{
	u64 off = p * TD_PAGE_SIZE;

	if (!r->src || off >= r->src_len)
		return zero_page;
	if (r->src_len - off >= TD_PAGE_SIZE)
		return r->src + off;
	memcpy(buf, r->src + off, r->src_len - off);
	memset(buf + (r->src_len - off), 0, TD_PAGE_SIZE - (r->src_len - off));
	return buf;
}

static int emit_add(const struct td_mem_region *r, u64 p, u8 *buf,
		    int (*cb)(void *, const struct td_measure_op *), void *ctx)
{
	struct td_measure_op op = {
	    .kind = TD_OP_PAGE_ADD,
	    .section = r->section,
	    .gpa = r->gpa + p * TD_PAGE_SIZE,
	    .data = page_data(r, p, buf),
	};
	return cb(ctx, &op);
}

static int emit_extends(const struct td_mem_region *r, u64 p, u8 *buf,
			int (*cb)(void *, const struct td_measure_op *), void *ctx)
{
	const u8 *page = page_data(r, p, buf);
	struct td_measure_op op = {.kind = TD_OP_MR_EXTEND, .section = r->section};
	int ret;

	for (unsigned c = 0; c < TD_PAGE_SIZE / TD_EXTEND_CHUNK; c++) {
		op.gpa = r->gpa + p * TD_PAGE_SIZE + c * TD_EXTEND_CHUNK;
		op.data = page + c * TD_EXTEND_CHUNK;
		ret = cb(ctx, &op);
		if (ret)
			return ret;
	}
	return 0;
}

int td_walk_sections(const struct tdvf_info *fw, const u8 *image, size_t len,
		     const struct td_section_inputs *in, enum td_measure_order order,
		     int (*cb)(void *ctx, const struct td_measure_op *op), void *ctx, struct err *e)
{
	struct td_mem_region regions[TDVF_MAX_SECTIONS];
	u8 buf[TD_PAGE_SIZE];
	unsigned n;
	int ret;

	ret = td_mem_regions(fw, image, len, in, regions, &n, e);
	if (ret < 0)
		return ret;
	for (unsigned i = 0; i < n; i++) {
		const struct td_mem_region *r = &regions[i];

		for (u64 p = 0; p < r->nr_pages; p++) {
			ret = emit_add(r, p, buf, cb, ctx);
			if (!ret && r->measure && order == TD_ORDER_PER_PAGE)
				ret = emit_extends(r, p, buf, cb, ctx);
			if (ret)
				return ret;
		}
		if (r->measure && order == TD_ORDER_TWO_PASS) {
			for (u64 p = 0; p < r->nr_pages; p++) {
				ret = emit_extends(r, p, buf, cb, ctx);
				if (ret)
					return ret;
			}
		}
	}
	return 0;
}

/* ---- the MRTD hash ------------------------------------------------------- */

int td_mrtd_init(struct td_mrtd *m, struct err *e)
{
	return sha384_begin(&m->h, e);
}

static void block_header(u8 blk[BLOCK], const char *name, size_t name_len, u64 gpa)
{
	memset(blk, 0, BLOCK);
	memcpy(blk, name, name_len);
	put_le64(blk + 16, gpa);
}

void td_mrtd_page_add(struct td_mrtd *m, u64 gpa)
{
	u8 blk[BLOCK];

	block_header(blk, "MEM.PAGE.ADD", 12, gpa);
	sha384_update(&m->h, blk, BLOCK);
}

void td_mrtd_extend(struct td_mrtd *m, u64 gpa, const u8 chunk[TD_EXTEND_CHUNK])
{
	u8 blk[BLOCK];

	block_header(blk, "MR.EXTEND", 9, gpa);
	sha384_update(&m->h, blk, BLOCK);
	sha384_update(&m->h, chunk, TD_EXTEND_CHUNK);
}

int td_mrtd_final(struct td_mrtd *m, u8 out[TD_DIGEST_SIZE], struct err *e)
{
	return sha384_end(&m->h, out, e);
}

void td_mrtd_free(struct td_mrtd *m)
{
	sha384_abort(&m->h);
}

static int mrtd_op(void *ctx, const struct td_measure_op *op)
{
	struct td_mrtd *m = ctx;

	if (op->kind == TD_OP_PAGE_ADD)
		td_mrtd_page_add(m, op->gpa);
	else
		td_mrtd_extend(m, op->gpa, op->data);
	return 0;
}

int td_mrtd_compute(const struct tdvf_info *fw, const u8 *image, size_t len,
		    const struct td_section_inputs *in, enum td_measure_order order,
		    u8 out[TD_DIGEST_SIZE], struct err *e)
{
	struct td_mrtd m;
	int ret;

	ret = td_mrtd_init(&m, e);
	if (ret < 0)
		return ret;
	ret = td_walk_sections(fw, image, len, in, order, mrtd_op, &m, e);
	if (ret < 0) {
		td_mrtd_free(&m);
		return ret;
	}
	return td_mrtd_final(&m, out, e);
}

/* ---- RTMRs --------------------------------------------------------------- */

void td_sha384(const void *data, size_t len, u8 out[TD_DIGEST_SIZE])
{
	struct sha384 h;
	struct err e;

	/* Callers load libcrypto first (sha384_load); all-ones says it vanished. */
	if (sha384_begin(&h, &e) < 0) {
		log_error("%s", e.msg);
		memset(out, 0xff, TD_DIGEST_SIZE);
		return;
	}
	sha384_update(&h, data, len);
	if (sha384_end(&h, out, &e) < 0) {
		log_error("%s", e.msg);
		memset(out, 0xff, TD_DIGEST_SIZE);
	}
}

void rtmr_extend(u8 rtmr[TD_DIGEST_SIZE], const u8 digest[TD_DIGEST_SIZE])
{
	u8 buf[2 * TD_DIGEST_SIZE];

	memcpy(buf, rtmr, TD_DIGEST_SIZE);
	memcpy(buf + TD_DIGEST_SIZE, digest, TD_DIGEST_SIZE);
	td_sha384(buf, sizeof(buf), rtmr);
}

int td_hob_event_digest(const u8 *hob, size_t len, u8 out[TD_DIGEST_SIZE], struct err *e)
{
	size_t off = 0;

	/* Walk to the END HOB, as OVMF does, rather than trusting len - 8. */
	while (off + 8 <= len) {
		u16 type = get_le16(hob + off), hlen = get_le16(hob + off + 2);

		if (type == 0xFFFF) {
			td_sha384(hob, off, out);
			return 0;
		}
		if (hlen < 8 || !IS_ALIGNED(hlen, 8) || hlen > len - off)
			return errf(e, -EINVAL, "TD HOB: HOB at offset %zu has bad length %u", off,
				    hlen);
		off += hlen;
	}
	return errf(e, -EINVAL, "TD HOB: no end-of-list HOB in %zu bytes", len);
}
