// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "tdx/qgs.h"

/* A framed GET_QUOTE_RESP with the given fields, into buf; returns its length. */
static size_t make_resp(u8 *buf, u16 major, u16 minor, u32 type, u32 err, u32 sel,
			const u8 *quote, u32 qlen, int size_delta)
{
	u32 body = QGS_RESP_SIZE + qlen;
	u8 *m = buf + 4;

	buf[0] = (u8)(body >> 24);
	buf[1] = (u8)(body >> 16);
	buf[2] = (u8)(body >> 8);
	buf[3] = (u8)body;
	put_le16(m, major);
	put_le16(m + 2, minor);
	put_le32(m + 4, type);
	put_le32(m + 8, (u32)((int)body + size_delta));
	put_le32(m + 12, err);
	put_le32(m + 16, sel);
	put_le32(m + 20, qlen);
	memcpy(m + 24, quote, qlen);
	return 4 + body;
}

static void test_encode_request(void **state)
{
	u8 report[1024], out[2048];
	struct err e;

	for (int i = 0; i < 1024; i++)
		report[i] = (u8)(i * 7);
	assert_int_equal(qgs_request_size(1024), 4 + 24 + 1024);
	assert_int_equal(qgs_encode_request(report, 1024, out, sizeof(out), &e), 0);
	/* Big-endian prefix 24 + 1024 = 0x418, then the little-endian header. */
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 0x04);
	assert_int_equal(out[3], 0x18);
	assert_int_equal(get_le16(out + 4), 1);
	assert_int_equal(get_le16(out + 6), 1);
	assert_int_equal(get_le32(out + 8), QGS_GET_QUOTE_REQ);
	assert_int_equal(get_le32(out + 12), 24 + 1024);
	assert_int_equal(get_le32(out + 16), 0);
	assert_int_equal(get_le32(out + 20), 1024);
	assert_int_equal(get_le32(out + 24), 0);
	assert_memory_equal(out + 28, report, 1024);

	assert_int_equal(qgs_encode_request(report, 1024, out, 1000, &e), -ENOSPC);
	assert_string_equal(e.msg, "QGS request: 1000-byte buffer, 1052 needed");
	assert_int_equal(qgs_encode_request(report, 0, out, sizeof(out), &e), -EINVAL);
}

static void test_decode_ok(void **state)
{
	u8 buf[256], q[50];
	const u8 *quote;
	u32 qlen;
	struct err e;
	size_t n;

	memset(q, 0x5a, sizeof(q));
	n = make_resp(buf, 1, 1, QGS_GET_QUOTE_RESP, 0, 0, q, 50, 0);
	assert_int_equal(qgs_decode_response(buf, n, &quote, &qlen, &e), 0);
	assert_int_equal(qlen, 50);
	assert_ptr_equal(quote, buf + 28);
	assert_memory_equal(quote, q, 50);
}

static void test_decode_hostile(void **state)
{
	u8 buf[256], q[50] = {0};
	const u8 *quote;
	u32 qlen;
	struct err e;
	size_t n, fl;

	n = make_resp(buf, 1, 1, QGS_GET_QUOTE_RESP, 0x12, 0, q, 50, 0);
	assert_int_equal(qgs_decode_response(buf, n, &quote, &qlen, &e), -EREMOTEIO);
	assert_string_equal(e.msg, "QGS response: error code 0x12");

	n = make_resp(buf, 2, 1, QGS_GET_QUOTE_RESP, 0, 0, q, 50, 0);
	assert_int_equal(qgs_decode_response(buf, n, &quote, &qlen, &e), -EPROTO);
	assert_string_equal(e.msg, "QGS response: version 2.1, expected 1.1");

	n = make_resp(buf, 1, 1, 3, 0, 0, q, 50, 0);
	assert_int_equal(qgs_decode_response(buf, n, &quote, &qlen, &e), -EPROTO);
	assert_string_equal(e.msg, "QGS response: message type 3, expected 1 (GET_QUOTE_RESP)");

	n = make_resp(buf, 1, 1, QGS_GET_QUOTE_RESP, 0, 0, q, 50, 8);
	assert_int_equal(qgs_decode_response(buf, n, &quote, &qlen, &e), -EPROTO);
	assert_string_equal(e.msg, "QGS response: header size 82 but the frame holds 74");

	n = make_resp(buf, 1, 1, QGS_GET_QUOTE_RESP, 0, 4, q, 50, 0);
	assert_int_equal(qgs_decode_response(buf, n, &quote, &qlen, &e), -EPROTO);
	assert_string_equal(e.msg, "QGS response: selected_id_size 4, expected 0");

	/* quote_size disagreeing with the bytes that follow. */
	n = make_resp(buf, 1, 1, QGS_GET_QUOTE_RESP, 0, 0, q, 50, 0);
	put_le32(buf + 4 + 20, 51);
	assert_int_equal(qgs_decode_response(buf, n, &quote, &qlen, &e), -EPROTO);
	assert_string_equal(e.msg, "QGS response: quote_size 51 but 50 bytes follow the header");

	/* An empty quote is no quote. */
	n = make_resp(buf, 1, 1, QGS_GET_QUOTE_RESP, 0, 0, q, 0, 0);
	assert_int_equal(qgs_decode_response(buf, n, &quote, &qlen, &e), -EPROTO);

	/* Truncated: every strict prefix of a good frame is incomplete. */
	n = make_resp(buf, 1, 1, QGS_GET_QUOTE_RESP, 0, 0, q, 50, 0);
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(qgs_frame_status(buf, k, &fl, &e), 0);
		assert_int_equal(qgs_decode_response(buf, k, &quote, &qlen, &e),
				 k < 4 ? -EPROTO : -EPROTO);
	}
	assert_int_equal(qgs_frame_status(buf, n, &fl, &e), 1);
	assert_int_equal(fl, n);
	assert_int_equal(qgs_decode_response(buf, 30, &quote, &qlen, &e), -EPROTO);
	assert_string_equal(e.msg, "QGS response: truncated at 30 bytes");
	/* Trailing junk. */
	assert_int_equal(qgs_decode_response(buf, n + 3, &quote, &qlen, &e), -EPROTO);
	assert_string_equal(e.msg, "QGS response: 3 bytes after the 78-byte frame");

	/* Length prefixes: too small for a header, absurdly large. */
	memset(buf, 0, 8);
	buf[3] = 23;
	assert_int_equal(qgs_frame_status(buf, 8, &fl, &e), -EPROTO);
	assert_string_equal(e.msg, "QGS response: length prefix 23 outside [24, 131096]");
	buf[0] = 0xff;
	assert_int_equal(qgs_frame_status(buf, 8, &fl, &e), -EPROTO);
}

static void test_parse_address(void **state)
{
	struct qgs_addr a;
	struct err e;
	char longp[200];

	assert_int_equal(qgs_parse_address("unix:/run/qgs.sock", &a, &e), 0);
	assert_false(a.vsock);
	assert_string_equal(a.path, "/run/qgs.sock");
	assert_int_equal(qgs_parse_address("vsock:2:4050", &a, &e), 0);
	assert_true(a.vsock);
	assert_int_equal(a.cid, 2);
	assert_int_equal(a.port, 4050);
	assert_int_equal(qgs_parse_address("vsock:2", &a, &e), -EINVAL);
	assert_string_equal(e.msg, "quote-socket 'vsock:2': expected vsock:CID:PORT");
	assert_int_equal(qgs_parse_address("vsock:x:1", &a, &e), -EINVAL);
	assert_int_equal(qgs_parse_address("vsock:1:99999999999", &a, &e), -EINVAL);
	assert_int_equal(qgs_parse_address("unix:", &a, &e), -EINVAL);
	assert_int_equal(qgs_parse_address("tcp:1.2.3.4:5", &a, &e), -EINVAL);
	assert_string_equal(e.msg,
			    "quote-socket 'tcp:1.2.3.4:5': expected unix:PATH or vsock:CID:PORT");
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "unix:", 5);
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(qgs_parse_address(longp, &a, &e), -ENAMETOOLONG);
}

/* ---- fake QGS over a unix socket ------------------------------------------ */

enum fake_mode { FAKE_OK, FAKE_ERRCODE, FAKE_MALFORMED, FAKE_SILENT, FAKE_SLOW_CHUNKS };

struct fake_qgs {
	int lfd;
	enum fake_mode mode;
	int conns;
	u8 last_report[2048];
	u32 last_len;
	pthread_t th;
	char path[108];
};

static ssize_t read_full(int fd, u8 *b, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, b + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static void *fake_main(void *arg)
{
	struct fake_qgs *f = arg;

	for (;;) {
		int c = accept(f->lfd, NULL, NULL);
		u8 hdr[4 + 24], resp[4096], q[300];
		u32 body;
		size_t n;

		if (c < 0)
			return NULL;
		f->conns++;
		if (read_full(c, hdr, sizeof(hdr)) < 0)
			goto next;
		body = (u32)hdr[0] << 24 | (u32)hdr[1] << 16 | (u32)hdr[2] << 8 | hdr[3];
		f->last_len = get_le32(hdr + 4 + 16);
		if (body != 24 + f->last_len || f->last_len > sizeof(f->last_report) ||
		    read_full(c, f->last_report, f->last_len) < 0)
			goto next;
		for (int i = 0; i < 300; i++)
			q[i] = (u8)(f->last_report[i % f->last_len] ^ 0xff);
		switch (f->mode) {
		case FAKE_OK:
			n = make_resp(resp, 1, 1, QGS_GET_QUOTE_RESP, 0, 0, q, 300, 0);
			(void)!write(c, resp, n);
			break;
		case FAKE_SLOW_CHUNKS:
			n = make_resp(resp, 1, 1, QGS_GET_QUOTE_RESP, 0, 0, q, 300, 0);
			for (size_t off = 0; off < n; off += 7) {
				(void)!write(c, resp + off, MIN((size_t)7, n - off));
				usleep(1000);
			}
			break;
		case FAKE_ERRCODE:
			n = make_resp(resp, 1, 1, QGS_GET_QUOTE_RESP, 0x11, 0, q, 0, 0);
			(void)!write(c, resp, n);
			break;
		case FAKE_MALFORMED:
			n = make_resp(resp, 1, 1, QGS_GET_QUOTE_RESP, 0, 0, q, 300, 0);
			(void)!write(c, resp, n - 10);	/* then close: truncated */
			break;
		case FAKE_SILENT:
			usleep(400 * 1000);
			break;
		}
next:
		close(c);
	}
}

static void fake_start(struct fake_qgs *f, enum fake_mode mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	snprintf(f->path, sizeof(f->path), "/tmp/merak-fake-qgs-%d-%d.sock", getpid(), mode);
	unlink(f->path);
	strcpy(sa.sun_path, f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake_qgs *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	close(f->lfd);
	pthread_join(f->th, NULL);
	unlink(f->path);
}

struct result {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	enum qgs_result res;
	u8 quote[512];
	u32 qlen;
	char why[256];
};

static void on_done(void *ctx, enum qgs_result res, const u8 *quote, u32 qlen, const char *why)
{
	struct result *r = ctx;

	pthread_mutex_lock(&r->lock);
	r->res = res;
	r->qlen = qlen;
	if (quote && qlen <= sizeof(r->quote))
		memcpy(r->quote, quote, qlen);
	snprintf(r->why, sizeof(r->why), "%s", why);
	r->done++;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

static void wait_done(struct result *r, int n)
{
	pthread_mutex_lock(&r->lock);
	while (r->done < n)
		pthread_cond_wait(&r->cond, &r->lock);
	pthread_mutex_unlock(&r->lock);
}

static struct result *result_new(void)
{
	struct result *r = calloc(1, sizeof(*r));

	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	return r;
}

/* One request against a fake in the given mode; the result is returned. */
static struct result *one_request(enum fake_mode mode, u32 timeout_ms, bool no_server)
{
	struct fake_qgs f;
	struct qgs_client *c;
	struct qgs_addr a;
	struct result *r = result_new();
	struct err e;
	u8 report[1024];
	char addr[160];

	for (int i = 0; i < 1024; i++)
		report[i] = (u8)i;
	if (no_server) {
		snprintf(addr, sizeof(addr), "unix:/tmp/merak-no-qgs-%d.sock", getpid());
	} else {
		fake_start(&f, mode);
		snprintf(addr, sizeof(addr), "unix:%s", f.path);
	}
	assert_int_equal(qgs_parse_address(addr, &a, &e), 0);
	/* The client thread confines itself as in merak (SANDBOX_ON). */
	assert_int_equal(qgs_client_start(&a, timeout_ms, 1, &c, &e), 0);
	assert_int_equal(qgs_client_submit(c, report, sizeof(report), on_done, r, &e), 0);
	wait_done(r, 1);
	assert_int_equal(qgs_client_inflight(c), 0);
	qgs_client_stop(c);
	if (!no_server) {
		if (mode == FAKE_OK) {
			assert_int_equal(f.last_len, 1024);
			assert_memory_equal(f.last_report, report, 1024);
		}
		fake_stop(&f);
	}
	return r;
}

static void test_client_success(void **state)
{
	struct result *r = one_request(FAKE_OK, 2000, false);

	assert_int_equal(r->res, QGS_OK);
	assert_int_equal(r->qlen, 300);
	assert_int_equal(r->quote[0], 0xff);
	assert_int_equal(r->quote[5], 5 ^ 0xff);
	assert_string_equal(r->why, "");
	free(r);
	r = one_request(FAKE_SLOW_CHUNKS, 5000, false);
	assert_int_equal(r->res, QGS_OK);
	assert_int_equal(r->qlen, 300);
	free(r);
}

static void test_client_error_code(void **state)
{
	struct result *r = one_request(FAKE_ERRCODE, 2000, false);

	assert_int_equal(r->res, QGS_FAILED);
	assert_string_equal(r->why, "QGS response: error code 0x11");
	free(r);
}

static void test_client_malformed(void **state)
{
	struct result *r = one_request(FAKE_MALFORMED, 2000, false);

	assert_int_equal(r->res, QGS_FAILED);
	assert_string_equal(r->why, "QGS closed the connection after 318 response bytes");
	free(r);
}

static void test_client_connect_refused(void **state)
{
	struct result *r = one_request(FAKE_OK, 2000, true);

	assert_int_equal(r->res, QGS_UNAVAILABLE);
	assert_non_null(strstr(r->why, "connect to QGS: "));
	free(r);
}

static void test_client_timeout(void **state)
{
	struct result *r = one_request(FAKE_SILENT, 100, false);

	assert_int_equal(r->res, QGS_FAILED);
	assert_string_equal(r->why, "QGS did not answer within 100 ms");
	free(r);
}

static void test_client_inflight_limit(void **state)
{
	struct fake_qgs f;
	struct qgs_client *c;
	struct qgs_addr a;
	struct result *r = result_new();
	struct err e;
	u8 report[64] = {1};
	char addr[160];

	fake_start(&f, FAKE_SILENT);
	snprintf(addr, sizeof(addr), "unix:%s", f.path);
	assert_int_equal(qgs_parse_address(addr, &a, &e), 0);
	assert_int_equal(qgs_client_start(&a, 200, 0, &c, &e), 0);
	for (int i = 0; i < QGS_MAX_INFLIGHT; i++)
		assert_int_equal(qgs_client_submit(c, report, sizeof(report), on_done, r, &e), 0);
	assert_int_equal(qgs_client_submit(c, report, sizeof(report), on_done, r, &e), -EBUSY);
	assert_string_equal(e.msg, "QGS client: 16 requests already in flight");
	wait_done(r, QGS_MAX_INFLIGHT);
	assert_int_equal(r->done, QGS_MAX_INFLIGHT);
	assert_int_equal(qgs_client_inflight(c), 0);
	qgs_client_stop(c);
	fake_stop(&f);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_request),
		cmocka_unit_test(test_decode_ok),
		cmocka_unit_test(test_decode_hostile),
		cmocka_unit_test(test_parse_address),
		cmocka_unit_test(test_client_success),
		cmocka_unit_test(test_client_error_code),
		cmocka_unit_test(test_client_malformed),
		cmocka_unit_test(test_client_connect_refused),
		cmocka_unit_test(test_client_timeout),
		cmocka_unit_test(test_client_inflight_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
