/* SPDX-License-Identifier: MIT */
/* Exception probes and the hypercall wrapper (see tg.h and crt0.S). */
#include "tg.h"

volatile struct probe_fault probe_last;

/* Code snippets in crt0.S, each ending in RET. */
extern void snip_read32(void), snip_write32(void);
extern void snip_rdmsr(void), snip_wrmsr(void);
extern void snip_vmmcall(void), snip_vmcall(void);

/*
 * probe_bytes() copies the instruction into this buffer, follows it with
 * RET and calls it.  Paging is off, so data is executable; the CALL after
 * the stores is enough for the CPU (and QEMU) to see the new bytes.
 */
static uint8_t code_buf[64] __attribute__((aligned(16)));

int probe_bytes(const void *code, size_t len, struct tg_regs *r)
{
	if (len > sizeof(code_buf) - 1)
		fail(test_name, "probe_bytes: instruction of %u bytes is too long",
		     (unsigned)len);
	memcpy(code_buf, code, len);
	code_buf[len] = 0xC3; /* ret */
	return probe_call(r, (void (*)(void))(uintptr_t)code_buf);
}

int probe_read32(uint32_t addr, uint32_t *val)
{
	struct tg_regs r = { .ebx = addr };
	int v = probe_call(&r, snip_read32);
	if (v == PROBE_OK)
		*val = r.eax;
	return v;
}

int probe_write32(uint32_t addr, uint32_t val)
{
	struct tg_regs r = { .eax = val, .ebx = addr };
	return probe_call(&r, snip_write32);
}

int probe_rdmsr(uint32_t msr, uint64_t *val)
{
	struct tg_regs r = { .ecx = msr };
	int v = probe_call(&r, snip_rdmsr);
	if (v == PROBE_OK)
		*val = ((uint64_t)r.edx << 32) | r.eax;
	return v;
}

int probe_wrmsr(uint32_t msr, uint64_t val)
{
	struct tg_regs r = { .eax = (uint32_t)val, .ecx = msr,
			     .edx = (uint32_t)(val >> 32) };
	return probe_call(&r, snip_wrmsr);
}

const char *vector_name(int v)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "#09", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
		"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
	};
	if (v == PROBE_OK)
		return "none";
	if (v >= 0 && v < 32)
		return names[v];
	return "?";
}

/* ---- hypercalls ---- */

enum cpu_vendor cpu_vendor;
char cpu_vendor_str[13];
int hc_last_vector = PROBE_OK;

/* Called once from tg_start(), so hc() itself never executes CPUID (the
 * hypercall test counts CPUID exits around its hypercalls). */
void tg_detect_vendor(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	memcpy(cpu_vendor_str + 0, &r.ebx, 4);
	memcpy(cpu_vendor_str + 4, &r.edx, 4);
	memcpy(cpu_vendor_str + 8, &r.ecx, 4);
	cpu_vendor_str[12] = '\0';
	if (!strcmp(cpu_vendor_str, "AuthenticAMD") ||
	    !strcmp(cpu_vendor_str, "HygonGenuine"))
		cpu_vendor = VENDOR_AMD;
	else if (!strcmp(cpu_vendor_str, "GenuineIntel"))
		cpu_vendor = VENDOR_INTEL;
	else
		cpu_vendor = VENDOR_UNKNOWN;
}

int hc(uint32_t fn, uint32_t arg, uint32_t out[4])
{
	struct tg_regs r = { .eax = fn, .ebx = arg };
	int v;

	out[0] = out[1] = out[2] = out[3] = 0;
	if (cpu_vendor == VENDOR_AMD)
		v = probe_call(&r, snip_vmmcall);
	else if (cpu_vendor == VENDOR_INTEL)
		v = probe_call(&r, snip_vmcall);
	else
		return HC_NOVENDOR;
	hc_last_vector = v;
	if (v != PROBE_OK)
		return HC_FAULTED;
	out[0] = r.eax;
	out[1] = r.ebx;
	out[2] = r.ecx;
	out[3] = r.edx;
	/* Keep negative return values for our own errors: a status with bit
	 * 31 set (never valid) comes back as INT32_MAX; out[0] is exact. */
	return r.eax > INT32_MAX ? INT32_MAX : (int)r.eax;
}

uint32_t hc_must(uint32_t fn, uint32_t arg, uint32_t out[4])
{
	int st = hc(fn, arg, out);
	if (st == HC_NOVENDOR)
		fail(test_name, "hypercall %u: unknown CPU vendor \"%s\"", fn,
		     cpu_vendor_str);
	if (st == HC_FAULTED)
		fail(test_name,
		     "hypercall %u: %s raised %s (vector %d) - not running under thinvisor?",
		     fn, cpu_vendor == VENDOR_AMD ? "VMMCALL" : "VMCALL",
		     vector_name(hc_last_vector), hc_last_vector);
	return out[0];
}

uint64_t hc_exit_count(uint32_t event)
{
	uint32_t out[4];
	uint32_t st = hc_must(TV_HC_EXIT_COUNT, event, out);
	if (st != TV_OK)
		fail(test_name, "TV_HC_EXIT_COUNT(%u) returned status %u", event, st);
	return ((uint64_t)out[2] << 32) | out[1];
}

void hv_region(uint64_t *base, uint64_t *size)
{
	const char *o = mb_find_arg("hvregion");
	uint32_t out[4];

	if (o) {
		if (!parse_u64(&o, base) || *o++ != ',' || !parse_u64(&o, size) || !*size)
			fail(test_name, "bad hvregion= argument (want BASE,SIZE)");
		printf("%s: hypervisor region overridden by the command line\n", test_name);
	} else {
		uint32_t st = hc_must(TV_HC_HV_REGION, 0, out);
		if (st != TV_OK || !out[2])
			fail(test_name, "TV_HC_HV_REGION failed (status %u, size %08x)", st,
			     out[2]);
		*base = out[1];
		*size = out[2];
	}
	if (*base + *size > (1ull << 32))
		fail(test_name, "hypervisor region %08llx+%llx does not end below 4 GiB",
		     *base, *size);
	printf("%s: hypervisor region %08llx-%08llx (%llu KiB)\n", test_name, *base,
	       *base + *size - 1, *size >> 10);
}
