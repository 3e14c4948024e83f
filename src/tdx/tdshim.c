// SPDX-License-Identifier: MIT
/*
 * td-shim's side of a TD launch: the payload info HOB and the RTMR0/RTMR1
 * values td-shim extends on its Linux boot path (see tdshim.h for the
 * sources these facts come from).
 */
#include "tdx/tdshim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HOB_TYPE_GUID_EXT    0x0004
#define HOB_TYPE_END	     0xFFFF
#define HOB_HDR_LEN	     8
#define PHIT_END_OF_LIST_OFF 48

/* b96fa412-461f-4be3-8c0d-ad805a497ac0 in EFI_GUID byte order. */
static const u8 payload_info_guid[16] = {0x12, 0xa4, 0x6f, 0xb9, 0x1f, 0x46, 0xe3, 0x4b,
					 0x8c, 0x0d, 0xad, 0x80, 0x5a, 0x49, 0x7a, 0xc0};

bool td_shim_vmm_payload(const struct tdvf_info *fw)
{
	const struct tdvf_section *p = tdvf_find(fw, TDVF_SECTION_PAYLOAD);

	return p && p->raw_size == 0;
}

/* Offset of the END HOB, walking the list as td-shim does. */
static int find_end(const u8 *hob, size_t len, size_t *end, struct err *e)
{
	size_t off = 0;

	if (len < 56 || get_le16(hob) != 0x0001)
		return errf(e, -EINVAL, "TD HOB: no PHIT HOB at the start of the %zu-byte list",
			    len);
	while (off + HOB_HDR_LEN <= len) {
		u16 type = get_le16(hob + off), hlen = get_le16(hob + off + 2);

		if (type == HOB_TYPE_END) {
			*end = off;
			return 0;
		}
		if (hlen < HOB_HDR_LEN || !IS_ALIGNED(hlen, 8) || hlen > len - off)
			return errf(e, -EINVAL, "TD HOB: HOB at offset %zu has bad length %u", off,
				    hlen);
		off += hlen;
	}
	return errf(e, -EINVAL, "TD HOB: no end-of-list HOB in %zu bytes", len);
}

int td_shim_hob_finish(const struct tdvf_info *fw, u8 *hob, size_t cap, size_t *len, struct err *e)
{
	const struct tdvf_section *payload = tdvf_find(fw, TDVF_SECTION_PAYLOAD);
	size_t end;
	u8 *g;
	int r;

	if (!td_shim_vmm_payload(fw))
		return 0;
	r = find_end(hob, *len, &end, e);
	if (r < 0)
		return r;
	if (*len > cap || cap - *len < TD_SHIM_PAYLOAD_INFO_HOB_LEN)
		return errf(e, -E2BIG,
			    "TD HOB: no room for td-shim's payload info HOB in the %zu-byte TD_HOB "
			    "section",
			    cap);
	/* Move END (and anything after it) up, then write the GUID HOB in its place. */
	memmove(hob + end + TD_SHIM_PAYLOAD_INFO_HOB_LEN, hob + end, *len - end);
	g = hob + end;
	memset(g, 0, TD_SHIM_PAYLOAD_INFO_HOB_LEN);
	put_le16(g, HOB_TYPE_GUID_EXT);
	put_le16(g + 2, TD_SHIM_PAYLOAD_INFO_HOB_LEN);
	memcpy(g + 8, payload_info_guid, 16);
	put_le32(g + 24, TD_SHIM_PAYLOAD_BZIMAGE);
	put_le64(g + 32, payload->gpa);
	*len += TD_SHIM_PAYLOAD_INFO_HOB_LEN;
	put_le64(hob + PHIT_END_OF_LIST_OFF,
		 get_le64(hob + PHIT_END_OF_LIST_OFF) + TD_SHIM_PAYLOAD_INFO_HOB_LEN);
	return 0;
}

int td_shim_hob_digest(const u8 *hob, size_t len, u64 hob_gpa, u8 out[TD_DIGEST_SIZE],
		       struct err *e)
{
	size_t end;
	u64 list_end;
	int r;

	r = find_end(hob, len, &end, e);
	if (r < 0)
		return r;
	list_end = get_le64(hob + PHIT_END_OF_LIST_OFF);
	if (list_end < hob_gpa || list_end - hob_gpa != end + HOB_HDR_LEN)
		return errf(e, -EINVAL,
			    "TD HOB: PHIT EfiEndOfHobList 0x%llx does not point just past the END "
			    "HOB at 0x%llx (td-shim would reject the HOB)",
			    (unsigned long long)list_end,
			    (unsigned long long)(hob_gpa + end + HOB_HDR_LEN));
	td_sha384(hob, end + HOB_HDR_LEN, out);
	return 0;
}

int td_sha384_padded(const u8 *data, size_t len, u64 region, u8 out[TD_DIGEST_SIZE], struct err *e)
{
	static const u8 zeros[4096];
	struct sha384 h;
	int r;

	if (len > region)
		return errf(e, -E2BIG, "%zu bytes do not fit a 0x%llx-byte region", len,
			    (unsigned long long)region);
	r = sha384_begin(&h, e);
	if (r < 0)
		return r;
	sha384_update(&h, data, len);
	for (u64 left = region - len; left;) {
		size_t k = left < sizeof(zeros) ? (size_t)left : sizeof(zeros);

		sha384_update(&h, zeros, k);
		left -= k;
	}
	return sha384_end(&h, out, e);
}

int td_shim_predict(const struct tdvf_info *fw, const struct td_section_inputs *in,
		    struct td_shim_rtmrs *out, struct err *e)
{
	const struct tdvf_section *ps = tdvf_find(fw, TDVF_SECTION_PAYLOAD);
	const struct tdvf_section *pp = tdvf_find(fw, TDVF_SECTION_PAYLOAD_PARAM);
	const struct tdvf_section *hs = tdvf_find(fw, TDVF_SECTION_TD_HOB);
	static const u8 sep[4];
	int r;

	memset(out, 0, sizeof(*out));
	if (!td_shim_vmm_payload(fw))
		return errf(e, -ENOTSUP,
			    "td-shim boots a payload built into its image: it measures the "
			    "executable it extracts from its payload volume, which merak does not "
			    "model");
	if (!pp)
		return errf(e, -ENOTSUP,
			    "td-shim image without a PayloadParam section: td-shim measures its "
			    "parameter region, whose content merak does not supply");
	if (!hs)
		return errf(e, -ENOTSUP,
			    "td-shim image without a TD_HOB section: the VMM cannot hand it the "
			    "payload info HOB, so td-shim does not boot a VMM-loaded kernel");
	if (!in || !in->payload)
		return errf(e, -EINVAL, "td-shim payload: no kernel given");
	/* payload_extend_rtmr() in td-shim: attributes exactly 0. */
	out->payload_measured = ps->attributes == 0;
	td_sha384(sep, sizeof(sep), out->separator);
	if (out->payload_measured) {
		r = td_sha384_padded(in->payload, in->payload_len, ps->mem_size, out->payload, e);
		if (r < 0)
			return err_ctx(e, "td-shim Payload section");
	}
	r = td_sha384_padded(in->param, in->param ? in->param_len : 0, pp->mem_size, out->param, e);
	if (r < 0)
		return err_ctx(e, "td-shim PayloadParam section");

	if (in->hob) {
		r = td_shim_hob_digest(in->hob, in->hob_len, hs->gpa, out->hob, e);
		if (r < 0)
			return r;
		out->have_rtmr0 = true;
	}
	td_shim_fold(out);
	return 0;
}

void td_shim_fold(struct td_shim_rtmrs *s)
{
	memset(s->rtmr, 0, sizeof(s->rtmr));
	if (s->have_rtmr0) {
		rtmr_extend(s->rtmr[0], s->hob);
		rtmr_extend(s->rtmr[0], s->separator);
	}
	/* The separator goes first: td-shim logs it before the payload events. */
	rtmr_extend(s->rtmr[1], s->separator);
	if (s->payload_measured)
		rtmr_extend(s->rtmr[1], s->payload);
	rtmr_extend(s->rtmr[1], s->param);
}

int td_shim_param(const char *cmdline, const struct tdvf_section *sec, u8 **out, size_t *len,
		  struct err *e)
{
	size_t n = (cmdline ? strlen(cmdline) : 0) + 1;
	u8 *p;

	if (n > sec->mem_size)
		return errf(e, -E2BIG,
			    "command line of %zu bytes (with its NUL) does not fit the %llu-byte "
			    "PayloadParam section",
			    n, (unsigned long long)sec->mem_size);
	p = malloc(n);
	if (!p)
		return errf(e, -ENOMEM, "PayloadParam: out of memory");
	memcpy(p, cmdline ? cmdline : "", n);
	*out = p;
	*len = n;
	return 0;
}

int td_shim_payload_check(const u8 *k, size_t len, const struct tdvf_section *sec,
			  struct err *e)
{
	if (len < 0x250 || get_le32(k + 0x202) != 0x53726448)
		return errf(e, -EINVAL,
			    "td-shim payload: not a bzImage (no \"HdrS\" boot-protocol header)");
	if (get_le16(k + 0x206) < 0x200)
		return errf(e, -EINVAL, "td-shim payload: boot protocol %u.%u, 2.00 or later needed",
			    k[0x207], k[0x206]);
	if (!(k[0x211] & 1))
		return errf(e, -EINVAL,
			    "td-shim payload: the bzImage does not load high (loadflags bit 0)");
	if (len > sec->mem_size)
		return errf(e, -E2BIG,
			    "td-shim payload: the %zu-byte kernel does not fit the %llu-byte "
			    "Payload section",
			    len, (unsigned long long)sec->mem_size);
	return 0;
}
