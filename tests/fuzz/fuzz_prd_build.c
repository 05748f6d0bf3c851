/*
 * prd_build (dev/ata_cmd.c): the hypervisor's own PRD table for the first
 * 'bytes' of a scatter list (a validated guest list on the zero-copy path).
 *
 * Input: u16 max_entries (mod 600), u32 bytes, then scatter entries as
 * u8 kind and either u16 pa/2 (kind bit 0 clear) or u64 pa, and u24 len.
 *
 * Invariants, against a reference walk of the list: the result is -EINVAL
 * exactly when the covered part of the list is shorter than 'bytes', has an
 * odd address or reaches above 4 GiB (wrapping included), or bytes is 0;
 * -ENOMEM exactly when more than max_entries entries are needed; otherwise
 * the count, with nothing written past the table.  The entries cover the
 * list's first 'bytes' in order, each at most 64 KiB (count 0 = 64 KiB)
 * without crossing a 64 KiB boundary, and only the last one is marked.
 */
#include "fuzz.h"

#include "tv/ata.h"

#define SG_MAX 64

/* What prd_build must return, worked out independently. */
static int expected(const struct sg_entry *sg, u32 nsg, u64 bytes, u32 max_entries)
{
	u64 need = 0;

	for (u32 i = 0; i < nsg && bytes; i++) {
		u64 pa = sg[i].pa, len = MIN((u64)sg[i].len, bytes);
		if ((pa & 1) || pa + len < pa || pa + len > (1ull << 32))
			return -EINVAL;
		bytes -= len;
		/* 64 KiB pieces: one per 64 KiB block touched. */
		if (len)
			need += ((pa + len - 1) >> 16) - (pa >> 16) + 1;
		if (need > max_entries)
			return -ENOMEM;
	}
	if (bytes || need == 0)
		return -EINVAL;
	return (int)need;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	u32 max_entries = (u32)(take(&in, 2) % 600);
	u64 bytes = take(&in, 4);
	struct sg_entry sg[SG_MAX];
	u32 nsg = 0;

	while (in.n && nsg < SG_MAX) {
		u8 kind = (u8)take(&in, 1);
		u64 pa = kind & 1 ? take(&in, 8) : take(&in, 2) * 2;
		sg[nsg++] = (struct sg_entry){ pa, (u32)take(&in, 3) };
	}

	u8 *table = alloc_exact(max_entries, 8);
	int n = prd_build(table, max_entries, sg, nsg, bytes);
	int want = expected(sg, nsg, bytes, max_entries);

	if (n != want)
		fprintf(stderr, "prd_build = %d, expected %d\n", n, want);
	CHECK(n == want);
	if (n > 0) {
		u32 si = 0;
		u64 off = 0, sum = 0;
		for (int i = 0; i < n; i++) {
			const u8 *e = table + 8 * i;
			u64 base = rd_le(e, 4), cnt = rd_le(e + 4, 2), flags = rd_le(e + 6, 2);
			u64 len = cnt ? cnt : 0x10000;
			CHECK((flags & ~0x8000ull) == 0);
			CHECK(!!(flags & 0x8000) == (i == n - 1));
			CHECK((base & 0xFFFF) + len <= 0x10000);
			/* Skip list entries already used up (and empty ones). */
			while (si < nsg && off == sg[si].len) {
				si++;
				off = 0;
			}
			CHECK(si < nsg);
			CHECK(base == sg[si].pa + off);
			CHECK(off + len <= sg[si].len);
			off += len;
			sum += len;
		}
		CHECK(sum == bytes);
	}
	free(table);
	return 0;
}
