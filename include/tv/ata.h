/* ATA command decoding and bus-master PRD tables (pure; dev/ata_cmd.c). */
#ifndef TV_ATA_H
#define TV_ATA_H

#include "tv/physmem.h"

enum ata_kind {
	ATA_REFUSE,	/* could move data we cannot encrypt, or unknown */
	ATA_NONDATA,	/* no data phase: passes through */
	ATA_INFO_IN,	/* PIO data-in of device information (IDENTIFY...): passes through */
	ATA_PIO_IN,	/* medium data, PIO */
	ATA_PIO_OUT,
	ATA_DMA_IN,	/* medium data, bus-master DMA */
	ATA_DMA_OUT,
	ATA_PACKET,	/* ATAPI: only for packet devices */
};

struct ata_cmd_info {
	u8 kind;
	bool lba48;
	bool multiple;	/* DRQ blocks of the SET MULTIPLE size */
};

struct ata_cmd_info ata_classify(u8 cmd);

/* Taskfile shadow: registers 1-5 (features, count, LBA low/mid/high), current and previous. */
struct ata_tf {
	u8 cur[6], prev[6];
	u8 device;
};

/* LBA and sector count of a command; false for CHS addressing (unsupported). */
bool ata_tf_lba(const struct ata_tf *tf, bool lba48, u64 *lba, u32 *count);

struct sg_entry {
	u64 pa;
	u32 len;
};

/* Where guest DMA may go: RAM below ram_top, never the hypervisor region. */
struct dma_limits {
	u64 hv_base, hv_size, ram_top;
};

#define PRD_MAX 8192

/*
 * Read a guest PRD table (8-byte entries: base, byte count with 0 meaning
 * 64 KiB, bit 15 of the flags word ending the table).  Returns the number
 * of entries and their total in *total, or -EINVAL for a table without end
 * or with an odd base, -EFAULT for a table or buffer the limits forbid.
 */
int prd_parse(const struct physmem *pm, u64 prdt_pa, const struct dma_limits *lim,
	      struct sg_entry *sg, u32 max, u64 *total);

/*
 * Fill a bus-master PRD table for the first 'bytes' of a scatter list:
 * entries of at most 64 KiB that never cross a 64 KiB boundary, the last
 * one marked.  Returns the number of entries, -ENOMEM if more than
 * max_entries are needed, -EINVAL if the list is shorter than 'bytes' or
 * reaches above 4 GiB or has an odd address.
 */
int prd_build(u8 *table, u32 max_entries, const struct sg_entry *sg, u32 nsg, u64 bytes);

/*
 * An AHCI command table's PRDT (16-byte entries: 64-bit base, byte count
 * minus one in bits 0-21) as a scatter list.  Returns the number of entries,
 * -EFAULT if the table or a buffer is outside the limits, -EINVAL for more
 * than 'max' entries.
 */
int ahci_prdt_parse(const struct physmem *pm, u64 ctba, u32 prdtl, const struct dma_limits *lim,
		    struct sg_entry *sg, u32 max, u64 *total);

/*
 * An NVMe data pointer (PRP1, PRP2 or a chain of PRP list pages) covering
 * 'bytes' as a scatter list.  0 and *n entries, or -EFAULT for a misaligned
 * or forbidden pointer, or more than 'max' entries.
 */
int nvme_prp_walk(const struct physmem *pm, u64 prp1, u64 prp2, u64 bytes, const struct dma_limits *lim,
		  struct sg_entry *sg, u32 max, u32 *n);

/* Copy between a contiguous buffer and a scatter list, starting 'skip' bytes into the list. */
void sg_copy(const struct physmem *pm, const struct sg_entry *sg, u32 n, u64 skip, u8 *buf, u64 len,
	     bool to_sg);

#endif
