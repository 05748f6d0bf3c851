/*
 * pci_write_check (dev/pci_cfg.c): guest configuration writes to a mediated
 * device, through ports 0xCF8/0xCFC (any byte offset, 1, 2 or 4 bytes) and
 * ECAM (aligned, 1, 2, 4 or 8 bytes), against a model of the device's BARs.
 *
 * Input: u8 header type, seven u8 BAR kinds (absent, I/O, 32- or 64-bit
 * memory) with u8 log2 sizes and u32 initial values, the windows (u16
 * hypervisor base in 2 MiB units, u8 size in 2 MiB units, u8 ECAM base in
 * 256 MiB units, 0 for none), then writes of u8 how, u8 register, u64 value.
 *
 * The model is the hardware: a write that is let through lands byte by byte
 * in a 256-byte configuration space and each BAR keeps only its writable
 * bits.  Invariant: after every write let through, no memory BAR that
 * thinvisor sized at boot (d->mem_size and d->mem64, worked out as
 * size_bars does) decodes over a window, a 64-bit one at its full address,
 * unless it holds the sizing pattern (all writable bits set) or base 0
 * (unassigned).  A refusal names a sized BAR.
 */
#include "fuzz.h"

#include "tv/pci.h"

enum { BAR_ABSENT, BAR_IO, BAR_MEM32, BAR_MEM64 };

struct model {
	u8 cfg[256 + 8];
	u32 nbars;		/* BARs in this header type (and the ROM) */
	u8 kind[7];
	u64 size[7];		/* decoded size of each BAR (0: absent) */
};

static u32 rd32(const struct model *m, u32 reg)
{
	return (u32)rd_le(m->cfg + reg, 4);
}

static void wr32(struct model *m, u32 reg, u32 v)
{
	memcpy(m->cfg + reg, &v, 4);
}

/* The bits of BAR i's register that hold its address, and its read-only flags. */
static u32 addr_bits(const struct model *m, u32 i)
{
	if (!m->size[i])
		return 0;
	if (i == 6)
		return 0xFFFFF800u & ~(u32)(m->size[i] - 1);
	if (m->kind[i] == BAR_IO)
		return 0xFFFFFFFCu & ~(u32)(m->size[i] - 1);
	return 0xFFFFFFF0u & ~(u32)(m->size[i] - 1);
}

static u32 flag_bits(const struct model *m, u32 i)
{
	if (i == 6 || !m->size[i])
		return 0;
	return m->kind[i] == BAR_IO ? 1 : m->kind[i] == BAR_MEM64 ? 4 : 0;
}

/* What the hardware keeps of whatever was written to its BAR registers. */
static void settle(struct model *m, const struct pci_dev *d)
{
	for (u32 i = 0; i <= 6; i++) {
		u32 r = pci_bar_reg(d, i);
		if (i >= m->nbars && i != 6)
			continue;	/* not a BAR in this header type */
		if (i < 6 && i > 0 && m->kind[i - 1] == BAR_MEM64 && m->size[i - 1])
			continue;	/* high half of a 64-bit BAR: all writable */
		u32 keep = addr_bits(m, i) | (i == 6 && m->size[i] ? 1u : 0);
		wr32(m, r, (rd32(m, r) & keep) | flag_bits(m, i));
	}
}

/* Where BAR i decodes, 0 if it holds the sizing pattern or is unassigned. */
static u64 bar_base(const struct model *m, const struct pci_dev *d, u32 i)
{
	u32 a = addr_bits(m, i), lo = rd32(m, pci_bar_reg(d, i)) & a;
	u64 base = lo;

	if (lo == a)
		return 0;	/* sizing */
	if (i < 5 && m->kind[i] == BAR_MEM64)
		base |= (u64)rd32(m, pci_bar_reg(d, i + 1)) << 32;
	return base;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct model m;
	struct pci_dev d;

	memset(&m, 0, sizeof(m));
	memset(&d, 0, sizeof(d));
	u8 hdr = (u8)take(&in, 1);
	d.header = hdr % 3;
	m.nbars = d.header == 0 ? 6 : d.header == 1 ? 2 : 0;
	for (u32 i = 0; i <= 6; i++) {
		u8 k = (u8)take(&in, 1), lg = (u8)take(&in, 1);
		u32 init = (u32)take(&in, 4);
		if (i >= m.nbars && i != 6)
			continue;	/* not a BAR in this header type */
		if (i > 0 && i < 6 && m.kind[i - 1] == BAR_MEM64 && m.size[i - 1]) {
			wr32(&m, pci_bar_reg(&d, i), init);	/* high half */
			continue;
		}
		m.kind[i] = i == 6 ? (k & 1 ? BAR_MEM32 : BAR_ABSENT) : k & 3;
		if (i == 5 && m.kind[i] == BAR_MEM64)
			m.kind[i] = BAR_MEM32;	/* no room for a high half */
		if (m.kind[i] == BAR_IO)
			m.size[i] = 1ull << (2 + lg % 7);
		else if (m.kind[i] != BAR_ABSENT)
			m.size[i] = 1ull << ((i == 6 ? 11 : 4) + lg % (i == 6 ? 14 : 28));
		wr32(&m, pci_bar_reg(&d, i), init);
	}
	if (d.header < 2) {
		/* What size_bars finds: every memory BAR and the ROM, by its address bits. */
		for (u32 i = 0; i <= 6; i++) {
			if (m.size[i] && m.kind[i] != BAR_IO)
				d.mem_size[i] = ~addr_bits(&m, i) + 1;
			if (i < 5 && m.kind[i] == BAR_MEM64)
				d.mem64 |= (u8)(1u << i);
		}
	}

	struct pci_window win[3];
	u32 nwin = 2;
	win[0] = (struct pci_window){ (take(&in, 2) % 2048) << 21, (1 + take(&in, 1) % 64) << 21 };
	win[1] = (struct pci_window){ 0xFEE00000u, 0x1000 };
	u64 ecam = (take(&in, 1) % 16) << 28;
	if (ecam)
		win[nwin++] = (struct pci_window){ ecam, 256ull << 20 };

	settle(&m, &d);
	/* Firmware left nothing over a window: unassign what would be. */
	for (u32 i = 0; i <= 6; i++) {
		if (!d.mem_size[i])
			continue;
		u64 b = bar_base(&m, &d, i);
		for (u32 k = 0; k < nwin; k++)
			if (b && ranges_overlap(b, m.size[i], win[k].base, win[k].size)) {
				wr32(&m, pci_bar_reg(&d, i), flag_bits(&m, i));
				if (i < 5 && m.kind[i] == BAR_MEM64)
					wr32(&m, pci_bar_reg(&d, i + 1), 0);
			}
	}

	while (in.n) {
		u8 how = (u8)take(&in, 1);
		u32 reg = (u32)take(&in, 1);
		u64 val = take(&in, 8);
		u8 wsize;
		u32 nbytes;

		if (how & 1) {
			/* ECAM: naturally aligned, the check sees the low 32 bits */
			wsize = (u8)(1u << ((how >> 1) & 3));
			reg &= ~(u32)(wsize - 1);
			nbytes = wsize;
		} else {
			/* 0xCFC-0xCFF: bytes past 0xCFF go to other ports */
			static const u8 sizes[] = { 1, 2, 4, 4 };
			wsize = sizes[(how >> 1) & 3];
			nbytes = MIN(wsize, 4 - (reg & 3));
			val &= wsize == 4 ? 0xFFFFFFFFull : (1ull << (8 * wsize)) - 1;
		}
		u64 cur64[6], base = 0;
		u32 bar = 99;
		for (u32 i = 0; i < 6; i++)
			cur64[i] = i < 5 && (d.mem64 >> i & 1) ? rd_le(m.cfg + pci_bar_reg(&d, i), 8)
							       : 0xA5A5A5A5A5A5A5A5ull;
		enum pci_write_verdict v = pci_write_check(&d, reg, wsize, (u32)val, cur64, win, nwin, &bar,
							   &base);
		CHECK(v == PCI_WRITE_OK || v == PCI_WRITE_PARTIAL_BAR || v == PCI_WRITE_OVER_WINDOW);
		if (v != PCI_WRITE_OK) {
			CHECK(bar <= 6 && d.mem_size[bar]);
			continue;
		}
		for (u32 b = 0; b < nbytes && reg + b < 256; b++)
			m.cfg[reg + b] = (u8)(val >> (8 * b));
		settle(&m, &d);
		for (u32 i = 0; i <= 6; i++) {
			if (!d.mem_size[i])
				continue;
			u64 b = bar_base(&m, &d, i);
			for (u32 k = 0; k < nwin; k++) {
				bool over = b && ranges_overlap(b, m.size[i], win[k].base, win[k].size);
				if (over)
					fprintf(stderr, "BAR %u at %#llx (size %#llx) over window %#llx+%#llx "
						"after a %u-byte write of %#llx at %#x\n", i,
						(unsigned long long)b, (unsigned long long)m.size[i],
						(unsigned long long)win[k].base,
						(unsigned long long)win[k].size, wsize,
						(unsigned long long)val, reg);
				CHECK(!over);
			}
		}
	}
	return 0;
}
