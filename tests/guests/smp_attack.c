/* SPDX-License-Identifier: MIT */
/*
 * smp_attack: run with -smp N (N >= 2) and "cpus=N".  Attempts to get a
 * CPU running outside thinvisor, or to disturb it, each of which must fail
 * with the hypervisor still serving:  INIT to self and to the boot CPU by
 * ID (the boot CPU keeps running), INIT/SIPI to an APIC ID that does not
 * exist, INIT/SIPI in logical destination mode, SMI IPIs, an INIT storm
 * before a proper start (the CPU starts once, under thinvisor), an NMI
 * storm at running CPUs (they survive and can be restarted), moving the
 * APIC, switching to x2APIC.
 */
#include "tg.h"
#include "smp.h"

const char test_name[] = "smp_attack";

void test_main(void)
{
	uint32_t n = smp_cpus(), out[4];
	uint64_t base;

	smp_setup();
	check(n >= 2, "at least two CPUs (cpus=%u)", n);

	smp_icr(0, ICR_SELF | ICR_INIT);
	smp_icr(smp_self(), ICR_INIT);
	smp_icr(0, ICR_ALL | ICR_INIT);	/* every CPU, this one included */
	smp_delay_ms(50);
	check(hc(TV_HC_VERSION, 0, out) == TV_OK, "the boot CPU runs on after INIT to itself");

	smp_start(0x55, SMP_TRAMP_A);	/* no such CPU */
	smp_icr(0, ICR_LOGICAL | ICR_INIT);
	smp_icr(1, ICR_LOGICAL | ICR_STARTUP(SMP_TRAMP_A));
	smp_icr(2, ICR_LOGICAL | ICR_STARTUP(SMP_TRAMP_A));
	smp_icr(0, ICR_OTHERS | ICR_SMI);
	smp_icr(1, ICR_SMI);
	smp_delay_ms(300);
	check(SMP_TOTAL == 0, "no CPU started by the refused IPIs (total %u)", SMP_TOTAL);

	for (int i = 0; i < 200; i++)
		smp_icr(1, ICR_INIT);
	smp_icr(1, ICR_STARTUP(SMP_TRAMP_A));
	smp_delay_ms(1);
	smp_icr(1, ICR_STARTUP(SMP_TRAMP_A));
	check(smp_wait(&SMP_SLOTS[1].starts, 1, 60) == 1, "CPU 1 started after the INIT storm");
	smp_delay_ms(100);
	check(SMP_SLOTS[1].starts == 1 && smp_slot_thinvisor(1), "... once, under thinvisor (starts %u)",
	      SMP_SLOTS[1].starts);

	for (int i = 0; i < 500; i++)
		smp_icr(0, ICR_OTHERS | ICR_NMI);
	smp_delay_ms(100);
	smp_start(1, SMP_TRAMP_B);
	check(smp_wait(&SMP_SLOTS[1].starts, 2, 60) == 2 && SMP_SLOTS[1].vector == SMP_TRAMP_B >> 12,
	      "CPU 1 survives an NMI storm and restarts (starts %u, vector %x)", SMP_SLOTS[1].starts,
	      SMP_SLOTS[1].vector);
	check(smp_slot_thinvisor(1), "CPU 1 still under thinvisor");

	check(probe_rdmsr(0x1B, &base) == PROBE_OK, "IA32_APIC_BASE reads (%llx)", (unsigned long long)base);
	check(probe_wrmsr(0x1B, (base & ~0xFFFFF000ull) | 0x10000000u) == 13, "moving the APIC raises #GP");
	check(probe_wrmsr(0x1B, base | (1u << 10)) == 13, "switching to x2APIC raises #GP");
	check(!(cpuid(1, 0).ecx & (1u << 21)), "CPUID shows no x2APIC");
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	tg_finish();
}
