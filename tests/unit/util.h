/*
 * Shared helpers for the host unit tests.  Include this first: it sets the
 * feature macros and pulls in cmocka with the headers it needs.
 */
#ifndef TV_TEST_UTIL_H
#define TV_TEST_UTIL_H

#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tv/types.h"
#include "tv/physmem.h"

/* Unbuffered stdout so cmocka's stdout and stderr lines stay in order. */
#define RUN_TESTS(tests)                                        \
	(setvbuf(stdout, NULL, _IONBF, 0), cmocka_run_group_tests(tests, NULL, NULL))

/* Little-endian stores and loads into byte buffers. */
static inline void put16(void *p, u16 v) { memcpy(p, &v, 2); }
static inline void put32(void *p, u32 v) { memcpy(p, &v, 4); }
static inline void put64(void *p, u64 v) { memcpy(p, &v, 8); }
static inline u16 get16(const void *p) { u16 v; memcpy(&v, p, 2); return v; }
static inline u32 get32(const void *p) { u32 v; memcpy(&v, p, 4); return v; }
static inline u64 get64(const void *p) { u64 v; memcpy(&v, p, 8); return v; }

/* A deterministic PRNG (xorshift64*) for the property tests. */
static inline u64 rng_next(u64 *s)
{
	u64 x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform-ish value in [0, n). */
static inline u64 rng_below(u64 *s, u64 n)
{
	return n ? rng_next(s) % n : 0;
}

/* Fake physical memory: 'size' bytes standing for [start, start + size). */
struct fake_ram {
	u8 *buf;
	u64 start, size;
	struct physmem pm;
};

static inline struct fake_ram *fake_ram_new(u64 start, u64 size, int fill)
{
	struct fake_ram *r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->buf = malloc(size);
	assert_non_null(r->buf);
	memset(r->buf, fill, size);
	r->start = start;
	r->size = size;
	r->pm = (struct physmem){ (uintptr_t)r->buf, start, size };
	return r;
}

static inline void fake_ram_free(struct fake_ram *r)
{
	if (r) {
		free(r->buf);
		free(r);
	}
}

/* Host pointer for fake physical address pa (asserting it is inside). */
static inline u8 *fake_at(const struct fake_ram *r, u64 pa, u64 len)
{
	u8 *p = phys_ptr(&r->pm, pa, len);
	assert_non_null(p);
	return p;
}

/* Is every byte of [p, p + n) equal to c? */
static inline bool all_bytes(const u8 *p, size_t n, u8 c)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != c)
			return false;
	return true;
}

/*
 * Run fn(arg) in a child process and return its exit status (or 128 + signal).
 * For inputs that may crash the code under test (wild reads): the test then
 * fails cleanly, with the child's status, and the other tests run on in an
 * intact process.
 */
static inline int run_isolated(int (*fn)(void *), void *arg)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* cmocka catches these to fail a test and go on: in the child, just die. */
		static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
		for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		_exit(fn(arg));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

#endif
