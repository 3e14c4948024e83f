/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_RTMR_H
#define MERAK_TDX_RTMR_H

/*
 * What can be said of a TD's RTMR0..3 before it boots, from the firmware and
 * the launch's inputs: td-shim's RTMR0/1 exactly (its Linux boot path is
 * fixed), and for TDVF the digests of the events merak knows (TD HOB, CFV,
 * command line, initrd) with the reason the register itself cannot be
 * predicted. Pure: the caller reads the files.
 */
#include "util/err.h"
#include "util/types.h"
#include "tdx/mrtd.h"
#include "tdx/tdvf.h"

#define TD_RTMRS	   4
#define TD_RTMR_MAX_EVENTS 4

struct td_rtmr_pred {
	bool predicted;
	u8 value[TD_DIGEST_SIZE];
	char reason[256];
	unsigned nev;
	struct {
		const char *name;
		u8 digest[TD_DIGEST_SIZE];
	} ev[TD_RTMR_MAX_EVENTS];
};

/* The launch's inputs beyond the sections (in): what the firmware will measure. */
struct td_rtmr_inputs {
	const u8 *image;	/* the firmware image (CFV bytes) */
	size_t image_len;
	bool have_kernel;	/* a --kernel was given */
	const char *cmdline;	/* NULL: none given */
	const u8 *initrd;	/* NULL: none given */
	size_t initrd_len;
};

/*
 * Fills rt[0..3]. in carries the TD HOB (NULL when the memory size is not
 * known), the td-shim payload and PayloadParam bytes as the launch builds them.
 */
int td_predict_rtmrs(const struct tdvf_info *fw, const struct td_section_inputs *in,
		     const struct td_rtmr_inputs *ri, struct td_rtmr_pred rt[TD_RTMRS],
		     struct err *e);

#endif
