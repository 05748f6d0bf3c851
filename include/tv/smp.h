/*
 * Multiprocessor support: every CPU the firmware describes runs under
 * thinvisor from boot; the guest starts them with INIT/SIPI, which the core
 * emulates (core/smp.c).  Cross-CPU requests are "kicks": a flag in the
 * target's vcpu, then an NMI that makes it leave guest mode and look.
 */
#ifndef TV_SMP_H
#define TV_SMP_H

#include "tv/vcpu.h"

#define TV_MAX_CPUS 32

/* vcpu->state */
#define CPU_ABSENT 0	/* never started (or failed to start) */
#define CPU_WAIT_SIPI 1	/* parked in thinvisor, waiting for the guest's start-up IPI */
#define CPU_SIPI 2	/* start-up IPI received: enter the guest at sipi_vector */
#define CPU_RUNNING 3

extern struct vcpu vcpus[TV_MAX_CPUS];
extern u32 ncpus;

static inline void spin_lock(volatile u32 *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (*l)
			__builtin_ia32_pause();
}

static inline void spin_unlock(volatile u32 *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static inline void mfence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

void smp_init(void);
struct vcpu *this_vcpu(void);		/* NULL before smp_init or on an unknown CPU */
void smp_stop_others(void);		/* hv_stop: the other CPUs halt */
void smp_nested_changed(void);		/* after a nested-table change: flush it on every CPU */
void smp_before_entry(struct vcpu *v);
void smp_lock(void);			/* the exit-handling lock: one handler at a time */
void smp_unlock(void);
bool smp_nmi(struct vcpu *v);		/* an NMI exit: true if it was a kick (else the guest's) */
/* A guest interrupt-command write (xAPIC ICR or x2APIC MSR): false if the CPU must not send it. */
bool smp_guest_ipi(struct vcpu *v, u32 lo, u32 dest);
/* Halt until *kick is set (core/entry64.S; the vendors' idle). */
void smp_wait(volatile u32 *kick);
/* Host NMI handler: may move an interrupted wait out of its window. */
void smp_host_nmi(u64 *rip);

#endif
