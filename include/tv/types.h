/* Fixed-width types and small helpers for freestanding and host builds. */
#ifndef TV_TYPES_H
#define TV_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;

#define KiB(x) ((u64)(x) << 10)
#define MiB(x) ((u64)(x) << 20)
#define GiB(x) ((u64)(x) << 30)

#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a) - 1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (a) - 1, (a))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Do [a, a+alen) and [b, b+blen) overlap? */
static inline bool ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
	return a < b + blen && b < a + alen;
}

/* Error codes, returned negated. */
#define EINVAL 22
#define ENOMEM 12
#define ERANGE 34
#define ENOENT 2
#define ENOEXEC 8
#define EEXIST 17
#define EFAULT 14
#define EACCES 13
#define EIO 5
#define EBUSY 16

#endif
