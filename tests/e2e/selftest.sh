#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/e2e/selftest.sh: check that tests/e2e/linux-boot.sh tells a good
# hypervisor from a bad one, without thinvisor: a stand-in for QEMU
# (selftest/fake-hv-qemu) boots the guest directly when asked to boot
# thinvisor and prints the "hv region" line itself.
#   good: the guest is kept off the region (memmap=) and sees the hypervisor
#         flag -> linux-boot.sh must pass every check;
#   bad:  the guest sees the region as RAM -> linux-boot.sh must fail exactly
#         hv-iomem-no-overlap and hv-memtotal.
# About four guest boots (~45 s under TCG).  Logs: build/test-logs/selftest-*.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

REAL_QEMU=$(command -v qemu-system-x86_64) || {
	echo "selftest: qemu-system-x86_64 not found" >&2
	exit 1
}
export REAL_QEMU
fakebin=$(mktemp -d /tmp/tv-fakeqemu.XXXXXX)
trap 'rm -rf "$fakebin"' EXIT
ln -s "$here/selftest/fake-hv-qemu" "$fakebin/qemu-system-x86_64"
: >"$fakebin/thinvisor.elf" # only its existence is checked

passed=0
failed=0
result() {
	if (($2 == 0)); then
		echo "PASS $1"
		passed=$((passed + 1))
	else
		echo "FAIL $1${3:+: $3}"
		failed=$((failed + 1))
	fi
}

# run NAME HIDE: run linux-boot.sh through the fake; sets out and rc.
run() {
	local logs=build/test-logs/selftest-$1
	mkdir -p "$logs"
	rc=0
	out=$(PATH="$fakebin:$PATH" TV_HV_ELF="$fakebin/thinvisor.elf" \
		TV_TEST_LOGS="$logs" FAKE_HIDE_REGION=$2 \
		"$here/linux-boot.sh" 2>&1) || rc=$?
	echo "$out" >"$logs/linux-boot.out"
}

run good 1
ok=1
[[ $rc == 0 ]] && grep -qx '[0-9]* passed, 0 failed' <<<"$out" && ok=0
result selftest-good-hv-passes "$ok" "exit $rc: $(grep -E '^FAIL|passed,' <<<"$out" | tr '\n' ';')"

run bad 0
fails=$(grep '^FAIL' <<<"$out" | cut -d: -f1 | tr '\n' ' ')
ok=1
[[ $rc != 0 && $fails == "FAIL hv-iomem-no-overlap FAIL hv-memtotal " ]] && ok=0
result selftest-bad-hv-fails "$ok" "exit $rc, failed: ${fails:-none}"

echo "$passed passed, $failed failed"
((failed == 0)) || exit 1
