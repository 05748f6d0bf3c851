/* SPDX-License-Identifier: MIT */
/*
 * tg: the tiny test-guest library for thinvisor's system tests.
 *
 * A test guest is a 32-bit multiboot v1 ELF kernel.  It defines
 *
 *     const char test_name[] = "name";
 *     void test_main(void);
 *
 * crt0 sets up a stack, GDT and IDT, tg_start() initialises COM1, checks
 * the multiboot magic and calls test_main(), which must end in pass() or
 * fail() (tg_finish() does that from the recorded checks).  Every way out
 * - verdict, unexpected exception, test_main returning - ends with a line
 * on COM1 and a write to the isa-debug-exit port, so QEMU always exits.
 */
#ifndef TG_H
#define TG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "tv/abi.h"

#define TG_NORETURN __attribute__((noreturn))
#define TG_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ---- provided by each test guest ---- */
extern const char test_name[];
void test_main(void);

/* ---- port I/O ---- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* ---- CPUID ---- */
struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};
static inline struct cpuid_regs cpuid(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

/* ---- serial console (COM1, 115200 8N1) and formatted output ---- */
void serial_init(void);
void serial_putc(char c);
void serial_drain(void); /* wait until the transmitter is empty (LSR bit 6) */

/*
 * printf-lite: %s %c %d %u %x %X %p %%, the 'll' modifier for d/u/x/X,
 * a field width and the '0' / '-' flags (so %08x, %-10s, %16llx work).
 */
int printf(const char *fmt, ...) TG_PRINTF(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) TG_PRINTF(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* ---- small string helpers (the compiler may also call memcpy/memset) ---- */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* ---- verdicts ---- */
/* Print "TEST PASS: name" / "TEST FAIL: name: reason", drain COM1, write
 * TV_EXIT_PASS / TV_EXIT_FAIL to TV_DEBUG_EXIT_PORT, then cli; hlt forever. */
TG_NORETURN void pass(const char *name);
TG_NORETURN void fail(const char *name, const char *fmt, ...) TG_PRINTF(2, 3);

/*
 * Soft checks: check() prints "  [ok]   what" or "  [FAIL] what" and
 * remembers the first failure; tg_finish() passes if every check held and
 * otherwise fails with the number of failed checks and the first message.
 * Returns cond so callers can skip dependent checks.
 */
int check(int cond, const char *fmt, ...) TG_PRINTF(2, 3);
TG_NORETURN void tg_finish(void);

/* ---- exception probing ----
 * Each probe runs one operation with a recovery point armed: if it raises
 * an exception, the IDT stub restores the probe's saved ESP and jumps to
 * its recovery label, so no instruction length is ever guessed.
 * Convention: return PROBE_OK (-1) if no exception, else the vector
 * (0..31).  Details of the last fault are in probe_last.
 */
#define PROBE_OK (-1)

struct probe_fault {
	uint32_t vector;
	uint32_t error_code; /* 0 for vectors without an error code */
	uint32_t eip;	     /* faulting EIP */
};
extern volatile struct probe_fault probe_last;

/* General registers given to / returned from a probed code snippet. */
struct tg_regs {
	uint32_t eax, ebx, ecx, edx, esi, edi;
};

/* Call fn (code ending in RET) with the registers from *r loaded; on return
 * *r holds the registers it left (unchanged if it faulted). */
int probe_call(struct tg_regs *r, void (*fn)(void));
/* Run the raw instruction bytes code[0..len) (len <= 32) with *r loaded. */
int probe_bytes(const void *code, size_t len, struct tg_regs *r);

int probe_read32(uint32_t addr, uint32_t *val);
int probe_write32(uint32_t addr, uint32_t val);
int probe_rdmsr(uint32_t msr, uint64_t *val);
int probe_wrmsr(uint32_t msr, uint64_t val);

/* Short printable name of an exception vector ("#UD", "#GP", ... or "none"). */
const char *vector_name(int vector);

/* ---- hypercalls ----
 * hc() issues VMMCALL (AMD/Hygon) or VMCALL (Intel) with EAX = fn, EBX = arg
 * and stores EAX, EBX, ECX, EDX in out[0..3].  Returns the status (EAX;
 * INT32_MAX if EAX has bit 31 set, out[0] is exact) or one of these
 * negative values (out[] is then zeroed):
 */
#define HC_FAULTED   (-1) /* the instruction raised an exception (hc_last_vector) */
#define HC_NOVENDOR  (-2) /* CPU vendor is neither AMD nor Intel */
extern int hc_last_vector;
int hc(uint32_t fn, uint32_t arg, uint32_t out[4]);
/* Like hc(), but a negative result ends the test with fail(). */
uint32_t hc_must(uint32_t fn, uint32_t arg, uint32_t out[4]);
/* Read one exit counter (TV_HC_EXIT_COUNT) or fail the test. */
uint64_t hc_exit_count(uint32_t event);
/*
 * The hypervisor region from TV_HC_HV_REGION, or fail the test.  For
 * trying a guest without thinvisor, the argument "hvregion=BASE,SIZE"
 * overrides the hypercall (numbers in C syntax, e.g. 0x10000000,0x100000).
 */
void hv_region(uint64_t *base, uint64_t *size);

enum cpu_vendor { VENDOR_UNKNOWN, VENDOR_AMD, VENDOR_INTEL };
extern enum cpu_vendor cpu_vendor;
extern char cpu_vendor_str[13];

/* ---- multiboot v1 info ---- */
#define MB_INFO_MEM     (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS    (1u << 3)
#define MB_INFO_MMAP    (1u << 6)
#define MB_INFO_LOADER  (1u << 9)

struct mb_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper; /* KiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
} __attribute__((packed));

struct mb_mmap_entry {
	uint32_t size; /* of the rest of the entry, not counting this field */
	uint64_t addr, len;
	uint32_t type; /* 1 = usable RAM, 2 = reserved, ... */
} __attribute__((packed));

extern const struct mb_info *mb; /* from EBX at entry */

/* Raw multiboot command line, or NULL if the loader gave none. */
const char *mb_cmdline(void);
/*
 * The guest's arguments: the command line without a leading image name.
 * QEMU's -kernel and GRUB legacy pass "IMAGE args"; a hypervisor following
 * the Xen convention passes just "args".  The first word is treated as the
 * image name iff it contains '/' or ends in ".elf".  Never NULL.
 */
const char *mb_args(void);
/* Value of "key=value" among mb_args() (up to the next blank), or NULL. */
const char *mb_find_arg(const char *key);
/* Loader name (flag bit 9) or "?". */
const char *mb_loader_name(void);

/* Iterate over the memory map: for (e = mmap_first(); e; e = mmap_next(e)) */
const struct mb_mmap_entry *mmap_first(void);
const struct mb_mmap_entry *mmap_next(const struct mb_mmap_entry *e);
const char *mmap_type_name(uint32_t type);

/* Parse an unsigned number (decimal, or hex with 0x) at *s, advancing *s.
 * Returns 0 if there were no digits. */
int parse_u64(const char **s, uint64_t *val);

/* Linker symbols: the guest image in memory is [__image_start, __image_end). */
extern char __image_start[], __image_end[];

#endif
