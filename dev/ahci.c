/*
 * AHCI mediation (PCI class 01:06:01, e.g. q35's ICH9).
 *
 * The HBA's registers (ABAR) are trapped through nested paging and every
 * guest access emulated.  The HBA only ever sees thinvisor's own command
 * list and FIS area: the guest's PxCLB/PxFB are remembered, never given to
 * it.  When the guest issues slots (PxCI, with PxSACT for NCQ), thinvisor
 * reads each command header, command FIS and PRDT from guest memory
 * (validated like IDE PRD entries), checks the policy, and runs the command
 * itself on its own slot 0 with its own command table, whose PRDT points at
 * a bounce buffer (or, for sectors that are not encrypted, at the validated
 * guest buffers): data is encrypted on the way out and decrypted on the way
 * in through the same storage entry point as IDE.  When done, the guest's
 * PRD byte count and received-FIS area are written and the slot shows
 * complete in PxCI/PxSACT; the HBA's own completion interrupt is the one the
 * guest takes.
 */
#include "tv/ata.h"
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/iommu.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/mmio_trap.h"
#include "tv/pci.h"
#include "tv/storage.h"

#define AHCI_PORTS 32
#define AHCI_BOUNCE_SECTORS 2048u		/* 1 MiB per port */
#define AHCI_PRDT_MAX 240u			/* in our one-page command table */

#define HBA_CAP 0x00
#define HBA_GHC 0x04
#define HBA_IS 0x08
#define HBA_PI 0x0C
#define GHC_HR (1u << 0)
#define GHC_AE (1u << 31)

#define PX_CLB 0x00
#define PX_CLBU 0x04
#define PX_FB 0x08
#define PX_FBU 0x0C
#define PX_IS 0x10
#define PX_CMD 0x18
#define PX_TFD 0x20
#define PX_SIG 0x24
#define PX_SSTS 0x28
#define PX_SCTL 0x2C
#define PX_SACT 0x34
#define PX_CI 0x38
#define CMD_ST (1u << 0)
#define CMD_FRE (1u << 4)
#define CMD_FR (1u << 14)
#define CMD_CR (1u << 15)
#define IS_TFES (1u << 30)
#define TFD_ERR 0x01

struct ahci_port {
	bool present, atapi, lba48;
	u64 sectors;
	char name[DISK_NAME_MAX];
	u64 g_clb, g_fb;		/* the guest's command list and FIS area */
	u32 g_ci, g_sact;		/* slots the guest issued and we have not completed */
	u32 v_is;			/* interrupt bits of our own (a refused command) */
	bool v_err;			/* PxTFD shows our refusal */
	u8 *clb, *ct, *bounce;		/* ours; FIS area at clb + 0x400 */
	u64 clb_pa, ct_pa, bounce_pa;
};

static struct {
	bool used;
	const struct pci_dev *pci;
	u64 abar, size;
	u32 pi;
	struct ahci_port port[AHCI_PORTS];
} hba;

static struct sg_entry guest_sg[PRD_MAX];

static u32 rd(u64 off)
{
	return mmio_rd32(hba.abar + off);
}

static void wr(u64 off, u32 v)
{
	mmio_wr32(hba.abar + off, v);
}

static u64 port_off(u32 p, u32 r)
{
	return 0x100 + 0x80ull * p + r;
}

static bool wait_clear(u64 off, u32 bits)
{
	for (u64 t = tsc(); tsc() - t < (1ull << 35);)
		if (!(rd(off) & bits))
			return true;
	return false;
}

/* The HBA must only ever know our command list and FIS area. */
static void program_lists(u32 p)
{
	struct ahci_port *pt = &hba.port[p];
	u32 cmd = rd(port_off(p, PX_CMD));

	wr(port_off(p, PX_CMD), cmd & ~(CMD_ST | CMD_FRE));
	wait_clear(port_off(p, PX_CMD), CMD_CR | CMD_FR);
	wr(port_off(p, PX_CLB), (u32)pt->clb_pa);
	wr(port_off(p, PX_CLBU), (u32)(pt->clb_pa >> 32));
	wr(port_off(p, PX_FB), (u32)(pt->clb_pa + 0x400));
	wr(port_off(p, PX_FBU), (u32)((pt->clb_pa + 0x400) >> 32));
	wr(port_off(p, PX_CMD), cmd & ~CMD_ST);
	wr(port_off(p, PX_CMD), cmd);
}

/*
 * Run one command on our slot 0: FIS (20 bytes), ATAPI command, a scatter
 * list (our bounce buffer or validated guest buffers).  Bytes moved, or -EIO.
 */
static s64 hw_cmd(u32 p, const u8 *cfis, const u8 *acmd, const struct sg_entry *sg, u32 nsg, u64 bytes,
		  bool write)
{
	struct ahci_port *pt = &hba.port[p];
	u8 *ct = pt->ct;
	u32 n = 0;

	memset(ct, 0, 0x80);
	memcpy(ct, cfis, 20);
	if (acmd)
		memcpy(ct + 0x40, acmd, 16);
	for (u32 i = 0; i < nsg && bytes; i++) {
		u64 len = MIN((u64)sg[i].len, bytes);
		for (u64 off = 0; off < len; off += 0x400000, n++) {
			if (n == AHCI_PRDT_MAX)
				return -ENOMEM;
			u32 e[4] = { (u32)(sg[i].pa + off), (u32)((sg[i].pa + off) >> 32), 0,
				     (u32)(MIN(len - off, 0x400000u) - 1) };
			memcpy(ct + 0x80 + 16 * n, e, 16);
		}
		bytes -= len;
	}
	u32 hdr[8] = { 5u | (acmd ? 1u << 5 : 0) | (write ? 1u << 6 : 0) | n << 16, 0, (u32)pt->ct_pa,
		       (u32)(pt->ct_pa >> 32), 0, 0, 0, 0 };
	memcpy(pt->clb, hdr, 32);
	wr(port_off(p, PX_CI), 1);
	for (u64 t = tsc(); rd(port_off(p, PX_CI)) & 1;) {
		if ((rd(port_off(p, PX_IS)) & IS_TFES) || tsc() - t > (1ull << 35)) {
			log_warn("%s: command %x failed (TFD %x)\n", pt->name, cfis[2], rd(port_off(p, PX_TFD)));
			return -EIO;
		}
	}
	if (rd(port_off(p, PX_TFD)) & TFD_ERR)
		return -EIO;
	u32 done;
	memcpy(&done, pt->clb + 4, 4);
	return done;
}

static void fis_rw(u8 *f, u8 cmd, u64 lba, u32 count)
{
	memset(f, 0, 20);
	f[0] = 0x27;
	f[1] = 0x80;
	f[2] = cmd;
	f[4] = (u8)lba;
	f[5] = (u8)(lba >> 8);
	f[6] = (u8)(lba >> 16);
	f[7] = 0x40;
	f[8] = (u8)(lba >> 24);
	f[9] = (u8)(lba >> 32);
	f[10] = (u8)(lba >> 40);
	f[12] = (u8)count;
	f[13] = (u8)(count >> 8);
}

/* Read a guest PRDT into guest_sg; -EFAULT if any entry is not guest RAM. */
static int read_prdt(u64 ctba, u32 prdtl, u64 *total)
{
	const struct dma_limits lim = { hv.region_base, hv.region_size, hv.ram_top };
	int n = ahci_prdt_parse(&hv.pm, ctba, prdtl, &lim, guest_sg, PRD_MAX, total);

	return n < 0 ? -EFAULT : n;
}

/* Tell the guest slot s is done: byte count, the FISes the HBA received. */
static void finish(u32 p, u32 s, u64 hdr_pa, u32 bytes)
{
	struct ahci_port *pt = &hba.port[p];
	u8 *h = guest_dma_ok(hdr_pa, 32) ? phys_ptr(&hv.pm, hdr_pa, 32) : NULL;	/* never our memory */
	u8 *gfb = guest_dma_ok(pt->g_fb, 256) ? phys_ptr(&hv.pm, pt->g_fb, 256) : NULL;

	if (h)
		memcpy(h + 4, &bytes, 4);
	if (gfb)
		memcpy(gfb, pt->clb + 0x400, 256);
	pt->g_ci &= ~(1u << s);
	pt->g_sact &= ~(1u << s);
}

static void refuse(u32 p, u32 s, u64 hdr_pa, const char *what)
{
	struct ahci_port *pt = &hba.port[p];
	u8 f[20];

	log_warn("%s: %s refused\n", pt->name, what);
	pt->v_err = true;
	pt->v_is |= IS_TFES;
	/* A harmless command, so the HBA raises the interrupt the guest waits for. */
	memset(f, 0, sizeof(f));
	f[0] = 0x27;
	f[1] = 0x80;
	f[2] = pt->atapi ? 0x00 : 0xE5;	/* NOP / CHECK POWER MODE */
	(void)hw_cmd(p, f, NULL, NULL, 0, 0, false);
	finish(p, s, hdr_pa, 0);
}

static void run_slot(u32 p, u32 s)
{
	struct ahci_port *pt = &hba.port[p];
	u64 hdr_pa = pt->g_clb + 32ull * s;
	const u8 *h = guest_dma_ok(hdr_pa, 32) ? phys_ptr(&hv.pm, hdr_pa, 32) : NULL;
	const char *why;
	u64 total;

	if (!h) {
		refuse(p, s, hdr_pa, "command list outside guest RAM");
		return;
	}
	u32 dw0, ctl, ctu;
	memcpy(&dw0, h, 4);
	memcpy(&ctl, h + 8, 4);
	memcpy(&ctu, h + 12, 4);
	u64 ctba = (u64)ctu << 32 | (ctl & ~0x7Fu);
	bool atapi_cmd = dw0 & (1u << 5), write = dw0 & (1u << 6);
	const u8 *cf = guest_dma_ok(ctba, 0x80) ? phys_ptr(&hv.pm, ctba, 0x80) : NULL;
	int n = cf ? read_prdt(ctba, dw0 >> 16, &total) : -EFAULT;
	if (n < 0) {
		refuse(p, s, hdr_pa, "command table or PRDT outside guest RAM");
		return;
	}
	u8 fis[20];
	memcpy(fis, cf, 20);
	if (fis[0] != 0x27 || !(fis[1] & 0x80)) {
		refuse(p, s, hdr_pa, "FIS that is not a host-to-device command");
		return;
	}
	u8 cmd = fis[2];
	u64 lba = (u64)fis[4] | (u64)fis[5] << 8 | (u64)fis[6] << 16 | (u64)fis[8] << 24 | (u64)fis[9] << 32 |
		  (u64)fis[10] << 40;
	u32 count = (u32)fis[12] | (u32)fis[13] << 8;
	struct ata_cmd_info info = ata_classify(cmd);

	if (cmd == 0x60 || cmd == 0x61) {	/* READ/WRITE FPDMA QUEUED: count in the features */
		info = (struct ata_cmd_info){ cmd == 0x60 ? ATA_DMA_IN : ATA_DMA_OUT, true, false };
		count = (u32)fis[3] | (u32)fis[11] << 8;
		if (!count)
			count = 65536;
	} else if (info.kind >= ATA_PIO_IN && info.kind <= ATA_DMA_OUT) {
		if (!info.lba48)
			lba &= 0xFFFFFFF, lba |= (u64)(fis[7] & 0xF) << 24, count &= 0xFF;
		if (!count)
			count = info.lba48 ? 65536 : 256;
	}

	/* Packet devices and device information: plain, through the bounce buffer. */
	if (pt->atapi || info.kind == ATA_NONDATA || info.kind == ATA_INFO_IN) {
		if (write || (pt->atapi ? !atapi_cmd && info.kind != ATA_INFO_IN && info.kind != ATA_NONDATA
					: info.kind == ATA_REFUSE) || total > AHCI_BOUNCE_SECTORS * SECTOR_SIZE) {
			refuse(p, s, hdr_pa, "command");
			return;
		}
		struct sg_entry b = { pt->bounce_pa, (u32)total };
		s64 got = hw_cmd(p, fis, atapi_cmd ? cf + 0x40 : NULL, &b, 1, total, false);
		if (got > 0)
			sg_copy(&hv.pm, guest_sg, (u32)n, 0, pt->bounce, (u64)MIN((u64)got, total), true);
		finish(p, s, hdr_pa, got > 0 ? (u32)got : 0);
		return;
	}
	if (info.kind < ATA_PIO_IN || info.kind > ATA_DMA_OUT) {
		log_warn("%s: command %x refused: it could move data thinvisor cannot encrypt\n", pt->name, cmd);
		refuse(p, s, hdr_pa, "command");
		return;
	}
	bool w = info.kind == ATA_PIO_OUT || info.kind == ATA_DMA_OUT;
	if (w != write || total < (u64)count * SECTOR_SIZE || lba + count > pt->sectors) {
		refuse(p, s, hdr_pa, "inconsistent command");
		return;
	}
	if (storage_check(pt->name, lba, count, w, &why)) {
		log_warn("%s: %s of LBA %lu+%u refused by policy (%s)\n", pt->name, w ? "write" : "read", lba,
			 count, why);
		refuse(p, s, hdr_pa, w ? "write" : "read");
		return;
	}
	if (storage_is_plain(pt->name, lba, count)) {
		fis_rw(fis, w ? 0x35 : 0x25, lba, count);
		s64 got = hw_cmd(p, fis, NULL, guest_sg, (u32)n, (u64)count * SECTOR_SIZE, w);
		if (got != -ENOMEM) {
			finish(p, s, hdr_pa, got > 0 ? (u32)got : 0);
			return;
		}
	}
	for (u32 done = 0; done < count;) {
		u32 k = MIN(count - done, AHCI_BOUNCE_SECTORS);
		u64 skip = (u64)done * SECTOR_SIZE, len = (u64)k * SECTOR_SIZE;
		struct sg_entry b = { pt->bounce_pa, (u32)len };
		if (w) {
			sg_copy(&hv.pm, guest_sg, (u32)n, skip, pt->bounce, len, false);
			storage_to_disk(pt->name, lba + done, pt->bounce, k);
		}
		fis_rw(fis, w ? 0x35 : 0x25, lba + done, k);
		if (hw_cmd(p, fis, NULL, &b, 1, len, w) < 0) {
			finish(p, s, hdr_pa, (u32)skip);
			return;
		}
		if (!w) {
			storage_from_disk(pt->name, lba + done, pt->bounce, k);
			sg_copy(&hv.pm, guest_sg, (u32)n, skip, pt->bounce, len, true);
		}
		done += k;
	}
	finish(p, s, hdr_pa, count * SECTOR_SIZE);
}

static void port_access(u32 p, u32 r, bool write, u64 *val)
{
	struct ahci_port *pt = &hba.port[p];
	u64 off = port_off(p, r);
	u32 v = (u32)*val;

	switch (r) {
	case PX_CLB:
	case PX_CLBU:
	case PX_FB:
	case PX_FBU: {
		u64 *g = r < PX_FB ? &pt->g_clb : &pt->g_fb;
		unsigned sh = (r & 4) ? 32 : 0;
		if (write)
			*g = (*g & ~(0xFFFFFFFFull << sh)) | (u64)v << sh;
		else
			*val = (u32)(*g >> sh);
		return;
	}
	case PX_IS:
		if (write) {
			pt->v_is &= ~v;
			wr(off, v);
		} else {
			*val = rd(off) | pt->v_is;
		}
		return;
	case PX_TFD:
		if (!write)
			*val = pt->v_err ? 0x0451 : rd(off);	/* ERR|DRDY|DSC, error ABRT */
		return;
	case PX_SACT:
		if (write)
			pt->g_sact |= v;
		else
			*val = pt->g_sact;
		return;
	case PX_CI:
		if (!write) {
			*val = pt->g_ci;
			return;
		}
		if (!(rd(port_off(p, PX_CMD)) & CMD_ST) || !pt->present)
			return;
		pt->g_ci |= v;
		pt->v_err = false;
		for (u32 s = 0; s < 32; s++)
			if (v & (1u << s))
				run_slot(p, s);
		return;
	case PX_CMD:
	case PX_SCTL:
		if (write) {
			if (r == PX_SCTL || !(v & CMD_ST)) {	/* stop or reset: nothing pending */
				pt->g_ci = pt->g_sact = 0;
				pt->v_err = false;
				pt->v_is = 0;
			}
			wr(off, v);
		} else {
			*val = rd(off);
		}
		return;
	default:
		if (write)
			wr(off, v);
		else
			*val = rd(off);
	}
}

void ahci_access(struct vcpu *v, u32 instance, u64 offset, u8 size, bool write, u64 *val)
{
	(void)v;
	(void)instance;
	if (size != 4 || (offset & 3)) {	/* the HBA takes aligned dwords */
		if (!write)
			*val = ~0ull;
		return;
	}
	if (offset >= 0x100 && offset < port_off(AHCI_PORTS, 0)) {
		u32 p = (u32)((offset - 0x100) / 0x80);
		if (hba.pi & (1u << p)) {
			port_access(p, (u32)((offset - 0x100) % 0x80), write, val);
			return;
		}
	}
	if (!write) {
		*val = rd(offset);
		if (offset == HBA_IS)
			for (u32 p = 0; p < AHCI_PORTS; p++)
				if (hba.port[p].v_is)
					*val |= 1u << p;
		return;
	}
	wr(offset, (u32)*val);
	if (offset == HBA_GHC && (*val & GHC_HR)) {
		/* HBA reset: the lists go back to defaults; give it ours again. */
		wait_clear(HBA_GHC, GHC_HR);
		wr(HBA_GHC, rd(HBA_GHC) | GHC_AE);
		for (u32 p = 0; p < AHCI_PORTS; p++)
			if (hba.pi & (1u << p))
				program_lists(p);
	}
}

static void probe_port(u32 p)
{
	struct ahci_port *pt = &hba.port[p];
	u16 *id = (u16 *)pt->bounce;
	u8 f[20];

	tv_snprintf(pt->name, sizeof(pt->name), "ahci%u", p);
	pt->g_clb = (u64)rd(port_off(p, PX_CLBU)) << 32 | rd(port_off(p, PX_CLB));
	pt->g_fb = (u64)rd(port_off(p, PX_FBU)) << 32 | rd(port_off(p, PX_FB));
	program_lists(p);
	if ((rd(port_off(p, PX_SSTS)) & 0xF) != 3)
		return;
	pt->present = true;
	pt->atapi = rd(port_off(p, PX_SIG)) == 0xEB140101u;
	if (pt->atapi) {
		log_info("storage: %s is a packet device (passes through, not encrypted)\n", pt->name);
		return;
	}
	/* IDENTIFY through our own slot, with the port running. */
	u32 cmd = rd(port_off(p, PX_CMD));
	wr(port_off(p, PX_CMD), cmd | CMD_FRE);
	wr(port_off(p, PX_CMD), cmd | CMD_FRE | CMD_ST);
	memset(f, 0, sizeof(f));
	f[0] = 0x27;
	f[1] = 0x80;
	f[2] = 0xEC;
	struct sg_entry b = { pt->bounce_pa, 512 };
	s64 got = hw_cmd(p, f, NULL, &b, 1, 512, false);
	wr(port_off(p, PX_IS), ~0u);
	wr(port_off(p, PX_CMD), cmd & ~CMD_ST);
	wait_clear(port_off(p, PX_CMD), CMD_CR);
	wr(port_off(p, PX_CMD), cmd);
	if (got < 512) {
		log_warn("storage: %s: IDENTIFY failed: the port is not mediated\n", pt->name);
		pt->present = false;
		return;
	}
	pt->lba48 = id[83] & (1u << 10);
	pt->sectors = pt->lba48 ? (u64)id[100] | (u64)id[101] << 16 | (u64)id[102] << 32 | (u64)id[103] << 48
				: (u64)id[60] | (u64)id[61] << 16;
	storage_disk_found(pt->name, pt->sectors);
}

bool ahci_attach(const struct pci_dev *pd)
{
	u32 bar = pci_read32(pd, 0x24);

	if (hba.used || (bar & 1) || (bar & 0x6) || !(bar & ~0xFu)) {
		log_warn("storage: AHCI controller %02x:%02x.%u cannot be mediated (second HBA or ABAR %x)\n",
			 pd->bus, pd->dev, pd->fn, bar);
		return false;
	}
	hba.used = true;
	hba.pci = pd;
	hba.abar = bar & ~0xFu;
	hba.size = 0x1000;
	pci_write32(pd, 0x04, pci_read32(pd, 0x04) | 0x6);	/* memory space, bus master */
	wr(HBA_GHC, rd(HBA_GHC) | GHC_AE);
	hba.pi = rd(HBA_PI);
	u32 np = (rd(HBA_CAP) & 0x1F) + 1;
	hba.size = ALIGN_UP(port_off(np, 0), 0x1000);
	log_info("storage: AHCI controller %02x:%02x.%u, ABAR %lx, %u ports\n", pd->bus, pd->dev, pd->fn,
		 hba.abar, np);
	for (u32 p = 0; p < AHCI_PORTS; p++) {
		if (!(hba.pi & (1u << p)))
			continue;
		struct ahci_port *pt = &hba.port[p];
		u64 pa = hv_dma_alloc(2 + AHCI_BOUNCE_SECTORS * SECTOR_SIZE / 4096, "AHCI buffers");
		pt->clb_pa = pa;
		pt->ct_pa = pa + 4096;
		pt->bounce_pa = pa + 8192;
		pt->clb = pool_va(&hv.pool, pt->clb_pa);
		pt->ct = pool_va(&hv.pool, pt->ct_pa);
		pt->bounce = pool_va(&hv.pool, pt->bounce_pa);
		probe_port(p);
	}
	if (mmio_claim(hba.abar, hba.size, MMIO_AHCI, 0))
		panic("cannot trap the AHCI registers at %lx\n", hba.abar);
	return true;
}

/* The guest moved ABAR (and decodes memory there): the trap moves with it. */
void ahci_bar_moved(u32 bar)
{
	u64 abar = bar & ~0xFu;

	if (!hba.used || abar == hba.abar || !abar || (bar & 1))
		return;
	if (mmio_move(MMIO_AHCI, 0, abar))
		panic("cannot move the AHCI trap to %lx\n", abar);
	log_info("storage: AHCI registers moved to %lx\n", abar);
	hba.abar = abar;
}
