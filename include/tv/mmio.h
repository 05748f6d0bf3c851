/*
 * Decoding the guest instruction behind an MMIO nested page fault
 * (pure; dev/mmio_decode.c, host-tested).
 *
 * Only the plain moves that readb..readq / writeb..writeq and compiled
 * drivers use are accepted; anything else is -EINVAL, so the caller never
 * emulates an instruction it does not fully understand.  The faulting
 * address comes from the hardware: the decoder only works out the length,
 * direction, access size and register (or immediate) operand.
 *
 *   88 /r       MOV r/m8, r8          8A /r       MOV r8, r/m8
 *   89 /r       MOV r/m, r            8B /r       MOV r, r/m
 *   C6 /0 ib    MOV r/m8, imm8        C7 /0 iw/id MOV r/m, imm16/imm32
 *   0F B6/B7 /r MOVZX r, r/m8/16      0F BE/BF /r MOVSX r, r/m8/16
 *   A0/A1       MOV AL/rAX, moffs     A2/A3       MOV moffs, AL/rAX
 *
 * Prefixes: 66 and 67 (any number), segment overrides 26 2E 36 3E 64 65
 * (consumed, ignored), REX 40-4F in 64-bit mode (only one immediately
 * before the opcode counts; an earlier one is ignored, as the CPU does).
 * LOCK (F0), REP/REPNE (F2/F3), register operands (mod == 3), VEX/EVEX
 * and every other opcode are refused.
 */
#ifndef TV_MMIO_H
#define TV_MMIO_H

#include "tv/types.h"

#define MMIO_INSN_MAX 15	/* longest x86 instruction */

enum {
	MMIO_EXT_NONE,		/* plain MOV load: dst_size == size */
	MMIO_EXT_ZERO,		/* MOVZX */
	MMIO_EXT_SIGN,		/* MOVSX */
};

struct mmio_insn {
	u8 len;		/* instruction length in bytes (the guest's rip advances by it) */
	u8 size;	/* memory access size: 1, 2, 4 or 8 */
	bool write;	/* the memory is written (a store) */
	bool has_imm;	/* a store of imm (no register operand) */
	u64 imm;	/* the immediate, sign-extended to size (C7 with REX.W: 32 -> 64) */
	/*
	 * The general register holding the operand, x86 order (RAX=0 ... R15=15):
	 * gpr[reg] is always the right register.  With high8 it is 0-3 and the
	 * operand is bits 8-15 of it (AH, CH, DH, BH: encodings 4-7 without REX).
	 * 0 and unused when has_imm.
	 */
	u8 reg;
	bool high8;
	u8 ext;		/* load: MMIO_EXT_* */
	u8 dst_size;	/* load: size of the register write (4 for movzx r32, m8); 0 for a store */
};

/*
 * Decode the instruction at code[0..avail).  mode is the code segment's
 * bitness: 16, 32 or 64.  Returns 0 and fills *out, or -EINVAL (and zeroes
 * *out) for anything unsupported, longer than 15 bytes, or cut short by
 * avail.  Never reads code[avail] or beyond, nor past 15 bytes.
 */
int mmio_decode(const u8 *code, size_t avail, int mode, struct mmio_insn *out);

/*
 * Apply a load's result (the size bytes read from the device, in the low
 * bits of value) to the register file with x86 semantics: extended per ext
 * to dst_size, then a 4-byte write zero-extends to 64 bits, 1- and 2-byte
 * writes merge, a high8 write replaces bits 8-15.  Does nothing for a store.
 */
void mmio_write_reg(u64 gpr[16], const struct mmio_insn *in, u64 value);

/* The value a store writes (the register operand or the immediate), truncated to size. */
u64 mmio_store_value(const u64 gpr[16], const struct mmio_insn *in);

#endif
