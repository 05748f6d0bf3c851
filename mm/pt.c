/* The page-table engine: pure, host-tested. */
#include "tv/pt.h"
#include "tv/lib.h"

#define ADDR_MASK 0x000FFFFFFFFFF000ull

const struct pt_format pt_format_x86 = {
	.present = 1, .table = 0x7, .r = 1, .w = 2, .x = 0, .u = 4,
	.nx = 1ull << 63, .large = 0x80, .leaf = 0, .large_1g = false,
};

const struct pt_format pt_format_ept = {
	.present = 0x7, .table = 0x7, .r = 1, .w = 2, .x = 4, .u = 0,
	.nx = 0, .large = 0x80, .leaf = 6u << 3 /* write-back */, .large_1g = false,
};

/* VT-d: R(0) W(1); a non-leaf entry needs R|W too (rights are ANDed down the walk). */
const struct pt_format pt_format_vtd = {
	.present = 0x3, .table = 0x3, .r = 1, .w = 2, .x = 0, .u = 0,
	.nx = 0, .large = 0x80, .leaf = 0, .large_1g = false,
};

/* AMD-Vi: PR(0), next level (9-11), IR(61) IW(62), also ANDed down the walk. */
#define AMDVI_IR (1ull << 61)
#define AMDVI_IW (1ull << 62)
const struct pt_format pt_format_amdvi = {
	.present = 1, .table = 1 | AMDVI_IR | AMDVI_IW, .r = AMDVI_IR, .w = AMDVI_IW, .x = 0, .u = 0,
	.nx = 0, .large = 0, .leaf = 1, .large_1g = false, .next_level_bit = 9,
};

void pool_init(struct page_pool *p, u64 start, u64 end, uintptr_t va_base)
{
	p->start = ALIGN_UP(start, 4096);
	p->end = MAX(ALIGN_DOWN(end, 4096), p->start);
	p->next = p->start;
	p->va_base = va_base + (uintptr_t)(p->start - start);
}

void *pool_va(const struct page_pool *p, u64 pa)
{
	return (void *)(p->va_base + (uintptr_t)(pa - p->start));
}

u64 pool_alloc(struct page_pool *p, u64 npages)
{
	u64 pa = p->next;

	if (npages == 0 || npages > (p->end - p->next) / 4096)
		return 0;
	p->next += npages * 4096;
	memset(pool_va(p, pa), 0, npages * 4096);
	return pa;
}

int pt_init(struct pagetable *pt, const struct pt_format *fmt, struct page_pool *pool)
{
	pt->fmt = fmt;
	pt->pool = pool;
	pt->root = pool_alloc(pool, 1);
	return pt->root ? 0 : -ENOMEM;
}

static u64 *table_va(const struct pagetable *pt, u64 pa)
{
	return pool_va(pt->pool, pa);
}

static unsigned shift_of(int level)
{
	return 12 + 9 * (unsigned)(level - 1);
}

/* A non-leaf entry at 'level' pointing to the table at tpa. */
static u64 table_entry(const struct pt_format *f, u64 tpa, int level)
{
	return tpa | f->table | (f->next_level_bit ? (u64)(level - 1) << f->next_level_bit : 0);
}

static u64 leaf_bits(const struct pt_format *f, unsigned prot, int level)
{
	u64 e = f->leaf;

	if (prot & PT_R)
		e |= f->r;
	if (prot & PT_W)
		e |= f->w;
	if (prot & PT_U)
		e |= f->u;
	e |= (prot & PT_X) ? f->x : f->nx;
	if (level > 1)
		e |= f->large;
	return e;
}

static unsigned prot_of(const struct pt_format *f, u64 e)
{
	unsigned prot = 0;

	if (e & f->r)
		prot |= PT_R;
	if (f->w && (e & f->w))
		prot |= PT_W;
	if (f->u && (e & f->u))
		prot |= PT_U;
	if (f->x ? (e & f->x) : (f->nx && !(e & f->nx)))	/* IOMMU formats: never */
		prot |= PT_X;
	return prot;
}

static bool is_leaf(const struct pt_format *f, u64 e, int level)
{
	if (f->next_level_bit)
		return level == 1 || !((e >> f->next_level_bit) & 7);
	return level == 1 || (e & f->large);
}

/* Replace a large leaf at *slot (covering a level-'level' range) by a table of smaller leaves. */
static int split(struct pagetable *pt, u64 *slot, int level)
{
	const struct pt_format *f = pt->fmt;
	u64 e = *slot, base = e & ADDR_MASK & ~((1ull << shift_of(level)) - 1);
	unsigned prot = prot_of(f, e);
	u64 tpa = pool_alloc(pt->pool, 1);

	if (!tpa)
		return -ENOMEM;
	u64 *t = table_va(pt, tpa);
	for (unsigned i = 0; i < 512; i++)
		t[i] = (base + ((u64)i << shift_of(level - 1))) | leaf_bits(f, prot, level - 1);
	*slot = table_entry(f, tpa, level);
	return 0;
}

/*
 * Walk to the entry that maps va at 'level', creating tables (and splitting
 * large pages) on the way when 'create'.
 */
static u64 *walk(struct pagetable *pt, u64 va, int level, bool create, int *rc)
{
	const struct pt_format *f = pt->fmt;
	u64 *t = table_va(pt, pt->root);

	*rc = 0;
	for (int l = 4; l > level; l--) {
		u64 *slot = &t[(va >> shift_of(l)) & 511];
		if (!(*slot & f->present)) {
			if (!create)
				return NULL;
			u64 tpa = pool_alloc(pt->pool, 1);
			if (!tpa) {
				*rc = -ENOMEM;
				return NULL;
			}
			*slot = table_entry(f, tpa, l);
		} else if (is_leaf(f, *slot, l)) {
			if (!create)
				return NULL;
			*rc = split(pt, slot, l);
			if (*rc)
				return NULL;
		}
		t = table_va(pt, *slot & ADDR_MASK);
	}
	return &t[(va >> shift_of(level)) & 511];
}

static bool level_fits(const struct pt_format *f, int level, u64 va, u64 pa, u64 left)
{
	u64 sz = 1ull << shift_of(level);

	if (level == 3 && !f->large_1g)
		return false;
	return level == 1 || (!(va & (sz - 1)) && !(pa & (sz - 1)) && left >= sz);
}

int pt_map(struct pagetable *pt, u64 va, u64 pa, u64 size, unsigned prot)
{
	const struct pt_format *f = pt->fmt;
	int rc;

	if ((va | pa | size) & 0xfff)
		return -EINVAL;
	while (size) {
		int level = 3;
		while (!level_fits(f, level, va, pa, size))
			level--;
		u64 *slot = walk(pt, va, level, true, &rc);
		if (!slot)
			return rc ? rc : -ENOMEM;
		/* A table already here (finer mappings): replace it wholesale. */
		*slot = pa | leaf_bits(f, prot, level);
		u64 sz = 1ull << shift_of(level);
		va += sz;
		pa += sz;
		size -= sz;
	}
	return 0;
}

int pt_unmap(struct pagetable *pt, u64 va, u64 size)
{
	const struct pt_format *f = pt->fmt;

	if ((va | size) & 0xfff)
		return -EINVAL;
	while (size) {
		/* Find what maps va now; clear it whole if it fits, else split. */
		u64 *t = table_va(pt, pt->root);
		int l = 4;
		u64 *slot = NULL;
		for (;;) {
			slot = &t[(va >> shift_of(l)) & 511];
			u64 sz = 1ull << shift_of(l);
			bool aligned = !(va & (sz - 1)) && size >= sz;
			if (!(*slot & f->present) || aligned) {
				if (aligned)
					*slot = 0;	/* tables under it are leaked: pools never free */
				break;
			}
			if (is_leaf(f, *slot, l)) {
				int rc = split(pt, slot, l);
				if (rc)
					return rc;
			}
			t = table_va(pt, *slot & ADDR_MASK);
			l--;
		}
		u64 step = (1ull << shift_of(l)) - (va & ((1ull << shift_of(l)) - 1));
		if (step > size)
			step = size;
		va += step;
		size -= step;
	}
	return 0;
}

int pt_lookup(const struct pagetable *pt, u64 va, u64 *pa, unsigned *prot, u64 *pgsize)
{
	const struct pt_format *f = pt->fmt;
	const u64 *t = pool_va(pt->pool, pt->root);

	for (int l = 4; l >= 1; l--) {
		u64 e = t[(va >> shift_of(l)) & 511];
		if (!(e & f->present))
			return -ENOENT;
		if (is_leaf(f, e, l)) {
			u64 sz = 1ull << shift_of(l);
			if (pa)
				*pa = (e & ADDR_MASK & ~(sz - 1)) | (va & (sz - 1));
			if (prot)
				*prot = prot_of(f, e);
			if (pgsize)
				*pgsize = sz;
			return 0;
		}
		t = pool_va(pt->pool, e & ADDR_MASK);
	}
	return -ENOENT;
}
