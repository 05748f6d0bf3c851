/* SPDX-License-Identifier: MIT */
/*
 * thinvisor guest-visible ABI: CPUID signature, hypercalls, event numbers,
 * and the exit codes our test guests and panic path write to QEMU's
 * isa-debug-exit port.  Shared by the hypervisor and by test guests, so it
 * uses only fixed-width integer types and macros.
 *
 * Hypercalls: VMMCALL (AMD) or VMCALL (Intel), from CPL 0 only (CPL > 0
 * gets #UD).  In: RAX = function, RBX = argument.  Out: RAX = status,
 * RBX/RCX/RDX = results.  Every result fits in 32 bits or is split into
 * low (RBX) and high (RCX) halves, so 32-bit guests see everything.
 */
#ifndef TV_ABI_H
#define TV_ABI_H

/* CPUID leaf 0x40000000: EAX = highest leaf, EBX,ECX,EDX = "thinvisor\0\0\0". */
#define TV_CPUID_LEAF_SIG   0x40000000u
#define TV_CPUID_LEAF_MAX   0x40000001u
#define TV_CPUID_SIG_EBX    0x6e696874u /* "thin" */
#define TV_CPUID_SIG_ECX    0x6f736976u /* "viso" */
#define TV_CPUID_SIG_EDX    0x00000072u /* "r\0\0\0" */
/* CPUID leaf 0x40000001: EAX = TV_VERSION. */

#define TV_VERSION          0x00000001u /* major << 16 | minor: 0.1 */

/* Hypercall functions (RAX). */
#define TV_HC_VERSION       0 /* RBX = TV_VERSION, RCX = "thin", RDX = "viso" */
#define TV_HC_EXIT_COUNT    1 /* in RBX = event; RBX = count low, RCX = count high, RDX = TV_EV_COUNT */
#define TV_HC_HV_REGION     2 /* RBX = base, RCX = size of the hypervisor region (both < 4 GiB) */
#define TV_HC_SELFTEST      3 /* RBX = 1 if the hypervisor's code and read-only data are unchanged since boot,
                                 RCX = 1 if its page tables are read-only to itself (HyperSafe lockdown) */

/* Hypercall status (RAX on return). */
#define TV_OK               0
#define TV_ENOSYS           1 /* unknown function */
#define TV_EINVAL           2 /* bad argument */

/* Vendor-neutral events: every VM exit is counted under exactly one. */
#define TV_EV_CPUID         0
#define TV_EV_MSR_READ      1
#define TV_EV_MSR_WRITE     2
#define TV_EV_IO            3
#define TV_EV_HYPERCALL     4
#define TV_EV_NPF_MMIO      5  /* nested fault on unmapped MMIO, mapped on demand */
#define TV_EV_HVMEM         6  /* guest touched the hypervisor region: refused */
#define TV_EV_VIRT_INSN     7  /* guest ran an SVM/VMX instruction: #UD */
#define TV_EV_SMI           8
#define TV_EV_SHUTDOWN      9  /* triple fault */
#define TV_EV_INIT          10
#define TV_EV_EXCEPTION     11
#define TV_EV_INTR          12
#define TV_EV_OTHER         13
#define TV_EV_NMI           14 /* an NMI: thinvisor's own cross-CPU kick, or the guest's (re-injected) */
#define TV_EV_COUNT         15

/*
 * isa-debug-exit (port 0xf4): QEMU exits with status value * 2 + 1.
 * Test guests and the panic path also print a line on the serial console
 * ("TEST PASS: name", "TEST FAIL: name: why", "thinvisor: PANIC: ...") so
 * emulators without the device (Bochs) can be judged from the log.
 */
#define TV_DEBUG_EXIT_PORT  0xf4
#define TV_EXIT_PASS        0x10 /* QEMU status 33 */
#define TV_EXIT_FAIL        0x11 /* QEMU status 35 */
#define TV_EXIT_PANIC       0x20 /* QEMU status 65: hypervisor panic or fatal boot error */
#define TV_EXIT_GUEST_DEAD  0x21 /* QEMU status 67: guest triple-faulted */

#endif
