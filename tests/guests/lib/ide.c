/* SPDX-License-Identifier: MIT */
/* Polling PIIX IDE driver, allocator and data helpers for the storage test
 * guests (see ide.h). */
#include "ide.h"

struct ide_pci ide_pci;
uint32_t ide_timeout_s = 60;

/* ------------------------------------------------------------ time (RTC) */

static uint8_t rtc_seconds(void)
{
	outb(0x70, 0x00);
	return inb(0x71);
}

void deadline_start(struct deadline *t, uint32_t seconds)
{
	t->last = rtc_seconds();
	t->left = seconds + 1; /* the first tick may come at once */
	t->n = 0;
}

int deadline_passed(struct deadline *t)
{
	if (++t->n & 63)
		return 0;
	uint8_t s = rtc_seconds();
	if (s != t->last) {
		t->last = s;
		if (--t->left == 0)
			return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ PCI */

uint32_t pci_read(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off)
{
	outl(0xCF8, 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 |
			    (uint32_t)fn << 8 | (off & 0xfcu));
	return ide_inl(0xCFC);
}

void pci_write(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v)
{
	outl(0xCF8, 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 |
			    (uint32_t)fn << 8 | (off & 0xfcu));
	outl(0xCFC, v);
}

uint32_t ide_pci_read(uint8_t off)
{
	return pci_read(ide_pci.bus, ide_pci.dev, ide_pci.fn, off);
}

void ide_pci_write(uint8_t off, uint32_t v)
{
	pci_write(ide_pci.bus, ide_pci.dev, ide_pci.fn, off, v);
}

int pci_find_class(uint32_t cls, uint32_t mask, uint8_t *pbus, uint8_t *pdev, uint8_t *pfn)
{
	for (uint32_t bus = 0; bus < 256; bus++) {
		for (uint8_t dev = 0; dev < 32; dev++) {
			for (uint8_t fn = 0; fn < 8; fn++) {
				uint32_t id = pci_read((uint8_t)bus, dev, fn, 0);
				if ((id & 0xffff) == 0xffff) {
					if (fn == 0)
						break;
					continue;
				}
				if (((pci_read((uint8_t)bus, dev, fn, 8) >> 8) & mask) == cls) {
					*pbus = (uint8_t)bus;
					*pdev = dev;
					*pfn = fn;
					return 1;
				}
				if (fn == 0 && !(pci_read((uint8_t)bus, dev, 0, 0x0c) & 0x800000))
					break; /* single-function device */
			}
		}
	}
	return 0;
}

static int pci_find_ide(void)
{
	if (!pci_find_class(0x010100, 0xFFFF00, &ide_pci.bus, &ide_pci.dev, &ide_pci.fn))
		return 0;
	uint32_t id = ide_pci_read(0), cls = ide_pci_read(8);
	ide_pci.vendor = (uint16_t)id;
	ide_pci.device = (uint16_t)(id >> 16);
	ide_pci.progif = (uint8_t)(cls >> 8);
	return 1;
}

void ide_pci_init(void)
{
	static int done;
	if (done)
		return;
	if (!pci_find_ide())
		fail(test_name, "no IDE controller (PCI class 01:01) found");
	uint32_t bar4 = ide_pci_read(0x20);
	if (!(bar4 & 1) || !(bar4 & 0xfffc))
		fail(test_name, "IDE BAR4 is %08x: no bus-master I/O base assigned", bar4);
	ide_pci.bm = (uint16_t)(bar4 & 0xfffc);
	/* Legacy or native mode per channel (prog-if bits 0 and 2). */
	for (int c = 0; c < 2; c++) {
		if (ide_pci.progif & (1u << (2 * c))) {
			uint32_t b0 = ide_pci_read((uint8_t)(0x10 + 8 * c));
			uint32_t b1 = ide_pci_read((uint8_t)(0x14 + 8 * c));
			ide_pci.io[c] = (uint16_t)(b0 & 0xfffc);
			ide_pci.ctl[c] = (uint16_t)((b1 & 0xfffc) + 2);
		} else {
			ide_pci.io[c] = c ? 0x170 : 0x1F0;
			ide_pci.ctl[c] = c ? 0x376 : 0x3F6;
		}
	}
	uint32_t cmd = ide_pci_read(0x04);
	ide_pci_write(0x04, (cmd & 0xffffu) | 0x05u); /* I/O + bus master */
	cmd = ide_pci_read(0x04);
	printf("ide: controller %04x:%04x at %02x:%02x.%u, prog-if %02x, BM base %04x, "
	       "command %04x\n", ide_pci.vendor, ide_pci.device, ide_pci.bus, ide_pci.dev,
	       ide_pci.fn, ide_pci.progif, ide_pci.bm, cmd & 0xffff);
	if ((cmd & 0x05) != 0x05)
		fail(test_name, "could not enable I/O and bus mastering (command %04x)",
		     cmd & 0xffff);
	done = 1;
}

/* ------------------------------------------------------------ ATA basics */

static void delay400(struct ide_drive *d)
{
	for (int i = 0; i < 5; i++)
		(void)inb(d->ctl);
}

/* Wait until (alt status & mask) == val; 0 or -1 on timeout. */
static int wait_status(struct ide_drive *d, uint8_t mask, uint8_t val, uint8_t *st)
{
	struct deadline t;
	deadline_start(&t, ide_timeout_s);
	for (;;) {
		uint8_t s = inb(d->ctl);
		if ((s & mask) == val) {
			*st = s;
			return 0;
		}
		if (deadline_passed(&t)) {
			*st = s;
			return -1;
		}
	}
}

uint8_t ide_soft_reset(struct ide_drive *d)
{
	uint8_t st;
	outb(d->ctl, ATA_DC_SRST);
	delay400(d);
	delay400(d);
	outb(d->ctl, 0);
	delay400(d);
	if (wait_status(d, ATA_SR_BSY, 0, &st))
		printf("ide: still busy (status %02x) after a soft reset\n", st);
	outb((uint16_t)(d->io + 6), (uint8_t)(0xA0 | d->slave << 4));
	delay400(d);
	(void)wait_status(d, ATA_SR_BSY, 0, &st);
	return st;
}

/* Select the drive (with LBA28 bits 24..27) and wait until it is idle. */
static int select_drive(struct ide_drive *d, uint8_t hi4, struct ide_res *r)
{
	uint8_t st;
	if (wait_status(d, ATA_SR_BSY | ATA_SR_DRQ, 0, &st)) {
		printf("ide: channel busy before select (status %02x): resetting\n", st);
		ide_soft_reset(d);
	}
	outb((uint16_t)(d->io + 6), (uint8_t)(0xE0 | d->slave << 4 | (hi4 & 0x0f)));
	delay400(d);
	if (wait_status(d, ATA_SR_BSY | ATA_SR_DRQ, 0, &st)) {
		r->timeout = 1;
		r->status = st;
		r->what = "drive busy after select";
		return -1;
	}
	return 0;
}

void ide_taskfile(struct ide_drive *d, int ext, uint16_t feature, uint64_t lba, uint32_t count)
{
	uint16_t io = d->io;
	if (ext) {
		outb((uint16_t)(io + 1), (uint8_t)(feature >> 8));
		outb((uint16_t)(io + 2), (uint8_t)(count >> 8));
		outb((uint16_t)(io + 3), (uint8_t)(lba >> 24));
		outb((uint16_t)(io + 4), (uint8_t)(lba >> 32));
		outb((uint16_t)(io + 5), (uint8_t)(lba >> 40));
		outb((uint16_t)(io + 1), (uint8_t)feature);
		outb((uint16_t)(io + 2), (uint8_t)count);
		outb((uint16_t)(io + 3), (uint8_t)lba);
		outb((uint16_t)(io + 4), (uint8_t)(lba >> 8));
		outb((uint16_t)(io + 5), (uint8_t)(lba >> 16));
		outb((uint16_t)(io + 6), (uint8_t)(0x40 | d->slave << 4));
	} else {
		outb((uint16_t)(io + 6), (uint8_t)(0xE0 | d->slave << 4 | ((lba >> 24) & 0x0f)));
		outb((uint16_t)(io + 1), (uint8_t)feature);
		outb((uint16_t)(io + 2), (uint8_t)count);
		outb((uint16_t)(io + 3), (uint8_t)lba);
		outb((uint16_t)(io + 4), (uint8_t)(lba >> 8));
		outb((uint16_t)(io + 5), (uint8_t)(lba >> 16));
	}
}

int ide_cmd_is_ext(uint8_t cmd)
{
	switch (cmd) {
	case 0x06: case 0x24: case 0x25: case 0x26: case 0x27: case 0x29: case 0x2F:
	case 0x34: case 0x35: case 0x36: case 0x37: case 0x39: case 0x3D: case 0x3F:
	case 0x42: case 0x47: case 0x57: case 0x60: case 0x61: case 0xCE:
		return 1;
	default:
		return 0;
	}
}

int ide_cmd_is_write(uint8_t cmd)
{
	switch (cmd) {
	case 0x06: case 0x30: case 0x31: case 0x34: case 0x35: case 0x36: case 0x38:
	case 0x39: case 0x3C: case 0x3D: case 0x3F: case 0x57: case 0x61: case 0x92:
	case 0x93: case 0xC5: case 0xCA: case 0xCB: case 0xCC: case 0xCD: case 0xCE:
	case 0xF1: case 0xF2: case 0xF4: case 0xF6:
		return 1;
	default:
		return 0;
	}
}

static int cmd_is_mult(uint8_t cmd)
{
	return cmd == 0xC4 || cmd == 0xC5 || cmd == 0x29 || cmd == 0x39 || cmd == 0xCD ||
	       cmd == 0xCE;
}

const char *ide_xfer_name(enum ide_xfer x)
{
	switch (x) {
	case XFER_REP16: return "rep insw/outsw";
	case XFER_WORD16: return "inw/outw";
	case XFER_REP32: return "rep insl/outsl";
	case XFER_DWORD32: return "inl/outl";
	case XFER_MIXED: return "mixed widths";
	}
	return "?";
}

static void xfer(struct ide_drive *d, uint8_t *p, uint32_t sectors, enum ide_xfer x, int wr)
{
	uint16_t port = d->io;
	uint32_t words = sectors * 256;
	switch (x) {
	case XFER_REP16:
		if (wr)
			ide_outsw(port, p, words);
		else
			ide_insw(port, p, words);
		break;
	case XFER_WORD16: {
		uint16_t *w = (uint16_t *)p;
		for (uint32_t i = 0; i < words; i++) {
			if (wr)
				ide_outw(port, w[i]);
			else
				w[i] = ide_inw(port);
		}
		break;
	}
	case XFER_REP32:
		if (wr)
			ide_outsl(port, p, words / 2);
		else
			ide_insl(port, p, words / 2);
		break;
	case XFER_DWORD32: {
		uint32_t *w = (uint32_t *)p;
		for (uint32_t i = 0; i < words / 2; i++) {
			if (wr)
				outl(port, w[i]);
			else
				w[i] = ide_inl(port);
		}
		break;
	}
	case XFER_MIXED:
		for (uint32_t s = 0; s < sectors; s++, p += 512) {
			uint16_t *w = (uint16_t *)p;
			uint32_t *l = (uint32_t *)(p + 128);
			for (int i = 0; i < 64; i++) {
				if (wr)
					ide_outw(port, w[i]);
				else
					w[i] = ide_inw(port);
			}
			for (int i = 0; i < 32; i++) {
				if (wr)
					outl(port, l[i]);
				else
					l[i] = ide_inl(port);
			}
			if (wr) {
				ide_outsw(port, p + 256, 64);
				ide_outsl(port, p + 384, 32);
			} else {
				ide_insw(port, p + 256, 64);
				ide_insl(port, p + 384, 32);
			}
		}
		break;
	}
}

/* Read the final status (clears INTRQ) and error; note a DRQ left over. */
static void finish(struct ide_drive *d, struct ide_res *r)
{
	uint8_t st;
	delay400(d);
	if (wait_status(d, ATA_SR_BSY, 0, &st) && !r->timeout) {
		r->timeout = 1;
		r->what = "BSY never cleared";
	}
	r->status = inb((uint16_t)(d->io + 7));
	r->error = inb((uint16_t)(d->io + 1));
	if (!r->timeout && (r->status & ATA_SR_DRQ)) {
		r->protocol = 1;
		if (!r->what)
			r->what = "device still wants data (DRQ)";
	}
	if (r->timeout || (r->status & ATA_SR_DRQ))
		ide_soft_reset(d);
}

struct ide_res ide_pio(struct ide_drive *d, uint8_t cmd, uint64_t lba, uint32_t count,
		       void *buf, enum ide_xfer x, unsigned flags, const struct ide_pio_hooks *h)
{
	struct ide_res r = { 0 };
	int ext = ide_cmd_is_ext(cmd);
	int wr = ide_cmd_is_write(cmd) || (flags & IDE_F_WRITE);
	uint32_t block = (cmd_is_mult(cmd) || (flags & IDE_F_MULT)) ? (uint32_t)d->mult : 1;
	uint8_t *p = buf;

	if (!block)
		block = 1;
	if (select_drive(d, ext ? 0 : (uint8_t)(lba >> 24), &r))
		return r;
	ide_taskfile(d, ext, h ? h->feature : 0, lba, count);
	outb((uint16_t)(d->io + 7), cmd);

	while (r.done < count) {
		uint8_t st;
		delay400(d);
		if (wait_status(d, ATA_SR_BSY, 0, &st)) {
			r.timeout = 1;
			r.what = "BSY during the data phase";
			break;
		}
		if (st & (ATA_SR_ERR | ATA_SR_DF))
			break;
		if (!(st & ATA_SR_DRQ)) {
			r.protocol = 1;
			r.what = "no DRQ for the next block";
			break;
		}
		uint32_t n = count - r.done < block ? count - r.done : block;
		xfer(d, p, n, x, wr);
		p += n * 512;
		r.done += n;
		if (h && h->fn && h->after_sectors && r.done == h->after_sectors)
			h->fn(d, h->arg);
	}
	finish(d, &r);
	return r;
}

struct ide_res ide_dma(struct ide_drive *d, uint8_t cmd, uint16_t feature, uint64_t lba,
		       uint32_t count, uint32_t prdt, unsigned flags,
		       const struct ide_dma_hooks *h)
{
	struct ide_res r = { 0 };
	int ext = ide_cmd_is_ext(cmd);
	int wr = ide_cmd_is_write(cmd) || (flags & IDE_F_WRITE);
	uint8_t dir = wr ? 0 : BM_CMD_READ;
	uint16_t bm = d->bm;

	if (flags & IDE_F_BMDIR_READ)
		dir = BM_CMD_READ;
	if (flags & IDE_F_BMDIR_WRITE)
		dir = 0;
	outb((uint16_t)(bm + BM_CMD), 0);
	outb((uint16_t)(bm + BM_STATUS),
	     (uint8_t)((inb((uint16_t)(bm + BM_STATUS)) & 0x60) | BM_ST_ERR | BM_ST_INTR));
	outl((uint16_t)(bm + BM_PRDT), prdt);
	if (!(flags & IDE_F_RAW_TF)) {
		if (select_drive(d, ext ? 0 : (uint8_t)(lba >> 24), &r))
			return r;
		ide_taskfile(d, ext, feature, lba, count);
	}
	outb((uint16_t)(bm + BM_CMD), dir);
	outb((uint16_t)(d->io + 7), cmd);
	if (h && h->after_cmd)
		h->after_cmd(d, h->arg);
	outb((uint16_t)(bm + BM_CMD), (uint8_t)(dir | BM_CMD_START));
	if (h && h->after_start)
		h->after_start(d, h->arg);

	struct deadline t;
	deadline_start(&t, ide_timeout_s);
	for (;;) {
		uint8_t bs = inb((uint16_t)(bm + BM_STATUS));
		uint8_t as = inb(d->ctl);
		if (!(as & ATA_SR_BSY)) {
			if (bs & (BM_ST_INTR | BM_ST_ERR))
				break;
			if (as & (ATA_SR_ERR | ATA_SR_DF))
				break;
			if (!(bs & BM_ST_ACTIVE) && !(as & ATA_SR_DRQ))
				break;
		}
		if (deadline_passed(&t)) {
			r.timeout = 1;
			r.what = "DMA did not complete";
			break;
		}
	}
	outb((uint16_t)(bm + BM_CMD), dir); /* stop */
	r.bm_status = inb((uint16_t)(bm + BM_STATUS));
	finish(d, &r);
	outb((uint16_t)(bm + BM_STATUS),
	     (uint8_t)((r.bm_status & 0x60) | BM_ST_ERR | BM_ST_INTR));
	return r;
}

struct ide_res ide_nondata(struct ide_drive *d, uint8_t cmd, uint16_t feature, uint32_t count,
			   uint64_t lba)
{
	struct ide_res r = { 0 };
	int ext = ide_cmd_is_ext(cmd);
	if (select_drive(d, ext ? 0 : (uint8_t)(lba >> 24), &r))
		return r;
	ide_taskfile(d, ext, feature, lba, count);
	outb((uint16_t)(d->io + 7), cmd);
	finish(d, &r);
	return r;
}

int ide_ok(const struct ide_res *r, int dma)
{
	if (r->timeout || r->protocol)
		return 0;
	if (r->status & (ATA_SR_BSY | ATA_SR_DF | ATA_SR_DRQ | ATA_SR_ERR))
		return 0;
	if (!(r->status & ATA_SR_DRDY))
		return 0;
	if (dma && ((r->bm_status & (BM_ST_ERR | BM_ST_ACTIVE)) || !(r->bm_status & BM_ST_INTR)))
		return 0;
	return 1;
}

int ide_refused(const struct ide_res *r)
{
	if (r->timeout || (r->status & (ATA_SR_BSY | ATA_SR_DRQ)))
		return 0;
	return ((r->status & ATA_SR_ERR) && (r->error & ATA_ER_ABRT)) ||
	       (r->bm_status & BM_ST_ERR);
}

const char *ide_res_str(const struct ide_res *r)
{
	static char buf[160];
	snprintf(buf, sizeof(buf), "status %02x error %02x bm %02x%s%s%s", r->status, r->error,
		 r->bm_status, r->what ? " (" : "", r->what ? r->what : "", r->what ? ")" : "");
	return buf;
}

/* ------------------------------------------------------------ IDENTIFY */

static void id_string(const uint16_t *id, int first, int words, char *out)
{
	int n = 0;
	for (int i = 0; i < words; i++) {
		out[n++] = (char)(id[first + i] >> 8);
		out[n++] = (char)id[first + i];
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = 0;
}

void ide_setup(struct ide_drive *d, int channel, int slave)
{
	uint8_t st;
	ide_pci_init();
	memset(d, 0, sizeof(*d));
	d->channel = channel;
	d->slave = slave;
	d->io = ide_pci.io[channel];
	d->ctl = ide_pci.ctl[channel];
	d->bm = (uint16_t)(ide_pci.bm + 8 * channel);

	outb(d->ctl, 0); /* nIEN = 0: we poll with interrupts off anyway */
	outb((uint16_t)(d->io + 6), (uint8_t)(0xA0 | slave << 4));
	delay400(d);
	st = inb(d->ctl);
	if (st == 0xff || st == 0x00)
		fail(test_name, "no drive at ide%d.%d (status %02x)", channel, slave, st);
	if (wait_status(d, ATA_SR_BSY, 0, &st))
		fail(test_name, "ide%d.%d stays busy (status %02x)", channel, slave, st);
	outb((uint16_t)(d->io + 7), ATA_CMD_IDENTIFY);
	delay400(d);
	if (wait_status(d, ATA_SR_BSY, 0, &st))
		fail(test_name, "IDENTIFY: busy forever (status %02x)", st);
	if (st & ATA_SR_ERR)
		fail(test_name, "IDENTIFY failed: status %02x error %02x (not an ATA disk?)", st,
		     inb((uint16_t)(d->io + 1)));
	if (wait_status(d, ATA_SR_DRQ, ATA_SR_DRQ, &st))
		fail(test_name, "IDENTIFY: no data (status %02x)", st);
	ide_insw(d->io, d->id, 256);
	delay400(d);
	(void)wait_status(d, ATA_SR_BSY, 0, &st);
	st = inb((uint16_t)(d->io + 7));
	if (st & (ATA_SR_ERR | ATA_SR_DRQ))
		fail(test_name, "IDENTIFY ended with status %02x", st);

	id_string(d->id, 27, 20, d->model);
	d->lba48 = (d->id[83] >> 10) & 1;
	d->max_mult = d->id[47] & 0xff;
	if (d->lba48)
		d->sectors = (uint64_t)d->id[100] | (uint64_t)d->id[101] << 16 |
			     (uint64_t)d->id[102] << 32 | (uint64_t)d->id[103] << 48;
	else
		d->sectors = (uint64_t)d->id[60] | (uint64_t)d->id[61] << 16;
	printf("ide: ide%d.%d \"%s\": %llu sectors (%llu MiB), LBA48 %s, multiple <= %d, "
	       "DMA %s\n", channel, slave, d->model, d->sectors, d->sectors >> 11,
	       d->lba48 ? "yes" : "no", d->max_mult, (d->id[49] & 0x100) ? "yes" : "no");
}

/* ------------------------------------------------------------ PRD / sg */

void prd_set(struct ide_prd *t, int i, uint32_t addr, uint32_t bytes, int eot)
{
	t[i].addr = addr;
	t[i].count = (uint16_t)bytes; /* 65536 -> 0 */
	t[i].flags = eot ? PRD_EOT : 0;
}

int prd_from_sg(struct ide_prd *t, const struct sg *sg, int n)
{
	for (int i = 0; i < n; i++) {
		if (sg[i].len == 0 || sg[i].len > 65536 || (sg[i].len & 1) || (sg[i].addr & 1) ||
		    ((sg[i].addr & 0xffff) + sg[i].len > 0x10000))
			fail(test_name, "bad segment %d: %08x+%x (test bug)", i, sg[i].addr,
			     sg[i].len);
		prd_set(t, i, sg[i].addr, sg[i].len, i == n - 1);
	}
	return n;
}

int sg_split(struct sg *sg, int max, uint32_t addr, uint32_t bytes, uint32_t maxseg)
{
	int n = 0;
	while (bytes) {
		uint32_t room = 0x10000 - (addr & 0xffff);
		uint32_t len = bytes < maxseg ? bytes : maxseg;
		if (len > room)
			len = room;
		if (n >= max)
			fail(test_name, "scatter list too long (test bug)");
		sg[n].addr = addr;
		sg[n].len = len;
		n++;
		addr += len;
		bytes -= len;
	}
	return n;
}

void sg_scatter(const struct sg *sg, int n, const void *src)
{
	const uint8_t *s = src;
	for (int i = 0; i < n; i++) {
		copy32((void *)(uintptr_t)sg[i].addr, s, sg[i].len);
		s += sg[i].len;
	}
}

void sg_gather(const struct sg *sg, int n, void *dst)
{
	uint8_t *d = dst;
	for (int i = 0; i < n; i++) {
		copy32(d, (const void *)(uintptr_t)sg[i].addr, sg[i].len);
		d += sg[i].len;
	}
}

/* ------------------------------------------------------------ memory */

static uint32_t mem_lo, mem_hi;

static uint32_t align_up(uint32_t v, uint32_t a)
{
	return (v + a - 1) & ~(a - 1);
}

void mem_init(uint64_t avoid_base, uint64_t avoid_size)
{
	uint32_t lo = 16u << 20;
	if ((uint32_t)(uintptr_t)__image_end > lo)
		lo = (uint32_t)(uintptr_t)__image_end;
	if ((mb->flags & MB_INFO_MODS) && mb->mods_count) {
		const uint32_t *m = (const uint32_t *)(uintptr_t)mb->mods_addr;
		for (uint32_t i = 0; i < mb->mods_count; i++)
			if (m[4 * i + 1] > lo)
				lo = m[4 * i + 1];
	}
	lo = align_up(lo, 1u << 20);

	uint64_t best_lo = 0, best_hi = 0;
	for (const struct mb_mmap_entry *e = mmap_first(); e; e = mmap_next(e)) {
		if (e->type != 1)
			continue;
		uint64_t a = e->addr, b = e->addr + e->len;
		if (b > 0xF0000000ull)
			b = 0xF0000000ull;
		if (a < lo)
			a = lo;
		if (avoid_size && a < avoid_base + avoid_size && b > avoid_base) {
			/* keep the larger side */
			if (avoid_base - a >= b - (avoid_base + avoid_size))
				b = avoid_base;
			else
				a = avoid_base + avoid_size;
		}
		if (b > a && b - a > best_hi - best_lo)
			best_lo = a, best_hi = b;
	}
	if (best_hi <= best_lo)
		fail(test_name, "no free RAM above %08x in the memory map", lo);
	mem_lo = align_up((uint32_t)best_lo, 0x10000);
	mem_hi = (uint32_t)best_hi;
	printf("mem: free RAM for buffers %08x-%08x (%u MiB)\n", mem_lo, mem_hi - 1,
	       (mem_hi - mem_lo) >> 20);
}

void *mem_alloc(uint32_t size, uint32_t align)
{
	if (!mem_hi)
		fail(test_name, "mem_alloc before mem_init (test bug)");
	uint32_t a = align_up(mem_lo, align ? align : 16);
	if (a < mem_lo || a + size > mem_hi || a + size < a)
		fail(test_name, "out of guest memory allocating %u bytes (run with -m 512)", size);
	mem_lo = a + size;
	return (void *)(uintptr_t)a;
}

uint64_t mem_top(void)
{
	uint64_t top = 0;
	for (const struct mb_mmap_entry *e = mmap_first(); e; e = mmap_next(e))
		if (e->addr < 0xE0000000ull && e->addr + e->len > top)
			top = e->addr + e->len;
	return top;
}

/* ------------------------------------------------------------ data */

void pat_fill(void *buf, uint64_t lba, uint32_t count, uint32_t seed)
{
	uint32_t *w = buf;
	for (uint32_t s = 0; s < count; s++, w += TVP_WORDS) {
		uint64_t l = lba + s;
		w[0] = TVP_MARKER_W0;
		w[1] = TVP_MARKER_W1;
		w[2] = TVP_MARKER_W2;
		w[3] = (uint32_t)l;
		w[4] = (uint32_t)(l >> 32);
		w[5] = seed;
		for (uint32_t i = TVP_HDR_WORDS; i < TVP_WORDS; i++)
			w[i] = tvp_mix(l, i, seed);
	}
}

static int sector_matches(const uint32_t *w, uint64_t l, uint32_t seed)
{
	if (w[0] != TVP_MARKER_W0 || w[1] != TVP_MARKER_W1 || w[2] != TVP_MARKER_W2 ||
	    w[3] != (uint32_t)l || w[4] != (uint32_t)(l >> 32) || w[5] != seed)
		return 0;
	for (uint32_t i = TVP_HDR_WORDS; i < TVP_WORDS; i++)
		if (w[i] != tvp_mix(l, i, seed))
			return 0;
	return 1;
}

static void describe_sector(const uint32_t *w)
{
	uint64_t l;
	uint32_t s;
	int zero = 1, same = 1;
	for (uint32_t i = 0; i < TVP_WORDS; i++) {
		zero &= w[i] == 0;
		same &= w[i] == w[0];
	}
	if (zero)
		printf("all zero");
	else if (same)
		printf("filled with %08x (untouched buffer?)", w[0]);
	else if (tvp_identify(w, &l, &s))
		printf("the pattern of LBA %llu seed 0x%x", l, s);
	else
		printf("unrecognised data %08x %08x %08x %08x ... (ciphertext?)", w[0], w[1], w[2],
		       w[3]);
}

uint32_t pat_verify(const void *buf, uint64_t lba, uint32_t count, uint32_t seed,
		    const char *what)
{
	const uint32_t *w = buf;
	uint32_t bad = 0;
	for (uint32_t s = 0; s < count; s++, w += TVP_WORDS) {
		if (sector_matches(w, lba + s, seed))
			continue;
		if (bad++ == 0) {
			printf("  %s: LBA %llu (sector %u of %u) differs at byte %d: holds ", what,
			       lba + s, s, count, tvp_check(w, lba + s, seed));
			describe_sector(w);
			printf("\n");
		}
	}
	if (bad)
		printf("  %s: %u of %u sectors differ from the pattern (seed 0x%x)\n", what, bad,
		       count, seed);
	return bad;
}

uint32_t pat_count_matches(const void *buf, uint64_t lba, uint32_t count, uint32_t seed)
{
	const uint32_t *w = buf;
	uint32_t n = 0;
	for (uint32_t s = 0; s < count; s++, w += TVP_WORDS)
		n += (uint32_t)sector_matches(w, lba + s, seed);
	return n;
}

void fill32(void *buf, uint32_t bytes, uint32_t v)
{
	uint32_t *w = buf;
	for (uint32_t i = 0; i < bytes / 4; i++)
		w[i] = v;
}

int is_fill32(const void *buf, uint32_t bytes, uint32_t v)
{
	const uint32_t *w = buf;
	for (uint32_t i = 0; i < bytes / 4; i++)
		if (w[i] != v)
			return 0;
	return 1;
}

void copy32(void *dst, const void *src, uint32_t bytes)
{
	uint32_t *d = dst;
	const uint32_t *s = src;
	for (uint32_t i = 0; i < bytes / 4; i++)
		d[i] = s[i];
	for (uint32_t i = bytes & ~3u; i < bytes; i++)
		((uint8_t *)dst)[i] = ((const uint8_t *)src)[i];
}

/* ------------------------------------------------------------ test helpers */

struct ide_prd *ide_prdt;
uint8_t *ide_stage;
uint32_t ide_stage_size;

void ide_bufs_init(uint32_t stage_bytes)
{
	ide_prdt = mem_alloc(0x10000, 0x10000);
	ide_stage = mem_alloc(stage_bytes, 0x1000);
	ide_stage_size = stage_bytes;
}

static void stage_check(uint32_t count)
{
	if (!ide_stage || count * 512 > ide_stage_size)
		fail(test_name, "staging buffer too small for %u sectors (test bug)", count);
}

struct ide_res dma_write_sg(struct ide_drive *d, uint8_t cmd, uint64_t lba, uint32_t count,
			    uint32_t seed, const struct sg *sg, int n)
{
	stage_check(count);
	pat_fill(ide_stage, lba, count, seed);
	sg_scatter(sg, n, ide_stage);
	prd_from_sg(ide_prdt, sg, n);
	return ide_dma(d, cmd, 0, lba, count, (uint32_t)(uintptr_t)ide_prdt, 0, NULL);
}

struct ide_res dma_read_sg(struct ide_drive *d, uint8_t cmd, uint64_t lba, uint32_t count,
			   uint32_t seed, const struct sg *sg, int n, uint32_t *bad,
			   const char *what)
{
	stage_check(count);
	for (int i = 0; i < n; i++)
		fill32((void *)(uintptr_t)sg[i].addr, sg[i].len, SENTINEL);
	prd_from_sg(ide_prdt, sg, n);
	struct ide_res r = ide_dma(d, cmd, 0, lba, count, (uint32_t)(uintptr_t)ide_prdt, 0, NULL);
	if (!ide_ok(&r, 1)) {
		*bad = count;
		return r;
	}
	sg_gather(sg, n, ide_stage);
	*bad = pat_verify(ide_stage, lba, count, seed, what);
	return r;
}

int sg_simple(struct sg *sg, int max, void *buf, uint32_t bytes, uint32_t maxseg)
{
	return sg_split(sg, max, (uint32_t)(uintptr_t)buf, bytes, maxseg);
}

void disk_note(uint64_t first, uint32_t count, uint32_t seed, const char *expect)
{
	printf("DISK %llu %u 0x%x %s\n", first, count, seed, expect);
}

int arg_numbers(const char *key, uint64_t *v, int max)
{
	const char *s = mb_find_arg(key);
	int n = 0;
	if (!s)
		return 0;
	while (n < max && parse_u64(&s, &v[n])) {
		n++;
		if (*s != ',' && *s != ':')
			break;
		s++;
	}
	return n;
}

int ide_select(struct ide_drive *d, uint8_t hi4)
{
	struct ide_res r = { 0 };
	return select_drive(d, hi4, &r);
}
