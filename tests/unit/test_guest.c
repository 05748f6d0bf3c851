/* guest/linux.c and guest/multiboot.c: loading synthetic kernels into fake guest RAM. */
#include "util.h"

#include "tv/guest.h"
#include "tv/pt.h"

#define RAM_SIZE MiB(64)
#define FILL 0xCC	/* guest RAM before loading */

struct ctx {
	struct fake_ram *ram;
	struct memmap map;
	struct guest_image img;
	struct cpu_state st;
	const char *err;
	u8 *file;	/* the kernel image being built */
	u64 flen;
};

/* The QEMU-like low memory layout, 64 MiB of RAM. */
static void default_map(struct memmap *m)
{
	memset(m, 0, sizeof(*m));
	assert_int_equal(memmap_add(m, 0, 0x9fc00, MEM_USABLE), 0);
	assert_int_equal(memmap_add(m, 0x9fc00, 0x400, MEM_RESERVED), 0);
	assert_int_equal(memmap_add(m, 0xf0000, 0x10000, MEM_RESERVED), 0);
	assert_int_equal(memmap_add(m, MiB(1), RAM_SIZE - MiB(1), MEM_USABLE), 0);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->ram = fake_ram_new(0, RAM_SIZE, FILL);
	default_map(&c->map);
	c->img = (struct guest_image){ .cmdline = "console=ttyS0 root=/dev/vda", .map = &c->map,
				       .load_limit = RAM_SIZE };
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;
	fake_ram_free(c->ram);
	free(c->file);
	free(c);
	return 0;
}

static u8 *new_file(struct ctx *c, u64 len)
{
	free(c->file);
	c->file = malloc(len);
	assert_non_null(c->file);
	for (u64 i = 0; i < len; i++)
		c->file[i] = (u8)(i * 7 + 3 + (i >> 8));
	c->flen = len;
	c->img.data = c->file;
	c->img.len = len;
	return c->file;
}

static u8 *ram(struct ctx *c, u64 pa, u64 len)
{
	return fake_at(c->ram, pa, len);
}

#define assert_err(c, call, want_rc)                                                 \
	do {                                                                         \
		(c)->err = NULL;                                                     \
		int rc_ = (call);                                                    \
		if (rc_ != (want_rc))                                                \
			fail_msg("%s = %d, expected %d (err '%s')", #call, rc_,        \
				 (int)(want_rc), (c)->err ? (c)->err : "");          \
		assert_non_null((c)->err);                                           \
	} while (0)

/* ============================ Linux =============================== */

#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define PAYLOAD 0x6000
#define INIT_SIZE 0x800000
#define JUMP 0x66	/* header ends at 0x202 + 0x66 = 0x268 */
#define HDR_END (0x202 + JUMP)

#define BP_PA GUEST_SCRATCH

/* Header fields the loader writes itself (offset, size). */
static const struct { u32 off, size; } written_fields[] = {
	{ 0x210, 1 }, { 0x211, 1 }, { 0x214, 4 }, { 0x218, 4 }, { 0x21C, 4 }, { 0x228, 4 },
};

static void build_bzimage(struct ctx *c)
{
	u8 *k = new_file(c, SETUP_SIZE + PAYLOAD);

	k[0x1F1] = SETUP_SECTS;
	put16(k + 0x1FE, 0xAA55);
	k[0x200] = 0xEB;
	k[0x201] = JUMP;
	memcpy(k + 0x202, "HdrS", 4);
	put16(k + 0x206, 0x020F);
	k[0x210] = 0;			/* type_of_loader */
	k[0x211] = 0x01;		/* loadflags: LOADED_HIGH */
	put32(k + 0x214, 0x100000);	/* code32_start */
	put32(k + 0x218, 0);
	put32(k + 0x21C, 0);
	put32(k + 0x228, 0);
	put32(k + 0x22C, 0x7FFFFFFF);	/* initrd_addr_max */
	put32(k + 0x230, 0x200000);	/* kernel_alignment */
	k[0x234] = 1;			/* relocatable_kernel */
	put16(k + 0x236, 3);		/* xloadflags: KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
	put32(k + 0x238, 0x7FF);	/* cmdline_size */
	put64(k + 0x258, 0x1000000);	/* pref_address */
	put32(k + 0x260, INIT_SIZE);
}

static int load_linux(struct ctx *c, u64 initrd, u64 initrd_len)
{
	c->err = NULL;
	return linux_load(&c->ram->pm, &c->img, initrd, initrd_len, &c->st, &c->err);
}

static void assert_linux_ok(struct ctx *c, u64 initrd, u64 initrd_len)
{
	int rc = load_linux(c, initrd, initrd_len);
	if (rc)
		fail_msg("linux_load = %d: %s", rc, c->err ? c->err : "(no message)");
}

static void test_linux_is_bzimage(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	assert_true(linux_is_bzimage(c->file, c->flen));
	assert_false(linux_is_bzimage(c->file, 0xFFF));
	c->file[0x1FE] = 0x54;
	assert_false(linux_is_bzimage(c->file, c->flen));
	build_bzimage(c);
	c->file[0x205] = 't';
	assert_false(linux_is_bzimage(c->file, c->flen));
}

static void test_linux_payload_copied(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	assert_linux_ok(c, 0, 0);
	assert_memory_equal(ram(c, MiB(16), PAYLOAD), c->file + SETUP_SIZE, PAYLOAD);
	/* The rest of init_size is zeroed (bss, decompression room), nothing beyond it touched. */
	assert_true(all_bytes(ram(c, MiB(16) + PAYLOAD, INIT_SIZE - PAYLOAD), INIT_SIZE - PAYLOAD, 0));
	assert_true(all_bytes(ram(c, MiB(16) + INIT_SIZE, 0x1000), 0x1000, FILL));
	assert_true(all_bytes(ram(c, MiB(16) - 0x1000, 0x1000), 0x1000, FILL));
}

static void test_linux_cpu_state(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	assert_linux_ok(c, 0, 0);
	struct cpu_state *s = &c->st;
	assert_int_equal(s->rip, MiB(16) + 0x200);
	assert_int_equal(s->rsi, BP_PA);
	assert_int_equal(s->cs.sel, 0x10);
	assert_int_equal(s->cs.ar, SEG_AR_CODE64);
	assert_int_equal(s->ds.sel, 0x18);
	assert_int_equal(s->es.sel, 0x18);
	assert_int_equal(s->ss.sel, 0x18);
	assert_int_equal(s->ds.ar, SEG_AR_DATA32);
	assert_int_equal(s->ss.ar, SEG_AR_DATA32);
	assert_int_equal(s->efer & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA);
	assert_int_equal(s->cr0 & (CR0_PG | CR0_PE), CR0_PG | CR0_PE);
	assert_true(s->cr4 & CR4_PAE);
	assert_int_equal(s->rflags & 0x202, 0x2);	/* reserved bit 1 set, interrupts off */
	assert_false(s->tr.ar & SEG_UNUSABLE);		/* VMX/SVM want a usable busy TSS */
	assert_int_equal(s->tr.ar & 0xF, 0xB);
	assert_true(s->ldtr.ar & SEG_UNUSABLE);
	/* Registers the protocol does not give a meaning to are zero. */
	assert_int_equal(s->rax | s->rbx | s->rcx | s->rdx | s->rdi | s->rbp, 0);
}

/* GDT entries 2 and 3 are flat 64-bit code and data, matching the segment registers. */
static void test_linux_gdt(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	assert_linux_ok(c, 0, 0);
	assert_true(c->st.gdtr.limit >= 4 * 8 - 1);
	u8 *gdt = ram(c, c->st.gdtr.base, c->st.gdtr.limit + 1);
	u64 cs = get64(gdt + 0x10), ds = get64(gdt + 0x18);
	assert_int_equal(cs, 0x00AF9B000000FFFFull);
	assert_int_equal(ds, 0x00CF93000000FFFFull);
	assert_int_equal(get64(gdt), 0);
	/* Descriptor access byte and flags, packed the cpu_state way. */
	assert_int_equal(((cs >> 40) & 0xFF) | (((cs >> 52) & 0xF) << 12), c->st.cs.ar);
	assert_int_equal(((ds >> 40) & 0xFF) | (((ds >> 52) & 0xF) << 12), c->st.ds.ar);
	/* The GDT lies in the scratch area, clear of the kernel. */
	assert_true(c->st.gdtr.base >= GUEST_SCRATCH &&
		    c->st.gdtr.base + c->st.gdtr.limit < GUEST_SCRATCH + GUEST_SCRATCH_SIZE);
}

/* The tables CR3 points at identity-map [0, 4 GiB) with 2 MiB pages: walk them with the engine. */
static void test_linux_page_tables(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	assert_linux_ok(c, 0, 0);
	assert_true(c->st.cr3 >= GUEST_SCRATCH && c->st.cr3 < GUEST_SCRATCH + GUEST_SCRATCH_SIZE);
	assert_int_equal(c->st.cr3 & 0xfff, 0);

	struct page_pool pool;
	pool_init(&pool, 0, RAM_SIZE, (uintptr_t)c->ram->buf);
	struct pagetable pt = { &pt_format_x86, &pool, c->st.cr3 };
	for (u64 va = 0; va < GiB(4); va += MiB(2)) {
		u64 pa = 0, sz = 0;
		unsigned prot = 0;
		assert_int_equal(pt_lookup(&pt, va + 0x1234, &pa, &prot, &sz), 0);
		assert_int_equal(pa, va + 0x1234);
		assert_int_equal(sz, MiB(2));
		assert_int_equal(prot, PT_R | PT_W | PT_X);
	}
	u64 pa;
	assert_int_equal(pt_lookup(&pt, GiB(4), &pa, NULL, NULL), -ENOENT);
	assert_int_equal(pt_lookup(&pt, GiB(512), &pa, NULL, NULL), -ENOENT);

	/* Raw: PML4[0] only, four PDPT entries, 2048 large PD entries. */
	u64 *pml4 = (u64 *)ram(c, c->st.cr3, 4096);
	for (int i = 1; i < 512; i++)
		assert_int_equal(pml4[i], 0);
	u64 *pdpt = (u64 *)ram(c, pml4[0] & ~0xfffull, 4096);
	for (int i = 4; i < 512; i++)
		assert_int_equal(pdpt[i], 0);
	for (u64 i = 0; i < 4; i++) {
		u64 *pd = (u64 *)ram(c, pdpt[i] & ~0xfffull, 4096);
		assert_int_equal(pdpt[i] & 0xfff, 0x3);
		for (u64 j = 0; j < 512; j++)
			assert_int_equal(pd[j], ((i * 512 + j) << 21) | 0x83);
	}
}

static void test_linux_boot_params(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	assert_linux_ok(c, 0x3000000, 0x123456);
	u8 *bp = ram(c, BP_PA, 4096);
	assert_int_equal(bp[0x210], 0xFF);			/* type_of_loader */
	assert_true(bp[0x211] & 0x01);				/* LOADED_HIGH */
	assert_int_equal(get32(bp + 0x214), MiB(16));		/* code32_start */
	assert_int_equal(get32(bp + 0x218), 0x3000000);	/* ramdisk_image */
	assert_int_equal(get32(bp + 0x21C), 0x123456);		/* ramdisk_size */
	assert_int_equal(get32(bp + 0x0C0), 0);			/* ext_ramdisk_image */
	assert_int_equal(get32(bp + 0x0C4), 0);
	u32 cl = get32(bp + 0x228);
	assert_true(cl >= GUEST_SCRATCH && cl < GUEST_SCRATCH + GUEST_SCRATCH_SIZE);
	assert_string_equal((const char *)ram(c, cl, 28), "console=ttyS0 root=/dev/vda");
	/* Nothing outside the loader's structures in the scratch area overlaps the zero page. */
	assert_true(cl >= BP_PA + 4096);
}

/* The setup header is copied to its place in the zero page; everything else there is zero. */
static void test_linux_header_copied(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	assert_linux_ok(c, 0, 0);
	u8 *bp = ram(c, BP_PA, 4096);
	for (u32 off = 0x1F1; off < HDR_END; off++) {
		bool written = false;
		for (size_t i = 0; i < ARRAY_SIZE(written_fields); i++)
			if (off >= written_fields[i].off && off < written_fields[i].off + written_fields[i].size)
				written = true;
		if (!written && bp[off] != c->file[off])
			fail_msg("zero page byte %#x = %#x, kernel header has %#x", off, bp[off], c->file[off]);
	}
	/* Before the header: zero but for the e820 count (0x1E8). */
	for (u32 off = 0; off < 0x1F1; off++)
		if (off != 0x1E8 && bp[off] != 0)
			fail_msg("zero page byte %#x = %#x, expected 0", off, bp[off]);
	/* After the header, up to the e820 table: zero (the rest of the setup sectors is not copied). */
	assert_true(all_bytes(bp + HDR_END, 0x2D0 - HDR_END, 0));
	/* After the e820 table: zero. */
	u32 e820_end = 0x2D0 + 20 * c->map.n;
	assert_true(all_bytes(bp + e820_end, 4096 - e820_end, 0));
}

static void test_linux_e820(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(memmap_set(&c->map, 0x3c00000, 0x400000, MEM_RESERVED), 0);	/* a hv region */
	assert_int_equal(memmap_add(&c->map, 0xfec00000, 0x1000, MEM_RESERVED), 0);
	assert_int_equal(memmap_add(&c->map, 0x100000000ull, GiB(4), MEM_USABLE), 0);
	build_bzimage(c);
	assert_linux_ok(c, 0, 0);
	u8 *bp = ram(c, BP_PA, 4096);
	assert_int_equal(bp[0x1E8], c->map.n);
	assert_int_equal(c->map.n, 7);
	for (u32 i = 0; i < c->map.n; i++) {
		u8 *e = bp + 0x2D0 + 20 * i;
		assert_int_equal(get64(e), c->map.e[i].base);
		assert_int_equal(get64(e + 8), c->map.e[i].len);
		assert_int_equal(get32(e + 16), c->map.e[i].type);
	}
}

static void test_linux_initrd_above_4g(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);	/* XLF_CAN_BE_LOADED_ABOVE_4G set */
	assert_linux_ok(c, 0x123400000ull, 0x200000003ull);
	u8 *bp = ram(c, BP_PA, 4096);
	assert_int_equal(get32(bp + 0x218), 0x23400000);
	assert_int_equal(get32(bp + 0x0C0), 1);
	assert_int_equal(get32(bp + 0x21C), 3);
	assert_int_equal(get32(bp + 0x0C4), 2);
}

static void test_linux_initrd_addr_max(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	put16(c->file + 0x236, 1);	/* 64-bit entry only: initrd_addr_max applies */
	put32(c->file + 0x22C, 0x37FFFFFF);
	assert_linux_ok(c, 0x37F00000, 0x100000);	/* last byte = initrd_addr_max */
	assert_err(c, load_linux(c, 0x37F00000, 0x100001), -ERANGE);
	assert_err(c, load_linux(c, 0x40000000, 0x1000), -ERANGE);
	assert_linux_ok(c, 0x40000000, 0);	/* no initrd: no check */
}

static void test_linux_setup_sects_zero_means_4(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	c->file[0x1F1] = 0;
	assert_linux_ok(c, 0, 0);
	assert_memory_equal(ram(c, MiB(16), PAYLOAD), c->file + SETUP_SIZE, PAYLOAD);
}

static void test_linux_relocates_past_reserved(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(memmap_set(&c->map, MiB(16), MiB(2), MEM_RESERVED), 0);
	build_bzimage(c);
	assert_linux_ok(c, 0, 0);
	assert_int_equal(c->st.rip, MiB(18) + 0x200);
	assert_int_equal(get32(ram(c, BP_PA + 0x214, 4)), MiB(18));
	assert_memory_equal(ram(c, MiB(18), PAYLOAD), c->file + SETUP_SIZE, PAYLOAD);
	assert_true(all_bytes(ram(c, MiB(16), MiB(2)), MiB(2), FILL));	/* reserved RAM untouched */
}

static void test_linux_not_relocatable(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(memmap_set(&c->map, MiB(16), MiB(2), MEM_RESERVED), 0);
	build_bzimage(c);
	c->file[0x234] = 0;
	assert_err(c, load_linux(c, 0, 0), -ENOMEM);
	/* At its preferred address it loads fine. */
	default_map(&c->map);
	assert_linux_ok(c, 0, 0);
	assert_int_equal(c->st.rip, MiB(16) + 0x200);
}

static void test_linux_pref_and_alignment(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	put64(c->file + 0x258, MiB(32));
	assert_linux_ok(c, 0, 0);
	assert_int_equal(c->st.rip, MiB(32) + 0x200);

	put64(c->file + 0x258, 0);	/* below 1 MiB: the 16 MiB default */
	assert_linux_ok(c, 0, 0);
	assert_int_equal(c->st.rip, MiB(16) + 0x200);

	/* 16 MiB alignment: skip past a reserved 16-17 MiB to 32 MiB, not 18 MiB. */
	put64(c->file + 0x258, MiB(16));
	put32(c->file + 0x230, MiB(16));
	assert_int_equal(memmap_set(&c->map, MiB(16), MiB(1), MEM_RESERVED), 0);
	assert_linux_ok(c, 0, 0);
	assert_int_equal(c->st.rip, MiB(32) + 0x200);

	/* A nonsense alignment falls back to 2 MiB. */
	put32(c->file + 0x230, 0x3000);
	assert_linux_ok(c, 0, 0);
	assert_int_equal(c->st.rip, MiB(18) + 0x200);
}

static void test_linux_not_bzimage(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	c->file[0x1FF] = 0;
	assert_err(c, load_linux(c, 0, 0), -ENOEXEC);
	build_bzimage(c);
	memcpy(c->file + 0x202, "HdrZ", 4);
	assert_err(c, load_linux(c, 0, 0), -ENOEXEC);
	build_bzimage(c);
	c->img.len = 0x800;
	assert_err(c, load_linux(c, 0, 0), -ENOEXEC);
	/* Nothing was written to guest RAM. */
	assert_true(all_bytes(ram(c, GUEST_SCRATCH, GUEST_SCRATCH_SIZE), GUEST_SCRATCH_SIZE, FILL));
	assert_true(all_bytes(ram(c, MiB(16), 0x1000), 0x1000, FILL));
}

static void test_linux_old_protocol(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	put16(c->file + 0x206, 0x020B);
	assert_err(c, load_linux(c, 0, 0), -ENOEXEC);
	put16(c->file + 0x206, 0x0100);
	assert_err(c, load_linux(c, 0, 0), -ENOEXEC);
	put16(c->file + 0x206, 0x020C);	/* 2.12: the first with xloadflags */
	assert_linux_ok(c, 0, 0);
}

static void test_linux_no_64bit_entry(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	put16(c->file + 0x236, 0);
	assert_err(c, load_linux(c, 0, 0), -ENOEXEC);
	put16(c->file + 0x236, 2);	/* above-4G alone is not enough */
	assert_err(c, load_linux(c, 0, 0), -ENOEXEC);
	assert_true(all_bytes(ram(c, MiB(16), 0x1000), 0x1000, FILL));
}

static void test_linux_truncated(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	c->file[0x1F1] = (u8)(c->flen / 512);	/* setup covers the whole file */
	assert_err(c, load_linux(c, 0, 0), -ENOEXEC);
}

static void test_linux_cmdline_length(void **state)
{
	struct ctx *c = *state;
	char *s = malloc(0x1001);

	assert_non_null(s);
	memset(s, 'x', 0x1000);
	build_bzimage(c);
	c->img.cmdline = s;

	s[0x7FF] = '\0';	/* exactly cmdline_size characters */
	assert_linux_ok(c, 0, 0);
	assert_int_equal(strlen((const char *)ram(c, get32(ram(c, BP_PA + 0x228, 4)), 0x800)), 0x7FF);

	s[0x7FF] = 'x';
	s[0x800] = '\0';	/* one more */
	assert_err(c, load_linux(c, 0, 0), -EINVAL);

	/* A kernel accepting more is still bounded by the loader's buffer. */
	put32(c->file + 0x238, 0xFFFFF);
	s[0x800] = 'x';
	s[0xFFF] = '\0';
	assert_linux_ok(c, 0, 0);
	s[0xFFF] = 'x';
	s[0x1000] = '\0';
	assert_err(c, load_linux(c, 0, 0), -EINVAL);
	c->img.cmdline = "";
	free(s);
}

static void test_linux_no_room(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	c->img.load_limit = MiB(16) + INIT_SIZE - 0x1000;
	assert_err(c, load_linux(c, 0, 0), -ENOMEM);
	c->img.load_limit = MiB(16) + INIT_SIZE;	/* exactly enough */
	assert_linux_ok(c, 0, 0);
	c->img.load_limit = MiB(8);
	assert_err(c, load_linux(c, 0, 0), -ENOMEM);
}

/*
 * Found by fuzz_guest_load: a preferred address near 2^64 wrapped when
 * aligned up (or while searching upwards), and a relocatable kernel was
 * loaded from address 0 on, below 1 MiB and into the boot structures' way.
 * There is no room up there: refused, nothing written.
 */
static void test_linux_pref_near_top(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	put32(c->file + 0x260, 0x1000);			/* init_size: the payload's */
	put64(c->file + 0x258, 0xFFFFFFFFFFFF0000ull);
	assert_err(c, load_linux(c, 0, 0), -ENOMEM);
	put64(c->file + 0x258, 0ull - MiB(2));		/* aligned, but only 2 MiB below the top */
	put32(c->file + 0x260, MiB(4));
	assert_err(c, load_linux(c, 0, 0), -ENOMEM);
	assert_true(all_bytes(ram(c, 0, 0x9fc00), 0x9fc00, FILL));
	assert_true(all_bytes(ram(c, MiB(1), MiB(8)), MiB(8), FILL));
}

/* init_size smaller than the payload: the payload size counts. */
static void test_linux_init_size_below_payload(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	put32(c->file + 0x260, 0x1000);
	c->img.load_limit = MiB(16) + PAYLOAD - 0x1000;
	assert_err(c, load_linux(c, 0, 0), -ENOMEM);
	c->img.load_limit = MiB(16) + PAYLOAD;
	assert_linux_ok(c, 0, 0);
	assert_memory_equal(ram(c, MiB(16), PAYLOAD), c->file + SETUP_SIZE, PAYLOAD);
}

static void test_linux_scratch_not_usable(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(memmap_set(&c->map, GUEST_SCRATCH + 0x8000, 0x1000, MEM_RESERVED), 0);
	build_bzimage(c);
	assert_err(c, load_linux(c, 0, 0), -ENOMEM);
}

/* The map promises RAM the window does not reach. */
static void test_linux_out_of_reach(void **state)
{
	struct ctx *c = *state;

	build_bzimage(c);
	c->ram->pm.size = MiB(20);
	assert_err(c, load_linux(c, 0, 0), -ERANGE);
}

/* ============================ Multiboot =============================== */

#define MB_MAGIC 0x1BADB002u
#define MB_FLAGS 0x00000003u	/* page-align, memory info */
#define AOUT (1u << 16)
#define ENTRY 0x10000C
#define MBI_MAGIC 0x2BADB002u

static void put_mb_header(u8 *p, u32 flags)
{
	put32(p, MB_MAGIC);
	put32(p + 4, flags);
	put32(p + 8, (u32)-(MB_MAGIC + flags));
}

struct phdr {
	u32 type, offset, paddr, filesz, memsz;
};

/* An ELF32 i386 executable with the given program headers (vaddr = paddr + 3 GiB). */
static void build_elf(struct ctx *c, u64 len, const struct phdr *ph, u16 n)
{
	u8 *f = new_file(c, len);

	memset(f, 0, 52 + 32 * (size_t)n);
	memcpy(f, "\x7f" "ELF", 4);
	f[4] = 1;		/* ELFCLASS32 */
	f[5] = 1;		/* little endian */
	f[6] = 1;
	put16(f + 16, 2);	/* ET_EXEC */
	put16(f + 18, 3);	/* EM_386 */
	put32(f + 20, 1);
	put32(f + 24, ENTRY);
	put32(f + 28, 52);	/* e_phoff */
	put16(f + 40, 52);
	put16(f + 42, 32);
	put16(f + 44, n);
	for (u16 i = 0; i < n; i++) {
		u8 *p = f + 52 + 32 * i;
		put32(p, ph[i].type);
		put32(p + 4, ph[i].offset);
		put32(p + 8, ph[i].paddr + 0xC0000000u);
		put32(p + 12, ph[i].paddr);
		put32(p + 16, ph[i].filesz);
		put32(p + 20, ph[i].memsz);
		put32(p + 24, 7);
		put32(p + 28, 0x1000);
	}
}

/* Text at 1 MiB with bss, a PT_NOTE aimed at the scratch area, data at 2 MiB. */
static const struct phdr std_ph[] = {
	{ 1, 0x1000, 0x100000, 0x1000, 0x3000 },
	{ 4, 0x2000, 0x10000, 0x100, 0x100 },
	{ 1, 0x2000, 0x200000, 0x800, 0x800 },
};

static void build_std_elf(struct ctx *c)
{
	build_elf(c, 0x3000, std_ph, ARRAY_SIZE(std_ph));
	put_mb_header(c->file + 0x1000, MB_FLAGS);
}

static const struct guest_module std_mods[] = {
	{ 0x2000000, 0x2012345, "initrd.img arg=1" },
	{ 0x2100000, 0x2100010, "" },
};

static int load_mb(struct ctx *c, const struct guest_module *mods, u32 n)
{
	c->err = NULL;
	return multiboot_load(&c->ram->pm, &c->img, mods, n, &c->st, &c->err);
}

static void assert_mb_ok(struct ctx *c, const struct guest_module *mods, u32 n)
{
	int rc = load_mb(c, mods, n);
	if (rc)
		fail_msg("multiboot_load = %d: %s", rc, c->err ? c->err : "(no message)");
}

static void test_mb_find_header(void **state)
{
	struct ctx *c = *state;
	u64 off = 0;

	new_file(c, 0x4000);
	assert_false(multiboot_find_header(c->file, c->flen, &off));
	put_mb_header(c->file + 0x1ff4, 0);	/* last place that is inside the first 8 KiB */
	assert_true(multiboot_find_header(c->file, c->flen, &off));
	assert_int_equal(off, 0x1ff4);
	assert_false(multiboot_find_header(c->file, 0x1ffc, &off));	/* file too short for it */

	new_file(c, 0x4000);
	put_mb_header(c->file + 0x2000, 0);	/* beyond 8 KiB */
	assert_false(multiboot_find_header(c->file, c->flen, &off));
	new_file(c, 0x4000);
	put_mb_header(c->file + 0x102, 0);	/* not 4-aligned */
	assert_false(multiboot_find_header(c->file, c->flen, &off));
	new_file(c, 0x4000);
	put_mb_header(c->file + 0x100, 0);
	put32(c->file + 0x108, get32(c->file + 0x108) + 1);	/* bad checksum */
	assert_false(multiboot_find_header(c->file, c->flen, &off));
	assert_false(multiboot_find_header(c->file, 0, &off));
}

static void test_mb_elf_segments(void **state)
{
	struct ctx *c = *state;

	build_std_elf(c);
	assert_mb_ok(c, NULL, 0);
	/* Loaded at p_paddr (not p_vaddr), bss zeroed, nothing else touched. */
	assert_memory_equal(ram(c, 0x100000, 0x1000), c->file + 0x1000, 0x1000);
	assert_true(all_bytes(ram(c, 0x101000, 0x2000), 0x2000, 0));
	assert_true(all_bytes(ram(c, 0x103000, 0x1000), 0x1000, FILL));
	assert_true(all_bytes(ram(c, 0xFF000, 0x1000), 0x1000, FILL));
	assert_memory_equal(ram(c, 0x200000, 0x800), c->file + 0x2000, 0x800);
	assert_true(all_bytes(ram(c, 0x200800, 0x800), 0x800, FILL));
}

static void test_mb_cpu_state(void **state)
{
	struct ctx *c = *state;

	build_std_elf(c);
	assert_mb_ok(c, NULL, 0);
	struct cpu_state *s = &c->st;
	assert_int_equal(s->rax, MBI_MAGIC);
	assert_int_equal(s->rbx, GUEST_SCRATCH);
	assert_int_equal(s->rip, ENTRY);
	assert_int_equal(s->cs.sel, 0x08);
	assert_int_equal(s->cs.ar, SEG_AR_CODE32);
	assert_int_equal(s->cs.limit, 0xFFFFFFFF);
	assert_int_equal(s->cs.base, 0);
	const struct seg *data[] = { &s->ds, &s->es, &s->ss, &s->fs, &s->gs };
	for (size_t i = 0; i < ARRAY_SIZE(data); i++) {
		assert_int_equal(data[i]->sel, 0x10);
		assert_int_equal(data[i]->ar, SEG_AR_DATA32);
		assert_int_equal(data[i]->limit, 0xFFFFFFFF);
		assert_int_equal(data[i]->base, 0);
	}
	assert_true(s->cr0 & CR0_PE);
	assert_false(s->cr0 & CR0_PG);
	assert_int_equal(s->efer, 0);
	assert_int_equal(s->cr4, 0);
	assert_int_equal(s->rflags & 0x202, 0x2);
}

static void test_mb_info(void **state)
{
	struct ctx *c = *state;

	build_std_elf(c);
	c->img.cmdline = "hello world";
	assert_mb_ok(c, std_mods, ARRAY_SIZE(std_mods));
	u8 *mbi = ram(c, c->st.rbx, 88);
	assert_int_equal(get32(mbi), (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	assert_int_equal(get32(mbi + 4), 639);			/* 0x9fc00 bytes */
	assert_int_equal(get32(mbi + 8), (RAM_SIZE - MiB(1)) >> 10);
	assert_string_equal((const char *)ram(c, get32(mbi + 16), 12), "hello world");
	assert_string_equal((const char *)ram(c, get32(mbi + 64), 10), "thinvisor");

	assert_int_equal(get32(mbi + 20), 2);
	u8 *mods = ram(c, get32(mbi + 24), 32);
	for (u32 i = 0; i < 2; i++) {
		assert_int_equal(get32(mods + 16 * i), std_mods[i].start);
		assert_int_equal(get32(mods + 16 * i + 4), std_mods[i].end);
		u32 sp = get32(mods + 16 * i + 8);
		assert_string_equal((const char *)ram(c, sp, strlen(std_mods[i].string) + 1), std_mods[i].string);
	}

	assert_int_equal(get32(mbi + 44), 24 * c->map.n);
	u8 *mm = ram(c, get32(mbi + 48), 24 * c->map.n);
	for (u32 i = 0; i < c->map.n; i++) {
		assert_int_equal(get32(mm + 24 * i), 20);
		assert_int_equal(get64(mm + 24 * i + 4), c->map.e[i].base);
		assert_int_equal(get64(mm + 24 * i + 12), c->map.e[i].len);
		assert_int_equal(get32(mm + 24 * i + 20), c->map.e[i].type);
	}
	/* Every structure the info points to lies in the scratch area. */
	u32 ptrs[] = { get32(mbi + 16), get32(mbi + 24), get32(mbi + 48), get32(mbi + 64),
		       get32(mods + 8), get32(mods + 24) };
	for (size_t i = 0; i < ARRAY_SIZE(ptrs); i++)
		assert_true(ptrs[i] >= GUEST_SCRATCH && ptrs[i] < GUEST_SCRATCH + GUEST_SCRATCH_SIZE);
}

/* Our own multiboot parser reads back what the loader built. */
static void test_mb_info_round_trip(void **state)
{
	struct ctx *c = *state;
	struct bootinfo *bi = calloc(1, sizeof(*bi));
	const char *err = NULL;

	assert_non_null(bi);
	build_std_elf(c);
	c->img.cmdline = "a b c";
	assert_mb_ok(c, std_mods, ARRAY_SIZE(std_mods));
	assert_int_equal(bootinfo_parse((u32)c->st.rax, c->st.rbx, &c->ram->pm, bi, &err), 0);
	assert_string_equal(bi->cmdline, "a b c");
	assert_string_equal(bi->loader, "thinvisor");
	assert_int_equal(bi->nmods, 2);
	assert_string_equal(bi->mods[0].string, "initrd.img arg=1");
	assert_int_equal(bi->mods[1].end, 0x2100010);
	struct memmap norm = c->map;
	assert_int_equal(memmap_normalize(&norm), 0);
	assert_int_equal(bi->mmap.n, norm.n);
	assert_memory_equal(bi->mmap.e, norm.e, sizeof(norm.e[0]) * norm.n);
	free(bi);
}

/* mem_lower is capped at 640 KiB; mem_upper counts RAM contiguous from 1 MiB. */
static void test_mb_mem_lower_upper(void **state)
{
	struct ctx *c = *state;

	memset(&c->map, 0, sizeof(c->map));
	assert_int_equal(memmap_add(&c->map, 0, MiB(48), MEM_USABLE), 0);
	assert_int_equal(memmap_add(&c->map, MiB(48), MiB(1), MEM_RESERVED), 0);
	assert_int_equal(memmap_add(&c->map, MiB(49), MiB(15), MEM_USABLE), 0);
	build_std_elf(c);
	assert_mb_ok(c, NULL, 0);
	u8 *mbi = ram(c, c->st.rbx, 12);
	assert_int_equal(get32(mbi + 4), 640);
	assert_int_equal(get32(mbi + 8), MiB(47) >> 10);
}

static void test_mb_aout_kludge(void **state)
{
	struct ctx *c = *state;
	u8 *f = new_file(c, 0x2000);

	put_mb_header(f + 0x40, MB_FLAGS | AOUT);
	put32(f + 0x4C, 0x100040);	/* header_addr */
	put32(f + 0x50, 0x100000);	/* load_addr */
	put32(f + 0x54, 0x101800);	/* load_end_addr */
	put32(f + 0x58, 0x104000);	/* bss_end_addr */
	put32(f + 0x5C, 0x100100);	/* entry_addr */
	assert_mb_ok(c, NULL, 0);
	assert_int_equal(c->st.rip, 0x100100);
	assert_memory_equal(ram(c, 0x100000, 0x1800), f, 0x1800);
	assert_true(all_bytes(ram(c, 0x101800, 0x2800), 0x2800, 0));
	assert_true(all_bytes(ram(c, 0x104000, 0x1000), 0x1000, FILL));
	assert_int_equal(c->st.rax, MBI_MAGIC);
}

/* load_end 0: the whole file; bss_end 0: no bss. The text may start before the header. */
static void test_mb_aout_defaults(void **state)
{
	struct ctx *c = *state;
	u8 *f = new_file(c, 0x3000);

	put_mb_header(f + 0x1000, MB_FLAGS | AOUT);
	put32(f + 0x100C, 0x201000);
	put32(f + 0x1010, 0x200800);	/* load from file offset 0x800 */
	put32(f + 0x1014, 0);
	put32(f + 0x1018, 0);
	put32(f + 0x101C, 0x201020);
	assert_mb_ok(c, NULL, 0);
	assert_memory_equal(ram(c, 0x200800, 0x2800), f + 0x800, 0x2800);
	assert_true(all_bytes(ram(c, 0x203000, 0x1000), 0x1000, FILL));
	assert_true(all_bytes(ram(c, 0x200000, 0x800), 0x800, FILL));
	assert_int_equal(c->st.rip, 0x201020);
}

/* The kludge bit wins over ELF program headers. */
static void test_mb_aout_kludge_in_elf(void **state)
{
	struct ctx *c = *state;

	build_std_elf(c);
	u8 *h = c->file + 0x1000;
	put_mb_header(h, MB_FLAGS | AOUT);
	put32(h + 12, 0x300000);
	put32(h + 16, 0x300000);
	put32(h + 20, 0x300100);
	put32(h + 24, 0x300100);
	put32(h + 28, 0x300010);
	assert_mb_ok(c, NULL, 0);
	assert_int_equal(c->st.rip, 0x300010);
	assert_memory_equal(ram(c, 0x300000, 0x100), h, 0x100);
	assert_true(all_bytes(ram(c, 0x100000, 0x1000), 0x1000, FILL));
}

static void test_mb_aout_inconsistent(void **state)
{
	struct ctx *c = *state;
	u8 *f = new_file(c, 0x2000);

	put_mb_header(f + 0x40, MB_FLAGS | AOUT);
	put32(f + 0x4C, 0x100040);
	put32(f + 0x50, 0x100080);	/* header before the load address */
	put32(f + 0x54, 0);
	put32(f + 0x58, 0);
	put32(f + 0x5C, 0x100100);
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);

	put32(f + 0x50, 0x0FF000);	/* text would start before the file */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);

	put32(f + 0x50, 0x100000);
	put32(f + 0x54, 0x0FFFFF);	/* load_end before load */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);

	put32(f + 0x54, 0x103000);	/* load_end beyond the file */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);

	put32(f + 0x54, 0);
	put32(f + 0x58, 0x0F0000);	/* bss_end before load */
	c->err = NULL;
	int rc = load_mb(c, NULL, 0);
	if (rc != -ENOEXEC && rc != -ENOMEM)
		fail_msg("bss_end below load_addr: %d", rc);
	assert_non_null(c->err);
}

static void test_mb_aout_header_truncated(void **state)
{
	struct ctx *c = *state;
	u8 *f = new_file(c, 0x1000);

	put_mb_header(f + 0x1000 - 12, MB_FLAGS | AOUT);
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
	put_mb_header(f + 0x1000 - 28, MB_FLAGS | AOUT);	/* entry_addr would be past the end */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
}

static void test_mb_no_header(void **state)
{
	struct ctx *c = *state;

	build_elf(c, 0x3000, std_ph, ARRAY_SIZE(std_ph));
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
	put_mb_header(c->file + 0x2000, MB_FLAGS);	/* beyond the first 8 KiB */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
	assert_true(all_bytes(ram(c, 0x100000, 0x1000), 0x1000, FILL));
}

static void test_mb_bad_checksum(void **state)
{
	struct ctx *c = *state;

	build_std_elf(c);
	put32(c->file + 0x1008, get32(c->file + 0x1008) ^ 0x100);
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
}

static void test_mb_required_flags(void **state)
{
	struct ctx *c = *state;
	static const u32 unknown[] = { 1u << 3, 1u << 4, 1u << 8, 1u << 15, 0xFFF8 };
	static const u32 fine[] = { 0, 1u << 0, 1u << 1, (1u << 17) | 3, 0xFFFE0000 };

	for (size_t i = 0; i < ARRAY_SIZE(unknown); i++) {
		build_std_elf(c);
		put_mb_header(c->file + 0x1000, MB_FLAGS | unknown[i]);
		c->err = NULL;
		if (load_mb(c, NULL, 0) != -ENOEXEC || !c->err)
			fail_msg("flags %#x: accepted", MB_FLAGS | unknown[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(fine); i++) {
		build_std_elf(c);
		put_mb_header(c->file + 0x1000, fine[i]);
		int rc = load_mb(c, NULL, 0);
		if (rc)
			fail_msg("flags %#x: %d %s", fine[i], rc, c->err);
	}
}

static void try_segment(struct ctx *c, u32 paddr, u32 filesz, u32 memsz, int want)
{
	struct phdr ph[] = { { 1, 0x1000, paddr, filesz, memsz } };

	build_elf(c, 0x2000, ph, 1);
	put_mb_header(c->file + 0x1000, MB_FLAGS);
	c->err = NULL;
	int rc = load_mb(c, NULL, 0);
	if (rc != want)
		fail_msg("segment [%#x, +%#x): %d (%s), expected %d", paddr, memsz, rc, c->err ? c->err : "", want);
	if (want)
		assert_non_null(c->err);
}

static void test_mb_segment_outside_usable(void **state)
{
	struct ctx *c = *state;

	try_segment(c, 0x9ec00, 0x100, 0x1000, 0);		/* ends where low RAM does */
	try_segment(c, 0x9ec00, 0x100, 0x1000 + 1, -ENOMEM);	/* bss one byte into reserved */
	try_segment(c, 0xA0000, 0x100, 0x100, -ENOMEM);	/* hole */
	try_segment(c, 0xF8000, 0x1000, 0x1000, -ENOMEM);	/* BIOS area */
	try_segment(c, 0xFF000, 0x1000, 0x2000, -ENOMEM);	/* straddles 1 MiB */
	try_segment(c, (u32)RAM_SIZE, 0x100, 0x100, -ENOMEM);	/* above RAM */
}

static void test_mb_segment_into_scratch(void **state)
{
	struct ctx *c = *state;

	try_segment(c, GUEST_SCRATCH + 0x8000, 0x100, 0x100, -ENOMEM);
	try_segment(c, GUEST_SCRATCH - 0x1000, 0x100, 0x1001, -ENOMEM);	/* bss reaches it */
	try_segment(c, GUEST_SCRATCH + GUEST_SCRATCH_SIZE - 1, 0x1, 0x1, -ENOMEM);
	try_segment(c, GUEST_SCRATCH - 0x1000, 0x100, 0x1000, 0);		/* right below */
	try_segment(c, GUEST_SCRATCH + GUEST_SCRATCH_SIZE, 0x100, 0x100, 0);	/* right above */
}

static void test_mb_segment_above_limit(void **state)
{
	struct ctx *c = *state;

	c->img.load_limit = 0x104000;
	try_segment(c, 0x100000, 0x1000, 0x4000, 0);		/* ends at the limit */
	try_segment(c, 0x100000, 0x1000, 0x4001, -ENOMEM);	/* bss crosses it */
	try_segment(c, 0x200000, 0x100, 0x100, -ENOMEM);
}

static void test_mb_segment_filesz_above_memsz(void **state)
{
	struct ctx *c = *state;

	try_segment(c, 0x100000, 0x800, 0x400, -ENOEXEC);
}

static void test_mb_truncated(void **state)
{
	struct ctx *c = *state;

	/* A segment running past the end of the file. */
	struct phdr ph[] = { { 1, 0x1000, 0x100000, 0x1001, 0x2000 } };
	build_elf(c, 0x2000, ph, 1);
	put_mb_header(c->file + 0x1000, MB_FLAGS);
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
	ph[0] = (struct phdr){ 1, 0x3000, 0x100000, 0, 0x1000 };	/* offset past the end */
	build_elf(c, 0x2000, ph, 1);
	put_mb_header(c->file + 0x1000, MB_FLAGS);
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);

	/* The program header table cut off. */
	build_std_elf(c);
	put32(c->file + 28, 0x3000 - 64);	/* three entries of 32 bytes do not fit */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
	build_std_elf(c);
	put32(c->file + 28, 0xFFFFFFF0);
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);

	/* Shorter than an ELF header. */
	new_file(c, 48);
	memcpy(c->file, "\x7f" "ELF", 4);
	put_mb_header(c->file + 8, MB_FLAGS);
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
}

static void test_mb_not_elf32_i386(void **state)
{
	struct ctx *c = *state;

	build_std_elf(c);
	put16(c->file + 18, 62);	/* EM_X86_64 */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
	build_std_elf(c);
	c->file[4] = 2;			/* ELFCLASS64 */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
	build_std_elf(c);
	c->file[5] = 2;			/* big endian */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
	build_std_elf(c);
	c->file[0] = 0;			/* no ELF magic and no a.out kludge */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
	build_std_elf(c);
	put16(c->file + 42, 16);	/* phentsize too small */
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
}

static void test_mb_no_load_segment(void **state)
{
	struct ctx *c = *state;
	struct phdr ph[] = { { 4, 0x1000, 0x100000, 0x100, 0x100 }, { 6, 0, 0, 0, 0 } };

	build_elf(c, 0x2000, ph, 2);
	put_mb_header(c->file + 0x1000, MB_FLAGS);
	assert_err(c, load_mb(c, NULL, 0), -ENOEXEC);
}

/* An empty PT_LOAD occupies nothing, wherever it claims to be. */
static int empty_segment_child(void *arg)
{
	struct ctx *c = arg;
	return load_mb(c, NULL, 0) == 0 ? 0 : 2;
}

static void test_mb_empty_segment(void **state)
{
	struct ctx *c = *state;
	struct phdr ph[] = { { 1, 0x1000, 0x100000, 0x1000, 0x1000 }, { 1, 0x2000, 0xF0000000u, 0, 0 } };

	build_elf(c, 0x2000, ph, 2);
	put_mb_header(c->file + 0x1000, MB_FLAGS);
	int st = run_isolated(empty_segment_child, c);
	if (st)
		fail_msg("child exited with %d (crash, sanitizer abort or load error)", st);
}

static void test_mb_modules_limit(void **state)
{
	struct ctx *c = *state;
	struct guest_module mods[17];

	for (u32 i = 0; i < 17; i++)
		mods[i] = (struct guest_module){ 0x2000000 + 0x10000 * i, 0x2000000 + 0x10000 * i + 0x100, "mod" };
	build_std_elf(c);
	assert_mb_ok(c, mods, 16);
	assert_int_equal(get32(ram(c, c->st.rbx + 20, 4)), 16);
	u8 *m = ram(c, get32(ram(c, c->st.rbx + 24, 4)), 16 * 16);
	assert_int_equal(get32(m + 16 * 15), 0x2000000 + 0x10000 * 15);
	assert_err(c, load_mb(c, mods, 17), -EINVAL);
}

static void test_mb_module_strings_too_long(void **state)
{
	struct ctx *c = *state;
	struct guest_module mods[16];
	char *s = malloc(0x1000);

	assert_non_null(s);
	memset(s, 's', 0xFFF);
	s[0xFFF] = '\0';
	for (u32 i = 0; i < 16; i++)
		mods[i] = (struct guest_module){ 0x2000000, 0x2001000, s };
	build_std_elf(c);
	assert_mb_ok(c, mods, 4);	/* 4 x 4 KiB: exactly the room there is */
	assert_err(c, load_mb(c, mods, 5), -EINVAL);
	free(s);
}

static void test_mb_cmdline_truncated(void **state)
{
	struct ctx *c = *state;
	char *s = malloc(0x2000);

	assert_non_null(s);
	memset(s, 'c', 0x1FFF);
	s[0x1FFF] = '\0';
	c->img.cmdline = s;
	build_std_elf(c);
	assert_mb_ok(c, NULL, 0);
	const char *cl = (const char *)ram(c, get32(ram(c, c->st.rbx + 16, 4)), 0x1000);
	assert_int_equal(strnlen(cl, 0x1000), 0xFFF);
	c->img.cmdline = "";
	free(s);
}

static void test_mb_scratch_not_usable(void **state)
{
	struct ctx *c = *state;

	assert_int_equal(memmap_set(&c->map, GUEST_SCRATCH + GUEST_SCRATCH_SIZE - 0x1000, 0x1000, MEM_RESERVED), 0);
	build_std_elf(c);
	assert_err(c, load_mb(c, NULL, 0), -ENOMEM);
}

/* The map promises RAM the window does not reach. */
static void test_mb_out_of_reach(void **state)
{
	struct ctx *c = *state;

	c->ram->pm.size = 0x180000;
	try_segment(c, 0x100000, 0x100, 0x80000, 0);
	try_segment(c, 0x100000, 0x100, 0x80001, -ERANGE);
}

int main(void)
{
#define T(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_linux_is_bzimage),
		T(test_linux_payload_copied),
		T(test_linux_cpu_state),
		T(test_linux_gdt),
		T(test_linux_page_tables),
		T(test_linux_boot_params),
		T(test_linux_header_copied),
		T(test_linux_e820),
		T(test_linux_initrd_above_4g),
		T(test_linux_initrd_addr_max),
		T(test_linux_setup_sects_zero_means_4),
		T(test_linux_relocates_past_reserved),
		T(test_linux_not_relocatable),
		T(test_linux_pref_and_alignment),
		T(test_linux_not_bzimage),
		T(test_linux_old_protocol),
		T(test_linux_no_64bit_entry),
		T(test_linux_truncated),
		T(test_linux_cmdline_length),
		T(test_linux_no_room),
		T(test_linux_pref_near_top),
		T(test_linux_init_size_below_payload),
		T(test_linux_scratch_not_usable),
		T(test_linux_out_of_reach),
		T(test_mb_find_header),
		T(test_mb_elf_segments),
		T(test_mb_cpu_state),
		T(test_mb_info),
		T(test_mb_info_round_trip),
		T(test_mb_mem_lower_upper),
		T(test_mb_aout_kludge),
		T(test_mb_aout_defaults),
		T(test_mb_aout_kludge_in_elf),
		T(test_mb_aout_inconsistent),
		T(test_mb_aout_header_truncated),
		T(test_mb_no_header),
		T(test_mb_bad_checksum),
		T(test_mb_required_flags),
		T(test_mb_segment_outside_usable),
		T(test_mb_segment_into_scratch),
		T(test_mb_segment_above_limit),
		T(test_mb_segment_filesz_above_memsz),
		T(test_mb_truncated),
		T(test_mb_not_elf32_i386),
		T(test_mb_no_load_segment),
		T(test_mb_empty_segment),
		T(test_mb_modules_limit),
		T(test_mb_module_strings_too_long),
		T(test_mb_cmdline_truncated),
		T(test_mb_scratch_not_usable),
		T(test_mb_out_of_reach),
	};
	return RUN_TESTS(tests);
}
