#!/bin/sh
# The kernel a kernel developer boots: Debian's linux-source-6.12, built
# with x86_64_defconfig plus kvm_guest.config, so virtio, ext4 and the
# serial console are built in and no initramfs is needed.
#
#   kernel.sh        build it unless the cache has it; print its path
#   kernel.sh path   print where it is (or would be) cached, build nothing
#   kernel.sh vmlinux   print the path of its vmlinux (an ELF file, no
#                    decompressor), taken out of the cached bzImage
#                    the first time; fails if that is not cached
#
# The build takes a while (45 CPU-minutes: 25 minutes on 2 idle cores,
# 50 on the project's busy ones), so the
# result is cached in tests/kit/cache/kdev/ under the source package's
# version, and a second run does nothing.  The e2e tests that boot it
# skip, saying how to build it, when it is not cached.  Needs gcc, make,
# bc, bison, flex, libelf-dev, libssl-dev and xz-utils.
set -eu

KIT_DIR=$(cd "$(dirname "$0")" && pwd)
CACHE=${KIT_CACHE:-$KIT_DIR/cache}
KDEV=$CACHE/kdev
PKG=linux-source-6.12

say() { echo "kit: $*" >&2; }
die() { echo "kit: error: $*" >&2; exit 1; }

# The version of the source package we have, or can get.
src_deb() {
	ls "$KDEV"/${PKG}_*.deb 2>/dev/null | tail -n 1
}

fetch() {
	mkdir -p "$KDEV"
	[ -n "$(src_deb)" ] && return 0
	say "downloading $PKG"
	(cd "$KDEV" && apt-get -q -o APT::Sandbox::User=root download $PKG >&2) ||
		die "cannot download $PKG (apt-get update first?)"
}

# tests/kit/cache/kdev/bzImage-6.12.117-1~deb12u1
image_path() {
	deb=$(src_deb)
	[ -n "$deb" ] || { echo "$KDEV/bzImage-none"; return; }
	v=$(basename "$deb" | sed 's/^[^_]*_\([^_]*\)_.*/\1/')
	echo "$KDEV/bzImage-$v"
}

build() {
	img=$1
	work=$KDEV/build
	rm -rf "$work"
	mkdir -p "$work"
	say "unpacking $(basename "$(src_deb)")"
	dpkg-deb --fsys-tarfile "$(src_deb)" |
		tar -xO --wildcards '*/linux-source-6.12.tar.xz' |
		xz -d | tar -x -C "$work"
	src=$(ls -d "$work"/linux-source-6.12)
	say "building x86_64_defconfig + kvm_guest.config with $(nproc) jobs"
	t0=$(date +%s)
	make -s -C "$src" x86_64_defconfig kvm_guest.config >&2
	make -s -C "$src" -j"$(nproc)" bzImage >&2
	cp "$src/arch/x86/boot/bzImage" "$img.tmp"
	cp "$src/.config" "$img.config"
	mv "$img.tmp" "$img"
	say "built $(basename "$img") in $(($(date +%s) - t0)) s"
	rm -rf "$work"
}

# hdr_u8 FILE OFFSET, hdr_u32 FILE OFFSET: a field of the setup header.
hdr_u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
hdr_u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }

# extract BZIMAGE OUT: the bzImage's payload is its vmlinux (objcopy -S:
# the same program headers, no symbols), gzip'd for this config.  The
# setup header says where it is (boot protocol 2.08+): payload_offset
# (0x248) from the protected-mode code, which follows the setup_sects
# (0x1f1) sectors of setup and the boot sector; payload_length (0x24c).
extract() {
	sects=$(hdr_u8 "$1" 0x1f1)
	[ "$sects" != 0 ] || sects=4
	off=$(( (sects + 1) * 512 + $(hdr_u32 "$1" 0x248) ))
	len=$(hdr_u32 "$1" 0x24c)
	[ "$(tail -c +$((off + 1)) "$1" | head -c 3 | od -An -tx1 | tr -d ' ')" = 1f8b08 ] ||
		die "the payload of $1 is not gzip'd (another CONFIG_KERNEL_*?)"
	tail -c +$((off + 1)) "$1" | head -c "$len" | gunzip -c >"$2.tmp" ||
		{ rm -f "$2.tmp"; die "the payload of $1 does not decompress"; }
	[ "$(head -c 4 "$2.tmp" | od -An -c | tr -d ' ')" = '177ELF' ] ||
		{ rm -f "$2.tmp"; die "the payload of $1 is no ELF file"; }
	mv "$2.tmp" "$2"
}

case "${1:-build}" in
path)
	image_path
	;;
vmlinux)
	img=$(image_path)
	[ -f "$img" ] || die "$img is not built (make kdev)"
	out=$KDEV/vmlinux-${img##*/bzImage-}
	# Again when the kernel was rebuilt after it was taken out.
	[ -f "$out" ] && [ ! "$img" -nt "$out" ] || extract "$img" "$out"
	echo "$out"
	;;
build)
	fetch
	img=$(image_path)
	[ -f "$img" ] || build "$img"
	echo "$img"
	;;
*)
	die "usage: $0 [build|path|vmlinux]"
	;;
esac
