/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_TDSHIM_H
#define MERAK_TDX_TDSHIM_H

/*
 * What td-shim (confidential-containers/td-shim) needs from the VMM beyond
 * the TDVF sections, and what it measures into RTMR0/RTMR1, so that the
 * launch and `merak measure` build the same bytes. Pure.
 *
 * td-shim boots a VMM-loaded Linux payload only when the TD HOB carries the
 * "payload info" GUID HOB (b96fa412-461f-4be3-8c0d-ad805a497ac0) with image
 * type BzImage; without it td-shim looks for a payload built into its own
 * image. Its events on the Linux path (td-shim/src/bin/td-shim/main.rs,
 * td-shim/src/event_log.rs, cc-measurement/src/log.rs), in this order:
 *   RTMR0  SHA384(TD HOB list, PHIT through the END HOB header)
 *   RTMR0, RTMR1  SHA384(00 00 00 00)  (EV_SEPARATOR, before the payload)
 *   RTMR1  SHA384(payload region)  only if the Payload section's attributes
 *          are exactly 0 (otherwise the payload is in MRTD)
 *   RTMR1  SHA384(payload parameter region)
 * The regions are td-shim's build-time runtime layout, which td-shim's
 * linker also writes as the Payload/PayloadParam sections; merak hashes the
 * sections' memory ranges: the content zero-padded to the section size.
 */
#include "util/err.h"
#include "util/types.h"
#include "tdx/mrtd.h"
#include "tdx/tdvf.h"

#define TD_SHIM_PAYLOAD_BZIMAGE	     1
#define TD_SHIM_PAYLOAD_INFO_HOB_LEN 40 /* GUID HOB header 24 + ImageType, Reserved, Entry */

/* True when the image is td-shim and the VMM loads its payload (--kernel). */
bool td_shim_vmm_payload(const struct tdvf_info *fw);

/*
 * Inserts the payload info GUID HOB (image type BzImage, entry point = the
 * Payload section's GPA, as Cloud Hypervisor does) before the END HOB of the
 * list td_hob_build wrote, and moves the PHIT's EfiEndOfHobList.
 * Does nothing unless td_shim_vmm_payload(fw). The launch and `merak measure`
 * both call this right after td_hob_build.
 */
int td_shim_hob_finish(const struct tdvf_info *fw, u8 *hob, size_t cap, size_t *len, struct err *e);

/*
 * td-shim's TD HOB event digest: the list from the PHIT through the END HOB
 * header, whose length must equal PHIT.EfiEndOfHobList - hob_gpa (td-shim
 * rejects the HOB otherwise).
 */
int td_shim_hob_digest(const u8 *hob, size_t len, u64 hob_gpa, u8 out[TD_DIGEST_SIZE],
		       struct err *e);

/* SHA-384 of data followed by zeros up to region bytes (len <= region). */
int td_sha384_padded(const u8 *data, size_t len, u64 region, u8 out[TD_DIGEST_SIZE], struct err *e);

struct td_shim_rtmrs {
	bool have_rtmr0;       /* false without a HOB */
	bool payload_measured; /* Payload attributes == 0 */
	u8 rtmr[2][TD_DIGEST_SIZE];
	u8 hob[TD_DIGEST_SIZE];
	u8 separator[TD_DIGEST_SIZE];
	u8 payload[TD_DIGEST_SIZE];
	u8 param[TD_DIGEST_SIZE];
};

/*
 * RTMR0 and RTMR1 after td-shim's Linux boot path, for an image where
 * td_shim_vmm_payload(fw) holds. in carries the HOB (as finished by
 * td_shim_hob_finish; may be absent, then only RTMR1 is computed), the
 * kernel and the PayloadParam bytes exactly as the launch writes them.
 */
int td_shim_predict(const struct tdvf_info *fw, const struct td_section_inputs *in,
		    struct td_shim_rtmrs *out, struct err *e);
/* Folds the event digests in s into s->rtmr[0] (if have_rtmr0) and s->rtmr[1]. */
void td_shim_fold(struct td_shim_rtmrs *s);

/* The command line td-shim reads from PayloadParam: NUL-terminated, malloc'ed. */
int td_shim_param(const char *cmdline, const struct tdvf_section *sec, u8 **out, size_t *len,
		  struct err *e);
/* Checks a bzImage for td-shim's Payload section (boot-protocol header, size). */
int td_shim_payload_check(const u8 *kernel, size_t len, const struct tdvf_section *sec,
			  struct err *e);

#endif
