/*
 * mmio_decode, mmio_write_reg and mmio_store_value (dev/mmio_decode.c): the
 * guest instruction behind a trapped MMIO access, and its effect.
 *
 * Input: u8 mode (16, 32, 64 or an invalid one), u64 register seed,
 * u64 loaded value, then the instruction bytes (all that is left).
 *
 * Invariants: an invalid mode is refused; a refusal leaves *out all zero;
 * on success the length is 1-15 and within the bytes given, and exact (the
 * same bytes alone decode the same, one fewer do not); nothing past byte 15
 * is read (poisoned); size 1/2/4/8, 8 and registers 8-15 only in 64-bit
 * mode; a store has no destination size, an immediate store no register
 * and an immediate that fits; a load's destination is at least its size,
 * and equal without extension; high8 only for byte registers 0-3.
 * mmio_write_reg changes only its register, the way the size says;
 * mmio_store_value is the register (or immediate) truncated to size.
 */
#include "fuzz.h"

#include "tv/mmio.h"

static u64 mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static u64 sext(u64 v, unsigned from)
{
	v &= mask(from);
	if (from < 8 && (v >> (8 * from - 1)) & 1)
		v |= ~mask(from);
	return v;
}

static void check_semantics(const struct mmio_insn *d, u64 seed, u64 value)
{
	u64 gpr[16], before[16];

	for (int i = 0; i < 16; i++)
		gpr[i] = before[i] = seed * 0x9E3779B97F4A7C15ull + (u64)i * 0xD1B54A32D192ED03ull;

	u64 sv = mmio_store_value(gpr, d);
	if (d->write) {
		CHECK((sv & ~mask(d->size)) == 0);
		if (d->has_imm)
			CHECK(sv == d->imm);
		else if (d->high8)
			CHECK(sv == ((gpr[d->reg] >> 8) & 0xFF));
		else
			CHECK(sv == (gpr[d->reg] & mask(d->size)));
	}

	mmio_write_reg(gpr, d, value);
	for (int i = 0; i < 16; i++)
		CHECK(gpr[i] == before[i] || (!d->write && i == d->reg));
	if (d->write)
		return;
	u64 v = d->ext == MMIO_EXT_SIGN ? sext(value, d->size) : value & mask(d->size);
	u64 g = gpr[d->reg], b = before[d->reg];
	switch (d->dst_size) {
	case 1:
		if (d->high8)
			CHECK(g == ((b & ~0xFF00ull) | (v & 0xFF) << 8));
		else
			CHECK(g == ((b & ~0xFFull) | (v & 0xFF)));
		break;
	case 2:
		CHECK(g == ((b & ~0xFFFFull) | (v & 0xFFFF)));
		break;
	case 4:
		CHECK(g == (v & 0xFFFFFFFFull));
		break;
	default:
		CHECK(g == v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int modes[] = { 16, 32, 64, 0 };
	struct fuzz_in in = { data, size };
	u8 m = (u8)take(&in, 1);
	int mode = (m & 3) == 3 ? m : modes[m & 3];
	u64 seed = take(&in, 8), value = take(&in, 8);
	size_t avail = in.n;
	u8 *code = dup_rest(&in);
	struct mmio_insn d, zero, again;

	/* Anything past the longest instruction must not be looked at. */
	if (avail > MMIO_INSN_MAX)
		ASAN_POISON_MEMORY_REGION(code + MMIO_INSN_MAX, avail - MMIO_INSN_MAX);

	memset(&zero, 0, sizeof(zero));
	memset(&d, 0xA5, sizeof(d));
	int rc = mmio_decode(code, avail, mode, &d);
	CHECK(rc == 0 || rc == -EINVAL);
	if (mode != 16 && mode != 32 && mode != 64)
		CHECK(rc == -EINVAL);
	if (rc) {
		CHECK(memcmp(&d, &zero, sizeof(d)) == 0);
		goto out;
	}

	CHECK(d.len >= 1 && d.len <= MMIO_INSN_MAX && d.len <= avail);
	CHECK(d.size == 1 || d.size == 2 || d.size == 4 || d.size == 8);
	CHECK(d.reg <= 15);
	CHECK(d.ext <= MMIO_EXT_SIGN);
	if (mode != 64)
		CHECK(d.size != 8 && d.reg <= 7);
	if (d.high8)
		CHECK(d.size == 1 && d.reg <= 3 && !d.has_imm);
	if (d.write) {
		CHECK(d.dst_size == 0 && d.ext == MMIO_EXT_NONE);
		CHECK(!d.has_imm || (d.reg == 0 && (d.imm & ~mask(d.size)) == 0));
	} else {
		CHECK(!d.has_imm && d.imm == 0);
		CHECK(d.dst_size == 1 || d.dst_size == 2 || d.dst_size == 4 || d.dst_size == 8);
		CHECK(d.dst_size >= d.size);
		if (d.ext == MMIO_EXT_NONE)
			CHECK(d.dst_size == d.size);
		else
			CHECK(d.size <= 2 && !d.high8);
	}

	/* The length is exact: its bytes alone decode the same, one fewer do not. */
	CHECK(mmio_decode(code, d.len, mode, &again) == 0);
	CHECK(memcmp(&d, &again, sizeof(d)) == 0);
	CHECK(mmio_decode(code, d.len - 1u, mode, &again) == -EINVAL);

	check_semantics(&d, seed, value);
out:
	if (avail > MMIO_INSN_MAX)
		ASAN_UNPOISON_MEMORY_REGION(code + MMIO_INSN_MAX, avail - MMIO_INSN_MAX);
	free(code);
	return 0;
}
