/* Hypervisor command-line parsing: pure, host-tested. */
#include "tv/config.h"
#include "tv/lib.h"

int parse_size(const char *s, size_t len, u64 *out)
{
	u64 v = 0;
	size_t i = 0;

	if (len == 0)
		return -EINVAL;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		u64 d = (u64)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	if (i == 0)
		return -EINVAL;
	if (i < len) {
		unsigned shift;
		switch (s[i]) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		default: return -EINVAL;
		}
		if (i + 1 != len)
			return -EINVAL;
		if (v > (UINT64_MAX >> shift))
			return -ERANGE;
		v <<= shift;
	}
	*out = v;
	return 0;
}

static const char *find_eq(const char *w, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (w[i] == '=')
			return w + i;
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_hex(const char *s, size_t n, u8 *out)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (u8)(hi << 4 | lo);
	}
	return 0;
}

static bool word_is(const char *w, size_t n, const char *lit)
{
	return strlen(lit) == n && memcmp(w, lit, n) == 0;
}

const char *cmdline_cook(const char *s, const char *loader_name)
{
	if (!s)
		return "";
	while (*s == ' ')
		s++;
	if (loader_name && strncmp(loader_name, "GRUB 2", 6) == 0)
		return s;
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

int cmdline_parse(const char *s, struct hv_config *cfg, char *err, size_t errlen)
{
	cfg->hvmem = HVMEM_DEFAULT;
	cfg->console = CONSOLE_COM1;
	cfg->debug = false;
	cfg->policy.n = 0;
	memcpy(cfg->salt, "thinvisor", 9);
	cfg->salt_len = 9;
	cfg->iter = 100000;
	cfg->keysize = 512;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		const char *w = s;
		while (*s && *s != ' ' && *s != '\t')
			s++;
		size_t n = (size_t)(s - w);
		if (n == 0)
			break;
		const char *eq = find_eq(w, n);
		size_t klen = eq ? (size_t)(eq - w) : n;
		const char *val = eq ? eq + 1 : NULL;
		size_t vlen = eq ? n - klen - 1 : 0;

		if (word_is(w, n, "debug")) {
			cfg->debug = true;
		} else if (val && word_is(w, klen, "hvmem")) {
			u64 v;
			int rc = parse_size(val, vlen, &v);
			if (rc) {
				tv_snprintf(err, errlen, "hvmem=%.*s: not a size (use e.g. hvmem=64M)", (int)vlen, val);
				return -EINVAL;
			}
			if (v < HVMEM_MIN || v % HVMEM_ALIGN || v > GiB(2)) {
				tv_snprintf(err, errlen, "hvmem=%.*s: must be a multiple of 2M between 16M and 2G",
					    (int)vlen, val);
				return -EINVAL;
			}
			cfg->hvmem = v;
		} else if (val && word_is(w, klen, "console")) {
			if (word_is(val, vlen, "com1"))
				cfg->console = CONSOLE_COM1;
			else if (word_is(val, vlen, "com2"))
				cfg->console = CONSOLE_COM2;
			else if (word_is(val, vlen, "none"))
				cfg->console = CONSOLE_NONE;
			else {
				tv_snprintf(err, errlen, "console=%.*s: expected com1, com2 or none", (int)vlen, val);
				return -EINVAL;
			}
		} else if (val && word_is(w, klen, "storage.policy")) {
			if (policy_parse(val, vlen, &cfg->policy, err, errlen))
				return -EINVAL;
		} else if (val && word_is(w, klen, "storage.salt")) {
			if (vlen == 0 || vlen % 2 || vlen / 2 > sizeof(cfg->salt) || parse_hex(val, vlen, cfg->salt)) {
				tv_snprintf(err, errlen, "storage.salt=%.*s: expected 1 to 64 bytes in hex", (int)vlen, val);
				return -EINVAL;
			}
			cfg->salt_len = (u32)(vlen / 2);
		} else if (val && word_is(w, klen, "storage.iter")) {
			u64 it;
			bool digits = vlen > 0;
			for (size_t i = 0; i < vlen; i++)
				digits = digits && val[i] >= '0' && val[i] <= '9';
			if (!digits || parse_size(val, vlen, &it) || it == 0 || it > 100000000) {
				tv_snprintf(err, errlen, "storage.iter=%.*s: expected 1 to 100000000", (int)vlen, val);
				return -EINVAL;
			}
			cfg->iter = (u32)it;
		} else if (val && word_is(w, klen, "storage.keysize")) {
			if (word_is(val, vlen, "256"))
				cfg->keysize = 256;
			else if (word_is(val, vlen, "512"))
				cfg->keysize = 512;
			else {
				tv_snprintf(err, errlen, "storage.keysize=%.*s: expected 256 or 512", (int)vlen, val);
				return -EINVAL;
			}
		} else {
			tv_snprintf(err, errlen, "unknown option '%.*s'", (int)n, w);
			return -EINVAL;
		}
	}
	return 0;
}
