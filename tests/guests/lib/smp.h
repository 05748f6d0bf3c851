/* SPDX-License-Identifier: MIT */
/*
 * Starting application processors from a test guest, as an OS does: xAPIC
 * INIT and start-up IPIs to a real-mode trampoline below 1 MiB.  Each CPU
 * that runs the trampoline records, in its slot (by APIC ID), the CPUID
 * 0x40000000 signature it sees, the vector it was started at and how often
 * it started, then halts (NMIs return through an IRET the trampoline
 * installs in the real-mode IVT).
 */
#ifndef TG_SMP_H
#define TG_SMP_H

#include "tg.h"

#define SMP_APIC 0xFEE00000u
#define SMP_TRAMP_A 0x8000u	/* two trampoline copies, told apart by vector */
#define SMP_TRAMP_B 0x7000u

struct smp_slot {
	uint32_t ebx, ecx, edx;	/* CPUID 0x40000000 */
	uint32_t starts;	/* times this CPU ran the trampoline */
	uint32_t vector;	/* start-up vector of the last start */
	uint32_t pad[3];
};

#define SMP_SLOTS ((volatile struct smp_slot *)0x9000u)	/* 64 slots */
#define SMP_TOTAL (*(volatile uint32_t *)0x9F00u)	/* starts, all CPUs */

/* Copy the trampoline to both pages, clear the slots, install the NMI IRET. */
void smp_setup(void);
/* Write the interrupt command register: destination APIC ID, low word. */
void smp_icr(uint32_t dest, uint32_t lo);
/* INIT, then start-up twice, at page (SMP_TRAMP_A or _B), as the MP spec says. */
void smp_start(uint32_t apic, uint32_t page);
/* Wait until *p >= want, at most 'seconds' (RTC); returns *p. */
uint32_t smp_wait(volatile uint32_t *p, uint32_t want, uint32_t seconds);
/* Spin about 'ms' milliseconds (RTC-calibrated once). */
void smp_delay_ms(uint32_t ms);
/* "cpus=N" from the guest arguments (default 2). */
uint32_t smp_cpus(void);
/* Does this slot carry the thinvisor signature? */
int smp_slot_thinvisor(uint32_t apic);
/* This CPU's APIC ID. */
uint32_t smp_self(void);

/*
 * The flipper (a time-of-check/time-of-use attacker on another CPU): flat
 * 32-bit code at SMP_FLIP_PA (it replaces trampoline B) rewriting each
 * table entry's dword with v1 then v2, as fast as it can, until
 * SMP_FLIP_STOP.  SMP_FLIP_RUNNING counts flippers that started.
 */
#define SMP_FLIP_PA SMP_TRAMP_B
struct smp_flip_table {
	uint32_t n;
	struct { uint32_t addr, v1, v2; } e[8];
};
#define SMP_FLIP ((volatile struct smp_flip_table *)0x9E80u)
#define SMP_FLIP_RUNNING (*(volatile uint32_t *)0x9F04u)
#define SMP_FLIP_STOP (*(volatile uint32_t *)0x9F08u)
#define SMP_FLIP_STOPPED (*(volatile uint32_t *)0x9F0Cu)
#define SMP_FLIP_PASSES (*(volatile uint32_t *)0x9F10u)	/* passes over the table */
void smp_flip_start(uint32_t apic);	/* after smp_setup() */
/* Entry i (i < 8): set v1/v2 before the address, so no half entry runs. */
void smp_flip_set(uint32_t i, volatile void *addr, uint32_t v1, uint32_t v2);
/* Wait until the flipper has gone over the table twice: done with the old entries. */
void smp_flip_quiesce(void);

#define ICR_INIT 0x4500u
#define ICR_STARTUP(page) (0x4600u | ((page) >> 12))
#define ICR_NMI 0x4400u
#define ICR_SMI 0x4200u
#define ICR_SELF (1u << 18)
#define ICR_ALL (2u << 18)
#define ICR_OTHERS (3u << 18)
#define ICR_LOGICAL (1u << 11)

#endif
