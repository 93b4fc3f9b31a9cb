#!/bin/bash
# The Debian packages a make target needs, so that on a fresh Debian 12
# machine `make demo` and `make check` are the only two commands to type.
#
#   deps.sh build|demo|l1|check|kdev
#
# Packages are detected with dpkg-query (no root needed). When some are
# missing: as root, `apt-get update` and install them, non-interactively;
# otherwise print the one `sudo ...` line that does it and exit 1.
#
# The kit (tests/kit/build.sh fetch) takes the Debian cloud kernel and
# busybox with `apt-get download`, which needs package lists: a fresh
# machine has none, or old ones. So until the kit is fetched, root gets an
# `apt-get update` here, and a user without lists gets it in the line.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KIT_CACHE=${KIT_CACHE:-$ROOT/tests/kit/cache}

# What each target needs, found by running them on a debootstrap'd
# Debian 12 minbase with git and make only (make itself must be there
# to type `make demo`; `deps.sh build` installs it when run by hand).
BUILD_PKGS=(make gcc libc6-dev linux-libc-dev)
# The kit: cpio packs the initramfs; a kernel whose modules are xz or
# zstd compressed needs those to unpack them for busybox's insmod.
KIT_PKGS=(cpio xz-utils zstd)
# The emulated L1, where the host's KVM cannot run Linux (kvm-probe).
# Without recommends: no GUI, OVMF or block extras; TCG needs none.
L1_PKGS=(qemu-system-x86)
# bats runs the suites, jq reads `lkvm list --json`, e2fsprogs makes the
# ext4 images, util-linux has unshare, setsid and setpriv, procps has ps
# (host.bats checks who a VM's parent is), groff-base checks the man page,
# valgrind looks for leaks at a normal exit (host.bats skips without it).
# socat goes with its libraries into the vsock tests' guest
# (VSOCK-LISTEN, VSOCK-CONNECT; without it vsock.bats skips those tests).
# net.bats ships the host's passt into L1 for its `-n mode=user` runs
# (they fail without it) and runs the host's passt cases; iproute2's ip
# brings up lo in the network namespaces of those host cases. make
# bench's network half runs iperf3 in L1 and in its guest (listed here:
# bench has no list of its own).
CHECK_PKGS=(bats jq e2fsprogs util-linux procps groff-base valgrind
	passt iproute2 iperf3 socat)
# make kdev (tests/kit/kernel.sh): Linux's own build needs bc, bison and
# flex; objtool needs libelf, the certificate tools libssl; the source
# package is a tar.xz.
KDEV_PKGS=(bc bison flex libelf-dev libssl-dev xz-utils)

say() { echo "deps: $*" >&2; }

# The packages of the list that are not installed, one a line.
missing() {
	local p

	for p in "$@"; do
		[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) == ii* ]] ||
			echo "$p"
	done
}

# Whether apt knows the cloud kernel, that is, whether the kit can be
# downloaded: apt-cache finds nothing before the first `apt-get update`.
apt_has_lists() {
	apt-cache show linux-image-cloud-amd64 >/dev/null 2>&1
}

kit_fetched() {
	[[ -e $KIT_CACHE/.fetched ]]
}

# Whether tests/kit/kernel.sh has its source package (it downloads it).
kdev_fetched() {
	compgen -G "$KIT_CACHE/kdev/linux-source-*.deb" >/dev/null
}

main() {
	local target=${1:-} need_update=0 line=
	local -a pkgs todo

	case $target in
	build) pkgs=("${BUILD_PKGS[@]}") ;;
	l1) pkgs=("${L1_PKGS[@]}") ;;
	demo) pkgs=("${BUILD_PKGS[@]}" "${KIT_PKGS[@]}") ;;
	check) pkgs=("${BUILD_PKGS[@]}" "${KIT_PKGS[@]}" "${L1_PKGS[@]}" "${CHECK_PKGS[@]}") ;;
	kdev) pkgs=("${BUILD_PKGS[@]}" "${KDEV_PKGS[@]}") ;;
	*)
		echo "usage: $0 build|demo|l1|check|kdev" >&2
		exit 2
		;;
	esac

	if ! command -v dpkg-query >/dev/null; then
		say "not a Debian system (no dpkg-query); make $target needs the equivalents of: ${pkgs[*]}"
		return 0
	fi
	mapfile -t todo < <(missing "${pkgs[@]}")
	if { [[ $target == demo || $target == check ]] && ! kit_fetched; } ||
		{ [[ $target == kdev ]] && ! kdev_fetched; }; then
		if [[ $(id -u) == 0 ]] || ! apt_has_lists; then
			need_update=1
		fi
	fi
	((${#todo[@]} || need_update)) || return 0

	if [[ $(id -u) != 0 ]]; then
		if ((${#todo[@]})); then
			say "make $target needs Debian packages that are not installed: ${todo[*]}"
			line="sudo apt-get install -y --no-install-recommends ${todo[*]}"
		else
			say "make $target downloads the Debian cloud kernel, but apt has no package lists yet"
		fi
		apt_has_lists || line="sudo apt-get update${line:+ && $line}"
		say "run this, then make $target again:"
		echo "$line" >&2
		exit 1
	fi

	export DEBIAN_FRONTEND=noninteractive
	say "running apt-get update${todo[*]:+, then installing: ${todo[*]}}"
	apt-get update -q
	((${#todo[@]})) || return 0
	apt-get install -y -q --no-install-recommends "${todo[@]}"
	mapfile -t todo < <(missing "${pkgs[@]}")
	if ((${#todo[@]})); then
		say "still not installed after apt-get install: ${todo[*]}"
		exit 1
	fi
}

main "$@"
