/*
 * The local APIC, guarded.  A CPU the guest could start by itself would run
 * outside the hypervisor with the whole machine at its mercy, so the xAPIC
 * page is trapped and every access emulated on the real APIC, except
 * interrupt-command writes: INIT and start-up IPIs are emulated by
 * core/smp.c (the target CPU is already in thinvisor, waiting), SMIs are
 * refused, everything else is sent as asked.  x2APIC is hidden (CPUID) and
 * cannot be switched on; the APIC cannot be moved.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/mmio_trap.h"
#include "tv/smp.h"

#define APIC_BASE_EXTD (1ull << 10)
#define APIC_ID 0x20
#define APIC_EOI 0xB0
#define APIC_SVR 0xF0
#define APIC_ISR 0x100
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define ICR_BUSY (1u << 12)

static u64 apic_base;
static bool x2apic;

static bool x2(void)
{
	return x2apic;
}

u32 lapic_read(u32 off)
{
	if (x2())
		return (u32)rdmsr(0x800 + off / 16);
	return mmio_rd32(apic_base + off);
}

static void lapic_write(u32 off, u32 val)
{
	if (x2())
		wrmsr(0x800 + off / 16, val);
	else
		mmio_wr32(apic_base + off, val);
}

u32 lapic_id(void)
{
	if (!apic_base)
		return 0;
	return x2() ? lapic_read(APIC_ID) : lapic_read(APIC_ID) >> 24;
}

/* Send an IPI from this CPU; the guest's ICR destination is left as it was. */
void lapic_send(u32 dest, u32 lo)
{
	for (u32 i = 0; i < 1000000 && (lapic_read(APIC_ICR_LO) & ICR_BUSY); i++)
		__builtin_ia32_pause();
	if (x2()) {
		wrmsr(MSR_X2APIC_ICR, (u64)dest << 32 | lo);
		return;
	}
	u32 hi = lapic_read(APIC_ICR_HI);
	lapic_write(APIC_ICR_HI, dest << 24);
	lapic_write(APIC_ICR_LO, lo);
	lapic_write(APIC_ICR_HI, hi);
}

/* What INIT leaves of this CPU's APIC: software-disabled, nothing in service. */
void lapic_soft_reset(void)
{
	lapic_write(APIC_SVR, 0xFF);
	for (u32 i = 0; i < 256; i++) {
		bool any = false;
		for (u32 r = 0; r < 8; r++)
			any |= lapic_read(APIC_ISR + r * 16) != 0;
		if (!any)
			break;
		lapic_write(APIC_EOI, 0);
	}
}

void apic_init(void)
{
	u64 msr = rdmsr(MSR_APIC_BASE);

	apic_base = msr & 0xFFFFFF000ull;
	x2apic = msr & APIC_BASE_EXTD;
	if (x2apic)
		log_warn("apic: x2APIC already enabled by the firmware: ICR writes are guarded by MSR only\n");
	if (mmio_claim(apic_base, 4096, MMIO_APIC, 0))
		panic("cannot trap the local APIC page at %lx\n", apic_base);
}

/* A guest write of the interrupt command: false if it must not be sent. */
bool apic_icr_write(struct vcpu *v, u64 icr)
{
	u32 lo = (u32)icr, dest = x2() ? (u32)(icr >> 32) : lapic_read(APIC_ICR_HI) >> 24;

	return smp_guest_ipi(v, lo, dest);
}

void apic_access(struct vcpu *v, u32 instance, u64 offset, u8 size, bool write, u64 *val)
{
	(void)instance;
	if (size != 4 || (offset & 3) || x2()) {	/* the APIC takes aligned dwords only */
		if (!write)
			*val = 0;
		return;
	}
	if (!write) {
		*val = lapic_read((u32)offset);
		return;
	}
	if (offset == APIC_ICR_LO && !apic_icr_write(v, (u32)*val))
		return;
	lapic_write((u32)offset, (u32)*val);
}

/*
 * Most APIC accesses touch only this CPU's own APIC and need no lock: all
 * but the interrupt command (INIT/SIPI change other CPUs' state), which
 * takes the locked path through the trap table.
 */
bool apic_fast_npf(struct vcpu *v, u64 gpa)
{
	if (x2apic || (gpa & ~0xFFFull) != apic_base || (gpa & 0xFF0) == APIC_ICR_LO)
		return false;
	mmio_emulate(v, gpa, MMIO_APIC, 0, apic_base);
	return true;
}

/* IA32_APIC_BASE: the guest may not move the APIC or switch on x2APIC. */
bool apic_base_write_ok(u64 val)
{
	return ((val ^ rdmsr(MSR_APIC_BASE)) & ~(1ull << 11)) == 0;	/* only the enable bit */
}
