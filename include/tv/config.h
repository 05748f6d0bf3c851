/* The hypervisor's command line, parsed (core/cmdline.c). */
#ifndef TV_CONFIG_H
#define TV_CONFIG_H

#include "tv/policy.h"

#define HVMEM_DEFAULT MiB(64)
#define HVMEM_MIN MiB(16)
#define HVMEM_ALIGN MiB(2)

enum console_kind { CONSOLE_COM1, CONSOLE_COM2, CONSOLE_NONE };

struct hv_config {
	u64 hvmem;		/* size of the hypervisor region, bytes */
	enum console_kind console;
	bool debug;		/* log level debug */
	struct policy policy;	/* storage.policy= */
	u8 salt[64];		/* storage.salt= (PBKDF2 for a passphrase) */
	u32 salt_len;
	u32 iter;		/* storage.iter= */
	u32 keysize;		/* storage.keysize=, bits: 256 or 512 */
};

/*
 * Parse "console=com1|com2|none hvmem=SIZE debug storage.policy=... storage.salt=HEX
 * storage.iter=N storage.keysize=256|512" (docs/storage.md).  SIZE takes K, M or G
 * suffixes and must be a multiple of 2 MiB, at least 16 MiB.  Unknown words
 * are errors: a mistyped security option must not be silently ignored.
 * On error returns -EINVAL and writes a message to err.
 */
int cmdline_parse(const char *s, struct hv_config *cfg, char *err, size_t errlen);

/* Parse a size with an optional K/M/G suffix; -EINVAL or -ERANGE on error. */
int parse_size(const char *s, size_t len, u64 *out);

/*
 * Xen's convention: loaders other than GRUB 2 put the image's file name
 * first on every command line; return the string without it.
 */
const char *cmdline_cook(const char *s, const char *loader_name);

#endif
