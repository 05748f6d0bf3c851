/*
 * Multiboot 1 and 2 headers and the 32-bit entry.
 *
 * Both headers use load addresses (the a.out kludge / the address tag), so
 * any loader puts the flat image at 1 MiB and never reads our ELF64 headers.
 * The entry checks for long mode, builds early page tables (identity map of
 * the low 4 GiB, and the same first GiB again at KBASE), enters long mode and
 * calls hv_boot(magic, info) at its linked, high address.
 */
#define KBASE		0xFFFFFFFF80000000
#define PHYS(x)		((x) - KBASE)

#define MB1_MAGIC	0x1BADB002
#define MB1_FLAGS	0x00010003	/* page-aligned modules, memory info, load addresses */
#define MB2_MAGIC	0xE85250D6
#define EARLY_PAGES	6		/* PML4, PDPT, 4 PDs */

	.section .boot.header, "a"
	.balign 8
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)
	.long mb1_header		/* header_addr */
	.long 0x100000			/* load_addr */
	.long _load_end_phys		/* load_end_addr */
	.long _image_end_phys		/* bss_end_addr */
	.long _start32			/* entry_addr */

	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long 0				/* i386 */
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + (mb2_header_end - mb2_header))
	.balign 8			/* address tag */
	.short 2, 0
	.long 24
	.long mb2_header
	.long 0x100000
	.long _load_end_phys
	.long _image_end_phys
	.balign 8			/* entry address tag */
	.short 3, 0
	.long 12
	.long _start32
	.balign 8			/* module alignment tag */
	.short 6, 0
	.long 8
	.balign 8			/* end tag */
	.short 0, 0
	.long 8
mb2_header_end:

	.section .boot, "ax"
	.code32
	.globl _start32
_start32:
	cli
	cld
	mov	%eax, %ebp			/* multiboot magic */
	mov	%ebx, %esi			/* multiboot info (physical) */
	mov	$PHYS(boot_stack_top), %esp

	/* Long mode and NX are required; say so on COM1 and stop otherwise. */
	mov	$0x80000000, %eax
	cpuid
	cmp	$0x80000001, %eax
	jb	no_long_mode
	mov	$0x80000001, %eax
	cpuid
	bt	$29, %edx
	jnc	no_long_mode

	/* Clear and fill the early tables (they are in .bss). */
	mov	$PHYS(early_tables), %edi
	mov	$(EARLY_PAGES * 1024), %ecx
	xor	%eax, %eax
	rep stosl
	mov	$PHYS(early_pml4), %edi
	movl	$(PHYS(early_pdpt) + 3), (%edi)
	movl	$(PHYS(early_pdpt) + 3), 511*8(%edi)	/* KBASE: PML4 slot 511 ... */
	mov	$PHYS(early_pdpt), %edi
	mov	$PHYS(early_pd), %eax
	or	$3, %eax
	mov	%eax, 0*8(%edi)
	mov	%eax, 510*8(%edi)			/* ... PDPT slot 510 = first GiB */
	add	$0x1000, %eax
	mov	%eax, 1*8(%edi)
	add	$0x1000, %eax
	mov	%eax, 2*8(%edi)
	add	$0x1000, %eax
	mov	%eax, 3*8(%edi)
	mov	$PHYS(early_pd), %edi
	mov	$0x83, %eax				/* 2 MiB, writable, present */
	xor	%ecx, %ecx
1:	mov	%eax, (%edi, %ecx, 8)
	add	$0x200000, %eax
	inc	%ecx
	cmp	$2048, %ecx
	jne	1b

	mov	%cr4, %eax
	or	$0x20, %eax				/* PAE */
	mov	%eax, %cr4
	mov	$PHYS(early_pml4), %eax
	mov	%eax, %cr3
	mov	$0xC0000080, %ecx
	rdmsr
	or	$0x900, %eax				/* LME | NXE */
	wrmsr
	mov	%cr0, %eax
	or	$0x80010001, %eax			/* PG | WP | PE */
	mov	%eax, %cr0
	lgdt	early_gdt_ptr
	ljmp	$0x08, $start64_low

no_long_mode:
	mov	$no_lm_msg, %esi
2:	lodsb
	test	%al, %al
	jz	3f
	mov	%al, %bl
	mov	$0x3FD, %dx
4:	inb	%dx, %al
	test	$0x20, %al
	jz	4b
	mov	$0x3F8, %dx
	mov	%bl, %al
	outb	%al, %dx
	jmp	2b
3:	mov	$0x20, %eax
	outl	%eax, $0xf4			/* QEMU isa-debug-exit, if present */
5:	hlt
	jmp	5b

	.code64
start64_low:
	mov	$0x10, %eax
	mov	%eax, %ds
	mov	%eax, %es
	mov	%eax, %ss
	xor	%eax, %eax
	mov	%eax, %fs
	mov	%eax, %gs
	movabs	$boot_stack_top, %rsp
	mov	%ebp, %edi			/* zero-extends: upper halves are undefined */
	mov	%esi, %esi
	xor	%ebp, %ebp
	movabs	$hv_boot, %rax
	call	*%rax				/* hv_boot(magic, info): never returns */
6:	hlt
	jmp	6b

	.balign 8
early_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF		/* 0x08: 64-bit code */
	.quad 0x00CF92000000FFFF		/* 0x10: data */
early_gdt_ptr:
	.short 3*8 - 1
	.long early_gdt
no_lm_msg:
	.asciz "thinvisor: PANIC: this CPU has no long mode\r\n"


	.section .bss.early, "aw", @nobits
	.balign 4096
early_tables:
early_pml4:	.skip 4096
early_pdpt:	.skip 4096
early_pd:	.skip 4096 * 4
	.balign 4096			/* the page below is unmapped later: a guard */
	.globl boot_stack, boot_stack_top
boot_stack:	.skip 16384
boot_stack_top:
