/*
 * mm/pt.c: the page pool and the page-table engine, in x86 (host/NPT), EPT,
 * VT-d second-level and AMD-Vi formats.
 */
#include "util.h"

#include "tv/pt.h"

#define POOL_PA 0x100000ull	/* fake physical address of the pool buffer */
#define ADDR_MASK 0x000FFFFFFFFFF000ull
#define PS (1ull << 7)
#define NX (1ull << 63)
#define EPT_WB (6ull << 3)

struct env {
	u8 *buf;
	u64 npages;
	struct page_pool pool;
	struct pagetable pt;
};

static struct env *env_new(const struct pt_format *fmt, u64 npages)
{
	struct env *e = calloc(1, sizeof(*e));
	assert_non_null(e);
	e->npages = npages;
	e->buf = aligned_alloc(4096, npages * 4096);
	assert_non_null(e->buf);
	memset(e->buf, 0xA5, npages * 4096);	/* the pool must zero what it hands out */
	pool_init(&e->pool, POOL_PA, POOL_PA + npages * 4096, (uintptr_t)e->buf);
	if (fmt)
		assert_int_equal(pt_init(&e->pt, fmt, &e->pool), 0);
	return e;
}

static int teardown(void **state)
{
	struct env *e = *state;
	if (e) {
		free(e->buf);
		free(e);
	}
	return 0;
}

static int setup_x86(void **state) { *state = env_new(&pt_format_x86, 64); return 0; }
static int setup_ept(void **state) { *state = env_new(&pt_format_ept, 64); return 0; }
static int setup_vtd(void **state) { *state = env_new(&pt_format_vtd, 64); return 0; }
static int setup_amdvi(void **state) { *state = env_new(&pt_format_amdvi, 64); return 0; }

/* AMD-Vi marks leaves by a zero next-level field, the others by PS. */
static bool raw_is_leaf(const struct pt_format *f, u64 e)
{
	return f->next_level_bit ? !((e >> f->next_level_bit) & 7) : (e & PS) != 0;
}

/* Walk the raw tables to the entry for va at 'level' (4 = PML4 ... 1 = PT); NULL if not reached. */
static u64 *raw_entry(const struct env *e, u64 va, int level)
{
	const struct pt_format *f = e->pt.fmt;
	u64 *t = pool_va(&e->pool, e->pt.root);

	for (int l = 4;; l--) {
		u64 *slot = &t[(va >> (12 + 9 * (l - 1))) & 511];
		if (l == level)
			return slot;
		if (!(*slot & f->present) || raw_is_leaf(f, *slot))
			return NULL;
		u64 pa = *slot & ADDR_MASK;
		assert_true(pa >= e->pool.start && pa < e->pool.end);	/* tables come from the pool */
		t = pool_va(&e->pool, pa);
	}
}

/* Assert va translates to pa with prot and page size. */
#define assert_maps(e, va, want_pa, want_prot, want_size)                                          \
	do {                                                                                        \
		u64 pa_ = 0, sz_ = 0;                                                               \
		unsigned prot_ = 0;                                                                 \
		int rc_ = pt_lookup(&(e)->pt, (va), &pa_, &prot_, &sz_);                            \
		if (rc_ || pa_ != (u64)(want_pa) || prot_ != (unsigned)(want_prot) ||                \
		    sz_ != (u64)(want_size))                                                        \
			fail_msg("va %#llx: rc %d pa %#llx prot %#x size %#llx; expected pa %#llx "  \
				 "prot %#x size %#llx", (unsigned long long)(va), rc_,              \
				 (unsigned long long)pa_, prot_, (unsigned long long)sz_,           \
				 (unsigned long long)(want_pa), (unsigned)(want_prot),              \
				 (unsigned long long)(want_size));                                  \
	} while (0)

#define assert_unmapped(e, va)                                                                   \
	do {                                                                                        \
		u64 pa_ = 0;                                                                        \
		int rc_ = pt_lookup(&(e)->pt, (va), &pa_, NULL, NULL);                              \
		if (rc_ != -ENOENT)                                                                 \
			fail_msg("va %#llx: rc %d pa %#llx, expected -ENOENT",                       \
				 (unsigned long long)(va), rc_, (unsigned long long)pa_);           \
	} while (0)

#define RW (PT_R | PT_W)
#define RWX (PT_R | PT_W | PT_X)
#define RX (PT_R | PT_X)

/* What a format keeps of prot: the IOMMU formats have no execute (nor user) right. */
static unsigned kept(const struct env *e, unsigned prot)
{
	const struct pt_format *f = e->pt.fmt;
	return prot & ~((f->x || f->nx) ? 0u : PT_X) & ~(f->u ? 0u : PT_U);
}

/* --- page pool --------------------------------------------------------------- */

static void test_pool_alloc(void **state)
{
	struct env *e = *state = env_new(NULL, 8);

	assert_int_equal(e->pool.start, POOL_PA);
	assert_int_equal(e->pool.end, POOL_PA + 8 * 4096);
	assert_int_equal(pool_alloc(&e->pool, 1), POOL_PA);
	assert_int_equal(pool_alloc(&e->pool, 3), POOL_PA + 0x1000);
	assert_int_equal(pool_alloc(&e->pool, 1), POOL_PA + 0x4000);
	assert_ptr_equal(pool_va(&e->pool, POOL_PA + 0x4000), e->buf + 0x4000);
	/* Handed-out pages are zeroed, the rest untouched. */
	assert_true(all_bytes(e->buf, 5 * 4096, 0));
	assert_true(all_bytes(e->buf + 5 * 4096, 3 * 4096, 0xA5));
}

static void test_pool_exhaustion(void **state)
{
	struct env *e = *state = env_new(NULL, 4);

	assert_int_equal(pool_alloc(&e->pool, 0), 0);
	assert_int_equal(pool_alloc(&e->pool, 5), 0);
	assert_int_equal(pool_alloc(&e->pool, UINT64_MAX / 2), 0);	/* no overflow in npages * 4096 */
	assert_int_equal(pool_alloc(&e->pool, 4), POOL_PA);
	assert_int_equal(pool_alloc(&e->pool, 1), 0);
	assert_true(all_bytes(e->buf, 4 * 4096, 0));
}

static void test_pool_init_aligns(void **state)
{
	struct env *e = *state = env_new(NULL, 4);
	struct page_pool p;

	/* [0x100800, 0x103c00): whole pages 0x101000 and 0x102000 only. */
	pool_init(&p, POOL_PA + 0x800, POOL_PA + 0x3c00, (uintptr_t)e->buf + 0x800);
	assert_int_equal(p.start, POOL_PA + 0x1000);
	assert_int_equal(p.end, POOL_PA + 0x3000);
	assert_ptr_equal(pool_va(&p, POOL_PA + 0x1000), e->buf + 0x1000);
	assert_int_equal(pool_alloc(&p, 2), POOL_PA + 0x1000);
	assert_int_equal(pool_alloc(&p, 1), 0);
}

/* A range holding no whole page yields an empty pool, not a huge one. */
static void test_pool_init_no_whole_page(void **state)
{
	struct env *e = *state = env_new(NULL, 4);
	struct page_pool p;

	pool_init(&p, POOL_PA + 0x800, POOL_PA + 0xc00, (uintptr_t)e->buf);
	assert_int_equal(pool_alloc(&p, 1), 0);
}

static void test_pt_init(void **state)
{
	struct env *e = *state = env_new(NULL, 1);

	assert_int_equal(pt_init(&e->pt, &pt_format_x86, &e->pool), 0);
	assert_int_equal(e->pt.root, POOL_PA);
	assert_true(all_bytes(e->buf, 4096, 0));
	struct pagetable other;
	assert_int_equal(pt_init(&other, &pt_format_x86, &e->pool), -ENOMEM);
	assert_unmapped(e, 0);
}

/* --- mapping and lookup ---------------------------------------------------------- */

static void test_map_4k(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0x5000, 0x12345000, 0x1000, RW), 0);
	assert_maps(e, 0x5000, 0x12345000, RW, 0x1000);
	assert_maps(e, 0x5abc, 0x12345abc, RW, 0x1000);
	assert_maps(e, 0x5fff, 0x12345fff, RW, 0x1000);
	assert_unmapped(e, 0x4fff);
	assert_unmapped(e, 0x6000);
	assert_unmapped(e, 0x5000 + GiB(1));
	assert_unmapped(e, 0x5000 + GiB(512));
}

static void test_map_2m(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, MiB(4), GiB(3), MiB(4), RWX), 0);
	assert_maps(e, MiB(4), GiB(3), kept(e, RWX), MiB(2));
	assert_maps(e, MiB(5) + 0x1234, GiB(3) + MiB(1) + 0x1234, kept(e, RWX), MiB(2));
	assert_maps(e, MiB(6), GiB(3) + MiB(2), kept(e, RWX), MiB(2));
	assert_maps(e, MiB(8) - 1, GiB(3) + MiB(4) - 1, kept(e, RWX), MiB(2));
	assert_unmapped(e, MiB(4) - 1);
	assert_unmapped(e, MiB(8));
}

/* 4K head, 2M middle, 4K tail: the largest pages alignment allows. */
static void test_map_unaligned_mix(void **state)
{
	struct env *e = *state;
	u64 va = 0x1ff000, off = GiB(1), size = 0x402000;	/* [0x1ff000, 0x601000) */

	assert_int_equal(pt_map(&e->pt, va, va + off, size, RW), 0);
	assert_maps(e, 0x1ff000, 0x1ff000 + off, RW, 0x1000);
	assert_maps(e, 0x200000, 0x200000 + off, RW, MiB(2));
	assert_maps(e, 0x3fffff, 0x3fffff + off, RW, MiB(2));
	assert_maps(e, 0x400000, 0x400000 + off, RW, MiB(2));
	assert_maps(e, 0x600000, 0x600000 + off, RW, 0x1000);
	assert_unmapped(e, 0x1fe000);
	assert_unmapped(e, 0x601000);
}

/* va 2M-aligned but pa not: only 4K pages will do. */
static void test_map_pa_misaligned(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, MiB(2), MiB(2) + 0x1000, MiB(4), RW), 0);
	for (u64 va = MiB(2); va < MiB(6); va += 0x1000)
		assert_maps(e, va, va + 0x1000, RW, 0x1000);
	assert_unmapped(e, MiB(6));
}

/* 1 GiB aligned ranges still get 2 MiB pages: large_1g is false in both formats. */
static void test_map_never_1g(void **state)
{
	struct env *e = *state;

	assert_false(pt_format_x86.large_1g);
	assert_false(pt_format_ept.large_1g);
	assert_int_equal(pt_map(&e->pt, GiB(1), GiB(2), GiB(1), RW), 0);
	for (u64 va = GiB(1); va < GiB(2); va += MiB(2))
		assert_maps(e, va + 0x555, va + GiB(1) + 0x555, RW, MiB(2));
	u64 *l3 = raw_entry(e, GiB(1), 3);
	assert_non_null(l3);
	assert_true(*l3 & 1);
	assert_false(*l3 & PS);
}

/* With a format that allows them, 1 GiB leaves are used, and split to 2 MiB then 4 KiB. */
static void test_map_1g_format_and_split(void **state)
{
	static struct pt_format f1g;
	struct env *e = *state = env_new(NULL, 16);

	f1g = pt_format_x86;
	f1g.large_1g = true;
	assert_int_equal(pt_init(&e->pt, &f1g, &e->pool), 0);
	assert_int_equal(pt_map(&e->pt, GiB(1), GiB(5), GiB(1) + MiB(2), RW), 0);
	assert_maps(e, GiB(1) + 0x12345678, GiB(5) + 0x12345678, RW, GiB(1));
	assert_maps(e, GiB(2), GiB(6), RW, MiB(2));
	assert_true(*raw_entry(e, GiB(1), 3) & PS);

	assert_int_equal(pt_map(&e->pt, GiB(1) + MiB(10) + 0x3000, 0x7000, 0x1000, PT_R), 0);
	assert_maps(e, GiB(1) + MiB(10) + 0x3000, 0x7000, PT_R, 0x1000);
	assert_maps(e, GiB(1) + MiB(10) + 0x4000, GiB(5) + MiB(10) + 0x4000, RW, 0x1000);
	assert_maps(e, GiB(1) + MiB(10), GiB(5) + MiB(10), RW, 0x1000);
	assert_maps(e, GiB(1) + MiB(12), GiB(5) + MiB(12), RW, MiB(2));
	assert_maps(e, GiB(1), GiB(5), RW, MiB(2));
	assert_maps(e, GiB(2) - 1, GiB(6) - 1, RW, MiB(2));
	assert_true(*raw_entry(e, GiB(1) + MiB(12), 2) & PS);
	assert_false(*raw_entry(e, GiB(1) + MiB(10), 2) & PS);
}

static void test_map_high_address(void **state)
{
	struct env *e = *state;
	u64 va = 0xFFFFFFFF80000000ull;	/* the kernel code model's range */

	assert_int_equal(pt_map(&e->pt, va, MiB(16), MiB(2) + 0x1000, RX), 0);
	assert_maps(e, va, MiB(16), RX, MiB(2));
	assert_maps(e, va + MiB(2), MiB(18), RX, 0x1000);
	assert_unmapped(e, va - 0x1000);
	/* Top PML4 slot (index 511) only. */
	u64 *pml4 = pool_va(&e->pool, e->pt.root);
	assert_ptr_equal(raw_entry(e, va, 4), &pml4[511]);
	assert_true(pml4[511] & 1);
	for (int i = 0; i < 511; i++)
		assert_int_equal(pml4[i], 0);
}

static void test_map_size_zero(void **state)
{
	struct env *e = *state;
	u64 next = e->pool.next;

	assert_int_equal(pt_map(&e->pt, 0x1000, 0x1000, 0, RW), 0);
	assert_int_equal(e->pool.next, next);
	assert_unmapped(e, 0x1000);
}

static void test_map_lookup_null_outputs(void **state)
{
	struct env *e = *state;
	u64 pa = 0;

	assert_int_equal(pt_map(&e->pt, 0x1000, 0x9000, 0x1000, RW), 0);
	assert_int_equal(pt_lookup(&e->pt, 0x1000, NULL, NULL, NULL), 0);
	assert_int_equal(pt_lookup(&e->pt, 0x1010, &pa, NULL, NULL), 0);
	assert_int_equal(pa, 0x9010);
}

static void test_map_unaligned_args(void **state)
{
	struct env *e = *state;
	u64 next = e->pool.next;

	assert_int_equal(pt_map(&e->pt, 0x1001, 0x2000, 0x1000, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0x1000, 0x2800, 0x1000, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0x1000, 0x2000, 0x1800, RW), -EINVAL);
	assert_int_equal(pt_map(&e->pt, 0x1000, 0x2000, 0xfff, RW), -EINVAL);
	assert_int_equal(pt_unmap(&e->pt, 0x1004, 0x1000), -EINVAL);
	assert_int_equal(pt_unmap(&e->pt, 0x1000, 0x10), -EINVAL);
	assert_int_equal(e->pool.next, next);	/* nothing was built */
	assert_unmapped(e, 0x1000);
}

/* --- protections ------------------------------------------------------------------ */

static void test_prot_x86(void **state)
{
	struct env *e = *state;
	static const unsigned prots[] = { PT_R, RW, RX, RWX, PT_R | PT_U, RW | PT_U, RX | PT_U, RWX | PT_U };

	for (size_t i = 0; i < ARRAY_SIZE(prots); i++) {
		u64 va4 = 0x1000 * (i + 1), va2 = MiB(2) * (i + 1) + GiB(1);
		assert_int_equal(pt_map(&e->pt, va4, 0x100000 * i, 0x1000, prots[i]), 0);
		assert_int_equal(pt_map(&e->pt, va2, MiB(2) * i, MiB(2), prots[i]), 0);
		assert_maps(e, va4, 0x100000 * i, prots[i], 0x1000);
		assert_maps(e, va2, MiB(2) * i, prots[i], MiB(2));
	}
}

/* EPT has no user bit: PT_U is dropped, everything else round-trips. */
static void test_prot_ept(void **state)
{
	struct env *e = *state;
	static const unsigned prots[] = { PT_R, RW, RX, RWX, PT_X };

	for (size_t i = 0; i < ARRAY_SIZE(prots); i++) {
		u64 va4 = 0x1000 * (i + 1), va2 = MiB(2) * (i + 1) + GiB(1);
		assert_int_equal(pt_map(&e->pt, va4, 0x100000 * i, 0x1000, prots[i] | PT_U), 0);
		assert_int_equal(pt_map(&e->pt, va2, MiB(2) * i, MiB(2), prots[i]), 0);
		assert_maps(e, va4, 0x100000 * i, prots[i], 0x1000);
		assert_maps(e, va2, MiB(2) * i, prots[i], MiB(2));
	}
}

static void test_remap_changes_prot_and_target(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0x3000, 0x8000, 0x1000, RWX), 0);
	assert_int_equal(pt_map(&e->pt, 0x3000, 0x9000, 0x1000, PT_R), 0);
	assert_maps(e, 0x3000, 0x9000, PT_R, 0x1000);
}

/* --- raw entry formats ------------------------------------------------------------ */

static void test_raw_bits_x86(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0x7000, 0xabcd000, 0x1000, RW), 0);
	assert_int_equal(pt_map(&e->pt, 0x8000, 0xabce000, 0x1000, RX | PT_U), 0);
	assert_int_equal(pt_map(&e->pt, MiB(4), GiB(2), MiB(2), PT_R), 0);
	assert_int_equal(pt_map(&e->pt, MiB(6), GiB(2) + MiB(2), MiB(2), RWX | PT_U), 0);

	assert_int_equal(*raw_entry(e, 0x7000, 1), 0xabcd000ull | 0x1 | 0x2 | NX);
	assert_int_equal(*raw_entry(e, 0x8000, 1), 0xabce000ull | 0x1 | 0x4);
	assert_int_equal(*raw_entry(e, MiB(4), 2), GiB(2) | 0x1 | PS | NX);
	assert_int_equal(*raw_entry(e, MiB(6), 2), (GiB(2) + MiB(2)) | 0x1 | 0x2 | 0x4 | PS);
	/* Tables: P|RW|US, no NX, no PS, address inside the pool. */
	for (int l = 4; l >= 2; l--) {
		u64 t = *raw_entry(e, 0x7000, l);
		assert_int_equal(t & ~ADDR_MASK, 0x7);
	}
	assert_int_equal(*raw_entry(e, 0x7000, 4) & ADDR_MASK, e->pt.root + 0x1000);
}

static void test_raw_bits_ept(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0x7000, 0xabcd000, 0x1000, RW | PT_U), 0);
	assert_int_equal(pt_map(&e->pt, 0x8000, 0xabce000, 0x1000, RX), 0);
	assert_int_equal(pt_map(&e->pt, MiB(4), GiB(2), MiB(2), PT_R), 0);
	assert_int_equal(pt_map(&e->pt, MiB(6), GiB(2) + MiB(2), MiB(2), RWX), 0);

	assert_int_equal(*raw_entry(e, 0x7000, 1), 0xabcd000ull | 1 | 2 | EPT_WB);
	assert_int_equal(*raw_entry(e, 0x8000, 1), 0xabce000ull | 1 | 4 | EPT_WB);
	assert_int_equal(*raw_entry(e, MiB(4), 2), GiB(2) | 1 | PS | EPT_WB);
	assert_int_equal(*raw_entry(e, MiB(6), 2), (GiB(2) + MiB(2)) | 1 | 2 | 4 | PS | EPT_WB);
	/* Tables: RWX, no memory type, no PS. */
	for (int l = 4; l >= 2; l--)
		assert_int_equal(*raw_entry(e, 0x7000, l) & ~ADDR_MASK, 0x7);
}

/* --- splitting --------------------------------------------------------------------- */

static void test_split_2m_by_4k_map(void **state)
{
	struct env *e = *state;
	u64 va = GiB(1), pa = GiB(2);

	assert_int_equal(pt_map(&e->pt, va, pa, MiB(2), RW | PT_U), 0);
	assert_int_equal(pt_map(&e->pt, va + 0x5000, 0x12345000, 0x1000, RX), 0);
	assert_maps(e, va + 0x5000, 0x12345000, RX, 0x1000);
	for (u64 i = 0; i < 512; i++) {
		if (i == 5)
			continue;
		assert_maps(e, va + i * 0x1000, pa + i * 0x1000, RW | PT_U, 0x1000);
	}
	u64 l2 = *raw_entry(e, va, 2);
	assert_false(l2 & PS);
	assert_int_equal(*raw_entry(e, va + 0x4000, 1), (pa + 0x4000) | 0x7 | NX);
	assert_unmapped(e, va + MiB(2));
}

static void test_split_ept_keeps_bits(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0, 0, MiB(2), RX), 0);
	assert_int_equal(pt_map(&e->pt, 0x1000, 0x1000, 0x1000, RW), 0);
	assert_int_equal(*raw_entry(e, 0, 1), 0ull | 1 | 4 | EPT_WB);
	assert_int_equal(*raw_entry(e, 0x1000, 1), 0x1000ull | 1 | 2 | EPT_WB);
	assert_int_equal(*raw_entry(e, 0x1ff000, 1), 0x1ff000ull | 1 | 4 | EPT_WB);
}

/* A 2 MiB map over 4 KiB pages replaces them with one large page. */
static void test_map_2m_over_4k(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, MiB(2), 0x40000000, MiB(2), PT_R), 0);
	assert_int_equal(pt_map(&e->pt, MiB(2) + 0x3000, 0x1000, 0x1000, RW), 0);
	assert_int_equal(pt_map(&e->pt, MiB(2), MiB(8), MiB(2), RWX), 0);
	assert_maps(e, MiB(2) + 0x3000, MiB(8) + 0x3000, kept(e, RWX), MiB(2));
	assert_maps(e, MiB(4) - 1, MiB(10) - 1, kept(e, RWX), MiB(2));
}

/* --- unmapping --------------------------------------------------------------------- */

static void test_unmap_4k_hole_in_2m(void **state)
{
	struct env *e = *state;
	u64 va = MiB(2), pa = GiB(3);

	assert_int_equal(pt_map(&e->pt, va, pa, MiB(2), RW), 0);
	assert_int_equal(pt_unmap(&e->pt, va + MiB(1), 0x1000), 0);
	assert_unmapped(e, va + MiB(1));
	assert_unmapped(e, va + MiB(1) + 0xfff);
	for (u64 i = 0; i < 512; i++)
		if (i != 256)
			assert_maps(e, va + i * 0x1000, pa + i * 0x1000, RW, 0x1000);
}

static void test_unmap_4k_page(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0x10000, 0x20000, 0x3000, RW), 0);
	assert_int_equal(pt_unmap(&e->pt, 0x11000, 0x1000), 0);
	assert_maps(e, 0x10000, 0x20000, RW, 0x1000);
	assert_unmapped(e, 0x11000);
	assert_maps(e, 0x12000, 0x22000, RW, 0x1000);
}

static void test_unmap_large_span(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0, 0, GiB(2), RW), 0);
	/* Unaligned both ends: [1 MiB + 4K, 1 GiB + 3 MiB). */
	assert_int_equal(pt_unmap(&e->pt, MiB(1) + 0x1000, GiB(1) + MiB(2) - 0x1000), 0);
	assert_maps(e, 0, 0, RW, 0x1000);
	assert_maps(e, MiB(1), MiB(1), RW, 0x1000);
	assert_unmapped(e, MiB(1) + 0x1000);
	for (u64 va = MiB(2); va < GiB(1) + MiB(2); va += MiB(2))
		assert_unmapped(e, va);
	assert_unmapped(e, GiB(1) + MiB(3) - 0x1000);
	assert_maps(e, GiB(1) + MiB(3), GiB(1) + MiB(3), RW, 0x1000);
	assert_maps(e, GiB(1) + MiB(4), GiB(1) + MiB(4), RW, MiB(2));
	assert_maps(e, GiB(2) - 1, GiB(2) - 1, RW, MiB(2));
}

static void test_unmap_everything(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0, 0, GiB(4), RW), 0);
	assert_int_equal(pt_map(&e->pt, GiB(600), 0, 0x1000, RW), 0);
	assert_int_equal(pt_unmap(&e->pt, 0, GiB(1024)), 0);
	for (u64 va = 0; va < GiB(4); va += MiB(64))
		assert_unmapped(e, va);
	assert_unmapped(e, GiB(600));
}

static void test_unmap_nothing_there(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_unmap(&e->pt, GiB(1), MiB(6)), 0);
	assert_unmapped(e, GiB(1));
	assert_int_equal(pt_unmap(&e->pt, 0, 0), 0);
	/* And next to a mapping, leaving it alone. */
	assert_int_equal(pt_map(&e->pt, MiB(2), MiB(2), MiB(2), RW), 0);
	assert_int_equal(pt_unmap(&e->pt, MiB(4), MiB(2)), 0);
	assert_int_equal(pt_unmap(&e->pt, 0, MiB(2)), 0);
	assert_maps(e, MiB(2), MiB(2), RW, MiB(2));
	assert_maps(e, MiB(4) - 1, MiB(4) - 1, RW, MiB(2));
}

static void test_unmap_then_remap(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0, 0, MiB(4), RW), 0);
	assert_int_equal(pt_unmap(&e->pt, MiB(1), MiB(2)), 0);
	assert_int_equal(pt_map(&e->pt, MiB(1), GiB(1) + MiB(1), MiB(2), RX), 0);
	assert_maps(e, MiB(1), GiB(1) + MiB(1), kept(e, RX), 0x1000);
	assert_maps(e, MiB(3) - 0x1000, GiB(1) + MiB(3) - 0x1000, kept(e, RX), 0x1000);
	assert_maps(e, MiB(1) - 0x1000, MiB(1) - 0x1000, RW, 0x1000);
	assert_maps(e, MiB(3), MiB(3), RW, 0x1000);
}

/* --- running out of pages ---------------------------------------------------------- */

static void test_map_pool_exhausted(void **state)
{
	/* Root plus one page: a 4K mapping needs three more tables. */
	struct env *e = *state = env_new(&pt_format_x86, 2);

	assert_int_equal(pt_map(&e->pt, 0x1000, 0x1000, 0x1000, RW), -ENOMEM);
	assert_unmapped(e, 0x1000);
	assert_int_equal(pool_alloc(&e->pool, 1), 0);
}

static void test_split_pool_exhausted(void **state)
{
	/* Root + PDPT + PD: a 2M map fits exactly; splitting it needs one more page. */
	struct env *e = *state = env_new(&pt_format_x86, 3);

	assert_int_equal(pt_map(&e->pt, 0, GiB(1), MiB(2), RW), 0);
	assert_int_equal(pt_map(&e->pt, 0x1000, 0, 0x1000, PT_R), -ENOMEM);
	assert_int_equal(pt_unmap(&e->pt, 0x1000, 0x1000), -ENOMEM);
	/* The large page survives intact. */
	assert_maps(e, 0x1000, GiB(1) + 0x1000, RW, MiB(2));
	assert_maps(e, 0, GiB(1), RW, MiB(2));
}

static void test_map_runs_out_midway(void **state)
{
	struct env *e = *state = env_new(&pt_format_x86, 8);

	/* Root, PDPT, PD, then one PT per 2 MiB of 4K pages: room for five. */
	assert_int_equal(pt_map(&e->pt, 0, 0x1000, MiB(16), RW), -ENOMEM);
	assert_maps(e, 0, 0x1000, RW, 0x1000);
	assert_maps(e, MiB(10) - 0x1000, MiB(10), RW, 0x1000);
	assert_unmapped(e, MiB(10));
	assert_unmapped(e, MiB(16) - 0x1000);
}

/* --- the nested-paging use ----------------------------------------------------------- */

static void npt_like(struct env *e, unsigned prot, unsigned want_prot)
{
	u64 hole = 0x1be00000, hsize = MiB(64);

	assert_int_equal(pt_map(&e->pt, 0, 0, GiB(4), prot), 0);
	assert_int_equal(pt_unmap(&e->pt, hole, hsize), 0);
	for (u64 a = 0; a < GiB(4); a += MiB(2)) {
		if (a >= hole && a < hole + hsize) {
			assert_unmapped(e, a);
			assert_unmapped(e, a + MiB(2) - 1);
		} else {
			assert_maps(e, a, a, want_prot, MiB(2));
			assert_maps(e, a + MiB(2) - 1, a + MiB(2) - 1, want_prot, MiB(2));
		}
	}
	assert_unmapped(e, GiB(4));
	/* Six tables: PML4, PDPT, four PDs. */
	assert_int_equal(e->pool.next - e->pool.start, 6 * 4096);
}

/* --- the IOMMU formats --------------------------------------------------------------- */

#define AMD_IR (1ull << 61)
#define AMD_IW (1ull << 62)
#define AMD_NL(l) ((u64)(l) << 9)

static void test_iommu_identity_with_hole(void **state)
{
	npt_like(*state, RW, RW);
}

/* No execute right exists in an IOMMU table: PT_X and PT_U are dropped, R and W round-trip. */
static void test_prot_iommu(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0x1000, 0x5000, 0x1000, PT_R), 0);
	assert_int_equal(pt_map(&e->pt, 0x2000, 0x6000, 0x1000, RWX | PT_U), 0);
	assert_int_equal(pt_map(&e->pt, MiB(2), MiB(8), MiB(2), PT_W | PT_R), 0);
	assert_maps(e, 0x1000, 0x5000, PT_R, 0x1000);
	assert_maps(e, 0x2000, 0x6000, RW, 0x1000);
	assert_maps(e, MiB(2), MiB(8), RW, MiB(2));
}

/* VT-d: leaves R/W (+PS at 2 MiB), tables R|W and never PS (reserved at level 4). */
static void test_raw_bits_vtd(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0x7000, 0xabcd000, 0x1000, RW), 0);
	assert_int_equal(pt_map(&e->pt, 0x8000, 0xabce000, 0x1000, PT_R), 0);
	assert_int_equal(pt_map(&e->pt, MiB(4), GiB(2), MiB(2), RWX), 0);
	assert_int_equal(*raw_entry(e, 0x7000, 1), 0xabcd000ull | 3);
	assert_int_equal(*raw_entry(e, 0x8000, 1), 0xabce000ull | 1);
	assert_int_equal(*raw_entry(e, MiB(4), 2), GiB(2) | 3 | PS);
	for (int l = 4; l >= 2; l--)
		assert_int_equal(*raw_entry(e, 0x7000, l) & ~ADDR_MASK, 0x3);
}

/*
 * AMD-Vi: a non-leaf entry at level l has next level l-1, PR, IR and IW; a
 * leaf has next level 0 at any level (a 2 MiB page: no PS bit), PR and its rights.
 */
static void test_raw_bits_amdvi(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0x7000, 0xabcd000, 0x1000, RW), 0);
	assert_int_equal(pt_map(&e->pt, 0x8000, 0xabce000, 0x1000, PT_R), 0);
	assert_int_equal(pt_map(&e->pt, MiB(4), GiB(2), MiB(2), RW), 0);
	assert_int_equal(*raw_entry(e, 0x7000, 1), 0xabcd000ull | 1 | AMD_IR | AMD_IW);
	assert_int_equal(*raw_entry(e, 0x8000, 1), 0xabce000ull | 1 | AMD_IR);
	assert_int_equal(*raw_entry(e, MiB(4), 2), GiB(2) | 1 | AMD_IR | AMD_IW);
	for (int l = 4; l >= 2; l--)
		assert_int_equal(*raw_entry(e, 0x7000, l) & ~ADDR_MASK, 1 | AMD_IR | AMD_IW | AMD_NL(l - 1));
	assert_maps(e, MiB(4) + 0x1234, GiB(2) + 0x1234, RW, MiB(2));
}

/* Splitting an AMD-Vi 2 MiB leaf: the new table entry says level 1, its leaves keep the rights. */
static void test_split_amdvi(void **state)
{
	struct env *e = *state;

	assert_int_equal(pt_map(&e->pt, 0, GiB(1), MiB(4), PT_R), 0);
	assert_int_equal(pt_unmap(&e->pt, 0x3000, 0x1000), 0);
	assert_int_equal(*raw_entry(e, 0, 2) & ~ADDR_MASK, 1 | AMD_IR | AMD_IW | AMD_NL(1));
	assert_int_equal(*raw_entry(e, 0x2000, 1), (GiB(1) + 0x2000) | 1 | AMD_IR);
	assert_unmapped(e, 0x3000);
	assert_maps(e, 0x4000, GiB(1) + 0x4000, PT_R, 0x1000);
	assert_maps(e, MiB(2), GiB(1) + MiB(2), PT_R, MiB(2));
	assert_int_equal(*raw_entry(e, MiB(2), 2) & ~ADDR_MASK, 1 | AMD_IR);
}

static void test_npt_identity_with_hole(void **state)
{
	npt_like(*state, RWX | PT_U, RWX | PT_U);
}

static void test_ept_identity_with_hole(void **state)
{
	npt_like(*state, RWX | PT_U, RWX);
}

int main(void)
{
/* Tests run in both formats carry the format in their name. */
#define X86(t) { #t "/x86", t, setup_x86, teardown, NULL }
#define EPT(t) { #t "/ept", t, setup_ept, teardown, NULL }
#define VTD(t) { #t "/vtd", t, setup_vtd, teardown, NULL }
#define AMDVI(t) { #t "/amdvi", t, setup_amdvi, teardown, NULL }
#define OWN(t) cmocka_unit_test_setup_teardown(t, NULL, teardown)
	const struct CMUnitTest tests[] = {
		OWN(test_pool_alloc),
		OWN(test_pool_exhaustion),
		OWN(test_pool_init_aligns),
		OWN(test_pool_init_no_whole_page),
		OWN(test_pt_init),
		X86(test_map_4k),
		EPT(test_map_4k),
		X86(test_map_2m),
		EPT(test_map_2m),
		X86(test_map_unaligned_mix),
		EPT(test_map_unaligned_mix),
		X86(test_map_pa_misaligned),
		X86(test_map_never_1g),
		EPT(test_map_never_1g),
		OWN(test_map_1g_format_and_split),
		X86(test_map_high_address),
		X86(test_map_size_zero),
		X86(test_map_lookup_null_outputs),
		X86(test_map_unaligned_args),
		X86(test_prot_x86),
		EPT(test_prot_ept),
		X86(test_remap_changes_prot_and_target),
		X86(test_raw_bits_x86),
		EPT(test_raw_bits_ept),
		X86(test_split_2m_by_4k_map),
		EPT(test_split_ept_keeps_bits),
		X86(test_map_2m_over_4k),
		X86(test_unmap_4k_hole_in_2m),
		EPT(test_unmap_4k_hole_in_2m),
		X86(test_unmap_4k_page),
		X86(test_unmap_large_span),
		X86(test_unmap_everything),
		X86(test_unmap_nothing_there),
		X86(test_unmap_then_remap),
		OWN(test_map_pool_exhausted),
		OWN(test_split_pool_exhausted),
		OWN(test_map_runs_out_midway),
		X86(test_npt_identity_with_hole),
		EPT(test_ept_identity_with_hole),
		VTD(test_map_4k),
		AMDVI(test_map_4k),
		VTD(test_map_2m),
		AMDVI(test_map_2m),
		VTD(test_map_unaligned_mix),
		AMDVI(test_map_unaligned_mix),
		AMDVI(test_map_pa_misaligned),
		VTD(test_map_2m_over_4k),
		AMDVI(test_map_2m_over_4k),
		VTD(test_unmap_4k_hole_in_2m),
		AMDVI(test_unmap_4k_hole_in_2m),
		AMDVI(test_unmap_large_span),
		VTD(test_unmap_then_remap),
		AMDVI(test_unmap_then_remap),
		AMDVI(test_unmap_everything),
		VTD(test_prot_iommu),
		AMDVI(test_prot_iommu),
		VTD(test_raw_bits_vtd),
		AMDVI(test_raw_bits_amdvi),
		AMDVI(test_split_amdvi),
		VTD(test_iommu_identity_with_hole),
		AMDVI(test_iommu_identity_with_hole),
	};
	return RUN_TESTS(tests);
}
