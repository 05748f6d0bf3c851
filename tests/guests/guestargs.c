/* SPDX-License-Identifier: MIT */
/*
 * guestargs: the guest's command line must be exactly "hello world".
 * Proves that the module string given to thinvisor arrives as the guest's
 * multiboot command line.  A leading image name (QEMU's -kernel and GRUB
 * legacy put one there) is ignored, see mb_args().
 */
#include "tg.h"

const char test_name[] = "guestargs";

void test_main(void)
{
	const char *raw = mb_cmdline();
	const char *args = mb_args();

	printf("guestargs: raw command line: \"%s\"\n", raw ? raw : "(none)");
	printf("guestargs: arguments:        \"%s\"\n", args);
	if (!raw)
		fail(test_name, "no command line (multiboot flags %08x lack bit 2)",
		     mb->flags);
	if (strcmp(args, "hello world"))
		fail(test_name, "arguments are \"%s\", expected \"hello world\"", args);
	pass(test_name);
}
