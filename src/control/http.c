// SPDX-License-Identifier: MIT
#include "control/http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool is_tchar(u8 c)
{
	/* RFC 9110 token characters. */
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Finds "\r\n" in [p, end); returns its offset or -1. A bare LF is an error (-2). */
static long find_crlf(const u8 *p, const u8 *end)
{
	for (const u8 *q = p; q < end; q++) {
		if (*q == '\n')
			return (q > p && q[-1] == '\r') ? (long)(q - 1 - p) : -2;
	}
	return -1;
}

static int parse_request_line(const u8 *p, size_t n, struct http_request *req)
{
	const u8 *sp1 = memchr(p, ' ', n), *sp2;
	size_t mlen, plen, vlen;

	if (!sp1)
		return -400;
	mlen = (size_t)(sp1 - p);
	if (!mlen || mlen >= sizeof(req->method))
		return -501;
	for (size_t i = 0; i < mlen; i++)
		if (!is_tchar(p[i]))
			return -400;
	sp2 = memchr(sp1 + 1, ' ', n - mlen - 1);
	if (!sp2)
		return -400;
	plen = (size_t)(sp2 - sp1 - 1);
	if (!plen || sp1[1] != '/')
		return -400;
	if (plen >= HTTP_MAX_PATH)
		return -414;
	for (size_t i = 0; i < plen; i++)
		if (sp1[1 + i] <= 0x20 || sp1[1 + i] >= 0x7f)
			return -400;
	vlen = n - (size_t)(sp2 + 1 - p);
	if (vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7))
		return -400;
	if (sp2[8] != '1' && sp2[8] != '0')
		return -505;
	memcpy(req->method, p, mlen);
	req->method[mlen] = '\0';
	memcpy(req->path, sp1 + 1, plen);
	req->path[plen] = '\0';
	req->keep_alive = sp2[8] == '1';
	return 0;
}

static bool header_is(const u8 *name, size_t nlen, const char *want)
{
	return nlen == strlen(want) && !strncasecmp((const char *)name, want, nlen);
}

static void trim(const u8 **v, size_t *vlen)
{
	while (*vlen && (**v == ' ' || **v == '\t')) {
		(*v)++;
		(*vlen)--;
	}
	while (*vlen && ((*v)[*vlen - 1] == ' ' || (*v)[*vlen - 1] == '\t'))
		(*vlen)--;
}

int http_parse_request(const u8 *buf, size_t len, struct http_request *req, size_t *consumed)
{
	const u8 *p = buf, *end = buf + MIN(len, (size_t)HTTP_MAX_HEAD);
	bool have_length = false;
	size_t content_length = 0;
	unsigned nheaders = 0;
	long n;
	int r;

	memset(req, 0, sizeof(*req));
	n = find_crlf(p, end);
	if (n == -2)
		return -400;
	if (n < 0)
		return len >= HTTP_MAX_HEAD ? -431 : 0;
	r = parse_request_line(p, (size_t)n, req);
	if (r < 0)
		return r;
	p += n + 2;
	for (;;) {
		const u8 *colon, *value;
		size_t nlen, vlen;

		n = find_crlf(p, end);
		if (n == -2)
			return -400;
		if (n < 0)
			return len >= HTTP_MAX_HEAD ? -431 : 0;
		if (n == 0) {
			p += 2;
			break;
		}
		if (++nheaders > HTTP_MAX_HEADERS)
			return -431;
		/* No obsolete line folding, no empty names. */
		if (*p == ' ' || *p == '\t')
			return -400;
		colon = memchr(p, ':', (size_t)n);
		if (!colon || colon == p)
			return -400;
		nlen = (size_t)(colon - p);
		for (size_t i = 0; i < nlen; i++)
			if (!is_tchar(p[i]))
				return -400;
		value = colon + 1;
		vlen = (size_t)n - nlen - 1;
		trim(&value, &vlen);
		for (size_t i = 0; i < vlen; i++)
			if ((value[i] < 0x20 && value[i] != '\t') || value[i] == 0x7f)
				return -400;
		if (header_is(p, nlen, "Content-Length")) {
			size_t v = 0;

			if (!vlen || vlen > 9)
				return vlen > 9 ? -413 : -400;
			for (size_t i = 0; i < vlen; i++) {
				if (value[i] < '0' || value[i] > '9')
					return -400;
				v = v * 10 + (size_t)(value[i] - '0');
			}
			if (have_length && v != content_length)
				return -400;
			have_length = true;
			content_length = v;
		} else if (header_is(p, nlen, "Transfer-Encoding")) {
			return -501;	/* no chunked bodies: requests here are tiny */
		} else if (header_is(p, nlen, "Connection")) {
			if (vlen == 5 && !strncasecmp((const char *)value, "close", 5))
				req->keep_alive = false;
			else if (vlen == 10 && !strncasecmp((const char *)value, "keep-alive", 10))
				req->keep_alive = true;
		}
		p += n + 2;
	}
	if (content_length > HTTP_MAX_BODY)
		return -413;
	if ((size_t)(p - buf) + content_length > len)
		return 0;
	req->body = p;
	req->body_len = content_length;
	*consumed = (size_t)(p - buf) + content_length;
	return 1;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

int http_format_response(char *out, size_t cap, int status, const char *content_type,
			 const char *body, size_t body_len, bool keep_alive)
{
	int n;

	if (body_len && content_type)
		n = snprintf(out, cap,
			     "HTTP/1.1 %d %s\r\nServer: merak\r\nContent-Type: %s\r\n"
			     "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
			     status, http_reason(status), content_type, body_len,
			     keep_alive ? "keep-alive" : "close");
	else
		n = snprintf(out, cap, "HTTP/1.1 %d %s\r\nServer: merak\r\n%sConnection: %s\r\n\r\n",
			     status, http_reason(status),
			     status == 204 ? "" : "Content-Length: 0\r\n",
			     keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n + body_len >= cap)
		return -1;
	if (body_len)
		memcpy(out + n, body, body_len);
	return n + (int)body_len;
}
