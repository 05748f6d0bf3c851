/* SPDX-License-Identifier: MIT */
/*
 * hvmem_write: the guest must not be able to write the hypervisor region.
 * A pattern goes to a few offsets of every page (faults are fine), then
 * reading it back must fault or give something else; and the hypervisor
 * must still be intact and working afterwards.
 */
#include "tg.h"

const char test_name[] = "hvmem_write";

#define PATTERN 0xDEADBEEFu
static const uint32_t offsets[] = { 0x000, 0x800, 0xffc };
#define MAX_REPORTED 16

void test_main(void)
{
	uint64_t base, size;
	uint32_t writes = 0, wfaults = 0, rfaults = 0, stuck = 0;
	uint32_t out[4];
	const size_t noff = sizeof(offsets) / sizeof(offsets[0]);

	hv_region(&base, &size);
	uint64_t start = base & ~0xfffull, end = base + size;

	printf("hvmem_write: writing %08x to offsets 0x000/0x800/0xffc of %llu pages\n",
	       PATTERN, (end - start + 0xfff) >> 12);
	for (uint64_t page = start; page < end; page += 0x1000)
		for (size_t i = 0; i < noff; i++, writes++)
			if (probe_write32((uint32_t)page + offsets[i], PATTERN) != PROBE_OK)
				wfaults++;
	printf("hvmem_write: %u writes, %u faulted\n", writes, wfaults);

	for (uint64_t page = start; page < end; page += 0x1000) {
		for (size_t i = 0; i < noff; i++) {
			uint32_t addr = (uint32_t)page + offsets[i], val;
			if (probe_read32(addr, &val) != PROBE_OK)
				rfaults++;
			else if (val == PATTERN && stuck++ < MAX_REPORTED)
				printf("  WRITTEN: [%08x] reads back %08x\n", addr, val);
		}
	}
	printf("hvmem_write: read back: %u faulted, %u held the pattern\n", rfaults, stuck);
	if (stuck)
		fail(test_name, "%u of %u writes to the hypervisor region stuck", stuck,
		     writes);

	uint32_t st = hc_must(TV_HC_SELFTEST, 0, out);
	check(st == TV_OK && out[1] == 1, "TV_HC_SELFTEST still says 1 (status %u, RBX %u)",
	      st, out[1]);
	st = hc_must(TV_HC_VERSION, 0, out);
	check(st == TV_OK && out[1] == TV_VERSION,
	      "TV_HC_VERSION still answers (status %u, version %08x)", st, out[1]);

	uint64_t c0 = hc_exit_count(TV_EV_CPUID);
	int sig_ok = 1;
	for (int i = 0; i < 1000; i++) {
		struct cpuid_regs r = cpuid(TV_CPUID_LEAF_SIG, 0);
		sig_ok &= r.ebx == TV_CPUID_SIG_EBX && r.ecx == TV_CPUID_SIG_ECX &&
			  r.edx == TV_CPUID_SIG_EDX;
	}
	uint64_t c1 = hc_exit_count(TV_EV_CPUID);
	check(sig_ok, "1000 CPUID(0x40000000) all returned the signature");
	check(c1 - c0 >= 1000, "CPUID exit count grew by %llu (>= 1000)", c1 - c0);
	tg_finish();
}
