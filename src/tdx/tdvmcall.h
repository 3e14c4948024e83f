/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_TDVMCALL_H
#define MERAK_TDX_TDVMCALL_H

/*
 * TDVMCALLs KVM forwards to userspace (KVM_EXIT_TDX, and ReportFatalError as
 * a system event), handled on plain values and buffers so that every rule is
 * unit-testable: GetTdVmCallInfo leaf 1, SetupEventNotifyInterrupt, the
 * GetQuote shared-buffer header and its completion, ReportFatalError.
 * regs follows kvm_run.tdx: regs[0] is the status returned to the guest (R10),
 * regs[1..5] the call's fields.
 */
#include "util/err.h"
#include "util/types.h"

#define TDVMCALL_GET_TD_VM_CALL_INFO	      0x10000ULL
#define TDVMCALL_MAP_GPA		      0x10001ULL
#define TDVMCALL_GET_QUOTE		      0x10002ULL
#define TDVMCALL_REPORT_FATAL_ERROR	      0x10003ULL
#define TDVMCALL_SETUP_EVENT_NOTIFY_INTERRUPT 0x10004ULL

#define TDVMCALL_STATUS_SUCCESS		    0x0000000000000000ULL
#define TDVMCALL_STATUS_RETRY		    0x0000000000000001ULL
#define TDVMCALL_STATUS_INVALID_OPERAND	    0x8000000000000000ULL
#define TDVMCALL_STATUS_GPA_INUSE	    0x8000000000000001ULL
#define TDVMCALL_STATUS_ALIGN_ERROR	    0x8000000000000002ULL
#define TDVMCALL_STATUS_SUBFUNC_UNSUPPORTED 0x8000000000000003ULL

/* GetTdVmCallInfo leaf 1, R11: SetupEventNotifyInterrupt is served by the VMM. */
#define TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT (1ULL << 1)
/* The leaf-1 bits merak itself implements (the user_* words are masked by these). */
#define MERAK_TDVMCALLINFO_R11 TDVMCALLINFO_SETUP_EVENT_NOTIFY_INTERRUPT
#define MERAK_TDVMCALLINFO_R12 0ULL

/* GetQuote shared buffer: 24-byte header, then the TDREPORT / the quote. */
#define TDX_QUOTE_HDR_SIZE	24
#define TDX_QUOTE_VERSION	1
#define TDX_QUOTE_MAX_BUF	(128 * 1024)
#define TDX_QUOTE_MAX_INFLIGHT	16

#define TDX_QUOTE_STATUS_SUCCESS	 0x0000000000000000ULL
#define TDX_QUOTE_STATUS_IN_FLIGHT	 0xFFFFFFFFFFFFFFFFULL
#define TDX_QUOTE_STATUS_ERROR		 0x8000000000000000ULL
#define TDX_QUOTE_STATUS_QGS_UNAVAILABLE 0x8000000000000001ULL

/* The four words of KVM_TDX_CAPABILITIES that describe leaf 1. */
struct tdvmcall_info {
	u64 kernel_r11, user_r11;
	u64 kernel_r12, user_r12;
};

/*
 * GetTdVmCallInfo: leaf 1 is answered from info (user bits only where merak
 * implements the call); any other leaf keeps KVM's pre-filled answer.
 */
void tdvmcall_get_info(const struct tdvmcall_info *info, u64 *regs);

/* SetupEventNotifyInterrupt: vectors 32..255 are accepted (*vector_out set). */
bool tdvmcall_setup_event_notify(u64 *regs, u32 *vector_out);

/*
 * GetQuote, before touching memory: gpa (shared bit already stripped) and size
 * from the exit. Returns the TDVMCALL status (SUCCESS: go on and read the
 * header).
 */
u64 tdx_quote_check_args(u64 gpa, u64 size);
/*
 * The 24-byte header read from the buffer: version 1 and in_len fitting the
 * buffer. Returns SUCCESS with *in_len, else INVALID_OPERAND.
 */
u64 tdx_quote_check_header(const u8 *hdr, u64 size, u32 *in_len);

/* Writes the header's status word (IN_FLIGHT, QGS_UNAVAILABLE, ...) on its own. */
void tdx_quote_set_status(u8 *buf, u64 status);
/*
 * Completion into the guest's buffer (buf_size bytes): on SUCCESS the quote
 * goes to buf+24 and out_len is set; a quote that does not fit becomes
 * ERROR. The status word is written last, after a release barrier, because
 * the guest polls it. Returns the status written.
 */
u64 tdx_quote_complete(u8 *buf, u64 buf_size, u64 status, const u8 *quote, u32 quote_len);

/* MSI that delivers the notify vector to an x2APIC ID (fixed, edge). */
void tdx_notify_msi(u32 apic_id, u32 vector, u64 *addr, u32 *data);

/* ReportFatalError, decoded from the TDX_FATAL system event's 16 GPRs. */
struct tdx_fatal {
	u64 code;		/* R12 */
	bool code_valid;	/* the low 16 bits are 0, as the GHCI requires */
	bool has_gpa;		/* code bit 63: R13 holds a GPA */
	u64 gpa;
	char msg[65];		/* from R14, R15, RBX, RDI, RSI, R8, R9, RDX per the RCX mask */
};

int tdx_fatal_decode(const u64 *data, u32 ndata, struct tdx_fatal *out, struct err *e);
/* "code 0x... message '...'" (and " GPA 0x..." when given) for the stop reason. */
void tdx_fatal_describe(const struct tdx_fatal *f, char *buf, size_t len);

#endif
