/* SPDX-License-Identifier: MIT */
/* Guest start-up, IDT, unexpected exceptions, verdicts and soft checks. */
#include "tg.h"

#define MB_BOOT_MAGIC 0x2BADB002u

void tg_detect_vendor(void); /* probe.c */
void tg_start(uint32_t magic, uint32_t mbi) TG_NORETURN;

/* ---- IDT: 32 interrupt gates to the stubs in crt0.S ---- */

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t zero, type; /* 0x8E: present, DPL 0, 32-bit interrupt gate */
	uint16_t off_hi;
} __attribute__((packed));

struct desc_ptr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

extern const uint32_t isr_stub_table[32];
static struct idt_gate idt[32] __attribute__((aligned(8)));

/* Vectors >= 32 lie beyond the IDT limit, so a stray interrupt or INT n
 * becomes a #GP (error code = vector * 8 + 2) that the handler reports. */
static void idt_init(void)
{
	for (int i = 0; i < 32; i++) {
		idt[i].off_lo = (uint16_t)isr_stub_table[i];
		idt[i].sel = 0x08;
		idt[i].zero = 0;
		idt[i].type = 0x8E;
		idt[i].off_hi = (uint16_t)(isr_stub_table[i] >> 16);
	}
	struct desc_ptr d = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(d));
}

/* ---- verdicts ---- */

TG_NORETURN static void exit_qemu(uint32_t code)
{
	serial_drain();
	outl(TV_DEBUG_EXIT_PORT, code);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void pass(const char *name)
{
	printf("TEST PASS: %s\n", name);
	exit_qemu(TV_EXIT_PASS);
}

void fail(const char *name, const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	/* The verdict must stay on one line. */
	for (char *p = reason; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	printf("\nTEST FAIL: %s: %s\n", name, reason);
	exit_qemu(TV_EXIT_FAIL);
}

/* ---- soft checks ---- */

static int checks_failed;
static char first_failure[200];

int check(int cond, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	printf("  [%s] %s\n", cond ? "ok" : "FAIL", msg);
	if (!cond && checks_failed++ == 0)
		memcpy(first_failure, msg, sizeof(msg));
	return cond;
}

void tg_finish(void)
{
	if (checks_failed)
		fail(test_name, "%d check(s) failed; first: %s", checks_failed,
		     first_failure);
	pass(test_name);
}

/* ---- unexpected exceptions ---- */

struct exc_frame {
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax; /* pushal */
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags; /* pushed by the CPU */
};

void tg_exception(struct exc_frame *f) TG_NORETURN;
void tg_exception(struct exc_frame *f)
{
	static volatile int nesting;

	if (nesting++) {
		/* Faulted while reporting a fault: just get out. */
		exit_qemu(TV_EXIT_FAIL);
	}
	printf("\nunexpected exception %s (vector %u) at EIP=%08x error=%08x EFLAGS=%08x\n"
	       "  EAX=%08x EBX=%08x ECX=%08x EDX=%08x ESI=%08x EDI=%08x EBP=%08x\n",
	       vector_name((int)f->vector), f->vector, f->eip, f->error_code,
	       f->eflags, f->eax, f->ebx, f->ecx, f->edx, f->esi, f->edi, f->ebp);
	fail(test_name, "unexpected exception %s (vector %u) at EIP=%08x error code %08x",
	     vector_name((int)f->vector), f->vector, f->eip, f->error_code);
}

/* ---- start-up ---- */

static int overlaps_image(uint32_t addr, uint32_t len)
{
	uint32_t lo = (uint32_t)(uintptr_t)__image_start;
	uint32_t hi = (uint32_t)(uintptr_t)__image_end;
	return addr < hi && addr + len > lo;
}

void tg_start(uint32_t magic, uint32_t mbi)
{
	serial_init();
	idt_init();
	printf("\ntg: test guest \"%s\" (image %p-%p)\n", test_name,
	       (void *)__image_start, (void *)__image_end);

	if (magic != MB_BOOT_MAGIC)
		fail(test_name, "bad multiboot magic %08x in EAX (want %08x)", magic,
		     MB_BOOT_MAGIC);
	if (overlaps_image(mbi, sizeof(struct mb_info)))
		fail(test_name, "multiboot info at %08x overlaps the guest image", mbi);
	mb = (const struct mb_info *)(uintptr_t)mbi;

	const char *cl = mb_cmdline();
	if (cl && overlaps_image((uint32_t)(uintptr_t)cl, (uint32_t)strlen(cl) + 1))
		fail(test_name, "command line at %p overlaps the guest image", (void *)cl);

	tg_detect_vendor();
	printf("tg: multiboot info at %08x, flags %08x, loader \"%s\"\n", mbi,
	       mb->flags, mb_loader_name());
	printf("tg: command line \"%s\", CPU vendor \"%s\"\n", cl ? cl : "(none)",
	       cpu_vendor_str);

	test_main();
	fail(test_name, "test_main returned without a verdict");
}
