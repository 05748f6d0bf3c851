/* SPDX-License-Identifier: MIT */
/*
 * ide_big: single DMA commands far larger than any bounce buffer.
 *
 *  - WRITE DMA EXT of 8192 sectors (4 MiB) at LBA 8192 through 512 PRD
 *    entries of 8 KiB, read back with READ DMA EXT through 64 entries of
 *    64 KiB (each stored as count 0) in scrambled memory order;
 *  - WRITE DMA EXT of 65536 sectors (32 MiB, count register 0) at LBA 65536
 *    (ends at the last sector of a 64 MiB disk) through 512 entries of
 *    64 KiB, read back through 512 scrambled 64 KiB entries.
 * Fresh, sentinel-filled buffers for the reads; every sector verified.
 * Needs about 80 MiB of guest RAM (run with -m 512).
 */
#include "ide.h"

const char test_name[] = "ide_big";

#define SEED 0xB16000u

static struct ide_drive d;

static uint32_t now_s(void)
{
	/* RTC seconds+minutes as a rough clock for the log (BCD ignored). */
	outb(0x70, 0x02);
	uint32_t m = inb(0x71);
	outb(0x70, 0x00);
	uint32_t s = inb(0x71);
	return m << 8 | s;
}

/*
 * QEMU's PIIX reads at most one 4 KiB page of PRD table (512 entries), as
 * do most real controllers in practice; both transfers stay within that.
 * The read uses chunks of rseg bytes placed in memory in a scrambled order
 * (chunk i at slot i*167 mod n), so a mediator that assumes ascending
 * addresses is caught.
 */
static void big(uint64_t lba, uint32_t count, uint32_t wseg, uint32_t rseg, uint32_t seed)
{
	uint32_t bytes = count * 512;
	uint32_t nchunks = bytes / rseg, spc = rseg / 512;
	uint8_t *w = mem_alloc(bytes, 0x10000);
	uint8_t *r = mem_alloc(bytes, 0x10000);
	struct ide_prd *t = ide_prdt;
	int n = 0;

	pat_fill(w, lba, count, seed);
	for (uint32_t off = 0; off < bytes; off += wseg, n++)
		prd_set(t, n, (uint32_t)(uintptr_t)w + off, wseg, off + wseg >= bytes);
	printf("ide_big: WRITE DMA EXT LBA %llu+%u (%u MiB) through %d PRD entries of %u bytes"
	       " [rtc %04x]\n", lba, count, bytes >> 20, n, wseg, now_s());
	struct ide_res res = ide_dma(&d, ATA_CMD_WRITE_DMA_EXT, 0, lba, count,
				     (uint32_t)(uintptr_t)t, 0, NULL);
	check(ide_ok(&res, 1), "WRITE DMA EXT of %u sectors (%d PRD entries): %s", count, n,
	      ide_res_str(&res));

	fill32(r, bytes, SENTINEL);
	for (uint32_t i = 0; i < nchunks; i++)
		prd_set(t, (int)i, (uint32_t)(uintptr_t)r + (i * 167u % nchunks) * rseg, rseg,
			i == nchunks - 1);
	printf("ide_big: READ DMA EXT LBA %llu+%u through %u scrambled PRD entries of %u bytes"
	       " [rtc %04x]\n", lba, count, nchunks, rseg, now_s());
	res = ide_dma(&d, ATA_CMD_READ_DMA_EXT, 0, lba, count, (uint32_t)(uintptr_t)t, 0, NULL);
	check(ide_ok(&res, 1), "READ DMA EXT of %u sectors (%u PRD entries): %s", count, nchunks,
	      ide_res_str(&res));
	printf("ide_big: verifying [rtc %04x]\n", now_s());
	uint32_t bad = 0;
	for (uint32_t i = 0; i < nchunks; i++)
		bad += pat_verify(r + (i * 167u % nchunks) * rseg, lba + i * spc, spc, seed,
				  "read-back");
	check(bad == 0, "all %u sectors read back as written (%u bad)", count, bad);
}

void test_main(void)
{
	ide_timeout_s = 300;
	mem_init(0, 0);
	ide_bufs_init(0x1000);
	ide_setup(&d, 0, 0);
	if (!check(d.sectors >= 131072 && d.lba48, "disk has >= 64 MiB and LBA48"))
		tg_finish();

	big(8192, 8192, 8192, 65536, SEED);		 /* 512 x 8 KiB, then 64 x 64 KiB */
	big(65536, 65536, 65536, 65536, SEED + 1); /* count register 0; 512 x 64 KiB */

	disk_note(8192, 8192, SEED, "written");
	disk_note(65536, 65536, SEED + 1, "written");
	tg_finish();
}
