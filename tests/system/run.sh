#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# thinvisor system tests: boot build/thinvisor.elf under QEMU (TCG, AMD SVM)
# with each test guest as its multiboot module, plus negative boot tests
# that must end in a clean hypervisor panic.
#
#   tests/system/run.sh [--cpu MODEL]... [-j N] [--list] [TEST...]
#
# Defaults: every guest and every negative test, each under both
# "-cpu qemu64,+svm,+npt" and "-cpu max".  A guest test passes iff QEMU
# exits with status 33 (TV_EXIT_PASS) and the serial log has
# "TEST PASS: GUEST" (and the test's own log pattern, if it has one); a
# test NAME-VARIANT runs guest NAME on another machine or with other
# arguments.  A negative test passes iff QEMU exits with status 65
# (TV_EXIT_PANIC) and the log matches the test's pattern (ignoring case).
# Logs: build/test-logs/NAME.CPU.log (serial) and NAME.CPU.qemu (QEMU's
# own output).  Prints "PASS name [cpu]" / "FAIL name [cpu] (status N)"
# per test and ends with "N passed, N failed"; exits 1 if any failed.
#
# Environment: BUILD (build dir, default build), THINVISOR (hypervisor
# image, default $BUILD/thinvisor.elf), QEMU (default qemu-system-x86_64),
# TV_TIMEOUT (seconds per QEMU run, default 120).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2

BUILD=${BUILD:-build}
HV=${THINVISOR:-$BUILD/thinvisor.elf}
QEMU=${QEMU:-qemu-system-x86_64}
TIMEOUT=${TV_TIMEOUT:-120}
LOGDIR=$BUILD/test-logs
HV_APPEND="console=com1 hvmem=64M"

GUESTS=(cpuid virtinsn hypercall mmap hvmem_read hvmem_write hvmem_paging guestargs tglib smi pci_hide smp_start smp_attack msr_guard bar_move hypersafe ahci_move s3_refused
	edu_dma-vtd edu_dma-vtd48 edu_dma-amdvi edu_dma-none iommu_hide-vtd iommu_hide-amdvi ahci_move-vtd ahci_move-amdvi)
NEGATIVE=(neg-hvmem-banana neg-no-initrd neg-garbage neg-hvmem-huge)
DEFAULT_CPUS=("qemu64,+svm,+npt" "max")

# Guest command lines (module string after the file name).
guest_args() {
	case $1 in
	guestargs) echo "hello world" ;;
	smp_start) echo "cpus=4" ;;
	smp_attack) echo "cpus=2" ;;
	edu_dma-none) echo "iommu=none" ;;
	iommu_hide-vtd) echo "regs=0xfed90000" ;;
	iommu_hide-amdvi) echo "regs=0xfed80000" ;;
	*) echo "" ;;
	esac
}

# What the hypervisor's log must also say (ERE), if anything.
guest_logpat() {
	case $1 in
	edu_dma-vtd) echo 'iommu: VT-d at fed90000 .*3-level tables\): [0-9]+ PCI devices DMA-confined' ;;
	edu_dma-vtd48) echo 'iommu: VT-d at fed90000 .*4-level tables\): [0-9]+ PCI devices DMA-confined' ;;
	edu_dma-amdvi) echo 'iommu: AMD-Vi at fed80000 .*: [0-9]+ PCI devices DMA-confined' ;;
	edu_dma-none) echo 'no IOMMU in use: [0-9]+ PCI devices .* not DMA-confined' ;;
	iommu_hide-*) echo 'iommu: guest (read of|write to) IOMMU register fed[89]0000 refused' ;;
	esac
}

# Machine and devices per guest (default: -machine pc).
guest_machine() {
	case $1 in
	pci_hide.*)
		local img=$LOGDIR/pci_hide.img
		[ -e "$img" ] || truncate -s 16M "$img"
		# A virtio-blk disk (a storage controller thinvisor does not mediate: hidden).
		echo "-machine q35 -drive file=$img,format=raw,if=none,id=d1,file.locking=off" \
			"-device virtio-blk-pci,drive=d1,addr=03.0" ;;
	smp_start.*) echo "-machine pc -smp 4" ;;
	smp_attack.*) echo "-machine pc -smp 2" ;;
	ahci_move.*) echo "-machine q35" ;;
	# The IOMMU first, before any PCI device (QEMU requires it); edu unclamped (lib/edu.h).
	*-vtd.*) echo "-machine q35 -device intel-iommu -device edu,dma_mask=0xffffffff" ;;
	*-vtd48.*) echo "-machine q35 -device intel-iommu,aw-bits=48 -device edu,dma_mask=0xffffffff" ;;
	*-amdvi.*) echo "-machine q35 -device amd-iommu -device edu,dma_mask=0xffffffff" ;;
	edu_dma-none.*) echo "-machine q35 -device edu,dma_mask=0xffffffff" ;;
	*) echo "-machine pc" ;;
	esac
}

usage() {
	sed -n '3,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	echo "tests: ${GUESTS[*]} ${NEGATIVE[*]}"
}

CPUS=()
JOBS=1
TESTS=()
while [ $# -gt 0 ]; do
	case $1 in
	--cpu) [ $# -ge 2 ] || { usage >&2; exit 2; }; CPUS+=("$2"); shift 2 ;;
	--cpu=*) CPUS+=("${1#--cpu=}"); shift ;;
	-j) [ $# -ge 2 ] || { usage >&2; exit 2; }; JOBS=$2; shift 2 ;;
	-j*) JOBS=${1#-j}; shift ;;
	--list) printf '%s\n' "${GUESTS[@]}" "${NEGATIVE[@]}"; exit 0 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) TESTS+=("$1"); shift ;;
	esac
done
[ ${#CPUS[@]} -gt 0 ] || CPUS=("${DEFAULT_CPUS[@]}")
[ ${#TESTS[@]} -gt 0 ] || TESTS=("${GUESTS[@]}" "${NEGATIVE[@]}")
case $JOBS in ''|*[!0-9]*|0) echo "run.sh: -j needs a positive number" >&2; exit 2 ;; esac

is_guest() { local g; for g in "${GUESTS[@]}"; do [ "$g" = "$1" ] && return 0; done; return 1; }
is_negative() { local n; for n in "${NEGATIVE[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }
for t in "${TESTS[@]}"; do
	if ! is_guest "$t" && ! is_negative "$t"; then
		echo "run.sh: unknown test '$t' (try --list)" >&2
		exit 2
	fi
done

command -v "$QEMU" >/dev/null || { echo "run.sh: $QEMU not found" >&2; exit 2; }
if [ ! -f "$HV" ]; then
	echo "run.sh: $HV not found: build thinvisor first (make)" >&2
	exit 2
fi
mkdir -p "$LOGDIR" || exit 2

# The garbled module for neg-garbage: written to a temporary name and
# renamed, so a concurrent run never sees a half-written file.
GARBAGE=$LOGDIR/garbage.bin
make_garbage() {
	local tmp
	tmp=$(mktemp "$LOGDIR/garbage.XXXXXX") || return 1
	head -c 524288 /dev/urandom >"$tmp" && mv -f "$tmp" "$GARBAGE"
}
for t in "${TESTS[@]}"; do
	if [ "$t" = neg-garbage ]; then make_garbage || exit 2; break; fi
done

status_meaning() {
	case $1 in
	33) echo "TV_EXIT_PASS" ;;
	35) echo "TV_EXIT_FAIL" ;;
	65) echo "TV_EXIT_PANIC" ;;
	67) echo "TV_EXIT_GUEST_DEAD" ;;
	124|137) echo "timeout after ${TIMEOUT}s" ;;
	0) echo "QEMU exited without isa-debug-exit: reset/triple fault or poweroff" ;;
	1) echo "QEMU error" ;;
	*) echo "unexpected" ;;
	esac
}

# run_qemu CPU LOG EXTRA-ARGS... : boot thinvisor, return QEMU's status.
run_qemu() {
	local cpu=$1 log=$2
	shift 2
	rm -f "$log"
	local machine
	# shellcheck disable=SC2086 # word splitting of the machine arguments is wanted
	machine=$(guest_machine "${log##*/}" | tr -d '\n')
	# shellcheck disable=SC2086
	timeout -k 5 "$TIMEOUT" "$QEMU" -accel tcg $machine -m 512 -cpu "$cpu" \
		-display none -no-reboot -monitor none -serial "file:$log" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-kernel "$HV" "$@" </dev/null >"${log%.log}.qemu" 2>&1
}

show_tail() {
	local log=$1 q=${1%.log}.qemu
	if [ -s "$log" ]; then
		echo "    --- last lines of $log:"
		tail -n 25 "$log" | tr -d '\r' | sed 's/^/    | /'
	else
		echo "    --- $log is empty"
	fi
	if [ -s "$q" ]; then
		echo "    --- QEMU output ($q):"
		tail -n 10 "$q" | sed 's/^/    | /'
	fi
}

# run_case TEST CPU: prints the result line(s); returns 0 iff passed.
run_case() {
	local t=$1 cpu=$2 slug log st pattern ok=0
	slug=${cpu//[^A-Za-z0-9]/_}
	log=$LOGDIR/$t.$slug.log

	if is_guest "$t"; then
		local g=${t%%-*} elf args mod logpat
		elf=$BUILD/guests/$g.elf
		if [ ! -f "$elf" ]; then
			echo "FAIL $t [$cpu] (missing $elf: make -C tests/guests)"
			return 1
		fi
		args=$(guest_args "$t")
		mod=$elf${args:+ $args}
		run_qemu "$cpu" "$log" -append "$HV_APPEND" -initrd "$mod"
		st=$?
		logpat=$(guest_logpat "$t")
		[ $st -eq 33 ] && grep -aqE "TEST PASS: $g([^A-Za-z0-9_]|\$)" "$log" &&
			{ [ -z "$logpat" ] || grep -aqE "$logpat" "$log"; } && ok=1
	else
		case $t in
		neg-hvmem-banana)
			pattern='hvmem'
			run_qemu "$cpu" "$log" -append "console=com1 hvmem=banana" \
				-initrd "$BUILD/guests/cpuid.elf" ;;
		neg-no-initrd)
			pattern='no guest kernel'
			run_qemu "$cpu" "$log" -append "$HV_APPEND" ;;
		neg-garbage)
			pattern='not a (linux bzimage|multiboot)'
			run_qemu "$cpu" "$log" -append "$HV_APPEND" -initrd "$GARBAGE" ;;
		neg-hvmem-huge)
			pattern='hvmem'
			run_qemu "$cpu" "$log" -append "console=com1 hvmem=100000M" \
				-initrd "$BUILD/guests/cpuid.elf" ;;
		esac
		st=$?
		[ $st -eq 65 ] && grep -aqiE "$pattern" "$log" && ok=1
	fi

	if [ $ok -eq 1 ]; then
		echo "PASS $t [$cpu]"
		return 0
	fi
	if [ -n "${pattern:-}" ] && [ $st -eq 65 ]; then
		echo "FAIL $t [$cpu] (status $st = $(status_meaning $st), but no /$pattern/i in the log)"
	elif [ $st -eq 33 ] && [ -n "${logpat:-}" ]; then
		echo "FAIL $t [$cpu] (status $st, but no \"TEST PASS: ${t%%-*}\" or no /$logpat/ in the log)"
	elif [ $st -eq 33 ]; then
		echo "FAIL $t [$cpu] (status $st, but no \"TEST PASS: ${t%%-*}\" in the log)"
	else
		echo "FAIL $t [$cpu] (status $st = $(status_meaning $st))"
	fi
	show_tail "$log"
	return 1
}

# Build the list of (test, cpu) cases.
CASE_T=()
CASE_C=()
for t in "${TESTS[@]}"; do
	for c in "${CPUS[@]}"; do
		CASE_T+=("$t")
		CASE_C+=("$c")
	done
done

passed=0
failed=0
if [ "$JOBS" -le 1 ]; then
	for i in "${!CASE_T[@]}"; do
		if run_case "${CASE_T[$i]}" "${CASE_C[$i]}"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	done
else
	# Parallel: each case writes its report to its own file; reports are
	# printed in case order once everything has finished.
	RES=$(mktemp -d "$LOGDIR/.run.XXXXXX") || exit 2
	trap 'rm -rf "$RES"' EXIT
	running=0
	for i in "${!CASE_T[@]}"; do
		if [ $running -ge "$JOBS" ]; then
			wait -n
			running=$((running - 1))
		fi
		( run_case "${CASE_T[$i]}" "${CASE_C[$i]}" >"$RES/$i.out"
		  echo $? >"$RES/$i.rc" ) &
		running=$((running + 1))
	done
	wait
	for i in "${!CASE_T[@]}"; do
		cat "$RES/$i.out"
		if [ "$(cat "$RES/$i.rc" 2>/dev/null)" = 0 ]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
	done
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
