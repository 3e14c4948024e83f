// SPDX-License-Identifier: MIT
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *file_type_name(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	}
	return "an unknown kind of file";
}

/*
 * An output file: created if missing, appended to otherwise. A FIFO, socket
 * or directory is refused (a FIFO would block the open until a reader came);
 * a character device such as /dev/null is fine.
 */
int file_open_output(const char *path, const char *what, int *out, struct err *e)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
	if (fd < 0) {
		r = -errno;
		/* Without a reader, opening a FIFO with O_NONBLOCK fails with ENXIO. */
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
			return errf(e, -EINVAL, "%s '%s' is %s, not a regular file", what, path,
				    file_type_name(st.st_mode));
		return errf_sys(e, r, "%s '%s'", what, path);
	}
	if (fstat(fd, &st) < 0 || (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))) {
		r = errf(e, -EINVAL, "%s '%s' is %s, not a regular file", what, path,
			 file_type_name(st.st_mode));
		close(fd);
		return r;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	*out = fd;
	return 0;
}

int file_open_input(const char *path, size_t max_len, const char *what, int *fd_out,
		    size_t *size_out, struct err *e)
{
	struct stat st;
	int fd, ret;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer before it is refused. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return errf_sys(e, -errno, "%s '%s': cannot open", what, path);
	if (fstat(fd, &st) < 0) {
		ret = errf_sys(e, -errno, "%s '%s': cannot stat", what, path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = errf(e, -EINVAL, "%s '%s': not a regular file (%s)", what, path,
			   file_type_name(st.st_mode));
		goto fail;
	}
	if ((u64)st.st_size > max_len) {
		ret = errf(e, -EFBIG, "%s '%s': %lld bytes, larger than the %zu-byte limit", what,
			   path, (long long)st.st_size, max_len);
		goto fail;
	}
	*fd_out = fd;
	*size_out = (size_t)st.st_size;
	return 0;
fail:
	close(fd);
	return ret;
}

/* Reads from the file position when off < 0, else at off; names the file when path is set. */
static int read_exact_at(int fd, off_t off, void *dst, size_t len, const char *what,
			 const char *path, struct err *e)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = off < 0 ? read(fd, (u8 *)dst + done, len - done)
				    : pread(fd, (u8 *)dst + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && path)
			return errf_sys(e, -errno, "%s '%s': read failed", what, path);
		if (n < 0)
			return errf_sys(e, -errno, "read at offset 0x%llx failed",
					(unsigned long long)off + done);
		if (n == 0 && path)
			return errf(e, -EIO, "%s '%s': file shrank while reading", what, path);
		if (n == 0)
			return errf(e, -EIO, "file shrank while reading (offset 0x%llx)",
				    (unsigned long long)off + done);
		done += (size_t)n;
	}
	return 0;
}

int file_read_exact(int fd, void *dst, size_t len, const char *what, const char *path,
		    struct err *e)
{
	return read_exact_at(fd, -1, dst, len, what, path, e);
}

int file_pread_exact(int fd, u64 off, void *dst, size_t len, struct err *e)
{
	if (off > (u64)INT64_MAX - len)
		return errf(e, -EINVAL, "offset 0x%llx out of range", (unsigned long long)off);
	return read_exact_at(fd, (off_t)off, dst, len, NULL, NULL, e);
}

int file_read_all(const char *path, size_t max_len, const char *what, struct file_buf *out,
		  struct err *e)
{
	size_t size;
	int fd, ret;

	out->data = NULL;
	out->len = 0;
	ret = file_open_input(path, max_len, what, &fd, &size, e);
	if (ret < 0)
		return ret;
	out->data = malloc(size ? size : 1);
	if (!out->data) {
		ret = errf(e, -ENOMEM, "%s '%s': out of memory", what, path);
		goto out;
	}
	ret = file_read_exact(fd, out->data, size, what, path, e);
	if (ret < 0) {
		free(out->data);
		out->data = NULL;
		goto out;
	}
	out->len = size;
out:
	close(fd);
	return ret;
}

void file_buf_free(struct file_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

int parse_u64(const char *s, u64 *out)
{
	char *end;
	unsigned long long v;
	int base = 10;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	/* Decimal unless 0x-prefixed: a leading zero is not octal ("010" is ten). */
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
		if (!*s || *s == '-' || *s == '+' || *s == ' ')
			return -EINVAL;
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, u64 *out)
{
	char *end;
	unsigned long long v;
	u64 mult = 1;

	if (!s || !*s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	case 't':
	case 'T':
		mult = 1ULL << 40;
		end++;
		break;
	default:
		return -EINVAL;
	}
	if (*end == 'i' && mult > 1)
		end++;
	if (*end == 'B' && mult > 1)
		end++;
	if (*end)
		return -EINVAL;
	if (__builtin_mul_overflow((u64)v, mult, out))
		return -ERANGE;
	return 0;
}
