/* core/bootinfo.c: multiboot 1 and 2 information parsing through a physmem window. */
#include "util.h"

#include "tv/bootinfo.h"

#define RAM_SIZE MiB(1)
#define INFO_PA 0x9000ull	/* multiboot info (8-aligned for mb2) */
#define STR_PA 0x20000ull	/* strings */
#define MODS_PA 0x30000ull	/* mb1 module list */
#define MMAP_PA 0x40000ull	/* mb1 memory map */

/* mb1 info offsets */
#define MB1_FLAGS 0
#define MB1_MEM_LOWER 4
#define MB1_MEM_UPPER 8
#define MB1_CMDLINE 16
#define MB1_MODS_COUNT 20
#define MB1_MODS_ADDR 24
#define MB1_MMAP_LENGTH 44
#define MB1_MMAP_ADDR 48
#define MB1_LOADER 64

#define F_MEM (1u << 0)
#define F_CMDLINE (1u << 2)
#define F_MODS (1u << 3)
#define F_MMAP (1u << 6)
#define F_LOADER (1u << 9)

struct ctx {
	struct fake_ram *ram;
	struct bootinfo bi;
	const char *err;
	u64 str_next;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->ram = fake_ram_new(0, RAM_SIZE, 0);
	c->str_next = STR_PA;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	fake_ram_free(c->ram);
	free(c);
	return 0;
}

static int parse(struct ctx *c, u32 magic, u64 info_pa)
{
	c->err = NULL;
	memset(&c->bi, 0x5A, sizeof(c->bi));	/* parse must reset everything */
	return bootinfo_parse(magic, info_pa, &c->ram->pm, &c->bi, &c->err);
}

static void assert_fails(struct ctx *c, u32 magic, const char *needle)
{
	int rc = parse(c, magic, INFO_PA);
	if (rc != -EINVAL)
		fail_msg("bootinfo_parse = %d, expected -EINVAL", rc);
	assert_non_null(c->err);
	if (!strstr(c->err, needle))
		fail_msg("error '%s' does not mention '%s'", c->err, needle);
}

/* Place a NUL-terminated string in fake RAM; returns its address. */
static u32 str(struct ctx *c, const char *s)
{
	u64 pa = c->str_next;
	size_t n = strlen(s) + 1;
	memcpy(fake_at(c->ram, pa, n), s, n);
	c->str_next = ALIGN_UP(pa + n, 16);
	return (u32)pa;
}

static u8 *info(struct ctx *c)
{
	return fake_at(c->ram, INFO_PA, 88);
}

static void assert_map(const struct memmap *m, const struct mem_range *exp, size_t n)
{
	assert_int_equal(m->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(m->e[i].base, exp[i].base);
		assert_int_equal(m->e[i].len, exp[i].len);
		assert_int_equal(m->e[i].type, exp[i].type);
	}
}

#define RANGES(...) ((const struct mem_range[]){ __VA_ARGS__ }), \
	ARRAY_SIZE(((const struct mem_range[]){ __VA_ARGS__ }))

/* ======================= multiboot 1 ======================= */

/* Write mb1 mmap entries with the given size field (20 = standard). */
static void mb1_mmap(struct ctx *c, u32 esize, const struct mem_range *r, size_t n)
{
	u8 *p = fake_at(c->ram, MMAP_PA, (esize + 4) * n);
	for (size_t i = 0; i < n; i++, p += esize + 4) {
		put32(p, esize);
		put64(p + 4, r[i].base);
		put64(p + 12, r[i].len);
		put32(p + 20, r[i].type);
	}
	put32(info(c) + MB1_MMAP_LENGTH, (u32)((esize + 4) * n));
	put32(info(c) + MB1_MMAP_ADDR, (u32)MMAP_PA);
}

static void mb1_mods(struct ctx *c, u32 count)
{
	u8 *m = fake_at(c->ram, MODS_PA, 16 * (u64)count);
	for (u32 i = 0; i < count; i++) {
		char s[48];
		snprintf(s, sizeof(s), "/boot/mod%u arg%u", i, i);
		put32(m + 16 * i, 0x100000 + 0x10000 * i);
		put32(m + 16 * i + 4, 0x100000 + 0x10000 * i + 0x1234);
		put32(m + 16 * i + 8, str(c, s));
		put32(m + 16 * i + 12, 0);
	}
	put32(info(c) + MB1_MODS_COUNT, count);
	put32(info(c) + MB1_MODS_ADDR, (u32)MODS_PA);
}

/* A QEMU-style multiboot 1 info block with everything. */
static void mb1_full(struct ctx *c)
{
	u8 *i = info(c);

	put32(i + MB1_FLAGS, F_MEM | F_CMDLINE | F_MODS | F_MMAP | F_LOADER);
	put32(i + MB1_MEM_LOWER, 639);
	put32(i + MB1_MEM_UPPER, 523136);
	put32(i + MB1_CMDLINE, str(c, "/boot/thinvisor.elf hvmem=32M debug"));
	put32(i + MB1_LOADER, str(c, "qemu"));
	mb1_mods(c, 2);
	/* Unsorted, with a reserved range overlapping usable RAM. */
	mb1_mmap(c, 20, RANGES({ 0x100000, 0x1fee0000, MEM_USABLE }, { 0, 0x9fc00, MEM_USABLE },
			       { 0x9fc00, 0x400, MEM_RESERVED }, { 0xf0000, 0x10000, MEM_RESERVED },
			       { 0x1ff00000, 0x100000, MEM_RESERVED }));
}

static void test_mb1_full(void **state)
{
	struct ctx *c = *state;

	mb1_full(c);
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_int_equal(c->bi.protocol, 1);
	assert_string_equal(c->bi.cmdline, "/boot/thinvisor.elf hvmem=32M debug");
	assert_string_equal(c->bi.loader, "qemu");
	assert_int_equal(c->bi.mem_lower_kb, 639);
	assert_int_equal(c->bi.mem_upper_kb, 523136);
	assert_int_equal(c->bi.nmods, 2);
	assert_int_equal(c->bi.mods[0].start, 0x100000);
	assert_int_equal(c->bi.mods[0].end, 0x101234);
	assert_string_equal(c->bi.mods[0].string, "/boot/mod0 arg0");
	assert_int_equal(c->bi.mods[1].start, 0x110000);
	assert_int_equal(c->bi.mods[1].end, 0x111234);
	assert_string_equal(c->bi.mods[1].string, "/boot/mod1 arg1");
	assert_map(&c->bi.mmap, RANGES({ 0, 0x9fc00, MEM_USABLE }, { 0x9fc00, 0x400, MEM_RESERVED },
				       { 0xf0000, 0x10000, MEM_RESERVED }, { 0x100000, 0x1fe00000, MEM_USABLE },
				       { 0x1ff00000, 0x100000, MEM_RESERVED }));
}

/* Strings are copied: the loader's memory can be reused afterwards. */
static void test_mb1_strings_copied(void **state)
{
	struct ctx *c = *state;

	mb1_full(c);
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	memset(c->ram->buf + STR_PA, 'X', 0x1000);
	assert_string_equal(c->bi.cmdline, "/boot/thinvisor.elf hvmem=32M debug");
	assert_string_equal(c->bi.loader, "qemu");
	assert_string_equal(c->bi.mods[1].string, "/boot/mod1 arg1");
}

/* Flags not set: the fields are ignored, however bogus. */
static void test_mb1_flags_respected(void **state)
{
	struct ctx *c = *state;
	u8 *i = info(c);

	put32(i + MB1_FLAGS, F_MMAP);
	put32(i + MB1_MEM_LOWER, 1);
	put32(i + MB1_MEM_UPPER, 2);
	put32(i + MB1_CMDLINE, 0xFFFFFFF0);
	put32(i + MB1_LOADER, 0xFFFFFFF0);
	put32(i + MB1_MODS_COUNT, 100);
	put32(i + MB1_MODS_ADDR, 0xFFFFFFF0);
	mb1_mmap(c, 20, RANGES({ 0, MiB(512), MEM_USABLE }));
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_string_equal(c->bi.cmdline, "");
	assert_string_equal(c->bi.loader, "");
	assert_int_equal(c->bi.nmods, 0);
	assert_int_equal(c->bi.mem_lower_kb, 0);
	assert_int_equal(c->bi.mem_upper_kb, 0);
	assert_map(&c->bi.mmap, RANGES({ 0, MiB(512), MEM_USABLE }));
}

/* The size field gives the stride: 24-byte entries (size 24) are fine. */
static void test_mb1_mmap_larger_entries(void **state)
{
	struct ctx *c = *state;

	put32(info(c) + MB1_FLAGS, F_MMAP);
	mb1_mmap(c, 24, RANGES({ 0, 0x9f000, MEM_USABLE }, { 0x100000, MiB(255), MEM_USABLE },
			       { MiB(256), MiB(1), MEM_ACPI }));
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_map(&c->bi.mmap, RANGES({ 0, 0x9f000, MEM_USABLE }, { 0x100000, MiB(255), MEM_USABLE },
				       { MiB(256), MiB(1), MEM_ACPI }));
}

static void test_mb1_mmap_entry_too_small(void **state)
{
	struct ctx *c = *state;

	put32(info(c) + MB1_FLAGS, F_MMAP);
	mb1_mmap(c, 20, RANGES({ 0, 0x9f000, MEM_USABLE }, { 0x100000, MiB(255), MEM_USABLE }));
	put32(fake_at(c->ram, MMAP_PA + 24, 4), 19);	/* second entry's size */
	assert_fails(c, MB1_BOOT_MAGIC, "too small");
	put32(fake_at(c->ram, MMAP_PA, 4), 0);		/* first entry's size */
	assert_fails(c, MB1_BOOT_MAGIC, "too small");
}

static void test_mb1_mmap_too_many_entries(void **state)
{
	struct ctx *c = *state;
	struct mem_range r[MEMMAP_MAX + 1];

	for (u32 k = 0; k < ARRAY_SIZE(r); k++)
		r[k] = (struct mem_range){ (u64)k * 0x2000, 0x1000, MEM_USABLE };
	put32(info(c) + MB1_FLAGS, F_MMAP);
	mb1_mmap(c, 20, r, ARRAY_SIZE(r));
	assert_fails(c, MB1_BOOT_MAGIC, "too many entries");
	/* One fewer fits. */
	put32(info(c) + MB1_MMAP_LENGTH, 24 * MEMMAP_MAX);
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_int_equal(c->bi.mmap.n, MEMMAP_MAX);
}

static void test_mb1_fallback_mem_lower_upper(void **state)
{
	struct ctx *c = *state;
	u8 *i = info(c);

	put32(i + MB1_FLAGS, F_MEM);
	put32(i + MB1_MEM_LOWER, 639);
	put32(i + MB1_MEM_UPPER, 130048);	/* 127 MiB */
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_map(&c->bi.mmap, RANGES({ 0, 639 * 1024, MEM_USABLE }, { MiB(1), MiB(127), MEM_USABLE }));

	/* mmap flag with an empty map falls back too. */
	put32(i + MB1_FLAGS, F_MEM | F_MMAP);
	put32(i + MB1_MMAP_LENGTH, 0);
	put32(i + MB1_MMAP_ADDR, (u32)MMAP_PA);
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_int_equal(c->bi.mmap.n, 2);

	/* No low memory: just the upper range. */
	put32(i + MB1_FLAGS, F_MEM);
	put32(i + MB1_MEM_LOWER, 0);
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_map(&c->bi.mmap, RANGES({ MiB(1), MiB(127), MEM_USABLE }));
}

/* A map, when given, wins over mem_lower/mem_upper. */
static void test_mb1_mmap_preferred_over_mem(void **state)
{
	struct ctx *c = *state;
	u8 *i = info(c);

	put32(i + MB1_FLAGS, F_MEM | F_MMAP);
	put32(i + MB1_MEM_LOWER, 639);
	put32(i + MB1_MEM_UPPER, 130048);
	mb1_mmap(c, 20, RANGES({ MiB(1), MiB(63), MEM_USABLE }));
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_map(&c->bi.mmap, RANGES({ MiB(1), MiB(63), MEM_USABLE }));
	assert_int_equal(c->bi.mem_upper_kb, 130048);
}

static void test_mb1_no_map(void **state)
{
	struct ctx *c = *state;
	u8 *i = info(c);

	put32(i + MB1_FLAGS, F_CMDLINE);
	put32(i + MB1_CMDLINE, str(c, "x"));
	assert_fails(c, MB1_BOOT_MAGIC, "no memory map");
	/* mem_upper = 0 gives nothing to fall back on either. */
	put32(i + MB1_FLAGS, F_MEM);
	put32(i + MB1_MEM_LOWER, 639);
	put32(i + MB1_MEM_UPPER, 0);
	assert_fails(c, MB1_BOOT_MAGIC, "no memory map");
}

/* Found by fuzz_bootinfo: a map whose only entry starts at 2^64 - 1 is no map. */
static void test_mb1_map_at_the_top_is_no_map(void **state)
{
	struct ctx *c = *state;

	put32(info(c) + MB1_FLAGS, F_MMAP);
	mb1_mmap(c, 20, RANGES({ UINT64_MAX, 0xFF00FF00000040ull, MEM_USABLE }));
	assert_fails(c, MB1_BOOT_MAGIC, "no memory map");
}

static void test_mb1_max_modules(void **state)
{
	struct ctx *c = *state;

	mb1_full(c);
	mb1_mods(c, BOOT_MODS_MAX);
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_int_equal(c->bi.nmods, BOOT_MODS_MAX);
	assert_string_equal(c->bi.mods[BOOT_MODS_MAX - 1].string, "/boot/mod7 arg7");
	assert_int_equal(c->bi.mods[BOOT_MODS_MAX - 1].start, 0x170000);
}

static void test_mb1_too_many_modules(void **state)
{
	struct ctx *c = *state;

	mb1_full(c);
	mb1_mods(c, BOOT_MODS_MAX + 1);
	assert_fails(c, MB1_BOOT_MAGIC, "too many boot modules");
}

static void test_mb1_module_bad_range_and_no_string(void **state)
{
	struct ctx *c = *state;

	mb1_full(c);
	u8 *m = fake_at(c->ram, MODS_PA, 32);
	put32(m + 16 + 8, 0);		/* second module: no string */
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_string_equal(c->bi.mods[1].string, "");
	put32(m + 4, 0xfffff);		/* first module ends before it starts */
	assert_fails(c, MB1_BOOT_MAGIC, "ends before it starts");
}

static void test_mb1_long_strings_truncated(void **state)
{
	struct ctx *c = *state;
	char *big = malloc(3000);

	assert_non_null(big);
	for (int k = 0; k < 2999; k++)
		big[k] = (char)('a' + k % 26);
	big[2999] = '\0';
	mb1_full(c);
	put32(info(c) + MB1_CMDLINE, str(c, big));
	put32(info(c) + MB1_LOADER, str(c, big));
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, INFO_PA), 0);
	assert_int_equal(strlen(c->bi.cmdline), BOOT_STR_MAX - 1);
	assert_memory_equal(c->bi.cmdline, big, BOOT_STR_MAX - 1);
	assert_int_equal(strlen(c->bi.loader), sizeof(c->bi.loader) - 1);
	assert_memory_equal(c->bi.loader, big, sizeof(c->bi.loader) - 1);
	free(big);
}

static void test_mb1_info_outside_window(void **state)
{
	struct ctx *c = *state;

	mb1_full(c);
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, RAM_SIZE), -EINVAL);
	assert_non_null(strstr(c->err, "unreadable"));
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, RAM_SIZE - 80), -EINVAL);	/* straddles the end */
	assert_int_equal(parse(c, MB1_BOOT_MAGIC, 0xFFFFFFFFFFFFFFF0ull), -EINVAL);

	/* A window that starts above the info. */
	struct physmem high = { (uintptr_t)c->ram->buf, 0x100000, RAM_SIZE };
	c->err = NULL;
	assert_int_equal(bootinfo_parse(MB1_BOOT_MAGIC, INFO_PA, &high, &c->bi, &c->err), -EINVAL);
	assert_non_null(c->err);
}

static void test_mb1_pointers_outside_window(void **state)
{
	struct ctx *c = *state;

	mb1_full(c);
	put32(info(c) + MB1_CMDLINE, (u32)RAM_SIZE + 0x1000);
	assert_fails(c, MB1_BOOT_MAGIC, "command line unreadable");

	mb1_full(c);
	put32(info(c) + MB1_LOADER, 0xFFFFFFFF);
	assert_fails(c, MB1_BOOT_MAGIC, "loader name unreadable");

	mb1_full(c);
	put32(info(c) + MB1_MODS_ADDR, (u32)RAM_SIZE - 16);	/* first fits, second does not */
	assert_fails(c, MB1_BOOT_MAGIC, "module list unreadable");

	mb1_full(c);
	put32(fake_at(c->ram, MODS_PA + 8, 4), (u32)RAM_SIZE);
	assert_fails(c, MB1_BOOT_MAGIC, "module string unreadable");

	mb1_full(c);
	put32(info(c) + MB1_MMAP_ADDR, (u32)RAM_SIZE - 8);
	assert_fails(c, MB1_BOOT_MAGIC, "memory map unreadable");
}

/* A string running into the end of the window without a NUL is unreadable, not overread. */
static void test_mb1_unterminated_string_at_window_end(void **state)
{
	struct ctx *c = *state;

	mb1_full(c);
	memset(c->ram->buf + RAM_SIZE - 16, 'A', 16);
	put32(info(c) + MB1_CMDLINE, (u32)RAM_SIZE - 16);
	assert_fails(c, MB1_BOOT_MAGIC, "command line unreadable");
}

static void test_bad_magic(void **state)
{
	struct ctx *c = *state;

	mb1_full(c);
	assert_fails(c, 0x1BADB002, "magic");	/* the header magic, not the boot magic */
	assert_fails(c, 0, "magic");
	assert_fails(c, MB2_BOOT_MAGIC + 1, "magic");
}

/* ======================= multiboot 2 ======================= */

struct mb2 {
	u8 *base;
	u32 off;
};

static struct mb2 mb2_begin(struct ctx *c)
{
	struct mb2 b = { fake_at(c->ram, INFO_PA, 0x10000), 8 };
	memset(b.base, 0, 0x10000);
	return b;
}

/* Append a tag of 'size' bytes (header included); returns a pointer to it. */
static u8 *mb2_tag(struct mb2 *b, u32 type, u32 size)
{
	u8 *t = b->base + b->off;
	put32(t, type);
	put32(t + 4, size);
	b->off += ALIGN_UP(size, 8);
	return t;
}

static void mb2_string(struct mb2 *b, u32 type, const char *s)
{
	u32 n = (u32)strlen(s) + 1;
	memcpy(mb2_tag(b, type, 8 + n) + 8, s, n);
}

static void mb2_module(struct mb2 *b, u32 start, u32 end, const char *s)
{
	u32 n = (u32)strlen(s) + 1;
	u8 *t = mb2_tag(b, 3, 16 + n);
	put32(t + 8, start);
	put32(t + 12, end);
	memcpy(t + 16, s, n);
}

static void mb2_meminfo(struct mb2 *b, u32 lower, u32 upper)
{
	u8 *t = mb2_tag(b, 4, 16);
	put32(t + 8, lower);
	put32(t + 12, upper);
}

static u8 *mb2_mmap(struct mb2 *b, u32 esize, const struct mem_range *r, size_t n)
{
	u8 *t = mb2_tag(b, 6, 16 + esize * (u32)n);
	put32(t + 8, esize);
	put32(t + 12, 0);
	for (size_t i = 0; i < n; i++) {
		u8 *e = t + 16 + esize * i;
		put64(e, r[i].base);
		put64(e + 8, r[i].len);
		put32(e + 16, r[i].type);
		put32(e + 20, 0);
	}
	return t;
}

static void mb2_end(struct mb2 *b)
{
	mb2_tag(b, 0, 8);
	put32(b->base, b->off);
}

static const struct mem_range qemu_ranges[] = {
	{ 0, 0x9fc00, MEM_USABLE }, { 0x9fc00, 0x400, MEM_RESERVED }, { 0xf0000, 0x10000, MEM_RESERVED },
	{ 0x100000, 0x1fee0000, MEM_USABLE }, { 0x1ffe0000, 0x20000, MEM_RESERVED },
	{ 0xfffc0000, 0x40000, MEM_RESERVED },
};

/* GRUB-like: odd-length strings so that tags need padding to 8 bytes. */
static void mb2_full(struct ctx *c, struct mb2 *b)
{
	*b = mb2_begin(c);
	mb2_string(b, 1, "hvmem=32M debug");	/* 8 + 16 = 24 */
	mb2_string(b, 2, "GRUB 2.06");		/* 8 + 10 = 18 -> padded to 24 */
	mb2_module(b, 0x200000, 0x2a0000, "/vmlinuz console=ttyS0");
	mb2_module(b, 0x300000, 0x3fffff, "/initrd.img");
	mb2_meminfo(b, 639, 523136);
	mb2_mmap(b, 24, qemu_ranges, ARRAY_SIZE(qemu_ranges));
}

static void test_mb2_full(void **state)
{
	struct ctx *c = *state;
	struct mb2 b;

	mb2_full(c, &b);
	mb2_end(&b);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, INFO_PA), 0);
	assert_int_equal(c->bi.protocol, 2);
	assert_string_equal(c->bi.cmdline, "hvmem=32M debug");
	assert_string_equal(c->bi.loader, "GRUB 2.06");
	assert_int_equal(c->bi.nmods, 2);
	assert_int_equal(c->bi.mods[0].start, 0x200000);
	assert_int_equal(c->bi.mods[0].end, 0x2a0000);
	assert_string_equal(c->bi.mods[0].string, "/vmlinuz console=ttyS0");
	assert_int_equal(c->bi.mods[1].start, 0x300000);
	assert_int_equal(c->bi.mods[1].end, 0x3fffff);
	assert_string_equal(c->bi.mods[1].string, "/initrd.img");
	assert_int_equal(c->bi.mem_lower_kb, 639);
	assert_int_equal(c->bi.mem_upper_kb, 523136);
	assert_map(&c->bi.mmap, qemu_ranges, ARRAY_SIZE(qemu_ranges));
}

static void test_mb2_strings_copied(void **state)
{
	struct ctx *c = *state;
	struct mb2 b;

	mb2_full(c, &b);
	mb2_end(&b);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, INFO_PA), 0);
	memset(b.base, 'X', b.off);
	assert_string_equal(c->bi.cmdline, "hvmem=32M debug");
	assert_string_equal(c->bi.loader, "GRUB 2.06");
	assert_string_equal(c->bi.mods[0].string, "/vmlinuz console=ttyS0");
}

/* Unknown tags (of any size) are skipped; the map is normalized. */
static void test_mb2_unknown_tags_and_normalize(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	memset(mb2_tag(&b, 21, 12) + 8, 0xEE, 4);	/* load base address */
	memset(mb2_tag(&b, 14, 8 + 20) + 8, 0xEE, 20);	/* ACPI RSDP, odd size */
	mb2_mmap(&b, 24, RANGES({ MiB(16), MiB(16), MEM_USABLE }, { 0, MiB(16), MEM_USABLE },
				{ MiB(20), MiB(1), MEM_NVS }));
	mb2_tag(&b, 0x1234, 8);
	mb2_string(&b, 1, "x");
	mb2_end(&b);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, INFO_PA), 0);
	assert_string_equal(c->bi.cmdline, "x");
	assert_map(&c->bi.mmap, RANGES({ 0, MiB(20), MEM_USABLE }, { MiB(20), MiB(1), MEM_NVS },
				       { MiB(21), MiB(11), MEM_USABLE }));
}

static void test_mb2_mmap_larger_entries(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	mb2_mmap(&b, 32, qemu_ranges, ARRAY_SIZE(qemu_ranges));
	mb2_end(&b);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, INFO_PA), 0);
	assert_map(&c->bi.mmap, qemu_ranges, ARRAY_SIZE(qemu_ranges));
}

/* Only whole entries inside the tag count. */
static void test_mb2_mmap_partial_entry_ignored(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	u8 *t = mb2_mmap(&b, 24, RANGES({ 0, MiB(64), MEM_USABLE }, { MiB(64), MiB(64), MEM_USABLE }));
	put32(t + 4, 16 + 24 + 20);	/* the second entry is cut short */
	mb2_end(&b);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, INFO_PA), 0);
	assert_map(&c->bi.mmap, RANGES({ 0, MiB(64), MEM_USABLE }));
}

static void test_mb2_mmap_entry_too_small(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	mb2_mmap(&b, 20, qemu_ranges, 3);
	mb2_end(&b);
	assert_fails(c, MB2_BOOT_MAGIC, "entry too small");

	b = mb2_begin(c);
	mb2_mmap(&b, 0, qemu_ranges, 0);
	mb2_end(&b);
	assert_fails(c, MB2_BOOT_MAGIC, "entry too small");

	b = mb2_begin(c);
	mb2_tag(&b, 6, 12);	/* no room even for entry_size */
	mb2_end(&b);
	assert_fails(c, MB2_BOOT_MAGIC, "entry too small");
}

static void test_mb2_mmap_too_many_entries(void **state)
{
	struct ctx *c = *state;
	struct mem_range r[MEMMAP_MAX + 1];
	struct mb2 b = mb2_begin(c);

	for (u32 k = 0; k < ARRAY_SIZE(r); k++)
		r[k] = (struct mem_range){ (u64)k * 0x2000, 0x1000, MEM_USABLE };
	mb2_mmap(&b, 24, r, ARRAY_SIZE(r));
	mb2_end(&b);
	assert_fails(c, MB2_BOOT_MAGIC, "too many entries");
}

/* A huge entry_size must end the walk, not wrap the offset around to read elsewhere. */
static int huge_entry_size_child(void *arg)
{
	struct ctx *c = arg;
	int rc = parse(c, MB2_BOOT_MAGIC, INFO_PA);
	/* Either an error or exactly the one entry: but no crash. */
	if (rc == 0)
		return c->bi.mmap.n == 1 && c->bi.mmap.e[0].base == 0 && c->bi.mmap.e[0].len == MiB(64) ? 0 : 2;
	return rc == -EINVAL ? 0 : 3;
}

static void test_mb2_mmap_huge_entry_size(void **state)
{
	struct ctx *c = *state;
	static const u32 sizes[] = { 0xFFFFFFF8u, 0xFFFFFFF0u, 0x80000000u, 0xFFFFFFE8u };

	for (size_t k = 0; k < ARRAY_SIZE(sizes); k++) {
		struct mb2 b = mb2_begin(c);
		u8 *t = mb2_mmap(&b, 24, RANGES({ 0, MiB(64), MEM_USABLE }));
		put32(t + 8, sizes[k]);
		mb2_end(&b);
		int st = run_isolated(huge_entry_size_child, c);
		if (st != 0)
			fail_msg("entry_size %#x: child exited with %d (crash or wrong result)", sizes[k], st);
	}
}

static void test_mb2_fallback_meminfo(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	mb2_string(&b, 1, "");
	mb2_meminfo(&b, 639, 65536);
	mb2_end(&b);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, INFO_PA), 0);
	assert_map(&c->bi.mmap, RANGES({ 0, 639 * 1024, MEM_USABLE }, { MiB(1), MiB(64), MEM_USABLE }));
}

static void test_mb2_no_map(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	mb2_string(&b, 1, "debug");
	mb2_end(&b);
	assert_fails(c, MB2_BOOT_MAGIC, "no memory map");

	/* A meminfo tag too short to hold the sizes is ignored. */
	b = mb2_begin(c);
	put32(mb2_tag(&b, 4, 12) + 8, 639);
	mb2_end(&b);
	assert_fails(c, MB2_BOOT_MAGIC, "no memory map");
}

static void test_mb2_missing_end_tag(void **state)
{
	struct ctx *c = *state;
	struct mb2 b;

	mb2_full(c, &b);
	put32(b.base, b.off);	/* total covers the tags, but no end tag */
	assert_fails(c, MB2_BOOT_MAGIC, "no end tag");

	/* Room for part of a tag header at the end is no end tag either. */
	put32(b.base, b.off + 4);
	assert_fails(c, MB2_BOOT_MAGIC, "no end tag");
}

/* Anything after the end tag is not looked at. */
static void test_mb2_tags_after_end_ignored(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	mb2_mmap(&b, 24, qemu_ranges, 2);
	mb2_tag(&b, 0, 8);
	mb2_module(&b, 0x100000, 0x200000, "late");
	mb2_tag(&b, 6, 4);	/* bogus size, never reached */
	put32(b.base, b.off);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, INFO_PA), 0);
	assert_int_equal(c->bi.nmods, 0);
}

static void test_mb2_tag_bad_size(void **state)
{
	struct ctx *c = *state;
	struct mb2 b;

	/* Oversized: the last tag claims more than total_size leaves. */
	mb2_full(c, &b);
	u8 *t = mb2_tag(&b, 1, 16);
	mb2_end(&b);
	put32(t + 4, 64);
	assert_fails(c, MB2_BOOT_MAGIC, "bad size");

	/* Truncated: size smaller than a tag header. */
	mb2_full(c, &b);
	t = mb2_tag(&b, 1, 16);
	mb2_end(&b);
	put32(t + 4, 4);
	assert_fails(c, MB2_BOOT_MAGIC, "bad size");
	put32(t + 4, 0);
	assert_fails(c, MB2_BOOT_MAGIC, "bad size");

	/* total_size cutting the map tag short. */
	mb2_full(c, &b);
	u32 cut = b.off - 8;
	mb2_end(&b);
	put32(b.base, cut);
	assert_fails(c, MB2_BOOT_MAGIC, "bad size");
}

static void test_mb2_module_tag_too_small(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	mb2_mmap(&b, 24, qemu_ranges, 2);
	put32(mb2_tag(&b, 3, 12) + 8, 0x100000);
	mb2_end(&b);
	assert_fails(c, MB2_BOOT_MAGIC, "module tag too small");
}

static void test_mb2_modules_limit(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	mb2_mmap(&b, 24, qemu_ranges, 2);
	for (u32 k = 0; k < BOOT_MODS_MAX; k++)
		mb2_module(&b, 0x100000 * (k + 1), 0x100000 * (k + 1) + 0x100, "m");
	u32 before_end = b.off;
	mb2_end(&b);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, INFO_PA), 0);
	assert_int_equal(c->bi.nmods, BOOT_MODS_MAX);
	assert_int_equal(c->bi.mods[7].start, 0x800000);

	b.off = before_end;
	mb2_module(&b, 0x900000, 0x900100, "one too many");
	mb2_end(&b);
	assert_fails(c, MB2_BOOT_MAGIC, "too many boot modules");
}

static void test_mb2_module_ends_before_start(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	mb2_mmap(&b, 24, qemu_ranges, 2);
	mb2_module(&b, 0x200000, 0x1fffff, "m");
	mb2_end(&b);
	assert_fails(c, MB2_BOOT_MAGIC, "ends before it starts");
}

/* Strings are bounded by their tag even without a NUL, and by the buffers. */
static void test_mb2_strings_unterminated_and_long(void **state)
{
	struct ctx *c = *state;
	struct mb2 b = mb2_begin(c);

	mb2_mmap(&b, 24, qemu_ranges, 2);
	memcpy(mb2_tag(&b, 1, 8 + 5) + 8, "abcde", 5);	/* no NUL; padding follows */
	u8 *t = mb2_tag(&b, 2, 8 + 200);
	memset(t + 8, 'L', 200);
	u8 *m = mb2_tag(&b, 3, 16 + 2000);
	put32(m + 8, 0x100000);
	put32(m + 12, 0x100001);
	memset(m + 16, 'M', 2000);
	mb2_end(&b);
	/* Make the padding after "abcde" non-zero: it must not leak into the string. */
	memset(b.base + 8 + 24 * 2 + 16 + 13, 'P', 3);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, INFO_PA), 0);
	assert_string_equal(c->bi.cmdline, "abcde");
	assert_int_equal(strlen(c->bi.loader), sizeof(c->bi.loader) - 1);
	assert_true(all_bytes((const u8 *)c->bi.loader, sizeof(c->bi.loader) - 1, 'L'));
	assert_int_equal(strlen(c->bi.mods[0].string), BOOT_STR_MAX - 1);
	assert_true(all_bytes((const u8 *)c->bi.mods[0].string, BOOT_STR_MAX - 1, 'M'));
}

static void test_mb2_total_size_bad(void **state)
{
	struct ctx *c = *state;
	struct mb2 b;

	mb2_full(c, &b);
	mb2_end(&b);
	put32(b.base, 8);
	assert_fails(c, MB2_BOOT_MAGIC, "bad size");
	put32(b.base, 0);
	assert_fails(c, MB2_BOOT_MAGIC, "bad size");
	put32(b.base, (u32)RAM_SIZE);	/* runs past the window */
	assert_fails(c, MB2_BOOT_MAGIC, "bad size");
	put32(b.base, 0xFFFFFFFF);
	assert_fails(c, MB2_BOOT_MAGIC, "bad size");
}

static void test_mb2_info_unaligned_or_outside(void **state)
{
	struct ctx *c = *state;
	struct mb2 b;

	mb2_full(c, &b);
	mb2_end(&b);
	memmove(b.base + 4, b.base, b.off);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, INFO_PA + 4), -EINVAL);
	assert_non_null(strstr(c->err, "unreadable"));
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, RAM_SIZE), -EINVAL);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, RAM_SIZE - 4), -EINVAL);
	assert_int_equal(parse(c, MB2_BOOT_MAGIC, 0xFFFFFFFFFFFFFFF8ull), -EINVAL);
}

/* The same info, reached through a window that starts elsewhere. */
static void test_mb2_window_offset(void **state)
{
	struct ctx *c = *state;
	struct mb2 b;

	mb2_full(c, &b);
	mb2_end(&b);
	struct physmem pm = { (uintptr_t)b.base, 0x7000000, 0x10000 };
	c->err = NULL;
	assert_int_equal(bootinfo_parse(MB2_BOOT_MAGIC, 0x7000000, &pm, &c->bi, &c->err), 0);
	assert_string_equal(c->bi.loader, "GRUB 2.06");
	assert_int_equal(c->bi.nmods, 2);
	/* And one that ends before the info does. */
	pm.size = b.off - 8;
	assert_int_equal(bootinfo_parse(MB2_BOOT_MAGIC, 0x7000000, &pm, &c->bi, &c->err), -EINVAL);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_mb1_full),
		T(test_mb1_strings_copied),
		T(test_mb1_flags_respected),
		T(test_mb1_mmap_larger_entries),
		T(test_mb1_mmap_entry_too_small),
		T(test_mb1_mmap_too_many_entries),
		T(test_mb1_fallback_mem_lower_upper),
		T(test_mb1_mmap_preferred_over_mem),
		T(test_mb1_no_map),
		T(test_mb1_map_at_the_top_is_no_map),
		T(test_mb1_max_modules),
		T(test_mb1_too_many_modules),
		T(test_mb1_module_bad_range_and_no_string),
		T(test_mb1_long_strings_truncated),
		T(test_mb1_info_outside_window),
		T(test_mb1_pointers_outside_window),
		T(test_mb1_unterminated_string_at_window_end),
		T(test_bad_magic),
		T(test_mb2_full),
		T(test_mb2_strings_copied),
		T(test_mb2_unknown_tags_and_normalize),
		T(test_mb2_mmap_larger_entries),
		T(test_mb2_mmap_partial_entry_ignored),
		T(test_mb2_mmap_entry_too_small),
		T(test_mb2_mmap_too_many_entries),
		T(test_mb2_mmap_huge_entry_size),
		T(test_mb2_fallback_meminfo),
		T(test_mb2_no_map),
		T(test_mb2_missing_end_tag),
		T(test_mb2_tags_after_end_ignored),
		T(test_mb2_tag_bad_size),
		T(test_mb2_module_tag_too_small),
		T(test_mb2_modules_limit),
		T(test_mb2_module_ends_before_start),
		T(test_mb2_strings_unterminated_and_long),
		T(test_mb2_total_size_bad),
		T(test_mb2_info_unaligned_or_outside),
		T(test_mb2_window_offset),
	};
	return RUN_TESTS(tests);
}
