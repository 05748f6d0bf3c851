/* Which guest PCI configuration writes may reach a device: pure, host-tested. */
#include "tv/pci.h"

enum pci_write_verdict pci_write_check(const struct pci_dev *d, u32 reg, u8 size, u32 val,
				       const u64 cur64[6], const struct pci_window *win, u32 nwin,
				       u32 *bar, u64 *base)
{
	for (u32 i = 0; i <= 6; i++) {
		u16 r = pci_bar_reg(d, i);
		bool wide = i < 5 && (d->mem64 >> i & 1);
		if (!d->mem_size[i] || !ranges_overlap(reg, size, r, wide ? 8 : 4))
			continue;
		/* The address bits the device decodes: those below its size are read-only zero. */
		u64 sz = d->mem_size[i];
		u32 amask = (i == 6 ? 0xFFFFF800u : 0xFFFFFFF0u) & ~(u32)(sz - 1);
		bool upper = wide && reg == r + 4u;
		u32 lo = upper ? (u32)cur64[i] : val;
		u64 hi = !wide ? 0 : upper ? val : cur64[i] >> 32;
		u64 b = hi << 32 | (lo & amask);
		*bar = i;
		*base = b;
		if (size != 4 || (reg != r && !upper))
			return PCI_WRITE_PARTIAL_BAR;	/* any of its bytes, alone or with others */
		if (upper ? (lo & amask) == amask :
		    val == 0xFFFFFFFFu || (i == 6 && (val & 0xFFFFF800u) == 0xFFFFF800u))
			return PCI_WRITE_OK;	/* sizing */
		if (b == 0)
			return PCI_WRITE_OK;	/* unassigned */
		for (u32 k = 0; k < nwin; k++)
			if (ranges_overlap(b, sz, win[k].base, win[k].size))
				return PCI_WRITE_OVER_WINDOW;
	}
	return PCI_WRITE_OK;
}
