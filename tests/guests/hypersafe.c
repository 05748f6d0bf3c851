/* SPDX-License-Identifier: MIT */
/*
 * hypersafe: the hypervisor's self-test reports that its code and
 * read-only data are unchanged (RBX) and that its own page tables are
 * read-only even to itself (RCX: a write to one faulted), after the guest
 * made it change its nested table (a nested fault above RAM maps MMIO on
 * demand through the write gate).
 */
#include "tg.h"

const char test_name[] = "hypersafe";

void test_main(void)
{
	uint32_t out[4], v;

	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "code and read-only data unchanged");
	check(out[2] == 1, "page tables are read-only to the hypervisor (RCX %u)", out[2]);
	/* Touch unbacked physical space below 4 GiB: refused (#GP) or floating, never a crash. */
	int r = probe_read32(0xFED00000u, &v);
	printf("hypersafe: read of 0xFED00000 -> %s\n", r == PROBE_OK ? "ok" : "fault");
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1 && out[2] == 1,
	      "still locked and unchanged afterwards");
	tg_finish();
}
