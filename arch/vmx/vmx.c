/*
 * Intel VT-x backend: VMXON, one VMCS, EPT, VPID, I/O and MSR bitmaps, and
 * the decoding of VMX exits into the core's neutral events.  Exits that are
 * pure VMX mechanics never reach the core and are counted as TV_EV_OTHER:
 * control-register accesses to the bits VMX owns (CR0.NE, CR4.VMXE, ...),
 * and XSETBV and INVD, which VMX always intercepts.  Knows nothing of
 * devices or of what the core does with an event.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/smp.h"
#include "tv/physmem.h"
#include "vmcs.h"

#define CR0_TS (1ull << 3)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR4_PSE (1ull << 4)
#define CR4_PGE (1ull << 7)
#define CR4_PCIDE (1ull << 17)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define RFLAGS_VM (1ull << 17)
#define VPID_GUEST 1

struct vmx_vcpu {
	u64 vmxon_pa, vmcs_pa, msrbm_pa, eptp;
	bool launched, flush;
	u32 entry_ctls;		/* without "IA-32e mode guest", set per entry */
	u64 cr0_mask, cr4_mask;	/* bits the guest reads from the shadows */
	u64 exit_rip;		/* guest RIP at the last exit */
	u32 idt_info, idt_err, exit_len;	/* event cut short by the last exit */
	u32 proc;		/* primary processor-based controls */
	bool nmi_pending;	/* a guest NMI waiting for its NMI window */
};

static struct vmx_vcpu vmx_cpus[TV_MAX_CPUS];

/* What the capability MSRs allow, from probe. */
static struct {
	u64 basic, ept_cap;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u32 pin[2], proc[2], proc2[2], exit[2], entry[2];	/* must-be-1, may-be-1 */
	bool vpid;
} cap;

int vmx_enter(u64 *gpr, u64 launched, volatile u32 *kick);
extern const u8 vmx_exit[], vmx_kick_window[], vmx_kick_end[], vmx_kick_abort[];
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PROC_NMI_WINDOW (1u << 22)
#define EXIT_NMI_WINDOW 8

/* ---- VMX instructions ---- */

static bool vmread_ok(u32 field, u64 *val)
{
	bool fail;

	__asm__ volatile("vmread %2, %0; setbe %1" : "=r"(*val), "=qm"(fail) : "r"((u64)field) : "cc");
	return !fail;
}

static u64 vmread(u32 field)
{
	u64 val;

	if (!vmread_ok(field, &val))
		panic("vmx: VMREAD of field %x failed\n", field);
	return val;
}

/* For the dump on the panic path, which must not panic again. */
static u64 vmread_quiet(u32 field)
{
	u64 val;

	return vmread_ok(field, &val) ? val : ~0ull;
}

static void vmwrite(u32 field, u64 val)
{
	bool fail;

	__asm__ volatile("vmwrite %1, %2; setbe %0" : "=qm"(fail) : "rm"(val), "r"((u64)field) : "cc");
	if (fail)
		panic("vmx: VMWRITE of %lx to field %x failed (VM-instruction error %lu)\n", val, field,
		      vmread_quiet(VM_INSN_ERROR));
}

/* VMXON, VMCLEAR, VMPTRLD: one memory operand holding a physical address. */
#define VMX_PA_OP(name)                                                                           \
	static bool name(u64 pa)                                                                  \
	{                                                                                         \
		bool fail;                                                                        \
		__asm__ volatile(#name " %1; setbe %0" : "=qm"(fail) : "m"(pa) : "cc", "memory"); \
		return !fail;                                                                     \
	}
VMX_PA_OP(vmxon)
VMX_PA_OP(vmclear)
VMX_PA_OP(vmptrld)

static void invept(u64 eptp)
{
	struct { u64 eptp, zero; } d = { eptp, 0 };
	u64 type = (cap.ept_cap & EPT_CAP_INVEPT_SINGLE) ? 1 : 2;
	bool fail;

	__asm__ volatile("invept %1, %2; setbe %0" : "=qm"(fail) : "m"(d), "r"(type) : "cc", "memory");
	if (fail)
		panic("vmx: INVEPT type %lu failed\n", type);
}

/* Forget the guest's linear translations (what a real CR write would flush). */
static void flush_guest_tlb(void)
{
	struct { u64 vpid, la; } d = { VPID_GUEST, 0 };
	u64 type = (cap.ept_cap & VPID_CAP_SINGLE) ? 1 : 2;
	bool fail;

	if (!cap.vpid)
		return;	/* without VPID every VM entry and exit flushes */
	__asm__ volatile("invvpid %1, %2; setbe %0" : "=qm"(fail) : "m"(d), "r"(type) : "cc", "memory");
	if (fail)
		panic("vmx: INVVPID type %lu failed\n", type);
}

/* ---- capabilities ---- */

static void ctl_msr(u32 msr, u32 out[2])
{
	u64 v = rdmsr(msr);

	out[0] = (u32)v;	/* allowed-0 settings: bits that must be 1 */
	out[1] = (u32)(v >> 32);	/* allowed-1 settings: bits that may be 1 */
}

/* The control value closest to 'want' that the CPU allows. */
static u32 ctl(const u32 allowed[2], u32 want)
{
	return (want | allowed[0]) & allowed[1];
}

static int vmx_probe(const char **why)
{
	if (!(cpuid(1, 0).ecx & (1u << 5))) {
		*why = "no Intel VT-x (VMX)";
		return -1;
	}
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);
	if ((fc & FC_LOCK) && !(fc & FC_VMX_OUTSIDE_SMX)) {
		*why = "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL locked with VMX off)";
		return -1;
	}
	cap.basic = rdmsr(MSR_VMX_BASIC);
	bool true_ctls = cap.basic & BASIC_TRUE_CTLS;
	ctl_msr(true_ctls ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED, cap.pin);
	ctl_msr(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED, cap.proc);
	ctl_msr(true_ctls ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT, cap.exit);
	ctl_msr(true_ctls ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY, cap.entry);
	if ((cap.basic >> 32 & 0x1FFF) > 4096 || (cap.basic >> 50 & 0xF) != 6) {
		*why = "VT-x with VMCS regions over 4 KiB or not write-back is not supported";
		return -1;
	}
	/* Secondary controls and the EPT capabilities exist only if announced. */
	if (!(cap.proc[1] & PROC_SECONDARY)) {
		*why = "VT-x without secondary controls (so without EPT) is not supported";
		return -1;
	}
	ctl_msr(MSR_VMX_PROCBASED2, cap.proc2);
	if (!(cap.proc2[1] & PROC2_EPT)) {
		*why = "VT-x without EPT (extended page tables) is not supported";
		return -1;
	}
	if (!(cap.proc2[1] & PROC2_UNRESTRICTED)) {
		*why = "VT-x without unrestricted guest is not supported";
		return -1;
	}
	cap.ept_cap = rdmsr(MSR_VMX_EPT_VPID_CAP);
	if (!(cap.ept_cap & EPT_CAP_WALK4) || !(cap.ept_cap & EPT_CAP_WB) || !(cap.ept_cap & EPT_CAP_2M) ||
	    !(cap.ept_cap & EPT_CAP_INVEPT) || !(cap.ept_cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL))) {
		*why = "EPT without 4-level walks, write-back tables, 2 MiB pages or INVEPT is not supported";
		return -1;
	}
	if (!(cap.exit[1] & EXIT_HOST_64) || (~cap.exit[1] & (EXIT_SAVE_EFER | EXIT_LOAD_EFER)) ||
	    (~cap.entry[1] & (ENTRY_LOAD_EFER | ENTRY_IA32E))) {
		*why = "VT-x without 64-bit hosts or EFER save/load controls is not supported";
		return -1;
	}
	cap.vpid = (cap.proc2[1] & PROC2_VPID) && (cap.ept_cap & VPID_CAP_INVVPID) &&
		   (cap.ept_cap & (VPID_CAP_SINGLE | VPID_CAP_ALL));
	cap.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
	cap.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
	cap.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
	cap.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
	return 0;
}

/* ---- set-up ---- */

/* MSRs outside the two ranges the bitmap covers always exit. */
static void msr_intercept(u8 *bm, u32 msr)
{
	u32 off;

	if (msr < 0x2000u)
		off = 0;
	else if (msr - 0xC0000000u < 0x2000u)
		off = 0x400, msr -= 0xC0000000u;
	else
		return;
	bm[off + msr / 8] |= (u8)(1u << (msr % 8));		/* read */
	bm[0x800 + off + msr / 8] |= (u8)(1u << (msr % 8));	/* write */
}

static void put_seg(u32 i, const struct seg *s)
{
	vmwrite(GUEST_ES_SEL + 2 * i, s->sel);
	vmwrite(GUEST_ES_LIMIT + 2 * i, s->limit);
	vmwrite(GUEST_ES_AR + 2 * i, s->ar & 0x1F0FFu);
	vmwrite(GUEST_ES_BASE + 2 * i, s->base);
}

/* The host state: exactly what the hypervisor runs with now. */
static void host_state(void)
{
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) gdtr, idtr;
	u16 cs, ss, ds, es, fs, gs, tr;

	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	__asm__ volatile("mov %%cs, %0; mov %%ss, %1; mov %%ds, %2; mov %%es, %3"
			 : "=r"(cs), "=r"(ss), "=r"(ds), "=r"(es));
	__asm__ volatile("mov %%fs, %0; mov %%gs, %1; str %2" : "=r"(fs), "=r"(gs), "=r"(tr));
	if (!tr || (tr & 7))
		panic("vmx: the host needs a TSS (TR is %x)\n", tr);
	const u64 *d = (const u64 *)(gdtr.base + tr);
	u64 tr_base = ((d[0] >> 16) & 0xFFFFFF) | (((d[0] >> 56) & 0xFF) << 24) | (d[1] << 32);

	vmwrite(HOST_CS_SEL, cs);
	vmwrite(HOST_SS_SEL, ss);
	vmwrite(HOST_DS_SEL, ds);
	vmwrite(HOST_ES_SEL, es);
	vmwrite(HOST_FS_SEL, fs);
	vmwrite(HOST_GS_SEL, gs);
	vmwrite(HOST_TR_SEL, tr);
	vmwrite(HOST_FS_BASE, rdmsr(0xC0000100u));
	vmwrite(HOST_GS_BASE, rdmsr(0xC0000101u));
	vmwrite(HOST_TR_BASE, tr_base);
	vmwrite(HOST_GDTR_BASE, gdtr.base);
	vmwrite(HOST_IDTR_BASE, idtr.base);
	vmwrite(HOST_CR0, read_cr0());
	vmwrite(HOST_CR3, read_cr3());
	vmwrite(HOST_CR4, read_cr4());
	vmwrite(HOST_SYSENTER_CS, rdmsr(0x174));
	vmwrite(HOST_SYSENTER_ESP, rdmsr(0x175));
	vmwrite(HOST_SYSENTER_EIP, rdmsr(0x176));
	vmwrite(HOST_EFER, rdmsr(MSR_EFER));
	if (cap.exit[1] & EXIT_LOAD_PAT)
		vmwrite(HOST_PAT, rdmsr(MSR_PAT));
	vmwrite(HOST_RIP, (u64)vmx_exit);
}

static void controls(struct vmx_vcpu *x, u64 nested_root)
{
	u32 proc = ctl(cap.proc, PROC_IO_BITMAPS | PROC_MSR_BITMAPS | PROC_SECONDARY);
	u32 proc2 = ctl(cap.proc2, PROC2_EPT | PROC2_UNRESTRICTED | (cap.vpid ? PROC2_VPID : 0) |
					   /* without these the instructions #UD in the guest */
					   PROC2_RDTSCP | PROC2_INVPCID | PROC2_XSAVES);
	/* DR7 and DEBUGCTL too: an exit resets them, so without these the guest's are lost. */
	u32 exit = ctl(cap.exit, EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT |
				     EXIT_SAVE_DEBUG);
	u32 entry = ctl(cap.entry, ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ENTRY_LOAD_DEBUG);

	if ((proc & (PROC_IO_BITMAPS | PROC_MSR_BITMAPS)) != (PROC_IO_BITMAPS | PROC_MSR_BITMAPS))
		panic("vmx: this CPU has no I/O or MSR bitmaps\n");
	/* Both PAT controls or neither, or the guest's PAT leaks into the host. */
	if ((exit & (EXIT_SAVE_PAT | EXIT_LOAD_PAT)) != (EXIT_SAVE_PAT | EXIT_LOAD_PAT) || !(entry & ENTRY_LOAD_PAT)) {
		exit &= ~(EXIT_SAVE_PAT | EXIT_LOAD_PAT);
		entry &= ~ENTRY_LOAD_PAT;
	}
	/*
	 * NMIs exit (they are the cross-CPU kicks); with virtual NMIs the
	 * guest's IRET still unblocks the NMIs we inject, so kicks never stop.
	 */
	if ((~cap.pin[1] & (PIN_NMI_EXITING | PIN_VIRTUAL_NMIS)) || !(cap.proc[1] & PROC_NMI_WINDOW))
		panic("vmx: this CPU cannot intercept NMIs (NMI exiting, virtual NMIs, NMI window)\n");
	vmwrite(PIN_CONTROLS, ctl(cap.pin, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS));
	x->proc = proc;
	vmwrite(PROC_CONTROLS, proc);
	vmwrite(PROC_CONTROLS2, proc2);
	vmwrite(EXIT_CONTROLS, exit);
	x->entry_ctls = entry & ~ENTRY_IA32E;
	vmwrite(ENTRY_CONTROLS, x->entry_ctls);
	vmwrite(EXCEPTION_BITMAP, 0);
	vmwrite(CR3_TARGET_COUNT, 0);
	vmwrite(EXIT_MSR_STORE_COUNT, 0);
	vmwrite(EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(ENTRY_INTR_INFO, 0);
	vmwrite(IO_BITMAP_A, hv.iobitmap_pa);
	vmwrite(IO_BITMAP_B, hv.iobitmap_pa + 4096);
	vmwrite(MSR_BITMAP, x->msrbm_pa);
	if (proc2 & PROC2_VPID)
		vmwrite(VMCS_VPID, VPID_GUEST);
	x->eptp = nested_root | (3u << 3) /* 4-level walk */ | 6u /* write-back */;
	vmwrite(EPT_POINTER, x->eptp);
	x->flush = true;

	/*
	 * Control-register bits the guest may not own: those VMX fixes (minus
	 * PE and PG, which unrestricted guest frees) and those it forbids.
	 * The guest reads them from the shadows; changing them exits.
	 */
	x->cr0_mask = (cap.cr0_fixed0 & ~(CR0_PE | CR0_PG)) | (~cap.cr0_fixed1 & 0xFFFFFFFFu);
	x->cr4_mask = cap.cr4_fixed0 | CR4_VMXE | (~cap.cr4_fixed1 & 0xFFFFFFFFu);
	vmwrite(CR0_GUEST_HOST_MASK, x->cr0_mask);
	vmwrite(CR4_GUEST_HOST_MASK, x->cr4_mask);
	log_debug("vmx: controls pin %x proc %x proc2 %x exit %x entry %x, cr0 mask %lx cr4 mask %lx\n",
		  ctl(cap.pin, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS), proc, proc2, exit, entry, x->cr0_mask, x->cr4_mask);
}

static u64 real_cr0(u64 guest)
{
	return (guest | (cap.cr0_fixed0 & ~(CR0_PE | CR0_PG))) & cap.cr0_fixed1;
}

static u64 real_cr4(u64 guest)
{
	return (guest | cap.cr4_fixed0) & cap.cr4_fixed1;
}

/* PAE paging outside long mode: the CPU takes the PDPTEs from the VMCS. */
static bool pae32(u64 cr0, u64 cr4, u64 efer)
{
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
}

static bool load_pdptes(u64 cr3)
{
	u64 pa = cr3 & 0xFFFFFFE0u;
	const u64 *p = in_hv_region(pa, 32) ? NULL : phys_ptr(&hv.pm, pa, 32);

	if (!p)
		return false;
	for (u32 i = 0; i < 4; i++)
		if ((p[i] & 1) && (p[i] & 0x1E6))	/* reserved bits 1-2, 5-8 */
			return false;
	for (u32 i = 0; i < 4; i++)
		vmwrite(GUEST_PDPTE0 + 2 * i, p[i]);
	return true;
}

static int vmx_vcpu_init(struct vcpu *v, u64 nested_root)
{
	if (v->id >= TV_MAX_CPUS)
		return -1;
	struct vmx_vcpu *x = &vmx_cpus[v->id];
	u32 rev = (u32)cap.basic & 0x7FFFFFFFu;

	v->arch = x;
	u64 fc = rdmsr(MSR_FEATURE_CONTROL);
	if (!(fc & FC_LOCK))
		wrmsr(MSR_FEATURE_CONTROL, fc | FC_LOCK | FC_VMX_OUTSIDE_SMX);
	write_cr0((read_cr0() | cap.cr0_fixed0) & cap.cr0_fixed1);
	write_cr4((read_cr4() | cap.cr4_fixed0) & cap.cr4_fixed1);

	x->vmxon_pa = hv_alloc(1, "VMX state");
	x->vmcs_pa = hv_alloc(1, "VMX state");
	x->msrbm_pa = hv_alloc(1, "VMX state");
	*(u32 *)pool_va(&hv.pool, x->vmxon_pa) = rev;
	*(u32 *)pool_va(&hv.pool, x->vmcs_pa) = rev;
	if (!vmxon(x->vmxon_pa))
		panic("vmx: VMXON failed\n");
	if (!vmclear(x->vmcs_pa) || !vmptrld(x->vmcs_pa))
		panic("vmx: VMCLEAR/VMPTRLD failed\n");

	/* What the core emulates or refuses; every other MSR goes to the CPU. */
	u8 *bm = pool_va(&hv.pool, x->msrbm_pa);
	msr_intercept(bm, MSR_EFER);
	msr_intercept(bm, MSR_FEATURE_CONTROL);
	for (u32 m = MSR_VMX_FIRST; m <= MSR_VMX_LAST; m++)
		msr_intercept(bm, m);
	for (u32 i = 0; i < CORE_MSRS_COUNT; i++)
		msr_intercept(bm, core_msrs[i]);

	controls(x, nested_root);
	host_state();
	log_debug("vmx: cpu %u vmcs %lx, eptp %lx, vpid %s, basic %lx, ept/vpid caps %lx\n", v->id, x->vmcs_pa,
		  x->eptp, cap.vpid ? "yes" : "no", cap.basic, cap.ept_cap);
	return 0;
}

static void vmx_set_state(struct vcpu *v, const struct cpu_state *st)
{
	struct vmx_vcpu *x = v->arch;

	put_seg(SEG_ES, &st->es);
	put_seg(SEG_CS, &st->cs);
	put_seg(SEG_SS, &st->ss);
	put_seg(SEG_DS, &st->ds);
	put_seg(SEG_FS, &st->fs);
	put_seg(SEG_GS, &st->gs);
	put_seg(SEG_LDTR, &st->ldtr);
	put_seg(SEG_TR, &st->tr);
	vmwrite(GUEST_GDTR_BASE, st->gdtr.base);
	vmwrite(GUEST_GDTR_LIMIT, st->gdtr.limit);
	vmwrite(GUEST_IDTR_BASE, st->idtr.base);
	vmwrite(GUEST_IDTR_LIMIT, st->idtr.limit);
	vmwrite(GUEST_CR0, real_cr0(st->cr0));
	vmwrite(CR0_READ_SHADOW, st->cr0);
	vmwrite(GUEST_CR3, st->cr3);
	vmwrite(GUEST_CR4, real_cr4(st->cr4));
	vmwrite(CR4_READ_SHADOW, st->cr4);
	if (pae32(st->cr0, st->cr4, st->efer) && !load_pdptes(st->cr3))
		panic("vmx: the guest's PAE page-directory pointers are unusable\n");
	vmwrite(GUEST_DR7, 0x400);
	vmwrite(GUEST_DEBUGCTL, 0);
	vmwrite(GUEST_PAT, 0x0007040600070406ull);
	vmwrite(GUEST_SYSENTER_CS, 0);
	vmwrite(GUEST_SYSENTER_ESP, 0);
	vmwrite(GUEST_SYSENTER_EIP, 0);
	vmwrite(GUEST_INTERRUPTIBILITY, 0);
	vmwrite(GUEST_ACTIVITY, 0);
	vmwrite(GUEST_PENDING_DBG, 0);
	vmwrite(VMCS_LINK_PTR, ~0ull);

	vcpu_take_state(v, st);
	x->exit_rip = st->rip;
	x->idt_info = 0;
	x->nmi_pending = false;
	vmwrite(ENTRY_INTR_INFO, 0);
	flush_guest_tlb();
}

static void vmx_idle(volatile u32 *kick)
{
	smp_wait(kick);
}

/* ---- exits the backend completes itself ---- */

static bool inject_gp(struct vcpu *v)
{
	vcpu_inject(v, EXC_GP, true, 0);
	return false;
}

static bool set_cr0(struct vcpu *v, u64 val)
{
	u64 old = v->cr0, efer = v->efer;

	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
		return inject_gp(v);
	if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME)) {
		if (!(v->cr4 & CR4_PAE))
			return inject_gp(v);
		efer |= EFER_LMA;
	} else if (!(val & CR0_PG) && (efer & EFER_LMA)) {
		efer &= ~EFER_LMA;
	}
	if (pae32(val, v->cr4, efer) && !load_pdptes(v->cr3))
		return inject_gp(v);
	vmwrite(GUEST_CR0, real_cr0(val));
	vmwrite(CR0_READ_SHADOW, val);
	v->cr0 = val;
	v->efer = efer;
	if ((old ^ val) & (CR0_PG | CR0_WP | CR0_PE | CR0_CD))
		flush_guest_tlb();
	return true;
}

static bool set_cr4(struct vcpu *v, struct vmx_vcpu *x, u64 val)
{
	u64 old = v->cr4;

	/* VMXE stays hidden; bits VMX forbids are as if unsupported. */
	if ((val & x->cr4_mask & ~cap.cr4_fixed0) || (val & CR4_VMXE) || (val >> 32) ||
	    ((v->efer & EFER_LMA) && !(val & CR4_PAE)))
		return inject_gp(v);
	if (pae32(v->cr0, val, v->efer) && !load_pdptes(v->cr3))
		return inject_gp(v);
	vmwrite(GUEST_CR4, real_cr4(val));
	vmwrite(CR4_READ_SHADOW, val);
	v->cr4 = val;
	if ((old ^ val) & (CR4_PAE | CR4_PSE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP))
		flush_guest_tlb();
	return true;
}

/* Only if the CPU forces CR3-load exiting (no TRUE controls). */
static bool set_cr3(struct vcpu *v, u64 val)
{
	val &= ~(1ull << 63);	/* PCID no-flush hint */
	if (pae32(v->cr0, v->cr4, v->efer) && !load_pdptes(val))
		return inject_gp(v);
	vmwrite(GUEST_CR3, val);
	v->cr3 = val;
	flush_guest_tlb();
	return true;
}

/* Returns true when the instruction completed and RIP must move on. */
static bool cr_access(struct vcpu *v, struct vmx_vcpu *x, u64 q)
{
	u32 cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
	u64 val = v->gpr[reg];

	if (!(v->efer & EFER_LMA))
		val = (u32)val;
	switch (type) {
	case 0:	/* MOV to CR */
		if (cr == 0)
			return set_cr0(v, val);
		if (cr == 4)
			return set_cr4(v, x, val);
		if (cr == 3)
			return set_cr3(v, val);
		break;
	case 1:	/* MOV from CR */
		if (cr == 3) {
			v->gpr[reg] = v->cr3;
			return true;
		}
		break;
	case 2:	/* CLTS */
		return set_cr0(v, v->cr0 & ~CR0_TS);
	default:	/* LMSW: sets PE, never clears it */
		return set_cr0(v, (v->cr0 & ~0xEull) | ((q >> 16) & 0xF));
	}
	panic("vmx: unexpected control-register exit (qualification %lx)\n", q);
}

static bool xsetbv(struct vcpu *v)
{
	struct cpuid_regs d = cpuid(0xD, 0);
	u64 ok = ((u64)d.edx << 32) | d.eax;
	u64 val = (v->gpr[R_DX] << 32) | (u32)v->gpr[R_AX];
	u64 avx512 = 0xE0, mpx = 0x18;

	if ((u32)v->gpr[R_CX] != 0 || !(val & 1) || (val & ~ok) || ((val & 4) && !(val & 2)) ||
	    ((val & avx512) && ((val & avx512) != avx512 || !(val & 4))) ||
	    ((val & mpx) && (val & mpx) != mpx))
		return inject_gp(v);
	/* XCR0 is not switched by VMX: the guest's value is the CPU's. */
	u64 cr4 = read_cr4();
	write_cr4(cr4 | CR4_OSXSAVE);
	__asm__ volatile("xsetbv" : : "c"(0), "a"((u32)val), "d"((u32)(val >> 32)));
	write_cr4(cr4);
	return true;
}

/* ---- exit decoding ---- */

#define EV_INTERNAL TV_EV_COUNT	/* handled here; counted as TV_EV_OTHER */

static void refresh(struct vcpu *v, struct vmx_vcpu *x)
{
	v->gpr[R_SP] = vmread(GUEST_RSP);
	v->rip = x->exit_rip = vmread(GUEST_RIP);
	v->rflags = vmread(GUEST_RFLAGS);
	v->efer = vmread(GUEST_EFER);
	v->cr0 = (vmread(GUEST_CR0) & ~x->cr0_mask) | (vmread(CR0_READ_SHADOW) & x->cr0_mask);
	v->cr3 = vmread(GUEST_CR3);
	v->cr4 = (vmread(GUEST_CR4) & ~x->cr4_mask) | (vmread(CR4_READ_SHADOW) & x->cr4_mask);
	v->cpl = !(v->cr0 & CR0_PE) ? 0 : (v->rflags & RFLAGS_VM) ? 3 : (vmread(GUEST_SS_AR) >> 5) & 3;
	v->cs_ar = (u32)vmread(GUEST_CS_AR) & 0x1F0FFu;	/* already in SEG_AR_* layout */
	v->cs_base = vmread(GUEST_CS_BASE);
	x->idt_info = (u32)vmread(IDT_VECTORING_INFO);
	x->idt_err = (x->idt_info & INTR_ERRCODE) ? (u32)vmread(IDT_VECTORING_ERROR) : 0;
	x->exit_len = (u32)vmread(EXIT_INSN_LEN);
}

/* An IRET that faulted had unblocked NMIs: block them again (SDM 27.2.3). */
static void nmi_unblock_fixup(struct vmx_vcpu *x, bool unblocked)
{
	if (unblocked && !(x->idt_info & INTR_VALID))
		vmwrite(GUEST_INTERRUPTIBILITY, vmread(GUEST_INTERRUPTIBILITY) | BLOCK_NMI);
}

static void decode_io(struct vcpu *v)
{
	struct vm_exit *e = &v->exit;
	u64 q = e->info1;

	e->io.port = (u16)(q >> 16);
	e->io.size = (u8)((q & 7) + 1);
	e->io.in = q & 8;
	e->io.str = q & 16;
	e->io.rep = q & 32;
	if (!e->io.str)
		return;
	u32 cs_ar = v->cs_ar, seg = e->io.in ? SEG_ES : SEG_DS;
	bool long64 = (v->efer & EFER_LMA) && (cs_ar & 0x2000);
	if (cap.basic & BASIC_INSOUTS_INFO) {
		u32 ii = (u32)vmread(EXIT_INSN_INFO);
		e->io.addr_size = (u8)(2u << ((ii >> 7) & 3));
		if (!e->io.in)
			seg = (ii >> 15) & 7;	/* OUTS honours segment overrides */
	} else {
		e->io.addr_size = long64 ? 8 : (cs_ar & 0x4000) ? 4 : 2;
	}
	/* In 64-bit mode only FS and GS have bases. */
	e->io.seg_base = (long64 && seg != SEG_FS && seg != SEG_GS) ? 0 : vmread(GUEST_ES_BASE + 2 * seg);
}

static void bad_entry(struct vcpu *v)
{
	static const char *const names[] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };

	for (u32 i = 0; i < 8; i++)
		log_err("vmx: guest %-4s sel %04lx base %016lx limit %08lx ar %05lx\n", names[i],
			vmread_quiet(GUEST_ES_SEL + 2 * i), vmread_quiet(GUEST_ES_BASE + 2 * i),
			vmread_quiet(GUEST_ES_LIMIT + 2 * i), vmread_quiet(GUEST_ES_AR + 2 * i));
	log_err("vmx: guest cr0 %lx cr4 %lx efer %lx rflags %lx entry controls %lx interruptibility %lx\n",
		vmread_quiet(GUEST_CR0), vmread_quiet(GUEST_CR4), vmread_quiet(GUEST_EFER),
		vmread_quiet(GUEST_RFLAGS), vmread_quiet(ENTRY_CONTROLS), vmread_quiet(GUEST_INTERRUPTIBILITY));
	/* Basic reason 33: invalid guest state, 34: MSR loading, 41: machine check. */
	panic("vmx: VM entry failed (exit reason %lx, qualification %lx)\n", v->exit.reason, v->exit.info1);
}

static u32 decode(struct vcpu *v, struct vmx_vcpu *x)
{
	struct vm_exit *e = &v->exit;
	u32 basic = (u32)e->reason & 0xFFFF;

	if (e->reason & EXIT_ENTRY_FAILED)
		bad_entry(v);
	switch (basic) {
	case EXIT_CPUID:
		e->insn_len = x->exit_len;
		return TV_EV_CPUID;
	case EXIT_RDMSR:
	case EXIT_WRMSR:
		e->insn_len = x->exit_len;
		e->msr.msr = (u32)v->gpr[R_CX];
		return basic == EXIT_WRMSR ? TV_EV_MSR_WRITE : TV_EV_MSR_READ;
	case EXIT_VMCALL:
		e->insn_len = x->exit_len;
		return TV_EV_HYPERCALL;
	case EXIT_IO:
		e->insn_len = x->exit_len;
		decode_io(v);
		return TV_EV_IO;
	case EXIT_EPT_VIOLATION:
		e->npf.gpa = e->info2;
		e->npf.write = e->info1 & 2;
		e->npf.fetch = e->info1 & 4;
		nmi_unblock_fixup(x, e->info1 & INTR_NMI_UNBLOCK);
		return TV_EV_NPF_MMIO;
	case EXIT_VMCLEAR ... EXIT_VMXON:
	case EXIT_INVEPT:
	case EXIT_INVVPID:
	case EXIT_VMFUNC:
	case EXIT_GETSEC:	/* SMX: hidden like SVM's SKINIT */
		return TV_EV_VIRT_INSN;
	case EXIT_TRIPLE_FAULT:
		return TV_EV_SHUTDOWN;
	case EXIT_INIT:
		return TV_EV_INIT;
	case EXIT_IO_SMI:
	case EXIT_OTHER_SMI:
		return TV_EV_SMI;
	case EXIT_EXTINT:
		return TV_EV_INTR;
	case EXIT_EXC_NMI:
		if ((e->info2 & 0x700) == INTR_TYPE_NMI) {
			/* NMIs stay blocked after an NMI exit until an IRET: do one. */
			__asm__ volatile("mov %%ss, %%eax; push %%rax; push %%rsp; addq $8, (%%rsp); pushfq;"
					 "mov %%cs, %%eax; push %%rax; lea 1f(%%rip), %%rax; push %%rax; iretq; 1:"
					 : : : "rax", "memory", "cc");
			return TV_EV_NMI;
		}
		e->exc.vector = (u8)e->info2;
		nmi_unblock_fixup(x, e->info2 & INTR_NMI_UNBLOCK);
		return TV_EV_EXCEPTION;
	case EXIT_EPT_MISCONFIG:
		panic("vmx: EPT misconfiguration at guest physical address %lx\n", e->info2);
	case EXIT_CR_ACCESS:
		if (cr_access(v, x, e->info1))
			e->insn_len = x->exit_len;
		return EV_INTERNAL;
	case EXIT_XSETBV:
		if (xsetbv(v))
			e->insn_len = x->exit_len;
		return EV_INTERNAL;
	case EXIT_NMI_WINDOW:	/* the guest can take its NMI now: inject() does */
		return EV_INTERNAL;
	case EXIT_INVD:	/* never drop dirty lines: write them back instead */
		__asm__ volatile("wbinvd" : : : "memory");
		e->insn_len = x->exit_len;
		return EV_INTERNAL;
	default:
		return TV_EV_OTHER;
	}
}

/* The VM-entry event: the core's exception, else what the exit cut short. */
static void inject(struct vcpu *v, struct vmx_vcpu *x)
{
	u32 info = 0;

	/* A guest NMI waits while the guest blocks NMIs (or MOV SS does). */
	if (v->event.valid && v->event.vector == 2) {
		x->nmi_pending = true;
		v->event.valid = false;
	}
	if (x->nmi_pending) {
		if ((x->idt_info & INTR_VALID) || v->event.valid ||
		    (vmread(GUEST_INTERRUPTIBILITY) & (BLOCK_NMI | BLOCK_MOVSS | BLOCK_STI))) {
			vmwrite(PROC_CONTROLS, x->proc | PROC_NMI_WINDOW);
		} else {
			vmwrite(PROC_CONTROLS, x->proc);
			x->nmi_pending = false;
			v->event = (struct pending_event){ true, false, 2, 0 };
		}
	}
	if (v->event.valid) {
		u8 vec = v->event.vector;
		info = vec | INTR_VALID | (vec == 2 ? INTR_TYPE_NMI : INTR_TYPE_HWEXC);
		/* Error codes exist in protected mode, for these vectors only. */
		if ((vmread(GUEST_CR0) & CR0_PE) && vec < 32 && ((1u << vec) & 0x27D00u)) {
			info |= INTR_ERRCODE;
			vmwrite(ENTRY_EXC_ERROR, v->event.has_err ? v->event.err : 0);
		}
		v->event.valid = false;
	} else if (x->idt_info & INTR_VALID) {
		u32 type = (x->idt_info >> 8) & 7;
		info = x->idt_info & (INTR_VALID | INTR_ERRCODE | 0x7FFu);
		if (info & INTR_ERRCODE)
			vmwrite(ENTRY_EXC_ERROR, x->idt_err);
		if (type >= 4 && type <= 6)	/* software interrupts and exceptions */
			vmwrite(ENTRY_INSN_LEN, x->exit_len);
	}
	x->idt_info = 0;
	vmwrite(ENTRY_INTR_INFO, info);
}

static void vmx_run(struct vcpu *v)
{
	struct vmx_vcpu *x = v->arch;

	for (;;) {
		vmwrite(GUEST_RSP, v->gpr[R_SP]);
		vmwrite(GUEST_RIP, v->rip);
		vmwrite(GUEST_RFLAGS, v->rflags);
		vmwrite(GUEST_EFER, v->efer);
		vmwrite(ENTRY_CONTROLS, x->entry_ctls | ((v->efer & EFER_LMA) ? ENTRY_IA32E : 0));
		if (v->rip != x->exit_rip) {
			/* The instruction was completed for the guest: its STI/MOV SS shadow ends. */
			u64 is = vmread(GUEST_INTERRUPTIBILITY);
			if (is & (BLOCK_STI | BLOCK_MOVSS))
				vmwrite(GUEST_INTERRUPTIBILITY, is & ~(u64)(BLOCK_STI | BLOCK_MOVSS));
		}
		inject(v, x);
		if (x->flush) {
			invept(x->eptp);
			x->flush = false;
		}

		int rc = vmx_enter(v->gpr, x->launched, &v->kick);
		if (rc == 2) {
			/* Kicked before entering: keep the event for the next entry. */
			u32 info = (u32)vmread(ENTRY_INTR_INFO);
			x->idt_info = info;
			x->idt_err = (info & INTR_ERRCODE) ? (u32)vmread(ENTRY_EXC_ERROR) : 0;
			v->exit = (struct vm_exit){ 0 };
			v->exit.event = TV_EV_NMI;
			return;
		}
		if (rc)
			panic("vmx: %s failed (VM-instruction error %lu)\n", x->launched ? "VMRESUME" : "VMLAUNCH",
			      vmread_quiet(VM_INSN_ERROR));
		x->launched = true;

		refresh(v, x);
		v->exit = (struct vm_exit){ 0 };
		v->exit.reason = vmread(EXIT_REASON);
		v->exit.info1 = vmread(EXIT_QUALIFICATION);
		v->exit.info2 = (v->exit.reason & 0xFFFF) == EXIT_EPT_VIOLATION ||
				(v->exit.reason & 0xFFFF) == EXIT_EPT_MISCONFIG ? vmread(GUEST_PHYS_ADDR) :
				vmread(EXIT_INTR_INFO);
		u32 ev = decode(v, x);
		if (ev != EV_INTERNAL) {
			v->exit.event = ev;
			return;
		}
		v->counters[TV_EV_OTHER]++;
		v->rip += v->exit.insn_len;
		if (!(v->efer & EFER_LMA))
			v->rip &= 0xFFFFFFFF;
	}
}

static void vmx_flush_nested(struct vcpu *v)
{
	((struct vmx_vcpu *)v->arch)->flush = true;
}

static void vmx_dump(const struct vcpu *v)
{
	if (!v->arch || !((const struct vmx_vcpu *)v->arch)->launched)
		return;
	log_err("vmx: exit reason %lx qualification %lx intr info %lx idt vectoring %lx insn error %lu\n",
		vmread_quiet(EXIT_REASON), vmread_quiet(EXIT_QUALIFICATION), vmread_quiet(EXIT_INTR_INFO),
		vmread_quiet(IDT_VECTORING_INFO), vmread_quiet(VM_INSN_ERROR));
	log_err("vmx: cs %lx:%lx cr0 %lx (shadow %lx) cr4 %lx (shadow %lx) guest-physical %lx\n",
		vmread_quiet(GUEST_ES_SEL + 2 * SEG_CS), vmread_quiet(GUEST_RIP), vmread_quiet(GUEST_CR0),
		vmread_quiet(CR0_READ_SHADOW), vmread_quiet(GUEST_CR4), vmread_quiet(CR4_READ_SHADOW),
		vmread_quiet(GUEST_PHYS_ADDR));
}

const struct arch_ops vmx_ops = {
	.name = "Intel VT-x",
	.probe = vmx_probe,
	.vcpu_init = vmx_vcpu_init,
	.set_state = vmx_set_state,
	.idle = vmx_idle,
	.kick_window = vmx_kick_window,
	.kick_window_end = vmx_kick_end,
	.kick_abort = vmx_kick_abort,
	.run = vmx_run,
	.flush_nested = vmx_flush_nested,
	.dump = vmx_dump,
	.nested_fmt = &pt_format_ept,
	.efer_forced = 0,
};
