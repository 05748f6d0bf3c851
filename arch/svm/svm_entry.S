/*
 * svm_enter(vmcb_pa, gpr, host_vmcb_pa): run the guest until the next
 * #VMEXIT.  VMRUN switches RAX/RSP/RIP and the state in the VMCB; VMSAVE and
 * VMLOAD move the rest (FS/GS/TR/LDTR bases, syscall MSRs) so the guest never
 * leaves its TR or GS base behind in host mode.  gpr[] is in x86 register
 * order; gpr[0] (RAX) and gpr[4] (RSP) live in the VMCB instead.
 */
#include "tv/gpr.inc"

	.text
	.globl svm_enter
svm_enter:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* 16(%rsp): guest VMCB */
	push	%rsi			/* 8(%rsp):  gpr[] */
	push	%rdx			/* 0(%rsp):  host save area */

	mov	%rdx, %rax
	vmsave	%rax

	mov	%rsi, %rax
	GUEST_GPRS_LOAD %rax
	mov	16(%rsp), %rax
	vmload	%rax
	vmrun	%rax
	vmsave	%rax

	mov	8(%rsp), %rax
	GUEST_GPRS_SAVE %rax
	mov	0(%rsp), %rax
	vmload	%rax

	add	$24, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
