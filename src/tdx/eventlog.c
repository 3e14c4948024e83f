// SPDX-License-Identifier: MIT
/*
 * CCEL event log parser and RTMR replay. The log is firmware-written guest
 * memory, so every count and size is checked against what remains.
 */
#include "tdx/eventlog.h"

#include <errno.h>
#include <string.h>

#include "tdx/mrtd.h"

#define LEGACY_HDR 32 /* pcr, type, sha1[20], event size */
#define SPEC_SIG   "Spec ID Event03"
#define SPEC_FIXED 28 /* signature 16, class 4, versions 3, uintn 1, nalgs 4 */
#define MAX_DIGEST 64

const char *cc_event_type_name(u32 type)
{
	switch (type) {
	case 0x00000000:
		return "EV_PREBOOT_CERT";
	case 0x00000001:
		return "EV_POST_CODE";
	case 0x00000003:
		return "EV_NO_ACTION";
	case 0x00000004:
		return "EV_SEPARATOR";
	case 0x00000005:
		return "EV_ACTION";
	case 0x00000006:
		return "EV_EVENT_TAG";
	case 0x00000007:
		return "EV_S_CRTM_CONTENTS";
	case 0x00000008:
		return "EV_S_CRTM_VERSION";
	case 0x00000009:
		return "EV_CPU_MICROCODE";
	case 0x0000000A:
		return "EV_PLATFORM_CONFIG_FLAGS";
	case 0x0000000B:
		return "EV_TABLE_OF_DEVICES";
	case 0x0000000C:
		return "EV_COMPACT_HASH";
	case 0x0000000D:
		return "EV_IPL";
	case 0x0000000E:
		return "EV_IPL_PARTITION_DATA";
	case 0x0000000F:
		return "EV_NONHOST_CODE";
	case 0x00000010:
		return "EV_NONHOST_CONFIG";
	case 0x00000011:
		return "EV_NONHOST_INFO";
	case 0x00000012:
		return "EV_OMIT_BOOT_DEVICE_EVENTS";
	case 0x80000001:
		return "EV_EFI_VARIABLE_DRIVER_CONFIG";
	case 0x80000002:
		return "EV_EFI_VARIABLE_BOOT";
	case 0x80000003:
		return "EV_EFI_BOOT_SERVICES_APPLICATION";
	case 0x80000004:
		return "EV_EFI_BOOT_SERVICES_DRIVER";
	case 0x80000005:
		return "EV_EFI_RUNTIME_SERVICES_DRIVER";
	case 0x80000006:
		return "EV_EFI_GPT_EVENT";
	case 0x80000007:
		return "EV_EFI_ACTION";
	case 0x80000008:
		return "EV_EFI_PLATFORM_FIRMWARE_BLOB";
	case 0x80000009:
		return "EV_EFI_HANDOFF_TABLES";
	case 0x8000000A:
		return "EV_EFI_PLATFORM_FIRMWARE_BLOB2";
	case 0x8000000B:
		return "EV_EFI_HANDOFF_TABLES2";
	case 0x8000000C:
		return "EV_EFI_VARIABLE_BOOT2";
	case 0x80000010:
		return "EV_EFI_HCRTM_EVENT";
	case 0x800000E0:
		return "EV_EFI_VARIABLE_AUTHORITY";
	case 0x800000E1:
		return "EV_EFI_SPDM_FIRMWARE_BLOB";
	case 0x800000E2:
		return "EV_EFI_SPDM_FIRMWARE_CONFIG";
	default:
		return NULL;
	}
}

int cc_mr_to_rtmr(u32 mr_index)
{
	return mr_index >= 1 && mr_index <= 4 ? (int)mr_index - 1 : -1;
}

/* Reads the Spec ID event in the legacy first record; returns its total size. */
static int parse_spec(const u8 *log, size_t len, struct cc_evlog_spec *spec, size_t *used,
		      struct err *e)
{
	u32 size, nalgs;
	const u8 *ev;
	bool sha384 = false;

	if (len < LEGACY_HDR)
		return errf(e, -EINVAL, "event log: %zu bytes, too short for the Spec ID header",
			    len);
	if (get_le32(log + 4) != EV_NO_ACTION)
		return errf(
		    e, -EINVAL,
		    "event log: first record has type 0x%x, want EV_NO_ACTION (Spec ID event)",
		    get_le32(log + 4));
	size = get_le32(log + 28);
	if (size > len - LEGACY_HDR)
		return errf(
		    e, -EINVAL,
		    "event log: Spec ID event of %u bytes runs past the end of the %zu-byte log",
		    size, len);
	ev = log + LEGACY_HDR;
	if (size < SPEC_FIXED || memcmp(ev, SPEC_SIG, sizeof(SPEC_SIG)) != 0)
		return errf(
		    e, -EINVAL,
		    "event log: first record is not a \"Spec ID Event03\" (crypto-agile) event");
	nalgs = get_le32(ev + 24);
	if (nalgs == 0 || nalgs > CC_EVLOG_MAX_ALGS)
		return errf(e, -EINVAL,
			    "event log: Spec ID event lists %u algorithms, must be 1..%d", nalgs,
			    CC_EVLOG_MAX_ALGS);
	/* The algorithm table and the vendor-info size byte must fit the event. */
	if (SPEC_FIXED + 4ULL * nalgs + 1 > size)
		return errf(e, -EINVAL,
			    "event log: Spec ID event of %u bytes is too short for %u algorithms",
			    size, nalgs);
	spec->nalgs = nalgs;
	for (u32 i = 0; i < nalgs; i++) {
		spec->alg_id[i] = get_le16(ev + SPEC_FIXED + 4 * i);
		spec->digest_size[i] = get_le16(ev + SPEC_FIXED + 4 * i + 2);
		if (spec->digest_size[i] == 0 || spec->digest_size[i] > MAX_DIGEST)
			return errf(e, -EINVAL,
				    "event log: algorithm 0x%04x has digest size %u, must be 1..%d",
				    spec->alg_id[i], spec->digest_size[i], MAX_DIGEST);
		if (spec->alg_id[i] == TCG_ALG_SHA384) {
			if (spec->digest_size[i] != 48)
				return errf(e, -EINVAL,
					    "event log: SHA-384 listed with digest size %u, not 48",
					    spec->digest_size[i]);
			sha384 = true;
		}
		for (u32 j = 0; j < i; j++)
			if (spec->alg_id[j] == spec->alg_id[i])
				return errf(
				    e, -EINVAL,
				    "event log: algorithm 0x%04x listed twice in the Spec ID event",
				    spec->alg_id[i]);
	}
	if (SPEC_FIXED + 4ULL * nalgs + 1 + ev[SPEC_FIXED + 4 * nalgs] > size)
		return errf(e, -EINVAL,
			    "event log: Spec ID vendor info runs past the event's %u bytes", size);
	if (!sha384)
		return errf(e, -EINVAL, "event log: Spec ID event does not list SHA-384 (0x000c)");
	*used = LEGACY_HDR + size;
	return 0;
}

static bool is_padding(const u8 *p, size_t n)
{
	/* CCEL areas are 0xFF-filled (edk2) or zero-filled after the last record. */
	u8 f = p[0];

	if (f != 0xFF && f != 0x00)
		return false;
	for (size_t i = 1; i < n; i++)
		if (p[i] != f)
			return false;
	return true;
}

int cc_evlog_walk(const u8 *log, size_t len, struct cc_evlog_spec *spec,
		  int (*cb)(void *ctx, const struct cc_event *ev), void *ctx, struct err *e)
{
	struct cc_evlog_spec local;
	size_t off = 0;
	u32 idx = 0;
	int r;

	if (!spec)
		spec = &local;
	memset(spec, 0, sizeof(*spec));
	r = parse_spec(log, len, spec, &off, e);
	if (r < 0)
		return r;
	while (off < len) {
		struct cc_event ev = {.index = idx, .offset = off};
		size_t rem = len - off, p;
		u32 count;

		/* Padding: the 8-byte MR/type header all 0xFF or all zero. */
		if (rem < 8 ? is_padding(log + off, rem) : is_padding(log + off, 8))
			break;
		if (rem < 12)
			return errf(e, -EINVAL, "event %u at offset %zu: truncated header", idx,
				    off);
		ev.mr_index = get_le32(log + off);
		ev.type = get_le32(log + off + 4);
		count = get_le32(log + off + 8);
		if (count == 0 || count > spec->nalgs)
			return errf(
			    e, -EINVAL,
			    "event %u at offset %zu: %u digests, the Spec ID event lists %u "
			    "algorithms",
			    idx, off, count, spec->nalgs);
		p = off + 12;
		for (u32 i = 0; i < count; i++) {
			u16 alg;
			u32 k, dsize = 0;

			if (len - p < 2)
				return errf(e, -EINVAL,
					    "event %u at offset %zu: truncated digest list", idx,
					    off);
			alg = get_le16(log + p);
			for (k = 0; k < spec->nalgs; k++)
				if (spec->alg_id[k] == alg)
					dsize = spec->digest_size[k];
			if (!dsize)
				return errf(
				    e, -EINVAL,
				    "event %u at offset %zu: digest algorithm 0x%04x is not in "
				    "the Spec ID event",
				    idx, off, alg);
			if (len - p - 2 < dsize)
				return errf(e, -EINVAL, "event %u at offset %zu: truncated digest",
					    idx, off);
			if (alg == TCG_ALG_SHA384) {
				if (ev.has_sha384)
					return errf(e, -EINVAL,
						    "event %u at offset %zu: two SHA-384 digests",
						    idx, off);
				memcpy(ev.sha384, log + p + 2, 48);
				ev.has_sha384 = true;
			}
			p += 2 + dsize;
		}
		if (len - p < 4)
			return errf(e, -EINVAL, "event %u at offset %zu: truncated event size", idx,
				    off);
		ev.data_len = get_le32(log + p);
		p += 4;
		if (ev.data_len > len - p)
			return errf(
			    e, -EINVAL,
			    "event %u at offset %zu: event data of %u bytes runs past the end "
			    "of the %zu-byte log",
			    idx, off, ev.data_len, len);
		ev.data = log + p;
		if (cb) {
			r = cb(ctx, &ev);
			if (r)
				return r;
		}
		off = p + ev.data_len;
		idx++;
	}
	return (int)idx;
}

struct replay {
	u8 (*rtmr)[48];
	struct err *e;
};

static int replay_one(void *ctx, const struct cc_event *ev)
{
	struct replay *rp = ctx;
	int i;

	if (ev->type == EV_NO_ACTION)
		return 0;
	i = cc_mr_to_rtmr(ev->mr_index);
	if (i < 0)
		return errf(rp->e, -EINVAL,
			    "event %u at offset %zu: MR index %u is not an RTMR (1..4)", ev->index,
			    ev->offset, ev->mr_index);
	if (!ev->has_sha384)
		return errf(rp->e, -EINVAL, "event %u at offset %zu: no SHA-384 digest", ev->index,
			    ev->offset);
	rtmr_extend(rp->rtmr[i], ev->sha384);
	return 0;
}

int cc_evlog_replay(const u8 *log, size_t len, u8 rtmr[4][48], unsigned *nevents, struct err *e)
{
	struct replay rp = {.rtmr = rtmr, .e = e};
	int r;

	memset(rtmr, 0, 4 * 48);
	r = cc_evlog_walk(log, len, NULL, replay_one, &rp, e);
	if (r < 0)
		return r;
	if (nevents)
		*nevents = (unsigned)r;
	return 0;
}
