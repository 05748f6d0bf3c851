/* SPDX-License-Identifier: MIT */
/*
 * ide_toctou: time-of-check/time-of-use attacks on the IDE bus-master
 * mediator from a second CPU (-smp 2).  While CPU 0 issues a one-sector
 * DMA command, a flipper on CPU 1 (lib/smp.c) rewrites the guest's PRD
 * table as fast as it can:
 *   A. entry 0's address, between the buffer and the hypervisor region,
 *      for writes: each writes the buffer or is refused;
 *   B. entry 0's count and end-of-table flag, between 512 bytes + EOT and
 *      64 KiB without EOT (the table then runs on): each write stores the
 *      buffer or is refused, never anything else;
 *   C. entry 0's address for reads (DMA into the region): the hypervisor
 *      survives, its self-test still passes.
 * The runner checks every sector and scans the image for plaintext.  The
 * flips must really race (some commands see the second value).
 */
#include "ide.h"
#include "smp.h"

const char test_name[] = "ide_toctou";

#define N 32
#define SEED_A 0x70E000u
#define SEED_B 0x70E100u

static struct ide_drive d;
static uint32_t scratch;

static struct ide_res write_flipping(uint32_t lba, uint32_t seed, uint8_t *buf, uint32_t off, uint32_t v2,
				     uint32_t v1)
{
	struct sg s = { (uint32_t)(uintptr_t)buf, 512 };
	smp_flip_set(0, (volatile uint8_t *)ide_prdt + off, v1, v2);
	struct ide_res r = dma_write_sg(&d, ATA_CMD_WRITE_DMA_EXT, lba, 1, seed, &s, 1);
	smp_flip_set(0, &scratch, 0, 0);
	smp_flip_quiesce();
	return r;
}

static int holds(uint32_t lba, uint32_t seed, uint8_t *buf)
{
	struct sg s = { (uint32_t)(uintptr_t)buf, 512 };
	uint32_t bad = 0;
	struct ide_res r = dma_read_sg(&d, ATA_CMD_READ_DMA_EXT, lba, 1, seed, &s, 1, &bad, "read back");
	return ide_ok(&r, 1) && !bad;
}

void test_main(void)
{
	uint64_t hvb, hvs;
	uint32_t out[4], seen = 0;

	ide_timeout_s = 10;
	hv_region(&hvb, &hvs);
	mem_init(hvb, hvs);
	ide_bufs_init(1u << 16);
	uint8_t *buf = mem_alloc(0x1000, 0x1000);
	ide_setup(&d, 0, 0);
	smp_setup();
	smp_flip_start(1);
	check(smp_wait(&SMP_FLIP_RUNNING, 1, 30) == 1, "the flipper runs on CPU 1");

	for (uint32_t i = 0; i < 2 * N; i++) {
		int b = i >= N;
		uint32_t lba = (b ? 3100 : 3000) + i % N, seed = (b ? SEED_B : SEED_A) + i % N;
		struct ide_res r = b ? write_flipping(lba, seed, buf, 4, 0, 512u | 0x80000000u)
				     : write_flipping(lba, seed, buf, 0, (uint32_t)hvb + 0x1000, (uint32_t)(uintptr_t)buf);
		if (ide_ok(&r, 1)) {
			check(holds(lba, seed, buf), "%c%u: LBA %u holds the buffer", b ? 'B' : 'A', i % N, lba);
		} else {
			seen++;
			check(ide_refused(&r), "%c%u: otherwise refused (%s)", b ? 'B' : 'A', i % N, ide_res_str(&r));
		}
		disk_note(lba, 1, seed, "written|unchanged");
	}
	for (uint32_t i = 0; i < N; i++) {
		struct sg s = { (uint32_t)(uintptr_t)buf, 512 };
		uint32_t bad = 0;
		smp_flip_set(0, &ide_prdt[0].addr, (uint32_t)(uintptr_t)buf, (uint32_t)hvb + 0x2000);
		struct ide_res r = dma_read_sg(&d, ATA_CMD_READ_DMA_EXT, 3000 + i, 1, SEED_A + i, &s, 1, &bad, "C");
		smp_flip_set(0, &scratch, 0, 0);
		smp_flip_quiesce();
		seen += !ide_ok(&r, 1);
	}
	printf("ide_toctou: %u of %u commands saw a flipped value and were refused\n", seen, 3 * N);
	check(seen > 0, "the flips raced the mediator (%u commands refused)", seen);

	SMP_FLIP_STOP = 1;
	check(smp_wait(&SMP_FLIP_STOPPED, 1, 30) == 1, "the flipper stopped");
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	tg_finish();
}
