/* SPDX-License-Identifier: MIT */
#ifndef MERAK_UTIL_ERR_H
#define MERAK_UTIL_ERR_H

/*
 * Library code never prints or exits on failure: it returns a negative errno
 * and fills a struct err with one line naming what failed and why. The CLI is
 * the one place that prints it.
 */
struct err {
	int code;
	char msg[512];
};

/* Sets e (if not NULL) to code and the formatted message; returns code. */
int errf(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Like errf, with ": strerror(-code)" appended. */
int errf_sys(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message with context ("ctx: old message"); returns e->code. */
int err_ctx(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static inline void err_clear(struct err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

#endif
