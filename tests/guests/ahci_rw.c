/* SPDX-License-Identifier: MIT */
/*
 * ahci_rw: DMA through the (mediated) AHCI disk on q35's ICH9.
 *
 * Writes pattern sectors (lib/pattern.h) with WRITE DMA EXT and WRITE FPDMA
 * QUEUED (NCQ, PxSACT) through PRDTs of several shapes (odd addresses,
 * entries that are not sector multiples, a 2048-sector and an
 * 8192-sector transfer), reads them back with the *other* command family
 * and a different PRDT shape into sentinel-filled buffers and verifies
 * them.  Ends with "DISK first count seed expect" lines for
 * tests/system/storage.sh (under thinvisor: AES-XTS ciphertext on the
 * image; natively: the plain pattern).
 */
#include "ahci.h"

const char test_name[] = "ahci_rw";

#define SEED 0xA4C100u

static struct ahci a;
static uint8_t *wb, *rb;

struct t {
	uint8_t wcmd, rcmd;
	uint64_t lba;
	uint32_t count;
	uint32_t woff, wseg, roff, rseg; /* buffer offsets and segment sizes */
};

/* Segments of at most seg bytes over [base, +bytes). */
static int mk_sg(struct sg *s, int max, uint32_t base, uint32_t bytes, uint32_t seg)
{
	int n = 0;
	while (bytes && n < max) {
		uint32_t l = bytes < seg ? bytes : seg;
		s[n].addr = base, s[n].len = l;
		base += l, bytes -= l, n++;
	}
	return bytes ? -1 : n;
}

static const char *nm(uint8_t c)
{
	switch (c) {
	case 0x25: return "READ DMA EXT";
	case 0x35: return "WRITE DMA EXT";
	case 0x60: return "READ FPDMA QUEUED";
	case 0x61: return "WRITE FPDMA QUEUED";
	default: return "?";
	}
}

static struct sg sg[AHCI_PRDT_N];

static void do_write(const struct t *x, uint32_t seed, int slot)
{
	uint32_t bytes = x->count * 512;
	uint8_t *buf = wb + x->woff;
	pat_fill(buf, x->lba, x->count, seed);
	int n = mk_sg(sg, AHCI_PRDT_N, (uint32_t)(uintptr_t)buf, bytes, x->wseg);
	struct ahci_res r = ahci_rw(&a, slot, x->wcmd, x->lba, x->count, sg, n);
	check(ahci_ok(&r, bytes), "%s LBA %llu+%u (%d PRD entries of <= %u bytes, slot %d): %s",
	      nm(x->wcmd), x->lba, x->count, n, x->wseg, slot, ahci_res_str(&r));
}

static void do_read(const struct t *x, uint32_t seed, int slot)
{
	uint32_t bytes = x->count * 512;
	uint8_t *buf = rb + x->roff;
	fill32(buf, bytes, SENTINEL);
	int n = mk_sg(sg, AHCI_PRDT_N, (uint32_t)(uintptr_t)buf, bytes, x->rseg);
	struct ahci_res r = ahci_rw(&a, slot, x->rcmd, x->lba, x->count, sg, n);
	uint32_t bad = ahci_ok(&r, bytes) ? pat_verify(buf, x->lba, x->count, seed, "read-back")
					  : x->count;
	check(ahci_ok(&r, bytes) && !bad,
	      "%s LBA %llu+%u (%d PRD entries, slot %d) reads the pattern back: %s, %u bad",
	      nm(x->rcmd), x->lba, x->count, n, slot, ahci_res_str(&r), bad);
}

void test_main(void)
{
	ide_timeout_s = 60;
	mem_init(0, 0);
	wb = mem_alloc(5u << 20, 0x1000);
	rb = mem_alloc(5u << 20, 0x1000);
	ahci_init(&a);
	if (!check(a.sectors >= 131072, "disk has >= 64 MiB (%llu sectors)", a.sectors))
		tg_finish();
	uint64_t last = a.sectors - 2;
	struct t t[] = {
		{ 0x35, 0x60, 0, 1, 0, 512, 0x3002, 512 },
		{ 0x35, 0x60, 1, 7, 0x11234, 3584, 0x4010, 1000 },
		{ 0x61, 0x25, 1000, 8, 0x20800, 2048, 0xB000, 4096 },
		{ 0x61, 0x25, 3000, 16, 0x30006, 1000, 0xD000, 8192 },
		{ 0x35, 0x25, 100000, 64, 0x40000, 65536, 0x50002, 3072 },
		{ 0x35, 0x60, 8192, 2048, 0x100000, 65536, 0x100000, 1u << 20 },
		{ 0x61, 0x25, 16384, 8192, 0x100000, 1u << 20, 0x100000, 65536 },
		{ 0x61, 0x60, last, 2, 0x80000, 1024, 0x80000, 1024 },
	};
	int nt = (int)(sizeof(t) / sizeof(t[0]));
	printf("ahci_rw: writing %d ranges\n", nt);
	for (int i = 0; i < nt; i++)
		do_write(&t[i], SEED + (uint32_t)i, i % AHCI_SLOTS);
	printf("ahci_rw: reading them back\n");
	for (int i = 0; i < nt; i++)
		do_read(&t[i], SEED + (uint32_t)i, (i + 1) % AHCI_SLOTS);
	/* A sub-range of the big transfer, and a rewrite that must win. */
	struct t p = { 0, 0x25, 16384 + 3000, 100, 0, 0, 0x7, 4098 };
	p.roff = 0x10002;
	do_read(&p, SEED + 6, 3);
	struct t rw = t[2];
	rw.wcmd = 0x35, rw.rcmd = 0x60;
	do_write(&rw, SEED + 0x100, 2);
	do_read(&rw, SEED + 0x100, 1);
	for (int i = 0; i < nt; i++)
		disk_note(t[i].lba, t[i].count, i == 2 ? SEED + 0x100 : SEED + (uint32_t)i,
			  "written");
	tg_finish();
}
