/* Long-mode helpers: moving into the hypervisor region, exception stubs. */
	.text
	.code64

/* hv_relocate(dst, src, len, cr3): copy the image, then switch tables. */
	.globl hv_relocate
hv_relocate:
	mov	%rcx, %r8
	mov	%rdx, %rcx
	rep movsb
	mov	%r8, %cr3
	ret

/* Exception stubs: push a dummy error code where the CPU does not. */
.macro stub vec, err
	.balign 16
	.if \err == 0
	pushq	$0
	.endif
	pushq	$\vec
	jmp	trap_common
.endm

	.balign 16
	.globl trap_stubs
trap_stubs:
	stub 0,0;  stub 1,0;  stub 2,0;  stub 3,0;  stub 4,0;  stub 5,0;  stub 6,0;  stub 7,0
	stub 8,1;  stub 9,0;  stub 10,1; stub 11,1; stub 12,1; stub 13,1; stub 14,1; stub 15,0
	stub 16,0; stub 17,1; stub 18,0; stub 19,0; stub 20,0; stub 21,1; stub 22,0; stub 23,0
	stub 24,0; stub 25,0; stub 26,0; stub 27,0; stub 28,0; stub 29,1; stub 30,1; stub 31,0

/* Frame for host_trap(): r15..rax, vector, error, rip, cs, rflags, rsp, ss. */
trap_common:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rbx
	push	%rbp
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rsp, %rdi
	cld
	call	host_trap
	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rbp
	pop	%rbx
	pop	%rdx
	pop	%rcx
	pop	%rax
	add	$16, %rsp
	iretq
