/* SPDX-License-Identifier: MIT */
#ifndef MERAK_UTIL_LOG_H
#define MERAK_UTIL_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/*
 * The log level and destination are the one process-wide setting outside the
 * VM object: set once from the command line before any thread starts, then
 * only read.
 */
void log_set_level(enum log_level level);
/* Where log lines go (--log-file); stderr until set. Set once, like the level. */
void log_set_fd(int fd);
enum log_level log_get_level(void);
int log_parse_level(const char *s, enum log_level *out);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
