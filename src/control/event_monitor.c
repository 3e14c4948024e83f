// SPDX-License-Identifier: MIT
/* Lifecycle events in Cloud Hypervisor's --event-monitor format (event_monitor.h). */
#include "control/event_monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/file.h"
#include "util/log.h"

#define EVENT_MAX 2048

struct event_monitor {
	pthread_mutex_t lock;
	int fd;		/* -1 once the reader went away */
	u64 start_ns;
	u64 dropped;	/* events a lagging reader missed: said once, counted */
};

/* A JSON string literal (quoted, escaped) appended at out + *len. */
static int put_string(char *out, size_t cap, size_t *len, const char *s)
{
	json_object *o = json_object_new_string(s);
	const char *t = json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE);
	int n = snprintf(out + *len, cap - *len, "%s", t);

	json_object_put(o);
	if (n < 0 || (size_t)n >= cap - *len)
		return -1;
	*len += (size_t)n;
	return 0;
}

static int put(char *out, size_t cap, size_t *len, const char *s)
{
	int n = snprintf(out + *len, cap - *len, "%s", s);

	if (n < 0 || (size_t)n >= cap - *len)
		return -1;
	*len += (size_t)n;
	return 0;
}

int event_monitor_format(char *out, size_t cap, unsigned long long ns, const char *source,
			 const char *event, const char *key1, const char *value1, const char *key2,
			 const char *value2)
{
	const char *keys[2] = {key1, key2}, *values[2] = {value1, value2};
	size_t len = 0;
	int n, r = 0;

	/* serde's pretty printer: two-space indent, a Duration as secs and nanos. */
	n = snprintf(out, cap, "{\n  \"timestamp\": {\n    \"secs\": %llu,\n    \"nanos\": %llu\n  },\n"
			       "  \"source\": ",
		     ns / 1000000000ULL, ns % 1000000000ULL);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	len = (size_t)n;
	r |= put_string(out, cap, &len, source);
	r |= put(out, cap, &len, ",\n  \"event\": ");
	r |= put_string(out, cap, &len, event);
	if (!key1) {
		r |= put(out, cap, &len, ",\n  \"properties\": null\n}\n\n");
		return r ? -1 : (int)len;
	}
	r |= put(out, cap, &len, ",\n  \"properties\": {");
	for (int i = 0; i < 2 && keys[i]; i++) {
		r |= put(out, cap, &len, i ? ",\n    " : "\n    ");
		r |= put_string(out, cap, &len, keys[i]);
		r |= put(out, cap, &len, ": ");
		r |= put_string(out, cap, &len, values[i] ? values[i] : "");
	}
	r |= put(out, cap, &len, "\n  }\n}\n\n");
	return r ? -1 : (int)len;
}

int event_monitor_open(const char *spec, struct event_monitor **out, struct err *e)
{
	struct event_monitor *m;
	int fd = -1, r;

	if (!strncmp(spec, "fd=", 3)) {
		u64 n;

		if (parse_u64(spec + 3, &n) < 0 || n < 3 || n > 65535 ||
		    fcntl((int)n, F_GETFL) < 0 || !(fcntl((int)n, F_GETFL) & (O_WRONLY | O_RDWR)))
			return errf(e, -EINVAL,
				    "--event-monitor: fd='%s' is not an open file descriptor for "
				    "writing (3 or more)",
				    spec + 3);
		fd = (int)n;
		fcntl(fd, F_SETFD, FD_CLOEXEC);
		/* A pipe's reader must not hold up the thread that emits. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	} else {
		const char *path = !strncmp(spec, "path=", 5) ? spec + 5 : spec;

		if (!*path)
			return errf(e, -EINVAL, "--event-monitor: empty path");
		r = file_open_output(path, "event monitor", &fd, e);
		if (r < 0)
			return r;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		return errf(e, -ENOMEM, "out of memory");
	}
	pthread_mutex_init(&m->lock, NULL);
	m->fd = fd;
	m->start_ns = monotonic_ns();
	*out = m;
	return 0;
}

void event_monitor_emit(struct event_monitor *m, const char *source, const char *event,
			const char *key1, const char *value1, const char *key2, const char *value2)
{
	char buf[EVENT_MAX];
	int n;

	if (!m)
		return;
	n = event_monitor_format(buf, sizeof(buf), monotonic_ns() - m->start_ns, source, event,
				 key1, value1, key2, value2);
	if (n < 0)
		return;
	pthread_mutex_lock(&m->lock);
	for (size_t off = 0; m->fd >= 0 && off < (size_t)n;) {
		ssize_t w = write(m->fd, buf + off, (size_t)n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN && off == 0) {
			/* A pipe whose reader lags: this event is lost, not merak's time. */
			if (!m->dropped++)
				log_warn("event monitor: the reader is not keeping up; events are "
					 "dropped");
			break;
		}
		if (w <= 0) {
			/*
			 * The reader is gone (or the disk full), or it lagged in the
			 * middle of an event (a socket), which would leave it half
			 * written: events stop, merak goes on.
			 */
			log_warn("event monitor: %s: no more events are written",
				 w < 0 ? strerror(errno) : "short write");
			close(m->fd);
			m->fd = -1;
			break;
		}
		off += (size_t)w;
	}
	pthread_mutex_unlock(&m->lock);
}

void event_monitor_close(struct event_monitor *m)
{
	if (!m)
		return;
	if (m->dropped)
		log_warn("event monitor: %llu event(s) dropped in all",
			 (unsigned long long)m->dropped);
	if (m->fd >= 0)
		close(m->fd);
	pthread_mutex_destroy(&m->lock);
	free(m);
}
