/* SPDX-License-Identifier: MIT */
/*
 * A small polling IDE (PIIX) driver for the storage test guests: PCI
 * discovery, IDENTIFY, PIO (16/32-bit, rep or one at a time, READ/WRITE
 * SECTORS (EXT) and MULTIPLE (EXT)) and bus-master DMA with caller-built
 * PRD tables.  Interrupts stay off: every wait polls, and every wait is
 * bounded by the RTC (a timeout is reported, never a hang).  Commands
 * return the final ATA status, error register and BM status so tests can
 * assert refusals as well as successes.
 *
 * Also: a bump allocator over free guest RAM, pattern fill/verify helpers
 * (tests/guests/lib/pattern.h) and scatter lists.
 */
#ifndef TG_IDE_H
#define TG_IDE_H

#include "tg.h"
#include "pattern.h"

/* ---- port I/O the base library does not have ---- */
static inline uint16_t ide_inw(uint16_t port)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void ide_outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint32_t ide_inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline void ide_insw(uint16_t port, void *buf, uint32_t n)
{
	__asm__ volatile("rep insw" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline void ide_outsw(uint16_t port, const void *buf, uint32_t n)
{
	__asm__ volatile("rep outsw" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline void ide_insl(uint16_t port, void *buf, uint32_t n)
{
	__asm__ volatile("rep insl" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}
static inline void ide_outsl(uint16_t port, const void *buf, uint32_t n)
{
	__asm__ volatile("rep outsl" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

/* ---- ATA ---- */
#define ATA_SR_BSY   0x80
#define ATA_SR_DRDY  0x40
#define ATA_SR_DF    0x20
#define ATA_SR_DSC   0x10
#define ATA_SR_DRQ   0x08
#define ATA_SR_ERR   0x01
#define ATA_ER_ABRT  0x04
#define ATA_DC_NIEN  0x02
#define ATA_DC_SRST  0x04

#define ATA_CMD_DSM              0x06
#define ATA_CMD_READ             0x20
#define ATA_CMD_READ_ONCE        0x21 /* obsolete "without retry" */
#define ATA_CMD_READ_EXT         0x24
#define ATA_CMD_READ_DMA_EXT     0x25
#define ATA_CMD_READ_DMA_Q_EXT   0x26
#define ATA_CMD_READ_MULT_EXT    0x29
#define ATA_CMD_WRITE            0x30
#define ATA_CMD_WRITE_ONCE       0x31
#define ATA_CMD_WRITE_EXT        0x34
#define ATA_CMD_WRITE_DMA_EXT    0x35
#define ATA_CMD_WRITE_DMA_Q_EXT  0x36
#define ATA_CMD_CFA_WRITE_NE     0x38
#define ATA_CMD_WRITE_MULT_EXT   0x39
#define ATA_CMD_WRITE_VERIFY     0x3C
#define ATA_CMD_WRITE_DMA_FUA    0x3D
#define ATA_CMD_WRITE_LOG_EXT    0x3F
#define ATA_CMD_VERIFY           0x40
#define ATA_CMD_WRITE_LOG_DMA    0x57
#define ATA_CMD_READ_FPDMA       0x60
#define ATA_CMD_WRITE_FPDMA      0x61
#define ATA_CMD_VENDOR_8F        0x8F
#define ATA_CMD_DOWNLOAD_MICRO   0x92
#define ATA_CMD_DOWNLOAD_MICRO_DMA 0x93
#define ATA_CMD_READ_MULT        0xC4
#define ATA_CMD_WRITE_MULT       0xC5
#define ATA_CMD_SET_MULT         0xC6
#define ATA_CMD_READ_DMA_Q       0xC7
#define ATA_CMD_READ_DMA         0xC8
#define ATA_CMD_READ_DMA_ONCE    0xC9
#define ATA_CMD_WRITE_DMA        0xCA
#define ATA_CMD_WRITE_DMA_ONCE   0xCB
#define ATA_CMD_WRITE_DMA_Q      0xCC
#define ATA_CMD_CFA_WRITE_MULT_NE 0xCD
#define ATA_CMD_WRITE_MULT_FUA   0xCE
#define ATA_CMD_FLUSH            0xE7
#define ATA_CMD_FLUSH_EXT        0xEA
#define ATA_CMD_IDENTIFY         0xEC
#define ATA_CMD_SET_FEATURES     0xEF
#define ATA_CMD_SEC_SET_PASS     0xF1
#define ATA_CMD_SEC_UNLOCK       0xF2
#define ATA_CMD_SEC_ERASE_PREP   0xF3
#define ATA_CMD_SEC_ERASE_UNIT   0xF4
#define ATA_CMD_SEC_FREEZE       0xF5
#define ATA_CMD_SEC_DISABLE      0xF6

/* ---- bus master (PIIX) ---- */
#define BM_CMD       0
#define BM_STATUS    2
#define BM_PRDT      4
#define BM_CMD_START 0x01
#define BM_CMD_READ  0x08 /* device -> memory */
#define BM_ST_ACTIVE 0x01
#define BM_ST_ERR    0x02
#define BM_ST_INTR   0x04

struct ide_prd {
	uint32_t addr;
	uint16_t count; /* bytes, 0 = 64 KiB */
	uint16_t flags; /* bit 15: end of table */
} __attribute__((packed));
#define PRD_EOT 0x8000

struct ide_pci {
	uint8_t bus, dev, fn, progif;
	uint16_t vendor, device;
	uint16_t bm;	 /* bus-master I/O base (BAR4) */
	uint16_t io[2], ctl[2];
};

struct ide_drive {
	int channel, slave;
	uint16_t io, ctl, bm;
	uint64_t sectors;
	int lba48, max_mult, mult;
	char model[41];
	uint16_t id[256];
};

struct ide_res {
	uint8_t status, error, bm_status;
	uint8_t timeout;  /* 1: something timed out (see what) */
	uint8_t protocol; /* 1: the device broke the protocol (no DRQ, DRQ left over) */
	uint32_t done;	  /* sectors moved (PIO) */
	const char *what; /* the failure, or NULL */
};

extern struct ide_pci ide_pci;

/* Find the controller (class 01:01), enable I/O + bus mastering, fill
 * ide_pci; fail() the test if there is none. */
void ide_pci_init(void);
/* Config space of the IDE function (dword access). */
uint32_t ide_pci_read(uint8_t off);
/* PCI configuration through ports 0xCF8/0xCFC, and a search by class code
 * ((class << 16 | subclass << 8 | prog-if) & mask == cls): 1 if found. */
uint32_t pci_read(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off);
void pci_write(uint8_t bus, uint8_t dev, uint8_t fn, uint8_t off, uint32_t v);
int pci_find_class(uint32_t cls, uint32_t mask, uint8_t *bus, uint8_t *dev, uint8_t *fn);
void ide_pci_write(uint8_t off, uint32_t v);
/* Set up drive (channel, slave), IDENTIFY it and print it; fail() if absent. */
void ide_setup(struct ide_drive *d, int channel, int slave);
/* SRST on the drive's channel; returns the status afterwards. */
uint8_t ide_soft_reset(struct ide_drive *d);

/* PIO transfer widths. */
enum ide_xfer {
	XFER_REP16,  /* rep insw/outsw per block */
	XFER_WORD16, /* inw/outw one word at a time */
	XFER_REP32,  /* rep insl/outsl per block */
	XFER_DWORD32,/* inl/outl one dword at a time */
	XFER_MIXED,  /* every sector: words, dwords, rep words, rep dwords */
};
const char *ide_xfer_name(enum ide_xfer x);

/* Is cmd a 48-bit command?  Does it write to the disk? */
int ide_cmd_is_ext(uint8_t cmd);
int ide_cmd_is_write(uint8_t cmd);

/*
 * PIO data command: READ/WRITE SECTORS (EXT) (1 sector per DRQ block) or
 * READ/WRITE MULTIPLE (EXT) (d->mult sectors per block) or any other
 * opcode treated like READ/WRITE SECTORS (block = 1; direction from flags).
 * count 1..256 (LBA28) or 1..65536 (EXT); 256/65536 are sent as 0.
 */
#define IDE_F_WRITE     0x01 /* data goes to the device (for unknown opcodes) */
#define IDE_F_MULT      0x02 /* DRQ blocks of d->mult sectors (for unknown opcodes) */
struct ide_pio_hooks {
	uint16_t feature; /* features register value (default 0) */
	/* fn is called after `after_sectors` sectors have moved (0 = never) */
	uint32_t after_sectors;
	void (*fn)(struct ide_drive *d, void *arg);
	void *arg;
};
struct ide_res ide_pio(struct ide_drive *d, uint8_t cmd, uint64_t lba, uint32_t count,
		       void *buf, enum ide_xfer x, unsigned flags, const struct ide_pio_hooks *h);

/*
 * Bus-master DMA command.  prdt: physical address of the PRD table (the
 * caller builds it).  The BM direction bit is set from the command
 * (IDE_F_WRITE for unknown opcodes) unless IDE_F_BMDIR_READ/WRITE
 * override it.  Hooks run between the command and BM start, and right
 * after BM start.
 */
#define IDE_F_BMDIR_READ   0x10 /* force BM_CMD_READ */
#define IDE_F_BMDIR_WRITE  0x20 /* force no BM_CMD_READ */
#define IDE_F_RAW_TF       0x40 /* the caller has selected the drive and written
				 * the taskfile itself: only the command is sent */
struct ide_dma_hooks {
	void (*after_cmd)(struct ide_drive *d, void *arg);
	void (*after_start)(struct ide_drive *d, void *arg);
	void *arg;
};
struct ide_res ide_dma(struct ide_drive *d, uint8_t cmd, uint16_t feature, uint64_t lba,
		       uint32_t count, uint32_t prdt, unsigned flags,
		       const struct ide_dma_hooks *h);

/* Non-data command (or a data command we will not feed: if the device
 * asks for data, the result has protocol = 1 and the channel is reset). */
struct ide_res ide_nondata(struct ide_drive *d, uint8_t cmd, uint16_t feature, uint32_t count,
			   uint64_t lba);

/* Select the drive (LBA28 bits 24..27 in hi4) and wait until it is idle;
 * 0, or -1 if it stays busy. */
int ide_select(struct ide_drive *d, uint8_t hi4);
/* Write the taskfile (LBA, count, feature, device) without a command. */
void ide_taskfile(struct ide_drive *d, int ext, uint16_t feature, uint64_t lba, uint32_t count);

/* Result helpers: clean success (DMA: also BM interrupt, no BM error, not
 * active); refused (ATA ERR with ABRT, or BM error; no DRQ left). */
int ide_ok(const struct ide_res *r, int dma);
int ide_refused(const struct ide_res *r);
/* "status 50 error 00 bm 04" (+ timeout/protocol notes), static buffer. */
const char *ide_res_str(const struct ide_res *r);

/* ---- PRD tables ---- */
/* Set entry i (bytes 1..65536, even; 65536 is stored as 0). */
void prd_set(struct ide_prd *t, int i, uint32_t addr, uint32_t bytes, int eot);
/* Scatter list: the transfer's byte stream is the segments in order. */
struct sg {
	uint32_t addr, len;
};
/* PRD table for a scatter list (each segment must not cross 64 KiB);
 * returns the number of entries, last one EOT. */
int prd_from_sg(struct ide_prd *t, const struct sg *sg, int n);
/* Split [addr, addr+bytes) into segments of at most maxseg bytes that do
 * not cross a 64 KiB boundary; returns the number of segments. */
int sg_split(struct sg *sg, int max, uint32_t addr, uint32_t bytes, uint32_t maxseg);
void sg_scatter(const struct sg *sg, int n, const void *src);
void sg_gather(const struct sg *sg, int n, void *dst);

/* ---- memory ---- */
/* Bump allocator over free RAM (not the image, modules, multiboot data,
 * nor [avoid_base, +avoid_size)); fail() when out of memory. */
void mem_init(uint64_t avoid_base, uint64_t avoid_size);
void *mem_alloc(uint32_t size, uint32_t align);
/* Highest end of any memory-map entry below 3.5 GiB (the top of RAM). */
uint64_t mem_top(void);

/* ---- data ---- */
void pat_fill(void *buf, uint64_t lba, uint32_t count, uint32_t seed);
/* Number of sectors that differ; prints the first one (with what it holds). */
uint32_t pat_verify(const void *buf, uint64_t lba, uint32_t count, uint32_t seed,
		    const char *what);
/* Does any sector of buf hold the pattern of (lba+i, seed)? (count of them) */
uint32_t pat_count_matches(const void *buf, uint64_t lba, uint32_t count, uint32_t seed);
void fill32(void *buf, uint32_t bytes, uint32_t v);
int is_fill32(const void *buf, uint32_t bytes, uint32_t v);
void copy32(void *dst, const void *src, uint32_t bytes);

/* ---- time ---- */
/* Seconds-resolution deadline from the RTC (CMOS). */
struct deadline {
	uint8_t last;
	uint32_t left, n;
};
void deadline_start(struct deadline *t, uint32_t seconds);
int deadline_passed(struct deadline *t);
extern uint32_t ide_timeout_s; /* per-command timeout, default 60 */


/* ---- test helpers shared by the ide_* guests ---- */
#ifndef TG_IDE_HELPERS
#define TG_IDE_HELPERS
extern struct ide_prd *ide_prdt; /* 64 KiB-aligned table of 8192 entries */
extern uint8_t *ide_stage;	 /* staging buffer for scatter lists */
extern uint32_t ide_stage_size;
/* Allocate ide_prdt and a staging buffer of stage_bytes (after mem_init). */
void ide_bufs_init(uint32_t stage_bytes);
#define SENTINEL 0xA5A5A5A5u
/* Pattern (lba, seed) into the segments, then a DMA write through them. */
struct ide_res dma_write_sg(struct ide_drive *d, uint8_t cmd, uint64_t lba, uint32_t count,
			    uint32_t seed, const struct sg *sg, int n);
/* Segments filled with SENTINEL, DMA read, gathered into ide_stage and
 * compared with the pattern: *bad = differing sectors (count if the
 * command failed). */
struct ide_res dma_read_sg(struct ide_drive *d, uint8_t cmd, uint64_t lba, uint32_t count,
			   uint32_t seed, const struct sg *sg, int n, uint32_t *bad,
			   const char *what);
/* One contiguous buffer split into segments of at most maxseg bytes. */
int sg_simple(struct sg *sg, int max, void *buf, uint32_t bytes, uint32_t maxseg);
/* "DISK FIRST COUNT SEED EXPECT": what the runner should find on disk. */
void disk_note(uint64_t first, uint32_t count, uint32_t seed, const char *expect);
/* Parse the numbers "A:B:C" (or "A,B,C"; QEMU's -initrd splits at commas)
 * of argument key=...; returns how many were parsed. */
int arg_numbers(const char *key, uint64_t *v, int max);
#endif

#endif
