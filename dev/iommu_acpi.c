/*
 * The ACPI side of the IOMMU, pure and host-tested: where the register
 * windows are (DMAR for VT-d, IVRS for AMD-Vi), and hiding those tables
 * from the guest's OS by unlinking them from the RSDT and XSDT.
 */
#include "tv/iommu.h"
#include "tv/lib.h"

static u64 get(const u8 *p, u32 n)
{
	u64 v = 0;
	memcpy(&v, p, n);
	return v;
}

/*
 * DMAR: remapping structures from offset 48; a DRHD (type 0) has its flags
 * at 4 (bit 0: INCLUDE_PCI_ALL), segment at 6, base at 8.
 */
u32 dmar_units(const u8 *t, u64 *base, u32 max, bool *all)
{
	u32 len = (u32)get(t + 4, 4), n = 0;

	*all = false;
	for (u32 off = 48, l; off + 4 <= len; off += l) {
		l = (u32)get(t + off + 2, 2);
		if (l < 4 || off + l > len)
			break;
		if (get(t + off, 2) == 0 && l >= 16 && get(t + off + 6, 2) == 0) {
			if (n < max) {
				*all = *all || (t[off + 4] & 1);
				base[n] = get(t + off + 8, 8);
			}
			n++;
		}
	}
	return n;
}

/*
 * IVRS: blocks from offset 48; an IVHD (types 10h, 11h, 40h) has segment
 * at 16 and base at 8.  One IOMMU is often described by several IVHD types.
 */
u32 ivrs_units(const u8 *t, u64 *base, u32 max)
{
	u32 len = (u32)get(t + 4, 4), n = 0;

	for (u32 off = 48, l; off + 4 <= len; off += l) {
		u8 type = t[off];
		l = (u32)get(t + off + 2, 2);
		if (l < 4 || off + l > len)
			break;
		if ((type != 0x10 && type != 0x11 && type != 0x40) || l < 24 || get(t + off + 16, 2))
			continue;
		u64 b = get(t + off + 8, 8);
		u32 i = 0;
		while (i < MIN(n, max) && base[i] != b)
			i++;
		if (i == MIN(n, max)) {
			if (n < max)
				base[n] = b;
			n++;
		}
	}
	return n;
}

/*
 * Hiding, not emulating: an OS that finds no DMAR/IVRS simply runs without
 * an IOMMU, so thinvisor needs no model of one (registers, queues, tables,
 * faults) in its trusted code.  The table bytes stay in guest RAM; finding
 * them gets the guest nothing, as the registers are trapped.
 */
int acpi_unlink(const struct physmem *pm, const u8 *rsdp, const char *sig)
{
	int removed = 0;

	for (u32 esz = 4; rsdp && esz <= 8; esz += 4) {
		u64 pa = esz == 4 ? get(rsdp + 16, 4) : rsdp[15] >= 2 ? get(rsdp + 24, 8) : 0;
		u8 *t = pa ? phys_ptr(pm, pa, 36) : NULL;
		if (!t || memcmp(t, esz == 4 ? "RSDT" : "XSDT", 4))
			continue;
		u32 len = (u32)get(t + 4, 4), w = 36;
		if (len < 36 || !(t = phys_ptr(pm, pa, len)))
			continue;
		for (u32 r = 36; r + esz <= len; r += esz) {
			const u8 *h = phys_ptr(pm, get(t + r, esz), 4);
			if (h && !memcmp(h, sig, 4)) {
				removed++;
				continue;
			}
			memmove(t + w, t + r, esz);
			w += esz;
		}
		memset(t + w, 0, len - w);
		memcpy(t + 4, &w, 4);
		u8 sum = 0;
		t[9] = 0;
		for (u32 i = 0; i < w; i++)
			sum = (u8)(sum + t[i]);
		t[9] = (u8)-sum;
	}
	return removed;
}
