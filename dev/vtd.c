/*
 * Intel VT-d, legacy (not scalable) mode, register-based invalidation.
 * One root table for every DRHD unit: each bus points to one shared
 * context table that puts every device function in the guest domain,
 * except a bus with a mediated storage controller, which gets a copy of
 * its own with those functions in the storage domain.  The domains'
 * second-level tables have 4 levels (48-bit); hardware that walks only 3
 * (39-bit, QEMU's default) is given the level-3 table under entry 0.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/iommu.h"
#include "tv/lib.h"
#include "tv/log.h"

#define VTD_CAP 0x08
#define VTD_ECAP 0x10
#define VTD_GCMD 0x18
#define VTD_GSTS 0x1C
#define VTD_RTADDR 0x20
#define VTD_CCMD 0x28
#define VTD_PMEN 0x64

#define GCMD_TE (1u << 31)
#define GCMD_SRTP (1u << 30)
#define GCMD_WBF (1u << 27)
#define GCMD_QIE (1u << 26)
#define GCMD_KEEP 0x96FFFFFFu	/* status bits that are persistent commands */
#define CAP_RWBF (1ull << 4)
#define CAP_PMR (3ull << 5)		/* protected low/high memory regions */
#define CAP_SLLPS_2M (1ull << 34)
#define ECAP_C 1ull		/* page walks snoop the CPU caches */
#define INV_GLOBAL_CC ((1ull << 63) | (1ull << 61))			/* CCMD: ICC, global */
#define INV_GLOBAL_TLB ((1ull << 63) | (1ull << 60) | (3ull << 48))	/* IOTLB: IVT, global, drain */

static u64 root_pa, slpt[IOMMU_DOMS];
static bool coherent = true;

static u32 rd32(u32 unit, u32 reg)
{
	return mmio_rd32(iommu.base[unit] + reg);
}

static u64 iotlb_reg(u32 unit)
{
	return iommu.base[unit] + ((iommu_rd64(iommu.base[unit] + VTD_ECAP) >> 8 & 0x3FF) * 16) + 8;
}

/* Wait until (reg & mask) == want; false on timeout. */
static bool wait32(u32 unit, u32 reg, u32 mask, u32 want)
{
	for (u32 i = 0; i < 10000000; i++)
		if ((rd32(unit, reg) & mask) == want)
			return true;
	return false;
}

static bool wait64(u64 pa, u64 mask)
{
	for (u32 i = 0; i < 10000000; i++)
		if (!(iommu_rd64(pa) & mask))
			return true;
	return false;
}

/* Set and/or clear a global command bit, keeping the others, and wait for the status. */
static bool gcmd(u32 unit, u32 set, u32 clear)
{
	mmio_wr32(iommu.base[unit] + VTD_GCMD, ((rd32(unit, VTD_GSTS) & GCMD_KEEP) & ~clear) | set);
	return wait32(unit, VTD_GSTS, set | clear, set);
}

const char *vtd_check(void)
{
	u32 sagaw = 0x1F;

	iommu.size = 0x1000;
	for (u32 i = 0; i < iommu.units; i++) {
		u64 cap = iommu_rd64(iommu.base[i] + VTD_CAP), ecap = iommu_rd64(iommu.base[i] + VTD_ECAP);
		if (cap == ~0ull)
			return "no registers";
		/* The window: IOTLB and fault-recording registers may lie past the first page. */
		u64 fr_end = (cap >> 24 & 0x3FF) * 16 + ((cap >> 40 & 0xFF) + 1) * 16;
		iommu.size = MAX(iommu.size, ALIGN_UP(MAX(fr_end, (ecap >> 8 & 0x3FF) * 16 + 16), 0x1000));
		if (!(cap & CAP_SLLPS_2M))
			return "no 2 MiB pages";
		if (hv.max_phys > 1ull << ((cap >> 16 & 0x3F) + 1))
			return "guest-address width too small";
		sagaw &= (u32)(cap >> 8) & 0x1F;
		coherent = coherent && (ecap & ECAP_C);
	}
	iommu.levels = (sagaw & 4) ? 4 : (sagaw & 2) && hv.max_phys <= GiB(512) ? 3 : 0;
	return iommu.levels ? NULL : "neither 3- nor 4-level tables";
}

static void set_context(u64 *ctx, u32 devfn, u32 dom)
{
	ctx[2 * devfn] = slpt[dom] | 1;			/* present, translate untranslated requests */
	ctx[2 * devfn + 1] = (u64)(iommu.levels - 2) | (u64)(dom + 1) << 8;	/* AW, domain id */
}

static u64 *table(u64 pa)
{
	return pool_va(&hv.pt_pool, pa & ~0xFFFull);
}

/* The context table of a bus, made its own (from the shared one) on first use. */
static u64 *own_context(u64 *root, u32 bus)
{
	if (table(root[2 * bus]) == table(root_pa + 0x1000)) {
		u64 pa = pool_alloc(&hv.pt_pool, 1);
		if (!pa)
			panic("iommu: out of page-table memory for the VT-d tables\n");
		memcpy(table(pa), table(root_pa + 0x1000), 4096);
		root[2 * bus] = pa | 1;
	}
	return table(root[2 * bus]);
}

/* Runs with page-table writes allowed, before the guest exists. */
void vtd_build(void)
{
	const struct pci_dev *d;

	for (u32 i = 0; i < IOMMU_DOMS; i++) {
		slpt[i] = iommu.dom[i].root;
		if (iommu.levels == 3)	/* the level-3 table that maps [0, 512 GiB) */
			slpt[i] = *table(slpt[i]) & 0x000FFFFFFFFFF000ull;
	}
	root_pa = pool_alloc(&hv.pt_pool, 2);	/* root table, shared context table */
	if (!root_pa)
		panic("iommu: out of page-table memory for the VT-d tables\n");
	u64 *root = table(root_pa), *shared = table(root_pa + 0x1000);
	for (u32 i = 0; i < 256; i++) {
		set_context(shared, i, IOMMU_DOM_GUEST);
		root[2 * i] = (root_pa + 0x1000) | 1;
	}
	for (u32 i = 0; (d = pci_dev_at(i)); i++)
		if (iommu_is_storage(d))
			set_context(own_context(root, d->bus), (u32)d->dev << 3 | d->fn, IOMMU_DOM_STORAGE);
}

static bool invalidate(u32 unit, bool context)
{
	if (!coherent)
		__asm__ volatile("wbinvd" ::: "memory");
	if (iommu_rd64(iommu.base[unit] + VTD_CAP) & CAP_RWBF) {	/* flush the write buffer */
		mmio_wr32(iommu.base[unit] + VTD_GCMD, (rd32(unit, VTD_GSTS) & GCMD_KEEP) | GCMD_WBF);
		if (!wait32(unit, VTD_GSTS, GCMD_WBF, 0))
			return false;
	}
	if (context) {
		iommu_wr64(iommu.base[unit] + VTD_CCMD, INV_GLOBAL_CC);
		if (!wait64(iommu.base[unit] + VTD_CCMD, 1ull << 63))
			return false;
	}
	iommu_wr64(iotlb_reg(unit), INV_GLOBAL_TLB);
	return wait64(iotlb_reg(unit), 1ull << 63);
}

int vtd_enable(void)
{
	for (u32 i = 0; i < iommu.units; i++) {
		/* Firmware may have left queued invalidation on: register-based needs it off. */
		if (!gcmd(i, 0, GCMD_QIE))
			return -EIO;
		iommu_wr64(iommu.base[i] + VTD_RTADDR, root_pa);
		if (!gcmd(i, GCMD_SRTP, 0) || !invalidate(i, true) || !gcmd(i, GCMD_TE, 0))
			return -EIO;
		/* Firmware's pre-boot DMA protection, if any, would block the guest's own DMA. */
		if (iommu_rd64(iommu.base[i] + VTD_CAP) & CAP_PMR) {
			mmio_wr32(iommu.base[i] + VTD_PMEN, 0);
			if (!wait32(i, VTD_PMEN, 1, 0))
				return -EIO;
		}
	}
	return 0;
}

void vtd_flush(void)
{
	for (u32 i = 0; i < iommu.units; i++)
		if (!invalidate(i, false))
			panic("iommu: VT-d at %lx does not complete an IOTLB invalidation\n", iommu.base[i]);
}
