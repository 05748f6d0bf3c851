/* SPDX-License-Identifier: MIT */
/*
 * nvme_toctou: time-of-check/time-of-use attacks on the NVMe mediator from
 * a second CPU (-smp 2, policy nvme1:0-99:plain).  While CPU 0 submits a
 * command, a flipper on CPU 1 (lib/smp.c) rewrites a dword of its entry in
 * the guest's submission queue as fast as it can:
 *   A. SLBA, between 8+i (plain by policy) and 1000+i (encrypted), for a
 *      one-block write: it lands at exactly one, and at 1000+i only
 *      encrypted (the runner's plaintext scan);
 *   B. PRP1, between the buffer and the hypervisor region, for writes:
 *      each writes the buffer or is refused;
 *   C. the same for reads (DMA into the region): the hypervisor survives.
 * Between building the command and ringing, the guest waits 1 ms so the
 * flipper has surely run: the mediator then sees either value.  The flips
 * must really race (some commands take the second value), or the test fails.
 */
#include "nvme.h"
#include "smp.h"

const char test_name[] = "nvme_toctou";

#define NA 64
#define NB 32
#define SEED_A 0x70D000u
#define SEED_B 0x70D100u

static struct nvme n;
static uint8_t *buf, *rbuf;
static uint32_t scratch;

static uint32_t P(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

/* Submit opc on LBA lba with PRP1 = data; the flipper rewrites SQE dword `dw` with v2. */
static uint16_t submit_flipping(uint8_t opc, uint32_t lba, void *data, uint32_t dw, uint32_t v2)
{
	struct nvme_sqe e;
	nvme_sqe_rw(&e, opc, lba, 1, P(data), 0);
	volatile uint32_t *slot = (volatile uint32_t *)(n.ioq.sq + 64u * n.ioq.tail);
	smp_flip_set(0, slot + dw, ((uint32_t *)&e)[dw], v2);
	nvme_ring_delay_ms = 1;
	uint16_t st = nvme_io(&n, &e, NULL);
	nvme_ring_delay_ms = 0;
	smp_flip_set(0, &scratch, 0, 0);
	smp_flip_quiesce();
	return st;
}

static int read1(uint32_t lba, void *to)
{
	fill32(to, 512, SENTINEL);
	return nvme_rw(&n, 0x02, lba, 1, to, NULL, 0) == 0;
}

void test_main(void)
{
	uint64_t hvb, hvs;
	uint32_t out[4], plain = 0, enc = 0, both = 0, lost = 0, wok = 0, wref = 0, rok = 0, rref = 0;

	ide_timeout_s = 10;
	hv_region(&hvb, &hvs);
	mem_init(hvb, hvs);
	buf = mem_alloc(0x1000, 0x1000);
	rbuf = mem_alloc(0x1000, 0x1000);
	nvme_init(&n);
	check(n.lba_size == 512, "512-byte blocks (%u)", n.lba_size);
	smp_setup();
	smp_flip_start(1);
	check(smp_wait(&SMP_FLIP_RUNNING, 1, 30) == 1, "the flipper runs on CPU 1");

	for (uint32_t i = 0; i < NA; i++) {
		uint32_t lp = 8 + i, le = 1000 + i;
		pat_fill(buf, lp, 1, SEED_A + i);
		uint16_t st = submit_flipping(0x01, lp, buf, 10, le);
		check(st == 0, "A%u: write at LBA %u or %u completes (%s)", i, lp, le, nvme_st_str(st));
		int at_p = read1(lp, rbuf) && pat_count_matches(rbuf, lp, 1, SEED_A + i) == 1;
		int at_e = read1(le, rbuf) && pat_count_matches(rbuf, lp, 1, SEED_A + i) == 1;
		plain += at_p && !at_e;
		enc += at_e && !at_p;
		both += at_p && at_e;
		lost += !at_p && !at_e;
		disk_note(lp, 1, SEED_A + i, "plain|unchanged");
	}
	printf("nvme_toctou: A: %u at the plain LBA, %u at the encrypted one, %u both, %u neither\n", plain, enc,
	       both, lost);
	check(both == 0 && lost == 0, "A: every write landed at exactly one LBA (%u both, %u neither)", both, lost);

	for (uint32_t i = 0; i < NB; i++) {
		uint32_t lba = 2000 + i;
		pat_fill(buf, lba, 1, SEED_B + i);
		uint16_t st = submit_flipping(0x01, lba, buf, 6, (uint32_t)hvb + 0x1000);
		if (st == 0) {
			wok++;
			check(read1(lba, rbuf) && pat_count_matches(rbuf, lba, 1, SEED_B + i) == 1,
			      "B%u: LBA %u holds the buffer, nothing else", i, lba);
		} else {
			wref++;
			check(st != NVME_TIMEOUT, "B%u: otherwise refused (%s)", i, nvme_st_str(st));
		}
		disk_note(lba, 1, SEED_B + i, "written|unchanged");
	}
	printf("nvme_toctou: B: %u writes from the buffer, %u refused\n", wok, wref);
	for (uint32_t i = 0; i < NB; i++) {
		uint16_t st = submit_flipping(0x02, 8 + i, rbuf, 6, (uint32_t)hvb + 0x2000);
		rok += st == 0;
		rref += st != 0;
		check(st != NVME_TIMEOUT, "C%u: completes or is refused (%s)", i, nvme_st_str(st));
	}
	printf("nvme_toctou: C: %u reads into the buffer, %u refused\n", rok, rref);
	check(enc + wref + rref > 0, "the flips raced the mediator (seen: A %u, B %u, C %u)", enc, wref, rref);

	SMP_FLIP_STOP = 1;
	check(smp_wait(&SMP_FLIP_STOPPED, 1, 30) == 1, "the flipper stopped");
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	tg_finish();
}
