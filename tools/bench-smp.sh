#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tools/bench-smp.sh [--runs N] [--out DIR]: Linux boot time (QEMU start to
# "TV-INIT: reached", host clock) with 1 and with 4 CPUs, natively and under
# thinvisor (QEMU TCG, SVM), through tests/e2e/linux-boot.sh, N runs each
# (default 3), the four configurations interleaved; writes medians and
# ratios to DIR/results.md (default bench/smp).  Ratios come from one run
# of this script, never across machines or runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
out=bench/smp
while (($#)); do
	case "$1" in
	--runs) runs=${2:?}; shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	*) echo "bench-smp: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
mkdir -p "$out"
logs=build/bench-smp
mkdir -p "$logs"
declare -A t
for ((r = 1; r <= runs; r++)); do
	for n in 1 4; do
		TV_TEST_LOGS=$logs/run$r-smp$n tests/e2e/linux-boot.sh --smp "$n" >"$logs/run$r-smp$n.out" 2>&1 ||
			{ echo "bench-smp: linux-boot.sh --smp $n failed (run $r), see $logs/run$r-smp$n.out" >&2; exit 1; }
		f=$(ls "$logs/run$r-smp$n"/linux-boot-times*.txt)
		t[hv$n]+="$(awk '$1 == "thinvisor" { print $2 }' "$f") "
		t[nat$n]+="$(awk '$1 == "native" { print $2 }' "$f") "
	done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
{
	echo "# Linux boot time, 1 vs 4 CPUs ($(date -u +%Y-%m-%dT%H:%M:%SZ))"
	echo
	echo "QEMU TCG (\`-cpu qemu64,+svm,+npt\`), $(nproc) host cores, medians of $runs boots to TV-INIT, seconds."
	echo
	echo "| CPUs | native | thinvisor | thinvisor/native | runs (thinvisor) |"
	echo "|---|---|---|---|---|"
	for n in 1 4; do
		h=$(median "${t[hv$n]}") a=$(median "${t[nat$n]}")
		echo "| $n | $a | $h | $(ratio "$h" "$a") | ${t[hv$n]}|"
	done
} >"$out/results.md"
cat "$out/results.md"
