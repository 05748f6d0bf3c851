/*
 * Starting the guest: staging boot modules, and the two ways a guest kernel
 * is started (Linux boot protocol, 64-bit entry; multiboot v1).  The loaders
 * are pure: they write guest memory through a physmem window and describe
 * the first instruction's CPU state, so host tests run them on a buffer.
 */
#ifndef TV_GUEST_H
#define TV_GUEST_H

#include "tv/bootinfo.h"
#include "tv/cpu_state.h"

/* Low guest memory the loaders use for boot_params / multiboot info, tables. */
#define GUEST_SCRATCH 0x10000ull
#define GUEST_SCRATCH_SIZE 0x10000ull

struct guest_image {
	const u8 *data;		/* the kernel file, as staged */
	u64 len;
	const char *cmdline;	/* the guest's command line */
	const struct memmap *map;	/* the guest's memory map (hypervisor reserved) */
	u64 load_limit;		/* nothing may be loaded at or above this */
};

struct guest_module {
	u64 start, end;
	const char *string;
};

bool linux_is_bzimage(const u8 *data, u64 len);
bool multiboot_find_header(const u8 *data, u64 len, u64 *offset);

int linux_load(const struct physmem *pm, const struct guest_image *img, u64 initrd_pa,
	       u64 initrd_len, struct cpu_state *st, const char **err);

int multiboot_load(const struct physmem *pm, const struct guest_image *img,
		   const struct guest_module *mods, u32 nmods, struct cpu_state *st,
		   const char **err);

#endif
