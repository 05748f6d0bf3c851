/*
 * Preparing the guest: its memory map, the boot modules moved out of the
 * way, and the guest kernel loaded by the protocol it speaks.
 */
#include "tv/guest.h"
#include "tv/hv.h"
#include "tv/lib.h"
#include "tv/log.h"

/*
 * Move every module to the top of usable RAM below the hypervisor region,
 * highest first, so that guest kernels can be loaded low without running
 * over them.  Returns the lowest staged address.
 */
static u64 stage_modules(void)
{
	struct bootinfo *bi = &hv.boot;
	u64 top = hv.region_base;
	bool done[BOOT_MODS_MAX] = { false };

	for (u32 k = 0; k < bi->nmods; k++) {
		/* The unmoved module with the highest start goes next. */
		u32 m = BOOT_MODS_MAX;
		for (u32 i = 0; i < bi->nmods; i++)
			if (!done[i] && (m == BOOT_MODS_MAX || bi->mods[i].start > bi->mods[m].start))
				m = i;
		struct boot_module *mod = &bi->mods[m];
		u64 len = mod->end - mod->start, dst;
		bool clash = memmap_find_top(&hv.guest_map, top, ALIGN_UP(len, 4096), 4096, &dst) != 0;
		for (u32 i = 0; i < bi->nmods && !clash; i++)
			clash = !done[i] && i != m &&
				ranges_overlap(dst, len, bi->mods[i].start, bi->mods[i].end - bi->mods[i].start);
		if (clash)
			panic("not enough RAM to stage boot module %u (%lu KiB)\n", m, len >> 10);
		void *to = phys_ptr(&hv.pm, dst, len), *from = phys_ptr(&hv.pm, mod->start, len);
		if (!to || !from)
			panic("boot module %u is out of reach\n", m);
		memmove(to, from, len);
		log_debug("module %u: %lx-%lx -> %lx\n", m, mod->start, mod->end, dst);
		mod->start = dst;
		mod->end = dst + len;
		top = dst;
		done[m] = true;
	}
	return top;
}

void guest_prepare(struct cpu_state *st)
{
	struct bootinfo *bi = &hv.boot;
	const char *err = NULL;
	int rc;

	hv.guest_map = bi->mmap;
	if (memmap_set(&hv.guest_map, hv.region_base, hv.region_size, MEM_RESERVED))
		panic("memory map too large to edit\n");
	if (bi->nmods == 0)
		panic("no guest kernel: give the guest kernel as the first boot module\n");

	u64 limit = stage_modules();
	const struct boot_module *k = &bi->mods[0];
	struct guest_image img = {
		.data = phys_ptr(&hv.pm, k->start, k->end - k->start),
		.len = k->end - k->start,
		.cmdline = cmdline_cook(k->string, bi->loader),
		.map = &hv.guest_map,
		.load_limit = limit,
	};
	u64 hoff;

	if (!img.data || img.len == 0)
		panic("guest kernel module is empty or out of reach\n");
	if (linux_is_bzimage(img.data, img.len)) {
		u64 rd = bi->nmods > 1 ? bi->mods[1].start : 0;
		u64 rdlen = bi->nmods > 1 ? bi->mods[1].end - bi->mods[1].start : 0;
		log_info("guest: Linux bzImage, %lu KiB, initrd %lu KiB, cmdline '%s'\n", img.len >> 10,
			 rdlen >> 10, img.cmdline);
		rc = linux_load(&hv.pm, &img, rd, rdlen, st, &err);
	} else if (multiboot_find_header(img.data, img.len, &hoff)) {
		struct guest_module mods[BOOT_MODS_MAX];
		u32 n = 0;
		for (u32 i = 1; i < bi->nmods; i++, n++)
			mods[n] = (struct guest_module){ bi->mods[i].start, bi->mods[i].end,
							 cmdline_cook(bi->mods[i].string, bi->loader) };
		log_info("guest: multiboot kernel, %lu KiB, %u modules, cmdline '%s'\n", img.len >> 10, n,
			 img.cmdline);
		rc = multiboot_load(&hv.pm, &img, mods, n, st, &err);
	} else {
		panic("guest kernel module is not a Linux bzImage or multiboot kernel\n");
	}
	if (rc)
		panic("cannot load the guest kernel: %s\n", err);
	st->efer |= arch()->efer_forced;
}
