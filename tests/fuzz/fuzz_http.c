// SPDX-License-Identifier: MIT
/* The control socket's request parser on arbitrary bytes, pipelined. */
#include "control/http.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t len)
{
	struct http_request req;
	size_t used, off = 0;

	while (off < len) {
		int r = http_parse_request(data + off, len - off, &req, &used);
		if (r != 1)
			break;
		if (used == 0 || used > len - off || req.body_len > used)
			__builtin_trap();
		off += used;
	}
	return 0;
}
