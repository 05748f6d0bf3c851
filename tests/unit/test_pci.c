/* dev/pci_cfg.c: which guest configuration writes may move a memory BAR. */
#include "util.h"

#include "tv/pci.h"

#define HV_BASE 0x3E000000ull
#define HV_SIZE MiB(64)
#define ECAM 0xB0000000ull

static const struct pci_window win[] = {
	{ HV_BASE, HV_SIZE },
	{ 0xFEE00000u, 0x1000 },
	{ ECAM, 256ull << 20 },
};

/* A device with a 4 KiB memory BAR 0, an I/O BAR 1, a 64-bit 1 MiB BAR 2-3 and a 64 KiB ROM. */
static struct pci_dev dev0(void)
{
	struct pci_dev d = { .header = 0 };

	d.mem_size[0] = 0x1000;
	d.mem_size[2] = 0x100000;
	d.mem64 = 1u << 2;
	d.mem_size[6] = 0x10000;
	return d;
}

/* BAR 2 as the device holds it now: below 4 GiB. */
static const u64 cur64[6] = { [2] = 0xFE000004u };

static enum pci_write_verdict check(const struct pci_dev *d, u32 reg, u8 size, u32 val)
{
	u32 bar = 99;
	u64 base = 1;

	return pci_write_check(d, reg, size, val, cur64, win, ARRAY_SIZE(win), &bar, &base);
}

static void test_bar_reg(void **state)
{
	struct pci_dev d = { .header = 0 };

	assert_int_equal(pci_bar_reg(&d, 0), 0x10);
	assert_int_equal(pci_bar_reg(&d, 5), 0x24);
	assert_int_equal(pci_bar_reg(&d, 6), 0x30);
	d.header = 1;
	assert_int_equal(pci_bar_reg(&d, 1), 0x14);
	assert_int_equal(pci_bar_reg(&d, 6), 0x38);
}

static void test_moves_allowed(void **state)
{
	struct pci_dev d = dev0();

	assert_int_equal(check(&d, 0x10, 4, 0xFEB00000u), PCI_WRITE_OK);
	assert_int_equal(check(&d, 0x18, 4, 0xFE000004u), PCI_WRITE_OK);
	assert_int_equal(check(&d, 0x30, 4, 0xFEB40001u), PCI_WRITE_OK);
	/* Just below and just above the hypervisor region. */
	assert_int_equal(check(&d, 0x10, 4, (u32)(HV_BASE - 0x1000)), PCI_WRITE_OK);
	assert_int_equal(check(&d, 0x10, 4, (u32)(HV_BASE + HV_SIZE)), PCI_WRITE_OK);
	/* Other registers, and BARs that are not memory BARs, are not looked at. */
	assert_int_equal(check(&d, 0x04, 2, 0x0007), PCI_WRITE_OK);
	assert_int_equal(check(&d, 0x14, 4, (u32)HV_BASE | 1), PCI_WRITE_OK);
	assert_int_equal(check(&d, 0x1C, 4, 0), PCI_WRITE_OK);
}

static void test_sizing_and_unassigning(void **state)
{
	struct pci_dev d = dev0();

	assert_int_equal(check(&d, 0x10, 4, 0xFFFFFFFFu), PCI_WRITE_OK);
	assert_int_equal(check(&d, 0x30, 4, 0xFFFFF800u), PCI_WRITE_OK);
	assert_int_equal(check(&d, 0x10, 4, 0), PCI_WRITE_OK);
	assert_int_equal(check(&d, 0x18, 4, 0x4), PCI_WRITE_OK);
}

static void test_moves_refused(void **state)
{
	struct pci_dev d = dev0();
	u32 bar = 99;
	u64 base = 0;

	assert_int_equal(pci_write_check(&d, 0x18, 4, (u32)HV_BASE + 0x100004, cur64, win, ARRAY_SIZE(win),
					 &bar, &base), PCI_WRITE_OVER_WINDOW);
	assert_int_equal(bar, 2);
	assert_int_equal(base, HV_BASE + 0x100000);
	assert_int_equal(check(&d, 0x10, 4, (u32)(HV_BASE + HV_SIZE - 0x1000)), PCI_WRITE_OVER_WINDOW);
	assert_int_equal(check(&d, 0x10, 4, 0xFEE00000u), PCI_WRITE_OVER_WINDOW);
	assert_int_equal(check(&d, 0x10, 4, (u32)ECAM + 0x5000), PCI_WRITE_OVER_WINDOW);
	assert_int_equal(check(&d, 0x30, 4, (u32)HV_BASE | 1), PCI_WRITE_OVER_WINDOW);
	/* Without the ECAM window, its place is free. */
	assert_int_equal(pci_write_check(&d, 0x10, 4, (u32)ECAM + 0x5000, cur64, win, 2, &bar, &base), PCI_WRITE_OK);
}

static void test_partial_write_refused(void **state)
{
	struct pci_dev d = dev0();
	u32 bar = 99;
	u64 base = 0;

	assert_int_equal(pci_write_check(&d, 0x10, 2, 0, cur64, win, ARRAY_SIZE(win), &bar, &base),
			 PCI_WRITE_PARTIAL_BAR);
	assert_int_equal(bar, 0);
	assert_int_equal(check(&d, 0x30, 1, 0), PCI_WRITE_PARTIAL_BAR);
}

/*
 * Found by fuzz_pci_cfg: the check only looked at writes that start a BAR
 * register.  A 16-bit write to 0xCFE (bytes 2-3 of a BAR), single bytes,
 * an outl to 0xCFD, or an 8-byte ECAM write that starts at the register
 * before, moved the BAR anywhere, over the hypervisor included.
 */
static void test_partial_write_at_any_byte_refused(void **state)
{
	struct pci_dev d = dev0();
	u32 bar = 99;
	u64 base = 0;

	assert_int_equal(pci_write_check(&d, 0x12, 2, (u32)(HV_BASE >> 16), cur64, win, ARRAY_SIZE(win),
					 &bar, &base), PCI_WRITE_PARTIAL_BAR);
	assert_int_equal(bar, 0);
	assert_int_equal(check(&d, 0x13, 1, (u32)(HV_BASE >> 24)), PCI_WRITE_PARTIAL_BAR);
	assert_int_equal(check(&d, 0x11, 1, 0), PCI_WRITE_PARTIAL_BAR);
	assert_int_equal(check(&d, 0x11, 4, 0), PCI_WRITE_PARTIAL_BAR);		/* outl to 0xCFD */
	assert_int_equal(check(&d, 0x0C, 8, 0), PCI_WRITE_PARTIAL_BAR);		/* ECAM, 0x0C-0x13 */
	assert_int_equal(check(&d, 0x32, 2, 0x3E00), PCI_WRITE_PARTIAL_BAR);	/* the ROM */
	assert_int_equal(check(&d, 0x1E, 2, 0), PCI_WRITE_PARTIAL_BAR);		/* BAR 2's upper half */
	/* An I/O BAR 0 next to a memory BAR 1: an 8-byte write from BAR 0 reaches BAR 1. */
	struct pci_dev e = { .header = 0 };
	e.mem_size[1] = 0x1000;
	assert_int_equal(pci_write_check(&e, 0x10, 8, 0xC001, cur64, win, ARRAY_SIZE(win), &bar, &base),
			 PCI_WRITE_PARTIAL_BAR);
	assert_int_equal(bar, 1);
	/* Bytes around the BARs are not BARs. */
	assert_int_equal(check(&d, 0x0F, 1, 0), PCI_WRITE_OK);
	assert_int_equal(check(&d, 0x34, 1, 0x40), PCI_WRITE_OK);
	assert_int_equal(check(&d, 0x14, 1, 0xFF), PCI_WRITE_OK);		/* the I/O BAR */
}

/*
 * Found by fuzz_pci_cfg: the base was taken as written, but the device
 * ignores the address bits below its size.  A 1 GiB BAR written
 * 0x7FF00000 decodes at 0x40000000, over a region at 0x50000000 that the
 * range as written, from 0x7FF00000 on, misses.
 */
static void test_base_as_the_device_decodes_it(void **state)
{
	static const struct pci_window hv_mid[] = { { 0x50000000, MiB(64) } };
	struct pci_dev d = { .header = 0 };
	u32 bar = 99;
	u64 base = 0;

	d.mem_size[0] = 0x40000000;
	assert_int_equal(pci_write_check(&d, 0x10, 4, 0x7FF00000u, cur64, hv_mid, 1, &bar, &base),
			 PCI_WRITE_OVER_WINDOW);
	assert_int_equal(base, 0x40000000);
	assert_int_equal(pci_write_check(&d, 0x10, 4, 0x80000000u, cur64, hv_mid, 1, &bar, &base),
			 PCI_WRITE_OK);
	/* Written half a page below the region, a 4 KiB BAR decodes a page below it: fine. */
	struct pci_dev e = dev0();
	assert_int_equal(check(&e, 0x10, 4, (u32)(HV_BASE - 0x800)), PCI_WRITE_OK);
	/* Below its size, the address is 0: unassigned. */
	assert_int_equal(check(&e, 0x10, 4, 0x800), PCI_WRITE_OK);
}

/*
 * Found by fuzz_pci_cfg: the upper half of a 64-bit BAR was never checked.
 * A BAR the firmware put at 0x1_3E100000 dropped onto the hypervisor region
 * (0x3E000000) when the guest wrote 0 to its upper half.
 */
static void test_upper_half_of_64bit_bar(void **state)
{
	struct pci_dev d = dev0();
	u64 lo[6] = { [2] = ((u32)HV_BASE + 0x100004) | 1ull << 32 }, base = 0;
	u32 bar = 99;

	assert_int_equal(pci_write_check(&d, 0x1C, 4, 0, lo, win, ARRAY_SIZE(win), &bar, &base),
			 PCI_WRITE_OVER_WINDOW);
	assert_int_equal(bar, 2);
	assert_int_equal(base, HV_BASE + 0x100000);
	assert_int_equal(pci_write_check(&d, 0x1C, 4, 1, lo, win, ARRAY_SIZE(win), &bar, &base), PCI_WRITE_OK);
	assert_int_equal(pci_write_check(&d, 0x1C, 4, 0xFFFFFFFFu, lo, win, ARRAY_SIZE(win), &bar, &base),
			 PCI_WRITE_OK);	/* sizing the upper half */
	/* Sizing: the lower half holds all ones; restoring the upper half then is fine. */
	lo[2] = 0xFFF00004u | 1ull << 32;
	assert_int_equal(pci_write_check(&d, 0x1C, 4, 0, lo, win, ARRAY_SIZE(win), &bar, &base), PCI_WRITE_OK);
	/* Unassigned. */
	lo[2] = 0x4 | 1ull << 32;
	assert_int_equal(pci_write_check(&d, 0x1C, 4, 0, lo, win, ARRAY_SIZE(win), &bar, &base), PCI_WRITE_OK);
	/* Where the BAR really is: back below 4 GiB, but not over anything. */
	assert_int_equal(check(&d, 0x1C, 4, 0), PCI_WRITE_OK);
}

/*
 * Found by fuzz_pci_cfg: a write of the lower half of a 64-bit BAR was
 * checked as if the BAR were below 4 GiB.  With its upper half set, the
 * BAR could be put over a window above 4 GiB (ECAM there, as MCFG may
 * say); and it was refused for a place below 4 GiB where it would not be.
 */
static void test_lower_half_of_64bit_bar(void **state)
{
	static const struct pci_window high_ecam[] = { { 0x1000000000ull, 256ull << 20 } };
	struct pci_dev d = dev0();
	const u64 up[6] = { [2] = 0x10ull << 32 | 0xFE000004u };
	u32 bar = 99;
	u64 base = 0;

	assert_int_equal(pci_write_check(&d, 0x18, 4, 0x00300004u, up, high_ecam, 1, &bar, &base),
			 PCI_WRITE_OVER_WINDOW);
	assert_int_equal(base, 0x1000300000ull);
	assert_int_equal(pci_write_check(&d, 0x18, 4, 0x00300004u, cur64, high_ecam, 1, &bar, &base),
			 PCI_WRITE_OK);
	/* At 0x10_3e100000 it is not over the hypervisor at 0x3e000000. */
	assert_int_equal(pci_write_check(&d, 0x18, 4, (u32)HV_BASE + 0x100004, up, win, ARRAY_SIZE(win), &bar,
					 &base), PCI_WRITE_OK);
	assert_int_equal(pci_write_check(&d, 0x18, 4, 0xFFFFFFFFu, up, high_ecam, 1, &bar, &base),
			 PCI_WRITE_OK);	/* sizing */
}

static void test_bridge_rom(void **state)
{
	struct pci_dev d = { .header = 1 };

	d.mem_size[6] = 0x1000;
	assert_int_equal(check(&d, 0x38, 4, (u32)HV_BASE | 1), PCI_WRITE_OVER_WINDOW);
	assert_int_equal(check(&d, 0x30, 4, (u32)HV_BASE | 1), PCI_WRITE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bar_reg),
		cmocka_unit_test(test_moves_allowed),
		cmocka_unit_test(test_sizing_and_unassigning),
		cmocka_unit_test(test_moves_refused),
		cmocka_unit_test(test_partial_write_refused),
		cmocka_unit_test(test_partial_write_at_any_byte_refused),
		cmocka_unit_test(test_base_as_the_device_decodes_it),
		cmocka_unit_test(test_upper_half_of_64bit_bar),
		cmocka_unit_test(test_lower_half_of_64bit_bar),
		cmocka_unit_test(test_bridge_rom),
	};
	return RUN_TESTS(tests);
}
