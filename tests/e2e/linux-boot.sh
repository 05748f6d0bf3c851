#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/e2e/linux-boot.sh: boot Debian's Linux under thinvisor (QEMU TCG, SVM)
# with tvtest=boot and judge the guest's report; boot the same guest without
# thinvisor as a control.
#
# Needs build/thinvisor.elf (make; env TV_HV_ELF overrides) and runs
# tools/linux-kit.sh itself.  Serial logs go to
# build/test-logs/linux-boot-{hv,native}.log, boot times to
# build/test-logs/linux-boot-times.txt (env TV_TEST_LOGS overrides the folder).
#
# Checks, from the serial log (hypervisor and guest share COM1):
#   hv:     QEMU exits by itself with status 0 (guest powered off),
#           TV-INIT: reached, TV-DONE, "hypervisor" in the cpu0 flags,
#           exactly one "thinvisor: hv region 0x<16 hex>-0x<16 hex>" line
#           [A,B), no "System RAM" range of /proc/iomem (any nesting level)
#           overlapping [A,B), and MemTotal below (RAM - (B-A)) but above half
#           of it.
#   native: exits by itself, TV-INIT, TV-DONE, no "hypervisor" flag, and its
#           System RAM does overlap [A,B) (so the hv check can fail).
# QEMU's TCG CPUs report the hypervisor bit (CPUID.1:ECX[31]) by default, so
# ",-hypervisor" is appended to the CPU model for both boots: under thinvisor
# the bit must come from thinvisor itself.
#
# With --smp N (N > 1) both boots get N CPUs, and under thinvisor also:
#   every CPU online (/proc/cpuinfo count and /sys/.../cpu/online), the
#   hypervisor flag on each CPU, the CPUID 0x40000000 signature "thinvisor"
#   read on each CPU (/dev/cpu/N/cpuid), and after CPU hotplug of the last
#   CPU (offline, online: the guest's INIT/SIPI again) the signature there;
#   natively the signatures are absent (control).  Logs and the times file
#   get an -smpN suffix.
#
# Usage: tests/e2e/linux-boot.sh [--cpu MODEL] [--timeout SEC] [--mem MIB] [--smp N]
#   (defaults: qemu64,+svm,+npt, 300, 1024, 1; env TV_E2E_GUEST_APPEND adds
#   words to the guest command line).  Prints PASS/FAIL per check and ends with
#   "N passed, N failed"; exits 1 if any check failed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

cpu=qemu64,+svm,+npt
timeout_s=300
mem_mib=1024
hvmem=64M
smp=1
while (($#)); do
	case "$1" in
	--cpu) cpu=${2:?--cpu needs a value}; shift 2 ;;
	--timeout) timeout_s=${2:?--timeout needs a value}; shift 2 ;;
	--mem) mem_mib=${2:?--mem needs a value}; shift 2 ;;
	--smp) smp=${2:?--smp needs a value}; shift 2 ;;
	-h|--help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
	*) echo "linux-boot: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[[ $cpu == *hypervisor* ]] || cpu="$cpu,-hypervisor"

cd "$repo"
logdir=${TV_TEST_LOGS:-build/test-logs}
hv_elf=${TV_HV_ELF:-build/thinvisor.elf}
mkdir -p "$logdir"
sfx=""
((smp == 1)) || sfx=-smp$smp
times_file=$logdir/linux-boot-times$sfx.txt
guest_cmdline="console=ttyS0 panic=-1 tvtest=boot${TV_E2E_GUEST_APPEND:+ $TV_E2E_GUEST_APPEND}"

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1${2:+: $2}"
	failed=$((failed + 1))
}
check() { # name condition-status detail
	if (($2 == 0)); then pass "$1"; else fail "$1" "${3:-}"; fi
}
info() { echo "INFO $*"; }
finish() {
	echo "$passed passed, $failed failed"
	if ((failed)); then exit 1; fi
	exit 0
}

qemu_pid=""
# shellcheck disable=SC2317 # invoked from traps
cleanup() {
	if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

now_ns() { date +%s%N; }
secs() { # nanoseconds -> seconds with 2 decimals
	local ms=$(($1 / 1000000))
	printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10))
}

# boot LOG QEMU-ARGS...: run QEMU with the serial port logged to LOG, watch
# the log for TV-INIT.  Sets boot_rc, boot_init (seconds or "-"), boot_total.
boot() {
	local log=$1 t0 t_init="" t_end
	shift
	: >"$log"
	t0=$(now_ns)
	timeout --kill-after=10 "$timeout_s" \
		qemu-system-x86_64 -accel tcg -machine pc -cpu "$cpu" -m "$mem_mib" -smp "$smp" \
		-display none -monitor none -no-reboot -serial "file:$log" "$@" \
		</dev/null >"$log.stderr" 2>&1 &
	qemu_pid=$!
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [[ -z $t_init ]] && grep -aq 'TV-INIT: reached' "$log"; then
			t_init=$(now_ns)
		fi
		sleep 0.1
	done
	boot_rc=0
	wait "$qemu_pid" || boot_rc=$?
	qemu_pid=""
	t_end=$(now_ns)
	if [[ -z $t_init ]] && grep -aq 'TV-INIT: reached' "$log"; then
		t_init=$t_end
	fi
	boot_total=$(secs $((t_end - t0)))
	boot_init=-
	[[ -z $t_init ]] || boot_init=$(secs $((t_init - t0)))
	if [[ -s $log.stderr ]]; then
		sed 's/^/INFO qemu: /' "$log.stderr" | head -n 20
	fi
}

exit_detail() { # QEMU status -> words
	case "$1" in
	0) echo "status 0" ;;
	124 | 137) echo "timed out after ${timeout_s}s" ;;
	33) echo "status 33 (isa-debug-exit TV_EXIT_PASS)" ;;
	35) echo "status 35 (isa-debug-exit TV_EXIT_FAIL)" ;;
	65) echo "status 65 (thinvisor panic / fatal boot error)" ;;
	67) echo "status 67 (guest triple-faulted)" ;;
	*) echo "status $1" ;;
	esac
}

# Value of a hex string, capped at 2^60 (System RAM is far below; bash
# arithmetic is signed 64-bit).
hexval() {
	local h=$1
	while [[ $h == 0* ]]; do h=${h#0}; done
	if ((${#h} == 0)); then
		echo 0
	elif ((${#h} > 15)); then
		echo $((1 << 60))
	else
		echo $((16#$h))
	fi
}

# report LOG TAG: the text after "TAG: " on each line of LOG carrying it.
report() { tr -d '\r' <"$1" | sed -n "s/.*$2: //p"; }

# ram_overlap LOG A B: print the System RAM lines overlapping [A,B); status 2
# if the log holds no usable System RAM line.
ram_overlap() {
	local log=$1 a=$2 b=$3 line s e nram=0 nonzero=0
	while IFS= read -r line; do
		[[ $line =~ ^\ *([0-9a-fA-F]+)-([0-9a-fA-F]+)\ :\ (.*)$ ]] || continue
		[[ ${BASH_REMATCH[3]} == "System RAM" ]] || continue
		nram=$((nram + 1))
		s=$(hexval "${BASH_REMATCH[1]}")
		e=$(hexval "${BASH_REMATCH[2]}") # inclusive
		((e == 0)) || nonzero=1
		if ((s < b && e >= a)); then
			echo "$line"
		fi
	done < <(report "$log" TV-IOMEM)
	((nram > 0 && nonzero)) || return 2
	return 0
}

dump_tail() {
	echo "INFO last lines of $1:"
	tr -d '\r' <"$1" | tail -n 25 | sed 's/^/INFO | /'
}

# smp_checks hv|native LOG: the SMP facts of the report (see the header).
smp_checks() {
	local who=$1 log=$2 n online sigs nsig hvf nhv hp
	n=$(report "$log" TV-NCPUS | head -n 1)
	online=$(report "$log" TV-ONLINE | head -n 1)
	ok=1; [[ $n == "$smp" && $online == "0-$((smp - 1))" ]] && ok=0
	check "$who-smp-all-online" "$ok" "want $smp CPUs online (0-$((smp - 1))): count ${n:-?}, online ${online:-?}"
	sigs=$(report "$log" TV-CPU-SIG)
	nsig=$(grep -c ' thinvisor$' <<<"$sigs" || true)
	if [[ $who == hv ]]; then
		hvf=$(report "$log" TV-CPU-HVFLAG)
		nhv=$(grep -c '^yes$' <<<"$hvf" || true)
		ok=1; ((nhv == smp)) && ok=0
		check hv-smp-hypervisor-flag-each "$ok" "hypervisor flag on $nhv of $smp CPUs"
		ok=1; ((nsig == smp)) && ok=0
		check hv-smp-signature-each "$ok" "thinvisor signature on $nsig of $smp CPUs: $(tr '\n' ';' <<<"$sigs")"
		hp=$(report "$log" TV-HOTPLUG | head -n 1)
		ok=1; [[ $hp == "cpu$((smp - 1)) thinvisor" ]] && ok=0
		check hv-smp-hotplug "$ok" "after offline/online: '${hp:-<none>}'"
	else
		ok=1; ((nsig == 0)) && [[ -n $sigs ]] && ok=0
		check native-smp-no-signature "$ok" "natively $nsig CPUs show the signature (want 0, and a reading)"
	fi
}

# --- the guest kit ---------------------------------------------------------------
if ! tools/linux-kit.sh build >"$logdir/linux-kit.log" 2>&1; then
	fail linux-kit "tools/linux-kit.sh failed, see $logdir/linux-kit.log"
	tail -n 20 "$logdir/linux-kit.log" | sed 's/^/INFO | /'
	finish
fi
pass linux-kit
info "guest kernel $(cat build/linux/kernel-version), cpu $cpu, ${mem_mib} MiB, timeout ${timeout_s}s"

region_a=""
region_b=""
hv_init=- hv_total=- hv_rc=-
nat_init=- nat_total=- nat_rc=-

# --- under thinvisor -------------------------------------------------------------
hvlog=$logdir/linux-boot-hv$sfx.log
if [[ ! -f $hv_elf ]]; then
	fail hv-elf "$hv_elf missing (run make)"
else
	# Relative paths: each module's whole string is its command line.
	boot "$hvlog" -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-kernel "$hv_elf" -append "console=com1 hvmem=$hvmem" \
		-initrd "build/linux/vmlinuz $guest_cmdline,build/linux/initramfs.cpio.gz"
	hv_rc=$boot_rc hv_init=$boot_init hv_total=$boot_total
	info "thinvisor boot: TV-INIT after ${hv_init}s, QEMU ran ${hv_total}s, $(exit_detail "$hv_rc"), log $hvlog"
	tr -d '\r' <"$hvlog" | grep -a 'thinvisor: PANIC' | head -n 5 | sed 's/^/INFO /' || true

	ok=1; ((hv_rc == 0)) && ok=0
	check hv-qemu-exit "$ok" "$(exit_detail "$hv_rc")"
	ok=1; grep -aq 'TV-INIT: reached' "$hvlog" && ok=0
	check hv-init-reached "$ok" "no 'TV-INIT: reached' in $hvlog"
	ok=1; grep -aq 'TV-DONE' "$hvlog" && ok=0
	check hv-report-done "$ok" "no TV-DONE in $hvlog"
	if ! grep -aq 'TV-DONE' "$hvlog"; then dump_tail "$hvlog"; fi

	flags=$(report "$hvlog" TV-CPUINFO-FLAGS | head -n 1)
	ok=1; [[ " $flags " == *" hypervisor "* ]] && ok=0
	check hv-cpuid-hypervisor-flag "$ok" "flags: ${flags:-<none>}"

	mapfile -t rlines < <(tr -d '\r' <"$hvlog" |
		grep -aoE 'thinvisor: hv region 0x[0-9a-fA-F]{16}-0x[0-9a-fA-F]{16}' || true)
	if ((${#rlines[@]} == 1)) &&
		[[ ${rlines[0]} =~ 0x([0-9a-fA-F]{16})-0x([0-9a-fA-F]{16}) ]]; then
		region_a=$(hexval "${BASH_REMATCH[1]}")
		region_b=$(hexval "${BASH_REMATCH[2]}")
		if ((region_a < region_b)); then
			pass hv-region-line
		else
			fail hv-region-line "empty range in '${rlines[0]}'"
			region_a="" region_b=""
		fi
	else
		fail hv-region-line "expected exactly one 'thinvisor: hv region 0x<16 hex>-0x<16 hex>' line, found ${#rlines[@]}"
	fi

	if [[ -n $region_a ]]; then
		range=$(printf '[0x%x,0x%x)' "$region_a" "$region_b")
		st=0
		overlap=$(ram_overlap "$hvlog" "$region_a" "$region_b") || st=$?
		if ((st == 2)); then
			fail hv-iomem-no-overlap "no System RAM line with an address in the guest's /proc/iomem"
		elif [[ -n $overlap ]]; then
			fail hv-iomem-no-overlap "System RAM overlapping $range: $(echo "$overlap" | tr '\n' ';')"
		else
			pass hv-iomem-no-overlap
		fi

		memtotal=$(report "$hvlog" TV-MEMTOTAL | head -n 1)
		limit=$((mem_mib * 1024 - (region_b - region_a) / 1024))
		ok=1
		[[ $memtotal =~ ^[0-9]+$ ]] && ((memtotal < limit && memtotal > limit / 2)) && ok=0
		check hv-memtotal "$ok" "MemTotal ${memtotal:-<none>} kB, expected in ($((limit / 2)),$limit) kB"
		info "thinvisor guest MemTotal ${memtotal:-?} kB, hv region $range"
	else
		fail hv-iomem-no-overlap "no hv region known"
		fail hv-memtotal "no hv region known"
	fi
	if ((smp > 1)); then smp_checks hv "$hvlog"; fi
fi

# --- without thinvisor (control) -----------------------------------------------
natlog=$logdir/linux-boot-native$sfx.log
boot "$natlog" -kernel build/linux/vmlinuz -initrd build/linux/initramfs.cpio.gz \
	-append "$guest_cmdline"
nat_rc=$boot_rc nat_init=$boot_init nat_total=$boot_total
info "native boot: TV-INIT after ${nat_init}s, QEMU ran ${nat_total}s, $(exit_detail "$nat_rc"), log $natlog"

ok=1; ((nat_rc == 0)) && ok=0
check native-qemu-exit "$ok" "$(exit_detail "$nat_rc")"
ok=1; grep -aq 'TV-INIT: reached' "$natlog" && ok=0
check native-init-reached "$ok" "no 'TV-INIT: reached' in $natlog"
ok=1; grep -aq 'TV-DONE' "$natlog" && ok=0
check native-report-done "$ok" "no TV-DONE in $natlog"
if ! grep -aq 'TV-DONE' "$natlog"; then dump_tail "$natlog"; fi
flags=$(report "$natlog" TV-CPUINFO-FLAGS | head -n 1)
ok=1; [[ -n $flags && " $flags " != *" hypervisor "* ]] && ok=0
check native-no-hypervisor-flag "$ok" "flags: ${flags:-<none>}"

# The no-overlap check must be able to fail: natively the region is RAM.
ca=${region_a:-$((0x3c000000))}
cb=${region_b:-$((0x40000000))}
st=0
overlap=$(ram_overlap "$natlog" "$ca" "$cb") || st=$?
ok=1; ((st == 0)) && [[ -n $overlap ]] && ok=0
check native-iomem-control "$ok" "$(printf 'no System RAM over [0x%x,0x%x) without thinvisor' "$ca" "$cb")"
info "native guest MemTotal $(report "$natlog" TV-MEMTOTAL | head -n 1) kB"
if ((smp > 1)); then smp_checks native "$natlog"; fi

{
	echo "# tests/e2e/linux-boot.sh $(date -u +%Y-%m-%dT%H:%M:%SZ): cpu $cpu, $smp CPUs, ${mem_mib} MiB, kernel $(cat build/linux/kernel-version)"
	echo "# run        to-TV-INIT(s)  qemu-total(s)  qemu-status"
	printf '%-12s %-14s %-14s %s\n' thinvisor "$hv_init" "$hv_total" "$hv_rc"
	printf '%-12s %-14s %-14s %s\n' native "$nat_init" "$nat_total" "$nat_rc"
} >"$times_file"
info "boot times written to $times_file"
sed 's/^/INFO   /' "$times_file"

finish
