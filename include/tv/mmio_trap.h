/*
 * Trapping guest-physical MMIO ranges: the nested table leaves them
 * unmapped, and a guest access is emulated (instruction decoded by
 * dev/mmio_decode.c) and handed to the range's owner.
 */
#ifndef TV_MMIO_TRAP_H
#define TV_MMIO_TRAP_H

#include "tv/vcpu.h"

#define MMIO_RANGES 16	/* trapped ranges at most */

enum mmio_owner { MMIO_ECAM, MMIO_APIC, MMIO_AHCI, MMIO_NVME, MMIO_IOMMU, MMIO_OWNER_COUNT };

typedef void (*mmio_handler)(struct vcpu *v, u32 instance, u64 offset, u8 size, bool write, u64 *val);

int mmio_claim(u64 base, u64 len, enum mmio_owner owner, u32 instance);
int mmio_move(enum mmio_owner owner, u32 instance, u64 new_base);
u32 mmio_range_owner(u32 i);	/* owner of the i-th trapped range (MMIO_OWNER_COUNT: none) */
/* Emulate the access if gpa is in a claimed range: true if handled. */
bool mmio_handle_npf(struct vcpu *v, u64 gpa);
void mmio_emulate(struct vcpu *v, u64 gpa, u32 owner, u32 instance, u64 base);
/* The local APIC's page, without the exit lock (its registers are per CPU): false if not that. */
bool apic_fast_npf(struct vcpu *v, u64 gpa);

#endif
