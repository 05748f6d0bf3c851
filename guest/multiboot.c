/*
 * Starting a multiboot v1 kernel the way a multiboot loader would: load its
 * ELF32 segments (or a.out-kludge image), build a multiboot information
 * structure with our memory map, command line and modules, and enter it in
 * flat 32-bit protected mode with EAX = 0x2BADB002, EBX = info.
 */
#include "tv/guest.h"
#include "tv/lib.h"

#define MB1_HDR_MAGIC 0x1BADB002u
#define MB1_AOUT_KLUDGE (1u << 16)
#define MB1_KNOWN_REQ 0x3u	/* page-align modules, memory info (no video mode) */

#define MBI_PA (GUEST_SCRATCH + 0x0000)
#define LOADER_PA (GUEST_SCRATCH + 0x0100)
#define MODS_PA (GUEST_SCRATCH + 0x0200)	/* 16 bytes each */
#define CMDLINE_PA (GUEST_SCRATCH + 0x1000)
#define MODSTR_PA (GUEST_SCRATCH + 0x2000)
#define MMAP_PA (GUEST_SCRATCH + 0x6000)
#define STR_MAX 0x1000

static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u16 rd16(const u8 *p) { u16 v; memcpy(&v, p, 2); return v; }
static void wr32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static void wr64(u8 *p, u64 v) { memcpy(p, &v, 8); }

bool multiboot_find_header(const u8 *d, u64 len, u64 *offset)
{
	for (u64 off = 0; off + 12 <= MIN(len, 8192); off += 4) {
		u32 magic = rd32(d + off), flags = rd32(d + off + 4), sum = rd32(d + off + 8);
		if (magic == MB1_HDR_MAGIC && magic + flags + sum == 0) {
			*offset = off;
			return true;
		}
	}
	return false;
}

/* A segment destination must be usable RAM, below the limit, clear of our scratch. */
static bool dest_ok(const struct guest_image *img, u64 pa, u64 len)
{
	return len == 0 || (pa + len <= img->load_limit && memmap_is_usable(img->map, pa, len) &&
			    !ranges_overlap(pa, len, GUEST_SCRATCH, GUEST_SCRATCH_SIZE));
}

static int load_segment(const struct physmem *pm, const struct guest_image *img, u64 pa,
			u64 off, u64 filesz, u64 memsz, const char **err)
{
	if (filesz > memsz || off > img->len || filesz > img->len - off) {
		*err = "multiboot kernel segment lies outside the file";
		return -ENOEXEC;
	}
	if (memsz == 0)
		return 0;
	if (!dest_ok(img, pa, memsz)) {
		*err = "multiboot kernel segment does not fit in usable guest RAM";
		return -ENOMEM;
	}
	u8 *dst = phys_ptr(pm, pa, memsz);
	if (!dst && memsz) {
		*err = "multiboot kernel segment is out of reach";
		return -ERANGE;
	}
	memmove(dst, img->data + off, filesz);
	memset(dst + filesz, 0, memsz - filesz);
	return 0;
}

static int load_elf32(const struct physmem *pm, const struct guest_image *img, u32 *entry,
		      const char **err)
{
	const u8 *e = img->data;

	if (img->len < 52 || memcmp(e, "\x7f" "ELF", 4) || e[4] != 1 || e[5] != 1 ||
	    rd16(e + 18) != 3) {
		*err = "multiboot kernel is not an ELF32 i386 image (and has no load addresses)";
		return -ENOEXEC;
	}
	u32 phoff = rd32(e + 28);
	u16 phentsize = rd16(e + 42), phnum = rd16(e + 44);
	if (phentsize < 32 || phoff > img->len || (u64)phnum * phentsize > img->len - phoff) {
		*err = "multiboot kernel has a bad program header table";
		return -ENOEXEC;
	}
	bool any = false;
	for (u32 i = 0; i < phnum; i++) {
		const u8 *ph = e + phoff + (u64)i * phentsize;
		if (rd32(ph) != 1)	/* PT_LOAD */
			continue;
		int rc = load_segment(pm, img, rd32(ph + 12), rd32(ph + 4), rd32(ph + 16),
				      rd32(ph + 20), err);
		if (rc)
			return rc;
		any = true;
	}
	if (!any) {
		*err = "multiboot kernel has no loadable segment";
		return -ENOEXEC;
	}
	*entry = rd32(e + 24);
	return 0;
}

static int load_aout(const struct physmem *pm, const struct guest_image *img, u64 hoff,
		     u32 *entry, const char **err)
{
	const u8 *h = img->data + hoff;

	if (hoff + 32 > img->len) {
		*err = "multiboot header truncated";
		return -ENOEXEC;
	}
	u32 header_addr = rd32(h + 12), load_addr = rd32(h + 16);
	u32 load_end = rd32(h + 20), bss_end = rd32(h + 24);
	if (header_addr < load_addr || header_addr - load_addr > hoff) {
		*err = "multiboot header load addresses are inconsistent";
		return -ENOEXEC;
	}
	u64 off = hoff - (header_addr - load_addr);
	u64 filesz = load_end ? (u64)load_end - load_addr : img->len - off;
	u64 memsz = bss_end ? (u64)bss_end - load_addr : filesz;
	if (load_end && load_end < load_addr) {
		*err = "multiboot header load addresses are inconsistent";
		return -ENOEXEC;
	}
	*entry = rd32(h + 28);
	return load_segment(pm, img, load_addr, off, filesz, MAX(memsz, filesz), err);
}

int multiboot_load(const struct physmem *pm, const struct guest_image *img,
		   const struct guest_module *mods, u32 nmods, struct cpu_state *st,
		   const char **err)
{
	u64 hoff;
	u32 entry;
	int rc;

	if (!multiboot_find_header(img->data, img->len, &hoff)) {
		*err = "not a multiboot kernel";
		return -ENOEXEC;
	}
	u32 flags = rd32(img->data + hoff + 4);
	if (flags & 0xFFFF & ~MB1_KNOWN_REQ) {
		*err = "multiboot kernel requires features we do not provide";
		return -ENOEXEC;
	}
	if (!memmap_is_usable(img->map, GUEST_SCRATCH, GUEST_SCRATCH_SIZE)) {
		*err = "guest RAM at 64 KiB (boot structures) is not usable";
		return -ENOMEM;
	}
	rc = (flags & MB1_AOUT_KLUDGE) ? load_aout(pm, img, hoff, &entry, err)
				      : load_elf32(pm, img, &entry, err);
	if (rc)
		return rc;

	u8 *mbi = phys_ptr(pm, GUEST_SCRATCH, GUEST_SCRATCH_SIZE);
	if (!mbi) {
		*err = "guest boot structures out of reach";
		return -ERANGE;
	}
	memset(mbi, 0, GUEST_SCRATCH_SIZE);
	u8 *base = mbi - GUEST_SCRATCH;	/* so base + PA addresses the scratch page */

	/* mem_lower/upper: usable RAM at 0 and contiguous from 1 MiB. */
	u32 lower = 0, upper = 0;
	for (u32 i = 0; i < img->map->n; i++) {
		const struct mem_range *r = &img->map->e[i];
		if (r->type != MEM_USABLE)
			continue;
		if (r->base == 0)
			lower = (u32)(MIN(r->len, KiB(640)) >> 10);
		if (r->base <= MiB(1) && r->base + r->len > MiB(1))
			upper = (u32)(MIN(r->base + r->len - MiB(1), GiB(4) - MiB(1) - 1) >> 10);
	}
	wr32(base + MBI_PA, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
	wr32(base + MBI_PA + 4, lower);
	wr32(base + MBI_PA + 8, upper);
	tv_strlcpy((char *)base + CMDLINE_PA, img->cmdline, STR_MAX);
	wr32(base + MBI_PA + 16, (u32)CMDLINE_PA);

	u64 strp = MODSTR_PA;
	if (nmods > 16) {
		*err = "too many modules for the multiboot guest";
		return -EINVAL;
	}
	for (u32 i = 0; i < nmods; i++) {
		u8 *m = base + MODS_PA + 16 * i;
		size_t sl = strlen(mods[i].string) + 1;
		if (strp + sl > MMAP_PA) {
			*err = "module strings too long for the multiboot guest";
			return -EINVAL;
		}
		memcpy(base + strp, mods[i].string, sl);
		wr32(m, (u32)mods[i].start);
		wr32(m + 4, (u32)mods[i].end);
		wr32(m + 8, (u32)strp);
		strp += sl;
	}
	wr32(base + MBI_PA + 20, nmods);
	wr32(base + MBI_PA + 24, (u32)MODS_PA);

	for (u32 i = 0; i < img->map->n; i++) {
		u8 *e = base + MMAP_PA + 24 * i;
		wr32(e, 20);
		wr64(e + 4, img->map->e[i].base);
		wr64(e + 12, img->map->e[i].len);
		wr32(e + 20, img->map->e[i].type);
	}
	wr32(base + MBI_PA + 44, 24 * img->map->n);
	wr32(base + MBI_PA + 48, (u32)MMAP_PA);
	tv_strlcpy((char *)base + LOADER_PA, "thinvisor", 64);
	wr32(base + MBI_PA + 64, (u32)LOADER_PA);

	memset(st, 0, sizeof(*st));
	st->rax = MB1_BOOT_MAGIC;
	st->rbx = MBI_PA;
	st->rip = entry;
	st->rflags = 2;
	st->cr0 = CR0_ET | CR0_PE;
	st->cs = (struct seg){ 0x08, SEG_AR_CODE32, 0xFFFFFFFF, 0 };
	st->ds = st->es = st->ss = st->fs = st->gs = (struct seg){ 0x10, SEG_AR_DATA32, 0xFFFFFFFF, 0 };
	st->tr = (struct seg){ 0, SEG_AR_TSS_BUSY, 0x67, 0 };
	st->ldtr = (struct seg){ 0, SEG_UNUSABLE, 0, 0 };
	return 0;
}
