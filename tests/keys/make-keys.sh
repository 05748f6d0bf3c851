#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The storage tests' keys, made at run time (no key material is committed):
#   tests/keys/make-keys.sh TVCRYPT OUTDIR
# writes into OUTDIR
#   k64.bin        64 bytes, AES-256-XTS: test key 0 (pattern.h tvp_key_byte)
#   k32.bin        32 bytes, AES-128-XTS: test key 0
#   k64-other.bin  64 bytes: test key 1 (a different key)
#   k48-bad.bin    48 bytes: an invalid key file (thinvisor must refuse it)
#   pass.bin       64 bytes: PBKDF2-HMAC-SHA256("secret", "thinvisor", 1000)
#                  for the passphrase test (storage.iter=1000)
#   pass.txt       what the passphrase test types: "secrexx", Backspace (^H),
#                  Delete (^?), "t", Enter (CR) = the passphrase "secret"
# The keys are deterministic, so images made by one run decrypt in another.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 TVCRYPT OUTDIR" >&2; exit 2; }
tv=$1
out=$2
mkdir -p "$out"
"$tv" genkey --size 64 --number 0 "$out/k64.bin"
"$tv" genkey --size 32 --number 0 "$out/k32.bin"
"$tv" genkey --size 64 --number 1 "$out/k64-other.bin"
head -c 48 "$out/k64-other.bin" >"$out/k48-bad.bin.tmp.$$"
mv -f "$out/k48-bad.bin.tmp.$$" "$out/k48-bad.bin"
"$tv" derivekey --pass secret --iter 1000 --size 64 "$out/pass.bin"
printf 'secrexx\010\177t\r' >"$out/pass.txt.tmp.$$"
mv -f "$out/pass.txt.tmp.$$" "$out/pass.txt"
