/* SPDX-License-Identifier: MIT */
#ifndef MERAK_DEVICES_CONSOLE_IO_H
#define MERAK_DEVICES_CONSOLE_IO_H

/*
 * The host side of a character device (8250 UART or virtio-console): output
 * to the terminal, a file or nowhere; input from the terminal (raw mode,
 * restored on close) delivered by a reader thread to one sink. Only one
 * device may own the terminal.
 */
#include "util/err.h"
#include "util/types.h"
#include "vm/config.h"

struct console_io;

typedef void (*console_input_fn)(void *ctx, const u8 *buf, size_t len);

/* what names the file in messages ("serial output file"). */
int console_io_open(const struct chardev_config *cfg, const char *what, struct console_io **out,
		    struct err *e);
/* Writes all of buf (retrying short writes); output errors are counted, not fatal. */
void console_io_write(struct console_io *c, const void *buf, size_t len);
/* Starts delivering input (stdin in tty mode) to fn; no-op for other modes. */
int console_io_start_input(struct console_io *c, console_input_fn fn, void *ctx, struct err *e);
/*
 * On a terminal, Ctrl-C and the other control keys go to the guest; the
 * escape Ctrl-A x calls quit instead (Ctrl-A Ctrl-A sends one Ctrl-A).
 */
#define CONSOLE_ESCAPE_CHAR 0x01
void console_io_set_escape(struct console_io *c, void (*quit)(void *ctx), void *ctx);

/* The seccomp mode (enum sandbox_mode) the input thread applies to itself. */
void console_io_set_sandbox(struct console_io *c, int mode);
/* PTY mode: the far end's path (/dev/pts/N), for the user and vm.info; else NULL. */
const char *console_io_pty_path(const struct console_io *c);
/* Stops the reader, restores the terminal, closes files. */
void console_io_close(struct console_io *c);

#endif
