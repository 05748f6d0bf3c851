/* AMD VMCB layout (AMD64 APM vol. 2, appendix B), as byte offsets. */
#ifndef SVM_VMCB_H
#define SVM_VMCB_H

/* Control area */
#define VMCB_INTERCEPT_CR 0x000
#define VMCB_INTERCEPT_EXC 0x008
#define VMCB_INTERCEPT_MISC1 0x00C
#define VMCB_INTERCEPT_MISC2 0x010
#define VMCB_IOPM_PA 0x040
#define VMCB_MSRPM_PA 0x048
#define VMCB_TSC_OFFSET 0x050
#define VMCB_ASID 0x058
#define VMCB_TLB_CONTROL 0x05C
#define VMCB_VINTR 0x060
#define VMCB_INT_SHADOW 0x068
#define VMCB_EXITCODE 0x070
#define VMCB_EXITINFO1 0x078
#define VMCB_EXITINFO2 0x080
#define VMCB_EXITINTINFO 0x088
#define VMCB_NP_ENABLE 0x090
#define VMCB_EVENTINJ 0x0A8
#define VMCB_NCR3 0x0B0
#define VMCB_CLEAN 0x0C0
#define VMCB_NRIP 0x0C8

/* State save area */
#define VMCB_ES 0x400
#define VMCB_CS 0x410
#define VMCB_SS 0x420
#define VMCB_DS 0x430
#define VMCB_FS 0x440
#define VMCB_GS 0x450
#define VMCB_GDTR 0x460
#define VMCB_LDTR 0x470
#define VMCB_IDTR 0x480
#define VMCB_TR 0x490
#define VMCB_CPL 0x4CB
#define VMCB_EFER 0x4D0
#define VMCB_CR4 0x548
#define VMCB_CR3 0x550
#define VMCB_CR0 0x558
#define VMCB_DR7 0x560
#define VMCB_DR6 0x568
#define VMCB_RFLAGS 0x570
#define VMCB_RIP 0x578
#define VMCB_RSP 0x5D8
#define VMCB_RAX 0x5F8
#define VMCB_CR2 0x640
#define VMCB_G_PAT 0x668

/* Intercept bits */
#define MISC1_INTR (1u << 0)
#define MISC1_NMI (1u << 1)
#define MISC1_SMI (1u << 2)
#define MISC1_INIT (1u << 3)
#define MISC1_CPUID (1u << 18)
#define MISC1_INVLPGA (1u << 26)
#define MISC1_IOIO (1u << 27)
#define MISC1_MSR (1u << 28)
#define MISC1_SHUTDOWN (1u << 31)
#define MISC2_VMRUN (1u << 0)
#define MISC2_VMMCALL (1u << 1)
#define MISC2_VMLOAD (1u << 2)
#define MISC2_VMSAVE (1u << 3)
#define MISC2_STGI (1u << 4)
#define MISC2_CLGI (1u << 5)
#define MISC2_SKINIT (1u << 6)

/* Exit codes */
#define SVM_EXIT_EXC_BASE 0x40
#define SVM_EXIT_INTR 0x60
#define SVM_EXIT_NMI 0x61
#define SVM_EXIT_SMI 0x62
#define SVM_EXIT_INIT 0x63
#define SVM_EXIT_CPUID 0x72
#define SVM_EXIT_INVLPGA 0x7A
#define SVM_EXIT_IOIO 0x7B
#define SVM_EXIT_MSR 0x7C
#define SVM_EXIT_SHUTDOWN 0x7F
#define SVM_EXIT_VMRUN 0x80
#define SVM_EXIT_VMMCALL 0x81
#define SVM_EXIT_VMLOAD 0x82
#define SVM_EXIT_VMSAVE 0x83
#define SVM_EXIT_STGI 0x84
#define SVM_EXIT_CLGI 0x85
#define SVM_EXIT_SKINIT 0x86
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID 0xFFFFFFFFFFFFFFFFull

#define MSR_VM_CR 0xC0010114u
#define MSR_VM_HSAVE_PA 0xC0010117u
#define VM_CR_SVMDIS (1u << 4)

#endif
