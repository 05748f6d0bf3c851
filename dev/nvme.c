/*
 * NVMe mediation (PCI class 01:08:02).
 *
 * The controller's registers and doorbells (the first two pages of BAR0)
 * are trapped.  The controller only ever sees thinvisor's own admin and I/O
 * queues, one per guest queue with the same identifier, size, interrupt
 * vector and pairing; the guest's queues stay in guest memory and the
 * guest's doorbells never reach the device.  When the guest rings a
 * submission doorbell, thinvisor takes each new entry, checks it (queue
 * memory, PRPs and PRP lists in guest RAM; the policy; commands that would
 * bypass encryption are failed with an NVMe status), copies it to its own
 * queue with PRPs pointing at its bounce buffer, runs it (splitting large
 * transfers), encrypts or decrypts, and posts the completion to the guest's
 * completion queue with the guest's command identifier and phase.  The
 * device's own completion interrupt, on the vector the guest chose, is the
 * one the guest takes.
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

#define NVME_QMAX 17u			/* admin + 16 I/O queue pairs */
#define NVME_QENTRIES 1024u		/* largest queue we mirror */
#define NVME_BOUNCE 0x100000u		/* 1 MiB */

#define REG_CAP 0x00
#define REG_CC 0x14
#define REG_CSTS 0x1C
#define REG_AQA 0x24
#define REG_ASQ 0x28
#define REG_ACQ 0x30
#define CC_EN 1u

/* Status: (SCT << 8 | SC) */
#define ST_INVALID_OPCODE 0x001
#define ST_INVALID_FIELD 0x002
#define ST_DATA_XFER_ERROR 0x004
#define ST_INVALID_QSIZE 0x102
#define ST_ACCESS_DENIED 0x286

struct nq {
	bool sq, cq;			/* exists (as the guest created it) */
	u64 g_sq, g_cq;			/* guest queue memory */
	u32 sq_n, cq_n;			/* entries */
	u16 sq_cq;			/* the completion queue of this submission queue */
	u32 g_sq_head;			/* next guest entry to take */
	u32 g_cq_tail, g_cq_head;
	u8 g_cq_phase;
	u8 *h_sq, *h_cq;		/* ours, as the device sees them */
	u64 h_sq_pa, h_cq_pa;
	u32 h_sq_tail, h_cq_head;
	u8 h_cq_phase;
};

static struct {
	bool used;
	u64 bar;
	u32 stride;			/* doorbell stride, bytes */
	u32 g_aqa;
	u64 g_asq, g_acq;
	u32 lba_shift;			/* namespace 1 */
	u64 max_xfer;			/* bytes per device command (MDTS, our bounce) */
	u64 nsze;
	char name[DISK_NAME_MAX];
	struct nq q[NVME_QMAX];
	bool ran;			/* the current command reached the device */
	u8 *bounce, *prp_list;		/* bounce buffer and the PRP list that maps it */
	u64 bounce_pa, prp_list_pa;
	const struct pci_dev *pd;
	u16 msix;			/* MSI-X capability in configuration space (0: none) */
} nv;

/*
 * While a doorbell is mediated the device's MSI-X messages are held (the
 * function mask): its completion interrupt would otherwise reach another
 * CPU before the guest's completion entry is there, and that CPU would find
 * nothing.  Unmasking sends what is pending.  Returns what to restore.
 */
static u32 msix_hold(void)
{
	u32 mc = nv.msix ? pci_read32(nv.pd, nv.msix) : 0;

	if (mc & (1u << 31))	/* MSI-X enabled */
		pci_write32(nv.pd, nv.msix, mc | (1u << 30));
	return mc;
}

static void msix_release(u32 mc)
{
	if (mc & (1u << 31))
		pci_write32(nv.pd, nv.msix, mc);
}

static u16 find_msix(const struct pci_dev *pd)
{
	if (!(pci_read32(pd, 0x04) & (1u << 20)))	/* no capability list */
		return 0;
	u16 p = pci_read32(pd, 0x34) & 0xFC;
	for (u32 n = 0; p >= 0x40 && n < 48; n++) {
		u32 h = pci_read32(pd, p);
		if ((h & 0xFF) == 0x11)
			return p;
		p = (h >> 8) & 0xFC;
	}
	return 0;
}

static u32 rd(u64 off)
{
	return mmio_rd32(nv.bar + off);
}

static void wr(u64 off, u32 v)
{
	mmio_wr32(nv.bar + off, v);
}

static u64 doorbell(u32 qid, bool cq)
{
	return 0x1000 + (2ull * qid + cq) * nv.stride;
}

/* Give the guest a completion on its queue 'cqid'. */
static void post(u32 cqid, u32 sqid, u16 cid, u32 dw0, u16 status)
{
	struct nq *cq = &nv.q[cqid];
	u8 *e;

	if (cqid >= NVME_QMAX || !cq->cq || !guest_dma_ok(cq->g_cq + 16ull * cq->g_cq_tail, 16) ||
	    !(e = phys_ptr(&hv.pm, cq->g_cq + 16ull * cq->g_cq_tail, 16)))
		return;
	if ((cq->g_cq_tail + 1) % cq->cq_n == cq->g_cq_head) {
		log_warn("%s: guest completion queue %u full: completion of command %x dropped\n", nv.name, cqid,
			 cid);
		return;
	}
	u32 d[4] = { dw0, 0, nv.q[sqid].g_sq_head | sqid << 16,
		     (u32)cid | (u32)cq->g_cq_phase << 16 | (u32)status << 17 };
	memcpy(e, d, 8);
	memcpy(e + 8, &d[2], 4);
	__asm__ volatile("" ::: "memory");
	memcpy(e + 12, &d[3], 4);	/* the phase bit last */
	if (++cq->g_cq_tail == cq->cq_n) {
		cq->g_cq_tail = 0;
		cq->g_cq_phase ^= 1;
	}
}

/*
 * Run one command on our queue sqid (with the guest's identifier) and wait
 * for its completion.  Completions for other commands that turn up meanwhile
 * (an asynchronous event request finishing) go straight to the guest.
 */
static int hw_run(u32 sqid, const u8 *sqe, u32 *dw0, u16 *status)
{
	struct nq *q = &nv.q[sqid];
	struct nq *cq = &nv.q[q->sq_cq];
	u16 cid;

	memcpy(&cid, sqe + 2, 2);
	nv.ran = true;
	memcpy(q->h_sq + 64ull * q->h_sq_tail, sqe, 64);
	q->h_sq_tail = (q->h_sq_tail + 1) % q->sq_n;
	wr(doorbell(sqid, false), q->h_sq_tail);
	for (u64 t = tsc(); tsc() - t < (1ull << 35);) {
		const volatile u8 *e = cq->h_cq + 16ull * cq->h_cq_head;
		u32 d3, d2, d0;
		/*
		 * A register read each round: a fatal controller status ends the
		 * wait, and an emulated device gets to run meanwhile.
		 */
		if (rd(REG_CSTS) & 2) {
			log_err("%s: controller fatal status\n", nv.name);
			return -EIO;
		}
		d3 = *(const volatile u32 *)(e + 12);
		if (((d3 >> 16) & 1) != cq->h_cq_phase)
			continue;
		d0 = *(const volatile u32 *)e;
		d2 = *(const volatile u32 *)(e + 8);
		if (++cq->h_cq_head == cq->cq_n) {
			cq->h_cq_head = 0;
			cq->h_cq_phase ^= 1;
		}
		wr(doorbell(q->sq_cq, true), cq->h_cq_head);
		if ((d2 >> 16) == sqid && (u16)d3 == cid) {
			*dw0 = d0;
			*status = (u16)(d3 >> 17);
			return 0;
		}
		post(q->sq_cq, d2 >> 16, (u16)d3, d0, (u16)(d3 >> 17));	/* someone else's */
	}
	log_err("%s: command %x timed out\n", nv.name, sqe[0]);
	return -EIO;
}

/* Point a command's PRPs at the first 'bytes' of our bounce buffer. */
static void prp_bounce(u8 *sqe, u64 bytes)
{
	u64 p1 = nv.bounce_pa, p2 = 0;

	if (bytes > 8192)
		p2 = nv.prp_list_pa + 8;	/* the list from the bounce's second page on */
	else if (bytes > 4096)
		p2 = nv.bounce_pa + 4096;
	memcpy(sqe + 24, &p1, 8);
	memcpy(sqe + 32, &p2, 8);
}

/* The guest's data pointer as a scatter list (PRP1, PRP2 or a PRP list chain). */
static int guest_prps(const u8 *sqe, u64 bytes, struct sg_entry *sg, u32 max, u32 *n)
{
	const struct dma_limits lim = { hv.region_base, hv.region_size, hv.ram_top };
	u64 p1, p2;

	memcpy(&p1, sqe + 24, 8);
	memcpy(&p2, sqe + 32, 8);
	return nvme_prp_walk(&hv.pm, p1, p2, bytes, &lim, sg, max, n);
}

static struct sg_entry guest_sg[NVME_BOUNCE / 4096 * 32 + 2];

/* A data-in admin command whose data is not medium data: through the bounce buffer. */
static u16 admin_data_in(u8 *sqe, u64 bytes, u32 *dw0, bool id_ctrl)
{
	u32 n;
	u16 st;

	if (bytes > NVME_BOUNCE || guest_prps(sqe, bytes, guest_sg, ARRAY_SIZE(guest_sg), &n))
		return ST_INVALID_FIELD;
	prp_bounce(sqe, bytes);
	if (hw_run(0, sqe, dw0, &st))
		return ST_DATA_XFER_ERROR;
	if (!st && id_ctrl) {
		/*
		 * The controller as we mediate it: no compare, write uncorrectable,
		 * dataset management, write zeroes, reservations, verify or copy
		 * (optional commands, ONCS), no fused commands, no SGLs.
		 */
		u16 oncs;
		memcpy(&oncs, nv.bounce + 520, 2);
		oncs &= 1u << 4;	/* save/select in features */
		memcpy(nv.bounce + 520, &oncs, 2);
		memset(nv.bounce + 522, 0, 2);	/* FUSES */
		memset(nv.bounce + 536, 0, 4);	/* SGLS */
	}
	if (!st)
		sg_copy(&hv.pm, guest_sg, n, 0, nv.bounce, bytes, true);
	return st;
}

static u16 admin_cmd(u8 *sqe, u32 *dw0)
{
	u8 opc = sqe[0];
	u32 c10, c11;
	u16 st;

	memcpy(&c10, sqe + 40, 4);
	memcpy(&c11, sqe + 44, 4);
	u32 qid = c10 & 0xFFFF, qn = (c10 >> 16) + 1;
	switch (opc) {
	case 0x05:	/* create I/O completion queue */
	case 0x01: {	/* create I/O submission queue */
		bool is_cq = opc == 0x05;
		u64 gq;
		memcpy(&gq, sqe + 24, 8);
		if (qid == 0 || qid >= NVME_QMAX)
			return 0x101;	/* invalid queue identifier */
		if (qn > NVME_QENTRIES)
			return ST_INVALID_QSIZE;
		if (!(c11 & 1) || !guest_dma_ok(gq, (u64)qn * (is_cq ? 16 : 64)))
			return ST_INVALID_FIELD;
		if (!is_cq && ((c11 >> 16) >= NVME_QMAX || !nv.q[c11 >> 16].cq))
			return 0x100;	/* completion queue invalid */
		u64 ours = is_cq ? nv.q[qid].h_cq_pa : nv.q[qid].h_sq_pa;
		if (is_cq)
			memset(nv.q[qid].h_cq, 0, 16ull * NVME_QENTRIES);
		memcpy(sqe + 24, &ours, 8);
		if (hw_run(0, sqe, dw0, &st))
			return ST_DATA_XFER_ERROR;
		if (st)
			return st;
		struct nq *q = &nv.q[qid];
		if (is_cq) {
			q->cq = true;
			q->g_cq = gq;
			q->cq_n = qn;
			q->g_cq_tail = q->g_cq_head = q->h_cq_head = 0;
			q->g_cq_phase = q->h_cq_phase = 1;
		} else {
			q->sq = true;
			q->g_sq = gq;
			q->sq_n = qn;
			q->sq_cq = (u16)(c11 >> 16);
			q->g_sq_head = q->h_sq_tail = 0;
		}
		return 0;
	}
	case 0x00:	/* delete I/O submission queue */
	case 0x04:	/* delete I/O completion queue */
		if (qid == 0 || qid >= NVME_QMAX)
			return 0x101;
		if (hw_run(0, sqe, dw0, &st))
			return ST_DATA_XFER_ERROR;
		if (!st) {
			if (opc == 0x00)
				nv.q[qid].sq = false;
			else
				nv.q[qid].cq = false;
		}
		return st;
	case 0x06:	/* identify */
		return admin_data_in(sqe, 4096, dw0, (c10 & 0xFF) == 1);
	case 0x02: {	/* get log page */
		u32 c11b;
		memcpy(&c11b, sqe + 44, 4);
		u64 numd = ((c10 >> 16) | (u64)(c11b & 0xFFFF) << 16) + 1;
		return admin_data_in(sqe, numd * 4, dw0, false);
	}
	case 0x09:	/* set features: only those without data, never a host memory buffer */
	case 0x0A: {	/* get features */
		u8 fid = (u8)c10;
		if (fid == 0x0D || fid == 0x03 || fid == 0x0E || fid >= 0x80)
			return ST_INVALID_FIELD;
		memset(sqe + 24, 0, 16);
		return hw_run(0, sqe, dw0, &st) ? ST_DATA_XFER_ERROR : st;
	}
	case 0x08:	/* abort */
		return hw_run(0, sqe, dw0, &st) ? ST_DATA_XFER_ERROR : st;
	default:
		/*
		 * Firmware download/commit, format, sanitize, security send,
		 * doorbell buffer config (its doorbells would bypass us), vendor
		 * commands...: refused.
		 */
		log_warn("%s: admin command %x refused\n", nv.name, opc);
		return ST_INVALID_OPCODE;
	}
}

static u16 io_cmd(u32 sqid, u8 *sqe, u32 *dw0)
{
	u8 opc = sqe[0];
	u32 nsid, c12;
	u64 slba;
	u16 st;
	const char *why;

	memcpy(&nsid, sqe + 4, 4);
	memcpy(&slba, sqe + 40, 8);
	memcpy(&c12, sqe + 48, 4);
	if (opc == 0x00)	/* flush */
		return hw_run(sqid, sqe, dw0, &st) ? ST_DATA_XFER_ERROR : st;
	if (opc != 0x01 && opc != 0x02) {
		/* Compare, write uncorrectable, write zeroes, dataset management, vendor... */
		log_warn("%s: I/O command %x refused: it could bypass encryption\n", nv.name, opc);
		return ST_INVALID_OPCODE;
	}
	bool write = opc == 0x01;
	u64 nlb = (c12 & 0xFFFF) + 1, bytes = nlb << nv.lba_shift;
	u64 sec = slba << (nv.lba_shift - 9), nsec = nlb << (nv.lba_shift - 9);
	if (nsid != 1)
		return 0x00B;	/* invalid namespace */
	if (slba + nlb > nv.nsze)
		return 0x080;	/* LBA out of range */
	if (c12 & ((1u << 31) | (0xFu << 26)))
		return ST_INVALID_FIELD;	/* limited retry, protection information: not mediated */
	if (storage_check(nv.name, sec, nsec, write, &why)) {
		log_warn("%s: %s of LBA %lu+%lu refused by policy (%s)\n", nv.name, write ? "write" : "read", sec,
			 nsec, why);
		return ST_ACCESS_DENIED;
	}
	u32 n;
	if (guest_prps(sqe, bytes, guest_sg, ARRAY_SIZE(guest_sg), &n)) {
		log_warn("%s: PRPs outside guest RAM refused\n", nv.name);
		return ST_DATA_XFER_ERROR;
	}
	u64 per = nv.max_xfer >> nv.lba_shift;
	for (u64 done = 0; done < nlb;) {
		u64 k = MIN(nlb - done, per), off = done << nv.lba_shift, len = k << nv.lba_shift;
		u64 s0 = (slba + done) << (nv.lba_shift - 9), ns = k << (nv.lba_shift - 9);
		u8 cmd[64];
		memcpy(cmd, sqe, 64);
		u64 lba = slba + done;
		u32 nl = (c12 & ~0xFFFFu) | (u32)(k - 1);
		memcpy(cmd + 40, &lba, 8);
		memcpy(cmd + 48, &nl, 4);
		prp_bounce(cmd, len);
		if (write) {
			sg_copy(&hv.pm, guest_sg, n, off, nv.bounce, len, false);
			storage_to_disk(nv.name, s0, nv.bounce, ns);
		}
		if (hw_run(sqid, cmd, dw0, &st))
			return ST_DATA_XFER_ERROR;
		if (st)
			return st;
		if (!write) {
			storage_from_disk(nv.name, s0, nv.bounce, ns);
			sg_copy(&hv.pm, guest_sg, n, off, nv.bounce, len, true);
		}
		done += k;
	}
	return 0;
}

/*
 * A command we answered ourselves still needs the interrupt the guest waits
 * for: the device runs a harmless one with the same identifier (get the
 * number of queues; a flush), whose completion we swallow.
 */
static void kick(u32 sqid, u16 cid)
{
	u8 cmd[64];
	u32 dw0, one = 1;
	u16 st;

	memset(cmd, 0, sizeof(cmd));
	memcpy(cmd + 2, &cid, 2);
	if (sqid == 0) {
		cmd[0] = 0x0A;	/* get features */
		cmd[40] = 0x07;	/* number of queues */
	} else {
		cmd[0] = 0x00;	/* flush */
		memcpy(cmd + 4, &one, 4);
	}
	(void)hw_run(sqid, cmd, &dw0, &st);
}

static void sq_doorbell(u32 sqid, u32 tail)
{
	struct nq *q = &nv.q[sqid];

	if (!q->sq || tail >= q->sq_n)
		return;
	u32 mc = msix_hold();
	while (q->g_sq_head != tail) {
		u64 pa = q->g_sq + 64ull * q->g_sq_head;
		u8 sqe[64];
		u32 dw0 = 0;
		u16 cid, st;
		const u8 *g = guest_dma_ok(pa, 64) ? phys_ptr(&hv.pm, pa, 64) : NULL;
		if (!g)
			break;
		memcpy(sqe, g, 64);	/* our copy: the guest cannot change it under us */
		memcpy(&cid, sqe + 2, 2);
		q->g_sq_head = (q->g_sq_head + 1) % q->sq_n;
		if (sqid == 0 && sqe[0] == 0x0C) {	/* async event request: never waited for */
			memcpy(q->h_sq + 64ull * q->h_sq_tail, sqe, 64);
			q->h_sq_tail = (q->h_sq_tail + 1) % q->sq_n;
			wr(doorbell(0, false), q->h_sq_tail);
			continue;
		}
		if ((sqe[1] & 0xC0) || (sqe[1] & 0x03)) {	/* SGLs, fused commands: not mediated */
			post(q->sq_cq, sqid, cid, 0, ST_INVALID_FIELD);
			continue;
		}
		nv.ran = false;
		st = sqid == 0 ? admin_cmd(sqe, &dw0) : io_cmd(sqid, sqe, &dw0);
		if (!nv.ran)
			kick(sqid, cid);
		post(q->sq_cq, sqid, cid, dw0, st);
	}
	msix_release(mc);
}

/* Enabling the controller: it gets our admin queues, the size the guest asked for. */
static void enable(u32 cc)
{
	struct nq *a = &nv.q[0];
	u32 sqn = (nv.g_aqa & 0xFFF) + 1, cqn = ((nv.g_aqa >> 16) & 0xFFF) + 1;

	memset(nv.q + 1, 0, sizeof(nv.q) - sizeof(nv.q[0]));
	for (u32 i = 1; i < NVME_QMAX; i++) {	/* keep our buffers */
		nv.q[i].h_sq = pool_va(&hv.pool, nv.q[i].h_sq_pa = nv.q[0].h_sq_pa + i * 0x14000ull);
		nv.q[i].h_cq_pa = nv.q[i].h_sq_pa + 0x10000;
		nv.q[i].h_cq = pool_va(&hv.pool, nv.q[i].h_cq_pa);
	}
	if (sqn > NVME_QENTRIES || cqn > NVME_QENTRIES || !guest_dma_ok(nv.g_asq, 64ull * sqn) ||
	    !guest_dma_ok(nv.g_acq, 16ull * cqn)) {
		log_warn("%s: admin queues outside guest RAM or too large: not enabled\n", nv.name);
		return;
	}
	*a = (struct nq){ .sq = true, .cq = true, .g_sq = nv.g_asq, .g_cq = nv.g_acq, .sq_n = sqn, .cq_n = cqn,
			  .g_cq_phase = 1, .h_sq = a->h_sq, .h_cq = a->h_cq, .h_sq_pa = a->h_sq_pa,
			  .h_cq_pa = a->h_cq_pa, .h_cq_phase = 1 };
	memset(a->h_cq, 0, 16ull * NVME_QENTRIES);
	wr(REG_AQA, (cqn - 1) << 16 | (sqn - 1));
	wr(REG_ASQ, (u32)a->h_sq_pa);
	wr(REG_ASQ + 4, (u32)(a->h_sq_pa >> 32));
	wr(REG_ACQ, (u32)a->h_cq_pa);
	wr(REG_ACQ + 4, (u32)(a->h_cq_pa >> 32));
	wr(REG_CC, cc);
}

void nvme_access(struct vcpu *v, u32 instance, u64 off, u8 size, bool write, u64 *val)
{
	(void)v;
	(void)instance;
	if ((size != 4 && size != 8) || (off & (size - 1))) {
		if (!write)
			*val = ~0ull;
		return;
	}
	if (off >= 0x1000) {	/* doorbells: only the guest's idea until we act on them */
		u64 d = off - 0x1000;
		u32 qid = (u32)(d / (2 * nv.stride));
		bool cq = (d / nv.stride) & 1;
		if (!write) {
			*val = 0;
		} else if (qid < NVME_QMAX && !cq) {
			sq_doorbell(qid, (u32)*val & 0xFFFF);
		} else if (qid < NVME_QMAX && nv.q[qid].cq && ((u32)*val & 0xFFFF) < nv.q[qid].cq_n) {
			nv.q[qid].g_cq_head = (u32)*val & 0xFFFF;	/* how far the guest has read */
		}
		return;
	}
	switch (off) {
	case REG_AQA:
		if (write)
			nv.g_aqa = (u32)*val;
		else
			*val = nv.g_aqa;
		return;
	case REG_ASQ:
	case REG_ASQ + 4:
	case REG_ACQ:
	case REG_ACQ + 4: {
		u64 *g = off < REG_ACQ ? &nv.g_asq : &nv.g_acq;
		unsigned sh = (off & 4) ? 32 : 0;
		u64 mask = size == 8 ? ~0ull : 0xFFFFFFFFull << sh;
		if (write)
			*g = (*g & ~mask) | ((*val << sh) & mask);
		else
			*val = size == 8 ? *g : (u32)(*g >> sh);
		return;
	}
	case REG_CC:
		if (write) {
			u32 old = rd(REG_CC);
			if ((*val & CC_EN) && !(old & CC_EN))
				enable((u32)*val);
			else
				wr(REG_CC, (u32)*val);
		} else {
			*val = rd(REG_CC);
		}
		return;
	default:
		if (size == 8) {
			if (write) {
				wr(off, (u32)*val);
				wr(off + 4, (u32)(*val >> 32));
			} else {
				*val = rd(off) | (u64)rd(off + 4) << 32;
			}
		} else if (write) {
			wr(off, (u32)*val);
		} else {
			*val = rd(off);
		}
	}
}

/* Our own bring-up at boot: learn namespace 1's size and LBA format, then reset. */
static bool identify_namespace(void)
{
	struct nq *a = &nv.q[0];
	u8 cmd[64];
	u32 dw0;
	u16 st;

	wr(REG_CC, 0);
	for (u64 t = tsc(); rd(REG_CSTS) & 1;)
		if (tsc() - t > (1ull << 34))
			return false;
	*a = (struct nq){ .sq = true, .cq = true, .sq_n = 32, .cq_n = 32, .g_cq_phase = 1, .h_sq = a->h_sq,
			  .h_cq = a->h_cq, .h_sq_pa = a->h_sq_pa, .h_cq_pa = a->h_cq_pa, .h_cq_phase = 1 };
	memset(a->h_cq, 0, 16ull * NVME_QENTRIES);
	wr(REG_AQA, 31u << 16 | 31u);
	wr(REG_ASQ, (u32)a->h_sq_pa);
	wr(REG_ASQ + 4, (u32)(a->h_sq_pa >> 32));
	wr(REG_ACQ, (u32)a->h_cq_pa);
	wr(REG_ACQ + 4, (u32)(a->h_cq_pa >> 32));
	wr(REG_CC, 4u << 20 | 6u << 16 | CC_EN);	/* IOCQES 16, IOSQES 64 */
	for (u64 t = tsc(); !(rd(REG_CSTS) & 1);)
		if (tsc() - t > (1ull << 34))
			return false;
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = 0x06;
	cmd[40] = 1;	/* CNS 1: the controller, for its maximum transfer size */
	prp_bounce(cmd, 4096);
	nv.max_xfer = NVME_BOUNCE;
	if (!hw_run(0, cmd, &dw0, &st) && !st && nv.bounce[77])
		nv.max_xfer = MIN((u64)NVME_BOUNCE, 4096ull << nv.bounce[77]);	/* MDTS, in 4 KiB pages */
	memset(cmd, 0, sizeof(cmd));
	cmd[0] = 0x06;
	u32 nsid = 1;
	memcpy(cmd + 4, &nsid, 4);	/* CNS 0: the namespace */
	prp_bounce(cmd, 4096);
	bool ok = !hw_run(0, cmd, &dw0, &st) && !st;
	if (ok) {
		u8 flbas = nv.bounce[26] & 0xF;
		u32 lbaf;
		memcpy(&nv.nsze, nv.bounce, 8);
		memcpy(&lbaf, nv.bounce + 128 + 4 * flbas, 4);
		nv.lba_shift = (lbaf >> 16) & 0xFF;
		ok = nv.nsze && nv.lba_shift >= 9 && nv.lba_shift <= 12;
	}
	wr(REG_CC, 0);
	for (u64 t = tsc(); rd(REG_CSTS) & 1;)
		if (tsc() - t > (1ull << 34))
			break;
	return ok;
}

bool nvme_attach(const struct pci_dev *pd)
{
	u32 lo = pci_read32(pd, 0x10), hi = pci_read32(pd, 0x14);

	if (nv.used || (lo & 1) || !(lo & ~0xFu))
		return false;
	nv.bar = ((lo & 0x6) == 0x4 ? (u64)hi << 32 : 0) | (lo & ~0xFu);
	if (nv.bar + 0x2000 > hv.max_phys)
		return false;
	pci_write32(pd, 0x04, pci_read32(pd, 0x04) | 0x6);
	nv.stride = 4u << ((rd(REG_CAP + 4) >> 0) & 0xF);
	tv_strlcpy(nv.name, "nvme1", sizeof(nv.name));

	u64 pa = hv_dma_alloc(NVME_QMAX * 0x14000 / 4096 + NVME_BOUNCE / 4096 + 1, "NVMe queues");
	for (u32 i = 0; i < NVME_QMAX; i++) {
		nv.q[i].h_sq_pa = pa + i * 0x14000ull;	/* 64 KiB SQ + 16 KiB CQ */
		nv.q[i].h_cq_pa = nv.q[i].h_sq_pa + 0x10000;
		nv.q[i].h_sq = pool_va(&hv.pool, nv.q[i].h_sq_pa);
		nv.q[i].h_cq = pool_va(&hv.pool, nv.q[i].h_cq_pa);
	}
	nv.bounce_pa = pa + NVME_QMAX * 0x14000ull;
	nv.prp_list_pa = nv.bounce_pa + NVME_BOUNCE;
	nv.bounce = pool_va(&hv.pool, nv.bounce_pa);
	nv.prp_list = pool_va(&hv.pool, nv.prp_list_pa);
	for (u32 i = 0; i < NVME_BOUNCE / 4096; i++) {
		u64 e = nv.bounce_pa + 4096ull * i;
		memcpy(nv.prp_list + 8 * i, &e, 8);
	}
	if (!identify_namespace()) {
		log_warn("storage: NVMe %02x:%02x.%u: could not identify namespace 1: not mediated\n", pd->bus,
			 pd->dev, pd->fn);
		return false;
	}
	nv.used = true;
	nv.pd = pd;
	nv.msix = find_msix(pd);
	log_info("storage: NVMe controller %02x:%02x.%u, BAR0 %lx, %u-byte LBAs\n", pd->bus, pd->dev, pd->fn,
		 nv.bar, 1u << nv.lba_shift);
	storage_disk_found(nv.name, nv.nsze << (nv.lba_shift - 9));
	if (mmio_claim(nv.bar, 0x2000, MMIO_NVME, 0))
		panic("cannot trap the NVMe registers at %lx\n", nv.bar);
	return true;
}

/* The guest moved BAR0 (and decodes memory there): the trap moves with it. */
void nvme_bar_moved(u64 bar)
{
	if (!nv.used || bar == nv.bar || !bar)
		return;
	if (mmio_move(MMIO_NVME, 0, bar))
		panic("cannot move the NVMe trap to %lx\n", bar);
	log_info("storage: NVMe registers moved to %lx\n", bar);
	nv.bar = bar;
}
