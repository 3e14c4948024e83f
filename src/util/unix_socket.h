/* SPDX-License-Identifier: MIT */
#ifndef MERAK_UTIL_UNIX_SOCKET_H
#define MERAK_UTIL_UNIX_SOCKET_H

/*
 * A listening unix stream socket at a path (the API socket, the vsock
 * device's host side). A socket file nobody accepts on, left behind by a
 * process that died, is replaced; a socket another process serves, or a path
 * that is not a socket, is refused, so a second merak never takes over a
 * live path.
 */
#include "util/err.h"

/*
 * Returns a non-blocking, close-on-exec listening fd, or a negative errno
 * with one line in e naming `what` ("API socket", "vsock socket path") and why.
 */
int unix_socket_listen(const char *path, const char *what, int backlog, struct err *e);

#endif
