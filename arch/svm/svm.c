/*
 * AMD SVM backend: VMCB, nested paging, I/O and MSR permission maps, and the
 * decoding of SVM exits into the core's neutral events.  Knows nothing of
 * devices or of what the core does with an event.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/smp.h"
#include "vmcb.h"

#define MSRPM_PAGES 2

struct svm_vcpu {
	u8 *vmcb;
	u64 vmcb_pa, host_pa, iopm_pa, msrpm_pa;
	u8 *msrpm;
	bool flush;
};

static struct svm_vcpu svm_cpus[TV_MAX_CPUS];
static bool has_nrip;

void svm_enter(u64 vmcb_pa, u64 *gpr, u64 host_pa);

#define F64(vmcb, off) (*(volatile u64 *)((vmcb) + (off)))
#define F32(vmcb, off) (*(volatile u32 *)((vmcb) + (off)))
#define F16(vmcb, off) (*(volatile u16 *)((vmcb) + (off)))
#define F8(vmcb, off) (*(volatile u8 *)((vmcb) + (off)))

static int svm_probe(const char **why)
{
	if (cpuid(0x80000000u, 0).eax < 0x8000000Au || !(cpuid(0x80000001u, 0).ecx & (1u << 2))) {
		*why = "no AMD SVM (and no other virtualization backend yet)";
		return -1;
	}
	if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
		*why = "SVM is disabled by the firmware (VM_CR.SVMDIS)";
		return -1;
	}
	u32 feat = cpuid(0x8000000Au, 0).edx;
	if (!(feat & 1u)) {
		*why = "SVM without nested paging (NPT) is not supported";
		return -1;
	}
	has_nrip = feat & (1u << 3);
	return 0;
}

static void msrpm_intercept(u8 *msrpm, u32 msr)
{
	static const u32 bases[] = { 0x00000000u, 0xC0000000u, 0xC0010000u };

	for (u32 i = 0; i < ARRAY_SIZE(bases); i++)
		if (msr - bases[i] < 0x2000u) {
			u32 bit = (msr - bases[i]) * 2;
			msrpm[i * 0x800 + bit / 8] |= (u8)(3u << (bit % 8));	/* read and write */
		}
}

static void put_seg(u8 *vmcb, u32 off, const struct seg *s)
{
	u16 attr = (s->ar & SEG_UNUSABLE) ? 0 : (u16)((s->ar & 0xFF) | ((s->ar >> 4) & 0xF00));

	F16(vmcb, off) = s->sel;
	F16(vmcb, off + 2) = attr;
	F32(vmcb, off + 4) = s->limit;
	F64(vmcb, off + 8) = s->base;
}

static int svm_vcpu_init(struct vcpu *v, u64 nested_root)
{
	if (v->id >= TV_MAX_CPUS)
		return -1;
	struct svm_vcpu *s = &svm_cpus[v->id];

	v->arch = s;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, hv_alloc(1, "SVM state"));

	s->vmcb_pa = hv_alloc(1, "SVM state");
	s->host_pa = hv_alloc(1, "SVM state");
	s->iopm_pa = hv.iobitmap_pa;
	s->msrpm_pa = hv_alloc(MSRPM_PAGES, "SVM state");
	s->vmcb = pool_va(&hv.pool, s->vmcb_pa);
	s->msrpm = pool_va(&hv.pool, s->msrpm_pa);
	u8 *vmcb = s->vmcb;

	msrpm_intercept(s->msrpm, MSR_EFER);
	msrpm_intercept(s->msrpm, MSR_VM_CR);
	msrpm_intercept(s->msrpm, MSR_VM_HSAVE_PA);
	msrpm_intercept(s->msrpm, 0xC0010118u);	/* SVM_KEY */
	for (u32 i = 0; i < CORE_MSRS_COUNT; i++)
		msrpm_intercept(s->msrpm, core_msrs[i]);

	F32(vmcb, VMCB_INTERCEPT_MISC1) = MISC1_NMI | MISC1_SMI | MISC1_CPUID | MISC1_INVLPGA | MISC1_IOIO |
					  MISC1_MSR | MISC1_SHUTDOWN;
	F32(vmcb, VMCB_INTERCEPT_MISC2) = MISC2_VMRUN | MISC2_VMMCALL | MISC2_VMLOAD | MISC2_VMSAVE |
					  MISC2_STGI | MISC2_CLGI | MISC2_SKINIT;
	F64(vmcb, VMCB_IOPM_PA) = s->iopm_pa;
	F64(vmcb, VMCB_MSRPM_PA) = s->msrpm_pa;
	F32(vmcb, VMCB_ASID) = 1;
	F64(vmcb, VMCB_NP_ENABLE) = 1;
	F64(vmcb, VMCB_NCR3) = nested_root;
	s->flush = true;

	/* Host mode runs with GIF clear from here on; VMRUN sets it for the guest. */
	__asm__ volatile("clgi");
	log_debug("svm: cpu %u vmcb %lx, nrip %s\n", v->id, s->vmcb_pa, has_nrip ? "yes" : "no");
	return 0;
}

static void svm_set_state(struct vcpu *v, const struct cpu_state *st)
{
	struct svm_vcpu *s = v->arch;
	u8 *vmcb = s->vmcb;

	put_seg(vmcb, VMCB_ES, &st->es);
	put_seg(vmcb, VMCB_CS, &st->cs);
	put_seg(vmcb, VMCB_SS, &st->ss);
	put_seg(vmcb, VMCB_DS, &st->ds);
	put_seg(vmcb, VMCB_FS, &st->fs);
	put_seg(vmcb, VMCB_GS, &st->gs);
	put_seg(vmcb, VMCB_LDTR, &st->ldtr);
	put_seg(vmcb, VMCB_TR, &st->tr);
	F32(vmcb, VMCB_GDTR + 4) = st->gdtr.limit;
	F64(vmcb, VMCB_GDTR + 8) = st->gdtr.base;
	F32(vmcb, VMCB_IDTR + 4) = st->idtr.limit;
	F64(vmcb, VMCB_IDTR + 8) = st->idtr.base;
	F8(vmcb, VMCB_CPL) = 0;
	F64(vmcb, VMCB_CR0) = st->cr0;
	F64(vmcb, VMCB_CR3) = st->cr3;
	F64(vmcb, VMCB_CR4) = st->cr4;
	F64(vmcb, VMCB_DR6) = 0xFFFF0FF0;
	F64(vmcb, VMCB_DR7) = 0x400;
	F64(vmcb, VMCB_G_PAT) = 0x0007040600070406ull;

	vcpu_take_state(v, st);
	F64(vmcb, VMCB_EXITINTINFO) = 0;
	F64(vmcb, VMCB_EVENTINJ) = 0;
	s->flush = true;
}

/* Parked: NMIs (kicks) must reach the host, so GIF is set while halted. */
static void svm_idle(volatile u32 *kick)
{
	__asm__ volatile("stgi" : : : "memory");
	smp_wait(kick);
	__asm__ volatile("clgi" : : : "memory");
}

static u32 decode(struct vcpu *v, u8 *vmcb)
{
	struct vm_exit *e = &v->exit;
	u64 code = e->reason;
	u64 nrip = has_nrip ? F64(vmcb, VMCB_NRIP) : 0;
	u32 len = nrip > v->rip ? (u32)(nrip - v->rip) : 0;

	switch (code) {
	case SVM_EXIT_CPUID:
		e->insn_len = len ? len : 2;
		return TV_EV_CPUID;
	case SVM_EXIT_MSR:
		e->insn_len = len ? len : 2;
		e->msr.msr = (u32)v->gpr[R_CX];
		return e->info1 ? TV_EV_MSR_WRITE : TV_EV_MSR_READ;
	case SVM_EXIT_VMMCALL:
		e->insn_len = len ? len : 3;
		return TV_EV_HYPERCALL;
	case SVM_EXIT_IOIO:
		e->insn_len = (u32)(e->info2 - v->rip);
		e->io.port = (u16)(e->info1 >> 16);
		e->io.size = (u8)((e->info1 >> 4) & 7);
		e->io.in = e->info1 & 1;
		e->io.str = e->info1 & 4;
		e->io.rep = e->info1 & 8;
		if (e->io.str) {
			/* Address size from the exit (decode assists) or from CS. */
			u16 cs_attr = F16(vmcb, VMCB_CS + 2);
			if (e->info1 & (7u << 7))
				e->io.addr_size = (e->info1 & (1u << 9)) ? 8 : (e->info1 & (1u << 8)) ? 4 : 2;
			else
				e->io.addr_size = ((v->efer & EFER_LMA) && (cs_attr & 0x200)) ? 8 :
						  (cs_attr & 0x400) ? 4 : 2;
			e->io.seg_base = e->io.addr_size == 8 ? 0 : F64(vmcb, (e->io.in ? VMCB_ES : VMCB_DS) + 8);
		}
		return TV_EV_IO;
	case SVM_EXIT_NPF:
		e->npf.gpa = e->info2;
		e->npf.write = e->info1 & 2;
		e->npf.fetch = e->info1 & 16;
		return TV_EV_NPF_MMIO;
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
		return TV_EV_VIRT_INSN;
	case SVM_EXIT_SHUTDOWN:
		return TV_EV_SHUTDOWN;
	case SVM_EXIT_INIT:
		return TV_EV_INIT;
	case SVM_EXIT_SMI:
		return TV_EV_SMI;
	case SVM_EXIT_INTR:
		return TV_EV_INTR;
	case SVM_EXIT_NMI:
		return TV_EV_NMI;
	case SVM_EXIT_INVALID:
	case 0xFFFFFFFFu:	/* QEMU reports it as a 32-bit -1 */
		panic("VMRUN refused the guest state (VMEXIT_INVALID)\n");
	default:
		if (code >= SVM_EXIT_EXC_BASE && code < SVM_EXIT_EXC_BASE + 32) {
			e->exc.vector = (u8)(code - SVM_EXIT_EXC_BASE);
			return TV_EV_EXCEPTION;
		}
		return TV_EV_OTHER;
	}
}

static void svm_run(struct vcpu *v)
{
	struct svm_vcpu *s = v->arch;
	u8 *vmcb = s->vmcb;

	for (;;) {
		F64(vmcb, VMCB_RAX) = v->gpr[R_AX];
		F64(vmcb, VMCB_RSP) = v->gpr[R_SP];
		F64(vmcb, VMCB_RIP) = v->rip;
		F64(vmcb, VMCB_RFLAGS) = v->rflags;
		F64(vmcb, VMCB_EFER) = v->efer;
		if (v->event.valid) {
			u32 type = v->event.vector == 2 ? 2u : 3u;	/* NMI, exception */
			F64(vmcb, VMCB_EVENTINJ) = v->event.vector | (type << 8) | (v->event.has_err ? 1u << 11 : 0) |
						   (1u << 31) | ((u64)v->event.err << 32);
			v->event.valid = false;
		} else {
			/* An event cut short by the exit is delivered again. */
			u64 ii = F64(vmcb, VMCB_EXITINTINFO);
			F64(vmcb, VMCB_EVENTINJ) = (ii & (1u << 31)) ? ii : 0;
		}
		F8(vmcb, VMCB_TLB_CONTROL) = s->flush ? 1 : 0;
		s->flush = false;
		F32(vmcb, VMCB_CLEAN) = 0;

		svm_enter(s->vmcb_pa, v->gpr, s->host_pa);

		v->gpr[R_AX] = F64(vmcb, VMCB_RAX);
		v->gpr[R_SP] = F64(vmcb, VMCB_RSP);
		v->rip = F64(vmcb, VMCB_RIP);
		v->rflags = F64(vmcb, VMCB_RFLAGS);
		v->efer = F64(vmcb, VMCB_EFER);
		v->cr0 = F64(vmcb, VMCB_CR0);
		v->cr3 = F64(vmcb, VMCB_CR3);
		v->cr4 = F64(vmcb, VMCB_CR4);
		v->cpl = F8(vmcb, VMCB_CPL);
		u16 cs_attr = F16(vmcb, VMCB_CS + 2);
		v->cs_ar = (u32)(cs_attr & 0xFF) | (u32)(cs_attr & 0xF00) << 4;
		v->cs_base = F64(vmcb, VMCB_CS + 8);
		v->exit = (struct vm_exit){ 0 };
		v->exit.reason = F64(vmcb, VMCB_EXITCODE);
		v->exit.info1 = F64(vmcb, VMCB_EXITINFO1);
		v->exit.info2 = F64(vmcb, VMCB_EXITINFO2);
		v->exit.event = decode(v, vmcb);

		if (v->exit.event == TV_EV_SMI) {
			/* Let the held SMI happen in host mode, then go back in. */
			if (v->counters[TV_EV_SMI]++ == 0)
				log_debug("svm: SMI in guest mode, taken in host mode\n");
			__asm__ volatile("stgi; clgi");
			continue;
		}
		if (v->exit.event == TV_EV_NMI)
			__asm__ volatile("stgi; clgi");	/* the held NMI: taken (and dropped) in host mode */
		return;
	}
}

static void svm_flush_nested(struct vcpu *v)
{
	((struct svm_vcpu *)v->arch)->flush = true;
}

static void svm_dump(const struct vcpu *v)
{
	const struct svm_vcpu *s = v->arch;

	if (!s)
		return;
	log_err("svm: exitcode %lx exitinfo1 %lx exitinfo2 %lx exitintinfo %lx cs %x:%lx\n",
		F64(s->vmcb, VMCB_EXITCODE), F64(s->vmcb, VMCB_EXITINFO1), F64(s->vmcb, VMCB_EXITINFO2),
		F64(s->vmcb, VMCB_EXITINTINFO), F16(s->vmcb, VMCB_CS), F64(s->vmcb, VMCB_RIP));
}

const struct arch_ops svm_ops = {
	.name = "AMD SVM",
	.probe = svm_probe,
	.vcpu_init = svm_vcpu_init,
	.set_state = svm_set_state,
	.idle = svm_idle,
	.run = svm_run,
	.flush_nested = svm_flush_nested,
	.dump = svm_dump,
	.nested_fmt = &pt_format_x86,
	.efer_forced = EFER_SVME,
};
