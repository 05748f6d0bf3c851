#!/usr/bin/env bash
# Every test thinvisor has, in one command (the README's test command; .ci/run
# calls it).  Installs what it needs, builds, then runs the suites in turn:
# host unit tests (ASan+UBSan), system tests under QEMU TCG with SVM, GRUB
# multiboot 1/2 boots, and the Linux end-to-end boot.  Each suite ends with
# "N passed, N failed"; this script adds them up into the same final line.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
mkdir -p build/test-logs

bash tools/deps.sh || { echo "dependency installation failed"; echo "0 passed, 1 failed"; exit 1; }
if ! make -j2 all guests tools >build/test-logs/build.log 2>&1; then
	tail -40 build/test-logs/build.log
	echo "build failed"
	echo "0 passed, 1 failed"
	exit 1
fi

total_pass=0
total_fail=0
run_suite() {
	local name=$1
	shift
	local log=build/test-logs/suite-$name.log
	echo "=== $name: $*"
	"$@" 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	local line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
	else
		p=0
		f=1
		echo "$name: no summary line (exit status $rc)"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "$name: exited with status $rc"
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
}

run_suite unit make -s unit
run_suite fuzz make -s fuzz
run_suite system tests/system/run.sh -j2
run_suite storage tests/system/storage.sh -j2
run_suite grub tests/system/grub-mb2.sh
run_suite bochs tests/system/bochs.sh -j2
run_suite linux bash -c 'tools/linux-kit.sh build >build/test-logs/linux-kit.log 2>&1 || { tail -20 build/test-logs/linux-kit.log; exit 1; }; tests/e2e/linux-boot.sh'
run_suite linux-smp tests/e2e/linux-boot.sh --smp 4
run_suite linux-storage tests/e2e/linux-storage.sh

echo
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
