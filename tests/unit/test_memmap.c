/* mm/memmap.c: adding, normalizing, editing and searching memory maps. */
#include "util.h"

#include "tv/memmap.h"

#define U MEM_USABLE
#define R MEM_RESERVED
#define A MEM_ACPI
#define N MEM_NVS
#define X MEM_UNUSABLE

#define RANGES(...) ((const struct mem_range[]){ __VA_ARGS__ }), \
	ARRAY_SIZE(((const struct mem_range[]){ __VA_ARGS__ }))

/* A raw (unnormalized) map from a list of ranges. */
static struct memmap mk(const struct mem_range *r, size_t n)
{
	struct memmap m = { 0 };

	for (size_t i = 0; i < n; i++)
		assert_int_equal(memmap_add(&m, r[i].base, r[i].len, r[i].type), 0);
	return m;
}

static void print_map(const char *what, const struct memmap *m)
{
	print_error("%s (%u entries):\n", what, m->n);
	for (u32 i = 0; i < m->n; i++)
		print_error("  [%#018llx, %#018llx) type %u\n", (unsigned long long)m->e[i].base,
			    (unsigned long long)(m->e[i].base + m->e[i].len), m->e[i].type);
}

static void assert_map(const struct memmap *m, const struct mem_range *exp, size_t n)
{
	bool same = m->n == n;

	for (size_t i = 0; same && i < n; i++)
		same = m->e[i].base == exp[i].base && m->e[i].len == exp[i].len && m->e[i].type == exp[i].type;
	if (!same) {
		struct memmap want = mk(exp, n);
		print_map("got", m);
		print_map("expected", &want);
		fail();
	}
}

static struct memmap normalized(const struct mem_range *r, size_t n)
{
	struct memmap m = mk(r, n);

	assert_int_equal(memmap_normalize(&m), 0);
	return m;
}

/* --- memmap_add -------------------------------------------------------- */

static void test_add_appends(void **state)
{
	struct memmap m = { 0 };

	assert_int_equal(memmap_add(&m, 0x1000, 0x2000, U), 0);
	assert_int_equal(memmap_add(&m, 0, 0x1000, R), 0);
	assert_map(&m, RANGES({ 0x1000, 0x2000, U }, { 0, 0x1000, R }));
}

static void test_add_drops_zero_length(void **state)
{
	struct memmap m = { 0 };

	assert_int_equal(memmap_add(&m, 0x1000, 0, U), 0);
	assert_int_equal(m.n, 0);
}

static void test_add_clamps_wrapping_length(void **state)
{
	struct memmap m = { 0 };

	assert_int_equal(memmap_add(&m, 0xFFFFFFFF00000000ull, 0x200000000ull, R), 0);
	assert_int_equal(m.n, 1);
	assert_int_equal(m.e[0].base + m.e[0].len, UINT64_MAX);
}

/*
 * Found by fuzz_bootinfo: an entry at the very top (base 2^64 - 1) clamps
 * to length 0, and was kept; a loader map of only such entries then
 * normalized to nothing and was accepted as a memory map.
 */
static void test_add_drops_entry_clamped_to_nothing(void **state)
{
	struct memmap m = { 0 };

	assert_int_equal(memmap_add(&m, UINT64_MAX, 0xFF00FF00000040ull, U), 0);
	assert_int_equal(m.n, 0);
	assert_int_equal(memmap_add(&m, UINT64_MAX - 1, 5, R), 0);
	assert_map(&m, RANGES({ UINT64_MAX - 1, 1, R }));
}

static void test_add_full(void **state)
{
	struct memmap m = { 0 };

	for (u32 i = 0; i < MEMMAP_MAX; i++)
		assert_int_equal(memmap_add(&m, (u64)i * 0x2000, 0x1000, U), 0);
	assert_int_equal(memmap_add(&m, 0x10000000, 0x1000, U), -ENOMEM);
	assert_int_equal(m.n, MEMMAP_MAX);
	/* Zero-length entries are still accepted (and dropped) when full. */
	assert_int_equal(memmap_add(&m, 0x10000000, 0, U), 0);
}

/* --- memmap_normalize ---------------------------------------------------- */

static void test_normalize_empty(void **state)
{
	struct memmap m = { 0 };

	assert_int_equal(memmap_normalize(&m), 0);
	assert_int_equal(m.n, 0);
}

static void test_normalize_sorts(void **state)
{
	struct memmap m = normalized(RANGES({ 0x100000, 0x700000, U }, { 0xf0000, 0x10000, R },
					    { 0, 0x9fc00, U }, { 0x9fc00, 0x400, R }));
	assert_map(&m, RANGES({ 0, 0x9fc00, U }, { 0x9fc00, 0x400, R }, { 0xf0000, 0x10000, R },
			      { 0x100000, 0x700000, U }));
}

static void test_normalize_reserved_beats_usable(void **state)
{
	/* Reserved overlapping the end of one usable range and the start of the next. */
	struct memmap m = normalized(RANGES({ 0, 0x10000, U }, { 0x8000, 0x10000, R }, { 0x14000, 0x10000, U }));
	assert_map(&m, RANGES({ 0, 0x8000, U }, { 0x8000, 0x10000, R }, { 0x18000, 0xC000, U }));
}

static void test_normalize_reserved_beats_usable_any_order(void **state)
{
	struct memmap a = normalized(RANGES({ 0, 0x4000, R }, { 0, 0x8000, U }));
	struct memmap b = normalized(RANGES({ 0, 0x8000, U }, { 0, 0x4000, R }));
	assert_map(&a, RANGES({ 0, 0x4000, R }, { 0x4000, 0x4000, U }));
	assert_map(&b, RANGES({ 0, 0x4000, R }, { 0x4000, 0x4000, U }));
}

static void test_normalize_higher_type_wins(void **state)
{
	/* ACPI (3) beats reserved (2), NVS (4) beats ACPI, unusable (5) beats everything. */
	struct memmap m = normalized(RANGES({ 0, 0x4000, R }, { 0x1000, 0x1000, A }));
	assert_map(&m, RANGES({ 0, 0x1000, R }, { 0x1000, 0x1000, A }, { 0x2000, 0x2000, R }));

	m = normalized(RANGES({ 0x1000, 0x1000, A }, { 0, 0x4000, R }));
	assert_map(&m, RANGES({ 0, 0x1000, R }, { 0x1000, 0x1000, A }, { 0x2000, 0x2000, R }));

	m = normalized(RANGES({ 0, 0x2000, A }, { 0x1000, 0x2000, N }));
	assert_map(&m, RANGES({ 0, 0x1000, A }, { 0x1000, 0x2000, N }));

	m = normalized(RANGES({ 0, 0x3000, N }, { 0, 0x3000, X }, { 0, 0x3000, U }, { 0, 0x3000, A }));
	assert_map(&m, RANGES({ 0, 0x3000, X }));
}

static void test_normalize_merges_adjacent(void **state)
{
	struct memmap m = normalized(RANGES({ 0x2000, 0x1000, U }, { 0, 0x1000, U }, { 0x1000, 0x1000, U },
					    { 0x3000, 0x1000, R }, { 0x4000, 0x1000, R }));
	assert_map(&m, RANGES({ 0, 0x3000, U }, { 0x3000, 0x2000, R }));
}

static void test_normalize_keeps_holes_and_type_changes(void **state)
{
	/* Same type across a hole stays two entries; adjacent different types too. */
	struct memmap m = normalized(RANGES({ 0, 0x1000, U }, { 0x2000, 0x1000, U }, { 0x3000, 0x1000, A }));
	assert_map(&m, RANGES({ 0, 0x1000, U }, { 0x2000, 0x1000, U }, { 0x3000, 0x1000, A }));
}

static void test_normalize_drops_zero_length(void **state)
{
	/* Bypass memmap_add, which would drop them itself. */
	struct memmap m = { 0 };
	m.e[m.n++] = (struct mem_range){ 0x1000, 0, R };
	m.e[m.n++] = (struct mem_range){ 0, 0x4000, U };
	m.e[m.n++] = (struct mem_range){ 0x2000, 0, X };
	m.e[m.n++] = (struct mem_range){ 0x9000, 0, U };
	assert_int_equal(memmap_normalize(&m), 0);
	assert_map(&m, RANGES({ 0, 0x4000, U }));
}

static void test_normalize_contained(void **state)
{
	/* Reserved inside usable splits it; usable inside reserved disappears. */
	struct memmap m = normalized(RANGES({ 0, 0x10000, U }, { 0x4000, 0x1000, R }));
	assert_map(&m, RANGES({ 0, 0x4000, U }, { 0x4000, 0x1000, R }, { 0x5000, 0xB000, U }));

	m = normalized(RANGES({ 0, 0x10000, R }, { 0x4000, 0x1000, U }));
	assert_map(&m, RANGES({ 0, 0x10000, R }));

	/* Nested three deep. */
	m = normalized(RANGES({ 0, 0x10000, U }, { 0x2000, 0x8000, R }, { 0x4000, 0x1000, N }));
	assert_map(&m, RANGES({ 0, 0x2000, U }, { 0x2000, 0x2000, R }, { 0x4000, 0x1000, N },
			      { 0x5000, 0x5000, R }, { 0xA000, 0x6000, U }));
}

static void test_normalize_duplicates(void **state)
{
	struct memmap m = normalized(RANGES({ 0x1000, 0x1000, U }, { 0x1000, 0x1000, U }, { 0x1000, 0x1000, U }));
	assert_map(&m, RANGES({ 0x1000, 0x1000, U }));
}

static void test_normalize_top_of_address_space(void **state)
{
	struct memmap m = normalized(RANGES({ 0xFFFFFFFFFFFF0000ull, 0x20000, R }, { 0xFFFFFFFFFFFE0000ull, 0x20000, U }));
	assert_map(&m, RANGES({ 0xFFFFFFFFFFFE0000ull, 0x10000, U }, { 0xFFFFFFFFFFFF0000ull, 0xFFFF, R }));
}

static void test_normalize_idempotent(void **state)
{
	struct memmap m = normalized(RANGES({ 0x100000, 0x700000, U }, { 0, 0xA0000, U }, { 0x9fc00, 0x400, R },
					    { 0x500000, 0x1000, A }));
	struct memmap again = m;
	assert_int_equal(memmap_normalize(&again), 0);
	assert_map(&again, m.e, m.n);
}

/* --- memmap_set ---------------------------------------------------------- */

static void test_set_middle(void **state)
{
	struct memmap m = mk(RANGES({ 0, MiB(256), U }));

	assert_int_equal(memmap_set(&m, MiB(64), MiB(64), R), 0);
	assert_map(&m, RANGES({ 0, MiB(64), U }, { MiB(64), MiB(64), R }, { MiB(128), MiB(128), U }));
}

static void test_set_start_edge(void **state)
{
	struct memmap m = mk(RANGES({ MiB(1), MiB(255), U }));

	assert_int_equal(memmap_set(&m, MiB(1), MiB(63), R), 0);
	assert_map(&m, RANGES({ MiB(1), MiB(63), R }, { MiB(64), MiB(192), U }));
}

static void test_set_end_edge(void **state)
{
	struct memmap m = mk(RANGES({ MiB(1), MiB(255), U }, { MiB(256), MiB(1), R }));

	assert_int_equal(memmap_set(&m, MiB(192), MiB(64), R), 0);
	assert_map(&m, RANGES({ MiB(1), MiB(191), U }, { MiB(192), MiB(65), R }));
}

static void test_set_spanning_two_ranges(void **state)
{
	struct memmap m = mk(RANGES({ 0, MiB(100), U }, { MiB(100), MiB(1), A }, { MiB(101), MiB(99), U }));

	assert_int_equal(memmap_set(&m, MiB(90), MiB(20), R), 0);
	assert_map(&m, RANGES({ 0, MiB(90), U }, { MiB(90), MiB(20), R }, { MiB(110), MiB(90), U }));
}

static void test_set_whole_range(void **state)
{
	struct memmap m = mk(RANGES({ 0, MiB(1), U }, { MiB(1), MiB(1), U }, { MiB(4), MiB(1), U }));

	assert_int_equal(memmap_set(&m, 0, MiB(2), R), 0);
	assert_map(&m, RANGES({ 0, MiB(2), R }, { MiB(4), MiB(1), U }));
}

/* "Whatever it was": usable can be set over reserved (which rank alone would not allow). */
static void test_set_usable_over_reserved(void **state)
{
	struct memmap m = mk(RANGES({ 0, MiB(10), U }, { MiB(4), MiB(1), R }));

	assert_int_equal(memmap_set(&m, MiB(4), MiB(1), U), 0);
	assert_map(&m, RANGES({ 0, MiB(10), U }));
}

static void test_set_into_hole(void **state)
{
	struct memmap m = mk(RANGES({ 0, MiB(1), U }, { MiB(3), MiB(1), U }));

	assert_int_equal(memmap_set(&m, MiB(1), MiB(1), A), 0);
	assert_map(&m, RANGES({ 0, MiB(1), U }, { MiB(1), MiB(1), A }, { MiB(3), MiB(1), U }));
}

/*
 * Found by fuzz_memmap: a range whose end wraps past 2^64 overlapped
 * nothing (its end taken as small), so the old entries stayed in it and
 * outranked the new type.  It is clamped at the top, as memmap_add does.
 */
static void test_set_wrapping_range(void **state)
{
	struct memmap m = mk(RANGES({ 0, MiB(1), U }, { MiB(1), MiB(16), X }));

	assert_int_equal(memmap_set(&m, 0x1000, UINT64_MAX, U), 0);
	assert_map(&m, RANGES({ 0, UINT64_MAX, U }));
	m = mk(RANGES({ 0, MiB(1), U }, { MiB(1), MiB(16), X }));
	assert_int_equal(memmap_set(&m, 0x100, 0xFFFFFFFFFFFFFF10ull, R), 0);
	assert_map(&m, RANGES({ 0, 0x100, U }, { 0x100, UINT64_MAX - 0x100, R }));
}

static void test_set_zero_length_is_noop(void **state)
{
	struct memmap m = mk(RANGES({ MiB(1), MiB(1), U }, { 0, MiB(1), U }));	/* raw, unsorted */
	struct memmap before = m;

	assert_int_equal(memmap_set(&m, MiB(1), 0, R), 0);
	assert_map(&m, before.e, before.n);
}

static void test_set_normalizes_raw_input(void **state)
{
	struct memmap m = mk(RANGES({ MiB(8), MiB(8), U }, { 0, MiB(8), U }, { MiB(2), MiB(1), R }));

	assert_int_equal(memmap_set(&m, MiB(12), MiB(2), R), 0);
	assert_map(&m, RANGES({ 0, MiB(2), U }, { MiB(2), MiB(1), R }, { MiB(3), MiB(9), U },
			      { MiB(12), MiB(2), R }, { MiB(14), MiB(2), U }));
}

/* A full map that the edit would have to grow fails cleanly and leaves the map alone. */
static void test_set_full_map(void **state)
{
	struct memmap m = { 0 };

	for (u32 i = 0; i < MEMMAP_MAX; i++)
		assert_int_equal(memmap_add(&m, (u64)i * 0x2000, 0x1000, U), 0);
	struct memmap before = m;
	assert_int_equal(memmap_set(&m, 0x200, 0x100, R), -ENOMEM);
	assert_map(&m, before.e, before.n);
}

/* --- memmap_is_usable ---------------------------------------------------- */

static void test_is_usable(void **state)
{
	/* Two raw adjacent usable entries, a reserved one, a hole. */
	struct memmap m = mk(RANGES({ MiB(2), MiB(2), U }, { 0, MiB(2), U }, { MiB(4), MiB(1), R },
				    { MiB(8), MiB(8), U }));

	assert_true(memmap_is_usable(&m, 0, MiB(4)));			/* across the merged boundary */
	assert_true(memmap_is_usable(&m, MiB(2) - 0x1000, 0x2000));
	assert_true(memmap_is_usable(&m, MiB(3), MiB(1)));		/* up to the end exactly */
	assert_false(memmap_is_usable(&m, MiB(3), MiB(1) + 1));		/* one byte into reserved */
	assert_false(memmap_is_usable(&m, MiB(4), 0x1000));
	assert_false(memmap_is_usable(&m, MiB(6), 0x1000));		/* in the hole */
	assert_false(memmap_is_usable(&m, MiB(7), MiB(2)));		/* hole then usable */
	assert_true(memmap_is_usable(&m, MiB(8), MiB(8)));
	assert_false(memmap_is_usable(&m, MiB(8), MiB(8) + 1));
	assert_false(memmap_is_usable(&m, MiB(16), 1));
	assert_false(memmap_is_usable(&m, 0, MiB(16)));			/* spans everything */
}

static void test_is_usable_reserved_inside(void **state)
{
	struct memmap m = mk(RANGES({ 0, MiB(64), U }, { MiB(32), 0x1000, R }));

	assert_true(memmap_is_usable(&m, 0, MiB(32)));
	assert_false(memmap_is_usable(&m, MiB(31), MiB(2)));
	assert_true(memmap_is_usable(&m, MiB(32) + 0x1000, MiB(32) - 0x1000));
}

static void test_is_usable_wrap(void **state)
{
	struct memmap m = mk(RANGES({ 0, MiB(64), U }));

	assert_false(memmap_is_usable(&m, MiB(1), UINT64_MAX));
	assert_false(memmap_is_usable(&m, UINT64_MAX - 0xfff, 0x2000));
}

static void test_is_usable_empty_map(void **state)
{
	struct memmap m = { 0 };

	assert_false(memmap_is_usable(&m, 0, 0x1000));
}

/* --- memmap_find_top ----------------------------------------------------- */

static void test_find_top_highest(void **state)
{
	struct memmap m = mk(RANGES({ 0, 0xA0000, U }, { MiB(1), MiB(511), U }));
	u64 b = 0;

	assert_int_equal(memmap_find_top(&m, GiB(4), MiB(64), MiB(2), &b), 0);
	assert_int_equal(b, MiB(512) - MiB(64));
}

static void test_find_top_limit_inside_range(void **state)
{
	struct memmap m = mk(RANGES({ MiB(1), MiB(511), U }));
	u64 b = 0;

	assert_int_equal(memmap_find_top(&m, MiB(257), MiB(64), MiB(2), &b), 0);
	assert_int_equal(b, MiB(192));	/* 257M - 64M = 193M, aligned down */
	assert_int_equal(memmap_find_top(&m, MiB(256), MiB(64), MiB(2), &b), 0);
	assert_int_equal(b, MiB(192));	/* ends exactly at the limit */
}

static void test_find_top_alignment(void **state)
{
	struct memmap m = mk(RANGES({ MiB(1), 0x1FEE0000, U }));	/* ends at 0x1ffe0000 */
	u64 b = 0;

	assert_int_equal(memmap_find_top(&m, GiB(4), 0x1000, MiB(2), &b), 0);
	assert_int_equal(b, 0x1FE00000);
	assert_int_equal(memmap_find_top(&m, GiB(4), 0x1000, 0x1000, &b), 0);
	assert_int_equal(b, 0x1FFDF000);
	assert_int_equal(memmap_find_top(&m, GiB(4), 0x1000, 1, &b), 0);
	assert_int_equal(b, 0x1FFDF000);
}

/* The block must lie in one range: two ranges separated by a hole do not combine. */
static void test_find_top_range_boundaries(void **state)
{
	struct memmap m = mk(RANGES({ MiB(1), MiB(99), U }, { MiB(101), MiB(9), U }));
	u64 b = 0;

	assert_int_equal(memmap_find_top(&m, GiB(4), MiB(16), MiB(2), &b), 0);
	assert_int_equal(b, MiB(84));
	assert_int_equal(memmap_find_top(&m, GiB(4), MiB(8), MiB(2), &b), 0);
	assert_int_equal(b, MiB(102));	/* fits in the upper range: 110M - 8M */
}

/* Raw reserved entries inside usable ones are honoured (the map is normalized first). */
static void test_find_top_raw_reserved(void **state)
{
	struct memmap m = mk(RANGES({ MiB(60), MiB(2), R }, { 0, MiB(64), U }));
	u64 b = 0;

	assert_int_equal(memmap_find_top(&m, GiB(4), MiB(4), MiB(2), &b), 0);
	assert_int_equal(b, MiB(56));
}

/* Merged neighbours do combine. */
static void test_find_top_merged_neighbours(void **state)
{
	struct memmap m = mk(RANGES({ MiB(16), MiB(16), U }, { MiB(32), MiB(16), U }));
	u64 b = 0;

	assert_int_equal(memmap_find_top(&m, GiB(4), MiB(32), MiB(2), &b), 0);
	assert_int_equal(b, MiB(16));
}

static void test_find_top_exact_fit(void **state)
{
	struct memmap m = mk(RANGES({ MiB(2), MiB(2), U }));
	u64 b = 0;

	assert_int_equal(memmap_find_top(&m, GiB(4), MiB(2), MiB(2), &b), 0);
	assert_int_equal(b, MiB(2));
}

static void test_find_top_nothing_fits(void **state)
{
	struct memmap m = mk(RANGES({ MiB(1), MiB(2), U }, { MiB(8), MiB(1), R }, { GiB(5), GiB(1), U }));
	struct memmap empty = { 0 };
	u64 b = SIZE_MAX;

	assert_int_equal(memmap_find_top(&m, GiB(4), MiB(3), 0x1000, &b), -ENOMEM);	/* too big */
	/* 2 MiB fits unaligned at 1M but no 2M-aligned 2M block lies in [1M, 3M). */
	assert_int_equal(memmap_find_top(&m, GiB(4), MiB(2), MiB(2), &b), -ENOMEM);
	assert_int_equal(memmap_find_top(&m, MiB(1), 0x1000, 0x1000, &b), -ENOMEM);	/* limit below RAM */
	assert_int_equal(memmap_find_top(&m, MiB(2), MiB(2), 0x1000, &b), -ENOMEM);	/* limit cuts it */
	assert_int_equal(memmap_find_top(&empty, GiB(4), 0x1000, 0x1000, &b), -ENOMEM);
	assert_int_equal(b, SIZE_MAX);	/* untouched */
	/* Above the limit there is plenty. */
	assert_int_equal(memmap_find_top(&m, GiB(8), MiB(64), MiB(2), &b), 0);
	assert_int_equal(b, GiB(6) - MiB(64));
}

static void test_find_top_only_reserved(void **state)
{
	struct memmap m = mk(RANGES({ 0, GiB(1), R }, { GiB(1), GiB(1), A }));
	u64 b = 0;

	assert_int_equal(memmap_find_top(&m, GiB(4), 0x1000, 0x1000, &b), -ENOMEM);
}

/* --- memmap_ram_top ------------------------------------------------------ */

static void test_ram_top(void **state)
{
	struct memmap m = normalized(RANGES({ 0, 0x9fc00, U }, { MiB(1), GiB(3), U }, { GiB(4) - MiB(1), MiB(1), R },
					    { GiB(4), GiB(2), U }, { GiB(8), GiB(1), R }));
	struct memmap empty = { 0 };
	struct memmap res = mk(RANGES({ 0, GiB(1), R }));

	assert_int_equal(memmap_ram_top(&m), GiB(6));
	assert_int_equal(memmap_ram_top(&empty), 0);
	assert_int_equal(memmap_ram_top(&res), 0);
}

static void test_ram_top_unsorted(void **state)
{
	struct memmap m = mk(RANGES({ GiB(4), GiB(2), U }, { 0, MiB(640), U }, { GiB(7), GiB(1), R }));

	assert_int_equal(memmap_ram_top(&m), GiB(6));
}

/* --- A QEMU-like machine --------------------------------------------------- */

static struct memmap qemu_map(void)
{
	return mk(RANGES({ 0, 0x9fc00, U }, { 0x9fc00, 0x400, R }, { 0xf0000, 0x10000, R },
			 { 0x100000, 0x1fee0000, U }, { 0x1ffe0000, 0x20000, R }, { 0xfffc0000, 0x40000, R }));
}

static void test_qemu_map_normalizes_unchanged(void **state)
{
	struct memmap m = qemu_map(), n = m;

	assert_int_equal(memmap_normalize(&n), 0);
	assert_map(&n, m.e, m.n);
}

static void test_qemu_hv_region(void **state)
{
	struct memmap m = qemu_map();
	u64 base = 0, size = MiB(64);

	assert_int_equal(memmap_find_top(&m, GiB(4), size, MiB(2), &base), 0);
	assert_int_equal(base, 0x1be00000);
	assert_int_equal(memmap_set(&m, base, size, R), 0);
	assert_map(&m, RANGES({ 0, 0x9fc00, U }, { 0x9fc00, 0x400, R }, { 0xf0000, 0x10000, R },
			      { 0x100000, 0x1bd00000, U }, { 0x1be00000, 0x4000000, R },
			      { 0x1fe00000, 0x1e0000, U }, { 0x1ffe0000, 0x20000, R },
			      { 0xfffc0000, 0x40000, R }));
	/* No usable byte overlaps the region any more. */
	for (u32 i = 0; i < m.n; i++)
		if (m.e[i].type == U)
			assert_false(ranges_overlap(m.e[i].base, m.e[i].len, base, size));
	assert_false(memmap_is_usable(&m, base, 0x1000));
	assert_false(memmap_is_usable(&m, base + size - 0x1000, 0x1000));
	assert_true(memmap_is_usable(&m, base - 0x1000, 0x1000));
	assert_true(memmap_is_usable(&m, base + size, 0x1000));
	/* The next search lands below the region. */
	assert_int_equal(memmap_find_top(&m, GiB(4), MiB(64), MiB(2), &base), 0);
	assert_int_equal(base, 0x1be00000 - MiB(64));
	assert_int_equal(memmap_ram_top(&m), 0x1ffe0000);
}

/* --- Randomized properties ------------------------------------------------- */

/* The oracle: the type at address a of a raw map (0 = hole), by the documented rule. */
static u32 oracle_type(const struct memmap *raw, u64 a)
{
	u32 t = 0;

	for (u32 i = 0; i < raw->n; i++) {
		const struct mem_range *r = &raw->e[i];
		if (a < r->base || a - r->base >= r->len)
			continue;
		if (t == 0)
			t = r->type;
		else if (t == MEM_USABLE)
			t = r->type;
		else if (r->type != MEM_USABLE && r->type > t)
			t = r->type;
	}
	return t;
}

/* The type at a in a normalized map, by binary search (it is sorted). */
static u32 lookup_type(const struct memmap *m, u64 a)
{
	u32 lo = 0, hi = m->n;

	while (lo < hi) {
		u32 mid = (lo + hi) / 2;
		const struct mem_range *r = &m->e[mid];
		if (a < r->base)
			hi = mid;
		else if (a - r->base >= r->len)
			lo = mid + 1;
		else
			return r->type;
	}
	return 0;
}

static void check_normalized_shape(const struct memmap *m)
{
	for (u32 i = 0; i < m->n; i++) {
		const struct mem_range *r = &m->e[i];
		assert_true(r->len > 0);
		assert_true(r->base + r->len >= r->base);	/* no wrap */
		if (i == 0)
			continue;
		const struct mem_range *p = &m->e[i - 1];
		assert_true(p->base < r->base);				/* sorted */
		assert_true(p->base + p->len <= r->base);		/* no overlap */
		assert_false(p->base + p->len == r->base && p->type == r->type);	/* merged */
	}
}

/* A random raw map; 'wide' spreads bases over the whole 64-bit space. */
static struct memmap random_map(u64 *seed, bool wide)
{
	struct memmap m = { 0 };
	u32 n = (u32)rng_below(seed, 25);

	for (u32 i = 0; i < n; i++) {
		u64 base, len;
		if (wide) {
			base = rng_next(seed);
			len = rng_below(seed, 4) == 0 ? rng_next(seed) : rng_below(seed, GiB(64)) + 1;
		} else {
			/* 4 KiB granules in the first MiB: lots of overlaps and adjacency. */
			base = rng_below(seed, 256) * 0x1000;
			len = (rng_below(seed, 48) + (rng_below(seed, 8) == 0 ? 0 : 1)) * 0x1000;
		}
		u32 type = (u32)rng_below(seed, 5) + 1;
		if (rng_below(seed, 3) == 0)
			type = MEM_USABLE;	/* mostly usable, like real maps */
		assert_int_equal(memmap_add(&m, base, len, type), 0);
	}
	return m;
}

static void check_against_oracle(const struct memmap *raw, const struct memmap *norm, u64 *seed)
{
	/* Every boundary and its neighbours, then random points. */
	for (u32 i = 0; i < raw->n; i++) {
		u64 b = raw->e[i].base, e = raw->e[i].base + raw->e[i].len;
		u64 pts[] = { b, b - 1, b + 1, e, e - 1, e + 1 };
		for (size_t k = 0; k < ARRAY_SIZE(pts); k++)
			if (lookup_type(norm, pts[k]) != oracle_type(raw, pts[k])) {
				print_map("raw", raw);
				print_map("normalized", norm);
				fail_msg("type at %#llx: got %u, oracle %u", (unsigned long long)pts[k],
					 lookup_type(norm, pts[k]), oracle_type(raw, pts[k]));
			}
	}
	for (int k = 0; k < 64; k++) {
		u64 a = raw->n && rng_below(seed, 2) ? raw->e[rng_below(seed, raw->n)].base + rng_below(seed, MiB(1))
						     : rng_next(seed);
		if (lookup_type(norm, a) != oracle_type(raw, a)) {
			print_map("raw", raw);
			print_map("normalized", norm);
			fail_msg("type at %#llx: got %u, oracle %u", (unsigned long long)a, lookup_type(norm, a),
				 oracle_type(raw, a));
		}
	}
}

static void test_random_normalize(void **state)
{
	u64 seed = 0x7468696e76697372ull;

	for (int iter = 0; iter < 4000; iter++) {
		struct memmap raw = random_map(&seed, iter % 2);
		struct memmap norm = raw;
		assert_int_equal(memmap_normalize(&norm), 0);
		check_normalized_shape(&norm);
		check_against_oracle(&raw, &norm, &seed);
		/* Normalizing again changes nothing. */
		struct memmap again = norm;
		assert_int_equal(memmap_normalize(&again), 0);
		assert_map(&again, norm.e, norm.n);
	}
}

/* In the granule world every address of a granule has the same type: check them all. */
static void test_random_normalize_exhaustive_small(void **state)
{
	u64 seed = 12345;

	for (int iter = 0; iter < 2000; iter++) {
		struct memmap raw = random_map(&seed, false);
		struct memmap norm = raw;
		assert_int_equal(memmap_normalize(&norm), 0);
		for (u64 g = 0; g < 320; g++) {
			u64 a = g * 0x1000;
			assert_int_equal(lookup_type(&norm, a), oracle_type(&raw, a));
			assert_int_equal(lookup_type(&norm, a + 0xfff), oracle_type(&raw, a));
		}
	}
}

/* memmap_set: inside the range the new type, outside exactly what was there. */
static void test_random_set(void **state)
{
	u64 seed = 0xC0FFEE;

	for (int iter = 0; iter < 2000; iter++) {
		struct memmap raw = random_map(&seed, false), m = raw;
		u64 base = rng_below(&seed, 300) * 0x1000, len = (rng_below(&seed, 64) + 1) * 0x1000;
		u32 type = (u32)rng_below(&seed, 5) + 1;
		assert_int_equal(memmap_set(&m, base, len, type), 0);
		check_normalized_shape(&m);
		for (u64 g = 0; g < 400; g++) {
			u64 a = g * 0x1000;
			u32 want = (a >= base && a < base + len) ? type : oracle_type(&raw, a);
			if (lookup_type(&m, a) != want) {
				print_map("raw", &raw);
				print_map("after set", &m);
				fail_msg("set [%#llx,+%#llx) type %u: type at %#llx is %u, expected %u",
					 (unsigned long long)base, (unsigned long long)len, type,
					 (unsigned long long)a, lookup_type(&m, a), want);
			}
		}
	}
}

/* memmap_is_usable and memmap_find_top against brute force over granules. */
static bool oracle_usable(const struct memmap *raw, u64 base, u64 len)
{
	for (u64 a = base; a < base + len; a += 0x1000)
		if (oracle_type(raw, a) != MEM_USABLE)
			return false;
	return true;
}

static void test_random_is_usable_and_find_top(void **state)
{
	u64 seed = 0xBADC0DE;

	for (int iter = 0; iter < 1500; iter++) {
		struct memmap raw = random_map(&seed, false);
		for (int k = 0; k < 8; k++) {
			u64 base = rng_below(&seed, 300) * 0x1000, len = (rng_below(&seed, 32) + 1) * 0x1000;
			assert_int_equal(memmap_is_usable(&raw, base, len), oracle_usable(&raw, base, len));
		}
		u64 size = (rng_below(&seed, 16) + 1) * 0x1000;
		u64 align = 0x1000ull << rng_below(&seed, 4);
		u64 limit = rng_below(&seed, 320) * 0x1000;
		u64 want = 0, got = 0;
		bool found = false;
		for (u64 b = ALIGN_DOWN(limit, align); !found; b -= align) {
			if (b + size <= limit && oracle_usable(&raw, b, size)) {
				want = b;
				found = true;
			}
			if (b < align)
				break;
		}
		int rc = memmap_find_top(&raw, limit, size, align, &got);
		if (rc != (found ? 0 : -ENOMEM) || (found && got != want)) {
			print_map("raw", &raw);
			fail_msg("find_top(limit %#llx, size %#llx, align %#llx) = %d/%#llx, expected %s/%#llx",
				 (unsigned long long)limit, (unsigned long long)size, (unsigned long long)align, rc,
				 (unsigned long long)got, found ? "0" : "-ENOMEM", (unsigned long long)want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_appends),
		cmocka_unit_test(test_add_drops_zero_length),
		cmocka_unit_test(test_add_clamps_wrapping_length),
		cmocka_unit_test(test_add_drops_entry_clamped_to_nothing),
		cmocka_unit_test(test_add_full),
		cmocka_unit_test(test_normalize_empty),
		cmocka_unit_test(test_normalize_sorts),
		cmocka_unit_test(test_normalize_reserved_beats_usable),
		cmocka_unit_test(test_normalize_reserved_beats_usable_any_order),
		cmocka_unit_test(test_normalize_higher_type_wins),
		cmocka_unit_test(test_normalize_merges_adjacent),
		cmocka_unit_test(test_normalize_keeps_holes_and_type_changes),
		cmocka_unit_test(test_normalize_drops_zero_length),
		cmocka_unit_test(test_normalize_contained),
		cmocka_unit_test(test_normalize_duplicates),
		cmocka_unit_test(test_normalize_top_of_address_space),
		cmocka_unit_test(test_normalize_idempotent),
		cmocka_unit_test(test_set_middle),
		cmocka_unit_test(test_set_start_edge),
		cmocka_unit_test(test_set_end_edge),
		cmocka_unit_test(test_set_spanning_two_ranges),
		cmocka_unit_test(test_set_whole_range),
		cmocka_unit_test(test_set_usable_over_reserved),
		cmocka_unit_test(test_set_into_hole),
		cmocka_unit_test(test_set_wrapping_range),
		cmocka_unit_test(test_set_zero_length_is_noop),
		cmocka_unit_test(test_set_normalizes_raw_input),
		cmocka_unit_test(test_set_full_map),
		cmocka_unit_test(test_is_usable),
		cmocka_unit_test(test_is_usable_reserved_inside),
		cmocka_unit_test(test_is_usable_wrap),
		cmocka_unit_test(test_is_usable_empty_map),
		cmocka_unit_test(test_find_top_highest),
		cmocka_unit_test(test_find_top_limit_inside_range),
		cmocka_unit_test(test_find_top_alignment),
		cmocka_unit_test(test_find_top_range_boundaries),
		cmocka_unit_test(test_find_top_raw_reserved),
		cmocka_unit_test(test_find_top_merged_neighbours),
		cmocka_unit_test(test_find_top_exact_fit),
		cmocka_unit_test(test_find_top_nothing_fits),
		cmocka_unit_test(test_find_top_only_reserved),
		cmocka_unit_test(test_ram_top),
		cmocka_unit_test(test_ram_top_unsorted),
		cmocka_unit_test(test_qemu_map_normalizes_unchanged),
		cmocka_unit_test(test_qemu_hv_region),
		cmocka_unit_test(test_random_normalize),
		cmocka_unit_test(test_random_normalize_exhaustive_small),
		cmocka_unit_test(test_random_set),
		cmocka_unit_test(test_random_is_usable_and_find_top),
	};
	return RUN_TESTS(tests);
}
