// SPDX-License-Identifier: MIT
#include "util/unix_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * Two mereks starting on one directory take turns: neither can then find the
 * other's socket bound but not yet listening (which looks stale), nor remove
 * the socket the other has just put where the same stale file was. Only
 * those races need it, so a lock not had within a second is done without.
 */
static int lock_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (int i = 0; i < 200; i++) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK && errno != EINTR)
			break;
		usleep(5000);
	}
	close(fd);
	return -1;
}

/* Connects to the socket at sa: 0 or -EAGAIN when someone accepts there. */
static int probe(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int bind_free_or_stale(int fd, const struct sockaddr_un *sa, const char *what, struct err *e)
{
	const char *path = sa->sun_path;
	struct stat st;
	int r;

	/* bind() makes the file only where there is none. */
	for (int tries = 0; bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0; tries++) {
		if (errno != EADDRINUSE || tries == 3)
			return errf_sys(e, -errno, "%s '%s'", what, path);
		if (lstat(path, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return errf_sys(e, -errno, "%s '%s'", what, path);
		}
		if (!S_ISSOCK(st.st_mode))
			return errf(e, -EEXIST, "%s '%s' exists and is not a socket", what, path);
		r = probe(sa);
		if (r == 0 || r == -EAGAIN)
			return errf(e, -EADDRINUSE, "%s '%s' is in use by another process", what,
				    path);
		if (r == -ENOENT)
			continue;
		if (r != -ECONNREFUSED)
			return errf_sys(e, r,
					"%s '%s': cannot tell whether another process uses it",
					what, path);
		/* Nobody accepts there: a file left by a process that died. */
		if (unlink(path) < 0 && errno != ENOENT)
			return errf_sys(e, -errno, "%s '%s': removing the stale socket", what,
					path);
	}
	return 0;
}

int unix_socket_listen(const char *path, const char *what, int backlog, struct err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, lock, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return errf(e, -ENAMETOOLONG, "%s '%s': path longer than %zu bytes", what, path,
			    sizeof(sa.sun_path) - 1);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errf_sys(e, -errno, "%s '%s': socket", what, path);
	lock = lock_dir(path);
	r = bind_free_or_stale(fd, &sa, what, e);
	if (r == 0 && listen(fd, backlog) < 0) {
		r = errf_sys(e, -errno, "%s '%s': listen", what, path);
		unlink(path);
	}
	if (lock >= 0)
		close(lock);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}
