#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tests/e2e/linux-storage.sh: transparent IDE disk encryption, end to end
# (docs/storage.md).  Linux writes an ext4 file system through thinvisor onto
# a raw IDE disk image, reads it back in a second boot, and the host then
# checks that the image holds ciphertext in exactly dm-crypt's
# aes-xts-plain64 format: no plaintext on it, and tvcrypt's decryption of it
# is a clean ext4 whose files are the guest's.
#
# Cases (each: a fresh 256 MiB image, a write boot and a read boot):
#   hv-k64      thinvisor, 64-byte key module (AES-256-XTS)
#   hv-k32      thinvisor, 32-byte key module (AES-128-XTS)
#   hv-ahci-k64 thinvisor, 64-byte key, the disk on q35's AHCI controller
#   hv-nvme-k64 thinvisor, 64-byte key, the disk on an NVMe controller (q35)
#   hv-nvme4k-k64  the same with a 4 KiB-LBA namespace (tweak: 512-byte sectors still)
#   hv-ahci-smp2-k64, hv-nvme-smp4-k64
#               AHCI with -smp 2, NVMe with -smp 4 (one I/O queue per CPU):
#               the guest also writes and reads N 2 MiB files with N jobs at
#               once, job K pinned to CPU K (tvpar=N); checks par-jobs (N
#               "TV-PAR: K ok" lines in each boot) on top of the others
#   hv-nvme-vtd-k64  hv-nvme-k64 on a machine with QEMU's intel-iommu, which
#               thinvisor takes (the controller DMAs through its storage
#               domain) and hides from Linux
#   native-dmcrypt-k64, native-dmcrypt-k32
#               no thinvisor: the guest encrypts the disk itself with
#               dm-crypt aes-xts-plain64 and the same key (tvdm=); the same
#               host checks then prove that the format the checks expect is
#               dm-crypt's.  The default run has native-dmcrypt-k64.
# Per case: the guest boots with -machine pc and
#   -drive file=IMG,format=raw,if=ide,index=0
#   hv:     -kernel thinvisor.elf -append "console=com1 hvmem=64M"
#           -initrd "build/linux/vmlinuz console=ttyS0 panic=-1 tvtest=...,
#                    build/linux/initramfs.cpio.gz,build/test-keys/kNN.bin thinvisor.key"
#   native: -kernel build/linux/vmlinuz ... tvdm=HEXKEY
# Checks (PASS/FAIL lines named CASE-CHECK):
#   write-boot     QEMU exits 0 by itself, TV-DONE, no TV-ERROR
#   write-sums     six TV-SUM lines (plus one per parallel job); data/big.bin's is the host generator's
#   iommu          (vtd cases) thinvisor logs the IOMMU as taken, Linux lists
#                  no DMAR table
#   read-verify    the read boot prints TV-VERIFY: OK (sums and contents)
#   raw-no-marker  the image does not contain THINVISOR-PLAINTEXT-MARKER-<id>
#   raw-no-data    no 4 KiB slice (5 taken) of the generated files is in it
#   raw-no-ext4    no ext4 superblock magic at byte 1080
#   decrypt        tvcrypt decrypt --key KEY IMG DEC succeeds
#   dec-controls   DEC does hold the marker, the slices and the magic (so the
#                  raw-* checks can fail)
#   e2fsck         e2fsck -fn DEC passes
#   debugfs-files  every file that debugfs dumps from DEC has the guest's sum
#
# Usage: tests/e2e/linux-storage.sh [options]
#   --native-dmcrypt   only the in-guest dm-crypt reference cases (k64, k32);
#                      needs no thinvisor
#   --hv-only          only the thinvisor cases
#   --case NAME        only this case (repeatable)
#   --cpu MODEL        QEMU -cpu (default max,-erms: SVM+NPT, AES-NI for the
#                      guest's dm-crypt, no ERMS, see EMULATORS.md)
#   --timeout SEC      per boot (default 180)
#   --keep             keep the images (else deleted when the case passes)
# Env: TV_HV_ELF (default build/thinvisor.elf), TV_STORAGE_HV_APPEND (words
# added to thinvisor's command line: "storage.policy=*:*:plain" must make the
# raw-*, dec-controls, e2fsck and debugfs checks fail), TV_TVCRYPT (default
# build/tools/tvcrypt), TV_TEST_LOGS (default build/test-logs; logs and
# images go to its linux-storage/ folder).
# Ends with "N passed, N failed"; exits 1 if any check failed.  About 30 s
# per case under TCG (a dm-crypt boot is slower than a plain one).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

cpu=max,-erms
timeout_s=180
keep=0
cases=()
default_cases=(hv-k64 hv-k32 hv-ahci-k64 hv-nvme-k64 hv-nvme4k-k64 hv-nvme-vtd-k64 hv-ahci-smp2-k64 hv-nvme-smp4-k64
	native-dmcrypt-k64)
while (($#)); do
	case "$1" in
	--native-dmcrypt) cases+=(native-dmcrypt-k64 native-dmcrypt-k32); shift ;;
	--hv-only) cases+=(hv-k64 hv-k32); shift ;;
	--case) cases+=("${2:?--case needs a name}"); shift 2 ;;
	--cpu) cpu=${2:?--cpu needs a value}; shift 2 ;;
	--timeout) timeout_s=${2:?--timeout needs a value}; shift 2 ;;
	--keep) keep=1; shift ;;
	-h | --help) awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"; exit 0 ;;
	*) echo "linux-storage: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
((${#cases[@]})) || cases=("${default_cases[@]}")
for c in "${cases[@]}"; do
	case "$c" in
	hv-k64 | hv-k32 | hv-ahci-k64 | hv-nvme-k64 | hv-nvme4k-k64 | hv-nvme-vtd-k64 | hv-ahci-smp2-k64 | \
		hv-nvme-smp4-k64 | native-dmcrypt-k64 | native-dmcrypt-k32) ;;
	*) echo "linux-storage: unknown case '$c'" >&2; exit 2 ;;
	esac
done

cd "$repo"
logroot=${TV_TEST_LOGS:-build/test-logs}
logdir=$logroot/linux-storage
hv_elf=${TV_HV_ELF:-build/thinvisor.elf}
tvcrypt=${TV_TVCRYPT:-build/tools/tvcrypt}
keydir=build/test-keys
mkdir -p "$logdir" "$keydir"
img_mib=256

passed=0
failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() {
	echo "FAIL $1${2:+: $2}"
	failed=$((failed + 1))
}
check() { # name status detail
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

# --- the deterministic test keys (raw bytes, like a cryptsetup --key-file) ----
# k64: SHA-512 of a fixed string (AES-256-XTS); k32: SHA-256 of another
# (AES-128-XTS).  Their halves differ, as OpenSSL's XTS requires.
make_key() { # FILE HASH-PROGRAM STRING
	printf '%s' "$3" | "$2" | cut -d' ' -f1 |
		python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read().strip()))' >"$1.tmp"
	mv "$1.tmp" "$1"
}
make_key "$keydir/k64.bin" sha512sum "thinvisor test key 64"
make_key "$keydir/k32.bin" sha256sum "thinvisor test key 32"
key_hex() { od -An -v -tx1 "$1" | tr -d ' \n'; }

# --- the guest's generator, rebuilt on the host (tools/initramfs/init gen) ----
gen() ( # TAG BYTES (head ends the pipe early: no pipefail here)
	set +o pipefail
	seq 10000000 $((10000000 + $2 / 64)) |
		sed "s/^.*\$/tvgen:$1:&:0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ/" |
		cut -c1-63 | head -c "$2"
)
gen big 3145728 >"$logdir/expect-big.bin"
gen three 204800 >"$logdir/expect-three.dat"
big_sum=$(sha256sum "$logdir/expect-big.bin" | cut -d' ' -f1)
# 4 KiB slices at file offsets that are multiples of 4096 (so each lies in
# one ext4 block, contiguous on the disk): FILE:OFFSET ...
slices=(
	"$logdir/expect-big.bin:0" "$logdir/expect-big.bin:1060864"
	"$logdir/expect-big.bin:3141632" "$logdir/expect-three.dat:0"
	"$logdir/expect-three.dat:102400"
)

# count_slices IMG: how many of the slices occur in IMG (and the ext4 magic).
count_slices() {
	python3 - "$1" "${slices[@]}" <<-'EOF'
		import mmap, sys
		img = sys.argv[1]
		with open(img, "rb") as f:
		    m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
		    found = 0
		    for spec in sys.argv[2:]:
		        path, off = spec.rsplit(":", 1)
		        with open(path, "rb") as g:
		            g.seek(int(off))
		            piece = g.read(4096)
		        if len(piece) == 4096 and m.find(piece) >= 0:
		            found += 1
		    magic = m[1080:1082] == b"\x53\xef"
		print(found, 1 if magic else 0)
	EOF
}

exit_detail() {
	case "$1" in
	0) echo "status 0" ;;
	124 | 137) echo "timed out after ${timeout_s}s" ;;
	65) echo "status 65 (thinvisor panic / fatal boot error)" ;;
	67) echo "status 67 (guest triple-faulted)" ;;
	*) echo "status $1" ;;
	esac
}

dump_tail() {
	echo "INFO last lines of $1:"
	tr -d '\r' <"$1" | grep -av '^TV-MODULE' | tail -n 15 | sed 's/^/INFO | /'
}

# boot LOG QEMU-ARGS...: run QEMU, serial to LOG; sets boot_rc, boot_secs.
boot() {
	local log=$1 t0
	shift
	: >"$log"
	t0=$(date +%s%N)
	timeout --kill-after=10 "$timeout_s" \
		qemu-system-x86_64 -accel tcg -machine "$machine" -cpu "$cpu" -m 1024 -smp "$smp" \
		-display none -monitor none -no-reboot -serial "file:$log" "$@" \
		</dev/null >"$log.stderr" 2>&1 &
	qemu_pid=$!
	boot_rc=0
	wait "$qemu_pid" || boot_rc=$?
	qemu_pid=""
	local ms=$((($(date +%s%N) - t0) / 1000000))
	boot_secs=$(printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)))
	if [[ -s $log.stderr ]]; then
		sed 's/^/INFO qemu: /' "$log.stderr" | head -n 10
	fi
	tr -d '\r' <"$log" | grep -a 'thinvisor: PANIC\|thinvisor: warning' | head -n 5 | sed 's/^/INFO /' || true
}

# guest_boot CASE MODE KEYFILE IMG LOG TVTEST [MORE GUEST WORDS]
guest_boot() {
	local name=$1 mode=$2 key=$3 img=$4 log=$5 tvtest=$6
	shift 6
	local gcmd="console=ttyS0 panic=-1 tvtest=$tvtest $*"
	local drive=(-drive "file=$img,format=raw,if=ide,index=0")
	machine=pc
	smp=$(case_smp "$name")
	((smp == 1)) || gcmd+=" tvpar=$smp"
	if [[ $name == *ahci* ]]; then	# q35: the disk on the ICH9 AHCI controller
		machine=q35
		drive=(-drive "file=$img,format=raw,if=none,id=d0" -device ide-hd,drive=d0,bus=ide.0)
	elif [[ $name == *nvme* ]]; then	# q35: the disk on an NVMe controller
		machine=q35
		local lbs=512
		[[ $name == *nvme4k* ]] && lbs=4096	# a namespace with 4 KiB LBAs
		drive=(-drive "file=$img,format=raw,if=none,id=d0"
			-device "nvme,drive=d0,serial=tvnvme,logical_block_size=$lbs,physical_block_size=$lbs")
		gcmd+=" tvdisk=nvme0n1"
	fi
	[[ $name == *vtd* ]] && drive=(-device intel-iommu "${drive[@]}")	# before any PCI device
	if [[ $mode == hv ]]; then
		boot "$log" "${drive[@]}" -kernel "$hv_elf" \
			-append "console=com1 hvmem=64M${TV_STORAGE_HV_APPEND:+ $TV_STORAGE_HV_APPEND}" \
			-initrd "build/linux/vmlinuz $gcmd,build/linux/initramfs.cpio.gz,$key thinvisor.key"
	else
		boot "$log" "${drive[@]}" -kernel build/linux/vmlinuz \
			-initrd build/linux/initramfs.cpio.gz -append "$gcmd tvdm=$(key_hex "$key")"
	fi
	info "$name: $tvtest boot took ${boot_secs}s, $(exit_detail "$boot_rc"), log $log"
}

report() { tr -d '\r' <"$1" | sed -n "s/^$2: //p"; }

# CPUs of a case: N from "-smpN-" in its name, else 1.
case_smp() { if [[ $1 =~ -smp([0-9]+)- ]]; then echo "${BASH_REMATCH[1]}"; else echo 1; fi; }

# par_check CASE LOG: one "TV-PAR: K ok" per job.
par_check() {
	local n=$(case_smp "$1") got
	((n > 1)) || return 0
	got=$(report "$2" TV-PAR | grep -c ' ok$' || true)
	ok=1; ((got == n)) && ok=0
	check "$1-par-jobs${3:-}" "$ok" "$got of $n parallel jobs ok in $2"
}

run_case() {
	local name=$1 mode key img dec wlog rlog marker ok n
	case "$name" in
	hv-*) mode=hv ;;
	*) mode=native ;;
	esac
	key=$keydir/${name##*-}.bin
	img=$logdir/$name.img
	dec=$logdir/$name.dec.img
	wlog=$logdir/$name-write.log
	rlog=$logdir/$name-read.log
	marker=$(date +%s)${name//-/}
	local fails_before=$failed

	if [[ $mode == hv && ! -f $hv_elf ]]; then
		fail "$name-write-boot" "$hv_elf missing (run make)"
		return
	fi
	rm -f "$img" "$dec"
	truncate -s "${img_mib}M" "$img"

	# 1. write
	guest_boot "$name" "$mode" "$key" "$img" "$wlog" storage-write "tvmarker=$marker"
	ok=1
	((boot_rc == 0)) && grep -aq '^TV-DONE' "$wlog" && ! grep -aq '^TV-ERROR' "$wlog" && ok=0
	check "$name-write-boot" "$ok" "$(exit_detail "$boot_rc"); $(report "$wlog" TV-ERROR | head -n 1)"
	((ok == 0)) || dump_tail "$wlog"
	if [[ $name == *vtd* ]]; then	# thinvisor took the IOMMU, Linux never saw its DMAR table
		ok=1
		grep -aqE 'thinvisor: iommu: VT-d at .*DMA-confined' "$wlog" && ! grep -aq 'ACPI: DMAR' "$wlog" && ok=0
		check "$name-iommu" "$ok" "thinvisor's iommu line missing, or Linux lists a DMAR table"
	fi
	declare -A sums=()
	local path hash
	while read -r path hash; do
		[[ -n $path ]] && sums[$path]=$hash
	done < <(report "$wlog" TV-SUM)
	ok=1
	local npar
	npar=$(case_smp "$name")
	((npar > 1)) || npar=0
	((${#sums[@]} == 6 + npar)) && [[ ${sums[data/big.bin]:-} == "$big_sum" ]] && ok=0
	check "$name-write-sums" "$ok" "${#sums[@]} TV-SUM lines, data/big.bin ${sums[data/big.bin]:-none}, host generator $big_sum"
	par_check "$name" "$wlog" -write
	if ((failed > fails_before)); then
		fail "$name-read-verify" "not run: the write boot failed"
		info "$name: image kept: $img"
		return
	fi

	# 2. read back through the same path
	guest_boot "$name" "$mode" "$key" "$img" "$rlog" storage-read
	ok=1
	((boot_rc == 0)) && grep -aq '^TV-VERIFY: OK' "$rlog" && ok=0
	check "$name-read-verify" "$ok" "$(exit_detail "$boot_rc"); $(report "$rlog" 'TV-VERIFY\|TV-ERROR' | tr '\n' ';')"
	((ok == 0)) || dump_tail "$rlog"
	par_check "$name" "$rlog" -read

	# 3. the raw image holds no plaintext
	n=$(grep -a -c -F "THINVISOR-PLAINTEXT-MARKER-$marker" "$img" || true)
	ok=1; ((n == 0)) && ok=0
	check "$name-raw-no-marker" "$ok" "THINVISOR-PLAINTEXT-MARKER-$marker found on $n line(s) of $img"
	local found magic
	found=-1 magic=-1
	read -r found magic < <(count_slices "$img") || true
	ok=1; ((found == 0)) && ok=0
	check "$name-raw-no-data" "$ok" "$found of ${#slices[@]} 4 KiB plaintext slices found in $img"
	ok=1; ((magic == 0)) && ok=0
	check "$name-raw-no-ext4" "$ok" "ext4 superblock magic at byte 1080 of $img"

	# 4. the host decrypts it with the documented format
	if [[ ! -x $tvcrypt ]]; then
		fail "$name-decrypt" "$tvcrypt missing (make build/tools/tvcrypt)"
		return
	fi
	ok=1
	"$tvcrypt" decrypt --key "$key" "$img" "$dec" >"$logdir/$name-tvcrypt.log" 2>&1 &&
		[[ $(stat -c %s "$dec") == $(stat -c %s "$img") ]] && ok=0
	check "$name-decrypt" "$ok" "$tvcrypt decrypt failed: $(head -c 300 "$logdir/$name-tvcrypt.log")"
	if ((ok)); then
		return
	fi
	n=$(grep -a -c -F "THINVISOR-PLAINTEXT-MARKER-$marker" "$dec" || true)
	found=-1 magic=-1
	read -r found magic < <(count_slices "$dec") || true
	ok=1; ((n >= 1 && found == ${#slices[@]} && magic == 1)) && ok=0
	check "$name-dec-controls" "$ok" "decrypted: marker on $n line(s), $found of ${#slices[@]} slices, ext4 magic $magic"
	ok=1
	e2fsck -fn "$dec" >"$logdir/$name-e2fsck.log" 2>&1 && ok=0
	check "$name-e2fsck" "$ok" "e2fsck -fn: $(head -n 2 "$logdir/$name-e2fsck.log" | tr '\n' ';')"
	local bad="" out=$logdir/$name-dump.tmp got
	for path in "${!sums[@]}"; do
		rm -f "$out"
		debugfs -R "dump /$path $out" "$dec" >/dev/null 2>&1 || true
		got=$(sha256sum "$out" 2>/dev/null | cut -d' ' -f1) || got=""
		[[ $got == "${sums[$path]}" ]] || bad+=" $path"
	done
	rm -f "$out"
	ok=1; [[ -z $bad ]] && ((${#sums[@]})) && ok=0
	check "$name-debugfs-files" "$ok" "wrong or missing:${bad:- (no TV-SUM lines)}"

	if ((failed == fails_before && !keep)); then
		rm -f "$img" "$dec"
	else
		info "$name: images kept: $img $dec"
	fi
}

# --- run ---------------------------------------------------------------------
if ! tools/linux-kit.sh build >"$logdir/linux-kit.log" 2>&1; then
	fail linux-kit "tools/linux-kit.sh failed, see $logdir/linux-kit.log"
	tail -n 20 "$logdir/linux-kit.log" | sed 's/^/INFO | /'
	finish
fi
pass linux-kit
info "cases: ${cases[*]}; cpu $cpu; kernel $(cat build/linux/kernel-version); tvcrypt $tvcrypt; logs $logdir"
for c in "${cases[@]}"; do
	run_case "$c"
done
finish
