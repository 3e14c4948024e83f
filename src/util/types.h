/* SPDX-License-Identifier: MIT */
#ifndef MERAK_UTIL_TYPES_H
#define MERAK_UTIL_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#define ARRAY_SIZE(a)	 (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)	 (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define MIN(a, b)	 ((a) < (b) ? (a) : (b))
#define MAX(a, b)	 ((a) > (b) ? (a) : (b))
#define KiB		 (1024ULL)
#define MiB		 (1024ULL * KiB)
#define GiB		 (1024ULL * MiB)
#define PAGE_SIZE	 4096ULL

/* Checked addition for ranges coming from untrusted images and guests. */
static inline bool add_overflows(u64 a, u64 b, u64 *sum)
{
	return __builtin_add_overflow(a, b, sum);
}

/* True when [off, off+len) lies inside [0, size). */
static inline bool range_within(u64 off, u64 len, u64 size)
{
	u64 end;
	return !add_overflows(off, len, &end) && end <= size;
}

static inline u16 get_le16(const void *p)
{
	const u8 *b = p;
	return (u16)(b[0] | b[1] << 8);
}

static inline u32 get_le32(const void *p)
{
	const u8 *b = p;
	return (u32)b[0] | (u32)b[1] << 8 | (u32)b[2] << 16 | (u32)b[3] << 24;
}

static inline u64 get_le64(const void *p)
{
	return (u64)get_le32(p) | (u64)get_le32((const u8 *)p + 4) << 32;
}

static inline void put_le16(void *p, u16 v)
{
	u8 *b = p;
	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
}

static inline void put_le32(void *p, u32 v)
{
	u8 *b = p;
	b[0] = (u8)v;
	b[1] = (u8)(v >> 8);
	b[2] = (u8)(v >> 16);
	b[3] = (u8)(v >> 24);
}

static inline void put_le64(void *p, u64 v)
{
	put_le32(p, (u32)v);
	put_le32((u8 *)p + 4, (u32)(v >> 32));
}

/* How a counter group reports itself (vm.counters, --log-level debug): one call per counter. */
typedef void (*counter_emit_fn)(void *arg, const char *key, u64 value);

#endif
