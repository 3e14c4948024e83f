// SPDX-License-Identifier: MIT
#include "tdx/sha384.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <openssl/evp.h>

/*
 * The resolved entry points. Process-wide like the dynamic linker's own
 * tables: written once under pthread_once, read-only afterwards.
 */
static struct {
	__typeof__(&EVP_MD_CTX_new) ctx_new;
	__typeof__(&EVP_MD_CTX_free) ctx_free;
	__typeof__(&EVP_DigestInit_ex) init;
	__typeof__(&EVP_DigestUpdate) update;
	__typeof__(&EVP_DigestFinal_ex) final;
	__typeof__(&EVP_sha384) sha384;
	char why[200];
} lib;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_open(void)
{
	void *h = dlopen(MERAK_LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL);
	const char *missing = NULL;

	if (!h) {
		snprintf(lib.why, sizeof(lib.why), "%s", dlerror());
		return;
	}
#define RESOLVE(field, name)                                                                       \
	do {                                                                                       \
		*(void **)&lib.field = dlsym(h, name);                                             \
		if (!lib.field && !missing)                                                        \
			missing = name;                                                            \
	} while (0)
	RESOLVE(ctx_new, "EVP_MD_CTX_new");
	RESOLVE(ctx_free, "EVP_MD_CTX_free");
	RESOLVE(init, "EVP_DigestInit_ex");
	RESOLVE(update, "EVP_DigestUpdate");
	RESOLVE(final, "EVP_DigestFinal_ex");
	RESOLVE(sha384, "EVP_sha384");
#undef RESOLVE
	if (missing) {
		snprintf(lib.why, sizeof(lib.why), "%s lacks %s", MERAK_LIBCRYPTO_SONAME, missing);
		lib.sha384 = NULL;
	}
}

int sha384_load(struct err *e)
{
	pthread_once(&lib_once, lib_open);
	if (!lib.sha384)
		return errf(e, -ENOENT, "SHA-384 needs OpenSSL's libcrypto: %s", lib.why);
	return 0;
}

int sha384_begin(struct sha384 *h, struct err *e)
{
	int r = sha384_load(e);

	h->md = NULL;
	h->failed = false;
	if (r < 0)
		return r;
	h->md = lib.ctx_new();
	if (!h->md)
		return errf(e, -ENOMEM, "SHA-384: cannot allocate a digest context");
	if (lib.init(h->md, lib.sha384(), NULL) != 1) {
		sha384_abort(h);
		return errf(e, -EIO, "SHA-384 is unavailable in libcrypto");
	}
	return 0;
}

void sha384_update(struct sha384 *h, const void *data, size_t len)
{
	if (h->md && len && lib.update(h->md, data, len) != 1)
		h->failed = true;
}

int sha384_end(struct sha384 *h, u8 out[SHA384_SIZE], struct err *e)
{
	unsigned len = 0;
	int ok = h->md && !h->failed && lib.final(h->md, out, &len) == 1 && len == SHA384_SIZE;

	sha384_abort(h);
	return ok ? 0 : errf(e, -EIO, "SHA-384 failed in libcrypto");
}

void sha384_abort(struct sha384 *h)
{
	if (h->md)
		lib.ctx_free(h->md);
	h->md = NULL;
}
