/*
 * A window onto physical memory: how the hypervisor (and host tests) turn a
 * physical address taken from a boot structure or a guest into a pointer,
 * with bounds checked.  Early at boot the window is the identity map of the
 * low 4 GiB; later it is the hypervisor's direct map.
 */
#ifndef TV_PHYSMEM_H
#define TV_PHYSMEM_H

#include "tv/types.h"

struct physmem {
	uintptr_t base;		/* virtual address of physical 'start' */
	u64 start, size;
};

static inline void *phys_ptr(const struct physmem *pm, u64 pa, u64 len)
{
	if (pa < pm->start || len > pm->size || pa - pm->start > pm->size - len)
		return NULL;
	return (void *)(pm->base + (uintptr_t)(pa - pm->start));
}

#endif
