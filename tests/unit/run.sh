#!/bin/sh
# Run host unit test binaries and total their cmocka results.
#   tests/unit/run.sh BUILD_DIR TEST...
# Prints each binary's output, then exactly one line "N passed, N failed"
# counting individual test cases.  A test that started but never reported
# (the binary died), or that never ran because of it, counts as failed; so
# does a binary that is missing or dies before cmocka starts.  Exits
# non-zero if any test failed or any binary exited abnormally.

if [ $# -lt 1 ]; then
	echo "usage: $0 BUILD_DIR TEST..." >&2
	exit 2
fi
dir=$1
shift

passed=0
failed=0
bad=0
log=$(mktemp "${TMPDIR:-/tmp}/tv-unit.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT TERM

for t in "$@"; do
	bin=$dir/$t
	echo "=== $t"
	if [ ! -x "$bin" ]; then
		echo "--- $t: $bin missing or not executable"
		failed=$((failed + 1))
		bad=1
		continue
	fi
	"$bin" >"$log" 2>&1
	rc=$?
	cat "$log"

	# "planned ok failed skipped": follow each "[ RUN      ] name" to the
	# first result line for the same name.
	counts=$(awk '
		function name() { return substr($0, 14) }
		/^\[==========\] Running [0-9]+ test/ { planned = $3 + 0; next }
		/^\[ RUN      \] / { if (pending) lost++; cur = name(); pending = 1; started++; next }
		pending && /^\[/ && name() == cur {
			if ($0 ~ /^\[       OK \] /) ok++
			else if ($0 ~ /^\[  SKIPPED \] /) skip++
			else fail++
			pending = 0
		}
		END {
			if (pending) lost++
			notrun = planned - started
			if (notrun < 0) notrun = 0
			printf "%d %d %d %d\n", planned, ok, fail + lost + notrun, skip
		}' "$log")
	set -- $counts
	planned=$1 ok=$2 nfail=$3 skip=$4

	if [ "$planned" -eq 0 ] && [ "$ok" -eq 0 ] && [ "$nfail" -eq 0 ]; then
		echo "--- $t: no cmocka results (died before the tests started?)"
		nfail=1
	fi
	passed=$((passed + ok))
	failed=$((failed + nfail))
	# cmocka exits with the number of failed tests; anything else is a crash,
	# a sanitizer report at exit (leaks) or a signal.
	if [ "$rc" -ne 0 ] && [ "$rc" -ne "$nfail" ]; then
		echo "--- $t: exited abnormally (status $rc)"
		bad=1
	fi
	if [ "$skip" -gt 0 ]; then
		echo "--- $t: $ok passed, $nfail failed, $skip skipped"
	else
		echo "--- $t: $ok passed, $nfail failed"
	fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$bad" -eq 0 ]
