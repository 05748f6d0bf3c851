/* SPDX-License-Identifier: MIT */
/*
 * edu_dma: a device the guest drives (QEMU's edu, lib/edu.h) attacks the
 * hypervisor region by DMA.  First two control transfers through ordinary
 * guest RAM, low and right below the region, must work (so the device does
 * DMA, unclamped, and a blocked attack means something).  Then:
 *   reads   (the first half of) the region's first page - thinvisor's image,
 *           with its multiboot header - its .text page, the middle and the
 *           last page: each must be blocked (edu_read_probe).
 *   writes  16 bytes over the start of thinvisor's .text (image offset
 *           0x1000: hv_relocate, used only at boot), and half pages at the
 *           middle and end of the region.  Blocked: TV_HC_SELFTEST (a hash
 *           of .text/.rodata) still says 1 and the hypervisor answers.
 *   MMIO    the device reads the first dword of ECAM (q35: 0xB0000000, the
 *           host bridge's id there), which thinvisor traps for the CPU:
 *           no device may reach it either (it could unhide devices).
 * Argument "iommu=none": the machine has no IOMMU, which thinvisor logs as
 * not DMA-confined.  Then the first-page read must leak, the .text write
 * must land (the self-test says 0) and ECAM must answer: this shows the
 * checks can see a successful attack.  Only the harmless 16-byte write is
 * done there.
 */
#include "edu.h"
#include "ide.h"
#include "tg.h"

#define ECAM 0xB0000000u

const char test_name[] = "edu_dma";

static uint8_t src[EDU_XFER] __attribute__((aligned(4096)));
static uint8_t dst[EDU_XFER] __attribute__((aligned(4096)));

/* The device to guest RAM at pa: does it hold pattern 'seed' then? */
static int roundtrip(uint32_t pa, volatile uint8_t *p, uint32_t seed)
{
	edu_load(seed);
	edu_fill(src, seed);
	for (uint32_t i = 0; i < EDU_XFER; i++)
		p[i] = 0;
	edu_dma_must(pa, EDU_XFER, 1);
	int same = 1;
	for (uint32_t i = 0; i < EDU_XFER; i++)
		same &= p[i] == src[i];
	return same;
}

void test_main(void)
{
	const char *mode = mb_find_arg("iommu");
	int unconfined = mode && !strncmp(mode, "none", 4);
	uint64_t base64, size64;
	uint32_t out[4];

	hv_region(&base64, &size64);
	uint32_t base = (uint32_t)base64, size = (uint32_t)size64;
	printf("edu_dma: hypervisor region %08x+%08x, %s\n", base, size,
	       unconfined ? "no IOMMU (unconfined)" : "IOMMU expected");
	edu_init();

	/* Controls: guest RAM to the device and back, low and just below the region. */
	if (!check(roundtrip((uint32_t)(uintptr_t)dst, dst, 0xc0de01), "control: guest RAM to the device and back") ||
	    !check(roundtrip(base - 4096, (volatile uint8_t *)(uintptr_t)(base - 4096), 0xc0de02),
		   "control: the device writes guest RAM at %08x, just below the region", base - 4096))
		tg_finish();

	uint32_t pages[] = { base, base + 0x1000, base + size / 2, base + size - 0x1000 };
	for (uint32_t i = 0; i < (unconfined ? 1u : 4u); i++) {
		int r = edu_read_probe(pages[i]);
		printf("edu_dma: DMA read of %08x: %s\n", pages[i], edu_verdict[r]);
		if (unconfined)
			check(r == EDU_LEAKED, "without an IOMMU the DMA read the hypervisor's first page (unconfined, "
			      "as documented)");
		else
			check(r == EDU_BLOCKED, "DMA read of the region at %08x is blocked", pages[i]);
	}

	uint32_t id = pci_read(0, 0, 0, 0), got;
	edu_load(0xec0000);
	edu_dma_must(ECAM, EDU_XFER, 0);
	edu_dma_must((uint32_t)(uintptr_t)dst, EDU_XFER, 1);
	memcpy(&got, dst, 4);
	printf("edu_dma: DMA read of ECAM at %08x: %08x (host bridge id %08x)\n", ECAM, got, id);
	if (unconfined)
		check(got == id, "without an IOMMU the device reads ECAM (unconfined, as documented)");
	else
		check(got != id, "DMA read of the trapped ECAM window is blocked");

	edu_load(0xdead00);
	edu_dma_must(base + 0x1000, 16, 1);
	if (!unconfined) {
		edu_dma_must(base + size / 2, EDU_XFER, 1);
		edu_dma_must(base + size - 0x1000, EDU_XFER, 1);
	}
	int st = hc(TV_HC_SELFTEST, 0, out);
	printf("edu_dma: after the DMA writes: TV_HC_SELFTEST status %d, code and rodata intact %u\n", st, out[1]);
	if (unconfined)
		check(st == TV_OK && out[1] == 0, "without an IOMMU the DMA write changed thinvisor's code "
		      "(unconfined, as documented; the self-test sees it)");
	else
		check(st == TV_OK && out[1] == 1, "DMA writes into the region did not land: self-test intact");
	check(hc(TV_HC_VERSION, 0, out) == TV_OK && out[1] == TV_VERSION, "the hypervisor still answers");
	check(roundtrip((uint32_t)(uintptr_t)dst, dst, 0xc0de03), "control again: guest RAM DMA still works");
	tg_finish();
}
