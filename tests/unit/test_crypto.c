/*
 * crypto/: AES (both back ends), XTS-AES in the dm-crypt aes-xts-plain64
 * format, SHA-256, HMAC-SHA256, PBKDF2-HMAC-SHA256.  Known-answer vectors
 * (FIPS-197, SP 800-38A, IEEE 1619-2007, FIPS 180, RFC 4231, RFC 7914) and
 * cross-checks against OpenSSL over random keys, sectors and lengths.  The
 * AES-NI tests are skipped when the CPU lacks AES-NI.
 */
#include "util.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "tv/crypto.h"
#include "tv/lib.h"

#include "crypto_vectors.h"

/* ---- helpers ---- */

static size_t unhex(u8 *out, size_t max, const char *hex)
{
	size_t n = strlen(hex) / 2;

	assert_true(n <= max);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (u8)v;
	}
	return n;
}

static void fill_random(u64 *s, u8 *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (u8)(rng_next(s) >> 32);
}

static bool have_aesni(void)
{
	return aesni_available();
}

/* Both back ends when AES-NI exists, else the portable one only. */
static int n_backends(void)
{
	return have_aesni() ? 2 : 1;
}

static enum xts_backend backend(int i)
{
	return i == 0 ? XTS_BACKEND_PORTABLE : XTS_BACKEND_AESNI;
}

static void iv_of(u8 iv[16], u64 n)
{
	memset(iv, 0, 16);
	put64(iv, n);
}

/* One AES-ECB run through OpenSSL. */
static void ossl_ecb(bool enc, const u8 *key, size_t keylen, u8 *out, const u8 *in, size_t len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0;

	assert_non_null(c);
	assert_int_equal(EVP_CipherInit_ex(c, keylen == 16 ? EVP_aes_128_ecb() : EVP_aes_256_ecb(),
					   NULL, key, NULL, enc), 1);
	EVP_CIPHER_CTX_set_padding(c, 0);
	assert_int_equal(EVP_CipherUpdate(c, out, &n1, in, (int)len), 1);
	assert_int_equal(EVP_CipherFinal_ex(c, out + n1, &n2), 1);
	assert_int_equal(n1 + n2, (int)len);
	EVP_CIPHER_CTX_free(c);
}

/* dm-crypt plain64 through OpenSSL: one XTS data unit per 512-byte sector,
 * IV = sector number (mod 2^64) little-endian, then eight zero bytes. */
static void ossl_xts_sectors(bool enc, const u8 *key, size_t keylen, u64 sector, u8 *out,
			     const u8 *in, size_t nsectors)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	assert_non_null(c);
	assert_int_equal(EVP_CipherInit_ex(c, keylen == 32 ? EVP_aes_128_xts() : EVP_aes_256_xts(),
					   NULL, key, NULL, enc), 1);
	for (size_t i = 0; i < nsectors; i++) {
		u8 iv[16];
		int n = 0;

		iv_of(iv, sector + i);
		assert_int_equal(EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, -1), 1);
		assert_int_equal(EVP_CipherUpdate(c, out + 512 * i, &n, in + 512 * i, 512), 1);
		assert_int_equal(n, 512);
	}
	EVP_CIPHER_CTX_free(c);
}

static void ossl_xts_unit(bool enc, const u8 *key, size_t keylen, const u8 iv[16], u8 *out,
			  const u8 *in, size_t len)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;

	assert_non_null(c);
	assert_int_equal(EVP_CipherInit_ex(c, keylen == 32 ? EVP_aes_128_xts() : EVP_aes_256_xts(),
					   NULL, key, iv, enc), 1);
	assert_int_equal(EVP_CipherUpdate(c, out, &n, in, (int)len), 1);
	assert_int_equal(n, (int)len);
	EVP_CIPHER_CTX_free(c);
}

/* ---- AES block cipher ---- */

struct aes_kat {
	const char *key, *pt, *ct;
};

static const struct aes_kat aes_kats[] = {
	/* FIPS-197 appendix C.1 and C.3 */
	{ "000102030405060708090a0b0c0d0e0f", "00112233445566778899aabbccddeeff",
	  "69c4e0d86a7b0430d8cdb78070b4c55a" },
	{ "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	  "00112233445566778899aabbccddeeff", "8ea2b7ca516745bfeafc49904b496089" },
	/* FIPS-197 appendix B */
	{ "2b7e151628aed2a6abf7158809cf4f3c", "3243f6a8885a308d313198a2e0370734",
	  "3925841d02dc09fbdc118597196a0b32" },
	/* SP 800-38A F.1.1 and F.1.5 (ECB, four blocks) */
	{ "2b7e151628aed2a6abf7158809cf4f3c",
	  "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	  "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
	  "3ad77bb40d7a3660a89ecaf32466ef97f5d3d58503b9699de785895a96fdbaaf"
	  "43b1cd7f598ece23881b00e3ed0306887b0c785e27e8ad3f8223207104725dd4" },
	{ "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
	  "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
	  "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
	  "f3eed1bdb5d2a03c064b5a7e3db181f8591ccb10d410ed26dc5ba74a31362870"
	  "b6ed21b99ca6f4f9f153e7b1beafed1d23304b7a39f9f3ff067d8d8f9e24ecc7" },
};

static void test_aes_kat_portable(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(aes_kats); i++) {
		u8 key[32], pt[64], ct[64], out[64];
		size_t kl = unhex(key, sizeof(key), aes_kats[i].key);
		size_t n = unhex(pt, sizeof(pt), aes_kats[i].pt);
		struct aes_ct_key k;

		assert_int_equal(unhex(ct, sizeof(ct), aes_kats[i].ct), n);
		assert_int_equal(aes_ct_setkey(&k, key, kl), 0);
		assert_int_equal(k.rounds, kl == 16 ? 10 : 14);
		aes_ct_encrypt_blocks(&k, out, pt, n / 16);
		assert_memory_equal(out, ct, n);
		aes_ct_decrypt_blocks(&k, out, ct, n / 16);
		assert_memory_equal(out, pt, n);
		/* in place */
		memcpy(out, pt, n);
		aes_ct_encrypt_blocks(&k, out, out, n / 16);
		assert_memory_equal(out, ct, n);
	}
}

static void test_aes_kat_aesni(void **state)
{
	if (!have_aesni())
		skip();
	for (size_t i = 0; i < ARRAY_SIZE(aes_kats); i++) {
		u8 key[32], pt[64], ct[64], out[64];
		size_t kl = unhex(key, sizeof(key), aes_kats[i].key);
		size_t n = unhex(pt, sizeof(pt), aes_kats[i].pt);
		struct aesni_key k;

		assert_int_equal(unhex(ct, sizeof(ct), aes_kats[i].ct), n);
		assert_int_equal(aesni_setkey(&k, key, kl), 0);
		aesni_encrypt_blocks(&k, out, pt, n / 16);
		assert_memory_equal(out, ct, n);
		aesni_decrypt_blocks(&k, out, ct, n / 16);
		assert_memory_equal(out, pt, n);
	}
}

/* FIPS-197 appendix A: the last round key of the expansions. */
static void test_aes_key_expansion(void **state)
{
	u8 key[32], last[16];
	struct aes_roundkeys rk;

	unhex(key, sizeof(key), "2b7e151628aed2a6abf7158809cf4f3c");
	assert_int_equal(aes_expand_key(&rk, key, 16), 0);
	assert_int_equal(rk.rounds, 10);
	unhex(last, sizeof(last), "d014f9a8c9ee2589e13f0cc8b6630ca6");
	assert_memory_equal(rk.rk[10], last, 16);
	assert_memory_equal(rk.rk[0], key, 16);

	unhex(key, sizeof(key), "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
	assert_int_equal(aes_expand_key(&rk, key, 32), 0);
	assert_int_equal(rk.rounds, 14);
	unhex(last, sizeof(last), "fe4890d1e6188d0b046df344706c631e");
	assert_memory_equal(rk.rk[14], last, 16);

	assert_int_equal(aes_expand_key(&rk, key, 24), -EINVAL);
	assert_int_equal(aes_expand_key(&rk, key, 0), -EINVAL);
	struct aes_ct_key ck;
	assert_int_equal(aes_ct_setkey(&ck, key, 24), -EINVAL);
	if (have_aesni()) {
		struct aesni_key nk;
		assert_int_equal(aesni_setkey(&nk, key, 24), -EINVAL);
	}
}

/* aeskeygenassist expansion = the portable expansion, for random keys. */
static void test_aesni_key_expansion_matches(void **state)
{
	u64 s = 0x1234;

	if (!have_aesni())
		skip();
	for (int it = 0; it < 200; it++) {
		size_t kl = (it & 1) ? 32 : 16;
		u8 key[32];
		struct aes_roundkeys rk;
		struct aesni_key nk;

		fill_random(&s, key, sizeof(key));
		assert_int_equal(aes_expand_key(&rk, key, kl), 0);
		assert_int_equal(aesni_setkey(&nk, key, kl), 0);
		assert_int_equal(nk.rounds, rk.rounds);
		assert_memory_equal(nk.ek, rk.rk, 16 * (rk.rounds + 1));
		assert_memory_equal(nk.dk[0], rk.rk[rk.rounds], 16);
		assert_memory_equal(nk.dk[rk.rounds], rk.rk[0], 16);
	}
}

/* Random keys and block counts (covering partial 4-block groups) vs OpenSSL ECB. */
static void test_aes_vs_openssl(void **state)
{
	u64 s = 0xae5;
	u8 key[32], in[16 * 37], ref[sizeof(in)], out[sizeof(in)];

	for (int it = 0; it < 300; it++) {
		size_t kl = (it & 1) ? 32 : 16;
		size_t n = 1 + rng_below(&s, 37);
		struct aes_ct_key ck;

		fill_random(&s, key, sizeof(key));
		fill_random(&s, in, sizeof(in));
		ossl_ecb(true, key, kl, ref, in, 16 * n);
		assert_int_equal(aes_ct_setkey(&ck, key, kl), 0);
		aes_ct_encrypt_blocks(&ck, out, in, n);
		assert_memory_equal(out, ref, 16 * n);
		aes_ct_decrypt_blocks(&ck, out, ref, n);
		assert_memory_equal(out, in, 16 * n);
		if (have_aesni()) {
			struct aesni_key nk;

			assert_int_equal(aesni_setkey(&nk, key, kl), 0);
			aesni_encrypt_blocks(&nk, out, in, n);
			assert_memory_equal(out, ref, 16 * n);
			aesni_decrypt_blocks(&nk, out, ref, n);
			assert_memory_equal(out, in, 16 * n);
		}
	}
}

/* ---- XTS ---- */

static void test_xts_ieee1619_vectors(void **state)
{
	u8 prev[512];
	size_t prevlen = 0;

	for (size_t v = 0; v < ARRAY_SIZE(xts_vectors); v++) {
		const struct xts_vector *x = &xts_vectors[v];
		u8 key[64], pt[512], ct[512], out[512], iv[16];
		size_t kl = unhex(key, sizeof(key), x->key);
		size_t n = unhex(ct, sizeof(ct), x->ct);

		if (x->pt == XTS_PT_PATTERN) {
			for (size_t i = 0; i < 512; i++)
				pt[i] = (u8)i;
			assert_int_equal(n, 512);
		} else if (x->pt[0] == '\0') {
			assert_int_equal(prevlen, n);
			memcpy(pt, prev, n);
		} else {
			assert_int_equal(unhex(pt, sizeof(pt), x->pt), n);
		}
		iv_of(iv, x->dusn);
		/* The published vector must agree with OpenSSL too. */
		ossl_xts_unit(true, key, kl, iv, out, pt, n);
		assert_memory_equal(out, ct, n);

		for (int b = 0; b < n_backends(); b++) {
			struct xts_key k;

			assert_int_equal(xts_setkey_backend(&k, key, kl, backend(b)), 0);
			assert_int_equal(k.keybits, kl * 4);
			memset(out, 0, sizeof(out));
			assert_int_equal(xts_encrypt(&k, iv, out, pt, n), 0);
			assert_memory_equal(out, ct, n);
			assert_int_equal(xts_decrypt(&k, iv, out, ct, n), 0);
			assert_memory_equal(out, pt, n);
			if (n == 512) {
				xts_encrypt_sectors(&k, x->dusn, out, pt, 1);
				assert_memory_equal(out, ct, n);
				xts_decrypt_sectors(&k, x->dusn, out, out, 1);	/* in place */
				assert_memory_equal(out, pt, n);
			}
			xts_wipe(&k);
		}
		memcpy(prev, ct, n);
		prevlen = n;
	}
}

/* Vector 1 has equal key halves: refused, like OpenSSL refuses it.  Its
 * ciphertext still follows from our AES blocks composed by hand. */
static void test_xts_vector1(void **state)
{
	u8 key[32] = { 0 }, ct[32], blk[64] = { 0 }, t[16] = { 0 };
	struct xts_key k;
	struct aes_ct_key ck;

	assert_int_equal(xts_setkey(&k, key, 32), -EINVAL);
	assert_int_equal(k.backend, XTS_BACKEND_NONE);
	unhex(ct, sizeof(ct), XTS_V1_CT);
	assert_int_equal(aes_ct_setkey(&ck, key, 16), 0);
	aes_ct_encrypt_blocks(&ck, t, t, 1);	/* T = E(0) */
	for (int j = 0; j < 2; j++) {
		u8 x[16];

		for (int i = 0; i < 16; i++)
			x[i] = t[i];		/* P = 0, so P ^ T = T */
		aes_ct_encrypt_blocks(&ck, x, x, 1);
		for (int i = 0; i < 16; i++)
			blk[16 * j + i] = x[i] ^ t[i];
		/* T *= x */
		u8 carry = t[15] >> 7;
		for (int i = 15; i > 0; i--)
			t[i] = (u8)(t[i] << 1 | t[i - 1] >> 7);
		t[0] = (u8)(t[0] << 1) ^ (carry ? 0x87 : 0);
	}
	assert_memory_equal(blk, ct, 32);
}

/* A few hundred random keys, sector numbers (small, > 2^32, near 2^64 where
 * plain64 wraps) and runs of 1..40 sectors, both directions, both back ends,
 * out of place and in place, against OpenSSL. */
static void test_xts_sectors_vs_openssl(void **state)
{
	enum { MAXS = 40 };
	static u8 in[MAXS * 512], ref[MAXS * 512], out[MAXS * 512], back[MAXS * 512];
	u64 s = 0x5ec7;

	for (int it = 0; it < 300; it++) {
		size_t kl = (it & 1) ? 64 : 32;
		size_t ns = 1 + rng_below(&s, MAXS);
		u8 key[64];
		u64 sector;

		switch (it % 4) {
		case 0:
			sector = rng_below(&s, 1u << 20);
			break;
		case 1:
			sector = (1ull << 32) - 20 + rng_below(&s, 40);	/* across 2^32 */
			break;
		case 2:
			sector = rng_next(&s);
			break;
		default:
			sector = ~0ull - rng_below(&s, 50);		/* wraps at 2^64 */
			break;
		}
		fill_random(&s, key, sizeof(key));
		fill_random(&s, in, ns * 512);
		ossl_xts_sectors(true, key, kl, sector, ref, in, ns);
		ossl_xts_sectors(false, key, kl, sector, back, ref, ns);
		assert_memory_equal(back, in, ns * 512);
		for (int b = 0; b < n_backends(); b++) {
			struct xts_key k;

			assert_int_equal(xts_setkey_backend(&k, key, kl, backend(b)), 0);
			xts_encrypt_sectors(&k, sector, out, in, ns);
			assert_memory_equal(out, ref, ns * 512);
			xts_decrypt_sectors(&k, sector, back, out, ns);
			assert_memory_equal(back, in, ns * 512);
			memcpy(out, in, ns * 512);
			xts_encrypt_sectors(&k, sector, out, out, ns);
			assert_memory_equal(out, ref, ns * 512);
			xts_decrypt_sectors(&k, sector, out, out, ns);
			assert_memory_equal(out, in, ns * 512);
			xts_wipe(&k);
		}
	}
}

/* A run split into pieces gives the same bytes as one call. */
static void test_xts_sectors_split(void **state)
{
	static u8 in[64 * 512], whole[64 * 512], parts[64 * 512];
	u64 s = 0x5711;
	u8 key[64];

	fill_random(&s, key, sizeof(key));
	fill_random(&s, in, sizeof(in));
	for (int b = 0; b < n_backends(); b++) {
		struct xts_key k;
		size_t done = 0;

		assert_int_equal(xts_setkey_backend(&k, key, 64, backend(b)), 0);
		xts_encrypt_sectors(&k, 1000, whole, in, 64);
		while (done < 64) {
			size_t r = 1 + rng_below(&s, 13), n = MIN(64 - done, r);

			xts_encrypt_sectors(&k, 1000 + done, parts + 512 * done, in + 512 * done, n);
			done += n;
		}
		assert_memory_equal(parts, whole, sizeof(whole));
		xts_encrypt_sectors(&k, 1000, parts, in, 0);	/* no sectors: no-op */
		xts_wipe(&k);
	}
}

/* Single data units of any whole-block length vs OpenSSL. */
static void test_xts_units_vs_openssl(void **state)
{
	static u8 in[4096], ref[4096], out[4096];
	u64 s = 0x0417;

	for (int it = 0; it < 200; it++) {
		size_t kl = (it & 1) ? 64 : 32;
		size_t len = 16 * (1 + rng_below(&s, 256));
		u8 key[64], iv[16];

		fill_random(&s, key, sizeof(key));
		fill_random(&s, iv, sizeof(iv));
		fill_random(&s, in, len);
		ossl_xts_unit(true, key, kl, iv, ref, in, len);
		for (int b = 0; b < n_backends(); b++) {
			struct xts_key k;

			assert_int_equal(xts_setkey_backend(&k, key, kl, backend(b)), 0);
			assert_int_equal(xts_encrypt(&k, iv, out, in, len), 0);
			assert_memory_equal(out, ref, len);
			assert_int_equal(xts_decrypt(&k, iv, out, out, len), 0);
			assert_memory_equal(out, in, len);
			xts_wipe(&k);
		}
	}
}

static bool key_all_zero(const struct xts_key *k)
{
	return all_bytes((const u8 *)k, sizeof(*k), 0);
}

static void test_xts_setkey_rejects(void **state)
{
	static const size_t bad_lengths[] = { 0, 1, 16, 24, 31, 33, 48, 63, 65, 96, 128 };
	u8 key[128];
	struct xts_key k;
	u64 s = 0xbad;

	fill_random(&s, key, sizeof(key));
	for (size_t i = 0; i < ARRAY_SIZE(bad_lengths); i++) {
		memset(&k, 0xa5, sizeof(k));
		assert_int_equal(xts_setkey(&k, key, bad_lengths[i]), -EINVAL);
		assert_true(key_all_zero(&k));
	}
	/* equal halves, both sizes, both back ends */
	for (size_t half = 16; half <= 32; half += 16) {
		memcpy(key + half, key, half);
		for (int b = 0; b < n_backends(); b++) {
			memset(&k, 0xa5, sizeof(k));
			assert_int_equal(xts_setkey_backend(&k, key, 2 * half, backend(b)), -EINVAL);
			assert_true(key_all_zero(&k));
		}
		/* one differing bit anywhere (first, middle, last byte) is accepted */
		for (size_t pos = 0; pos < half; pos += half / 2 - 1) {
			key[half + pos] ^= 0x01;
			assert_int_equal(xts_setkey(&k, key, 2 * half), 0);
			key[half + pos] ^= 0x01;
		}
		key[2 * half - 1] ^= 0x80;
		assert_int_equal(xts_setkey(&k, key, 2 * half), 0);
		key[2 * half - 1] ^= 0x80;
		fill_random(&s, key, sizeof(key));
	}
	/* an unknown back end */
	assert_int_equal(xts_setkey_backend(&k, key, 64, XTS_BACKEND_NONE), -EINVAL);
	assert_int_equal(xts_setkey_backend(&k, key, 64, (enum xts_backend)7), -EINVAL);
	assert_true(key_all_zero(&k));
	/* default back end: AES-NI exactly when the CPU has it */
	assert_int_equal(xts_setkey(&k, key, 64), 0);
	assert_int_equal(k.backend, have_aesni() ? XTS_BACKEND_AESNI : XTS_BACKEND_PORTABLE);
	assert_int_equal(k.keybits, 256);
	assert_int_equal(xts_setkey(&k, key, 32), 0);
	assert_int_equal(k.keybits, 128);
	xts_wipe(&k);
}

static void test_xts_wipe(void **state)
{
	u8 key[64], buf[1024], iv[16] = { 0 };
	u64 s = 0x3173;

	fill_random(&s, key, sizeof(key));
	for (int b = 0; b < n_backends(); b++) {
		struct xts_key k;

		assert_int_equal(xts_setkey_backend(&k, key, 64, backend(b)), 0);
		assert_false(key_all_zero(&k));
		xts_wipe(&k);
		assert_true(key_all_zero(&k));
		assert_int_equal(k.backend, XTS_BACKEND_NONE);
		/* a wiped key never passes plaintext through */
		memset(buf, 0x77, sizeof(buf));
		xts_encrypt_sectors(&k, 5, buf, buf, 2);
		assert_true(all_bytes(buf, sizeof(buf), 0));
		memset(buf, 0x77, sizeof(buf));
		xts_decrypt_sectors(&k, 5, buf, buf, 2);
		assert_true(all_bytes(buf, sizeof(buf), 0));
		memset(buf, 0x77, sizeof(buf));
		assert_int_equal(xts_encrypt(&k, iv, buf, buf, 64), -EINVAL);
		assert_true(all_bytes(buf, 64, 0));
	}
}

static void test_xts_unit_bad_length(void **state)
{
	u8 key[64], buf[64], iv[16] = { 0 };
	struct xts_key k;
	u64 s = 0x1e;

	fill_random(&s, key, sizeof(key));
	assert_int_equal(xts_setkey(&k, key, 64), 0);
	static const size_t bad[] = { 0, 1, 15, 17, 33, 63 };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memset(buf, 0x55, sizeof(buf));
		assert_int_equal(xts_encrypt(&k, iv, buf, buf, bad[i]), -EINVAL);
		assert_int_equal(xts_decrypt(&k, iv, buf, buf, bad[i]), -EINVAL);
		assert_true(all_bytes(buf, sizeof(buf), 0x55));
	}
	xts_wipe(&k);
}

/* ---- XMM registers survive every AES-NI entry point ---- */

/*
 * Load xmm0-15 from pat, call fn(arg) from assembly (no compiler code in
 * between), store xmm0-15 to got.  The trampolines below are built
 * general-regs-only so they cannot disturb the registers themselves.
 */
static void __attribute__((noinline)) call_with_xmm(void (*fn)(void *), void *arg,
						      const u8 pat[256], u8 got[256])
{
	register const u8 *p __asm__("r12") = pat;
	register u8 *g __asm__("r13") = got;
	register void *a __asm__("rdi") = arg;

	__asm__ volatile(
		"movdqu 0x00(%%r12), %%xmm0\n\t"
		"movdqu 0x10(%%r12), %%xmm1\n\t"
		"movdqu 0x20(%%r12), %%xmm2\n\t"
		"movdqu 0x30(%%r12), %%xmm3\n\t"
		"movdqu 0x40(%%r12), %%xmm4\n\t"
		"movdqu 0x50(%%r12), %%xmm5\n\t"
		"movdqu 0x60(%%r12), %%xmm6\n\t"
		"movdqu 0x70(%%r12), %%xmm7\n\t"
		"movdqu 0x80(%%r12), %%xmm8\n\t"
		"movdqu 0x90(%%r12), %%xmm9\n\t"
		"movdqu 0xa0(%%r12), %%xmm10\n\t"
		"movdqu 0xb0(%%r12), %%xmm11\n\t"
		"movdqu 0xc0(%%r12), %%xmm12\n\t"
		"movdqu 0xd0(%%r12), %%xmm13\n\t"
		"movdqu 0xe0(%%r12), %%xmm14\n\t"
		"movdqu 0xf0(%%r12), %%xmm15\n\t"
		"push %%rbp\n\t"
		"mov %%rsp, %%rbp\n\t"
		"sub $128, %%rsp\n\t"		/* skip the red zone */
		"and $-16, %%rsp\n\t"
		"call *%[fn]\n\t"
		"mov %%rbp, %%rsp\n\t"
		"pop %%rbp\n\t"
		"movdqu %%xmm0, 0x00(%%r13)\n\t"
		"movdqu %%xmm1, 0x10(%%r13)\n\t"
		"movdqu %%xmm2, 0x20(%%r13)\n\t"
		"movdqu %%xmm3, 0x30(%%r13)\n\t"
		"movdqu %%xmm4, 0x40(%%r13)\n\t"
		"movdqu %%xmm5, 0x50(%%r13)\n\t"
		"movdqu %%xmm6, 0x60(%%r13)\n\t"
		"movdqu %%xmm7, 0x70(%%r13)\n\t"
		"movdqu %%xmm8, 0x80(%%r13)\n\t"
		"movdqu %%xmm9, 0x90(%%r13)\n\t"
		"movdqu %%xmm10, 0xa0(%%r13)\n\t"
		"movdqu %%xmm11, 0xb0(%%r13)\n\t"
		"movdqu %%xmm12, 0xc0(%%r13)\n\t"
		"movdqu %%xmm13, 0xd0(%%r13)\n\t"
		"movdqu %%xmm14, 0xe0(%%r13)\n\t"
		"movdqu %%xmm15, 0xf0(%%r13)"
		: "+r"(a)
		: [fn] "b"(fn), "r"(p), "r"(g)
		: "rax", "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc",
		  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
		  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

struct xmm_call {
	int op;
	struct aesni_key *data, *tweak;
	const u8 *key;
	u8 *buf;
	u64 sector;
};

#define GRO __attribute__((target("general-regs-only"), noinline))

static GRO void xmm_op(void *arg)
{
	struct xmm_call *c = arg;
	u8 iv[16] = { 1, 2, 3 };

	switch (c->op) {
	case 0:
		aesni_setkey(c->data, c->key, 32);
		break;
	case 1:
		aesni_encrypt_blocks(c->data, c->buf, c->buf, 5);
		break;
	case 2:
		aesni_decrypt_blocks(c->data, c->buf, c->buf, 5);
		break;
	case 3:
		aesni_xts_encrypt(c->data, c->tweak, iv, c->buf, c->buf, 208);
		break;
	case 4:
		aesni_xts_decrypt(c->data, c->tweak, iv, c->buf, c->buf, 208);
		break;
	case 5:
		aesni_xts_encrypt_sectors(c->data, c->tweak, c->sector, c->buf, c->buf, 9);
		break;
	case 6:
		aesni_xts_decrypt_sectors(c->data, c->tweak, c->sector, c->buf, c->buf, 9);
		break;
	default:
		(void)aesni_available();
		break;
	}
}

static void test_aesni_preserves_xmm(void **state)
{
	static u8 buf[9 * 512];
	struct aesni_key data, tweak;
	u8 key[32], pat[256], got[256];
	u64 s = 0x8888;

	if (!have_aesni())
		skip();
	fill_random(&s, key, sizeof(key));
	assert_int_equal(aesni_setkey(&tweak, key, 16), 0);
	for (int op = 0; op <= 7; op++) {
		struct xmm_call c = { op, &data, &tweak, key, buf, 0xfffffffffffffff0ull };

		fill_random(&s, pat, sizeof(pat));
		fill_random(&s, buf, sizeof(buf));
		memset(got, 0, sizeof(got));
		call_with_xmm(xmm_op, &c, pat, got);
		assert_memory_equal(got, pat, sizeof(pat));
	}
}

/* ---- SHA-256 ---- */

static void check_sha(const void *msg, size_t len, const char *hex)
{
	u8 want[32], got[32];

	unhex(want, sizeof(want), hex);
	sha256(msg, len, got);
	assert_memory_equal(got, want, 32);
}

static void test_sha256_vectors(void **state)
{
	check_sha("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_sha("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	/* 1,000,000 'a', fed in uneven pieces */
	static u8 a[1000000];
	memset(a, 'a', sizeof(a));
	check_sha(a, sizeof(a), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	struct sha256_ctx c;
	u8 want[32], got[32];
	size_t done = 0, step = 1;
	sha256_init(&c);
	while (done < sizeof(a)) {
		size_t n = MIN(step, sizeof(a) - done);
		sha256_update(&c, a + done, n);
		done += n;
		step = step * 3 + 1;
		if (step > 100000)
			step = 7;
	}
	sha256_final(&c, got);
	unhex(want, sizeof(want), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	assert_memory_equal(got, want, 32);
}

/* Every length 0..300 (all padding cases) and random chunking vs OpenSSL. */
static void test_sha256_vs_openssl(void **state)
{
	static u8 msg[1200];
	u64 s = 0x5a;

	fill_random(&s, msg, sizeof(msg));
	for (size_t len = 0; len <= sizeof(msg); len += (len < 300 ? 1 : 37)) {
		u8 ref[32], got[32];
		struct sha256_ctx c;
		size_t done = 0;

		SHA256(msg, len, ref);
		sha256_init(&c);
		while (done < len) {
			size_t r = rng_below(&s, 130), n = MIN(len - done, r);
			sha256_update(&c, msg + done, n);
			done += n;
		}
		sha256_final(&c, got);
		assert_memory_equal(got, ref, 32);
	}
}

/* ---- HMAC-SHA256 (RFC 4231 section 4) ---- */

static void test_hmac_rfc4231(void **state)
{
	static const struct {
		const char *key, *data, *mac;	/* hex; key NULL: 131 bytes of 0xaa */
		const char *text;		/* data as text when data is NULL */
	} tc[] = {
		{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", NULL },
		{ "4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", NULL },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		  "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		  "dddddddddddddddddddddddddddd",
		  "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", NULL },
		{ "0102030405060708090a0b0c0d0e0f10111213141516171819",
		  "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
		  "cdcdcdcdcdcdcdcdcdcdcdcdcdcd",
		  "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", NULL },
		{ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "546573742057697468205472756e636174696f6e",
		  "a3b6167473100ee06e0c796c2955552b", NULL },	/* truncated to 128 bits */
		{ NULL, NULL, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		  "Test Using Larger Than Block-Size Key - Hash Key First" },
		{ NULL, NULL, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
		  "This is a test using a larger than block-size key and a larger than block-size "
		  "data. The key needs to be hashed before being used by the HMAC algorithm." },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tc); i++) {
		u8 key[131], data[256], want[32], got[32];
		size_t kl, dl, ml;

		if (tc[i].key) {
			kl = unhex(key, sizeof(key), tc[i].key);
		} else {
			kl = 131;
			memset(key, 0xaa, kl);
		}
		if (tc[i].data) {
			dl = unhex(data, sizeof(data), tc[i].data);
		} else {
			dl = strlen(tc[i].text);
			memcpy(data, tc[i].text, dl);
		}
		ml = unhex(want, sizeof(want), tc[i].mac);
		hmac_sha256(key, kl, data, dl, got);
		assert_memory_equal(got, want, ml);
	}
}

static void test_hmac_vs_openssl(void **state)
{
	u8 key[200], msg[300];
	u64 s = 0x4ac;

	for (int it = 0; it < 300; it++) {
		size_t kl = rng_below(&s, sizeof(key) + 1), ml = rng_below(&s, sizeof(msg) + 1);
		u8 ref[32], got[32];
		unsigned rl = 0;
		struct hmac_sha256_ctx c;

		fill_random(&s, key, kl);
		fill_random(&s, msg, ml);
		assert_non_null(HMAC(EVP_sha256(), key, (int)kl, msg, ml, ref, &rl));
		assert_int_equal(rl, 32);
		hmac_sha256(key, kl, msg, ml, got);
		assert_memory_equal(got, ref, 32);
		/* incremental */
		hmac_sha256_init(&c, key, kl);
		hmac_sha256_update(&c, msg, ml / 3);
		hmac_sha256_update(&c, msg + ml / 3, ml - ml / 3);
		hmac_sha256_final(&c, got);
		assert_memory_equal(got, ref, 32);
	}
}

/* ---- PBKDF2-HMAC-SHA256 (RFC 7914 section 11) ---- */

static void test_pbkdf2_rfc7914(void **state)
{
	u8 want[64], got[64];

	unhex(want, sizeof(want),
	      "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
	      "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
	assert_int_equal(pbkdf2_hmac_sha256((const u8 *)"passwd", 6, (const u8 *)"salt", 4, 1, got,
					    64), 0);
	assert_memory_equal(got, want, 64);

	unhex(want, sizeof(want),
	      "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
	      "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
	assert_int_equal(pbkdf2_hmac_sha256((const u8 *)"Password", 8, (const u8 *)"NaCl", 4, 80000,
					    got, 64), 0);
	assert_memory_equal(got, want, 64);
}

static void test_pbkdf2_vs_openssl(void **state)
{
	u8 pass[100], salt[80], ref[200], got[200];
	u64 s = 0x9bd;

	for (int it = 0; it < 150; it++) {
		size_t pl = rng_below(&s, sizeof(pass) + 1), sl = rng_below(&s, sizeof(salt) + 1);
		size_t ol = 1 + rng_below(&s, sizeof(ref));
		u32 iter = 1 + (u32)rng_below(&s, 50);

		fill_random(&s, pass, pl);
		fill_random(&s, salt, sl);
		assert_int_equal(PKCS5_PBKDF2_HMAC((const char *)pass, (int)pl, salt, (int)sl, (int)iter,
						   EVP_sha256(), (int)ol, ref), 1);
		memset(got, 0xee, sizeof(got));
		assert_int_equal(pbkdf2_hmac_sha256(pass, pl, salt, sl, iter, got, ol), 0);
		assert_memory_equal(got, ref, ol);
		assert_true(all_bytes(got + ol, sizeof(got) - ol, 0xee));	/* no overrun */
	}
	assert_int_equal(pbkdf2_hmac_sha256(pass, 1, salt, 1, 0, got, 32), -EINVAL);
	assert_int_equal(pbkdf2_hmac_sha256(pass, 1, salt, 1, 1, got, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aes_kat_portable),
		cmocka_unit_test(test_aes_kat_aesni),
		cmocka_unit_test(test_aes_key_expansion),
		cmocka_unit_test(test_aesni_key_expansion_matches),
		cmocka_unit_test(test_aes_vs_openssl),
		cmocka_unit_test(test_xts_ieee1619_vectors),
		cmocka_unit_test(test_xts_vector1),
		cmocka_unit_test(test_xts_sectors_vs_openssl),
		cmocka_unit_test(test_xts_sectors_split),
		cmocka_unit_test(test_xts_units_vs_openssl),
		cmocka_unit_test(test_xts_setkey_rejects),
		cmocka_unit_test(test_xts_wipe),
		cmocka_unit_test(test_xts_unit_bad_length),
		cmocka_unit_test(test_aesni_preserves_xmm),
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_vs_openssl),
		cmocka_unit_test(test_hmac_rfc4231),
		cmocka_unit_test(test_hmac_vs_openssl),
		cmocka_unit_test(test_pbkdf2_rfc7914),
		cmocka_unit_test(test_pbkdf2_vs_openssl),
	};
	printf("AES-NI %s\n", have_aesni() ? "available: both back ends tested"
					   : "absent: portable back end only");
	return RUN_TESTS(tests);
}
