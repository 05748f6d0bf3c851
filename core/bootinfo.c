/* Multiboot 1 and 2 information parsing: pure, host-tested. */
#include "tv/bootinfo.h"
#include "tv/lib.h"

#define MB1_INFO_MEM (1u << 0)
#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MODS (1u << 3)
#define MB1_INFO_MMAP (1u << 6)
#define MB1_INFO_LOADER (1u << 9)

#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_MEMINFO 4
#define MB2_TAG_MMAP 6

static u32 rd32(const u8 *p)
{
	u32 v;
	memcpy(&v, p, 4);
	return v;
}

static u64 rd64(const u8 *p)
{
	u64 v;
	memcpy(&v, p, 8);
	return v;
}

/* Copy a NUL-terminated string from physical memory, bounded. */
static int copy_str(const struct physmem *pm, u64 pa, char *dst, size_t size)
{
	for (size_t i = 0; i < size; i++) {
		const char *c = phys_ptr(pm, pa + i, 1);
		if (!c)
			return -EINVAL;
		dst[i] = *c;
		if (!*c)
			return 0;
	}
	dst[size - 1] = '\0';
	return 0;
}

static int add_module(struct bootinfo *bi, u64 start, u64 end, const struct physmem *pm,
		      u64 str_pa, const char *str, const char **err)
{
	if (bi->nmods >= BOOT_MODS_MAX) {
		*err = "too many boot modules";
		return -EINVAL;
	}
	if (end < start) {
		*err = "boot module ends before it starts";
		return -EINVAL;
	}
	struct boot_module *m = &bi->mods[bi->nmods++];
	m->start = start;
	m->end = end;
	m->string[0] = '\0';
	if (str)
		tv_strlcpy(m->string, str, sizeof(m->string));
	else if (str_pa && copy_str(pm, str_pa, m->string, sizeof(m->string))) {
		*err = "boot module string unreadable";
		return -EINVAL;
	}
	return 0;
}

static int parse_mb1(u64 info_pa, const struct physmem *pm, struct bootinfo *bi, const char **err)
{
	const u8 *mbi = phys_ptr(pm, info_pa, 88);

	if (!mbi) {
		*err = "multiboot info unreadable";
		return -EINVAL;
	}
	u32 flags = rd32(mbi);
	if (flags & MB1_INFO_MEM) {
		bi->mem_lower_kb = rd32(mbi + 4);
		bi->mem_upper_kb = rd32(mbi + 8);
	}
	if ((flags & MB1_INFO_CMDLINE) && copy_str(pm, rd32(mbi + 16), bi->cmdline, sizeof(bi->cmdline))) {
		*err = "multiboot command line unreadable";
		return -EINVAL;
	}
	if ((flags & MB1_INFO_LOADER) && copy_str(pm, rd32(mbi + 64), bi->loader, sizeof(bi->loader))) {
		*err = "boot loader name unreadable";
		return -EINVAL;
	}
	if (flags & MB1_INFO_MODS) {
		u32 count = rd32(mbi + 20), addr = rd32(mbi + 24);
		for (u32 i = 0; i < count; i++) {
			const u8 *mod = phys_ptr(pm, (u64)addr + 16 * i, 16);
			if (!mod) {
				*err = "multiboot module list unreadable";
				return -EINVAL;
			}
			if (add_module(bi, rd32(mod), rd32(mod + 4), pm, rd32(mod + 8), NULL, err))
				return -EINVAL;
		}
	}
	if (flags & MB1_INFO_MMAP) {
		u64 p = rd32(mbi + 48), end = p + rd32(mbi + 44);
		while (p + 4 <= end) {
			const u8 *e = phys_ptr(pm, p, 24);
			if (!e) {
				*err = "multiboot memory map unreadable";
				return -EINVAL;
			}
			u32 size = rd32(e);
			if (size < 20) {
				*err = "multiboot memory map entry too small";
				return -EINVAL;
			}
			if (memmap_add(&bi->mmap, rd64(e + 4), rd64(e + 12), rd32(e + 20))) {
				*err = "memory map has too many entries";
				return -EINVAL;
			}
			p += (u64)size + 4;
		}
	}
	return 0;
}

static int parse_mb2(u64 info_pa, const struct physmem *pm, struct bootinfo *bi, const char **err)
{
	const u8 *hdr = phys_ptr(pm, info_pa, 8);

	if (!hdr || (info_pa & 7)) {
		*err = "multiboot2 info unreadable";
		return -EINVAL;
	}
	u32 total = rd32(hdr);
	const u8 *base = phys_ptr(pm, info_pa, total);
	if (!base || total < 16) {
		*err = "multiboot2 info has a bad size";
		return -EINVAL;
	}
	for (u32 off = 8; off + 8 <= total;) {
		const u8 *tag = base + off;
		u32 type = rd32(tag), size = rd32(tag + 4);
		if (size < 8 || size > total - off) {
			*err = "multiboot2 tag has a bad size";
			return -EINVAL;
		}
		char tmp[BOOT_STR_MAX];
		size_t slen;
		switch (type) {
		case MB2_TAG_END:
			return 0;
		case MB2_TAG_CMDLINE:
		case MB2_TAG_LOADER:
			slen = MIN(size - 8, sizeof(tmp) - 1);
			memcpy(tmp, tag + 8, slen);
			tmp[slen] = '\0';
			if (type == MB2_TAG_CMDLINE)
				tv_strlcpy(bi->cmdline, tmp, sizeof(bi->cmdline));
			else
				tv_strlcpy(bi->loader, tmp, sizeof(bi->loader));
			break;
		case MB2_TAG_MODULE:
			if (size < 16) {
				*err = "multiboot2 module tag too small";
				return -EINVAL;
			}
			slen = MIN(size - 16, sizeof(tmp) - 1);
			memcpy(tmp, tag + 16, slen);
			tmp[slen] = '\0';
			if (add_module(bi, rd32(tag + 8), rd32(tag + 12), pm, 0, tmp, err))
				return -EINVAL;
			break;
		case MB2_TAG_MEMINFO:
			if (size >= 16) {
				bi->mem_lower_kb = rd32(tag + 8);
				bi->mem_upper_kb = rd32(tag + 12);
			}
			break;
		case MB2_TAG_MMAP: {
			u32 esize = size >= 16 ? rd32(tag + 8) : 0;
			if (esize < 24) {
				*err = "multiboot2 memory map entry too small";
				return -EINVAL;
			}
			for (u64 e = 16; e + 24 <= size; e += esize)
				if (memmap_add(&bi->mmap, rd64(tag + e), rd64(tag + e + 8), rd32(tag + e + 16))) {
					*err = "memory map has too many entries";
					return -EINVAL;
				}
			break;
		}
		default:
			break;
		}
		off += ALIGN_UP(size, 8);
	}
	*err = "multiboot2 info has no end tag";
	return -EINVAL;
}

int bootinfo_parse(u32 magic, u64 info_pa, const struct physmem *pm, struct bootinfo *bi,
		   const char **err)
{
	int rc;

	memset(bi, 0, sizeof(*bi));
	if (magic == MB1_BOOT_MAGIC) {
		bi->protocol = 1;
		rc = parse_mb1(info_pa, pm, bi, err);
	} else if (magic == MB2_BOOT_MAGIC) {
		bi->protocol = 2;
		rc = parse_mb2(info_pa, pm, bi, err);
	} else {
		*err = "not started by a multiboot loader (bad magic)";
		return -EINVAL;
	}
	if (rc)
		return rc;
	/* No map: fall back to the two basic memory sizes. */
	if (bi->mmap.n == 0 && bi->mem_upper_kb) {
		memmap_add(&bi->mmap, 0, KiB(bi->mem_lower_kb), MEM_USABLE);
		memmap_add(&bi->mmap, MiB(1), KiB(bi->mem_upper_kb), MEM_USABLE);
	}
	if (bi->mmap.n == 0) {
		*err = "the boot loader gave no memory map";
		return -EINVAL;
	}
	if (memmap_normalize(&bi->mmap)) {
		*err = "memory map could not be normalized";
		return -EINVAL;
	}
	return 0;
}
