/* SPDX-License-Identifier: MIT */
/*
 * ahci_toctou: time-of-check/time-of-use attacks on the AHCI mediator from
 * a second CPU (-smp 2, policy ahci0:0-99:plain).  A flipper on CPU 1
 * (lib/smp.c) rewrites a dword of the command as fast as it can while CPU 0
 * issues it:
 *   A. the command FIS's LBA, between LBA 8+i (plain by policy) and
 *      1000+i (encrypted), for a one-sector write: it must land at exactly
 *      one of them, and at 1000+i only encrypted (the runner's plaintext
 *      scan finds the marker nowhere outside 0-99);
 *   B. PRDT entry 0's address, between the buffer and the hypervisor
 *      region, for writes: each either writes the buffer or is refused;
 *   C. the same for reads (DMA into the region): the hypervisor survives,
 *      its self-test still passes.
 * Between building the command and ringing, the guest waits 1 ms so the
 * flipper has surely run: the mediator then sees either value.  The flips
 * must really race (some commands take the second value), or the test fails.
 */
#include "ahci.h"
#include "smp.h"

const char test_name[] = "ahci_toctou";

#define NA 64
#define NB 32
#define SEED_A 0x70C000u
#define SEED_B 0x70C100u

static struct ahci a;
static uint8_t *buf, *rbuf;
static uint32_t scratch;

static uint32_t P(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

static struct ahci_res issue_flipping(uint8_t cmd, uint32_t lba, void *data, uint32_t off, uint32_t v2)
{
	struct sg s = { P(data), 512 };
	ahci_build(&a, 0, cmd, lba, 1, &s, 1, ahci_is_write(cmd));
	volatile uint32_t *dw = (volatile uint32_t *)(a.ct[0] + off);
	smp_flip_set(0, dw, *dw, v2);
	smp_flip_quiesce();	/* the flipper has surely run on it */
	struct ahci_res r = ahci_issue(&a, 0, 0);
	smp_flip_set(0, &scratch, 0, 0);
	smp_flip_quiesce();	/* the flipper has moved on */
	return r;
}

static int read1(uint32_t lba, void *to)
{
	struct sg s = { P(to), 512 };
	fill32(to, 512, SENTINEL);
	struct ahci_res r = ahci_rw(&a, 1, 0x25, lba, 1, &s, 1);
	return ahci_ok(&r, 512);
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
	ahci_init(&a);
	smp_setup();
	smp_flip_start(1);
	check(smp_wait(&SMP_FLIP_RUNNING, 1, 30) == 1, "the flipper runs on CPU 1");

	for (uint32_t i = 0; i < NA; i++) {
		uint32_t lp = 8 + i, le = 1000 + i;
		pat_fill(buf, lp, 1, SEED_A + i);
		struct ahci_res r = issue_flipping(0x35, lp, buf, 4, 0x40000000u | le);
		check(ahci_ok(&r, 512), "A%u: write at LBA %u or %u completes (%s)", i, lp, le, ahci_res_str(&r));
		int at_p = read1(lp, rbuf) && pat_count_matches(rbuf, lp, 1, SEED_A + i) == 1;
		int at_e = read1(le, rbuf) && pat_count_matches(rbuf, lp, 1, SEED_A + i) == 1;
		plain += at_p && !at_e;
		enc += at_e && !at_p;
		both += at_p && at_e;
		lost += !at_p && !at_e;
		disk_note(lp, 1, SEED_A + i, "plain|unchanged");
	}
	printf("ahci_toctou: A: %u at the plain LBA, %u at the encrypted one, %u both, %u neither\n", plain, enc,
	       both, lost);
	check(both == 0 && lost == 0, "A: every write landed at exactly one LBA (%u both, %u neither)", both, lost);

	for (uint32_t i = 0; i < NB; i++) {
		uint32_t lba = 2000 + i;
		pat_fill(buf, lba, 1, SEED_B + i);
		struct ahci_res r = issue_flipping(0x35, lba, buf, 0x80, (uint32_t)hvb + 0x1000);
		if (ahci_ok(&r, 512)) {
			wok++;
			check(read1(lba, rbuf) && pat_count_matches(rbuf, lba, 1, SEED_B + i) == 1,
			      "B%u: LBA %u holds the buffer, nothing else", i, lba);
		} else {
			wref++;
			check(ahci_refused(&r), "B%u: otherwise refused (%s)", i, ahci_res_str(&r));
		}
		disk_note(lba, 1, SEED_B + i, "written|unchanged");
	}
	printf("ahci_toctou: B: %u writes from the buffer, %u refused\n", wok, wref);
	for (uint32_t i = 0; i < NB; i++) {
		struct ahci_res r = issue_flipping(0x25, 8 + i, rbuf, 0x80, (uint32_t)hvb + 0x2000);
		rok += ahci_ok(&r, 512);
		rref += !ahci_ok(&r, 512);
	}
	printf("ahci_toctou: C: %u reads into the buffer, %u refused\n", rok, rref);
	check(enc + wref + rref > 0, "the flips raced the mediator (seen: A %u, B %u, C %u)", enc, wref, rref);

	SMP_FLIP_STOP = 1;
	check(smp_wait(&SMP_FLIP_STOPPED, 1, 30) == 1, "the flipper stopped");
	check(hc_must(TV_HC_SELFTEST, 0, out) == TV_OK && out[1] == 1, "self-test still passes");
	tg_finish();
}
