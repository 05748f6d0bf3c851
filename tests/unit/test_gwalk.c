/* mm/gwalk.c: guest linear-to-physical translation in every x86 paging mode. */
#include "util.h"

#include "tv/gwalk.h"

/* Guest tables live in a fake RAM window [RAM_PA, RAM_PA + RAM_SIZE). */
#define RAM_PA 0x100000ull
#define RAM_SIZE 0x20000ull
#define TBL(n) (RAM_PA + 0x1000ull * (n))	/* n-th 4 KiB table page */

#define P (1ull << 0)
#define W (1ull << 1)
#define US (1ull << 2)
#define ACC (1ull << 5)
#define DIRTY (1ull << 6)
#define PS (1ull << 7)
#define G (1ull << 8)
#define PAT_LARGE (1ull << 12)
#define NX (1ull << 63)

#define CR0_PE (1ull << 0)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define SENTINEL 0xA5A5A5A5A5A5A5A5ull

static int setup(void **state)
{
	*state = fake_ram_new(RAM_PA, RAM_SIZE, 0);
	return 0;
}

static int teardown(void **state)
{
	fake_ram_free(*state);
	return 0;
}

static void set32(struct fake_ram *r, u64 pa, u32 v) { put32(fake_at(r, pa, 4), v); }
static void set64(struct fake_ram *r, u64 pa, u64 v) { put64(fake_at(r, pa, 8), v); }

/* Index of va at level l (1 = PT ... 5 = PML5) in 64-bit-entry formats. */
static u64 idx9(u64 va, int l) { return (va >> (12 + 9 * (l - 1))) & 511; }

static const struct guest_paging pg32 = { CR0_PG | CR0_PE | CR0_WP, TBL(0), 0, 0 };

static int walk(struct fake_ram *r, const struct guest_paging *pg, u64 gva, bool write, u64 *gpa)
{
	*gpa = SENTINEL;
	return gwalk(&r->pm, pg, gva, write, gpa);
}

/* Translates to 'want' for reads and writes. */
static void expect_rw(struct fake_ram *r, const struct guest_paging *pg, u64 gva, u64 want)
{
	for (int write = 0; write < 2; write++) {
		u64 gpa;
		int rc = walk(r, pg, gva, write, &gpa);
		if (rc != 0 || gpa != want)
			fail_msg("gwalk(%#llx, %s) = %d, gpa %#llx; expected 0, gpa %#llx",
				 (unsigned long long)gva, write ? "write" : "read", rc,
				 (unsigned long long)gpa, (unsigned long long)want);
	}
}

static void expect_fault(struct fake_ram *r, const struct guest_paging *pg, u64 gva, bool write)
{
	u64 gpa;
	int rc = walk(r, pg, gva, write, &gpa);

	if (rc != -EFAULT)
		fail_msg("gwalk(%#llx, %s) = %d, gpa %#llx; expected -EFAULT", (unsigned long long)gva,
			 write ? "write" : "read", rc, (unsigned long long)gpa);
}

/* ---- paging off ---- */

static void test_paging_off_identity(void **state)
{
	struct physmem empty = { 0, 0, 0 };	/* nothing may be read */
	struct guest_paging pg = { CR0_PE, TBL(0), CR4_PAE | CR4_PSE, EFER_LME };
	u64 gpa = SENTINEL;

	assert_int_equal(gwalk(&empty, &pg, 0x12345678, false, &gpa), 0);
	assert_int_equal(gpa, 0x12345678);
	assert_int_equal(gwalk(&empty, &pg, 0xFFFFFFFF, true, &gpa), 0);
	assert_int_equal(gpa, 0xFFFFFFFF);
	/* Linear addresses are 32-bit with paging off. */
	assert_int_equal(gwalk(&empty, &pg, 0xABCD12345678ull, true, &gpa), 0);
	assert_int_equal(gpa, 0x12345678);
	assert_int_equal(gwalk(&empty, &pg, 0x100000000ull, false, &gpa), 0);
	assert_int_equal(gpa, 0);
	pg.cr0 = 0;
	assert_int_equal(gwalk(&empty, &pg, 0xFFFFFFFF00000FFFull, false, &gpa), 0);
	assert_int_equal(gpa, 0xFFF);
}

/* ---- 32-bit, two levels ---- */

static void test_32bit_4k(void **state)
{
	struct fake_ram *r = *state;
	/* gva 0xC0801ABC: PDE 0x302, PTE 0x001, offset 0xABC. */
	set32(r, TBL(0) + 0x302 * 4, (u32)(TBL(1) | P | W | ACC));
	set32(r, TBL(1) + 0x001 * 4, 0x0ABCD000u | (u32)(P | W | ACC | DIRTY | G));
	/* A neighbour that must not be picked up. */
	set32(r, TBL(1) + 0x002 * 4, 0x05555000u | (u32)(P | W));
	expect_rw(r, &pg32, 0xC0801ABC, 0x0ABCDABC);
	expect_rw(r, &pg32, 0xC0801000, 0x0ABCD000);
	expect_rw(r, &pg32, 0xC0801FFF, 0x0ABCDFFF);
	expect_rw(r, &pg32, 0xC0802123, 0x05555123);

	/* CR3's low flag bits (PWT, PCD) are not part of the address. */
	struct guest_paging pg = pg32;
	pg.cr3 = TBL(0) | 0x18;
	expect_rw(r, &pg, 0xC0801ABC, 0x0ABCDABC);
}

/* Top PDE and PTE: every index bit is used. */
static void test_32bit_last_entries(void **state)
{
	struct fake_ram *r = *state;
	set32(r, TBL(0) + 0x3FF * 4, (u32)(TBL(2) | P | W));
	set32(r, TBL(2) + 0x3FF * 4, 0xFFFFF000u | (u32)(P | W));
	set32(r, TBL(2), 0x00001000u | (u32)(P | W));
	expect_rw(r, &pg32, 0xFFFFFFFF, 0xFFFFFFFF);
	expect_rw(r, &pg32, 0xFFC00010, 0x00001010);
	expect_fault(r, &pg32, 0xFF800000, false);	/* PDE 0x3FE empty */
}

static void test_32bit_pse_4m(void **state)
{
	struct fake_ram *r = *state;
	struct guest_paging pg = pg32;
	pg.cr4 = CR4_PSE;
	/* PDE 0x048 (gva 0x12000000..): 4 MiB page at 0x3FC00000; PAT bit 12 set, not address. */
	set32(r, TBL(0) + 0x048 * 4, 0x3FC00000u | (u32)(PAT_LARGE | PS | P | W | ACC | DIRTY));
	expect_rw(r, &pg, 0x12000000, 0x3FC00000);
	expect_rw(r, &pg, 0x12345678, 0x3FF45678);
	expect_rw(r, &pg, 0x123FFFFF, 0x3FFFFFFF);
}

static void test_32bit_pse36_high_bits(void **state)
{
	struct fake_ram *r = *state;
	struct guest_paging pg = pg32;
	pg.cr4 = CR4_PSE;
	/* PDE bits 13-20 = 0xAB -> physical bits 32-39. */
	set32(r, TBL(0) + 0x001 * 4, 0x12C00000u | (0xABu << 13) | (u32)(PS | P | W));
	expect_rw(r, &pg, 0x00400000 | 0x123456, 0xAB12C00000ull | 0x123456);
	/* All eight bits, and PAT (bit 12) still ignored. */
	set32(r, TBL(0) + 0x002 * 4, 0xFFC00000u | (0xFFu << 13) | (u32)(PAT_LARGE | PS | P | W));
	expect_rw(r, &pg, 0x00BFFFFF, 0xFFFFFFFFFFull);
	/* Just bit 13 -> bit 32; just bit 20 -> bit 39. */
	set32(r, TBL(0) + 0x003 * 4, 0x00400000u | (1u << 13) | (u32)(PS | P | W));
	expect_rw(r, &pg, 0x00C00001, 0x100400001ull);
	set32(r, TBL(0) + 0x004 * 4, (1u << 20) | (u32)(PS | P | W));
	expect_rw(r, &pg, 0x01000002, 0x8000000002ull);
}

/* Without CR4.PSE the PS bit is ignored: the PDE points to a page table. */
static void test_32bit_ps_without_pse(void **state)
{
	struct fake_ram *r = *state;
	set32(r, TBL(0) + 0x001 * 4, (u32)(TBL(3) | PS | P | W));
	set32(r, TBL(3) + 0x005 * 4, 0x07777000u | (u32)(P | W));
	expect_rw(r, &pg32, 0x00405123, 0x07777123);
	struct guest_paging pg = pg32;
	pg.cr4 = CR4_PSE;	/* now a 4 MiB page: 0x103083 has bits 13 and 20 set (PSE-36 0x81) */
	assert_int_equal(TBL(3), 0x103000);
	expect_rw(r, &pg, 0x00405123, 0x8100005123ull);
}

static void test_32bit_not_present(void **state)
{
	struct fake_ram *r = *state;
	set32(r, TBL(0) + 0x001 * 4, (u32)(TBL(1) | W));	/* PDE not present */
	set32(r, TBL(1) + 0x000 * 4, 0x01000000u | (u32)(P | W));
	expect_fault(r, &pg32, 0x00400000, false);
	expect_fault(r, &pg32, 0x00400000, true);
	set32(r, TBL(0) + 0x002 * 4, (u32)(TBL(1) | P | W));
	set32(r, TBL(1) + 0x001 * 4, 0x02000000u | (u32)W);	/* PTE not present */
	expect_rw(r, &pg32, 0x00800FFF, 0x01000FFF);
	expect_fault(r, &pg32, 0x00801000, false);
	expect_fault(r, &pg32, 0x00801000, true);
	/* A not-present 4 MiB PDE. */
	struct guest_paging pg = pg32;
	pg.cr4 = CR4_PSE;
	set32(r, TBL(0) + 0x003 * 4, 0x00C00000u | (u32)(PS | W));
	expect_fault(r, &pg, 0x00C00000, false);
}

static void test_32bit_write_protect(void **state)
{
	struct fake_ram *r = *state;
	struct guest_paging wp = pg32, nowp = pg32;
	u64 gpa;

	nowp.cr0 &= ~CR0_WP;
	wp.cr4 = nowp.cr4 = CR4_PSE;
	/* Read-only PTE under a writable PDE. */
	set32(r, TBL(0) + 0x001 * 4, (u32)(TBL(1) | P | W));
	set32(r, TBL(1) + 0x000 * 4, 0x01000000u | (u32)P);
	/* Writable PTE under a read-only PDE. */
	set32(r, TBL(0) + 0x002 * 4, (u32)(TBL(2) | P));
	set32(r, TBL(2) + 0x000 * 4, 0x02000000u | (u32)(P | W));
	/* Read-only 4 MiB page. */
	set32(r, TBL(0) + 0x003 * 4, 0x03000000u | (u32)(PS | P));
	/* Writable everywhere. */
	set32(r, TBL(0) + 0x004 * 4, (u32)(TBL(3) | P | W));
	set32(r, TBL(3) + 0x000 * 4, 0x04000000u | (u32)(P | W));

	static const u64 ro_va[] = { 0x00400123, 0x00800123, 0x00C00123 };
	static const u64 ro_pa[] = { 0x01000123, 0x02000123, 0x03000123 };
	for (size_t i = 0; i < ARRAY_SIZE(ro_va); i++) {
		assert_int_equal(walk(r, &wp, ro_va[i], false, &gpa), 0);
		assert_int_equal(gpa, ro_pa[i]);
		assert_int_equal(walk(r, &wp, ro_va[i], true, &gpa), -EFAULT);
		expect_rw(r, &nowp, ro_va[i], ro_pa[i]);	/* supervisor writes ignore R/W */
	}
	expect_rw(r, &wp, 0x01000123, 0x04000123);
}

/* ---- PAE, three levels ---- */

static const struct guest_paging pgpae = { CR0_PG | CR0_PE | CR0_WP, TBL(0), CR4_PAE, 0 };

static void test_pae_4k(void **state)
{
	struct fake_ram *r = *state;
	struct guest_paging pg = pgpae;
	/* PDPT at a 32-byte (not page) aligned CR3; PWT/PCD flag bits ignored. */
	u64 pdpt = TBL(0) + 0x60;
	pg.cr3 = pdpt | 0x18;
	/* gva 0xC0A03ABC: PDPTE 3, PDE 0x005, PTE 0x003. */
	u64 gva = 0xC0A03ABC;
	assert_int_equal(gva >> 30, 3);
	assert_int_equal(idx9(gva, 2), 5);
	assert_int_equal(idx9(gva, 1), 3);
	set64(r, pdpt + 3 * 8, TBL(1) | P);
	set64(r, TBL(1) + 5 * 8, TBL(2) | P | W);
	set64(r, TBL(2) + 3 * 8, 0x0000001234567000ull | NX | P | W | ACC | DIRTY);
	expect_rw(r, &pg, gva, 0x1234567ABCull);
	/* The other PDPTEs are separate. */
	set64(r, pdpt + 0 * 8, TBL(3) | P);
	set64(r, TBL(3) + 0, TBL(4) | P | W);
	set64(r, TBL(4) + 0, 0x5000ull | P | W);
	expect_rw(r, &pg, 0x00000FFF, 0x5FFF);
	expect_fault(r, &pg, 0x40000000, false);	/* PDPTE 1 empty */
	expect_fault(r, &pg, 0x80000000, false);	/* PDPTE 2 empty */
	/* Page-aligned CR3 would read a different (empty) PDPT slot. */
	pg.cr3 = TBL(0);
	expect_fault(r, &pg, gva, false);
}

static void test_pae_2m(void **state)
{
	struct fake_ram *r = *state;
	u64 gva = 0x7FE12345;	/* PDPTE 1, PDE 0x1FF, offset 0x12345 */
	set64(r, TBL(0) + 1 * 8, TBL(1) | P);
	/* 2 MiB page above 4 GiB; PAT bit 12 and NX are not address bits. */
	set64(r, TBL(1) + 0x1FF * 8, 0x0000000540600000ull | PAT_LARGE | NX | PS | P | W);
	expect_rw(r, &pgpae, gva, 0x540600000ull | (gva & 0x1FFFFF));
	/* EFER.LME without LMA is still PAE (three levels). */
	struct guest_paging pg = pgpae;
	pg.efer = EFER_LME;
	expect_rw(r, &pg, gva, 0x540600000ull | (gva & 0x1FFFFF));
	/* PS at a PAE PDPTE is not a 1 GiB page: it still points to a PD. */
	set64(r, TBL(0) + 2 * 8, TBL(2) | PS | P);
	set64(r, TBL(2) + 0, TBL(3) | P | W);
	set64(r, TBL(3) + 0, 0x9000ull | P | W);
	expect_rw(r, &pgpae, 0x80000777, 0x9777);
}

static void test_pae_not_present_and_wp(void **state)
{
	struct fake_ram *r = *state;
	struct guest_paging nowp = pgpae;
	u64 gpa;

	nowp.cr0 &= ~CR0_WP;
	set64(r, TBL(0) + 0, TBL(1) | P);	/* PAE PDPTEs have no R/W bit */
	set64(r, TBL(1) + 0, TBL(2) | P | W);
	set64(r, TBL(2) + 1 * 8, 0x11000ull | P | W);	/* writable */
	set64(r, TBL(2) + 2 * 8, 0x12000ull | P);	/* read-only PTE */
	set64(r, TBL(2) + 3 * 8, 0x13000ull | W);	/* not present */
	set64(r, TBL(1) + 1 * 8, TBL(3) | P);		/* read-only PDE */
	set64(r, TBL(3) + 0, 0x14000ull | P | W);
	set64(r, TBL(1) + 2 * 8, 0x600000ull | PS | P);	/* read-only 2 MiB page */
	set64(r, TBL(1) + 3 * 8, 0x800000ull | PS | W);	/* not-present 2 MiB page */

	expect_rw(r, &pgpae, 0x1010, 0x11010);
	assert_int_equal(walk(r, &pgpae, 0x2010, false, &gpa), 0);
	assert_int_equal(gpa, 0x12010);
	expect_fault(r, &pgpae, 0x2010, true);
	expect_rw(r, &nowp, 0x2010, 0x12010);
	expect_fault(r, &pgpae, 0x3010, false);
	expect_fault(r, &nowp, 0x3010, true);
	assert_int_equal(walk(r, &pgpae, 0x200010, false, &gpa), 0);
	assert_int_equal(gpa, 0x14010);
	expect_fault(r, &pgpae, 0x200010, true);
	expect_rw(r, &nowp, 0x200010, 0x14010);
	assert_int_equal(walk(r, &pgpae, 0x400010, false, &gpa), 0);
	assert_int_equal(gpa, 0x600010);
	expect_fault(r, &pgpae, 0x400010, true);
	expect_rw(r, &nowp, 0x400010, 0x600010);
	expect_fault(r, &pgpae, 0x600010, false);
	/* A non-present PDPTE. */
	set64(r, TBL(0) + 3 * 8, TBL(1));
	expect_fault(r, &pgpae, 0xC0001010, false);
}

/* Outside long mode linear addresses are 32-bit: bits 32-63 of gva are ignored. */
static void test_legacy_modes_ignore_high_gva_bits(void **state)
{
	struct fake_ram *r = *state;
	struct guest_paging pg = pgpae;

	set64(r, TBL(0) + 3 * 8, TBL(1) | P);
	set64(r, TBL(1) + 0x1FF * 8, TBL(2) | P | W);
	set64(r, TBL(2) + 0x1FF * 8, 0xAB000ull | P | W);
	expect_rw(r, &pg, 0xFFFFFFFF, 0xABFFF);
	expect_rw(r, &pg, 0xFFFFFFFFFFFFFFFFull, 0xABFFF);
	expect_rw(r, &pg, 0x00000004FFFFF123ull, 0xAB123);
	/* 32-bit paging. */
	memset(fake_at(r, TBL(0), 0x3000), 0, 0x3000);
	set32(r, TBL(0) + 0x3FF * 4, (u32)(TBL(1) | P | W));
	set32(r, TBL(1) + 0x3FF * 4, 0xCD000u | (u32)(P | W));
	expect_rw(r, &pg32, 0xFFFFF456, 0xCD456);
	expect_rw(r, &pg32, 0xABCDEF12FFFFF456ull, 0xCD456);
}

/* ---- long mode, four levels ---- */

static const struct guest_paging pg64 = { CR0_PG | CR0_PE | CR0_WP, TBL(0), CR4_PAE,
					  EFER_LME | EFER_LMA };

/* Build PML4 (TBL(0)) -> PDPT (t3) -> PD (t2) -> PT (t1) for va, with the given flags. */
static void map4(struct fake_ram *r, u64 va, u64 t3, u64 t2, u64 t1, u64 f4, u64 f3, u64 f2)
{
	set64(r, TBL(0) + idx9(va, 4) * 8, t3 | f4);
	set64(r, t3 + idx9(va, 3) * 8, t2 | f3);
	set64(r, t2 + idx9(va, 2) * 8, t1 | f2);
}

static void test_long_4k(void **state)
{
	struct fake_ram *r = *state;
	u64 gva = 0xFFFF8A5B3C4D5678ull;	/* high-half canonical */
	map4(r, gva, TBL(1), TBL(2), TBL(3), P | W, P | W, P | W);
	set64(r, TBL(3) + idx9(gva, 1) * 8, 0x000000ABCDEF1000ull | NX | G | DIRTY | ACC | P | W);
	expect_rw(r, &pg64, gva, 0xABCDEF1678ull);
	/* The highest physical address bits (51) and CR3 flag bits. */
	set64(r, TBL(3) + idx9(gva, 1) * 8, 0x000FFFFFFFFFF000ull | (0x7FFull << 52) | P | W);
	struct guest_paging pg = pg64;
	pg.cr3 = TBL(0) | 0x18;
	expect_rw(r, &pg, gva, 0x000FFFFFFFFFF678ull);
	/* A neighbouring PTE. */
	set64(r, TBL(3) + ((idx9(gva, 1) + 1) & 511) * 8, 0x42000ull | P | W);
	expect_rw(r, &pg64, gva + 0x1000 - 0x678, 0x42000);
}

static void test_long_indices(void **state)
{
	struct fake_ram *r = *state;
	/* Same low 39 bits, different PML4 index: different tables. */
	u64 a = 0x0000000040201123ull, b = 0x0000FF8040201123ull & 0x00007FFFFFFFFFFFull;
	assert_true(idx9(a, 4) != idx9(b, 4));
	map4(r, a, TBL(1), TBL(2), TBL(3), P | W, P | W, P | W);
	set64(r, TBL(3) + idx9(a, 1) * 8, 0xA000ull | P | W);
	map4(r, b, TBL(4), TBL(5), TBL(6), P | W, P | W, P | W);
	set64(r, TBL(6) + idx9(b, 1) * 8, 0xB000ull | P | W);
	expect_rw(r, &pg64, a, 0xA123);
	expect_rw(r, &pg64, b, 0xB123);
	/* Neighbouring PDPT, PD and PT slots are empty. */
	expect_fault(r, &pg64, a + GiB(1), false);
	expect_fault(r, &pg64, a + MiB(2), false);
	expect_fault(r, &pg64, a + KiB(4), false);
}

static void test_long_2m(void **state)
{
	struct fake_ram *r = *state;
	u64 gva = 0xFFFFFFFF80312345ull;	/* kernel text style */
	set64(r, TBL(0) + idx9(gva, 4) * 8, TBL(1) | P | W);
	set64(r, TBL(1) + idx9(gva, 3) * 8, TBL(2) | P | W);
	set64(r, TBL(2) + idx9(gva, 2) * 8, 0x0000012345E00000ull | PAT_LARGE | NX | PS | P | W);
	expect_rw(r, &pg64, gva, 0x12345E00000ull | 0x112345);
	expect_rw(r, &pg64, gva & ~0x1FFFFFull, 0x12345E00000ull);
	expect_rw(r, &pg64, gva | 0x1FFFFF, 0x12345FFFFFFull);
}

static void test_long_1g(void **state)
{
	struct fake_ram *r = *state;
	u64 gva = 0x00007F8123456789ull;
	set64(r, TBL(0) + idx9(gva, 4) * 8, TBL(1) | P | W);
	/* 1 GiB page at 0x34C0000000; bits 12-29 (PAT etc.) are not address bits. */
	set64(r, TBL(1) + idx9(gva, 3) * 8, 0x34C0000000ull | PAT_LARGE | (1ull << 20) | PS | P | W);
	expect_rw(r, &pg64, gva, 0x34C0000000ull | (gva & 0x3FFFFFFF));
	expect_rw(r, &pg64, gva & ~0x3FFFFFFFull, 0x34C0000000ull);
	expect_rw(r, &pg64, gva | 0x3FFFFFFF, 0x34FFFFFFFFull);
}

static void test_long_not_present(void **state)
{
	struct fake_ram *r = *state;
	u64 gva = 0x0000123456789000ull;
	for (int lvl = 4; lvl >= 1; lvl--) {
		memset(fake_at(r, TBL(0), 0x5000), 0, 0x5000);
		map4(r, gva, TBL(1), TBL(2), TBL(3), P | W, P | W, P | W);
		set64(r, TBL(3) + idx9(gva, 1) * 8, 0x77000ull | P | W);
		expect_rw(r, &pg64, gva, 0x77000);
		/* Clear P at one level, keep the address. */
		static const u64 tbl[] = { 0, TBL(3), TBL(2), TBL(1), TBL(0) };
		u64 pa = tbl[lvl] + idx9(gva, lvl) * 8;
		set64(r, pa, get64(fake_at(r, pa, 8)) & ~P);
		expect_fault(r, &pg64, gva, false);
		expect_fault(r, &pg64, gva, true);
	}
}

/* R/W clear at any one level makes writes fail (with CR0.WP), reads succeed. */
static void test_long_upper_level_rw(void **state)
{
	struct fake_ram *r = *state;
	struct guest_paging nowp = pg64;
	u64 gva = 0x00000ABC00C0F111ull, gpa;

	nowp.cr0 &= ~CR0_WP;
	for (int lvl = 4; lvl >= 1; lvl--) {
		memset(fake_at(r, TBL(0), 0x5000), 0, 0x5000);
		map4(r, gva, TBL(1), TBL(2), TBL(3), P | W, P | W, P | W);
		set64(r, TBL(3) + idx9(gva, 1) * 8, 0x88000ull | P | W);
		expect_rw(r, &pg64, gva, 0x88111);
		static const u64 tbl[] = { 0, TBL(3), TBL(2), TBL(1), TBL(0) };
		u64 pa = tbl[lvl] + idx9(gva, lvl) * 8;
		set64(r, pa, get64(fake_at(r, pa, 8)) & ~W);
		assert_int_equal(walk(r, &pg64, gva, false, &gpa), 0);
		assert_int_equal(gpa, 0x88111);
		if (walk(r, &pg64, gva, true, &gpa) != -EFAULT)
			fail_msg("write allowed with R/W clear at level %d", lvl);
		expect_rw(r, &nowp, gva, 0x88111);
	}
}

/* Read-only upper levels deny writes to large pages too. */
static void test_long_large_page_rw(void **state)
{
	struct fake_ram *r = *state;
	u64 gpa;

	/* 1 GiB page, PML4E read-only. */
	u64 a = 0x0000008040000123ull;
	set64(r, TBL(0) + idx9(a, 4) * 8, TBL(1) | P);
	set64(r, TBL(1) + idx9(a, 3) * 8, 0x80000000ull | PS | P | W);
	assert_int_equal(walk(r, &pg64, a, false, &gpa), 0);
	assert_int_equal(gpa, 0x80000123);
	expect_fault(r, &pg64, a, true);
	/* 1 GiB page itself read-only. */
	set64(r, TBL(0) + idx9(a, 4) * 8, TBL(1) | P | W);
	set64(r, TBL(1) + idx9(a, 3) * 8, 0x80000000ull | PS | P);
	expect_fault(r, &pg64, a, true);
	set64(r, TBL(1) + idx9(a, 3) * 8, 0x80000000ull | PS | P | W);
	expect_rw(r, &pg64, a, 0x80000123);
	/* 2 MiB page under a read-only PDPTE. */
	u64 b = 0x0000010000200456ull;
	set64(r, TBL(0) + idx9(b, 4) * 8, TBL(2) | P | W);
	set64(r, TBL(2) + idx9(b, 3) * 8, TBL(3) | P);
	set64(r, TBL(3) + idx9(b, 2) * 8, 0x40000000ull | PS | P | W);
	assert_int_equal(walk(r, &pg64, b, false, &gpa), 0);
	assert_int_equal(gpa, 0x40000456);
	expect_fault(r, &pg64, b, true);
}

/* ---- five levels (CR4.LA57) ---- */

static void test_la57(void **state)
{
	struct fake_ram *r = *state;
	struct guest_paging pg = pg64;
	pg.cr4 |= CR4_LA57;
	/* A 57-bit address with PML5 index 0x1AB (bits 48-56 set). */
	u64 gva = 0xFFABCDEF12345678ull;
	assert_int_equal(idx9(gva, 5), 0x1AB);
	set64(r, TBL(0) + idx9(gva, 5) * 8, TBL(1) | P | W);
	set64(r, TBL(1) + idx9(gva, 4) * 8, TBL(2) | P | W);
	set64(r, TBL(2) + idx9(gva, 3) * 8, TBL(3) | P | W);
	set64(r, TBL(3) + idx9(gva, 2) * 8, TBL(4) | P | W);
	set64(r, TBL(4) + idx9(gva, 1) * 8, 0x0000000FEDCB9000ull | NX | P | W);
	expect_rw(r, &pg, gva, 0xFEDCB9678ull);
	/* Another PML5 slot with the same low 48 bits is a different address. */
	u64 other = (gva & 0x0000FFFFFFFFFFFFull) | (0x0AAull << 48);
	expect_fault(r, &pg, other, false);
	set64(r, TBL(0) + idx9(other, 5) * 8, TBL(1) | P | W);	/* share the lower tables */
	expect_rw(r, &pg, other, 0xFEDCB9678ull);
	/* Without LA57 the same tables are walked as four levels from the top one. */
	expect_fault(r, &pg64, gva, false);
}

static void test_la57_large_pages_and_rw(void **state)
{
	struct fake_ram *r = *state;
	struct guest_paging pg = pg64;
	u64 gpa;

	pg.cr4 |= CR4_LA57;
	u64 a = 0x0001000040000ABCull;	/* PML5 index 1 */
	assert_int_equal(idx9(a, 5), 1);
	set64(r, TBL(0) + idx9(a, 5) * 8, TBL(1) | P);	/* PML5E read-only */
	set64(r, TBL(1) + idx9(a, 4) * 8, TBL(2) | P | W);
	set64(r, TBL(2) + idx9(a, 3) * 8, 0x0000004000000000ull | PS | P | W);	/* 1 GiB */
	assert_int_equal(walk(r, &pg, a, false, &gpa), 0);
	assert_int_equal(gpa, 0x4000000ABCull);
	expect_fault(r, &pg, a, true);
	set64(r, TBL(0) + idx9(a, 5) * 8, TBL(1) | P | W);
	expect_rw(r, &pg, a, 0x4000000ABCull);
	/* 2 MiB under it. */
	u64 b = a + GiB(1) + MiB(2) * 3;
	set64(r, TBL(2) + idx9(b, 3) * 8, TBL(3) | P | W);
	set64(r, TBL(3) + idx9(b, 2) * 8, 0x00000000C0000000ull | PS | P | W);
	expect_rw(r, &pg, b, 0xC0000ABCull);
	/* Not-present PML5E. */
	set64(r, TBL(0) + idx9(a, 5) * 8, TBL(1) | W);
	expect_fault(r, &pg, a, false);
}

/* ---- tables outside the window ---- */

static void test_tables_outside_window(void **state)
{
	struct fake_ram *r = *state;
	struct guest_paging pg = pg32;

	/* CR3 outside the window, either side. */
	pg.cr3 = RAM_PA - 0x1000;
	expect_fault(r, &pg, 0x1000, false);
	pg.cr3 = RAM_PA + RAM_SIZE;
	expect_fault(r, &pg, 0x1000, false);
	/* 32-bit PDE pointing to a page table outside. */
	set32(r, TBL(0), 0x00200000u | (u32)(P | W));
	expect_fault(r, &pg32, 0x123, false);
	/* ... and the last in-window PDE does work. */
	pg.cr3 = RAM_PA + RAM_SIZE - 0x1000;
	set32(r, pg.cr3 + 0x3FF * 4, (u32)(TBL(1) | P | W));
	set32(r, TBL(1) + 0x3FF * 4, 0x1000u | (u32)(P | W));
	expect_rw(r, &pg, 0xFFFFF00F, 0x100F);

	/* Long mode: each level's table outside in turn. */
	u64 gva = 0x0000100000000000ull;
	pg = pg64;
	pg.cr3 = 0x40000000;
	expect_fault(r, &pg, gva, false);
	memset(fake_at(r, TBL(0), 0x5000), 0, 0x5000);
	map4(r, gva, TBL(1), TBL(2), TBL(3), P | W, P | W, P | W);
	set64(r, TBL(3) + idx9(gva, 1) * 8, 0x5000ull | P | W);
	expect_rw(r, &pg64, gva, 0x5000);
	set64(r, TBL(2) + idx9(gva, 2) * 8, 0x7FFF000ull | P | W);		/* PT outside */
	expect_fault(r, &pg64, gva, false);
	set64(r, TBL(1) + idx9(gva, 3) * 8, 0x0000FFFFFFFFF000ull | P | W);	/* PD outside */
	expect_fault(r, &pg64, gva, false);
	set64(r, TBL(0) + idx9(gva, 4) * 8, 0x1000ull | P | W);		/* PDPT outside */
	expect_fault(r, &pg64, gva, false);
	/* PAE PDPT outside. */
	pg = pgpae;
	pg.cr3 = 0xFFFFFFE0;
	expect_fault(r, &pg, 0, false);
}

/* An entry straddling the end of the window is not read. */
static void test_entry_straddles_window(void **state)
{
	struct fake_ram *r = fake_ram_new(RAM_PA, 0x1004, 0);
	struct guest_paging pg = pg64;
	u64 gva = 511ull << 39;	/* PML4 index 511 -> entry at +0xFF8 */

	set64(r, TBL(0) + 0xFF8, TBL(1) | P | W);
	/*
	 * The window ends 4 bytes into the next page: PDPT entry 0 at TBL(1) is
	 * half in.  Its low half alone would be a valid 1 GiB page.
	 */
	set32(r, TBL(1), (u32)(PS | P | W));
	expect_fault(r, &pg, gva, false);
	/* A 4-byte 32-bit entry at the same place fits. */
	pg = pg32;
	pg.cr3 = TBL(1);
	pg.cr4 = CR4_PSE;
	set32(r, TBL(1), 0x00C00000u | (u32)(PS | P | W));
	expect_rw(r, &pg, 0x00012345, 0x00C12345);
	fake_ram_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paging_off_identity),
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_32bit_4k),
		T(test_32bit_last_entries),
		T(test_32bit_pse_4m),
		T(test_32bit_pse36_high_bits),
		T(test_32bit_ps_without_pse),
		T(test_32bit_not_present),
		T(test_32bit_write_protect),
		T(test_pae_4k),
		T(test_pae_2m),
		T(test_pae_not_present_and_wp),
		T(test_legacy_modes_ignore_high_gva_bits),
		T(test_long_4k),
		T(test_long_indices),
		T(test_long_2m),
		T(test_long_1g),
		T(test_long_not_present),
		T(test_long_upper_level_rw),
		T(test_long_large_page_rw),
		T(test_la57),
		T(test_la57_large_pages_and_rw),
		T(test_tables_outside_window),
		cmocka_unit_test(test_entry_straddles_window),
#undef T
	};
	return RUN_TESTS(tests);
}
