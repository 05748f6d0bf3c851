/* core/cmdline.c: the storage.* options (docs/storage.md). */
#include "util.h"

#include "tv/config.h"
#include "tv/lib.h"

struct parsed {
	int rc;
	struct hv_config cfg;
	char err[512];
};

static struct parsed parse(const char *s)
{
	struct parsed p;

	memset(&p, 0x5A, sizeof(p));	/* garbage: parse must set every field */
	p.err[0] = '\0';
	p.rc = cmdline_parse(s, &p.cfg, p.err, sizeof(p.err));
	return p;
}

static struct hv_config parse_ok(const char *s)
{
	struct parsed p = parse(s);

	if (p.rc != 0)
		fail_msg("cmdline_parse(\"%s\") = %d: '%s'", s, p.rc, p.err);
	return p.cfg;
}

static void parse_bad(const char *s, const char *needle)
{
	struct parsed p = parse(s);

	if (p.rc != -EINVAL)
		fail_msg("cmdline_parse(\"%s\") = %d, expected -EINVAL", s, p.rc);
	if (!strstr(p.err, needle))
		fail_msg("cmdline_parse(\"%s\"): message '%s' does not contain '%s'", s, p.err, needle);
}

static void assert_rule(const struct policy_rule *r, const char *disk, u64 first, u64 last,
			enum sector_action a)
{
	assert_string_equal(r->disk, disk);
	assert_int_equal(r->first, first);
	assert_int_equal(r->last, last);
	assert_int_equal(r->action, a);
}

static void test_storage_defaults(void **state)
{
	struct hv_config c = parse_ok("");

	assert_int_equal(c.policy.n, 0);
	assert_int_equal(c.salt_len, 9);
	assert_memory_equal(c.salt, "thinvisor", 9);
	assert_memory_equal(c.salt, "\x74\x68\x69\x6e\x76\x69\x73\x6f\x72", 9);
	assert_int_equal(c.iter, 100000);
	assert_int_equal(c.keysize, 512);
	/* Other options leave them at their defaults. */
	c = parse_ok("debug hvmem=32M console=com2");
	assert_int_equal(c.policy.n, 0);
	assert_int_equal(c.salt_len, 9);
	assert_memory_equal(c.salt, "thinvisor", 9);
	assert_int_equal(c.iter, 100000);
	assert_int_equal(c.keysize, 512);
}

static void test_storage_policy(void **state)
{
	struct hv_config c = parse_ok("storage.policy=ide0.0:0-0:readonly,*:2048-:plain");

	assert_int_equal(c.policy.n, 2);
	assert_rule(&c.policy.r[0], "ide0.0", 0, 0, ACT_READONLY);
	assert_rule(&c.policy.r[1], "*", 2048, UINT64_MAX, ACT_PLAIN);
	/* The value ends at the word: the next option is not part of the policy. */
	c = parse_ok("storage.policy=ide1.1:*:deny debug");
	assert_int_equal(c.policy.n, 1);
	assert_rule(&c.policy.r[0], "ide1.1", 0, UINT64_MAX, ACT_DENY);
	assert_true(c.debug);
	c = parse_ok("storage.policy=ide1.1:5-9:encrypt\thvmem=32M");
	assert_int_equal(c.policy.n, 1);
	assert_rule(&c.policy.r[0], "ide1.1", 5, 9, ACT_ENCRYPT);
	assert_int_equal(c.hvmem, MiB(32));
}

static void test_storage_policy_appends(void **state)
{
	struct hv_config c = parse_ok("storage.policy=ide0.0:1-2:deny debug storage.policy=*:*:plain,ide0.1:3-:readonly");

	assert_int_equal(c.policy.n, 3);
	assert_rule(&c.policy.r[0], "ide0.0", 1, 2, ACT_DENY);
	assert_rule(&c.policy.r[1], "*", 0, UINT64_MAX, ACT_PLAIN);
	assert_rule(&c.policy.r[2], "ide0.1", 3, UINT64_MAX, ACT_READONLY);
	/* A fresh parse starts from no rules. */
	struct hv_config d;
	char err[64];
	memset(&d, 0, sizeof(d));
	assert_int_equal(cmdline_parse("storage.policy=*:*:deny", &d, err, sizeof(err)), 0);
	assert_int_equal(cmdline_parse("storage.policy=*:*:plain", &d, err, sizeof(err)), 0);
	assert_int_equal(d.policy.n, 1);
	assert_int_equal(d.policy.r[0].action, ACT_PLAIN);
}

static void test_storage_policy_errors(void **state)
{
	parse_bad("storage.policy=ide2.0:*:plain", "unknown disk 'ide2.0'");
	parse_bad("debug storage.policy=ide0.0:5-3:plain", "bad range '5-3'");
	parse_bad("storage.policy=ide0.0:*:secret", "unknown action 'secret'");
	parse_bad("storage.policy=", "is not DISK:RANGE:ACTION");
	parse_bad("storage.policy=ide0.0:*", "is not DISK:RANGE:ACTION");
	/* Without '=' it is not the option. */
	parse_bad("storage.policy", "unknown option 'storage.policy'");
	/* More than the maximum over several words. */
	char s[2048];
	size_t o = 0;
	for (u32 i = 0; i <= POLICY_RULES_MAX; i++)
		o += (size_t)snprintf(s + o, sizeof(s) - o, "storage.policy=*:%u-%u:deny ", i, i);
	assert_true(o < sizeof(s));
	parse_bad(s, "more than 32 rules");
	s[o - strlen("storage.policy=*:32-32:deny ")] = '\0';	/* drop the last: exactly 32 */
	struct hv_config c = parse_ok(s);
	assert_int_equal(c.policy.n, POLICY_RULES_MAX);
	assert_rule(&c.policy.r[31], "*", 31, 31, ACT_DENY);
}

static void test_storage_salt(void **state)
{
	struct hv_config c = parse_ok("storage.salt=00ff10Ab");

	assert_int_equal(c.salt_len, 4);
	assert_memory_equal(c.salt, "\x00\xff\x10\xab", 4);
	c = parse_ok("storage.salt=7468696e7669736f72");	/* the default, spelled out */
	assert_int_equal(c.salt_len, 9);
	assert_memory_equal(c.salt, "thinvisor", 9);
	c = parse_ok("storage.salt=5A");
	assert_int_equal(c.salt_len, 1);
	assert_int_equal(c.salt[0], 0x5A);
	c = parse_ok("storage.salt=DEADBEEFdeadbeef");
	assert_int_equal(c.salt_len, 8);
	assert_memory_equal(c.salt, "\xde\xad\xbe\xef\xde\xad\xbe\xef", 8);
	/* Last one wins. */
	c = parse_ok("storage.salt=0102 storage.salt=0304 debug");
	assert_int_equal(c.salt_len, 2);
	assert_memory_equal(c.salt, "\x03\x04", 2);
	assert_true(c.debug);
}

static void test_storage_salt_64_bytes(void **state)
{
	char s[32 + 129];
	u8 want[64];

	strcpy(s, "storage.salt=");
	for (int i = 0; i < 64; i++) {
		want[i] = (u8)(i * 37 + 5);
		sprintf(s + strlen(s), "%02x", want[i]);
	}
	struct hv_config c = parse_ok(s);
	assert_int_equal(c.salt_len, 64);
	assert_memory_equal(c.salt, want, 64);
	/* 65 bytes is too many. */
	strcat(s, "00");
	parse_bad(s, "expected 1 to 64 bytes in hex");
}

static void test_storage_salt_errors(void **state)
{
	static const char *const bad[] = {
		"storage.salt=", "storage.salt=0", "storage.salt=abc", "storage.salt=0g", "storage.salt=g0",
		"storage.salt=zz", "storage.salt=0x12", "storage.salt=12-3",
		"storage.salt=1234567", "storage.salt=ab:c",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		parse_bad(bad[i], "expected 1 to 64 bytes in hex");
	/* The message names the value. */
	parse_bad("storage.salt=xyz1", "storage.salt=xyz1:");
	/* A bad later word fails though an earlier salt was fine. */
	parse_bad("storage.salt=0102 storage.salt=01G2", "storage.salt=01G2");
}

static void test_storage_iter(void **state)
{
	struct hv_config c = parse_ok("storage.iter=1");

	assert_int_equal(c.iter, 1);
	c = parse_ok("storage.iter=250000");
	assert_int_equal(c.iter, 250000);
	c = parse_ok("storage.iter=100000000");
	assert_int_equal(c.iter, 100000000);
	c = parse_ok("storage.iter=7 storage.iter=8");
	assert_int_equal(c.iter, 8);
}

static void test_storage_iter_errors(void **state)
{
	static const char *const bad[] = {
		"storage.iter=0", "storage.iter=", "storage.iter=abc", "storage.iter=-1", "storage.iter=1x",
		"storage.iter=100000001", "storage.iter=4294967296", "storage.iter=99999999999999999999",
		"storage.iter=000",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		parse_bad(bad[i], "expected 1 to 100000000");
	parse_bad("storage.iter=0", "storage.iter=0:");
}

static void test_storage_keysize(void **state)
{
	struct hv_config c = parse_ok("storage.keysize=256");

	assert_int_equal(c.keysize, 256);
	c = parse_ok("storage.keysize=512");
	assert_int_equal(c.keysize, 512);
	c = parse_ok("storage.keysize=256 storage.keysize=512");
	assert_int_equal(c.keysize, 512);
	static const char *const bad[] = {
		"storage.keysize=128", "storage.keysize=", "storage.keysize=0256", "storage.keysize=512 x",
		"storage.keysize=32", "storage.keysize=64", "storage.keysize=1024", "storage.keysize=256K",
		"storage.keysize=aes",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct parsed p = parse(bad[i]);
		assert_int_equal(p.rc, -EINVAL);
	}
	parse_bad("storage.keysize=128", "storage.keysize=128: expected 256 or 512");
	parse_bad("storage.keysize=", "expected 256 or 512");
}

static void test_storage_all_together(void **state)
{
	struct hv_config c = parse_ok(" hvmem=32M storage.keysize=256  storage.iter=1000 "
				      "storage.salt=c0ffee storage.policy=ide0.0:0-62:plain console=none ");

	assert_int_equal(c.hvmem, MiB(32));
	assert_int_equal(c.console, CONSOLE_NONE);
	assert_int_equal(c.keysize, 256);
	assert_int_equal(c.iter, 1000);
	assert_int_equal(c.salt_len, 3);
	assert_memory_equal(c.salt, "\xc0\xff\xee", 3);
	assert_int_equal(c.policy.n, 1);
	assert_rule(&c.policy.r[0], "ide0.0", 0, 62, ACT_PLAIN);
}

/* Near misses of the option names are unknown options, not silently ignored. */
static void test_storage_misspelt(void **state)
{
	parse_bad("storage.polcy=*:*:plain", "unknown option 'storage.polcy=*:*:plain'");
	parse_bad("storage.Policy=*:*:plain", "unknown option");
	parse_bad("storage.salts=00", "unknown option");
	parse_bad("storage.iterations=5", "unknown option");
	parse_bad("storage.key=256", "unknown option");
	parse_bad("storage=1", "unknown option");
	parse_bad("storage.keysize", "unknown option 'storage.keysize'");
	parse_bad("policy=*:*:plain", "unknown option");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_storage_defaults),
		cmocka_unit_test(test_storage_policy),
		cmocka_unit_test(test_storage_policy_appends),
		cmocka_unit_test(test_storage_policy_errors),
		cmocka_unit_test(test_storage_salt),
		cmocka_unit_test(test_storage_salt_64_bytes),
		cmocka_unit_test(test_storage_salt_errors),
		cmocka_unit_test(test_storage_iter),
		cmocka_unit_test(test_storage_iter_errors),
		cmocka_unit_test(test_storage_keysize),
		cmocka_unit_test(test_storage_all_together),
		cmocka_unit_test(test_storage_misspelt),
	};
	return RUN_TESTS(tests);
}
