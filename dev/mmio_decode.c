/* MMIO instruction decoding and register-file semantics: pure, host-tested. */
#include "tv/mmio.h"
#include "tv/lib.h"

struct cursor {
	const u8 *code;
	size_t pos, lim;	/* lim = min(avail, 15) */
};

static bool take(struct cursor *c, size_t n)
{
	if (n > c->lim - c->pos)
		return false;
	c->pos += n;
	return true;
}

static bool get8(struct cursor *c, u8 *v)
{
	if (c->pos >= c->lim)
		return false;
	*v = c->code[c->pos++];
	return true;
}

/* Little-endian unsigned value of n (1, 2, 4 or 8) bytes. */
static bool getn(struct cursor *c, size_t n, u64 *v)
{
	if (n > c->lim - c->pos)
		return false;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v |= (u64)c->code[c->pos + i] << (8 * i);
	c->pos += n;
	return true;
}

static u64 size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static u64 sign_extend(u64 v, unsigned from)
{
	u64 m = size_mask(from);

	v &= m;
	if (from < 8 && (v >> (8 * from - 1)) & 1)
		v |= ~m;
	return v;
}

/*
 * Skip ModRM (already read), SIB and displacement.  addr is the address
 * size in bits.  Register-direct operands (mod 3) are refused: they do not
 * touch memory, so they cannot be behind an MMIO fault.
 */
static bool skip_modrm(struct cursor *c, u8 modrm, int addr)
{
	unsigned mod = modrm >> 6, rm = modrm & 7;

	if (mod == 3)
		return false;
	if (addr == 16) {
		if (mod == 1)
			return take(c, 1);
		if (mod == 2 || (mod == 0 && rm == 6))
			return take(c, 2);
		return true;
	}
	if (rm == 4) {			/* SIB */
		u8 sib;
		if (!get8(c, &sib))
			return false;
		if (mod == 0 && (sib & 7) == 5)	/* no base: disp32 (REX.B does not matter) */
			return take(c, 4);
	} else if (mod == 0 && rm == 5) {	/* disp32; RIP/EIP-relative in 64-bit mode */
		return take(c, 4);
	}
	if (mod == 1)
		return take(c, 1);
	if (mod == 2)
		return take(c, 4);
	return true;
}

static int decode(struct cursor *c, int mode, struct mmio_insn *r)
{
	bool opsz = false, adsz = false;
	u8 rex = 0, b, modrm;

	/* Prefixes.  A REX counts only right before the opcode. */
	for (;;) {
		if (!get8(c, &b))
			return -EINVAL;
		if (b == 0x66) {
			opsz = true;
		} else if (b == 0x67) {
			adsz = true;
		} else if (b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E ||
			   b == 0x64 || b == 0x65) {
			/* segment: the hardware gives us the address */
		} else if (b == 0xF0 || b == 0xF2 || b == 0xF3) {
			return -EINVAL;		/* LOCK, REPNE, REP */
		} else if (mode == 64 && (b & 0xF0) == 0x40) {
			rex = b;
			if (!get8(c, &b))
				return -EINVAL;
			if ((b & 0xF0) == 0x40 || b == 0x66 || b == 0x67 ||
			    b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E ||
			    b == 0x64 || b == 0x65 || b == 0xF0 || b == 0xF2 || b == 0xF3) {
				/* not before the opcode: ignored; look at b again */
				rex = 0;
				c->pos--;
				continue;
			}
			break;
		} else {
			break;
		}
	}

	bool rex_w = rex & 8;
	unsigned rex_r = (rex >> 2) & 1;
	int addr = mode == 64 ? (adsz ? 32 : 64) : mode == 32 ? (adsz ? 16 : 32) : (adsz ? 32 : 16);
	unsigned osize = rex_w ? 8 : mode == 16 ? (opsz ? 4 : 2) : (opsz ? 2 : 4);
	bool byte_op = false, has_modrm = true;

	switch (b) {
	case 0x88:			/* MOV r/m8, r8 */
		byte_op = true;
		r->write = true;
		break;
	case 0x89:			/* MOV r/m, r */
		r->write = true;
		break;
	case 0x8A:			/* MOV r8, r/m8 */
		byte_op = true;
		break;
	case 0x8B:			/* MOV r, r/m */
		break;
	case 0xC6:			/* MOV r/m8, imm8 */
		byte_op = true;
		r->write = r->has_imm = true;
		break;
	case 0xC7:			/* MOV r/m, imm16/32 */
		r->write = r->has_imm = true;
		break;
	case 0xA0: case 0xA1: case 0xA2: case 0xA3:	/* MOV AL/rAX <-> moffs */
		byte_op = !(b & 1);
		r->write = b & 2;
		has_modrm = false;
		break;
	case 0x0F:
		if (!get8(c, &b))
			return -EINVAL;
		if (b != 0xB6 && b != 0xB7 && b != 0xBE && b != 0xBF)
			return -EINVAL;
		r->ext = b & 8 ? MMIO_EXT_SIGN : MMIO_EXT_ZERO;
		r->dst_size = osize;
		osize = b & 1 ? 2 : 1;	/* the memory operand */
		break;
	default:
		return -EINVAL;
	}
	r->size = byte_op ? 1 : osize;
	if (!r->write && !r->dst_size)
		r->dst_size = r->size;

	if (!has_modrm) {
		/* moffs: as wide as the address size; the register is always AL/rAX */
		if (!take(c, addr / 8))
			return -EINVAL;
		r->reg = 0;
		return 0;
	}

	if (!get8(c, &modrm) || !skip_modrm(c, modrm, addr))
		return -EINVAL;
	unsigned reg = (modrm >> 3) & 7;

	if (r->has_imm) {
		if (reg != 0)		/* C6/C7 /1-/7 are not MOV */
			return -EINVAL;
		u64 imm;
		unsigned isize = r->size == 8 ? 4 : r->size;
		if (!getn(c, isize, &imm))
			return -EINVAL;
		r->imm = sign_extend(imm, isize) & size_mask(r->size);
		return 0;
	}

	reg |= rex_r << 3;
	if (r->size == 1 && !r->ext && !rex && reg >= 4) {
		/* AH, CH, DH, BH: bits 8-15 of RAX, RCX, RDX, RBX */
		r->high8 = true;
		reg -= 4;
	}
	r->reg = reg;
	return 0;
}

int mmio_decode(const u8 *code, size_t avail, int mode, struct mmio_insn *out)
{
	struct mmio_insn r;
	struct cursor c = { code, 0, MIN(avail, (size_t)MMIO_INSN_MAX) };

	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	if (!code || (mode != 16 && mode != 32 && mode != 64))
		return -EINVAL;
	if (decode(&c, mode, &r) < 0)
		return -EINVAL;
	r.len = c.pos;
	*out = r;
	return 0;
}

void mmio_write_reg(u64 gpr[16], const struct mmio_insn *in, u64 value)
{
	u64 v, *g;

	if (in->write || in->reg > 15)
		return;
	g = &gpr[in->reg];
	v = in->ext == MMIO_EXT_SIGN ? sign_extend(value, in->size) : value & size_mask(in->size);

	switch (in->dst_size) {
	case 1:
		if (in->high8)
			*g = (*g & ~0xFF00ull) | (v & 0xFF) << 8;
		else
			*g = (*g & ~0xFFull) | (v & 0xFF);
		break;
	case 2:
		*g = (*g & ~0xFFFFull) | (v & 0xFFFF);
		break;
	case 4:
		*g = v & 0xFFFFFFFFull;	/* 32-bit writes zero-extend */
		break;
	case 8:
		*g = v;
		break;
	}
}

u64 mmio_store_value(const u64 gpr[16], const struct mmio_insn *in)
{
	if (in->has_imm)
		return in->imm & size_mask(in->size);
	if (in->reg > 15)
		return 0;
	if (in->high8)
		return (gpr[in->reg] >> 8) & 0xFF;
	return gpr[in->reg] & size_mask(in->size);
}
