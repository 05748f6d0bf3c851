/* SPDX-License-Identifier: MIT */
/*
 * crt0 for thinvisor test guests: multiboot v1 header, entry point, GDT,
 * exception stubs and the probe recovery machinery.
 *
 * Entry state (multiboot v1): EAX = 0x2BADB002, EBX = multiboot info,
 * 32-bit protected mode, flat segments, paging off, interrupts off; GDTR
 * and IDTR must not be relied on, so we load our own before anything can
 * fault.
 */

#define MB_MAGIC  0x1BADB002
#define MB_FLAGS  0x00000003 /* bit 0: page-align modules, bit 1: memory info */

#define SEL_CODE  0x08
#define SEL_DATA  0x10

	.section .multiboot, "a"
	.balign 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)

	.text
	.globl _start
_start:
	cli
	cld
	/* Keep the multiboot registers out of the way of rep stosb. */
	movl %eax, %ebp
	movl %ebx, %esi

	/* Zero .bss ourselves rather than trusting every loader to do it;
	 * the stack lives there, so nothing may be pushed before this. */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb

	movl $stack_top, %esp

	lgdt gdt_desc
	ljmp $SEL_CODE, $1f
1:	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %fs
	movw %ax, %gs
	movw %ax, %ss

	/* Clear EFLAGS (IF, DF, AC, NT ...) so every guest starts the same. */
	pushl $0
	popfl

	pushl %esi		/* multiboot info */
	pushl %ebp		/* magic */
	call tg_start		/* noreturn */
2:	cli
	hlt
	jmp 2b

/* ---- GDT: null, flat 32-bit code (0x08), flat data (0x10) ---- */
	.section .rodata
	.balign 8
gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF	/* code: base 0, limit 4G, DPL 0, exec/read */
	.quad 0x00CF92000000FFFF	/* data: base 0, limit 4G, DPL 0, read/write */
gdt_end:
	.balign 4
	.word 0				/* pad so the descriptor base is aligned */
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

/* ---- exception stubs for vectors 0..31 ----
 * Each stub leaves a uniform frame: [vector][error code][EIP][CS][EFLAGS].
 * Vectors without a CPU-pushed error code push a 0 first. */
	.text
	.macro isr_stub v
	.balign 16
isr_\v:
	.if !(\v == 8 || (\v >= 10 && \v <= 14) || \v == 17 || \v == 21 || \v == 29 || \v == 30)
	pushl $0
	.endif
	pushl $\v
	jmp isr_common
	.endm

	.altmacro
	.set vec, 0
	.rept 32
	isr_stub %vec
	.set vec, vec + 1
	.endr

	.macro isr_addr v
	.long isr_\v
	.endm

	.section .rodata
	.balign 4
	.globl isr_stub_table
isr_stub_table:
	.set vec, 0
	.rept 32
	isr_addr %vec
	.set vec, vec + 1
	.endr
	.noaltmacro

	.text
isr_common:
	/* A probe is armed: record the fault and unwind to its recovery
	 * point.  The exception frame is simply abandoned: we are at CPL 0
	 * with no stack switch, so resetting ESP discards it. */
	cmpl $0, probe_armed
	jne probe_fault

	/* Unexpected exception: hand the frame to C, which reports it and
	 * fails the test.  pusha adds the general registers below it. */
	pushal
	pushl %esp
	call tg_exception	/* noreturn */
3:	cli
	hlt
	jmp 3b

probe_fault:
	movl $0, probe_armed
	movl 0(%esp), %eax
	movl %eax, probe_last + 0	/* vector */
	movl 4(%esp), %eax
	movl %eax, probe_last + 4	/* error code */
	movl 8(%esp), %eax
	movl %eax, probe_last + 8	/* EIP */
	movl probe_esp, %esp
	movl probe_last + 0, %eax	/* return value: the vector */
	jmp probe_unwind

/*
 * int probe_call(struct tg_regs *r, void (*fn)(void))
 *
 * Loads EAX..EDI from *r, arms the recovery point, calls fn.  If fn
 * returns, stores its registers back into *r and returns PROBE_OK (-1).
 * If it faults, isr_common returns the vector through probe_unwind with
 * the stack exactly as it was at the call.
 */
	.globl probe_call
probe_call:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl 20(%esp), %ebp	/* r */
	pushl %ebp		/* 4(%esp) at the call: r */
	pushl 28(%esp)		/* 0(%esp) at the call: fn */
	movl %esp, probe_esp
	movl 0(%ebp), %eax
	movl 4(%ebp), %ebx
	movl 8(%ebp), %ecx
	movl 12(%ebp), %edx
	movl 16(%ebp), %esi
	movl 20(%ebp), %edi
	movl $1, probe_armed
	call *(%esp)
	movl $0, probe_armed	/* mov does not touch flags or registers */
	movl 4(%esp), %ebp
	movl %eax, 0(%ebp)
	movl %ebx, 4(%ebp)
	movl %ecx, 8(%ebp)
	movl %edx, 12(%ebp)
	movl %esi, 16(%ebp)
	movl %edi, 20(%ebp)
	movl $-1, %eax
probe_unwind:
	addl $8, %esp
	cld			/* the snippet may have left DF set */
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

/* ---- snippets run under probe_call (registers in, registers out) ---- */
	.globl snip_read32, snip_write32, snip_rdmsr, snip_wrmsr
	.globl snip_vmmcall, snip_vmcall
snip_read32:			/* EAX = [EBX] */
	movl (%ebx), %eax
	ret
snip_write32:			/* [EBX] = EAX */
	movl %eax, (%ebx)
	ret
snip_rdmsr:			/* EDX:EAX = MSR[ECX] */
	rdmsr
	ret
snip_wrmsr:			/* MSR[ECX] = EDX:EAX */
	wrmsr
	ret
snip_vmmcall:			/* AMD hypercall */
	.byte 0x0f, 0x01, 0xd9
	ret
snip_vmcall:			/* Intel hypercall */
	.byte 0x0f, 0x01, 0xc1
	ret

	.bss
	.balign 4
	.globl probe_armed
probe_armed:	.long 0		/* nonzero while a probe may fault */
probe_esp:	.long 0		/* ESP to restore on a fault */
	.balign 16
stack:		.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
