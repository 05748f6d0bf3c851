/* SPDX-License-Identifier: MIT */
/*
 * hvmem_paging: the hypervisor region through the guest's own paging
 * (32-bit paging with 4 MiB pages, CR4.PSE).  Each access must fault:
 *   - the identity 4 MiB pages that span the region (large pages);
 *   - 4 KiB pages at a high virtual address mapping 64 region pages, read
 *     and written;
 *   - a page table that lies in the region itself (the walk reads it);
 *   - a 4 KiB mapping straddling the region's start: the page below it
 *     reads fine (so the fault is the region's, not the mapping's).
 * Afterwards paging goes off, the region still reads as nothing and the
 * self-test hash is intact.
 */
#include "tg.h"

const char test_name[] = "hvmem_paging";

#define PD_PA 0x00400000u	/* page directory, then page tables: guest RAM at 4 MiB */
#define PT_PA 0x00401000u
#define VA_4K 0xE0000000u	/* 4 KiB mappings of region pages */
#define VA_EVIL 0xE0400000u	/* its page table is in the region */
#define VA_EDGE 0xE0800000u	/* straddling the region start */
#define PTE_P 1u
#define PTE_W 2u
#define PDE_PS 0x80u

static uint32_t faults, oks, leaks;

static void expect_fault(uint32_t va, int write, const char *what)
{
	uint32_t val = 0;
	int v = write ? probe_write32(va, 0xDEADBEEFu) : probe_read32(va, &val);

	if (v != PROBE_OK) {
		faults++;
		return;
	}
	if (!write && val == 0) {
		oks++;
		return;
	}
	if (leaks++ < 8)
		printf("  LEAK: %s %s at %08x (value %08x)\n", what, write ? "write" : "read", va, val);
}

void test_main(void)
{
	uint64_t base, size;
	uint32_t out[4], val;

	hv_region(&base, &size);
	uint32_t hb = (uint32_t)base, hs = (uint32_t)size;
	volatile uint32_t *pd = (volatile uint32_t *)PD_PA, *pt = (volatile uint32_t *)PT_PA;
	volatile uint32_t *pt_edge = (volatile uint32_t *)(PT_PA + 0x1000);

	for (uint32_t i = 0; i < 1024; i++)	/* identity, 4 MiB pages, all of it */
		pd[i] = (i << 22) | PDE_PS | PTE_W | PTE_P;
	for (uint32_t i = 0; i < 1024; i++)
		pt[i] = i < 64 ? (hb + i * (hs / 64)) | PTE_W | PTE_P : 0;
	pd[VA_4K >> 22] = PT_PA | PTE_W | PTE_P;
	pd[VA_EVIL >> 22] = (hb + 0x3000) | PTE_W | PTE_P;	/* a "page table" in the region */
	for (uint32_t i = 0; i < 1024; i++)
		pt_edge[i] = 0;
	pt_edge[0] = (hb - 0x1000) | PTE_W | PTE_P;
	pt_edge[1] = hb | PTE_W | PTE_P;
	pd[VA_EDGE >> 22] = (PT_PA + 0x1000) | PTE_W | PTE_P;

	printf("hvmem_paging: region %08x-%08x, paging on (PSE)\n", hb, hb + hs - 1);
	__asm__ volatile("mov %%cr4, %%eax; or $0x10, %%eax; mov %%eax, %%cr4;"
			 "mov %0, %%cr3;"
			 "mov %%cr0, %%eax; or $0x80000000, %%eax; mov %%eax, %%cr0"
			 : : "r"(PD_PA) : "eax", "memory");

	for (uint32_t off = 0; off < hs; off += hs / 16)
		expect_fault(hb + off, 0, "4 MiB page");
	expect_fault(hb + hs - 4, 0, "4 MiB page");
	expect_fault(hb + 0x1000, 1, "4 MiB page");
	for (uint32_t i = 0; i < 64; i++) {
		expect_fault(VA_4K + i * 4096 + 0x800, 0, "4 KiB page");
		expect_fault(VA_4K + i * 4096 + 0x800, 1, "4 KiB page");
	}
	for (uint32_t i = 0; i < 4; i++)
		expect_fault(VA_EVIL + i * 4096, 0, "page table in the region");
	expect_fault(VA_EDGE + 0x1000, 0, "straddling mapping, region side");
	expect_fault(VA_EDGE + 0x1FFC, 1, "straddling mapping, region side");
	int below = probe_read32(VA_EDGE + 0xFFC, &val);
	check(below == PROBE_OK, "the page just below the region reads through the same page table (%s)",
	      vector_name(below));

	__asm__ volatile("mov %%cr0, %%eax; and $0x7FFFFFFF, %%eax; mov %%eax, %%cr0" : : : "eax", "memory");
	printf("hvmem_paging: %u accesses faulted, %u read 0, %u leaked or wrote\n", faults, oks, leaks);
	check(leaks == 0, "no access through guest paging reached the region (%u did)", leaks);
	check(faults > 0, "the accesses faulted (%u)", faults);
	check(probe_read32(hb + 0x800, &val) != PROBE_OK || val == 0, "paging off: still nothing there");
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	tg_finish();
}
