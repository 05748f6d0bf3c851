/* PCI configuration space: the hypervisor's own access and guest mediation. */
#ifndef TV_PCI_H
#define TV_PCI_H

#include "tv/types.h"

#define PCI_MAX_DEVS 64

struct pci_dev {
	u8 bus, dev, fn;
	u16 vendor, device;
	u32 class;		/* class << 16 | subclass << 8 | prog-if */
	u8 owner;		/* which mediator took it (PCI_OWNER_*) */
	u32 instance;
	u8 header;		/* header type (0: device, 1: bridge) */
	u32 mem_size[7];	/* sizes of 32-bit memory BARs 0-5 and the ROM (0: none) */
	u8 mem64;		/* bit i: memory BAR i is 64-bit (BAR i + 1 its upper half) */
};

#define PCI_OWNER_NONE 0
#define PCI_OWNER_ATA 1
#define PCI_OWNER_AHCI 3
#define PCI_OWNER_NVME 4
#define PCI_OWNER_HIDDEN 2	/* storage we cannot mediate: disabled, invisible to the guest */

/* Configuration address as written to port 0xCF8. */
static inline u32 pci_addr(u8 bus, u8 dev, u8 fn, u16 reg)
{
	return 0x80000000u | (u32)bus << 16 | (u32)(dev & 31) << 11 | (u32)(fn & 7) << 8 | (reg & 0xFC);
}

u32 pci_read32(const struct pci_dev *d, u16 reg);
void pci_write32(const struct pci_dev *d, u16 reg, u32 val);

/* The configuration register of BAR i (0-5) or of the expansion ROM (6). */
static inline u16 pci_bar_reg(const struct pci_dev *d, u32 i)
{
	if (i == 6)
		return d->header == 1 ? 0x38 : 0x30;
	return (u16)(0x10 + 4 * i);
}

/* A physical window no memory BAR may be moved over. */
struct pci_window {
	u64 base, size;
};

enum pci_write_verdict {
	PCI_WRITE_OK,
	PCI_WRITE_PARTIAL_BAR,	/* less than the whole register of a memory BAR */
	PCI_WRITE_OVER_WINDOW,	/* would move a memory BAR over a window */
};

/*
 * May the guest write 'val' ('size' bytes) to configuration register 'reg'
 * of d?  Not if it would make a memory BAR (as sized at boot, d->mem_size)
 * decode over one of the nwin windows, nor if it writes only part of one
 * (any of its bytes but as the whole aligned register); sizing (all ones)
 * and unassigning (base 0) are allowed.  cur64[i] is the current value of
 * 64-bit BAR i (upper half << 32 | lower half): a write of either half is
 * checked at the full address it makes.  On a refusal *bar is the BAR and
 * *base where it would have gone (dev/pci_cfg.c: pure, host-tested).
 */
enum pci_write_verdict pci_write_check(const struct pci_dev *d, u32 reg, u8 size, u32 val,
				       const u64 cur64[6], const struct pci_window *win, u32 nwin,
				       u32 *bar, u64 *base);

/* Decode a BAR as an I/O port base (0 if it is not an I/O BAR). */
static inline u16 pci_bar_io(u32 bar)
{
	return (bar & 1) ? (u16)(bar & 0xFFFC) : 0;
}

void pci_init(void);
void iommu_init(void);	/* dev/iommu.c: takes the IOMMU, after pci_init() */

#endif
