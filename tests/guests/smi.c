/* SPDX-License-Identifier: MIT */
/*
 * smi: raise SMIs from the guest (APM control port 0xB2, which SeaBIOS's
 * SMM handler on QEMU's PIIX4 answers) and check that each is taken with
 * the hypervisor still in control: the SMI exit count grows and the
 * hypervisor keeps answering afterwards.
 */
#include "tg.h"

const char test_name[] = "smi";

void test_main(void)
{
	uint32_t out[4];
	uint64_t before = hc_exit_count(TV_EV_SMI);

	for (int i = 0; i < 16; i++)
		outb(0xB2, 0x00);
	uint64_t after = hc_exit_count(TV_EV_SMI);
	printf("smi: SMI exits before %llu, after %llu\n", (unsigned long long)before,
	       (unsigned long long)after);
	check(after >= before + 16, "every SMI reached the hypervisor's SMI intercept");
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	check(hc_must(TV_HC_VERSION, 0, out) == TV_OK && out[1] == TV_VERSION, "hypercalls still answer");
	tg_finish();
}
