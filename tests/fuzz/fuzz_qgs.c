// SPDX-License-Identifier: MIT
/* QGS response framing and validation, and the GetQuote/fatal-error decoders, on hostile bytes. */
#include <string.h>

#include "tdx/qgs.h"
#include "tdx/tdvmcall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const u8 *quote;
	u32 qlen, in_len;
	size_t frame;
	struct err e;

	if (qgs_frame_status(data, size, &frame, &e) == 1 && frame > size)
		__builtin_trap();
	if (qgs_decode_response(data, size, &quote, &qlen, &e) == 0 &&
	    (quote < data || quote + qlen > data + size))
		__builtin_trap();
	if (size >= TDX_QUOTE_HDR_SIZE &&
	    tdx_quote_check_header(data, size, &in_len) == TDVMCALL_STATUS_SUCCESS &&
	    (u64)in_len + TDX_QUOTE_HDR_SIZE > size)
		__builtin_trap();
	if (size >= 16 * 8) {
		u64 regs[16];
		struct tdx_fatal f;
		char d[200];

		memcpy(regs, data, sizeof(regs));
		if (tdx_fatal_decode(regs, 16, &f, &e) == 0) {
			if (strlen(f.msg) > 64)
				__builtin_trap();
			tdx_fatal_describe(&f, d, sizeof(d));
		}
	}
	return 0;
}
