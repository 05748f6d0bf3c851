/* SPDX-License-Identifier: MIT */
/* QEMU's edu device as a DMA engine (see edu.h). */
#include "edu.h"
#include "ide.h"
#include "tg.h"

struct edu edu;

static volatile uint32_t *reg(uint32_t off)
{
	return (volatile uint32_t *)(uintptr_t)(edu.bar + off);
}

void edu_init(void)
{
	for (uint32_t d = 0; d < 32; d++)
		if (pci_read(0, (uint8_t)d, 0, 0) == 0x11e81234u) {
			edu.dev = (uint8_t)d;
			edu.bar = pci_read(0, edu.dev, 0, 0x10) & ~0xfu;
			pci_write(0, edu.dev, 0, 0x04, pci_read(0, edu.dev, 0, 0x04) | 0x6);
			*reg(0x04) = 0x12345678u;	/* liveness: reads back inverted */
			if (*reg(0x04) != ~0x12345678u)
				fail(test_name, "edu at 00:%02x.0 BAR0 %08x does not answer", d, edu.bar);
			printf("edu: 00:%02x.0, BAR0 %08x\n", d, edu.bar);
			return;
		}
	fail(test_name, "no edu device (1234:11e8) on bus 0");
}

int edu_dma(uint32_t ram, uint32_t count, int to_ram)
{
	*reg(0x80) = to_ram ? EDU_BUF : ram;
	*reg(0x88) = to_ram ? ram : EDU_BUF;
	*reg(0x90) = count;
	*reg(0x98) = to_ram ? 3 : 1;
	for (uint32_t i = 0; i < 200000000u; i++)
		if (!(*reg(0x98) & 1))
			return 0;
	return -1;
}

void edu_dma_must(uint32_t ram, uint32_t count, int to_ram)
{
	if (edu_dma(ram, count, to_ram))
		fail(test_name, "edu DMA %s %08x did not finish", to_ram ? "to" : "from", ram);
}

void edu_fill(uint8_t *p, uint32_t seed)
{
	for (uint32_t i = 0; i < EDU_XFER; i += 4) {
		uint32_t v = (i + 1) * 0x9E3779B1u ^ seed;
		memcpy(p + i, &v, 4);
	}
}

static uint8_t pat[EDU_XFER] __attribute__((aligned(4096)));
static uint8_t back[EDU_XFER] __attribute__((aligned(4096)));

void edu_load(uint32_t seed)
{
	edu_fill(pat, seed);
	edu_dma_must((uint32_t)(uintptr_t)pat, EDU_XFER, 0);
}

static int uniform(const uint8_t *p, uint8_t b)
{
	for (uint32_t i = 0; i < EDU_XFER; i++)
		if (p[i] != b)
			return 0;
	return 1;
}

const char *const edu_verdict[] = { "blocked", "LEAKED (multiboot magic seen)", "not recognised" };

int edu_read_probe(uint32_t pa)
{
	edu_load(0xa77ac4u ^ pa);
	edu_dma_must(pa, EDU_XFER, 0);
	memset(back, 0x5a, sizeof(back));
	edu_dma_must((uint32_t)(uintptr_t)back, EDU_XFER, 1);
	for (uint32_t i = 0; i < EDU_XFER; i += 4) {
		uint32_t v;
		memcpy(&v, back + i, 4);
		if (v == 0x1BADB002u)
			return EDU_LEAKED;
	}
	if (uniform(back, 0) || uniform(back, 0xff) || !memcmp(back, pat, EDU_XFER))
		return EDU_BLOCKED;
	return EDU_OTHER;
}
