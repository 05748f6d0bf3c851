/* Start-up: from the multiboot entry to the first guest instruction. */
#include "tv/cpu.h"
#include "tv/hv.h"
#include "tv/io.h"
#include "tv/pci.h"
#include "tv/smp.h"
#include "tv/storage.h"
#include "tv/lib.h"
#include "tv/log.h"

struct hv hv;

const struct arch_ops *const arch_table[ARCH_COUNT] = { [ARCH_SVM] = &svm_ops, [ARCH_VMX] = &vmx_ops };

void hv_stop(u32 status, const char *fmt, ...)
{
	char buf[200];
	va_list ap;

	va_start(ap, fmt);
	tv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	struct vcpu *v = this_vcpu();
	smp_stop_others();
	log_err("%s%s", status == TV_EXIT_PANIC ? "PANIC: " : "", buf);
	if (v) {
		log_err("guest cpu %u: rip %016lx rflags %016lx cpl %u\n", v->id, v->rip, v->rflags, v->cpl);
		log_err("rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", v->gpr[R_AX], v->gpr[R_BX],
			v->gpr[R_CX], v->gpr[R_DX]);
		log_err("rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n", v->gpr[R_SI], v->gpr[R_DI],
			v->gpr[R_BP], v->gpr[R_SP]);
		log_err("cr0 %016lx cr3 %016lx cr4 %016lx efer %016lx\n", v->cr0, v->cr3, v->cr4, v->efer);
		log_err("last exit: event %u reason %lx info1 %lx info2 %lx\n", v->exit.event,
			v->exit.reason, v->exit.info1, v->exit.info2);
		arch()->dump(v);
		for (u32 e = 0; e < TV_EV_COUNT; e++)
			if (v->counters[e])
				log_err("exits[%u] = %lu\n", e, v->counters[e]);
	}
	log_drain();
	outl(TV_DEBUG_EXIT_PORT, status);
	cpu_halt_forever();
	__builtin_unreachable();
}

/* The backend for this CPU, from its CPUID vendor and feature bits. */
static u32 pick_vendor(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	char id[13];

	memcpy(id, &r.ebx, 4);
	memcpy(id + 4, &r.edx, 4);
	memcpy(id + 8, &r.ecx, 4);
	id[12] = '\0';
	if ((!strcmp(id, "AuthenticAMD") || !strcmp(id, "HygonGenuine")) &&
	    cpuid(0x80000000u, 0).eax >= 0x80000001u && (cpuid(0x80000001u, 0).ecx & (1u << 2)))
		return ARCH_SVM;
	if (!strcmp(id, "GenuineIntel") && r.eax >= 1 && (cpuid(1, 0).ecx & (1u << 5)))
		return ARCH_VMX;
	panic("cannot run on this CPU (%s): it has neither AMD SVM nor Intel VT-x\n", id);
}

void platform_init(void);
/* The stack canary (-fstack-protector-strong): seeded first thing at boot. */
u64 __stack_chk_guard = 0x595e9fbd94fda766ull;
void __stack_chk_fail(void);
void __stack_chk_fail(void)
{
	panic("hypervisor stack smashed\n");
}

void hv_boot(u32 magic, u32 info);
void hv_boot(u32 magic, u32 info)
{
	/* The loader's structures are reached through the early identity map. */
	const struct physmem early = { 0, 0, GiB(4) };
	const char *err = NULL;
	char msg[256];

	/* hv_boot never returns, so changing the canary under it is safe. */
	__stack_chk_guard ^= tsc() * 0x9E3779B97F4A7C15ull;

	log_init(CONSOLE_COM1, false);
	if (bootinfo_parse(magic, info, &early, &hv.boot, &err))
		panic("%s\n", err);
	const char *cl = cmdline_cook(hv.boot.cmdline, hv.boot.loader);
	if (cmdline_parse(cl, &hv.cfg, msg, sizeof(msg)))
		panic("bad command line: %s\n", msg);
	log_init(hv.cfg.console, hv.cfg.debug);
	log_info("thinvisor %u.%u starting (multiboot%s, loader '%s')\n", TV_VERSION >> 16,
		 TV_VERSION & 0xFFFF, hv.boot.protocol == 2 ? "2" : "", hv.boot.loader);
	log_debug("command line: '%s'\n", cl);

	hv.vendor = pick_vendor();
	if (arch()->probe(&err))
		panic("cannot run on this CPU: %s\n", err);

	mem_setup();
	cpu_tables_init(0);
	io_init();
	storage_take_key_module();
	pci_init();
	platform_init();
	iommu_init();
	apic_init();
	smp_init();
	storage_need_key();

	struct cpu_state st;
	guest_prepare(&st);

	struct vcpu *v = &vcpus[0];
	if (arch()->vcpu_init(v, hv.nested_pt.root))
		panic("%s: could not set up the guest CPU\n", arch()->name);
	arch()->set_state(v, &st);
	v->ran = true;
	log_info("starting guest at %lx under %s\n", st.rip, arch()->name);
	vcpu_loop(v);
}
