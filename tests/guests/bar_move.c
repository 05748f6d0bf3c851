/* SPDX-License-Identifier: MIT */
/*
 * bar_move: a PCI memory BAR may not be moved over the hypervisor region
 * or the local APIC (the device would answer there instead of RAM, or DMA
 * and MMIO tricks would reach what the guest must not): the write is
 * refused and the BAR keeps its value.  Sizing (all ones) and restoring
 * still work, and the hypervisor keeps serving.
 */
#include "tg.h"

const char test_name[] = "bar_move";

static uint32_t cfg_addr(uint32_t dev, uint32_t reg)
{
	return 0x80000000u | dev << 11 | reg;
}

static uint32_t rd(uint32_t dev, uint32_t reg)
{
	outl(0xCF8, cfg_addr(dev, reg));
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0xCFC));
	return v;
}

static void wr(uint32_t dev, uint32_t reg, uint32_t v)
{
	outl(0xCF8, cfg_addr(dev, reg));
	outl(0xCFC, v);
}

void test_main(void)
{
	uint64_t hv_base, hv_size;
	uint32_t out[4];
	int tried = 0;

	hv_region(&hv_base, &hv_size);
	for (uint32_t dev = 0; dev < 32; dev++) {
		if ((rd(dev, 0) & 0xFFFF) == 0xFFFF || (rd(dev, 0x0C) >> 16 & 0x7F) != 0)
			continue;
		uint32_t bar = rd(dev, 0x10);
		if ((bar & 1) || !(bar & ~0xFu))
			continue;	/* I/O or unassigned */
		tried++;
		uint32_t cmd = rd(dev, 4);
		wr(dev, 4, cmd & ~2u);
		wr(dev, 0x10, 0xFFFFFFFFu);
		uint32_t mask = rd(dev, 0x10);
		wr(dev, 0x10, bar);
		check(rd(dev, 0x10) == bar, "00:%02x.0 BAR0 %08x sizes (%08x) and restores", dev, bar, mask);
		wr(dev, 0x10, (uint32_t)hv_base | (bar & 0xF));
		check(rd(dev, 0x10) == bar, "00:%02x.0 BAR0 not moved over the hypervisor (%08x)", dev,
		      rd(dev, 0x10));
		wr(dev, 0x10, (uint32_t)(hv_base + hv_size - 0x1000) | (bar & 0xF));
		check(rd(dev, 0x10) == bar, "00:%02x.0 BAR0 not moved onto the region's last page", dev);
		wr(dev, 0x10, 0xFEE00000u | (bar & 0xF));
		check(rd(dev, 0x10) == bar, "00:%02x.0 BAR0 not moved over the local APIC", dev);
		wr(dev, 4, cmd);
	}
	check(tried >= 1, "found %d devices with a memory BAR0", tried);
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	tg_finish();
}
