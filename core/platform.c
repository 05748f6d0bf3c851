/*
 * Platform ports that end the guest's life as it knows it: ACPI sleep and
 * soft-off (PM1a control, found in the FADT) and the reset-control register
 * 0xCF9 (in dev/pci.c).  Before any of them the storage key is wiped; the
 * exit counters are logged.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/io.h"
#include "tv/iommu.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/storage.h"

#define PLATFORM_PM1A 0
#define PLATFORM_PORT92 1	/* "system control port A": bit 0 pulses a CPU reset */
#define SLP_EN (1u << 13)

static u16 pm1a_cnt;

static const u8 *acpi_table(u64 pa, const char *sig)
{
	const u8 *h = phys_ptr(&hv.pm, pa, 36);
	u32 len;

	if (!h || memcmp(h, sig, 4))
		return NULL;
	memcpy(&len, h + 4, 4);
	return phys_ptr(&hv.pm, pa, len);
}

static const u8 *find_rsdp(void)
{
	const u16 *ebda_seg = phys_ptr(&hv.pm, 0x40E, 2);
	u64 ranges[2][2] = { { ebda_seg ? (u64)*ebda_seg << 4 : 0, 1024 }, { 0xE0000, 0x20000 } };

	for (int r = 0; r < 2; r++)
		for (u64 pa = ranges[r][0]; ranges[r][0] && pa < ranges[r][0] + ranges[r][1]; pa += 16) {
			const u8 *p = phys_ptr(&hv.pm, pa, 36);
			if (p && !memcmp(p, "RSD PTR ", 8))
				return p;
		}
	return NULL;
}

/* An ACPI table by signature, through the RSDT (NULL if absent). */
const u8 *acpi_find_table(const char *sig)
{
	const u8 *rsdp = find_rsdp();
	u32 rsdt_pa, len;

	if (!rsdp)
		return NULL;
	memcpy(&rsdt_pa, rsdp + 16, 4);
	const u8 *rsdt = acpi_table(rsdt_pa, "RSDT");
	if (!rsdt)
		return NULL;
	memcpy(&len, rsdt + 4, 4);
	for (u32 off = 36; off + 4 <= len; off += 4) {
		u32 pa;
		memcpy(&pa, rsdt + off, 4);
		const u8 *t = acpi_table(pa, sig);
		if (t)
			return t;
	}
	return NULL;
}

int acpi_hide(const char *sig)
{
	return acpi_unlink(&hv.pm, find_rsdp(), sig);
}

/* PM1a control port from the FADT (0 if there is no ACPI or it is MMIO). */
static u16 find_pm1a_cnt(void)
{
	const u8 *fadt = acpi_find_table("FACP");
	u32 port;

	if (!fadt)
		return 0;
	memcpy(&port, fadt + 64, 4);
	return port <= 0xFFFF ? (u16)port : 0;
}

/*
 * The sleep type the DSDT gives for S5 (soft-off): the \_S5_ package's first
 * element.  Only that one may be entered: any other sleep state (S3, S4)
 * would resume the guest's OS straight from the firmware, without thinvisor.
 * -1 if it cannot be found (then every sleep is refused).
 */
static int s5_type = -1;

static int find_s5_type(void)
{
	const u8 *fadt = acpi_find_table("FACP");
	u32 dsdt_pa, len;

	if (!fadt)
		return -1;
	memcpy(&dsdt_pa, fadt + 40, 4);
	const u8 *d = acpi_table(dsdt_pa, "DSDT");
	if (!d)
		return -1;
	memcpy(&len, d + 4, 4);
	for (u32 i = 36; i + 8 < len; i++) {
		if (memcmp(d + i, "_S5_", 4) || d[i + 4] != 0x12)	/* NameOp _S5_ PackageOp */
			continue;
		const u8 *p = d + i + 5;
		p += 1 + (*p >> 6);	/* PkgLength */
		p++;			/* NumElements */
		if (*p == 0x0A)		/* BytePrefix */
			return p[1] & 7;
		if (*p == 0x00 || *p == 0x01)	/* ZeroOp / OneOp */
			return *p;
		return -1;
	}
	return -1;
}

void platform_init(void)
{
	pm1a_cnt = find_pm1a_cnt();
	s5_type = find_s5_type();
	log_debug("acpi: S5 sleep type %d\n", s5_type);
	if (pm1a_cnt && io_claim(pm1a_cnt, 2, IO_PLATFORM, PLATFORM_PM1A) == 0)
		log_debug("acpi: PM1a control at port %x\n", pm1a_cnt);
	else
		log_warn("no ACPI PM1a control port found: the key is not wiped on guest soft-off\n");
	if (io_claim(0x92, 1, IO_PLATFORM, PLATFORM_PORT92))
		log_warn("port 92 not intercepted: the key is not wiped on a fast reset\n");
	/*
	 * The keyboard controller's reset pulse (0xFE to port 0x64) is not
	 * intercepted: port 0x64 is the i8042 status port, polled constantly.
	 * Linux resets through the FADT reset register (0xCF9) first.
	 */
}

void platform_log_exits(const struct vcpu *v)
{
	u64 total = 0;

	for (u32 e = 0; e < TV_EV_COUNT; e++)
		total += v->counters[e];
	log_info("exits total %lu (cpuid %lu, msr %lu, io %lu, hypercall %lu, npf %lu, hvmem %lu, smi %lu)\n",
		 total, v->counters[TV_EV_CPUID], v->counters[TV_EV_MSR_READ] + v->counters[TV_EV_MSR_WRITE],
		 v->counters[TV_EV_IO], v->counters[TV_EV_HYPERCALL], v->counters[TV_EV_NPF_MMIO],
		 v->counters[TV_EV_HVMEM], v->counters[TV_EV_SMI]);
}

void platform_io(struct vcpu *v, u32 instance, u16 port, u8 size, bool in, void *data, u32 count)
{
	if (!in && instance == PLATFORM_PORT92 && (((u8 *)data)[count - 1] & 1)) {
		log_info("guest resets the machine (port 92)\n");
		storage_wipe();
		log_drain();
	}
	if (!in && instance == PLATFORM_PM1A) {
		u32 val = 0;
		memcpy(&val, (u8 *)data + (u64)(count - 1) * size, size);
		if (val & SLP_EN) {
			int type = (val >> 10) & 7;
			if (type != s5_type) {
				/* Resuming from it would run the guest without thinvisor. */
				log_warn("guest ACPI sleep type %d refused: only soft-off (type %d) is allowed\n", type,
					 s5_type);
				return;
			}
			log_info("guest enters ACPI sleep type %u (soft-off)\n", type);
			platform_log_exits(v);
			storage_wipe();
			log_drain();
		}
	}
	io_passthrough(port, size, in, data, count);
}
