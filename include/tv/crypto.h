/*
 * Disk-encryption cryptography: AES (FIPS-197, 128- and 256-bit keys),
 * XTS-AES (IEEE 1619) in the on-disk format of Linux dm-crypt
 * `--type plain --cipher aes-xts-plain64`, SHA-256, HMAC-SHA256 and
 * PBKDF2-HMAC-SHA256.
 *
 * The storage mediators use only the xts_* functions.  The lower layers
 * (aes_ct_*, aesni_*) are exported for the unit tests and the benchmark.
 *
 * Two AES back ends:
 *   - portable (crypto/aes.c): bitsliced, constant time (no table lookups,
 *     no branches on secret data), four blocks per call, general-purpose
 *     registers only;
 *   - AES-NI (crypto/aesni.c): aesenc/aesdec, eight blocks in flight.
 * xts_setkey() picks AES-NI when the CPU has it and remembers the choice
 * as an enum in the key (never a function pointer).
 *
 * XMM contract of the AES-NI back end: the hypervisor runs between guest
 * instructions, so the guest's XMM registers are live.  Every aesni_*
 * function (and so every xts_* function, whatever back end) saves
 * xmm0-xmm15 on its own stack on entry and restores them before it returns;
 * callers need not do anything.  Only legacy-SSE encodings are used, which
 * leave the upper halves of YMM/ZMM registers and MXCSR untouched; since all
 * sixteen registers are restored, no key material is left in them.  The
 * hypervisor must run with CR4.OSFXSR = 1 and CR0.EM = CR0.TS = 0 (SSE
 * usable) and call these functions with the ABI's 16-byte stack alignment.
 * The functions are not reentrant with respect to NMIs or interrupts whose
 * handlers use XMM registers (thinvisor's handlers use general registers
 * only).
 */
#ifndef TV_CRYPTO_H
#define TV_CRYPTO_H

#include "tv/types.h"

#define AES_BLOCK_SIZE 16
#define AES_MAX_ROUNDS 14
#define XTS_SECTOR_SIZE 512

/* ---- AES key schedule (byte form, FIPS-197 section 5.2) ---- */

/* rk[i] is round key i (FIPS-197 w[4i..4i+3] as bytes); rounds = 10 or 14. */
struct aes_roundkeys {
	u8 rk[AES_MAX_ROUNDS + 1][16];
	u32 rounds;
};

/* Constant-time key expansion; keylen 16 or 32 bytes.  0 or -EINVAL. */
int aes_expand_key(struct aes_roundkeys *rk, const u8 *key, size_t keylen);

/* ---- Portable constant-time AES (crypto/aes.c) ---- */

/* Round keys in bitsliced form, replicated for the four parallel blocks. */
struct aes_ct_key {
	u64 rk[AES_MAX_ROUNDS + 1][8];
	u32 rounds;
};

int aes_ct_setkey(struct aes_ct_key *k, const u8 *key, size_t keylen);
/* Four independent blocks (64 bytes); out may equal in. */
void aes_ct_encrypt4(const struct aes_ct_key *k, u8 out[64], const u8 in[64]);
void aes_ct_decrypt4(const struct aes_ct_key *k, u8 out[64], const u8 in[64]);
/* Any number of blocks (ECB); out may equal in. */
void aes_ct_encrypt_blocks(const struct aes_ct_key *k, u8 *out, const u8 *in, size_t nblocks);
void aes_ct_decrypt_blocks(const struct aes_ct_key *k, u8 *out, const u8 *in, size_t nblocks);

/* ---- AES-NI (crypto/aesni.c) ---- */

/* Encryption and decryption (aesimc'd, reversed) round keys. */
struct aesni_key {
	u8 ek[AES_MAX_ROUNDS + 1][16] __attribute__((aligned(16)));
	u8 dk[AES_MAX_ROUNDS + 1][16] __attribute__((aligned(16)));
	u32 rounds;
};

/* CPUID leaf 1: ECX bit 25 (AES) and EDX bit 26 (SSE2).  No XMM use. */
bool aesni_available(void);
/* The rest require aesni_available(). */
int aesni_setkey(struct aesni_key *k, const u8 *key, size_t keylen);
void aesni_encrypt_blocks(const struct aesni_key *k, u8 *out, const u8 *in, size_t nblocks);
void aesni_decrypt_blocks(const struct aesni_key *k, u8 *out, const u8 *in, size_t nblocks);
/* One XTS data unit of len bytes (a multiple of 16, no ciphertext stealing)
 * with the given 16-byte tweak value (before encryption with the tweak key). */
void aesni_xts_encrypt(const struct aesni_key *data, const struct aesni_key *tweak,
		       const u8 iv[16], u8 *dst, const u8 *src, size_t len);
void aesni_xts_decrypt(const struct aesni_key *data, const struct aesni_key *tweak,
		       const u8 iv[16], u8 *dst, const u8 *src, size_t len);
/* nsectors 512-byte sectors, sector numbers sector, sector+1, ... (plain64). */
void aesni_xts_encrypt_sectors(const struct aesni_key *data, const struct aesni_key *tweak,
			       u64 sector, u8 *dst, const u8 *src, size_t nsectors);
void aesni_xts_decrypt_sectors(const struct aesni_key *data, const struct aesni_key *tweak,
			       u64 sector, u8 *dst, const u8 *src, size_t nsectors);

/* ---- XTS-AES, the mediators' API (crypto/xts.c) ---- */

enum xts_backend {
	XTS_BACKEND_NONE = 0,	/* no key (never set, or wiped) */
	XTS_BACKEND_PORTABLE = 1,
	XTS_BACKEND_AESNI = 2,
};

struct xts_key {
	u32 backend;		/* enum xts_backend */
	u32 keybits;		/* 128 or 256: the AES key size of each half */
	union {
		struct {
			struct aes_ct_key data, tweak;
		} ct;
		struct {
			struct aesni_key data, tweak;
		} ni;
	} u;
};

/*
 * key = data key || tweak key, keylen 32 (AES-128-XTS) or 64 (AES-256-XTS),
 * exactly as dm-crypt and OpenSSL take it.  Rejects (-EINVAL) other lengths
 * and keys whose two halves are equal (as OpenSSL does).  Picks AES-NI if
 * available.  On error the key is left wiped.
 */
int xts_setkey(struct xts_key *k, const u8 *key, size_t keylen);
/* The same with a chosen back end (tests, benchmark); -EINVAL if AES-NI is
 * asked for and absent. */
int xts_setkey_backend(struct xts_key *k, const u8 *key, size_t keylen, enum xts_backend be);
/* Wipe the whole key structure (all bytes zero: backend NONE). */
void xts_wipe(struct xts_key *k);

/*
 * nsectors 512-byte sectors starting at sector number `sector`; sector i uses
 * the tweak value (sector + i) as a little-endian 128-bit integer (plain64:
 * the 64-bit number, then eight zero bytes).  dst may equal src (in place);
 * other overlaps are not allowed.  With a key that is not set (NONE) dst is
 * zero-filled: plaintext never leaks through an unkeyed call.
 */
void xts_encrypt_sectors(const struct xts_key *k, u64 sector, u8 *dst, const u8 *src,
			 size_t nsectors);
void xts_decrypt_sectors(const struct xts_key *k, u64 sector, u8 *dst, const u8 *src,
			 size_t nsectors);

/* One data unit of any length that is a positive multiple of 16 bytes, with a
 * raw 16-byte tweak value.  0, or -EINVAL (bad length: nothing written; no
 * key: dst zero-filled). */
int xts_encrypt(const struct xts_key *k, const u8 iv[16], u8 *dst, const u8 *src, size_t len);
int xts_decrypt(const struct xts_key *k, const u8 iv[16], u8 *dst, const u8 *src, size_t len);

/* ---- SHA-256 (FIPS 180-4), HMAC-SHA256 (RFC 2104), PBKDF2 (RFC 8018) ---- */

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE 64

struct sha256_ctx {
	u32 h[8];
	u64 bytes;		/* total length so far */
	u8 buf[SHA256_BLOCK_SIZE];
	u32 nbuf;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, u8 out[SHA256_DIGEST_SIZE]);	/* wipes c */
void sha256(const void *data, size_t len, u8 out[SHA256_DIGEST_SIZE]);

struct hmac_sha256_ctx {
	struct sha256_ctx inner, outer;
};

void hmac_sha256_init(struct hmac_sha256_ctx *c, const u8 *key, size_t keylen);
void hmac_sha256_update(struct hmac_sha256_ctx *c, const void *data, size_t len);
void hmac_sha256_final(struct hmac_sha256_ctx *c, u8 out[SHA256_DIGEST_SIZE]);	/* wipes c */
void hmac_sha256(const u8 *key, size_t keylen, const void *data, size_t len,
		 u8 out[SHA256_DIGEST_SIZE]);

/* PBKDF2-HMAC-SHA256, any output length (up to (2^32-1)*32 bytes).
 * 0, or -EINVAL if iterations is 0 or outlen is too large. */
int pbkdf2_hmac_sha256(const u8 *pass, size_t passlen, const u8 *salt, size_t saltlen,
		       u32 iterations, u8 *out, size_t outlen);

#endif
