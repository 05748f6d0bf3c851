/*
 * The one page-table engine: 4-level x86-64-shaped tables for the
 * hypervisor's own address space, AMD NPT, Intel EPT and the IOMMUs (VT-d
 * second-level and AMD-Vi tables).  A format describes the bits; the
 * engine only walks and fills.
 */
#ifndef TV_PT_H
#define TV_PT_H

#include "tv/types.h"

#define PT_R 1u
#define PT_W 2u
#define PT_X 4u
#define PT_U 8u		/* user; NPT needs it on every entry */

struct pt_format {
	u64 present;	/* bits that make an entry present (any of them) */
	u64 table;	/* bits of a non-leaf entry */
	u64 r, w, x, u;	/* leaf bits granted by PT_R/W/X/U */
	u64 nx;		/* leaf bit set when PT_X is not granted */
	u64 large;	/* page-size bit in level-2/3 leaves */
	u64 leaf;	/* bits set in every leaf (EPT memory type) */
	bool large_1g;	/* 1 GiB leaves allowed */
	/*
	 * AMD-Vi: a 3-bit "next level" field at this bit in every entry: the
	 * level of the table a non-leaf entry points to, 0 in a leaf (so a
	 * level-2/3 entry with 0 there is a large page, and 'large' is 0).
	 * 0 for formats without one.
	 */
	u8 next_level_bit;
};

extern const struct pt_format pt_format_x86;	/* host tables and AMD NPT */
extern const struct pt_format pt_format_ept;
extern const struct pt_format pt_format_vtd;	/* VT-d second-level tables */
extern const struct pt_format pt_format_amdvi;	/* AMD-Vi I/O page tables */

/* Pages for tables come from a pool of physical pages reachable at va_base. */
struct page_pool {
	u64 start, end, next;	/* physical */
	uintptr_t va_base;	/* virtual address of 'start' */
};

void pool_init(struct page_pool *p, u64 start, u64 end, uintptr_t va_base);
/* Allocate n zeroed, contiguous pages; returns the physical address or 0. */
u64 pool_alloc(struct page_pool *p, u64 npages);
void *pool_va(const struct page_pool *p, u64 pa);

struct pagetable {
	const struct pt_format *fmt;
	struct page_pool *pool;
	u64 root;	/* physical address of the top table */
};

int pt_init(struct pagetable *pt, const struct pt_format *fmt, struct page_pool *pool);

/*
 * Map [va, va+size) to [pa, pa+size) with prot, using the largest pages that
 * alignment allows and splitting larger pages that are already there.
 * va, pa and size must be 4 KiB aligned.
 */
int pt_map(struct pagetable *pt, u64 va, u64 pa, u64 size, unsigned prot);

/* Remove every mapping in [va, va+size), splitting large pages as needed. */
int pt_unmap(struct pagetable *pt, u64 va, u64 size);

/* Translate va; returns 0 and fills pa/prot/page size, or -ENOENT. */
int pt_lookup(const struct pagetable *pt, u64 va, u64 *pa, unsigned *prot, u64 *pgsize);

#endif
