/* SPDX-License-Identifier: MIT */
/*
 * A minimal polling NVMe driver for the storage test guests (32-bit, no
 * paging, interrupts off): PCI discovery (class 01:08:02, BAR0 64-bit below
 * 4 GiB), controller reset and enable with our admin queues, Identify
 * namespace 1, one I/O queue pair (no interrupts), Read/Write with PRP1/PRP2
 * and PRP lists (chained across list pages), raw commands for attacks.
 * Every wait polls the completion queue phase bit, bounded by the RTC.
 */
#ifndef TG_NVME_H
#define TG_NVME_H

#include "ide.h"

#define NVME_QN 16	/* entries per queue */

struct nvme_sqe {
	uint32_t cdw0; /* opcode | flags << 8 | cid << 16 */
	uint32_t nsid;
	uint32_t rsvd[2];
	uint32_t mptr[2];
	uint32_t prp1[2], prp2[2];
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};

struct nvme_q {
	uint8_t *sq, *cq;
	uint16_t tail, head, phase, qid;
};

struct nvme {
	volatile uint8_t *bar;
	uint8_t bus, dev, fn;
	uint32_t dstrd;
	struct nvme_q aq, ioq;
	uint16_t cid;
	uint32_t lba_shift, lba_size;
	uint64_t nsze;
	uint32_t mdts_bytes; /* 0 = no limit */
	uint8_t *idbuf;	     /* 4 KiB */
	int timeout;	     /* the last command timed out */
};

/* Status field (SCT << 8 | SC); 0xFFFF = timeout. */
#define NVME_TIMEOUT 0xFFFFu

void nvme_init(struct nvme *n);
/* Submit sqe (cid filled in) on q and poll its completion; status, dw0.
 * nvme_ring_delay_ms: wait that long between the entry and the doorbell. */
extern uint32_t nvme_ring_delay_ms;
uint16_t nvme_submit(struct nvme *n, struct nvme_q *q, struct nvme_sqe *e, uint32_t *dw0);
static inline uint16_t nvme_admin(struct nvme *n, struct nvme_sqe *e, uint32_t *dw0)
{
	return nvme_submit(n, &n->aq, e, dw0);
}
static inline uint16_t nvme_io(struct nvme *n, struct nvme_sqe *e, uint32_t *dw0)
{
	return nvme_submit(n, &n->ioq, e, dw0);
}
/*
 * PRPs for the physically contiguous buffer [buf, +bytes) (buf dword
 * aligned): PRP1, and PRP2 = the second page or a PRP list built in
 * `list` (>= 2 pages, page aligned) starting at byte offset list_off of
 * its first page; when a list page fills, its last entry chains to the
 * next page.  Returns the number of list entries written.
 */
uint32_t nvme_prps(uint32_t buf, uint32_t bytes, uint64_t *list_mem, uint32_t list_off,
		   uint64_t *prp1, uint64_t *prp2);
/* Read (0x02) / Write (0x01) nlb blocks at slba from/to buf with PRPs built
 * in list (or NULL: a library list, offset 0). */
uint16_t nvme_rw(struct nvme *n, uint8_t opc, uint64_t slba, uint32_t nlb, void *buf,
		 uint64_t *list, uint32_t list_off);
void nvme_sqe_rw(struct nvme_sqe *e, uint8_t opc, uint64_t slba, uint32_t nlb, uint64_t prp1,
		 uint64_t prp2);
const char *nvme_st_str(uint16_t st);

#endif
