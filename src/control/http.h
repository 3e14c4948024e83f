/* SPDX-License-Identifier: MIT */
#ifndef MERAK_CONTROL_HTTP_H
#define MERAK_CONTROL_HTTP_H

/*
 * A small, strict HTTP/1.1 request parser for the control socket. Pure: it
 * looks at a buffer and says "need more", "here is a request" or which
 * status to refuse it with. Limits keep a hostile client from making merak
 * buffer without bound.
 */
#include "util/types.h"

#define HTTP_MAX_HEAD	 8192	/* request line and headers */
#define HTTP_MAX_BODY	 65536
#define HTTP_MAX_HEADERS 64
#define HTTP_MAX_PATH	 256

struct http_request {
	char method[16];
	char path[HTTP_MAX_PATH];
	const u8 *body;		/* points into the parsed buffer */
	size_t body_len;
	bool keep_alive;
};

/*
 * Returns 1 with req filled and *consumed set to the request's length, 0 if
 * the buffer holds only part of a request, or -STATUS (e.g. -400, -413,
 * -431, -501, -505) for a request that must be refused.
 */
int http_parse_request(const u8 *buf, size_t len, struct http_request *req, size_t *consumed);

/* Formats a whole response; returns its length, or -1 if it does not fit. */
int http_format_response(char *out, size_t cap, int status, const char *content_type,
			 const char *body, size_t body_len, bool keep_alive);
const char *http_reason(int status);

#endif
