/* Guest page-table walks in every x86 paging mode: pure, host-tested. */
#include "tv/gwalk.h"
#include "tv/lib.h"

#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_PS 0x80ull
#define ADDR_MASK 0x000FFFFFFFFFF000ull

static int read_entry(const struct physmem *pm, u64 pa, unsigned size, u64 *e)
{
	const void *p = phys_ptr(pm, pa, size);

	if (!p)
		return -EFAULT;
	*e = 0;
	memcpy(e, p, size);
	return 0;
}

int gwalk(const struct physmem *pm, const struct guest_paging *pg, u64 gva, bool write, u64 *gpa)
{
	u64 e;

	if (!(pg->cr0 & (1ull << 31))) {		/* paging off */
		*gpa = gva & 0xFFFFFFFFull;
		return 0;
	}
	bool wp = pg->cr0 & (1ull << 16);
	if (!(pg->cr4 & (1ull << 5))) {			/* 32-bit, two levels */
		u64 pde_pa = (pg->cr3 & 0xFFFFF000ull) + ((gva >> 22) & 0x3FF) * 4;
		if (read_entry(pm, pde_pa, 4, &e) || !(e & PTE_P) || (write && wp && !(e & PTE_W)))
			return -EFAULT;
		if ((e & PTE_PS) && (pg->cr4 & (1ull << 4))) {	/* 4 MiB page (PSE) */
			*gpa = (e & 0xFFC00000ull) | ((e & 0x1FE000ull) << 19) | (gva & 0x3FFFFF);
			return 0;
		}
		bool dir_w = e & PTE_W;
		if (read_entry(pm, (e & 0xFFFFF000ull) + ((gva >> 12) & 0x3FF) * 4, 4, &e) || !(e & PTE_P) ||
		    (write && wp && !(dir_w && (e & PTE_W))))
			return -EFAULT;
		*gpa = (e & 0xFFFFF000ull) | (gva & 0xFFF);
		return 0;
	}

	/* PAE, long mode with four levels, or five (CR4.LA57). */
	int levels = !(pg->efer & (1ull << 10)) ? 3 : (pg->cr4 & (1ull << 12)) ? 5 : 4;
	u64 table = levels >= 4 ? pg->cr3 & ADDR_MASK : pg->cr3 & 0xFFFFFFE0ull;
	bool writable = true;
	for (int l = levels; l >= 1; l--) {
		unsigned shift = 12 + 9 * (unsigned)(l - 1);
		u64 idx = (levels == 3 && l == 3) ? (gva >> 30) & 3 : (gva >> shift) & 511;
		if (read_entry(pm, table + idx * 8, 8, &e) || !(e & PTE_P))
			return -EFAULT;
		if (!(levels == 3 && l == 3))	/* PAE PDPTEs carry no R/W bit */
			writable = writable && (e & PTE_W);
		if (l > 3 && (e & PTE_PS))
			return -EFAULT;	/* reserved bit: the CPU would fault too */
		if (l > 1 && !(levels == 3 && l == 3) && (e & PTE_PS)) {
			if (write && wp && !writable)
				return -EFAULT;
			u64 mask = (1ull << shift) - 1;
			*gpa = (e & ADDR_MASK & ~mask) | (gva & mask);
			return 0;
		}
		table = e & ADDR_MASK;
	}
	if (write && wp && !writable)
		return -EFAULT;
	*gpa = table | (gva & 0xFFF);
	return 0;
}
