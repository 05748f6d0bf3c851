/* SPDX-License-Identifier: MIT */
/*
 * reset_wipe: a fast reset through port 0x92 (bit 0) must not leave the
 * disk key in memory: thinvisor logs the reset and wipes the key first.
 * The guest writes and reads back one encrypted sector (the key is in use),
 * then pulls the reset; QEMU (-no-reboot) exits with status 0.  The runner
 * (storage.sh) checks the log; if the guest is still alive afterwards, it
 * fails.
 */
#include "ide.h"

const char test_name[] = "reset_wipe";

static struct ide_drive d;

void test_main(void)
{
	uint32_t bad = 0;
	struct sg s;

	mem_init(0, 0);
	ide_bufs_init(1u << 16);
	uint8_t *buf = mem_alloc(4096, 4096);
	ide_setup(&d, 0, 0);
	sg_simple(&s, 1, buf, 512, 512);
	struct ide_res r = dma_write_sg(&d, ATA_CMD_WRITE_DMA_EXT, 700, 1, 0x92, &s, 1);
	check(ide_ok(&r, 1), "write LBA 700: %s", ide_res_str(&r));
	r = dma_read_sg(&d, ATA_CMD_READ_DMA_EXT, 700, 1, 0x92, &s, 1, &bad, "LBA 700");
	check(ide_ok(&r, 1) && !bad, "read LBA 700 back: %s", ide_res_str(&r));
	disk_note(700, 1, 0x92, "written");
	printf("reset_wipe: resetting through port 0x92\n");
	serial_drain();
	outb(0x92, inb(0x92) | 1);
	for (volatile uint32_t i = 0; i < 100000000u; i++)
		;
	fail(test_name, "still running after the port 0x92 reset");
}
