// SPDX-License-Identifier: MIT
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "control/http.h"

static int parse(const char *s, struct http_request *req, size_t *used)
{
	return http_parse_request((const u8 *)s, strlen(s), req, used);
}

static void test_simple_get(void **state)
{
	struct http_request req;
	size_t used = 0;
	const char *s = "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";

	assert_int_equal(parse(s, &req, &used), 1);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.path, "/api/v1/vmm.ping");
	assert_int_equal(req.body_len, 0);
	assert_true(req.keep_alive);
	assert_int_equal(used, strlen(s));
}

static void test_put_with_body_and_pipelining(void **state)
{
	struct http_request req;
	size_t used = 0;
	const char *s = "PUT /api/v1/vm.pause HTTP/1.1\r\ncontent-length: 2\r\n"
			"Connection: close\r\n\r\n{}GET / HTTP/1.1\r\n\r\n";

	assert_int_equal(parse(s, &req, &used), 1);
	assert_string_equal(req.method, "PUT");
	assert_int_equal(req.body_len, 2);
	assert_memory_equal(req.body, "{}", 2);
	assert_false(req.keep_alive);
	/* The next request starts right after this one's body. */
	assert_int_equal(parse(s + used, &req, &used), 1);
	assert_string_equal(req.path, "/");
}

static void test_incomplete(void **state)
{
	struct http_request req;
	size_t used;

	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: x\r\n", &req, &used), 0);
	assert_int_equal(parse("GET / HTT", &req, &used), 0);
	assert_int_equal(parse("PUT / HTTP/1.1\r\nContent-Length: 10\r\n\r\n12345", &req, &used),
			 0);
	assert_int_equal(parse("", &req, &used), 0);
}

static void test_refusals(void **state)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
		{"GET / HTTP/1.1\nHost: x\r\n\r\n", -400},	       /* bare LF */
		{"GET  / HTTP/1.1\r\n\r\n", -400},		       /* empty path */
		{"GET nopath HTTP/1.1\r\n\r\n", -400},
		{"GET / HTTP/2.0\r\n\r\n", -400},
		{"GET / HTTP/1.2\r\n\r\n", -505},
		{"GET / HTTP/1.1 extra\r\n\r\n", -400},
		{"G@T / HTTP/1.1\r\n\r\n", -400},
		{"VERYLONGMETHODNAME / HTTP/1.1\r\n\r\n", -501},
		{"GET / HTTP/1.1\r\n folded: x\r\n\r\n", -400},
		{"GET / HTTP/1.1\r\nNoColon\r\n\r\n", -400},
		{"GET / HTTP/1.1\r\n: empty\r\n\r\n", -400},
		{"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", -400},
		{"GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n", -400},
		{"PUT / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", -400},
		{"PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", -400},
		{"PUT / HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", -413},
		{"PUT / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", -413},
		{"PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", -501},
		{"GET /a b HTTP/1.1\r\n\r\n", -400},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_request req;
		size_t used;
		int r = parse(cases[i].req, &req, &used);

		if (r != cases[i].status) {
			print_error("case %zu: got %d, want %d\n", i, r, cases[i].status);
			fail();
		}
	}
}

static void test_limits(void **state)
{
	static char big[HTTP_MAX_HEAD + 100];
	struct http_request req;
	size_t used;
	char path[400];

	/* Headers that never end are refused once they pass the limit. */
	memcpy(big, "GET / HTTP/1.1\r\n", 16);
	memset(big + 16, 'a', sizeof(big) - 17);
	assert_int_equal(http_parse_request((u8 *)big, sizeof(big) - 1, &req, &used), -431);
	/* Too many headers. */
	size_t n = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		n += (size_t)sprintf(big + n, "X-%d: y\r\n", i);
	n += (size_t)sprintf(big + n, "\r\n");
	assert_int_equal(http_parse_request((u8 *)big, n, &req, &used), -431);
	/* A path longer than the limit. */
	memset(path, 'p', sizeof(path));
	path[0] = '/';
	n = (size_t)snprintf(big, sizeof(big), "GET %.*s HTTP/1.1\r\n\r\n", 300, path);
	assert_int_equal(http_parse_request((u8 *)big, n, &req, &used), -414);
}

static void test_format_response(void **state)
{
	char out[256];
	int n = http_format_response(out, sizeof(out), 200, "application/json", "{\"a\":1}", 7,
				     true);

	assert_true(n > 0);
	out[n] = '\0';
	assert_non_null(strstr(out, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(out, "Content-Length: 7\r\n"));
	assert_non_null(strstr(out, "\r\n\r\n{\"a\":1}"));
	n = http_format_response(out, sizeof(out), 204, NULL, NULL, 0, false);
	out[n] = '\0';
	assert_null(strstr(out, "Content-Length"));
	assert_non_null(strstr(out, "Connection: close"));
	assert_int_equal(http_format_response(out, 16, 200, "text/plain", "x", 1, true), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_get),
		cmocka_unit_test(test_put_with_body_and_pipelining),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_format_response),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
