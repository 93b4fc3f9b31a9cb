#!/bin/sh
# Builds the guest kit for the end-to-end tests from Debian packages only.
#
#   build.sh fetch       download the .debs into tests/kit/cache/ (once)
#   build.sh unpack      extract kernel, modules and busybox into out/
#   build.sh l2-initrd   the L2 guest's initramfs (init + scenarios)
#   build.sh l2-vsock    an archive the vsock tests append to it: socat
#                        with its libraries, the hostile vsock driver
#   build.sh l1-base     the emulated L1's initramfs, without lkvm and plan
#
# tests/tests.mk calls these with stamps, so a second `make kit` does no
# work and no download. Everything here is POSIX sh.
set -eu

KIT_DIR=$(cd "$(dirname "$0")" && pwd)
TESTS_DIR=$(dirname "$KIT_DIR")
CACHE=${KIT_CACHE:-$KIT_DIR/cache}
OUT=${KIT_OUT:-$KIT_DIR/out}

say() { echo "kit: $*"; }
die() { echo "kit: error: $*" >&2; exit 1; }

# The package that the linux-image-cloud-amd64 metapackage points at, e.g.
# linux-image-6.1.0-56-cloud-amd64. apt-cache knows nothing before the
# first `apt-get update`, so do that once if the lookup comes back empty.
kernel_package() {
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1)
	if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
		say "apt-cache knows no cloud kernel: running apt-get update"
		apt-get update >&2
		pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' |
			head -n 1)
	fi
	[ -n "$pkg" ] || die "cannot find the package linux-image-cloud-amd64 depends on"
	echo "$pkg"
}

# apt-get download refuses nothing as root but warns that its sandbox user
# cannot write here; running it as root on purpose keeps the log quiet.
apt_download() {
	(cd "$CACHE" && apt-get -q -o APT::Sandbox::User=root download "$@")
}

# The cache is the only input that needs the network. Any deb already
# there is used as is, so a second run (or CI on the same machine) makes
# no download even after Debian has moved on to a newer kernel.
cmd_fetch() {
	mkdir -p "$CACHE"
	if ! ls "$CACHE"/linux-image-*-cloud-amd64_*.deb >/dev/null 2>&1; then
		pkg=$(kernel_package)
		say "downloading $pkg"
		apt_download "$pkg"
	fi
	if ! ls "$CACHE"/busybox-static_*.deb >/dev/null 2>&1; then
		say "downloading busybox-static"
		apt_download busybox-static
	fi
	touch "$CACHE/.fetched"
}

one_deb() {
	# The newest if several versions piled up in the cache.
	ls "$CACHE"/$1 2>/dev/null | sort -V | tail -n 1
}

# Copies one module into out/modules/ as a plain .ko: busybox insmod reads
# neither .ko.xz nor .ko.zst, so decompress here, on the build host.
module_copy() {
	src=$1
	name=$(basename "$src")
	case "$name" in
	*.ko) cp "$src" "$OUT/modules/$name" ;;
	*.ko.xz) xz -dc "$src" >"$OUT/modules/${name%.xz}" ;;
	*.ko.zst) zstd -qdc "$src" >"$OUT/modules/${name%.zst}" ;;
	*.ko.gz) gzip -dc "$src" >"$OUT/modules/${name%.gz}" ;;
	esac
}

# Modules named in the kit's lists (one name a line, # comments), found
# anywhere under lib/modules/*/kernel. A missing one is not an error: the
# guest's init skips it and says so.
cmd_unpack() {
	kdeb=$(one_deb 'linux-image-*-cloud-amd64_*.deb')
	bdeb=$(one_deb 'busybox-static_*.deb')
	[ -n "$kdeb" ] && [ -n "$bdeb" ] || die "no debs in $CACHE: run '$0 fetch'"
	rm -rf "$OUT/deb" "$OUT/modules"
	mkdir -p "$OUT/deb/kernel" "$OUT/deb/busybox" "$OUT/modules"
	say "unpacking $(basename "$kdeb")"
	dpkg-deb -x "$kdeb" "$OUT/deb/kernel"
	dpkg-deb -x "$bdeb" "$OUT/deb/busybox"
	cp "$OUT"/deb/kernel/boot/vmlinuz-* "$OUT/vmlinuz"
	cp "$OUT/deb/busybox/bin/busybox" "$OUT/busybox"
	basename "$OUT"/deb/kernel/lib/modules/* >"$OUT/kernel-release"

	for m in $(module_names "$KIT_DIR/l1-modules.txt" "$KIT_DIR/l2-modules.txt"); do
		f=$(find "$OUT"/deb/kernel/lib/modules/*/kernel \
			-name "$m.ko" -o -name "$m.ko.*" | head -n 1)
		if [ -n "$f" ]; then
			module_copy "$f"
		else
			say "warning: module $m is not in the kernel package"
		fi
	done
	module_tree
	# The extracted tree (90 MiB of modules) is not needed any more.
	rm -rf "$OUT/deb/kernel/lib"
	say "kernel $(cat "$OUT/kernel-release"), $(ls "$OUT/modules" | wc -l) modules"
}

# A /lib/modules/VERSION tree of the L2 modules (and the ACPI button's),
# with the modules.dep that busybox's depmod writes: what `lkvm run --
# CMD` finds in L1 by default (--modules), as on a distro host.  vhost
# and vhost_vsock too: make bench loads them in L1 for QEMU's
# vhost-vsock-pci (the same kernel runs L1 and L2).
module_tree() {
	rel=$(cat "$OUT/kernel-release")
	src=$OUT/deb/kernel/lib/modules/$rel
	dst=$OUT/modtree/lib/modules/$rel
	rm -rf "$OUT/modtree"
	mkdir -p "$dst"
	for m in $(module_names "$KIT_DIR/l2-modules.txt") button evdev \
		vhost_iotlb vhost vhost_vsock; do
		f=$(cd "$src" && find kernel -name "$m.ko" | head -n 1)
		[ -n "$f" ] || continue
		mkdir -p "$dst/$(dirname "$f")"
		cp "$src/$f" "$dst/$f"
	done
	cp "$src/modules.builtin" "$src/modules.order" "$dst/"
	"$OUT/busybox" depmod -b "$OUT/modtree" "$rel"
}

module_names() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$@"
}

# A root tree with busybox and its applet links, /init and the modules of
# one list. Needs no root: /dev/console is not in the archive, the inits
# mount devtmpfs and reopen their stdio on it themselves.
make_root() {
	root=$1 init=$2 list=$3
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" \
		"$root/tmp" "$root/etc" "$root/lib/modules" "$root/root"
	cp "$OUT/busybox" "$root/bin/busybox"
	for a in $("$OUT/busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$root/bin/$a"
	done
	ln -s bin "$root/sbin"
	cp "$init" "$root/init"
	chmod 0755 "$root/init"
	module_names "$list" >"$root/etc/modules.order"
	for m in $(cat "$root/etc/modules.order"); do
		if [ -f "$OUT/modules/$m.ko" ]; then
			cp "$OUT/modules/$m.ko" "$root/lib/modules/"
		fi
	done
}

# newc is the format the kernel unpacks; uncompressed on purpose, since
# decompressing in an emulated CPU costs more than copying the bytes.
make_cpio() {
	root=$1 out=$2
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
	mv "$out.tmp" "$out"
}

cmd_l2_initrd() {
	root=$OUT/l2-root
	make_root "$root" "$KIT_DIR/l2-init.sh" "$KIT_DIR/l2-modules.txt"
	# Kit commands for the guest; poweroff and reboot replace busybox's
	# links with wrappers that first drain the console.
	for f in "$KIT_DIR"/l2-bin/*; do
		rm -f "$root/bin/$(basename "$f")"
		cp "$f" "$root/bin/"
	done
	cp "$OUT/xfer" "$root/bin/"
	mkdir -p "$root/scenarios"
	for s in "$TESTS_DIR"/e2e/guest/*.sh; do
		[ -f "$s" ] || continue
		cp "$s" "$root/scenarios/"
	done
	make_cpio "$root" "$OUT/l2-initrd.cpio"
	say "l2-initrd.cpio: $(ls "$root/scenarios" | wc -l) scenarios, $(wc -c <"$OUT/l2-initrd.cpio") bytes"
}

# socat (VSOCK-LISTEN, VSOCK-CONNECT) with the libraries ldd names, at
# their own paths, and the hostile vsock driver: the vsock tests ship it
# and append it to the L2 initramfs, so other boots do not carry 10 MiB
# more.  Without socat on the build host the archive is empty and the
# vsock tests say so.
cmd_l2_vsock() {
	root=$OUT/l2-vsock-root
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/lib/modules"
	if s=$(command -v socat); then
		cp "$s" "$root/bin/socat"
		for lib in $(ldd "$s" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
			mkdir -p "$root$(dirname "$lib")"
			cp -L "$lib" "$root$lib"
		done
	else
		say "warning: socat is not installed (apt-get install socat): vsock tests will skip"
	fi
	cp "$OUT/vsock-hostile" "$root/bin/"
	for m in button evdev; do
		f=$(find "$OUT/modtree" -name "$m.ko" | head -n 1)
		[ -z "$f" ] || cp "$f" "$root/lib/modules/"
	done
	make_cpio "$root" "$OUT/l2-vsock.cpio"
	say "l2-vsock.cpio: $(wc -c <"$OUT/l2-vsock.cpio") bytes"
}

# The L1 archive carries the L2 kit under /kit. lkvm-static, the plan and
# the files a test ships are appended per run as a second cpio archive
# (the kernel unpacks concatenated archives in order).
cmd_l1_base() {
	root=$OUT/l1-root
	make_root "$root" "$TESTS_DIR/lib/l1-init.sh" "$KIT_DIR/l1-modules.txt"
	mkdir -p "$root/kit" "$root/e2e"
	cp "$OUT/xfer" "$OUT/kvm-hold" "$root/bin/"
	cp "$OUT/vmlinuz" "$OUT/l2-initrd.cpio" "$root/kit/"
	# The L2 kernel's modules where lkvm run -- CMD looks by default.
	cp -r "$OUT/modtree/lib/modules/$(cat "$OUT/kernel-release")" "$root/lib/modules/"
	cp "$TESTS_DIR/lib/plan-exec.sh" "$TESTS_DIR/lib/disk.sh" \
		"$TESTS_DIR/lib/driver.sh" "$root/e2e/"
	make_cpio "$root" "$OUT/l1-base.cpio"
	say "l1-base.cpio: $(wc -c <"$OUT/l1-base.cpio") bytes"
}

case "${1:-}" in
fetch) cmd_fetch ;;
unpack) cmd_unpack ;;
l2-initrd) cmd_l2_initrd ;;
l2-vsock) cmd_l2_vsock ;;
l1-base) cmd_l1_base ;;
*) echo "usage: $0 fetch|unpack|l2-initrd|l2-vsock|l1-base" >&2; exit 2 ;;
esac
