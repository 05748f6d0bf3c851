#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tools/run-linux.sh: boot the Linux test guest under thinvisor in QEMU (TCG)
# and leave you at the guest's shell on this terminal.
#
# On a fresh Debian 12 machine, as root, this is all it takes:
#   tools/deps.sh       install the packages (does nothing when all are there)
#   make                build build/thinvisor.elf
#   tools/linux-kit.sh  build/linux/vmlinuz and build/linux/initramfs.cpio.gz
#   qemu-system-x86_64 -kernel build/thinvisor.elf -initrd "vmlinuz ...,initramfs"
#
# Usage: tools/run-linux.sh [options] [-- extra QEMU arguments]
#   --cpu MODEL         QEMU -cpu value (default: qemu64,+svm,+npt)
#   --mem MIB           guest machine memory (default: 1024)
#   --smp N             CPUs (default: 2; each runs under thinvisor)
#   --hvmem SIZE        thinvisor's hvmem= (default: 64M)
#   --guest-append STR  words added to the guest kernel command line
#                       (e.g. "tvtest=boot" or "tvmodules=load")
#   --disk IMG          the guest's IDE disk (default build/disk.img, 256 MiB,
#                       made on first use); thinvisor encrypts all of it
#   --key FILE          the disk key (default build/disk.key: 64 random bytes,
#                       made on first use; AES-256-XTS, dm-crypt plain64 format)
#   --passphrase        no key module: thinvisor asks for a passphrase at boot
#   --no-disk           no disk at all
#   --no-hv             boot the same guest directly, without thinvisor
#                       (skips `make`, for comparison; no disk)
#   --skip-deps         do not run tools/deps.sh
#   -h, --help          this text
# The serial console is multiplexed with the QEMU monitor on stdio:
# Ctrl-A c switches to the monitor, Ctrl-A x quits QEMU.  The guest powers
# off (and QEMU exits) when its shell exits.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

cpu=qemu64,+svm,+npt
mem=1024
smp=2
hvmem=64M
guest_extra=""
use_hv=1
run_deps=1
disk=build/disk.img
key=build/disk.key
use_key=1
qemu_extra=()

usage() { awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; }
die() {
	echo "run-linux: error: $*" >&2
	exit 1
}
need_arg() { (($# >= 2)) || die "option $1 needs an argument"; }

while (($#)); do
	case "$1" in
	--cpu) need_arg "$@"; cpu=$2; shift 2 ;;
	--cpu=*) cpu=${1#*=}; shift ;;
	--mem) need_arg "$@"; mem=$2; shift 2 ;;
	--mem=*) mem=${1#*=}; shift ;;
	--smp) need_arg "$@"; smp=$2; shift 2 ;;
	--smp=*) smp=${1#*=}; shift ;;
	--hvmem) need_arg "$@"; hvmem=$2; shift 2 ;;
	--hvmem=*) hvmem=${1#*=}; shift ;;
	--guest-append) need_arg "$@"; guest_extra=$2; shift 2 ;;
	--guest-append=*) guest_extra=${1#*=}; shift ;;
	--disk) need_arg "$@"; disk=$2; shift 2 ;;
	--key) need_arg "$@"; key=$2; shift 2 ;;
	--passphrase) use_key=0; shift ;;
	--no-disk) disk=""; shift ;;
	--no-hv) use_hv=0; disk=""; shift ;;
	--skip-deps) run_deps=0; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; qemu_extra=("$@"); break ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

cd "$repo"

if ((run_deps)); then
	"$here/deps.sh"
fi
if ((use_hv)); then
	echo "run-linux: make"
	make
	[[ -f build/thinvisor.elf ]] || die "make did not produce build/thinvisor.elf"
fi
"$here/linux-kit.sh" "$repo/build"

guest_cmdline="console=ttyS0 quiet${disk:+ tvmodules=load}${guest_extra:+ $guest_extra}"
# QEMU splits -initrd at commas (",," is a literal comma).
[[ $guest_cmdline != *,* ]] || die "the guest command line must not contain commas"

qemu=(
	qemu-system-x86_64 -accel tcg -machine pc -cpu "$cpu" -m "$mem" -smp "$smp"
	-nographic -serial mon:stdio -no-reboot
)
if ((use_hv)); then
	# Relative paths: QEMU hands each module's whole string (path and
	# arguments) to the kernel as the module's command line.
	modules="build/linux/vmlinuz $guest_cmdline,build/linux/initramfs.cpio.gz"
	if [[ -n $disk ]]; then
		mkdir -p "$(dirname "$disk")"
		[[ -e $disk ]] || truncate -s 256M "$disk"
		if ((use_key)); then
			if [[ ! -e $key ]]; then
				head -c 64 /dev/urandom >"$key"
				chmod 600 "$key"
			fi
			[[ $key != *,* && $key != *" "* ]] || die "the key path must not contain commas or spaces"
			modules+=",$key thinvisor.key"
		fi
		qemu+=(-drive "file=$disk,format=raw,if=ide,index=0")
		how="key $key"
		((use_key)) || how="key from the passphrase thinvisor asks for"
		echo "run-linux: $disk is the guest's /dev/sda; thinvisor encrypts every sector" \
			"(AES-XTS, dm-crypt plain64, $how)"
		echo "run-linux: on the host: cryptsetup open --type plain --cipher aes-xts-plain64" \
			"--key-size 512 --key-file $key $disk tvdisk"
	fi
	qemu+=(
		-kernel build/thinvisor.elf
		-append "console=com1 hvmem=$hvmem"
		-initrd "$modules"
	)
else
	qemu+=(
		-kernel build/linux/vmlinuz
		-initrd build/linux/initramfs.cpio.gz
		-append "$guest_cmdline"
	)
fi
qemu+=("${qemu_extra[@]}")

echo "run-linux: $(printf '%q ' "${qemu[@]}")"
echo "run-linux: Ctrl-A x quits QEMU; the guest shell comes up after ~10-20 s under TCG"
exec "${qemu[@]}"
