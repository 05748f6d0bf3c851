/* SPDX-License-Identifier: MIT */
/*
 * nvme_attack: NVMe commands the storage mediator must refuse.
 *
 * The runner pre-fills LBA 5000-5127 (512-byte blocks) with pattern seed
 * 0xA77A (encrypted under thinvisor).  PRP1, PRP2, a PRP list entry and the
 * PRP list itself pointing into the hypervisor region (TV_HC_HV_REGION),
 * and Create I/O CQ/SQ with queue memory there, must complete with a
 * non-zero status and move nothing (writes: the sectors keep the
 * pre-filled data; reads: the valid buffers stay untouched).  Write
 * Zeroes, Dataset Management, Write Uncorrectable, Compare and vendor
 * opcodes must fail too.  Afterwards the pre-filled data reads back and
 * TV_HC_SELFTEST is 1.
 */
#include "nvme.h"

const char test_name[] = "nvme_attack";

#define PRE_LBA   5000u
#define PRE_SEED  0xA77Au
#define WSEED     0xBAD200u

static struct nvme n;
static uint64_t hvb, hvs;
static int native;
static uint8_t *wbuf, *sent, *rbuf;
static uint64_t *list;

static void selftest(const char *when)
{
	uint32_t out[4];
	if (native) {
		printf("  (native: TV_HC_SELFTEST skipped %s)\n", when);
		return;
	}
	uint32_t st = hc_must(TV_HC_SELFTEST, 0, out);
	check(st == TV_OK && out[1] == 1, "TV_HC_SELFTEST = 1 %s (status %u, RBX %u)", when, st,
	      out[1]);
}

static uint32_t P(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

static void bad_io(const char *what, uint8_t opc, uint32_t lba, uint32_t nlb, uint64_t p1,
		   uint64_t p2, int note)
{
	struct nvme_sqe e;
	nvme_sqe_rw(&e, opc, lba, nlb, p1, p2);
	if (opc == 0x01)
		pat_fill(wbuf, lba, nlb, WSEED + lba);
	fill32(sent, 0x10000, SENTINEL);
	uint16_t st = nvme_io(&n, &e, NULL);
	check(st != 0 && st != NVME_TIMEOUT, "%s (opcode %02x) LBA %u+%u: refused (%s)", what,
	      opc, lba, nlb, nvme_st_str(st));
	if (opc == 0x02)
		check(is_fill32(sent, 0x10000, SENTINEL), "%s: the valid buffer stayed untouched",
		      what);
	if (note)
		disk_note(lba, nlb, PRE_SEED, "unchanged");
}

static void verify_prefill(const char *when)
{
	fill32(rbuf, 128 * 512, SENTINEL);
	uint16_t st = nvme_rw(&n, 0x02, PRE_LBA, 128, rbuf, NULL, 0);
	uint32_t bad = st ? 128 : pat_verify(rbuf, PRE_LBA, 128, PRE_SEED, when);
	check(!st && !bad, "%s: pre-filled LBA %u+128 reads as seed 0x%x: %s, %u bad", when,
	      PRE_LBA, PRE_SEED, nvme_st_str(st), bad);
}

static void bad_queue(const char *what, uint8_t opc, uint16_t qid, uint32_t addr, uint16_t cq)
{
	struct nvme_sqe e;
	memset(&e, 0, sizeof(e));
	e.cdw0 = opc;
	e.prp1[0] = addr;
	e.cdw10 = (uint32_t)(NVME_QN - 1) << 16 | qid;
	e.cdw11 = (uint32_t)cq << 16 | 1;
	uint16_t st = nvme_admin(&n, &e, NULL);
	check(st != 0 && st != NVME_TIMEOUT, "%s: refused (%s)", what, nvme_st_str(st));
}

void test_main(void)
{
	native = mb_find_arg("hvregion") != NULL;
	ide_timeout_s = 10;
	hv_region(&hvb, &hvs);
	mem_init(hvb, hvs);
	wbuf = mem_alloc(0x10000, 0x1000);
	sent = mem_alloc(0x10000, 0x1000);
	rbuf = mem_alloc(0x10000, 0x1000);
	list = mem_alloc(0x2000, 0x1000);
	printf("nvme_attack: hypervisor region %08llx-%08llx\n", hvb, hvb + hvs - 1);
	nvme_init(&n);
	if (!check(n.lba_size == 512, "512-byte LBAs (%u)", n.lba_size))
		tg_finish();
	verify_prefill("baseline");
	selftest("at start");

	uint32_t hb = (uint32_t)hvb, S = P(sent), W = P(wbuf);
	bad_io("Write, PRP1 in the hypervisor region", 0x01, 5000, 8, hb + 0x1000, 0, 1);
	bad_io("Read, PRP1 in the hypervisor region", 0x02, 5000, 8, hb + 0x1000, 0, 0);
	bad_io("Write, PRP2 in the hypervisor region", 0x01, 5008, 16, W, hb + 0x2000, 1);
	bad_io("Read, PRP2 in the hypervisor region", 0x02, 5008, 16, S, hb + 0x2000, 0);
	/* 12 KiB: PRP2 is a list of two pages; the second one in the region. */
	list[0] = W + 0x1000;
	list[1] = hb + 0x3000;
	bad_io("Write, PRP list entry in the hypervisor region", 0x01, 5024, 24, W, P(list), 1);
	list[0] = S + 0x1000;
	bad_io("Read, PRP list entry in the hypervisor region", 0x02, 5024, 24, S, P(list), 0);
	bad_io("Write, the PRP list in the hypervisor region", 0x01, 5048, 24, W, hb + 0x100, 1);
	bad_io("Read, the PRP list in the hypervisor region", 0x02, 5048, 24, S, hb + 0x100, 0);
	/* A list whose chain pointer (last slot of its page) leads into the region. */
	{
		uint64_t *l = (uint64_t *)((uint8_t *)list + 0xFF0);
		l[0] = W + 0x1000;
		l[1] = hb + 0x4000; /* chain */
		bad_io("Write, PRP list chained into the hypervisor region", 0x01, 5072, 32, W,
		       P(l), 1);
	}

	/* Queues in the region. */
	bad_queue("Create I/O CQ 2 in the hypervisor region", 0x05, 2, hb + 0x6000, 0);
	{
		uint8_t *cq = mem_alloc(16 * NVME_QN, 4096);
		memset(cq, 0, 16 * NVME_QN);
		struct nvme_sqe e;
		memset(&e, 0, sizeof(e));
		e.cdw0 = 0x05;
		e.prp1[0] = P(cq);
		e.cdw10 = (uint32_t)(NVME_QN - 1) << 16 | 3;
		e.cdw11 = 1;
		uint16_t st = nvme_admin(&n, &e, NULL);
		check(st == 0, "Create I/O CQ 3 in guest RAM: %s", nvme_st_str(st));
		bad_queue("Create I/O SQ 3 in the hypervisor region", 0x01, 3, hb + 0x7000, 3);
		memset(&e, 0, sizeof(e));
		e.cdw0 = 0x04; /* delete CQ 3 */
		e.cdw10 = 3;
		st = nvme_admin(&n, &e, NULL);
		check(st == 0, "Delete I/O CQ 3: %s", nvme_st_str(st));
	}

	/* Commands that bypass encryption. */
	{
		struct nvme_sqe e;
		uint16_t st;
		nvme_sqe_rw(&e, 0x08, 5104, 8, 0, 0); /* Write Zeroes */
		st = nvme_io(&n, &e, NULL);
		check(st != 0 && st != NVME_TIMEOUT, "Write Zeroes LBA 5104+8: refused (%s)",
		      nvme_st_str(st));
		disk_note(5104, 8, PRE_SEED, "unchanged");
		uint32_t *r = (uint32_t *)wbuf; /* one DSM range: context, length, LBA */
		r[0] = 0, r[1] = 8, r[2] = 5112, r[3] = 0;
		memset(&e, 0, sizeof(e));
		e.cdw0 = 0x09;
		e.nsid = 1;
		e.prp1[0] = W;
		e.cdw10 = 0;	  /* one range */
		e.cdw11 = 1u << 2; /* deallocate */
		st = nvme_io(&n, &e, NULL);
		check(st != 0 && st != NVME_TIMEOUT, "Dataset Management (deallocate 5112+8): "
		      "refused (%s)", nvme_st_str(st));
		disk_note(5112, 8, PRE_SEED, "unchanged");
		nvme_sqe_rw(&e, 0x04, 5120, 8, 0, 0); /* Write Uncorrectable */
		st = nvme_io(&n, &e, NULL);
		check(st != 0 && st != NVME_TIMEOUT, "Write Uncorrectable LBA 5120+8: refused (%s)",
		      nvme_st_str(st));
		disk_note(5120, 8, PRE_SEED, "unchanged");
		pat_fill(wbuf, 5000, 8, PRE_SEED);
		nvme_sqe_rw(&e, 0x05, 5000, 8, W, 0); /* Compare with the plaintext */
		st = nvme_io(&n, &e, NULL);
		check(st != 0 && st != NVME_TIMEOUT, "Compare LBA 5000+8: refused (%s)",
		      nvme_st_str(st));
		static const uint8_t vendor[] = { 0x80, 0x81, 0x82, 0xC1, 0xFF };
		for (unsigned i = 0; i < sizeof(vendor); i++) {
			nvme_sqe_rw(&e, vendor[i], 5000, 8, W, 0);
			st = nvme_io(&n, &e, NULL);
			check(st != 0 && st != NVME_TIMEOUT, "vendor I/O opcode %02x: refused (%s)",
			      vendor[i], nvme_st_str(st));
		}
		memset(&e, 0, sizeof(e));
		e.cdw0 = 0xC0; /* vendor admin */
		st = nvme_admin(&n, &e, NULL);
		check(st != 0 && st != NVME_TIMEOUT, "vendor admin opcode c0: refused (%s)",
		      nvme_st_str(st));
	}

	verify_prefill("afterwards");
	selftest("at the end");
	disk_note(PRE_LBA, 128, PRE_SEED, "unchanged");
	tg_finish();
}
