// SPDX-License-Identifier: MIT
#include "tdx/tdvmcall.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

void tdvmcall_get_info(const struct tdvmcall_info *info, u64 *regs)
{
	/* Other leaves: KVM's pre-filled answer stands. */
	if (regs[1] != 1)
		return;
	regs[2] = (info->user_r11 & MERAK_TDVMCALLINFO_R11) | info->kernel_r11;
	regs[3] = (info->user_r12 & MERAK_TDVMCALLINFO_R12) | info->kernel_r12;
	regs[4] = 0;
	regs[5] = 0;
	regs[0] = TDVMCALL_STATUS_SUCCESS;
}

bool tdvmcall_setup_event_notify(u64 *regs, u32 *vector_out)
{
	u64 v = regs[1];

	if (v < 32 || v > 255) {
		regs[0] = TDVMCALL_STATUS_INVALID_OPERAND;
		return false;
	}
	*vector_out = (u32)v;
	regs[0] = TDVMCALL_STATUS_SUCCESS;
	return true;
}

u64 tdx_quote_check_args(u64 gpa, u64 size)
{
	if (size == 0)
		return TDVMCALL_STATUS_INVALID_OPERAND;
	if (!IS_ALIGNED(gpa, PAGE_SIZE) || !IS_ALIGNED(size, PAGE_SIZE))
		return TDVMCALL_STATUS_ALIGN_ERROR;
	if (size > TDX_QUOTE_MAX_BUF)
		return TDVMCALL_STATUS_INVALID_OPERAND;
	return TDVMCALL_STATUS_SUCCESS;
}

u64 tdx_quote_check_header(const u8 *hdr, u64 size, u32 *in_len)
{
	u32 len = get_le32(hdr + 16);

	if (get_le64(hdr) != TDX_QUOTE_VERSION || size < TDX_QUOTE_HDR_SIZE ||
	    len > size - TDX_QUOTE_HDR_SIZE)
		return TDVMCALL_STATUS_INVALID_OPERAND;
	*in_len = len;
	return TDVMCALL_STATUS_SUCCESS;
}

static void store_status(u8 *buf, u64 status)
{
	u8 le[8];

	put_le64(le, status);
	/* One 8-byte store when aligned, so the guest never sees a torn status. */
	if (IS_ALIGNED((uintptr_t)(buf + 8), 8)) {
		u64 v;
		memcpy(&v, le, 8);
		__atomic_store_n((u64 *)(void *)(buf + 8), v, __ATOMIC_RELEASE);
	} else {
		__atomic_thread_fence(__ATOMIC_RELEASE);
		memcpy(buf + 8, le, 8);
	}
}

void tdx_quote_set_status(u8 *buf, u64 status)
{
	store_status(buf, status);
}

u64 tdx_quote_complete(u8 *buf, u64 buf_size, u64 status, const u8 *quote, u32 quote_len)
{
	if (buf_size < TDX_QUOTE_HDR_SIZE)
		return TDX_QUOTE_STATUS_ERROR;
	if (status == TDX_QUOTE_STATUS_SUCCESS) {
		if (!quote || quote_len == 0 || quote_len > buf_size - TDX_QUOTE_HDR_SIZE) {
			status = TDX_QUOTE_STATUS_ERROR;
			put_le32(buf + 20, 0);
		} else {
			memcpy(buf + TDX_QUOTE_HDR_SIZE, quote, quote_len);
			put_le32(buf + 20, quote_len);
		}
	} else {
		put_le32(buf + 20, 0);
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	store_status(buf, status);
	return status;
}

void tdx_notify_msi(u32 apic_id, u32 vector, u64 *addr, u32 *data)
{
	/* Destination ID bits 7:0 in address[19:12], bits 31:8 in address_hi (x2APIC API). */
	*addr = 0xFEE00000ULL | ((u64)(apic_id & 0xff) << 12) |
		((u64)(apic_id & 0xffffff00u) << 32);
	*data = vector & 0xff;	/* fixed delivery, edge */
}

enum { R_RAX, R_RCX, R_RDX, R_RBX, R_RSP, R_RBP, R_RSI, R_RDI, R_R8, R_R9, R_R10, R_R11,
       R_R12, R_R13, R_R14, R_R15 };

int tdx_fatal_decode(const u64 *data, u32 ndata, struct tdx_fatal *out, struct err *e)
{
	static const u8 msg_regs[] = {R_R14, R_R15, R_RBX, R_RDI, R_RSI, R_R8, R_R9, R_RDX};
	u64 mask;
	size_t n = 0;
	bool ended = false;

	memset(out, 0, sizeof(*out));
	if (ndata < 16)
		return errf(e, -EPROTO,
			    "TDX fatal-error event carries %u registers, 16 expected", ndata);
	out->code = data[R_R12];
	out->code_valid = (out->code & 0xffff) == 0;
	mask = data[R_RCX];
	if (out->code & (1ULL << 63)) {
		out->has_gpa = true;
		out->gpa = data[R_R13];
	}
	for (size_t i = 0; i < ARRAY_SIZE(msg_regs) && !ended; i++) {
		u8 b[8];

		if (!(mask & (1ULL << msg_regs[i])))
			continue;
		put_le64(b, data[msg_regs[i]]);
		for (int j = 0; j < 8; j++) {
			if (b[j] == 0) {
				ended = true;
				break;
			}
			/* Guest-supplied text: printable ASCII only. */
			out->msg[n++] = (b[j] >= 0x20 && b[j] < 0x7f) ? (char)b[j] : '?';
		}
	}
	out->msg[n] = '\0';
	return 0;
}

void tdx_fatal_describe(const struct tdx_fatal *f, char *buf, size_t len)
{
	int n = snprintf(buf, len, "code 0x%016llx", (unsigned long long)f->code);

	if (n < 0 || (size_t)n >= len)
		return;
	if (f->msg[0])
		n += snprintf(buf + n, len - (size_t)n, " message '%s'", f->msg);
	else
		n += snprintf(buf + n, len - (size_t)n, " (no message)");
	if (f->has_gpa && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " GPA 0x%llx", (unsigned long long)f->gpa);
}
