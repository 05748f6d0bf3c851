/* Which guest PCI configuration writes may reach a device: pure, host-tested. */
#include "tv/pci.h"

enum pci_write_verdict pci_write_check(const struct pci_dev *d, u32 reg, u8 size, u32 val,
				       const struct pci_window *win, u32 nwin, u32 *bar, u64 *base)
{
	for (u32 i = 0; i <= 6; i++) {
		u16 r = pci_bar_reg(d, i);
		if (!d->mem_size[i] || reg != r)
			continue;
		u64 b = val & (i == 6 ? 0xFFFFF800u : 0xFFFFFFF0u), sz = d->mem_size[i];
		*bar = i;
		*base = b;
		if (size != 4)
			return PCI_WRITE_PARTIAL_BAR;
		if (val == 0xFFFFFFFFu || (i == 6 && (val & 0xFFFFF800u) == 0xFFFFF800u) || b == 0)
			return PCI_WRITE_OK;	/* sizing, or unassigned */
		for (u32 k = 0; k < nwin; k++)
			if (ranges_overlap(b, sz, win[k].base, win[k].size))
				return PCI_WRITE_OVER_WINDOW;
	}
	return PCI_WRITE_OK;
}
