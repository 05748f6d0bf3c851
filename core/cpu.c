/* The hypervisor's own GDT, TSS and IDT; exceptions in the hypervisor. */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/smp.h"

struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8, rdi, rsi, rbp, rbx, rdx, rcx, rax;
	u64 vector, error, rip, cs, rflags, rsp, ss;
};

struct tss {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3, iomap_base;
} __attribute__((packed));

struct idt_gate {
	u16 off0, sel;
	u8 ist, type;
	u16 off1;
	u32 off2, reserved;
};

/* Per CPU: a GDT with its own TSS (whose busy bit is per CPU), one IDT for all. */
static u64 gdt[TV_MAX_CPUS][5] __attribute__((aligned(16)));
static struct tss tss[TV_MAX_CPUS] __attribute__((aligned(16)));
static struct idt_gate idt[32] __attribute__((aligned(16)));
static u64 nmi_count;
extern const u8 trap_stubs[];

/* The exception table: (faulting instruction, where to resume), constant. */
struct extable_entry {
	u64 insn, fixup;
};
extern const struct extable_entry _extable_start[], _extable_end[];

void host_trap(struct trap_frame *f);
void host_trap(struct trap_frame *f)
{
	if (f->vector == 13 || f->vector == 14)
		for (const struct extable_entry *e = _extable_start; e < _extable_end; e++)
			if (e->insn == f->rip) {
				f->rip = e->fixup;
				return;
			}
	if (f->vector == 2) {	/* NMI in the hypervisor: a kick (core/smp.c), or nothing of ours */
		__atomic_add_fetch(&nmi_count, 1, __ATOMIC_RELAXED);
		smp_host_nmi(&f->rip);
		return;
	}
	log_err("hypervisor exception %lu at rip %lx error %lx cr2 %lx\n", f->vector, f->rip,
		f->error, read_cr2());
	log_err("rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	log_err("rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n", f->rsi, f->rdi, f->rbp, f->rsp);
	log_err("r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n", f->r8, f->r9, f->r10, f->r11);
	log_err("r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n", f->r12, f->r13, f->r14, f->r15);
	panic("hypervisor exception %lu\n", f->vector);
}

/* A CPU's stacks, allocated by the boot CPU (host tables change only before the others run). */
void cpu_prepare(u32 cpu)
{
	if (cpu >= TV_MAX_CPUS)
		panic("cpu %u: too many CPUs\n", cpu);
	tss[cpu].ist[0] = hv_stack(2);
}

/*
 * This CPU's tables.  The IST stack (NMI, #DF, #MC) has a guard page below
 * it like every other hypervisor stack; the boot CPU sets up the IDT and
 * all the stacks before any other CPU runs.
 */
void cpu_tables_init(u32 cpu)
{
	if (cpu >= TV_MAX_CPUS)
		panic("cpu %u: too many CPUs\n", cpu);
	u64 *g = gdt[cpu];
	struct tss *ts = &tss[cpu];
	struct {
		u16 limit;
		u64 base;
	} __attribute__((packed)) gdtr = { sizeof(gdt[0]) - 1, (u64)g }, idtr = { sizeof(idt) - 1, (u64)idt };
	u64 t = (u64)ts;

	/* SSE for the AES-NI path (which saves the guest's vector registers itself). */
	write_cr4(read_cr4() | (1ull << 9) | (1ull << 10));	/* OSFXSR, OSXMMEXCPT */
	write_cr0(read_cr0() & ~((1ull << 2) | (1ull << 3)));	/* no EM, no TS */

	g[1] = 0x00AF9A000000FFFFull;	/* 0x08 code */
	g[2] = 0x00CF92000000FFFFull;	/* 0x10 data */
	g[3] = (sizeof(*ts) - 1) | ((t & 0xFFFFFF) << 16) | (0x89ull << 40) | (((t >> 24) & 0xFF) << 56);
	g[4] = t >> 32;
	if (!ts->ist[0])
		cpu_prepare(cpu);
	ts->iomap_base = sizeof(*ts);

	for (unsigned v = 0; v < 32 && cpu == 0; v++) {
		u64 h = (u64)trap_stubs + 16 * v;
		bool ist = v == 2 || v == 8 || v == 18;	/* NMI, #DF, #MC */
		idt[v] = (struct idt_gate){ (u16)h, 0x08, ist ? 1 : 0, 0x8E, (u16)(h >> 16), (u32)(h >> 32), 0 };
	}
	__asm__ volatile("lgdt %0\n\t"
			 "pushq $0x08\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov $0x10, %%eax\n\t"
			 "mov %%eax, %%ds\n\t"
			 "mov %%eax, %%es\n\t"
			 "mov %%eax, %%ss\n\t"
			 "mov $0x18, %%eax\n\t"
			 "ltr %%ax\n\t"
			 "lidt %1"
			 : : "m"(gdtr), "m"(idtr) : "rax", "memory");
}
