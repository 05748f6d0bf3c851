/*
 * gwalk (mm/gwalk.c): a walk of the guest's own page tables, which live in
 * fuzzed guest memory behind a fake physmem window.
 *
 * Input: u8 paging bits (CR0.PG, CR0.WP, CR4.PAE, CR4.PSE, EFER.LMA,
 * CR4.LA57), u8 window start in 4 KiB pages, u64 CR3, u64 linear address,
 * then the memory (all that is left).
 *
 * Invariants: 0 or -EFAULT; only the window is read (an exactly sized heap
 * block); without paging the address is its low 32 bits; otherwise the
 * page offset is kept and the result fits the mode (32 bits for two-level
 * tables, 40 with a PSE 4 MiB page, 52 for PAE and long mode); a write
 * that may go through may be read the same; without CR0.WP writes are
 * read-only checked the same as reads; walks are deterministic.
 */
#include "fuzz.h"

#include "tv/gwalk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	u8 bits = (u8)take(&in, 1);
	u64 start = take(&in, 1) << 12;
	struct guest_paging pg = {
		.cr0 = (bits & 1 ? 1ull << 31 : 0) | (bits & 2 ? 1ull << 16 : 0) | 1,
		.cr3 = take(&in, 8),
		.cr4 = (bits & 4 ? 1ull << 5 : 0) | (bits & 8 ? 1ull << 4 : 0) | (bits & 32 ? 1ull << 12 : 0),
		.efer = bits & 16 ? 1ull << 10 | 1ull << 8 : 0,
	};
	u64 gva = take(&in, 8);
	struct fuzz_ram ram;

	ram_init(&ram, start, &in);
	u64 r_gpa = 0xA5A5, w_gpa = 0xA5A5, again = 0xA5A5;
	int r = gwalk(&ram.pm, &pg, gva, false, &r_gpa);
	int w = gwalk(&ram.pm, &pg, gva, true, &w_gpa);

	CHECK(r == 0 || r == -EFAULT);
	CHECK(w == 0 || w == -EFAULT);
	CHECK(gwalk(&ram.pm, &pg, gva, false, &again) == r && (r || again == r_gpa));
	if (!(bits & 1)) {
		CHECK(r == 0 && w == 0 && r_gpa == (gva & 0xFFFFFFFFull) && w_gpa == r_gpa);
		goto out;
	}
	if (r == 0) {
		CHECK((r_gpa & 0xFFF) == (gva & 0xFFF));
		if (!(bits & 4))
			CHECK(r_gpa < (bits & 8 ? 1ull << 40 : 1ull << 32));
		else
			CHECK(r_gpa < 1ull << 52);
	}
	if (w == 0)
		CHECK(r == 0 && w_gpa == r_gpa);
	if (!(bits & 2))
		CHECK(w == r && (r || w_gpa == r_gpa));
out:
	ram_free(&ram);
	return 0;
}
