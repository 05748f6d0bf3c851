/* SPDX-License-Identifier: MIT */
/*
 * virtinsn: the guest must not see hardware virtualization.  Every SVM and
 * VMX instruction raises #UD, EFER.SVME reads as 0 and cannot be set, the
 * SVM MSRs VM_HSAVE_PA and VM_CR refuse writes, and the hypervisor is still
 * alive and answering hypercalls afterwards.
 */
#include "tg.h"

const char test_name[] = "virtinsn";

#define VEC_UD 6
#define VEC_GP 13

#define MSR_EFER        0xC0000080u
#define EFER_SVME       (1ull << 12)
#define MSR_VM_CR       0xC0010114u
#define MSR_VM_HSAVE_PA 0xC0010117u

/* A page the memory-operand forms point at; never actually used by a
 * correctly refused instruction, so its contents do not matter. */
static uint8_t scratch[4096] __attribute__((aligned(4096)));

struct insn {
	const char *name;
	uint8_t len;
	uint8_t bytes[6];
	uint8_t svm;	  /* 1: SVM instruction, 0: VMX instruction */
	uint8_t eax_type; /* EAX holds an INVEPT/INVVPID type, not an address */
};

/*
 * Encodings (32-bit mode).  Memory operands use [EBX]; register operands
 * EAX/EBX.  SVM instructions take their address in EAX (ASID in ECX for
 * INVLPGA).
 */
static const struct insn insns[] = {
	{ "VMRUN",    3, { 0x0f, 0x01, 0xd8 }, 1, 0 },
	{ "VMLOAD",   3, { 0x0f, 0x01, 0xda }, 1, 0 },
	{ "VMSAVE",   3, { 0x0f, 0x01, 0xdb }, 1, 0 },
	{ "STGI",     3, { 0x0f, 0x01, 0xdc }, 1, 0 },
	{ "CLGI",     3, { 0x0f, 0x01, 0xdd }, 1, 0 },
	{ "SKINIT",   3, { 0x0f, 0x01, 0xde }, 1, 0 },
	{ "INVLPGA",  3, { 0x0f, 0x01, 0xdf }, 1, 0 },
	{ "VMXON",    4, { 0xf3, 0x0f, 0xc7, 0x33 }, 0, 0 },	  /* vmxon [ebx] */
	{ "VMLAUNCH", 3, { 0x0f, 0x01, 0xc2 }, 0, 0 },
	{ "VMRESUME", 3, { 0x0f, 0x01, 0xc3 }, 0, 0 },
	{ "VMPTRLD",  3, { 0x0f, 0xc7, 0x33 }, 0, 0 },		  /* vmptrld [ebx] */
	{ "VMPTRST",  3, { 0x0f, 0xc7, 0x3b }, 0, 0 },		  /* vmptrst [ebx] */
	{ "VMCLEAR",  4, { 0x66, 0x0f, 0xc7, 0x33 }, 0, 0 },	  /* vmclear [ebx] */
	{ "VMREAD",   3, { 0x0f, 0x78, 0xc3 }, 0, 0 },		  /* vmread ebx, eax */
	{ "VMWRITE",  3, { 0x0f, 0x79, 0xc3 }, 0, 0 },		  /* vmwrite eax, ebx */
	{ "INVEPT",   5, { 0x66, 0x0f, 0x38, 0x80, 0x03 }, 0, 1 }, /* invept eax, [ebx] */
	{ "INVVPID",  5, { 0x66, 0x0f, 0x38, 0x81, 0x03 }, 0, 1 }, /* invvpid eax, [ebx] */
	{ "VMXOFF",   3, { 0x0f, 0x01, 0xc4 }, 0, 0 },
};

static void probe_insns(void)
{
	int own_vendor_insns = 0;
	uint64_t before = 0, after;
	int have_counter = 0;
	uint32_t out[4];

	/* If the hypervisor answers, also check that it counted the
	 * intercepted instructions (TV_EV_VIRT_INSN). */
	if (hc(TV_HC_EXIT_COUNT, TV_EV_VIRT_INSN, out) == TV_OK) {
		have_counter = 1;
		before = ((uint64_t)out[2] << 32) | out[1];
	}

	for (size_t i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
		const struct insn *in = &insns[i];
		/* EAX: a harmless page-aligned address (VMRUN/VMLOAD/VMSAVE/
		 * SKINIT/INVLPGA) and INVEPT/INVVPID type 1; EBX: memory operand
		 * / VMCS field 0 (VPID); ECX: ASID 0 for INVLPGA. */
		struct tg_regs r = { .eax = (uint32_t)(uintptr_t)scratch,
				     .ebx = (uint32_t)(uintptr_t)scratch,
				     .ecx = 0 };
		if (in->eax_type)
			r.eax = 1; /* single-context */
		int v = probe_bytes(in->bytes, in->len, &r);
		check(v == VEC_UD, "%-8s raises #UD (got %s%s%08x)", in->name,
		      vector_name(v), v == PROBE_OK ? "" : " at EIP=",
		      v == PROBE_OK ? 0 : probe_last.eip);
		if ((cpu_vendor == VENDOR_AMD) == in->svm)
			own_vendor_insns++;
	}

	if (have_counter && hc(TV_HC_EXIT_COUNT, TV_EV_VIRT_INSN, out) == TV_OK) {
		after = ((uint64_t)out[2] << 32) | out[1];
		/* On AMD the SVM instructions are intercepted (VMRUN always is)
		 * and the VMX ones simply #UD in hardware; on Intel the other
		 * way round.  So at least the own-vendor ones were counted. */
		check(after - before >= (uint64_t)own_vendor_insns,
		      "TV_EV_VIRT_INSN grew by %llu (>= %d %s instructions)",
		      after - before, own_vendor_insns,
		      cpu_vendor == VENDOR_AMD ? "SVM" : "VMX");
	} else {
		printf("virtinsn: no exit counter (no hypervisor answering)\n");
	}
}

static void probe_msrs(void)
{
	uint64_t efer = 0, efer2 = 0, v;
	int f;

	f = probe_rdmsr(MSR_EFER, &efer);
	if (!check(f == PROBE_OK, "RDMSR EFER succeeds (got %s) -> %016llx",
		   vector_name(f), efer))
		return;
	check(!(efer & EFER_SVME), "EFER.SVME (bit 12) reads as 0");

	f = probe_wrmsr(MSR_EFER, efer | EFER_SVME);
	check(f == VEC_GP, "WRMSR EFER with SVME set raises #GP (got %s)",
	      vector_name(f));
	f = probe_rdmsr(MSR_EFER, &efer2);
	check(f == PROBE_OK && !(efer2 & EFER_SVME),
	      "EFER still reads without SVME afterwards (%s, %016llx)",
	      vector_name(f), efer2);
	if (efer2 & EFER_SVME) {
		/* Natively the write may have worked: undo it so the rest
		 * of the test still sees the CPU it expects. */
		probe_wrmsr(MSR_EFER, efer2 & ~EFER_SVME);
		efer2 &= ~EFER_SVME;
	}

	f = probe_wrmsr(MSR_EFER, efer2);
	check(f == PROBE_OK, "WRMSR EFER with its current value %016llx succeeds (got %s)",
	      efer2, vector_name(f));

	/* Reads of the SVM MSRs are informative only: refusing them (#GP) or
	 * returning a harmless value are both fine. */
	static const struct { const char *name; uint32_t msr; } info[] = {
		{ "VM_HSAVE_PA", MSR_VM_HSAVE_PA },
		{ "VM_CR", MSR_VM_CR },
	};
	for (size_t i = 0; i < sizeof(info) / sizeof(info[0]); i++) {
		f = probe_rdmsr(info[i].msr, &v);
		if (f == PROBE_OK)
			printf("virtinsn: RDMSR %s -> %016llx (info)\n", info[i].name, v);
		else
			printf("virtinsn: RDMSR %s raised %s (info)\n", info[i].name,
			       vector_name(f));
	}

	/* Writes must be refused.  The values are chosen so that a write
	 * that did reach the real MSR is as harmless as possible: a guest
	 * page for HSAVE_PA, 0 for VM_CR (sets neither LOCK nor SVMDIS). */
	f = probe_wrmsr(MSR_VM_HSAVE_PA, (uint32_t)(uintptr_t)scratch);
	check(f == VEC_GP, "WRMSR VM_HSAVE_PA raises #GP (got %s)", vector_name(f));
	f = probe_wrmsr(MSR_VM_CR, 0);
	check(f == VEC_GP, "WRMSR VM_CR raises #GP (got %s)", vector_name(f));
}

void test_main(void)
{
	printf("virtinsn: SVM/VMX instructions (CPU vendor %s)\n", cpu_vendor_str);
	probe_insns();
	printf("virtinsn: SVM MSRs\n");
	probe_msrs();

	uint32_t out[4];
	int st = hc(TV_HC_VERSION, 0, out);
	check(st == TV_OK && out[1] == TV_VERSION,
	      "TV_HC_VERSION still answers afterwards (status %d, version %08x%s%s)",
	      st, out[1], st == HC_FAULTED ? ", raised " : "",
	      st == HC_FAULTED ? vector_name(hc_last_vector) : "");
	tg_finish();
}
