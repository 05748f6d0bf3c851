#!/usr/bin/env bash
# Build-time checks on build/thinvisor.elf:
#  - the flat image a multiboot loader reads (from the file offset implied by
#    the header's load addresses) is byte-identical to the linked sections;
#  - no section is both writable and executable (W^X).
set -euo pipefail
elf=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

objcopy -O binary --remove-section=.bss "$elf" "$tmp/flat.bin"
# Find the multiboot 1 header in the first 8 KiB of the file.
read -r off header_addr load_addr load_end < <(python3 - "$elf" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read(8192)
for off in range(0, len(d) - 32, 4):
    magic, flags, csum = struct.unpack_from('<III', d, off)
    if magic == 0x1BADB002 and (magic + flags + csum) & 0xffffffff == 0:
        h, la, le = struct.unpack_from('<III', d, off + 12)
        print(off, h, la, le)
        break
else:
    sys.exit("no multiboot header in the first 8 KiB")
PY
)
start=$((off - (header_addr - load_addr)))
len=$((load_end - load_addr))
dd if="$elf" of="$tmp/file.bin" bs=1 skip="$start" count="$len" status=none 2>/dev/null ||
	dd if="$elf" of="$tmp/file.bin" iflag=skip_bytes,count_bytes skip="$start" count="$len" status=none
head -c "$len" "$tmp/flat.bin" > "$tmp/flat.cut"
if ! cmp -s "$tmp/flat.cut" "$tmp/file.bin"; then
	echo "check-image: the loader's view of $elf differs from its sections" >&2
	exit 1
fi
if readelf -lW "$elf" | awk '/LOAD/ && $7 ~ /W/ && $7 ~ /E/ { bad = 1 } END { exit !bad }'; then
	echo "check-image: a segment of $elf is both writable and executable" >&2
	exit 1
fi

# No writable function pointers (HyperSafe's restricted pointer indexing):
# no 8-byte word in .data may hold an address inside .text; function tables
# must be const (.rodata).  (.bss is all zeros in the image by definition.)
python3 - "$elf" <<'PY'
import struct, subprocess, sys
elf = sys.argv[1]
syms = {}
for line in subprocess.run(["nm", elf], capture_output=True, text=True, check=True).stdout.split("\n"):
    parts = line.split()
    if len(parts) == 3:
        syms[parts[2]] = int(parts[0], 16)
text = (syms["_text_start"], syms["_text_end"])
out = subprocess.run(["readelf", "-SW", elf], capture_output=True, text=True, check=True).stdout
data = open(elf, "rb").read()
bad = []
for line in out.split("\n"):
    f = line.replace("[ ", "[").split()
    if len(f) > 6 and f[1] == ".data":
        addr, off, size = int(f[3], 16), int(f[4], 16), int(f[5], 16)
        for i in range(0, size - 7, 8):
            (v,) = struct.unpack_from("<Q", data, off + i)
            if text[0] <= v < text[1]:
                bad.append(addr + i)
if bad:
    names = subprocess.run(["addr2line", "-f", "-e", elf] + [hex(a) for a in bad[:5]],
                           capture_output=True, text=True).stdout.split()
    sys.exit("check-image: writable function pointer(s) in .data at " +
             ", ".join(hex(a) for a in bad[:5]) + " " + " ".join(names[::2]))
PY

# The stack canary must be the global one: a TLS canary (%gs:0x28) would
# fault in the hypervisor, which has no GS base of its own.
if objdump -d "$elf" | grep -q '%gs:0x28'; then
	echo "check-image: code reads a TLS stack canary (%gs:0x28): build it with the global guard" >&2
	exit 1
fi
