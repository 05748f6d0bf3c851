/* PBKDF2 (RFC 8018 section 5.2) with HMAC-SHA256 as the PRF. */
#include "tv/crypto.h"
#include "tv/lib.h"

int pbkdf2_hmac_sha256(const u8 *pass, size_t passlen, const u8 *salt, size_t saltlen,
		       u32 iterations, u8 *out, size_t outlen)
{
	struct hmac_sha256_ctx base, c;
	u8 u[SHA256_DIGEST_SIZE], t[SHA256_DIGEST_SIZE], ctr[4];
	u64 nblocks = ((u64)outlen + SHA256_DIGEST_SIZE - 1) / SHA256_DIGEST_SIZE;
	u32 block, it;
	size_t i, n;

	if (!iterations || nblocks > 0xffffffffull)
		return -EINVAL;
	/* The password's HMAC pads are hashed once and copied for every PRF call. */
	hmac_sha256_init(&base, pass, passlen);
	for (block = 1; outlen; block++) {
		ctr[0] = (u8)(block >> 24);
		ctr[1] = (u8)(block >> 16);
		ctr[2] = (u8)(block >> 8);
		ctr[3] = (u8)block;
		c = base;
		hmac_sha256_update(&c, salt, saltlen);
		hmac_sha256_update(&c, ctr, sizeof(ctr));
		hmac_sha256_final(&c, u);
		memcpy(t, u, sizeof(t));
		for (it = 1; it < iterations; it++) {
			c = base;
			hmac_sha256_update(&c, u, sizeof(u));
			hmac_sha256_final(&c, u);
			for (i = 0; i < sizeof(t); i++)
				t[i] ^= u[i];
		}
		n = MIN(outlen, sizeof(t));
		memcpy(out, t, n);
		out += n;
		outlen -= n;
	}
	tv_memzero_explicit(&base, sizeof(base));
	tv_memzero_explicit(&c, sizeof(c));
	tv_memzero_explicit(u, sizeof(u));
	tv_memzero_explicit(t, sizeof(t));
	return 0;
}
