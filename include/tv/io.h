/*
 * Port I/O interception.  One bitmap (a bit per port, set = intercept) is
 * shared by every CPU and both vendors: SVM's IOPM is it, VMX's bitmaps A
 * and B are its two halves.  Ports are claimed in ranges by an owner; the
 * core emulates IN/OUT and string I/O and hands the owner whole blocks.
 */
#ifndef TV_IO_H
#define TV_IO_H

#include "tv/vcpu.h"

enum io_owner { IO_PCI, IO_ATA, IO_PLATFORM, IO_OWNER_COUNT };

/*
 * An owner's handler: 'count' elements of 'size' bytes at data, read from
 * the port (in) or written to it.  It runs between two guest instructions.
 */
typedef void (*io_handler)(struct vcpu *v, u32 instance, u16 port, u8 size, bool in, void *data,
			   u32 count);

void io_init(void);
int io_claim(u16 base, u16 len, enum io_owner owner, u32 instance);
void io_release(enum io_owner owner, u32 instance);
void io_handle_exit(struct vcpu *v);

/* The hypervisor's own port I/O, for passing a guest access through. */
void io_passthrough(u16 port, u8 size, bool in, void *data, u32 count);

#endif
