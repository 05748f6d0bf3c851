/*
 * cmdline_cook, cmdline_parse and parse_size (core/cmdline.c): the
 * hypervisor's command line as the boot loader passed it.
 *
 * Input: u8 loader (none, "GRUB 2.06", "QEMU"), u8 error buffer size,
 * then the command line (all that is left, cut at the first NUL).
 *
 * Invariants: cooking returns a suffix of the line, with no leading space,
 * the line itself minus leading spaces for GRUB 2; parsing returns 0 or
 * -EINVAL, writes no byte outside the configuration and the error buffer
 * (both exactly sized heap blocks), leaves a terminated, non-empty message
 * on error, and on success a configuration inside the documented bounds
 * (hvmem a multiple of 2 MiB in 16 MiB-2 GiB, salt 1-64 bytes, iter
 * 1-10^8, keysize 256 or 512, at most 32 valid policy rules); parsing is
 * deterministic.  parse_size accepts only digits with one K/M/G suffix.
 */
#include "fuzz.h"

#include "tv/config.h"
#include "tv/lib.h"

static void check_cfg(const struct hv_config *c)
{
	CHECK(c->hvmem >= HVMEM_MIN && c->hvmem <= GiB(2) && c->hvmem % HVMEM_ALIGN == 0);
	CHECK(c->console == CONSOLE_COM1 || c->console == CONSOLE_COM2 || c->console == CONSOLE_NONE);
	CHECK(c->salt_len >= 1 && c->salt_len <= sizeof(c->salt));
	CHECK(c->iter >= 1 && c->iter <= 100000000);
	CHECK(c->keysize == 256 || c->keysize == 512);
	CHECK(c->policy.n <= POLICY_RULES_MAX);
	for (u32 i = 0; i < c->policy.n; i++) {
		const struct policy_rule *r = &c->policy.r[i];
		CHECK(memchr(r->disk, 0, sizeof(r->disk)) != NULL && r->disk[0]);
		CHECK(r->first <= r->last);
		CHECK(r->action <= ACT_DENY);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const loaders[] = { NULL, "GRUB 2.06", "QEMU" };
	struct fuzz_in in = { data, size };
	const char *loader = loaders[take(&in, 1) % 3];
	size_t errlen = (size_t)take(&in, 1);
	size_t n = strnlen((const char *)in.p, in.n);
	char *line = alloc_exact(n + 1, 1);

	memcpy(line, in.p, n);
	line[n] = '\0';

	/* cmdline_cook */
	const char *s = cmdline_cook(line, loader);
	CHECK(s >= line && s <= line + n);
	CHECK(*s != ' ');
	if (loader && !strncmp(loader, "GRUB 2", 6))
		CHECK(s == line + strspn(line, " "));
	CHECK(*cmdline_cook(NULL, loader) == '\0');

	/* parse_size on the raw bytes */
	u64 v = 0;
	int rc = parse_size(line, n, &v);
	CHECK(rc == 0 || rc == -EINVAL || rc == -ERANGE);
	if (rc == 0) {
		size_t digits = strspn(line, "0123456789");
		CHECK(digits >= 1 && (digits == n || (digits == n - 1 && strchr("kKmMgG", line[n - 1]))));
	}

	/* cmdline_parse, twice: the same result */
	struct hv_config *cfg = alloc_exact(1, sizeof(*cfg)), *cfg2 = alloc_exact(1, sizeof(*cfg2));
	char *err = alloc_exact(errlen, 1);
	rc = cmdline_parse(s, cfg, err, errlen);
	CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		check_cfg(cfg);
	} else if (errlen) {
		CHECK(memchr(err, 0, errlen) != NULL);
		CHECK(errlen == 1 || err[0] != '\0');
	}
	CHECK(cmdline_parse(s, cfg2, err, errlen) == rc);
	if (rc == 0) {
		CHECK(cfg->hvmem == cfg2->hvmem && cfg->console == cfg2->console && cfg->debug == cfg2->debug);
		CHECK(cfg->salt_len == cfg2->salt_len && !memcmp(cfg->salt, cfg2->salt, cfg->salt_len));
		CHECK(cfg->iter == cfg2->iter && cfg->keysize == cfg2->keysize);
		CHECK(cfg->policy.n == cfg2->policy.n);
		CHECK(!memcmp(cfg->policy.r, cfg2->policy.r, cfg->policy.n * sizeof(cfg->policy.r[0])));
	}
	free(err);
	free(cfg2);
	free(cfg);
	free(line);
	return 0;
}
