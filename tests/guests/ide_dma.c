/* SPDX-License-Identifier: MIT */
/*
 * ide_dma: bus-master DMA through the (mediated) PIIX IDE disk ide0.0.
 *
 * Writes pattern sectors (lib/pattern.h) with WRITE DMA EXT and WRITE DMA
 * (LBA28, also count 0 = 256) through PRD tables of odd shapes (entries of
 * 2..65536 bytes, odd sizes, buffers at odd addresses, a 64 KiB entry stored
 * as 0), reads them back with READ DMA (EXT) through *different* PRD shapes
 * into fresh buffers, cross-reads some with PIO, rewrites one range, and
 * checks a range the runner pre-filled.  Ends with "DISK first count seed
 * expect" lines: what tests/system/storage.sh must find on the raw image
 * (under thinvisor: AES-XTS ciphertext; natively: the plain pattern).
 *
 * Arguments:
 *   prefill=LBA:COUNT:SEED  the runner wrote the pattern there (encrypted
 *                           under thinvisor): it must read back as the pattern
 *   highlba=1               also write/read around LBA 2^32 (needs a > 2 TiB
 *                           sparse disk): the XTS tweak is 64-bit
 *   keyscan=32|64           the test key (tvcrypt genkey --number 0) must not
 *                           be anywhere in guest RAM, and no module may be
 *                           called thinvisor.key
 */
#include "ide.h"

const char test_name[] = "ide_dma";

#define SEED 0xD0000u

static struct ide_drive d;

struct wr {
	uint8_t wcmd, rcmd;
	uint64_t lba;
	uint32_t count;
	struct sg w[8], r[40];
	int nw, nr;
	const char *what;
};

static uint8_t *warea, *rarea;

static uint32_t A(uint8_t *base, uint32_t off)
{
	return (uint32_t)(uintptr_t)base + off;
}

static void set_sg(struct sg *s, int *n, uint32_t addr, uint32_t len)
{
	s[*n].addr = addr;
	s[*n].len = len;
	(*n)++;
}

static const char *cmd_name(uint8_t c)
{
	switch (c) {
	case ATA_CMD_READ_DMA_EXT: return "READ DMA EXT";
	case ATA_CMD_WRITE_DMA_EXT: return "WRITE DMA EXT";
	case ATA_CMD_READ_DMA: return "READ DMA";
	case ATA_CMD_WRITE_DMA: return "WRITE DMA";
	default: return "?";
	}
}

static void do_write(struct wr *t, uint32_t seed)
{
	struct ide_res r = dma_write_sg(&d, t->wcmd, t->lba, t->count, seed, t->w, t->nw);
	check(ide_ok(&r, 1), "%s LBA %llu+%u (%s, %d PRD entries): %s", cmd_name(t->wcmd), t->lba,
	      t->count, t->what, t->nw, ide_res_str(&r));
}

static void do_read(struct wr *t, uint32_t seed)
{
	uint32_t bad;
	struct ide_res r = dma_read_sg(&d, t->rcmd, t->lba, t->count, seed, t->r, t->nr, &bad,
				       "read-back");
	check(ide_ok(&r, 1) && bad == 0, "%s LBA %llu+%u (%d PRD entries) reads the pattern "
	      "back: %s, %u bad sectors", cmd_name(t->rcmd), t->lba, t->count, t->nr,
	      ide_res_str(&r), bad);
}

static void pio_cross(uint64_t lba, uint32_t count, uint32_t seed, enum ide_xfer x)
{
	fill32(ide_stage, count * 512, SENTINEL);
	struct ide_res r = ide_pio(&d, ATA_CMD_READ_EXT, lba, count, ide_stage, x, 0, NULL);
	uint32_t bad = ide_ok(&r, 0) ? pat_verify(ide_stage, lba, count, seed, "pio") : count;
	check(ide_ok(&r, 0) && bad == 0,
	      "READ SECTORS EXT (%s) of DMA-written LBA %llu+%u: %s, %u bad sectors",
	      ide_xfer_name(x), lba, count, ide_res_str(&r), bad);
}

static void key_scan(uint32_t size)
{
	static uint8_t key[64];
	uint32_t hits = 0;
	for (uint32_t i = 0; i < size; i++)
		key[i] = tvp_key_byte(0, size, i);
	uint32_t k0 = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 |
		      (uint32_t)key[3] << 24;
	uint32_t self = (uint32_t)(uintptr_t)key;
	for (const struct mb_mmap_entry *e = mmap_first(); e; e = mmap_next(e)) {
		if (e->type != 1 || e->addr >= 0xF0000000ull)
			continue;
		uint32_t a = (uint32_t)e->addr, b = (uint32_t)(e->addr + e->len - size);
		for (uint32_t p = a; p <= b; p += 4) {
			if (*(volatile uint32_t *)(uintptr_t)p != k0 || p == self)
				continue;
			if (!memcmp((const void *)(uintptr_t)p, key, size) && hits++ < 4)
				printf("  key found in guest RAM at %08x\n", p);
		}
	}
	check(hits == 0, "the %u-byte disk key is nowhere in guest RAM (%u copies found)", size,
	      hits);
	int named = 0;
	if ((mb->flags & MB_INFO_MODS) && mb->mods_count) {
		const uint32_t *m = (const uint32_t *)(uintptr_t)mb->mods_addr;
		for (uint32_t i = 0; i < mb->mods_count; i++) {
			const char *s = (const char *)(uintptr_t)m[4 * i + 2];
			for (; s && *s; s++)
				named |= !strncmp(s, "thinvisor.key", 13);
		}
	}
	check(!named, "no module named thinvisor.key was passed to the guest (%u modules)",
	      (mb->flags & MB_INFO_MODS) ? mb->mods_count : 0);
}

static struct wr t[10];

void test_main(void)
{
	uint64_t pre[3], hl[1], ks[1];
	ide_timeout_s = 60;
	mem_init(0, 0);
	ide_bufs_init(1u << 20);
	warea = mem_alloc(1u << 20, 0x10000);
	rarea = mem_alloc(1u << 20, 0x10000);
	ide_setup(&d, 0, 0);
	if (!check(d.sectors >= 131072 && d.lba48, "disk has >= 64 MiB and LBA48"))
		tg_finish();
	uint64_t last = d.sectors - 1;

	/* ---- the writes and their read-back shapes ---- */
	struct wr *p = t;
	*p = (struct wr){ ATA_CMD_WRITE_DMA_EXT, ATA_CMD_READ_DMA_EXT, 0, 1, .what = "LBA 0" };
	set_sg(p->w, &p->nw, A(warea, 0x0), 512);
	set_sg(p->r, &p->nr, A(rarea, 0x3002), 512);
	p++;
	*p = (struct wr){ ATA_CMD_WRITE_DMA_EXT, ATA_CMD_READ_DMA_EXT, 1, 7, .what = "odd address" };
	set_sg(p->w, &p->nw, A(warea, 0x11234), 3584);
	for (int i = 0; i < 7; i++)
		set_sg(p->r, &p->nr, A(rarea, 0x4000u + 0x1000u * (uint32_t)(6 - i) + 0x10), 512);
	p++;
	*p = (struct wr){ ATA_CMD_WRITE_DMA_EXT, ATA_CMD_READ_DMA_EXT, 1000, 8, .what = "2 pages" };
	set_sg(p->w, &p->nw, A(warea, 0x20800), 2048);
	set_sg(p->w, &p->nw, A(warea, 0x30000), 2048);
	set_sg(p->r, &p->nr, A(rarea, 0xB000), 4096);
	p++;
	*p = (struct wr){ ATA_CMD_WRITE_DMA_EXT, ATA_CMD_READ_DMA_EXT, 100000, 3, .what = "high LBA" };
	set_sg(p->w, &p->nw, A(warea, 0x4F200), 1536);
	set_sg(p->r, &p->nr, A(rarea, 0xD000), 1000);
	set_sg(p->r, &p->nr, A(rarea, 0xE002), 536);
	p++;
	*p = (struct wr){ ATA_CMD_WRITE_DMA_EXT, ATA_CMD_READ_DMA_EXT, last - 1, 2,
			  .what = "last 2 sectors" };
	set_sg(p->w, &p->nw, A(warea, 0x50000), 1024);
	set_sg(p->r, &p->nr, A(rarea, 0xF000), 1024);
	p++;
	*p = (struct wr){ ATA_CMD_WRITE_DMA_EXT, ATA_CMD_READ_DMA_EXT, 2048, 128,
			  .what = "entries 512/1536/4096/2048/57344" };
	set_sg(p->w, &p->nw, A(warea, 0x60100), 512);
	set_sg(p->w, &p->nw, A(warea, 0x61002), 1536);
	set_sg(p->w, &p->nw, A(warea, 0x64000), 4096);
	set_sg(p->w, &p->nw, A(warea, 0x6F800), 2048);
	set_sg(p->w, &p->nw, A(warea, 0x72000), 57344);
	set_sg(p->r, &p->nr, A(rarea, 0x10000), 65536); /* stored as count 0 */
	p++;
	*p = (struct wr){ ATA_CMD_WRITE_DMA_EXT, ATA_CMD_READ_DMA_EXT, 4096, 160,
			  .what = "entries 65536/1536/8192/6656" };
	set_sg(p->w, &p->nw, A(warea, 0x80000), 65536);
	set_sg(p->w, &p->nw, A(warea, 0x9FA00), 1536);
	set_sg(p->w, &p->nw, A(warea, 0xA0006), 8192);
	set_sg(p->w, &p->nw, A(warea, 0xB0100), 6656);
	p->nr = sg_split(p->r, 40, A(rarea, 0x20000), 160 * 512, 4096);
	p++;
	*p = (struct wr){ ATA_CMD_WRITE_DMA_EXT, ATA_CMD_READ_DMA_EXT, 6144, 8,
			  .what = "entries 256/768/1000/2072 (not sector multiples)" };
	set_sg(p->w, &p->nw, A(warea, 0xC0000), 256);
	set_sg(p->w, &p->nw, A(warea, 0xC1002), 768);
	set_sg(p->w, &p->nw, A(warea, 0xC2010), 1000);
	set_sg(p->w, &p->nw, A(warea, 0xC3000), 2072);
	set_sg(p->r, &p->nr, A(rarea, 0x40000), 510);
	set_sg(p->r, &p->nr, A(rarea, 0x41000), 2);
	set_sg(p->r, &p->nr, A(rarea, 0x42006), 3584);
	p++;
	*p = (struct wr){ ATA_CMD_WRITE_DMA, ATA_CMD_READ_DMA, 8192, 16, .what = "LBA28" };
	set_sg(p->w, &p->nw, A(warea, 0xD0000), 8192);
	p->nr = sg_split(p->r, 40, A(rarea, 0x50000), 8192, 2048);
	p++;
	*p = (struct wr){ ATA_CMD_WRITE_DMA, ATA_CMD_READ_DMA, 9000, 256,
			  .what = "LBA28, count register 0 = 256" };
	p->nw = sg_split(p->w, 8, A(warea, 0xE0000), 256 * 512, 65536);
	p->nr = sg_split(p->r, 40, A(rarea, 0x60000), 256 * 512, 12288);
	p++;
	int nt = (int)(p - t);

	printf("ide_dma: writing %d ranges\n", nt);
	for (int i = 0; i < nt; i++)
		do_write(&t[i], SEED + (uint32_t)i);
	printf("ide_dma: reading them back\n");
	for (int i = 0; i < nt; i++)
		do_read(&t[i], SEED + (uint32_t)i);

	/* Sub-ranges and other paths must agree sector by sector. */
	printf("ide_dma: partial and cross-path reads\n");
	{
		struct wr s = { 0, ATA_CMD_READ_DMA_EXT, 4100, 20, .what = "part" };
		s.nr = sg_split(s.r, 40, A(rarea, 0xA0000), 20 * 512, 3000 & ~1u);
		do_read(&s, SEED + 6);
		struct wr s2 = { 0, ATA_CMD_READ_DMA_EXT, 2100, 60, .what = "part" };
		s2.nr = sg_split(s2.r, 40, A(rarea, 0xB0000), 60 * 512, 65536);
		do_read(&s2, SEED + 5);
	}
	pio_cross(2048, 16, SEED + 5, XFER_REP16);
	pio_cross(1, 7, SEED + 1, XFER_WORD16);
	pio_cross(last - 1, 2, SEED + 4, XFER_REP32);

	/* Rewrite a range: the new data must win. */
	do_write(&t[2], SEED + 0x100);
	do_read(&t[2], SEED + 0x100);

	struct ide_res r = ide_nondata(&d, ATA_CMD_FLUSH_EXT, 0, 0, 0);
	check(ide_ok(&r, 0), "FLUSH CACHE EXT: %s", ide_res_str(&r));

	if (arg_numbers("prefill", pre, 3) == 3) {
		uint32_t left = (uint32_t)pre[1], bad = 0;
		uint64_t lba = pre[0];
		while (left) {
			uint32_t n = left > 256 ? 256 : left;
			struct sg s[4];
			int ns = sg_split(s, 4, A(rarea, 0xC0000), n * 512, 65536);
			uint32_t b;
			r = dma_read_sg(&d, ATA_CMD_READ_DMA_EXT, lba, n, (uint32_t)pre[2], s, ns, &b,
					"prefill");
			bad += b;
			lba += n;
			left -= n;
		}
		check(bad == 0, "the runner's pre-filled LBA %llu+%llu reads as pattern seed 0x%llx"
		      " (%u bad sectors)", pre[0], pre[1], pre[2], bad);
	}

	int high = 0;
	if (arg_numbers("highlba", hl, 1) == 1 && hl[0]) {
		if (check(d.sectors > 0x100000008ull, "disk is larger than 2^32 sectors (%llu)",
			  d.sectors)) {
			struct wr h1 = { ATA_CMD_WRITE_DMA_EXT, ATA_CMD_READ_DMA_EXT, 0xFFFFFFFEull, 4,
					 .what = "across LBA 2^32" };
			set_sg(h1.w, &h1.nw, A(warea, 0x0), 2048);
			set_sg(h1.r, &h1.nr, A(rarea, 0x0), 2048);
			struct wr h2 = { ATA_CMD_WRITE_DMA_EXT, ATA_CMD_READ_DMA_EXT, 0x100000005ull,
					 2, .what = "above LBA 2^32" };
			set_sg(h2.w, &h2.nw, A(warea, 0x1000), 1024);
			set_sg(h2.r, &h2.nr, A(rarea, 0x1000), 1024);
			do_write(&h1, SEED + 0x200);
			do_write(&h2, SEED + 0x201);
			do_read(&h1, SEED + 0x200);
			do_read(&h2, SEED + 0x201);
			high = 1;
		}
	}

	if (arg_numbers("keyscan", ks, 1) == 1 && (ks[0] == 32 || ks[0] == 64))
		key_scan((uint32_t)ks[0]);

	for (int i = 0; i < nt; i++)
		disk_note(t[i].lba, t[i].count, i == 2 ? SEED + 0x100 : SEED + (uint32_t)i,
			  "written");
	if (high) {
		disk_note(0xFFFFFFFEull, 4, SEED + 0x200, "written");
		disk_note(0x100000005ull, 2, SEED + 0x201, "written");
	}
	tg_finish();
}
