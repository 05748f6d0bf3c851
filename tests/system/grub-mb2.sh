#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Boot thinvisor the way real machines do: from a GRUB rescue ISO, once
# with GRUB's multiboot2 commands and once with its multiboot (v1) ones,
# the cpuid test guest as the module.  Each case passes iff QEMU exits with
# status 33 and the serial log has "TEST PASS: cpuid".
#
#   tests/system/grub-mb2.sh [--cpu MODEL]
#
# Needs grub-mkrescue (grub-pc-bin, grub-common), xorriso and mtools.
# Output: build/test-logs/grub-mb{2,1}.{iso,log,qemu,mkrescue}; prints
# "PASS name [cpu]" / "FAIL name [cpu] (status N)" per case and ends with
# "N passed, N failed"; exits 1 if any failed.
#
# Environment: BUILD, THINVISOR, QEMU, TV_TIMEOUT as for run.sh.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2

BUILD=${BUILD:-build}
HV=${THINVISOR:-$BUILD/thinvisor.elf}
QEMU=${QEMU:-qemu-system-x86_64}
TIMEOUT=${TV_TIMEOUT:-120}
LOGDIR=$BUILD/test-logs
GUEST=$BUILD/guests/cpuid.elf
CPU="qemu64,+svm,+npt"

while [ $# -gt 0 ]; do
	case $1 in
	--cpu) [ $# -ge 2 ] || { echo "usage: $0 [--cpu MODEL]" >&2; exit 2; }; CPU=$2; shift 2 ;;
	--cpu=*) CPU=${1#--cpu=}; shift ;;
	-h|--help) sed -n '3,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "usage: $0 [--cpu MODEL]" >&2; exit 2 ;;
	esac
done

for tool in grub-mkrescue xorriso "$QEMU"; do
	command -v "$tool" >/dev/null || { echo "grub-mb2.sh: $tool not found" >&2; exit 2; }
done
for f in "$HV" "$GUEST"; do
	[ -f "$f" ] || { echo "grub-mb2.sh: $f not found: build it first" >&2; exit 2; }
done
mkdir -p "$LOGDIR" || exit 2

# grub_cfg KERNEL-CMD MODULE-CMD: the whole configuration.  GRUB also
# writes to COM1 so its errors end up in the log; if loading fails, it
# says so and powers off instead of sitting at a prompt until the timeout.
grub_cfg() {
	cat <<EOF
set timeout=0
serial --unit=0 --speed=115200
terminal_output console serial
$1 /boot/thinvisor.elf console=com1 hvmem=64M
$2 /boot/cpuid.elf
boot
echo "grub-mb2.sh: GRUB could not boot thinvisor"
halt
EOF
}

# run_case NAME KERNEL-CMD MODULE-CMD
run_case() {
	local name=$1 dir=$LOGDIR/$1.d iso=$LOGDIR/$1.iso log=$LOGDIR/$1.log st
	rm -rf "$dir" "$iso" "$log"
	mkdir -p "$dir/boot/grub" || return 1
	cp "$HV" "$dir/boot/thinvisor.elf" && cp "$GUEST" "$dir/boot/cpuid.elf" || return 1
	grub_cfg "$2" "$3" >"$dir/boot/grub/grub.cfg"
	if ! grub-mkrescue -o "$iso" "$dir" >"$LOGDIR/$name.mkrescue" 2>&1; then
		echo "FAIL $name [$CPU] (grub-mkrescue failed)"
		tail -n 10 "$LOGDIR/$name.mkrescue" | sed 's/^/    | /'
		return 1
	fi

	timeout -k 5 "$TIMEOUT" "$QEMU" -accel tcg -machine pc -m 512 -cpu "$CPU" \
		-display none -no-reboot -monitor none -serial "file:$log" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-cdrom "$iso" -boot d </dev/null >"$LOGDIR/$name.qemu" 2>&1
	st=$?
	if [ $st -eq 33 ] && grep -aqE 'TEST PASS: cpuid([^A-Za-z0-9_]|$)' "$log"; then
		echo "PASS $name [$CPU]"
		return 0
	fi
	case $st in
	124|137) echo "FAIL $name [$CPU] (status $st = timeout after ${TIMEOUT}s)" ;;
	33) echo "FAIL $name [$CPU] (status 33, but no \"TEST PASS: cpuid\" in the log)" ;;
	*) echo "FAIL $name [$CPU] (status $st)" ;;
	esac
	if [ -s "$log" ]; then
		echo "    --- last lines of $log:"
		# GRUB's terminal output carries escape sequences: drop them.
		tail -n 25 "$log" | tr -d '\r' | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/^/    | /'
	fi
	if [ -s "$LOGDIR/$name.qemu" ]; then
		echo "    --- QEMU output:"
		tail -n 10 "$LOGDIR/$name.qemu" | sed 's/^/    | /'
	fi
	return 1
}

# GRUB reads the key module through its own buffers and leaves copies in
# low memory: thinvisor must wipe every one.  The ide_dma guest scans its
# whole RAM for the key (keyscan=64) and writes an encrypted disk.
run_key_case() {
	local name=grub-key dir=$LOGDIR/grub-key.d iso=$LOGDIR/grub-key.iso log=$LOGDIR/grub-key.log st
	local tvcrypt=$BUILD/tools/tvcrypt ide=$BUILD/guests/ide_dma.elf
	rm -rf "$dir" "$iso" "$log"
	mkdir -p "$dir/boot/grub" || return 1
	[ -x "$tvcrypt" ] && [ -f "$ide" ] || { echo "FAIL $name (build tools and guests first)"; return 1; }
	cp "$HV" "$dir/boot/thinvisor.elf" && cp "$ide" "$dir/boot/ide_dma.elf" || return 1
	"$tvcrypt" genkey --number 0 --size 64 "$dir/boot/disk.key" >/dev/null || return 1
	printf '%s\n' "set timeout=0" "multiboot2 /boot/thinvisor.elf console=com1 hvmem=64M" \
		"module2 /boot/ide_dma.elf keyscan=64" "module2 /boot/disk.key thinvisor.key" "boot" \
		>"$dir/boot/grub/grub.cfg"
	grub-mkrescue -o "$iso" "$dir" >"$LOGDIR/$name.mkrescue" 2>&1 || { echo "FAIL $name (grub-mkrescue)"; return 1; }
	rm -f "$LOGDIR/$name.img" && truncate -s 64M "$LOGDIR/$name.img"
	timeout -k 5 "$TIMEOUT" "$QEMU" -accel tcg -machine pc -m 512 -cpu "$CPU" \
		-display none -no-reboot -monitor none -serial "file:$log" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 -cdrom "$iso" -boot d \
		-drive "file=$LOGDIR/$name.img,format=raw,if=ide,index=0" </dev/null >"$LOGDIR/$name.qemu" 2>&1
	st=$?
	if [ $st -eq 33 ] && grep -aq 'TEST PASS: ide_dma' "$log" && ! grep -aq 'TV-PLAINTEXT' "$LOGDIR/$name.img"; then
		echo "PASS $name [$CPU]"
		return 0
	fi
	echo "FAIL $name [$CPU] (status $st)"
	tail -n 15 "$log" | tr -d '\r' | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/^/    | /'
	return 1
}

passed=0
failed=0
for c in "grub-mb2 multiboot2 module2" "grub-mb1 multiboot module" "grub-key"; do
	if [ "$c" = grub-key ]; then
		run_key_case
	else
		# shellcheck disable=SC2086 # deliberate word splitting
		run_case $c
	fi && passed=$((passed + 1)) || failed=$((failed + 1))
done
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
