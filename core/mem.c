/*
 * The hypervisor region: chosen at the top of usable RAM below 4 GiB, it
 * holds our image (copied there from where the loader put it) and the pool
 * every later allocation comes from.  Our own page tables map the image
 * W^X at its linked address and all other physical memory (never our image)
 * as a non-executable direct map; the nested table maps everything except
 * the region to the guest, identity.
 *
 * HyperSafe's memory lockdown: every page table (ours and the nested one)
 * lives in a pool of its own that the direct map maps read-only, and CR0.WP
 * is on, so not even the hypervisor can write a table by accident or under
 * attack.  The only writers are the gate functions below, which turn WP off
 * for one validated change (interrupts are always off in the hypervisor).
 */
#define PT_POOL_SIZE MiB(4)
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/smp.h"

extern u8 boot_stack[];
extern u8 _image_start[], _text_start[], _text_end[], _rodata_start[], _rodata_end[],
	_data_start[], _image_end[];
void hv_relocate(void *dst, const void *src, u64 len, u64 cr3);

bool in_hv_region(u64 pa, u64 len)
{
	return ranges_overlap(pa, len, hv.region_base, hv.region_size);
}

static u64 image_pa(const void *va)
{
	return hv.region_base + (u64)((const u8 *)va - _image_start);
}

static void map_or_die(struct pagetable *pt, u64 va, u64 pa, u64 size, unsigned prot)
{
	if (pt_map(pt, va, pa, size, prot))
		panic("out of hypervisor memory building page tables (hvmem=%lu MiB)\n",
		      hv.region_size >> 20);
}

/* Our own address space: image W^X, direct map RW+NX without the image. */
static void build_host_tables(void)
{
	struct pagetable *pt = &hv.host_pt;
	u64 img_end = hv.region_base + hv.image_size;

	if (pt_init(pt, &pt_format_x86, &hv.pt_pool))
		panic("out of hypervisor memory\n");
	map_or_die(pt, (u64)_image_start, image_pa(_image_start), (u64)(_text_start - _image_start), PT_R);
	map_or_die(pt, (u64)_text_start, image_pa(_text_start), (u64)(_text_end - _text_start), PT_R | PT_X);
	map_or_die(pt, (u64)_rodata_start, image_pa(_rodata_start), (u64)(_rodata_end - _rodata_start), PT_R);
	map_or_die(pt, (u64)_data_start, image_pa(_data_start), (u64)(_image_end - _data_start), PT_R | PT_W);
	/*
	 * Guard page under the stack: the page below it belonged to the early
	 * page tables, unused once these tables are live.  An overflow faults.
	 */
	if (pt_unmap(pt, (u64)boot_stack - 4096, 4096))
		panic("out of hypervisor memory\n");
	map_or_die(pt, DMAP_BASE, 0, hv.region_base, PT_R | PT_W);
	map_or_die(pt, DMAP_BASE + img_end, img_end, PT_POOL_SIZE, PT_R);	/* the page tables */
	map_or_die(pt, DMAP_BASE + img_end + PT_POOL_SIZE, img_end + PT_POOL_SIZE,
		   hv.max_phys - img_end - PT_POOL_SIZE, PT_R | PT_W);
}

/* The guest's view: identity, RWX, everything but the hypervisor region. */
static void build_nested_tables(void)
{
	struct pagetable *pt = &hv.nested_pt;
	u64 top = hv.region_base + hv.region_size;

	if (pt_init(pt, arch()->nested_fmt, &hv.pt_pool))
		panic("out of hypervisor memory\n");
	map_or_die(pt, 0, 0, hv.region_base, PT_R | PT_W | PT_X | PT_U);
	map_or_die(pt, top, top, hv.max_phys - top, PT_R | PT_W | PT_X | PT_U);
}

/*
 * The write gate for the nested table: the only change allowed at run time
 * is mapping (identity) or unmapping guest-physical space outside the
 * hypervisor region.
 */
int nested_change(u64 gpa, u64 size, bool map)
{
	int rc;

	if (in_hv_region(gpa, size) || gpa + size < gpa)
		return -EACCES;
	wp_off();
	rc = map ? pt_map(&hv.nested_pt, gpa, gpa, size, PT_R | PT_W | PT_X | PT_U)
		 : pt_unmap(&hv.nested_pt, gpa, size);
	wp_on();
	smp_nested_changed();
	return rc;
}

int nested_map_mmio(u64 gpa)
{
	u64 base = ALIGN_DOWN(gpa, MiB(2));
	u32 bits = cpuid(0x80000008, 0).eax & 0xFF;

	if (base < hv.max_phys || bits < 32 || base >= (1ull << bits))
		return -ERANGE;
	return nested_change(base, MiB(2), true);
}

/* Is a page-table page really read-only to the hypervisor?  (Self-test.) */
bool pt_locked(void)
{
	volatile u64 *p = pool_va(&hv.pt_pool, hv.host_pt.root);
	return !write_probe(p);
}

u64 hv_alloc(u64 pages, const char *what)
{
	u64 pa = pool_alloc(&hv.pool, pages);

	if (!pa)
		panic("out of hypervisor memory for %s (hvmem=%lu MiB)\n", what, hv.region_size >> 20);
	return pa;
}

/*
 * A hypervisor stack of n pages with an unmapped guard page below it, in
 * the direct map: returns its top.  Boot only, before the other CPUs run.
 */
u64 hv_stack(u64 pages)
{
	u64 pa = hv_alloc(pages + 1, "stacks");

	wp_off();
	int rc = pt_unmap(&hv.host_pt, DMAP_BASE + pa, 4096);
	wp_on();
	if (rc)
		panic("out of hypervisor memory for page tables\n");
	write_cr3(read_cr3());
	return DMAP_BASE + pa + (pages + 1) * 4096;
}

u64 ro_hash_compute(void)
{
	u64 h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (const u8 *p = _text_start; p < _rodata_end; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	return h;
}

void mem_setup(void)
{
	const struct memmap *map = &hv.boot.mmap;
	u64 base;

	hv.image_size = ALIGN_UP((u64)(_image_end - _image_start), 4096);
	if (memmap_find_top(map, GiB(4), hv.cfg.hvmem, MiB(2), &base))
		panic("hvmem=%lu MiB does not fit in usable RAM below 4 GiB\n", hv.cfg.hvmem >> 20);
	hv.region_base = base;
	hv.region_size = hv.cfg.hvmem;
	if (in_hv_region((u64)(_image_start - KBASE), hv.image_size))
		panic("hvmem=%lu MiB would overlap thinvisor's load address: too little RAM\n",
		      hv.cfg.hvmem >> 20);
	for (u32 i = 0; i < hv.boot.nmods; i++)
		if (in_hv_region(hv.boot.mods[i].start, hv.boot.mods[i].end - hv.boot.mods[i].start))
			panic("boot module %u lies where the hypervisor region must go; use a smaller hvmem=\n", i);
	hv.ram_top = memmap_ram_top(map);
	hv.max_phys = ALIGN_UP(MAX(GiB(4), hv.ram_top), GiB(1));
	log_info("hv region 0x%016lx-0x%016lx\n", hv.region_base, hv.region_base + hv.region_size);

	/* Until we switch, the early identity map reaches the pools. */
	u64 img_end = hv.region_base + hv.image_size;
	pool_init(&hv.pt_pool, img_end, img_end + PT_POOL_SIZE, (uintptr_t)img_end);
	pool_init(&hv.pool, img_end + PT_POOL_SIZE, hv.region_base + hv.region_size,
		  (uintptr_t)(img_end + PT_POOL_SIZE));
	build_host_tables();
	build_nested_tables();

	hv_relocate((void *)(uintptr_t)hv.region_base, _image_start, hv.image_size, hv.host_pt.root);

	/* Now running from the region; reach physical memory through the direct map. */
	hv.pool.va_base = DMAP_BASE + hv.pool.start;
	hv.pt_pool.va_base = DMAP_BASE + hv.pt_pool.start;
	hv.pm = (struct physmem){ DMAP_BASE, 0, hv.max_phys };
	hv.ro_hash = ro_hash_compute();
}
