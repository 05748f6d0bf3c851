/* SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104). */
#include "tv/crypto.h"
#include "tv/lib.h"

static const u32 K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline u32 ror32(u32 x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static inline u32 be32(const u8 *p)
{
	return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static inline void put_be32(u8 *p, u32 v)
{
	p[0] = (u8)(v >> 24);
	p[1] = (u8)(v >> 16);
	p[2] = (u8)(v >> 8);
	p[3] = (u8)v;
}

static void compress(u32 h[8], const u8 blk[64])
{
	u32 w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = be32(blk + 4 * i);
	for (i = 16; i < 64; i++) {
		u32 s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		u32 s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	f = h[5];
	g = h[6];
	hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
		t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
	tv_memzero_explicit(w, sizeof(w));
}

void sha256_init(struct sha256_ctx *c)
{
	static const u32 iv[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(c->h, iv, sizeof(iv));
	c->bytes = 0;
	c->nbuf = 0;
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	const u8 *p = data;

	c->bytes += len;
	if (c->nbuf) {
		size_t n = MIN(len, (size_t)(SHA256_BLOCK_SIZE - c->nbuf));

		memcpy(c->buf + c->nbuf, p, n);
		c->nbuf += (u32)n;
		p += n;
		len -= n;
		if (c->nbuf < SHA256_BLOCK_SIZE)
			return;
		compress(c->h, c->buf);
		c->nbuf = 0;
	}
	for (; len >= SHA256_BLOCK_SIZE; len -= SHA256_BLOCK_SIZE, p += SHA256_BLOCK_SIZE)
		compress(c->h, p);
	if (len) {
		memcpy(c->buf, p, len);
		c->nbuf = (u32)len;
	}
}

void sha256_final(struct sha256_ctx *c, u8 out[SHA256_DIGEST_SIZE])
{
	u64 bits = c->bytes * 8;
	int i;

	c->buf[c->nbuf++] = 0x80;
	if (c->nbuf > SHA256_BLOCK_SIZE - 8) {
		memset(c->buf + c->nbuf, 0, SHA256_BLOCK_SIZE - c->nbuf);
		compress(c->h, c->buf);
		c->nbuf = 0;
	}
	memset(c->buf + c->nbuf, 0, SHA256_BLOCK_SIZE - 8 - c->nbuf);
	for (i = 0; i < 8; i++)
		c->buf[SHA256_BLOCK_SIZE - 1 - i] = (u8)(bits >> (8 * i));
	compress(c->h, c->buf);
	for (i = 0; i < 8; i++)
		put_be32(out + 4 * i, c->h[i]);
	tv_memzero_explicit(c, sizeof(*c));
}

void sha256(const void *data, size_t len, u8 out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, out);
}

/* ---- HMAC-SHA256 ---- */

void hmac_sha256_init(struct hmac_sha256_ctx *c, const u8 *key, size_t keylen)
{
	u8 k[SHA256_BLOCK_SIZE], pad[SHA256_BLOCK_SIZE];
	int i;

	memset(k, 0, sizeof(k));
	if (keylen > SHA256_BLOCK_SIZE)
		sha256(key, keylen, k);
	else if (keylen)
		memcpy(k, key, keylen);
	for (i = 0; i < SHA256_BLOCK_SIZE; i++)
		pad[i] = k[i] ^ 0x36;
	sha256_init(&c->inner);
	sha256_update(&c->inner, pad, sizeof(pad));
	for (i = 0; i < SHA256_BLOCK_SIZE; i++)
		pad[i] = k[i] ^ 0x5c;
	sha256_init(&c->outer);
	sha256_update(&c->outer, pad, sizeof(pad));
	tv_memzero_explicit(k, sizeof(k));
	tv_memzero_explicit(pad, sizeof(pad));
}

void hmac_sha256_update(struct hmac_sha256_ctx *c, const void *data, size_t len)
{
	sha256_update(&c->inner, data, len);
}

void hmac_sha256_final(struct hmac_sha256_ctx *c, u8 out[SHA256_DIGEST_SIZE])
{
	u8 ih[SHA256_DIGEST_SIZE];

	sha256_final(&c->inner, ih);
	sha256_update(&c->outer, ih, sizeof(ih));
	sha256_final(&c->outer, out);
	tv_memzero_explicit(ih, sizeof(ih));
	tv_memzero_explicit(c, sizeof(*c));
}

void hmac_sha256(const u8 *key, size_t keylen, const void *data, size_t len,
		 u8 out[SHA256_DIGEST_SIZE])
{
	struct hmac_sha256_ctx c;

	hmac_sha256_init(&c, key, keylen);
	hmac_sha256_update(&c, data, len);
	hmac_sha256_final(&c, out);
}
