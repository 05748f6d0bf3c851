/*
 * The local APIC, guarded.  Until thinvisor virtualizes application
 * processors (SMP), a guest must not start one: an AP started by the guest
 * would run outside the hypervisor, with the whole machine at its mercy.
 * So the xAPIC page is trapped and every access emulated on the real APIC,
 * except interrupt-command writes that would send INIT, SIPI or SMI, which
 * are dropped; x2APIC is hidden (CPUID) and cannot be switched on, and the
 * APIC cannot be moved.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/mmio_trap.h"

#define APIC_BASE_EXTD (1ull << 10)
#define APIC_ICR_LO 0x300

static u64 apic_base;

void apic_init(void)
{
	u64 msr = rdmsr(MSR_APIC_BASE);

	apic_base = msr & 0xFFFFFF000ull;
	if (msr & APIC_BASE_EXTD)
		log_warn("apic: x2APIC already enabled by the firmware: ICR writes are guarded by MSR only\n");
	if (mmio_claim(apic_base, 4096, MMIO_APIC, 0))
		panic("cannot trap the local APIC page at %lx\n", apic_base);
}

/* An ICR value that would start or stop another CPU's normal life. */
bool apic_icr_refused(u64 icr)
{
	static u32 reported;
	u32 mode = (icr >> 8) & 7;

	if (mode != 5 && mode != 6 && mode != 2)	/* INIT, start-up, SMI */
		return false;
	if (reported++ < 4)
		log_warn("guest %s IPI refused: this version runs one CPU only\n",
			 mode == 5 ? "INIT" : mode == 6 ? "start-up" : "SMI");
	return true;
}

void apic_access(struct vcpu *v, u32 instance, u64 offset, u8 size, bool write, u64 *val)
{
	volatile u32 *reg = phys_ptr(&hv.pm, apic_base + (offset & ~3ull), 4);

	(void)v;
	(void)instance;
	if (!reg || size != 4 || (offset & 3)) {	/* the APIC takes aligned dwords only */
		if (!write)
			*val = 0;
		return;
	}
	if (!write) {
		*val = *reg;
		return;
	}
	if (offset == APIC_ICR_LO && apic_icr_refused(*val))
		return;
	*reg = (u32)*val;
}

/* IA32_APIC_BASE: the guest may not move the APIC or switch on x2APIC. */
bool apic_base_write_ok(u64 val)
{
	return ((val ^ rdmsr(MSR_APIC_BASE)) & ~(1ull << 11)) == 0;	/* only the enable bit */
}
