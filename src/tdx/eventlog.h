/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_EVENTLOG_H
#define MERAK_TDX_EVENTLOG_H

/*
 * TCG2 crypto-agile event log as a TD's firmware publishes it in the ACPI
 * CCEL area: a legacy TCG_PCR_EVENT carrying the Spec ID event, then
 * TCG_PCR_EVENT2 records whose index is the CC MR index (1..4 = RTMR0..3).
 * Pure parser; every length in the log is checked.
 */
#include "util/err.h"
#include "util/types.h"

#define CC_EVLOG_MAX_ALGS 8
#define TCG_ALG_SHA384	  0x000C
#define EV_NO_ACTION	  0x00000003
#define EV_SEPARATOR	  0x00000004

struct cc_event {
	u32 index;     /* 0-based position in the log (Spec ID header is not counted) */
	size_t offset; /* byte offset of the record in the log */
	u32 mr_index;  /* as stored: 1..4 for RTMR0..3 */
	u32 type;
	bool has_sha384;
	u8 sha384[48];
	const u8 *data;
	u32 data_len;
};

struct cc_evlog_spec {
	u32 nalgs;
	u16 alg_id[CC_EVLOG_MAX_ALGS];
	u16 digest_size[CC_EVLOG_MAX_ALGS];
};

/*
 * Walks the log in log/len. The log ends at len, or where the area's padding
 * starts (an all-0xFF or all-zero record header). cb may be NULL; a non-zero
 * return from cb stops the walk and is returned.
 */
int cc_evlog_walk(const u8 *log, size_t len, struct cc_evlog_spec *spec,
		  int (*cb)(void *ctx, const struct cc_event *ev), void *ctx, struct err *e);

/* RTMR number for a CC MR index: 1..4 -> 0..3; -1 for anything else. */
int cc_mr_to_rtmr(u32 mr_index);

/*
 * Replays every event (EV_NO_ACTION skipped) into rtmr[0..3], which start at
 * zero. *nevents (may be NULL) gets the number of records walked.
 */
int cc_evlog_replay(const u8 *log, size_t len, u8 rtmr[4][48], unsigned *nevents, struct err *e);

/* Name of a TCG event type ("EV_SEPARATOR"), or NULL when unknown. */
const char *cc_event_type_name(u32 type);

#endif
