/*
 * Host benchmark of thinvisor's XTS-AES (crypto/) against OpenSSL.
 *
 *   bench-xts [-o FILE] [-m MIB] [-p MIB] [-r REPS]
 *
 * Encrypts and decrypts, in place, a buffer of -m MiB (default 256) in
 * 1 MiB runs of 512-byte sectors (dm-crypt aes-xts-plain64: sector n uses
 * IV = n little-endian), for AES-128-XTS and AES-256-XTS, and reports the
 * best of -r runs (default 3) in MB/s (10^6 bytes per second):
 *   openssl/sector  EVP_aes_*_xts, one EVP_CipherInit_ex(iv) + EVP_CipherUpdate
 *                   per 512-byte sector: what dm-crypt-compatible use of EVP costs;
 *   openssl/bulk    EVP_aes_*_xts over each 1 MiB run as ONE data unit (not the
 *                   dm-crypt format; OpenSSL's raw XTS speed, for reference);
 *   tv/aesni        xts_*_sectors, AES-NI back end (if the CPU has AES-NI);
 *   tv/portable     xts_*_sectors, portable constant-time back end, over -p MiB
 *                   (default 16: it is two orders of magnitude slower).
 * The ratio columns divide by openssl/sector and openssl/bulk.  The table
 * goes to stdout and to FILE (default bench/xts.txt).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "tv/crypto.h"

#define RUN_BYTES (1u << 20)
#define RUN_SECTORS (RUN_BYTES / XTS_SECTOR_SIZE)

enum impl { OSSL_SECTOR, OSSL_BULK, TV_AESNI, TV_PORTABLE, NIMPL };

static const char *impl_name[NIMPL] = { "openssl/sector", "openssl/bulk", "tv/aesni", "tv/portable" };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-xts: %s\n", what);
	exit(1);
}

/* One pass over buf (len bytes, whole MiB runs); returns seconds. */
static double pass(enum impl im, int enc, const u8 *key, size_t keylen, u8 *buf, size_t len)
{
	const EVP_CIPHER *ciph = keylen == 32 ? EVP_aes_128_xts() : EVP_aes_256_xts();
	EVP_CIPHER_CTX *c = NULL;
	struct xts_key *k = NULL;
	double t0, t;
	u64 sector = 0;

	if (im == OSSL_SECTOR || im == OSSL_BULK) {
		c = EVP_CIPHER_CTX_new();
		if (!c || EVP_CipherInit_ex(c, ciph, NULL, key, NULL, enc) != 1)
			die("EVP_CipherInit_ex failed");
	} else {
		k = aligned_alloc(64, (sizeof(*k) + 63) & ~(size_t)63);
		if (!k)
			die("out of memory");
		if (xts_setkey_backend(k, key, keylen,
				       im == TV_AESNI ? XTS_BACKEND_AESNI : XTS_BACKEND_PORTABLE))
			die("xts_setkey_backend failed");
	}
	t0 = now();
	for (size_t off = 0; off < len; off += RUN_BYTES, sector += RUN_SECTORS) {
		u8 *run = buf + off;
		u8 iv[16] = { 0 };
		int n;

		switch (im) {
		case OSSL_SECTOR:
			for (size_t i = 0; i < RUN_SECTORS; i++) {
				u64 s = sector + i;

				memcpy(iv, &s, 8);
				if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, -1) != 1 ||
				    EVP_CipherUpdate(c, run + 512 * i, &n, run + 512 * i, 512) != 1)
					die("EVP per-sector failed");
			}
			break;
		case OSSL_BULK:
			memcpy(iv, &sector, 8);
			if (EVP_CipherInit_ex(c, NULL, NULL, NULL, iv, -1) != 1 ||
			    EVP_CipherUpdate(c, run, &n, run, RUN_BYTES) != 1)
				die("EVP bulk failed");
			break;
		case TV_AESNI:
		case TV_PORTABLE:
			if (enc)
				xts_encrypt_sectors(k, sector, run, run, RUN_SECTORS);
			else
				xts_decrypt_sectors(k, sector, run, run, RUN_SECTORS);
			break;
		default:
			break;
		}
	}
	t = now() - t0;
	if (c)
		EVP_CIPHER_CTX_free(c);
	if (k) {
		xts_wipe(k);
		free(k);
	}
	return t;
}

static double best_mbps(enum impl im, int enc, const u8 *key, size_t keylen, u8 *buf, size_t len,
			int reps)
{
	double best = 0;

	for (int r = 0; r < reps; r++) {
		double s = pass(im, enc, key, keylen, buf, len);
		double mbps = len / s / 1e6;

		if (mbps > best)
			best = mbps;
	}
	return best;
}

static void cpu_model(char *out, size_t size)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(out, size, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "model name", 10)) {
			char *p = strchr(line, ':');

			if (p) {
				p += 2;
				p[strcspn(p, "\n")] = 0;
				snprintf(out, size, "%s", p);
			}
			break;
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	const char *outpath = "bench/xts.txt";
	size_t mib = 256, pmib = 16;
	int reps = 3, opt;
	char cpu[128], line[256];
	static char table[8192];
	size_t tl = 0;

	while ((opt = getopt(argc, argv, "o:m:p:r:")) != -1) {
		switch (opt) {
		case 'o':
			outpath = optarg;
			break;
		case 'm':
			mib = strtoul(optarg, NULL, 0);
			break;
		case 'p':
			pmib = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: %s [-o FILE] [-m MIB] [-p MIB] [-r REPS]\n", argv[0]);
			return 2;
		}
	}
	if (optind < argc)
		outpath = argv[optind];
	if (!mib || !pmib || reps < 1)
		die("sizes and repetitions must be positive");

	size_t len = mib << 20, plen = (pmib < mib ? pmib : mib) << 20;
	u8 *buf = aligned_alloc(4096, len);
	if (!buf)
		die("out of memory");
	for (size_t i = 0; i < len; i++)
		buf[i] = (u8)(i * 131 + (i >> 12));

	u8 key[64];
	for (int i = 0; i < 64; i++)
		key[i] = (u8)(i * 37 + 11);
	bool ni = aesni_available();

	cpu_model(cpu, sizeof(cpu));
#define EMIT(...)                                                                  \
	do {                                                                       \
		snprintf(line, sizeof(line), __VA_ARGS__);                         \
		fputs(line, stdout);                                               \
		fflush(stdout);                                                    \
		tl += (size_t)snprintf(table + tl, sizeof(table) - tl, "%s", line); \
	} while (0)

	EMIT("# thinvisor XTS-AES benchmark (dm-crypt aes-xts-plain64, 512-byte sectors, in place)\n");
	EMIT("# %zu MiB in 1 MiB runs (tv/portable: %zu MiB), best of %d; MB/s = 10^6 bytes/s\n",
	     mib, plen >> 20, reps);
	EMIT("# CPU: %s; AES-NI: %s; %s\n", cpu, ni ? "yes" : "no", OpenSSL_version(OPENSSL_VERSION));
	EMIT("%-12s %-4s %-15s %10s %12s %10s\n", "cipher", "dir", "impl", "MB/s", "/ossl-sector",
	     "/ossl-bulk");

	for (int kb = 0; kb < 2; kb++) {
		size_t keylen = kb ? 64 : 32;

		for (int enc = 1; enc >= 0; enc--) {
			double r[NIMPL] = { 0 };

			/* decrypt in the reverse order, so each decryption undoes its
			 * own encryption and the buffer ends as it began (checked below) */
			for (int j = 0; j < NIMPL; j++) {
				int im = enc ? j : NIMPL - 1 - j;

				if (im == TV_AESNI && !ni)
					continue;
				r[im] = best_mbps(im, enc, key, keylen, buf, im == TV_PORTABLE ? plen : len,
						  reps);
			}
			for (int im = 0; im < NIMPL; im++) {
				if (im == TV_AESNI && !ni)
					continue;
				EMIT("%-12s %-4s %-15s %10.1f %12.3f %10.3f\n",
				     kb ? "aes-256-xts" : "aes-128-xts", enc ? "enc" : "dec", impl_name[im],
				     r[im], r[im] / r[OSSL_SECTOR], r[im] / r[OSSL_BULK]);
			}
		}
	}

	/* every implementation encrypted reps times and later decrypted reps
	 * times with the same key and sectors, in mirrored order: the buffer is
	 * back to its pattern only if each decryption inverted its encryption */
	for (size_t i = 0; i < len; i++)
		if (buf[i] != (u8)(i * 131 + (i >> 12)))
			die("buffer not restored: an implementation did not round-trip");

	if (!strcmp(outpath, "bench/xts.txt"))
		mkdir("bench", 0777);
	FILE *f = fopen(outpath, "w");
	if (!f) {
		fprintf(stderr, "bench-xts: %s: %s\n", outpath, strerror(errno));
		return 1;
	}
	fputs(table, f);
	fclose(f);
	printf("# written to %s\n", outpath);
	free(buf);
	return 0;
}
