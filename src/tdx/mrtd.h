/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_MRTD_H
#define MERAK_TDX_MRTD_H

/*
 * The one walk over the TDVF sections that both the TD launch and
 * `merak measure` use: which memory regions the launch adds with
 * KVM_TDX_INIT_MEM_REGION (and with which content and flag), the exact
 * sequence of TDH.MEM.PAGE.ADD / TDH.MR.EXTEND operations that produces, and
 * MRTD computed from that sequence as the TDX module does. Pure.
 */
#include "util/err.h"
#include "util/types.h"
#include "tdx/sha384.h"
#include "tdx/tdvf.h"

#define TD_DIGEST_SIZE	48  /* SHA-384 */
#define TD_EXTEND_CHUNK 256 /* bytes measured by one TDH.MR.EXTEND */
#define TD_PAGE_SIZE	4096

/*
 * Order of the SEAMCALLs within each section:
 *  PER_PAGE: for each page, PAGE.ADD then its 16 MR.EXTENDs. This is what
 *            upstream KVM's KVM_TDX_INIT_MEM_REGION does, hence merak's launch.
 *  TWO_PASS: all PAGE.ADDs of the section, then all its MR.EXTENDs (Canonical
 *            QEMU 8.2 / KVM TDX v19-era stacks; dstack-mr's "two pass").
 * Sections are always taken in metadata order.
 */
enum td_measure_order { TD_ORDER_PER_PAGE, TD_ORDER_TWO_PASS };

/*
 * What the VMM supplies for sections without raw data in the image. The TD
 * HOB goes into the TD_HOB section; payload/param (td-shim Payload and
 * PayloadParam sections with raw size 0) are optional. Anything not supplied
 * is zero. NULL pointers mean "none".
 */
struct td_section_inputs {
	const u8 *hob;
	size_t hob_len;
	const u8 *payload;
	size_t payload_len;
	const u8 *param;
	size_t param_len;
};

/* One KVM_TDX_INIT_MEM_REGION call, as the launch must issue it. */
struct td_mem_region {
	u32 section; /* index in tdvf_info */
	u32 type;
	u64 gpa;
	u64 nr_pages;
	const u8 *src;	/* content; bytes past src_len up to nr_pages*4K are zero */
	size_t src_len; /* <= nr_pages * 4096 */
	bool measure;	/* KVM_TDX_MEASURE_MEMORY_REGION (section has MR.EXTEND) */
};

/*
 * The regions to add, in the order to add them (metadata order), skipping
 * PAGE.AUG sections and those without memory (TD_INFO, TD_PARAMS). out must
 * hold TDVF_MAX_SECTIONS entries. Fails when an input does not fit its
 * section. image/len is the image fw was parsed from.
 */
int td_mem_regions(const struct tdvf_info *fw, const u8 *image, size_t len,
		   const struct td_section_inputs *in, struct td_mem_region *out, unsigned *n,
		   struct err *e);

enum td_op_kind { TD_OP_PAGE_ADD, TD_OP_MR_EXTEND };

struct td_measure_op {
	enum td_op_kind kind;
	u32 section;
	u64 gpa;	/* page GPA for ADD, chunk GPA for EXTEND */
	const u8 *data; /* ADD: the 4096-byte page; EXTEND: the 256-byte chunk */
};

/*
 * Calls cb for every operation in order; a non-zero return from cb stops the
 * walk and is returned. data pointers are valid only during the callback.
 */
int td_walk_sections(const struct tdvf_info *fw, const u8 *image, size_t len,
		     const struct td_section_inputs *in, enum td_measure_order order,
		     int (*cb)(void *ctx, const struct td_measure_op *op), void *ctx,
		     struct err *e);

/* Incremental MRTD: one SHA-384 context fed as the TDX module feeds it. */
struct td_mrtd {
	struct sha384 h;
};

int td_mrtd_init(struct td_mrtd *m, struct err *e);
void td_mrtd_page_add(struct td_mrtd *m, u64 gpa);
void td_mrtd_extend(struct td_mrtd *m, u64 gpa, const u8 chunk[TD_EXTEND_CHUNK]);
/* Finalizes into out and frees the context. */
int td_mrtd_final(struct td_mrtd *m, u8 out[TD_DIGEST_SIZE], struct err *e);
void td_mrtd_free(struct td_mrtd *m);

/* MRTD of launching fw with the given inputs in the given order. */
int td_mrtd_compute(const struct tdvf_info *fw, const u8 *image, size_t len,
		    const struct td_section_inputs *in, enum td_measure_order order,
		    u8 out[TD_DIGEST_SIZE], struct err *e);

/* RTMR[i] = SHA384(RTMR[i] || digest). */
void rtmr_extend(u8 rtmr[TD_DIGEST_SIZE], const u8 digest[TD_DIGEST_SIZE]);
void td_sha384(const void *data, size_t len, u8 out[TD_DIGEST_SIZE]);

/*
 * Digest OVMF extends into RTMR0 for the TD HOB: SHA-384 of the list up to
 * (not including) its END HOB. hob/len is what td_hob_build wrote.
 */
int td_hob_event_digest(const u8 *hob, size_t len, u8 out[TD_DIGEST_SIZE], struct err *e);

const char *td_measure_order_name(enum td_measure_order o);
void td_hex(const u8 *d, size_t n, char *out /* 2n+1 */);

#endif
