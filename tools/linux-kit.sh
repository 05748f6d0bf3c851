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
	ext4
)

log() { echo "linux-kit: $*"; }
die() {
	echo "linux-kit: error: $*" >&2
	exit 1
}

for tool in apt-cache apt-get dpkg dpkg-deb depmod modprobe cpio gzip busybox sha256sum; do
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
mapfile -t order < <(
	for m in "${MODULES[@]}"; do
		modprobe -d "$kdir" -S "$kver" --show-depends "$m" ||
			echo "MISSING $m"
	done | awk -v root="$kroot/" '
		$1 == "MISSING" { print "MISSING " $2; next }
		$1 == "insmod" {
			p = $2
			if (index(p, root) == 1) p = substr(p, length(root) + 1)
			if (!(p in seen)) { seen[p] = 1; print p }
		}'
)
for p in "${order[@]}"; do
	[[ $p != MISSING\ * ]] || die "module ${p#MISSING } not found in kernel $kver"
done

stamp=$(
	{
		sha256sum "${BASH_SOURCE[0]}" "$init_src" "$busybox_bin"
		echo "$kpkg $kdebver"
		printf '%s\n' "${order[@]}"
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
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
printf 'root:x:0:\ntty:x:5:\n' >"$stage/etc/group"

mdest=$stage/lib/modules/$kver
mkdir -p "$mdest"
: >"$stage/lib/modules/load-order"
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
log "wrote $out/initramfs.cpio.gz ($(du -k "$out/initramfs.cpio.gz" | cut -f1) KiB, ${#order[@]} modules, kernel $kver)"
