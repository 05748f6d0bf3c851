#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tools/bench.sh (make bench): thinvisor's storage benchmark, in one run on one
# QEMU, one guest and one IDE disk image, so the ratios compare like with like.
#
# Configurations (the guest's tvtest=bench: busybox dd, bs=1M, O_DIRECT,
# sequential write of zeros then read, MB = 10^6 bytes):
#   a  no-hv       Linux directly on QEMU, raw /dev/sda
#   b  hv-plain    under thinvisor, storage.policy=*:*:plain (mediated, no crypto)
#   c  hv-encrypt  under thinvisor, 64-byte key module (AES-256-XTS)
#   d  dm-crypt    Linux directly, in-guest dm-crypt aes-xts-plain64, same key
# and also: Linux boot time to "TV-INIT: reached" (host clock, from QEMU's
# start) with and without thinvisor; thinvisor VM exits per MiB moved (when
# the log has "thinvisor: exits total N"); build/tools/bench-xts (host
# AES-XTS, thinvisor's vs OpenSSL) if it exists; the trusted code's line
# count (C and assembly under boot/ core/ arch/ mm/ guest/ dev/ storage/
# crypto/ include/, blank and comment lines excluded; cloc if installed,
# else a built-in counter).
# Every configuration boots --runs times (default 3; the runs interleave the
# configurations, a b c d a b c d ...) and each boot does --reps write+read
# pairs (default 3); the tables give medians over all
# samples.  A configuration that fails (timeout, no TV-DONE, ...) is recorded
# as n/a with the reason and the rest go on.  After (b) the disk must hold the
# guest's zeros, after (c) it must not; (c)'s and (d)'s ciphertexts of the same
# zeros under the same key are compared (equal = thinvisor writes dm-crypt's
# exact format).
#
# Writes bench/results.md, bench/results.csv and (with gnuplot)
# bench/results.png; logs and the disk image go to build/bench/.
#
# Usage: tools/bench.sh [options]
#   --runs N        boots per configuration (default 3)
#   --reps N        write+read pairs per boot (default 3)
#   --mib N         MiB per dd (default 64; the disk is max(128, 2N) MiB)
#   --cpu MODEL     QEMU -cpu (default max,-erms: SVM+NPT and AES-NI; ERMS off
#                   because it slows TCG's rep movs, see EMULATORS.md)
#   --only LIST     configurations to run, e.g. a,d (default a,b,c,d)
#   --timeout SEC   per boot (default 300)
#   --out DIR       where results.* go (default bench/)
#   --controller C  the disk's controller: ide (PIIX, -machine pc; default),
#                   ahci (q35's ICH9) or nvme (q35, -device nvme)
# Env: TV_HV_ELF (default build/thinvisor.elf); TV_BENCH_NO_CLOC=1 uses the
# built-in line counter even when cloc is installed.  About 10 minutes.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

runs=3
reps=3
mib=64
cpu=max,-erms
only=a,b,c,d
timeout_s=300
outdir=bench
controller=ide
while (($#)); do
	case "$1" in
	--runs) runs=${2:?}; shift 2 ;;
	--reps) reps=${2:?}; shift 2 ;;
	--mib) mib=${2:?}; shift 2 ;;
	--cpu) cpu=${2:?}; shift 2 ;;
	--only) only=${2:?}; shift 2 ;;
	--timeout) timeout_s=${2:?}; shift 2 ;;
	--out) outdir=${2:?}; shift 2 ;;
	--controller) controller=${2:?}; shift 2 ;;
	-h | --help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
	*) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
for v in "$runs" "$reps" "$mib" "$timeout_s"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "bench: '$v' is not a positive number" >&2; exit 2; }
done

cd "$repo"
work=build/bench
hv_elf=${TV_HV_ELF:-build/thinvisor.elf}
mkdir -p "$work" "$outdir" build/test-keys
log() { echo "bench: $*"; }

qemu_pid=""
# shellcheck disable=SC2317 # invoked from traps
cleanup() {
	if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

median() { # numbers... -> median (or n/a)
	printf '%s\n' "$@" | awk '/^[0-9.]+$/ { v[n++] = $1 }
		END {
			if (!n) { print "n/a"; exit }
			for (i = 1; i < n; i++) for (j = i; j > 0 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
			if (n % 2) m = v[(n-1)/2]; else m = (v[n/2-1] + v[n/2]) / 2
			printf "%.1f\n", m
		}'
}
range() { # numbers... -> "min-max"
	printf '%s\n' "$@" | awk '/^[0-9.]+$/ { if (!n || $1 < lo) lo = $1; if (!n || $1 > hi) hi = $1; n++ }
		END { if (n) printf "%.0f-%.0f\n", lo, hi; else print "n/a" }'
}
ratio() { # A B -> A/B with 2 decimals, or n/a
	awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f\n", a / b; else print "n/a" }'
}

# --- the guest, the key and the disk ------------------------------------------
log "tools/linux-kit.sh"
tools/linux-kit.sh build >"$work/linux-kit.log" 2>&1 || {
	tail -n 20 "$work/linux-kit.log"
	log "error: tools/linux-kit.sh failed"
	exit 1
}
key=build/test-keys/k64.bin
printf '%s' "thinvisor test key 64" | sha512sum | cut -d' ' -f1 |
	python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))' >"$key"
key_hex=$(od -An -v -tx1 "$key" | tr -d ' \n')
disk_mib=$((2 * mib > 128 ? 2 * mib : 128))
disk=$work/disk.img
# Fully allocated, so the first write does not pay for the host's block
# allocation.
dd if=/dev/zero of="$disk" bs=1M count="$disk_mib" status=none
region_sum() { head -c $((mib * 1048576)) "$disk" | sha256sum | cut -d' ' -f1; }
zero_sum=$(head -c $((mib * 1048576)) /dev/zero | sha256sum | cut -d' ' -f1)

# boot LOG QEMU-ARGS...: QEMU with the serial port in LOG; sets boot_rc and
# boot_init (seconds from QEMU's start to "TV-INIT: reached", or n/a).
boot() {
	local log=$1 t0 t_init=""
	shift
	: >"$log"
	t0=$(date +%s%N)
	timeout --kill-after=10 "$timeout_s" \
		qemu-system-x86_64 -accel tcg -machine "$machine" -cpu "$cpu" -m 1024 \
		-display none -monitor none -no-reboot -serial "file:$log" \
		"${drive[@]}" "$@" \
		</dev/null >"$log.stderr" 2>&1 &
	qemu_pid=$!
	while kill -0 "$qemu_pid" 2>/dev/null; do
		if [[ -z $t_init ]] && grep -aq 'TV-INIT: reached' "$log"; then
			t_init=$(date +%s%N)
		fi
		sleep 0.05
	done
	boot_rc=0
	wait "$qemu_pid" || boot_rc=$?
	qemu_pid=""
	boot_init=n/a
	[[ -z $t_init ]] || boot_init=$(awk -v ns=$((t_init - t0)) 'BEGIN { printf "%.2f\n", ns / 1e9 }')
}

guest_cmd="console=ttyS0 panic=-1 tvtest=bench tvbenchmib=$mib tvbenchreps=$reps"
case "$controller" in
ide) machine=pc; drive=(-drive "file=$disk,format=raw,if=ide,index=0") ;;
ahci) machine=q35; drive=(-drive "file=$disk,format=raw,if=none,id=d0" -device ide-hd,drive=d0,bus=ide.0) ;;
nvme)
	machine=q35
	drive=(-drive "file=$disk,format=raw,if=none,id=d0" -device nvme,drive=d0,serial=tvbench)
	guest_cmd+=" tvdisk=nvme0n1"
	;;
*) echo "bench.sh: unknown controller '$controller'" >&2; exit 2 ;;
esac
# config_boot CFG LOG [GUEST WORDS]: boot configuration CFG once.
config_boot() {
	local cfg=$1 logf=$2
	shift 2
	local g="$guest_cmd${*:+ $*}"
	case "$cfg" in
	a) boot "$logf" -kernel build/linux/vmlinuz -initrd build/linux/initramfs.cpio.gz -append "$g" ;;
	b) boot "$logf" -kernel "$hv_elf" -append "console=com1 hvmem=64M storage.policy=*:*:plain" \
		-initrd "build/linux/vmlinuz $g,build/linux/initramfs.cpio.gz" ;;
	c) boot "$logf" -kernel "$hv_elf" -append "console=com1 hvmem=64M" \
		-initrd "build/linux/vmlinuz $g,build/linux/initramfs.cpio.gz,$key thinvisor.key" ;;
	d) boot "$logf" -kernel build/linux/vmlinuz -initrd build/linux/initramfs.cpio.gz \
		-append "$g tvdm=$key_hex" ;;
	esac
}

declare -A name=([a]=no-hv [b]=hv-plain [c]=hv-encrypt [d]=dm-crypt)
declare -A desc=(
	[a]="no hypervisor, raw disk"
	[b]="thinvisor, storage.policy=*:*:plain"
	[c]="thinvisor, encrypting (64-byte key module, AES-256-XTS)"
	[d]="no hypervisor, in-guest dm-crypt aes-xts-plain64 (same key)"
)
declare -A W=() R=() B=() X=() status=() note=()
c_sum="" d_sum=""
hv_sum0=$(sha256sum "$hv_elf" 2>/dev/null | cut -d' ' -f1 || true)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

cfgs=()
for cfg in a b c d; do
	if [[ ",$only," != *",$cfg,"* ]]; then
		status[$cfg]="n/a"; note[$cfg]="not run (--only $only)"
	elif [[ $cfg == [bc] && ! -f $hv_elf ]]; then
		status[$cfg]="n/a"; note[$cfg]="$hv_elf missing (run make)"
		log "${name[$cfg]}: ${note[$cfg]}"
	else
		status[$cfg]=ok; note[$cfg]=""
		cfgs+=("$cfg")
	fi
done

# Runs interleave the configurations (a b c d, a b c d, ...), so a burst of
# load on the host spreads over all of them instead of one.
for ((r = 1; r <= runs; r++)); do
	for cfg in "${cfgs[@]}"; do
		[[ ${status[$cfg]} == ok || ${status[$cfg]} == not-encrypted ]] || continue
		logf=$work/${name[$cfg]}-$r.log
		config_boot "$cfg" "$logf"
		B[$cfg]+=" $boot_init"
		mapfile -t ws < <(tr -d '\r' <"$logf" | sed -n 's/^TV-BENCH: write \([0-9.]*\)$/\1/p')
		mapfile -t rs < <(tr -d '\r' <"$logf" | sed -n 's/^TV-BENCH: read \([0-9.]*\)$/\1/p')
		x=$(tr -d '\r' <"$logf" | sed -n 's/.*thinvisor: exits total \([0-9]*\).*/\1/p' | tail -n 1)
		[[ -z $x ]] || X[$cfg]+=" $x"
		log "${name[$cfg]} run $r: boot ${boot_init}s, status $boot_rc, write ${ws[*]:-none}, read ${rs[*]:-none}${x:+, exits $x} ($logf)"
		if ((boot_rc != 0)) || ! grep -aq '^TV-DONE' "$logf" || grep -aq '^TV-ERROR' "$logf" ||
			((${#ws[@]} != reps || ${#rs[@]} != reps)); then
			why="run $r: QEMU status $boot_rc"
			((boot_rc == 124 || boot_rc == 137)) && why="run $r: timed out after ${timeout_s}s"
			e=$(tr -d '\r' <"$logf" | sed -n 's/^TV-ERROR: //p' | head -n 1)
			[[ -z $e ]] || why+="; $e"
			w=$(tr -d '\r' <"$logf" | grep -a -m 1 'thinvisor: PANIC\|thinvisor: warning' || true)
			[[ -z $w ]] || why+="; ${w:0:120}"
			grep -aq 'TV-INIT: reached' "$logf" || why+="; guest never reached /init"
			status[$cfg]="n/a"
			note[$cfg]=$why
			W[$cfg]="" R[$cfg]=""
			log "${name[$cfg]}: failed ($why); skipping its other runs"
		else
			W[$cfg]+=" ${ws[*]}"
			R[$cfg]+=" ${rs[*]}"
			# What the boot left on the disk.
			s=$(region_sum)
			case "$cfg" in
			a | b)
				[[ $s == "$zero_sum" ]] ||
					note[$cfg]="WARNING: the disk did not hold the guest's zeros after run $r"
				;;
			c)
				c_sum=$s
				if [[ $s == "$zero_sum" ]]; then
					status[c]="not-encrypted"
					note[c]="the disk held the guest's plaintext zeros after run $r: thinvisor did not encrypt"
				fi
				;;
			d) d_sum=$s ;;
			esac
		fi
		# Zero the disk for the next boot.
		dd if=/dev/zero of="$disk" bs=1M count="$disk_mib" conv=notrunc status=none
	done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
hv_changed=""
if [[ -n $hv_sum0 && $(sha256sum "$hv_elf" 2>/dev/null | cut -d' ' -f1) != "$hv_sum0" ]]; then
	hv_changed="WARNING: $hv_elf changed during the run (rebuilt?): (b) and (c) may mix two builds."
	log "$hv_changed"
fi
format_check="n/a (needs both c and d)"
if [[ -n $c_sum && -n $d_sum ]]; then
	if [[ $c_sum == "$d_sum" ]]; then
		format_check="identical: thinvisor's ciphertext of the first $mib MiB equals dm-crypt's"
	else
		format_check="DIFFERENT: thinvisor's ciphertext differs from dm-crypt's (sha256 $c_sum vs $d_sum)"
	fi
fi

# Exits per MiB: thinvisor prints "thinvisor: exits total N" when the guest
# powers off.  One extra boot of (b) and (c) with tvbenchmib=0 (boot, no dd)
# gives the baseline; exits/MiB = (median exits - baseline) / (MiB per boot).
declare -A XPM=() XBASE=()
for cfg in b c; do
	XPM[$cfg]="n/a"
	if [[ -z ${X[$cfg]:-} ]]; then
		XPM[$cfg]="n/a (no 'thinvisor: exits total' line)"
		continue
	fi
	[[ ${status[$cfg]} != n/a ]] || continue
	logf=$work/${name[$cfg]}-baseline.log
	config_boot "$cfg" "$logf" tvbenchmib=0
	base=$(tr -d '\r' <"$logf" | sed -n 's/.*thinvisor: exits total \([0-9]*\).*/\1/p' | tail -n 1)
	XBASE[$cfg]=${base:-none}
	# shellcheck disable=SC2086 # word lists
	med=$(median ${X[$cfg]})
	XPM[$cfg]=$(awk -v m="$med" -v b="$base" -v mib=$((2 * mib * reps)) \
		'BEGIN { if (b ~ /^[0-9]+$/) printf "%.0f\n", (m - b) / mib; else print "n/a" }')
	log "${name[$cfg]}: exits median $med, baseline ${base:-none}, per MiB ${XPM[$cfg]}"
done

# --- host AES-XTS (another tool) and the trusted code's size -------------------
xts_out=""
if [[ -x build/tools/bench-xts ]]; then
	log "build/tools/bench-xts"
	xts_out=$(timeout 600 build/tools/bench-xts -o "$work/xts.txt" 2>&1) || xts_out+=$'\n(bench-xts failed)'
else
	xts_out="build/tools/bench-xts not built"
fi

loc_dirs=()
for d in boot core arch mm guest dev storage crypto include; do
	[[ -d $d ]] && loc_dirs+=("$d")
done
loc_tool="built-in counter"
declare -A loc=()
loc_total=0
if [[ -z ${TV_BENCH_NO_CLOC:-} ]] && command -v cloc >/dev/null 2>&1; then
	loc_tool="cloc $(cloc --version 2>/dev/null)"
	for d in "${loc_dirs[@]}"; do
		n=$(cloc --quiet --csv --include-lang='C,C/C++ Header,Assembly' "$d" 2>/dev/null |
			awk -F, '$2 == "SUM" { print $5 }')
		loc[$d]=${n:-0}
		loc_total=$((loc_total + ${n:-0}))
	done
else
	cat >"$work/loc.py" <<-'EOF'
		# Lines of C/assembly that are neither blank nor comment-only.
		import re, sys
		lit_or_comment = re.compile(r'"(\\.|[^"\\\n])*"' r"|'(\\.|[^'\\\n])*'" r"|/\*.*?\*/|//[^\n]*", re.S)
		def keep(m):
		    t = m.group(0)
		    return t if t[0] in "\"'" else "\n" * t.count("\n")
		total = 0
		for path in sys.argv[1:]:
		    with open(path, encoding="utf-8", errors="replace") as f:
		        text = lit_or_comment.sub(keep, f.read())
		    asm = path.endswith((".S", ".s"))
		    for line in text.splitlines():
		        s = line.strip()
		        if not s or (asm and (s.startswith(";") or re.match(r"#(\s|$)", s))):
		            continue
		        total += 1
		print(total)
	EOF
	for d in "${loc_dirs[@]}"; do
		n=$(find "$d" -type f \( -name '*.c' -o -name '*.h' -o -name '*.S' -o -name '*.s' \) -print0 |
			xargs -0 -r python3 "$work/loc.py")
		loc[$d]=${n:-0}
		loc_total=$((loc_total + ${n:-0}))
	done
fi

# --- results -------------------------------------------------------------------
declare -A Wm=() Rm=() Bm=()
for cfg in a b c d; do
	# shellcheck disable=SC2086 # word lists
	Wm[$cfg]=$(median ${W[$cfg]:-})
	# shellcheck disable=SC2086
	Rm[$cfg]=$(median ${R[$cfg]:-})
	# shellcheck disable=SC2086
	Bm[$cfg]=$(median ${B[$cfg]:-})
done
# shellcheck disable=SC2086
boot_native=$(median ${B[a]:-} ${B[d]:-})
# shellcheck disable=SC2086
boot_hv=$(median ${B[b]:-} ${B[c]:-})
r_bw=$(ratio "${Wm[b]}" "${Wm[a]}") r_br=$(ratio "${Rm[b]}" "${Rm[a]}")
r_cw=$(ratio "${Wm[c]}" "${Wm[d]}") r_cr=$(ratio "${Rm[c]}" "${Rm[d]}")
r_ca_w=$(ratio "${Wm[c]}" "${Wm[a]}") r_ca_r=$(ratio "${Rm[c]}" "${Rm[a]}")
r_boot=$(ratio "$boot_hv" "$boot_native")
when=$(date -u +%Y-%m-%dT%H:%M:%SZ)
qemu_ver=$(qemu-system-x86_64 --version | head -n 1)
kver=$(cat build/linux/kernel-version)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
[[ -z $(git status --porcelain 2>/dev/null | head -n 1) ]] || dirty=" (work tree modified)"

csv=$outdir/results.csv
{
	echo "config,name,metric,value,unit,samples,status,note"
	for cfg in a b c d; do
		ns=$(wc -w <<<"${W[$cfg]:-}")
		nb=$(wc -w <<<"${B[$cfg]:-}")
		n=${note[$cfg]//,/;}
		echo "$cfg,${name[$cfg]},write,${Wm[$cfg]},MB/s,$ns,${status[$cfg]},$n"
		echo "$cfg,${name[$cfg]},read,${Rm[$cfg]},MB/s,$ns,${status[$cfg]},$n"
		echo "$cfg,${name[$cfg]},boot_to_init,${Bm[$cfg]},s,$nb,${status[$cfg]},"
	done
	echo "b/a,plain/no-hv,write_ratio,$r_bw,,,,"
	echo "b/a,plain/no-hv,read_ratio,$r_br,,,,"
	echo "c/d,encrypt/dm-crypt,write_ratio,$r_cw,,,,"
	echo "c/d,encrypt/dm-crypt,read_ratio,$r_cr,,,,"
	echo "c/a,encrypt/no-hv,write_ratio,$r_ca_w,,,,"
	echo "c/a,encrypt/no-hv,read_ratio,$r_ca_r,,,,"
	echo "boot,no-hv,boot_to_init,$boot_native,s,,,"
	echo "boot,thinvisor,boot_to_init,$boot_hv,s,,,"
	for cfg in b c; do
		v=${XPM[$cfg]} n=""
		[[ $v =~ ^[0-9]+$ ]] || { n=${v//,/;}; v=n/a; }
		echo "$cfg,${name[$cfg]},exits_per_mib,$v,exits/MiB,,,$n"
	done
	echo "c~d,format,ciphertext_equal,$([[ $format_check == identical* ]] && echo yes || echo "${format_check%%:*}"),,,,"
	for d in "${loc_dirs[@]}"; do
		echo "loc,$d,lines,${loc[$d]},lines,,,$loc_tool"
	done
	echo "loc,total,lines,$loc_total,lines,,,$loc_tool"
} >"$csv"

md=$outdir/results.md
{
	echo "# thinvisor benchmark results"
	echo
	echo "Made by \`tools/bench.sh\` (\`make bench\`) on $when, commit $commit$dirty."
	echo "QEMU: $qemu_ver, TCG, \`-machine $machine -cpu $cpu -m 1024\`, $(nproc) host cores."
	echo "Guest: Debian kernel $kver, busybox initramfs (\`tvtest=bench\`)."
	echo "Disk: one ${disk_mib} MiB raw image on the $controller controller (\`${drive[*]}\`), used by every configuration."
	echo "Each boot: $reps x (dd if=/dev/zero of=DEV bs=1M count=$mib oflag=direct; dd if=DEV of=/dev/null bs=1M count=$mib iflag=direct);"
	echo "$runs boots per configuration; medians over all samples. MB = 10^6 bytes. Under TCG every number is"
	echo "emulation speed: compare rows within this table only."
	echo "Host load average (1/5/15 min) at the start: $load_start; at the end: $load_end"
	echo "(other work on the machine slows QEMU: the ranges show the spread)."
	[[ -z $hv_changed ]] || echo "$hv_changed"
	echo
	echo "| | configuration | write MB/s | read MB/s | write range | read range | samples | boot to /init (s) | status |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---|"
	for cfg in a b c d; do
		# shellcheck disable=SC2086
		echo "| $cfg | ${desc[$cfg]} | ${Wm[$cfg]} | ${Rm[$cfg]} | $(range ${W[$cfg]:-}) | $(range ${R[$cfg]:-}) | $(wc -w <<<"${W[$cfg]:-}") | ${Bm[$cfg]} | ${status[$cfg]}${note[$cfg]:+: ${note[$cfg]}} |"
	done
	echo
	echo "| ratio | write | read |"
	echo "|---|---:|---:|"
	echo "| thinvisor plain / no hypervisor (b/a) | $r_bw | $r_br |"
	echo "| thinvisor encrypting / in-guest dm-crypt (c/d) | $r_cw | $r_cr |"
	echo "| thinvisor encrypting / no hypervisor (c/a) | $r_ca_w | $r_ca_r |"
	echo
	echo "- Boot to \`TV-INIT: reached\` (host clock from QEMU's start, median): without thinvisor ${boot_native} s (a, d), under thinvisor ${boot_hv} s (b, c); ratio $r_boot."
	echo "- VM exits per MiB moved: plain ${XPM[b]}, encrypting ${XPM[c]} (exits per boot: plain${X[b]:- none}, baseline ${XBASE[b]:-none}; encrypting${X[c]:- none}, baseline ${XBASE[c]:-none}; $((2 * mib * reps)) MiB moved per boot)."
	echo "- On-disk format: $format_check."
	echo
	echo "## Trusted code"
	echo
	echo "C and assembly lines (blank and comment lines excluded; $loc_tool):"
	echo
	echo "| directory | lines |"
	echo "|---|---:|"
	for d in "${loc_dirs[@]}"; do
		echo "| $d/ | ${loc[$d]} |"
	done
	echo "| **total** | **$loc_total** |"
	echo
	echo "## Host AES-XTS: thinvisor's crypto/ vs OpenSSL (build/tools/bench-xts)"
	echo
	echo '```'
	echo "$xts_out"
	echo '```'
	echo
	echo "Raw data: results.csv; serial logs of every boot: build/bench/ (not kept in git)."
} >"$md"

# --- chart ---------------------------------------------------------------------
png=$outdir/results.png
if command -v gnuplot >/dev/null 2>&1; then
	dat=$work/chart.dat
	{
		for cfg in a b c d; do
			wv=${Wm[$cfg]} rv=${Rm[$cfg]}
			[[ $wv != n/a ]] || wv=NaN
			[[ $rv != n/a ]] || rv=NaN
			echo "\"$cfg ${name[$cfg]}\" $wv $rv"
		done
	} >"$dat"
	if gnuplot <<-EOF >"$work/gnuplot.log" 2>&1; then
		set terminal pngcairo size 900,520 font "sans,10" noenhanced
		set output "$png"
		set title "thinvisor: sequential IDE throughput, dd bs=1M O_DIRECT, QEMU TCG -cpu $cpu (medians)"
		set ylabel "MB/s (log scale)"
		set logscale y
		set style data histograms
		set style histogram clustered gap 1
		set style fill solid 0.8 border -1
		set boxwidth 0.9
		set key top right
		set grid ytics
		set datafile missing "NaN"
		set yrange [1:*]
		plot "$dat" using 2:xtic(1) title "write", '' using 3 title "read"
	EOF
		log "wrote $png"
	else
		log "gnuplot failed (see $work/gnuplot.log); no chart"
	fi
else
	log "gnuplot not installed: no chart (apt-get install gnuplot-nox)"
fi
log "wrote $md and $csv"
sed -n '/^| |/,/^$/p' "$md"
