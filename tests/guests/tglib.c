/* SPDX-License-Identifier: MIT */
/*
 * tglib: self-test of the test-guest library, meaningful with or without
 * thinvisor underneath: formatted output, argument parsing, and exception
 * probing with known faults (each must come back as its vector, with the
 * guest carrying on normally afterwards).
 *
 * Argument "crash=1" raises #UD outside any probe instead, to show the
 * unexpected-exception path (that run must end in TEST FAIL).
 */
#include "tg.h"

const char test_name[] = "tglib";

static void check_fmt(const char *want, const char *fmt, ...) TG_PRINTF(2, 3);
static void check_fmt(const char *want, const char *fmt, ...)
{
	char buf[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	check(!strcmp(buf, want), "format \"%s\" gives \"%s\" (want \"%s\")", fmt, buf,
	      want);
}

struct fault_case {
	const char *what;
	uint8_t len, bytes[8];
	int vector;
	int has_err;
	uint32_t err;
};

static const struct fault_case faults[] = {
	{ "ud2", 2, { 0x0f, 0x0b }, 6, 0, 0 },
	{ "int3", 1, { 0xcc }, 3, 0, 0 },
	{ "div by zero", 4, { 0x31, 0xc9, 0xf7, 0xf1 }, 0, 0, 0 },    /* xor ecx,ecx; div ecx */
	{ "mov ds, 0x18", 6, { 0x66, 0xb8, 0x18, 0x00, 0x8e, 0xd8 }, 13, 1, 0x18 },
	{ "int 0x40 (beyond IDT limit)", 2, { 0xcd, 0x40 }, 13, 1, 0x40 * 8 + 2 },
};

static volatile uint32_t cell = 0x12345678;

void test_main(void)
{
	const char *crash = mb_find_arg("crash");
	if (crash) {
		printf("tglib: raising #UD outside a probe; expect TEST FAIL\n");
		__asm__ volatile("ud2");
	}

	printf("tglib: formatting\n");
	check_fmt("0000abcd", "%08x", 0xabcdu);
	check_fmt("-42 42 4294967254", "%d %u %u", -42, 42u, (uint32_t)-42);
	check_fmt("123456789abcdef0", "%llx", 0x123456789abcdef0ull);
	check_fmt("18446744073709551615", "%llu", ~0ull);
	check_fmt("-9223372036854775808", "%lld", (int64_t)(1ull << 63));
	check_fmt("[ab   |   cd|x|%]", "[%-5s|%5s|%c|%%]", "ab", "cd", 'x');
	check_fmt("0x00100000", "%p", (void *)0x100000);

	printf("tglib: probes that must not fault\n");
	/* Arguments are evaluated in no particular order: probe first, then
	 * report. */
	uint32_t v = 0;
	int got = probe_read32((uint32_t)(uintptr_t)&cell, &v);
	check(got == PROBE_OK && v == 0x12345678, "probe_read32 of a variable gives %08x",
	      v);
	got = probe_write32((uint32_t)(uintptr_t)&cell, 0xcafef00d);
	check(got == PROBE_OK && cell == 0xcafef00d,
	      "probe_write32 of a variable stores %08x", cell);
	struct tg_regs r = { .eax = 2, .ebx = 3, .esi = 7, .edi = 9 };
	static const uint8_t add[] = { 0x01, 0xd8, 0x01, 0xfe }; /* add eax,ebx; add esi,edi */
	got = probe_bytes(add, sizeof(add), &r);
	check(got == PROBE_OK && r.eax == 5 && r.esi == 16,
	      "probe_bytes passes registers in and out (eax %u, esi %u)", r.eax, r.esi);

	printf("tglib: probes that must fault\n");
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		const struct fault_case *f = &faults[i];
		struct tg_regs rr = { .eax = 0x11111111, .ebx = 0x22222222 };
		got = probe_bytes(f->bytes, f->len, &rr);
		check(got == f->vector && (!f->has_err || probe_last.error_code == f->err) &&
			      rr.eax == 0x11111111 && rr.ebx == 0x22222222,
		      "%-28s -> %s (vector %d, error %x, EIP %08x)", f->what,
		      vector_name(got), got, probe_last.error_code, probe_last.eip);
	}
	/* Segment registers must be intact after the #GP cases. */
	uint16_t ds;
	__asm__ volatile("mov %%ds, %0" : "=r"(ds));
	check(ds == 0x10, "DS is still 0x10 (%x)", ds);
	check(cell == 0xcafef00d, "memory unchanged by faulting probes");
	tg_finish();
}
