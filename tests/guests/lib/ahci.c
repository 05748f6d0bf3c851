/* SPDX-License-Identifier: MIT */
/* Polling AHCI driver for the storage test guests: see ahci.h. */
#include "ahci.h"

static uint32_t cfg_addr(struct ahci *a, uint8_t off)
{
	return 0x80000000u | (uint32_t)a->bus << 16 | (uint32_t)a->dev << 11 |
	       (uint32_t)a->fn << 8 | (off & 0xFCu);
}

uint32_t ahci_rd(struct ahci *a, uint32_t off)
{
	return *(volatile uint32_t *)(a->abar + off);
}
void ahci_wr(struct ahci *a, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)(a->abar + off) = v;
}
uint32_t ahci_prd(struct ahci *a, uint32_t r)
{
	return ahci_rd(a, 0x100 + 0x80u * (uint32_t)a->port + r);
}
void ahci_pwr(struct ahci *a, uint32_t r, uint32_t v)
{
	ahci_wr(a, 0x100 + 0x80u * (uint32_t)a->port + r, v);
}

static int wait_port(struct ahci *a, uint32_t r, uint32_t mask, uint32_t want, uint32_t secs)
{
	struct deadline t;
	deadline_start(&t, secs);
	while ((ahci_prd(a, r) & mask) != want)
		if (deadline_passed(&t))
			return -1;
	return 0;
}

void ahci_port_stop(struct ahci *a)
{
	uint32_t c = ahci_prd(a, PXCMD);
	ahci_pwr(a, PXCMD, c & ~1u);
	if (wait_port(a, PXCMD, 1u << 15, 0, 5))
		printf("  ahci: PxCMD.CR stays set\n");
	c = ahci_prd(a, PXCMD);
	ahci_pwr(a, PXCMD, c & ~(1u << 4));
	if (wait_port(a, PXCMD, 1u << 14, 0, 5))
		printf("  ahci: PxCMD.FR stays set\n");
}

void ahci_port_start(struct ahci *a)
{
	ahci_port_stop(a);
	ahci_pwr(a, PXCLB, (uint32_t)(uintptr_t)a->clb);
	ahci_pwr(a, PXCLBU, 0);
	ahci_pwr(a, PXFB, (uint32_t)(uintptr_t)a->fb);
	ahci_pwr(a, PXFBU, 0);
	ahci_pwr(a, PXSERR, ~0u);
	ahci_pwr(a, PXIS, ~0u);
	ahci_wr(a, 0x08, ~0u);
	uint32_t c = ahci_prd(a, PXCMD);
	ahci_pwr(a, PXCMD, c | (1u << 4));
	if (wait_port(a, PXTFD, 0x88, 0, 10))
		printf("  ahci: PxTFD busy before start: %08x\n", ahci_prd(a, PXTFD));
	ahci_pwr(a, PXCMD, ahci_prd(a, PXCMD) | 1u);
}

void ahci_init(struct ahci *a)
{
	memset(a, 0, sizeof(*a));
	int found = pci_find_class(0x010601, 0xFFFFFF, &a->bus, &a->dev, &a->fn);
	if (!found)
		fail(test_name, "no AHCI controller (class 01:06:01): run on -machine q35");
	outl(0xCF8, cfg_addr(a, 0x24));
	uint32_t bar5 = ide_inl(0xCFC);
	if ((bar5 & 1) || !(bar5 & ~0xFu))
		fail(test_name, "AHCI BAR5 %08x is not a memory BAR", bar5);
	a->abar = (volatile uint8_t *)(uintptr_t)(bar5 & ~0xFu);
	outl(0xCF8, cfg_addr(a, 0x04));
	uint32_t cmd = ide_inl(0xCFC);
	outl(0xCF8, cfg_addr(a, 0x04));
	outl(0xCFC, (cmd & 0xFFFF) | 0x6);
	ahci_wr(a, 0x04, ahci_rd(a, 0x04) | (1u << 31));
	ahci_wr(a, 0x04, ahci_rd(a, 0x04) & ~2u);	/* no interrupts */
	uint32_t pi = ahci_rd(a, 0x0C);
	a->port = -1;
	for (int p = 0; p < 32; p++) {
		if (!(pi & (1u << p)))
			continue;
		uint32_t ssts = ahci_rd(a, 0x100 + 0x80u * (uint32_t)p + PXSSTS);
		uint32_t sig = ahci_rd(a, 0x100 + 0x80u * (uint32_t)p + PXSIG);
		if ((ssts & 0xF) == 3 && sig == 0x101) {
			a->port = p;
			break;
		}
	}
	if (a->port < 0)
		fail(test_name, "no AHCI port with a disk (DET=3, signature 0x101); PI %08x", pi);
	a->clb = mem_alloc(1024, 1024);
	a->fb = mem_alloc(256, 256);
	memset(a->clb, 0, 1024);
	memset(a->fb, 0, 256);
	for (int s = 0; s < AHCI_SLOTS; s++)
		a->ct[s] = mem_alloc(AHCI_CT_SIZE, 128);
	ahci_port_start(a);

	struct sg s = { (uint32_t)(uintptr_t)a->id, 512 };
	struct ahci_res r = ahci_rw(a, 0, 0xEC, 0, 0, &s, 1);
	if (!ahci_ok(&r, 512))
		fail(test_name, "AHCI IDENTIFY failed: %s", ahci_res_str(&r));
	if (a->id[83] & (1u << 10))
		a->sectors = (uint64_t)a->id[100] | (uint64_t)a->id[101] << 16 |
			     (uint64_t)a->id[102] << 32 | (uint64_t)a->id[103] << 48;
	else
		a->sectors = (uint64_t)a->id[60] | (uint64_t)a->id[61] << 16;
	printf("ahci: %02x:%02x.%u ABAR %08x port %d, %llu sectors, NCQ %s, CAP %08x\n", a->bus,
	       a->dev, a->fn, (uint32_t)(uintptr_t)a->abar, a->port, a->sectors,
	       (a->id[76] & 0x100) ? "yes" : "no", ahci_rd(a, 0));
}

int ahci_is_ncq(uint8_t cmd)
{
	return cmd == 0x60 || cmd == 0x61;
}
int ahci_is_write(uint8_t cmd)
{
	return cmd == 0x35 || cmd == 0x61 || cmd == 0x30 || cmd == 0x34 || cmd == 0xCA ||
	       cmd == 0x3D || cmd == 0x92 || cmd == 0x93 || cmd == 0x3F || cmd == 0x57 ||
	       cmd == 0x06;
}

void ahci_build(struct ahci *a, int s, uint8_t cmd, uint64_t lba, uint32_t count,
		const struct sg *sg, int n, int write)
{
	uint8_t *ct = a->ct[s];
	memset(ct, 0, 0x80);
	uint8_t *f = ct;
	f[0] = 0x27;
	f[1] = 0x80;
	f[2] = cmd;
	f[4] = (uint8_t)lba;
	f[5] = (uint8_t)(lba >> 8);
	f[6] = (uint8_t)(lba >> 16);
	f[7] = 0x40;
	f[8] = (uint8_t)(lba >> 24);
	f[9] = (uint8_t)(lba >> 32);
	f[10] = (uint8_t)(lba >> 40);
	if (ahci_is_ncq(cmd)) {
		f[3] = (uint8_t)count;
		f[11] = (uint8_t)(count >> 8);
		f[12] = (uint8_t)(s << 3);
	} else {
		f[12] = (uint8_t)count;
		f[13] = (uint8_t)(count >> 8);
	}
	struct ahci_prd *p = (struct ahci_prd *)(ct + 0x80);
	for (int i = 0; i < n && i < AHCI_PRDT_N; i++) {
		p[i].dba = sg[i].addr;
		p[i].dbau = 0;
		p[i].rsvd = 0;
		p[i].dbc = (sg[i].len - 1) | 1u;
	}
	struct ahci_hdr *h = &a->clb[s];
	memset(h, 0, sizeof(*h));
	h->dw0 = 5u | (write ? 1u << 6 : 0) | (uint32_t)n << 16;
	h->ctba = (uint32_t)(uintptr_t)ct;
}

struct ahci_res ahci_issue(struct ahci *a, int s, int ncq)
{
	struct ahci_res r = { 0, 0, 0, 0, ncq };
	uint32_t bit = 1u << s;
	ahci_pwr(a, PXIS, ~0u);
	ahci_wr(a, 0x08, ~0u);
	__asm__ volatile("" ::: "memory");
	if (ncq)
		ahci_pwr(a, PXSACT, bit);
	ahci_pwr(a, PXCI, bit);
	struct deadline t;
	deadline_start(&t, ide_timeout_s);
	for (;;) {
		uint32_t ci = ahci_prd(a, PXCI), sact = ahci_prd(a, PXSACT);
		r.is = ahci_prd(a, PXIS);
		if (r.is & PXIS_TFES)
			break;
		if (!(ci & bit) && !(ncq && (sact & bit)))
			break;
		if (deadline_passed(&t)) {
			r.timeout = 1;
			break;
		}
	}
	r.tfd = ahci_prd(a, PXTFD);
	r.is = ahci_prd(a, PXIS);
	r.bytes = a->clb[s].prdbc;
	if ((r.is & PXIS_TFES) || r.timeout) {
		/* Error recovery: stop and restart the port (clears PxCI/PxSACT). */
		ahci_port_start(a);
	}
	ahci_pwr(a, PXIS, ~0u);
	return r;
}

struct ahci_res ahci_rw(struct ahci *a, int s, uint8_t cmd, uint64_t lba, uint32_t count,
			const struct sg *sg, int n)
{
	ahci_build(a, s, cmd, lba, count, sg, n, ahci_is_write(cmd));
	return ahci_issue(a, s, ahci_is_ncq(cmd));
}

int ahci_ok(const struct ahci_res *r, uint32_t bytes)
{
	return !r->timeout && !(r->is & PXIS_TFES) && !(r->tfd & 0x89) &&
	       (r->ncq || r->bytes == bytes);
}

int ahci_refused(const struct ahci_res *r)
{
	return !r->timeout && ((r->is & PXIS_TFES) || (r->tfd & 1)) && r->bytes == 0;
}

const char *ahci_res_str(const struct ahci_res *r)
{
	static char b[80];
	snprintf(b, sizeof(b), "TFD %04x IS %08x bytes %u%s", r->tfd, r->is, r->bytes,
		 r->timeout ? " TIMEOUT" : "");
	return b;
}
