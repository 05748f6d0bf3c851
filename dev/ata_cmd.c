/* ATA command classification, taskfile decoding, PRD tables: pure, host-tested. */
#include "tv/ata.h"
#include "tv/lib.h"

struct ata_cmd_info ata_classify(u8 cmd)
{
	struct ata_cmd_info r = { ATA_REFUSE, false, false };

	switch (cmd) {
	case 0x20: case 0x21:			/* READ SECTORS */
		r.kind = ATA_PIO_IN; break;
	case 0x24:				/* READ SECTORS EXT */
		r.kind = ATA_PIO_IN; r.lba48 = true; break;
	case 0xC4:				/* READ MULTIPLE */
		r.kind = ATA_PIO_IN; r.multiple = true; break;
	case 0x29:				/* READ MULTIPLE EXT */
		r.kind = ATA_PIO_IN; r.lba48 = true; r.multiple = true; break;
	case 0x30: case 0x31:			/* WRITE SECTORS */
		r.kind = ATA_PIO_OUT; break;
	case 0x34:				/* WRITE SECTORS EXT */
		r.kind = ATA_PIO_OUT; r.lba48 = true; break;
	case 0xC5:				/* WRITE MULTIPLE */
		r.kind = ATA_PIO_OUT; r.multiple = true; break;
	case 0x39: case 0xCE:			/* WRITE MULTIPLE (FUA) EXT */
		r.kind = ATA_PIO_OUT; r.lba48 = true; r.multiple = true; break;
	case 0xC8: case 0xC9:			/* READ DMA */
		r.kind = ATA_DMA_IN; break;
	case 0x25:				/* READ DMA EXT */
		r.kind = ATA_DMA_IN; r.lba48 = true; break;
	case 0xCA: case 0xCB:			/* WRITE DMA */
		r.kind = ATA_DMA_OUT; break;
	case 0x35: case 0x3D:			/* WRITE DMA (FUA) EXT */
		r.kind = ATA_DMA_OUT; r.lba48 = true; break;
	case 0xEC:				/* IDENTIFY DEVICE */
	case 0xA1:				/* IDENTIFY PACKET DEVICE */
	case 0x2F:				/* READ LOG EXT */
	case 0xB0:				/* SMART (data-out subcommands are refused below) */
		r.kind = ATA_INFO_IN; break;
	case 0xA0:				/* PACKET */
		r.kind = ATA_PACKET; break;
	case 0x00:				/* NOP */
	case 0x08:				/* DEVICE RESET */
	case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: case 0x15: case 0x16: case 0x17:
	case 0x18: case 0x19: case 0x1A: case 0x1B: case 0x1C: case 0x1D: case 0x1E: case 0x1F:
						/* RECALIBRATE */
	case 0x27:				/* READ NATIVE MAX ADDRESS EXT */
	case 0x40: case 0x41: case 0x42:	/* READ VERIFY SECTORS (EXT) */
	case 0x70:				/* SEEK */
	case 0x90:				/* EXECUTE DEVICE DIAGNOSTIC */
	case 0x91:				/* INITIALIZE DEVICE PARAMETERS */
	case 0x94: case 0x95: case 0x96: case 0x97: case 0x98: case 0x99:
	case 0xE0: case 0xE1: case 0xE2: case 0xE3: case 0xE5: case 0xE6:
						/* power management */
	case 0xC6:				/* SET MULTIPLE MODE */
	case 0xE7: case 0xEA:			/* FLUSH CACHE (EXT) */
	case 0xEF:				/* SET FEATURES */
	case 0xF8:				/* READ NATIVE MAX ADDRESS */
	case 0xDA:				/* GET MEDIA STATUS */
		r.kind = ATA_NONDATA; break;
	default:
		break;
	}
	return r;
}

bool ata_tf_lba(const struct ata_tf *tf, bool lba48, u64 *lba, u32 *count)
{
	if (!(tf->device & 0x40))
		return false;	/* CHS */
	if (lba48) {
		*lba = (u64)tf->cur[3] | (u64)tf->cur[4] << 8 | (u64)tf->cur[5] << 16 |
		       (u64)tf->prev[3] << 24 | (u64)tf->prev[4] << 32 | (u64)tf->prev[5] << 40;
		*count = (u32)tf->cur[2] | (u32)tf->prev[2] << 8;
		if (*count == 0)
			*count = 65536;
	} else {
		*lba = (u64)tf->cur[3] | (u64)tf->cur[4] << 8 | (u64)tf->cur[5] << 16 |
		       (u64)(tf->device & 0x0F) << 24;
		*count = tf->cur[2] ? tf->cur[2] : 256;
	}
	return true;
}

static bool dma_ok(const struct dma_limits *lim, u64 pa, u64 len)
{
	return pa + len <= lim->ram_top && pa + len >= pa &&
	       !ranges_overlap(pa, len, lim->hv_base, lim->hv_size);
}

int prd_parse(const struct physmem *pm, u64 prdt_pa, const struct dma_limits *lim,
	      struct sg_entry *sg, u32 max, u64 *total)
{
	*total = 0;
	for (u32 i = 0; i < max && i < PRD_MAX; i++) {
		u64 e_pa = prdt_pa + 8ull * i;
		const u8 *e = e_pa >= prdt_pa && dma_ok(lim, e_pa, 8) ? phys_ptr(pm, e_pa, 8) : NULL;
		if (!e)	/* a table running past 2^64 does not go on at 0 */
			return -EFAULT;
		u32 base;
		u16 cnt, flags;
		memcpy(&base, e, 4);
		memcpy(&cnt, e + 4, 2);
		memcpy(&flags, e + 6, 2);
		u32 len = cnt ? cnt : 0x10000;
		if (base & 1)
			return -EINVAL;
		if (!dma_ok(lim, base, len))
			return -EFAULT;
		sg[i] = (struct sg_entry){ base, len };
		*total += len;
		if (flags & 0x8000)
			return (int)(i + 1);
	}
	return -EINVAL;
}

void sg_copy(const struct physmem *pm, const struct sg_entry *sg, u32 n, u64 skip, u8 *buf, u64 len,
	     bool to_sg)
{
	for (u32 i = 0; i < n && len; i++) {
		if (skip >= sg[i].len) {
			skip -= sg[i].len;
			continue;
		}
		u64 c = MIN(sg[i].len - skip, len);
		u8 *g = phys_ptr(pm, sg[i].pa + skip, c);
		if (g) {
			if (to_sg)
				memcpy(g, buf, c);
			else
				memcpy(buf, g, c);
		}
		buf += c;
		len -= c;
		skip = 0;
	}
}

int prd_build(u8 *table, u32 max_entries, const struct sg_entry *sg, u32 nsg, u64 bytes)
{
	u32 n = 0;

	for (u32 i = 0; i < nsg && bytes; i++) {
		u64 pa = sg[i].pa, len = MIN((u64)sg[i].len, bytes);
		if ((pa & 1) || pa + len < pa || pa + len > (1ull << 32))
			return -EINVAL;
		bytes -= len;
		while (len) {
			u64 piece = MIN(len, 0x10000 - (pa & 0xFFFF));
			if (n == max_entries)
				return -ENOMEM;
			u32 e[2] = { (u32)pa, (u32)piece & 0xFFFF };
			memcpy(table + 8 * n++, e, 8);
			pa += piece;
			len -= piece;
		}
	}
	if (bytes || n == 0)
		return -EINVAL;
	table[8 * (n - 1) + 7] |= 0x80;	/* end of table */
	return (int)n;
}

int ahci_prdt_parse(const struct physmem *pm, u64 ctba, u32 prdtl, const struct dma_limits *lim,
		    struct sg_entry *sg, u32 max, u64 *total)
{
	*total = 0;
	if (prdtl > max)
		return -EINVAL;
	if (!dma_ok(lim, ctba + 0x80, 16ull * prdtl))
		return -EFAULT;
	const u8 *e = phys_ptr(pm, ctba + 0x80, 16ull * prdtl);
	if (!e && prdtl)
		return -EFAULT;
	for (u32 i = 0; i < prdtl; i++, e += 16) {
		u64 dba;
		u32 dbc;
		memcpy(&dba, e, 8);
		memcpy(&dbc, e + 12, 4);
		u32 len = (dbc & 0x3FFFFF) + 1;
		if ((dba & 1) || !dma_ok(lim, dba, len))
			return -EFAULT;
		sg[i] = (struct sg_entry){ dba, len };
		*total += len;
	}
	return (int)prdtl;
}

int nvme_prp_walk(const struct physmem *pm, u64 prp1, u64 prp2, u64 bytes, const struct dma_limits *lim,
		  struct sg_entry *sg, u32 max, u32 *n)
{
	*n = 0;
	if (!bytes)
		return 0;
	u64 first = MIN(bytes, 4096 - (prp1 & 0xFFF));
	if ((prp1 & 3) || !max || !dma_ok(lim, prp1, first))
		return -EFAULT;
	sg[(*n)++] = (struct sg_entry){ prp1, (u32)first };
	bytes -= first;
	if (!bytes)
		return 0;
	if (bytes <= 4096) {	/* PRP2 is the second page itself */
		if ((prp2 & 0xFFF) || *n == max || !dma_ok(lim, prp2, bytes))
			return -EFAULT;
		sg[(*n)++] = (struct sg_entry){ prp2, (u32)bytes };
		return 0;
	}
	u64 list = prp2;	/* PRP2 points into a list of page pointers */
	while (bytes) {
		const u64 *l = (list & 7) || !dma_ok(lim, list, 8) ? NULL : phys_ptr(pm, list, 8);
		if (!l)
			return -EFAULT;
		u64 pg;
		memcpy(&pg, l, 8);
		if (((list + 8) & 0xFFF) == 0 && bytes > 4096) {	/* last slot: next list page */
			/*
			 * Offset 0, as for every entry of a list: each list page
			 * then holds 511 data pointers, so even a cycle of pages
			 * ends the walk (a last slot aimed at a last slot did not).
			 */
			if (pg & 0xFFF)
				return -EFAULT;
			list = pg;
			continue;
		}
		u64 len = MIN(bytes, 4096ull);
		if ((pg & 0xFFF) || *n == max || !dma_ok(lim, pg, len))
			return -EFAULT;
		sg[(*n)++] = (struct sg_entry){ pg, (u32)len };
		bytes -= len;
		list += 8;
	}
	return 0;
}
