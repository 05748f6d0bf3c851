/*
 * The one sector-crypto and policy entry point every storage mediator uses
 * (IDE now; AHCI and NVMe later): is this access allowed, and turn guest
 * data into disk data and back, sector by sector, by policy.
 */
#ifndef TV_STORAGE_H
#define TV_STORAGE_H

#include "tv/types.h"

#define SECTOR_SIZE 512

/* Take the key module (string "thinvisor.key") out of the boot modules. */
void storage_take_key_module(void);
/* Ask for a passphrase if a mediated disk needs a key and there is none. */
void storage_need_key(void);
/* A mediated disk exists (mediators call this when they find one). */
void storage_disk_found(const char *disk, u64 sectors);

/* 0, or -EACCES with *why set (refused by policy, or no key). */
int storage_check(const char *disk, u64 lba, u64 count, bool write, const char **why);

/* No sector of the range is encrypted (data may go to the disk as it is). */
bool storage_is_plain(const char *disk, u64 lba, u64 count);

/* In place: guest data to disk data (write) or disk data to guest data (read). */
void storage_to_disk(const char *disk, u64 lba, u8 *buf, u64 count);
void storage_from_disk(const char *disk, u64 lba, u8 *buf, u64 count);

/* Forget the key (guest reset, shutdown, triple fault). */
void storage_wipe(void);

#endif
