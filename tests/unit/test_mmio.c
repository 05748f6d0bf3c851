/* dev/mmio_decode.c: mmio_decode, mmio_write_reg, mmio_store_value. */
#include "util.h"

#include "tv/mmio.h"

/*
 * Real encodings: the bytes are what `as --64` / `as --32` (.code16 for
 * 16-bit mode) produced for the instruction in the comment column, as
 * listed by objdump -d.  The few hand-made ones are marked and were
 * checked with objdump -D -b binary.
 */
struct enc {
	const char *bytes;
	u8 nbytes;
	u8 mode;
	u8 len, size;
	bool write, has_imm;
	u64 imm;
	u8 reg;
	bool high8;
	u8 ext, dst_size;
	const char *text;
};

#define B(s) s, sizeof(s) - 1
/* load, store, store-immediate */
#define LD(s, m, size, reg, hi, ext, dst, t) \
	{ B(s), m, sizeof(s) - 1, size, false, false, 0, reg, hi, ext, dst, t }
#define ST(s, m, size, reg, hi, t) \
	{ B(s), m, sizeof(s) - 1, size, true, false, 0, reg, hi, MMIO_EXT_NONE, 0, t }
#define SI(s, m, size, imm, t) \
	{ B(s), m, sizeof(s) - 1, size, true, true, imm, 0, false, MMIO_EXT_NONE, 0, t }
#define N MMIO_EXT_NONE
#define Z MMIO_EXT_ZERO
#define S MMIO_EXT_SIGN

static const struct enc encs[] = {
	/* 64-bit mode: readl/writel, readq/writeq and compiled driver code */
	ST("\x89\x42\x14", 64, 4, 0, false, "mov %eax,0x14(%rdx)"),
	LD("\x44\x8b\x4f\x10", 64, 4, 9, false, N, 4, "mov 0x10(%rdi),%r9d"),
	ST("\x4c\x89\x24\xd8", 64, 8, 12, false, "mov %r12,(%rax,%rbx,8)"),
	ST("\x4f\x89\x3c\x88", 64, 8, 15, false, "mov %r15,(%r8,%r9,4)"),
	ST("\x48\x89\x44\x24\x30", 64, 8, 0, false, "mov %rax,0x30(%rsp)"),
	LD("\x49\x8b\x74\x24\x18", 64, 8, 6, false, N, 8, "mov 0x18(%r12),%rsi"),
	LD("\x41\x8b\x45\x00", 64, 4, 0, false, N, 4, "mov 0x0(%r13),%eax"),
	LD("\x8b\x4d\x00", 64, 4, 1, false, N, 4, "mov 0x0(%rbp),%ecx"),
	LD("\x41\x8b\x04\x24", 64, 4, 0, false, N, 4, "mov (%r12),%eax"),
	LD("\x8b\x04\x24", 64, 4, 0, false, N, 4, "mov (%rsp),%eax"),
	ST("\x41\x89\x44\x05\x14", 64, 4, 0, false, "mov %eax,0x14(%r13,%rax,1)"),
	ST("\x41\x89\x85\x78\x56\x34\x12", 64, 4, 0, false, "mov %eax,0x12345678(%r13)"),
	ST("\x66\x89\x42\x20", 64, 2, 0, false, "mov %ax,0x20(%rdx)"),
	LD("\x3e\x8b\x02", 64, 4, 0, false, N, 4, "mov %ds:(%rdx),%eax (hand-made)"),
	/* RIP-relative, SIB without base (mod 0, base 5), disp32 */
	LD("\x8b\x05\x78\x56\x34\x12", 64, 4, 0, false, N, 4, "mov 0x12345678(%rip),%eax"),
	ST("\x89\x0d\xf8\xff\xff\xff", 64, 4, 1, false, "mov %ecx,-0x8(%rip)"),
	LD("\x41\x8b\x05\x00\x00\x00\x00", 64, 4, 0, false, N, 4,
	   "rex.B mov 0x0(%rip),%eax (hand-made)"),
	ST("\x89\x14\x8d\x00\x10\x00\x00", 64, 4, 2, false, "mov %edx,0x1000(,%rcx,4)"),
	LD("\x41\x8b\x04\x05\x10\x00\x00\x00", 64, 4, 0, false, N, 4,
	   "rex.B mov 0x10(,%rax,1),%eax (hand-made)"),
	LD("\x64\x8b\x04\x25\x10\x00\x00\x00", 64, 4, 0, false, N, 4, "mov %fs:0x10,%eax"),
	ST("\x65\x89\x02", 64, 4, 0, false, "mov %eax,%gs:(%rdx)"),
	/* 8-bit: AH..BH without REX, SIL and R8B with it */
	ST("\x88\x23", 64, 1, 0, true, "mov %ah,(%rbx)"),
	LD("\x8a\x3b", 64, 1, 3, true, N, 1, "mov (%rbx),%bh"),
	ST("\x40\x88\x37", 64, 1, 6, false, "mov %sil,(%rdi)"),
	ST("\x44\x88\x40\x03", 64, 1, 8, false, "mov %r8b,0x3(%rax)"),
	LD("\x45\x8a\x3a", 64, 1, 15, false, N, 1, "mov (%r10),%r15b"),
	/* immediates */
	SI("\xc7\x41\x2c\x01\x00\x00\x00", 64, 4, 1, "movl $0x1,0x2c(%rcx)"),
	SI("\xc6\x02\x00", 64, 1, 0, "movb $0x0,(%rdx)"),
	SI("\x41\xc6\x40\x7f\xff", 64, 1, 0xff, "movb $0xff,0x7f(%r8)"),
	SI("\x66\xc7\x41\x02\x34\x12", 64, 2, 0x1234, "movw $0x1234,0x2(%rcx)"),
	SI("\x66\x43\xc7\x04\x51\xfe\xff", 64, 2, 0xfffe, "movw $0xfffe,(%r9,%r10,2)"),
	SI("\xc7\x84\x33\x78\x56\x34\x12\xef\xbe\xad\xde", 64, 4, 0xdeadbeef,
	   "movl $0xdeadbeef,0x12345678(%rbx,%rsi,1)"),
	SI("\x48\xc7\x47\x08\xff\xff\xff\xff", 64, 8, 0xffffffffffffffffull, "movq $-1,0x8(%rdi)"),
	SI("\x48\xc7\x00\xff\xff\xff\x7f", 64, 8, 0x7fffffff, "movq $0x7fffffff,(%rax)"),
	SI("\x48\xc7\x00\x00\x00\x00\x80", 64, 8, 0xffffffff80000000ull, "movq $-0x80000000,(%rax)"),
	/* MOVZX / MOVSX */
	LD("\x0f\xb6\x46\x07", 64, 1, 0, false, Z, 4, "movzbl 0x7(%rsi),%eax"),
	LD("\x44\x0f\xb7\x07", 64, 2, 8, false, Z, 4, "movzwl (%rdi),%r8d"),
	LD("\x48\x0f\xbf\x43\x06", 64, 2, 0, false, S, 8, "movswq 0x6(%rbx),%rax"),
	LD("\x0f\xbe\x4d\xff", 64, 1, 1, false, S, 4, "movsbl -0x1(%rbp),%ecx"),
	LD("\x4d\x0f\xbe\x75\x00", 64, 1, 14, false, S, 8, "movsbq 0x0(%r13),%r14"),
	LD("\x66\x0f\xb6\x10", 64, 1, 2, false, Z, 2, "movzbw (%rax),%dx"),
	LD("\x4c\x0f\xb7\x99\x00\x01\x00\x00", 64, 2, 11, false, Z, 8, "movzwq 0x100(%rcx),%r11"),
	LD("\x0f\xb6\x24\x25\x00\x10\x00\x00", 64, 1, 4, false, Z, 4,
	   "movzbl 0x1000,%esp (hand-made: reg 4 is ESP, not AH)"),
	/* moffs: 8 bytes, or 4 with 67 */
	LD("\xa1\xb0\x00\xe0\xfe\x00\x00\x00\x00", 64, 4, 0, false, N, 4, "movabs 0xfee000b0,%eax"),
	ST("\xa3\xb0\x00\xe0\xfe\x00\x00\x00\x00", 64, 4, 0, false, "movabs %eax,0xfee000b0"),
	LD("\xa0\x88\x77\x66\x55\x44\x33\x22\x11", 64, 1, 0, false, N, 1,
	   "movabs 0x1122334455667788,%al"),
	ST("\x48\xa3\x88\x77\x66\x55\x44\x33\x22\x11", 64, 8, 0, false,
	   "movabs %rax,0x1122334455667788"),
	LD("\x67\xa1\x78\x56\x34\x12", 64, 4, 0, false, N, 4, "addr32 mov 0x12345678,%eax"),
	/* 67 in 64-bit mode: 32-bit addressing, EIP-relative */
	LD("\x67\x8b\x08", 64, 4, 1, false, N, 4, "mov (%eax),%ecx"),
	LD("\x67\x4c\x8b\x0c\x58", 64, 8, 9, false, N, 8, "mov (%eax,%ebx,2),%r9"),
	LD("\x67\x8b\x05\x00\x00\x00\x00", 64, 4, 0, false, N, 4, "mov 0x0(%eip),%eax"),
	/* REX placement (hand-made; objdump agrees): only the last, right before the opcode */
	ST("\x48\x66\x89\x02", 64, 2, 0, false, "rex.W data16 mov %ax,(%rdx): REX ignored"),
	ST("\x66\x48\x89\x02", 64, 8, 0, false, "data16 mov %rax,(%rdx): REX.W wins over 66"),
	ST("\x41\x48\x89\x02", 64, 8, 0, false, "rex.B mov %rax,(%rdx): first REX ignored"),
	ST("\x44\x3e\x88\x22", 64, 1, 0, true, "rex.R ds mov %ah,(%rdx): REX ignored, AH"),
	/* exactly 15 bytes */
	SI("\x26\x26\x26\x26\xc7\x84\x33\x78\x56\x34\x12\xef\xbe\xad\xde", 64, 4, 0xdeadbeef,
	   "es es es es movl $0xdeadbeef,0x12345678(%rbx,%rsi,1)"),

	/* 32-bit mode */
	ST("\x89\x42\x14", 32, 4, 0, false, "mov %eax,0x14(%edx)"),
	LD("\x8b\x4f\x10", 32, 4, 1, false, N, 4, "mov 0x10(%edi),%ecx"),
	ST("\x89\x1c\x88", 32, 4, 3, false, "mov %ebx,(%eax,%ecx,4)"),
	ST("\x89\x24\x24", 32, 4, 4, false, "mov %esp,(%esp)"),
	LD("\x8b\x4d\x12", 32, 4, 1, false, N, 4, "mov 0x12(%ebp),%ecx"),
	LD("\x8b\x0c\x85\x00\x00\xc0\xfe", 32, 4, 1, false, N, 4, "mov -0x1400000(,%eax,4),%ecx"),
	LD("\x2e\x8b\xbc\xd8\xf0\xff\xff\x7f", 32, 4, 7, false, N, 4,
	   "mov %cs:0x7ffffff0(%eax,%ebx,8),%edi"),
	SI("\xc7\x41\x2c\x01\x00\x00\x00", 32, 4, 1, "movl $0x1,0x2c(%ecx)"),
	SI("\xc6\x02\x80", 32, 1, 0x80, "movb $0x80,(%edx)"),
	SI("\x66\xc7\x46\x04\xef\xbe", 32, 2, 0xbeef, "movw $0xbeef,0x4(%esi)"),
	LD("\x0f\xb6\x46\x07", 32, 1, 0, false, Z, 4, "movzbl 0x7(%esi),%eax"),
	LD("\x0f\xb7\x2f", 32, 2, 5, false, Z, 4, "movzwl (%edi),%ebp"),
	LD("\x66\x0f\xbe\x10", 32, 1, 2, false, S, 2, "movsbw (%eax),%dx"),
	LD("\x0f\xbf\xb3\x34\x12\x00\x00", 32, 2, 6, false, S, 4, "movswl 0x1234(%ebx),%esi"),
	ST("\x88\x23", 32, 1, 0, true, "mov %ah,(%ebx)"),
	LD("\x8a\x31", 32, 1, 2, true, N, 1, "mov (%ecx),%dh"),
	ST("\x66\x89\x52\x20", 32, 2, 2, false, "mov %dx,0x20(%edx)"),
	ST("\x26\x88\x45\x01", 32, 1, 0, false, "mov %al,%es:0x1(%ebp)"),
	LD("\xa1\x00\x00\xc0\xfe", 32, 4, 0, false, N, 4, "mov 0xfec00000,%eax"),
	ST("\xa3\x10\x00\xc0\xfe", 32, 4, 0, false, "mov %eax,0xfec00010"),
	LD("\x66\xa1\x34\x12\x00\x00", 32, 2, 0, false, N, 2, "mov 0x1234,%ax"),
	LD("\x67\xa1\x34\x12", 32, 4, 0, false, N, 4, "addr16 mov 0x1234,%eax (hand-made)"),
	/* 67 in 32-bit mode: 16-bit addressing */
	LD("\x67\x8b\x00", 32, 4, 0, false, N, 4, "mov (%bx,%si),%eax"),
	ST("\x67\x89\x8b\x34\x12", 32, 4, 1, false, "mov %ecx,0x1234(%bp,%di)"),
	LD("\x67\x8b\x16\x34\x12", 32, 4, 2, false, N, 4, "addr16 mov 0x1234,%edx (hand-made)"),

	/* 16-bit mode */
	ST("\x89\x47\x14", 16, 2, 0, false, "mov %ax,0x14(%bx)"),
	LD("\x8b\x0c", 16, 2, 1, false, N, 2, "mov (%si),%cx"),
	LD("\x8b\x16\x34\x12", 16, 2, 2, false, N, 2, "mov 0x1234,%dx"),
	LD("\x8b\x5b\x12", 16, 2, 3, false, N, 2, "mov 0x12(%bp,%di),%bx"),
	ST("\x66\x89\x80\x34\x12", 16, 4, 0, false, "mov %eax,0x1234(%bx,%si)"),
	LD("\x67\x66\x8b\x08", 16, 4, 1, false, N, 4, "mov (%eax),%ecx"),
	LD("\x67\x8b\x44\x4a\x10", 16, 2, 0, false, N, 2, "mov 0x10(%edx,%ecx,2),%ax"),
	ST("\x67\x66\x89\x0f", 16, 4, 1, false, "mov %ecx,(%edi)"),
	SI("\xc6\x05\x05", 16, 1, 5, "movb $0x5,(%di)"),
	SI("\xc7\x47\x10\x34\x12", 16, 2, 0x1234, "movw $0x1234,0x10(%bx)"),
	SI("\x66\xc7\x87\x00\x10\x78\x56\x34\x12", 16, 4, 0x12345678, "movl $0x12345678,0x1000(%bx)"),
	SI("\x67\x66\xc7\x80\x78\x56\x34\x12\x78\x56\x34\x12", 16, 4, 0x12345678,
	   "movl $0x12345678,0x12345678(%eax)"),
	LD("\x0f\xb6\x07", 16, 1, 0, false, Z, 2, "movzbw (%bx),%ax"),
	LD("\x66\x0f\xb6\x07", 16, 1, 0, false, Z, 4, "movzbl (%bx),%eax"),
	LD("\x66\x0f\xbe\x54\x05", 16, 1, 2, false, S, 4, "movsbl 0x5(%si),%edx"),
	ST("\x88\x66\x00", 16, 1, 0, true, "mov %ah,0x0(%bp)"),
	LD("\x8a\x46\x00", 16, 1, 0, false, N, 1, "mov 0x0(%bp),%al"),
	LD("\x3e\x8b\x46\x00", 16, 2, 0, false, N, 2, "mov %ds:0x0(%bp),%ax"),
	ST("\xa3\x34\x12", 16, 2, 0, false, "mov %ax,0x1234"),
	ST("\x64\xa3\x05\x00", 16, 2, 0, false, "mov %ax,%fs:0x5"),
	LD("\x66\xa1\x78\x56", 16, 4, 0, false, N, 4, "mov 0x5678,%eax"),
	LD("\x67\xa1\x78\x56\x34\x12", 16, 2, 0, false, N, 2, "addr32 mov 0x12345678,%ax"),
};

/* Decode from a heap copy of exactly avail bytes, so ASan catches any overread. */
static int decode_exact(const void *bytes, size_t avail, int mode, struct mmio_insn *out)
{
	u8 *buf = malloc(avail ? avail : 1);
	assert_non_null(buf);
	memcpy(buf, bytes, avail);
	int rc = mmio_decode(buf, avail, mode, out);
	free(buf);
	return rc;
}

static void check_enc(const struct enc *e, const struct mmio_insn *d)
{
	if (d->len != e->len || d->size != e->size || d->write != e->write ||
	    d->has_imm != e->has_imm || d->imm != e->imm || d->reg != e->reg ||
	    d->high8 != e->high8 || d->ext != e->ext || d->dst_size != e->dst_size)
		fail_msg("%d-bit '%s': got len %u size %u write %d imm %d/%#llx reg %u high8 %d "
			 "ext %u dst %u; want len %u size %u write %d imm %d/%#llx reg %u high8 %d "
			 "ext %u dst %u", e->mode, e->text,
			 d->len, d->size, d->write, d->has_imm, (unsigned long long)d->imm, d->reg,
			 d->high8, d->ext, d->dst_size,
			 e->len, e->size, e->write, e->has_imm, (unsigned long long)e->imm, e->reg,
			 e->high8, e->ext, e->dst_size);
}

static void test_encodings(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(encs); i++) {
		const struct enc *e = &encs[i];
		struct mmio_insn d;

		assert_int_equal(e->nbytes, e->len);
		int rc = decode_exact(e->bytes, e->nbytes, e->mode, &d);
		if (rc != 0)
			fail_msg("%d-bit '%s': rc %d", e->mode, e->text, rc);
		check_enc(e, &d);
	}
}

/* More bytes after the instruction change nothing. */
static void test_trailing_bytes_ignored(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(encs); i++) {
		const struct enc *e = &encs[i];
		u8 buf[32];
		struct mmio_insn d;

		for (int fill = 0; fill < 256; fill += 0x55) {
			memset(buf, fill, sizeof(buf));
			memcpy(buf, e->bytes, e->nbytes);
			if (mmio_decode(buf, sizeof(buf), e->mode, &d) != 0)
				fail_msg("%d-bit '%s' + %#x...: refused", e->mode, e->text, fill);
			check_enc(e, &d);
		}
	}
}

/* Every proper prefix of every instruction is refused, without reading past avail. */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(encs); i++) {
		const struct enc *e = &encs[i];
		struct mmio_insn d;

		for (size_t n = 0; n < e->nbytes; n++) {
			memset(&d, 0xA5, sizeof(d));
			if (decode_exact(e->bytes, n, e->mode, &d) != -EINVAL)
				fail_msg("%d-bit '%s' cut to %zu bytes: accepted", e->mode, e->text, n);
			assert_int_equal(d.len, 0);	/* zeroed on failure */
		}
	}
}

static void test_null_and_bad_mode(void **state)
{
	struct mmio_insn d;
	const u8 mov[] = { 0x89, 0x42, 0x14 };

	(void)state;
	assert_int_equal(mmio_decode(NULL, 3, 64, &d), -EINVAL);
	assert_int_equal(mmio_decode(mov, 3, 0, &d), -EINVAL);
	assert_int_equal(mmio_decode(mov, 3, 8, &d), -EINVAL);
	assert_int_equal(mmio_decode(mov, 3, 63, &d), -EINVAL);
	assert_int_equal(mmio_decode(mov, 3, 64, &d), 0);
	assert_int_equal(mmio_decode(mov, 3, 32, &d), 0);
	assert_int_equal(mmio_decode(mov, 3, 16, &d), 0);
}

struct bad {
	const char *bytes;
	u8 nbytes;
	u8 mode;
	const char *text;
};
#define BAD(s, m, t) { B(s), m, t }

static const struct bad bads[] = {
	/* LOCK, REP, REPNE, anywhere among the prefixes */
	BAD("\xf0\x89\x42\x14", 64, "lock mov %eax,0x14(%rdx)"),
	BAD("\xf0\x83\x00\x01", 64, "lock addl $0x1,(%rax)"),
	BAD("\x66\xf0\x89\x02", 64, "data16 lock mov"),
	BAD("\xf3\x89\x02", 64, "rep mov %eax,(%rdx) (xrelease)"),
	BAD("\xf2\x89\x02", 64, "repne mov %eax,(%rdx) (xacquire)"),
	BAD("\x48\xf3\x89\x02", 64, "rex.W rep mov"),
	BAD("\xf3\x0f\xb6\x00", 64, "rep movzbl"),
	BAD("\xf3\xa5", 64, "rep movsl"),
	BAD("\xf3\xab", 32, "rep stos"),
	BAD("\xf3\xc7\x00\x01\x00\x00\x00", 32, "rep movl $1,(%eax)"),
	/* string moves and other opcodes */
	BAD("\xa5", 64, "movsl"),
	BAD("\xa4", 64, "movsb"),
	BAD("\xab", 64, "stos %eax,%es:(%rdi)"),
	BAD("\xaa", 16, "stosb"),
	BAD("\xad", 32, "lods"),
	BAD("\x01\x42\x14", 64, "add %eax,0x14(%rdx)"),
	BAD("\x03\x02", 64, "add (%rdx),%eax"),
	BAD("\x87\x02", 64, "xchg %eax,(%rdx)"),
	BAD("\x86\x02", 64, "xchg %al,(%rdx)"),
	BAD("\x85\x02", 64, "test %eax,(%rdx)"),
	BAD("\x83\x00\x01", 64, "addl $0x1,(%rax)"),
	BAD("\x81\x08\x00\x00\x00\x80", 64, "orl $0x80000000,(%rax)"),
	BAD("\x80\x20\xfe", 32, "andb $0xfe,(%eax)"),
	BAD("\xff\x00", 64, "incl (%rax)"),
	BAD("\xf7\x10", 64, "notl (%rax)"),
	BAD("\x8d\x04\x24", 64, "lea (%rsp),%eax"),
	BAD("\x8c\x00", 64, "mov %es,(%rax)"),
	BAD("\x8e\x00", 64, "mov (%rax),%es"),
	BAD("\x48\x63\x00", 64, "movslq (%rax),%rax"),
	BAD("\x0f\xc1\x02", 64, "xadd %eax,(%rdx)"),
	BAD("\x0f\xb1\x0a", 64, "cmpxchg %ecx,(%rdx)"),
	BAD("\x0f\x10\x00", 64, "movups (%rax),%xmm0"),
	BAD("\x66\x0f\x6f\x00", 64, "movdqa (%rax),%xmm0"),
	BAD("\x0f\xc3\x02", 64, "movnti %eax,(%rdx)"),
	BAD("\x0f\x38\xf0\x00", 64, "movbe (%rax),%eax"),
	BAD("\xc5\xf8\x28\x00", 64, "vmovaps (%rax),%xmm0 (VEX2)"),
	BAD("\xc4\xe2\x79\x18\x00", 64, "vbroadcastss (%rax),%xmm0 (VEX3)"),
	BAD("\x62\xf1\x7c\x48\x28\x00", 64, "vmovaps (%rax),%zmm0 (EVEX)"),
	BAD("\x8f\x00", 64, "pop (%rax)"),
	BAD("\x0f", 64, "lone escape"),
	BAD("\x0f\x0f\x00\x00", 64, "3DNow"),
	/* C6/C7 with reg != 0 are not MOV */
	BAD("\xc7\x48\x14\x01\x00\x00\x00", 64, "c7 /1"),
	BAD("\xc6\x78\x01\x01", 64, "c6 /7"),
	BAD("\xc6\xf8\x01", 64, "xabort $1"),
	BAD("\xc7\xf8\x00\x00\x00\x00", 64, "xbegin"),
	/* register operands: no memory access */
	BAD("\x89\xc2", 64, "mov %eax,%edx"),
	BAD("\x8b\xc0", 32, "mov %eax,%eax"),
	BAD("\x88\xe0", 16, "mov %ah,%al"),
	BAD("\x8a\xc4", 64, "mov %ah,%al"),
	BAD("\x48\x89\xc0", 64, "mov %rax,%rax"),
	BAD("\xc6\xc0\x01", 64, "mov $1,%al"),
	BAD("\xc7\xc0\x01\x00\x00\x00", 64, "mov $1,%eax"),
	BAD("\x0f\xb6\xc0", 64, "movzbl %al,%eax"),
	BAD("\x0f\xbf\xc1", 32, "movswl %cx,%eax"),
	/* 40-4F are INC/DEC outside 64-bit mode */
	BAD("\x40\x89\x02", 32, "inc %eax; ... (not REX in 32-bit mode)"),
	BAD("\x48\x89\x02", 16, "dec %ax; ... (not REX in 16-bit mode)"),
	/* A REX alone, or with nothing after its prefixes */
	BAD("\x48", 64, "lone REX"),
	BAD("\x66\x67\x2e", 64, "prefixes only"),
	/* 16 bytes */
	BAD("\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e", 64, "16 prefixes"),
	BAD("\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x89\x02", 64,
	    "16 prefixes and a mov"),
	BAD("\x26\x26\x26\x26\x26\xc7\x84\x33\x78\x56\x34\x12\xef\xbe\xad\xde", 64,
	    "es x5 movl $0xdeadbeef,0x12345678(%rbx,%rsi,1): 16 bytes"),
	BAD("\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\x3e\xa1\x00\x00\x00\x00", 32,
	    "ds x11 mov 0x0,%eax: 16 bytes"),
};

static void test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bads); i++) {
		const struct bad *b = &bads[i];
		struct mmio_insn d;

		/* with the bytes alone, and with plenty of padding after them */
		for (int pad = 0; pad <= 1; pad++) {
			u8 buf[40];
			size_t n = b->nbytes;
			memset(buf, 0, sizeof(buf));
			memcpy(buf, b->bytes, n);
			int rc = pad ? mmio_decode(buf, sizeof(buf), b->mode, &d)
				     : decode_exact(b->bytes, n, b->mode, &d);
			if (rc != -EINVAL)
				fail_msg("%d-bit '%s'%s: rc %d len %u, want -EINVAL", b->mode,
					 b->text, pad ? " (padded)" : "", rc, d.len);
		}
	}
}

/* The 15-byte limit is exact: 15 decodes, 16 does not. */
static void test_length_limit(void **state)
{
	u8 buf[32];
	struct mmio_insn d;

	(void)state;
	/* n prefixes + "89 02" (2 bytes) */
	for (size_t n = 0; n <= 16; n++) {
		memset(buf, 0x66, n);
		buf[n] = 0x89;
		buf[n + 1] = 0x02;
		int rc = mmio_decode(buf, n + 2, 32, &d);
		if (n + 2 <= 15) {
			assert_int_equal(rc, 0);
			assert_int_equal(d.len, n + 2);
			assert_int_equal(d.size, n ? 2 : 4);	/* repeated 66 is still 66 */
		} else {
			assert_int_equal(rc, -EINVAL);
		}
		/* plenty of bytes available changes nothing */
		memset(buf + n + 2, 0x90, sizeof(buf) - n - 2);
		assert_int_equal(mmio_decode(buf, sizeof(buf), 32, &d), n + 2 <= 15 ? 0 : -EINVAL);
	}
	/* REX.W plus moffs64 store: 10 bytes, with 5 segment prefixes = 15 */
	memcpy(buf, "\x2e\x3e\x26\x64\x65\x48\xa3\x88\x77\x66\x55\x44\x33\x22\x11\x90", 16);
	assert_int_equal(mmio_decode(buf, 16, 64, &d), 0);
	assert_int_equal(d.len, 15);
	assert_int_equal(d.size, 8);
	assert_true(d.write);
	memcpy(buf, "\x36\x2e\x3e\x26\x64\x65\x48\xa3\x88\x77\x66\x55\x44\x33\x22\x11", 16);
	assert_int_equal(mmio_decode(buf, 16, 64, &d), -EINVAL);
}

/* Fixed register file for the semantics tests. */
static void gpr_init(u64 g[16])
{
	for (int i = 0; i < 16; i++)
		g[i] = 0x0101010101010101ull * (u64)(0x10 + i);	/* 0x1010.., 0x1111.., ... */
}

/* Decode bytes (must succeed), apply value as a load, check the one register changed. */
static void load_case(const char *bytes, size_t n, int mode, u64 value, unsigned reg, u64 want)
{
	u64 g[16], exp[16];
	struct mmio_insn d;

	assert_int_equal(decode_exact(bytes, n, mode, &d), 0);
	assert_false(d.write);
	gpr_init(g);
	gpr_init(exp);
	exp[reg] = want;
	mmio_write_reg(g, &d, value);
	for (int i = 0; i < 16; i++)
		if (g[i] != exp[i])
			fail_msg("reg %d: got %#llx, want %#llx", i, (unsigned long long)g[i],
				 (unsigned long long)exp[i]);
}
#define LOAD(s, mode, value, reg, want) load_case(s, sizeof(s) - 1, mode, value, reg, want)

static void test_write_reg_plain(void **state)
{
	(void)state;
	/* 32-bit writes zero-extend: RCX was 0x1111..., R9 0x1919... */
	LOAD("\x8b\x4f\x10", 64, 0x89abcdef, 1, 0x0000000089abcdefull);
	LOAD("\x44\x8b\x4f\x10", 64, 0x12345678, 9, 0x0000000012345678ull);
	LOAD("\x8b\x4f\x10", 32, 0xffffffff, 1, 0x00000000ffffffffull);
	/* upper bits of value beyond the access size are dropped */
	LOAD("\x8b\x4f\x10", 64, 0xdeadbeef00000001ull, 1, 1);
	/* 64-bit */
	LOAD("\x49\x8b\x74\x24\x18", 64, 0xfedcba9876543210ull, 6, 0xfedcba9876543210ull);
	LOAD("\x48\xa1\x00\x00\x00\x00\x00\x00\x00\x00", 64, 0x8000000000000001ull, 0,
	     0x8000000000000001ull);
	/* 16-bit writes merge: RAX 0x1010..., RDX 0x1212... */
	LOAD("\x66\xa1\x34\x12\x00\x00", 32, 0xabcd, 0, 0x101010101010abcdull);
	LOAD("\x8b\x16\x34\x12", 16, 0xffffbeef, 2, 0x121212121212beefull);
	/* 8-bit writes merge: R15B, AL, SIL (REX) */
	LOAD("\x45\x8a\x3a", 64, 0xab, 15, 0x1f1f1f1f1f1f1fabull);
	LOAD("\xa0\x88\x77\x66\x55\x44\x33\x22\x11", 64, 0x1234, 0, 0x1010101010101034ull);
	LOAD("\x40\x8a\x37", 64, 0x5a, 6, 0x161616161616165aull);
	/* high8: BH and DH get bits 8-15, the rest stays */
	LOAD("\x8a\x3b", 64, 0x5a, 3, 0x1313131313135a13ull);
	LOAD("\x8a\x31", 32, 0xff, 2, 0x121212121212ff12ull);
	LOAD("\x8a\x66\x00", 16, 0x80, 0, 0x1010101010108010ull);
	/* 8a 26: mov (%rsi),%ah */
	LOAD("\x8a\x26", 64, 0xc3, 0, 0x101010101010c310ull);
	/* with any REX, reg 4 is SPL not AH */
	LOAD("\x40\x8a\x26", 64, 0xc3, 4, 0x14141414141414c3ull);
}

static void test_write_reg_extend(void **state)
{
	(void)state;
	/* movzbl / movzwl: zero-extend, then 32-bit write zero-extends to 64 */
	LOAD("\x0f\xb6\x46\x07", 64, 0xff, 0, 0xff);
	LOAD("\x0f\xb6\x46\x07", 64, 0xffffff80, 0, 0x80);
	LOAD("\x44\x0f\xb7\x07", 64, 0xffff, 8, 0xffff);
	/* movzbw merges into the low 16 bits */
	LOAD("\x66\x0f\xb6\x10", 64, 0xff, 2, 0x12121212121200ffull);
	LOAD("\x0f\xb6\x07", 16, 0x80, 0, 0x1010101010100080ull);
	/* movzwq */
	LOAD("\x4c\x0f\xb7\x99\x00\x01\x00\x00", 64, 0xffff, 11, 0xffff);
	/* movsbl / movswl: sign-extend to 32, upper half zero */
	LOAD("\x0f\xbe\x4d\xff", 64, 0x80, 1, 0x00000000ffffff80ull);
	LOAD("\x0f\xbe\x4d\xff", 64, 0x7f, 1, 0x7f);
	LOAD("\x0f\xbe\x4d\xff", 64, 0xffffff7f, 1, 0x7f);	/* only the byte counts */
	LOAD("\x0f\xbf\xb3\x34\x12\x00\x00", 32, 0x8001, 6, 0x00000000ffff8001ull);
	/* movsbq / movswq: to 64 */
	LOAD("\x4d\x0f\xbe\x75\x00", 64, 0x80, 14, 0xffffffffffffff80ull);
	LOAD("\x48\x0f\xbf\x43\x06", 64, 0x8000, 0, 0xffffffffffff8000ull);
	LOAD("\x48\x0f\xbf\x43\x06", 64, 0x7fff, 0, 0x7fff);
	/* movsbw: sign-extend to 16, merge */
	LOAD("\x66\x0f\xbe\x10", 32, 0x80, 2, 0x121212121212ff80ull);
	LOAD("\x66\x0f\xbe\x54\x05", 16, 0xfe, 2, 0x00000000fffffffeull);
}

static void test_write_reg_ignores_store(void **state)
{
	u64 g[16], exp[16];
	struct mmio_insn d;

	(void)state;
	assert_int_equal(mmio_decode((const u8 *)"\x89\x42\x14", 3, 64, &d), 0);
	gpr_init(g);
	gpr_init(exp);
	mmio_write_reg(g, &d, 0x12345678);
	assert_memory_equal(g, exp, sizeof(g));
}

static u64 store_of(const char *bytes, size_t n, int mode, const u64 g[16])
{
	struct mmio_insn d;

	assert_int_equal(decode_exact(bytes, n, mode, &d), 0);
	assert_true(d.write);
	return mmio_store_value(g, &d);
}
#define STORE(s, mode, g) store_of(s, sizeof(s) - 1, mode, g)

static void test_store_value(void **state)
{
	u64 g[16];

	(void)state;
	for (int i = 0; i < 16; i++)
		g[i] = 0x8877665544332211ull + ((u64)i << 60);
	/* register operands, truncated to size */
	assert_int_equal(STORE("\x89\x42\x14", 64, g), 0x44332211);		/* eax */
	assert_int_equal(STORE("\x4c\x89\x24\xd8", 64, g), 0x8877665544332211ull + (12ull << 60));
	assert_int_equal(STORE("\x66\x89\x42\x20", 64, g), 0x2211);		/* ax */
	assert_int_equal(STORE("\x44\x88\x40\x03", 64, g), 0x11);		/* r8b */
	assert_int_equal(STORE("\x48\xa3\x88\x77\x66\x55\x44\x33\x22\x11", 64, g),
			 0x8877665544332211ull);					/* rax */
	/* high8: AH, DH (reg 0, 2) */
	g[0] = 0x1122334455667788ull;
	g[2] = 0x000000000000ab00ull;
	assert_int_equal(STORE("\x88\x23", 64, g), 0x77);
	assert_int_equal(STORE("\x88\x32", 32, g), 0xab);	/* mov %dh,(%edx) */
	assert_int_equal(STORE("\x88\x66\x00", 16, g), 0x77);
	/* with REX, reg 4-7 are SPL..DIL */
	g[6] = 0x00000000000012feull;
	assert_int_equal(STORE("\x40\x88\x37", 64, g), 0xfe);
	/* immediates, sign-extended to the size and no further */
	assert_int_equal(STORE("\xc6\x02\x80", 32, g), 0x80);
	assert_int_equal(STORE("\x66\xc7\x41\x02\x34\x12", 64, g), 0x1234);
	assert_int_equal(STORE("\x66\x43\xc7\x04\x51\xfe\xff", 64, g), 0xfffe);
	assert_int_equal(STORE("\xc7\x84\x33\x78\x56\x34\x12\xef\xbe\xad\xde", 64, g), 0xdeadbeef);
	assert_int_equal(STORE("\x48\xc7\x47\x08\xff\xff\xff\xff", 64, g), 0xffffffffffffffffull);
	assert_int_equal(STORE("\x48\xc7\x00\x00\x00\x00\x80", 64, g), 0xffffffff80000000ull);
	assert_int_equal(STORE("\x48\xc7\x00\xff\xff\xff\x7f", 64, g), 0x7fffffff);
	assert_int_equal(STORE("\x66\xc7\x87\x00\x10\x78\x56\x34\x12", 16, g), 0x12345678);
}

/* Load then store through the same register gives back the value (all sizes, all regs). */
static void test_roundtrip(void **state)
{
	u64 seed = 0x1234567887654321ull;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		u8 code[4];
		size_t n = 0;
		unsigned reg = rng_below(&seed, 16);
		unsigned size = 1u << rng_below(&seed, 4);
		u64 value = rng_next(&seed), g[16];
		struct mmio_insn ld, st;

		if (size == 2)
			code[n++] = 0x66;
		u8 rex = 0x40 | (size == 8 ? 8 : 0) | (reg & 8 ? 4 : 0);
		if (rex != 0x40 || (size == 1 && reg >= 4))
			code[n++] = rex;
		code[n] = size == 1 ? 0x8A : 0x8B;	/* load from (%rax) */
		code[n + 1] = (reg & 7) << 3;
		assert_int_equal(mmio_decode(code, n + 2, 64, &ld), 0);
		code[n] = size == 1 ? 0x88 : 0x89;
		assert_int_equal(mmio_decode(code, n + 2, 64, &st), 0);
		assert_int_equal(ld.reg, reg);
		assert_false(ld.high8);
		for (int k = 0; k < 16; k++)
			g[k] = rng_next(&seed);
		u64 before = g[reg];
		mmio_write_reg(g, &ld, value);
		u64 m = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
		assert_int_equal(mmio_store_value(g, &st), value & m);
		if (size <= 2)
			assert_int_equal(g[reg] & ~m, before & ~m);
		else
			assert_int_equal(g[reg], value & m);
	}
}

/* Random bytes: no crash, no overread, and whatever is accepted is self-consistent. */
static void test_random_bytes(void **state)
{
	u64 seed = 0xfeedfacecafebeefull;
	static const u8 common[] = { 0x66, 0x67, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0x40, 0x41,
				     0x44, 0x48, 0x4c, 0x4f, 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7,
				     0xa0, 0xa1, 0xa2, 0xa3, 0x0f, 0xb6, 0xb7, 0xbe, 0xbf, 0xf0,
				     0xf3, 0x05, 0x04, 0x24, 0x25, 0x44, 0x84, 0x80, 0x00, 0xff };
	unsigned accepted = 0;

	(void)state;
	for (int i = 0; i < 200000; i++) {
		u8 buf[20];
		size_t avail = rng_below(&seed, sizeof(buf) + 1);
		int mode = (int[]){ 16, 32, 64 }[rng_below(&seed, 3)];
		struct mmio_insn d, d2;

		for (size_t k = 0; k < sizeof(buf); k++)
			buf[k] = rng_below(&seed, 2) ? common[rng_below(&seed, sizeof(common))]
						     : (u8)rng_next(&seed);
		u8 *p = malloc(avail ? avail : 1);
		assert_non_null(p);
		memcpy(p, buf, avail);
		int rc = mmio_decode(p, avail, mode, &d);
		free(p);
		if (rc != 0) {
			assert_int_equal(rc, -EINVAL);
			continue;
		}
		accepted++;
		assert_true(d.len >= 2 && d.len <= 15 && d.len <= avail);
		assert_true(d.size == 1 || d.size == 2 || d.size == 4 || d.size == 8);
		assert_true(d.reg <= 15);
		if (d.high8)
			assert_true(d.size == 1 && d.reg <= 3 && !d.has_imm);
		if (d.has_imm)
			assert_true(d.write && d.reg == 0 && (d.imm & ~(d.size == 8 ? ~0ull :
				    (1ull << (8 * d.size)) - 1)) == 0);
		if (d.write)
			assert_true(d.ext == MMIO_EXT_NONE && d.dst_size == 0);
		else
			assert_true(d.dst_size >= d.size && (d.ext != MMIO_EXT_NONE || d.dst_size == d.size));
		if (mode != 64)
			assert_true(d.size != 8 && d.reg <= 7);
		/* exactly len bytes matter */
		assert_int_equal(mmio_decode(buf, d.len, mode, &d2), 0);
		assert_memory_equal(&d, &d2, sizeof(d));
		assert_int_equal(mmio_decode(buf, d.len - 1, mode, &d2), -EINVAL);
		/* independently: no LOCK/REP among the prefixes, a whitelisted opcode */
		size_t k = 0;
		while (k < d.len && (buf[k] == 0x66 || buf[k] == 0x67 || buf[k] == 0x26 ||
				     buf[k] == 0x2e || buf[k] == 0x36 || buf[k] == 0x3e ||
				     buf[k] == 0x64 || buf[k] == 0x65 || buf[k] == 0xf0 ||
				     buf[k] == 0xf2 || buf[k] == 0xf3 ||
				     (mode == 64 && (buf[k] & 0xf0) == 0x40))) {
			assert_true(buf[k] != 0xf0 && buf[k] != 0xf2 && buf[k] != 0xf3);
			k++;
		}
		assert_true(k < d.len);
		u8 op = buf[k];
		assert_true((op >= 0x88 && op <= 0x8b) || op == 0xc6 || op == 0xc7 ||
			    (op >= 0xa0 && op <= 0xa3) ||
			    (op == 0x0f && k + 1 < d.len && (buf[k + 1] == 0xb6 || buf[k + 1] == 0xb7 ||
							     buf[k + 1] == 0xbe || buf[k + 1] == 0xbf)));
	}
	/* the generator does reach the accepting paths */
	assert_true(accepted > 1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_trailing_bytes_ignored),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_null_and_bad_mode),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_length_limit),
		cmocka_unit_test(test_write_reg_plain),
		cmocka_unit_test(test_write_reg_extend),
		cmocka_unit_test(test_write_reg_ignores_store),
		cmocka_unit_test(test_store_value),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_random_bytes),
	};
	return RUN_TESTS(tests);
}
