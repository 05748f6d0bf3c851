/* SPDX-License-Identifier: MIT */
/*
 * smp_refused: run with -smp 2.  thinvisor runs one CPU only, so an
 * application processor started by the guest would run outside it.  The
 * guest sends INIT-SIPI-SIPI (xAPIC ICR, all-excluding-self) with a
 * trampoline that writes a flag; the flag must never appear, IA32_APIC_BASE
 * may not be moved or switched to x2APIC, and the hypervisor must go on.
 * Without thinvisor the AP starts and the test fails, as it should.
 */
#include "tg.h"

const char test_name[] = "smp_refused";

#define APIC 0xFEE00000u
#define FLAG 0x9000u
#define TRAMPOLINE 0x8000u

static void icr(uint32_t v)
{
	*(volatile uint32_t *)(APIC + 0x310) = 0;
	*(volatile uint32_t *)(APIC + 0x300) = v;
}

static void spin(uint64_t cycles)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	uint64_t end = ((uint64_t)hi << 32 | lo) + cycles;
	for (;;) {
		__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
		if (((uint64_t)hi << 32 | lo) >= end)
			break;
	}
}

void test_main(void)
{
	/* xor ax,ax; mov ds,ax; mov dword [0x9000], 0x5a5a5a5a; cli; hlt; jmp $-1 */
	static const uint8_t code[] = { 0x31, 0xC0, 0x8E, 0xD8, 0x66, 0xC7, 0x06, 0x00, 0x90,
					0x5A, 0x5A, 0x5A, 0x5A, 0xFA, 0xF4, 0xEB, 0xFD };
	uint32_t out[4];
	uint64_t base;

	memcpy((void *)TRAMPOLINE, code, sizeof(code));
	*(volatile uint32_t *)FLAG = 0;
	check(probe_rdmsr(0x1B, &base) == PROBE_OK, "IA32_APIC_BASE reads (%llx)", (unsigned long long)base);

	icr(0x000C4500);		/* INIT to all but self */
	spin(20000000);
	icr(0x000C4600 | (TRAMPOLINE >> 12));	/* start-up, twice */
	spin(2000000);
	icr(0x000C4600 | (TRAMPOLINE >> 12));
	spin(400000000);
	check(*(volatile uint32_t *)FLAG == 0, "no other CPU ran the trampoline (flag %08x)",
	      *(volatile uint32_t *)FLAG);

	check(probe_wrmsr(0x1B, (base & ~0xFFFFF000ull) | 0x10000000u) == 13, "moving the APIC raises #GP");
	check(probe_wrmsr(0x1B, base | (1u << 10)) == 13, "switching to x2APIC raises #GP");
	check(!(cpuid(1, 0).ecx & (1u << 21)), "CPUID shows no x2APIC");
	/* The APIC still works for what is allowed: its ID register reads. */
	uint32_t id = *(volatile uint32_t *)(APIC + 0x20);
	printf("smp_refused: APIC ID register %08x, version %08x\n", id, *(volatile uint32_t *)(APIC + 0x30));
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	tg_finish();
}
