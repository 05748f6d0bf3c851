/*
 * AES with the AES-NI instructions, and XTS over whole sectors with eight
 * blocks in flight.
 *
 * Build: this file alone is compiled with `-msse2 -maes` in place of
 * `-mgeneral-regs-only` (all other hypervisor flags unchanged).  It uses GCC
 * vector extensions and __builtin_ia32_* directly rather than <wmmintrin.h>,
 * which drags in <stdlib.h>.
 *
 * XMM registers.  The guest's XMM registers are live whenever the
 * hypervisor runs, so every exported function is built as general-regs-only
 * (the compiler cannot touch an XMM register in it), saves xmm0-xmm15 with
 * movdqu into a buffer on its stack, calls a noinline worker that may use
 * any XMM register (the ABI makes them all caller-saved), and restores all
 * sixteen.  Nothing else in this file is callable from outside.
 */
#include "tv/crypto.h"
#include "tv/lib.h"

#if !defined(__SSE2__) || !defined(__AES__)
#error "crypto/aesni.c is compiled with -msse2 -maes in place of -mgeneral-regs-only"
#endif

typedef long long v2di __attribute__((vector_size(16)));
typedef unsigned long long v2du __attribute__((vector_size(16)));
typedef int v4si __attribute__((vector_size(16)));
typedef unsigned int v4su __attribute__((vector_size(16)));
typedef long long v2di_u __attribute__((vector_size(16), aligned(1), may_alias));
typedef long long v2di_a __attribute__((vector_size(16), may_alias));

/* Exported entry points: no SSE code generated inside them. */
#define XMM_ENTRY __attribute__((target("general-regs-only")))
/* Workers: never inlined into an entry point.  Pre-register-allocation
 * scheduling interleaves the tweak arithmetic with the AES rounds better
 * (about 5% faster on Zen 3) than GCC's x86 default. */
#define WORKER static __attribute__((noinline))

#define XMM_SAVE(p)                                          \
	__asm__ volatile("movdqu %%xmm0, 0x00(%0)\n\t"       \
			 "movdqu %%xmm1, 0x10(%0)\n\t"       \
			 "movdqu %%xmm2, 0x20(%0)\n\t"       \
			 "movdqu %%xmm3, 0x30(%0)\n\t"       \
			 "movdqu %%xmm4, 0x40(%0)\n\t"       \
			 "movdqu %%xmm5, 0x50(%0)\n\t"       \
			 "movdqu %%xmm6, 0x60(%0)\n\t"       \
			 "movdqu %%xmm7, 0x70(%0)\n\t"       \
			 "movdqu %%xmm8, 0x80(%0)\n\t"       \
			 "movdqu %%xmm9, 0x90(%0)\n\t"       \
			 "movdqu %%xmm10, 0xa0(%0)\n\t"      \
			 "movdqu %%xmm11, 0xb0(%0)\n\t"      \
			 "movdqu %%xmm12, 0xc0(%0)\n\t"      \
			 "movdqu %%xmm13, 0xd0(%0)\n\t"      \
			 "movdqu %%xmm14, 0xe0(%0)\n\t"      \
			 "movdqu %%xmm15, 0xf0(%0)"          \
			 : : "r"(p) : "memory")

#define XMM_RESTORE(p)                                       \
	__asm__ volatile("movdqu 0x00(%0), %%xmm0\n\t"       \
			 "movdqu 0x10(%0), %%xmm1\n\t"       \
			 "movdqu 0x20(%0), %%xmm2\n\t"       \
			 "movdqu 0x30(%0), %%xmm3\n\t"       \
			 "movdqu 0x40(%0), %%xmm4\n\t"       \
			 "movdqu 0x50(%0), %%xmm5\n\t"       \
			 "movdqu 0x60(%0), %%xmm6\n\t"       \
			 "movdqu 0x70(%0), %%xmm7\n\t"       \
			 "movdqu 0x80(%0), %%xmm8\n\t"       \
			 "movdqu 0x90(%0), %%xmm9\n\t"       \
			 "movdqu 0xa0(%0), %%xmm10\n\t"      \
			 "movdqu 0xb0(%0), %%xmm11\n\t"      \
			 "movdqu 0xc0(%0), %%xmm12\n\t"      \
			 "movdqu 0xd0(%0), %%xmm13\n\t"      \
			 "movdqu 0xe0(%0), %%xmm14\n\t"      \
			 "movdqu 0xf0(%0), %%xmm15"          \
			 : : "r"(p) : "memory")

static inline v2di loadu(const void *p)
{
	return *(const v2di_u *)p;
}

static inline void storeu(void *p, v2di v)
{
	*(v2di_u *)p = v;
}

static inline v2di rkey(const u8 (*rk)[16], unsigned i)
{
	return *(const v2di_a *)rk[i];
}

#define aesenc(b, k) __builtin_ia32_aesenc128((b), (k))
#define aesenclast(b, k) __builtin_ia32_aesenclast128((b), (k))
#define aesdec(b, k) __builtin_ia32_aesdec128((b), (k))
#define aesdeclast(b, k) __builtin_ia32_aesdeclast128((b), (k))

/* Multiply the tweak by x in GF(2^128) (IEEE 1619 little-endian order):
 * shift each 64-bit half left, carry bit 63 into bit 64, and fold bit 127
 * back as 0x87. */
static inline v2di mulx(v2di t)
{
	v4si s = __builtin_ia32_psradi128((v4si)t, 31);

	s = __builtin_ia32_pshufd(s, 0x13);
	s &= (v4si){ 0x87, 0, 1, 0 };
	return (v2di)((v2du)t + (v2du)t) ^ (v2di)s;	/* unsigned: no UB on overflow */
}

/*
 * The same with the sign bits taken from *s instead of a pshufd of t: *s
 * starts as pshufd(T, 0x13) (dword 0 = T's dword 3, dword 2 = T's dword 1)
 * and is doubled dword-wise at each step, so its dword sign bits follow bits
 * 127 and 63 of T*x^k exactly for k <= 31 (bits that carries or the 0x87
 * fold insert reach them only later).  The chain from one tweak to the next
 * is then just paddq and pxor (no shuffle on it), which is what limits an
 * 8-block group.  Valid for 31 steps after the pshufd; xts_unit takes a
 * fresh one every 8.
 */
static inline v2di mulx_s(v2di t, v4su *s)
{
	v4si m = __builtin_ia32_psradi128((v4si)*s, 31) & (v4si){ 0x87, 0, 1, 0 };

	*s += *s;
	return (v2di)((v2du)t + (v2du)t) ^ (v2di)m;
}

/* ---- CPU check ---- */

XMM_ENTRY bool aesni_available(void)
{
	u32 a = 1, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return (c & (1u << 25)) && (d & (1u << 26));
}

/* ---- key expansion ---- */

static inline v2di expand_step(v2di k, v2di t)
{
	k ^= __builtin_ia32_pslldqi128(k, 32);
	k ^= __builtin_ia32_pslldqi128(k, 32);
	k ^= __builtin_ia32_pslldqi128(k, 32);
	return k ^ t;
}

#define KGA_HI(x, rcon) ((v2di)__builtin_ia32_pshufd((v4si)__builtin_ia32_aeskeygenassist128((x), (rcon)), 0xff))
#define KGA_SUB(x) ((v2di)__builtin_ia32_pshufd((v4si)__builtin_ia32_aeskeygenassist128((x), 0), 0xaa))

WORKER void setkey_worker(struct aesni_key *k, const u8 *key, unsigned nr)
{
	v2di rk[AES_MAX_ROUNDS + 1];
	unsigned i;

	rk[0] = loadu(key);
	if (nr == 10) {
		rk[1] = expand_step(rk[0], KGA_HI(rk[0], 0x01));
		rk[2] = expand_step(rk[1], KGA_HI(rk[1], 0x02));
		rk[3] = expand_step(rk[2], KGA_HI(rk[2], 0x04));
		rk[4] = expand_step(rk[3], KGA_HI(rk[3], 0x08));
		rk[5] = expand_step(rk[4], KGA_HI(rk[4], 0x10));
		rk[6] = expand_step(rk[5], KGA_HI(rk[5], 0x20));
		rk[7] = expand_step(rk[6], KGA_HI(rk[6], 0x40));
		rk[8] = expand_step(rk[7], KGA_HI(rk[7], 0x80));
		rk[9] = expand_step(rk[8], KGA_HI(rk[8], 0x1b));
		rk[10] = expand_step(rk[9], KGA_HI(rk[9], 0x36));
	} else {
		rk[1] = loadu(key + 16);
		rk[2] = expand_step(rk[0], KGA_HI(rk[1], 0x01));
		rk[3] = expand_step(rk[1], KGA_SUB(rk[2]));
		rk[4] = expand_step(rk[2], KGA_HI(rk[3], 0x02));
		rk[5] = expand_step(rk[3], KGA_SUB(rk[4]));
		rk[6] = expand_step(rk[4], KGA_HI(rk[5], 0x04));
		rk[7] = expand_step(rk[5], KGA_SUB(rk[6]));
		rk[8] = expand_step(rk[6], KGA_HI(rk[7], 0x08));
		rk[9] = expand_step(rk[7], KGA_SUB(rk[8]));
		rk[10] = expand_step(rk[8], KGA_HI(rk[9], 0x10));
		rk[11] = expand_step(rk[9], KGA_SUB(rk[10]));
		rk[12] = expand_step(rk[10], KGA_HI(rk[11], 0x20));
		rk[13] = expand_step(rk[11], KGA_SUB(rk[12]));
		rk[14] = expand_step(rk[12], KGA_HI(rk[13], 0x40));
	}
	for (i = 0; i <= nr; i++)
		*(v2di_a *)k->ek[i] = rk[i];
	*(v2di_a *)k->dk[0] = rk[nr];
	for (i = 1; i < nr; i++)
		*(v2di_a *)k->dk[i] = __builtin_ia32_aesimc128(rk[nr - i]);
	*(v2di_a *)k->dk[nr] = rk[0];
	k->rounds = nr;
	for (i = 0; i <= nr; i++)
		rk[i] = (v2di){ 0, 0 };
	__asm__ volatile("" : : "r"(rk) : "memory");
}

XMM_ENTRY int aesni_setkey(struct aesni_key *k, const u8 *key, size_t keylen)
{
	u8 save[256];

	if (keylen != 16 && keylen != 32)
		return -EINVAL;
	XMM_SAVE(save);
	setkey_worker(k, key, keylen == 16 ? 10 : 14);
	XMM_RESTORE(save);
	return 0;
}

/* ---- single blocks (tests, tweak computation) ---- */

static inline __attribute__((always_inline)) v2di enc1(const struct aesni_key *k, v2di b)
{
	unsigned r;

	b ^= rkey(k->ek, 0);
	for (r = 1; r < k->rounds; r++)
		b = aesenc(b, rkey(k->ek, r));
	return aesenclast(b, rkey(k->ek, k->rounds));
}

static inline __attribute__((always_inline)) v2di dec1(const struct aesni_key *k, v2di b)
{
	unsigned r;

	b ^= rkey(k->dk, 0);
	for (r = 1; r < k->rounds; r++)
		b = aesdec(b, rkey(k->dk, r));
	return aesdeclast(b, rkey(k->dk, k->rounds));
}

WORKER void blocks_worker(const struct aesni_key *k, u8 *out, const u8 *in, size_t n, bool enc)
{
	for (; n; n--, in += 16, out += 16)
		storeu(out, enc ? enc1(k, loadu(in)) : dec1(k, loadu(in)));
}

XMM_ENTRY void aesni_encrypt_blocks(const struct aesni_key *k, u8 *out, const u8 *in, size_t nblocks)
{
	u8 save[256];

	XMM_SAVE(save);
	blocks_worker(k, out, in, nblocks, true);
	XMM_RESTORE(save);
}

XMM_ENTRY void aesni_decrypt_blocks(const struct aesni_key *k, u8 *out, const u8 *in, size_t nblocks)
{
	u8 save[256];

	XMM_SAVE(save);
	blocks_worker(k, out, in, nblocks, false);
	XMM_RESTORE(save);
}

/* ---- XTS ---- */

/*
 * One data unit of n blocks, starting with the encrypted tweak *tp; *tp is
 * advanced past the unit.  The first round key is folded into the tweak
 * (P ^ T ^ K0) and the tweak into the last round key (aesenclast with
 * K_last ^ T yields E(P ^ T) ^ T directly).  nr is a compile-time constant
 * in each instantiation so the round loop unrolls.
 */
static inline __attribute__((always_inline)) void
xts_unit(const u8 (*rk)[16], const unsigned nr, bool enc, v2di *tp, u8 *dst, const u8 *src,
	 size_t n)
{
	v2di t = *tp, k0 = rkey(rk, 0), kl = rkey(rk, nr);
	unsigned r;

	for (; n >= 8; n -= 8, src += 128, dst += 128) {
		v4su sg = (v4su)__builtin_ia32_pshufd((v4si)t, 0x13);
		v2di t0 = t, t1 = mulx_s(t0, &sg), t2 = mulx_s(t1, &sg), t3 = mulx_s(t2, &sg);
		v2di t4 = mulx_s(t3, &sg), t5 = mulx_s(t4, &sg), t6 = mulx_s(t5, &sg), t7 = mulx_s(t6, &sg);
		v2di b0, b1, b2, b3, b4, b5, b6, b7;

		t = mulx_s(t7, &sg);
		b0 = loadu(src + 0x00) ^ t0 ^ k0;
		b1 = loadu(src + 0x10) ^ t1 ^ k0;
		b2 = loadu(src + 0x20) ^ t2 ^ k0;
		b3 = loadu(src + 0x30) ^ t3 ^ k0;
		b4 = loadu(src + 0x40) ^ t4 ^ k0;
		b5 = loadu(src + 0x50) ^ t5 ^ k0;
		b6 = loadu(src + 0x60) ^ t6 ^ k0;
		b7 = loadu(src + 0x70) ^ t7 ^ k0;
		if (enc) {
#pragma GCC unroll 14
			for (r = 1; r < nr; r++) {
				v2di kr = rkey(rk, r);

				b0 = aesenc(b0, kr);
				b1 = aesenc(b1, kr);
				b2 = aesenc(b2, kr);
				b3 = aesenc(b3, kr);
				b4 = aesenc(b4, kr);
				b5 = aesenc(b5, kr);
				b6 = aesenc(b6, kr);
				b7 = aesenc(b7, kr);
			}
			b0 = aesenclast(b0, kl ^ t0);
			b1 = aesenclast(b1, kl ^ t1);
			b2 = aesenclast(b2, kl ^ t2);
			b3 = aesenclast(b3, kl ^ t3);
			b4 = aesenclast(b4, kl ^ t4);
			b5 = aesenclast(b5, kl ^ t5);
			b6 = aesenclast(b6, kl ^ t6);
			b7 = aesenclast(b7, kl ^ t7);
		} else {
#pragma GCC unroll 14
			for (r = 1; r < nr; r++) {
				v2di kr = rkey(rk, r);

				b0 = aesdec(b0, kr);
				b1 = aesdec(b1, kr);
				b2 = aesdec(b2, kr);
				b3 = aesdec(b3, kr);
				b4 = aesdec(b4, kr);
				b5 = aesdec(b5, kr);
				b6 = aesdec(b6, kr);
				b7 = aesdec(b7, kr);
			}
			b0 = aesdeclast(b0, kl ^ t0);
			b1 = aesdeclast(b1, kl ^ t1);
			b2 = aesdeclast(b2, kl ^ t2);
			b3 = aesdeclast(b3, kl ^ t3);
			b4 = aesdeclast(b4, kl ^ t4);
			b5 = aesdeclast(b5, kl ^ t5);
			b6 = aesdeclast(b6, kl ^ t6);
			b7 = aesdeclast(b7, kl ^ t7);
		}
		storeu(dst + 0x00, b0);
		storeu(dst + 0x10, b1);
		storeu(dst + 0x20, b2);
		storeu(dst + 0x30, b3);
		storeu(dst + 0x40, b4);
		storeu(dst + 0x50, b5);
		storeu(dst + 0x60, b6);
		storeu(dst + 0x70, b7);
	}
	for (; n; n--, src += 16, dst += 16) {
		v2di b = loadu(src) ^ t ^ k0;

		for (r = 1; r < nr; r++)
			b = enc ? aesenc(b, rkey(rk, r)) : aesdec(b, rkey(rk, r));
		b = enc ? aesenclast(b, kl ^ t) : aesdeclast(b, kl ^ t);
		storeu(dst, b);
		t = mulx(t);
	}
	*tp = t;
}

/* Eight tweak values {sector + i, 0} encrypted with the tweak key at once. */
static inline __attribute__((always_inline)) void
tweaks8(const struct aesni_key *tk, const unsigned nr, u64 sector, v2di tw[8])
{
	v2di k0 = rkey(tk->ek, 0);
	unsigned r, i;

	for (i = 0; i < 8; i++)
		tw[i] = (v2di){ (long long)(sector + i), 0 } ^ k0;
	for (r = 1; r < nr; r++) {
		v2di kr = rkey(tk->ek, r);

		for (i = 0; i < 8; i++)
			tw[i] = aesenc(tw[i], kr);
	}
	for (i = 0; i < 8; i++)
		tw[i] = aesenclast(tw[i], rkey(tk->ek, nr));
}

static inline __attribute__((always_inline)) void
sectors_nr(const struct aesni_key *dk, const struct aesni_key *tk, const unsigned nr, bool enc,
	   u64 sector, u8 *dst, const u8 *src, size_t nsec)
{
	const u8 (*rk)[16] = enc ? dk->ek : dk->dk;
	v2di tw[8];
	size_t i, batch;

	for (; nsec; nsec -= batch, sector += batch) {
		batch = nsec < 8 ? nsec : 8;
		tweaks8(tk, nr, sector, tw);
		for (i = 0; i < batch; i++, src += XTS_SECTOR_SIZE, dst += XTS_SECTOR_SIZE)
			xts_unit(rk, nr, enc, &tw[i], dst, src, XTS_SECTOR_SIZE / 16);
	}
	for (i = 0; i < 8; i++)
		tw[i] = (v2di){ 0, 0 };
	__asm__ volatile("" : : "r"(tw) : "memory");
}

WORKER void sectors_worker(const struct aesni_key *dk, const struct aesni_key *tk, bool enc,
			   u64 sector, u8 *dst, const u8 *src, size_t nsec)
{
	if (dk->rounds == 10) {
		if (enc)
			sectors_nr(dk, tk, 10, true, sector, dst, src, nsec);
		else
			sectors_nr(dk, tk, 10, false, sector, dst, src, nsec);
	} else {
		if (enc)
			sectors_nr(dk, tk, 14, true, sector, dst, src, nsec);
		else
			sectors_nr(dk, tk, 14, false, sector, dst, src, nsec);
	}
}

WORKER void unit_worker(const struct aesni_key *dk, const struct aesni_key *tk, bool enc,
			const u8 iv[16], u8 *dst, const u8 *src, size_t len)
{
	v2di t = enc1(tk, loadu(iv));
	const u8 (*rk)[16] = enc ? dk->ek : dk->dk;

	if (dk->rounds == 10) {
		if (enc)
			xts_unit(rk, 10, true, &t, dst, src, len / 16);
		else
			xts_unit(rk, 10, false, &t, dst, src, len / 16);
	} else {
		if (enc)
			xts_unit(rk, 14, true, &t, dst, src, len / 16);
		else
			xts_unit(rk, 14, false, &t, dst, src, len / 16);
	}
	t = (v2di){ 0, 0 };
	__asm__ volatile("" : : "x"(t));
}

XMM_ENTRY void aesni_xts_encrypt(const struct aesni_key *data, const struct aesni_key *tweak,
				 const u8 iv[16], u8 *dst, const u8 *src, size_t len)
{
	u8 save[256];

	XMM_SAVE(save);
	unit_worker(data, tweak, true, iv, dst, src, len);
	XMM_RESTORE(save);
}

XMM_ENTRY void aesni_xts_decrypt(const struct aesni_key *data, const struct aesni_key *tweak,
				 const u8 iv[16], u8 *dst, const u8 *src, size_t len)
{
	u8 save[256];

	XMM_SAVE(save);
	unit_worker(data, tweak, false, iv, dst, src, len);
	XMM_RESTORE(save);
}

XMM_ENTRY void aesni_xts_encrypt_sectors(const struct aesni_key *data, const struct aesni_key *tweak,
					 u64 sector, u8 *dst, const u8 *src, size_t nsectors)
{
	u8 save[256];

	XMM_SAVE(save);
	sectors_worker(data, tweak, true, sector, dst, src, nsectors);
	XMM_RESTORE(save);
}

XMM_ENTRY void aesni_xts_decrypt_sectors(const struct aesni_key *data, const struct aesni_key *tweak,
					 u64 sector, u8 *dst, const u8 *src, size_t nsectors)
{
	u8 save[256];

	XMM_SAVE(save);
	sectors_worker(data, tweak, false, sector, dst, src, nsectors);
	XMM_RESTORE(save);
}
