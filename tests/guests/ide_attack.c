/* SPDX-License-Identifier: MIT */
/*
 * ide_attack: bus-master DMA and ATA commands that the storage mediator
 * must refuse (docs/storage.md, "What a guest can and cannot do").
 *
 * The runner pre-fills LBA 5000-5127 with pattern seed 0xA77A (encrypted
 * under thinvisor).  Every refused command must end with an error - BM
 * status error bit, or ATA status ERR with error ABRT - and move nothing:
 *  - PRD entries into the hypervisor region (inside, straddling its start,
 *    straddling its end), past the top of RAM, at the IOAPIC (0xFEC00000),
 *    and one that wraps past 4 GiB; the PRD table itself in the region,
 *    running into the region, or past the top of RAM; the table pointer or
 *    an entry switched to the region between the command and BM start;
 *    for reads the valid entries of the same table stay untouched, for
 *    writes (LBA 5000..5039) the disk keeps the pre-filled data;
 *  - entries that end exactly where the region starts, or start exactly
 *    where it ends, are ordinary guest RAM and must work;
 *  - an entry rewritten to point into the region after BM start (TOCTOU)
 *    must not hurt the hypervisor;
 *  - DOWNLOAD MICROCODE (PIO and DMA), SECURITY SET PASSWORD / UNLOCK /
 *    ERASE PREPARE / ERASE UNIT / FREEZE LOCK / DISABLE PASSWORD, DATA SET
 *    MANAGEMENT (TRIM of LBA 5100+16), WRITE LOG (EXT, DMA EXT), queued DMA
 *    (READ/WRITE DMA QUEUED (EXT), READ/WRITE FPDMA QUEUED) and vendor or
 *    unknown opcodes (0x80, 0x8F, 0xFF) end with ERR + ABRT, no DRQ.
 * Afterwards TV_HC_SELFTEST must be 1 and normal DMA must still work.
 *
 * Without thinvisor pass hvregion=BASE,SIZE (the hypercalls are skipped);
 * most checks then fail, which shows what the device alone would allow.
 */
#include "ide.h"

const char test_name[] = "ide_attack";

#define PRE_LBA   5000u
#define PRE_COUNT 128u
#define PRE_SEED  0xA77Au
#define WSEED     0xBAD000u

static struct ide_drive d;
static uint64_t hvb, hvs, top;
static int native;
static uint8_t *sent, *wbuf, *rbuf;
static struct ide_prd *tab;
static uint32_t next_wlba = PRE_LBA;

static uint32_t P(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

static void selftest(const char *when)
{
	uint32_t out[4];
	if (native) {
		printf("  (native: TV_HC_SELFTEST skipped %s)\n", when);
		return;
	}
	uint32_t st = hc_must(TV_HC_SELFTEST, 0, out);
	check(st == TV_OK && out[1] == 1, "TV_HC_SELFTEST = 1 %s (status %u, RBX %u)", when, st,
	      out[1]);
}

/* A read of LBA PRE_LBA+8 whose table is [sent 2048][bad 2048 EOT], or a
 * caller-made table at prdt; must be refused, sent untouched. */
static void bad_read(const char *what, uint32_t prdt, uint8_t cmd, const struct ide_dma_hooks *h)
{
	fill32(sent, 0x10000, SENTINEL);
	struct ide_res r = ide_dma(&d, cmd, 0, PRE_LBA, 8, prdt, 0, h);
	check(ide_refused(&r), "read, %s: refused (%s)", what, ide_res_str(&r));
	check(is_fill32(sent, 0x10000, SENTINEL), "read, %s: the valid buffer stayed untouched",
	      what);
}

static void bad_read_entry(const char *what, uint32_t addr, uint32_t len)
{
	prd_set(tab, 0, P(sent), 2048, 0);
	prd_set(tab, 1, addr, len, 1);
	bad_read(what, P(tab), ATA_CMD_READ_DMA_EXT, NULL);
}

/* A write of 8 fresh-pattern sectors to the next pre-filled LBA through
 * [wbuf 2048][bad ...]; must be refused and leave the disk unchanged. */
static void bad_write(const char *what, uint32_t prdt, uint8_t cmd, int table_ready,
		      uint32_t addr, uint32_t len, const struct ide_dma_hooks *h)
{
	uint32_t lba = next_wlba;
	next_wlba += 8;
	pat_fill(wbuf, lba, 8, WSEED + lba);
	if (!table_ready) {
		prd_set(tab, 0, P(wbuf), 2048, 0);
		prd_set(tab, 1, addr, len, 1);
	}
	struct ide_res r = ide_dma(&d, cmd, 0, lba, 8, prdt, 0, h);
	check(ide_refused(&r), "write LBA %u+8, %s: refused (%s)", lba, what, ide_res_str(&r));
	disk_note(lba, 8, PRE_SEED, "unchanged");
}

static void good_read_entry(const char *what, uint32_t addr)
{
	prd_set(tab, 0, addr, 4096, 1);
	fill32((void *)(uintptr_t)addr, 4096, SENTINEL);
	struct ide_res r = ide_dma(&d, ATA_CMD_READ_DMA_EXT, 0, PRE_LBA + 64, 8, P(tab), 0, NULL);
	uint32_t bad = ide_ok(&r, 1) ?
		pat_verify((void *)(uintptr_t)addr, PRE_LBA + 64, 8, PRE_SEED, what) : 8;
	check(ide_ok(&r, 1) && !bad, "read into %s (%08x+4096) works: %s, %u bad sectors", what,
	      addr, ide_res_str(&r), bad);
}

/* ---- hooks ---- */
static void hook_prdt_to_hv(struct ide_drive *dd, void *arg)
{
	(void)arg;
	outl((uint16_t)(dd->bm + BM_PRDT), (uint32_t)hvb + 0x100);
}
static void hook_entry_to_hv(struct ide_drive *dd, void *arg)
{
	(void)dd;
	(void)arg;
	tab[1].addr = (uint32_t)hvb + 0x1000;
}
static void hook_all_entries_to_hv(struct ide_drive *dd, void *arg)
{
	(void)dd;
	struct ide_prd *t = arg;
	for (int i = 0; i < 8; i++)
		t[i].addr = (uint32_t)hvb + 0x1000u * (uint32_t)i;
}

/* ---- refused commands ---- */
struct refuse {
	uint8_t cmd;
	const char *name;
	enum { NODATA, PIO_OUT, DMA_IN, DMA_OUT } how;
	uint16_t feature;
	uint32_t count;
	uint64_t lba;
};

static const struct refuse refused[] = {
	{ ATA_CMD_DOWNLOAD_MICRO, "DOWNLOAD MICROCODE", PIO_OUT, 0x07, 1, 0 },
	{ ATA_CMD_DOWNLOAD_MICRO_DMA, "DOWNLOAD MICROCODE DMA", DMA_OUT, 0x07, 1, 0 },
	{ ATA_CMD_SEC_SET_PASS, "SECURITY SET PASSWORD", PIO_OUT, 0, 1, 0 },
	{ ATA_CMD_SEC_UNLOCK, "SECURITY UNLOCK", PIO_OUT, 0, 1, 0 },
	{ ATA_CMD_SEC_ERASE_PREP, "SECURITY ERASE PREPARE", NODATA, 0, 0, 0 },
	{ ATA_CMD_SEC_ERASE_UNIT, "SECURITY ERASE UNIT", PIO_OUT, 0, 1, 0 },
	{ ATA_CMD_SEC_FREEZE, "SECURITY FREEZE LOCK", NODATA, 0, 0, 0 },
	{ ATA_CMD_SEC_DISABLE, "SECURITY DISABLE PASSWORD", PIO_OUT, 0, 1, 0 },
	{ ATA_CMD_DSM, "DATA SET MANAGEMENT (TRIM LBA 5100+16)", DMA_OUT, 0x01, 1, 0 },
	{ ATA_CMD_WRITE_LOG_EXT, "WRITE LOG EXT", PIO_OUT, 0, 1, 0x80 },
	{ ATA_CMD_WRITE_LOG_DMA, "WRITE LOG DMA EXT", DMA_OUT, 0, 1, 0x80 },
	{ ATA_CMD_READ_DMA_Q, "READ DMA QUEUED", DMA_IN, 4, 0, PRE_LBA },
	{ ATA_CMD_WRITE_DMA_Q, "WRITE DMA QUEUED (LBA 5120+4)", DMA_OUT, 4, 0, 5120 },
	{ ATA_CMD_READ_DMA_Q_EXT, "READ DMA QUEUED EXT", DMA_IN, 4, 0, PRE_LBA },
	{ ATA_CMD_WRITE_DMA_Q_EXT, "WRITE DMA QUEUED EXT (LBA 5120+4)", DMA_OUT, 4, 0, 5120 },
	{ ATA_CMD_READ_FPDMA, "READ FPDMA QUEUED", DMA_IN, 4, 0, PRE_LBA },
	{ ATA_CMD_WRITE_FPDMA, "WRITE FPDMA QUEUED (LBA 5120+4)", DMA_OUT, 4, 0, 5120 },
	{ 0x80, "vendor 0x80", NODATA, 0, 0, 0 },
	{ ATA_CMD_VENDOR_8F, "vendor 0x8F", NODATA, 0, 0, 0 },
	{ 0xFF, "unknown 0xFF", NODATA, 0, 0, 0 },
};

static void refuse_one(const struct refuse *c)
{
	struct ide_res r;
	fill32(sent, 0x10000, SENTINEL);
	switch (c->how) {
	case NODATA:
		r = ide_nondata(&d, c->cmd, c->feature, c->count, c->lba);
		break;
	case PIO_OUT: {
		struct ide_pio_hooks h = { .feature = c->feature };
		pat_fill(wbuf, 0, 1, WSEED);
		r = ide_pio(&d, c->cmd, c->lba, c->count, wbuf, XFER_REP16, IDE_F_WRITE, &h);
		break;
	}
	case DMA_IN:
	case DMA_OUT:
		if (c->cmd == ATA_CMD_DSM) {
			/* one range entry: LBA 5100, 16 sectors; rest of the block zero */
			memset(wbuf, 0, 512);
			uint32_t *e = (uint32_t *)wbuf;
			e[0] = 5100;
			e[1] = 16u << 16;
		} else {
			pat_fill(wbuf, 5120, 4, WSEED + 5120);
		}
		prd_set(tab, 0, c->how == DMA_IN ? P(sent) : P(wbuf), 2048, 1);
		r = ide_dma(&d, c->cmd, c->feature, c->lba, c->count ? c->count : c->feature,
			    P(tab), c->how == DMA_OUT ? IDE_F_WRITE : 0, NULL);
		break;
	}
	check(!r.timeout && (r.status & ATA_SR_ERR) && (r.error & ATA_ER_ABRT) &&
	      !(r.status & ATA_SR_DRQ) && !r.done,
	      "%s (%02x) refused with ERR/ABRT: %s", c->name, c->cmd, ide_res_str(&r));
	if (c->how == DMA_IN)
		check(is_fill32(sent, 0x10000, SENTINEL), "%s: no data reached memory", c->name);
}

void test_main(void)
{
	native = mb_find_arg("hvregion") != NULL;
	ide_timeout_s = 10;
	hv_region(&hvb, &hvs);
	top = mem_top();
	mem_init(hvb, hvs);
	ide_bufs_init(0x10000);
	tab = ide_prdt;
	sent = mem_alloc(0x10000, 0x10000);
	wbuf = mem_alloc(0x10000, 0x10000);
	rbuf = mem_alloc(0x10000, 0x10000);
	printf("ide_attack: top of RAM %08llx, hypervisor region %08llx-%08llx\n", top, hvb,
	       hvb + hvs - 1);
	ide_setup(&d, 0, 0);

	/* Baseline: the pre-filled data reads back. */
	struct sg s[4];
	uint32_t bad;
	int n = sg_simple(s, 4, rbuf, PRE_COUNT * 512 > 0x10000 ? 0x10000 : PRE_COUNT * 512,
			  0x10000);
	struct ide_res r = dma_read_sg(&d, ATA_CMD_READ_DMA_EXT, PRE_LBA, 128, PRE_SEED, s, n,
				       &bad, "pre-filled");
	check(ide_ok(&r, 1) && !bad, "baseline: pre-filled LBA %u+128 reads as seed 0x%x: %s",
	      PRE_LBA, PRE_SEED, ide_res_str(&r));
	selftest("at start");

	uint32_t hb = (uint32_t)hvb, he = (uint32_t)(hvb + hvs);
	printf("ide_attack: PRD entries and tables outside guest RAM (reads)\n");
	bad_read_entry("entry inside the hypervisor region", hb + 0x1000, 2048);
	bad_read_entry("entry straddling the region start", hb - 0x800, 0x1000);
	bad_read_entry("entry straddling the region end", he - 0x800, 0x1000);
	bad_read_entry("entry at the last page of the region", he - 0x1000, 2048);
	bad_read_entry("entry past the top of RAM", (uint32_t)top, 2048);
	bad_read_entry("entry at the IOAPIC (0xFEC00000)", 0xFEC00000u, 2048);
	bad_read_entry("entry wrapping past 4 GiB", 0xFFFFF800u, 0x1000);
	bad_read("table in the hypervisor region", hb + 0x100, ATA_CMD_READ_DMA_EXT, NULL);
	bad_read("table past the top of RAM", (uint32_t)top + 0x100, ATA_CMD_READ_DMA_EXT, NULL);
	{
		/* A table of two valid non-EOT entries whose third entry lies in the region. */
		struct ide_prd *t2 = (struct ide_prd *)(uintptr_t)(hb - 16);
		prd_set(t2, 0, P(sent), 1024, 0);
		prd_set(t2, 1, P(sent) + 1024, 1024, 0);
		bad_read("table running into the hypervisor region", hb - 16, ATA_CMD_READ_DMA_EXT,
			 NULL);
	}
	prd_set(tab, 0, P(sent), 2048, 0);
	prd_set(tab, 1, hb + 0x1000, 2048, 1);
	bad_read("LBA28 READ DMA, entry inside the region", P(tab), ATA_CMD_READ_DMA, NULL);
	{
		prd_set(tab, 0, P(sent), 2048, 0);
		prd_set(tab, 1, P(sent) + 2048, 2048, 1);
		struct ide_dma_hooks h = { .after_cmd = hook_prdt_to_hv };
		bad_read("PRDT register moved into the region after the command", P(tab),
			 ATA_CMD_READ_DMA_EXT, &h);
		prd_set(tab, 0, P(sent), 2048, 0);
		prd_set(tab, 1, P(sent) + 2048, 2048, 1);
		struct ide_dma_hooks h2 = { .after_cmd = hook_entry_to_hv };
		bad_read("entry moved into the region after the command", P(tab),
			 ATA_CMD_READ_DMA_EXT, &h2);
	}
	selftest("after the refused reads");

	printf("ide_attack: PRD entries next to the region are ordinary RAM\n");
	good_read_entry("the page just below the region", hb - 0x1000);
	if (he < top)
		good_read_entry("the page just above the region", he);

	printf("ide_attack: writes through bad PRDs (plain data must not reach the disk)\n");
	bad_write("entry inside the hypervisor region", P(tab), ATA_CMD_WRITE_DMA_EXT, 0,
		  hb + 0x1000, 2048, NULL);
	bad_write("entry straddling the region start", P(tab), ATA_CMD_WRITE_DMA_EXT, 0,
		  hb - 0x800, 0x1000, NULL);
	bad_write("table in the hypervisor region", hb + 0x200, ATA_CMD_WRITE_DMA_EXT, 1, 0, 0,
		  NULL);
	bad_write("entry past the top of RAM", P(tab), ATA_CMD_WRITE_DMA_EXT, 0, (uint32_t)top,
		  2048, NULL);
	bad_write("LBA28 WRITE DMA, entry inside the region", P(tab), ATA_CMD_WRITE_DMA, 0,
		  hb + 0x1000, 2048, NULL);
	selftest("after the refused writes");

	printf("ide_attack: PRD entries rewritten to the region after BM start\n");
	{
		struct ide_prd *t3 = ide_prdt + 64;
		for (int i = 0; i < 8; i++)
			prd_set(t3, i, P(rbuf) + 0x1000u * (uint32_t)i, 4096, i == 7);
		struct ide_dma_hooks h = { .after_start = hook_all_entries_to_hv, .arg = t3 };
		fill32(rbuf, 0x10000, SENTINEL);
		r = ide_dma(&d, ATA_CMD_READ_DMA_EXT, 0, PRE_LBA, 64, P(t3), 0, &h);
		printf("  TOCTOU read: %s; data %s\n", ide_res_str(&r),
		       pat_count_matches(rbuf, PRE_LBA, 64, PRE_SEED) == 64 ? "arrived" :
		       "did not arrive");
		check(!r.timeout, "TOCTOU read completed (ok or refused, no hang)");
		selftest("after the TOCTOU read");
	}

	printf("ide_attack: commands that must be refused\n");
	for (unsigned i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		refuse_one(&refused[i]);
	disk_note(5100, 16, PRE_SEED, "unchanged");
	disk_note(5120, 4, PRE_SEED, "unchanged");

	printf("ide_attack: afterwards\n");
	r = dma_read_sg(&d, ATA_CMD_READ_DMA_EXT, PRE_LBA, 128, PRE_SEED, s, n, &bad, "final");
	check(ide_ok(&r, 1) && !bad, "normal READ DMA EXT works and LBA %u+128 is unchanged: %s, "
	      "%u bad sectors", PRE_LBA, ide_res_str(&r), bad);
	r = ide_nondata(&d, ATA_CMD_FLUSH_EXT, 0, 0, 0);
	check(ide_ok(&r, 0), "FLUSH CACHE EXT works: %s", ide_res_str(&r));
	selftest("at the end");
	disk_note(PRE_LBA, PRE_COUNT, PRE_SEED, "unchanged");
	tg_finish();
}
