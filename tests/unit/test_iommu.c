/*
 * dev/iommu_acpi.c: finding the IOMMUs in DMAR and IVRS, and unlinking
 * those tables from the RSDT and XSDT the guest sees.
 */
#include "util.h"

#include "tv/iommu.h"

#define RAM_PA 0x80000ull
#define RAM_SIZE 0x10000ull
#define RSDP_PA 0x80000ull
#define RSDT_PA 0x81000ull
#define XSDT_PA 0x82000ull
#define T_PA(i) (0x84000ull + 0x1000ull * (i))	/* other tables */

static u8 csum(const u8 *p, u32 n)
{
	u8 s = 0;
	while (n--)
		s = (u8)(s + *p++);
	return s;
}

/* A table header: signature, length, checksum fixed. */
static void header(u8 *t, const char *sig, u32 len)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = 1;
	memcpy(t + 10, "TVTEST", 6);
	t[9] = 0;
	t[9] = (u8)-csum(t, len);
}

/* --- DMAR -------------------------------------------------------------------------- */

static void drhd(u8 *p, u8 flags, u16 seg, u64 base, u16 len)
{
	put16(p, 0);
	put16(p + 2, len);
	p[4] = flags;
	put16(p + 6, seg);
	put64(p + 8, base);
}

static void test_dmar_units(void **state)
{
	u8 t[256] = { 0 };
	u64 base[4] = { 0 };
	bool all = false;

	drhd(t + 48, 0, 0, 0xfed91000, 24);		/* with one device scope (8 bytes, ignored) */
	put16(t + 72, 1);				/* an RMRR: skipped */
	put16(t + 74, 32);
	drhd(t + 104, 1, 1, 0xfed92000, 16);		/* segment 1: not ours */
	drhd(t + 120, 1, 0, 0xfed90000, 16);		/* INCLUDE_PCI_ALL */
	header(t, "DMAR", 136);
	assert_int_equal(dmar_units(t, base, 4, &all), 2);
	assert_int_equal(base[0], 0xfed91000);
	assert_int_equal(base[1], 0xfed90000);
	assert_true(all);
	assert_int_equal(dmar_units(t, base, 1, &all), 2);	/* never more than max stored */
	assert_int_equal(base[1], 0xfed90000);		/* (untouched from before) */
	assert_false(all);				/* the INCLUDE_PCI_ALL unit was not taken */
}

/* A zero-length structure ends the walk instead of looping; one running past the end is ignored. */
static void test_dmar_malformed(void **state)
{
	u8 t[128] = { 0 };
	u64 base[4] = { 0 };
	bool all;

	drhd(t + 48, 0, 0, 0xfed90000, 0);
	header(t, "DMAR", 80);
	assert_int_equal(dmar_units(t, base, 4, &all), 0);
	drhd(t + 48, 0, 0, 0xfed90000, 40);		/* ends at 88 > 80 */
	header(t, "DMAR", 80);
	assert_int_equal(dmar_units(t, base, 4, &all), 0);
	header(t, "DMAR", 40);				/* no room for any structure */
	assert_int_equal(dmar_units(t, base, 4, &all), 0);
}

/* --- IVRS -------------------------------------------------------------------------- */

static void ivhd(u8 *p, u8 type, u16 seg, u64 base, u16 len)
{
	p[0] = type;
	put16(p + 2, len);
	put64(p + 8, base);
	put16(p + 16, seg);
}

static void test_ivrs_units(void **state)
{
	u8 t[256] = { 0 };
	u64 base[4] = { 0 };

	ivhd(t + 48, 0x10, 0, 0xfed80000, 28);	/* one 4-byte device entry */
	ivhd(t + 76, 0x11, 0, 0xfed80000, 40);	/* the same IOMMU again */
	ivhd(t + 116, 0x20, 0, 0, 32);		/* IVMD: not an IOMMU */
	ivhd(t + 148, 0x40, 0, 0xfd000000, 40);	/* a second IOMMU */
	ivhd(t + 188, 0x10, 2, 0xfc000000, 24);	/* on segment 2 */
	header(t, "IVRS", 212);
	assert_int_equal(ivrs_units(t, base, 4), 2);
	assert_int_equal(base[0], 0xfed80000);
	assert_int_equal(base[1], 0xfd000000);
	u64 one[1] = { 0 };
	assert_int_equal(ivrs_units(t, one, 1), 2);	/* counted, not stored */
	assert_int_equal(one[0], 0xfed80000);
}

static void test_ivrs_malformed(void **state)
{
	u8 t[128] = { 0 };
	u64 base[4] = { 0 };

	ivhd(t + 48, 0x10, 0, 0xfed80000, 2);
	header(t, "IVRS", 100);
	assert_int_equal(ivrs_units(t, base, 4), 0);
	ivhd(t + 48, 0x10, 0, 0xfed80000, 16);	/* too short for an IVHD */
	header(t, "IVRS", 64);
	assert_int_equal(ivrs_units(t, base, 4), 0);
}

/* --- hiding from the guest ------------------------------------------------------------ */

struct acpi {
	struct fake_ram *ram;
	u8 *rsdp, *rsdt, *xsdt;
};

static const char *const sigs[] = { "FACP", "DMAR", "APIC", "HPET", "DMAR", "MCFG" };
#define NSIGS 6

/* RSDP (revision 2), RSDT and XSDT listing the tables in sigs[]. */
static int setup(void **state)
{
	struct acpi *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	a->ram = fake_ram_new(RAM_PA, RAM_SIZE, 0);
	a->rsdp = fake_at(a->ram, RSDP_PA, 36);
	a->rsdt = fake_at(a->ram, RSDT_PA, 36 + 4 * NSIGS);
	a->xsdt = fake_at(a->ram, XSDT_PA, 36 + 8 * NSIGS);
	memcpy(a->rsdp, "RSD PTR ", 8);
	a->rsdp[15] = 2;
	put32(a->rsdp + 16, RSDT_PA);
	put64(a->rsdp + 24, XSDT_PA);
	for (u32 i = 0; i < NSIGS; i++) {
		header(fake_at(a->ram, T_PA(i), 36), sigs[i], 36);
		put32(a->rsdt + 36 + 4 * i, (u32)T_PA(i));
		put64(a->xsdt + 36 + 8 * i, T_PA(i));
	}
	header(a->rsdt, "RSDT", 36 + 4 * NSIGS);
	header(a->xsdt, "XSDT", 36 + 8 * NSIGS);
	*state = a;
	return 0;
}

static int teardown(void **state)
{
	struct acpi *a = *state;
	fake_ram_free(a->ram);
	free(a);
	return 0;
}

/* The entries of an RSDT (esz 4) or XSDT (esz 8) as signatures, joined by ','. */
static void listed(const struct acpi *a, const u8 *t, u32 esz, char *out)
{
	u32 len = get32(t + 4);
	out[0] = 0;
	for (u32 off = 36; off + esz <= len; off += esz) {
		u64 pa = esz == 4 ? get32(t + off) : get64(t + off);
		strncat(out, (const char *)fake_at(a->ram, pa, 4), 4);
		if (off + esz < len)
			strcat(out, ",");
	}
}

static void test_unlink_both(void **state)
{
	struct acpi *a = *state;
	char got[64];

	assert_int_equal(acpi_unlink(&a->ram->pm, a->rsdp, "DMAR"), 4);	/* two entries in each */
	listed(a, a->rsdt, 4, got);
	assert_string_equal(got, "FACP,APIC,HPET,MCFG");
	listed(a, a->xsdt, 8, got);
	assert_string_equal(got, "FACP,APIC,HPET,MCFG");
	assert_int_equal(get32(a->rsdt + 4), 36 + 4 * 4);
	assert_int_equal(get32(a->xsdt + 4), 36 + 8 * 4);
	assert_int_equal(csum(a->rsdt, get32(a->rsdt + 4)), 0);
	assert_int_equal(csum(a->xsdt, get32(a->xsdt + 4)), 0);
	/* The freed tail is cleared; the tables themselves stay where they were. */
	assert_true(all_bytes(a->rsdt + 52, 8, 0));
	assert_true(all_bytes(a->xsdt + 68, 16, 0));
	assert_memory_equal(fake_at(a->ram, T_PA(1), 4), "DMAR", 4);
	/* Again: nothing left to remove, nothing changes. */
	assert_int_equal(acpi_unlink(&a->ram->pm, a->rsdp, "DMAR"), 0);
	listed(a, a->rsdt, 4, got);
	assert_string_equal(got, "FACP,APIC,HPET,MCFG");
	assert_int_equal(csum(a->rsdt, get32(a->rsdt + 4)), 0);
}

static void test_unlink_absent(void **state)
{
	struct acpi *a = *state;
	char got[64];

	assert_int_equal(acpi_unlink(&a->ram->pm, a->rsdp, "IVRS"), 0);
	listed(a, a->rsdt, 4, got);
	assert_string_equal(got, "FACP,DMAR,APIC,HPET,DMAR,MCFG");
	assert_int_equal(csum(a->rsdt, get32(a->rsdt + 4)), 0);
}

/* ACPI 1.0 (revision 0): the XSDT address field is not there, only the RSDT is edited. */
static void test_unlink_rsdt_only(void **state)
{
	struct acpi *a = *state;
	char got[64];

	a->rsdp[15] = 0;
	assert_int_equal(acpi_unlink(&a->ram->pm, a->rsdp, "MCFG"), 1);
	listed(a, a->rsdt, 4, got);
	assert_string_equal(got, "FACP,DMAR,APIC,HPET,DMAR");
	listed(a, a->xsdt, 8, got);
	assert_string_equal(got, "FACP,DMAR,APIC,HPET,DMAR,MCFG");
}

/* Entries pointing outside memory, a bad XSDT signature, no RSDP: skipped, no crash. */
static void test_unlink_wild(void **state)
{
	struct acpi *a = *state;
	char got[64];

	put32(a->rsdt + 36 + 4 * 2, 0xfffffff0u);	/* APIC entry now points nowhere */
	header(a->rsdt, "RSDT", 36 + 4 * NSIGS);
	memcpy(a->xsdt, "XSDX", 4);
	assert_int_equal(acpi_unlink(&a->ram->pm, a->rsdp, "DMAR"), 2);
	assert_int_equal(get32(a->rsdt + 4), 36 + 4 * 4);
	assert_int_equal(get32(a->rsdt + 36 + 4), 0xfffffff0u);	/* kept as it was */
	listed(a, a->xsdt, 8, got);
	assert_string_equal(got, "FACP,DMAR,APIC,HPET,DMAR,MCFG");
	put64(a->rsdp + 24, 0x7fff0000ull);		/* XSDT outside memory */
	assert_int_equal(acpi_unlink(&a->ram->pm, a->rsdp, "FACP"), 1);
	assert_int_equal(acpi_unlink(&a->ram->pm, NULL, "FACP"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dmar_units),
		cmocka_unit_test(test_dmar_malformed),
		cmocka_unit_test(test_ivrs_units),
		cmocka_unit_test(test_ivrs_malformed),
		cmocka_unit_test_setup_teardown(test_unlink_both, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_rsdt_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unlink_wild, setup, teardown),
	};
	return RUN_TESTS(tests);
}
