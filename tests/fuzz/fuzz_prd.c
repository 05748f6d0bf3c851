/*
 * prd_parse and sg_copy (dev/ata_cmd.c): a guest's bus-master PRD table,
 * read out of fuzzed guest memory, and the copy through its scatter list.
 *
 * Input: the DMA window and limits (fuzz.h), u64 prdt_pa, u16 max,
 * u32 skip, u24 copy length, u8 direction, then the guest memory.
 *
 * Invariants: the result is an entry count in [1, min(max, PRD_MAX)],
 * -EINVAL or -EFAULT; every entry is the table's entry (base, byte count
 * with 0 meaning 64 KiB), even, inside the limits; only the last one ends
 * the table; the total is their sum; the table itself lies inside the
 * limits (reads elsewhere hit poisoned memory); nothing is written past
 * sg[max - 1]; sg_copy stays inside its buffer and the allowed memory.
 */
#include "fuzz.h"

#include "tv/ata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct dma_limits lim;
	u64 start = dma_take(&in, &lim);
	u64 prdt_pa = take(&in, 8);
	u32 max = (u32)(take(&in, 2) % (PRD_MAX + 2));
	u64 skip = take(&in, 4), len = take(&in, 3);
	bool to_sg = take(&in, 1) & 1;
	struct fuzz_ram ram;

	ram_init(&ram, start, &in);
	/* Reference copy of the table, read before poisoning. */
	u8 *mem = malloc(ram.size ? ram.size : 1);
	if (!mem)
		abort();
	memcpy(mem, ram.buf, ram.size);
	dma_poison(&ram, &lim);

	struct sg_entry *sg = alloc_exact(max, sizeof(*sg));
	u64 total = 0xA5A5;
	int n = prd_parse(&ram.pm, prdt_pa, &lim, sg, max, &total);

	CHECK(n == -EINVAL || n == -EFAULT || (n >= 1 && (u32)n <= max && n <= PRD_MAX));
	if (n > 0) {
		u64 sum = 0;
		CHECK(dma_allowed(&lim, prdt_pa, 8ull * (u32)n));
		for (int i = 0; i < n; i++) {
			u64 e_pa = prdt_pa + 8ull * (u32)i;
			CHECK(phys_ptr(&ram.pm, e_pa, 8) != NULL);
			const u8 *e = mem + (e_pa - ram.start);
			u32 cnt = (u32)rd_le(e + 4, 2), flags = (u32)rd_le(e + 6, 2);
			CHECK(sg[i].pa == rd_le(e, 4));
			CHECK(sg[i].len == (cnt ? cnt : 0x10000));
			CHECK(!(sg[i].pa & 1));
			CHECK(dma_allowed(&lim, sg[i].pa, sg[i].len));
			CHECK(!!(flags & 0x8000) == (i == n - 1));
			sum += sg[i].len;
		}
		CHECK(total == sum);

		/* Copy both ways through the list: never outside buf or the allowed memory. */
		len = MIN(len, total + 64);
		u8 *buf = alloc_exact(len, 1);
		sg_copy(&ram.pm, sg, (u32)n, skip, buf, len, to_sg);
		free(buf);
	}
	free(sg);
	free(mem);
	ram_free(&ram);
	return 0;
}
