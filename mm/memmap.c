/* Memory-map editing: pure, host-tested. */
#include "tv/memmap.h"
#include "tv/lib.h"

int memmap_add(struct memmap *m, u64 base, u64 len, u32 type)
{
	if (base + len < base)
		len = UINT64_MAX - base;
	if (len == 0)
		return 0;	/* also what clamping leaves of an entry at 2^64 - 1 */
	if (m->n >= MEMMAP_MAX)
		return -ENOMEM;
	m->e[m->n++] = (struct mem_range){ base, len, type };
	return 0;
}

/* Usable RAM loses against everything; among the rest the higher type wins. */
static u32 rank(u32 type)
{
	return type == MEM_USABLE ? 0 : type;
}

static void sort_u64(u64 *v, u32 n)
{
	for (u32 i = 1; i < n; i++) {
		u64 x = v[i];
		u32 j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

int memmap_normalize(struct memmap *m)
{
	u64 pts[2 * MEMMAP_MAX];
	u32 np = 0;
	struct memmap out = { 0 };

	for (u32 i = 0; i < m->n; i++) {
		pts[np++] = m->e[i].base;
		pts[np++] = m->e[i].base + m->e[i].len;
	}
	sort_u64(pts, np);

	/* Every elementary interval between two boundaries gets one type. */
	for (u32 k = 0; k + 1 < np; k++) {
		u64 a = pts[k], b = pts[k + 1];
		u32 type = 0;
		bool covered = false;
		if (a == b)
			continue;
		for (u32 i = 0; i < m->n; i++) {
			const struct mem_range *r = &m->e[i];
			if (r->base <= a && b <= r->base + r->len) {
				if (!covered || rank(r->type) > rank(type))
					type = r->type;
				covered = true;
			}
		}
		if (!covered)
			continue;
		struct mem_range *last = out.n ? &out.e[out.n - 1] : NULL;
		if (last && last->type == type && last->base + last->len == a) {
			last->len += b - a;
		} else if (memmap_add(&out, a, b - a, type)) {
			return -ENOMEM;
		}
	}
	*m = out;
	return 0;
}

int memmap_set(struct memmap *m, u64 base, u64 len, u32 type)
{
	/* Normalize first so that the new entry can simply win by rank... */
	struct memmap tmp = *m;
	int rc;

	if (base + len < base)
		len = UINT64_MAX - base;	/* as memmap_add clamps it */
	if (len == 0)
		return 0;
	rc = memmap_normalize(&tmp);
	if (rc)
		return rc;
	/* ...but rank would let usable lose: cut the range out explicitly. */
	struct memmap out = { 0 };
	for (u32 i = 0; i < tmp.n; i++) {
		const struct mem_range *r = &tmp.e[i];
		u64 rs = r->base, re = r->base + r->len, ce = base + len;
		if (!ranges_overlap(rs, r->len, base, len)) {
			rc = memmap_add(&out, rs, r->len, r->type);
		} else {
			rc = 0;
			if (rs < base)
				rc = memmap_add(&out, rs, base - rs, r->type);
			if (!rc && re > ce)
				rc = memmap_add(&out, ce, re - ce, r->type);
		}
		if (rc)
			return rc;
	}
	rc = memmap_add(&out, base, len, type);
	if (rc)
		return rc;
	rc = memmap_normalize(&out);
	if (rc)
		return rc;
	*m = out;
	return 0;
}

bool memmap_is_usable(const struct memmap *m, u64 base, u64 len)
{
	struct memmap t = *m;

	if (base + len < base || memmap_normalize(&t))
		return false;
	/* Normalized, contiguous usable RAM is one entry. */
	for (u32 i = 0; i < t.n; i++) {
		const struct mem_range *r = &t.e[i];
		if (r->type == MEM_USABLE && r->base <= base && base + len <= r->base + r->len)
			return true;
	}
	return false;
}

int memmap_find_top(const struct memmap *m, u64 limit, u64 size, u64 align, u64 *base)
{
	struct memmap t = *m;
	bool found = false;
	u64 best = 0;

	if (memmap_normalize(&t))
		return -ENOMEM;
	for (u32 i = 0; i < t.n; i++) {
		const struct mem_range *r = &t.e[i];
		if (r->type != MEM_USABLE)
			continue;
		u64 end = MIN(r->base + r->len, limit);
		if (end < size || end <= r->base)
			continue;
		u64 b = ALIGN_DOWN(end - size, align);
		if (b < r->base)
			continue;
		if (!found || b > best) {
			best = b;
			found = true;
		}
	}
	if (!found)
		return -ENOMEM;
	*base = best;
	return 0;
}

u64 memmap_ram_top(const struct memmap *m)
{
	u64 top = 0;

	for (u32 i = 0; i < m->n; i++)
		if (m->e[i].type == MEM_USABLE)
			top = MAX(top, m->e[i].base + m->e[i].len);
	return top;
}
