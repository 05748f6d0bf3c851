/*
 * IDE/ATA mediation (PCI class 01:01, e.g. PIIX).
 *
 * Every port of both channels is intercepted.  Non-data commands and device
 * information pass straight through.  A command that moves medium data is
 * never given to the drive as the guest wrote it: thinvisor checks it
 * against the policy, then moves the data itself between the guest's
 * buffers (its PRD table, or its PIO data-port accesses) and its own bounce
 * buffer, which the controller reaches only through thinvisor's own PRD
 * table; data is encrypted on the way to the disk and decrypted on the way
 * back, in chunks of the bounce buffer's size.  While such a command is
 * emulated, the guest sees status, error and taskfile values from the
 * channel's virtual state; the interrupts it expects are raised by having
 * the drive run CHECK POWER MODE, a command without side effects.
 */
#include "tv/ata.h"
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/iommu.h"
#include "tv/io.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/pci.h"
#include "tv/storage.h"

#define ATA_CTRL_MAX 2
#define CHANS_MAX (2 * ATA_CTRL_MAX)
#define BOUNCE_SECTORS 2048u		/* 1 MiB per channel */
#define BOUNCE_BYTES (BOUNCE_SECTORS * SECTOR_SIZE)
#define PRD_TABLE_ENTRIES 512u		/* one page; what QEMU's PIIX reads at most */

#define ST_ERR 0x01
#define ST_DRQ 0x08
#define ST_DSC 0x10
#define ST_DRDY 0x40
#define ST_BSY 0x80
#define ERR_ABRT 0x04
#define CTL_NIEN 0x02
#define CTL_SRST 0x04
#define CTL_HOB 0x80
#define BM_START 0x01
#define BM_TO_MEM 0x08
#define BMS_ACTIVE 0x01
#define BMS_ERR 0x02
#define BMS_INT 0x04

enum xfer { X_NONE, X_PIO_IN, X_PIO_OUT };

struct ata_drive {
	bool present, atapi, lba48;
	u64 sectors;
	u32 multiple, max_multiple;
	char name[DISK_NAME_MAX];
};

struct ata_chan {
	bool used;
	u16 cmd, ctl, bm;		/* port bases (bm 0: no bus master) */
	const struct pci_dev *pci;
	struct ata_tf tf;
	u8 devctl;
	struct ata_drive drv[2];

	/* The command being emulated; while 'virt', reads come from here. */
	bool virt, dma_armed;
	u8 vstatus, verror;
	u8 xfer, command, drive;
	bool write;
	u64 lba;
	u32 count, block;		/* sectors; sectors per DRQ block */
	u64 pos;			/* bytes of the command's data moved so far */
	u32 chunk_first, chunk_len;	/* sectors (relative to lba) now in the bounce buffer */

	/* What the guest believes the bus master holds. */
	u8 bm_cmd, bm_status, bm_caps;
	u32 bm_prdt;

	u8 *bounce, *prd;
	u64 bounce_pa, prd_pa;
};

static struct ata_chan chans[CHANS_MAX];
static u32 nctrl;
static struct sg_entry guest_sg[PRD_MAX];	/* the guest PRD table, parsed */

u32 ata_controllers(void)
{
	return nctrl;
}

/* Wait for BSY to clear (and, for the bus master, ACTIVE): the status, or -1. */
static int hw_wait(const struct ata_chan *c, bool bm)
{
	u64 start = tsc();

	do {
		u8 st = inb(c->ctl);
		if (!(st & ST_BSY) && (!bm || !(inb(c->bm + 2) & BMS_ACTIVE)))
			return st;
		__asm__ volatile("pause");
	} while (tsc() - start < (1ull << 35));
	return -1;
}

static void hw_taskfile(const struct ata_chan *c, u32 drive, u64 lba, u32 n, bool lba48)
{
	if (lba48) {
		outb(c->cmd + 6, (u8)(0x40 | drive << 4));
		outb(c->cmd + 2, (u8)(n >> 8));
		outb(c->cmd + 3, (u8)(lba >> 24));
		outb(c->cmd + 4, (u8)(lba >> 32));
		outb(c->cmd + 5, (u8)(lba >> 40));
	} else {
		outb(c->cmd + 6, (u8)(0xE0 | drive << 4 | ((lba >> 24) & 0xF)));
	}
	outb(c->cmd + 2, (u8)n);
	outb(c->cmd + 3, (u8)lba);
	outb(c->cmd + 4, (u8)(lba >> 8));
	outb(c->cmd + 5, (u8)(lba >> 16));
}

/*
 * Move n sectors between memory and the drive, interrupts off at the drive,
 * by bus-master DMA through our own PRD table: to and from the bounce
 * buffer (sg NULL), or for sectors that are not encrypted, straight to and
 * from already validated guest buffers.  Without a bus master, PIO through
 * the bounce buffer.  0, -ENOMEM if the guest's list needs more PRD entries
 * than our table has, or -EIO with the drive's error in c->verror.
 */
static int hw_transfer(struct ata_chan *c, u32 drive, u64 lba, u32 n, bool write,
		       const struct sg_entry *sg, u32 nsg)
{
	const struct ata_drive *d = &c->drv[drive];
	bool lba48 = d->lba48 || lba + n > (1ull << 28);
	struct sg_entry bounce = { c->bounce_pa, n * SECTOR_SIZE };
	int st;

	if (c->bm) {
		int ne = prd_build(c->prd, PRD_TABLE_ENTRIES, sg ? sg : &bounce, sg ? nsg : 1,
				   (u64)n * SECTOR_SIZE);
		if (ne < 0)
			return -ENOMEM;
	} else if (sg) {
		return -ENOMEM;
	}
	outb(c->ctl, CTL_NIEN);
	if (hw_wait(c, false) < 0)
		goto timeout;
	hw_taskfile(c, drive, lba, n, lba48);
	if (c->bm) {
		outb(c->bm, 0);
		outl(c->bm + 4, (u32)c->prd_pa);
		outb(c->bm + 2, BMS_ERR | BMS_INT | (inb(c->bm + 2) & 0x60));
		outb(c->cmd + 7, write ? (lba48 ? 0x35 : 0xCA) : (lba48 ? 0x25 : 0xC8));
		outb(c->bm, (u8)(BM_START | (write ? 0 : BM_TO_MEM)));
		st = hw_wait(c, true);
		outb(c->bm, 0);
		u8 bms = inb(c->bm + 2);
		outb(c->bm + 2, BMS_ERR | BMS_INT | (bms & 0x60));
		if (st < 0)
			goto timeout;
		st = inb(c->cmd + 7);
		if ((st & ST_ERR) || (bms & BMS_ERR))
			goto error;
		return 0;
	}
	outb(c->cmd + 7, write ? (lba48 ? 0x34 : 0x30) : (lba48 ? 0x24 : 0x20));
	for (u32 s = 0; s < n; s++) {
		st = hw_wait(c, false);
		if (st < 0)
			goto timeout;
		if ((st & ST_ERR) || !(st & ST_DRQ))
			goto error;
		io_passthrough(c->cmd, 2, !write, c->bounce + (u64)s * SECTOR_SIZE, SECTOR_SIZE / 2);
	}
	st = hw_wait(c, false);
	if (st < 0)
		goto timeout;
	if (inb(c->cmd + 7) & ST_ERR)
		goto error;
	return 0;
error:
	c->verror = inb(c->cmd + 1);
	log_warn("%s: drive error %x at LBA %lu+%u\n", d->name, c->verror, lba, n);
	return -EIO;
timeout:
	c->verror = ERR_ABRT;
	log_err("%s: drive timed out at LBA %lu+%u\n", d->name, lba, n);
	return -EIO;
}

/* Make the drive raise the interrupt the guest waits for (unless it set nIEN). */
static void raise_irq(struct ata_chan *c)
{
	outb(c->ctl, c->devctl & ~CTL_SRST);
	outb(c->cmd + 6, c->tf.device);
	outb(c->cmd + 7, 0xE5);		/* CHECK POWER MODE */
}

/* End the emulated command: done (err 0) or failed with ATA error 'err'. */
static void complete(struct ata_chan *c, u8 err)
{
	c->virt = true;
	c->xfer = X_NONE;
	c->dma_armed = false;
	c->vstatus = ST_DRDY | ST_DSC | (err ? ST_ERR : 0);
	c->verror = err;
	raise_irq(c);
}

static void refuse(struct ata_chan *c, const char *what, const char *why)
{
	log_warn("%s: %s refused (%s)\n", c->drv[c->drive].name, what, why);
	c->bm_status = (u8)((c->bm_status & ~BMS_ACTIVE) | BMS_ERR | BMS_INT);
	complete(c, ERR_ABRT);
}

static const struct dma_limits *limits(void)
{
	static struct dma_limits lim;

	lim = (struct dma_limits){ hv.region_base, hv.region_size, hv.ram_top };
	return &lim;
}

/* Bring the next chunk of a PIO read into the bounce buffer, decrypted. */
static int pio_load(struct ata_chan *c)
{
	const struct ata_drive *d = &c->drv[c->drive];
	u32 first = (u32)(c->pos / SECTOR_SIZE), n = MIN(c->count - first, BOUNCE_SECTORS);

	if (hw_transfer(c, c->drive, c->lba + first, n, false, NULL, 0))
		return -EIO;
	storage_from_disk(d->name, c->lba + first, c->bounce, n);
	c->chunk_first = first;
	c->chunk_len = n;
	return 0;
}

/* Write what the guest gave so far (the bounce buffer's chunk), encrypted. */
static int pio_flush(struct ata_chan *c)
{
	const struct ata_drive *d = &c->drv[c->drive];
	u32 n = (u32)(c->pos / SECTOR_SIZE) - c->chunk_first;

	storage_to_disk(d->name, c->lba + c->chunk_first, c->bounce, n);
	if (hw_transfer(c, c->drive, c->lba + c->chunk_first, n, true, NULL, 0))
		return -EIO;
	c->chunk_first += n;
	return 0;
}

static void pio_data(struct ata_chan *c, u8 *data, u64 bytes)
{
	u64 total = (u64)c->count * SECTOR_SIZE, block = (u64)c->block * SECTOR_SIZE;

	while (bytes && c->xfer != X_NONE) {
		u64 chunk_end = (u64)(c->chunk_first + (c->xfer == X_PIO_IN ? c->chunk_len : BOUNCE_SECTORS)) *
				SECTOR_SIZE;
		u64 n = MIN(MIN(bytes, block - c->pos % block), MIN(total, chunk_end) - c->pos);
		u64 off = c->pos - (u64)c->chunk_first * SECTOR_SIZE;
		if (c->xfer == X_PIO_IN)
			memcpy(data, c->bounce + off, n);
		else
			memcpy(c->bounce + off, data, n);
		data += n;
		bytes -= n;
		c->pos += n;
		if (c->pos == chunk_end || c->pos == total) {
			/* The bounce buffer is used up: write it out, or read the next chunk. */
			int rc = c->xfer == X_PIO_OUT ? pio_flush(c) : c->pos == total ? 0 : pio_load(c);
			if (rc) {
				complete(c, c->verror ? c->verror : ERR_ABRT);
				break;
			}
		}
		if (c->pos == total) {
			if (c->xfer == X_PIO_OUT) {
				complete(c, 0);
			} else {
				c->xfer = X_NONE;
				c->vstatus = ST_DRDY | ST_DSC;	/* no interrupt after the last read block */
			}
			break;
		}
		if (c->pos % block == 0) {	/* the next DRQ block is ready */
			c->vstatus = ST_DRDY | ST_DSC | ST_DRQ;
			raise_irq(c);
		}
	}
	if (bytes)
		memset(data, 0xFF, bytes);	/* no DRQ: the bus floats */
}

static void bm_start(struct ata_chan *c)
{
	const struct ata_drive *d = &c->drv[c->drive];
	u64 total;

	if (!c->dma_armed)
		return;	/* nothing was asked of the drive: the hardware never sees it */
	c->dma_armed = false;
	int n = prd_parse(&hv.pm, c->bm_prdt, limits(), guest_sg, PRD_MAX, &total);
	if (n < 0) {
		refuse(c, "DMA", n == -EFAULT ? "PRD table or buffer outside guest RAM" : "malformed PRD table");
		return;
	}
	if (total < (u64)c->count * SECTOR_SIZE) {
		refuse(c, "DMA", "PRD table shorter than the transfer");
		return;
	}
	if (!(c->bm_cmd & BM_TO_MEM) != c->write) {
		refuse(c, "DMA", "bus-master direction does not match the command");
		return;
	}
	/* Nothing to encrypt: the drive moves the data itself, once. */
	if (storage_is_plain(d->name, c->lba, c->count)) {
		int rc = hw_transfer(c, c->drive, c->lba, c->count, c->write, guest_sg, (u32)n);
		if (rc == 0) {
			c->bm_status = BMS_INT;
			complete(c, 0);
			return;
		}
		if (rc != -ENOMEM) {
			c->bm_status = BMS_ERR | BMS_INT;
			complete(c, c->verror ? c->verror : ERR_ABRT);
			return;
		}
	}
	for (u32 done = 0; done < c->count;) {
		u32 k = MIN(c->count - done, BOUNCE_SECTORS);
		u64 skip = (u64)done * SECTOR_SIZE, len = (u64)k * SECTOR_SIZE;
		if (c->write) {
			sg_copy(&hv.pm, guest_sg, (u32)n, skip, c->bounce, len, false);
			storage_to_disk(d->name, c->lba + done, c->bounce, k);
		}
		if (hw_transfer(c, c->drive, c->lba + done, k, c->write, NULL, 0)) {
			c->bm_status = BMS_ERR | BMS_INT;
			complete(c, c->verror ? c->verror : ERR_ABRT);
			return;
		}
		if (!c->write) {
			storage_from_disk(d->name, c->lba + done, c->bounce, k);
			sg_copy(&hv.pm, guest_sg, (u32)n, skip, c->bounce, len, true);
		}
		done += k;
	}
	c->bm_status = BMS_INT;
	complete(c, 0);
}

static void command(struct ata_chan *c, u8 cmd)
{
	u32 drive = (c->tf.device >> 4) & 1;
	struct ata_drive *d = &c->drv[drive];
	struct ata_cmd_info info = ata_classify(cmd);
	const char *why;

	c->virt = false;
	c->xfer = X_NONE;
	c->dma_armed = false;
	c->drive = (u8)drive;
	if (!d->present || (d->atapi && !(cmd == 0xA0 && (c->tf.cur[1] & 1)))) {
		/* No drive, or a packet device (not encrypted) outside DMA. */
		outb(c->cmd + 7, cmd);
		return;
	}
	if (d->atapi) {
		refuse(c, "ATAPI DMA", "not supported yet");
		return;
	}
	c->command = cmd;
	switch (info.kind) {
	case ATA_NONDATA:
		if (cmd == 0xC6) {
			/* As the drive decides: a power of two up to its maximum. */
			u32 m = c->tf.cur[2];
			if (m && m <= d->max_multiple && !(m & (m - 1)))
				d->multiple = m;
		}
		outb(c->cmd + 7, cmd);
		return;
	case ATA_INFO_IN:
		if (cmd == 0xB0 && (c->tf.cur[1] == 0xD6 || c->tf.cur[1] > 0xDB)) {
			refuse(c, "SMART write", "could write the medium");
			return;
		}
		outb(c->cmd + 7, cmd);
		return;
	case ATA_PIO_IN:
	case ATA_PIO_OUT:
	case ATA_DMA_IN:
	case ATA_DMA_OUT:
		break;
	default:
		log_warn("%s: command %x refused: it could move data thinvisor cannot encrypt\n", d->name, cmd);
		refuse(c, "command", "not allowed");
		return;
	}
	c->write = info.kind == ATA_PIO_OUT || info.kind == ATA_DMA_OUT;
	if (!ata_tf_lba(&c->tf, info.lba48, &c->lba, &c->count)) {
		refuse(c, "CHS-addressed command", "only LBA addressing is mediated");
		return;
	}
	if (storage_check(d->name, c->lba, c->count, c->write, &why)) {
		log_warn("%s: %s of LBA %lu+%u refused by policy (%s)\n", d->name, c->write ? "write" : "read",
			 c->lba, c->count, why);
		refuse(c, c->write ? "write" : "read", why);
		return;
	}
	if (c->lba + c->count > d->sectors) {
		refuse(c, "access", "past the end of the disk");
		return;
	}
	c->virt = true;
	c->pos = 0;
	c->chunk_first = 0;
	c->chunk_len = 0;
	if (info.kind == ATA_DMA_IN || info.kind == ATA_DMA_OUT) {
		c->dma_armed = true;
		c->vstatus = ST_BSY | ST_DRDY;
		return;
	}
	c->block = info.multiple ? d->multiple : 1;
	if (!c->block) {
		refuse(c, "MULTIPLE command", "SET MULTIPLE MODE not done");
		return;
	}
	c->xfer = c->write ? X_PIO_OUT : X_PIO_IN;
	c->vstatus = ST_DRDY | ST_DSC | ST_DRQ;
	if (!c->write) {
		if (pio_load(c)) {
			complete(c, c->verror ? c->verror : ERR_ABRT);
			return;
		}
		raise_irq(c);	/* data-in: the first block is announced by an interrupt */
	}
}

static void bm_io(struct ata_chan *c, u16 off, u8 size, bool in, u8 *p)
{
	if (off >= 4) {		/* PRD table address: only ever the guest's idea */
		u8 *sh = (u8 *)&c->bm_prdt;
		for (u8 b = 0; b < size && off + b < 8; b++) {
			if (in)
				p[b] = sh[off - 4 + b];
			else
				sh[off - 4 + b] = p[b];
		}
		return;
	}
	for (u8 b = 0; b < size && off + b < 4; b++) {
		u16 r = (u16)(off + b);
		if (r == 0) {
			if (in) {
				p[b] = c->bm_cmd;
			} else {
				bool start = !(c->bm_cmd & BM_START) && (p[b] & BM_START);
				c->bm_cmd = p[b] & (BM_START | BM_TO_MEM);
				if (start)
					bm_start(c);
			}
		} else if (r == 2) {
			if (in) {
				p[b] = (u8)((c->bm_status & 7) | c->bm_caps | (inb(c->bm + 2) & 0x80));
			} else {
				c->bm_status &= (u8)~(p[b] & (BMS_ERR | BMS_INT));
				c->bm_caps = p[b] & 0x60;
				outb(c->bm + 2, c->bm_caps);
			}
		} else if (in) {
			p[b] = 0;
		}
	}
}

void ata_io(struct vcpu *v, u32 instance, u16 port, u8 size, bool in, void *data, u32 count)
{
	struct ata_chan *c = &chans[(instance >> 2) % CHANS_MAX];
	u8 *p = data;

	(void)v;
	if ((instance & 3) == 0 && port == c->cmd && (c->xfer == X_PIO_IN || c->xfer == X_PIO_OUT)) {
		pio_data(c, p, (u64)size * count);
		return;
	}
	for (u32 i = 0; i < count; i++, p += size) {
		u8 val = *p;
		if ((instance & 3) == 2) {
			bm_io(c, (u16)(port - c->bm), size, in, p);
		} else if ((instance & 3) == 1) {	/* device control / alternate status */
			if (in) {
				*p = c->virt ? c->vstatus : inb(c->ctl);
			} else {
				c->devctl = val;
				if (val & CTL_SRST) {
					c->virt = false;
					c->xfer = X_NONE;
					c->dma_armed = false;
				}
				outb(c->ctl, val);
			}
		} else {
			u16 reg = (u16)(port - c->cmd);
			if (reg == 0 || (!in && reg != 7) || (in && !c->virt)) {
				if (!in && reg >= 1 && reg <= 5) {
					c->tf.prev[reg] = c->tf.cur[reg];
					c->tf.cur[reg] = val;
				} else if (!in && reg == 6) {
					c->tf.device = val;
				}
				io_passthrough(port, size, in, p, 1);
			} else if (!in) {
				command(c, val);
			} else if (reg == 7) {
				(void)inb(c->cmd + 7);	/* acknowledges the drive's interrupt */
				*p = c->vstatus;
			} else if (reg == 1) {
				*p = c->verror;
			} else {
				bool hob = c->devctl & CTL_HOB;
				*p = reg == 6 ? c->tf.device : hob ? c->tf.prev[reg] : c->tf.cur[reg];
			}
		}
	}
}

static void probe_drive(struct ata_chan *c, u32 ch, u32 drive)
{
	struct ata_drive *d = &c->drv[drive];
	u16 id[256];

	tv_snprintf(d->name, sizeof(d->name), "ide%u.%u", ch, drive);
	outb(c->cmd + 6, (u8)(0xA0 | drive << 4));
	for (int i = 0; i < 4; i++)
		(void)inb(c->ctl);
	u8 st = inb(c->cmd + 7);
	if (st == 0xFF || st == 0x7F)
		return;
	outb(c->ctl, CTL_NIEN);
	outb(c->cmd + 7, 0xEC);		/* IDENTIFY DEVICE */
	if (!inb(c->ctl))
		return;
	int s = hw_wait(c, false);
	if (s < 0)
		return;
	if (s & ST_ERR) {
		if (inb(c->cmd + 4) == 0x14 && inb(c->cmd + 5) == 0xEB) {
			d->present = d->atapi = true;
			log_info("storage: %s is a packet device (passes through, not encrypted)\n", d->name);
		}
		return;
	}
	if (!(s & ST_DRQ))
		return;
	io_passthrough(c->cmd, 2, true, id, 256);
	(void)inb(c->cmd + 7);
	d->present = true;
	d->lba48 = id[83] & (1u << 10);
	d->max_multiple = id[47] & 0xFF;
	d->sectors = d->lba48 ? (u64)id[100] | (u64)id[101] << 16 | (u64)id[102] << 32 | (u64)id[103] << 48
			      : (u64)id[60] | (u64)id[61] << 16;
	storage_disk_found(d->name, d->sectors);
}

/* Where the controller's channels are now (legacy or native ports, BAR4). */
static void locate(u32 ctrl)
{
	const struct pci_dev *pd = chans[2 * ctrl].pci;
	u32 progif = pci_read32(pd, 0x08) >> 8 & 0xFF;
	u16 bm = pci_bar_io(pci_read32(pd, 0x20));

	for (u32 k = 0; k < 2; k++) {
		struct ata_chan *c = &chans[2 * ctrl + k];
		u32 inst = (2 * ctrl + k) << 2;
		bool native = progif & (1u << (2 * k));
		for (u32 w = 0; w < 3; w++)
			io_release(IO_ATA, inst | w);
		c->cmd = native ? pci_bar_io(pci_read32(pd, 0x10 + 8 * k)) : (k ? 0x170 : 0x1F0);
		c->ctl = native ? (u16)(pci_bar_io(pci_read32(pd, 0x14 + 8 * k)) + 2) : (k ? 0x376 : 0x3F6);
		c->bm = bm ? (u16)(bm + 8 * k) : 0;
		if (!c->cmd || io_claim(c->cmd, 8, IO_ATA, inst) || io_claim(c->ctl, 1, IO_ATA, inst | 1) ||
		    (c->bm && io_claim(c->bm, 8, IO_ATA, inst | 2)))
			log_warn("ide%u: ports %x/%x/%x not all interceptable\n", 2 * ctrl + k, c->cmd, c->ctl, c->bm);
	}
}

void ata_pci_changed(u32 ctrl)
{
	if (ctrl < nctrl)
		locate(ctrl);
}

void ata_attach(const struct pci_dev *pd, u32 ctrl)
{
	if (ctrl >= ATA_CTRL_MAX) {
		log_warn("more than %u IDE controllers: the extra one is not mediated\n", ATA_CTRL_MAX);
		return;
	}
	nctrl = ctrl + 1;
	for (u32 k = 0; k < 2; k++) {
		struct ata_chan *c = &chans[2 * ctrl + k];
		c->used = true;
		c->pci = pd;
		u64 pa = hv_dma_alloc(BOUNCE_BYTES / 4096 + 16 + 1, "IDE bounce buffers");
		c->bounce_pa = ALIGN_UP(pa, 0x10000);	/* PRD entries never cross 64 KiB */
		c->prd_pa = c->bounce_pa + BOUNCE_BYTES;
		c->bounce = pool_va(&hv.pool, c->bounce_pa);
		c->prd = pool_va(&hv.pool, c->prd_pa);
	}
	locate(ctrl);
	log_info("storage: IDE controller %02x:%02x.%u (%04x:%04x)\n", pd->bus, pd->dev, pd->fn, pd->vendor,
		 pd->device);
	for (u32 k = 0; k < 2; k++) {
		struct ata_chan *c = &chans[2 * ctrl + k];
		if (c->bm)
			c->bm_caps = inb(c->bm + 2) & 0x60;
		for (u32 drive = 0; drive < 2; drive++)
			probe_drive(c, 2 * ctrl + k, drive);
		outb(c->ctl, 0);
		c->devctl = 0;
		c->tf.device = 0xA0;
	}
}
