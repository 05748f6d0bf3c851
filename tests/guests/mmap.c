/* SPDX-License-Identifier: MIT */
/*
 * mmap: the multiboot memory map thinvisor gives its guest.  The
 * hypervisor region must be reserved (type 2) and overlap no usable entry;
 * there must be usable RAM above 1 MiB, the guest image must sit in usable
 * RAM, and mem_upper must not claim memory the map does not call usable.
 */
#include "tg.h"

const char test_name[] = "mmap";

#define MIB (1ull << 20)

static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Is [base, base+len) entirely covered by entries of this type?  Walks the
 * map repeatedly so unsorted or overlapping entries are fine. */
static int covered_by(uint64_t base, uint64_t len, uint32_t type)
{
	uint64_t cur = base, end = base + len;
	while (cur < end) {
		uint64_t next = cur;
		for (const struct mb_mmap_entry *e = mmap_first(); e; e = mmap_next(e))
			if (e->type == type && e->addr <= cur && e->addr + e->len > cur &&
			    e->addr + e->len > next)
				next = e->addr + e->len;
		if (next == cur)
			return 0;
		cur = next;
	}
	return 1;
}

void test_main(void)
{
	if (!(mb->flags & MB_INFO_MMAP))
		fail(test_name, "no memory map (multiboot flags %08x lack bit 6)", mb->flags);
	printf("mmap: %u bytes of map at %08x:\n", mb->mmap_length, mb->mmap_addr);

	int n = 0;
	uint64_t usable_above_1m = 0;
	for (const struct mb_mmap_entry *e = mmap_first(); e; e = mmap_next(e), n++) {
		printf("  %016llx-%016llx type %u (%s)\n", e->addr, e->addr + e->len - 1,
		       e->type, mmap_type_name(e->type));
		if (e->type == 1 && e->addr + e->len > MIB) {
			uint64_t lo = e->addr > MIB ? e->addr : MIB;
			usable_above_1m += e->addr + e->len - lo;
		}
	}
	check(n > 0, "memory map has %d entries", n);
	check(usable_above_1m >= MIB, "usable RAM above 1 MiB: %llu KiB",
	      usable_above_1m >> 10);

	uint32_t img = (uint32_t)(uintptr_t)__image_start;
	uint32_t img_len = (uint32_t)(__image_end - __image_start);
	check(covered_by(img, img_len, 1), "guest image %08x-%08x lies in usable RAM",
	      img, img + img_len - 1);

	if (check(mb->flags & MB_INFO_MEM, "mem_lower/mem_upper present (flags bit 0)")) {
		printf("mmap: mem_lower %u KiB, mem_upper %u KiB\n", mb->mem_lower,
		       mb->mem_upper);
		check(mb->mem_upper > 0 &&
			      covered_by(MIB, (uint64_t)mb->mem_upper << 10, 1),
		      "mem_upper: 1 MiB + %u KiB (to %08llx) is all usable in the map",
		      mb->mem_upper, MIB + ((uint64_t)mb->mem_upper << 10));
	}

	uint64_t base, size;
	hv_region(&base, &size);

	check(covered_by(base, size, 2), "hypervisor region is covered by type-2 entries");
	int bad = 0;
	for (const struct mb_mmap_entry *e = mmap_first(); e; e = mmap_next(e))
		if (e->type == 1 && overlaps(e->addr, e->len, base, size)) {
			check(0, "usable entry %016llx+%llx overlaps the hypervisor region",
			      e->addr, e->len);
			bad++;
		}
	if (!bad)
		check(1, "no usable entry overlaps the hypervisor region");
	tg_finish();
}
