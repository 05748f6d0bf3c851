/* What the boot loader handed us, in one form for multiboot 1 and 2. */
#ifndef TV_BOOTINFO_H
#define TV_BOOTINFO_H

#include "tv/memmap.h"
#include "tv/physmem.h"

#define MB1_BOOT_MAGIC 0x2BADB002u
#define MB2_BOOT_MAGIC 0x36d76289u

#define BOOT_MODS_MAX 8
#define BOOT_STR_MAX 1024

struct boot_module {
	u64 start, end;			/* physical, end exclusive */
	char string[BOOT_STR_MAX];	/* as the loader gave it */
};

struct bootinfo {
	int protocol;			/* 1 or 2 */
	char cmdline[BOOT_STR_MAX];
	char loader[64];
	u32 nmods;
	struct boot_module mods[BOOT_MODS_MAX];
	struct memmap mmap;		/* normalized */
	u32 mem_lower_kb, mem_upper_kb;
};

/*
 * Parse the loader's structures (reached through pm) into bi, copying every
 * string so nothing is left pointing into memory the guest will own.
 * Returns 0, or -EINVAL with *err set to a human-readable reason.
 */
int bootinfo_parse(u32 magic, u64 info_pa, const struct physmem *pm, struct bootinfo *bi,
		   const char **err);

#endif
