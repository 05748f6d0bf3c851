/* SPDX-License-Identifier: MIT */
/*
 * QEMU's "edu" test device (1234:11e8) as a DMA engine for the IOMMU
 * tests: BAR0 registers 0x80 source, 0x88 destination, 0x90 count, 0x98
 * command (bit 0 run, bit 1: device buffer -> RAM); the device-side buffer
 * is EDU_BUF (4 KiB, but QEMU 7.2 aborts on a transfer that ends exactly at
 * its end: EDU_XFER bytes at most).  Run it with dma_mask=0xffffffff, or
 * QEMU clamps the RAM addresses to 28 bits.
 */
#ifndef TG_EDU_H
#define TG_EDU_H

#include <stdint.h>

#define EDU_BUF 0x40000u
#define EDU_XFER 2048u

struct edu {
	uint8_t bus, dev, fn;
	uint32_t bar;	/* BAR0, memory */
};
extern struct edu edu;

/* Find the device, check it answers, enable memory and bus mastering; fail() if absent. */
void edu_init(void);
/* One DMA of 'count' bytes (<= EDU_XFER): RAM at 'ram' into the device buffer
 * (to_ram 0) or the device buffer into RAM (to_ram 1).  0, or -1 if it never finished. */
int edu_dma(uint32_t ram, uint32_t count, int to_ram);
/* The same, but fail() the test if the DMA never finished. */
void edu_dma_must(uint32_t ram, uint32_t count, int to_ram);
/* Fill EDU_XFER bytes with a pattern made from seed; load it into the device buffer. */
void edu_fill(uint8_t *p, uint32_t seed);
void edu_load(uint32_t seed);

/*
 * DMA EDU_XFER bytes at pa into the device (pre-loaded with a pattern) and
 * back to RAM: EDU_BLOCKED if they came back all 0, all 1s or as the
 * pattern, EDU_LEAKED if they hold the multiboot magic 0x1BADB002 (as the
 * first page of thinvisor's image does), else EDU_OTHER.
 */
enum { EDU_BLOCKED, EDU_LEAKED, EDU_OTHER };
int edu_read_probe(uint32_t pa);
extern const char *const edu_verdict[];

#endif
