// SPDX-License-Identifier: MIT
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "util/file.h"
#include "vm/bus.h"
#include "vm/mem.h"

static void test_mem_add_and_lookup(void **state)
{
	struct guest_mem gm;
	struct err e;
	u8 *p;

	guest_mem_init(&gm);
	assert_int_equal(guest_mem_add_anon(&gm, 0, 2 * MiB, MEM_RAM, &e), 0);
	assert_int_equal(guest_mem_add_anon(&gm, 4 * GiB, 1 * MiB, MEM_RAM, &e), 0);
	assert_int_equal(guest_mem_add_anon(&gm, 1 * MiB, 2 * MiB, MEM_RAM, &e), -EEXIST);
	assert_non_null(strstr(e.msg, "overlaps"));
	assert_int_equal(guest_mem_add_anon(&gm, 123, 4096, MEM_RAM, &e), -EINVAL);

	p = guest_mem_ptr(&gm, 0x1000, 16);
	assert_non_null(p);
	assert_ptr_equal(guest_mem_ptr(&gm, 2 * MiB - 8, 8), p - 0x1000 + 2 * MiB - 8);
	/* Ranges that cross a region end, or lie in a hole, are refused. */
	assert_null(guest_mem_ptr(&gm, 2 * MiB - 8, 9));
	assert_null(guest_mem_ptr(&gm, 3 * MiB, 1));
	assert_null(guest_mem_ptr(&gm, UINT64_MAX - 2, 8));
	assert_int_equal(guest_mem_write(&gm, 3 * GiB, "x", 1, &e), -EFAULT);
	assert_int_equal(guest_mem_write(&gm, 4 * GiB + 10, "abc", 3, &e), 0);
	char buf[3];
	assert_int_equal(guest_mem_read(&gm, 4 * GiB + 10, buf, 3, &e), 0);
	assert_memory_equal(buf, "abc", 3);
	assert_int_equal(guest_mem_ram_size(&gm), 3 * MiB);
	guest_mem_free(&gm);
}

struct counter {
	u64 last_off;
	u32 writes;
};

static void ctr_read(void *opaque, u64 off, void *data, u32 len)
{
	memset(data, (int)off, len);
}

static void ctr_write(void *opaque, u64 off, const void *data, u32 len)
{
	struct counter *c = opaque;
	c->last_off = off;
	c->writes++;
}

static const struct bus_ops ctr_ops = {ctr_read, ctr_write};

/* A TD's shared alias (bit 47) names the same RAM; ordinary VMs have no alias. */
static void test_mem_shared_alias(void **state)
{
	struct guest_mem gm;
	struct err e = {0};
	const u64 shared = 1ULL << 47;
	u8 *p;

	(void)state;
	guest_mem_init(&gm);
	assert_int_equal(guest_mem_add_anon(&gm, 0, 2 * MiB, MEM_RAM, &e), 0);
	p = guest_mem_ptr(&gm, 0x1000, 16);
	assert_non_null(p);
	assert_null(guest_mem_ptr(&gm, shared | 0x1000, 16));
	gm.alias_mask = shared;
	assert_ptr_equal(guest_mem_ptr(&gm, shared | 0x1000, 16), p);
	assert_ptr_equal(guest_mem_find(&gm, shared | 0x1000), &gm.r[0]);
	/* The alias does not stretch a range past the end of RAM. */
	assert_null(guest_mem_ptr(&gm, shared | (2 * MiB - 8), 16));
	assert_null(guest_mem_ptr(&gm, shared | (4 * MiB), 1));
	guest_mem_free(&gm);
}

static void test_bus_dispatch(void **state)
{
	struct bus bus;
	struct counter a = {0}, b = {0};
	struct err e;
	u8 v[4];

	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &ctr_ops, &a, "uart", &e), 0);
	assert_int_equal(bus_register(&bus, 0x60, 1, &ctr_ops, &b, "kbd", &e), 0);
	assert_int_equal(bus_register(&bus, 0x3fc, 8, &ctr_ops, &b, "dup", &e), -EEXIST);
	assert_non_null(strstr(e.msg, "overlaps uart"));
	assert_int_equal(bus_register(&bus, 0x3f0, 9, &ctr_ops, &b, "dup2", &e), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x10, 0, &ctr_ops, &b, "empty", &e), -EINVAL);

	assert_true(bus_write(&bus, 0x3fd, v, 1));
	assert_int_equal(a.last_off, 5);
	assert_true(bus_read(&bus, 0x3fa, v, 2));
	assert_int_equal(v[0], 2);
	/* An access running off the end of a range is not claimed. */
	assert_false(bus_read(&bus, 0x3fe, v, 4));
	assert_int_equal(v[0], 0xff);
	assert_false(bus_write(&bus, 0x61, v, 1));
	assert_int_equal(bus_unregister(&bus, 0x60, &b), 0);
	assert_int_equal(bus_unregister(&bus, 0x60, &b), -ENOENT);
	assert_false(bus_write(&bus, 0x60, v, 1));
	assert_int_equal(b.writes, 0);
	bus_destroy(&bus);
}

struct seen {
	char keys[8][32];
	u64 vals[8];
	unsigned n;
};

static void seen_emit(void *arg, const char *key, u64 value)
{
	struct seen *s = arg;

	assert_true(s->n < 8);
	snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
	s->vals[s->n++] = value;
}

static u64 seen_get(const struct seen *s, const char *key)
{
	for (unsigned i = 0; i < s->n; i++)
		if (!strcmp(s->keys[i], key))
			return s->vals[i];
	return ~0ULL;
}

/* Exits by device: counts follow the device name, across moves, and strays are counted. */
static void test_bus_counters(void **state)
{
	struct bus bus;
	struct counter a = {0}, b = {0};
	struct seen s = {0};
	struct err e;
	u8 v[4] = {0};

	bus_init(&bus, "pio");
	assert_int_equal(bus_register(&bus, 0x3f8, 8, &ctr_ops, &a, "uart", &e), 0);
	assert_int_equal(bus_register(&bus, 0x2f8, 8, &ctr_ops, &a, "uart", &e), 0);
	assert_int_equal(bus_register(&bus, 0x60, 1, &ctr_ops, &b, "kbd", &e), 0);
	bus_collect_counters(&bus, seen_emit, &s);
	assert_int_equal(s.n, 0); /* nothing accessed yet */
	bus_write(&bus, 0x3f8, v, 1);
	bus_read(&bus, 0x2f9, v, 1);
	bus_read(&bus, 0x3f8, v, 1);
	/* The keyboard moves: its count goes with it. */
	bus_read(&bus, 0x60, v, 1);
	assert_int_equal(bus_unregister(&bus, 0x60, &b), 0);
	assert_int_equal(bus_register(&bus, 0x64, 1, &ctr_ops, &b, "kbd", &e), 0);
	bus_write(&bus, 0x64, v, 1);
	bus_read(&bus, 0x6, v, 4);
	bus_write(&bus, 0x7, v, 1);
	bus_collect_counters(&bus, seen_emit, &s);
	assert_int_equal(s.n, 5);
	assert_int_equal(seen_get(&s, "uart"), 3);
	assert_int_equal(seen_get(&s, "kbd"), 2);
	assert_true(seen_get(&s, "uart_ns") != ~0ULL);
	assert_int_equal(seen_get(&s, "unclaimed"), 2);
	bus_destroy(&bus);
}

static void test_parse_size(void **state)
{
	u64 v;
	assert_int_equal(parse_size("256M", &v), 0);
	assert_int_equal(v, 256 * MiB);
	assert_int_equal(parse_size("1G", &v), 0);
	assert_int_equal(v, GiB);
	assert_int_equal(parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2 * GiB);
	assert_int_equal(parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_not_equal(parse_size("", &v), 0);
	assert_int_not_equal(parse_size("12Q", &v), 0);
	assert_int_not_equal(parse_size("-1M", &v), 0);
	assert_int_equal(parse_size("99999999999T", &v), -ERANGE);

	/* Integers: decimal, or hex with 0x; a leading zero is not octal. */
	assert_int_equal(parse_u64("010", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(parse_u64("0x10", &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_not_equal(parse_u64("0x", &v), 0);
	assert_int_not_equal(parse_u64("0x-1", &v), 0);
	assert_int_not_equal(parse_u64("08x", &v), 0);
	assert_int_not_equal(parse_u64("", &v), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mem_add_and_lookup),
		cmocka_unit_test(test_mem_shared_alias),
		cmocka_unit_test(test_bus_dispatch),
		cmocka_unit_test(test_bus_counters),
		cmocka_unit_test(test_parse_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
