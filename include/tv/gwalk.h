/* Walking the guest's own page tables (for string I/O and, later, MMIO). */
#ifndef TV_GWALK_H
#define TV_GWALK_H

#include "tv/physmem.h"

struct guest_paging {
	u64 cr0, cr3, cr4, efer;
};

/*
 * Translate a guest linear address.  Returns 0 and *gpa, or -EFAULT when
 * the guest's tables do not map it (or deny a write); tables are read
 * through pm, so a guest table outside pm's window is also -EFAULT.
 */
int gwalk(const struct physmem *pm, const struct guest_paging *pg, u64 gva, bool write, u64 *gpa);

#endif
