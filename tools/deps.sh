#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tools/deps.sh: install every Debian 12 package thinvisor's build and tests need.
#
# Idempotent: each package is checked with dpkg-query; when all are installed it
# does nothing (no apt-get at all).  Otherwise it runs `apt-get update` once and
# installs only the missing packages, non-interactively, without recommends.
# Installing needs root; checking does not.
#
# Usage: tools/deps.sh [--check]
#   --check   only report missing packages; exit 1 if any are missing.
set -euo pipefail

PACKAGES=(
	# toolchain
	build-essential make gcc binutils clang
	# unit tests and crypto reference code
	libcmocka-dev libssl-dev
	# fuzzing (make fuzz): libFuzzer and clang's sanitizer runtimes (only a
	# recommendation of clang's), llvm-symbolizer for readable reports
	libclang-rt-14-dev llvm
	# emulators and firmware
	qemu-system-x86 qemu-utils
	bochs bochs-term bochsbios vgabios seabios
	# Linux guest kit (tools/linux-kit.sh)
	busybox-static cpio kmod xz-utils zstd gzip
	# boot media and disk images
	grub-pc-bin grub-common xorriso mtools
	e2fsprogs fdisk dosfstools syslinux syslinux-common util-linux dmsetup gnuplot-nox
	# scripting, and apt-get download over https mirrors
	python3 ca-certificates
)

check_only=0
case "${1:-}" in
	"") ;;
	--check) check_only=1 ;;
	-h|--help)
		awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"
		exit 0
		;;
	*)
		echo "deps.sh: unknown argument: $1" >&2
		exit 2
		;;
esac

installed() {
	local status
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)
	[[ $status == "install ok installed" ]]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
	echo "deps.sh: all ${#PACKAGES[@]} packages are installed; nothing to do"
	exit 0
fi

echo "deps.sh: missing packages: ${missing[*]}"
if ((check_only)); then
	exit 1
fi
if ((EUID != 0)); then
	echo "deps.sh: run as root to install them (e.g. sudo $0)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps.sh: apt-get update"
apt-get update
echo "deps.sh: installing: ${missing[*]}"
apt-get install -y --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${missing[@]}"

still=()
for pkg in "${missing[@]}"; do
	installed "$pkg" || still+=("$pkg")
done
if ((${#still[@]} != 0)); then
	echo "deps.sh: still not installed: ${still[*]}" >&2
	exit 1
fi
echo "deps.sh: installed ${#missing[@]} package(s)"
