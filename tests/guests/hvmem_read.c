/* SPDX-License-Identifier: MIT */
/*
 * hvmem_read: the guest must not be able to read the hypervisor region.
 * Every 4 KiB page is read at a few offsets; each read must either fault
 * or return 0.  Any other value leaks hypervisor memory.
 */
#include "tg.h"

const char test_name[] = "hvmem_read";

static const uint32_t offsets[] = { 0x000, 0x800, 0xffc };
#define MAX_REPORTED 16

void test_main(void)
{
	uint64_t base, size;
	uint32_t reads = 0, faults = 0, zeros = 0, leaks = 0;
	uint32_t by_vector[32] = { 0 };
	uint32_t out[4];

	hv_region(&base, &size);
	printf("hvmem_read: reading offsets 0x000/0x800/0xffc of %llu pages\n",
	       (size + 0xfff) >> 12);

	for (uint64_t page = base & ~0xfffull; page < base + size; page += 0x1000) {
		for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
			uint32_t addr = (uint32_t)page + offsets[i], val = 0;
			int v = probe_read32(addr, &val);
			reads++;
			if (v != PROBE_OK) {
				faults++;
				by_vector[v & 31]++;
			} else if (val == 0) {
				zeros++;
			} else if (leaks++ < MAX_REPORTED) {
				printf("  LEAK: [%08x] = %08x\n", addr, val);
			}
		}
	}

	printf("hvmem_read: %u reads: %u faulted, %u returned 0, %u returned data\n",
	       reads, faults, zeros, leaks);
	for (int v = 0; v < 32; v++)
		if (by_vector[v])
			printf("  %u reads raised %s (vector %d)\n", by_vector[v],
			       vector_name(v), v);
	if (leaks)
		fail(test_name, "%u of %u reads returned nonzero hypervisor data", leaks,
		     reads);

	uint32_t st = hc_must(TV_HC_SELFTEST, 0, out);
	check(st == TV_OK && out[1] == 1, "TV_HC_SELFTEST still says 1 (status %u, RBX %u)",
	      st, out[1]);
	uint64_t n = hc_exit_count(TV_EV_HVMEM);
	if (faults == 0)
		printf("hvmem_read: TV_EV_HVMEM = %llu (every read returned 0 without a fault)\n",
		       n);
	else
		check(n > 0, "TV_EV_HVMEM exit count %llu > 0", n);
	tg_finish();
}
