/* A vendor-neutral description of a guest CPU's architectural state. */
#ifndef TV_CPU_STATE_H
#define TV_CPU_STATE_H

#include "tv/types.h"

/*
 * Segment access rights in descriptor order (bits 40-47 and 52-55 of a
 * descriptor, packed as VMX does): type 0-3, S 4, DPL 5-6, P 7, AVL 12,
 * L 13, D/B 14, G 15; SEG_UNUSABLE marks a null/unusable register.
 */
#define SEG_UNUSABLE 0x10000u
#define SEG_AR_CODE64 0xA09Bu
#define SEG_AR_CODE32 0xC09Bu
#define SEG_AR_DATA32 0xC093u
#define SEG_AR_TSS_BUSY 0x008Bu

struct seg {
	u16 sel;
	u32 ar;
	u32 limit;
	u64 base;
};

struct dtr {
	u64 base;
	u32 limit;
};

struct cpu_state {
	u64 rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
	u64 rip, rflags;
	u64 cr0, cr3, cr4, efer;
	struct seg es, cs, ss, ds, fs, gs, ldtr, tr;
	struct dtr gdtr, idtr;
};

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_PG (1ull << 31)
#define CR4_PAE (1ull << 5)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define EFER_SVME (1ull << 12)

#endif
