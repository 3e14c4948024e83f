/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_QGS_H
#define MERAK_TDX_QGS_H

/*
 * Intel Quote Generation Service client. The wire format (pure, below): a
 * 4-byte big-endian length prefix, then a QGS 1.1 message (16-byte header:
 * major, minor, type, size, error_code; GET_QUOTE_REQ adds report_size and
 * id_list_size, GET_QUOTE_RESP selected_id_size and quote_size). The client
 * opens one connection per request, over a unix socket or vsock, and runs all
 * requests on one worker thread with poll(), so no vCPU ever waits for QGS.
 */
#include "util/err.h"
#include "util/types.h"

#define QGS_PREFIX_SIZE	    4
#define QGS_HDR_SIZE	    16
#define QGS_REQ_SIZE	    24
#define QGS_RESP_SIZE	    24
#define QGS_MAJOR	    1
#define QGS_MINOR	    1
#define QGS_GET_QUOTE_REQ   0
#define QGS_GET_QUOTE_RESP  1
#define QGS_MAX_REPORT	    (128 * 1024)
#define QGS_MAX_FRAME	    (QGS_PREFIX_SIZE + QGS_RESP_SIZE + 128 * 1024)
#define QGS_DEFAULT_TIMEOUT_MS 30000
#define QGS_MAX_INFLIGHT    16

/* Bytes of the framed request for a report of report_len bytes. */
size_t qgs_request_size(u32 report_len);
/* Frames a GET_QUOTE_REQ into out (qgs_request_size bytes). */
int qgs_encode_request(const u8 *report, u32 report_len, u8 *out, size_t out_cap,
		       struct err *e);
/*
 * How much of a response has arrived: 1 with *frame_len once the whole frame
 * is in buf, 0 when more bytes are needed, negative when the prefix is bad.
 */
int qgs_frame_status(const u8 *buf, size_t len, size_t *frame_len, struct err *e);
/* Validates a whole framed GET_QUOTE_RESP; *quote points into buf. */
int qgs_decode_response(const u8 *buf, size_t len, const u8 **quote, u32 *quote_len,
			struct err *e);

struct qgs_addr {
	bool vsock;
	char path[108];		/* unix */
	u32 cid, port;		/* vsock */
};

/* "unix:PATH" or "vsock:CID:PORT". */
int qgs_parse_address(const char *s, struct qgs_addr *out, struct err *e);

enum qgs_result {
	QGS_OK,
	QGS_UNAVAILABLE,	/* could not connect */
	QGS_FAILED,		/* error code, malformed response, I/O error, timeout */
};

/*
 * Completion, on the client's thread. quote is valid only during the call;
 * why names the failure (empty on success).
 */
typedef void (*qgs_done_fn)(void *ctx, enum qgs_result res, const u8 *quote, u32 quote_len,
			    const char *why);

struct qgs_client;

/*
 * Starts the client's thread, which installs its seccomp filter (sandbox_mode,
 * enum sandbox_mode) before it talks to the service; fails if it cannot.
 */
int qgs_client_start(const struct qgs_addr *addr, u32 timeout_ms, int sandbox_mode,
		     struct qgs_client **out, struct err *e);
/*
 * Queues a request (the report is copied). -EBUSY when QGS_MAX_INFLIGHT are
 * already under way; done is then not called.
 */
int qgs_client_submit(struct qgs_client *c, const u8 *report, u32 report_len, qgs_done_fn done,
		      void *ctx, struct err *e);
unsigned qgs_client_inflight(struct qgs_client *c);
/* Stops the thread; requests still under way are dropped without their callback. */
void qgs_client_stop(struct qgs_client *c);

#endif
