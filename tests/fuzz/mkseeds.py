#!/usr/bin/env python3
# Write the seed corpora, tests/fuzz/corpus/NAME/: a handful of small valid
# inputs per harness, in the input layout its comment describes.
#   python3 tests/fuzz/mkseeds.py   (rewrites every seed; they are checked in)
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def le(v, n):
    return (v & ((1 << (8 * n)) - 1)).to_bytes(n, "little")


def write(name, seed, data):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, seed), "wb") as f:
        f.write(data)


# --- DMA parsers: window at 0x1000, hypervisor at 1 MiB (1 MiB), RAM to 1 GiB ---

def dma(start=0x1000, hv_base=0x100000, hv_size=0x100000, ram_top=0x40000000):
    return le(start // 8, 2) + le(hv_base, 4) + le(hv_size, 4) + le(ram_top, 5)


def prd(base, count, last):
    return struct.pack("<IHH", base, count & 0xFFFF, 0x8000 if last else 0)


def seeds_prd():
    tail = le(0, 4) + le(1536, 3) + le(0, 1)
    table = prd(0x1100, 512, False) + prd(0x1400, 1024, True)
    write("fuzz_prd", "two-entries", dma() + le(0x1000, 8) + le(16, 2) + tail + table +
          bytes(0x800))
    write("fuzz_prd", "64k-entry", dma() + le(0x1000, 8) + le(8, 2) + le(0x10, 4) + le(4096, 3) +
          le(1, 1) + prd(0x20000, 0, True))
    write("fuzz_prd", "buffer-in-hv", dma() + le(0x1000, 8) + le(8, 2) + tail +
          prd(0x100000, 4096, True))
    write("fuzz_prd", "no-end", dma() + le(0x1000, 8) + le(4, 2) + tail +
          prd(0x2000, 512, False) * 4)


def seeds_prd_build():
    write("fuzz_prd_build", "one-page", le(8, 2) + le(4096, 4) + le(0, 1) + le(0x800, 2) +
          le(4096, 3))
    write("fuzz_prd_build", "crosses-64k", le(16, 2) + le(0x30000, 4) + le(1, 1) +
          le(0xFFF0, 8) + le(0x30000, 3))
    write("fuzz_prd_build", "three", le(32, 2) + le(0x2800, 4) +
          le(0, 1) + le(0x1000, 2) + le(0x1000, 3) +
          le(0, 1) + le(0x4000, 2) + le(0x800, 3) +
          le(1, 1) + le(0x7FFF0000, 8) + le(0x10000, 3))
    # Regression: an entry wrapping past 2^64 was taken for a low address.
    write("fuzz_prd_build", "regress-wrap", le(23, 2) + le(0x24FFCA, 4) + le(1, 1) +
          le(0xFFFFFFFFFFFF0158, 8) + le(0x79FFFE, 3))
    write("fuzz_prd_build", "too-many", le(2, 2) + le(0x30000, 4) + le(1, 1) + le(0x10000, 8) +
          le(0x30000, 3))


def ahci_entry(dba, nbytes):
    return struct.pack("<QII", dba, 0, (nbytes - 1) | 0x80000000)


def seeds_ahci_prdt():
    tail = le(0, 4) + le(8192, 3) + le(0, 1)
    cfis = bytes([0x27, 0x80, 0x25]) + bytes(0x7D)
    write("fuzz_ahci_prdt", "two-entries", dma() + le(0x1000, 8) + le(2, 2) + le(64, 2) + tail +
          cfis + ahci_entry(0x1200, 512) + ahci_entry(0x1400, 0x400))
    write("fuzz_ahci_prdt", "4m-entry", dma() + le(0x1000, 8) + le(1, 2) + le(64, 2) + tail +
          cfis + ahci_entry(0x800000, 0x400000))
    write("fuzz_ahci_prdt", "into-hv", dma() + le(0x1000, 8) + le(1, 2) + le(64, 2) + tail +
          cfis + ahci_entry(0xFF000, 0x2000))
    write("fuzz_ahci_prdt", "too-long", dma() + le(0x1000, 8) + le(9, 2) + le(8, 2) + tail + cfis)


def seeds_nvme_prp():
    def nv(prp1, prp2, nbytes, maxn=64, start=0x1000):
        return dma(start=start) + le(prp1, 8) + le(prp2, 8) + le(nbytes, 3) + le(0, 1) + le(maxn, 2)
    write("fuzz_nvme_prp", "one-page", nv(0x20200, 0, 512))
    write("fuzz_nvme_prp", "two-pages", nv(0x20000, 0x31000, 8192))
    lst = b"".join(le(p, 8) for p in (0x11000, 0x12000, 0x13000))
    write("fuzz_nvme_prp", "list", nv(0x10000, 0x1000, 4 * 4096) + lst)
    # A list from 0x1ff0: one entry, then the chain pointer in the page's last slot.
    chain = bytes(0xF0) + le(0x11000, 8) + le(0x2000, 8) + le(0x12000, 8) + le(0x13000, 8)
    write("fuzz_nvme_prp", "chained-list", nv(0x10000, 0x1FF0, 4 * 4096, start=0x1F00) + chain)
    # Regression: the last slot aimed at itself walked forever.
    loop = bytes(0xF0) + le(0x11000, 8) + le(0x1FF8, 8)
    write("fuzz_nvme_prp", "regress-chain-loop", nv(0x10000, 0x1FF0, 4 * 4096, start=0x1F00) + loop)


def seeds_ata_cmd():
    def tf(cmd, cur, prev, dev):
        return bytes([cmd]) + bytes(cur) + bytes(prev) + bytes([dev])
    write("fuzz_ata_cmd", "read-dma-ext", tf(0x25, [0, 8, 8, 0x10, 0x20, 0x30], [0, 0, 1, 0, 0, 0], 0x40))
    write("fuzz_ata_cmd", "read-sectors", tf(0x20, [0, 1, 0, 0x12, 0x34, 0x56], [0] * 6, 0xE7))
    write("fuzz_ata_cmd", "identify", tf(0xEC, [0] * 6, [0] * 6, 0xA0))
    write("fuzz_ata_cmd", "chs", tf(0xCA, [0, 1, 1, 0, 0, 0], [0] * 6, 0xA0))


def seeds_mmio_decode():
    def insn(mode, code):
        modes = {16: 0, 32: 1, 64: 2}
        return bytes([modes[mode]]) + le(0x0123456789ABCDEF, 8) + le(0xFEDCBA9876543210, 8) + bytes(code)
    write("fuzz_mmio_decode", "mov-load", insn(64, [0x8B, 0x47, 0x10]))
    write("fuzz_mmio_decode", "mov-store", insn(64, [0x89, 0x0A]))
    write("fuzz_mmio_decode", "rex-w-load", insn(64, [0x48, 0x8B, 0x07]))
    write("fuzz_mmio_decode", "movzx", insn(64, [0x44, 0x0F, 0xB6, 0x06]))
    write("fuzz_mmio_decode", "movsx-word", insn(32, [0x0F, 0xBF, 0x43, 0x08]))
    write("fuzz_mmio_decode", "store-imm32", insn(64, [0xC7, 0x40, 0x14, 0x78, 0x56, 0x34, 0x12]))
    write("fuzz_mmio_decode", "moffs", insn(64, [0xA1, 0, 0, 0xE0, 0xFE, 0, 0, 0, 0]))
    write("fuzz_mmio_decode", "sib-disp32", insn(32, [0x8B, 0x04, 0x8D, 0x00, 0x10, 0x00, 0x00]))
    write("fuzz_mmio_decode", "16bit-high8", insn(16, [0x26, 0x8A, 0x27]))
    write("fuzz_mmio_decode", "16bit-opsize", insn(16, [0x66, 0x89, 0x87, 0x34, 0x12]))


def seeds_pci_cfg():
    def bar(kind, lg, init):
        return bytes([kind, lg]) + le(init, 4)

    def win(hv=0x3E000000, hv_size=64 << 20, ecam=0xB0000000):
        return le(hv >> 21, 2) + le((hv_size >> 21) - 1, 1) + le(ecam >> 28, 1)

    def port(reg, size, val):
        return bytes([{1: 0, 2: 2, 4: 4}[size], reg]) + le(val, 8)

    def ecam(reg, size, val):
        return bytes([1 | {1: 0, 2: 2, 4: 4, 8: 6}[size], reg]) + le(val, 8)

    dev = (bytes([0]) + bar(2, 8, 0xFEBF0000) + bar(1, 3, 0xC001) + bar(3, 16, 0xFE000004) +
           bar(0, 0, 0) + bar(0, 0, 0) + bar(0, 0, 0) + bar(1, 5, 0))
    write("fuzz_pci_cfg", "linux-sizing", dev + win() +
          port(0x04, 2, 0x0000) + port(0x10, 4, 0xFFFFFFFF) + port(0x10, 4, 0xFEBF0000) +
          port(0x18, 4, 0xFFFFFFFF) + port(0x1C, 4, 0xFFFFFFFF) + port(0x18, 4, 0xFE000004) +
          port(0x1C, 4, 0) + port(0x30, 4, 0xFFFFF800) + port(0x30, 4, 0xFEB80001) +
          port(0x04, 2, 0x0007))
    write("fuzz_pci_cfg", "move-refused", dev + win() + port(0x10, 4, 0x3E100000) +
          port(0x10, 4, 0xFEE00000) + port(0x10, 4, 0xB0001000) + port(0x10, 4, 0xFEA00000))
    write("fuzz_pci_cfg", "ecam-writes", dev + win() + ecam(0x04, 2, 0x0006) +
          ecam(0x18, 8, 0x00000001FE000004) + ecam(0x10, 4, 0xFEA00000) + ecam(0x3C, 1, 0x0B))
    # Regressions: bytes 2-3 of BAR 0 over the hypervisor; a 16 MiB BAR written
    # off its alignment, over the APIC; the upper half of a 64-bit BAR at
    # 0x1_3e100000 cleared, dropping it onto the hypervisor.
    write("fuzz_pci_cfg", "regress-partial", dev + win() + port(0x12, 2, 0x3E00) + port(0x13, 1, 0x3E))
    big = (bytes([0]) + bar(2, 20, 0xFC000000) + bar(0, 0, 0) * 5 + bar(0, 0, 0))
    write("fuzz_pci_cfg", "regress-unaligned", big + win() + port(0x10, 4, 0xFEFFFFFF))
    high = (bytes([0]) + bar(0, 0, 0) * 2 + bar(3, 16, 0x3E100004) + bar(0, 0, 1) + bar(0, 0, 0) * 2 +
            bar(0, 0, 0))
    write("fuzz_pci_cfg", "regress-upper-half", high + win() + port(0x1C, 4, 0))
    # Regression: the lower half of a 64-bit BAR at 0x1_e0000000 written 0,
    # checked as if at 0 (unassigned), put it over a window reaching past 4 GiB.
    high2 = (bytes([0]) + bar(0, 0, 0) * 2 + bar(3, 16, 0xE0000004) + bar(0, 0, 1) + bar(0, 0, 0) * 2 +
             bar(0, 0, 0))
    write("fuzz_pci_cfg", "regress-lower-half", high2 + win(hv=0xFF000000, hv_size=128 << 20) +
          port(0x18, 4, 0x00000004))
    bridge = (bytes([1]) + bar(2, 16, 0xFE800000) + bar(0, 0, 0) + bar(0, 0, 0) + bar(0, 0, 0) +
              bar(0, 0, 0) + bar(0, 0, 0) + bar(1, 0, 0))
    write("fuzz_pci_cfg", "bridge", bridge + win(ecam=0) + port(0x18, 4, 0x00020100) +
          port(0x38, 4, 0xFFFFF800) + port(0x38, 4, 0xFE900001) + port(0x10, 4, 0xFE800000))


def seeds_cmdline():
    def line(loader, errlen, s):
        return bytes([loader, errlen]) + s.encode()
    write("fuzz_cmdline", "qemu", line(2, 160, "thinvisor.elf console=com1 hvmem=64M"))
    write("fuzz_cmdline", "grub-all", line(1, 160, "debug hvmem=128M console=com2 "
          "storage.policy=ide0.0:0-2047:readonly,*:2048-:encrypt storage.salt=00112233aabbccdd "
          "storage.iter=1000 storage.keysize=256"))
    write("fuzz_cmdline", "none", line(0, 64, "  hvmem=2G\tconsole=none storage.policy=nvme1:*:plain"))
    write("fuzz_cmdline", "bad-size", line(1, 32, "hvmem=15M"))
    write("fuzz_cmdline", "unknown", line(1, 0, "console=com1 quiet"))


def seeds_policy():
    def pol(pre, disk, errlen, lba, count, s):
        return bytes([pre, disk, errlen]) + le(lba, 8) + le(count, 8) + s.encode()
    write("fuzz_policy", "readonly-boot", pol(0, 0, 160, 100, 4096, "ide0.0:0-2047:readonly"))
    write("fuzz_policy", "several", pol(0, 2, 160, 95, 16,
          "*:*:plain,ahci0:100-:deny,nvme1:5-9:encrypt,ide1.1:7-7:readonly"))
    write("fuzz_policy", "open-end", pol(3, 4, 80, 1 << 40, 1 << 20, "nvme1:1099511627776-:deny"))
    write("fuzz_policy", "bad-rule", pol(0, 0, 40, 0, 1, "ide2.0:0-1:plain"))
    write("fuzz_policy", "full", pol(31, 5, 160, 0, 8, "*:0-7:deny,*:8-:plain"))


def seeds_bootinfo():
    base = 0x1000

    def hdr(magic, start_pages, off):
        return bytes([magic, start_pages]) + le(off, 2)

    # Multiboot 1: info at 0x1000, modules at +0x60, map at +0x80, strings from +0xC0.
    info = bytearray(0x100)
    flags = 1 | 4 | 8 | 64 | 512
    struct.pack_into("<III", info, 0, flags, 639, 0x3FC00)
    struct.pack_into("<I", info, 16, base + 0xC0)
    struct.pack_into("<II", info, 20, 1, base + 0x60)
    struct.pack_into("<II", info, 44, 48, base + 0x80)
    struct.pack_into("<I", info, 64, base + 0xE0)
    struct.pack_into("<IIII", info, 0x60, 0x200000, 0x300000, base + 0xF0, 0)
    struct.pack_into("<IQQI", info, 0x80, 20, 0, 0x9FC00, 1)
    struct.pack_into("<IQQI", info, 0x98, 20, 0x100000, 0x3FF00000, 1)
    info[0xC0:0xC0 + 20] = b"thinvisor.elf hvmem\0"
    info[0xE0:0xE0 + 5] = b"QEMU\0"
    info[0xF0:0xF0 + 7] = b"initrd\0"
    write("fuzz_bootinfo", "mb1", hdr(0, 1, 0) + bytes(info))
    # Multiboot 1 without a map: the two basic sizes.
    write("fuzz_bootinfo", "mb1-meminfo", hdr(0, 1, 0) + struct.pack("<III", 1, 639, 0x3FC00) +
          bytes(76))

    # Multiboot 2: cmdline, loader, module, meminfo, mmap, end.
    def tag(t, payload):
        b = struct.pack("<II", t, 8 + len(payload)) + payload
        return b + bytes(-len(b) % 8)
    tags = (tag(1, b"hvmem=64M debug\0") + tag(2, b"GRUB 2.06\0") +
            tag(3, struct.pack("<II", 0x200000, 0x280000) + b"linux console=ttyS0\0") +
            tag(4, struct.pack("<II", 639, 0x3FC00)) +
            tag(6, struct.pack("<II", 24, 0) + struct.pack("<QQII", 0, 0x9FC00, 1, 0) +
                struct.pack("<QQII", 0xF0000, 0x10000, 2, 0) +
                struct.pack("<QQII", 0x100000, 0x3FF00000, 1, 0)) +
            tag(0, b""))
    write("fuzz_bootinfo", "mb2", hdr(1, 1, 0) + struct.pack("<II", 8 + len(tags), 0) + tags)
    write("fuzz_bootinfo", "bad-magic", hdr(2, 1, 0) + bytes(16))
    # Regression: a map whose only entry starts at 2^64 - 1 was accepted, empty.
    top = bytearray(0x70)
    struct.pack_into("<I", top, 0, 64)
    struct.pack_into("<II", top, 44, 24, base + 0x58)
    struct.pack_into("<IQQI", top, 0x58, 20, 0xFFFFFFFFFFFFFFFF, 0x1000, 1)
    write("fuzz_bootinfo", "regress-top-entry", hdr(0, 1, 0) + bytes(top))


def seeds_memmap():
    def small(t, base_pg, len_pg):
        return bytes([t]) + le(base_pg, 2) + le(len_pg, 2)

    def raw(t, base, ln):
        return bytes([t | 8]) + le(base, 8) + le(ln, 8)
    search = le(0x100000, 4) + bytes([21, 21])   # below 4 GiB, 2 MiB, 2 MiB aligned
    qemu = [small(1, 0, 0x9F), small(2, 0x9F, 1), small(2, 0xF0, 0x10), small(1, 0x100, 0x7EE0),
            small(2, 0x7FE0, 0x20), raw(2, 0xFFFC0000, 0x40000)]
    write("fuzz_memmap", "qemu", bytes([len(qemu)]) + b"".join(qemu) + small(2, 0x7C00, 0x400) + search)
    over = [small(1, 0x100, 0x1000), small(3, 0x800, 0x10), small(4, 0x7F0, 0x20), small(1, 0x1100, 0x100)]
    write("fuzz_memmap", "overlaps", bytes([len(over)]) + b"".join(over) + small(1, 0x7F8, 0x4) +
          le(0x2000, 4) + bytes([12, 16]))
    # Regression: a set range wrapping past 2^64 left the old entries inside it.
    write("fuzz_memmap", "regress-set-wrap", bytes([2]) + small(1, 0, 0x100) + small(5, 0x100, 0x1000) +
          raw(2, 0x100, 0xFFFFFFFFFFFFFF10) + le(0x100000, 4) + bytes([12, 12]))
    top = [raw(1, 0x100000000, 0x40000000), raw(2, 0xFFFFFFFFFFFFF000, 0x2000)]
    write("fuzz_memmap", "high", bytes([len(top)]) + b"".join(top) + raw(1, 0x120000000, 0x1000) +
          le(0xFFFFFFFF, 4) + bytes([30, 30]))


def seeds_gwalk():
    def walk(bits, start_pages, cr3, gva, mem):
        return bytes([bits, start_pages]) + le(cr3, 8) + le(gva, 8) + mem
    PG, WP, PAE, PSE, LMA, LA57 = 1, 2, 4, 8, 16, 32
    # Tables share the page at 0x1000 (each level finds the next at 0x1000 again).
    write("fuzz_gwalk", "two-level", walk(PG | WP, 1, 0x1000, 0x1123, le(0x1003, 4) + le(0x7003, 4)))
    write("fuzz_gwalk", "pse-4m", walk(PG | PSE, 1, 0x1000, 0x400123, le(0, 4) + le(0x00402083, 4)))
    write("fuzz_gwalk", "pae", walk(PG | WP | PAE, 1, 0x1000, (1 << 21) | (2 << 12) | 0x45,
          le(0x1001, 8) + le(0x1003, 8) + le(0x9003, 8)))
    write("fuzz_gwalk", "long-4k", walk(PG | WP | PAE | LMA, 1, 0x1000,
          (1 << 30) | (2 << 21) | (3 << 12) | 0x67,
          le(0x1003, 8) + le(0x1003, 8) + le(0x1003, 8) + le(0xA003, 8)))
    write("fuzz_gwalk", "long-2m", walk(PG | PAE | LMA, 1, 0x1000, (1 << 30) | (2 << 21) | 0x12345,
          le(0x1003, 8) + le(0x1003, 8) + le(0x40000083, 8)))
    write("fuzz_gwalk", "la57", walk(PG | PAE | LMA | LA57, 1, 0x1000, 0x1000 | 0x89,
          le(0x1003, 8) + le(0xB003, 8)))
    write("fuzz_gwalk", "paging-off", walk(0, 0, 0, 0x12345678, b""))


def seeds_guest_load():
    def hdr(sel, clen, initrd_pa=0, initrd_len=0):
        return bytes([sel, clen]) + le(initrd_pa, 4) + le(initrd_len, 4)

    # A bzImage: one setup sector after the boot sector, protocol 2.15, 64-bit entry.
    bz = bytearray(0x1200)
    bz[0x1F1] = 1
    bz[0x1FE:0x200] = b"\x55\xaa"
    bz[0x201] = 0x66
    bz[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", bz, 0x206, 0x020F)
    bz[0x211] = 1
    struct.pack_into("<I", bz, 0x22C, 0x37FFFFFF)
    struct.pack_into("<I", bz, 0x230, 0x200000)
    bz[0x234] = 1
    struct.pack_into("<H", bz, 0x236, 3)
    struct.pack_into("<I", bz, 0x238, 2047)
    struct.pack_into("<Q", bz, 0x258, 0x200000)
    struct.pack_into("<I", bz, 0x260, 0x300000)
    write("fuzz_guest_load", "bzimage", hdr(0, 40, 0x600000, 0x1000) + bytes(bz))
    # Regression: a preferred address near 2^64 wrapped, and the kernel went to 0.
    struct.pack_into("<Q", bz, 0x258, 0xFFFFFFFFFFFF0000)
    struct.pack_into("<I", bz, 0x260, 0x1000)
    write("fuzz_guest_load", "regress-pref-wrap", hdr(0, 40) + bytes(bz))

    def mb_header(flags, extra=b""):
        return struct.pack("<III", 0x1BADB002, flags, (-(0x1BADB002 + flags)) & 0xFFFFFFFF) + extra

    # ELF32 with one PT_LOAD at 1 MiB (bss to 8 KiB), the multiboot header at 0x60.
    elf = bytearray(0x100)
    elf[0:7] = b"\x7fELF\x01\x01\x01"
    struct.pack_into("<HHIIIIIHHHHHH", elf, 16, 2, 3, 1, 0x100010, 52, 0, 0, 52, 32, 1, 0, 0, 0)
    struct.pack_into("<IIIIIIII", elf, 52, 1, 0, 0x100000, 0x100000, 0x100, 0x2000, 7, 0x1000)
    elf[0x60:0x6C] = mb_header(3)
    write("fuzz_guest_load", "multiboot-elf", hdr(1 | 2 << 1, 20) + bytes(elf))
    # a.out kludge: load addresses in the header.
    aout = bytearray(0x200)
    aout[0:32] = mb_header(0x10003, struct.pack("<IIIII", 0x100000, 0x100000, 0x100200, 0x101000, 0x100020))
    write("fuzz_guest_load", "multiboot-aout", hdr(1, 0) + bytes(aout))
    write("fuzz_guest_load", "multiboot-too-many-modules", hdr(1 | 17 << 1, 8) + bytes(elf))


for f in (seeds_prd, seeds_prd_build, seeds_ahci_prdt, seeds_nvme_prp, seeds_ata_cmd,
          seeds_mmio_decode, seeds_pci_cfg, seeds_cmdline, seeds_policy, seeds_bootinfo,
          seeds_memmap, seeds_gwalk, seeds_guest_load):
    f()
