/*
 * Generic exit handling: one constant table maps each vendor-neutral event
 * to its handler (restricted pointer indexing), every exit is counted.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/io.h"
#include "tv/mmio_trap.h"
#include "tv/storage.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/smp.h"

#define MSR_VM_CR 0xC0010114u
#define MSR_IGNNE 0xC0010115u
#define MSR_SMM_CTL 0xC0010116u
#define MSR_VM_HSAVE_PA 0xC0010117u
#define MSR_SVM_KEY 0xC0010118u
#define MSR_FEATURE_CONTROL 0x3Au	/* Intel: lock and VMX enables */
#define FEATURE_CONTROL_LOCKED 1u	/* what the guest reads: locked, VMX off */
#define MSR_VMX_FIRST 0x480u		/* Intel VMX capability MSRs */
#define MSR_VMX_LAST 0x491u

static void skip_insn(struct vcpu *v)
{
	if (!v->exit.insn_len)
		panic("%s gave no instruction length for event %u\n", arch()->name, v->exit.event);
	v->rip += v->exit.insn_len;
	if (!(v->efer & EFER_LMA))
		v->rip &= 0xFFFFFFFF;
}

static void set_result32(struct vcpu *v, u32 a, u32 b, u32 c, u32 d)
{
	v->gpr[R_AX] = a;
	v->gpr[R_BX] = b;
	v->gpr[R_CX] = c;
	v->gpr[R_DX] = d;
}

static void handle_cpuid(struct vcpu *v)
{
	u32 leaf = (u32)v->gpr[R_AX], sub = (u32)v->gpr[R_CX];
	struct cpuid_regs r = { 0, 0, 0, 0 };

	if (leaf == TV_CPUID_LEAF_SIG) {
		r = (struct cpuid_regs){ TV_CPUID_LEAF_MAX, TV_CPUID_SIG_EBX, TV_CPUID_SIG_ECX, TV_CPUID_SIG_EDX };
	} else if (leaf == TV_CPUID_LEAF_MAX) {
		r.eax = TV_VERSION;
	} else if ((leaf & 0xFFFFFF00u) == 0x40000000u || leaf == 0x8000000Au) {
		/* Other hypervisor leaves, SVM features: nothing. */
	} else {
		r = cpuid(leaf, sub);
		/* Bits that mirror the guest's own CR4, not ours. */
		if (leaf == 1)
			r.ecx = (r.ecx & ~(1u << 27)) | (v->cr4 & (1ull << 18) ? 1u << 27 : 0);	/* OSXSAVE */
		if (leaf == 7 && sub == 0)
			r.ecx = (r.ecx & ~(1u << 4)) | (v->cr4 & (1ull << 22) ? 1u << 4 : 0);	/* OSPKE */
		if (leaf == 1) {
			r.ecx |= 1u << 31;	/* hypervisor present */
			r.ecx &= ~(1u << 5);	/* no VMX */
			r.ecx &= ~(1u << 21);	/* no x2APIC: the xAPIC page is what we guard */
		} else if (leaf == 0x80000001u) {
			r.ecx &= ~(1u << 2);	/* no SVM */
		}
	}
	set_result32(v, r.eax, r.ebx, r.ecx, r.edx);
	skip_insn(v);
}

/* EFER bits a guest may set: those this CPU implements, minus SVME. */
static u64 efer_allowed(void)
{
	struct cpuid_regs e = cpuid(0x80000001u, 0);
	u64 ok = EFER_SCE | EFER_LME | EFER_LMA;

	if (e.edx & (1u << 20))
		ok |= EFER_NXE;
	if (e.edx & (1u << 25))
		ok |= 1ull << 14;	/* FFXSR */
	if (e.ecx & (1u << 17))
		ok |= 1ull << 15;	/* TCE */
	return ok;
}

static void wrmsr_efer(struct vcpu *v, u64 val)
{
	u64 forced = arch()->efer_forced;

	if ((val & ~efer_allowed()) ||
	    ((v->cr0 & CR0_PG) && ((val ^ v->efer) & EFER_LME))) {
		log_warn("guest EFER write %lx refused\n", val);
		vcpu_inject(v, EXC_GP, true, 0);
		return;
	}
	v->efer = (val & ~EFER_LMA) | (v->efer & EFER_LMA) | forced;
	skip_insn(v);
}

/*
 * MSRs the guest may read but never write: they could give it the
 * hypervisor's memory (top-of-memory and DRAM routing, SMM ranges and
 * their locks) or change the CPU under it (microcode update).
 */
static const u32 readonly_msrs[] = {
	0xC0010010u,	/* AMD SYSCFG */
	0xC001001Au,	/* AMD TOP_MEM */
	0xC001001Du,	/* AMD TOP_MEM2 */
	0xC0010111u,	/* AMD SMM_BASE */
	0xC0010112u,	/* AMD SMM_ADDR (TSEG base) */
	0xC0010113u,	/* AMD SMM_MASK */
	0xC0010116u,	/* AMD SMM_CTL */
	0x1F2u,		/* Intel SMRR_PHYSBASE */
	0x1F3u,		/* Intel SMRR_PHYSMASK */
	0x79u,		/* IA32_BIOS_UPDT_TRIG: microcode update */
};

/* MSRs the core guards on every vendor (the vendors add their own). */
const u32 core_msrs[CORE_MSRS_COUNT] = {
	MSR_APIC_BASE, MSR_X2APIC_ICR, 0xC0010010u, 0xC001001Au, 0xC001001Du, 0xC0010111u,
	0xC0010112u, 0xC0010113u, 0xC0010116u, 0x1F2u, 0x1F3u, 0x79u,
};

static bool is_readonly_msr(u32 msr)
{
	for (u32 i = 0; i < ARRAY_SIZE(readonly_msrs); i++)
		if (readonly_msrs[i] == msr)
			return true;
	return false;
}

bool apic_icr_write(struct vcpu *v, u64 icr);
bool apic_base_write_ok(u64 val);

static void handle_msr(struct vcpu *v)
{
	u32 msr = v->exit.msr.msr;
	bool write = v->exit.event == TV_EV_MSR_WRITE;
	u64 val = (v->gpr[R_DX] << 32) | (u32)v->gpr[R_AX];

	if (msr == MSR_EFER) {
		if (write) {
			wrmsr_efer(v, val);
			return;
		}
		val = v->efer & ~arch()->efer_forced;
		v->gpr[R_AX] = (u32)val;
		v->gpr[R_DX] = val >> 32;
		skip_insn(v);
		return;
	}
	/* Firmware locked VMX off: so it reads, and it cannot be written. */
	if (msr == MSR_FEATURE_CONTROL && !write) {
		v->gpr[R_AX] = FEATURE_CONTROL_LOCKED;
		v->gpr[R_DX] = 0;
		skip_insn(v);
		return;
	}
	if (is_readonly_msr(msr)) {
		if (write) {
			log_warn("guest write %lx to MSR %x refused\n", val, msr);
			vcpu_inject(v, EXC_GP, true, 0);
			return;
		}
		if (!rdmsr_safe(msr, &val)) {	/* not on this CPU: as on this CPU */
			vcpu_inject(v, EXC_GP, true, 0);
			return;
		}
		v->gpr[R_AX] = (u32)val;
		v->gpr[R_DX] = val >> 32;
		skip_insn(v);
		return;
	}
	if (msr == MSR_APIC_BASE || msr == MSR_X2APIC_ICR) {
		bool x2 = rdmsr(MSR_APIC_BASE) & (1ull << 10);
		if (msr == MSR_X2APIC_ICR && !x2) {
			vcpu_inject(v, EXC_GP, true, 0);	/* x2APIC is off (and hidden) */
			return;
		}
		if (!write) {
			val = rdmsr(msr);
			v->gpr[R_AX] = (u32)val;
			v->gpr[R_DX] = val >> 32;
		} else if (msr == MSR_APIC_BASE && !apic_base_write_ok(val)) {
			log_warn("guest write %lx to IA32_APIC_BASE refused (APIC moves, x2APIC)\n", val);
			vcpu_inject(v, EXC_GP, true, 0);
			return;
		} else if (msr != MSR_X2APIC_ICR || apic_icr_write(v, val)) {
			wrmsr(msr, val);
		}
		skip_insn(v);
		return;
	}
	/*
	 * The MSRs of the virtualization extensions we hide (and MSRs outside
	 * the ranges the permission map covers): as on a CPU without them.
	 */
	if (msr == MSR_VM_CR || msr == MSR_VM_HSAVE_PA || msr == MSR_SVM_KEY || msr == MSR_FEATURE_CONTROL ||
	    (msr >= MSR_VMX_FIRST && msr <= MSR_VMX_LAST))
		log_warn("guest %s of MSR %x refused\n", write ? "write" : "read", msr);
	vcpu_inject(v, EXC_GP, true, 0);
}


static void handle_hypercall(struct vcpu *v)
{
	u64 fn = v->gpr[R_AX], arg = v->gpr[R_BX];

	if (v->cpl != 0) {
		vcpu_inject(v, EXC_UD, false, 0);
		return;
	}
	switch (fn) {
	case TV_HC_VERSION:
		set_result32(v, TV_OK, TV_VERSION, TV_CPUID_SIG_EBX, TV_CPUID_SIG_ECX);
		break;
	case TV_HC_EXIT_COUNT:
		if (arg >= TV_EV_COUNT) {
			v->gpr[R_AX] = TV_EINVAL;
			break;
		}
		set_result32(v, TV_OK, (u32)v->counters[arg], (u32)(v->counters[arg] >> 32), TV_EV_COUNT);
		break;
	case TV_HC_HV_REGION:
		set_result32(v, TV_OK, (u32)hv.region_base, (u32)hv.region_size, 0);
		break;
	case TV_HC_SELFTEST:
		set_result32(v, TV_OK, ro_hash_compute() == hv.ro_hash, pt_locked(), 0);
		break;
	default:
		v->gpr[R_AX] = TV_ENOSYS;
	}
	skip_insn(v);
}

/* The guest touched the hypervisor region: the access does not happen, it gets #GP. */
static void handle_hvmem(struct vcpu *v)
{
	static u64 reported;

	if (reported++ < 8 || hv.cfg.debug)
		log_warn("guest %s of hypervisor memory at %lx (rip %lx) refused\n",
			 v->exit.npf.fetch ? "fetch" : v->exit.npf.write ? "write" : "read", v->exit.npf.gpa,
			 v->rip);
	vcpu_inject(v, EXC_GP, true, 0);
}

static void handle_npf(struct vcpu *v)
{
	u64 gpa = v->exit.npf.gpa;

	if (mmio_handle_npf(v, gpa))
		return;
	if (nested_map_mmio(gpa) == 0)
		return;
	log_warn("guest access to unbacked physical address %lx (rip %lx) refused\n", gpa, v->rip);
	vcpu_inject(v, EXC_GP, true, 0);
}

static void handle_virt_insn(struct vcpu *v)
{
	log_debug("guest virtualization instruction at %lx: #UD\n", v->rip);
	vcpu_inject(v, EXC_UD, false, 0);
}

static void handle_shutdown(struct vcpu *v)
{
	(void)v;
	storage_wipe();
	hv_stop(TV_EXIT_GUEST_DEAD, "guest shut down (triple fault)\n");
}

static void handle_init(struct vcpu *v)
{
	(void)v;
	log_warn("INIT signal to the guest CPU ignored\n");
}

/* An NMI that was not a kick is the guest's: deliver it. */
static void handle_nmi(struct vcpu *v)
{
	vcpu_inject(v, 2, false, 0);
}

static void handle_unexpected(struct vcpu *v)
{
	panic("unexpected exit (event %u, %s reason %lx)\n", v->exit.event, arch()->name, v->exit.reason);
}

/*
 * An exit the vendor could not map to anything we emulate (a hardware task
 * switch on VT-x, say): the guest's instruction fails with #UD; the
 * hypervisor carries on.
 */
static void handle_other(struct vcpu *v)
{
	static u32 reported;

	if (reported++ < 8)
		log_warn("guest operation not supported (%s exit %lx at rip %lx): #UD\n", arch()->name,
			 v->exit.reason, v->rip);
	vcpu_inject(v, EXC_UD, false, 0);
}

typedef void (*exit_handler)(struct vcpu *v);

static const exit_handler exit_handlers[TV_EV_COUNT] = {
	[TV_EV_CPUID] = handle_cpuid,
	[TV_EV_MSR_READ] = handle_msr,
	[TV_EV_MSR_WRITE] = handle_msr,
	[TV_EV_IO] = io_handle_exit,
	[TV_EV_HYPERCALL] = handle_hypercall,
	[TV_EV_NPF_MMIO] = handle_npf,
	[TV_EV_HVMEM] = handle_hvmem,
	[TV_EV_VIRT_INSN] = handle_virt_insn,
	[TV_EV_SMI] = handle_unexpected,
	[TV_EV_SHUTDOWN] = handle_shutdown,
	[TV_EV_INIT] = handle_init,
	[TV_EV_EXCEPTION] = handle_unexpected,
	[TV_EV_INTR] = handle_unexpected,
	[TV_EV_OTHER] = handle_other,
	[TV_EV_NMI] = handle_nmi,
};

void vcpu_loop(struct vcpu *v)
{
	for (;;) {
		smp_before_entry(v);
		arch()->run(v);
		__atomic_store_n(&v->in_guest, 0, __ATOMIC_SEQ_CST);
		u32 ev = v->exit.event < TV_EV_COUNT ? v->exit.event : TV_EV_OTHER;
		if (ev == TV_EV_NPF_MMIO && in_hv_region(v->exit.npf.gpa, 1))
			ev = v->exit.event = TV_EV_HVMEM;
		v->counters[ev]++;
		if (ev == TV_EV_NMI && smp_nmi(v))
			continue;	/* a kick: smp_before_entry looks at the request */
		if (ev == TV_EV_NPF_MMIO && apic_fast_npf(v, v->exit.npf.gpa))
			continue;
		smp_lock();
		exit_handlers[ev](v);
		smp_unlock();
	}
}
