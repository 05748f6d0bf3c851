/*
 * ahci_prdt_parse and sg_copy (dev/ata_cmd.c): the PRDT of a guest AHCI
 * command table, read out of fuzzed guest memory.
 *
 * Input: the DMA window and limits (fuzz.h), u64 ctba, u16 prdtl,
 * u16 max, u32 skip, u24 copy length, u8 direction, then the guest memory.
 *
 * Invariants: the result is prdtl (at most max), -EINVAL exactly when
 * prdtl > max, or -EFAULT; every entry is the table's (64-bit base, byte
 * count minus one in bits 0-21), even, inside the limits; the total is
 * their sum; the table lies inside the limits (reads elsewhere hit poisoned
 * memory); nothing is written past sg[max - 1]; sg_copy stays inside its
 * buffer and the allowed memory.
 */
#include "fuzz.h"

#include "tv/ata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct dma_limits lim;
	u64 start = dma_take(&in, &lim);
	u64 ctba = take(&in, 8);
	u32 prdtl = (u32)take(&in, 2), max = (u32)(take(&in, 2) % (PRD_MAX + 2));
	u64 skip = take(&in, 4), len = take(&in, 3);
	bool to_sg = take(&in, 1) & 1;
	struct fuzz_ram ram;

	ram_init(&ram, start, &in);
	u8 *mem = malloc(ram.size ? ram.size : 1);
	if (!mem)
		abort();
	memcpy(mem, ram.buf, ram.size);
	dma_poison(&ram, &lim);

	struct sg_entry *sg = alloc_exact(max, sizeof(*sg));
	u64 total = 0xA5A5;
	int n = ahci_prdt_parse(&ram.pm, ctba, prdtl, &lim, sg, max, &total);

	CHECK(n == -EINVAL || n == -EFAULT || (n >= 0 && (u32)n == prdtl && prdtl <= max));
	CHECK((n == -EINVAL) == (prdtl > max));
	if (n >= 0) {
		u64 tbl = ctba + 0x80, sum = 0;
		CHECK(n == 0 || dma_allowed(&lim, tbl, 16ull * prdtl));
		for (u32 i = 0; i < prdtl; i++) {
			CHECK(phys_ptr(&ram.pm, tbl + 16ull * i, 16) != NULL);
			const u8 *e = mem + (tbl + 16ull * i - ram.start);
			CHECK(sg[i].pa == rd_le(e, 8));
			CHECK(sg[i].len == (rd_le(e + 12, 4) & 0x3FFFFF) + 1);
			CHECK(!(sg[i].pa & 1));
			CHECK(dma_allowed(&lim, sg[i].pa, sg[i].len));
			sum += sg[i].len;
		}
		CHECK(total == sum);

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
