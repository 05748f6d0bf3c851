#!/usr/bin/env bash
# Run libFuzzer harnesses for a time budget each and total the results.
#   tests/fuzz/run.sh [--fresh] [-j JOBS] [-t SECONDS] BIN_DIR WORK_DIR NAME...
# For each NAME, BIN_DIR/NAME fuzzes WORK_DIR/corpus/NAME, seeded from the
# checked-in tests/fuzz/corpus/NAME (which is never written to); --fresh
# starts from the seeds alone, otherwise what earlier runs found is kept.
# Crashes, leaks, timeouts and violated invariants land in WORK_DIR/crash/,
# each run's log in WORK_DIR/logs/NAME.log.  JOBS harnesses run at a time
# (default 2), each for SECONDS (default 15).  Prints "PASS NAME" or
# "FAIL NAME" per harness as it ends, then exactly one line
# "N passed, N failed"; exits non-zero if any failed.
set -uo pipefail

fresh=0
jobs=2
secs=15
while [ $# -gt 0 ]; do
	case $1 in
	--fresh) fresh=1; shift ;;
	-j) jobs=$2; shift 2 ;;
	-t) secs=$2; shift 2 ;;
	-*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
if [ $# -lt 3 ]; then
	echo "usage: $0 [--fresh] [-j JOBS] [-t SECONDS] BIN_DIR WORK_DIR NAME..." >&2
	exit 2
fi
bin=$1
work=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$work/logs" "$work/crash" "$work/corpus" || exit 2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

# One harness: its verdict goes to WORK_DIR/logs/NAME.result, and to stdout.
run_one() {
	local name=$1 corpus=$work/corpus/$1 log=$work/logs/$1.log
	local args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -use_value_profile=1
		-print_final_stats=1 -artifact_prefix="$work/crash/$name-")
	[ -f "$src/$name.dict" ] && args+=(-dict="$src/$name.dict")
	[ "$fresh" -eq 1 ] && rm -rf "$corpus"
	mkdir -p "$corpus"
	[ -d "$src/corpus/$name" ] && cp -n "$src/corpus/$name"/* "$corpus"/ 2>/dev/null
	local t0=$SECONDS rc
	if [ ! -x "$bin/$name" ]; then
		echo "$bin/$name: missing" >"$log"
		rc=127
	else
		"$bin/$name" "${args[@]}" "$corpus" >"$log" 2>&1
		rc=$?
	fi
	local execs rate
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "PASS $name (${execs:-?} execs, ${rate:-?}/s, $((SECONDS - t0)) s, corpus $(ls "$corpus" | wc -l))"
		echo pass >"$work/logs/$name.result"
	else
		echo "FAIL $name (exit status $rc after ${execs:-?} execs; log $log)"
		grep -E 'ERROR: |invariant violated|runtime error|SUMMARY' "$log" | head -6 | sed 's/^/    /'
		local unit
		unit=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
		[ -n "$unit" ] && echo "    reproduce: $bin/$name $unit"
		echo fail >"$work/logs/$name.result"
	fi
}

trap 'kill $(jobs -p) 2>/dev/null; exit 130' INT TERM
running=0
for name in "$@"; do
	rm -f "$work/logs/$name.result"
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_one "$name" &
	running=$((running + 1))
done
wait

passed=0
failed=0
for name in "$@"; do
	if [ "$(cat "$work/logs/$name.result" 2>/dev/null)" = pass ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
