/*
 * The IOMMU (Intel VT-d or AMD-Vi), taken by thinvisor before the guest
 * runs.  Two identity-mapped domains: every device DMAs in the guest
 * domain, which maps all physical memory up to hv.max_phys except the
 * hypervisor region and the MMIO ranges thinvisor traps (the same view the
 * guest CPU has); the mediated storage controllers DMA in the storage
 * domain, the same plus the pages they were given with hv_dma_alloc()
 * (bounce buffers, shadow descriptors, queues) - never our image, stacks,
 * page tables or other state.  The guest never sees the IOMMU.
 */
#ifndef TV_IOMMU_H
#define TV_IOMMU_H

#include "tv/pci.h"
#include "tv/physmem.h"
#include "tv/pt.h"

/* dev/iommu.c: the common part (and iommu_init(), in tv/pci.h). */
/* Zeroed pages that a mediated storage controller may DMA to (or panic). */
u64 hv_dma_alloc(u64 pages, const char *what);
/* core/mmio_trap.c: [base, base+len) became trapped (or ordinary MMIO again). */
void iommu_mmio_changed(u64 base, u64 len, bool trapped);
/* Does [base, base+len) overlap IOMMU registers? (refused as a BAR) */
bool iommu_regs_overlap(u64 base, u64 len);

#define IOMMU_UNITS_MAX 8
enum { IOMMU_DOM_GUEST, IOMMU_DOM_STORAGE, IOMMU_DOMS };	/* hardware domain id = index + 1 */

struct iommu {
	bool amd;
	u32 units;
	u64 base[IOMMU_UNITS_MAX];
	u64 size;			/* of each unit's register window */
	int levels;			/* page-table levels the hardware walks (3 or 4) */
	struct pagetable dom[IOMMU_DOMS];
};
extern struct iommu iommu;

bool iommu_is_storage(const struct pci_dev *d);	/* a controller thinvisor mediates */
const struct pci_dev *pci_dev_at(u32 i);	/* dev/pci.c: the i-th device found, or NULL */
bool mmio_range_at(u32 i, u64 *base, u64 *len);	/* core/mmio_trap.c: the i-th trapped range */
const u8 *acpi_find_table(const char *sig);	/* core/platform.c */
int acpi_hide(const char *sig);			/* core/platform.c: acpi_unlink() on the real tables */

/*
 * The vendor parts: check the capabilities (NULL if usable, else why not;
 * sets iommu.size and iommu.levels), build the device-to-domain tables
 * (runs once, with page-table writes allowed), enable, and flush the
 * IOTLBs after a domain changed.
 */
const char *vtd_check(void);
void vtd_build(void);
int vtd_enable(void);
void vtd_flush(void);
const char *amdvi_check(void);
void amdvi_build(void);
int amdvi_enable(void);
void amdvi_flush(void);

/* 64-bit IOMMU register access (through the direct map). */
u64 iommu_rd64(u64 pa);
void iommu_wr64(u64 pa, u64 v);

/* dev/iommu_acpi.c, pure and host-tested: the ACPI side. */
/*
 * Register bases of the DRHD units (VT-d) or the distinct IVHD bases
 * (AMD-Vi) on PCI segment 0: the first max are stored, how many there are
 * is returned.  *all: one stored DRHD takes every device not in another's scope.
 */
u32 dmar_units(const u8 *dmar, u64 *base, u32 max, bool *all);
u32 ivrs_units(const u8 *ivrs, u64 *base, u32 max);
/* Remove the entries for tables 'sig' from the RSDT and XSDT (checksums fixed); how many. */
int acpi_unlink(const struct physmem *pm, const u8 *rsdp, const char *sig);

#endif
