/* SPDX-License-Identifier: MIT */
/*
 * msr_guard: MSRs that could hand the guest the hypervisor's memory or
 * change the CPU under it (AMD SYSCFG, TOP_MEM, TOP_MEM2, SMM_BASE/ADDR/
 * MASK/CTL; Intel SMRR; the microcode update trigger) may be read where the
 * CPU has them, but every write raises #GP and changes nothing.  Reading one
 * this CPU lacks gives the guest #GP, not a hypervisor crash.
 */
#include "tg.h"

const char test_name[] = "msr_guard";

void test_main(void)
{
	static const uint32_t msrs[] = { 0xC0010010u, 0xC001001Au, 0xC001001Du, 0xC0010111u, 0xC0010112u,
					 0xC0010113u, 0xC0010116u, 0x1F2u, 0x1F3u, 0x79u };
	uint32_t out[4];

	for (unsigned i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
		uint64_t before = 0, after = 0;
		int r = probe_rdmsr(msrs[i], &before);
		/* Write what was read (or zero): harmless if it were allowed, so refusal is the point. */
		int w = probe_wrmsr(msrs[i], r == PROBE_OK ? before ^ 0x10000ull : 0);
		int r2 = probe_rdmsr(msrs[i], &after);
		printf("msr_guard: %08x read %s %llx, write -> vector %d\n", msrs[i],
		       r == PROBE_OK ? "ok" : "#GP", (unsigned long long)before, w);
		check(w == 13, "write to MSR %08x raises #GP", msrs[i]);
		check(r != PROBE_OK || (r2 == PROBE_OK && after == before), "MSR %08x unchanged", msrs[i]);
	}
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	tg_finish();
}
