/*
 * linux_load and multiboot_load (guest/linux.c, guest/multiboot.c): the
 * guest kernel's image (bzImage setup header; multiboot header, ELF32
 * program headers or a.out kludge) loaded into 8 MiB of fake guest RAM.
 *
 * Input: u8 protocol (bit 0: multiboot) and module count (bits 1-5),
 * u8 command line length, u32 initrd address, u32 initrd length, then the
 * kernel image (all that is left).
 *
 * Guest RAM is usable at [0, 0x9fc00) and [1 MiB, 8 MiB), reserved between
 * (poisoned: a loader that writes there is an ASan report), and nothing
 * above (the end of the block).  Invariants: 0 or a negative error with a
 * reason; the image is only read inside its length (an exactly sized
 * block).  A Linux guest starts at its load address + 0x200, which is
 * aligned, at or above 1 MiB, with the kernel's init_size in usable RAM;
 * boot_params hold our map and the command line.  A multiboot guest starts
 * with EAX = 0x2BADB002 and EBX at an information block whose command line,
 * module list and memory map are ours.
 */
#include "fuzz.h"

#include "tv/guest.h"
#include "tv/lib.h"

#define RAM_SIZE MiB(8)
#define HOLE 0x9FC00ull

static u8 ram[RAM_SIZE];

static u32 rd32(const u8 *p)
{
	return (u32)rd_le(p, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char line[] = "console=ttyS0 root=/dev/sda1 rw quiet loglevel=3 init=/sbin/init "
				   "thinvisor.test=1 a=b c=d e=f g=h";
	static const char *const names[] = { "mod0 arg", "", "a somewhat longer module string" };
	struct guest_module mods[17];
	struct fuzz_in in = { data, size };
	u8 sel = (u8)take(&in, 1);
	size_t clen = (size_t)take(&in, 1) % sizeof(line);
	u64 initrd_pa = take(&in, 4), initrd_len = take(&in, 4);
	u32 nmods = (sel >> 1) % 18;
	char cmdline[sizeof(line)];
	struct memmap map = { 0 };
	struct physmem pm = { (uintptr_t)ram, 0, RAM_SIZE };
	struct cpu_state st;
	const char *err = NULL;
	int rc;

	for (u32 i = 0; i < ARRAY_SIZE(mods); i++)
		mods[i] = (struct guest_module){ 0x200000 + 0x10000ull * i, 0x200000 + 0x18000ull * i,
						 names[i % ARRAY_SIZE(names)] };
	memcpy(cmdline, line, clen);
	cmdline[clen] = '\0';
	memmap_add(&map, 0, HOLE, MEM_USABLE);
	memmap_add(&map, HOLE, MiB(1) - HOLE, MEM_RESERVED);
	memmap_add(&map, MiB(1), RAM_SIZE - MiB(1), MEM_USABLE);

	u8 *image = dup_rest(&in);
	struct guest_image img = { image, in.n, cmdline, &map, RAM_SIZE };
	ASAN_POISON_MEMORY_REGION(ram + HOLE, MiB(1) - HOLE);
	memset(&st, 0xA5, sizeof(st));
	if (sel & 1)
		rc = multiboot_load(&pm, &img, mods, nmods, &st, &err);
	else
		rc = linux_load(&pm, &img, initrd_pa, initrd_len, &st, &err);
	ASAN_UNPOISON_MEMORY_REGION(ram + HOLE, MiB(1) - HOLE);

	CHECK(rc <= 0);
	if (rc) {
		CHECK(err && *err);
	} else if (sel & 1) {
		const u8 *mbi = ram + GUEST_SCRATCH;
		CHECK(st.rax == MB1_BOOT_MAGIC && st.rbx == GUEST_SCRATCH && st.rip <= UINT32_MAX);
		u32 cl = rd32(mbi + 16), mcount = rd32(mbi + 20), maddr = rd32(mbi + 24);
		CHECK(cl >= GUEST_SCRATCH && cl + clen < GUEST_SCRATCH + GUEST_SCRATCH_SIZE);
		CHECK(!strcmp((const char *)ram + cl, cmdline));
		CHECK(mcount == nmods);
		for (u32 i = 0; i < nmods; i++) {
			const u8 *m = ram + maddr + 16 * i;
			u32 s = rd32(m + 8);
			CHECK(rd32(m) == (u32)mods[i].start && rd32(m + 4) == (u32)mods[i].end);
			CHECK(s >= GUEST_SCRATCH && s < GUEST_SCRATCH + GUEST_SCRATCH_SIZE);
			CHECK(!strcmp((const char *)ram + s, mods[i].string));
		}
		CHECK(rd32(mbi + 44) == 24 * map.n);
		for (u32 i = 0; i < map.n; i++) {
			const u8 *e = ram + rd32(mbi + 48) + 24 * i;
			CHECK(rd_le(e + 4, 8) == map.e[i].base && rd_le(e + 12, 8) == map.e[i].len);
		}
	} else {
		const u8 *bp = ram + GUEST_SCRATCH;
		u64 load = st.rip - 0x200, align = rd32(image + 0x230);
		u64 payload = in.n - ((u64)(image[0x1F1] ? image[0x1F1] : 4) + 1) * 512;
		u64 init_size = MAX((u64)rd32(image + 0x260), payload);
		if (align < 4096 || (align & (align - 1)))
			align = MiB(2);
		CHECK(load >= MiB(1) && load % align == 0);
		CHECK(memmap_is_usable(&map, load, ALIGN_UP(init_size, 4096)));
		CHECK(load + init_size <= RAM_SIZE);
		CHECK(st.rsi == GUEST_SCRATCH && rd32(bp + 0x214) == (u32)load);
		CHECK(bp[0x1E8] == map.n);
		CHECK(!strcmp((const char *)ram + rd32(bp + 0x228), cmdline));
	}
	free(image);
	return 0;
}
