/* SPDX-License-Identifier: MIT */
/*
 * nvme_rw: Read/Write through the (mediated) NVMe namespace 1.
 *
 * Writes pattern sectors (lib/pattern.h; 512-byte LBAs) with one block,
 * one page, two pages (PRP2 = page), a buffer crossing a page at an odd
 * offset, a three-page PRP list, and a 1 MiB + 4 KiB transfer whose PRP
 * list starts near the end of a page and chains to a second list page;
 * reads each back into a sentinel-filled buffer of a different shape and
 * verifies it.  Ends with "DISK first count seed expect" lines for
 * tests/system/storage.sh.  Needs a controller whose MDTS allows 1 MiB +
 * 4 KiB (QEMU: -device nvme,mdts=9).
 */
#include "nvme.h"

const char test_name[] = "nvme_rw";

#define SEED 0x4E0E00u

static struct nvme n;
static uint8_t *wb, *rb;
static uint64_t *list;

struct t {
	uint64_t lba;
	uint32_t nlb, woff, roff, loff;
	const char *what;
};

static void do_write(const struct t *x, uint32_t seed)
{
	uint8_t *buf = wb + x->woff;
	pat_fill(buf, x->lba, x->nlb, seed);
	uint16_t st = nvme_rw(&n, 0x01, x->lba, x->nlb, buf, list, x->loff);
	check(st == 0, "Write LBA %llu+%u (%s): %s", x->lba, x->nlb, x->what, nvme_st_str(st));
}

static void do_read(const struct t *x, uint32_t seed)
{
	uint8_t *buf = rb + x->roff;
	fill32(buf, x->nlb * 512 + 512, SENTINEL);
	uint16_t st = nvme_rw(&n, 0x02, x->lba, x->nlb, buf, list, (x->loff + 0x400) & 0xFF8);
	uint32_t bad = st ? x->nlb : pat_verify(buf, x->lba, x->nlb, seed, "read-back");
	int guard = is_fill32(buf + x->nlb * 512, 512, SENTINEL);
	check(!st && !bad && guard, "Read LBA %llu+%u (%s) reads the pattern back: %s, %u bad, "
	      "guard after the buffer %s", x->lba, x->nlb, x->what, nvme_st_str(st), bad,
	      guard ? "intact" : "OVERWRITTEN");
}

void test_main(void)
{
	ide_timeout_s = 60;
	mem_init(0, 0);
	wb = mem_alloc(3u << 20, 0x1000);
	rb = mem_alloc(3u << 20, 0x1000);
	list = mem_alloc(3 * 4096, 4096);
	nvme_init(&n);
	if (!check(n.lba_size == 512 && n.nsze >= 131072, "namespace 1 has 512-byte LBAs and "
		   ">= 64 MiB (%u, %llu)", n.lba_size, n.nsze))
		tg_finish();
	uint64_t last = n.nsze - 2;
	struct t t[] = {
		{ 0, 1, 0, 0x3200, 0, "one block" },
		{ 8, 8, 0x1000, 0x5000, 0, "one page" },
		{ 100, 16, 0x2000, 0x7800, 0, "two pages, PRP2 = page" },
		{ 200, 8, 0x4600, 0xA000, 0, "crossing a page at offset 0x600" },
		{ 1000, 24, 0x8000, 0xC204, 0, "three pages: PRP list" },
		{ 4096, 2056, 0x100000, 0x100000, 0xE00, "1 MiB + 4 KiB: chained PRP list" },
		{ 60000, 255, 0x40200, 0x60000, 0xFF0, "list of one entry, then a chain" },
		{ last, 2, 0x30000, 0x30000, 0, "last 2 blocks" },
	};
	int nt = (int)(sizeof(t) / sizeof(t[0]));
	printf("nvme_rw: writing %d ranges\n", nt);
	for (int i = 0; i < nt; i++)
		do_write(&t[i], SEED + (uint32_t)i);
	struct nvme_sqe e;
	memset(&e, 0, sizeof(e));
	e.nsid = 1; /* Flush */
	uint16_t st = nvme_io(&n, &e, NULL);
	check(st == 0, "Flush: %s", nvme_st_str(st));
	printf("nvme_rw: reading them back\n");
	for (int i = 0; i < nt; i++)
		do_read(&t[i], SEED + (uint32_t)i);
	struct t p = { 4096 + 1000, 300, 0, 0x200008, 0x100, "sub-range of the big one" };
	do_read(&p, SEED + 5);
	do_write(&t[2], SEED + 0x100);
	do_read(&t[2], SEED + 0x100);
	for (int i = 0; i < nt; i++)
		disk_note(t[i].lba, t[i].nlb, i == 2 ? SEED + 0x100 : SEED + (uint32_t)i, "written");
	tg_finish();
}
