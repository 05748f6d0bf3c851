/* SPDX-License-Identifier: MIT */
/*
 * s3_refused: ACPI S3/S4 would resume the OS straight from the firmware,
 * without the hypervisor, so every sleep type but soft-off is refused.  The
 * guest writes SLP_EN with sleep types 1-7 to PM1a control (port 0x604 on
 * QEMU's pc machine; type 0 is QEMU's S5) and must still be running.
 * Without thinvisor QEMU suspends at the first write and the test times out.
 */
#include "tg.h"

const char test_name[] = "s3_refused";

void test_main(void)
{
	uint32_t out[4];

	for (uint32_t type = 1; type < 8; type++) {
		__asm__ volatile("outw %0, %1" : : "a"((uint16_t)(type << 10 | 1u << 13)), "Nd"((uint16_t)0x604));
		printf("s3_refused: sleep type %u refused, still running\n", type);
	}
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "hypervisor still serving");
	tg_finish();
}
