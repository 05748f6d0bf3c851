/* Keys, policy checks and the sector transform for every storage mediator. */
#include "tv/crypto.h"
#include "tv/hv.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/storage.h"

#define KEY_MODULE_STRING "thinvisor.key"

static struct xts_key key;
static bool have_key;
static bool need_key;	/* some mediated disk has sectors to encrypt */

static bool is_key_module(const struct boot_module *m)
{
	const char *cooked = cmdline_cook(m->string, hv.boot.loader);
	const char *s = m->string;

	while (*s == ' ')
		s++;
	return !strcmp(cooked, KEY_MODULE_STRING) || !strcmp(s, KEY_MODULE_STRING);
}

static void set_key(const u8 *k, size_t len)
{
	if (xts_setkey(&key, k, len))
		panic("storage key rejected (two equal halves?)\n");
	have_key = true;
	log_info("storage: AES-%u-XTS key loaded\n", len == 32 ? 128 : 256);
}

/*
 * Boot loaders leave copies of what they read in their buffers (GRUB's
 * disk bounce buffer in low memory, its disk cache): wipe every copy of the
 * key in RAM the guest will own.  Files start on sector boundaries and
 * buffers are at least 16-byte aligned, so a 16-byte stride finds them.
 */
static u32 wipe_in(u64 start, u64 end, const u8 *k, size_t len)
{
	start = ALIGN_UP(start, 16);
	if (end < start + len)
		return 0;
	const u64 *p = phys_ptr(&hv.pm, start, end - start);
	u64 first;
	u32 found = 0;

	if (!p)
		return 0;
	memcpy(&first, k, 8);
	for (u64 i = 0, n = (end - start - len) / 16; i <= n; i++, p += 2)
		if (*p == first && !memcmp(p, k, len)) {
			tv_memzero_explicit((void *)p, len);
			found++;
		}
	return found;
}

static u32 wipe_key_copies(const u8 *k, size_t len)
{
	const struct memmap *map = &hv.boot.mmap;
	u64 hb = hv.region_base, he = hv.region_base + hv.region_size;
	u32 found = 0;

	for (u32 i = 0; i < map->n; i++) {
		const struct mem_range *r = &map->e[i];
		u64 s = r->base, e = r->base + r->len;
		if (r->type != MEM_USABLE)
			continue;
		if (s < hb)
			found += wipe_in(s, MIN(e, hb), k, len);
		if (e > he)
			found += wipe_in(MAX(s, he), e, k, len);
	}
	return found;
}

void storage_take_key_module(void)
{
	struct bootinfo *bi = &hv.boot;

	for (u32 i = 0; i < bi->nmods; i++) {
		struct boot_module *m = &bi->mods[i];
		if (!is_key_module(m))
			continue;
		u64 len = m->end - m->start;
		u8 *p = phys_ptr(&hv.pm, m->start, len);
		if (have_key)
			panic("more than one thinvisor.key module\n");
		if (!p || (len != 32 && len != 64))
			panic("thinvisor.key must hold exactly 32 or 64 bytes (it has %lu)\n", len);
		u8 k[64];
		memcpy(k, p, len);
		set_key(k, len);
		/* The guest must never find it in its RAM: not the module, nor any copy. */
		u32 copies = wipe_key_copies(k, len);
		tv_memzero_explicit(k, sizeof(k));
		log_debug("storage: key module and %u other copies wiped from guest RAM\n", copies - 1);
		memmove(m, m + 1, (bi->nmods - i - 1) * sizeof(*m));
		bi->nmods--;
		i--;
	}
}

void storage_disk_found(const char *disk, u64 sectors)
{
	u64 lba = 0, run;

	/* Does any part of this disk need the key? */
	while (lba < sectors) {
		if (policy_run(&hv.cfg.policy, disk, lba, sectors - lba, &run) == ACT_ENCRYPT)
			need_key = true;
		lba += run;
	}
	log_info("storage: %s, %lu sectors (%lu MiB), mediated\n", disk, sectors, sectors >> 11);
}

static size_t read_passphrase(char *buf, size_t size)
{
	size_t n = 0;

	for (;;) {
		int c = log_getc();
		if (c == '\r' || c == '\n') {
			if (n)
				break;
			continue;
		}
		if ((c == 0x7F || c == 0x08) && n) {
			n--;
			continue;
		}
		if (c >= 0x20 && c < 0x7F && n + 1 < size)
			buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return n;
}

void storage_need_key(void)
{
	char pass[256];
	u8 k[64];
	size_t klen = hv.cfg.keysize / 8;

	if (have_key || !need_key)
		return;
	log_printf(LOG_INFO, "passphrase for the disk key: ");
	size_t n = read_passphrase(pass, sizeof(pass));
	log_raw("\n");
	log_info("storage: deriving the key (PBKDF2-HMAC-SHA256, %u iterations)\n", hv.cfg.iter);
	if (pbkdf2_hmac_sha256((const u8 *)pass, n, hv.cfg.salt, hv.cfg.salt_len, hv.cfg.iter, k, klen))
		panic("key derivation failed\n");
	set_key(k, klen);
	tv_memzero_explicit(pass, sizeof(pass));
	tv_memzero_explicit(k, sizeof(k));
}

int storage_check(const char *disk, u64 lba, u64 count, bool write, const char **why)
{
	u64 run;

	for (u64 end = lba + count; lba < end; lba += run) {
		enum sector_action a = policy_run(&hv.cfg.policy, disk, lba, end - lba, &run);
		if (a == ACT_DENY || (a == ACT_READONLY && write)) {
			*why = policy_action_name(a);
			return -EACCES;
		}
		if (a == ACT_ENCRYPT && !have_key) {
			*why = "no key";
			return -EACCES;
		}
	}
	return 0;
}

bool storage_is_plain(const char *disk, u64 lba, u64 count)
{
	u64 run;

	for (u64 end = lba + count; lba < end; lba += run)
		if (policy_run(&hv.cfg.policy, disk, lba, end - lba, &run) == ACT_ENCRYPT)
			return false;
	return true;
}

static void transform(const char *disk, u64 lba, u8 *buf, u64 count, bool to_disk)
{
	u64 run;

	for (u64 end = lba + count; lba < end; lba += run, buf += run * SECTOR_SIZE) {
		if (policy_run(&hv.cfg.policy, disk, lba, end - lba, &run) != ACT_ENCRYPT)
			continue;
		if (!have_key)
			panic("storage: encrypting without a key\n");	/* storage_check refuses first */
		if (to_disk)
			xts_encrypt_sectors(&key, lba, buf, buf, run);
		else
			xts_decrypt_sectors(&key, lba, buf, buf, run);
	}
}

void storage_to_disk(const char *disk, u64 lba, u8 *buf, u64 count)
{
	transform(disk, lba, buf, count, true);
}

void storage_from_disk(const char *disk, u64 lba, u8 *buf, u64 count)
{
	transform(disk, lba, buf, count, false);
}

void storage_wipe(void)
{
	if (!have_key)
		return;
	xts_wipe(&key);
	have_key = false;
	log_info("storage: key wiped\n");
}
