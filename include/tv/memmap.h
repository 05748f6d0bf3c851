/* Physical memory maps (e820 / multiboot mmap) and their editing. */
#ifndef TV_MEMMAP_H
#define TV_MEMMAP_H

#include "tv/types.h"

#define MEM_USABLE 1
#define MEM_RESERVED 2
#define MEM_ACPI 3
#define MEM_NVS 4
#define MEM_UNUSABLE 5

#define MEMMAP_MAX 128

struct mem_range {
	u64 base, len;
	u32 type;
};

struct memmap {
	u32 n;
	struct mem_range e[MEMMAP_MAX];
};

/* Append a raw entry (zero-length entries are dropped); -ENOMEM if full. */
int memmap_add(struct memmap *m, u64 base, u64 len, u32 type);

/*
 * Sort, resolve overlaps (any non-usable type beats usable, else the higher
 * type wins) and merge neighbours of the same type.
 */
int memmap_normalize(struct memmap *m);

/* Mark [base, base+len) as 'type' whatever it was; result normalized. */
int memmap_set(struct memmap *m, u64 base, u64 len, u32 type);

/* Is [base, base+len) entirely usable RAM? */
bool memmap_is_usable(const struct memmap *m, u64 base, u64 len);

/*
 * Highest 'align'-aligned block of 'size' bytes that lies entirely in one
 * usable range and ends at or below 'limit'.  -ENOMEM if there is none.
 */
int memmap_find_top(const struct memmap *m, u64 limit, u64 size, u64 align, u64 *base);

/* End of the highest usable range (0 if none). */
u64 memmap_ram_top(const struct memmap *m);

#endif
