/* SPDX-License-Identifier: MIT */
/*
 * hypercall: the TV_HC_* interface from tv/abi.h - version, unknown
 * functions, exit counters (exact for CPUID), bad arguments, the
 * hypervisor region and the self-test.
 */
#include "tg.h"

const char test_name[] = "hypercall";

/* CPUID exits that may be counted beyond our own 100 (none are expected:
 * nothing else runs CPUID between the two counter reads). */
#define CPUID_SLACK 5

static uint64_t count_of(const uint32_t out[4])
{
	return ((uint64_t)out[2] << 32) | out[1];
}

void test_main(void)
{
	uint32_t out[4];
	uint32_t st;

	/* The first call fails the test cleanly if VMMCALL/VMCALL faults. */
	st = hc_must(TV_HC_VERSION, 0, out);
	printf("hypercall: VERSION -> status %u, RBX=%08x RCX=%08x RDX=%08x\n", st,
	       out[1], out[2], out[3]);
	check(st == TV_OK, "TV_HC_VERSION returns TV_OK (got %u)", st);
	check(out[1] == TV_VERSION, "TV_HC_VERSION RBX = %08x equals TV_VERSION %08x",
	      out[1], TV_VERSION);
	check(out[2] == TV_CPUID_SIG_EBX && out[3] == TV_CPUID_SIG_ECX,
	      "TV_HC_VERSION RCX/RDX = \"thin\"/\"viso\" (%08x %08x)", out[2], out[3]);

	static const uint32_t unknown[] = { TV_HC_SELFTEST + 1, 0x1234, 0x7fffffff,
					    0xffffffff };
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		st = hc_must(unknown[i], 0, out);
		check(st == TV_ENOSYS, "unknown function %08x returns TV_ENOSYS (got %u)",
		      unknown[i], out[0]);
	}

	/* Exit counters: CPUID is counted exactly. */
	st = hc_must(TV_HC_EXIT_COUNT, TV_EV_CPUID, out);
	check(st == TV_OK, "TV_HC_EXIT_COUNT(TV_EV_CPUID) returns TV_OK (got %u)", st);
	check(out[3] == TV_EV_COUNT, "TV_HC_EXIT_COUNT RDX = %u equals TV_EV_COUNT %u",
	      out[3], TV_EV_COUNT);
	uint64_t c0 = count_of(out);
	for (int i = 0; i < 100; i++)
		(void)cpuid(0, 0);
	st = hc_must(TV_HC_EXIT_COUNT, TV_EV_CPUID, out);
	uint64_t c1 = count_of(out);
	printf("hypercall: CPUID exits %llu -> %llu after 100 CPUIDs\n", c0, c1);
	check(st == TV_OK && c1 >= c0 + 100 && c1 <= c0 + 100 + CPUID_SLACK,
	      "CPUID exit count grew by %lld (want 100..%d)", (int64_t)(c1 - c0),
	      100 + CPUID_SLACK);

	/* Two back-to-back reads of the hypercall counter: exactly one
	 * hypercall exit lies between them, wherever it is counted. */
	hc_must(TV_HC_EXIT_COUNT, TV_EV_HYPERCALL, out);
	c0 = count_of(out);
	hc_must(TV_HC_EXIT_COUNT, TV_EV_HYPERCALL, out);
	c1 = count_of(out);
	check(c1 - c0 == 1, "TV_EV_HYPERCALL count grew by %lld between two reads (want 1)",
	      (int64_t)(c1 - c0));

	static const uint32_t bad_events[] = { TV_EV_COUNT, TV_EV_COUNT + 1, 0xffffffff };
	for (size_t i = 0; i < sizeof(bad_events) / sizeof(bad_events[0]); i++) {
		st = hc_must(TV_HC_EXIT_COUNT, bad_events[i], out);
		check(st == TV_EINVAL, "TV_HC_EXIT_COUNT(event %u) returns TV_EINVAL (got %u)",
		      bad_events[i], out[0]);
	}

	printf("hypercall: all exit counters:");
	for (uint32_t ev = 0; ev < TV_EV_COUNT; ev++) {
		hc_must(TV_HC_EXIT_COUNT, ev, out);
		printf(" %u=%llu", ev, count_of(out));
	}
	printf("\n");

	st = hc_must(TV_HC_HV_REGION, 0, out);
	printf("hypercall: HV_REGION -> status %u, base %08x size %08x\n", st, out[1],
	       out[2]);
	check(st == TV_OK, "TV_HC_HV_REGION returns TV_OK (got %u)", st);
	check(out[2] != 0, "hypervisor region size %08x is nonzero", out[2]);
	check((uint64_t)out[1] + out[2] <= (1ull << 32),
	      "hypervisor region %08x+%08x ends below 4 GiB", out[1], out[2]);

	st = hc_must(TV_HC_SELFTEST, 0, out);
	check(st == TV_OK && out[1] == 1, "TV_HC_SELFTEST returns TV_OK, RBX=1 (got %u, %u)",
	      st, out[1]);
	tg_finish();
}
