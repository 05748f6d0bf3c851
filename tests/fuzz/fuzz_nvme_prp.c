/*
 * nvme_prp_walk (dev/ata_cmd.c): an NVMe command's data pointer (PRP1,
 * PRP2 or a chain of PRP list pages) read out of fuzzed guest memory.
 *
 * Input: the DMA window and limits (fuzz.h), u64 prp1, u64 prp2,
 * u24 bytes (times 4096 if the u8 that follows has bit 0 set),
 * u16 max (mod 4096), then the guest memory.
 *
 * Invariants: the walk ends (a hang is a libFuzzer timeout) with 0 or
 * -EFAULT; on 0, at most max entries (nothing written past sg[max - 1]),
 * none for 0 bytes; the first is PRP1 (dword aligned) up to its page end,
 * every other one a whole page from offset 0 but the last, which may be
 * shorter; PRP2 itself when it is the second and last page; none crosses a
 * page; all inside the limits; the lengths add up to bytes.  PRP lists are
 * only read inside the limits (elsewhere is poisoned memory).
 */
#include "fuzz.h"

#include "tv/ata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct dma_limits lim;
	u64 start = dma_take(&in, &lim);
	u64 prp1 = take(&in, 8), prp2 = take(&in, 8);
	u64 bytes = take(&in, 3);
	if (take(&in, 1) & 1)
		bytes *= 4096;
	u32 max = (u32)(take(&in, 2) % 4096);
	struct fuzz_ram ram;

	ram_init(&ram, start, &in);
	dma_poison(&ram, &lim);

	struct sg_entry *sg = alloc_exact(max, sizeof(*sg));
	u32 n = 0xA5A5;
	int rc = nvme_prp_walk(&ram.pm, prp1, prp2, bytes, &lim, sg, max, &n);

	CHECK(rc == 0 || rc == -EFAULT);
	if (rc == 0) {
		u64 sum = 0;
		CHECK(n <= max);
		CHECK((n == 0) == (bytes == 0));
		for (u32 i = 0; i < n; i++) {
			CHECK(sg[i].len >= 1 && sg[i].len <= 4096);
			CHECK((sg[i].pa & 0xFFF) + sg[i].len <= 4096);
			CHECK(dma_allowed(&lim, sg[i].pa, sg[i].len));
			if (i == 0) {
				CHECK(sg[0].pa == prp1 && !(prp1 & 3));
				CHECK(sg[0].len == MIN(bytes, 4096 - (prp1 & 0xFFF)));
			} else {
				CHECK(!(sg[i].pa & 0xFFF));
				CHECK(i == n - 1 || sg[i].len == 4096);
			}
			sum += sg[i].len;
		}
		CHECK(sum == bytes);
		if (n == 2 && bytes - sg[0].len <= 4096)
			CHECK(sg[1].pa == prp2);
	}
	free(sg);
	ram_free(&ram);
	return 0;
}
