/* SPDX-License-Identifier: MIT */
/*
 * cpuid: thinvisor's CPUID view.  The hypervisor bit is set, VMX and SVM
 * are hidden, and the 0x40000000 leaves carry the signature and version.
 */
#include "tg.h"

const char test_name[] = "cpuid";

void test_main(void)
{
	struct cpuid_regs r = cpuid(1, 0);
	printf("cpuid: leaf 1: EAX=%08x EBX=%08x ECX=%08x EDX=%08x\n", r.eax,
	       r.ebx, r.ecx, r.edx);
	check(r.ecx & (1u << 31), "leaf 1 ECX bit 31 (hypervisor present) is set");
	check(!(r.ecx & (1u << 5)), "leaf 1 ECX bit 5 (VMX) is clear");

	struct cpuid_regs x = cpuid(0x80000000, 0);
	if (x.eax >= 0x80000001) {
		r = cpuid(0x80000001, 0);
		printf("cpuid: leaf 0x80000001: ECX=%08x EDX=%08x\n", r.ecx, r.edx);
		check(!(r.ecx & (1u << 2)), "leaf 0x80000001 ECX bit 2 (SVM) is clear");
	} else {
		printf("cpuid: no leaf 0x80000001 (max extended leaf %08x)\n", x.eax);
	}
	if (x.eax >= 0x8000000A) {
		/* Informative only: SVM's feature leaf should not advertise
		 * anything once SVM itself is hidden. */
		r = cpuid(0x8000000A, 0);
		printf("cpuid: leaf 0x8000000a: EAX=%08x EBX=%08x EDX=%08x (info)\n",
		       r.eax, r.ebx, r.edx);
	}

	r = cpuid(TV_CPUID_LEAF_SIG, 0);
	char sig[13];
	memcpy(sig + 0, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e))
			sig[i] = '.';
	printf("cpuid: leaf 0x40000000: EAX=%08x EBX=%08x ECX=%08x EDX=%08x \"%s\"\n",
	       r.eax, r.ebx, r.ecx, r.edx, sig);
	int sig_ok = check(r.ebx == TV_CPUID_SIG_EBX && r.ecx == TV_CPUID_SIG_ECX &&
				   r.edx == TV_CPUID_SIG_EDX,
			   "leaf 0x40000000 EBX/ECX/EDX = \"thinvisor\" signature");
	check(r.eax >= TV_CPUID_LEAF_MAX && r.eax < 0x40000100,
	      "leaf 0x40000000 EAX = %08x is in [%08x, 0x400000ff]", r.eax,
	      TV_CPUID_LEAF_MAX);

	if (sig_ok) {
		r = cpuid(TV_CPUID_LEAF_MAX, 0);
		check(r.eax == TV_VERSION,
		      "leaf 0x40000001 EAX = %08x equals TV_VERSION %08x", r.eax,
		      TV_VERSION);
	}
	tg_finish();
}
