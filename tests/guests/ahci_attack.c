/* SPDX-License-Identifier: MIT */
/*
 * ahci_attack: AHCI commands the storage mediator must refuse.
 *
 * The runner pre-fills LBA 5000-5127 with pattern seed 0xA77A (encrypted
 * under thinvisor).  Each attack points one structure into the hypervisor
 * region from TV_HC_HV_REGION: a PRDT entry (write and read, DMA EXT and
 * NCQ), an entry straddling the region start, the command table, a command
 * table whose PRDT runs into the region, and the command list itself
 * (PxCLB).  Each must end with PxIS.TFES or PxTFD.ERR, a PRD byte count
 * of 0, valid read buffers untouched and the targeted sectors unchanged.
 * Afterwards the pre-filled data reads back, and TV_HC_SELFTEST is 1.
 * Argument skipclb=1: leave out the PxCLB case.
 */
#include "ahci.h"

const char test_name[] = "ahci_attack";

#define PRE_LBA   5000u
#define PRE_SEED  0xA77Au
#define WSEED     0xBAD100u

static struct ahci a;
static uint64_t hvb, hvs;
static int native;
static uint8_t *wbuf, *sent, *rbuf;
static uint32_t next_lba = PRE_LBA;

static uint32_t P(const void *p)
{
	return (uint32_t)(uintptr_t)p;
}

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

/* Write 8 sectors at the next pre-filled LBA through [wbuf 2048][addr len]. */
static void bad_write_entry(const char *what, uint8_t cmd, uint32_t addr, uint32_t len)
{
	uint32_t lba = next_lba;
	next_lba += 8;
	pat_fill(wbuf, lba, 8, WSEED + lba);
	struct sg s[2] = { { P(wbuf), 2048 }, { addr, len } };
	struct ahci_res r = ahci_rw(&a, 1, cmd, lba, 8, s, 2);
	check(ahci_refused(&r), "write LBA %u+8 (%s), %s: refused (%s)", lba,
	      cmd == 0x61 ? "NCQ" : "DMA EXT", what, ahci_res_str(&r));
	disk_note(lba, 8, PRE_SEED, "unchanged");
}

static void bad_read_entry(const char *what, uint8_t cmd, uint32_t addr, uint32_t len)
{
	fill32(sent, 0x10000, SENTINEL);
	struct sg s[2] = { { P(sent), 2048 }, { addr, len } };
	struct ahci_res r = ahci_rw(&a, 2, cmd, PRE_LBA, 8, s, 2);
	check(ahci_refused(&r), "read (%s), %s: refused (%s)", cmd == 0x60 ? "NCQ" : "DMA EXT",
	      what, ahci_res_str(&r));
	check(is_fill32(sent, 0x10000, SENTINEL), "read, %s: the valid buffer stayed untouched",
	      what);
}

/* A command whose table is at ctba (the FIS and PRDT copied there if it is
 * guest memory). */
static void bad_table(const char *what, uint32_t ctba, int write)
{
	uint32_t lba = next_lba;
	if (write)
		next_lba += 8;
	pat_fill(wbuf, lba, 8, WSEED + lba);
	fill32(sent, 0x10000, SENTINEL);
	struct sg s = { write ? P(wbuf) : P(sent), 4096 };
	ahci_build(&a, 0, write ? 0x35 : 0x25, lba, 8, &s, 1, write);
	if (ctba < hvb || ctba >= hvb + hvs) {
		/* copy what fits before the region */
		uint32_t room = (uint32_t)hvb > ctba ? (uint32_t)hvb - ctba : 0;
		memcpy((void *)(uintptr_t)ctba, a.ct[0], room < 0x90 ? room : 0x90);
	}
	a.clb[0].ctba = ctba;
	struct ahci_res r = ahci_issue(&a, 0, 0);
	check(ahci_refused(&r), "%s LBA %u+8, %s: refused (%s)", write ? "write" : "read", lba,
	      what, ahci_res_str(&r));
	if (write)
		disk_note(lba, 8, PRE_SEED, "unchanged");
	else
		check(is_fill32(sent, 0x10000, SENTINEL), "read, %s: the buffer stayed untouched",
		      what);
}

static void verify_prefill(const char *when)
{
	fill32(rbuf, 128 * 512, SENTINEL);
	struct sg s[2] = { { P(rbuf), 32768 }, { P(rbuf) + 32768, 32768 } };
	struct ahci_res r = ahci_rw(&a, 0, 0x25, PRE_LBA, 128, s, 2);
	uint32_t bad = ahci_ok(&r, 65536) ? pat_verify(rbuf, PRE_LBA, 128, PRE_SEED, when) : 128;
	check(ahci_ok(&r, 65536) && !bad, "%s: pre-filled LBA %u+128 reads as seed 0x%x: %s, %u bad",
	      when, PRE_LBA, PRE_SEED, ahci_res_str(&r), bad);
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
	printf("ahci_attack: hypervisor region %08llx-%08llx\n", hvb, hvb + hvs - 1);
	ahci_init(&a);
	verify_prefill("baseline");
	selftest("at start");

	uint32_t hb = (uint32_t)hvb;
	bad_write_entry("PRDT entry in the hypervisor region", 0x35, hb + 0x1000, 2048);
	bad_write_entry("PRDT entry straddling the region start", 0x35, hb - 0x800, 0x1000);
	bad_write_entry("PRDT entry in the hypervisor region", 0x61, hb + 0x2000, 2048);
	bad_read_entry("PRDT entry in the hypervisor region", 0x25, hb + 0x1000, 2048);
	bad_read_entry("PRDT entry in the hypervisor region", 0x60, hb + 0x3000, 2048);
	bad_read_entry("PRDT entry straddling the region start", 0x25, hb - 0x800, 0x1000);
	bad_table("command table in the hypervisor region", hb + 0x4000, 1);
	bad_table("command table in the hypervisor region", hb + 0x4000, 0);
	bad_table("PRDT running into the hypervisor region", hb - 0x80, 1);

	/* The command list itself in the region: stop the port, move PxCLB.
	 * (skipclb=1 leaves this one out.) */
	if (!mb_find_arg("skipclb")) {
		ahci_port_stop(&a);
		ahci_pwr(&a, PXCLB, hb + 0x5000);
		ahci_pwr(&a, PXCMD, ahci_prd(&a, PXCMD) | (1u << 4));
		ahci_pwr(&a, PXCMD, ahci_prd(&a, PXCMD) | 1u);
		ahci_pwr(&a, PXIS, ~0u);
		ahci_pwr(&a, PXCI, 1);
		struct deadline t;
		deadline_start(&t, 10);
		uint32_t is = 0, to = 0;
		while ((ahci_prd(&a, PXCI) & 1) && !((is = ahci_prd(&a, PXIS)) & PXIS_TFES))
			if (deadline_passed(&t)) {
				to = 1;
				break;
			}
		is = ahci_prd(&a, PXIS);
		uint32_t tfd = ahci_prd(&a, PXTFD);
		check(!to && ((is & PXIS_TFES) || (tfd & 1)),
		      "command list (PxCLB) in the hypervisor region: refused (TFD %04x IS %08x%s)",
		      tfd, is, to ? " TIMEOUT" : "");
		ahci_port_start(&a);
	}

	verify_prefill("afterwards");
	/* Normal I/O still works: rewrite nothing, read a non-attacked part. */
	selftest("at the end");
	disk_note(PRE_LBA, 128, PRE_SEED, "unchanged");
	tg_finish();
}
