/*
 * A guest CPU as the generic core sees it, and the narrow vendor interface
 * (arch/svm, arch/vmx) behind which VMCB/VMCS details stay.
 *
 * The contract: arch run() enters the guest with vcpu->gpr/rip/rflags/efer
 * and any pending event, and returns after the next exit that needs the
 * core, with those fields and cr0/cr3/cr4/cpl refreshed and vcpu->exit
 * decoded into a TV_EV_* event; cs_ar/cs_base too (for instruction
 * fetches).  Exits that are pure vendor mechanics (SVM's SMI and INTR
 * windows; VMX's accesses to the control-register bits it owns, XSETBV,
 * INVD) never reach the core; arch counts them itself.
 */
#ifndef TV_VCPU_H
#define TV_VCPU_H

#include "tv/abi.h"
#include "tv/cpu_state.h"
#include "tv/pt.h"

/* General registers in x86 encoding order, so ModRM numbers index them. */
enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI, R_8, R_9, R_10, R_11, R_12, R_13, R_14, R_15 };

struct vm_exit {
	u32 event;		/* TV_EV_* */
	u32 insn_len;		/* length of the exiting instruction, 0 if unknown */
	u64 reason, info1, info2;	/* raw vendor values, for the log */
	union {
		struct { u16 port; u8 size, addr_size; bool in, str, rep; u64 seg_base; } io;
		struct { u64 gpa; bool write, fetch; } npf;
		struct { u32 msr; } msr;
		struct { u8 vector; } exc;
	};
};

struct pending_event {
	bool valid, has_err;
	u8 vector;
	u32 err;
};

struct vcpu {
	u64 gpr[16];
	u64 rip, rflags, cr0, cr3, cr4, efer;
	u32 cpl;
	u32 cs_ar;			/* CS access rights (SEG_AR_* layout) */
	u64 cs_base;
	u32 id;
	struct vm_exit exit;
	struct pending_event event;	/* exception to inject at next entry */
	u64 counters[TV_EV_COUNT];
	void *arch;			/* the vendor's per-CPU state */
	/* core/smp.c */
	u32 apic_id;
	volatile u32 state;		/* CPU_* (tv/smp.h) */
	volatile u32 sipi_vector;
	volatile u32 kick;		/* set before an NMI: look at the state again */
	volatile u32 in_guest;		/* between the last look and the exit */
	volatile u64 seen_gen;		/* nested-table generation flushed */
	volatile u32 started;		/* reached the hypervisor's code (boot) */
	bool ran;			/* ran guest code since its last INIT */
};

struct arch_ops {
	const char *name;
	/* Can this CPU run us?  0, or -1 with *why set. */
	int (*probe)(const char **why);
	/* Turn virtualization on for this physical CPU and set up its controls. */
	int (*vcpu_init)(struct vcpu *v, u64 nested_root);
	/* Load a whole architectural state (boot, start-up IPI), no event pending. */
	void (*set_state)(struct vcpu *v, const struct cpu_state *st);
	/* A parked CPU: sleep until *kick is set (an NMI wakes it). */
	void (*idle)(volatile u32 *kick);
	/*
	 * Where run() looks at vcpu->kick for the last time before entering:
	 * an NMI inside [kick_window, kick_window_end) resumes at kick_abort
	 * (NULL if the vendor holds NMIs in host mode anyway).
	 */
	const u8 *kick_window, *kick_window_end, *kick_abort;
	void (*run)(struct vcpu *v);
	/* The nested page table changed: flush what the CPU cached of it. */
	void (*flush_nested)(struct vcpu *v);
	void (*dump)(const struct vcpu *v);
	const struct pt_format *nested_fmt;
	u64 efer_forced;	/* EFER bits the hardware needs but the guest must not see */
};

extern const struct arch_ops svm_ops, vmx_ops;

/* Queue an exception for the guest's next entry. */
static inline void vcpu_inject(struct vcpu *v, u8 vector, bool has_err, u32 err)
{
	v->event = (struct pending_event){ true, has_err, vector, err };
}

/* The registers of a whole architectural state, no event pending (the vendors' set_state). */
static inline void vcpu_take_state(struct vcpu *v, const struct cpu_state *st)
{
	const u64 r[16] = { st->rax, st->rcx, st->rdx, st->rbx, st->rsp, st->rbp, st->rsi, st->rdi,
			    st->r8, st->r9, st->r10, st->r11, st->r12, st->r13, st->r14, st->r15 };

	for (u32 i = 0; i < 16; i++)
		v->gpr[i] = r[i];
	v->rip = st->rip;
	v->rflags = st->rflags;
	v->efer = st->efer;
	v->cr0 = st->cr0;
	v->cr3 = st->cr3;
	v->cr4 = st->cr4;
	v->event.valid = false;
}

#define EXC_UD 6
#define EXC_GP 13

#endif
