/*
 * svm_enter(vmcb_pa, gpr, host_vmcb_pa): run the guest until the next
 * #VMEXIT.  VMRUN switches RAX/RSP/RIP and the state in the VMCB; VMSAVE and
 * VMLOAD move the rest (FS/GS/TR/LDTR bases, syscall MSRs) so the guest never
 * leaves its TR or GS base behind in host mode.  gpr[] is in x86 register
 * order; gpr[0] (RAX) and gpr[4] (RSP) live in the VMCB instead.
 */
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
	mov	1*8(%rax), %rcx
	mov	2*8(%rax), %rdx
	mov	3*8(%rax), %rbx
	mov	5*8(%rax), %rbp
	mov	6*8(%rax), %rsi
	mov	7*8(%rax), %rdi
	mov	8*8(%rax), %r8
	mov	9*8(%rax), %r9
	mov	10*8(%rax), %r10
	mov	11*8(%rax), %r11
	mov	12*8(%rax), %r12
	mov	13*8(%rax), %r13
	mov	14*8(%rax), %r14
	mov	15*8(%rax), %r15
	mov	16(%rsp), %rax
	vmload	%rax
	vmrun	%rax
	vmsave	%rax

	mov	8(%rsp), %rax
	mov	%rcx, 1*8(%rax)
	mov	%rdx, 2*8(%rax)
	mov	%rbx, 3*8(%rax)
	mov	%rbp, 5*8(%rax)
	mov	%rsi, 6*8(%rax)
	mov	%rdi, 7*8(%rax)
	mov	%r8, 8*8(%rax)
	mov	%r9, 9*8(%rax)
	mov	%r10, 10*8(%rax)
	mov	%r11, 11*8(%rax)
	mov	%r12, 12*8(%rax)
	mov	%r13, 13*8(%rax)
	mov	%r14, 14*8(%rax)
	mov	%r15, 15*8(%rax)
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
