/* SPDX-License-Identifier: MIT */
/* Polling NVMe driver for the storage test guests: see nvme.h. */
#include "nvme.h"
#include "smp.h"

static uint64_t *lib_list; /* 2 pages */


static uint32_t rd(struct nvme *n, uint32_t off)
{
	return *(volatile uint32_t *)(n->bar + off);
}
static void wr(struct nvme *n, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(n->bar + off) = v;
}

static int wait_rdy(struct nvme *n, uint32_t want)
{
	struct deadline t;
	deadline_start(&t, 10);
	while ((rd(n, 0x1C) & 1) != want)
		if (deadline_passed(&t))
			return -1;
	return 0;
}

static void q_alloc(struct nvme_q *q, uint16_t qid)
{
	q->sq = mem_alloc(64 * NVME_QN, 4096);
	q->cq = mem_alloc(16 * NVME_QN, 4096);
	memset(q->sq, 0, 64 * NVME_QN);
	memset(q->cq, 0, 16 * NVME_QN);
	q->tail = q->head = 0;
	q->phase = 1;
	q->qid = qid;
}

uint32_t nvme_ring_delay_ms;

uint16_t nvme_submit(struct nvme *n, struct nvme_q *q, struct nvme_sqe *e, uint32_t *dw0)
{
	uint16_t cid = ++n->cid;
	e->cdw0 = (e->cdw0 & 0xFFFF) | (uint32_t)cid << 16;
	memcpy(q->sq + 64u * q->tail, e, 64);
	q->tail = (uint16_t)((q->tail + 1) % NVME_QN);
	__asm__ volatile("" ::: "memory");
	if (nvme_ring_delay_ms)
		smp_delay_ms(nvme_ring_delay_ms);
	wr(n, 0x1000 + (2u * q->qid) * n->dstrd, q->tail);
	struct deadline t;
	deadline_start(&t, ide_timeout_s);
	n->timeout = 0;
	for (;;) {
		volatile uint32_t *c = (volatile uint32_t *)(q->cq + 16u * q->head);
		uint32_t d3 = c[3];
		if (((d3 >> 16) & 1) == q->phase) {
			uint32_t d0 = c[0];
			if (++q->head == NVME_QN) {
				q->head = 0;
				q->phase ^= 1;
			}
			wr(n, 0x1000 + (2u * q->qid + 1) * n->dstrd, q->head);
			if ((uint16_t)d3 != cid) {
				printf("  nvme: completion for cid %u while waiting for %u\n",
				       (uint16_t)d3, cid);
				continue;
			}
			if (dw0)
				*dw0 = d0;
			return (uint16_t)((d3 >> 17) & 0x7FF);
		}
		if (deadline_passed(&t)) {
			n->timeout = 1;
			return NVME_TIMEOUT;
		}
	}
}

uint32_t nvme_prps(uint32_t buf, uint32_t bytes, uint64_t *list_mem, uint32_t list_off,
		   uint64_t *prp1, uint64_t *prp2)
{
	*prp1 = buf;
	*prp2 = 0;
	uint32_t first = 4096 - (buf & 0xFFF);
	if (bytes <= first)
		return 0;
	uint32_t left = bytes - first, pg = buf + first;
	if (left <= 4096) {
		*prp2 = pg;
		return 0;
	}
	uint32_t la = (uint32_t)(uintptr_t)list_mem + list_off, cnt = 0;
	*prp2 = la;
	while (left) {
		uint64_t *slot = (uint64_t *)(uintptr_t)la;
		if (((la + 8) & 0xFFF) == 0 && left > 4096) {
			uint32_t next = la + 8; /* the next list page follows */
			*slot = next;
			la = next;
			cnt++;
			continue;
		}
		*slot = pg;
		cnt++;
		pg += 4096;
		left = left > 4096 ? left - 4096 : 0;
		la += 8;
	}
	return cnt;
}

void nvme_sqe_rw(struct nvme_sqe *e, uint8_t opc, uint64_t slba, uint32_t nlb, uint64_t prp1,
		 uint64_t prp2)
{
	memset(e, 0, sizeof(*e));
	e->cdw0 = opc;
	e->nsid = 1;
	e->prp1[0] = (uint32_t)prp1, e->prp1[1] = (uint32_t)(prp1 >> 32);
	e->prp2[0] = (uint32_t)prp2, e->prp2[1] = (uint32_t)(prp2 >> 32);
	e->cdw10 = (uint32_t)slba;
	e->cdw11 = (uint32_t)(slba >> 32);
	e->cdw12 = nlb - 1;
}

uint16_t nvme_rw(struct nvme *n, uint8_t opc, uint64_t slba, uint32_t nlb, void *buf,
		 uint64_t *list, uint32_t list_off)
{
	uint64_t p1, p2;
	struct nvme_sqe e;
	if (!list)
		list = lib_list, list_off = 0;
	nvme_prps((uint32_t)(uintptr_t)buf, nlb * n->lba_size, list, list_off, &p1, &p2);
	nvme_sqe_rw(&e, opc, slba, nlb, p1, p2);
	return nvme_io(n, &e, NULL);
}

void nvme_init(struct nvme *n)
{
	memset(n, 0, sizeof(*n));
	int found = pci_find_class(0x010802, 0xFFFFFF, &n->bus, &n->dev, &n->fn);
	if (!found)
		fail(test_name, "no NVMe controller (class 01:08:02)");
	uint32_t lo = pci_read(n->bus, n->dev, n->fn, 0x10), hi = 0;
	if ((lo & 6) == 4)
		hi = pci_read(n->bus, n->dev, n->fn, 0x14);
	if ((lo & 1) || hi || !(lo & ~0xFu))
		fail(test_name, "NVMe BAR0 %08x:%08x not usable (must be memory below 4 GiB)", hi,
		     lo);
	n->bar = (volatile uint8_t *)(uintptr_t)(lo & ~0xFu);
	uint32_t cmd = pci_read(n->bus, n->dev, n->fn, 4);
	pci_write(n->bus, n->dev, n->fn, 4, (cmd & 0xFFFF) | 0x6);
	uint32_t caphi = rd(n, 4);
	n->dstrd = 4u << (caphi & 0xF);

	wr(n, 0x14, 0);
	if (wait_rdy(n, 0))
		fail(test_name, "NVMe CSTS.RDY stays 1 after CC.EN=0");
	q_alloc(&n->aq, 0);
	n->idbuf = mem_alloc(4096, 4096);
	lib_list = mem_alloc(8192, 4096);
	wr(n, 0x24, (NVME_QN - 1) << 16 | (NVME_QN - 1));
	wr(n, 0x28, (uint32_t)(uintptr_t)n->aq.sq);
	wr(n, 0x2C, 0);
	wr(n, 0x30, (uint32_t)(uintptr_t)n->aq.cq);
	wr(n, 0x34, 0);
	wr(n, 0x14, 4u << 20 | 6u << 16 | 1u);
	if (wait_rdy(n, 1))
		fail(test_name, "NVMe CSTS.RDY stays 0 after CC.EN=1 (CSTS %08x)", rd(n, 0x1C));

	struct nvme_sqe e;
	uint16_t st;
	/* Identify controller: MDTS. */
	memset(&e, 0, sizeof(e));
	e.cdw0 = 0x06;
	e.prp1[0] = (uint32_t)(uintptr_t)n->idbuf;
	e.cdw10 = 1;
	if ((st = nvme_admin(n, &e, NULL)))
		fail(test_name, "NVMe Identify controller: %s", nvme_st_str(st));
	uint8_t mdts = n->idbuf[77];
	uint32_t mpsmin = 4096u << ((rd(n, 4) >> 16) & 0xF);
	n->mdts_bytes = mdts ? mpsmin << mdts : 0;
	/* Identify namespace 1. */
	memset(&e, 0, sizeof(e));
	e.cdw0 = 0x06;
	e.nsid = 1;
	e.prp1[0] = (uint32_t)(uintptr_t)n->idbuf;
	e.cdw10 = 0;
	if ((st = nvme_admin(n, &e, NULL)))
		fail(test_name, "NVMe Identify namespace 1: %s", nvme_st_str(st));
	memcpy(&n->nsze, n->idbuf, 8);
	uint8_t flbas = n->idbuf[26] & 0xF;
	uint32_t lbaf;
	memcpy(&lbaf, n->idbuf + 128 + 4 * flbas, 4);
	n->lba_shift = (lbaf >> 16) & 0xFF;
	n->lba_size = 1u << n->lba_shift;
	/* I/O queues 1: CQ (physically contiguous, no interrupts), then SQ. */
	q_alloc(&n->ioq, 1);
	memset(&e, 0, sizeof(e));
	e.cdw0 = 0x05;
	e.prp1[0] = (uint32_t)(uintptr_t)n->ioq.cq;
	e.cdw10 = (uint32_t)(NVME_QN - 1) << 16 | 1;
	e.cdw11 = 1; /* PC, IEN = 0 */
	if ((st = nvme_admin(n, &e, NULL)))
		fail(test_name, "NVMe Create I/O CQ: %s", nvme_st_str(st));
	memset(&e, 0, sizeof(e));
	e.cdw0 = 0x01;
	e.prp1[0] = (uint32_t)(uintptr_t)n->ioq.sq;
	e.cdw10 = (uint32_t)(NVME_QN - 1) << 16 | 1;
	e.cdw11 = 1u << 16 | 1; /* CQ 1, PC */
	if ((st = nvme_admin(n, &e, NULL)))
		fail(test_name, "NVMe Create I/O SQ: %s", nvme_st_str(st));
	printf("nvme: %02x:%02x.%u BAR0 %08x, DSTRD %u, ns 1: %llu blocks of %u bytes, MDTS %u bytes\n",
	       n->bus, n->dev, n->fn, (uint32_t)(uintptr_t)n->bar, n->dstrd, n->nsze, n->lba_size,
	       n->mdts_bytes);
}

const char *nvme_st_str(uint16_t st)
{
	static char b[48];
	if (st == NVME_TIMEOUT)
		return "TIMEOUT";
	snprintf(b, sizeof(b), "status %03x (SCT %u SC %02x)", st, (st >> 8) & 7, st & 0xFF);
	return b;
}
