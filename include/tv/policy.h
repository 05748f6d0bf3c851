/* Per-disk, per-LBA-range storage policy (storage/policy.c, pure). */
#ifndef TV_POLICY_H
#define TV_POLICY_H

#include "tv/types.h"

enum sector_action { ACT_ENCRYPT, ACT_PLAIN, ACT_READONLY, ACT_DENY };

#define POLICY_RULES_MAX 32
#define DISK_NAME_MAX 12

struct policy_rule {
	char disk[DISK_NAME_MAX];	/* "*" or a disk name such as "ide0.0" */
	u64 first, last;		/* inclusive */
	u8 action;
};

struct policy {
	u32 n;
	struct policy_rule r[POLICY_RULES_MAX];
};

/* Parse "DISK:RANGE:ACTION[,...]" (docs/storage.md) and append the rules. */
int policy_parse(const char *s, size_t len, struct policy *p, char *err, size_t errlen);

/*
 * The action for sector 'lba' of 'disk' (later rules win; encrypt if none
 * matches), and how many sectors from lba on share it (at most 'count').
 */
enum sector_action policy_run(const struct policy *p, const char *disk, u64 lba, u64 count,
			      u64 *run);

const char *policy_action_name(enum sector_action a);

#endif
