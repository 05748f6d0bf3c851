#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# thinvisor storage-encryption system tests (docs/storage.md): boot
# build/thinvisor.elf under QEMU TCG (-machine pc, PIIX IDE, AMD SVM) with an
# ide_* test guest, a fresh raw disk image on ide0.0 and the test key as the
# boot module "thinvisor.key", then look at the raw image with tvcrypt.
#
#   tests/system/storage.sh [--native] [-j N] [--list] [TEST...]
#
# A test passes iff QEMU exits with status 33 and the log has
# "TEST PASS: GUEST", the guest's "DISK first count seed expect" lines are
# exactly the ones this script expects, and the image checks hold:
#   written    AES-XTS (aes-xts-plain64, tweak = LBA) of the pattern, key K
#   plain      the plain pattern
#   unchanged  byte for byte what the image held before the boot
#   A|B        every sector is one of the two
# plus: the plaintext marker "TV-PLAINTEXT" appears nowhere on the image
# except in ranges that are plain by policy (tvcrypt find, and grep), and the
# key bytes appear nowhere on it.  Negative tests pass on status 65 and a log
# matching their pattern.
#
# NAME-vtd / NAME-amdvi (ide_dma, ahci_rw, nvme_rw): the same on q35 with
# QEMU's intel-iommu / amd-iommu (IDE on a PIIX3 function there); the log must
# also say thinvisor took the IOMMU (docs/iommu.md).
#
# --native runs ide_dma, ide_dma-highlba, ide_pio and ide_big without
# thinvisor (-kernel GUEST.elf): the data then lands in plain, "written"
# means plain, and the script also requires `tvcrypt check --expect
# encrypted` to FAIL there - which proves guests, pattern and checker agree.
#
# Prints "PASS name" / "FAIL name (why)" per test and ends with the line
# "N passed, N failed"; exit status 1 if any failed, 2 on setup errors.
# Files: build/storage/run-PID/NAME/{disk.img,orig.img,serial.log,serial.qemu}
# (removed when the test passes), copied to build/test-logs/storage-NAME.log
# (serial) and .qemu (QEMU's output) when it ends.
# Environment: BUILD (default build), THINVISOR (default $BUILD/thinvisor.elf),
# QEMU (default qemu-system-x86_64), TV_TIMEOUT (seconds per run, default
# 120; ide_big gets 2.5x).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2

BUILD=${BUILD:-build}
ABS_BUILD=$(mkdir -p "$BUILD" && cd "$BUILD" && pwd)
HV=${THINVISOR:-$BUILD/thinvisor.elf}
QEMU=${QEMU:-qemu-system-x86_64}
TIMEOUT=${TV_TIMEOUT:-120}
LOGDIR=$BUILD/test-logs
WORK=$BUILD/storage/run-$$	# per run: concurrent runs must not share images
KEYS=$WORK/keys		# per run too: other scripts write build/test-keys/k64.bin
TV=$BUILD/tools/tvcrypt
HV_APPEND="console=com1 hvmem=64M"
CPU_DEFAULT="qemu64,+svm,+npt"
POLICY="storage.policy=ide0.0:100-199:readonly,ide0.0:200-299:deny,ide0.0:300-399:plain"
SIZE64M=$((64 << 20))
HIGH_SECTORS=$(( (1 << 32) + 64 ))	# > 2 TiB, sparse: LBAs above 2^32

TESTS_HV=(ide_dma ide_dma-aes128 ide_dma-cpumax ide_dma-highlba ide_dma-passphrase
	ide_pio ide_big ide_attack ide_policy ide_bypass ide_atapi neg-key-size
	ahci_rw nvme_rw ahci_attack nvme_attack ahci_toctou nvme_toctou reset_wipe ide_toctou
	ide_dma-vtd ide_dma-amdvi ahci_rw-vtd ahci_rw-amdvi nvme_rw-vtd nvme_rw-amdvi)
TESTS_NATIVE=(ide_dma ide_dma-highlba ide_pio ide_big ahci_rw nvme_rw)

usage() {
	sed -n '3,/^set -u/p' "${BASH_SOURCE[0]}" | grep '^#' | sed 's/^# \{0,1\}//'
	echo "tests: ${TESTS_HV[*]}"
	echo "native tests: ${TESTS_NATIVE[*]}"
}

NATIVE=0
JOBS=1
TESTS=()
while [ $# -gt 0 ]; do
	case $1 in
	--native) NATIVE=1; shift ;;
	-j) [ $# -ge 2 ] || { usage >&2; exit 2; }; JOBS=$2; shift 2 ;;
	-j*) JOBS=${1#-j}; shift ;;
	--list) if [ $NATIVE -eq 1 ]; then printf '%s\n' "${TESTS_NATIVE[@]}"; else printf '%s\n' "${TESTS_HV[@]}"; fi; exit 0 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "storage.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) TESTS+=("$1"); shift ;;
	esac
done
case $JOBS in ''|*[!0-9]*|0) echo "storage.sh: -j needs a positive number" >&2; exit 2 ;; esac
if [ $NATIVE -eq 1 ]; then ALL=("${TESTS_NATIVE[@]}"); else ALL=("${TESTS_HV[@]}"); fi
[ ${#TESTS[@]} -gt 0 ] || TESTS=("${ALL[@]}")
for t in "${TESTS[@]}"; do
	ok=0
	for a in "${ALL[@]}"; do [ "$a" = "$t" ] && ok=1; done
	[ $ok -eq 1 ] || { echo "storage.sh: unknown test '$t' (try --list)" >&2; exit 2; }
done

# ---------------------------------------------------------------- build

command -v "$QEMU" >/dev/null || { echo "storage.sh: $QEMU not found" >&2; exit 2; }
if [ $NATIVE -eq 0 ] && [ ! -f "$HV" ]; then
	echo "storage.sh: $HV not found: build thinvisor first (make)" >&2
	exit 2
fi
mkdir -p "$LOGDIR" "$WORK" "$BUILD/tools" || exit 2
if ! make -s -C tests/guests BUILD="$ABS_BUILD" >"$LOGDIR/storage-build.log" 2>&1; then
	tail -20 "$LOGDIR/storage-build.log"
	echo "storage.sh: building the test guests failed" >&2
	exit 2
fi
if [ ! -x "$TV" ] || [ tools/tvcrypt.c -nt "$TV" ] || [ tests/guests/lib/pattern.h -nt "$TV" ]; then
	if ! gcc -O2 -Wall -Wextra -Werror -Itests/guests/lib -o "$TV" tools/tvcrypt.c -lcrypto \
		>>"$LOGDIR/storage-build.log" 2>&1; then
		tail -20 "$LOGDIR/storage-build.log"
		echo "storage.sh: building tvcrypt failed (needs libssl-dev)" >&2
		exit 2
	fi
fi
if ! "$TV" selftest >"$LOGDIR/storage-tvcrypt-selftest.log" 2>&1; then
	cat "$LOGDIR/storage-tvcrypt-selftest.log"
	echo "storage.sh: tvcrypt selftest failed" >&2
	exit 2
fi
tests/keys/make-keys.sh "$TV" "$KEYS" || { echo "storage.sh: making the keys failed" >&2; exit 2; }

# ---------------------------------------------------------------- expectations

# What each guest reports in its "DISK first count seed expect" lines.
exp_ide_dma() {	# $1 = sectors on the disk
	cat <<EOF
DISK 0 1 0xd0000 written
DISK 1 7 0xd0001 written
DISK 1000 8 0xd0100 written
DISK 100000 3 0xd0003 written
DISK $(($1 - 2)) 2 0xd0004 written
DISK 2048 128 0xd0005 written
DISK 4096 160 0xd0006 written
DISK 6144 8 0xd0007 written
DISK 8192 16 0xd0008 written
DISK 9000 256 0xd0009 written
EOF
}
exp_ide_dma_high() {
	exp_ide_dma $HIGH_SECTORS
	echo "DISK 4294967294 4 0xd0200 written"
	echo "DISK 4294967301 2 0xd0201 written"
}
exp_ide_pio() {
	cat <<EOF
DISK 3000 5 0x910000 written
DISK 3100 9 0x910101 written
DISK 3200 37 0x910002 written
DISK 3300 40 0x910003 written
DISK 3400 6 0x910004 written
DISK 3500 4 0x910005 written
DISK 4000 256 0x910006 written
DISK 131071 1 0x910007 written
DISK 3600 24 0x910100 written
EOF
}
exp_ide_big() {
	echo "DISK 8192 8192 0xb16000 written"
	echo "DISK 65536 65536 0xb16001 written"
}
exp_ide_attack() {
	cat <<EOF
DISK 5000 8 0xa77a unchanged
DISK 5008 8 0xa77a unchanged
DISK 5016 8 0xa77a unchanged
DISK 5024 8 0xa77a unchanged
DISK 5032 8 0xa77a unchanged
DISK 5100 16 0xa77a unchanged
DISK 5120 4 0xa77a unchanged
DISK 5000 128 0xa77a unchanged
EOF
}
exp_ide_atapi() {
	echo "DISK 7000 8 0xa7a0 written"
}
exp_ide_policy() {
	cat <<EOF
DISK 100 100 0x100 unchanged
DISK 200 100 0x200 unchanged
DISK 90 10 0x0 unchanged
DISK 300 50 0x300 unchanged
DISK 350 8 0x9011c1 plain
DISK 360 4 0x9011c2 plain
DISK 396 4 0x9011c5 plain
DISK 400 4 0x9011c5 written
DISK 404 4 0x9011c3 written
DISK 410 4 0x9011c4 written
DISK 600 8 0x400 unchanged
EOF
}
exp_ide_bypass() {
	cat <<EOF
DISK 400 8 0xb1a190 written|unchanged
DISK 408 8 0xb1a198 written|unchanged
DISK 416 8 0xb1a1a0 written|unchanged
DISK 424 8 0xb1a1a8 written|unchanged
DISK 432 8 0xb1a1b0 written|unchanged
DISK 440 8 0xb1a1b8 written|unchanged
DISK 448 8 0xb1a1c0 written|unchanged
DISK 456 16 0x400 unchanged
DISK 488 8 0xb1a1e8 written|unchanged
DISK 496 8 0x400 unchanged
DISK 504 4 0xb1a1f8 written|unchanged
DISK 508 4 0xb1a1fc written|unchanged
DISK 512 4 0xb1a200 written|unchanged
DISK 350 4 0xb1a15e plain|unchanged
DISK 516 4 0x400 unchanged
DISK 92 8 0xb1a05c written|unchanged
DISK 520 4 0xb1a208 written|unchanged
DISK 524 4 0x400 unchanged
DISK 20 8 0xb1a014 written|unchanged
DISK 28 64 0x0 unchanged
DISK 530 8 0xb1a212 written|unchanged
DISK 540 4 0xb1a21c written|unchanged
DISK 560 8 0xb1a230 written
DISK 100 100 0x100 unchanged
DISK 200 100 0x200 unchanged
EOF
}

exp_ahci_rw() {	# $1 = sectors on the disk
	cat <<EOF
DISK 0 1 0xa4c100 written
DISK 1 7 0xa4c101 written
DISK 1000 8 0xa4c200 written
DISK 3000 16 0xa4c103 written
DISK 100000 64 0xa4c104 written
DISK 8192 2048 0xa4c105 written
DISK 16384 8192 0xa4c106 written
DISK $(($1 - 2)) 2 0xa4c107 written
EOF
}
exp_nvme_rw() {
	cat <<EOF
DISK 0 1 0x4e0e00 written
DISK 8 8 0x4e0e01 written
DISK 100 16 0x4e0f00 written
DISK 200 8 0x4e0e03 written
DISK 1000 24 0x4e0e04 written
DISK 4096 2056 0x4e0e05 written
DISK 60000 255 0x4e0e06 written
DISK $(($1 - 2)) 2 0x4e0e07 written
EOF
}
exp_ahci_attack() {
	cat <<EOF
DISK 5000 8 0xa77a unchanged
DISK 5008 8 0xa77a unchanged
DISK 5016 8 0xa77a unchanged
DISK 5024 8 0xa77a unchanged
DISK 5032 8 0xa77a unchanged
DISK 5000 128 0xa77a unchanged
EOF
}
exp_nvme_attack() {
	cat <<EOF
DISK 5000 8 0xa77a unchanged
DISK 5008 16 0xa77a unchanged
DISK 5024 24 0xa77a unchanged
DISK 5048 24 0xa77a unchanged
DISK 5072 32 0xa77a unchanged
DISK 5104 8 0xa77a unchanged
DISK 5112 8 0xa77a unchanged
DISK 5120 8 0xa77a unchanged
DISK 5000 128 0xa77a unchanged
EOF
}

# The TOCTOU guests (-smp 2): writes at 8+i race to 1000+i (plain 0-99 by
# policy: the plaintext scan proves nothing plain landed outside it); writes
# at 2000+i race a PRP/PRDT flip into the hypervisor region.
exp_toctou() {	# $1 = seed of phase A, $2 = seed of phase B
	local i
	for ((i = 0; i < 64; i++)); do printf 'DISK %d 1 0x%x plain|unchanged\n' $((8 + i)) $(($1 + i)); done
	for ((i = 0; i < 32; i++)); do printf 'DISK %d 1 0x%x written|unchanged\n' $((2000 + i)) $(($2 + i)); done
}
exp_ahci_toctou() { exp_toctou 0x70C000 0x70C100; }
exp_ide_toctou() {
	local i
	for ((i = 0; i < 32; i++)); do printf 'DISK %d 1 0x%x written|unchanged\n' $((3000 + i)) $((0x70E000 + i)); done
	for ((i = 0; i < 32; i++)); do printf 'DISK %d 1 0x%x written|unchanged\n' $((3100 + i)) $((0x70E100 + i)); done
}
exp_nvme_toctou() { exp_toctou 0x70D000 0x70D100; }

# ---------------------------------------------------------------- images

# fill IMG FIRST COUNT SEED [KEY]: the pattern, encrypted if KEY is given.
fill() {
	"$TV" fill --pattern "$4" --first "$2" --count "$3" ${5:+--key "$5"} "$1" >/dev/null
}
# The policy layout: 100-199 / 200-299 / 300-399 plain seeds 0x100/0x200/
# 0x300 (readonly/deny/plain), 400-699 seed 0x400 encrypted with KEY.
prefill_policy() {
	fill "$1" 100 100 0x100 && fill "$1" 200 100 0x200 && fill "$1" 300 100 0x300 &&
		fill "$1" 400 300 0x400 "$2"
}

# ---------------------------------------------------------------- cases

# setup_case NAME: sets the variables below for one test.
setup_case() {
	G=${1%%-*} KEY=$KEYS/k64.bin CPU=$CPU_DEFAULT SECTORS=$((SIZE64M / 512))
	APPEND=$HV_APPEND GARGS="" DRIVEOPT="" TMO=$TIMEOUT INPUT=""
	EXPECT="" EXTRA="" ALLOW="" SCAN=1 LOGPAT=() NOLOGPAT=() NEGPAT="" RESETPAT=""
	PREFILL="" ENCKEY="" CDROM=0 SMP=1
	# The machine and how the disk is attached (ahci_*/nvme_*: q35; NAME-vtd and
	# NAME-amdvi: q35 with that IOMMU, first as QEMU wants, IDE on a PIIX3 function).
	MACHINE=pc DISKQ=() IOMMUQ=()
	case $1 in
	ahci_*) MACHINE=q35 DISKQ=(-device ide-hd,drive=d0,bus=ide.0) ;;
	nvme_*) MACHINE=q35 DISKQ=(-device nvme,drive=d0,serial=tv1,mdts=9) ;;
	ide_*-vtd|ide_*-amdvi) MACHINE=q35 DISKQ=(-device piix3-ide,id=pide -device ide-hd,drive=d0,bus=pide.0) ;;
	esac
	case $1 in
	*-vtd) IOMMUQ=(-device intel-iommu) LOGPAT=('iommu: VT-d at .*DMA-confined, [1-9] storage controllers in their own domain') ;;
	*-amdvi) IOMMUQ=(-device amd-iommu) LOGPAT=('iommu: AMD-Vi at .*DMA-confined, [1-9] storage controllers in their own domain') ;;
	esac
	case $1 in
	ide_dma|ide_dma-cpumax|ide_dma-aes128|ide_dma-highlba|ide_dma-passphrase|ide_dma-vtd|ide_dma-amdvi)
		EXPECT=exp_ide_dma
		EXTRA="DISK 60000 64 0x9f11 unchanged"
		GARGS="prefill=60000:64:0x9f11 keyscan=64"
		PREFILL="fill \$IMG 60000 64 0x9f11 \$ENCKEY"
		case $1 in
		ide_dma-cpumax) CPU=max ;;
		ide_dma-aes128) KEY=$KEYS/k32.bin GARGS="prefill=60000:64:0x9f11 keyscan=32" ;;
		ide_dma-highlba)
			SECTORS=$HIGH_SECTORS EXPECT=exp_ide_dma_high SCAN=0
			GARGS="prefill=60000:64:0x9f11 highlba=1" ;;
		ide_dma-passphrase)
			# No key module: thinvisor asks on COM1; the input types
			# "secret" with a Backspace and a Delete on the way.
			KEY=$KEYS/pass.bin INPUT=$KEYS/pass.txt
			APPEND="$HV_APPEND storage.iter=1000"
			GARGS="prefill=60000:64:0x9f11"
			LOGPAT=('thinvisor: passphrase for the disk key:')
			NOLOGPAT=('secre') ;;
		esac ;;
	ide_pio) EXPECT=exp_ide_pio ;;
	ide_big) EXPECT=exp_ide_big TMO=$((TIMEOUT * 5 / 2)) ;;
	ide_attack)
		EXPECT=exp_ide_attack DRIVEOPT=",discard=unmap"
		PREFILL="fill \$IMG 5000 128 0xa77a \$ENCKEY" ;;
	ide_policy|ide_bypass)
		EXPECT=exp_$1 APPEND="$HV_APPEND $POLICY" ALLOW="100-399"
		PREFILL="prefill_policy \$IMG \$ENCKEY"
		EXTRA="DISK 100 100 0x100 unchanged
DISK 200 100 0x200 unchanged
DISK 600 100 0x400 unchanged"
		if [ "$1" = ide_policy ]; then
			EXTRA="$EXTRA
DISK 0 90 0x0 unchanged"
			LOGPAT=('thinvisor: warning: ide0\.0: write of LBA 150\+1 refused by policy \(readonly\)'
				'thinvisor: warning: ide0\.0: write of LBA 95\+10 refused by policy \(readonly\)'
				'thinvisor: warning: ide0\.0: read of LBA 250\+8 refused by policy \(deny\)')
		fi ;;
	ide_atapi)
		# A CD image on ide1.0 (replacing the machine's empty drive).
		EXPECT=exp_ide_atapi CDROM=1 ;;
	reset_wipe)	# ends in a reset (QEMU status 0), the key wiped before it
		RESETPAT='guest resets the machine \(port 92\)' ;;
	neg-key-size)
		G=ide_dma KEY=$KEYS/k48-bad.bin NEGPAT='key' ;;
	ahci_rw|ahci_rw-vtd|ahci_rw-amdvi) EXPECT=exp_ahci_rw TMO=$((TIMEOUT * 2)) ;;
	nvme_rw|nvme_rw-vtd|nvme_rw-amdvi) EXPECT=exp_nvme_rw ;;
	ahci_attack|nvme_attack)
		EXPECT=exp_$1
		PREFILL="fill \$IMG 5000 128 0xa77a \$ENCKEY" ;;
	ide_toctou) EXPECT=exp_$1 SMP=2 ;;
	ahci_toctou)
		EXPECT=exp_$1 SMP=2 ALLOW="0-99" APPEND="$HV_APPEND storage.policy=ahci0:0-99:plain" ;;
	nvme_toctou)
		EXPECT=exp_$1 SMP=2 ALLOW="0-99" APPEND="$HV_APPEND storage.policy=nvme1:0-99:plain" ;;
	esac
	if [ $NATIVE -eq 1 ]; then
		CPU=qemu64 KEY="" SCAN=0 LOGPAT=() NOLOGPAT=()
		GARGS=${GARGS/keyscan=64/}
	fi
	ENCKEY=$KEY
}

# expectation -> tvcrypt --expect list
expect_arg() {
	local e=$1 orig=$2 w=encrypted
	[ $NATIVE -eq 1 ] && w=plain
	case $e in
	written) echo "$w" ;;
	plain) echo "plain" ;;
	unchanged) echo "unchanged:$orig" ;;
	"written|unchanged") echo "$w,unchanged:$orig" ;;
	"plain|unchanged") echo "plain,unchanged:$orig" ;;
	*) echo "BAD:$e" ;;
	esac
}

status_meaning() {
	case $1 in
	33) echo "TV_EXIT_PASS" ;;
	35) echo "TV_EXIT_FAIL" ;;
	65) echo "TV_EXIT_PANIC" ;;
	67) echo "TV_EXIT_GUEST_DEAD" ;;
	124|137) echo "timeout" ;;
	0) echo "QEMU exited without isa-debug-exit: reset/triple fault or poweroff" ;;
	1) echo "QEMU error" ;;
	*) echo "unexpected" ;;
	esac
}

show_tail() {
	local log=$1 q=${1%.log}.qemu
	if [ -s "$log" ]; then
		echo "    --- last lines of $log:"
		tr -d '\r' <"$log" | grep -v '^  \[ok\]' | tail -n 25 | sed 's/^/    | /'
	else
		echo "    --- $log is empty"
	fi
	if [ -s "$q" ]; then
		echo "    --- QEMU output ($q):"
		tail -n 10 "$q" | sed 's/^/    | /'
	fi
}

# run_case NAME: prints the result line(s); returns 0 iff passed.
run_case() {
	local name=$1 dir log img orig rc
	dir=$WORK/$name
	log=$dir/serial.log
	rm -rf "$dir" && mkdir -p "$dir" || return 1
	run_case2 "$@"
	rc=$?
	local out=$LOGDIR/storage-$name
	[ $NATIVE -eq 1 ] && out=$LOGDIR/storage-native-$name
	[ -f "$log" ] && cp -f "$log" "$out.log"
	[ -f "$dir/serial.qemu" ] && cp -f "$dir/serial.qemu" "$out.qemu"
	[ $rc -eq 0 ] && rm -rf "$dir"
	return $rc
}

run_case2() {
	local name=$1 dir log img orig st why="" mods
	setup_case "$name"
	dir=$WORK/$name
	log=$dir/serial.log
	img=$dir/disk.img
	orig=$dir/orig.img
	# shellcheck disable=SC2034 # used by the eval'd PREFILL
	IMG=$img
	truncate -s $((SECTORS * 512)) "$img" || return 1
	if [ -n "$PREFILL" ] && ! eval "$PREFILL"; then
		echo "FAIL $name (pre-filling the image failed)"
		return 1
	fi
	cp --sparse=always "$img" "$orig" || return 1

	local elf=$BUILD/guests/$G.elf
	[ -f "$elf" ] || { echo "FAIL $name (missing $elf)"; return 1; }
	# shellcheck disable=SC2054 # the commas are inside option values
	local q=(-accel tcg -machine "$MACHINE" "${IOMMUQ[@]}" -smp "$SMP" -m 512 -cpu "$CPU" -display none -no-reboot
		-monitor none -device isa-debug-exit,iobase=0xf4,iosize=4)
	if [ ${#DISKQ[@]} -gt 0 ]; then
		q+=(-drive "file=$img,format=raw,if=none,id=d0$DRIVEOPT" "${DISKQ[@]}")
	else
		q+=(-drive "file=$img,format=raw,if=ide,index=0$DRIVEOPT")
	fi
	if [ $CDROM -eq 1 ]; then
		# 32 blocks of 2048 bytes: the plain pattern, seed 0xCD0.
		fill "$dir/cd.iso" 0 128 0xCD0 || return 1
		q+=(-drive "file=$dir/cd.iso,format=raw,media=cdrom,if=ide,index=2,readonly=on")
	fi
	if [ $NATIVE -eq 1 ]; then
		q+=(-kernel "$elf" -append "$GARGS")
	else
		mods="$elf${GARGS:+ $GARGS}"
		[ -n "$KEY" ] && [ -z "$INPUT" ] && mods="$mods,$KEY thinvisor.key"
		q+=(-kernel "$HV" -append "$APPEND" -initrd "$mods")
	fi
	rm -f "$log"
	if [ -n "$INPUT" ]; then
		# Type the input only once the prompt is there, as a person
		# would (bytes sent earlier may be lost when the UART is set up).
		local fifo=$dir/serial.in fd qpid i
		mkfifo "$fifo" || return 1
		timeout -k 5 "$TMO" "$QEMU" "${q[@]}" -serial stdio <"$fifo" >"$log" \
			2>"${log%.log}.qemu" &
		qpid=$!
		exec {fd}>"$fifo"
		for ((i = 0; i < TMO * 10; i++)); do
			grep -aq 'passphrase for the disk key' "$log" 2>/dev/null && break
			kill -0 $qpid 2>/dev/null || break
			sleep 0.1
		done
		sleep 0.3
		cat "$INPUT" >&"$fd"
		exec {fd}>&-
		wait $qpid
	else
		timeout -k 5 "$TMO" "$QEMU" "${q[@]}" -serial "file:$log" </dev/null \
			>"${log%.log}.qemu" 2>&1
	fi
	st=$?

	# ---- negative test
	if [ -n "$NEGPAT" ]; then
		if [ $st -eq 65 ] && grep -aqiE "$NEGPAT" "$log"; then
			echo "PASS $name"
			return 0
		fi
		echo "FAIL $name (status $st = $(status_meaning $st); want 65 and /$NEGPAT/i)"
		show_tail "$log"
		return 1
	fi

	# ---- a guest that resets the machine: status 0, the key wiped first
	if [ -n "$RESETPAT" ]; then
		if [ $st -eq 0 ] && tr -d '\r' <"$log" | grep -aA3 -E "$RESETPAT" | grep -aq 'storage: key wiped' &&
			! grep -aq 'TEST FAIL' "$log"; then
			echo "PASS $name"
			return 0
		fi
		echo "FAIL $name (status $st = $(status_meaning $st); want 0, /$RESETPAT/ then 'storage: key wiped')"
		show_tail "$log"
		return 1
	fi

	# ---- verdict
	if [ $st -ne 33 ] || ! grep -aqE "TEST PASS: $G([^A-Za-z0-9_]|\$)" "$log"; then
		if [ $st -eq 33 ]; then
			echo "FAIL $name (status 33, but no \"TEST PASS: $G\" in the log)"
		else
			echo "FAIL $name (status $st = $(status_meaning $st))"
		fi
		show_tail "$log"
		return 1
	fi
	local p
	for p in "${LOGPAT[@]}"; do
		grep -aqE "$p" "$log" || why="${why}log lacks /$p/; "
	done
	for p in "${NOLOGPAT[@]}"; do
		! grep -aqE "$p" "$log" || why="${why}log has /$p/ (echoed?); "
	done

	# ---- the guest's DISK lines must be exactly what we expect
	local got want
	got=$(tr -d '\r' <"$log" | grep -a '^DISK ' | sort)
	want=$($EXPECT $SECTORS | sort)
	if [ "$got" != "$want" ]; then
		why="${why}the guest's DISK lines differ from the expected ones; "
		diff <(echo "$want") <(echo "$got") | sed 's/^/    | /' | head -20
	fi

	# ---- the image
	local f c s e ex out
	while read -r _ f c s e; do
		[ -n "$f" ] || continue
		ex=$(expect_arg "$e" "$orig")
		if ! out=$("$TV" check ${ENCKEY:+--key "$ENCKEY"} --image "$img" --lba "$f" \
			--count "$c" --pattern "$s" --expect "$ex" 2>&1); then
			why="${why}LBA $f+$c not $e; "
			echo "    | $out"
		fi
		if [ $NATIVE -eq 1 ] && [ "$e" = written ]; then
			if "$TV" check --key "$KEYS/k64.bin" --image "$img" --lba "$f" --count "$c" \
				--pattern "$s" --expect encrypted >/dev/null 2>&1; then
				why="${why}native LBA $f+$c passes as encrypted (checker broken); "
			fi
		fi
	done < <(printf '%s\n%s\n' "$want" "$EXTRA")

	if [ $SCAN -eq 1 ]; then
		local allow=()
		for a in $ALLOW; do allow+=(--allow "$a"); done
		if ! out=$("$TV" find --image "$img" "${allow[@]}" 2>&1); then
			why="${why}plaintext marker on the image; "
			echo "$out" | sed 's/^/    | /'
		fi
		if [ -z "$ALLOW" ] && LC_ALL=C grep -qaF 'TV-PLAINTEXT' "$img"; then
			why="${why}grep finds TV-PLAINTEXT on the image; "
		fi
		if [ -n "$KEY" ] && ! out=$("$TV" find --image "$img" --file "$KEY" 2>&1); then
			why="${why}the key is on the image; "
			echo "$out" | sed 's/^/    | /'
		fi
	fi

	if [ -n "$why" ]; then
		echo "FAIL $name (${why%; })"
		return 1
	fi
	echo "PASS $name"
	return 0
}

# ---------------------------------------------------------------- run

passed=0
failed=0
if [ "$JOBS" -le 1 ]; then
	for t in "${TESTS[@]}"; do
		if run_case "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	done
else
	RES=$(mktemp -d "$LOGDIR/.storage.XXXXXX") || exit 2
	trap 'rm -rf "$RES"' EXIT
	running=0
	for i in "${!TESTS[@]}"; do
		if [ $running -ge "$JOBS" ]; then
			wait -n
			running=$((running - 1))
		fi
		( run_case "${TESTS[$i]}" >"$RES/$i.out" 2>&1; echo $? >"$RES/$i.rc" ) &
		running=$((running + 1))
	done
	wait
	for i in "${!TESTS[@]}"; do
		cat "$RES/$i.out"
		if [ "$(cat "$RES/$i.rc" 2>/dev/null)" = 0 ]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	done
fi

if [ $failed -eq 0 ]; then
	rm -rf "$WORK"
else
	echo "images and logs of the failed tests: $WORK"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
