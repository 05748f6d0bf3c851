/* SPDX-License-Identifier: MIT */
/*
 * ide_policy: per-range storage policy (docs/storage.md, "Policy").
 *
 * Run with storage.policy=ide0.0:100-199:readonly,ide0.0:200-299:deny,
 * ide0.0:300-399:plain on the thinvisor command line.  The runner pre-fills
 * 100-199 / 200-299 / 300-399 with the plain pattern seeds 0x100 / 0x200 /
 * 0x300 and 400-699 with seed 0x400 (encrypted under thinvisor).
 *   readonly 100-199: reads work and see the plain data; DMA and PIO writes
 *     (also one straddling 95-104) are refused with ERR/ABRT;
 *   deny 200-299: reads and writes are refused, no data reaches memory (also
 *     reads straddling 195-204 and 295-304);
 *   plain 300-399: write + read work, stored in plain;
 *   encrypt (default) 400-: write + read work, stored encrypted; a write of
 *     396-403 is split by the policy: 396-399 plain, 400-403 encrypted.
 */
#include "ide.h"

const char test_name[] = "ide_policy";

#define SEED 0x9011C0u

static struct ide_drive d;
static uint8_t *buf;

static struct ide_res dma(uint8_t cmd, uint64_t lba, uint32_t count, uint32_t seed)
{
	struct sg s[8];
	int n = sg_simple(s, 8, buf, count * 512, 0x2000);
	prd_from_sg(ide_prdt, s, n);
	if (ide_cmd_is_write(cmd))
		pat_fill(buf, lba, count, seed);
	else
		fill32(buf, count * 512, SENTINEL);
	return ide_dma(&d, cmd, 0, lba, count, (uint32_t)(uintptr_t)ide_prdt, 0, NULL);
}

static struct ide_res pio(uint8_t cmd, uint64_t lba, uint32_t count, uint32_t seed)
{
	if (ide_cmd_is_write(cmd))
		pat_fill(buf, lba, count, seed);
	else
		fill32(buf, count * 512, SENTINEL);
	return ide_pio(&d, cmd, lba, count, buf, XFER_REP16, 0, NULL);
}

static void refused_write(const char *how, uint8_t cmd, uint64_t lba, uint32_t count, int is_dma)
{
	struct ide_res r = is_dma ? dma(cmd, lba, count, SEED) : pio(cmd, lba, count, SEED);
	check(!r.timeout && (r.status & ATA_SR_ERR) && (r.error & ATA_ER_ABRT) && !r.done,
	      "%s write of LBA %llu+%u refused with ERR/ABRT: %s, %u sectors taken", how, lba,
	      count, ide_res_str(&r), r.done);
}

static void refused_read(const char *how, uint8_t cmd, uint64_t lba, uint32_t count, int is_dma)
{
	struct ide_res r = is_dma ? dma(cmd, lba, count, 0) : pio(cmd, lba, count, 0);
	check(!r.timeout && (r.status & ATA_SR_ERR) && (r.error & ATA_ER_ABRT) && !r.done,
	      "%s read of LBA %llu+%u refused with ERR/ABRT: %s", how, lba, count,
	      ide_res_str(&r));
	check(is_fill32(buf, count * 512, SENTINEL), "%s read of LBA %llu+%u: no data reached "
	      "memory", how, lba, count);
}

static void good_read(const char *how, uint8_t cmd, uint64_t lba, uint32_t count,
		      uint32_t seed, int is_dma)
{
	struct ide_res r = is_dma ? dma(cmd, lba, count, 0) : pio(cmd, lba, count, 0);
	uint32_t bad = ide_ok(&r, is_dma) ? pat_verify(buf, lba, count, seed, how) : count;
	check(ide_ok(&r, is_dma) && !bad, "%s read of LBA %llu+%u works and gives seed 0x%x: %s, "
	      "%u bad sectors", how, lba, count, seed, ide_res_str(&r), bad);
}

static void good_write(const char *how, uint8_t cmd, uint64_t lba, uint32_t count,
		       uint32_t seed, int is_dma)
{
	struct ide_res r = is_dma ? dma(cmd, lba, count, seed) : pio(cmd, lba, count, seed);
	check(ide_ok(&r, is_dma) && (is_dma || r.done == count), "%s write of LBA %llu+%u "
	      "works: %s", how, lba, count, ide_res_str(&r));
}

void test_main(void)
{
	ide_timeout_s = 10;
	mem_init(0, 0);
	ide_bufs_init(0x1000);
	buf = mem_alloc(0x20000, 0x10000);
	ide_setup(&d, 0, 0);
	struct ide_res r = ide_nondata(&d, ATA_CMD_SET_MULT, 0, 16, 0);
	if (ide_ok(&r, 0))
		d.mult = 16;

	printf("ide_policy: readonly 100-199\n");
	good_read("DMA", ATA_CMD_READ_DMA_EXT, 150, 8, 0x100, 1);
	good_read("PIO", ATA_CMD_READ_EXT, 150, 2, 0x100, 0);
	good_read("LBA28 DMA", ATA_CMD_READ_DMA, 100, 100, 0x100, 1);
	refused_write("DMA", ATA_CMD_WRITE_DMA_EXT, 150, 1, 1);
	refused_write("LBA28 DMA", ATA_CMD_WRITE_DMA, 150, 8, 1);
	refused_write("PIO", ATA_CMD_WRITE_EXT, 150, 1, 0);
	refused_write("PIO MULTIPLE", ATA_CMD_WRITE_MULT, 160, 20, 0);
	refused_write("DMA (straddling 95-104)", ATA_CMD_WRITE_DMA_EXT, 95, 10, 1);
	refused_write("DMA (straddling 199-200)", ATA_CMD_WRITE_DMA_EXT, 199, 2, 1);
	good_read("DMA (after the refused writes)", ATA_CMD_READ_DMA_EXT, 100, 100, 0x100, 1);

	printf("ide_policy: deny 200-299\n");
	refused_read("DMA", ATA_CMD_READ_DMA_EXT, 250, 8, 1);
	refused_read("LBA28 DMA", ATA_CMD_READ_DMA, 250, 1, 1);
	refused_read("PIO", ATA_CMD_READ_EXT, 250, 1, 0);
	refused_read("PIO MULTIPLE", ATA_CMD_READ_MULT, 250, 20, 0);
	refused_read("DMA (straddling 195-204)", ATA_CMD_READ_DMA_EXT, 195, 10, 1);
	refused_read("DMA (straddling 295-304)", ATA_CMD_READ_DMA_EXT, 295, 10, 1);
	refused_write("DMA", ATA_CMD_WRITE_DMA_EXT, 250, 8, 1);
	refused_write("PIO", ATA_CMD_WRITE, 250, 1, 0);

	printf("ide_policy: plain 300-399\n");
	good_read("DMA (pre-filled)", ATA_CMD_READ_DMA_EXT, 300, 8, 0x300, 1);
	good_write("DMA", ATA_CMD_WRITE_DMA_EXT, 350, 8, SEED + 1, 1);
	good_read("DMA", ATA_CMD_READ_DMA_EXT, 350, 8, SEED + 1, 1);
	good_write("PIO", ATA_CMD_WRITE_EXT, 360, 4, SEED + 2, 0);
	good_read("PIO", ATA_CMD_READ_EXT, 360, 4, SEED + 2, 0);

	printf("ide_policy: encrypt (default) 400-\n");
	good_read("DMA (pre-filled, encrypted)", ATA_CMD_READ_DMA_EXT, 600, 8, 0x400, 1);
	good_write("DMA", ATA_CMD_WRITE_DMA_EXT, 400, 8, SEED + 3, 1);
	good_read("DMA", ATA_CMD_READ_DMA_EXT, 400, 8, SEED + 3, 1);
	good_write("PIO", ATA_CMD_WRITE_EXT, 410, 4, SEED + 4, 0);
	good_read("PIO", ATA_CMD_READ_EXT, 410, 4, SEED + 4, 0);
	printf("ide_policy: one command across plain 396-399 and encrypt 400-403\n");
	good_write("DMA", ATA_CMD_WRITE_DMA_EXT, 396, 8, SEED + 5, 1);
	good_read("DMA", ATA_CMD_READ_DMA_EXT, 396, 8, SEED + 5, 1);
	good_read("PIO", ATA_CMD_READ_EXT, 396, 8, SEED + 5, 0);
	good_read("DMA (pre-filled, encrypted, after the split write)", ATA_CMD_READ_DMA_EXT,
		  404, 4, SEED + 3, 1);

	disk_note(100, 100, 0x100, "unchanged");
	disk_note(200, 100, 0x200, "unchanged");
	disk_note(90, 10, 0, "unchanged");
	disk_note(300, 50, 0x300, "unchanged");
	disk_note(350, 8, SEED + 1, "plain");
	disk_note(360, 4, SEED + 2, "plain");
	disk_note(396, 4, SEED + 5, "plain");
	disk_note(400, 4, SEED + 5, "written");
	disk_note(404, 4, SEED + 3, "written");
	disk_note(410, 4, SEED + 4, "written");
	disk_note(600, 8, 0x400, "unchanged");
	tg_finish();
}
