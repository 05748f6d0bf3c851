/* SPDX-License-Identifier: MIT */
/*
 * iommu_hide: on q35 with an IOMMU (argument "regs=ADDR": where its
 * registers are, 0xfed90000 for QEMU's intel-iommu, 0xfed80000 for
 * amd-iommu) the guest can neither see nor touch it:
 *   - no DMAR or IVRS entry in the RSDT or XSDT, whose checksums hold and
 *     which still list the FACP;
 *   - no PCI function of class 08.06 (AMD-Vi's) on bus 0, by ports or ECAM;
 *   - its registers read all ones; writes that would turn translation off
 *     (VT-d GCMD, RTADDR; AMD-Vi device-table base, control) change nothing
 *     visible and, above all, an edu DMA read of the hypervisor region is
 *     still blocked afterwards (and the self-test intact);
 *   - the edu BAR cannot be moved over the registers (a move elsewhere, the
 *     control, works).
 */
#include "edu.h"
#include "ide.h"
#include "tg.h"

const char test_name[] = "iommu_hide";

#define ECAM 0xB0000000u

static uint8_t sum(const uint8_t *p, uint32_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

static const uint8_t *find_rsdp(void)
{
	uintptr_t bda = 0x40E;
	__asm__("" : "+r"(bda));	/* a low constant address: keep GCC's bounds check out of it */
	uint32_t ebda = (uint32_t)*(volatile uint16_t *)bda << 4;
	for (uint32_t r = 0; r < 2; r++) {
		uint32_t start = r ? 0xE0000 : ebda, len = r ? 0x20000 : 1024;
		for (uint32_t pa = start; start && pa < start + len; pa += 16)
			if (!memcmp((const void *)(uintptr_t)pa, "RSD PTR ", 8))
				return (const uint8_t *)(uintptr_t)pa;
	}
	return 0;
}

/* Check one RSDT (esz 4) or XSDT (esz 8). */
static void check_sdt(const uint8_t *t, const char *name, uint32_t esz)
{
	uint32_t len, facp = 0, iommu = 0;

	memcpy(&len, t + 4, 4);
	check(!memcmp(t, name, 4) && sum(t, len) == 0, "%s at %p: signature and checksum (length %u)", name, t, len);
	for (uint32_t off = 36; off + esz <= len; off += esz) {
		uint64_t pa = 0;
		memcpy(&pa, t + off, esz);
		if (pa >> 32)
			continue;
		const char *sig = (const char *)(uintptr_t)pa;
		facp += !memcmp(sig, "FACP", 4);
		iommu += !memcmp(sig, "DMAR", 4) || !memcmp(sig, "IVRS", 4);
	}
	check(facp == 1, "%s still lists the FACP", name);
	check(iommu == 0, "%s lists no DMAR/IVRS table (%u found)", name, iommu);
}

static uint32_t rd(uint32_t pa)
{
	return *(volatile uint32_t *)(uintptr_t)pa;
}

void test_main(void)
{
	const char *arg = mb_find_arg("regs");
	uint64_t regs64, base64, size64;
	uint32_t out[4];

	if (!arg || !parse_u64(&arg, &regs64))
		fail(test_name, "needs regs=ADDR (the IOMMU's registers)");
	uint32_t regs = (uint32_t)regs64;
	hv_region(&base64, &size64);
	edu_init();

	const uint8_t *rsdp = find_rsdp();
	if (!check(rsdp != 0, "RSDP found"))
		tg_finish();
	uint32_t rsdt;
	memcpy(&rsdt, rsdp + 16, 4);
	check_sdt((const uint8_t *)(uintptr_t)rsdt, "RSDT", 4);
	uint64_t xsdt = 0;
	if (rsdp[15] >= 2)
		memcpy(&xsdt, rsdp + 24, 8);
	if (xsdt && !(xsdt >> 32))
		check_sdt((const uint8_t *)(uintptr_t)xsdt, "XSDT", 8);

	int seen = 0;
	for (uint32_t dev = 0; dev < 32; dev++)
		for (uint32_t fn = 0; fn < 8; fn++) {
			uint32_t cls = pci_read(0, (uint8_t)dev, (uint8_t)fn, 8) >> 16;
			uint32_t ecls = *(volatile uint32_t *)(uintptr_t)(ECAM + (dev << 15 | fn << 12 | 8)) >> 16;
			seen += cls == 0x0806 || ecls == 0x0806;
		}
	check(seen == 0, "no IOMMU PCI function (class 08.06) visible on bus 0 (%d)", seen);

	static const uint32_t offs[] = { 0x00, 0x08, 0x10, 0x18, 0x1C, 0x20 };
	int ones = 0;
	for (uint32_t i = 0; i < 6; i++)
		ones += rd(regs + offs[i]) == 0xFFFFFFFFu;
	check(ones == 6, "IOMMU registers at %08x read all ones (%d of 6)", regs, ones);
	for (uint32_t i = 0; i < 6; i++)
		*(volatile uint32_t *)(uintptr_t)(regs + offs[i]) = 0;	/* translation off, tables gone */
	ones = 0;
	for (uint32_t i = 0; i < 6; i++)
		ones += rd(regs + offs[i]) == 0xFFFFFFFFu;
	check(ones == 6, "after writing zeros they still read all ones (%d of 6)", ones);
	int r = edu_read_probe((uint32_t)base64);
	check(r == EDU_BLOCKED, "after those writes an edu DMA read of the region is still blocked (%s)", edu_verdict[r]);
	check(hc(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test intact");

	uint32_t bar = pci_read(0, edu.dev, 0, 0x10);
	pci_write(0, edu.dev, 0, 0x10, 0xD0000000u);
	uint32_t moved = pci_read(0, edu.dev, 0, 0x10);
	pci_write(0, edu.dev, 0, 0x10, bar);
	check((moved & ~0xFu) == 0xD0000000u, "control: the edu BAR moves to d0000000 and back");
	pci_write(0, edu.dev, 0, 0x10, regs & 0xFFF00000u);
	uint32_t over = pci_read(0, edu.dev, 0, 0x10);
	if (over != bar)
		pci_write(0, edu.dev, 0, 0x10, bar);
	check(over == bar, "a move of the edu BAR over the IOMMU registers (%08x) is refused (BAR %08x)",
	      regs & 0xFFF00000u, over);
	check(pci_read(0, edu.dev, 0, 0x10) == bar && rd(edu.bar) == 0x010000edu, "edu is back at %08x", bar);
	tg_finish();
}
