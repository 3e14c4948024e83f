/* SPDX-License-Identifier: MIT */
#ifndef MERAK_UTIL_FILE_H
#define MERAK_UTIL_FILE_H

#include "util/err.h"
#include "util/types.h"

struct file_buf {
	u8 *data;
	size_t len;
};

/*
 * Reads a whole regular file of at most max_len bytes. `what` names the file's
 * role in error messages ("kernel", "firmware", ...).
 */
int file_read_all(const char *path, size_t max_len, const char *what, struct file_buf *out,
		  struct err *e);
void file_buf_free(struct file_buf *b);
/*
 * What file_read_all does before reading: opens a regular file of at most
 * max_len bytes for reading (a FIFO is refused without waiting for a writer)
 * and gives its size. The caller closes *fd.
 */
int file_open_input(const char *path, size_t max_len, const char *what, int *fd, size_t *size,
		    struct err *e);
/* Reads exactly len bytes from fd into dst; a file that ends early is an error. */
int file_read_exact(int fd, void *dst, size_t len, const char *what, const char *path,
		    struct err *e);
/*
 * Reads exactly len bytes at offset off (pread: the file position stays);
 * the messages give the offset, the caller names the file.
 */
int file_pread_exact(int fd, u64 off, void *dst, size_t len, struct err *e);
/*
 * Opens an output file (serial, console, log): created if missing, appended
 * to; a FIFO, socket or directory is refused (a FIFO would block the open),
 * a character device such as /dev/null is fine. what names it in messages.
 */
int file_open_output(const char *path, const char *what, int *fd, struct err *e);
/* "a FIFO", "a directory", ... for a stat mode, in messages that refuse a path. */
const char *file_type_name(unsigned mode);

/* Parses "256M", "1G", "4096", "2K" into bytes; rejects overflow and junk. */
int parse_size(const char *s, u64 *out);
/* Parses a decimal or 0x-prefixed unsigned integer, whole string. */
int parse_u64(const char *s, u64 *out);

#endif
