/* x86 instructions the hypervisor uses, as inline functions. */
#ifndef TV_CPU_H
#define TV_CPU_H

#include "tv/types.h"

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (u64)hi << 32 | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

/*
 * MSR access that may fault (an MSR this CPU does not have): the #GP is
 * caught through a constant exception table (core/cpu.c), never a pointer
 * the hypervisor stores.  Returns false if the instruction faulted.
 */
static inline bool rdmsr_safe(u32 msr, u64 *val)
{
	u32 lo = 0, hi = 0, ok = 1;
	__asm__ volatile("1: rdmsr\n"
			 "2:\n"
			 ".pushsection .rodata.extable, \"a\"\n"
			 ".balign 8\n"
			 ".quad 1b, 3f\n"
			 ".popsection\n"
			 ".pushsection .text.fixup, \"ax\"\n"
			 "3: xor %2, %2\n"
			 "jmp 2b\n"
			 ".popsection"
			 : "+a"(lo), "+d"(hi), "+r"(ok) : "c"(msr));
	*val = (u64)hi << 32 | lo;
	return ok;
}

static inline bool wrmsr_safe(u32 msr, u64 val)
{
	u32 ok = 1;
	__asm__ volatile("1: wrmsr\n"
			 "2:\n"
			 ".pushsection .rodata.extable, \"a\"\n"
			 ".balign 8\n"
			 ".quad 1b, 3f\n"
			 ".popsection\n"
			 ".pushsection .text.fixup, \"ax\"\n"
			 "3: xor %0, %0\n"
			 "jmp 2b\n"
			 ".popsection"
			 : "+r"(ok) : "c"(msr), "a"((u32)val), "d"((u32)(val >> 32)) : "memory");
	return ok;
}

/* Try a write (of the value already there); false if it faulted (#PF). */
static inline bool write_probe(volatile u64 *p)
{
	u32 ok = 1;
	u64 v = *p;
	__asm__ volatile("1: movq %1, (%2)\n"
			 "2:\n"
			 ".pushsection .rodata.extable, \"a\"\n"
			 ".balign 8\n"
			 ".quad 1b, 3f\n"
			 ".popsection\n"
			 ".pushsection .text.fixup, \"ax\"\n"
			 "3: xor %0, %0\n"
			 "jmp 2b\n"
			 ".popsection"
			 : "+r"(ok) : "r"(v), "r"(p) : "memory");
	return ok;
}

static inline u64 tsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (u64)hi << 32 | lo;
}

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(u32 leaf, u32 sub)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(sub));
	return r;
}

#define DEFINE_CR(n)                                                          \
	static inline u64 read_cr##n(void)                                    \
	{                                                                     \
		u64 v;                                                        \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));             \
		return v;                                                     \
	}                                                                     \
	static inline void write_cr##n(u64 v) { __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

static inline void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

#define MSR_EFER 0xC0000080u

#endif
