/*
 * AMD-Vi: one device table for all 64K device ids (2 MiB: a device behind
 * a bus number the guest invents later is still inside it), every entry
 * valid and translating in the guest domain, the mediated storage
 * controllers' in the storage domain.  4-level I/O page tables.  The
 * command buffer carries the invalidations, each batch closed by a
 * COMPLETION_WAIT whose store we poll; faults go to the event log.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/iommu.h"
#include "tv/lib.h"
#include "tv/log.h"

#define AMDVI_DEVTAB 0x00
#define AMDVI_CMDBUF 0x08
#define AMDVI_EVTLOG 0x10
#define AMDVI_CONTROL 0x18
#define AMDVI_EXCL_BASE 0x20
#define AMDVI_EFR 0x30
#define AMDVI_CMD_HEAD 0x2000
#define AMDVI_CMD_TAIL 0x2008
#define AMDVI_EVT_HEAD 0x2010
#define AMDVI_EVT_TAIL 0x2018

#define CTL_IOMMU_EN (1ull << 0)
#define CTL_EVTLOG_EN (1ull << 2)
#define CTL_COHERENT (1ull << 10)	/* device-table reads snoop the CPU caches */
#define CTL_CMDBUF_EN (1ull << 12)
#define EFR_PC (1ull << 9)		/* performance counters: a 512 KiB register window */
#define RING_LEN_256 (8ull << 56)	/* 256 entries of 16 bytes: one page */

#define DTE_V 1ull
#define DTE_TV 2ull
#define DTE_MODE4 (4ull << 9)
#define DTE_IR (1ull << 61)
#define DTE_IW (1ull << 62)

#define CMD_COMPLETION_WAIT 1ull
#define CMD_INV_DEVTAB_ENTRY 2ull
#define CMD_INV_IOMMU_PAGES 3ull

static u64 devtab_pa;
static u64 ring_pa[IOMMU_UNITS_MAX];	/* command buffer, event log, completion store */

static u64 reg(u32 unit, u32 r)
{
	return iommu.base[unit] + r;
}

const char *amdvi_check(void)
{
	iommu.size = 0x4000;
	iommu.levels = 4;	/* every AMD-Vi walks 4 levels (EFR.HATS adds more) */
	for (u32 i = 0; i < iommu.units; i++) {
		u64 efr = iommu_rd64(reg(i, AMDVI_EFR));
		if (efr == ~0ull)
			return "no registers";
		if (efr & EFR_PC)
			iommu.size = 0x80000;
	}
	return NULL;
}

static void set_dte(u32 devid, u32 dom)
{
	u64 *e = (u64 *)pool_va(&hv.pt_pool, devtab_pa) + 4 * devid;

	e[1] = dom + 1;	/* domain id; no interrupt remapping (IV = 0), no I/O ports */
	e[0] = iommu.dom[dom].root | DTE_MODE4 | DTE_IR | DTE_IW | DTE_TV | DTE_V;
}

/* Runs with page-table writes allowed, before the guest exists. */
void amdvi_build(void)
{
	const struct pci_dev *d;

	devtab_pa = pool_alloc(&hv.pt_pool, 512);
	if (!devtab_pa)
		panic("iommu: out of page-table memory for the AMD-Vi device table\n");
	for (u32 id = 0; id < 0x10000; id++)
		set_dte(id, IOMMU_DOM_GUEST);
	for (u32 i = 0; (d = pci_dev_at(i)); i++)
		if (iommu_is_storage(d))
			set_dte((u32)d->bus << 8 | (u32)d->dev << 3 | d->fn, IOMMU_DOM_STORAGE);
}

/* Queue one command, waiting while the ring is full. */
static bool cmd(u32 unit, u64 lo, u64 hi)
{
	u64 tail = iommu_rd64(reg(unit, AMDVI_CMD_TAIL)) & 0xFF0, next = (tail + 16) & 0xFFF;
	u32 i = 0;

	while ((iommu_rd64(reg(unit, AMDVI_CMD_HEAD)) & 0xFF0) == next)
		if (++i == 10000000)
			return false;
	u64 *c = pool_va(&hv.pool, ring_pa[unit] + tail);
	c[0] = lo;
	c[1] = hi;
	iommu_wr64(reg(unit, AMDVI_CMD_TAIL), next);
	return true;
}

/* Invalidate both domains' translations (and the given device entries), and wait. */
static bool invalidate(u32 unit, bool devtab)
{
	volatile u64 *done = pool_va(&hv.pool, ring_pa[unit] + 0x2000);
	const struct pci_dev *d;
	bool ok = true;

	for (u32 i = 0; devtab && (d = pci_dev_at(i)); i++)
		ok = ok && cmd(unit, CMD_INV_DEVTAB_ENTRY << 60 | (u32)d->bus << 8 | (u32)d->dev << 3 | d->fn, 0);
	for (u64 dom = 1; dom <= IOMMU_DOMS; dom++)	/* all pages (S, address all ones), PDEs too */
		ok = ok && cmd(unit, CMD_INV_IOMMU_PAGES << 60 | dom << 32, 0x7FFFFFFFFFFFF000ull | 3);
	*done = 0;
	ok = ok && cmd(unit, CMD_COMPLETION_WAIT << 60 | (ring_pa[unit] + 0x2000) | 1, 1);
	for (u32 i = 0; ok && !*done; i++)
		if (i == 10000000)
			return false;
	return ok;
}

int amdvi_enable(void)
{
	for (u32 i = 0; i < iommu.units; i++) {
		ring_pa[i] = hv_alloc(3, "the AMD-Vi command buffer and event log");
		iommu_wr64(reg(i, AMDVI_CONTROL), 0);	/* the base registers may change only while off */
		iommu_wr64(reg(i, AMDVI_DEVTAB), devtab_pa | 511);	/* 512 pages */
		iommu_wr64(reg(i, AMDVI_CMDBUF), ring_pa[i] | RING_LEN_256);
		iommu_wr64(reg(i, AMDVI_EVTLOG), (ring_pa[i] + 0x1000) | RING_LEN_256);
		iommu_wr64(reg(i, AMDVI_CMD_HEAD), 0);
		iommu_wr64(reg(i, AMDVI_CMD_TAIL), 0);
		iommu_wr64(reg(i, AMDVI_EVT_HEAD), 0);
		iommu_wr64(reg(i, AMDVI_EVT_TAIL), 0);
		iommu_wr64(reg(i, AMDVI_EXCL_BASE), 0);	/* no exclusion range: nothing untranslated */
		iommu_wr64(reg(i, AMDVI_CONTROL), CTL_CMDBUF_EN | CTL_EVTLOG_EN | CTL_COHERENT | CTL_IOMMU_EN);
		if (!invalidate(i, true))
			return -EIO;
	}
	return 0;
}

void amdvi_flush(void)
{
	for (u32 i = 0; i < iommu.units; i++)
		if (!invalidate(i, false))
			panic("iommu: AMD-Vi at %lx does not complete an invalidation\n", iommu.base[i]);
}
