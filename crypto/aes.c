/*
 * Portable constant-time AES: a bitsliced implementation that encrypts or
 * decrypts four blocks at once in eight 64-bit words.  There are no table
 * lookups and no branches that depend on keys or data.
 *
 * Bitsliced layout.  The 64 bytes of four blocks become eight "planes"
 * q[0..7]: bit b of every byte goes to q[b].  Within a plane, the bit for
 * byte (row r, column c) of block k (FIPS-197 state s[r][c], input byte
 * 4c + r) sits at position 16r + 4c + k.  So a 64-bit rotation by 16 moves
 * every row up by one (MixColumns), and ShiftRows rotates 16-bit lane r by
 * 4r bits.
 *
 * SubBytes is computed, not looked up: the GF(2^8) inverse in a tower
 * field GF((2^4)^2), between two linear maps (basis change and affine map).
 */
#include "tv/crypto.h"
#include "tv/lib.h"

static inline u64 ld64(const u8 *p)
{
	u64 v;

	__builtin_memcpy(&v, p, 8);
	return v;
}

static inline void st64(u8 *p, u64 v)
{
	__builtin_memcpy(p, &v, 8);
}

static inline u64 ror64(u64 x, unsigned n)
{
	return (x >> n) | (x << (64 - n));
}

/* Exchange the bits of a where mask is set with those of b n places up. */
#define SWAPMOVE(a, b, mask, n)                              \
	do {                                                 \
		u64 t_ = (((b) >> (n)) ^ (a)) & (mask);      \
		(a) ^= t_;                                   \
		(b) ^= t_ << (n);                            \
	} while (0)

/* Swap two bit-index bits of x: delta = 2^j - 2^i, mask = {p: bit i = 1, bit j = 0}. */
static inline u64 swapbits(u64 x, u64 mask, unsigned delta)
{
	u64 t = ((x >> delta) ^ x) & mask;

	return x ^ t ^ (t << delta);
}

/*
 * Word w[i] = bytes 8i..8i+7 (i = c1 + 2 k0 + 4 k1 in terms of the column's
 * high bit and the block number).  Three SWAPMOVE stages exchange the three
 * data-bit index bits with the word index bits, then three in-word swaps put
 * the position bits in the order (k0 k1 c0 c1 r0 r1).
 */
static inline unsigned plane_word(unsigned b)
{
	return ((b >> 2) & 1) | ((b & 1) << 1) | (((b >> 1) & 1) << 2);
}

static void bs_load(u64 q[8], const u8 in[64])
{
	u64 w[8];
	unsigned i;

	for (i = 0; i < 8; i++)
		w[i] = ld64(in + 8 * i);
	for (i = 0; i < 8; i++)
		if (!(i & 2))
			SWAPMOVE(w[i | 2], w[i], 0x5555555555555555ull, 1);
	for (i = 0; i < 8; i++)
		if (!(i & 4))
			SWAPMOVE(w[i | 4], w[i], 0x3333333333333333ull, 2);
	for (i = 0; i < 8; i++)
		if (!(i & 1))
			SWAPMOVE(w[i | 1], w[i], 0x0f0f0f0f0f0f0f0full, 4);
	for (i = 0; i < 8; i++) {
		u64 x = w[i];

		x = swapbits(x, 0x00000000ffff0000ull, 16);	/* position bits 4, 5 */
		x = swapbits(x, 0x0000ff000000ff00ull, 8);	/* 3, 4 */
		x = swapbits(x, 0x00f000f000f000f0ull, 4);	/* 2, 3 */
		w[i] = x;
	}
	for (i = 0; i < 8; i++)
		q[i] = w[plane_word(i)];
}

static void bs_store(u8 out[64], const u64 q[8])
{
	u64 w[8];
	unsigned i;

	for (i = 0; i < 8; i++)
		w[plane_word(i)] = q[i];
	for (i = 0; i < 8; i++) {
		u64 x = w[i];

		x = swapbits(x, 0x00f000f000f000f0ull, 4);
		x = swapbits(x, 0x0000ff000000ff00ull, 8);
		x = swapbits(x, 0x00000000ffff0000ull, 16);
		w[i] = x;
	}
	for (i = 0; i < 8; i++)
		if (!(i & 1))
			SWAPMOVE(w[i | 1], w[i], 0x0f0f0f0f0f0f0f0full, 4);
	for (i = 0; i < 8; i++)
		if (!(i & 4))
			SWAPMOVE(w[i | 4], w[i], 0x3333333333333333ull, 2);
	for (i = 0; i < 8; i++)
		if (!(i & 2))
			SWAPMOVE(w[i | 2], w[i], 0x5555555555555555ull, 1);
	for (i = 0; i < 8; i++)
		st64(out + 8 * i, w[i]);
}

/*
 * ---- SubBytes through a tower field, bitsliced ----
 *
 * The GF(2^8) inverse is computed in GF((2^4)^2): GF(16) = GF(2)[z]/(z^4 +
 * z + 1), GF(256) = GF(16)[y]/(y^2 + y + 10) (10 = z^3 + z; y^2 + y + 10 is
 * irreducible).  An element is ah*y + al (bits 0-3: al, bits 4-7: ah), and
 *     (ah y + al)^-1 = (ah y + (ah + al)) / (10 ah^2 + ah al + al^2).
 * The change of basis from AES's polynomial basis maps x to the root
 * 0x4c = 4y + 12 of x^8 + x^4 + x^3 + x + 1; it is folded together with
 * the affine map of the S-box into the two 8x8 bit matrices below (found
 * and checked against the S-box for all 256 inputs by a small script; the
 * unit tests check the result against FIPS-197 and OpenSSL).
 */

/* r = a * b in GF(16). */
static inline __attribute__((always_inline)) void gf16_mul(u64 r[4], const u64 a[4], const u64 b[4])
{
	u64 p0 = a[0] & b[0];
	u64 p1 = (a[0] & b[1]) ^ (a[1] & b[0]);
	u64 p2 = (a[0] & b[2]) ^ (a[1] & b[1]) ^ (a[2] & b[0]);
	u64 p3 = (a[0] & b[3]) ^ (a[1] & b[2]) ^ (a[2] & b[1]) ^ (a[3] & b[0]);
	u64 p4 = (a[1] & b[3]) ^ (a[2] & b[2]) ^ (a[3] & b[1]);
	u64 p5 = (a[2] & b[3]) ^ (a[3] & b[2]);
	u64 p6 = a[3] & b[3];

	/* z^4 = z + 1, z^5 = z^2 + z, z^6 = z^3 + z^2 */
	r[0] = p0 ^ p4;
	r[1] = p1 ^ p4 ^ p5;
	r[2] = p2 ^ p5 ^ p6;
	r[3] = p3 ^ p6;
}

/* r = d^-1 in GF(16) (0 for 0), from the algebraic normal form of d^14. */
static inline __attribute__((always_inline)) void gf16_inv(u64 r[4], const u64 d[4])
{
	u64 d01 = d[0] & d[1], d02 = d[0] & d[2], d12 = d[1] & d[2];
	u64 d03 = d[0] & d[3], d13 = d[1] & d[3], d23 = d[2] & d[3];
	u64 d012 = d01 & d[2], d123 = d12 & d[3], d013 = d01 & d[3], d023 = d02 & d[3];

	r[0] = d[0] ^ d[1] ^ d[2] ^ d[3] ^ d02 ^ d12 ^ d012 ^ d123;
	r[1] = d01 ^ d02 ^ d12 ^ d[3] ^ d13 ^ d013;
	r[2] = d01 ^ d[2] ^ d02 ^ d[3] ^ d03 ^ d023;
	r[3] = d[1] ^ d[2] ^ d[3] ^ d03 ^ d13 ^ d23 ^ d123;
}

/* u = t^-1 in the tower field. */
static inline __attribute__((always_inline)) void tower_inv(u64 u[8], const u64 t[8])
{
	const u64 *al = t, *ah = t + 4;
	u64 m[4], d[4], di[4], s[4];

	gf16_mul(m, ah, al);
	/* d = 10 ah^2 + ah al + al^2 */
	d[0] = ah[2] ^ ah[3] ^ m[0] ^ al[0] ^ al[2];
	d[1] = ah[0] ^ ah[1] ^ m[1] ^ al[2];
	d[2] = ah[1] ^ ah[2] ^ m[2] ^ al[1] ^ al[3];
	d[3] = ah[0] ^ ah[1] ^ ah[2] ^ m[3] ^ al[3];
	gf16_inv(di, d);
	s[0] = ah[0] ^ al[0];
	s[1] = ah[1] ^ al[1];
	s[2] = ah[2] ^ al[2];
	s[3] = ah[3] ^ al[3];
	gf16_mul(u + 4, ah, di);
	gf16_mul(u, s, di);
}

static void bs_sub_bytes(u64 q[8])
{
	u64 t[8], u[8];

	/* to the tower basis */
	t[0] = q[0] ^ q[5];
	t[1] = q[2] ^ q[3] ^ q[5];
	t[2] = q[1] ^ q[6] ^ q[7];
	t[3] = q[1] ^ q[3] ^ q[6] ^ q[7];
	t[4] = q[2] ^ q[3] ^ q[4] ^ q[6] ^ q[7];
	t[5] = q[2] ^ q[3] ^ q[5] ^ q[7];
	t[6] = q[1] ^ q[4] ^ q[5] ^ q[6];
	t[7] = q[5] ^ q[7];
	tower_inv(u, t);
	/* back, with the affine map and its constant 0x63 */
	q[0] = ~(u[0] ^ u[4] ^ u[5] ^ u[7]);
	q[1] = ~(u[0] ^ u[2]);
	q[2] = u[0] ^ u[1] ^ u[3];
	q[3] = u[0] ^ u[4] ^ u[6];
	q[4] = u[0] ^ u[1] ^ u[2] ^ u[4] ^ u[5] ^ u[7];
	q[5] = ~(u[1] ^ u[2] ^ u[4] ^ u[5] ^ u[7]);
	q[6] = ~(u[4] ^ u[7]);
	q[7] = u[1] ^ u[2] ^ u[3] ^ u[4];
}

static void bs_inv_sub_bytes(u64 q[8])
{
	u64 t[8], u[8];

	/* the inverse affine map (constant included), to the tower basis */
	t[0] = ~(q[4] ^ q[5]);
	t[1] = ~(q[0] ^ q[1] ^ q[5]);
	t[2] = q[1] ^ q[4] ^ q[5];
	t[3] = q[0] ^ q[1] ^ q[2] ^ q[4];
	t[4] = ~(q[1] ^ q[2] ^ q[7]);
	t[5] = ~(q[0] ^ q[4] ^ q[5] ^ q[6]);
	t[6] = q[1] ^ q[2] ^ q[3] ^ q[4] ^ q[5] ^ q[7];
	t[7] = q[1] ^ q[2] ^ q[6] ^ q[7];
	tower_inv(u, t);
	/* back to the polynomial basis */
	q[0] = u[0] ^ u[1] ^ u[5] ^ u[7];
	q[1] = u[4] ^ u[5] ^ u[6];
	q[2] = u[2] ^ u[3] ^ u[5] ^ u[7];
	q[3] = u[2] ^ u[3];
	q[4] = u[2] ^ u[6] ^ u[7];
	q[5] = u[1] ^ u[5] ^ u[7];
	q[6] = u[1] ^ u[2] ^ u[4] ^ u[6];
	q[7] = u[1] ^ u[5];
}

/* ---- ShiftRows, MixColumns ---- */

/*
 * ShiftRows: lane r (row r) rotates right by 4r bits.  Two steps: lanes 1
 * and 3 rotate by 4, then lanes 2 and 3 by 8 (a byte swap inside the lane).
 */
static inline u64 shift_rows1(u64 x)
{
	u64 t;

	x = (x & 0x0000ffff0000ffffull) | ((x >> 4) & 0x0fff00000fff0000ull) |
	    ((x << 12) & 0xf0000000f0000000ull);
	t = ((x >> 8) ^ x) & 0x00ff00ff00000000ull;
	return x ^ t ^ (t << 8);
}

/* The inverse: lanes 2 and 3 by 8, then lanes 1 and 3 left by 4. */
static inline u64 inv_shift_rows1(u64 x)
{
	u64 t = ((x >> 8) ^ x) & 0x00ff00ff00000000ull;

	x ^= t ^ (t << 8);
	return (x & 0x0000ffff0000ffffull) | ((x << 4) & 0xfff00000fff00000ull) |
	       ((x >> 12) & 0x000f0000000f0000ull);
}

static void bs_shift_rows(u64 q[8])
{
	int i;

	for (i = 0; i < 8; i++)
		q[i] = shift_rows1(q[i]);
}

static void bs_inv_shift_rows(u64 q[8])
{
	int i;

	for (i = 0; i < 8; i++)
		q[i] = inv_shift_rows1(q[i]);
}

/* r = 2 * a in GF(2^8), bitsliced; r must not alias a. */
static inline void bs_xtime(u64 r[8], const u64 a[8])
{
	r[0] = a[7];
	r[1] = a[0] ^ a[7];
	r[2] = a[1];
	r[3] = a[2] ^ a[7];
	r[4] = a[3] ^ a[7];
	r[5] = a[4];
	r[6] = a[5];
	r[7] = a[6];
}

/* out_r = 2 a_r + 3 a_(r+1) + a_(r+2) + a_(r+3) = 2 t + a_(r+1) + rot2(t),
 * t = a_r + a_(r+1). */
static void bs_mix_columns(u64 q[8])
{
	u64 a1[8], t[8], x[8];
	int i;

	for (i = 0; i < 8; i++) {
		a1[i] = ror64(q[i], 16);
		t[i] = q[i] ^ a1[i];
	}
	bs_xtime(x, t);
	for (i = 0; i < 8; i++)
		q[i] = x[i] ^ a1[i] ^ ror64(t[i], 32);
}

/* InvMixColumns = MixColumns o (a -> a + 4 (a + rot2(a))). */
static void bs_inv_mix_columns(u64 q[8])
{
	u64 u[8], v[8], w[8];
	int i;

	for (i = 0; i < 8; i++)
		u[i] = q[i] ^ ror64(q[i], 32);
	bs_xtime(v, u);
	bs_xtime(w, v);
	for (i = 0; i < 8; i++)
		q[i] ^= w[i];
	bs_mix_columns(q);
}

static inline void bs_add_key(u64 q[8], const u64 rk[8])
{
	int i;

	for (i = 0; i < 8; i++)
		q[i] ^= rk[i];
}

/* ---- key schedule ---- */

/* SubWord on the four bytes of w, in constant time. */
static void sub_word(u8 w[4])
{
	u8 buf[64];
	u64 q[8];

	memset(buf, 0, sizeof(buf));
	buf[0] = w[0];
	buf[1] = w[1];
	buf[2] = w[2];
	buf[3] = w[3];
	bs_load(q, buf);
	bs_sub_bytes(q);
	bs_store(buf, q);
	w[0] = buf[0];
	w[1] = buf[1];
	w[2] = buf[2];
	w[3] = buf[3];
	tv_memzero_explicit(buf, sizeof(buf));
	tv_memzero_explicit(q, sizeof(q));
}

int aes_expand_key(struct aes_roundkeys *rk, const u8 *key, size_t keylen)
{
	u8 w[4 * 4 * (AES_MAX_ROUNDS + 1)];
	unsigned nk, nr, nwords, i;
	u8 rcon = 1;

	if (keylen == 16) {
		nk = 4;
		nr = 10;
	} else if (keylen == 32) {
		nk = 8;
		nr = 14;
	} else {
		return -EINVAL;
	}
	nwords = 4 * (nr + 1);
	memcpy(w, key, keylen);
	for (i = nk; i < nwords; i++) {
		u8 t[4];

		memcpy(t, &w[4 * (i - 1)], 4);
		if (i % nk == 0) {
			u8 t0 = t[0];

			t[0] = t[1];
			t[1] = t[2];
			t[2] = t[3];
			t[3] = t0;
			sub_word(t);
			t[0] ^= rcon;
			rcon = (u8)((rcon << 1) ^ ((rcon >> 7) * 0x1b));
		} else if (nk > 6 && i % nk == 4) {
			sub_word(t);
		}
		w[4 * i + 0] = w[4 * (i - nk) + 0] ^ t[0];
		w[4 * i + 1] = w[4 * (i - nk) + 1] ^ t[1];
		w[4 * i + 2] = w[4 * (i - nk) + 2] ^ t[2];
		w[4 * i + 3] = w[4 * (i - nk) + 3] ^ t[3];
		tv_memzero_explicit(t, sizeof(t));
	}
	memcpy(rk->rk, w, 4 * nwords);
	rk->rounds = nr;
	tv_memzero_explicit(w, sizeof(w));
	return 0;
}

int aes_ct_setkey(struct aes_ct_key *k, const u8 *key, size_t keylen)
{
	struct aes_roundkeys rk;
	u8 buf[64];
	unsigned r;

	if (aes_expand_key(&rk, key, keylen))
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	for (r = 0; r <= rk.rounds; r++) {
		memcpy(buf, rk.rk[r], 16);
		memcpy(buf + 16, rk.rk[r], 16);
		memcpy(buf + 32, rk.rk[r], 16);
		memcpy(buf + 48, rk.rk[r], 16);
		bs_load(k->rk[r], buf);
	}
	k->rounds = rk.rounds;
	tv_memzero_explicit(&rk, sizeof(rk));
	tv_memzero_explicit(buf, sizeof(buf));
	return 0;
}

/* ---- block operations ---- */

void aes_ct_encrypt4(const struct aes_ct_key *k, u8 out[64], const u8 in[64])
{
	u64 q[8];
	unsigned r;

	bs_load(q, in);
	bs_add_key(q, k->rk[0]);
	for (r = 1; r < k->rounds; r++) {
		bs_sub_bytes(q);
		bs_shift_rows(q);
		bs_mix_columns(q);
		bs_add_key(q, k->rk[r]);
	}
	bs_sub_bytes(q);
	bs_shift_rows(q);
	bs_add_key(q, k->rk[k->rounds]);
	bs_store(out, q);
}

void aes_ct_decrypt4(const struct aes_ct_key *k, u8 out[64], const u8 in[64])
{
	u64 q[8];
	unsigned r;

	bs_load(q, in);
	bs_add_key(q, k->rk[k->rounds]);
	for (r = k->rounds - 1; r > 0; r--) {
		bs_inv_shift_rows(q);
		bs_inv_sub_bytes(q);
		bs_add_key(q, k->rk[r]);
		bs_inv_mix_columns(q);
	}
	bs_inv_shift_rows(q);
	bs_inv_sub_bytes(q);
	bs_add_key(q, k->rk[0]);
	bs_store(out, q);
}

static void ct_blocks(const struct aes_ct_key *k, u8 *out, const u8 *in, size_t n, bool enc)
{
	u8 buf[64];

	for (; n >= 4; n -= 4, in += 64, out += 64) {
		if (enc)
			aes_ct_encrypt4(k, out, in);
		else
			aes_ct_decrypt4(k, out, in);
	}
	if (n) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, in, 16 * n);
		if (enc)
			aes_ct_encrypt4(k, buf, buf);
		else
			aes_ct_decrypt4(k, buf, buf);
		memcpy(out, buf, 16 * n);
		tv_memzero_explicit(buf, sizeof(buf));
	}
}

void aes_ct_encrypt_blocks(const struct aes_ct_key *k, u8 *out, const u8 *in, size_t nblocks)
{
	ct_blocks(k, out, in, nblocks, true);
}

void aes_ct_decrypt_blocks(const struct aes_ct_key *k, u8 *out, const u8 *in, size_t nblocks)
{
	ct_blocks(k, out, in, nblocks, false);
}
