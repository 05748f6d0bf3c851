/* SPDX-License-Identifier: MIT */
/*
 * pci_hide: on q35 with a virtio-blk disk at 00:03.0, the storage
 * controllers thinvisor does not mediate (here virtio-blk) may not be
 * reachable: not through port 0xCF8/0xCFC enumeration, not through ECAM
 * (MMCONFIG at 0xB0000000 on q35), and re-enabling one through ECAM must
 * not work.  The mediated ones (IDE, AHCI) are visible.  Devices that are not storage stay visible
 * the same way through both paths, extended configuration space included.
 */
#include "tg.h"

const char test_name[] = "pci_hide";

#define ECAM 0xB0000000u

static uint32_t cf8_read(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg)
{
	outl(0xCF8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xFC));
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0xCFC));
	return v;
}

static volatile uint32_t *ecam(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t reg)
{
	return (volatile uint32_t *)(ECAM + (bus << 20 | dev << 15 | fn << 12 | reg));
}

void test_main(void)
{
	int visible = 0, storage = 0, mismatch = 0;

	for (uint32_t dev = 0; dev < 32; dev++)
		for (uint32_t fn = 0; fn < 8; fn++) {
			uint32_t id = cf8_read(0, dev, fn, 0), eid = *ecam(0, dev, fn, 0);
			if (id != eid) {
				printf("pci_hide: 00:%02x.%u id %08x by ports but %08x by ECAM\n", dev, fn, id, eid);
				mismatch++;
			}
			if ((id & 0xFFFF) == 0xFFFF)
				continue;
			uint32_t cls = cf8_read(0, dev, fn, 8) >> 8;
			printf("pci_hide: 00:%02x.%u %08x class %06x\n", dev, fn, id, cls);
			visible++;
			if ((cls >> 16) == 0x01 && (cls >> 8) != 0x0101 && cls != 0x010601 && cls != 0x010802)
				storage++;
		}
	check(visible >= 3, "host bridge, LPC and others are visible (%d devices)", visible);
	check(storage == 0, "no unmediated storage controller (virtio-blk...) is visible (%d)", storage);
	check(mismatch == 0, "port and ECAM enumeration agree (%d mismatches)", mismatch);

	/* Try to turn the virtio-blk controller (00:03.0) back on through ECAM. */
	*ecam(0, 3, 0, 4) = 0x7;
	check(*ecam(0, 3, 0, 0) == 0xFFFFFFFFu && cf8_read(0, 3, 0, 0) == 0xFFFFFFFFu,
	      "00:03.0 (virtio-blk) stays absent after a command-register write through ECAM");

	/* Extended configuration space of a visible PCIe device reads through ECAM. */
	uint32_t host_id = *ecam(0, 0, 0, 0);
	check(host_id == cf8_read(0, 0, 0, 0), "host bridge id %08x the same both ways", host_id);
	tg_finish();
}
