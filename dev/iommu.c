/*
 * The IOMMU, common part: finding it (ACPI), keeping the guest away from it
 * (table hidden, registers trapped, the AMD-Vi PCI function hidden by
 * dev/pci.c), the two domains and their write gate.  The vendor parts,
 * dev/vtd.c and dev/amdvi.c, program the hardware.
 *
 * Like the nested table, the domains live in hv.pt_pool, read-only in the
 * direct map: dom_change() is their only writer at run time, and allows
 * nothing in the hypervisor region but the recorded DMA pages, and those
 * only in the storage domain.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/iommu.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/mmio_trap.h"

#define DMA_RANGES_MAX 16

struct iommu iommu;
struct dma_range {
	u64 pa, len;
};
static struct dma_range dma[DMA_RANGES_MAX];
static u32 ndma;
static bool active;

u64 iommu_rd64(u64 pa)
{
	volatile u64 *r = phys_ptr(&hv.pm, pa, 8);
	return r ? *r : ~0ull;
}

void iommu_wr64(u64 pa, u64 v)
{
	volatile u64 *r = phys_ptr(&hv.pm, pa, 8);
	if (r)
		*r = v;
}

bool iommu_is_storage(const struct pci_dev *d)
{
	return d->owner == PCI_OWNER_ATA || d->owner == PCI_OWNER_AHCI || d->owner == PCI_OWNER_NVME;
}

static bool in_dma(u64 pa, u64 len)
{
	for (u32 i = 0; i < ndma; i++)
		if (pa >= dma[i].pa && pa + len <= dma[i].pa + dma[i].len)
			return true;
	return false;
}

/* The write gate for the IOMMU domains: identity mappings only. */
static int dom_change(u32 dom, u64 pa, u64 len, bool map)
{
	int rc;

	if (pa + len < pa || (map && pa + len > hv.max_phys))
		return -EINVAL;
	if (pa >= hv.max_phys)
		return 0;	/* never mapped */
	if (map && in_hv_region(pa, len) && !(dom == IOMMU_DOM_STORAGE && in_dma(pa, len)))
		return -EACCES;
	wp_off();
	rc = map ? pt_map(&iommu.dom[dom], pa, pa, len, PT_R | PT_W)
		 : pt_unmap(&iommu.dom[dom], pa, MIN(len, hv.max_phys - pa));
	wp_on();
	return rc;
}

static void flush(void)
{
	if (iommu.amd)
		amdvi_flush();
	else
		vtd_flush();
}

u64 hv_dma_alloc(u64 pages, const char *what)
{
	u64 pa = hv_alloc(pages, what), len = pages * 4096;

	if (ndma && dma[ndma - 1].pa + dma[ndma - 1].len == pa)
		dma[ndma - 1].len += len;
	else if (ndma < DMA_RANGES_MAX)
		dma[ndma++] = (struct dma_range){ pa, len };
	else
		panic("too many DMA buffers for the IOMMU (%s)\n", what);
	if (active) {
		if (dom_change(IOMMU_DOM_STORAGE, pa, len, true))
			panic("iommu: cannot map the DMA buffers for %s\n", what);
		flush();
	}
	return pa;
}

void iommu_mmio_changed(u64 base, u64 len, bool trapped)
{
	if (!active)
		return;	/* iommu_init reads the trapped ranges itself */
	for (u32 d = 0; d < IOMMU_DOMS; d++)
		if (dom_change(d, base, len, !trapped))
			panic("iommu: cannot %s MMIO at %lx in the IOMMU domains\n", trapped ? "unmap" : "map", base);
	flush();
}

bool iommu_regs_overlap(u64 base, u64 len)
{
	for (u32 i = 0; i < iommu.units; i++)
		if (ranges_overlap(base, len, iommu.base[i], iommu.size))
			return true;
	return false;
}

/* The guest's view of the IOMMU registers: nothing there. */
void iommu_access(struct vcpu *v, u32 unit, u64 offset, u8 size, bool write, u64 *val);
void iommu_access(struct vcpu *v, u32 unit, u64 offset, u8 size, bool write, u64 *val)
{
	static u64 last, refused;

	if (!write)
		*val = ~0ull;
	if (refused++ == 0 || tsc() - last > (1ull << 32))	/* one line per burst */
		log_warn("iommu: guest %s IOMMU register %lx refused (%lu so far): the IOMMU is thinvisor's\n",
			 write ? "write to" : "read of", iommu.base[unit] + offset, refused);
	last = tsc();
}

/* Guest domain: all of memory but the region and the trapped MMIO; storage: also the DMA pages. */
static int build_domain(u32 d)
{
	u64 top = hv.region_base + hv.region_size, base, len;
	int rc;

	wp_off();
	rc = pt_init(&iommu.dom[d], iommu.amd ? &pt_format_amdvi : &pt_format_vtd, &hv.pt_pool);
	wp_on();
	if (!rc)
		rc = dom_change(d, 0, hv.region_base, true);
	if (!rc)
		rc = dom_change(d, top, hv.max_phys - top, true);
	for (u32 i = 0; !rc && mmio_range_at(i, &base, &len); i++)
		rc = dom_change(d, base, len, false);
	for (u32 i = 0; !rc && d == IOMMU_DOM_STORAGE && i < ndma; i++)
		rc = dom_change(d, dma[i].pa, dma[i].len, true);
	return rc;
}

void iommu_init(void)
{
	const u8 *dmar = acpi_find_table("DMAR"), *ivrs = acpi_find_table("IVRS");
	const char *name = dmar ? "VT-d" : "AMD-Vi", *why;
	u32 others = 0, storage = 0;
	bool all = true;
	const struct pci_dev *d;

	for (u32 i = 0; (d = pci_dev_at(i)); i++) {
		storage += iommu_is_storage(d);
		others += d->owner == PCI_OWNER_NONE && d->header == 0;
	}
	iommu.amd = !dmar && ivrs;
	iommu.units = dmar ? dmar_units(dmar, iommu.base, IOMMU_UNITS_MAX, &all)
		    : ivrs ? ivrs_units(ivrs, iommu.base, IOMMU_UNITS_MAX) : 0;
	if (iommu.units > IOMMU_UNITS_MAX) {
		log_warn("iommu: %u units, only %u are used: devices behind the others are NOT DMA-confined\n",
			 iommu.units, IOMMU_UNITS_MAX);
		iommu.units = IOMMU_UNITS_MAX;
	}
	if (!iommu.units) {
		log_warn("no IOMMU in use: %u PCI devices that thinvisor does not mediate are not DMA-confined\n",
			 others);
		return;
	}
	/* Whether we can use it or not, the guest gets neither the table nor the registers. */
	acpi_hide(dmar ? "DMAR" : "IVRS");
	why = iommu.amd ? amdvi_check() : vtd_check();
	for (u32 i = 0; i < iommu.units; i++)
		if (mmio_claim(iommu.base[i], iommu.size, MMIO_IOMMU, i))
			panic("iommu: cannot trap the %s registers at %lx\n", name, iommu.base[i]);
	if (why) {
		log_warn("iommu: %s at %lx cannot be used (%s): %u PCI devices that thinvisor does not mediate "
			 "are NOT DMA-confined\n", name, iommu.base[0], why, others);
		return;
	}
	for (u32 i = 0; i < IOMMU_DOMS; i++)
		if (build_domain(i))
			panic("iommu: out of page-table memory for the IOMMU domains\n");
	wp_off();
	if (iommu.amd)
		amdvi_build();
	else
		vtd_build();
	wp_on();
	if (iommu.amd ? amdvi_enable() : vtd_enable()) {
		log_warn("iommu: %s at %lx did not enable translation: %u PCI devices that thinvisor does not "
			 "mediate are NOT DMA-confined\n", name, iommu.base[0], others);
		return;
	}
	active = true;
	if (!all)
		log_warn("iommu: no VT-d unit takes all PCI devices: devices outside the DMAR's scopes are NOT "
			 "DMA-confined\n");
	log_debug("iommu: page-table pool %lu of %lu KiB used\n", (hv.pt_pool.next - hv.pt_pool.start) >> 10,
		  (hv.pt_pool.end - hv.pt_pool.start) >> 10);
	log_info("iommu: %s at %lx (%u unit%s, %d-level tables): %u PCI devices DMA-confined, %u storage "
		 "controllers in their own domain\n", name, iommu.base[0], iommu.units, iommu.units > 1 ? "s" : "",
		 iommu.levels, others, storage);
}
