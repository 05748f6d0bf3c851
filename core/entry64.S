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

/*
 * smp_wait(kick): halt until *kick is set.  An NMI between the look at
 * *kick and the HLT would be lost, so the host NMI handler moves an NMI
 * that lands in [smp_wait_window, smp_wait_end) to smp_wait_end.
 */
	.globl smp_wait, smp_wait_window, smp_wait_end
smp_wait:
smp_wait_window:
	cmpl	$0, (%rdi)
	jne	smp_wait_end
	hlt
smp_wait_end:
	ret

/* An application processor from the trampoline: long mode, our stack. */
	.globl ap_entry64
ap_entry64:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	xor	%ebp, %ebp
	call	ap_main
1:	cli
	hlt
	jmp	1b

/*
 * The AP trampoline, copied to TRAMP_PA (core/smp.c) and entered there by
 * a start-up IPI in real mode: protected mode, then long mode on the
 * temporary tables in the parameters, then ap_entry64 on the stack given.
 */
#define TRAMP_PA 0x6000
#define T(x) ((x) - ap_tramp_start + TRAMP_PA)
	.section .rodata.tramp, "a"
	.globl ap_tramp_start, ap_tramp_params, ap_tramp_end
	.code16
ap_tramp_start:
	cli
	cld
	xor	%ax, %ax
	mov	%ax, %ds
	lgdtl	T(tramp_gdt_ptr)
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$0x08, $T(tramp32)

	.code32
tramp32:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	mov	%cr4, %eax
	or	$0x20, %eax			/* PAE */
	mov	%eax, %cr4
	mov	T(tp_cr3), %eax
	mov	%eax, %cr3
	mov	$0xC0000080, %ecx
	rdmsr
	or	$0x900, %eax			/* LME | NXE */
	wrmsr
	mov	%cr0, %eax
	or	$0x80010001, %eax		/* PG | WP | PE */
	and	$0x9FFFFFFF, %eax		/* caches on (CD, NW clear) */
	mov	%eax, %cr0
	ljmp	$0x18, $T(tramp64)

	.code64
tramp64:
	mov	T(tp_stack), %rsp
	mov	T(tp_entry), %rax
	jmp	*%rax

	.balign 8
tramp_gdt:					/* accessed already: the page is read-only */
	.quad 0
	.quad 0x00CF9B000000FFFF		/* 0x08: 32-bit code */
	.quad 0x00CF93000000FFFF		/* 0x10: data */
	.quad 0x00AF9B000000FFFF		/* 0x18: 64-bit code */
tramp_gdt_ptr:
	.short 4*8 - 1
	.long T(tramp_gdt)
	.balign 8
ap_tramp_params:
tp_cr3:	.quad 0
tp_stack: .quad 0
tp_entry: .quad 0
ap_tramp_end:
	.previous
