/* SPDX-License-Identifier: MIT */
/*
 * smp_start: run with -smp N and "cpus=N".  The guest starts every other
 * CPU as an OS does (INIT, SIPI, SIPI to each APIC ID) and each must run
 * the trampoline under thinvisor (CPUID 0x40000000 signature on that CPU),
 * exactly once, at the vector sent.  Then a running CPU is INIT'ed and
 * started again at another vector (a clean reset), and all are restarted
 * at once with the all-excluding-self shorthand.  Without thinvisor the
 * signatures are missing and the test fails.
 */
#include "tg.h"
#include "smp.h"

const char test_name[] = "smp_start";

void test_main(void)
{
	uint32_t n = smp_cpus(), self = smp_self(), out[4];

	smp_setup();
	printf("smp_start: %u CPUs, boot CPU APIC %u\n", n, self);
	check(self == 0, "the boot CPU has APIC ID 0 (QEMU numbering)");
	for (uint32_t a = 1; a < n; a++)
		smp_start(a, SMP_TRAMP_A);
	uint32_t got = smp_wait(&SMP_TOTAL, n - 1, 60);
	check(got == n - 1, "%u CPUs started (of %u)", got, n - 1);
	smp_delay_ms(100);
	for (uint32_t a = 1; a < n; a++) {
		volatile struct smp_slot *s = &SMP_SLOTS[a];
		check(smp_slot_thinvisor(a), "CPU %u sees the thinvisor signature (%08x %08x %08x)", a, s->ebx,
		      s->ecx, s->edx);
		check(s->starts == 1 && s->vector == SMP_TRAMP_A >> 12, "CPU %u started once at vector %x (%u, %x)",
		      a, SMP_TRAMP_A >> 12, s->starts, s->vector);
	}
	check(SMP_TOTAL == n - 1, "no CPU started twice (total %u)", SMP_TOTAL);

	/* INIT a running (halted) CPU and start it elsewhere: it must follow. */
	smp_start(n - 1, SMP_TRAMP_B);
	check(smp_wait(&SMP_SLOTS[n - 1].starts, 2, 60) == 2, "CPU %u restarted after INIT", n - 1);
	check(SMP_SLOTS[n - 1].vector == SMP_TRAMP_B >> 12, "CPU %u restarted at the new vector (%x)", n - 1,
	      SMP_SLOTS[n - 1].vector);

	/* All at once, as older kernels did. */
	uint32_t before = SMP_TOTAL;
	smp_icr(0, ICR_OTHERS | ICR_INIT);
	smp_delay_ms(10);
	smp_icr(0, ICR_OTHERS | ICR_STARTUP(SMP_TRAMP_A));
	got = smp_wait(&SMP_TOTAL, before + n - 1, 60) - before;
	check(got == n - 1, "broadcast restart: %u of %u CPUs", got, n - 1);
	for (uint32_t a = 1; a < n; a++)
		check(smp_slot_thinvisor(a) && SMP_SLOTS[a].vector == SMP_TRAMP_A >> 12,
		      "CPU %u under thinvisor after the broadcast restart", a);
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	tg_finish();
}
