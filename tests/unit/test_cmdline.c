/* core/cmdline.c: parse_size, cmdline_parse, cmdline_cook. */
#include "util.h"

#include "tv/config.h"
#include "tv/lib.h"

#define SENTINEL 0xA5A5A5A5A5A5A5A5ull

/* parse_size on a whole C string; *out is preset to SENTINEL. */
static int psize(const char *s, u64 *out)
{
	*out = SENTINEL;
	return parse_size(s, strlen(s), out);
}

static void test_size_plain(void **state)
{
	u64 v;

	assert_int_equal(psize("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(psize("7", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(psize("123456789", &v), 0);
	assert_int_equal(v, 123456789);
	assert_int_equal(psize("0067108864", &v), 0);
	assert_int_equal(v, MiB(64));
}

static void test_size_suffixes(void **state)
{
	u64 v;

	assert_int_equal(psize("4K", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(psize("64M", &v), 0);
	assert_int_equal(v, MiB(64));
	assert_int_equal(psize("2G", &v), 0);
	assert_int_equal(v, GiB(2));
	assert_int_equal(psize("0M", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(psize("1024K", &v), 0);
	assert_int_equal(v, MiB(1));
}

static void test_size_lowercase_suffixes(void **state)
{
	u64 v;

	assert_int_equal(psize("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(psize("64m", &v), 0);
	assert_int_equal(v, MiB(64));
	assert_int_equal(psize("3g", &v), 0);
	assert_int_equal(v, GiB(3));
}

/* Only the first len bytes are looked at (the caller passes a word of a longer line). */
static void test_size_respects_len(void **state)
{
	u64 v = SENTINEL;

	assert_int_equal(parse_size("64M debug", 3, &v), 0);
	assert_int_equal(v, MiB(64));
	assert_int_equal(parse_size("12345", 2, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(parse_size("16Mx", 3, &v), 0);
	assert_int_equal(v, MiB(16));
}

static void test_size_junk(void **state)
{
	static const char *const junk[] = {
		"K", "M", "abc", "12KB", "12T", "1.5M", "-5", "+5", " 5", "5 ", "0x10", "64MM", "6 4M", "M64",
	};
	for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
		u64 v;
		int rc = psize(junk[i], &v);
		if (rc != -EINVAL)
			fail_msg("parse_size(\"%s\") = %d, expected -EINVAL", junk[i], rc);
		assert_int_equal(v, SENTINEL);	/* untouched on error */
	}
}

static void test_size_empty(void **state)
{
	u64 v = SENTINEL;

	assert_int_equal(parse_size("", 0, &v), -EINVAL);
	assert_int_equal(parse_size("64M", 0, &v), -EINVAL);
	assert_int_equal(v, SENTINEL);
}

static void test_size_overflow(void **state)
{
	u64 v;

	assert_int_equal(psize("18446744073709551616", &v), -ERANGE);	/* 2^64 */
	assert_int_equal(v, SENTINEL);
	assert_int_equal(psize("99999999999999999999", &v), -ERANGE);
	assert_int_equal(psize("1000000000000000000000000", &v), -ERANGE);
	assert_int_equal(psize("17179869184G", &v), -ERANGE);		/* 2^34 G = 2^64 */
	assert_int_equal(psize("17592186044416M", &v), -ERANGE);	/* 2^44 M = 2^64 */
	assert_int_equal(psize("18014398509481984K", &v), -ERANGE);	/* 2^54 K = 2^64 */
	assert_int_equal(v, SENTINEL);
}

static void test_size_largest(void **state)
{
	u64 v;

	assert_int_equal(psize("17179869183G", &v), 0);
	assert_int_equal(v, (u64)17179869183ull << 30);
	assert_int_equal(psize("18014398509481983K", &v), 0);
	assert_int_equal(v, (u64)18014398509481983ull << 10);
	assert_int_equal(psize("18446744073709551609", &v), 0);
	assert_int_equal(v, 18446744073709551609ull);
}

/* Hide the error text from the cases that are expected to succeed. */
struct parsed {
	int rc;
	struct hv_config cfg;
	char err[128];
};

static struct parsed parse(const char *s)
{
	struct parsed p;

	memset(&p, 0x5A, sizeof(p));	/* garbage: parse must set every field */
	p.err[0] = '\0';
	p.rc = cmdline_parse(s, &p.cfg, p.err, sizeof(p.err));
	return p;
}

static void assert_config(struct parsed p, u64 hvmem, enum console_kind con, bool debug)
{
	if (p.rc != 0)
		fail_msg("cmdline_parse failed: %d '%s'", p.rc, p.err);
	assert_int_equal(p.cfg.hvmem, hvmem);
	assert_int_equal(p.cfg.console, con);
	assert_int_equal(p.cfg.debug, debug);
}

static void assert_rejected(const char *s, const char *needle)
{
	struct parsed p = parse(s);

	if (p.rc != -EINVAL)
		fail_msg("cmdline_parse(\"%s\") = %d, expected -EINVAL", s, p.rc);
	if (!strstr(p.err, needle))
		fail_msg("cmdline_parse(\"%s\"): message '%s' does not mention '%s'", s, p.err, needle);
}

static void test_defaults(void **state)
{
	assert_config(parse(""), MiB(64), CONSOLE_COM1, false);
	assert_config(parse("   "), MiB(64), CONSOLE_COM1, false);
	assert_config(parse("\t \t"), MiB(64), CONSOLE_COM1, false);
	assert_int_equal(HVMEM_DEFAULT, MiB(64));
}

static void test_debug(void **state)
{
	assert_config(parse("debug"), MiB(64), CONSOLE_COM1, true);
}

static void test_hvmem(void **state)
{
	assert_config(parse("hvmem=128M"), MiB(128), CONSOLE_COM1, false);
	assert_config(parse("hvmem=16M"), MiB(16), CONSOLE_COM1, false);	/* minimum */
	assert_config(parse("hvmem=2G"), GiB(2), CONSOLE_COM1, false);		/* maximum */
	assert_config(parse("hvmem=2048M"), GiB(2), CONSOLE_COM1, false);
	assert_config(parse("hvmem=16384K"), MiB(16), CONSOLE_COM1, false);
	assert_config(parse("hvmem=33554432"), MiB(32), CONSOLE_COM1, false);
	assert_config(parse("hvmem=18m"), MiB(18), CONSOLE_COM1, false);
}

static void test_console(void **state)
{
	assert_config(parse("console=com1"), MiB(64), CONSOLE_COM1, false);
	assert_config(parse("console=com2"), MiB(64), CONSOLE_COM2, false);
	assert_config(parse("console=none"), MiB(64), CONSOLE_NONE, false);
	assert_config(parse("console=com2 console=com1"), MiB(64), CONSOLE_COM1, false);
}

static void test_all_options(void **state)
{
	assert_config(parse("console=none hvmem=32M debug"), MiB(32), CONSOLE_NONE, true);
	assert_config(parse("debug console=com2 hvmem=1G"), GiB(1), CONSOLE_COM2, true);
}

static void test_last_one_wins(void **state)
{
	assert_config(parse("hvmem=32M hvmem=128M"), MiB(128), CONSOLE_COM1, false);
	assert_config(parse("debug debug"), MiB(64), CONSOLE_COM1, true);
}

static void test_whitespace(void **state)
{
	assert_config(parse("  debug   hvmem=32M  "), MiB(32), CONSOLE_COM1, true);
	assert_config(parse("\tdebug\thvmem=32M\t"), MiB(32), CONSOLE_COM1, true);
	assert_config(parse(" \t console=com2 \t\t debug \t"), MiB(64), CONSOLE_COM2, true);
}

static void test_hvmem_not_2m_multiple(void **state)
{
	assert_rejected("hvmem=17M", "hvmem=17M");
	assert_rejected("hvmem=33554433", "hvmem");
	assert_rejected("hvmem=65540K", "hvmem");
}

static void test_hvmem_too_small(void **state)
{
	assert_rejected("hvmem=14M", "hvmem=14M");
	assert_rejected("hvmem=0", "hvmem");
	assert_rejected("hvmem=0M", "hvmem");
}

static void test_hvmem_too_large(void **state)
{
	assert_rejected("hvmem=2050M", "hvmem=2050M");
	assert_rejected("hvmem=4G", "hvmem");
	assert_rejected("hvmem=99999999999999999999", "hvmem");	/* overflow */
}

static void test_hvmem_garbage(void **state)
{
	assert_rejected("hvmem=abc", "hvmem=abc");
	assert_rejected("hvmem=", "hvmem");
	assert_rejected("hvmem=64MB", "hvmem=64MB");
	assert_rejected("hvmem=64M,debug", "hvmem");
	assert_rejected("debug hvmem=x64M", "hvmem=x64M");
}

static void test_unknown_option(void **state)
{
	assert_rejected("quiet", "quiet");
	assert_rejected("debug=1", "debug=1");
	assert_rejected("Debug", "Debug");
	assert_rejected("hvmem", "hvmem");		/* no '=': not the option */
	assert_rejected("hvmemx=64M", "hvmemx=64M");
	assert_rejected("hvmem=64M nosmt", "nosmt");
	assert_rejected("debug iommu=off console=com1", "iommu=off");
}

/* The message names the offending word, not its neighbours. */
static void test_unknown_option_message_names_only_it(void **state)
{
	struct parsed p = parse("debug foo=1 console=none");

	assert_int_equal(p.rc, -EINVAL);
	assert_non_null(strstr(p.err, "'foo=1'"));
	assert_null(strstr(p.err, "console"));
	assert_null(strstr(p.err, "debug"));
}

static void test_console_bad(void **state)
{
	assert_rejected("console=bad", "console=bad");
	assert_rejected("console=", "console");
	assert_rejected("console=COM1", "console=COM1");
	assert_rejected("console=com3", "com3");
	assert_rejected("console=com1x", "com1x");
}

/* A short error buffer gets a terminated prefix and nothing beyond it. */
static void test_error_buffer_small(void **state)
{
	struct hv_config cfg;
	char err[12];

	memset(err, 'Z', sizeof(err));
	assert_int_equal(cmdline_parse("bogus_option", &cfg, err, 8), -EINVAL);
	assert_int_equal(strlen(err), 7);
	assert_memory_equal(err, "unknown", 7);
	assert_memory_equal(err + 8, "ZZZZ", 4);
	/* And no buffer at all is fine too. */
	assert_int_equal(cmdline_parse("bogus_option", &cfg, NULL, 0), -EINVAL);
}

static void test_cook_qemu_drops_first_word(void **state)
{
	const char *s = "/boot/thinvisor.elf hvmem=32M debug";

	assert_ptr_equal(cmdline_cook(s, "qemu"), s + 20);
	assert_string_equal(cmdline_cook(s, "qemu"), "hvmem=32M debug");
	assert_string_equal(cmdline_cook(s, NULL), "hvmem=32M debug");
	assert_string_equal(cmdline_cook(s, ""), "hvmem=32M debug");
}

static void test_cook_grub2_keeps_everything(void **state)
{
	const char *s = "hvmem=32M debug";

	assert_ptr_equal(cmdline_cook(s, "GRUB 2.06"), s);
	assert_ptr_equal(cmdline_cook(s, "GRUB 2.12~rc1"), s);
	assert_string_equal(cmdline_cook("root=/dev/sda1 ro", "GRUB 2.06"), "root=/dev/sda1 ro");
}

/* Only GRUB 2 is special: GRUB Legacy and look-alikes get their first word dropped. */
static void test_cook_other_grubs(void **state)
{
	assert_string_equal(cmdline_cook("/kernel debug", "GRUB 0.97"), "debug");
	assert_string_equal(cmdline_cook("/kernel debug", "GRUB"), "debug");
	assert_string_equal(cmdline_cook("/kernel debug", "grub 2.06"), "debug");
}

static void test_cook_null_and_empty(void **state)
{
	assert_string_equal(cmdline_cook(NULL, "qemu"), "");
	assert_string_equal(cmdline_cook(NULL, "GRUB 2.06"), "");
	assert_string_equal(cmdline_cook(NULL, NULL), "");
	assert_string_equal(cmdline_cook("", "qemu"), "");
	assert_string_equal(cmdline_cook("", "GRUB 2.06"), "");
}

static void test_cook_only_file_name(void **state)
{
	const char *s = "/boot/vmlinuz";

	assert_ptr_equal(cmdline_cook(s, "qemu"), s + strlen(s));
	assert_string_equal(cmdline_cook("/boot/vmlinuz   ", "qemu"), "");
}

static void test_cook_leading_spaces(void **state)
{
	const char *s = "   kernel.elf    debug hvmem=32M";

	assert_string_equal(cmdline_cook(s, "qemu"), "debug hvmem=32M");
	assert_string_equal(cmdline_cook("  debug", "GRUB 2.06"), "debug");
	assert_string_equal(cmdline_cook("     ", "GRUB 2.06"), "");
	assert_string_equal(cmdline_cook("     ", "qemu"), "");
}

/* The cooked QEMU line parses as the hypervisor's own options. */
static void test_cook_then_parse(void **state)
{
	assert_config(parse(cmdline_cook("/boot/thinvisor.elf console=none hvmem=128M", "qemu")), MiB(128),
		      CONSOLE_NONE, false);
	assert_config(parse(cmdline_cook("/boot/thinvisor.elf", "qemu")), MiB(64), CONSOLE_COM1, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_size_plain),
		cmocka_unit_test(test_size_suffixes),
		cmocka_unit_test(test_size_lowercase_suffixes),
		cmocka_unit_test(test_size_respects_len),
		cmocka_unit_test(test_size_junk),
		cmocka_unit_test(test_size_empty),
		cmocka_unit_test(test_size_overflow),
		cmocka_unit_test(test_size_largest),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_debug),
		cmocka_unit_test(test_hvmem),
		cmocka_unit_test(test_console),
		cmocka_unit_test(test_all_options),
		cmocka_unit_test(test_last_one_wins),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_hvmem_not_2m_multiple),
		cmocka_unit_test(test_hvmem_too_small),
		cmocka_unit_test(test_hvmem_too_large),
		cmocka_unit_test(test_hvmem_garbage),
		cmocka_unit_test(test_unknown_option),
		cmocka_unit_test(test_unknown_option_message_names_only_it),
		cmocka_unit_test(test_console_bad),
		cmocka_unit_test(test_error_buffer_small),
		cmocka_unit_test(test_cook_qemu_drops_first_word),
		cmocka_unit_test(test_cook_grub2_keeps_everything),
		cmocka_unit_test(test_cook_other_grubs),
		cmocka_unit_test(test_cook_null_and_empty),
		cmocka_unit_test(test_cook_only_file_name),
		cmocka_unit_test(test_cook_leading_spaces),
		cmocka_unit_test(test_cook_then_parse),
	};
	return RUN_TESTS(tests);
}
