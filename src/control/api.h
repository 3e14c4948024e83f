/* SPDX-License-Identifier: MIT */
#ifndef MERAK_CONTROL_API_H
#define MERAK_CONTROL_API_H

/*
 * The control socket: HTTP/1.1 over a unix socket with JSON bodies, following
 * Cloud Hypervisor's REST API (docs/api.md lists the calls and what merak
 * does with each); lifecycle calls go to the VMM (vmm.h). One thread
 * serves every connection from an epoll loop; each request has a deadline so
 * a slow client cannot hold it.
 */
#include "util/err.h"

struct vmm;
struct api_server;

/*
 * Serves the API on a unix socket made at path, or (path NULL) on listen_fd,
 * a listening unix stream socket the caller inherited (--api-socket fd=N),
 * which is then merak's to close; only a socket merak made is unlinked.
 */
int api_server_start(struct vmm *vmm, const char *path, int listen_fd, struct api_server **out,
		     struct err *e);
void api_server_stop(struct api_server *s);
/*
 * Checks that an inherited fd is a listening unix stream socket (and makes it
 * non-blocking, close-on-exec); returns fd. Call it before merak opens fds of
 * its own, so that a number that was not inherited cannot name one of them.
 */
int api_listen_fd_check(int fd, struct err *e);

/* Request deadline: a request must arrive whole within this time. */
#define API_REQUEST_TIMEOUT_MS 5000
/* An idle keep-alive connection is closed after this, so idle clients cannot hold every slot. */
#define API_IDLE_TIMEOUT_MS 10000
#define API_MAX_CONNECTIONS    16
/* File descriptors one request may carry (SCM_RIGHTS): vm.add-net's taps. */
#define API_MAX_FDS 8

#endif
