/*
 * Every CPU under thinvisor.  At boot the boot CPU starts each application
 * processor the ACPI MADT lists (INIT, SIPI into a trampoline below 1 MiB
 * that enters long mode on our own tables); each turns on SVM/VMX, builds
 * its VMCB/VMCS and parks in the hypervisor.  The guest never reaches a
 * real INIT or start-up IPI: its interrupt-command writes are trapped
 * (core/apic.c) and emulated here.  A start-up IPI to a parked CPU enters
 * the guest there in real mode at the vector; an INIT to a running CPU
 * kicks it back into the parked state.  So no CPU runs outside thinvisor.
 *
 * Cross-CPU requests (INIT/SIPI, nested-table flushes, stop) set a flag in
 * the target and send it an NMI, which exits guest mode (SVM/VMX intercept
 * it) or wakes the parked CPU.  The window between the last look at the
 * flag and VMRUN/VMRESUME or HLT is closed by the host NMI handler, which
 * moves an NMI that lands inside it to the code that looks again.
 *
 * Exit handlers run one at a time under one lock: the mediators, the PCI
 * and MMIO state and the log need nothing more.
 */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/smp.h"

#define TRAMP_PA 0x6000ull	/* the AP trampoline, saved and restored around the start */
#define STACK_PAGES 4
#define ICR_INIT_ASSERT 0xC500u	/* level, assert, INIT */
#define ICR_INIT_DEASSERT 0x8500u
#define ICR_STARTUP 0x0600u
#define ICR_NMI 0x0400u

struct vcpu vcpus[TV_MAX_CPUS];
u32 ncpus = 1;
static volatile u64 nested_gen = 1;
static volatile u32 exit_lock;
static volatile bool stopping;
static volatile u32 boot_ap;		/* index of the AP in the trampoline */
static u16 pm_timer;			/* ACPI PM timer port, for delays */

u32 lapic_id(void);
u32 lapic_read(u32 off);
void lapic_send(u32 dest, u32 lo);
void lapic_soft_reset(void);
const u8 *acpi_find_table(const char *sig);
void ap_entry64(void);
extern const u8 ap_tramp_start[], ap_tramp_params[], ap_tramp_end[];

struct tramp_params {
	u64 cr3, stack, entry;
};

struct vcpu *this_vcpu(void)
{
	u32 id = lapic_id();

	for (u32 i = 0; i < ncpus; i++)
		if (vcpus[i].apic_id == id)
			return &vcpus[i];
	return NULL;
}

/* ---- delays: the ACPI PM timer (3.579545 MHz), else port 0x80 ---- */

static void udelay(u32 us)
{
	if (!pm_timer) {
		for (u32 i = 0; i < us; i++)
			inb(0x80);
		return;
	}
	u32 start = inl(pm_timer) & 0xFFFFFF, ticks = (u32)(((u64)us * 3580) / 1000) + 1;
	while (((inl(pm_timer) - start) & 0xFFFFFF) < ticks)
		__builtin_ia32_pause();
}

/* ---- kicks ---- */

static void kick(struct vcpu *t)
{
	__atomic_store_n(&t->kick, 1, __ATOMIC_SEQ_CST);
	lapic_send(t->apic_id, ICR_NMI);
}

void smp_host_nmi(u64 *rip)
{
	const struct arch_ops *a = arch();
	extern const u8 smp_wait_window[], smp_wait_end[];

	if (stopping)
		cpu_halt_forever();
	if (*rip >= (u64)smp_wait_window && *rip < (u64)smp_wait_end)
		*rip = (u64)smp_wait_end;
	else if (a->kick_window && *rip >= (u64)a->kick_window && *rip < (u64)a->kick_window_end)
		*rip = (u64)a->kick_abort;
}

bool smp_nmi(struct vcpu *v)
{
	return __atomic_load_n(&v->kick, __ATOMIC_SEQ_CST) != 0;
}

void smp_stop_others(void)
{
	struct vcpu *me = this_vcpu();

	stopping = true;
	for (u32 i = 0; i < ncpus; i++)
		if (&vcpus[i] != me && vcpus[i].state != CPU_ABSENT)
			kick(&vcpus[i]);
}

void smp_lock(void)
{
	spin_lock(&exit_lock);
}

void smp_unlock(void)
{
	spin_unlock(&exit_lock);
}

/*
 * The nested table changed (under the exit lock): every CPU in guest mode
 * that may still cache the old entries leaves it before we go on; each
 * flushes before it enters again (smp_before_entry).
 */
void smp_nested_changed(void)
{
	u64 g = __atomic_add_fetch(&nested_gen, 1, __ATOMIC_SEQ_CST);
	struct vcpu *me = this_vcpu();

	for (u32 i = 0; i < ncpus; i++) {
		struct vcpu *t = &vcpus[i];
		if (t == me || !t->in_guest || t->seen_gen >= g)
			continue;
		kick(t);
		for (u64 n = 1; t->in_guest && t->seen_gen < g; n++) {
			__builtin_ia32_pause();
			if (n % (1ull << 28) == 0)
				log_warn("smp: cpu %u does not leave guest mode for a nested-table flush\n", t->id);
		}
	}
}

/* ---- the guest's INIT and start-up IPIs ---- */

static void guest_init(struct vcpu *v, struct vcpu *t)
{
	static u32 reported;

	if (t->id == 0) {	/* the boot CPU would restart at the reset vector: no */
		if (reported++ < 4)
			log_warn("guest INIT to the boot CPU refused\n");
		return;
	}
	log_debug("smp: guest INIT to cpu %u (state %u, in guest %u)\n", t->id, t->state, t->in_guest);
	if (t->state == CPU_WAIT_SIPI)
		return;
	__atomic_store_n(&t->state, CPU_WAIT_SIPI, __ATOMIC_SEQ_CST);
	if (t != v)
		kick(t);
}

static void guest_sipi(struct vcpu *t, u32 vector)
{
	static u32 reported;

	if (in_hv_region((u64)vector << 12, 4096)) {
		if (reported++ < 4)
			log_warn("guest start-up IPI to a vector in the hypervisor region refused\n");
		return;
	}
	log_debug("smp: guest start-up IPI to cpu %u (state %u), vector %x\n", t->id, t->state, vector);
	if (t->state != CPU_WAIT_SIPI)	/* as on hardware: ignored unless waiting */
		return;
	t->sipi_vector = vector;
	__atomic_store_n(&t->state, CPU_SIPI, __ATOMIC_SEQ_CST);
	kick(t);
}

bool smp_guest_ipi(struct vcpu *v, u32 lo, u32 dest)
{
	static u32 reported;
	u32 mode = (lo >> 8) & 7, shorthand = (lo >> 18) & 3;
	bool x2 = rdmsr(MSR_APIC_BASE) & (1ull << 10);
	bool broadcast = dest == (x2 ? 0xFFFFFFFFu : 0xFFu), hit = false;

	if (mode == 2) {	/* SMI */
		if (reported++ < 8)
			log_warn("guest SMI IPI refused\n");
		return false;
	}
	if (mode != 5 && mode != 6)
		return true;
	if (mode == 5 && !(lo & (1u << 14)))	/* INIT level de-assert: nothing to do */
		return false;
	if (shorthand == 0 && (lo & (1u << 11)) && !broadcast) {
		if (reported++ < 8)
			log_warn("guest %s IPI in logical destination mode refused\n", mode == 5 ? "INIT" : "start-up");
		return false;
	}
	for (u32 i = 0; i < ncpus; i++) {
		struct vcpu *t = &vcpus[i];
		bool to = shorthand == 1 ? t == v : shorthand == 2 ? true : shorthand == 3 ? t != v :
			  broadcast || t->apic_id == dest;
		if (!to || t->state == CPU_ABSENT)
			continue;
		hit = true;
		if (mode == 5)
			guest_init(v, t);
		else
			guest_sipi(t, lo & 0xFF);
	}
	if (!hit && shorthand == 0 && !broadcast && reported++ < 8)
		log_warn("guest %s IPI to APIC %u, a CPU thinvisor does not run, refused\n",
			 mode == 5 ? "INIT" : "start-up", dest);
	return false;
}

/* The state a start-up IPI gives: real mode at vector:0000. */
static void sipi_state(struct cpu_state *st, u32 vector)
{
	const struct seg data = { 0, 0x93, 0xFFFF, 0 };

	*st = (struct cpu_state){ 0 };
	st->cs = (struct seg){ (u16)(vector << 8), 0x9B, 0xFFFF, (u64)vector << 12 };
	st->es = st->ss = st->ds = st->fs = st->gs = data;
	st->ldtr = (struct seg){ 0, 0x82, 0xFFFF, 0 };
	st->tr = (struct seg){ 0, 0x8B, 0xFFFF, 0 };
	st->gdtr = st->idtr = (struct dtr){ 0, 0xFFFF };
	st->rflags = 2;
	st->cr0 = 0x60000010;	/* CD, NW, ET */
	st->rdx = cpuid(1, 0).eax;
	st->efer = arch()->efer_forced;
}

/*
 * Before each guest entry: take requests, flush a changed nested table;
 * a parked CPU waits here for its start-up IPI.
 */
void smp_before_entry(struct vcpu *v)
{
	for (;;) {
		__atomic_store_n(&v->kick, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&v->in_guest, 1, __ATOMIC_SEQ_CST);
		if (stopping)
			cpu_halt_forever();
		u32 s = __atomic_load_n(&v->state, __ATOMIC_SEQ_CST);
		if (s == CPU_RUNNING) {
			u64 g = __atomic_load_n(&nested_gen, __ATOMIC_SEQ_CST);
			if (v->seen_gen != g) {
				arch()->flush_nested(v);
				__atomic_store_n(&v->seen_gen, g, __ATOMIC_SEQ_CST);
			}
			return;
		}
		__atomic_store_n(&v->in_guest, 0, __ATOMIC_SEQ_CST);
		if (v->ran) {	/* INIT of a running CPU: its APIC as INIT leaves it */
			lapic_soft_reset();
			v->ran = false;
		}
		if (s == CPU_SIPI) {
			struct cpu_state st;
			sipi_state(&st, v->sipi_vector);
			if (!__atomic_compare_exchange_n(&v->state, &s, CPU_RUNNING, false, __ATOMIC_SEQ_CST,
							 __ATOMIC_SEQ_CST))
				continue;
			arch()->set_state(v, &st);
			v->ran = true;
			v->seen_gen = 0;
			log_debug("smp: cpu %u (APIC %u) started by the guest at %04x:0000\n", v->id, v->apic_id,
				  st.cs.sel);
			continue;
		}
		arch()->idle(&v->kick);
	}
}

/* ---- bringing the application processors up ---- */

void ap_main(void);
void ap_main(void)
{
	struct vcpu *v = &vcpus[boot_ap];

	cpu_tables_init(v->id);
	write_cr3(hv.host_pt.root);
	__atomic_store_n(&v->started, 1, __ATOMIC_SEQ_CST);
	if (arch()->vcpu_init(v, hv.nested_pt.root))
		panic("%s: could not set up cpu %u\n", arch()->name, v->id);
	__atomic_store_n(&v->state, CPU_WAIT_SIPI, __ATOMIC_SEQ_CST);
	vcpu_loop(v);
}

static bool start_ap(struct vcpu *v, struct tramp_params *tp)
{
	tp->stack = hv_stack(STACK_PAGES);
	cpu_prepare(v->id);
	boot_ap = v->id;
	mfence();
	lapic_send(v->apic_id, ICR_INIT_ASSERT);
	udelay(10000);
	lapic_send(v->apic_id, ICR_INIT_DEASSERT);
	for (u32 k = 0; k < 2 && !v->started; k++) {
		lapic_send(v->apic_id, ICR_STARTUP | (u32)(TRAMP_PA >> 12));
		udelay(k ? 200 : 1000);
	}
	for (u32 ms = 0; ms < 5000 && v->state != CPU_WAIT_SIPI; ms++)
		udelay(1000);
	if (v->state == CPU_WAIT_SIPI)
		return true;
	lapic_send(v->apic_id, ICR_INIT_ASSERT);	/* back to its wait, for good */
	return false;
}

/* APIC ids of the enabled (or online-capable) processors the MADT lists. */
static u32 madt_cpus(u32 *ids, u32 max)
{
	const u8 *t = acpi_find_table("APIC");
	u32 len, n = 0, flags, id;

	if (!t)
		return 0;
	memcpy(&len, t + 4, 4);
	for (u32 off = 44; off + 2 <= len && t[off + 1] >= 2; off += t[off + 1]) {
		if (t[off] == 0 && t[off + 1] >= 8) {		/* processor local APIC */
			memcpy(&flags, t + off + 4, 4);
			id = t[off + 3];
		} else if (t[off] == 9 && t[off + 1] >= 16) {	/* processor local x2APIC */
			memcpy(&id, t + off + 4, 4);
			memcpy(&flags, t + off + 8, 4);
		} else {
			continue;
		}
		if (!(flags & 3))
			continue;
		if (n == max) {
			log_warn("smp: more than %u CPUs: APIC %u and above stay stopped\n", max, id);
			break;
		}
		ids[n++] = id;
	}
	return n;
}

void smp_init(void)
{
	u32 ids[TV_MAX_CPUS], n = madt_cpus(ids, TV_MAX_CPUS);
	const u8 *fadt = acpi_find_table("FACP");
	u32 pm;

	vcpus[0].apic_id = lapic_id();
	vcpus[0].state = CPU_RUNNING;
	ncpus = 1;
	if (fadt) {
		memcpy(&pm, fadt + 76, 4);
		pm_timer = pm <= 0xFFFF ? (u16)pm : 0;
	}
	if (n <= 1) {
		log_info("smp: one CPU\n");
		return;
	}

	/*
	 * A temporary address space for the trampoline: the trampoline page
	 * identity-mapped, the upper half (image, direct map) as ours.
	 */
	struct pagetable tmp;
	u64 size = (u64)(ap_tramp_end - ap_tramp_start);
	u8 *low = phys_ptr(&hv.pm, TRAMP_PA, 4096), saved[4096];
	if (!low || size > 4096 || pt_init(&tmp, &pt_format_x86, &hv.pool) ||
	    pt_map(&tmp, TRAMP_PA, TRAMP_PA, 4096, PT_R | PT_X))
		panic("smp: cannot prepare the AP trampoline\n");
	u64 *root = pool_va(&hv.pool, tmp.root);
	const u64 *host = pool_va(&hv.pt_pool, hv.host_pt.root);
	for (u32 i = 256; i < 512; i++)
		root[i] = host[i];
	memcpy(saved, low, 4096);
	memcpy(low, ap_tramp_start, size);
	struct tramp_params *tp = (struct tramp_params *)(low + (ap_tramp_params - ap_tramp_start));
	tp->cr3 = tmp.root;
	tp->entry = (u64)ap_entry64;

	u32 up = 1;
	for (u32 i = 0; i < n; i++) {
		if (ids[i] == vcpus[0].apic_id)
			continue;
		struct vcpu *v = &vcpus[ncpus];
		v->id = ncpus;
		v->apic_id = ids[i];
		ncpus++;	/* from now on this_vcpu() finds it */
		if (start_ap(v, tp))
			up++;
		else
			log_warn("smp: CPU with APIC %u did not start: it stays stopped, the guest cannot use it\n",
				 ids[i]);
	}
	memcpy(low, saved, 4096);
	memset(root, 0, 4096);
	log_info("smp: %u of %u CPUs under %s\n", up, n, arch()->name);
}
