/* SPDX-License-Identifier: MIT */
#ifndef MERAK_TDX_SHA384_H
#define MERAK_TDX_SHA384_H
/*
 * SHA-384 from libcrypto, loaded on first use: only measurement needs it,
 * and loading and relocating OpenSSL costs every start 0.6 ms (bench/floor).
 */
#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"
#include "util/types.h"

#define SHA384_SIZE 48

struct sha384 {
	void *md;	/* EVP_MD_CTX */
	bool failed;	/* an update failed: sha384_end reports it */
};

/* Loads libcrypto if it is not yet; an error names the library and why. */
int sha384_load(struct err *e);
int sha384_begin(struct sha384 *h, struct err *e);
void sha384_update(struct sha384 *h, const void *data, size_t len);
/* Writes the digest and frees the context; fails if any update did. */
int sha384_end(struct sha384 *h, u8 out[SHA384_SIZE], struct err *e);
void sha384_abort(struct sha384 *h);

#endif
