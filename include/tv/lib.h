/*
 * The few C library functions thinvisor uses.  The hypervisor provides
 * them (core/string.c); host unit tests take them from the C library,
 * whose declarations are identical.
 */
#ifndef TV_LIB_H
#define TV_LIB_H

#include <stdarg.h>
#include "tv/types.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Our own formatter: %s %.*s %c %d %u %x %lx %llx %zu %p, width, '0' flag. */
int tv_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int tv_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copy at most size-1 bytes and terminate; returns the source length. */
size_t tv_strlcpy(char *dst, const char *src, size_t size);

/* Wipe memory so the compiler cannot drop the stores (keys, secrets). */
void tv_memzero_explicit(void *p, size_t n);

#endif
