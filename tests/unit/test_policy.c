/* storage/policy.c: storage.policy= parsing and per-sector lookups (docs/storage.md). */
#include "util.h"

#include "tv/policy.h"
#include "tv/lib.h"

#define ERR_SIZE 160

/* Parse a whole C string into p (appending), asserting success. */
static void parse_ok(struct policy *p, const char *s)
{
	char err[ERR_SIZE] = "";
	int rc = policy_parse(s, strlen(s), p, err, sizeof(err));

	if (rc != 0)
		fail_msg("policy_parse(\"%s\") = %d: '%s'", s, rc, err);
}

static struct policy parsed(const char *s)
{
	struct policy p;

	memset(&p, 0x5A, sizeof(p));
	p.n = 0;
	parse_ok(&p, s);
	return p;
}

/* Parse must fail with -EINVAL and an error containing 'needle'. */
static void parse_bad(const char *s, const char *needle)
{
	struct policy p = { 0 };
	char err[ERR_SIZE];

	memset(err, 0, sizeof(err));
	int rc = policy_parse(s, strlen(s), &p, err, sizeof(err));
	if (rc != -EINVAL)
		fail_msg("policy_parse(\"%s\") = %d, expected -EINVAL", s, rc);
	if (!strstr(err, needle))
		fail_msg("policy_parse(\"%s\"): message '%s' does not contain '%s'", s, err, needle);
}

static void assert_rule(const struct policy_rule *r, const char *disk, u64 first, u64 last,
			enum sector_action a)
{
	assert_string_equal(r->disk, disk);
	assert_int_equal(r->first, first);
	assert_int_equal(r->last, last);
	assert_int_equal(r->action, a);
}

/* ---- parsing ---- */

static void test_parse_single(void **state)
{
	struct policy p = parsed("ide0.0:0-99:plain");

	assert_int_equal(p.n, 1);
	assert_rule(&p.r[0], "ide0.0", 0, 99, ACT_PLAIN);
}

static void test_parse_multiple(void **state)
{
	struct policy p = parsed("*:*:readonly,ide1.1:5-:deny,ide0.1:7-7:encrypt,ide1.0:100-200:plain");

	assert_int_equal(p.n, 4);
	assert_rule(&p.r[0], "*", 0, UINT64_MAX, ACT_READONLY);
	assert_rule(&p.r[1], "ide1.1", 5, UINT64_MAX, ACT_DENY);
	assert_rule(&p.r[2], "ide0.1", 7, 7, ACT_ENCRYPT);
	assert_rule(&p.r[3], "ide1.0", 100, 200, ACT_PLAIN);
}

static void test_parse_all_actions(void **state)
{
	struct policy p = parsed("*:0-0:encrypt,*:1-1:plain,*:2-2:readonly,*:3-3:deny");

	assert_int_equal(p.n, 4);
	assert_int_equal(p.r[0].action, ACT_ENCRYPT);
	assert_int_equal(p.r[1].action, ACT_PLAIN);
	assert_int_equal(p.r[2].action, ACT_READONLY);
	assert_int_equal(p.r[3].action, ACT_DENY);
}

static void test_parse_ranges(void **state)
{
	struct policy p = parsed("*:*:deny,ide0.0:0-:plain,ide0.0:2048-:readonly,ide0.0:12-12:deny,"
				 "ide0.0:0000042-00043:plain,ide0.0:281474976710655-18446744073709551609:deny");

	assert_int_equal(p.n, 6);
	assert_rule(&p.r[0], "*", 0, UINT64_MAX, ACT_DENY);
	assert_rule(&p.r[1], "ide0.0", 0, UINT64_MAX, ACT_PLAIN);
	assert_rule(&p.r[2], "ide0.0", 2048, UINT64_MAX, ACT_READONLY);
	assert_rule(&p.r[3], "ide0.0", 12, 12, ACT_DENY);
	assert_rule(&p.r[4], "ide0.0", 42, 43, ACT_PLAIN);
	assert_rule(&p.r[5], "ide0.0", (1ull << 48) - 1, 18446744073709551609ull, ACT_DENY);
}

static void test_parse_disk_names(void **state)
{
	static const char *const ok[] = {
		"*", "ide0.0", "ide0.1", "ide1.0", "ide1.1", "ahci0", "ahci31", "nvme0", "nvme1234567",
	};
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		char buf[64];
		snprintf(buf, sizeof(buf), "%s:*:plain", ok[i]);
		struct policy p = parsed(buf);
		assert_int_equal(p.n, 1);
		assert_string_equal(p.r[0].disk, ok[i]);
	}
}

static void test_parse_appends(void **state)
{
	struct policy p = parsed("ide0.0:1-2:deny");

	parse_ok(&p, "*:3-:plain,ide1.0:*:readonly");
	assert_int_equal(p.n, 3);
	assert_rule(&p.r[0], "ide0.0", 1, 2, ACT_DENY);
	assert_rule(&p.r[1], "*", 3, UINT64_MAX, ACT_PLAIN);
	assert_rule(&p.r[2], "ide1.0", 0, UINT64_MAX, ACT_READONLY);
}

/* Only len bytes are parsed (the value is a word of a longer command line). */
static void test_parse_respects_len(void **state)
{
	const char *s = "ide0.0:1-2:plain,garbage debug";
	struct policy p = { 0 };
	char err[ERR_SIZE] = "";

	assert_int_equal(policy_parse(s, 16, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 1);
	assert_rule(&p.r[0], "ide0.0", 1, 2, ACT_PLAIN);
	p.n = 0;
	assert_int_equal(policy_parse("*:9-10:denyX", 11, &p, err, sizeof(err)), 0);
	assert_rule(&p.r[0], "*", 9, 10, ACT_DENY);
}

static void test_parse_bad_disks(void **state)
{
	static const char *const bad[] = {
		"ide2.0", "ide0.2", "sata0", "ide0", "ide0.", "ide00.0", "ide0.00", "ide0-0", "IDE0.0", "ahci",
		"nvme", "ahcix", "ahci1x", "ahci-1", "nvme12345678", "**", "ide0.0 ", " ide0.0", "hd0",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char rule[64], want[64];
		snprintf(rule, sizeof(rule), "%s:*:plain", bad[i]);
		snprintf(want, sizeof(want), "unknown disk '%s'", bad[i]);
		parse_bad(rule, want);
	}
	parse_bad(":*:plain", "unknown disk ''");
	/* A bad disk in a later rule. */
	parse_bad("ide0.0:*:plain,ide2.0:*:plain", "unknown disk 'ide2.0'");
}

static void test_parse_bad_ranges(void **state)
{
	static const char *const bad[] = {
		"5-3", "x-5", "5-x", "-5", "5", "", "-", "**", "* ", "1--2", "1-2-3", " 1-2", "1-2 ", "+1-2",
		"0x10-0x20", "1.5-2", "18446744073709551616-", "0-99999999999999999999", "1-0",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char rule[64], want[64];
		snprintf(rule, sizeof(rule), "ide0.0:%s:deny", bad[i]);
		snprintf(want, sizeof(want), "bad range '%s'", bad[i]);
		parse_bad(rule, want);
	}
}

static void test_parse_missing_parts(void **state)
{
	parse_bad("ide0.0:plain", "rule 'ide0.0:plain' is not DISK:RANGE:ACTION");
	parse_bad("ide0.0", "rule 'ide0.0' is not DISK:RANGE:ACTION");
	parse_bad("", "rule '' is not DISK:RANGE:ACTION");
	parse_bad("ide0.0:1-2:plain:x", "rule 'ide0.0:1-2:plain:x' is not DISK:RANGE:ACTION");
	/* Empty rules from stray commas. */
	parse_bad("ide0.0:*:plain,", "rule '' is not DISK:RANGE:ACTION");
	parse_bad(",ide0.0:*:plain", "rule '' is not DISK:RANGE:ACTION");
	parse_bad("ide0.0:*:plain,,*:*:deny", "rule '' is not DISK:RANGE:ACTION");
	parse_bad("ide0.0:*:plain,ide0.1", "rule 'ide0.1' is not DISK:RANGE:ACTION");
}

static void test_parse_bad_actions(void **state)
{
	static const char *const bad[] = {
		"", "encrypted", "encryp", "Plain", "PLAIN", "read-only", "ro", "deny ", "allow", "plainx",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char rule[64], want[64];
		snprintf(rule, sizeof(rule), "ide0.0:*:%s", bad[i]);
		snprintf(want, sizeof(want), "unknown action '%s'", bad[i]);
		parse_bad(rule, want);
	}
}

static void test_parse_too_many_rules(void **state)
{
	char s[POLICY_RULES_MAX * 24 + 32];
	size_t o = 0;
	struct policy p = { 0 };
	char err[ERR_SIZE] = "";

	for (u32 i = 0; i < POLICY_RULES_MAX; i++)
		o += (size_t)snprintf(s + o, sizeof(s) - o, "%s*:%u-%u:plain", i ? "," : "", i, i);
	assert_int_equal(policy_parse(s, o, &p, err, sizeof(err)), 0);	/* exactly the maximum */
	assert_int_equal(p.n, POLICY_RULES_MAX);
	assert_rule(&p.r[POLICY_RULES_MAX - 1], "*", POLICY_RULES_MAX - 1, POLICY_RULES_MAX - 1, ACT_PLAIN);

	/* One more, in the same string. */
	snprintf(s + o, sizeof(s) - o, ",*:*:deny");
	p.n = 0;
	assert_int_equal(policy_parse(s, strlen(s), &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 32 rules"));
	assert_int_equal(p.n, POLICY_RULES_MAX);	/* never writes past the array */

	/* Or appended to a full policy. */
	p.n = POLICY_RULES_MAX - 1;
	err[0] = '\0';
	assert_int_equal(policy_parse("*:*:deny,*:*:plain", 18, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 32 rules"));
	assert_int_equal(p.n, POLICY_RULES_MAX);
	assert_rule(&p.r[POLICY_RULES_MAX - 1], "*", 0, UINT64_MAX, ACT_DENY);
}

/* A short or absent error buffer is fine. */
static void test_parse_error_buffer(void **state)
{
	struct policy p = { 0 };
	char err[8];

	memset(err, 'Z', sizeof(err));
	assert_int_equal(policy_parse("ide9.9:*:plain", 14, &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(strnlen(err, sizeof(err)), sizeof(err) - 1);
	assert_memory_equal(err, "storage", 7);
	assert_int_equal(policy_parse("ide9.9:*:plain", 14, &p, NULL, 0), -EINVAL);
}

/* ---- lookups ---- */

static void expect_run(const struct policy *p, const char *disk, u64 lba, u64 count, enum sector_action a,
		       u64 run)
{
	u64 got = 0xA5A5A5A5A5A5A5A5ull;
	enum sector_action ga = policy_run(p, disk, lba, count, &got);

	if (ga != a || got != run)
		fail_msg("policy_run(%s, lba %llu, count %llu) = %s run %llu; expected %s run %llu", disk,
			 (unsigned long long)lba, (unsigned long long)count, policy_action_name(ga),
			 (unsigned long long)got, policy_action_name(a), (unsigned long long)run);
}

static void test_run_default_encrypt(void **state)
{
	struct policy empty = { 0 };

	expect_run(&empty, "ide0.0", 0, 1, ACT_ENCRYPT, 1);
	expect_run(&empty, "ide0.0", 12345, 65536, ACT_ENCRYPT, 65536);
	expect_run(&empty, "ide1.1", 0, UINT64_MAX, ACT_ENCRYPT, UINT64_MAX);

	struct policy p = parsed("ide0.0:100-199:plain");
	expect_run(&p, "ide0.0", 0, 50, ACT_ENCRYPT, 50);
	expect_run(&p, "ide0.0", 200, 1000, ACT_ENCRYPT, 1000);
}

static void test_run_edges(void **state)
{
	struct policy p = parsed("ide0.0:100-199:plain");

	expect_run(&p, "ide0.0", 0, 1000, ACT_ENCRYPT, 100);	/* stops at first */
	expect_run(&p, "ide0.0", 99, 1000, ACT_ENCRYPT, 1);
	expect_run(&p, "ide0.0", 100, 1000, ACT_PLAIN, 100);	/* stops at last + 1 */
	expect_run(&p, "ide0.0", 150, 1000, ACT_PLAIN, 50);
	expect_run(&p, "ide0.0", 199, 1000, ACT_PLAIN, 1);
	expect_run(&p, "ide0.0", 200, 1000, ACT_ENCRYPT, 1000);
	/* Count clamps, including exactly at the edge. */
	expect_run(&p, "ide0.0", 0, 100, ACT_ENCRYPT, 100);
	expect_run(&p, "ide0.0", 0, 99, ACT_ENCRYPT, 99);
	expect_run(&p, "ide0.0", 100, 100, ACT_PLAIN, 100);
	expect_run(&p, "ide0.0", 100, 7, ACT_PLAIN, 7);
	expect_run(&p, "ide0.0", 120, 1, ACT_PLAIN, 1);
	expect_run(&p, "ide0.0", 5, 0, ACT_ENCRYPT, 0);
}

static void test_run_single_sector_rule(void **state)
{
	struct policy p = parsed("ide1.0:0-0:readonly,ide1.0:7-7:deny");

	expect_run(&p, "ide1.0", 0, 16, ACT_READONLY, 1);
	expect_run(&p, "ide1.0", 1, 16, ACT_ENCRYPT, 6);
	expect_run(&p, "ide1.0", 7, 16, ACT_DENY, 1);
	expect_run(&p, "ide1.0", 8, 16, ACT_ENCRYPT, 16);
}

static void test_run_later_rules_win(void **state)
{
	struct policy p = parsed("*:*:readonly,ide0.0:10-19:deny,ide0.0:15-:plain");

	expect_run(&p, "ide0.0", 0, 100, ACT_READONLY, 10);
	expect_run(&p, "ide0.0", 10, 100, ACT_DENY, 5);
	/* The deny rule's end (20) still ends the run, though plain covers both sides. */
	expect_run(&p, "ide0.0", 15, 100, ACT_PLAIN, 5);
	expect_run(&p, "ide0.0", 19, 100, ACT_PLAIN, 1);
	expect_run(&p, "ide0.0", 20, 100, ACT_PLAIN, 100);
	expect_run(&p, "ide0.0", 1000000, 3, ACT_PLAIN, 3);
	/* The wildcard applies to the other disks. */
	expect_run(&p, "ide0.1", 0, 100, ACT_READONLY, 100);
	expect_run(&p, "ide0.1", 12, 100, ACT_READONLY, 100);

	/* Reversed: the catch-all last overrides everything. */
	struct policy q = parsed("ide0.0:10-19:deny,*:*:plain");
	u64 run;
	assert_int_equal(policy_run(&q, "ide0.0", 12, 100, &run), ACT_PLAIN);
	assert_true(run >= 1 && run <= 100);
	assert_int_equal(policy_run(&q, "ide0.0", 10, 1, &run), ACT_PLAIN);
	assert_int_equal(run, 1);
	/* Same range twice: the second action counts. */
	struct policy r = parsed("ide0.0:5-9:deny,ide0.0:5-9:encrypt");
	expect_run(&r, "ide0.0", 5, 100, ACT_ENCRYPT, 5);
	expect_run(&r, "ide0.0", 0, 100, ACT_ENCRYPT, 5);
}

static void test_run_other_disks_unaffected(void **state)
{
	struct policy p = parsed("ide0.0:0-9:deny,ide0.0:20-:readonly,ide1.1:100-200:plain");

	/* No edge of ide0.0's or ide1.1's rules cuts ide0.1's run. */
	expect_run(&p, "ide0.1", 0, 1000, ACT_ENCRYPT, 1000);
	expect_run(&p, "ide0.1", 5, 1000, ACT_ENCRYPT, 1000);
	expect_run(&p, "ide1.0", 0, 1000, ACT_ENCRYPT, 1000);
	expect_run(&p, "ide1.1", 0, 1000, ACT_ENCRYPT, 100);
	expect_run(&p, "ide1.1", 100, 1000, ACT_PLAIN, 101);
	expect_run(&p, "ide0.0", 0, 1000, ACT_DENY, 10);
	expect_run(&p, "ide0.0", 10, 1000, ACT_ENCRYPT, 10);
	expect_run(&p, "ide0.0", 20, 1000, ACT_READONLY, 1000);
	/* A rule disk is matched whole, not as a prefix; "*" is only the wildcard in a rule. */
	expect_run(&p, "ide0.00", 0, 50, ACT_ENCRYPT, 50);
	expect_run(&p, "ide0", 0, 50, ACT_ENCRYPT, 50);
	expect_run(&p, "*", 0, 50, ACT_ENCRYPT, 50);
}

/* Many nested rules: compare against a per-sector reference. */
static void test_run_matches_reference(void **state)
{
	struct policy p = parsed("*:10-59:plain,ide0.0:20-29:deny,ide0.1:25-34:readonly,*:40-44:encrypt,"
				 "ide0.0:44-45:readonly,*:58-:deny,ide0.0:70-70:plain");
	static const char *const disks[] = { "ide0.0", "ide0.1", "ide1.0" };

	for (size_t d = 0; d < ARRAY_SIZE(disks); d++) {
		enum sector_action ref[100];
		for (u64 s = 0; s < 100; s++) {
			ref[s] = ACT_ENCRYPT;
			for (u32 i = 0; i < p.n; i++) {
				const struct policy_rule *r = &p.r[i];
				if ((!strcmp(r->disk, "*") || !strcmp(r->disk, disks[d])) && r->first <= s && s <= r->last)
					ref[s] = r->action;
			}
		}
		for (u64 lba = 0; lba < 100; lba++)
			for (u64 count = 1; lba + count <= 100; count++) {
				u64 run;
				enum sector_action a = policy_run(&p, disks[d], lba, count, &run);
				assert_int_equal(a, ref[lba]);
				if (run < 1 || run > count)
					fail_msg("%s lba %llu count %llu: run %llu", disks[d], (unsigned long long)lba,
						 (unsigned long long)count, (unsigned long long)run);
				for (u64 s = lba; s < lba + run; s++)
					if (ref[s] != a)
						fail_msg("%s lba %llu count %llu: run %llu covers sector %llu (%s, not %s)",
							 disks[d], (unsigned long long)lba, (unsigned long long)count,
							 (unsigned long long)run, (unsigned long long)s,
							 policy_action_name(ref[s]), policy_action_name(a));
			}
	}
}

static void test_run_near_uint64_max(void **state)
{
	/* An open range must not wrap last + 1 to 0. */
	struct policy p = parsed("ide0.0:5-:deny");
	expect_run(&p, "ide0.0", 10, 100, ACT_DENY, 100);
	expect_run(&p, "ide0.0", 5, UINT64_MAX - 5, ACT_DENY, UINT64_MAX - 5);
	expect_run(&p, "ide0.0", 0, UINT64_MAX, ACT_ENCRYPT, 5);
	expect_run(&p, "ide0.0", UINT64_MAX - 1, 1, ACT_DENY, 1);

	/* "*" range, ending exactly at UINT64_MAX with no wrap. */
	struct policy q = parsed("*:*:plain");
	expect_run(&q, "ide1.1", 0, UINT64_MAX, ACT_PLAIN, UINT64_MAX);
	expect_run(&q, "ide1.1", 1000, UINT64_MAX - 1000, ACT_PLAIN, UINT64_MAX - 1000);

	/* A rule ending just below the top: last + 1 == UINT64_MAX is an edge. */
	struct policy r = parsed("ide0.0:18446744073709551000-18446744073709551609:readonly");
	expect_run(&r, "ide0.0", 18446744073709551000ull, 1000, ACT_READONLY, 610);
	expect_run(&r, "ide0.0", 18446744073709551609ull, 5, ACT_READONLY, 1);
	expect_run(&r, "ide0.0", 18446744073709551610ull, 5, ACT_ENCRYPT, 5);
	expect_run(&r, "ide0.0", 18446744073709550000ull, 5000 - 1, ACT_ENCRYPT, 1000);

	/*
	 * lba + count wrapping past 2^64: the run is clamped, never wraps to a
	 * huge value or beyond the rule edges.
	 */
	u64 run;
	assert_int_equal(policy_run(&r, "ide0.0", 18446744073709551000ull, UINT64_MAX, &run), ACT_READONLY);
	assert_int_equal(run, 610);
	assert_int_equal(policy_run(&q, "ide1.1", UINT64_MAX - 10, 100, &run), ACT_PLAIN);
	assert_true(run >= 10 && run <= 11);
	assert_int_equal(policy_run(&p, "ide0.0", 3, UINT64_MAX, &run), ACT_ENCRYPT);
	assert_int_equal(run, 2);
}

static void test_action_names(void **state)
{
	assert_string_equal(policy_action_name(ACT_ENCRYPT), "encrypt");
	assert_string_equal(policy_action_name(ACT_PLAIN), "plain");
	assert_string_equal(policy_action_name(ACT_READONLY), "readonly");
	assert_string_equal(policy_action_name(ACT_DENY), "deny");
	assert_string_equal(policy_action_name((enum sector_action)4), "?");
	assert_string_equal(policy_action_name((enum sector_action)255), "?");
	assert_string_equal(policy_action_name((enum sector_action)-1), "?");
	/* The names round-trip through the parser. */
	for (int a = ACT_ENCRYPT; a <= ACT_DENY; a++) {
		char s[32];
		snprintf(s, sizeof(s), "*:*:%s", policy_action_name((enum sector_action)a));
		struct policy p = parsed(s);
		assert_int_equal(p.r[0].action, a);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_single),
		cmocka_unit_test(test_parse_multiple),
		cmocka_unit_test(test_parse_all_actions),
		cmocka_unit_test(test_parse_ranges),
		cmocka_unit_test(test_parse_disk_names),
		cmocka_unit_test(test_parse_appends),
		cmocka_unit_test(test_parse_respects_len),
		cmocka_unit_test(test_parse_bad_disks),
		cmocka_unit_test(test_parse_bad_ranges),
		cmocka_unit_test(test_parse_missing_parts),
		cmocka_unit_test(test_parse_bad_actions),
		cmocka_unit_test(test_parse_too_many_rules),
		cmocka_unit_test(test_parse_error_buffer),
		cmocka_unit_test(test_run_default_encrypt),
		cmocka_unit_test(test_run_edges),
		cmocka_unit_test(test_run_single_sector_rule),
		cmocka_unit_test(test_run_later_rules_win),
		cmocka_unit_test(test_run_other_disks_unaffected),
		cmocka_unit_test(test_run_matches_reference),
		cmocka_unit_test(test_run_near_uint64_max),
		cmocka_unit_test(test_action_names),
	};
	return RUN_TESTS(tests);
}
