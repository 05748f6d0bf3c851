/* Emulating guest accesses to trapped MMIO ranges. */
#include "tv/gwalk.h"
#include "tv/hv.h"
#include "tv/iommu.h"
#include "tv/lib.h"
#include "tv/log.h"
#include "tv/mmio.h"
#include "tv/mmio_trap.h"



struct mmio_range {
	u64 base, len;
	u8 owner;
	u32 instance;
};

static struct mmio_range ranges[MMIO_RANGES];
static u32 nranges;

void pci_ecam_access(struct vcpu *v, u32 instance, u64 offset, u8 size, bool write, u64 *val);
void apic_access(struct vcpu *v, u32 instance, u64 offset, u8 size, bool write, u64 *val);
void ahci_access(struct vcpu *v, u32 instance, u64 offset, u8 size, bool write, u64 *val);
void nvme_access(struct vcpu *v, u32 instance, u64 offset, u8 size, bool write, u64 *val);
void iommu_access(struct vcpu *v, u32 instance, u64 offset, u8 size, bool write, u64 *val);

static const mmio_handler mmio_handlers[MMIO_OWNER_COUNT] = {
	[MMIO_ECAM] = pci_ecam_access,
	[MMIO_APIC] = apic_access,
	[MMIO_AHCI] = ahci_access,
	[MMIO_NVME] = nvme_access,
	[MMIO_IOMMU] = iommu_access,
};

int mmio_claim(u64 base, u64 len, enum mmio_owner owner, u32 instance)
{
	if (nranges == MMIO_RANGES || (base | len) & 0xFFF || in_hv_region(base, len))
		return -EINVAL;
	int rc = nested_change(base, len, false);
	if (rc)
		return rc;
	ranges[nranges++] = (struct mmio_range){ base, len, (u8)owner, instance };
	iommu_mmio_changed(base, len, true);	/* no device reaches it either */
	return 0;
}

bool mmio_range_at(u32 i, u64 *base, u64 *len)
{
	if (i >= nranges)
		return false;
	*base = ranges[i].base;
	*len = ranges[i].len;
	return true;
}

u32 mmio_range_owner(u32 i)
{
	return i < nranges ? ranges[i].owner : MMIO_OWNER_COUNT;
}

/* The device's registers moved (a BAR write): the trap follows them. */
int mmio_move(enum mmio_owner owner, u32 instance, u64 new_base)
{
	for (u32 i = 0; i < nranges; i++) {
		struct mmio_range *r = &ranges[i];
		if (r->owner != owner || r->instance != instance || r->base == new_base)
			continue;
		if ((new_base & 0xFFF) || in_hv_region(new_base, r->len))
			return -EINVAL;
		int rc = nested_change(new_base, r->len, false);
		if (rc)
			return rc;
		nested_change(r->base, r->len, true);	/* the old place is ordinary MMIO again */
		iommu_mmio_changed(new_base, r->len, true);
		iommu_mmio_changed(r->base, r->len, false);
		r->base = new_base;
	}
	return 0;
}

/* Read the guest's instruction bytes at CS:RIP through its page tables. */
static int fetch(const struct vcpu *v, u8 *buf, size_t *got)
{
	struct guest_paging pg = { v->cr0, v->cr3, v->cr4, v->efer };
	bool long64 = (v->efer & EFER_LMA) && (v->cs_ar & (1u << 13));
	u64 la = long64 ? v->rip : (v->cs_base + v->rip) & 0xFFFFFFFFull;

	*got = 0;
	while (*got < MMIO_INSN_MAX) {
		u64 gpa;
		if (gwalk(&hv.pm, &pg, la + *got, false, &gpa) || in_hv_region(gpa, 1))
			break;
		size_t n = MIN((size_t)MMIO_INSN_MAX - *got, (size_t)(4096 - (gpa & 0xFFF)));
		const u8 *p = phys_ptr(&hv.pm, gpa, n);
		if (!p)
			break;
		memcpy(buf + *got, p, n);
		*got += n;
	}
	return *got ? 0 : -EFAULT;
}

bool mmio_handle_npf(struct vcpu *v, u64 gpa)
{
	const struct mmio_range *r = NULL;

	for (u32 i = 0; i < nranges; i++)
		if (gpa >= ranges[i].base && gpa - ranges[i].base < ranges[i].len)
			r = &ranges[i];
	if (!r)
		return false;
	mmio_emulate(v, gpa, r->owner, r->instance, r->base);
	return true;
}

/* Decode the access at gpa, hand it to the owner's handler, complete the instruction. */
void mmio_emulate(struct vcpu *v, u64 gpa, u32 owner, u32 instance, u64 base)
{
	u8 code[MMIO_INSN_MAX];
	size_t got;
	struct mmio_insn in;
	int mode = ((v->efer & EFER_LMA) && (v->cs_ar & (1u << 13))) ? 64 : (v->cs_ar & (1u << 14)) ? 32 : 16;
	if (fetch(v, code, &got) || mmio_decode(code, got, mode, &in)) {
		log_warn("guest MMIO access at %lx by an instruction we do not emulate (rip %lx): #GP\n", gpa, v->rip);
		vcpu_inject(v, EXC_GP, true, 0);
		return;
	}
	u64 val = in.write ? mmio_store_value(v->gpr, &in) : 0;
	if (owner < MMIO_OWNER_COUNT)
		mmio_handlers[owner](v, instance, gpa - base, in.size, in.write, &val);
	if (!in.write)
		mmio_write_reg(v->gpr, &in, val);
	v->rip += in.len;
	if (!(v->efer & EFER_LMA))
		v->rip &= 0xFFFFFFFF;
}
