/* Port I/O interception and emulation of IN/OUT/INS/OUTS. */
#include "tv/cpu.h"
#include "tv/gwalk.h"
#include "tv/hv.h"
#include "tv/io.h"
#include "tv/lib.h"
#include "tv/log.h"

#define IO_RANGES_MAX 32

struct io_range {
	u16 base, len;
	u8 owner;
	u32 instance;
};

static struct io_range ranges[IO_RANGES_MAX];
static u32 nranges;

void pci_io(struct vcpu *v, u32 instance, u16 port, u8 size, bool in, void *data, u32 count);
void ata_io(struct vcpu *v, u32 instance, u16 port, u8 size, bool in, void *data, u32 count);
void platform_io(struct vcpu *v, u32 instance, u16 port, u8 size, bool in, void *data, u32 count);

static const io_handler io_handlers[IO_OWNER_COUNT] = {
	[IO_PCI] = pci_io,
	[IO_ATA] = ata_io,
	[IO_PLATFORM] = platform_io,
};

static void set_bits(u16 base, u32 len, bool on)
{
	for (u32 p = base; p < (u32)base + len && p < 0x10000; p++) {
		if (on)
			hv.iobitmap[p / 8] |= (u8)(1u << (p % 8));
		else
			hv.iobitmap[p / 8] &= (u8)~(1u << (p % 8));
	}
}

void io_init(void)
{
	hv.iobitmap_pa = hv_alloc(3, "the I/O bitmap");
	hv.iobitmap = pool_va(&hv.pool, hv.iobitmap_pa);
}

int io_claim(u16 base, u16 len, enum io_owner owner, u32 instance)
{
	for (u32 i = 0; i < nranges; i++)
		if (ranges_overlap(ranges[i].base, ranges[i].len, base, len))
			return -EEXIST;
	if (nranges == IO_RANGES_MAX)
		return -ENOMEM;
	ranges[nranges++] = (struct io_range){ base, len, (u8)owner, instance };
	set_bits(base, len, true);
	return 0;
}

void io_release(enum io_owner owner, u32 instance)
{
	for (u32 i = 0; i < nranges;) {
		if (ranges[i].owner == owner && ranges[i].instance == instance) {
			set_bits(ranges[i].base, ranges[i].len, false);
			ranges[i] = ranges[--nranges];
		} else {
			i++;
		}
	}
}

void io_passthrough(u16 port, u8 size, bool in, void *data, u32 count)
{
	u8 *p = data;

	for (u32 i = 0; i < count; i++, p += size) {
		switch (size) {
		case 1:
			if (in)
				__asm__ volatile("inb %1, %0" : "=a"(*p) : "Nd"(port));
			else
				__asm__ volatile("outb %0, %1" : : "a"(*p), "Nd"(port));
			break;
		case 2:
			if (in)
				__asm__ volatile("inw %1, %0" : "=a"(*(u16 *)p) : "Nd"(port));
			else
				__asm__ volatile("outw %0, %1" : : "a"(*(u16 *)p), "Nd"(port));
			break;
		default:
			if (in)
				__asm__ volatile("inl %1, %0" : "=a"(*(u32 *)p) : "Nd"(port));
			else
				__asm__ volatile("outl %0, %1" : : "a"(*(u32 *)p), "Nd"(port));
		}
	}
}

static void dispatch(struct vcpu *v, u16 port, u8 size, bool in, void *data, u32 count)
{
	for (u32 i = 0; i < nranges; i++)
		if (port >= ranges[i].base && port - ranges[i].base < ranges[i].len &&
		    ranges[i].owner < IO_OWNER_COUNT) {
			io_handlers[ranges[i].owner](v, ranges[i].instance, port, size, in, data, count);
			return;
		}
	io_passthrough(port, size, in, data, count);
}

/* Where a string instruction's elements are: guest memory, validated. */
static void *string_buffer(struct vcpu *v, u64 la, u32 bytes, bool to_guest)
{
	struct guest_paging pg = { v->cr0, v->cr3, v->cr4, v->efer };
	u64 gpa;

	if (gwalk(&hv.pm, &pg, la, to_guest, &gpa) || in_hv_region(gpa, bytes))
		return NULL;
	return phys_ptr(&hv.pm, gpa, bytes);
}

static void string_io(struct vcpu *v)
{
	const struct vm_exit *e = &v->exit;
	u8 size = e->io.size;
	u64 amask = e->io.addr_size == 8 ? ~0ull : e->io.addr_size == 4 ? 0xFFFFFFFFull : 0xFFFF;
	int reg = e->io.in ? R_DI : R_SI;
	bool down = v->rflags & (1u << 10);
	u64 count = e->io.rep ? v->gpr[R_CX] & amask : 1;

	while (count) {
		u64 la = e->io.seg_base + (v->gpr[reg] & amask);
		/* As many elements as stay in this guest page (one if going down). */
		u64 n = down ? 1 : MIN(count, (4096 - (la & 0xFFF)) / size);
		u8 tmp[4];
		void *buf = n ? string_buffer(v, la, (u32)(n * size), e->io.in) : NULL;
		if (n == 0) {	/* one element straddles two pages: bounce it */
			n = 1;
			buf = tmp;
			if (!e->io.in)
				for (u32 b = 0; b < size; b++) {
					u8 *p = string_buffer(v, la + b, 1, false);
					if (!p)
						goto fault;
					tmp[b] = *p;
				}
		}
		if (!buf)
			goto fault;
		dispatch(v, e->io.port, size, e->io.in, buf, (u32)n);
		if (buf == tmp && e->io.in)
			for (u32 b = 0; b < size; b++) {
				u8 *p = string_buffer(v, la + b, 1, true);
				if (!p)
					goto fault;
				*p = tmp[b];
			}
		u64 delta = n * size;
		v->gpr[reg] = (v->gpr[reg] & ~amask) | ((down ? v->gpr[reg] - delta : v->gpr[reg] + delta) & amask);
		count -= n;
		if (e->io.rep)
			v->gpr[R_CX] = (v->gpr[R_CX] & ~amask) | (count & amask);
	}
	v->rip += e->insn_len;
	return;
fault:
	/* Unmapped, or aimed at the hypervisor: the instruction stops with #GP. */
	log_warn("guest string I/O on port %x with a bad buffer at %lx refused\n", e->io.port,
		 e->io.seg_base + (v->gpr[reg] & amask));
	vcpu_inject(v, EXC_GP, true, 0);
}

void io_handle_exit(struct vcpu *v)
{
	const struct vm_exit *e = &v->exit;

	if (e->io.str) {
		string_io(v);
		return;
	}
	u32 val = (u32)v->gpr[R_AX];
	dispatch(v, e->io.port, e->io.size, e->io.in, &val, 1);
	if (e->io.in) {
		u64 mask = e->io.size == 4 ? ~0ull : (1ull << (8 * e->io.size)) - 1;
		v->gpr[R_AX] = (v->gpr[R_AX] & ~mask) | (val & mask);
	}
	v->rip += e->insn_len;
	if (!(v->efer & EFER_LMA))
		v->rip &= 0xFFFFFFFF;
}
