/* SPDX-License-Identifier: MIT */
/*
 * ide_atapi: the CD-ROM (ATAPI, ide1.0) next to a mediated disk.
 *
 * docs/storage.md: ATAPI devices pass through unencrypted.  The runner
 * attaches a CD image whose 2048-byte blocks hold the pattern (seed 0xCD0,
 * 512-byte units: block b = pattern LBAs 4b..4b+3).
 *  - PACKET READ(10) by PIO must work and return the image's plain data;
 *  - PACKET READ(10) by DMA into ordinary RAM must work or be refused
 *    (thinvisor may not support ATAPI DMA) - but if it works, the data must
 *    be right;
 *  - PACKET READ(10) by DMA with a PRD entry in the hypervisor region, or
 *    the PRD table there, must fail (error or refusal) and move nothing;
 *  - afterwards TV_HC_SELFTEST = 1 and the disk on ide0.0 still works.
 * Without thinvisor pass hvregion=BASE,SIZE (the hypercalls are skipped).
 */
#include "ide.h"

const char test_name[] = "ide_atapi";

#define CD_SEED 0xCD0u

static struct ide_drive cd, hd;
static uint64_t hvb, hvs;
static int native;
static uint8_t *buf;

static uint32_t P(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

static void wait_notbusy(struct ide_drive *d, uint8_t *st)
{
	struct deadline t;
	deadline_start(&t, ide_timeout_s);
	do
		*st = inb(d->ctl);
	while ((*st & ATA_SR_BSY) && !deadline_passed(&t));
}

static void send_cdb(struct ide_drive *d, const uint8_t cdb[12])
{
	for (int i = 0; i < 12; i += 2)
		ide_outw(d->io, (uint16_t)(cdb[i] | cdb[i + 1] << 8));
}

static void read10(uint8_t cdb[12], uint32_t block, uint16_t n)
{
	memset(cdb, 0, 12);
	cdb[0] = 0x28;
	cdb[2] = (uint8_t)(block >> 24);
	cdb[3] = (uint8_t)(block >> 16);
	cdb[4] = (uint8_t)(block >> 8);
	cdb[5] = (uint8_t)block;
	cdb[7] = (uint8_t)(n >> 8);
	cdb[8] = (uint8_t)n;
}

/* PACKET by PIO: returns the bytes read, or -1 on an error status. */
static int packet_pio(struct ide_drive *d, const uint8_t cdb[12], uint8_t *out, uint32_t max,
		      struct ide_res *r)
{
	uint8_t st;
	uint32_t got = 0;
	memset(r, 0, sizeof(*r));
	if (ide_select(d, 0)) {
		r->timeout = 1;
		return -1;
	}
	outb((uint16_t)(d->io + 1), 0);	   /* PIO */
	outb((uint16_t)(d->io + 4), 0x00); /* byte count limit 0x800 */
	outb((uint16_t)(d->io + 5), 0x08);
	outb((uint16_t)(d->io + 7), 0xA0);
	wait_notbusy(d, &st);
	if (!(st & ATA_SR_DRQ) || (st & ATA_SR_ERR))
		goto done;
	send_cdb(d, cdb);
	for (;;) {
		(void)inb(d->ctl);
		wait_notbusy(d, &st);
		if ((st & ATA_SR_ERR) || !(st & ATA_SR_DRQ))
			break;
		uint32_t n = inb((uint16_t)(d->io + 4)) | (uint32_t)inb((uint16_t)(d->io + 5)) << 8;
		if (!n || got + n > max) {
			r->protocol = 1;
			break;
		}
		ide_insw(d->io, out + got, n / 2);
		got += n;
	}
done:
	r->status = inb((uint16_t)(d->io + 7));
	r->error = inb((uint16_t)(d->io + 1));
	if (r->status & (ATA_SR_ERR | ATA_SR_DRQ) || r->protocol) {
		if (r->status & ATA_SR_DRQ)
			ide_soft_reset(d);
		return -1;
	}
	return (int)got;
}

/* PACKET by DMA through the table at prdt. */
static struct ide_res packet_dma(struct ide_drive *d, const uint8_t cdb[12], uint32_t prdt)
{
	struct ide_res r = { 0 };
	uint8_t st;
	uint16_t bm = d->bm;
	outb((uint16_t)(bm + BM_CMD), 0);
	outb((uint16_t)(bm + BM_STATUS),
	     (uint8_t)((inb((uint16_t)(bm + BM_STATUS)) & 0x60) | BM_ST_ERR | BM_ST_INTR));
	outl((uint16_t)(bm + BM_PRDT), prdt);
	if (ide_select(d, 0)) {
		r.timeout = 1;
		return r;
	}
	outb((uint16_t)(d->io + 1), 1); /* DMA */
	outb((uint16_t)(d->io + 4), 0x00);
	outb((uint16_t)(d->io + 5), 0x08);
	outb((uint16_t)(bm + BM_CMD), BM_CMD_READ);
	outb((uint16_t)(d->io + 7), 0xA0);
	wait_notbusy(d, &st);
	if ((st & ATA_SR_ERR) || !(st & ATA_SR_DRQ)) {
		r.status = inb((uint16_t)(d->io + 7));
		r.error = inb((uint16_t)(d->io + 1));
		r.what = "PACKET not accepted";
		return r;
	}
	send_cdb(d, cdb);
	outb((uint16_t)(bm + BM_CMD), BM_CMD_READ | BM_CMD_START);
	struct deadline t;
	deadline_start(&t, ide_timeout_s);
	for (;;) {
		uint8_t bs = inb((uint16_t)(bm + BM_STATUS)), as = inb(d->ctl);
		if (!(as & ATA_SR_BSY) &&
		    ((bs & (BM_ST_INTR | BM_ST_ERR)) || (as & ATA_SR_ERR) ||
		     (!(bs & BM_ST_ACTIVE) && !(as & ATA_SR_DRQ))))
			break;
		if (deadline_passed(&t)) {
			r.timeout = 1;
			r.what = "DMA did not complete";
			break;
		}
	}
	outb((uint16_t)(bm + BM_CMD), BM_CMD_READ);
	r.bm_status = inb((uint16_t)(bm + BM_STATUS));
	r.status = inb((uint16_t)(d->io + 7));
	r.error = inb((uint16_t)(d->io + 1));
	outb((uint16_t)(bm + BM_STATUS), (uint8_t)((r.bm_status & 0x60) | BM_ST_ERR | BM_ST_INTR));
	if (r.timeout || (r.status & ATA_SR_DRQ))
		ide_soft_reset(d);
	return r;
}

static int failed_cleanly(const struct ide_res *r)
{
	return !r->timeout && !(r->status & ATA_SR_DRQ) &&
	       ((r->status & ATA_SR_ERR) || (r->bm_status & BM_ST_ERR));
}

static void selftest(const char *when)
{
	uint32_t out[4];
	if (native)
		return;
	uint32_t st = hc_must(TV_HC_SELFTEST, 0, out);
	check(st == TV_OK && out[1] == 1, "TV_HC_SELFTEST = 1 %s (RBX %u)", when, out[1]);
}

void test_main(void)
{
	uint8_t cdb[12];
	struct ide_res r;
	native = mb_find_arg("hvregion") != NULL;
	ide_timeout_s = 10;
	hv_region(&hvb, &hvs);
	mem_init(hvb, hvs);
	ide_bufs_init(0x1000);
	buf = mem_alloc(0x20000, 0x10000);
	ide_setup(&hd, 0, 0);

	/* The CD-ROM: ide1.0, no IDENTIFY DEVICE (it is a packet device). */
	cd = hd;
	cd.channel = 1;
	cd.slave = 0;
	cd.io = ide_pci.io[1];
	cd.ctl = ide_pci.ctl[1];
	cd.bm = (uint16_t)(ide_pci.bm + 8);
	outb(cd.ctl, 0);
	fill32(buf, 512, 0);
	r = ide_pio(&cd, 0xA1, 0, 1, buf, XFER_REP16, 0, NULL); /* IDENTIFY PACKET DEVICE */
	uint16_t w0 = ((uint16_t *)buf)[0];
	if (!check(ide_ok(&r, 0) && (w0 >> 14) == 2, "ide1.0 is a packet device (IDENTIFY PACKET "
		   "DEVICE: %s, word 0 %04x)", ide_res_str(&r), w0))
		tg_finish();

	/* PIO read; the first command may report a unit attention. */
	int n = -1;
	for (int i = 0; i < 4 && n < 0; i++) {
		read10(cdb, 0, 2);
		fill32(buf, 4096, SENTINEL);
		n = packet_pio(&cd, cdb, buf, 0x20000, &r);
	}
	uint32_t bad = n == 4096 ? pat_verify(buf, 0, 8, CD_SEED, "cd pio") : 8;
	check(n == 4096 && !bad, "PACKET READ(10) blocks 0-1 by PIO: %d bytes, %u bad sectors (%s)",
	      n, bad, ide_res_str(&r));
	read10(cdb, 5, 3);
	n = packet_pio(&cd, cdb, buf, 0x20000, &r);
	bad = n == 6144 ? pat_verify(buf, 20, 12, CD_SEED, "cd pio") : 12;
	check(n == 6144 && !bad, "PACKET READ(10) blocks 5-7 by PIO: %d bytes, %u bad sectors", n,
	      bad);

	/* DMA into ordinary RAM: works (right data) or is refused. */
	fill32(buf, 0x20000, SENTINEL);
	prd_set(ide_prdt, 0, P(buf), 4096, 1);
	read10(cdb, 2, 2);
	r = packet_dma(&cd, cdb, P(ide_prdt));
	uint32_t m = pat_count_matches(buf, 8, 8, CD_SEED);
	printf("  PACKET READ(10) by DMA into RAM: %s, %u/8 sectors right\n", ide_res_str(&r), m);
	check((ide_ok(&r, 1) && m == 8) || failed_cleanly(&r),
	      "ATAPI DMA into guest RAM works or is refused cleanly");

	/* DMA with a PRD entry in the hypervisor region / the table there. */
	fill32(buf, 0x20000, SENTINEL);
	prd_set(ide_prdt, 0, P(buf), 2048, 0);
	prd_set(ide_prdt, 1, (uint32_t)hvb + 0x1000, 2048, 1);
	read10(cdb, 2, 2);
	r = packet_dma(&cd, cdb, P(ide_prdt));
	check(failed_cleanly(&r) && is_fill32(buf, 0x20000, SENTINEL),
	      "ATAPI DMA with an entry in the hypervisor region fails, nothing moved (%s)",
	      ide_res_str(&r));
	read10(cdb, 2, 1);
	r = packet_dma(&cd, cdb, (uint32_t)hvb + 0x100);
	check(failed_cleanly(&r), "ATAPI DMA with the PRD table in the hypervisor region fails "
	      "(%s)", ide_res_str(&r));
	selftest("after the ATAPI DMA attempts");

	/* The CD still reads, the disk still works. */
	read10(cdb, 0, 1);
	n = packet_pio(&cd, cdb, buf, 0x20000, &r);
	bad = n == 2048 ? pat_verify(buf, 0, 4, CD_SEED, "cd pio") : 4;
	check(n == 2048 && !bad, "the CD still reads by PIO (%d bytes, %u bad)", n, bad);
	struct sg s[2];
	int ns = sg_simple(s, 2, buf, 8 * 512, 0x10000);
	r = dma_write_sg(&hd, ATA_CMD_WRITE_DMA_EXT, 7000, 8, 0xA7A0, s, ns);
	check(ide_ok(&r, 1), "disk WRITE DMA EXT still works: %s", ide_res_str(&r));
	r = dma_read_sg(&hd, ATA_CMD_READ_DMA_EXT, 7000, 8, 0xA7A0, s, ns, &bad, "disk");
	check(ide_ok(&r, 1) && !bad, "disk READ DMA EXT reads it back: %s", ide_res_str(&r));
	disk_note(7000, 8, 0xA7A0, "written");
	selftest("at the end");
	tg_finish();
}
