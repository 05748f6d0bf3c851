/*
 * mm/memmap.c: the firmware's e820 / multiboot map, normalized and edited
 * (the hypervisor region cut out), searched for room.
 *
 * Input: u8 entry count (mod 140), each entry u8 kind (type in bits 0-2,
 * bit 3: raw u64 base and length, else u16 base and u16 length in pages),
 * then u8 type, base and length of a memmap_set (same encoding), and
 * u32 limit (pages), u8 log2 size, u8 log2 alignment for a search.
 *
 * Invariants, against a point-wise reference (at every place the type can
 * change, the first of the highest-ranked entries covering it, usable
 * ranking lowest): normalize gives the same types everywhere in sorted,
 * non-overlapping, non-wrapping, merged entries, or -ENOMEM leaving the map
 * as it was; set gives the new type over its range (ending at 2^64 - 1 if
 * it would go past) and the old one elsewhere, and changes nothing for an
 * empty range; is_usable is true exactly when one usable range covers the
 * range; find_top gives an aligned block below the limit inside usable RAM,
 * the highest there is, and -ENOMEM only when there is none; ram_top is the
 * end of the highest usable place (of a raw map: of its highest usable entry).
 */
#include "fuzz.h"

#include "tv/memmap.h"

#define PTS_MAX (8 * MEMMAP_MAX + 16)

static u32 rank(u32 type)
{
	return type == MEM_USABLE ? 0 : type;
}

/* The type at x of a (raw) map, 0 for a hole. */
static u32 type_at(const struct memmap *m, u64 x)
{
	u32 type = 0;
	bool covered = false;

	for (u32 i = 0; i < m->n; i++) {
		const struct mem_range *r = &m->e[i];
		if (r->base <= x && x - r->base < r->len) {
			if (!covered || rank(r->type) > rank(type))
				type = r->type;
			covered = true;
		}
	}
	return type;
}

static void check_normal(const struct memmap *m)
{
	CHECK(m->n <= MEMMAP_MAX);
	for (u32 i = 0; i < m->n; i++) {
		const struct mem_range *e = &m->e[i];
		CHECK(e->len > 0 && e->base + e->len >= e->base);
		if (i) {
			const struct mem_range *p = &m->e[i - 1];
			CHECK(p->base + p->len <= e->base);
			CHECK(p->base + p->len < e->base || p->type != e->type);
		}
	}
}

struct points {
	u32 n;
	u64 x[PTS_MAX];
};

static void add_pt(struct points *p, u64 x)
{
	if (p->n + 2 <= PTS_MAX) {
		p->x[p->n++] = x;
		p->x[p->n++] = x - 1;
	}
}

static void add_map(struct points *p, const struct memmap *m)
{
	for (u32 i = 0; i < m->n; i++) {
		add_pt(p, m->e[i].base);
		add_pt(p, m->e[i].base + m->e[i].len);
	}
}

static void take_range(struct fuzz_in *in, u8 kind, u64 *base, u64 *len)
{
	if (kind & 8) {
		*base = take(in, 8);
		*len = take(in, 8);
	} else {
		*base = take(in, 2) << 12;
		*len = take(in, 2) << 12;
	}
}

/* The highest aligned block of size bytes ending at or below limit in one usable entry. */
static bool best_block(const struct memmap *norm, u64 limit, u64 size, u64 align, u64 *best)
{
	bool found = false;

	for (u32 i = 0; i < norm->n; i++) {
		const struct mem_range *r = &norm->e[i];
		u64 end = MIN(r->base + r->len, limit);
		if (r->type != MEM_USABLE || end < size || end <= r->base)
			continue;
		u64 b = (end - size) & ~(align - 1);
		if (b >= r->base && (!found || b > *best)) {
			*best = b;
			found = true;
		}
	}
	return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct memmap *raw = alloc_exact(1, sizeof(*raw)), *m = alloc_exact(1, sizeof(*m));
	struct points *pts = alloc_exact(1, sizeof(*pts));
	u32 n = (u32)(take(&in, 1) % 140);

	raw->n = 0;
	for (u32 i = 0; i < n; i++) {
		u8 kind = (u8)take(&in, 1);
		u64 base, len;
		take_range(&in, kind, &base, &len);
		int rc = memmap_add(raw, base, len, kind & 7);
		CHECK(rc == 0 || (rc == -ENOMEM && raw->n == MEMMAP_MAX));
	}
	u8 skind = (u8)take(&in, 1);
	u64 sbase, slen;
	take_range(&in, skind, &sbase, &slen);
	u64 limit = take(&in, 4) << 12;
	u64 fsize = 1ull << (take(&in, 1) % 40), align = 1ull << (take(&in, 1) % 32);

	pts->n = 0;
	add_map(pts, raw);

	/* normalize */
	*m = *raw;
	int rc = memmap_normalize(m);
	CHECK(rc == 0 || rc == -ENOMEM);
	if (rc) {
		CHECK(!memcmp(m, raw, sizeof(*m)));
		goto out;
	}
	check_normal(m);
	for (u32 i = 0; i < pts->n; i++)
		CHECK(type_at(m, pts->x[i]) == type_at(raw, pts->x[i]));
	/* ram_top: the end of the highest usable place */
	u64 top = memmap_ram_top(m);
	CHECK(top == 0 || type_at(raw, top - 1) == MEM_USABLE);
	for (u32 i = 0; i < pts->n; i++)
		CHECK(pts->x[i] < top || type_at(raw, pts->x[i]) != MEM_USABLE);
	u64 rtop = 0;
	for (u32 i = 0; i < raw->n; i++)
		if (raw->e[i].type == MEM_USABLE)
			rtop = MAX(rtop, raw->e[i].base + raw->e[i].len);
	CHECK(memmap_ram_top(raw) == rtop);

	/* is_usable over the set range */
	if (slen && sbase + slen >= sbase) {
		bool want = false;
		for (u32 i = 0; i < m->n; i++)
			want = want || (m->e[i].type == MEM_USABLE && m->e[i].base <= sbase &&
					sbase + slen <= m->e[i].base + m->e[i].len);
		CHECK(memmap_is_usable(raw, sbase, slen) == want);
	}

	/* find_top */
	u64 got = 0, best = 0;
	rc = memmap_find_top(raw, limit, fsize, align, &got);
	bool found = best_block(m, limit, fsize, align, &best);
	CHECK(rc == 0 || rc == -ENOMEM);
	CHECK((rc == 0) == found);
	if (rc == 0) {
		CHECK(got == best && got % align == 0 && got + fsize <= limit);
		CHECK(memmap_is_usable(raw, got, fsize));
	}

	/* set */
	struct memmap *s = alloc_exact(1, sizeof(*s));
	*s = *raw;
	u32 stype = skind & 7;
	rc = memmap_set(s, sbase, slen, stype);
	CHECK(rc == 0 || rc == -ENOMEM);
	if (rc == 0) {
		/* A range past 2^64 ends there; nothing left of it changes nothing. */
		u64 send = sbase + slen < sbase ? UINT64_MAX : sbase + slen;
		slen = send - sbase;
		if (slen)
			check_normal(s);
		else
			CHECK(!memcmp(s, raw, sizeof(*s)));
		add_pt(pts, sbase);
		add_pt(pts, send);
		add_map(pts, s);
		for (u32 i = 0; slen && i < pts->n; i++) {
			u64 x = pts->x[i];
			u32 want = x >= sbase && x < send ? stype : type_at(raw, x);
			if (type_at(s, x) != want)
				fprintf(stderr, "memmap_set(%#llx, %#llx, %u): type at %#llx is %u, expected %u\n",
					(unsigned long long)sbase, (unsigned long long)slen, stype,
					(unsigned long long)x, type_at(s, x), want);
			CHECK(type_at(s, x) == want);
		}
	}
	free(s);
out:
	free(pts);
	free(m);
	free(raw);
	return 0;
}
