/* SPDX-License-Identifier: MIT */
/* Multiboot v1 information: command line and memory map. */
#include "tg.h"

const struct mb_info *mb;

const char *mb_cmdline(void)
{
	if (!(mb->flags & MB_INFO_CMDLINE) || !mb->cmdline)
		return NULL;
	return (const char *)(uintptr_t)mb->cmdline;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

const char *mb_args(void)
{
	const char *s = mb_cmdline();
	if (!s)
		return "";
	while (is_space(*s))
		s++;

	/* Find the first word and decide whether it is an image name. */
	const char *w = s;
	int slash = 0;
	while (*w && !is_space(*w))
		slash |= *w++ == '/';
	size_t n = (size_t)(w - s);
	int elf = n >= 4 && !strncmp(w - 4, ".elf", 4);
	if (!slash && !elf)
		return s;
	while (is_space(*w))
		w++;
	return w;
}

const char *mb_find_arg(const char *key)
{
	size_t klen = strlen(key);
	for (const char *s = mb_args(); *s;) {
		while (is_space(*s))
			s++;
		if (!strncmp(s, key, klen) && s[klen] == '=')
			return s + klen + 1;
		while (*s && !is_space(*s))
			s++;
	}
	return NULL;
}

const char *mb_loader_name(void)
{
	if (!(mb->flags & MB_INFO_LOADER) || !mb->boot_loader_name)
		return "?";
	return (const char *)(uintptr_t)mb->boot_loader_name;
}

/*
 * Entries are variable-sized: each starts with its size (not counting the
 * size field itself), so the next one is at entry + size + 4.  A size too
 * small to hold base/length/type ends the walk instead of looping.
 */
const struct mb_mmap_entry *mmap_first(void)
{
	if (!(mb->flags & MB_INFO_MMAP) || mb->mmap_length < sizeof(struct mb_mmap_entry))
		return NULL;
	return (const struct mb_mmap_entry *)(uintptr_t)mb->mmap_addr;
}

const struct mb_mmap_entry *mmap_next(const struct mb_mmap_entry *e)
{
	if (e->size < 20)
		return NULL;
	uintptr_t next = (uintptr_t)e + e->size + 4;
	uintptr_t end = (uintptr_t)mb->mmap_addr + mb->mmap_length;
	if (next + sizeof(struct mb_mmap_entry) > end)
		return NULL;
	return (const struct mb_mmap_entry *)next;
}

const char *mmap_type_name(uint32_t type)
{
	switch (type) {
	case 1: return "usable";
	case 2: return "reserved";
	case 3: return "ACPI reclaimable";
	case 4: return "ACPI NVS";
	case 5: return "bad";
	default: return "other";
	}
}
