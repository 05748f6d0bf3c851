/* SPDX-License-Identifier: MIT */
/*
 * tvcrypt: host-side tool for thinvisor's storage tests (docs/storage.md).
 *
 * On-disk format: AES-XTS over 512-byte sectors exactly like dm-crypt
 * "plain" aes-xts-plain64: tweak = sector number as LE64 + 8 zero bytes, a
 * 32-byte key = AES-128-XTS, 64-byte = AES-256-XTS, used as is.
 *
 *   tvcrypt encrypt|decrypt --key K [--first L] [--count N] [--offset-lba L] IN OUT
 *       Sector i of IN (tweak = i + offset-lba) is transformed if it lies in
 *       [first, first+count) (default: all), other sectors are copied.  IN
 *       and OUT may be the same file (then only the range is rewritten).
 *   tvcrypt fill --pattern SEED --first L --count N [--key K] IMG
 *       Write pattern sectors (tests/guests/lib/pattern.h) into IMG in place,
 *       encrypted with K if given.  The file is created/extended as needed.
 *   tvcrypt check --key K --image IMG --lba FIRST --count N --pattern SEED
 *                 --expect WHAT[,WHAT...]
 *       WHAT: encrypted (XTS of the pattern), plain (the pattern), zero,
 *       unchanged:ORIG_IMG (same bytes as ORIG_IMG), notplain (anything but
 *       the plain pattern).  Every sector must match one of the listed
 *       alternatives.  Prints the first mismatching sector with a guess of
 *       what it holds and exits 1 on mismatch (--key is needed only for
 *       'encrypted' and for the diagnosis).
 *   tvcrypt find --image IMG (--string S | --file F) [--allow FIRST-LAST]...
 *       Look for the bytes S (default: the pattern marker "TV-PLAINTEXT") or
 *       the contents of F (e.g. the key) anywhere in IMG; print the sectors
 *       holding a hit outside the allowed ranges and exit 1 if there are any.
 *   tvcrypt genkey --size 32|64 [--number N] OUT
 *       Write the deterministic test key N (pattern.h: tvp_key_byte).
 *   tvcrypt derivekey --pass P [--salt-hex H] [--iter N] [--size 32|64] OUT
 *       The passphrase key of docs/storage.md: PBKDF2-HMAC-SHA256(P, salt,
 *       iter, size) with the defaults salt "thinvisor", 100000, 64.
 *   tvcrypt selftest
 *       IEEE 1619 vectors through EVP, plus an independent XTS built on
 *       AES-ECB compared against EVP on random sectors and LBAs >= 2^32.
 *
 * Exit status: 0 ok, 1 check/find mismatch or selftest failure, 2 usage or
 * I/O error.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -Itests/guests/lib -o build/tools/tvcrypt
 *        tools/tvcrypt.c -lcrypto
 */
#define _FILE_OFFSET_BITS 64
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "pattern.h"

#define SECTOR 512

static const char *prog = "tvcrypt";

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void usage(void) __attribute__((noreturn));
static void usage(void)
{
	fprintf(stderr,
		"usage: tvcrypt encrypt|decrypt --key K [--first L] [--count N] [--offset-lba L] IN OUT\n"
		"       tvcrypt fill --pattern SEED --first L --count N [--key K] IMG\n"
		"       tvcrypt check --key K --image IMG --lba FIRST --count N --pattern SEED\n"
		"                     --expect {encrypted|plain|zero|notplain|unchanged:ORIG}[,...]\n"
		"       tvcrypt find --image IMG [--string S | --file F] [--allow FIRST-LAST]...\n"
		"       tvcrypt genkey --size 32|64 [--number N] OUT\n"
		"       tvcrypt derivekey --pass P [--salt-hex H] [--iter N] [--size 32|64] OUT\n"
		"       tvcrypt selftest\n");
	exit(2);
}

static uint64_t parse_num(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		die("bad number for %s: '%s'", opt, s);
	return v;
}

/* ---------------------------------------------------------------- keys */

struct key {
	uint8_t b[64];
	size_t len;
};

static void load_key(const char *path, struct key *k)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die("%s: %s", path, strerror(errno));
	uint8_t buf[65];
	size_t n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n != 32 && n != 64)
		die("%s: a key file holds exactly 32 or 64 bytes (this one has %s%zu)", path,
		    n == sizeof(buf) ? "more than " : "", n == sizeof(buf) ? (size_t)64 : n);
	memcpy(k->b, buf, n);
	k->len = n;
	if (!memcmp(k->b, k->b + n / 2, n / 2))
		die("%s: the two XTS key halves are equal (OpenSSL refuses that)", path);
}

static const EVP_CIPHER *xts_cipher(size_t keylen)
{
	return keylen == 32 ? EVP_aes_128_xts() : EVP_aes_256_xts();
}

static void tweak_of(uint64_t lba, uint8_t iv[16])
{
	for (int i = 0; i < 8; i++)
		iv[i] = (uint8_t)(lba >> (8 * i));
	memset(iv + 8, 0, 8);
}

/* One sector through EVP AES-XTS (in and out may alias). */
struct xts {
	EVP_CIPHER_CTX *enc, *dec;
};

static void xts_init(struct xts *x, const struct key *k)
{
	x->enc = EVP_CIPHER_CTX_new();
	x->dec = EVP_CIPHER_CTX_new();
	if (!x->enc || !x->dec ||
	    EVP_CipherInit_ex(x->enc, xts_cipher(k->len), NULL, k->b, NULL, 1) != 1 ||
	    EVP_CipherInit_ex(x->dec, xts_cipher(k->len), NULL, k->b, NULL, 0) != 1)
		die("OpenSSL refused the XTS key");
}

static void xts_free(struct xts *x)
{
	EVP_CIPHER_CTX_free(x->enc);
	EVP_CIPHER_CTX_free(x->dec);
}

static void xts_sector(struct xts *x, int enc, uint64_t lba, const uint8_t *in, uint8_t *out,
		       size_t len)
{
	uint8_t iv[16];
	int n = 0;
	EVP_CIPHER_CTX *c = enc ? x->enc : x->dec;
	tweak_of(lba, iv);
	if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, enc) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)len) != 1 || n != (int)len)
		die("OpenSSL XTS failed at sector %" PRIu64, lba);
}

/* ---------------------------------------------------------------- files */

static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	if (stat(a, &sa) || stat(b, &sb))
		return 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int read_sector(int fd, uint64_t s, uint8_t *buf)
{
	ssize_t n = pread(fd, buf, SECTOR, (off_t)(s * SECTOR));
	if (n < 0)
		die("read of sector %" PRIu64 " failed: %s", s, strerror(errno));
	if (n < SECTOR)
		memset(buf + n, 0, SECTOR - (size_t)n);
	return (int)n;
}

static void write_sector(int fd, uint64_t s, const uint8_t *buf)
{
	ssize_t n = pwrite(fd, buf, SECTOR, (off_t)(s * SECTOR));
	if (n != SECTOR)
		die("write of sector %" PRIu64 " failed: %s", s, n < 0 ? strerror(errno) : "short");
}

static uint64_t file_sectors(int fd, const char *path)
{
	struct stat st;
	if (fstat(fd, &st))
		die("%s: %s", path, strerror(errno));
	if (st.st_size % SECTOR)
		die("%s: size %lld is not a multiple of %d", path, (long long)st.st_size, SECTOR);
	return (uint64_t)st.st_size / SECTOR;
}

static int is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* ---------------------------------------------------------------- options */

struct opts {
	const char *key, *image, *string, *file, *expect, *pass, *salt;
	uint64_t iter;
	int have_iter;
	uint64_t first, count, offset, seed, size, number;
	int have_first, have_count, have_seed, have_size;
	const char *allow[64];
	int nallow;
	const char *pos[4];
	int npos;
};

static void parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] != '-') {
			if (o->npos >= 4)
				usage();
			o->pos[o->npos++] = a;
			continue;
		}
		if (i + 1 >= argc)
			die("%s needs a value", a);
		const char *v = argv[++i];
		if (!strcmp(a, "--key"))
			o->key = v;
		else if (!strcmp(a, "--image"))
			o->image = v;
		else if (!strcmp(a, "--string"))
			o->string = v;
		else if (!strcmp(a, "--file"))
			o->file = v;
		else if (!strcmp(a, "--expect"))
			o->expect = v;
		else if (!strcmp(a, "--pass"))
			o->pass = v;
		else if (!strcmp(a, "--salt-hex"))
			o->salt = v;
		else if (!strcmp(a, "--iter"))
			o->iter = parse_num(a, v), o->have_iter = 1;
		else if (!strcmp(a, "--first") || !strcmp(a, "--lba"))
			o->first = parse_num(a, v), o->have_first = 1;
		else if (!strcmp(a, "--count"))
			o->count = parse_num(a, v), o->have_count = 1;
		else if (!strcmp(a, "--offset-lba"))
			o->offset = parse_num(a, v);
		else if (!strcmp(a, "--pattern"))
			o->seed = parse_num(a, v), o->have_seed = 1;
		else if (!strcmp(a, "--size"))
			o->size = parse_num(a, v), o->have_size = 1;
		else if (!strcmp(a, "--number"))
			o->number = parse_num(a, v);
		else if (!strcmp(a, "--allow")) {
			if (o->nallow >= 64)
				die("too many --allow");
			o->allow[o->nallow++] = v;
		} else
			die("unknown option %s", a);
	}
	if (o->have_seed && o->seed > 0xffffffffu)
		die("--pattern must fit in 32 bits");
}

/* ---------------------------------------------------------------- encrypt/decrypt */

static int cmd_crypt(int enc, struct opts *o)
{
	if (!o->key || o->npos != 2)
		usage();
	struct key k;
	struct xts x;
	load_key(o->key, &k);
	xts_init(&x, &k);

	int inplace = same_file(o->pos[0], o->pos[1]);
	int in = open(o->pos[0], O_RDONLY);
	if (in < 0)
		die("%s: %s", o->pos[0], strerror(errno));
	uint64_t n = file_sectors(in, o->pos[0]);
	int out = open(o->pos[1], inplace ? O_RDWR : O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (out < 0)
		die("%s: %s", o->pos[1], strerror(errno));
	uint64_t first = o->have_first ? o->first : 0;
	uint64_t count = o->have_count ? o->count : (first < n ? n - first : 0);
	if (first > n || count > n - first)
		die("range %" PRIu64 "+%" PRIu64 " is beyond the %" PRIu64 " sectors of %s", first,
		    count, n, o->pos[0]);
	if (!inplace && ftruncate(out, (off_t)(n * SECTOR)))
		die("%s: %s", o->pos[1], strerror(errno));

	uint8_t buf[SECTOR];
	uint64_t lo = inplace ? first : 0, hi = inplace ? first + count : n;
	for (uint64_t s = lo; s < hi; s++) {
		read_sector(in, s, buf);
		if (s >= first && s < first + count)
			xts_sector(&x, enc, s + o->offset, buf, buf, SECTOR);
		else if (is_zero(buf, SECTOR))
			continue; /* keep holes sparse (OUT was truncated to size) */
		write_sector(out, s, buf);
	}
	if (close(out))
		die("%s: %s", o->pos[1], strerror(errno));
	close(in);
	xts_free(&x);
	return 0;
}

/* ---------------------------------------------------------------- fill */

static int cmd_fill(struct opts *o)
{
	if (o->npos != 1 || !o->have_seed || !o->have_first || !o->have_count)
		usage();
	struct key k;
	struct xts x;
	if (o->key) {
		load_key(o->key, &k);
		xts_init(&x, &k);
	}
	int fd = open(o->pos[0], O_RDWR | O_CREAT, 0644);
	if (fd < 0)
		die("%s: %s", o->pos[0], strerror(errno));
	uint8_t buf[SECTOR];
	for (uint64_t s = o->first; s < o->first + o->count; s++) {
		tvp_fill(buf, s, (uint32_t)o->seed);
		if (o->key)
			xts_sector(&x, 1, s, buf, buf, SECTOR);
		write_sector(fd, s, buf);
	}
	if (close(fd))
		die("%s: %s", o->pos[0], strerror(errno));
	if (o->key)
		xts_free(&x);
	return 0;
}

/* ---------------------------------------------------------------- check */

enum want { W_ENCRYPTED, W_PLAIN, W_ZERO, W_NOTPLAIN, W_UNCHANGED };
struct alt {
	enum want w;
	const char *orig;
	int fd;
};

/* Describe what a sector holds, for the mismatch report. */
static void describe(const uint8_t *sec, uint64_t lba, uint64_t first, struct xts *x,
		     const struct alt *unch, char *out, size_t outsz)
{
	uint64_t pl;
	uint32_t ps;
	uint8_t tmp[SECTOR];

	if (is_zero(sec, SECTOR)) {
		snprintf(out, outsz, "all zero");
		return;
	}
	if (tvp_identify(sec, &pl, &ps)) {
		snprintf(out, outsz, "PLAINTEXT pattern of LBA %" PRIu64 " seed 0x%x%s", pl, ps,
			 pl == lba ? "" : " (from another LBA!)");
		return;
	}
	if (unch && unch->fd >= 0) {
		read_sector(unch->fd, lba, tmp);
		if (!memcmp(tmp, sec, SECTOR)) {
			snprintf(out, outsz, "unchanged from %s", unch->orig);
			return;
		}
	}
	if (x) {
		/* Try the tweaks a buggy implementation might use. */
		struct {
			uint64_t t;
			const char *what;
		} tries[] = {
			{ lba, "its own LBA (right tweak)" },
			{ first, "the first LBA of the range" },
			{ lba & 0xffffffffu, "the LBA truncated to 32 bits" },
			{ __builtin_bswap64(lba), "the LBA big-endian" },
			{ lba - 1, "LBA-1" },
			{ lba + 1, "LBA+1" },
			{ 0, "tweak 0" },
		};
		for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
			xts_sector(x, 0, tries[i].t, sec, tmp, SECTOR);
			if (tvp_identify(tmp, &pl, &ps)) {
				snprintf(out, outsz,
					 "ciphertext of the pattern of LBA %" PRIu64
					 " seed 0x%x, decrypting with tweak %" PRIu64 " = %s",
					 pl, ps, tries[i].t, tries[i].what);
				return;
			}
		}
	}
	char hex[3 * 16 + 1];
	for (int i = 0; i < 16; i++)
		sprintf(hex + 3 * i, "%02x ", sec[i]);
	hex[3 * 16 - 1] = 0;
	snprintf(out, outsz, "unrecognised data (%s ...)", hex);
}

static const char *want_name(enum want w)
{
	switch (w) {
	case W_ENCRYPTED: return "encrypted";
	case W_PLAIN: return "plain";
	case W_ZERO: return "zero";
	case W_NOTPLAIN: return "notplain";
	case W_UNCHANGED: return "unchanged";
	}
	return "?";
}

static int cmd_check(struct opts *o)
{
	if (!o->image || !o->have_first || !o->have_count || !o->expect || o->npos)
		usage();
	struct alt alts[8];
	int nalt = 0, need_key = 0;
	struct alt *unch = NULL;
	char *spec = strdup(o->expect);
	for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
		if (nalt >= 8)
			die("too many --expect alternatives");
		struct alt *a = &alts[nalt++];
		a->fd = -1;
		a->orig = NULL;
		if (!strcmp(tok, "encrypted"))
			a->w = W_ENCRYPTED, need_key = 1;
		else if (!strcmp(tok, "plain"))
			a->w = W_PLAIN;
		else if (!strcmp(tok, "zero"))
			a->w = W_ZERO;
		else if (!strcmp(tok, "notplain"))
			a->w = W_NOTPLAIN;
		else if (!strncmp(tok, "unchanged:", 10) && tok[10]) {
			a->w = W_UNCHANGED;
			a->orig = tok + 10;
			a->fd = open(a->orig, O_RDONLY);
			if (a->fd < 0)
				die("%s: %s", a->orig, strerror(errno));
			unch = a;
		} else
			die("bad --expect '%s'", tok);
	}
	if ((need_key || alts[0].w == W_PLAIN || alts[0].w == W_NOTPLAIN) && !o->have_seed)
		die("--expect %s needs --pattern SEED", o->expect);
	if (need_key && !o->key)
		die("--expect encrypted needs --key");

	struct key k;
	struct xts x, *xp = NULL;
	if (o->key) {
		load_key(o->key, &k);
		xts_init(&x, &k);
		xp = &x;
	}
	int fd = open(o->image, O_RDONLY);
	if (fd < 0)
		die("%s: %s", o->image, strerror(errno));
	uint64_t n = file_sectors(fd, o->image);
	if (o->first > n || o->count > n - o->first)
		die("range %" PRIu64 "+%" PRIu64 " is beyond the %" PRIu64 " sectors of %s",
		    o->first, o->count, n, o->image);

	uint8_t sec[SECTOR], pat[SECTOR], enc[SECTOR], orig[SECTOR];
	uint64_t bad = 0, first_bad = 0;
	uint64_t hits[8] = { 0 };
	char what[256] = "";
	for (uint64_t s = o->first; s < o->first + o->count; s++) {
		read_sector(fd, s, sec);
		tvp_fill(pat, s, (uint32_t)o->seed);
		int ok = 0;
		for (int i = 0; i < nalt && !ok; i++) {
			switch (alts[i].w) {
			case W_ENCRYPTED:
				xts_sector(&x, 1, s, pat, enc, SECTOR);
				ok = !memcmp(sec, enc, SECTOR);
				break;
			case W_PLAIN:
				ok = !memcmp(sec, pat, SECTOR);
				break;
			case W_ZERO:
				ok = is_zero(sec, SECTOR);
				break;
			case W_NOTPLAIN:
				ok = memcmp(sec, pat, SECTOR) != 0;
				break;
			case W_UNCHANGED:
				read_sector(alts[i].fd, s, orig);
				ok = !memcmp(sec, orig, SECTOR);
				break;
			}
			if (ok)
				hits[i]++;
		}
		if (!ok && bad++ == 0) {
			first_bad = s;
			describe(sec, s, o->first, xp, unch, what, sizeof(what));
		}
	}
	if (bad) {
		printf("tvcrypt check: %s sectors %" PRIu64 "-%" PRIu64 ": %" PRIu64
		       " of %" PRIu64 " are not %s; first: sector %" PRIu64 " holds %s\n",
		       o->image, o->first, o->first + o->count - 1, bad, o->count, o->expect,
		       first_bad, what);
	} else {
		printf("tvcrypt check: %s sectors %" PRIu64 "-%" PRIu64 " ok:", o->image,
		       o->first, o->first + o->count - 1);
		for (int i = 0; i < nalt; i++)
			printf(" %" PRIu64 " %s", hits[i], want_name(alts[i].w));
		printf("\n");
	}
	for (int i = 0; i < nalt; i++)
		if (alts[i].fd >= 0)
			close(alts[i].fd);
	free(spec);
	close(fd);
	if (xp)
		xts_free(xp);
	return bad ? 1 : 0;
}

/* ---------------------------------------------------------------- find */

static int cmd_find(struct opts *o)
{
	if (!o->image || o->npos || (o->string && o->file))
		usage();
	uint8_t needle[4096];
	size_t nlen;
	if (o->file) {
		FILE *f = fopen(o->file, "rb");
		if (!f)
			die("%s: %s", o->file, strerror(errno));
		nlen = fread(needle, 1, sizeof(needle), f);
		fclose(f);
	} else {
		const char *s = o->string ? o->string : TVP_MARKER;
		nlen = strlen(s);
		if (nlen > sizeof(needle))
			die("--string too long");
		memcpy(needle, s, nlen);
	}
	if (!nlen)
		die("nothing to look for");

	uint64_t alo[64], ahi[64];
	for (int i = 0; i < o->nallow; i++) {
		const char *v = o->allow[i], *dash = strchr(v, '-');
		if (!dash)
			die("--allow wants FIRST-LAST, got '%s'", v);
		char tmp[64];
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(dash - v), v);
		alo[i] = parse_num("--allow", tmp);
		ahi[i] = parse_num("--allow", dash + 1);
	}

	int fd = open(o->image, O_RDONLY);
	if (fd < 0)
		die("%s: %s", o->image, strerror(errno));
	const size_t chunk = 4u << 20;
	uint8_t *buf = malloc(chunk + nlen);
	if (!buf)
		die("out of memory");
	uint64_t pos = 0, bad = 0, allowed = 0, run_lo = 0, run_hi = 0;
	int have_run = 0, runs = 0;
	size_t keep = 0;
	for (;;) {
		ssize_t n = pread(fd, buf + keep, chunk, (off_t)(pos + keep));
		if (n < 0)
			die("%s: %s", o->image, strerror(errno));
		size_t avail = keep + (size_t)n;
		/* A hit needs nlen bytes, so none starts in the kept tail twice. */
		for (uint8_t *p = buf; avail >= nlen;) {
			p = memmem(p, (size_t)(buf + avail - p), needle, nlen);
			if (!p)
				break;
			uint64_t s = (pos + (uint64_t)(p - buf)) / SECTOR;
			int ok = 0;
			for (int i = 0; i < o->nallow; i++)
				ok |= s >= alo[i] && s <= ahi[i];
			if (ok) {
				allowed++;
			} else {
				bad++;
				if (have_run && s <= run_hi + 1) {
					run_hi = s;
				} else {
					if (have_run && runs++ < 20)
						printf("tvcrypt find: %s: found in sectors %" PRIu64
						       "-%" PRIu64 "\n", o->image, run_lo, run_hi);
					run_lo = run_hi = s;
					have_run = 1;
				}
			}
			p++;
		}
		if (n == 0)
			break;
		keep = avail < nlen - 1 ? avail : nlen - 1;
		pos += avail - keep;
		memmove(buf, buf + avail - keep, keep);
	}
	if (have_run && runs++ < 20)
		printf("tvcrypt find: %s: found in sectors %" PRIu64 "-%" PRIu64 "\n", o->image,
		       run_lo, run_hi);
	free(buf);
	close(fd);
	const char *what = o->file ? o->file : o->string ? o->string : TVP_MARKER;
	if (bad) {
		printf("tvcrypt find: %s: %" PRIu64 " hit(s) of '%s' outside the allowed ranges"
		       " (%" PRIu64 " allowed)\n", o->image, bad, what, allowed);
		return 1;
	}
	printf("tvcrypt find: %s: no '%s' outside the allowed ranges (%" PRIu64 " allowed)\n",
	       o->image, what, allowed);
	return 0;
}

/* ---------------------------------------------------------------- genkey */

static int cmd_genkey(struct opts *o)
{
	if (o->npos != 1 || !o->have_size || (o->size != 32 && o->size != 64))
		usage();
	uint8_t k[64];
	for (uint32_t i = 0; i < o->size; i++)
		k[i] = tvp_key_byte((uint32_t)o->number, (uint32_t)o->size, i);
	if (!memcmp(k, k + o->size / 2, o->size / 2))
		die("generated key has equal halves");
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", o->pos[0], (int)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f || fwrite(k, 1, o->size, f) != o->size || fclose(f))
		die("%s: %s", tmp, strerror(errno));
	if (rename(tmp, o->pos[0]))
		die("%s: %s", o->pos[0], strerror(errno));
	return 0;
}

/* ---------------------------------------------------------------- derivekey */

static void write_file_atomic(const char *path, const uint8_t *b, size_t n)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f))
		die("%s: %s", tmp, strerror(errno));
	if (rename(tmp, path))
		die("%s: %s", path, strerror(errno));
}

static int cmd_derivekey(struct opts *o)
{
	if (o->npos != 1 || !o->pass)
		usage();
	uint64_t size = o->have_size ? o->size : 64;
	uint64_t iter = o->have_iter ? o->iter : 100000;
	if (size != 32 && size != 64)
		die("--size must be 32 or 64");
	if (!iter || iter > 0x7fffffff)
		die("bad --iter");
	uint8_t salt[256], key[64];
	size_t slen;
	if (o->salt) {
		size_t hl = strlen(o->salt);
		if (hl % 2 || hl / 2 > sizeof(salt))
			die("--salt-hex wants an even number of hex digits (at most 512)");
		for (size_t i = 0; i < hl; i++)
			if (!strchr("0123456789abcdefABCDEF", o->salt[i]))
				die("--salt-hex: '%c' is not a hex digit", o->salt[i]);
		slen = hl / 2;
		for (size_t i = 0; i < slen; i++) {
			unsigned v;
			sscanf(o->salt + 2 * i, "%2x", &v);
			salt[i] = (uint8_t)v;
		}
	} else {
		slen = 9;
		memcpy(salt, "thinvisor", 9);
	}
	if (PKCS5_PBKDF2_HMAC(o->pass, (int)strlen(o->pass), salt, (int)slen, (int)iter,
			      EVP_sha256(), (int)size, key) != 1)
		die("PBKDF2 failed");
	write_file_atomic(o->pos[0], key, size);
	return 0;
}

/* ---------------------------------------------------------------- selftest */

/*
 * An independent XTS: AES block encryption from EVP's ECB mode, the
 * tweak schedule (multiplication by alpha in GF(2^128), little-endian as
 * in IEEE 1619) done here by hand.  Full blocks only.
 */
static void ecb_block(const struct key *k, int which, int enc, const uint8_t in[16],
		      uint8_t out[16])
{
	const EVP_CIPHER *c = k->len == 32 ? EVP_aes_128_ecb() : EVP_aes_256_ecb();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n = 0;
	if (!ctx || EVP_CipherInit_ex(ctx, c, NULL, k->b + which * (k->len / 2), NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_set_padding(ctx, 0) != 1 ||
	    EVP_CipherUpdate(ctx, out, &n, in, 16) != 1 || n != 16)
		die("AES-ECB failed");
	EVP_CIPHER_CTX_free(ctx);
}

static void ref_xts(const struct key *k, int enc, const uint8_t tweak[16], const uint8_t *in,
		    uint8_t *out, size_t len)
{
	uint8_t t[16], b[16];
	ecb_block(k, 1, 1, tweak, t);
	for (size_t off = 0; off + 16 <= len; off += 16) {
		for (int i = 0; i < 16; i++)
			b[i] = in[off + i] ^ t[i];
		ecb_block(k, 0, enc, b, b);
		for (int i = 0; i < 16; i++)
			out[off + i] = b[i] ^ t[i];
		/* t *= alpha */
		int carry = t[15] >> 7;
		for (int i = 15; i > 0; i--)
			t[i] = (uint8_t)(t[i] << 1 | t[i - 1] >> 7);
		t[0] = (uint8_t)(t[0] << 1);
		if (carry)
			t[0] ^= 0x87;
	}
}

static size_t unhex(const char *h, uint8_t *out)
{
	size_t n = 0;
	for (; h[0] && h[1]; h += 2) {
		unsigned v;
		sscanf(h, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static int cmd_selftest(void)
{
	/* IEEE 1619-2007 Annex B: vectors 2, 3 (AES-128) and the first two
	 * blocks of vector 10 (AES-256, data unit 0xff). */
	static const struct {
		const char *name, *key, *ptx, *ctx;
		uint64_t dun;
	} v[] = {
		{ "IEEE 1619 vector 2",
		  "1111111111111111111111111111111122222222222222222222222222222222",
		  "4444444444444444444444444444444444444444444444444444444444444444",
		  "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0",
		  0x3333333333ull },
		{ "IEEE 1619 vector 3",
		  "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f022222222222222222222222222222222",
		  "4444444444444444444444444444444444444444444444444444444444444444",
		  "af85336b597afc1a900b2eb21ec949d292df4c047e0b21532186a5971a227a89",
		  0x3333333333ull },
		{ "IEEE 1619 vector 10 (first 32 bytes)",
		  "27182818284590452353602874713526624977572470936999595749669676273141592653589793238462643383279502884197169399375105820974944592",
		  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		  "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b",
		  0xff },
	};
	int fails = 0;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		struct key k;
		uint8_t p[64], c[64], o1[64], o2[64], iv[16];
		k.len = unhex(v[i].key, k.b);
		size_t n = unhex(v[i].ptx, p);
		unhex(v[i].ctx, c);
		struct xts x;
		xts_init(&x, &k);
		xts_sector(&x, 1, v[i].dun, p, o1, n);
		tweak_of(v[i].dun, iv);
		ref_xts(&k, 1, iv, p, o2, n);
		int ok = !memcmp(o1, c, n) && !memcmp(o2, c, n);
		xts_sector(&x, 0, v[i].dun, c, o1, n);
		ok &= !memcmp(o1, p, n);
		printf("%s %s (EVP XTS and independent XTS)\n", ok ? "ok  " : "FAIL", v[i].name);
		fails += !ok;
		xts_free(&x);
	}

	/* Random keys, sectors and LBAs (some above 2^32): EVP vs reference. */
	for (int ks = 32; ks <= 64; ks += 32) {
		struct key k;
		k.len = (size_t)ks;
		do
			RAND_bytes(k.b, ks);
		while (!memcmp(k.b, k.b + ks / 2, (size_t)ks / 2));
		struct xts x;
		xts_init(&x, &k);
		int bad = 0;
		for (int t = 0; t < 200; t++) {
			uint8_t p[SECTOR], c1[SECTOR], c2[SECTOR], iv[16];
			uint64_t lba;
			RAND_bytes(p, SECTOR);
			RAND_bytes((uint8_t *)&lba, sizeof(lba));
			if (t % 4 == 0)
				lba &= 0xffffffffull;
			if (t % 4 == 1)
				lba = 0xffffffffull + (uint64_t)(t / 4);
			if (t == 2)
				lba = 0;
			xts_sector(&x, 1, lba, p, c1, SECTOR);
			tweak_of(lba, iv);
			ref_xts(&k, 1, iv, p, c2, SECTOR);
			bad += memcmp(c1, c2, SECTOR) != 0;
			ref_xts(&k, 0, iv, c1, c2, SECTOR);
			bad += memcmp(c2, p, SECTOR) != 0;
		}
		printf("%s AES-%d-XTS: 200 random sectors, EVP == independent XTS\n",
		       bad ? "FAIL" : "ok  ", ks * 4);
		fails += bad != 0;
		xts_free(&x);
	}

	/* The pattern: deterministic, LBA- and seed-dependent, identifiable. */
	uint8_t a[SECTOR], b[SECTOR];
	uint64_t l;
	uint32_t s;
	tvp_fill(a, 12345, 7);
	tvp_fill(b, 12346, 7);
	int ok = memcmp(a, b, SECTOR) && tvp_check(a, 12345, 7) == -1 &&
		 tvp_check(a, 12345, 8) >= 0 && tvp_identify(a, &l, &s) && l == 12345 && s == 7 &&
		 !memcmp(a, TVP_MARKER, TVP_MARKER_LEN);
	printf("%s pattern sectors are distinct and identifiable\n", ok ? "ok  " : "FAIL");
	fails += !ok;
	printf("%s\n", fails ? "selftest FAILED" : "selftest passed");
	return fails ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (argc < 2)
		usage();
	const char *cmd = argv[1];
	parse_opts(argc - 2, argv + 2, &o);
	if (!strcmp(cmd, "encrypt"))
		return cmd_crypt(1, &o);
	if (!strcmp(cmd, "decrypt"))
		return cmd_crypt(0, &o);
	if (!strcmp(cmd, "fill"))
		return cmd_fill(&o);
	if (!strcmp(cmd, "check"))
		return cmd_check(&o);
	if (!strcmp(cmd, "find"))
		return cmd_find(&o);
	if (!strcmp(cmd, "genkey"))
		return cmd_genkey(&o);
	if (!strcmp(cmd, "derivekey"))
		return cmd_derivekey(&o);
	if (!strcmp(cmd, "selftest"))
		return cmd_selftest();
	usage();
}
