#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# thinvisor system tests under Bochs, the only emulator here with Intel
# VT-x (QEMU TCG has no VMX).  Each case boots a GRUB rescue ISO holding
# build/thinvisor.elf (multiboot2) and one test guest (module2), headless.
#
#   tests/system/bochs.sh [--model MODEL]... [-j N] [--list] [TEST...]
#
# Defaults: every guest under "corei7_skylake_x" (Intel VT-x with EPT,
# VPID, unrestricted guest) and under "ryzen" (AMD SVM with NPT and NRIP
# save, which QEMU TCG lacks), plus the negative boot tests, each on its
# own model.  --model (repeatable) replaces the two guest models.  The smi
# guest runs on AMD models only (see skip_reason).
#
# Bochs has no isa-debug-exit: a guest test passes iff its serial log has
# "TEST PASS: NAME" and no "PANIC"; a negative test passes iff the log has
# "PANIC" and matches the test's pattern (ignoring case).  The ide_* guests
# get a fresh 64 MiB disk on ide0.0 (the CD moves to ide1.0) and the test
# key as module "thinvisor.key"; they pass only if, in addition, every
# range they report written is AES-XTS ciphertext of their pattern on the
# raw image (build/tools/tvcrypt check).  The runner stops Bochs as soon
# as a verdict is in the log (or after TV_TIMEOUT seconds).
#
# Logs: build/test-logs/bochs/NAME.MODEL.log (serial) and .bochs (Bochs'
# own log).  Prints "PASS name [model]" / "FAIL name [model] (why)" per
# case and ends with "N passed, N failed"; exits 1 if any failed, 2 on
# usage or setup errors.
#
# Needs bochs, bochs-term, bochsbios, vgabios, grub-mkrescue (grub-pc-bin,
# grub-common), xorriso, mtools and script (util-linux).
# Environment: BUILD, THINVISOR, TV_TIMEOUT (seconds per run, default 120),
# BOCHS (default bochs).
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit 2

BUILD=${BUILD:-build}
HV=${THINVISOR:-$BUILD/thinvisor.elf}
BOCHS=${BOCHS:-bochs}
TIMEOUT=${TV_TIMEOUT:-120}
LOGDIR=$BUILD/test-logs/bochs
HV_APPEND="console=com1 hvmem=64M"
VMX_MODEL=corei7_skylake_x
SVM_MODEL=ryzen

GUESTS=(cpuid virtinsn hypercall mmap hvmem_read hvmem_write hvmem_paging guestargs tglib smi ide_dma ide_pio msr_guard hypersafe smp_start smp_attack)
# Negative tests: CPUs thinvisor must refuse with a clear message.
NEGATIVE=(neg-vmx-no-ept neg-vmx-no-ug neg-svm-no-npt neg-no-virt)
neg_model() {
	case $1 in
	neg-vmx-no-ept) echo core2_penryn_t9600 ;;	# VT-x without EPT
	neg-vmx-no-ug) echo corei5_lynnfield_750 ;;	# EPT, no unrestricted guest
	neg-svm-no-npt) echo turion64_tyler ;;		# SVM without NPT
	neg-no-virt) echo athlon64_clawhammer ;;	# AMD64 without SVM
	esac
}
neg_pattern() {
	case $1 in
	neg-vmx-no-ept) echo 'cannot run on this CPU: VT-x without EPT' ;;
	neg-vmx-no-ug) echo 'cannot run on this CPU: VT-x without unrestricted guest' ;;
	neg-svm-no-npt) echo 'cannot run on this CPU: SVM without nested paging' ;;
	neg-no-virt) echo 'cannot run on this CPU .*neither AMD SVM nor Intel VT-x' ;;
	esac
}

is_ide() { case $1 in ide_*) return 0 ;; *) return 1 ;; esac; }

# Bochs models that are AMD CPUs (the rest are Intel).
is_amd_model() {
	case $1 in
	amd_*|athlon*|turion*|phenom*|zambezi|trinity_apu|ryzen) return 0 ;;
	*) return 1 ;;
	esac
}

# Why a guest is not run on a model, if it is not.
skip_reason() {
	if [ "$1" = smi ] && ! is_amd_model "$2"; then
		echo "VT-x has no SMI exit outside dual-monitor treatment, so the SMI count cannot grow;" \
			"and Bochs 2.7's RSM back into VMX non-root operation sets CR0.PG/PE even with" \
			"unrestricted guest, which kills a paging-off guest"
	fi
}

guest_args() {
	case $1 in
	guestargs) echo "hello world" ;;
	ide_dma) echo "keyscan=64" ;;
	smp_*) echo "cpus=2" ;;
	*) echo "" ;;
	esac
}

usage() {
	awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "${BASH_SOURCE[0]}"
	echo "tests: ${GUESTS[*]} ${NEGATIVE[*]}"
}

MODELS=()
JOBS=1
TESTS=()
while [ $# -gt 0 ]; do
	case $1 in
	--model) [ $# -ge 2 ] || { usage >&2; exit 2; }; MODELS+=("$2"); shift 2 ;;
	--model=*) MODELS+=("${1#--model=}"); shift ;;
	-j) [ $# -ge 2 ] || { usage >&2; exit 2; }; JOBS=$2; shift 2 ;;
	-j*) JOBS=${1#-j}; shift ;;
	--list) printf '%s\n' "${GUESTS[@]}" "${NEGATIVE[@]}"; exit 0 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "bochs.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) TESTS+=("$1"); shift ;;
	esac
done
[ ${#MODELS[@]} -gt 0 ] || MODELS=("$VMX_MODEL" "$SVM_MODEL")
[ ${#TESTS[@]} -gt 0 ] || TESTS=("${GUESTS[@]}" "${NEGATIVE[@]}")
case $JOBS in ''|*[!0-9]*|0) echo "bochs.sh: -j needs a positive number" >&2; exit 2 ;; esac

is_guest() { local g; for g in "${GUESTS[@]}"; do [ "$g" = "$1" ] && return 0; done; return 1; }
is_negative() { local n; for n in "${NEGATIVE[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }
for t in "${TESTS[@]}"; do
	if ! is_guest "$t" && ! is_negative "$t"; then
		echo "bochs.sh: unknown test '$t' (try --list)" >&2
		exit 2
	fi
done

for tool in "$BOCHS" grub-mkrescue xorriso script; do
	command -v "$tool" >/dev/null || { echo "bochs.sh: $tool not found" >&2; exit 2; }
done
TV=$BUILD/tools/tvcrypt
KEYS=$LOGDIR/keys
BIOS=/usr/share/bochs/BIOS-bochs-latest
VGABIOS=/usr/share/vgabios/vgabios.bin
[ -f "$VGABIOS" ] || VGABIOS=/usr/share/seabios/vgabios-stdvga.bin
for f in "$HV" "$BIOS" "$VGABIOS"; do
	[ -f "$f" ] || { echo "bochs.sh: $f not found" >&2; exit 2; }
done
mkdir -p "$LOGDIR/iso" || exit 2

# One ISO per guest, shared by its runs (each run boots its own copy:
# Bochs locks its images).  GRUB also writes to COM1; if it cannot load
# thinvisor it says so and halts.  (ide_dma scans its RAM for the key: GRUB
# leaves copies of each file it reads, which thinvisor must wipe.)
make_iso() {
	local g=$1 elf=$BUILD/guests/$1.elf dir=$LOGDIR/iso/$1.d args key=""
	args=$(guest_args "$g")
	rm -rf "$dir"
	mkdir -p "$dir/boot/grub" || return 1
	cp "$HV" "$dir/boot/thinvisor.elf" && cp "$elf" "$dir/boot/$g.elf" || return 1
	if is_ide "$g"; then
		cp "$KEYS/k64.bin" "$dir/boot/thinvisor.key" || return 1
		key="module2 /boot/thinvisor.key thinvisor.key"
	fi
	cat >"$dir/boot/grub/grub.cfg" <<EOF
set timeout=0
serial --unit=0 --speed=115200
terminal_output console serial
multiboot2 /boot/thinvisor.elf $HV_APPEND
module2 /boot/$g.elf${args:+ $args}
$key
boot
echo "bochs.sh: GRUB could not boot thinvisor"
halt
EOF
	grub-mkrescue -o "$LOGDIR/iso/$g.iso" "$dir" >"$LOGDIR/iso/$g.mkrescue" 2>&1 || return 1
	rm -rf "$dir"
}

NEED_ISO=()
for t in "${TESTS[@]}"; do
	if is_guest "$t"; then
		[ -f "$BUILD/guests/$t.elf" ] || { echo "bochs.sh: $BUILD/guests/$t.elf not found: make guests" >&2; exit 2; }
		NEED_ISO+=("$t")
	else
		NEED_ISO+=(cpuid)
	fi
done
for t in "${TESTS[@]}"; do
	is_ide "$t" || continue
	if [ ! -x "$TV" ] || [ tools/tvcrypt.c -nt "$TV" ]; then
		make -s BUILD="$BUILD" tools >"$LOGDIR/tvcrypt-build.log" 2>&1 ||
			{ tail "$LOGDIR/tvcrypt-build.log" >&2; echo "bochs.sh: building tvcrypt failed" >&2; exit 2; }
	fi
	tests/keys/make-keys.sh "$TV" "$KEYS" >/dev/null || { echo "bochs.sh: making the keys failed" >&2; exit 2; }
	break
done
for g in $(printf '%s\n' "${NEED_ISO[@]}" | sort -u); do
	if ! make_iso "$g"; then
		echo "bochs.sh: grub-mkrescue failed for $g:" >&2
		tail -n 10 "$LOGDIR/iso/$g.mkrescue" >&2
		exit 2
	fi
done

# CPUs per guest (Bochs' "cpu: count=").
guest_cpus() { case $1 in smp_*) echo 2 ;; *) echo 1 ;; esac; }

# bochs_cfg MODEL ISO SERIAL-LOG BOCHS-LOG [DISK] [CPUS]
bochs_cfg() {
	local drives="ata0-master: type=cdrom, path=$2, status=inserted"
	[ -n "${5:-}" ] && drives="ata0-master: type=disk, path=$5, mode=flat
ata1-master: type=cdrom, path=$2, status=inserted"
	cat <<EOF
megs: 512
romimage: file=$BIOS
vgaromimage: file=$VGABIOS
cpu: model=$1, count=${6:-1}, ips=50000000, reset_on_triple_fault=0
$drives
boot: cdrom
com1: enabled=1, mode=file, dev=$3
display_library: term
sound: driver=dummy
speaker: enabled=0
clock: sync=none
log: $4
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
EOF
}

VERDICT='TEST PASS: |TEST FAIL: |PANIC: |guest shut down'

# run_bochs MODEL ISO BASE [DISK [CPUS]]: boot, wait for a verdict (or Bochs' end,
# or the timeout), let the log settle, stop Bochs.  Prints how it ended.
run_bochs() {
	local model=$1 base=$3 iso=$3.iso log=$3.log pidf=$3.pid t0 size last stable=0 how=timeout
	cp "$2" "$iso" || { echo "cannot copy the ISO"; return; }
	rm -f "$log" "$pidf"
	bochs_cfg "$model" "$iso" "$log" "$base.bochs" "${4:-}" "${5:-1}" >"$base.rc"
	echo c >"$base.cmds"
	# The term display wants a terminal: script gives it a pseudo-terminal.
	setsid script -qec "echo \$\$ >'$pidf'; exec $BOCHS -q -f '$base.rc' -rc '$base.cmds'" /dev/null \
		</dev/null >"$base.term" 2>&1 &
	local spid=$!
	t0=$SECONDS
	while [ $((SECONDS - t0)) -lt "$TIMEOUT" ]; do
		sleep 0.2
		if ! kill -0 "$spid" 2>/dev/null; then how="Bochs exited"; break; fi
		if [ -f "$log" ] && grep -aqE "$VERDICT" "$log"; then how=verdict; break; fi
	done
	# A panic goes on with a register dump: wait until the log is quiet.
	if [ "$how" = verdict ]; then
		last=-1
		for _ in $(seq 1 30); do
			size=$(stat -c %s "$log" 2>/dev/null || echo 0)
			if [ "$size" = "$last" ]; then
				stable=$((stable + 1))
				[ $stable -ge 2 ] && break
			else
				stable=0
			fi
			last=$size
			sleep 0.2
		done
	fi
	[ -f "$pidf" ] && kill "$(cat "$pidf")" 2>/dev/null
	kill -- -"$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	rm -f "$iso" "$pidf" "$base.cmds" "${4:+$4.lock}"
	echo "$how after $((SECONDS - t0))s"
}

show_tail() {
	local log=$1.log b=$1.bochs
	if [ -s "$log" ]; then
		echo "    --- last lines of $log:"
		tail -n 25 "$log" | tr -d '\r' | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/^/    | /'
	else
		echo "    --- $log is empty"
	fi
	if [ -s "$b" ]; then
		echo "    --- Bochs' log ($b), errors and panics:"
		grep -aE '[ep]\[' "$b" | tail -n 10 | sed 's/^/    | /'
	fi
}

# run_case TEST MODEL: prints the result line(s); returns 0 iff passed.
run_case() {
	local t=$1 model=$2 base how pattern ok=0
	base=$LOGDIR/$t.$model
	if is_ide "$t"; then
		rm -f "$base.img"
		truncate -s 64M "$base.img" || return 1
		how=$(run_bochs "$model" "$LOGDIR/iso/$t.iso" "$base" "$base.img")
		grep -aqE "TEST PASS: $t([^A-Za-z0-9_]|\$)" "$base.log" 2>/dev/null &&
			! grep -aq 'PANIC' "$base.log" && ok=1
		# Every range the guest wrote is ciphertext on the image.
		local f c s e n=0 out
		while read -r _ f c s e; do
			n=$((n + 1))
			[ "$e" = written ] && out=$("$TV" check --key "$KEYS/k64.bin" --image "$base.img" \
				--lba "$f" --count "$c" --pattern "$s" --expect encrypted 2>&1) && continue
			ok=0
			how="$how; LBA $f+$c not encrypted ($e): ${out:-}"
		done < <(tr -d '\r' <"$base.log" | grep -a '^DISK ')
		[ $n -gt 0 ] || { ok=0; how="$how; no DISK lines"; }
		[ $ok -eq 1 ] && rm -f "$base.img"
	elif is_guest "$t"; then
		how=$(run_bochs "$model" "$LOGDIR/iso/$t.iso" "$base" "" "$(guest_cpus "$t")")
		grep -aqE "TEST PASS: $t([^A-Za-z0-9_]|\$)" "$base.log" 2>/dev/null &&
			! grep -aq 'PANIC' "$base.log" && ok=1
	else
		pattern=$(neg_pattern "$t")
		how=$(run_bochs "$model" "$LOGDIR/iso/cpuid.iso" "$base")
		grep -aq 'PANIC' "$base.log" 2>/dev/null && grep -aqiE "$pattern" "$base.log" && ok=1
	fi
	if [ $ok -eq 1 ]; then
		echo "PASS $t [$model]"
		return 0
	fi
	if [ -n "${pattern:-}" ]; then
		echo "FAIL $t [$model] ($how; want PANIC and /$pattern/i in the log)"
	else
		echo "FAIL $t [$model] ($how; no \"TEST PASS: $t\" or a PANIC in the log)"
	fi
	show_tail "$base"
	return 1
}

CASE_T=()
CASE_M=()
for t in "${TESTS[@]}"; do
	if is_negative "$t"; then
		CASE_T+=("$t")
		CASE_M+=("$(neg_model "$t")")
		continue
	fi
	for m in "${MODELS[@]}"; do
		why=$(skip_reason "$t" "$m")
		if [ -n "$why" ]; then
			echo "SKIP $t [$m] ($why)"
			continue
		fi
		CASE_T+=("$t")
		CASE_M+=("$m")
	done
done

passed=0
failed=0
RES=$(mktemp -d "$LOGDIR/.run.XXXXXX") || exit 2
trap 'rm -rf "$RES"' EXIT
running=0
for i in "${!CASE_T[@]}"; do
	if [ $running -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
	( run_case "${CASE_T[$i]}" "${CASE_M[$i]}" >"$RES/$i.out"
	  echo $? >"$RES/$i.rc" ) &
	running=$((running + 1))
	[ "$JOBS" -le 1 ] && { wait; running=0; cat "$RES/$i.out"; }
done
wait
for i in "${!CASE_T[@]}"; do
	[ "$JOBS" -le 1 ] || cat "$RES/$i.out"
	if [ "$(cat "$RES/$i.rc" 2>/dev/null)" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
