/* SPDX-License-Identifier: MIT */
/*
 * ide_bypass: ways around the storage mediator that a careless one would
 * miss.  Same policy and pre-fill as ide_policy (readonly 100-199 seed
 * 0x100, deny 200-299 seed 0x200, plain 300-399 seed 0x300, all plain on
 * disk; encrypt 400-699 seed 0x400, encrypted).  For each trick the
 * mediator may refuse the command or carry it out correctly; what it must
 * never do is put guest plaintext on an encrypted sector, change a readonly
 * or denied sector, or hand denied data to the guest:
 *
 *  1. obsolete/alias opcodes that QEMU executes as ordinary transfers:
 *     READ/WRITE DMA without retry (0xC9/0xCB), READ/WRITE SECTORS without
 *     retry (0x21/0x31), WRITE VERIFY (0x3C), CFA WRITE SECTORS/MULTIPLE
 *     WITHOUT ERASE (0x38/0xCD), WRITE DMA FUA EXT (0x3D), WRITE MULTIPLE
 *     FUA EXT (0xCE); in the readonly range they must be refused;
 *  2. a BM direction bit that contradicts the command (a write started as
 *     a read right after a read filled the bounce buffers, and vice versa);
 *  3. LBA registers rewritten between the command and BM start (QEMU takes
 *     the LBA at BM start) towards readonly/deny/encrypted sectors;
 *  4. the sector count raised the same way into readonly/deny sectors;
 *  5. LBA registers rewritten in the middle of a PIO transfer;
 *  6. the 48-bit register FIFO: the count register written 1, then other
 *     registers, then 8 once: the device sees HOB 1, i.e. 0x108 = 264
 *     sectors from LBA 20 (into readonly and deny);
 *  7. the bus-master BAR moved to another I/O base (then a DMA into the
 *     hypervisor region and a plaintext write through the new base);
 *  8. a soft reset in the middle of a PIO write.
 * Afterwards TV_HC_SELFTEST = 1 and ordinary I/O works.  "DISK" lines tell
 * the runner what each range may hold ("written|unchanged": ciphertext of
 * the new data or the old contents).
 */
#include "ide.h"

const char test_name[] = "ide_bypass";

#define SEED 0xB1A000u
#define ENC_SEED 0x400u

static struct ide_drive d;
static uint8_t *buf, *rbuf;
static uint64_t hvb, hvs;
static int native;

static uint32_t P(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

static int refused(const struct ide_res *r)
{
	return !r->timeout && !(r->status & ATA_SR_DRQ) &&
	       (((r->status & ATA_SR_ERR) && (r->error & ATA_ER_ABRT)) ||
		(r->bm_status & BM_ST_ERR));
}

static struct ide_res dma_rw(struct ide_drive *dd, uint8_t cmd, uint64_t lba, uint32_t count,
			     uint32_t bufsec, uint32_t seed, unsigned flags,
			     const struct ide_dma_hooks *h)
{
	struct sg s[16];
	int n = sg_simple(s, 16, buf, bufsec * 512, 0x10000);
	prd_from_sg(ide_prdt, s, n);
	if (ide_cmd_is_write(cmd) || (flags & IDE_F_WRITE))
		pat_fill(buf, lba, bufsec, seed);
	else
		fill32(buf, bufsec * 512, SENTINEL);
	return ide_dma(dd, cmd, 0, lba, count, P(ide_prdt), flags, h);
}

/* Read through the mediator with a normal READ DMA EXT into rbuf. */
static int normal_read(uint64_t lba, uint32_t count)
{
	struct sg s[4];
	int n = sg_simple(s, 4, rbuf, count * 512, 0x10000);
	prd_from_sg(ide_prdt, s, n);
	fill32(rbuf, count * 512, SENTINEL);
	struct ide_res r = ide_dma(&d, ATA_CMD_READ_DMA_EXT, 0, lba, count, P(ide_prdt), 0, NULL);
	return ide_ok(&r, 1);
}

/* After a trick on lba+count: the sectors read (normally) as either the new
 * data or the old; record what the runner must find. */
static void new_or_old(const char *what, uint64_t lba, uint32_t count, uint32_t seed,
		       uint32_t oldseed, int plain_region)
{
	int ok = normal_read(lba, count);
	uint32_t nw = ok ? pat_count_matches(rbuf, lba, count, seed) : 0;
	uint32_t old = ok ? pat_count_matches(rbuf, lba, count, oldseed) : 0;
	check(ok && (nw == count || old == count),
	      "%s: LBA %llu+%u reads back as all new (%u) or all old (%u) data", what, lba, count,
	      nw, old);
	if (!ok || (nw != count && old != count))
		pat_verify(rbuf, lba, count, seed, what);
	disk_note(lba, count, seed, plain_region ? "plain|unchanged" : "written|unchanged");
}

static void protected_intact(const char *what)
{
	/* The readonly range is readable: it must still hold seed 0x100. */
	int ok = normal_read(100, 100);
	uint32_t m = ok ? pat_count_matches(rbuf, 100, 100, 0x100) : 0;
	check(ok && m == 100, "%s: readonly 100-199 still holds its data (%u/100 sectors)", what,
	      m);
}

static void no_denied_data(const char *what, const void *p, uint32_t count)
{
	uint32_t hits = 0;
	for (uint32_t s = 0; s < count; s++)
		for (uint64_t l = 200; l < 300; l++)
			hits += pat_count_matches((const uint8_t *)p + 512 * s, l, 1, 0x200);
	check(hits == 0, "%s: no sector of the deny range reached the guest (%u did)", what, hits);
}

/* ---- 1. aliases ---- */
struct alias {
	uint8_t cmd;
	const char *name;
	int dma, mult;
	uint32_t lba;
};
static const struct alias wr_alias[] = {
	{ ATA_CMD_WRITE_DMA_ONCE, "WRITE DMA without retry (CB)", 1, 0, 400 },
	{ ATA_CMD_WRITE_ONCE, "WRITE SECTORS without retry (31)", 0, 0, 408 },
	{ ATA_CMD_WRITE_VERIFY, "WRITE VERIFY (3C)", 0, 0, 416 },
	{ ATA_CMD_CFA_WRITE_NE, "CFA WRITE SECTORS WITHOUT ERASE (38)", 0, 0, 424 },
	{ ATA_CMD_CFA_WRITE_MULT_NE, "CFA WRITE MULTIPLE WITHOUT ERASE (CD)", 0, 1, 432 },
	{ ATA_CMD_WRITE_DMA_FUA, "WRITE DMA FUA EXT (3D)", 1, 0, 440 },
	{ ATA_CMD_WRITE_MULT_FUA, "WRITE MULTIPLE FUA EXT (CE)", 0, 1, 448 },
};

static struct ide_res alias_write(const struct alias *a, uint32_t lba, uint32_t count,
				  uint32_t seed)
{
	if (a->dma)
		return dma_rw(&d, a->cmd, lba, count, count, seed, IDE_F_WRITE, NULL);
	pat_fill(buf, lba, count, seed);
	return ide_pio(&d, a->cmd, lba, count, buf, XFER_REP16,
		       IDE_F_WRITE | (a->mult ? IDE_F_MULT : 0), NULL);
}

static void aliases(void)
{
	printf("ide_bypass: 1. alias opcodes\n");
	for (unsigned i = 0; i < sizeof(wr_alias) / sizeof(wr_alias[0]); i++) {
		const struct alias *a = &wr_alias[i];
		uint32_t seed = SEED + a->lba;
		struct ide_res r = alias_write(a, a->lba, 8, seed);
		printf("  %s to LBA %u+8: %s -> %s\n", a->name, a->lba, ide_res_str(&r),
		       ide_ok(&r, a->dma) ? "accepted" : refused(&r) ? "refused" : "FAILED");
		check(ide_ok(&r, a->dma) || refused(&r), "%s: accepted or refused cleanly (%s)",
		      a->name, ide_res_str(&r));
		new_or_old(a->name, a->lba, 8, seed, ENC_SEED, 0);
		/* In the readonly range: refused, whatever the opcode. */
		r = alias_write(a, 170, 4, SEED + 170);
		check(refused(&r), "%s to readonly LBA 170+4: refused (%s)", a->name,
		      ide_res_str(&r));
	}
	/* Read aliases: refused, or the correct (decrypted) data. */
	struct ide_res r = dma_rw(&d, ATA_CMD_READ_DMA_ONCE, 456, 8, 8, 0, 0, NULL);
	uint32_t m = pat_count_matches(buf, 456, 8, ENC_SEED);
	check(refused(&r) || (ide_ok(&r, 1) && m == 8),
	      "READ DMA without retry (C9) of LBA 456+8: refused or the plaintext (%s, %u/8)",
	      ide_res_str(&r), m);
	fill32(buf, 8 * 512, SENTINEL);
	r = ide_pio(&d, ATA_CMD_READ_ONCE, 464, 8, buf, XFER_REP16, 0, NULL);
	m = pat_count_matches(buf, 464, 8, ENC_SEED);
	check(refused(&r) || (ide_ok(&r, 0) && m == 8),
	      "READ SECTORS without retry (21) of LBA 464+8: refused or the plaintext (%s, %u/8)",
	      ide_res_str(&r), m);
	r = dma_rw(&d, ATA_CMD_READ_DMA_ONCE, 250, 4, 4, 0, 0, NULL);
	check(refused(&r), "READ DMA without retry (C9) of deny LBA 250+4: refused (%s)",
	      ide_res_str(&r));
	no_denied_data("C9 of 250", buf, 4);
	fill32(buf, 4 * 512, SENTINEL);
	r = ide_pio(&d, ATA_CMD_READ_ONCE, 254, 4, buf, XFER_REP16, 0, NULL);
	check(refused(&r), "READ SECTORS without retry (21) of deny LBA 254+4: refused (%s)",
	      ide_res_str(&r));
	no_denied_data("21 of 254", buf, 4);
	disk_note(456, 16, ENC_SEED, "unchanged");
	protected_intact("after the aliases");
}

/* ---- 2. direction bit ---- */
static void direction(void)
{
	printf("ide_bypass: 2. BM direction bit against the command\n");
	normal_read(480, 8); /* bounce buffers now hold plaintext */
	struct ide_res r = dma_rw(&d, ATA_CMD_WRITE_DMA_EXT, 488, 8, 8, SEED + 488,
				  IDE_F_BMDIR_READ, NULL);
	printf("  WRITE DMA EXT started as a device->memory transfer: %s\n", ide_res_str(&r));
	check(!r.timeout, "write with the read direction bit completed or failed (no hang)");
	new_or_old("write with the read direction bit", 488, 8, SEED + 488, ENC_SEED, 0);

	r = dma_rw(&d, ATA_CMD_READ_DMA_EXT, 496, 8, 8, 0, IDE_F_BMDIR_WRITE, NULL);
	uint32_t m = pat_count_matches(buf, 496, 8, ENC_SEED);
	printf("  READ DMA EXT started as a memory->device transfer: %s, %u/8 plaintext\n",
	       ide_res_str(&r), m);
	check(!r.timeout && (refused(&r) || m == 8 || is_fill32(buf, 8 * 512, SENTINEL)),
	      "read with the write direction bit: refused, or correct, or nothing moved");
	disk_note(496, 8, ENC_SEED, "unchanged");
}

/* ---- 3./4. registers changed between command and BM start ---- */
struct redirect {
	uint64_t lba;
	uint32_t count;
};
static void hook_redirect(struct ide_drive *dd, void *arg)
{
	struct redirect *rd = arg;
	ide_taskfile(dd, 1, 0, rd->lba, rd->count);
}
static void hook_count(struct ide_drive *dd, void *arg)
{
	uint32_t c = *(uint32_t *)arg;
	outb((uint16_t)(dd->io + 2), (uint8_t)(c >> 8));
	outb((uint16_t)(dd->io + 2), (uint8_t)c);
}

static void redirects(void)
{
	printf("ide_bypass: 3. LBA rewritten between the command and BM start\n");
	struct redirect rd = { 150, 4 };
	struct ide_dma_hooks h = { .after_cmd = hook_redirect, .arg = &rd };
	struct ide_res r = dma_rw(&d, ATA_CMD_WRITE_DMA_EXT, 504, 4, 4, SEED + 504, 0, &h);
	printf("  WRITE DMA EXT 504+4 redirected to 150: %s\n", ide_res_str(&r));
	new_or_old("write 504 redirected to readonly 150", 504, 4, SEED + 504, ENC_SEED, 0);
	protected_intact("after the redirect to 150");

	rd.lba = 250;
	r = dma_rw(&d, ATA_CMD_WRITE_DMA_EXT, 508, 4, 4, SEED + 508, 0, &h);
	printf("  WRITE DMA EXT 508+4 redirected to 250: %s\n", ide_res_str(&r));
	new_or_old("write 508 redirected to deny 250", 508, 4, SEED + 508, ENC_SEED, 0);

	rd.lba = 512;
	r = dma_rw(&d, ATA_CMD_WRITE_DMA_EXT, 350, 4, 4, SEED + 350, 0, &h);
	printf("  WRITE DMA EXT 350+4 (plain) redirected to 512 (encrypted): %s\n",
	       ide_res_str(&r));
	new_or_old("plain write 350 redirected to encrypted 512 (at 512)", 512, 4, SEED + 512,
		   ENC_SEED, 0);
	/* (the data is the pattern of 350; at 512 only "old" can match by LBA) */
	disk_note(350, 4, SEED + 350, "plain|unchanged");

	rd.lba = 260;
	r = dma_rw(&d, ATA_CMD_READ_DMA_EXT, 516, 4, 4, 0, 0, &h);
	printf("  READ DMA EXT 516+4 redirected to deny 260: %s\n", ide_res_str(&r));
	no_denied_data("read 516 redirected to 260", buf, 4);
	disk_note(516, 4, ENC_SEED, "unchanged");

	printf("ide_bypass: 4. sector count raised between the command and BM start\n");
	uint32_t c16 = 16;
	struct ide_dma_hooks hc = { .after_cmd = hook_count, .arg = &c16 };
	r = dma_rw(&d, ATA_CMD_WRITE_DMA_EXT, 92, 8, 16, SEED + 92, 0, &hc);
	printf("  WRITE DMA EXT 92+8 raised to 16: %s\n", ide_res_str(&r));
	disk_note(92, 8, SEED + 92, "written|unchanged");
	protected_intact("after the raised write count");
	r = dma_rw(&d, ATA_CMD_READ_DMA_EXT, 192, 8, 16, 0, 0, &hc);
	printf("  READ DMA EXT 192+8 (readonly) raised to 16: %s\n", ide_res_str(&r));
	no_denied_data("read 192 raised to 16", buf, 16);
}

/* ---- 5. PIO mid-transfer ---- */
static void pio_mid(void)
{
	printf("ide_bypass: 5. LBA rewritten during a PIO transfer\n");
	struct redirect rd = { 160, 3 };
	struct ide_pio_hooks h = { .after_sectors = 1, .fn = hook_redirect, .arg = &rd };
	pat_fill(buf, 520, 4, SEED + 520);
	struct ide_res r = ide_pio(&d, ATA_CMD_WRITE_EXT, 520, 4, buf, XFER_REP16, 0, &h);
	printf("  WRITE SECTORS EXT 520+4, LBA set to 160 after one sector: %s, %u moved\n",
	       ide_res_str(&r), r.done);
	disk_note(520, 4, SEED + 520, "written|unchanged");
	protected_intact("after the PIO redirect");

	rd.lba = 270;
	h.arg = &rd;
	fill32(buf, 4 * 512, SENTINEL);
	r = ide_pio(&d, ATA_CMD_READ_EXT, 524, 4, buf, XFER_REP16, 0, &h);
	printf("  READ SECTORS EXT 524+4, LBA set to 270 after one sector: %s\n",
	       ide_res_str(&r));
	no_denied_data("PIO read 524 redirected to 270", buf, 4);
	disk_note(524, 4, ENC_SEED, "unchanged");
}

/* ---- 6. register FIFO ---- */
static void fifo(void)
{
	printf("ide_bypass: 6. 48-bit count FIFO (the count's high byte is an old write)\n");
	if (ide_select(&d, 0)) {
		check(0, "drive busy before the FIFO test");
		return;
	}
	uint16_t io = d.io;
	outb((uint16_t)(io + 2), 1); /* a stray write, long before the count */
	outb((uint16_t)(io + 1), 0);
	outb((uint16_t)(io + 1), 0);
	outb((uint16_t)(io + 2), 8); /* once: HOB := the previous value (1) */
	outb((uint16_t)(io + 3), 0);
	outb((uint16_t)(io + 3), 20);
	outb((uint16_t)(io + 4), 0);
	outb((uint16_t)(io + 4), 0);
	outb((uint16_t)(io + 5), 0);
	outb((uint16_t)(io + 5), 0);
	outb((uint16_t)(io + 6), (uint8_t)(0x40 | d.slave << 4));
	struct ide_res r = dma_rw(&d, ATA_CMD_WRITE_DMA_EXT, 20, 264, 264, SEED + 20,
				  IDE_F_RAW_TF, NULL);
	printf("  WRITE DMA EXT at 20, count 1 .. 8 written (device sees 264): %s\n",
	       ide_res_str(&r));
	check(!r.timeout, "FIFO write completed or failed (no hang)");
	protected_intact("after the FIFO write");
	disk_note(20, 8, SEED + 20, "written|unchanged");
	disk_note(28, 64, 0, "unchanged");
}

/* ---- 7. BAR4 moved ---- */
static void bar_move(void)
{
	printf("ide_bypass: 7. bus-master BAR moved\n");
	uint32_t old = ide_pci_read(0x20);
	uint16_t nb = (old & 0xfffc) == 0xE000 ? 0xE100 : 0xE000;
	ide_pci_write(0x20, (uint32_t)nb | 1);
	uint32_t now = ide_pci_read(0x20);
	printf("  BAR4 %08x -> wrote %04x, reads %08x\n", old, nb | 1, now);
	if ((now & 0xfffc) != nb) {
		printf("  the BAR did not move (the mediator keeps it)\n");
	} else {
		struct ide_drive d2 = d;
		d2.bm = nb;
		fill32(buf, 0x10000, SENTINEL);
		prd_set(ide_prdt, 0, P(buf), 2048, 0);
		prd_set(ide_prdt, 1, (uint32_t)hvb + 0x1000, 2048, 1);
		struct ide_res r = ide_dma(&d2, ATA_CMD_READ_DMA_EXT, 0, 600, 8, P(ide_prdt), 0,
					   NULL);
		check(refused(&r) && is_fill32(buf, 0x10000, SENTINEL),
		      "DMA into the hypervisor region through the moved BAR: refused (%s)",
		      ide_res_str(&r));
		r = dma_rw(&d2, ATA_CMD_WRITE_DMA_EXT, 530, 8, 8, SEED + 530, 0, NULL);
		printf("  WRITE DMA EXT 530+8 through the moved BAR: %s\n", ide_res_str(&r));
	}
	ide_pci_write(0x20, old);
	check((ide_pci_read(0x20) & 0xfffc) == (old & 0xfffc), "BAR4 restored to %04x",
	      old & 0xfffc);
	new_or_old("write through the moved BAR", 530, 8, SEED + 530, ENC_SEED, 0);
}

/* ---- 8. reset mid-write ---- */
static void hook_reset(struct ide_drive *dd, void *arg)
{
	(void)arg;
	ide_soft_reset(dd);
}

static void reset_mid(void)
{
	printf("ide_bypass: 8. soft reset in the middle of a PIO write\n");
	struct ide_pio_hooks h = { .after_sectors = 2, .fn = hook_reset };
	pat_fill(buf, 540, 4, SEED + 540);
	struct ide_res r = ide_pio(&d, ATA_CMD_WRITE_EXT, 540, 4, buf, XFER_REP16, 0, &h);
	printf("  WRITE SECTORS EXT 540+4 with SRST after 2 sectors: %s, %u moved\n",
	       ide_res_str(&r), r.done);
	disk_note(540, 4, SEED + 540, "written|unchanged");
	/* Then ordinary I/O must work. */
	r = dma_rw(&d, ATA_CMD_WRITE_DMA_EXT, 560, 8, 8, SEED + 560, 0, NULL);
	check(ide_ok(&r, 1), "WRITE DMA EXT after the reset works: %s", ide_res_str(&r));
	int ok = normal_read(560, 8);
	uint32_t m = ok ? pat_count_matches(rbuf, 560, 8, SEED + 560) : 0;
	check(ok && m == 8, "and reads back (%u/8)", m);
	disk_note(560, 8, SEED + 560, "written");
}

void test_main(void)
{
	uint32_t out[4];
	native = mb_find_arg("hvregion") != NULL;
	ide_timeout_s = 10;
	hv_region(&hvb, &hvs);
	mem_init(hvb, hvs);
	ide_bufs_init(0x1000);
	buf = mem_alloc(0x30000, 0x10000);
	rbuf = mem_alloc(0x20000, 0x10000);
	ide_setup(&d, 0, 0);
	struct ide_res r = ide_nondata(&d, ATA_CMD_SET_MULT, 0, 16, 0);
	if (ide_ok(&r, 0))
		d.mult = 16;
	protected_intact("at start");

	aliases();
	direction();
	redirects();
	pio_mid();
	fifo();
	bar_move();
	reset_mid();

	protected_intact("at the end");
	disk_note(100, 100, 0x100, "unchanged");
	disk_note(200, 100, 0x200, "unchanged");
	if (!native) {
		uint32_t st = hc_must(TV_HC_SELFTEST, 0, out);
		check(st == TV_OK && out[1] == 1, "TV_HC_SELFTEST = 1 at the end (RBX %u)", out[1]);
	}
	tg_finish();
}
