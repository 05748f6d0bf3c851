/* Platform ports: nothing claimed yet (ACPI sleep and reset guards come with issue 7). */
#include "tv/io.h"

void platform_io(struct vcpu *v, u32 instance, u16 port, u8 size, bool in, void *data, u32 count)
{
	(void)v;
	(void)instance;
	io_passthrough(port, size, in, data, count);
}
