#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# tools/linux-kit.sh [BUILD_DIR]: build the Linux test guest.
#
# Produces, under BUILD_DIR (default: build/ at the top of the repo):
#   linux/vmlinuz              Debian 12's own kernel (package linux-image-amd64)
#   linux/initramfs.cpio.gz    busybox-static, /init = tools/initramfs/init,
#                              storage modules in /lib/modules/<version>/ and
#                              their insmod order in /lib/modules/load-order
#                              (all of them) and /lib/modules/load-order-ide
#                              (only what -machine pc IDE + ext4 + dm-crypt
#                              need); the host's e2fsprogs (mke2fs/mkfs.ext4,
#                              e2fsck, debugfs), dmsetup and coreutils date
#                              (as tvdate, for +%s%N), with their shared libraries
#                              and the dynamic loader, as resolved by ldd
#   linux/kernel-version       the kernel's release string (uname -r)
#
# The kernel .deb is fetched with `apt-get download` (the package that the
# linux-image-amd64 metapackage depends on, resolved with apt-cache) and
# unpacked with `dpkg -x` into a cache reused by later runs:
#   ${TV_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/thinvisor}/kernel
# (outside the work tree, so fresh clones and `make clean` keep it).
# Nothing is installed and nothing is mounted: it runs as an ordinary user
# once the kernel is cached (apt-get update, when the package lists are
# missing, needs root).  The initramfs is rebuilt only when this script,
# /init, busybox, the kernel or the module list changed.
set -euo pipefail

case "${1:-}" in
-h | --help)
	awk 'NR > 2 && /^#/ { sub(/^# ?/, ""); print; next } NR > 2 { exit }' "$0"
	exit 0
	;;
-*)
	echo "linux-kit: unknown option '$1' (usage: $0 [BUILD_DIR])" >&2
	exit 2
	;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
build=${1:-$repo/build}
out=$build/linux
init_src=$here/initramfs/init
cache=${TV_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/thinvisor}/kernel
meta=linux-image-amd64

# Modules that later storage tests load (dependencies are added by modprobe).
MODULES=(
	ata_piix ahci libata sd_mod scsi_mod
	nvme nvme-core
	dm-mod dm-crypt xts aesni_intel
	ext4 cpuid
)
# The subset /init loads for tvmodules=ide and the storage test modes:
# PIIX IDE, AHCI and NVMe, the disk drivers, ext4 (crc32c is its soft dependency) and the
# dm-crypt path (aesni_intel fails with ENODEV on CPUs without AES-NI; the
# kernel's built-in aes-generic then serves xts(aes)).
MODULES_IDE=(
	ata_piix ahci nvme sd_mod
	ext4 crc32c_generic
	dm-mod dm-crypt xts aesni_intel
)
# Dynamically linked host programs copied into the initramfs (busybox lacks
# them or their options): name in the initramfs's /bin, then the host program.
# Debian's busybox shell runs its own applets before searching PATH, so a
# program that shares an applet's name (date, mke2fs, mkfs.ext2) is only
# reached by its full path or another name: coreutils date is /bin/tvdate,
# and scripts call mkfs.ext4.
HOST_PROGS=(
	mke2fs:mke2fs e2fsck:e2fsck debugfs:debugfs dmsetup:dmsetup tvdate:date
)
# Extra names for them (link -> program).
HOST_LINKS=(
	mkfs.ext4:mke2fs mkfs.ext3:mke2fs mkfs.ext2:mke2fs
	fsck.ext4:e2fsck fsck.ext3:e2fsck fsck.ext2:e2fsck
)

log() { echo "linux-kit: $*"; }
die() {
	echo "linux-kit: error: $*" >&2
	exit 1
}

for tool in apt-cache apt-get dpkg dpkg-deb depmod modprobe cpio gzip busybox sha256sum ldd; do
	command -v "$tool" >/dev/null 2>&1 || die "missing tool '$tool' (run tools/deps.sh as root)"
done
[[ -r $init_src ]] || die "missing $init_src"
mkdir -p "$out" "$cache"

# --- 1. which kernel package --------------------------------------------------

# Print "PACKAGE VERSION" of the kernel image the metapackage points at.
resolve_kernel() {
	local pkg ver
	pkg=$(apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: *<\{0,1\}\(linux-image-6\.1\.[^ >]*-amd64\)>\{0,1\}$/\1/p' |
		head -n 1)
	[[ -n $pkg ]] || return 1
	ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	[[ -n $ver && $ver != "(none)" ]] || return 1
	echo "$pkg $ver"
}

# The newest kernel already unpacked in the cache: "PACKAGE VERSION".
cached_kernel() {
	local d best=""
	for d in "$cache"/linux-image-*/; do
		[[ -e $d/.unpacked ]] || continue
		best=$d
	done
	[[ -n $best ]] || return 1
	cat "$best/.unpacked"
}

if ! resolved=$(resolve_kernel); then
	if ((EUID == 0)); then
		log "apt-cache cannot resolve $meta; running apt-get update"
		apt-get update >/dev/null || true
	fi
	if ! resolved=$(resolve_kernel); then
		resolved=$(cached_kernel) ||
			die "cannot resolve $meta with apt-cache (run apt-get update as root)"
		log "apt-cache cannot resolve $meta; using the cached $resolved"
	fi
fi
read -r kpkg kdebver <<<"$resolved"
kver=${kpkg#linux-image-}
kdir=$cache/${kpkg}_$kdebver

# --- 2. fetch and unpack it (cached) -------------------------------------------

deb_version() { dpkg-deb -f "$1" Version 2>/dev/null || true; }

if [[ ! -e $kdir/.unpacked ]]; then
	deb=""
	for f in "$cache"/"${kpkg}"_*.deb; do
		[[ -e $f ]] || continue
		if [[ $(deb_version "$f") == "$kdebver" ]]; then
			deb=$f
		fi
	done
	if [[ -z $deb ]]; then
		log "downloading $kpkg $kdebver"
		# apt-get download as root drops to user _apt, which must be able
		# to write into the directory: use a world-writable scratch dir.
		dl=$(mktemp -d /tmp/tv-kernel-dl.XXXXXX)
		chmod 0777 "$dl"
		if ! (cd "$dl" && apt-get download -q "$kpkg=$kdebver"); then
			rm -rf "$dl"
			die "apt-get download $kpkg=$kdebver failed"
		fi
		for f in "$dl"/*.deb; do
			[[ -e $f ]] || continue
			deb=$cache/${f##*/}
			mv -f "$f" "$deb"
		done
		rm -rf "$dl"
		[[ -n $deb ]] || die "apt-get download produced no .deb"
	else
		log "using cached $(basename "$deb")"
	fi
	log "unpacking $(basename "$deb")"
	rm -rf "$kdir" "$kdir.tmp"
	mkdir -p "$kdir.tmp"
	dpkg -x "$deb" "$kdir.tmp"
	[[ -f $kdir.tmp/boot/vmlinuz-$kver ]] || die "$deb has no boot/vmlinuz-$kver"
	[[ -d $kdir.tmp/lib/modules/$kver ]] || die "$deb has no lib/modules/$kver"
	# The package ships no modules.dep (its postinst runs depmod): make one.
	depmod -b "$kdir.tmp" "$kver"
	echo "$kpkg $kdebver" >"$kdir.tmp/.unpacked"
	mv "$kdir.tmp" "$kdir"
fi
kroot=$kdir/lib/modules/$kver

# --- 3. the kernel ----------------------------------------------------------------

if ! cmp -s "$kdir/boot/vmlinuz-$kver" "$out/vmlinuz"; then
	cp "$kdir/boot/vmlinuz-$kver" "$out/vmlinuz.tmp"
	mv "$out/vmlinuz.tmp" "$out/vmlinuz"
	log "wrote $out/vmlinuz ($kver)"
fi
if [[ $(cat "$out/kernel-version" 2>/dev/null || true) != "$kver" ]]; then
	echo "$kver" >"$out/kernel-version"
fi

# --- 4. the initramfs ------------------------------------------------------------

busybox_bin=$(command -v busybox)
# Debian's busybox-static installs /bin/busybox; make sure it is the static one.
if [[ -x /bin/busybox ]]; then
	busybox_bin=/bin/busybox
fi
# (ldd fails on a static executable.)
if ldd "$busybox_bin" >/dev/null 2>&1; then
	die "$busybox_bin is dynamically linked: install busybox-static"
fi

# The modules in load order, dependencies first, each once ("builtin" ones
# need no file).  Paths are relative to $kroot.
module_order() {
	local m
	for m in "$@"; do
		modprobe -d "$kdir" -S "$kver" --show-depends "$m" ||
			echo "MISSING $m"
	done | awk -v root="$kroot/" '
		$1 == "MISSING" { print "MISSING " $2; next }
		$1 == "insmod" {
			p = $2
			if (index(p, root) == 1) p = substr(p, length(root) + 1)
			if (!(p in seen)) { seen[p] = 1; print p }
		}'
}
mapfile -t order < <(module_order "${MODULES[@]}")
mapfile -t order_ide < <(module_order "${MODULES_IDE[@]}")
for p in "${order[@]}" "${order_ide[@]}"; do
	[[ $p != MISSING\ * ]] || die "module ${p#MISSING } not found in kernel $kver"
done
for p in "${order_ide[@]}"; do
	[[ " ${order[*]} " == *" $p "* ]] || die "MODULES_IDE needs $p, which MODULES lacks"
done

# The host programs and every shared object they load (ldd; the loader too).
find_prog() { # NAME -> path on this host
	PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin command -v "$1" 2>/dev/null
}
prog_paths=()
for e in "${HOST_PROGS[@]}"; do
	src=$(find_prog "${e#*:}") ||
		die "missing host program '${e#*:}' (run tools/deps.sh as root: e2fsprogs, dmsetup, coreutils)"
	ldd "$src" >/dev/null 2>&1 || die "ldd $src failed (not a dynamic executable?)"
	prog_paths+=("$src")
done
mapfile -t libs < <(
	for src in "${prog_paths[@]}"; do
		ldd "$src"
	done | awk '
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }' | LC_ALL=C sort -u
)
((${#libs[@]})) || die "ldd found no shared libraries for ${prog_paths[*]}"
for l in "${libs[@]}"; do
	[[ -e $l ]] || die "shared library $l (from ldd) does not exist"
done

stamp=$(
	{
		sha256sum "${BASH_SOURCE[0]}" "$init_src" "$busybox_bin"
		sha256sum "${prog_paths[@]}" "${libs[@]}"
		[[ ! -e /etc/mke2fs.conf ]] || sha256sum /etc/mke2fs.conf
		echo "$kpkg $kdebver"
		printf '%s\n' "${order[@]}"
		printf 'ide %s\n' "${order_ide[@]}"
	} | sha256sum | cut -d' ' -f1
)
if [[ -f $out/initramfs.cpio.gz && $(cat "$out/initramfs.stamp" 2>/dev/null || true) == "$stamp" ]]; then
	log "up to date: $out/vmlinuz $out/initramfs.cpio.gz (kernel $kver)"
	exit 0
fi

log "building $out/initramfs.cpio.gz"
stage=$(mktemp -d "$out/initramfs-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,dev,proc,sys,tmp,root,etc,lib/modules}
ln -s bin "$stage/sbin"
mkdir -p "$stage/usr"
ln -s ../bin "$stage/usr/bin"
ln -s ../bin "$stage/usr/sbin"
chmod 1777 "$stage/tmp"
chmod 0700 "$stage/root"
cp "$busybox_bin" "$stage/bin/busybox"
while read -r applet; do
	[[ -n $applet && $applet != busybox && ! -e $stage/bin/$applet ]] || continue
	ln -s busybox "$stage/bin/$applet"
done < <("$stage/bin/busybox" --list)
install -m 0755 "$init_src" "$stage/init"
# The host programs replace busybox applet links of the same name (busybox's
# mke2fs cannot make ext4); their libraries go to the same paths as on the
# host, which the loader searches by default.
i=0
for e in "${HOST_PROGS[@]}"; do
	rm -f "$stage/bin/${e%%:*}"
	cp -L "${prog_paths[i]}" "$stage/bin/${e%%:*}"
	chmod 0755 "$stage/bin/${e%%:*}"
	i=$((i + 1))
done
for e in "${HOST_LINKS[@]}"; do
	rm -f "$stage/bin/${e%%:*}"
	ln -s "${e#*:}" "$stage/bin/${e%%:*}"
done
for l in "${libs[@]}"; do
	mkdir -p "$stage$(dirname "$l")"
	cp -L "$l" "$stage$l"
done
[[ ! -e /etc/mke2fs.conf ]] || cp /etc/mke2fs.conf "$stage/etc/mke2fs.conf"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
printf 'root:x:0:\ntty:x:5:\n' >"$stage/etc/group"

declare -A ide_path=()
mdest=$stage/lib/modules/$kver
mkdir -p "$mdest"
: >"$stage/lib/modules/load-order"
: >"$stage/lib/modules/load-order-ide"
for p in "${order[@]}"; do
	src=$kroot/$p
	dst=$mdest/$p
	mkdir -p "$(dirname "$dst")"
	# busybox insmod cannot read compressed modules: store them plain.
	case "$p" in
	*.ko.xz) xz -dc "$src" >"${dst%.xz}"; dst=${dst%.xz} ;;
	*.ko.zst) zstd -qdc "$src" >"${dst%.zst}"; dst=${dst%.zst} ;;
	*.ko.gz) gzip -dc "$src" >"${dst%.gz}"; dst=${dst%.gz} ;;
	*) cp "$src" "$dst" ;;
	esac
	echo "/${dst#"$stage"/}" >>"$stage/lib/modules/load-order"
	if [[ " ${order_ide[*]} " == *" $p "* ]]; then
		ide_path[$p]=/${dst#"$stage"/}
	fi
done
for p in "${order_ide[@]}"; do
	echo "${ide_path[$p]}" >>"$stage/lib/modules/load-order-ide"
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[[ ! -e $kroot/$f ]] || cp "$kroot/$f" "$mdest/"
done
# modules.dep for the guest's own modprobe (busybox) and the kernel's
# request_module(), which runs /sbin/modprobe.
depmod -b "$stage" "$kver"

(cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc -R 0:0 --quiet) | gzip -9n >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
echo "$stamp" >"$out/initramfs.stamp"
log "wrote $out/initramfs.cpio.gz ($(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB, ${#order[@]} modules (${#order_ide[@]} for ide), ${#HOST_PROGS[@]} host programs + ${#libs[@]} libraries, kernel $kver)"
