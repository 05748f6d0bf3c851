/*
 * vmx_enter(gpr, launched, kick): run the guest until the next VM exit.
 * Returns 0 after an exit, 1 if VMLAUNCH/VMRESUME itself failed
 * (VM-instruction error in the current VMCS), 2 if *kick was set before
 * the entry: from the look at *kick to VMRESUME an NMI (a kick) lands at
 * vmx_kick_abort instead (core/smp.c), so no kick is lost in host mode.  gpr[] is in x86 register order; gpr[4]
 * (RSP) lives in the VMCS instead, as do RIP and RFLAGS.
 *
 * The exit lands at vmx_exit (HOST_RIP) on the stack pointer written to
 * HOST_RSP here, whose top holds gpr; everything else of the host comes
 * from the VMCS host-state area, which vmx.c fills once.
 */
#define HOST_RSP 0x6C14

#include "tv/gpr.inc"

	.text
	.globl vmx_enter
vmx_enter:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	push	%rdi			/* 0(%rsp): gpr[] */

	mov	$HOST_RSP, %eax
	vmwrite	%rsp, %rax
	jbe	2f

	.globl vmx_kick_window, vmx_kick_end, vmx_kick_abort
vmx_kick_window:
	cmpl	$0, (%rdx)
	jne	vmx_kick_abort
	mov	%rdi, %rax
	test	%esi, %esi		/* flags survive the loads below */
	GUEST_GPRS_LOAD %rax
	mov	0*8(%rax), %rax
	jnz	1f
	vmlaunch
	jmp	2f
1:	vmresume
vmx_kick_end:
2:	/* VMfailValid / VMfailInvalid: the guest's registers are simply dropped. */
	mov	$1, %eax
	jmp	3f
vmx_kick_abort:
	mov	$2, %eax
	jmp	3f

	.globl vmx_exit
vmx_exit:
	push	%rax			/* guest RAX; gpr[] is now at 8(%rsp) */
	mov	8(%rsp), %rax
	GUEST_GPRS_SAVE %rax
	pop	%rcx
	mov	%rcx, 0*8(%rax)
	xor	%eax, %eax

3:	add	$8, %rsp
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
