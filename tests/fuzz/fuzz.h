/*
 * Shared helpers for the libFuzzer harnesses (tests/fuzz/fuzz_*.c): the
 * input read as a stream of little-endian fields, fake physical memory with
 * forbidden parts poisoned for AddressSanitizer, and CHECK for invariants.
 *
 * Every harness reads its input front to back with take(); what is left is
 * usually the guest memory.  A field past the end of the input reads as 0,
 * so every input, however short, is a valid test case.
 */
#ifndef TV_FUZZ_H
#define TV_FUZZ_H

#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sanitizer/asan_interface.h>

#include "tv/types.h"
#include "tv/ata.h"
#include "tv/physmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A violated invariant: say which and abort, so libFuzzer keeps the input. */
#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__,    \
				__LINE__, #cond);                                       \
			abort();                                                        \
		}                                                                       \
	} while (0)

struct fuzz_in {
	const u8 *p;
	size_t n;
};

/* The next 'bytes' (at most 8) bytes as a little-endian number. */
static inline u64 take(struct fuzz_in *in, unsigned bytes)
{
	u64 v = 0;

	for (unsigned i = 0; i < bytes && in->n; i++, in->n--)
		v |= (u64)*in->p++ << (8 * i);
	return v;
}

static inline u64 rd_le(const u8 *p, unsigned bytes)
{
	u64 v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

/*
 * Fake physical memory: [start, start + size) is a heap block of exactly
 * that many bytes, the rest of the input followed by zeros up to a multiple
 * of 8 (so that poisoning covers whole ASan granules).  Reading outside it,
 * or inside a poisoned part, is an AddressSanitizer report.
 */
struct fuzz_ram {
	u8 *buf;
	u64 start, size;
	struct physmem pm;
};

static inline void ram_init(struct fuzz_ram *r, u64 start, const struct fuzz_in *in)
{
	r->start = start;
	r->size = ALIGN_UP((u64)in->n, 8);
	r->buf = malloc(r->size ? r->size : 1);
	if (!r->buf)
		abort();
	memset(r->buf, 0, r->size);
	if (in->n)
		memcpy(r->buf, in->p, in->n);
	r->pm = (struct physmem){ (uintptr_t)r->buf, start, r->size };
}

/* Make [pa, pa + len) unreadable (the part of it inside the window). */
static inline void ram_poison(struct fuzz_ram *r, u64 pa, u64 len)
{
	u64 end = pa + len < pa ? UINT64_MAX : pa + len;
	u64 lo = MAX(pa, r->start), hi = MIN(end, r->start + r->size);

	if (lo < hi)
		ASAN_POISON_MEMORY_REGION(r->buf + (lo - r->start), hi - lo);
}

static inline void ram_free(struct fuzz_ram *r)
{
	ASAN_UNPOISON_MEMORY_REGION(r->buf, r->size);
	free(r->buf);
}

/* A copy of the input's remaining bytes in a block of exactly that size. */
static inline u8 *dup_rest(const struct fuzz_in *in)
{
	u8 *p = malloc(in->n);

	if (!p && in->n)
		abort();
	if (in->n)
		memcpy(p, in->p, in->n);
	return p;
}

/*
 * n elements of size sz on the heap, filled with 0xA5: ASan reports any
 * access past them (any access at all for n == 0).
 */
static inline void *alloc_exact(size_t n, size_t sz)
{
	void *p = malloc(n * sz);

	if (!p && n * sz)
		abort();
	memset(p, 0xA5, n * sz);
	return p;
}

/*
 * Guest memory behind a DMA descriptor parser: the window start (a multiple
 * of 8 below 512 KiB) and the limits come from the input as
 *   u16 start/8, u32 hv_base, u32 hv_size, u40 ram_top
 * (hv_size is rounded so the region ends on a multiple of 8; it is never
 * empty, as the hypervisor's is not).
 */
static inline u64 dma_take(struct fuzz_in *in, struct dma_limits *lim)
{
	u64 start = take(in, 2) * 8;

	/* Never empty, 8-byte granular (the real region is 2 MiB aligned). */
	lim->hv_base = take(in, 4) & ~7ull;
	u64 size = take(in, 4) & ~7ull;		/* (MAX() would take twice) */
	lim->hv_size = MAX(size, 8);
	lim->ram_top = take(in, 5);
	return start;
}

/* Poison what the limits forbid: the parser must never read a table there. */
static inline void dma_poison(struct fuzz_ram *r, const struct dma_limits *lim)
{
	ram_poison(r, lim->hv_base, lim->hv_size);
	ram_poison(r, lim->ram_top, UINT64_MAX - lim->ram_top);
}

/* Guest DMA may use [pa, pa + len): the contract of every parser's output. */
static inline bool dma_allowed(const struct dma_limits *lim, u64 pa, u64 len)
{
	return pa + len >= pa && pa + len <= lim->ram_top &&
	       !(len && ranges_overlap(pa, len, lim->hv_base, lim->hv_size));
}

#endif
