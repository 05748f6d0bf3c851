/* The hypervisor's global state and the core's internal interfaces. */
#ifndef TV_HV_H
#define TV_HV_H

#include "tv/bootinfo.h"
#include "tv/cpu.h"
#include "tv/config.h"
#include "tv/pt.h"
#include "tv/vcpu.h"

#define KBASE 0xFFFFFFFF80000000ull
#define DMAP_BASE 0xFFFF800000000000ull	/* direct map of physical memory */

struct hv {
	struct hv_config cfg;
	struct bootinfo boot;
	u64 region_base, region_size;	/* the hypervisor region, hidden from the guest */
	u64 image_size;			/* our image at region_base, 4 KiB aligned */
	u64 max_phys;			/* physical range in the direct map and NPT */
	struct page_pool pool;		/* everything but page tables */
	struct page_pool pt_pool;	/* page tables only: read-only in the direct map */
	struct pagetable host_pt, nested_pt;
	struct physmem pm;		/* physical memory, for reaching guest RAM */
	struct memmap guest_map;	/* what the guest is told */
	u32 vendor;			/* index into arch_table */
	u64 ro_hash;			/* hash of .text and .rodata at boot */
	u8 *iobitmap;			/* intercepted ports, shared by all CPUs */
	u64 iobitmap_pa;
	u64 ram_top;			/* end of the highest RAM of the original map */
};

extern struct hv hv;

/*
 * Vendor backends, reached by a bounds-checked index into a constant table
 * (restricted pointer indexing: no writable function pointer anywhere).
 */
#define ARCH_SVM 0
#define ARCH_VMX 1
#define ARCH_COUNT 2
extern const struct arch_ops *const arch_table[ARCH_COUNT];
static inline const struct arch_ops *arch(void)
{
	return arch_table[hv.vendor < ARCH_COUNT ? hv.vendor : ARCH_SVM];
}

/* MSRs the core handles on every vendor: the vendors must intercept them. */
#define MSR_APIC_BASE 0x1Bu
#define MSR_X2APIC_ICR 0x830u
#define CORE_MSRS_COUNT 12
extern const u32 core_msrs[CORE_MSRS_COUNT];

/* core/apic.c */
void apic_init(void);

/* core/mem.c */
void mem_setup(void);
u64 hv_alloc(u64 pages, const char *what);	/* zeroed pages from the region, or panic */
u64 hv_stack(u64 pages);		/* a stack with a guard page: its top */
int nested_map_mmio(u64 gpa);		/* on-demand identity map outside RAM */
int nested_change(u64 gpa, u64 size, bool map);	/* the write gate for the nested table */
bool pt_locked(void);			/* page tables read-only to the hypervisor */
/* The page-table write gates (here and dev/iommu.c): CR0.WP off for one change. */
static inline void wp_off(void)
{
	write_cr0(read_cr0() & ~CR0_WP);
}

static inline void wp_on(void)
{
	write_cr0(read_cr0() | CR0_WP);
}
bool in_hv_region(u64 pa, u64 len);
/* A device register (32-bit MMIO) through the direct map; reads of nothing float. */
static inline u32 mmio_rd32(u64 pa)
{
	volatile u32 *r = phys_ptr(&hv.pm, pa, 4);
	return r ? *r : ~0u;
}

static inline void mmio_wr32(u64 pa, u32 v)
{
	volatile u32 *r = phys_ptr(&hv.pm, pa, 4);
	if (r)
		*r = v;
}

/* May a guest-given DMA address range be used: RAM, never the hypervisor? */
static inline bool guest_dma_ok(u64 pa, u64 len)
{
	return pa + len <= hv.ram_top && pa + len >= pa && !in_hv_region(pa, len);
}
u64 ro_hash_compute(void);

/* core/cpu.c */
void cpu_tables_init(u32 cpu);
void cpu_prepare(u32 cpu);		/* allocate a CPU's stacks (boot CPU, at boot) */

/* core/exit.c */
void vcpu_loop(struct vcpu *v) __attribute__((noreturn));

/* core/guest_start.c */
void guest_prepare(struct cpu_state *st);

#endif
