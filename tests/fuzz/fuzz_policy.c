/*
 * policy_parse and policy_run (storage/policy.c): storage.policy= rules
 * and the per-sector lookups every guest I/O goes through.
 *
 * Input: u8 rules already there (mod 34, "*:*:plain" each), u8 disk to
 * look up, u8 error buffer size, u64 lba, u64 count, then the policy text
 * (all that is left, not terminated).
 *
 * Invariants: parsing returns 0 or -EINVAL and reads only its len bytes;
 * more than 32 rules are refused; the rules it adds have a valid disk name
 * (*, ideC.D, ahciN, nvmeN) terminated inside the field, first <= last and
 * a known action; nothing is written outside the policy and the exactly
 * sized error buffer, which holds a terminated message on error.  A lookup
 * gives the action of the last rule that covers lba (encrypt if none), a
 * run of 1 to count sectors (0 for count 0) that all share it (the last
 * one is looked up again, and no rule edge lies inside), ending at count
 * or at a rule edge.
 */
#include "fuzz.h"

#include "tv/lib.h"
#include "tv/policy.h"

static bool valid_name(const char *d)
{
	size_t n = strnlen(d, DISK_NAME_MAX);

	if (n == DISK_NAME_MAX)
		return false;
	if (!strcmp(d, "*"))
		return true;
	if (n == 6 && !strncmp(d, "ide", 3))
		return (d[3] == '0' || d[3] == '1') && d[4] == '.' && (d[5] == '0' || d[5] == '1');
	if (n > 4 && (!strncmp(d, "ahci", 4) || !strncmp(d, "nvme", 4)))
		return strspn(d + 4, "0123456789") == n - 4;
	return false;
}

static bool covers(const struct policy_rule *r, const char *disk, u64 lba)
{
	return (!strcmp(r->disk, "*") || !strcmp(r->disk, disk)) && r->first <= lba && lba <= r->last;
}

static enum sector_action reference(const struct policy *p, const char *disk, u64 lba)
{
	enum sector_action a = ACT_ENCRYPT;

	for (u32 i = 0; i < p->n; i++)
		if (covers(&p->r[i], disk, lba))
			a = (enum sector_action)p->r[i].action;
	return a;
}

/* Does some rule for disk start at x or end just before it? */
static bool edge(const struct policy *p, const char *disk, u64 x)
{
	for (u32 i = 0; i < p->n; i++) {
		const struct policy_rule *r = &p->r[i];
		if (strcmp(r->disk, "*") && strcmp(r->disk, disk))
			continue;
		if (r->first == x || (r->last != UINT64_MAX && r->last + 1 == x))
			return true;
	}
	return false;
}

/* Does a rule for disk start, or end just before, a sector in (a, b)? */
static bool edge_inside(const struct policy *p, const char *disk, u64 a, u64 b)
{
	for (u32 i = 0; i < p->n; i++) {
		const struct policy_rule *r = &p->r[i];
		if (strcmp(r->disk, "*") && strcmp(r->disk, disk))
			continue;
		if ((r->first > a && r->first < b) || (r->last >= a && r->last + 1 < b && r->last != UINT64_MAX))
			return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const disks[] = { "ide0.0", "ide1.1", "ahci0", "ahci12", "nvme1", "*", "" };
	struct fuzz_in in = { data, size };
	u32 pre = (u32)(take(&in, 1) % (POLICY_RULES_MAX + 2));
	const char *disk = disks[take(&in, 1) % ARRAY_SIZE(disks)];
	size_t errlen = (size_t)take(&in, 1);
	u64 lba = take(&in, 8), count = take(&in, 8);
	struct policy *p = alloc_exact(1, sizeof(*p));
	char *err = alloc_exact(errlen, 1);
	char *text = (char *)dup_rest(&in);

	p->n = 0;
	for (u32 i = 0; i < pre && i < POLICY_RULES_MAX; i++)
		p->r[p->n++] = (struct policy_rule){ "*", 0, UINT64_MAX, ACT_PLAIN };
	u32 before = p->n;

	int rc = policy_parse(text, in.n, p, err, errlen);
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK(p->n >= before && p->n <= POLICY_RULES_MAX);
	if (rc == 0)
		CHECK(p->n > before);
	else if (errlen)
		CHECK(memchr(err, 0, errlen) != NULL);
	for (u32 i = before; i < p->n; i++) {
		CHECK(valid_name(p->r[i].disk));
		CHECK(p->r[i].first <= p->r[i].last);
		CHECK(p->r[i].action <= ACT_DENY);
	}

	u64 run = 0xA5A5;
	enum sector_action a = policy_run(p, disk, lba, count, &run);
	CHECK(a == reference(p, disk, lba));
	CHECK(*policy_action_name(a) != '?');
	CHECK(policy_action_name((enum sector_action)(lba & 0xFF)) != NULL);
	if (count == 0) {
		CHECK(run == 0);
	} else {
		u64 run1 = 0;
		CHECK(run >= 1 && run <= count && lba + run - 1 >= lba);
		CHECK(reference(p, disk, lba + run - 1) == a);
		CHECK(policy_run(p, disk, lba + run - 1, 1, &run1) == a && run1 == 1);
		/* No rule edge inside the run; it stops at the end, the top of the LBA space or an edge. */
		CHECK(!edge_inside(p, disk, lba, lba + run));
		CHECK(run == count || lba + run == UINT64_MAX || lba + run == 0 || edge(p, disk, lba + run));
	}
	free(text);
	free(err);
	free(p);
	return 0;
}
