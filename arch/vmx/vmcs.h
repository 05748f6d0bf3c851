/*
 * Intel VMX: VMCS field encodings, control bits, exit reasons and the
 * capability MSRs (SDM vol. 3, appendices A-C).  Only arch/vmx uses them.
 */
#ifndef VMX_VMCS_H
#define VMX_VMCS_H

/* 16-bit fields */
#define VMCS_VPID 0x0000
#define GUEST_ES_SEL 0x0800	/* ES CS SS DS FS GS LDTR TR follow, 2 apart */
#define GUEST_TR_SEL 0x080E
#define HOST_ES_SEL 0x0C00
#define HOST_CS_SEL 0x0C02
#define HOST_SS_SEL 0x0C04
#define HOST_DS_SEL 0x0C06
#define HOST_FS_SEL 0x0C08
#define HOST_GS_SEL 0x0C0A
#define HOST_TR_SEL 0x0C0C

/* 64-bit fields */
#define IO_BITMAP_A 0x2000
#define IO_BITMAP_B 0x2002
#define MSR_BITMAP 0x2004
#define EPT_POINTER 0x201A
#define GUEST_PHYS_ADDR 0x2400
#define VMCS_LINK_PTR 0x2800
#define GUEST_DEBUGCTL 0x2802
#define GUEST_PAT 0x2804
#define GUEST_EFER 0x2806
#define GUEST_PDPTE0 0x280A	/* PDPTE1-3 follow, 2 apart */
#define HOST_PAT 0x2C00
#define HOST_EFER 0x2C02

/* 32-bit fields */
#define PIN_CONTROLS 0x4000
#define PROC_CONTROLS 0x4002
#define EXCEPTION_BITMAP 0x4004
#define CR3_TARGET_COUNT 0x400A
#define EXIT_CONTROLS 0x400C
#define EXIT_MSR_STORE_COUNT 0x400E
#define EXIT_MSR_LOAD_COUNT 0x4010
#define ENTRY_CONTROLS 0x4012
#define ENTRY_MSR_LOAD_COUNT 0x4014
#define ENTRY_INTR_INFO 0x4016
#define ENTRY_EXC_ERROR 0x4018
#define ENTRY_INSN_LEN 0x401A
#define PROC_CONTROLS2 0x401E
#define VM_INSN_ERROR 0x4400
#define EXIT_REASON 0x4402
#define EXIT_INTR_INFO 0x4404
#define EXIT_INTR_ERROR 0x4406
#define IDT_VECTORING_INFO 0x4408
#define IDT_VECTORING_ERROR 0x440A
#define EXIT_INSN_LEN 0x440C
#define EXIT_INSN_INFO 0x440E
#define GUEST_ES_LIMIT 0x4800	/* ES..TR limits, 2 apart */
#define GUEST_GDTR_LIMIT 0x4810
#define GUEST_IDTR_LIMIT 0x4812
#define GUEST_ES_AR 0x4814	/* ES..TR access rights, 2 apart */
#define GUEST_CS_AR 0x4816
#define GUEST_SS_AR 0x4818
#define GUEST_INTERRUPTIBILITY 0x4824
#define GUEST_ACTIVITY 0x4826
#define GUEST_SYSENTER_CS 0x482A
#define HOST_SYSENTER_CS 0x4C00

/* Natural-width fields */
#define CR0_GUEST_HOST_MASK 0x6000
#define CR4_GUEST_HOST_MASK 0x6002
#define CR0_READ_SHADOW 0x6004
#define CR4_READ_SHADOW 0x6006
#define EXIT_QUALIFICATION 0x6400
#define GUEST_LINEAR_ADDR 0x640A
#define GUEST_CR0 0x6800
#define GUEST_CR3 0x6802
#define GUEST_CR4 0x6804
#define GUEST_ES_BASE 0x6806	/* ES..TR bases, 2 apart */
#define GUEST_CS_BASE 0x6808
#define GUEST_GDTR_BASE 0x6816
#define GUEST_IDTR_BASE 0x6818
#define GUEST_DR7 0x681A
#define GUEST_RSP 0x681C
#define GUEST_RIP 0x681E
#define GUEST_RFLAGS 0x6820
#define GUEST_PENDING_DBG 0x6822
#define GUEST_SYSENTER_ESP 0x6824
#define GUEST_SYSENTER_EIP 0x6826
#define HOST_CR0 0x6C00
#define HOST_CR3 0x6C02
#define HOST_CR4 0x6C04
#define HOST_FS_BASE 0x6C06
#define HOST_GS_BASE 0x6C08
#define HOST_TR_BASE 0x6C0A
#define HOST_GDTR_BASE 0x6C0C
#define HOST_IDTR_BASE 0x6C0E
#define HOST_SYSENTER_ESP 0x6C10
#define HOST_SYSENTER_EIP 0x6C12
#define HOST_RSP 0x6C14
#define HOST_RIP 0x6C16

/* Segment register order in the guest-state area and in instruction info. */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };

/* Primary processor-based controls */
#define PROC_CR3_LOAD (1u << 15)
#define PROC_CR3_STORE (1u << 16)
#define PROC_IO_BITMAPS (1u << 25)
#define PROC_MSR_BITMAPS (1u << 28)
#define PROC_SECONDARY (1u << 31)
/* Secondary processor-based controls */
#define PROC2_EPT (1u << 1)
#define PROC2_RDTSCP (1u << 3)
#define PROC2_VPID (1u << 5)
#define PROC2_UNRESTRICTED (1u << 7)
#define PROC2_INVPCID (1u << 12)
#define PROC2_VMFUNC (1u << 13)
#define PROC2_XSAVES (1u << 20)
/* VM-exit controls */
#define EXIT_SAVE_DEBUG (1u << 2)
#define EXIT_HOST_64 (1u << 9)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
/* VM-entry controls */
#define ENTRY_LOAD_DEBUG (1u << 2)
#define ENTRY_IA32E (1u << 9)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

/* Interruption information (entry, exit, IDT vectoring) */
#define INTR_VALID (1u << 31)
#define INTR_ERRCODE (1u << 11)
#define INTR_TYPE_NMI (2u << 8)
#define INTR_TYPE_HWEXC (3u << 8)
#define INTR_NMI_UNBLOCK (1u << 12)	/* exit qualification / exit interruption info */
/* Interruptibility state */
#define BLOCK_STI (1u << 0)
#define BLOCK_MOVSS (1u << 1)
#define BLOCK_NMI (1u << 3)

/* Basic exit reasons */
#define EXIT_EXC_NMI 0
#define EXIT_EXTINT 1
#define EXIT_TRIPLE_FAULT 2
#define EXIT_INIT 3
#define EXIT_SIPI 4
#define EXIT_IO_SMI 5
#define EXIT_OTHER_SMI 6
#define EXIT_TASK_SWITCH 9
#define EXIT_CPUID 10
#define EXIT_GETSEC 11
#define EXIT_INVD 13
#define EXIT_VMCALL 18
#define EXIT_VMCLEAR 19
#define EXIT_VMLAUNCH 20
#define EXIT_VMPTRLD 21
#define EXIT_VMPTRST 22
#define EXIT_VMREAD 23
#define EXIT_VMRESUME 24
#define EXIT_VMWRITE 25
#define EXIT_VMXOFF 26
#define EXIT_VMXON 27
#define EXIT_CR_ACCESS 28
#define EXIT_IO 30
#define EXIT_RDMSR 31
#define EXIT_WRMSR 32
#define EXIT_BAD_GUEST 33
#define EXIT_BAD_MSR_LOAD 34
#define EXIT_MCE_ENTRY 41
#define EXIT_EPT_VIOLATION 48
#define EXIT_EPT_MISCONFIG 49
#define EXIT_INVEPT 50
#define EXIT_INVVPID 53
#define EXIT_XSETBV 55
#define EXIT_VMFUNC 59
#define EXIT_ENTRY_FAILED (1u << 31)

/* Capability MSRs */
#define MSR_FEATURE_CONTROL 0x3Au
#define FC_LOCK (1u << 0)
#define FC_VMX_OUTSIDE_SMX (1u << 2)
#define MSR_PAT 0x277u
#define MSR_VMX_BASIC 0x480u
#define MSR_VMX_PINBASED 0x481u
#define MSR_VMX_PROCBASED 0x482u
#define MSR_VMX_EXIT 0x483u
#define MSR_VMX_ENTRY 0x484u
#define MSR_VMX_CR0_FIXED0 0x486u
#define MSR_VMX_CR0_FIXED1 0x487u
#define MSR_VMX_CR4_FIXED0 0x488u
#define MSR_VMX_CR4_FIXED1 0x489u
#define MSR_VMX_PROCBASED2 0x48Bu
#define MSR_VMX_EPT_VPID_CAP 0x48Cu
#define MSR_VMX_TRUE_PINBASED 0x48Du
#define MSR_VMX_TRUE_PROCBASED 0x48Eu
#define MSR_VMX_TRUE_EXIT 0x48Fu
#define MSR_VMX_TRUE_ENTRY 0x490u
#define MSR_VMX_FIRST 0x480u
#define MSR_VMX_LAST 0x491u	/* IA32_VMX_VMFUNC */
#define BASIC_TRUE_CTLS (1ull << 55)
#define BASIC_INSOUTS_INFO (1ull << 54)
#define BASIC_32BIT_ADDR (1ull << 48)
/* IA32_VMX_EPT_VPID_CAP */
#define EPT_CAP_WALK4 (1ull << 6)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_2M (1ull << 16)
#define EPT_CAP_INVEPT (1ull << 20)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL (1ull << 26)
#define VPID_CAP_INVVPID (1ull << 32)
#define VPID_CAP_SINGLE (1ull << 41)
#define VPID_CAP_ALL (1ull << 42)

#define CR4_VMXE (1ull << 13)
#define CR4_OSXSAVE (1ull << 18)

#endif
