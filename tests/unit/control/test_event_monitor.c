// SPDX-License-Identifier: MIT
/* --event-monitor: Cloud Hypervisor's event format, and readers that misbehave. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "control/event_monitor.h"

static void test_format(void **state)
{
	char buf[1024];
	int n;

	(void)state;
	n = event_monitor_format(buf, sizeof(buf), 1500000123ULL, "vmm", "starting", NULL, NULL,
				 NULL, NULL);
	assert_true(n > 0);
	assert_string_equal(buf, "{\n  \"timestamp\": {\n    \"secs\": 1,\n    \"nanos\": 500000123\n"
				 "  },\n  \"source\": \"vmm\",\n  \"event\": \"starting\",\n"
				 "  \"properties\": null\n}\n\n");
	/* Properties, with a value that needs escaping: still one JSON object. */
	n = event_monitor_format(buf, sizeof(buf), 7, "vm", "device-removed", "id", "a\"b/c",
				 "bdf", "0000:00:04.0");
	assert_true(n > 0);
	{
		json_object *o = json_tokener_parse(buf), *p, *v;

		assert_non_null(o);
		assert_true(json_object_object_get_ex(o, "properties", &p));
		assert_true(json_object_object_get_ex(p, "id", &v));
		assert_string_equal(json_object_get_string(v), "a\"b/c");
		assert_true(json_object_object_get_ex(p, "bdf", &v));
		assert_string_equal(json_object_get_string(v), "0000:00:04.0");
		json_object_put(o);
	}
	assert_int_equal(event_monitor_format(buf, 40, 7, "vm", "booted", NULL, NULL, NULL, NULL),
			 -1);
}

static void test_open_refusals(void **state)
{
	struct event_monitor *m;
	struct err e;
	int p[2];

	(void)state;
	assert_true(event_monitor_open("fd=1000", &m, &e) < 0);
	assert_non_null(strstr(e.msg, "fd='1000'"));
	assert_true(event_monitor_open("fd=2", &m, &e) < 0);
	assert_true(event_monitor_open("path=", &m, &e) < 0);
	assert_true(event_monitor_open("path=/nonexistent-dir/x", &m, &e) < 0);
	/* A read-only fd cannot take events. */
	assert_int_equal(pipe(p), 0);
	{
		char spec[32];

		snprintf(spec, sizeof(spec), "fd=%d", p[0]);
		assert_true(event_monitor_open(spec, &m, &e) < 0);
	}
	close(p[0]);
	close(p[1]);
}

/* A reader that goes away ends the events, not the emitter (SIGPIPE ignored as merak does). */
static void test_reader_gone(void **state)
{
	struct event_monitor *m;
	char spec[32], buf[4096];
	struct err e;
	int p[2];

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	snprintf(spec, sizeof(spec), "fd=%d", p[1]);
	assert_int_equal(event_monitor_open(spec, &m, &e), 0);
	event_monitor_emit(m, "vm", "booting", NULL, NULL, NULL, NULL);
	assert_true(read(p[0], buf, sizeof(buf)) > 0);
	close(p[0]);
	event_monitor_emit(m, "vm", "booted", NULL, NULL, NULL, NULL);
	event_monitor_emit(m, "vm", "shutdown", NULL, NULL, NULL, NULL);
	event_monitor_close(m);
	/* A full pipe drops events instead of blocking. */
	assert_int_equal(pipe(p), 0);
	snprintf(spec, sizeof(spec), "fd=%d", p[1]);
	assert_int_equal(event_monitor_open(spec, &m, &e), 0);
	for (int i = 0; i < 2000; i++)
		event_monitor_emit(m, "vm", "paused", "id", "x", NULL, NULL);
	event_monitor_close(m);
	close(p[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_open_refusals),
		cmocka_unit_test(test_reader_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
