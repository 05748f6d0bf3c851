/* SPDX-License-Identifier: MIT */
/*
 * ahci_move: on q35, the guest moves the AHCI controller's registers
 * (ABAR, BAR5 of 00:1f.2) to a new address.  thinvisor's trap must move
 * with them: at the new place the HBA still answers (same CAP), and a port's
 * command-list register still shows the guest's own value, never the
 * hypervisor's list (which lives in the hypervisor region): untrapped, the
 * HBA would show its real register.  Then another device's BAR (the VGA's
 * 4 KiB register BAR2) may not be moved over the AHCI registers, but may
 * be moved to where they were before.
 */
#include "ide.h"

const char test_name[] = "ahci_move";

#define NEW_ABAR 0xFE800000u

static uint32_t rd(uint32_t reg)
{
	outl(0xCF8, 0x80000000u | 0x1f << 11 | 2 << 8 | reg);
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0xCFC));
	return v;
}

static void wr(uint32_t reg, uint32_t v)
{
	outl(0xCF8, 0x80000000u | 0x1f << 11 | 2 << 8 | reg);
	outl(0xCFC, v);
}

/* PxCLB of port 5 (unused on q35): the guest's own value, whatever the hardware holds. */
static volatile uint32_t *clb5(uint32_t abar)
{
	return (volatile uint32_t *)(uintptr_t)(abar + 0x100 + 0x80 * 5);
}

void test_main(void)
{
	uint64_t hv_base, hv_size;
	uint32_t out[4];

	hv_region(&hv_base, &hv_size);
	if ((rd(8) >> 8) != 0x010601)
		fail(test_name, "no AHCI controller at 00:1f.2 (class %06x)", rd(8) >> 8);
	uint32_t old = rd(0x24) & ~0xFu;
	uint32_t cap = *(volatile uint32_t *)(uintptr_t)old;
	*clb5(old) = 0x00345000u;
	check(*clb5(old) == 0x00345000u, "PxCLB reads back the guest's value at the old ABAR (%08x)", *clb5(old));
	uint32_t cmd = rd(4);
	wr(4, cmd & ~2u);
	wr(0x24, NEW_ABAR);
	wr(4, cmd | 2u);
	check((rd(0x24) & ~0xFu) == NEW_ABAR, "ABAR now %08x", rd(0x24) & ~0xFu);
	check(*(volatile uint32_t *)(uintptr_t)NEW_ABAR == cap, "the HBA answers at the new ABAR (CAP %08x)", cap);
	uint32_t seen = *clb5(NEW_ABAR);
	check(seen == 0x00345000u && !(seen >= hv_base && seen < hv_base + hv_size),
	      "at the new ABAR PxCLB is still the guest's value, not the hypervisor's list (%08x)", seen);

	uint8_t b, dv, fn;
	if (check(pci_find_class(0x030000, 0xFFFF00, &b, &dv, &fn) == 1, "a VGA controller")) {
		uint32_t bar2 = pci_read(b, dv, fn, 0x18);
		pci_write(b, dv, fn, 0x18, NEW_ABAR);
		check((pci_read(b, dv, fn, 0x18) & ~0xFu) != NEW_ABAR,
		      "VGA BAR2 cannot be moved over the AHCI registers (reads %08x)", pci_read(b, dv, fn, 0x18));
		pci_write(b, dv, fn, 0x18, old);
		check((pci_read(b, dv, fn, 0x18) & ~0xFu) == old, "VGA BAR2 can move to the free old ABAR (%08x)",
		      pci_read(b, dv, fn, 0x18));
		pci_write(b, dv, fn, 0x18, bar2);
	}
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	tg_finish();
}
