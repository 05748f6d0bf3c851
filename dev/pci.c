/*
 * PCI configuration mediation (ports 0xCF8/0xCFC).  The guest's address
 * latch is virtual; every guest data access is replayed on the hardware
 * with its address, so the guest reaches every device exactly as before.
 * Storage controllers are found by class code at boot, and every guest
 * write to one of their configuration registers is followed by a re-read
 * of where their ports now are.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/io.h"
#include "tv/iommu.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/mmio_trap.h"
#include "tv/pci.h"
#include "tv/storage.h"

static struct pci_dev devs[PCI_MAX_DEVS];
static u64 ecam_base;		/* ECAM window (trapped), 0 if none */
static u8 ecam_bus0;
static u32 ndevs;
static u32 guest_cf8;

void ata_attach(const struct pci_dev *d, u32 instance);
bool ahci_attach(const struct pci_dev *d);
void ahci_bar_moved(u32 bar);
bool nvme_attach(const struct pci_dev *d);
void nvme_bar_moved(u64 bar);
void ata_pci_changed(u32 instance);
u32 ata_controllers(void);
static struct pci_dev *find(u32 addr);

/*
 * After a guest configuration write to a mediated device: IDE ports may
 * have moved; an AHCI or NVMe controller's registers may have moved, and
 * whenever it decodes memory, its trap is where its BAR says.
 */
static void after_write(struct pci_dev *d, u32 reg)
{
	if (d->owner == PCI_OWNER_ATA && (reg < 0x0C || (reg >= 0x10 && reg < 0x28)))
		ata_pci_changed(d->instance);
	if ((d->owner == PCI_OWNER_AHCI || d->owner == PCI_OWNER_NVME) && reg < 0x28 &&
	    (pci_read32(d, 0x04) & 0x2)) {
		if (d->owner == PCI_OWNER_AHCI) {
			ahci_bar_moved(pci_read32(d, 0x24));
		} else {
			u32 lo = pci_read32(d, 0x10);
			u64 hi = (lo & 0x6) == 0x4 ? (u64)pci_read32(d, 0x14) << 32 : 0;
			nvme_bar_moved(hi | (lo & ~0xFu));
		}
	}
}

static u32 cfg_read(u32 addr)
{
	outl(0xCF8, addr);
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((u16)0xCFC));
	return v;
}

u32 pci_read32(const struct pci_dev *d, u16 reg)
{
	return cfg_read(pci_addr(d->bus, d->dev, d->fn, reg));
}

void pci_write32(const struct pci_dev *d, u16 reg, u32 val)
{
	outl(0xCF8, pci_addr(d->bus, d->dev, d->fn, reg));
	outl(0xCFC, val);
}

/*
 * How large each memory BAR is (write all ones, read back, restore, with
 * decoding off meanwhile), so that a guest write that would put one over the
 * hypervisor can be recognised.
 */
static void size_bars(struct pci_dev *d)
{
	u32 nbars = d->header == 0 ? 6 : d->header == 1 ? 2 : 0;
	u32 cmd = pci_read32(d, 0x04);

	if (!nbars)
		return;
	pci_write32(d, 0x04, cmd & ~0x3u);
	for (u32 i = 0; i <= 6; i++) {
		if (i >= nbars && i != 6)
			continue;
		u16 r = pci_bar_reg(d, i);
		u32 old = pci_read32(d, r);
		if (i < 6 && (old & 1))
			continue;	/* I/O BAR */
		pci_write32(d, r, i == 6 ? 0xFFFFF800u : 0xFFFFFFFFu);
		u32 mask = pci_read32(d, r) & (i == 6 ? 0xFFFFF800u : 0xFFFFFFF0u);
		pci_write32(d, r, old);
		d->mem_size[i] = mask ? ~mask + 1 : 0;
		if (i < 6 && (old & 0x6) == 0x4) {
			if (i < 5)
				d->mem64 |= (u8)(1u << i);
			i++;	/* 64-bit: the next register is the high half */
		}
	}
	pci_write32(d, 0x04, cmd);
}

/*
 * May the guest write 'val' to configuration register 'reg'?  Not if it
 * would put a memory BAR over the hypervisor region, the local APIC, the
 * IOMMU's registers or a window thinvisor traps, nor if it writes only part
 * of a memory BAR.
 */
static bool write_allowed(const struct pci_dev *d, u32 reg, u8 size, u32 val)
{
	struct pci_window win[3 + IOMMU_UNITS_MAX + MMIO_RANGES] = {
		{ hv.region_base, hv.region_size },
		{ 0xFEE00000u, 0x1000 },
		{ ecam_base, 256ull << 20 },
	};
	u32 nwin = ecam_base ? 3 : 2;
	for (u32 i = 0; i < iommu.units && i < IOMMU_UNITS_MAX; i++)
		win[nwin++] = (struct pci_window){ iommu.base[i], iommu.size };
	/* Another device's trapped registers (a mediated controller's own follow its BAR). */
	u32 own = d->owner == PCI_OWNER_AHCI ? MMIO_AHCI : d->owner == PCI_OWNER_NVME ? MMIO_NVME : MMIO_OWNER_COUNT;
	u64 rb, rl;
	for (u32 i = 0; i < MMIO_RANGES && mmio_range_at(i, &rb, &rl); i++)
		if (mmio_range_owner(i) != own)
			win[nwin++] = (struct pci_window){ rb, rl };
	u64 cur64[6] = { 0 }, base = 0;
	u32 bar = 0;

	/* Half a 64-bit BAR moves it to where the two halves then say. */
	for (u32 i = 0; i < 5; i++) {
		u16 r = pci_bar_reg(d, i);
		if ((d->mem64 >> i & 1) && ranges_overlap(reg, size, r, 8))
			cur64[i] = (u64)pci_read32(d, (u16)(r + 4)) << 32 | pci_read32(d, r);
	}
	switch (pci_write_check(d, reg, size, val, cur64, win, nwin, &bar, &base)) {
	case PCI_WRITE_PARTIAL_BAR:
		log_warn("pci %02x:%02x.%u: partial write to BAR %u refused\n", d->bus, d->dev, d->fn, bar);
		return false;
	case PCI_WRITE_OVER_WINDOW:
		log_warn("pci %02x:%02x.%u: BAR %u move to %lx refused (over hypervisor or trapped memory)\n",
			 d->bus, d->dev, d->fn, bar, base);
		return false;
	default:
		return true;
	}
}

static void scan_bus(u8 bus, u32 depth)
{
	for (u8 dev = 0; dev < 32; dev++) {
		for (u8 fn = 0; fn < 8; fn++) {
			u32 id = cfg_read(pci_addr(bus, dev, fn, 0));
			if ((id & 0xFFFF) == 0xFFFF) {
				if (fn == 0)
					break;
				continue;
			}
			u32 hdr = cfg_read(pci_addr(bus, dev, fn, 0x0C)) >> 16 & 0xFF;
			u32 cls = cfg_read(pci_addr(bus, dev, fn, 0x08)) >> 8;
			if (ndevs < PCI_MAX_DEVS) {
				devs[ndevs] = (struct pci_dev){ bus, dev, fn, (u16)id, (u16)(id >> 16), cls,
								PCI_OWNER_NONE, 0, (u8)(hdr & 0x7F), { 0 }, 0 };
				size_bars(&devs[ndevs++]);
			}
			if ((hdr & 0x7F) == 1 && depth < 8) {	/* PCI-PCI bridge */
				u8 sec = (u8)(cfg_read(pci_addr(bus, dev, fn, 0x18)) >> 8);
				if (sec > bus)
					scan_bus(sec, depth + 1);
			}
			if (fn == 0 && !(hdr & 0x80))
				break;
		}
	}
}

/*
 * ECAM (MMCONFIG, from the ACPI MCFG table): the same configuration space
 * through memory.  Its whole window is trapped, so hidden devices stay
 * hidden and writes to mediated ones are seen there too.
 */

static void ecam_init(void)
{
	const u8 *mcfg = acpi_find_table("MCFG");
	u32 len;

	if (!mcfg)
		return;
	memcpy(&len, mcfg + 4, 4);
	if (len < 44 + 16)
		return;
	const u8 *e = mcfg + 44;	/* first allocation: base, segment, bus range */
	u64 base;
	memcpy(&base, e, 8);
	u8 bus0 = e[10], bus1 = e[11];
	u64 size = ((u64)(bus1 - bus0) + 1) << 20;
	if (bus1 < bus0 || mmio_claim(base + ((u64)bus0 << 20), size, MMIO_ECAM, 0)) {
		log_warn("pci: cannot trap ECAM at %lx: hidden devices may be reachable there\n", base);
		return;
	}
	ecam_base = base + ((u64)bus0 << 20);
	ecam_bus0 = bus0;
	log_debug("pci: ECAM at %lx, buses %u-%u, mediated\n", ecam_base, bus0, bus1);
}

void pci_ecam_access(struct vcpu *v, u32 instance, u64 offset, u8 size, bool write, u64 *val)
{
	u32 addr = pci_addr((u8)(ecam_bus0 + (offset >> 20)), (offset >> 15) & 31, (offset >> 12) & 7, 0);
	struct pci_dev *d = find(addr);
	volatile void *p = phys_ptr(&hv.pm, ecam_base + offset, size);
	u32 reg = offset & 0xFFF;

	(void)v;
	(void)instance;
	if ((d && d->owner == PCI_OWNER_HIDDEN) || !p || (offset & (size - 1))) {
		if (!write)
			*val = ~0ull;
		return;
	}
	if (write && d && !write_allowed(d, reg, size, (u32)*val))
		return;
	switch (size) {
	case 1:
		if (write) *(volatile u8 *)p = (u8)*val; else *val = *(volatile u8 *)p;
		break;
	case 2:
		if (write) *(volatile u16 *)p = (u16)*val; else *val = *(volatile u16 *)p;
		break;
	case 4:
		if (write) *(volatile u32 *)p = (u32)*val; else *val = *(volatile u32 *)p;
		break;
	default:
		if (write) *(volatile u64 *)p = *val; else *val = *(volatile u64 *)p;
	}
	if (write && d)
		after_write(d, reg);
}

void pci_init(void)
{
	scan_bus(0, 0);
	for (u32 i = 0; i < ndevs; i++) {
		struct pci_dev *d = &devs[i];
		log_debug("pci %02x:%02x.%u %04x:%04x class %06x\n", d->bus, d->dev, d->fn, d->vendor,
			  d->device, d->class);
		if ((d->class >> 8) == 0x0101) {	/* IDE controller */
			d->owner = PCI_OWNER_ATA;
			d->instance = ata_controllers();
			ata_attach(d, d->instance);
		} else if (d->class == 0x010601 && ahci_attach(d)) {
			d->owner = PCI_OWNER_AHCI;
		} else if (d->class == 0x010802 && nvme_attach(d)) {
			d->owner = PCI_OWNER_NVME;
		} else if ((d->class >> 16) == 0x01) {
			/*
			 * Mass storage we do not mediate (yet): AHCI, NVMe, SCSI...
			 * Whatever the guest wrote through it would reach the disk
			 * unencrypted, so the device is switched off (no I/O, memory
			 * or bus mastering) and hidden from the guest's enumeration.
			 */
			d->owner = PCI_OWNER_HIDDEN;
			u32 cmd = pci_read32(d, 0x04);
			pci_write32(d, 0x04, cmd & ~0x7u);
			log_warn("storage: %02x:%02x.%u (class %06x) cannot be mediated yet: disabled and hidden "
				 "from the guest\n", d->bus, d->dev, d->fn, d->class);
		} else if ((d->class >> 8) == 0x0806) {
			/* The IOMMU (AMD-Vi's is a PCI function): thinvisor's, not the guest's; left on. */
			d->owner = PCI_OWNER_HIDDEN;
		}
	}
	if (io_claim(0xCF8, 8, IO_PCI, 0))
		panic("cannot intercept PCI configuration ports\n");
	ecam_init();
}

const struct pci_dev *pci_dev_at(u32 i)
{
	return i < ndevs ? &devs[i] : NULL;
}

static struct pci_dev *find(u32 addr)
{
	u8 bus = (u8)(addr >> 16), dev = (addr >> 11) & 31, fn = (addr >> 8) & 7;

	for (u32 i = 0; i < ndevs; i++)
		if (devs[i].bus == bus && devs[i].dev == dev && devs[i].fn == fn)
			return &devs[i];
	return NULL;
}

void pci_io(struct vcpu *v, u32 instance, u16 port, u8 size, bool in, void *data, u32 count)
{
	u8 *p = data;

	(void)v;
	(void)instance;
	for (u32 i = 0; i < count; i++, p += size) {
		if (port == 0xCF8 && size == 4) {
			if (in)
				memcpy(p, &guest_cf8, 4);
			else
				memcpy(&guest_cf8, p, 4);
			continue;
		}
		if (port < 0xCFC || !(guest_cf8 & 0x80000000u)) {
			/* 0xCF9 (reset control) and friends, or config disabled. */
			if (port == 0xCF9 && size == 1 && !in && (*p & 0x04)) {
				log_info("guest resets the machine (port cf9)\n");
				storage_wipe();		/* forget the key */
				log_drain();
			}
			io_passthrough(port, size, in, p, 1);
			continue;
		}
		struct pci_dev *hidden = find(guest_cf8);
		if (hidden && hidden->owner == PCI_OWNER_HIDDEN) {
			/* As if the slot were empty: reads float, writes vanish. */
			if (in)
				memset(p, 0xFF, size);
			continue;
		}
		struct pci_dev *d = find(guest_cf8);
		u32 reg = (guest_cf8 & 0xFC) + (port - 0xCFCu), wval = 0;
		memcpy(&wval, p, size);
		if (!in && d && !write_allowed(d, reg, size, wval))
			continue;
		outl(0xCF8, guest_cf8);
		io_passthrough(port, size, in, p, 1);
		if (!in && d)
			after_write(d, reg);
	}
}
