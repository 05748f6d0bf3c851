/*
 * XTS-AES (IEEE 1619-2007) over 512-byte sectors in the format of dm-crypt
 * `aes-xts-plain64`: key = data key || tweak key; the tweak value of sector
 * n is n as a little-endian 128-bit integer; within a sector, block j uses
 * E_tweakkey(n) * x^j in GF(2^128).  No ciphertext stealing (data units are
 * whole blocks).
 *
 * This file holds the portable XTS mode over the bitsliced AES and the
 * dispatch to the back end recorded in the key (an enum, no function
 * pointers).
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

/* T = T * x: the 128-bit little-endian value shifted left, 0x87 folded in. */
static inline void mulx(u64 *lo, u64 *hi)
{
	u64 carry = *hi >> 63;

	*hi = (*hi << 1) | (*lo >> 63);
	*lo = (*lo << 1) ^ (0x87 & (0 - carry));
}

/* One data unit of nblocks blocks, portable back end; tlo/thi: the encrypted tweak. */
static void ct_unit(const struct aes_ct_key *dk, bool enc, u64 tlo, u64 thi, u8 *dst,
		    const u8 *src, size_t nblocks)
{
	u8 buf[64];
	u64 tw[8];
	size_t n, j;

	while (nblocks) {
		n = nblocks < 4 ? nblocks : 4;
		for (j = 0; j < 4; j++) {
			if (j < n) {
				tw[2 * j] = tlo;
				tw[2 * j + 1] = thi;
				st64(buf + 16 * j, ld64(src + 16 * j) ^ tlo);
				st64(buf + 16 * j + 8, ld64(src + 16 * j + 8) ^ thi);
				mulx(&tlo, &thi);
			} else {
				st64(buf + 16 * j, 0);
				st64(buf + 16 * j + 8, 0);
			}
		}
		if (enc)
			aes_ct_encrypt4(dk, buf, buf);
		else
			aes_ct_decrypt4(dk, buf, buf);
		for (j = 0; j < n; j++) {
			st64(dst + 16 * j, ld64(buf + 16 * j) ^ tw[2 * j]);
			st64(dst + 16 * j + 8, ld64(buf + 16 * j + 8) ^ tw[2 * j + 1]);
		}
		src += 16 * n;
		dst += 16 * n;
		nblocks -= n;
	}
	tv_memzero_explicit(buf, sizeof(buf));
	tv_memzero_explicit(tw, sizeof(tw));
}

static void ct_sectors(const struct xts_key *k, bool enc, u64 sector, u8 *dst, const u8 *src,
		       size_t nsectors)
{
	const struct aes_ct_key *dk = &k->u.ct.data;
	u8 tweaks[64];
	size_t i, batch;

	for (; nsectors; nsectors -= batch, sector += batch) {
		batch = nsectors < 4 ? nsectors : 4;
		for (i = 0; i < 4; i++) {
			st64(tweaks + 16 * i, sector + i);
			st64(tweaks + 16 * i + 8, 0);
		}
		aes_ct_encrypt4(&k->u.ct.tweak, tweaks, tweaks);
		for (i = 0; i < batch; i++) {
			ct_unit(dk, enc, ld64(tweaks + 16 * i), ld64(tweaks + 16 * i + 8), dst, src,
				XTS_SECTOR_SIZE / 16);
			src += XTS_SECTOR_SIZE;
			dst += XTS_SECTOR_SIZE;
		}
	}
	tv_memzero_explicit(tweaks, sizeof(tweaks));
}

static void ct_one_unit(const struct xts_key *k, bool enc, const u8 iv[16], u8 *dst,
			const u8 *src, size_t len)
{
	u8 t[64];

	memset(t, 0, sizeof(t));
	memcpy(t, iv, 16);
	aes_ct_encrypt4(&k->u.ct.tweak, t, t);
	ct_unit(&k->u.ct.data, enc, ld64(t), ld64(t + 8), dst, src, len / 16);
	tv_memzero_explicit(t, sizeof(t));
}

/* ---- key management ---- */

void xts_wipe(struct xts_key *k)
{
	tv_memzero_explicit(k, sizeof(*k));
}

int xts_setkey_backend(struct xts_key *k, const u8 *key, size_t keylen, enum xts_backend be)
{
	size_t half = keylen / 2, i;
	u8 diff = 0;
	int err;

	xts_wipe(k);
	if (keylen != 32 && keylen != 64)
		return -EINVAL;
	/* Equal halves make XTS insecure; OpenSSL refuses them too.  The
	 * comparison does not stop early. */
	for (i = 0; i < half; i++)
		diff |= key[i] ^ key[half + i];
	if (!diff)
		return -EINVAL;
	switch (be) {
	case XTS_BACKEND_PORTABLE:
		err = aes_ct_setkey(&k->u.ct.data, key, half);
		if (!err)
			err = aes_ct_setkey(&k->u.ct.tweak, key + half, half);
		break;
	case XTS_BACKEND_AESNI:
		if (!aesni_available()) {
			err = -EINVAL;
			break;
		}
		err = aesni_setkey(&k->u.ni.data, key, half);
		if (!err)
			err = aesni_setkey(&k->u.ni.tweak, key + half, half);
		break;
	default:
		err = -EINVAL;
		break;
	}
	if (err) {
		xts_wipe(k);
		return err;
	}
	k->backend = be;
	k->keybits = (u32)(half * 8);
	return 0;
}

int xts_setkey(struct xts_key *k, const u8 *key, size_t keylen)
{
	return xts_setkey_backend(k, key, keylen,
				  aesni_available() ? XTS_BACKEND_AESNI : XTS_BACKEND_PORTABLE);
}

/* ---- data ---- */

static void sectors(const struct xts_key *k, bool enc, u64 sector, u8 *dst, const u8 *src,
		    size_t nsectors)
{
	switch (k->backend) {
	case XTS_BACKEND_PORTABLE:
		ct_sectors(k, enc, sector, dst, src, nsectors);
		break;
	case XTS_BACKEND_AESNI:
		if (enc)
			aesni_xts_encrypt_sectors(&k->u.ni.data, &k->u.ni.tweak, sector, dst, src,
						  nsectors);
		else
			aesni_xts_decrypt_sectors(&k->u.ni.data, &k->u.ni.tweak, sector, dst, src,
						  nsectors);
		break;
	default:
		memset(dst, 0, nsectors * XTS_SECTOR_SIZE);
		break;
	}
}

void xts_encrypt_sectors(const struct xts_key *k, u64 sector, u8 *dst, const u8 *src,
			 size_t nsectors)
{
	sectors(k, true, sector, dst, src, nsectors);
}

void xts_decrypt_sectors(const struct xts_key *k, u64 sector, u8 *dst, const u8 *src,
			 size_t nsectors)
{
	sectors(k, false, sector, dst, src, nsectors);
}

static int unit(const struct xts_key *k, bool enc, const u8 iv[16], u8 *dst, const u8 *src,
		size_t len)
{
	if (!len || len % AES_BLOCK_SIZE)
		return -EINVAL;
	switch (k->backend) {
	case XTS_BACKEND_PORTABLE:
		ct_one_unit(k, enc, iv, dst, src, len);
		return 0;
	case XTS_BACKEND_AESNI:
		if (enc)
			aesni_xts_encrypt(&k->u.ni.data, &k->u.ni.tweak, iv, dst, src, len);
		else
			aesni_xts_decrypt(&k->u.ni.data, &k->u.ni.tweak, iv, dst, src, len);
		return 0;
	default:
		memset(dst, 0, len);
		return -EINVAL;
	}
}

int xts_encrypt(const struct xts_key *k, const u8 iv[16], u8 *dst, const u8 *src, size_t len)
{
	return unit(k, true, iv, dst, src, len);
}

int xts_decrypt(const struct xts_key *k, const u8 iv[16], u8 *dst, const u8 *src, size_t len)
{
	return unit(k, false, iv, dst, src, len);
}
