/*
 * bootinfo_parse (core/bootinfo.c): the multiboot 1 or 2 information a boot
 * loader left in memory, here fuzzed memory behind a fake physmem window.
 *
 * Input: u8 magic (multiboot 1, multiboot 2, or a wrong one), u8 window
 * start in 4 KiB pages, u16 offset of the information in the window, then
 * the memory (all that is left).
 *
 * Invariants: 0 or -EINVAL with a reason; only the window is read (it is
 * an exactly sized heap block); nothing is written outside struct bootinfo;
 * on success the protocol is the magic's, every string is terminated inside
 * its field, at most 8 modules each with start <= end, and the memory map
 * is normalized: 1 to 128 entries, non-empty, sorted, not overlapping, not
 * wrapping, touching entries of different types.
 */
#include "fuzz.h"

#include "tv/bootinfo.h"

static void check_map(const struct memmap *m)
{
	CHECK(m->n >= 1 && m->n <= MEMMAP_MAX);
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const u32 magics[] = { MB1_BOOT_MAGIC, MB2_BOOT_MAGIC, 0x1BADB002u };
	struct fuzz_in in = { data, size };
	u32 magic = magics[take(&in, 1) % 3];
	u64 start = take(&in, 1) << 12;
	u64 info_pa = start + take(&in, 2);
	struct fuzz_ram ram;
	struct bootinfo *bi = alloc_exact(1, sizeof(*bi));
	const char *err = NULL;

	ram_init(&ram, start, &in);
	int rc = bootinfo_parse(magic, info_pa, &ram.pm, bi, &err);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc) {
		CHECK(err && *err);
	} else {
		CHECK(bi->protocol == (magic == MB1_BOOT_MAGIC ? 1 : 2) && magic != magics[2]);
		CHECK(memchr(bi->cmdline, 0, sizeof(bi->cmdline)) != NULL);
		CHECK(memchr(bi->loader, 0, sizeof(bi->loader)) != NULL);
		CHECK(bi->nmods <= BOOT_MODS_MAX);
		for (u32 i = 0; i < bi->nmods; i++) {
			CHECK(bi->mods[i].start <= bi->mods[i].end);
			CHECK(memchr(bi->mods[i].string, 0, sizeof(bi->mods[i].string)) != NULL);
		}
		check_map(&bi->mmap);
	}
	free(bi);
	ram_free(&ram);
	return 0;
}
