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
	d.mem_size[6] = 0x10000;
	return d;
}

static enum pci_write_verdict check(const struct pci_dev *d, u32 reg, u8 size, u32 val)
{
	u32 bar = 99;
	u64 base = 1;

	return pci_write_check(d, reg, size, val, win, ARRAY_SIZE(win), &bar, &base);
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

	assert_int_equal(pci_write_check(&d, 0x18, 4, (u32)HV_BASE + 0x100004, win, ARRAY_SIZE(win), &bar,
					 &base), PCI_WRITE_OVER_WINDOW);
	assert_int_equal(bar, 2);
	assert_int_equal(base, HV_BASE + 0x100000);
	assert_int_equal(check(&d, 0x10, 4, (u32)(HV_BASE + HV_SIZE - 0x1000)), PCI_WRITE_OVER_WINDOW);
	assert_int_equal(check(&d, 0x10, 4, 0xFEE00000u), PCI_WRITE_OVER_WINDOW);
	assert_int_equal(check(&d, 0x10, 4, (u32)ECAM + 0x5000), PCI_WRITE_OVER_WINDOW);
	assert_int_equal(check(&d, 0x30, 4, (u32)HV_BASE | 1), PCI_WRITE_OVER_WINDOW);
	/* Without the ECAM window, its place is free. */
	assert_int_equal(pci_write_check(&d, 0x10, 4, (u32)ECAM + 0x5000, win, 2, &bar, &base), PCI_WRITE_OK);
}

static void test_partial_write_refused(void **state)
{
	struct pci_dev d = dev0();
	u32 bar = 99;
	u64 base = 0;

	assert_int_equal(pci_write_check(&d, 0x10, 2, 0, win, ARRAY_SIZE(win), &bar, &base),
			 PCI_WRITE_PARTIAL_BAR);
	assert_int_equal(bar, 0);
	assert_int_equal(check(&d, 0x30, 1, 0), PCI_WRITE_PARTIAL_BAR);
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
		cmocka_unit_test(test_bridge_rom),
	};
	return RUN_TESTS(tests);
}
