/* SPDX-License-Identifier: MIT */
/*
 * A minimal polling AHCI driver for the storage test guests (32-bit, no
 * paging, interrupts off): PCI discovery (class 01:06:01, ABAR = BAR5),
 * GHC.AE, the first port with a device (PxSSTS.DET = 3, PxSIG 0x101), our
 * own command list / FIS area / command tables from the ide.c bump
 * allocator, and commands with a PRDT: READ/WRITE DMA EXT and READ/WRITE
 * FPDMA QUEUED (with PxSACT).  Commands poll PxCI (and PxSACT) and
 * PxIS.TFES, bounded by the RTC, and return PxTFD, PxIS and the PRD byte
 * count so tests can assert refusals.
 */
#ifndef TG_AHCI_H
#define TG_AHCI_H

#include "ide.h"

#define AHCI_SLOTS     4	/* command tables we allocate */
#define AHCI_PRDT_N    256	/* PRDT entries per command table */
#define AHCI_CT_SIZE   (0x80 + 16 * AHCI_PRDT_N)

struct ahci_prd {
	uint32_t dba, dbau, rsvd, dbc; /* dbc: byte count - 1 (bit 0 set), bit 31 I */
};

struct ahci_hdr {
	uint32_t dw0;	/* CFL (dwords) | A<<5 | W<<6 | PRDTL<<16 */
	uint32_t prdbc; /* bytes transferred (written by the HBA) */
	uint32_t ctba, ctbau;
	uint32_t rsvd[4];
};

struct ahci {
	volatile uint8_t *abar;
	uint8_t bus, dev, fn;
	int port;
	struct ahci_hdr *clb; /* 32 headers, 1 KiB aligned */
	uint8_t *fb;	      /* 256 bytes */
	uint8_t *ct[AHCI_SLOTS];
	uint64_t sectors;
	uint16_t id[256];
};

struct ahci_res {
	uint32_t tfd, is, bytes;
	int timeout;
	int ncq; /* queued: PRDBC need not be valid (AHCI 1.3.1, 4.2.2) */
};

uint32_t ahci_rd(struct ahci *a, uint32_t off);
void ahci_wr(struct ahci *a, uint32_t off, uint32_t v);
uint32_t ahci_prd(struct ahci *a, uint32_t r);	/* port register */
void ahci_pwr(struct ahci *a, uint32_t r, uint32_t v);
#define PXCLB  0x00
#define PXCLBU 0x04
#define PXFB   0x08
#define PXFBU  0x0C
#define PXIS   0x10
#define PXCMD  0x18
#define PXTFD  0x20
#define PXSIG  0x24
#define PXSSTS 0x28
#define PXSERR 0x30
#define PXSACT 0x34
#define PXCI   0x38
#define PXIS_TFES (1u << 30)

/* Find, reset and start the HBA port, IDENTIFY; fail() the test if absent. */
void ahci_init(struct ahci *a);
/* (Re)program our command list and FIS area and start the port. */
void ahci_port_start(struct ahci *a);
void ahci_port_stop(struct ahci *a);

/*
 * Build slot s: H2D FIS for cmd (0x25/0x35/0xEC/... or 0x60/0x61 FPDMA
 * with tag s), the PRDT from the scatter list (each segment <= 4 MiB,
 * even), the header pointing at a->ct[s].  The caller may then modify the
 * header / PRDT before ahci_issue().
 */
void ahci_build(struct ahci *a, int s, uint8_t cmd, uint64_t lba, uint32_t count,
		const struct sg *sg, int n, int write);
/* Issue slot s (NCQ: PxSACT first) and poll. */
struct ahci_res ahci_issue(struct ahci *a, int s, int ncq);
/* build + issue */
struct ahci_res ahci_rw(struct ahci *a, int s, uint8_t cmd, uint64_t lba, uint32_t count,
			const struct sg *sg, int n);
int ahci_is_ncq(uint8_t cmd);
int ahci_is_write(uint8_t cmd);
/* Clean success: no TFES, no ERR/BSY/DRQ, no timeout, byte count = bytes
 * (not checked for NCQ commands). */
int ahci_ok(const struct ahci_res *r, uint32_t bytes);
/* Refused: TFES or ERR, no timeout, and nothing moved. */
int ahci_refused(const struct ahci_res *r);
const char *ahci_res_str(const struct ahci_res *r);

#endif
