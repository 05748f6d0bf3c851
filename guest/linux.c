/*
 * The Linux x86 boot protocol, 64-bit entry (Documentation/x86/boot.rst):
 * protected-mode kernel copied to an aligned address, a zero page
 * (boot_params) with the setup header, our e820 map, command line and
 * initrd, identity page tables, a GDT with __BOOT_CS/__BOOT_DS, and entry
 * at load address + 0x200 in long mode with RSI = boot_params.
 */
#include "tv/guest.h"
#include "tv/lib.h"

#define BP_PA (GUEST_SCRATCH + 0x0000)
#define CMDLINE_PA (GUEST_SCRATCH + 0x1000)
#define GDT_PA (GUEST_SCRATCH + 0x2000)
#define PML4_PA (GUEST_SCRATCH + 0x3000)
#define PDPT_PA (GUEST_SCRATCH + 0x4000)
#define PD_PA (GUEST_SCRATCH + 0x5000)	/* four pages: the low 4 GiB */
#define CMDLINE_MAX 0x1000

#define HDR_SETUP_SECTS 0x1F1
#define HDR_BOOT_FLAG 0x1FE
#define HDR_JUMP_LEN 0x201
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21C
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22C
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define BP_EXT_RAMDISK_IMAGE 0x0C0
#define BP_EXT_RAMDISK_SIZE 0x0C4
#define BP_E820_ENTRIES 0x1E8
#define BP_E820_TABLE 0x2D0
#define BP_E820_MAX 128

#define XLF_KERNEL_64 (1u << 0)
#define XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)

static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }
static void wr32(u8 *p, u32 v) { memcpy(p, &v, 4); }
static void wr64(u8 *p, u64 v) { memcpy(p, &v, 8); }

bool linux_is_bzimage(const u8 *d, u64 len)
{
	return len >= 0x1000 && d[HDR_BOOT_FLAG] == 0x55 && d[HDR_BOOT_FLAG + 1] == 0xAA &&
	       memcmp(d + HDR_MAGIC, "HdrS", 4) == 0;
}

/* Lowest aligned address at or above 'from' where 'size' bytes fit in usable RAM. */
static int find_load_addr(const struct guest_image *img, u64 from, u64 align, u64 size,
			  bool relocatable, u64 *out)
{
	u64 a = ALIGN_UP(from, align);

	if (a < from)
		return -ENOMEM;	/* aligning wrapped past 2^64: nothing up there */
	for (; a <= img->load_limit && size <= img->load_limit - a; a += align) {
		if (memmap_is_usable(img->map, a, size)) {
			*out = a;
			return 0;
		}
		if (!relocatable)
			break;
	}
	return -ENOMEM;
}

int linux_load(const struct physmem *pm, const struct guest_image *img, u64 initrd_pa,
	       u64 initrd_len, struct cpu_state *st, const char **err)
{
	const u8 *k = img->data;

	if (!linux_is_bzimage(k, img->len)) {
		*err = "not a Linux bzImage";
		return -ENOEXEC;
	}
	u16 version = (u16)(k[HDR_VERSION] | k[HDR_VERSION + 1] << 8);
	u16 xlf = (u16)(k[HDR_XLOADFLAGS] | k[HDR_XLOADFLAGS + 1] << 8);
	if (version < 0x020C || !(xlf & XLF_KERNEL_64)) {
		*err = "Linux kernel has no 64-bit entry (boot protocol < 2.12)";
		return -ENOEXEC;
	}
	u64 setup_size = ((u64)(k[HDR_SETUP_SECTS] ? k[HDR_SETUP_SECTS] : 4) + 1) * 512;
	if (setup_size >= img->len) {
		*err = "Linux bzImage is truncated";
		return -ENOEXEC;
	}
	u64 payload = img->len - setup_size;
	u64 align = rd32(k + HDR_KERNEL_ALIGNMENT);
	u64 init_size = MAX((u64)rd32(k + HDR_INIT_SIZE), payload);
	u64 pref = rd64(k + HDR_PREF_ADDRESS);
	bool reloc = k[HDR_RELOCATABLE] != 0;
	u64 load;

	if (align < 4096 || (align & (align - 1)))
		align = MiB(2);
	if (pref < MiB(1))
		pref = MiB(16);
	if (find_load_addr(img, pref, align, ALIGN_UP(init_size, 4096), reloc, &load)) {
		*err = "no room in guest RAM for the Linux kernel";
		return -ENOMEM;
	}
	if (!memmap_is_usable(img->map, GUEST_SCRATCH, GUEST_SCRATCH_SIZE)) {
		*err = "guest RAM at 64 KiB (boot structures) is not usable";
		return -ENOMEM;
	}
	u64 initrd_max = (xlf & XLF_CAN_BE_LOADED_ABOVE_4G) ? UINT64_MAX : rd32(k + HDR_INITRD_ADDR_MAX);
	if (initrd_len && initrd_pa + initrd_len - 1 > initrd_max) {
		*err = "initrd lies above the kernel's initrd_addr_max";
		return -ERANGE;
	}
	size_t cmax = MIN((size_t)CMDLINE_MAX, (size_t)rd32(k + HDR_CMDLINE_SIZE) + 1);
	if (version < 0x0206)
		cmax = 256;
	if (strlen(img->cmdline) + 1 > cmax) {
		*err = "guest command line is longer than the kernel accepts";
		return -EINVAL;
	}

	u8 *dst = phys_ptr(pm, load, init_size);
	u8 *bp = phys_ptr(pm, BP_PA, 4096);
	char *cl = phys_ptr(pm, CMDLINE_PA, CMDLINE_MAX);
	u64 *gdt = phys_ptr(pm, GDT_PA, 4096);
	u64 *pml4 = phys_ptr(pm, PML4_PA, 4096), *pdpt = phys_ptr(pm, PDPT_PA, 4096);
	u64 *pd = phys_ptr(pm, PD_PA, 4 * 4096);
	if (!dst || !bp || !cl || !gdt || !pml4 || !pdpt || !pd) {
		*err = "guest memory for the kernel is out of reach";
		return -ERANGE;
	}

	memcpy(dst, k + setup_size, payload);
	memset(dst + payload, 0, init_size - payload);

	/* boot_params: zero page plus the kernel's own setup header. */
	memset(bp, 0, 4096);
	u64 hdr_end = 0x202 + (u64)k[HDR_JUMP_LEN];
	memcpy(bp + HDR_SETUP_SECTS, k + HDR_SETUP_SECTS, MIN(hdr_end, 4096) - HDR_SETUP_SECTS);
	bp[HDR_TYPE_OF_LOADER] = 0xFF;
	bp[HDR_LOADFLAGS] |= 0x01;	/* LOADED_HIGH */
	wr32(bp + HDR_CODE32_START, (u32)load);
	wr32(bp + HDR_CMD_LINE_PTR, (u32)CMDLINE_PA);
	wr32(bp + HDR_RAMDISK_IMAGE, (u32)initrd_pa);
	wr32(bp + HDR_RAMDISK_SIZE, (u32)initrd_len);
	wr32(bp + BP_EXT_RAMDISK_IMAGE, (u32)(initrd_pa >> 32));
	wr32(bp + BP_EXT_RAMDISK_SIZE, (u32)(initrd_len >> 32));
	if (img->map->n > BP_E820_MAX) {
		*err = "memory map too large for boot_params";
		return -ERANGE;
	}
	bp[BP_E820_ENTRIES] = (u8)img->map->n;
	for (u32 i = 0; i < img->map->n; i++) {
		u8 *e = bp + BP_E820_TABLE + 20 * i;
		wr64(e, img->map->e[i].base);
		wr64(e + 8, img->map->e[i].len);
		wr32(e + 16, img->map->e[i].type);
	}
	tv_strlcpy(cl, img->cmdline, CMDLINE_MAX);

	/* Identity map of the low 4 GiB with 2 MiB pages; Linux replaces it early. */
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = PDPT_PA | 3;
	for (u64 i = 0; i < 4; i++)
		pdpt[i] = (PD_PA + i * 4096) | 3;
	for (u64 i = 0; i < 2048; i++)
		pd[i] = (i << 21) | 0x83;

	memset(gdt, 0, 4096);
	gdt[2] = 0x00AF9B000000FFFFull;	/* __BOOT_CS = 0x10 */
	gdt[3] = 0x00CF93000000FFFFull;	/* __BOOT_DS = 0x18 */

	memset(st, 0, sizeof(*st));
	st->rip = load + 0x200;
	st->rsi = BP_PA;
	st->rsp = GUEST_SCRATCH;	/* below boot_params; the kernel sets its own */
	st->rflags = 2;
	st->cr0 = CR0_PG | CR0_NE | CR0_ET | CR0_PE;
	st->cr3 = PML4_PA;
	st->cr4 = CR4_PAE;
	st->efer = EFER_LME | EFER_LMA;
	st->cs = (struct seg){ 0x10, SEG_AR_CODE64, 0xFFFFFFFF, 0 };
	st->ds = st->es = st->ss = st->fs = st->gs = (struct seg){ 0x18, SEG_AR_DATA32, 0xFFFFFFFF, 0 };
	st->tr = (struct seg){ 0, SEG_AR_TSS_BUSY, 0x67, 0 };
	st->ldtr = (struct seg){ 0, SEG_UNUSABLE, 0, 0 };
	st->gdtr = (struct dtr){ GDT_PA, 4 * 8 - 1 };
	st->idtr = (struct dtr){ 0, 0 };
	return 0;
}
