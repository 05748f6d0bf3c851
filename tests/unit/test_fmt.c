/* core/fmt.c: tv_snprintf and tv_strlcpy. */
#include "util.h"

#include <limits.h>

#include "tv/lib.h"

/* Format into a roomy buffer and check both the text and the return value. */
#define CHECK_FMT(expect, ...)                                          \
	do {                                                            \
		char b_[256];                                           \
		memset(b_, 'Z', sizeof(b_));                            \
		int n_ = tv_snprintf(b_, sizeof(b_), __VA_ARGS__);      \
		assert_string_equal(b_, expect);                        \
		assert_int_equal(n_, (int)strlen(expect));              \
	} while (0)

/* The same through tv_vsnprintf, for formats the compiler's format check rejects. */
static int call_vsnprintf(char *b, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = tv_vsnprintf(b, size, fmt, ap);
	va_end(ap);
	return n;
}

#define CHECK_RAW(expect, ...)                                          \
	do {                                                            \
		char b_[256];                                           \
		memset(b_, 'Z', sizeof(b_));                            \
		int n_ = call_vsnprintf(b_, sizeof(b_), __VA_ARGS__);   \
		assert_string_equal(b_, expect);                        \
		assert_int_equal(n_, (int)strlen(expect));              \
	} while (0)

static void test_plain_text_and_percent(void **state)
{
	CHECK_FMT("", "%s", "");
	CHECK_FMT("hello, world", "hello, world");
	CHECK_FMT("100%", "100%%");
	CHECK_FMT("%%", "%%%%");
	CHECK_FMT("a%b", "a%%b");
}

static void test_string(void **state)
{
	CHECK_FMT("hello", "%s", "hello");
	CHECK_FMT("[hello][world]", "[%s][%s]", "hello", "world");
	CHECK_FMT("   hi", "%5s", "hi");
	CHECK_FMT("toolong", "%3s", "toolong");
	CHECK_RAW("(null)", "%s", (const char *)NULL);
}

static void test_string_precision(void **state)
{
	CHECK_FMT("abc", "%.*s", 3, "abcdef");
	CHECK_FMT("", "%.*s", 0, "abcdef");
	CHECK_FMT("ab", "%.*s", 10, "ab");
	CHECK_FMT("abcdef", "%.*s", -1, "abcdef");
	CHECK_FMT("<key>=", "<%.*s>=", 3, "key=value");
	CHECK_FMT("   ab", "%5.*s", 2, "abcdef");
}

/* %.*s must not read past 'prec' bytes: the source need not be terminated. */
static void test_string_precision_unterminated(void **state)
{
	char *s = malloc(4);
	assert_non_null(s);
	memcpy(s, "wxyz", 4);	/* no NUL: ASan catches a read of s[4] */
	CHECK_FMT("wxyz|", "%.*s|", 4, s);
	CHECK_FMT("wx|", "%.*s|", 2, s);
	free(s);
}

static void test_char(void **state)
{
	CHECK_FMT("x", "%c", 'x');
	CHECK_FMT("a-b", "%c%c%c", 'a', '-', 'b');
	CHECK_FMT("[ ]", "[%c]", ' ');
}

static void test_signed_decimal(void **state)
{
	CHECK_FMT("0", "%d", 0);
	CHECK_FMT("42", "%d", 42);
	CHECK_FMT("-42", "%d", -42);
	CHECK_FMT("-1", "%d", -1);
	CHECK_FMT("2147483647", "%d", INT_MAX);
	CHECK_FMT("-2147483648", "%d", INT_MIN);
	CHECK_FMT("-9223372036854775808", "%ld", LONG_MIN);
	CHECK_FMT("9223372036854775807", "%ld", LONG_MAX);
	CHECK_FMT("-5", "%lld", -5LL);
}

static void test_signed_decimal_width(void **state)
{
	CHECK_FMT("   42", "%5d", 42);
	CHECK_FMT("  -42", "%5d", -42);
	CHECK_FMT("00042", "%05d", 42);
	CHECK_FMT("-0042", "%05d", -42);
	CHECK_FMT("12345", "%2d", 12345);
	CHECK_FMT("-12345", "%3d", -12345);
	CHECK_FMT("-42", "%03d", -42);
}

static void test_unsigned_decimal(void **state)
{
	CHECK_FMT("0", "%u", 0u);
	CHECK_FMT("4294967295", "%u", UINT_MAX);
	CHECK_FMT("4294967295", "%u", (unsigned)-1);
	CHECK_FMT("18446744073709551615", "%lu", ULONG_MAX);
	CHECK_FMT("  7", "%3u", 7u);
}

static void test_hex(void **state)
{
	CHECK_FMT("0", "%x", 0u);
	CHECK_FMT("deadbeef", "%x", 0xdeadbeefu);
	CHECK_FMT("0000beef", "%08x", 0xbeefu);
	CHECK_FMT("    beef", "%8x", 0xbeefu);
	CHECK_FMT("ffffffff", "%x", 0xffffffffu);
	CHECK_FMT("ffffffffffffffff", "%lx", 0xfffffffffffffffful);
	CHECK_FMT("123456789abcdef0", "%lx", 0x123456789abcdef0ul);
	CHECK_FMT("0000000000001234", "%016lx", 0x1234ul);
	CHECK_FMT("0000000000000000", "%016lx", 0ul);
	CHECK_FMT("fedcba9876543210", "%016lx", 0xfedcba9876543210ul);
	CHECK_FMT("abc", "%llx", 0xabcull);
}

/* Without 'l', %x takes an unsigned int: the upper half of a 64-bit slot is not shown. */
static void test_hex_int_is_32bit(void **state)
{
	CHECK_FMT("1 2", "%x %x", 1u, 2u);
	CHECK_FMT("ffffffff 5", "%x %lx", 0xffffffffu, 5ul);
}

static void test_size_t(void **state)
{
	CHECK_FMT("0", "%zu", (size_t)0);
	CHECK_FMT("4096", "%zu", (size_t)4096);
	CHECK_FMT("18446744073709551615", "%zu", (size_t)SIZE_MAX);
	CHECK_FMT("1000", "%zx", (size_t)0x1000);
}

static void test_pointer(void **state)
{
	CHECK_FMT("0x0000000000001234", "%p", (void *)0x1234);
	CHECK_FMT("0x0000000000000000", "%p", (void *)0);
	CHECK_FMT("0xffff800000000000", "%p", (void *)0xffff800000000000ul);
}

static void test_mixed(void **state)
{
	CHECK_FMT("region 0x000000001be00000+64 MiB debug=1 'ok'",
		  "region 0x%016lx+%lu MiB debug=%d '%s'", 0x1be00000ul, 64ul, 1, "ok");
	CHECK_FMT("e820: [mem 0x00000000000a0000-0x00000000000fffff] reserved",
		  "e820: [mem 0x%016lx-0x%016lx] %s", 0xa0000ul, 0xffffful, "reserved");
}

static void test_unknown_conversion_and_trailing_percent(void **state)
{
	CHECK_RAW("%q", "%q");
	CHECK_RAW("a%yb", "a%yb");
	/* A lone '%' at the end is dropped; the formatter must not run off the string. */
	CHECK_RAW("ab", "ab%");
}

/* Truncation: at every buffer size, the prefix fits, is terminated, and nothing beyond is touched. */
static void test_truncation_all_sizes(void **state)
{
	const char *full = "abc12345-x";
	size_t len = strlen(full);

	for (size_t size = 1; size <= len + 3; size++) {
		char b[32];
		memset(b, 'Z', sizeof(b));
		int n = tv_snprintf(b, size, "abc%d-%c", 12345, 'x');
		assert_int_equal(n, (int)len);
		size_t kept = MIN(size - 1, len);
		assert_memory_equal(b, full, kept);
		assert_int_equal(b[kept], '\0');
		for (size_t i = size; i < sizeof(b); i++)
			assert_int_equal(b[i], 'Z');
	}
}

static void test_truncation_size_zero(void **state)
{
	char b[4] = { 'Z', 'Z', 'Z', 'Z' };

	assert_int_equal(tv_snprintf(b, 0, "hello %d", 42), 8);
	assert_memory_equal(b, "ZZZZ", 4);
	/* size 0 must not touch buf at all, not even to terminate: NULL is fine. */
	assert_int_equal(tv_snprintf(NULL, 0, "%s", "abc"), 3);
}

static void test_truncation_size_one(void **state)
{
	char b[4] = { 'Z', 'Z', 'Z', 'Z' };

	assert_int_equal(tv_snprintf(b, 1, "%016lx", 0x1234ul), 16);
	assert_int_equal(b[0], '\0');
	assert_memory_equal(b + 1, "ZZZ", 3);
}

static void test_truncation_inside_number_and_pointer(void **state)
{
	char b[8];

	memset(b, 'Z', sizeof(b));
	assert_int_equal(tv_snprintf(b, 5, "%d", -123456), 7);
	assert_string_equal(b, "-123");
	assert_int_equal(b[5], 'Z');

	memset(b, 'Z', sizeof(b));
	assert_int_equal(tv_snprintf(b, 6, "%p", (void *)0xabc), 18);
	assert_string_equal(b, "0x000");
	assert_int_equal(b[6], 'Z');

	memset(b, 'Z', sizeof(b));
	assert_int_equal(tv_snprintf(b, 4, "%.*s!", 5, "abcdefgh"), 6);
	assert_string_equal(b, "abc");
}

static void test_exact_fit(void **state)
{
	char b[6];

	memset(b, 'Z', sizeof(b));
	assert_int_equal(tv_snprintf(b, sizeof(b), "%s", "hello"), 5);
	assert_string_equal(b, "hello");

	memset(b, 'Z', sizeof(b));
	assert_int_equal(tv_snprintf(b, sizeof(b), "%s", "hello!"), 6);
	assert_string_equal(b, "hello");
}

static void test_vsnprintf(void **state)
{
	char b[32];

	assert_int_equal(call_vsnprintf(b, sizeof(b), "%s=%u", "n", 7u), 3);
	assert_string_equal(b, "n=7");
}

static void test_strlcpy_fits(void **state)
{
	char d[16];

	memset(d, 'Z', sizeof(d));
	assert_int_equal(tv_strlcpy(d, "hello", sizeof(d)), 5);
	assert_string_equal(d, "hello");
	assert_int_equal(d[6], 'Z');	/* no padding beyond the terminator */
}

static void test_strlcpy_exact_and_truncated(void **state)
{
	char d[6];

	memset(d, 'Z', sizeof(d));
	assert_int_equal(tv_strlcpy(d, "hello", sizeof(d)), 5);
	assert_string_equal(d, "hello");

	memset(d, 'Z', sizeof(d));
	assert_int_equal(tv_strlcpy(d, "hello world", sizeof(d)), 11);
	assert_string_equal(d, "hello");

	memset(d, 'Z', sizeof(d));
	assert_int_equal(tv_strlcpy(d, "hello world", 1), 11);
	assert_int_equal(d[0], '\0');
	assert_int_equal(d[1], 'Z');
}

static void test_strlcpy_size_zero_and_empty(void **state)
{
	char d[4] = { 'Z', 'Z', 'Z', 'Z' };

	assert_int_equal(tv_strlcpy(d, "abc", 0), 3);
	assert_memory_equal(d, "ZZZZ", 4);
	assert_int_equal(tv_strlcpy(d, "", sizeof(d)), 0);
	assert_int_equal(d[0], '\0');
	assert_int_equal(d[1], 'Z');
}

static void test_memzero_explicit(void **state)
{
	u8 b[32];

	memset(b, 0xA5, sizeof(b));
	tv_memzero_explicit(b + 4, 20);
	assert_true(all_bytes(b, 4, 0xA5));
	assert_true(all_bytes(b + 4, 20, 0));
	assert_true(all_bytes(b + 24, 8, 0xA5));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text_and_percent),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_string_precision),
		cmocka_unit_test(test_string_precision_unterminated),
		cmocka_unit_test(test_char),
		cmocka_unit_test(test_signed_decimal),
		cmocka_unit_test(test_signed_decimal_width),
		cmocka_unit_test(test_unsigned_decimal),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_hex_int_is_32bit),
		cmocka_unit_test(test_size_t),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_unknown_conversion_and_trailing_percent),
		cmocka_unit_test(test_truncation_all_sizes),
		cmocka_unit_test(test_truncation_size_zero),
		cmocka_unit_test(test_truncation_size_one),
		cmocka_unit_test(test_truncation_inside_number_and_pointer),
		cmocka_unit_test(test_exact_fit),
		cmocka_unit_test(test_vsnprintf),
		cmocka_unit_test(test_strlcpy_fits),
		cmocka_unit_test(test_strlcpy_exact_and_truncated),
		cmocka_unit_test(test_strlcpy_size_zero_and_empty),
		cmocka_unit_test(test_memzero_explicit),
	};
	return RUN_TESTS(tests);
}
