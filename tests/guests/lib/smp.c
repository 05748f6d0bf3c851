/* SPDX-License-Identifier: MIT */
/* Starting application processors from a test guest: see smp.h. */
#include "smp.h"

/*
 * The trampoline, real mode at page:0000: slot = APIC ID * 32 at 0x9000.
 * Assembled here, copied below 1 MiB by smp_setup().
 */
__asm__(".pushsection .rodata\n"
	".globl smp_tramp, smp_tramp_iret, smp_tramp_end\n"
	".code16\n"
	"smp_tramp:\n"
	"	cli\n"
	"	xor %ax, %ax\n"
	"	mov %ax, %ds\n"
	"	mov %cs, %bp\n"
	"	mov $1, %eax\n"
	"	cpuid\n"
	"	shr $24, %ebx\n"
	"	and $63, %bx\n"
	"	shl $5, %bx\n"
	"	mov %bx, %di\n"
	"	mov $0x40000000, %eax\n"
	"	xor %ecx, %ecx\n"
	"	cpuid\n"
	"	mov %ebx, 0x9000(%di)\n"
	"	mov %ecx, 0x9004(%di)\n"
	"	mov %edx, 0x9008(%di)\n"
	"	mov %bp, %ax\n"
	"	shr $8, %ax\n"
	"	movzwl %ax, %eax\n"
	"	mov %eax, 0x9010(%di)\n"
	"	lock incl 0x900C(%di)\n"
	"	lock incl 0x9F00\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	"smp_tramp_iret:\n"
	"	iret\n"
	"smp_tramp_end:\n"
	".code32\n"
	".popsection\n");
extern const uint8_t smp_tramp[], smp_tramp_iret[], smp_tramp_end[];

/*
 * The flipper, started at SMP_FLIP_PA: into flat 32-bit protected mode
 * (GDT at 0x9E10), then, until *SMP_FLIP_STOP, over and over for each
 * entry of the table at 0x9E80 (count, then {addr, v1, v2}): *addr = v1;
 * *addr = v2.  A guest-side time-of-check/time-of-use attacker.
 */
__asm__(".pushsection .rodata\n"
	".globl smp_flip, smp_flip_end\n"
	".code16\n"
	"smp_flip:\n"
	"	cli\n"
	"	xor %ax, %ax\n"
	"	mov %ax, %ds\n"
	"	lgdtl 0x9E00\n"
	"	mov %cr0, %eax\n"
	"	or $1, %eax\n"
	"	mov %eax, %cr0\n"
	"	ljmpl $0x08, $(0x7000 + smp_flip32 - smp_flip)\n"
	".code32\n"
	"smp_flip32:\n"
	"	mov $0x10, %ax\n"
	"	mov %ax, %ds\n"
	"	mov %ax, %es\n"
	"	mov %ax, %ss\n"
	"	lock incl 0x9F04\n"
	"1:	incl 0x9F10\n"
	"	mov 0x9E80, %ecx\n"
	"	mov $0x9E84, %esi\n"
	"2:	test %ecx, %ecx\n"
	"	jz 3f\n"
	"	mov (%esi), %edi\n"
	"	mov 4(%esi), %eax\n"
	"	mov %eax, (%edi)\n"
	"	mov 8(%esi), %eax\n"
	"	mov %eax, (%edi)\n"
	"	add $12, %esi\n"
	"	dec %ecx\n"
	"	jmp 2b\n"
	"3:	cmpl $0, 0x9F08\n"
	"	je 1b\n"
	"	lock incl 0x9F0C\n"
	"4:	hlt\n"
	"	jmp 4b\n"
	"smp_flip_end:\n"
	".popsection\n");
extern const uint8_t smp_flip[], smp_flip_end[];

void smp_flip_start(uint32_t apic)
{
	volatile uint32_t *gdt = (volatile uint32_t *)0x9E10;
	volatile uint16_t *gdtp = (volatile uint16_t *)0x9E00;

	gdt[0] = gdt[1] = 0;
	gdt[2] = 0x0000FFFF, gdt[3] = 0x00CF9B00;	/* 0x08: flat 32-bit code, accessed */
	gdt[4] = 0x0000FFFF, gdt[5] = 0x00CF9300;	/* 0x10: flat data */
	gdtp[0] = 23;
	gdtp[1] = 0x9E10;
	gdtp[2] = 0;
	SMP_FLIP->n = 0;
	SMP_FLIP_STOP = 0;
	memcpy((void *)SMP_FLIP_PA, smp_flip, (uint32_t)(smp_flip_end - smp_flip));
	smp_start(apic, SMP_FLIP_PA);
}

void smp_flip_quiesce(void)
{
	smp_wait(&SMP_FLIP_PASSES, SMP_FLIP_PASSES + 2, 10);
}

void smp_flip_set(uint32_t i, volatile void *addr, uint32_t v1, uint32_t v2)
{
	SMP_FLIP->e[i].v1 = v1;
	SMP_FLIP->e[i].v2 = v2;
	SMP_FLIP->e[i].addr = (uint32_t)(uintptr_t)addr;
	if (SMP_FLIP->n <= i)
		SMP_FLIP->n = i + 1;
}

static uint8_t rtc_sec(void)
{
	outb(0x70, 0);
	return inb(0x71);
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static uint64_t tsc_per_ms;

void smp_delay_ms(uint32_t ms)
{
	if (!tsc_per_ms) {	/* one RTC second, measured */
		uint8_t s = rtc_sec();
		while (rtc_sec() == s)
			;
		uint64_t t0 = rdtsc();
		s = rtc_sec();
		while (rtc_sec() == s)
			;
		tsc_per_ms = ((rdtsc() - t0) >> 10) + 1;	/* ~1.02 ms: no 64-bit division here */
	}
	uint64_t end = rdtsc() + ms * tsc_per_ms;
	while (rdtsc() < end)
		__asm__ volatile("pause");
}

void smp_setup(void)
{
	uint32_t n = (uint32_t)(smp_tramp_end - smp_tramp);

	memcpy((void *)SMP_TRAMP_A, smp_tramp, n);
	memcpy((void *)SMP_TRAMP_B, smp_tramp, n);
	memset((void *)0x9000, 0, 0x1000);
	/* IVT[2] (NMI) = SMP_TRAMP_A segment : offset of the IRET */
	volatile uint32_t *ivt;
	__asm__("" : "=r"(ivt) : "0"(0));	/* address 0 on purpose */
	ivt[2] = (SMP_TRAMP_A >> 4) << 16 | (uint32_t)(smp_tramp_iret - smp_tramp);
}

void smp_icr(uint32_t dest, uint32_t lo)
{
	volatile uint32_t *icr_lo = (volatile uint32_t *)(SMP_APIC + 0x300);
	volatile uint32_t *icr_hi = (volatile uint32_t *)(SMP_APIC + 0x310);

	for (int i = 0; i < 1000000 && (*icr_lo & (1u << 12)); i++)
		__asm__ volatile("pause");
	*icr_hi = dest << 24;
	*icr_lo = lo;
}

void smp_start(uint32_t apic, uint32_t page)
{
	smp_icr(apic, ICR_INIT);
	smp_delay_ms(10);
	smp_icr(apic, ICR_STARTUP(page));
	smp_delay_ms(1);
	smp_icr(apic, ICR_STARTUP(page));
}

uint32_t smp_wait(volatile uint32_t *p, uint32_t want, uint32_t seconds)
{
	uint8_t last = rtc_sec();

	while (*p < want && seconds) {
		uint8_t s = rtc_sec();
		if (s != last) {
			last = s;
			seconds--;
		}
		__asm__ volatile("pause");
	}
	return *p;
}

uint32_t smp_cpus(void)
{
	const char *a = mb_find_arg("cpus");
	uint64_t n = 0;

	if (!a || !parse_u64(&a, &n) || n < 1 || n > 64)
		return 2;
	return (uint32_t)n;
}

int smp_slot_thinvisor(uint32_t apic)
{
	volatile struct smp_slot *s = &SMP_SLOTS[apic & 63];

	return s->ebx == TV_CPUID_SIG_EBX && s->ecx == TV_CPUID_SIG_ECX && s->edx == TV_CPUID_SIG_EDX;
}

uint32_t smp_self(void)
{
	return *(volatile uint32_t *)(SMP_APIC + 0x20) >> 24;
}
