/* SPDX-License-Identifier: MIT */
/*
 * The sector data pattern shared by the IDE test guests and the host tool
 * tools/tvcrypt.c: both include this one header, so what a guest writes and
 * what the checker expects on disk are the same function.
 *
 * A pattern sector is 512 bytes = 128 little-endian 32-bit words, a pure
 * function of (LBA, seed):
 *   words 0..2  the ASCII marker "TV-PLAINTEXT" (so plaintext that leaks to
 *               the disk can be found with grep);
 *   word  3     LBA bits 0..31, word 4: LBA bits 32..63, word 5: the seed
 *               (so a sector found in the wrong place says where it belongs);
 *   words 6..127 tvp_mix(LBA, word index, seed): a hash, different for every
 *               sector, word and seed.
 * Also here: the deterministic test keys (tvp_key_byte), so a guest can look
 * for the key in its own RAM without being given it.
 *
 * Freestanding: only <stdint.h>; no libc, no 64-bit division.
 */
#ifndef TV_PATTERN_H
#define TV_PATTERN_H

#include <stdint.h>

#define TVP_SECTOR      512u
#define TVP_WORDS       (TVP_SECTOR / 4u)
#define TVP_MARKER      "TV-PLAINTEXT"
#define TVP_MARKER_LEN  12u
#define TVP_HDR_WORDS   6u

/* "TV-P" "LAIN" "TEXT" as little-endian words. */
#define TVP_MARKER_W0   0x502d5654u
#define TVP_MARKER_W1   0x4e49414cu
#define TVP_MARKER_W2   0x54584554u

static inline uint32_t tvp_fmix(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static inline uint32_t tvp_mix(uint64_t lba, uint32_t w, uint32_t seed)
{
	uint32_t x = (uint32_t)lba * 0x9E3779B1u;
	x ^= (uint32_t)(lba >> 32) * 0x27d4eb2fu;
	x ^= w * 0x85EBCA77u;
	x ^= seed * 0xC2B2AE3Du;
	x = tvp_fmix(x);
	return tvp_fmix(x ^ (w + 0x165667b1u) ^ (uint32_t)lba);
}

/* Word w (0..127) of the pattern sector for (lba, seed). */
static inline uint32_t tvp_word(uint64_t lba, uint32_t w, uint32_t seed)
{
	switch (w) {
	case 0: return TVP_MARKER_W0;
	case 1: return TVP_MARKER_W1;
	case 2: return TVP_MARKER_W2;
	case 3: return (uint32_t)lba;
	case 4: return (uint32_t)(lba >> 32);
	case 5: return seed;
	default: return tvp_mix(lba, w, seed);
	}
}

/* Fill one 512-byte sector (any alignment, byte order independent). */
static inline void tvp_fill(void *sector, uint64_t lba, uint32_t seed)
{
	uint8_t *p = (uint8_t *)sector;
	for (uint32_t w = 0; w < TVP_WORDS; w++) {
		uint32_t v = tvp_word(lba, w, seed);
		p[4 * w + 0] = (uint8_t)v;
		p[4 * w + 1] = (uint8_t)(v >> 8);
		p[4 * w + 2] = (uint8_t)(v >> 16);
		p[4 * w + 3] = (uint8_t)(v >> 24);
	}
}

static inline uint32_t tvp_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* First byte offset where sector differs from the pattern, or -1. */
static inline int tvp_check(const void *sector, uint64_t lba, uint32_t seed)
{
	const uint8_t *p = (const uint8_t *)sector;
	for (uint32_t w = 0; w < TVP_WORDS; w++) {
		uint32_t v = tvp_get32(p + 4 * w);
		uint32_t e = tvp_word(lba, w, seed);
		if (v != e) {
			int i = 0;
			while (((v ^ e) & 0xffu) == 0) {
				v >>= 8, e >>= 8;
				i++;
			}
			return (int)(4 * w) + i;
		}
	}
	return -1;
}

/*
 * If the sector looks like some pattern sector (marker present and the
 * hash words consistent with the header), return 1 and its (lba, seed).
 */
static inline int tvp_identify(const void *sector, uint64_t *lba, uint32_t *seed)
{
	const uint8_t *p = (const uint8_t *)sector;
	if (tvp_get32(p) != TVP_MARKER_W0 || tvp_get32(p + 4) != TVP_MARKER_W1 ||
	    tvp_get32(p + 8) != TVP_MARKER_W2)
		return 0;
	uint64_t l = (uint64_t)tvp_get32(p + 12) | (uint64_t)tvp_get32(p + 16) << 32;
	uint32_t s = tvp_get32(p + 20);
	if (tvp_check(sector, l, s) != -1)
		return 0;
	*lba = l;
	*seed = s;
	return 1;
}

/*
 * The deterministic test keys: byte i of the SIZE-byte key number N
 * (SIZE 32 = AES-128-XTS, 64 = AES-256-XTS).  The two XTS halves always
 * differ (OpenSSL refuses equal halves).  `tvcrypt genkey` writes them.
 */
static inline uint8_t tvp_key_byte(uint32_t n, uint32_t size, uint32_t i)
{
	return (uint8_t)(tvp_fmix(0x6b657900u ^ n * 0x01000193u ^ size * 0x9E3779B1u ^
				  i * 0x85EBCA77u) >> 8);
}

#endif
