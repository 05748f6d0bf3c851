/* SPDX-License-Identifier: MIT */
/*
 * ide_pio: PIO data transfers through the (mediated) IDE disk ide0.0.
 *
 * SET MULTIPLE MODE 16, then pattern writes and read-backs with READ/WRITE
 * SECTORS (LBA28 and EXT) and READ/WRITE MULTIPLE (LBA28 and EXT, with a
 * partial last block), moving the data with rep insw/outsw, one inw/outw at
 * a time, rep insl/outsl and inl/outl (Linux's ata_piix uses 32-bit PIO),
 * and mixed widths inside one sector.  Every range is written with one
 * method and read with another; some are cross-checked with DMA both
 * ways.  Ends with "DISK first count seed expect" lines for the runner.
 */
#include "ide.h"

const char test_name[] = "ide_pio";

#define SEED 0x910000u

static struct ide_drive d;

struct pt {
	uint8_t wcmd, rcmd;
	uint64_t lba;
	uint32_t count;
	enum ide_xfer wx, rx;
};

static const char *cmd_name(uint8_t c)
{
	switch (c) {
	case ATA_CMD_READ: return "READ SECTORS";
	case ATA_CMD_READ_EXT: return "READ SECTORS EXT";
	case ATA_CMD_READ_MULT: return "READ MULTIPLE";
	case ATA_CMD_READ_MULT_EXT: return "READ MULTIPLE EXT";
	case ATA_CMD_WRITE: return "WRITE SECTORS";
	case ATA_CMD_WRITE_EXT: return "WRITE SECTORS EXT";
	case ATA_CMD_WRITE_MULT: return "WRITE MULTIPLE";
	case ATA_CMD_WRITE_MULT_EXT: return "WRITE MULTIPLE EXT";
	default: return "?";
	}
}

static uint8_t *wbuf, *rbuf;

static void pio_write(uint8_t cmd, uint64_t lba, uint32_t count, enum ide_xfer x, uint32_t seed)
{
	pat_fill(wbuf, lba, count, seed);
	struct ide_res r = ide_pio(&d, cmd, lba, count, wbuf, x, 0, NULL);
	check(ide_ok(&r, 0) && r.done == count, "%s LBA %llu+%u (%s): %s, %u sectors moved",
	      cmd_name(cmd), lba, count, ide_xfer_name(x), ide_res_str(&r), r.done);
}

static void pio_read(uint8_t cmd, uint64_t lba, uint32_t count, enum ide_xfer x, uint32_t seed)
{
	fill32(rbuf, count * 512, SENTINEL);
	struct ide_res r = ide_pio(&d, cmd, lba, count, rbuf, x, 0, NULL);
	uint32_t bad = ide_ok(&r, 0) ? pat_verify(rbuf, lba, count, seed, "read-back") : count;
	check(ide_ok(&r, 0) && r.done == count && bad == 0,
	      "%s LBA %llu+%u (%s) reads the pattern back: %s, %u bad sectors", cmd_name(cmd),
	      lba, count, ide_xfer_name(x), ide_res_str(&r), bad);
}

static void dma_read(uint64_t lba, uint32_t count, uint32_t seed)
{
	struct sg s[64];
	uint32_t bad;
	int n = sg_simple(s, 64, rbuf, count * 512, 0x3000);
	struct ide_res r = dma_read_sg(&d, ATA_CMD_READ_DMA_EXT, lba, count, seed, s, n, &bad,
				       "dma");
	check(ide_ok(&r, 1) && bad == 0, "READ DMA EXT of PIO-written LBA %llu+%u: %s, %u bad "
	      "sectors", lba, count, ide_res_str(&r), bad);
}

static void dma_write(uint64_t lba, uint32_t count, uint32_t seed)
{
	struct sg s[64];
	int n = sg_simple(s, 64, wbuf, count * 512, 0x2000);
	struct ide_res r = dma_write_sg(&d, ATA_CMD_WRITE_DMA_EXT, lba, count, seed, s, n);
	check(ide_ok(&r, 1), "WRITE DMA EXT LBA %llu+%u: %s", lba, count, ide_res_str(&r));
}

static const struct pt tests[] = {
	{ ATA_CMD_WRITE, ATA_CMD_READ, 3000, 5, XFER_REP16, XFER_REP16 },
	{ ATA_CMD_WRITE_EXT, ATA_CMD_READ_EXT, 3100, 9, XFER_WORD16, XFER_WORD16 },
	{ ATA_CMD_WRITE_MULT, ATA_CMD_READ_MULT, 3200, 37, XFER_REP16, XFER_WORD16 },
	{ ATA_CMD_WRITE_MULT_EXT, ATA_CMD_READ_MULT_EXT, 3300, 40, XFER_REP32, XFER_DWORD32 },
	{ ATA_CMD_WRITE_EXT, ATA_CMD_READ, 3400, 6, XFER_DWORD32, XFER_REP32 },
	{ ATA_CMD_WRITE_EXT, ATA_CMD_READ_EXT, 3500, 4, XFER_MIXED, XFER_MIXED },
	{ ATA_CMD_WRITE_MULT, ATA_CMD_READ_EXT, 4000, 256, XFER_REP16, XFER_REP32 }, /* count 0 */
	{ ATA_CMD_WRITE, ATA_CMD_READ_MULT_EXT, 131071, 1, XFER_WORD16, XFER_REP16 }, /* last */
};
#define NT (sizeof(tests) / sizeof(tests[0]))

void test_main(void)
{
	ide_timeout_s = 60;
	mem_init(0, 0);
	ide_bufs_init(1u << 20);
	wbuf = mem_alloc(256 * 512, 0x10000);
	rbuf = mem_alloc(256 * 512, 0x10000);
	ide_setup(&d, 0, 0);
	if (!check(d.sectors >= 131072, "disk has >= 64 MiB"))
		tg_finish();

	struct ide_res r = ide_nondata(&d, ATA_CMD_SET_MULT, 0, 16, 0);
	if (check(ide_ok(&r, 0), "SET MULTIPLE MODE 16: %s", ide_res_str(&r)))
		d.mult = 16;
	check(d.max_mult >= 16, "IDENTIFY: multiple count up to %d (>= 16)", d.max_mult);

	for (unsigned i = 0; i < NT; i++)
		pio_write(tests[i].wcmd, tests[i].lba, tests[i].count, tests[i].wx, SEED + i);
	for (unsigned i = 0; i < NT; i++)
		pio_read(tests[i].rcmd, tests[i].lba, tests[i].count, tests[i].rx, SEED + i);

	/* The same range with other commands and widths, and with DMA. */
	pio_read(ATA_CMD_READ_MULT, 3300, 40, XFER_MIXED, SEED + 3);
	pio_read(ATA_CMD_READ, 3200, 37, XFER_DWORD32, SEED + 2);
	pio_read(ATA_CMD_READ_EXT, 3210, 3, XFER_REP16, SEED + 2); /* a sub-range */
	dma_read(3200, 37, SEED + 2);
	dma_read(4000, 256, SEED + 6);
	dma_write(3600, 24, SEED + 0x100);
	pio_read(ATA_CMD_READ_MULT_EXT, 3600, 24, XFER_REP16, SEED + 0x100);
	pio_read(ATA_CMD_READ, 3600, 24, XFER_WORD16, SEED + 0x100);

	/* A SET MULTIPLE MODE the drive rejects (3 is not a power of two, 32 is
	 * above its maximum) must not change the block size it uses. */
	r = ide_nondata(&d, ATA_CMD_SET_MULT, 0, 3, 0);
	check((r.status & ATA_SR_ERR) && (r.error & ATA_ER_ABRT), "SET MULTIPLE MODE 3 is "
	      "rejected: %s", ide_res_str(&r));
	r = ide_nondata(&d, ATA_CMD_SET_MULT, 0, 32, 0);
	check((r.status & ATA_SR_ERR) && (r.error & ATA_ER_ABRT), "SET MULTIPLE MODE 32 is "
	      "rejected: %s", ide_res_str(&r));
	pio_read(ATA_CMD_READ_MULT, 3200, 37, XFER_REP16, SEED + 2);
	pio_write(ATA_CMD_WRITE_MULT_EXT, 3300, 40, XFER_REP16, SEED + 3);
	pio_read(ATA_CMD_READ_EXT, 3300, 40, XFER_REP16, SEED + 3);
	/* A smaller valid block size is honoured, then back to 16. */
	r = ide_nondata(&d, ATA_CMD_SET_MULT, 0, 4, 0);
	if (check(ide_ok(&r, 0), "SET MULTIPLE MODE 4: %s", ide_res_str(&r)))
		d.mult = 4;
	pio_read(ATA_CMD_READ_MULT_EXT, 3200, 37, XFER_REP32, SEED + 2);
	r = ide_nondata(&d, ATA_CMD_SET_MULT, 0, 16, 0);
	if (check(ide_ok(&r, 0), "SET MULTIPLE MODE 16 again: %s", ide_res_str(&r)))
		d.mult = 16;

	/* Rewrite by PIO what was written by PIO. */
	pio_write(ATA_CMD_WRITE_MULT_EXT, 3100, 9, XFER_WORD16, SEED + 0x101);
	pio_read(ATA_CMD_READ_EXT, 3100, 9, XFER_REP32, SEED + 0x101);

	for (unsigned i = 0; i < NT; i++)
		disk_note(tests[i].lba, tests[i].count, i == 1 ? SEED + 0x101 : SEED + i,
			  "written");
	disk_note(3600, 24, SEED + 0x100, "written");
	tg_finish();
}
