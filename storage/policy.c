/* Storage policy rules: pure, host-tested. */
#include "tv/lib.h"
#include "tv/policy.h"

static const char *const action_names[] = {
	[ACT_ENCRYPT] = "encrypt", [ACT_PLAIN] = "plain", [ACT_READONLY] = "readonly", [ACT_DENY] = "deny",
};

const char *policy_action_name(enum sector_action a)
{
	return (unsigned)a < ARRAY_SIZE(action_names) ? action_names[a] : "?";
}

static int parse_u64(const char *s, size_t n, u64 *out)
{
	u64 v = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		u64 d = (u64)(s[i] - '0');
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static bool valid_disk(const char *s, size_t n)
{
	if (n == 1 && s[0] == '*')
		return true;
	/* ideC.D, ahciP, nvmeN: a known prefix and digits (with one dot for IDE). */
	if (n == 6 && !memcmp(s, "ide", 3) && (s[3] == '0' || s[3] == '1') && s[4] == '.' &&
	    (s[5] == '0' || s[5] == '1'))
		return true;
	size_t pl = (n > 4 && !memcmp(s, "ahci", 4)) ? 4 : (n > 4 && !memcmp(s, "nvme", 4)) ? 4 : 0;
	if (!pl || n >= DISK_NAME_MAX)
		return false;
	for (size_t i = pl; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int parse_rule(const char *s, size_t n, struct policy_rule *r, char *err, size_t errlen)
{
	const char *c1 = NULL, *c2 = NULL;

	for (size_t i = 0; i < n; i++)
		if (s[i] == ':') {
			if (!c1)
				c1 = s + i;
			else if (!c2)
				c2 = s + i;
			else
				goto bad;
		}
	if (!c2)
		goto bad;
	size_t dl = (size_t)(c1 - s), rl = (size_t)(c2 - c1 - 1), al = n - (size_t)(c2 - s) - 1;
	const char *rs = c1 + 1, *as = c2 + 1;
	if (!valid_disk(s, dl)) {
		tv_snprintf(err, errlen, "storage.policy: unknown disk '%.*s' (use *, ideC.D, ahciP, nvmeN)",
			    (int)dl, s);
		return -EINVAL;
	}
	memcpy(r->disk, s, dl);
	r->disk[dl] = '\0';
	if (rl == 1 && rs[0] == '*') {
		r->first = 0;
		r->last = UINT64_MAX;
	} else {
		const char *dash = NULL;
		for (size_t i = 0; i < rl; i++)
			if (rs[i] == '-')
				dash = rs + i;
		size_t fl = dash ? (size_t)(dash - rs) : 0;
		size_t ll = dash ? rl - fl - 1 : 0;
		if (!dash || parse_u64(rs, fl, &r->first) ||
		    (ll ? parse_u64(dash + 1, ll, &r->last) : (r->last = UINT64_MAX, 0)) || r->last < r->first) {
			tv_snprintf(err, errlen, "storage.policy: bad range '%.*s' (use FIRST-LAST, FIRST- or *)",
				    (int)rl, rs);
			return -EINVAL;
		}
	}
	for (u32 a = 0; a < ARRAY_SIZE(action_names); a++)
		if (strlen(action_names[a]) == al && !memcmp(as, action_names[a], al)) {
			r->action = (u8)a;
			return 0;
		}
	tv_snprintf(err, errlen, "storage.policy: unknown action '%.*s' (use encrypt, plain, readonly, deny)",
		    (int)al, as);
	return -EINVAL;
bad:
	tv_snprintf(err, errlen, "storage.policy: rule '%.*s' is not DISK:RANGE:ACTION", (int)n, s);
	return -EINVAL;
}

int policy_parse(const char *s, size_t len, struct policy *p, char *err, size_t errlen)
{
	size_t i = 0;

	while (i <= len) {
		size_t j = i;
		while (j < len && s[j] != ',')
			j++;
		if (p->n >= POLICY_RULES_MAX) {
			tv_snprintf(err, errlen, "storage.policy: more than %u rules", POLICY_RULES_MAX);
			return -EINVAL;
		}
		if (parse_rule(s + i, j - i, &p->r[p->n], err, errlen))
			return -EINVAL;
		p->n++;
		i = j + 1;
	}
	return 0;
}

static bool disk_matches(const struct policy_rule *r, const char *disk)
{
	return (r->disk[0] == '*' && !r->disk[1]) || !strcmp(r->disk, disk);
}

enum sector_action policy_run(const struct policy *p, const char *disk, u64 lba, u64 count,
			      u64 *run)
{
	enum sector_action act = ACT_ENCRYPT;
	u64 end = lba + count < lba ? UINT64_MAX : lba + count;

	/* The last matching rule decides; any rule edge after lba ends the run. */
	for (u32 i = 0; i < p->n; i++) {
		const struct policy_rule *r = &p->r[i];
		if (!disk_matches(r, disk))
			continue;
		if (r->first <= lba && lba <= r->last)
			act = (enum sector_action)r->action;
		if (r->first > lba && r->first < end)
			end = r->first;
		if (r->last >= lba && r->last != UINT64_MAX && r->last + 1 < end)
			end = r->last + 1;
	}
	*run = end > lba ? end - lba : count ? 1 : 0;	/* 0 only for count 0 */
	return act;
}
