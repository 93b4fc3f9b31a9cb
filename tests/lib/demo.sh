#!/bin/bash
# make demo: boots the kit's Debian kernel to a busybox shell on this
# terminal. Directly with ./lkvm where the host's KVM runs guest kernels
# at speed; else inside the emulated L1, whose console is this terminal
# (QEMU -serial mon:stdio), where lkvm-static runs with L1's console in raw
# mode so every key reaches L2. The same kvm-probe as the tests decides.
# Before booting it says what the user is about to see and how to leave:
# Ctrl-A x is lkvm's quit key, and QEMU's too on the L1 path.
set -euo pipefail

source "$(dirname "$0")/common.bash"

LKVM=${E2E_LKVM:-$E2E_ROOT/lkvm}
LKVM_STATIC=${E2E_LKVM_STATIC:-$E2E_ROOT/lkvm-static}
L2_CMDLINE="console=ttyS0 panic=-1 quiet"

say() { echo "demo: $*"; }

# What is on the screen next, and the way out, before anything boots.
banner() {
	local how=$1 release

	release=$(cat "$KIT_OUT/kernel-release" 2>/dev/null || echo unknown)
	echo
	say "lkvm boots the Debian cloud kernel $release (tests/kit/out/vmlinuz)"
	say "with 2 vCPUs and 512 MiB to a busybox shell on this terminal."
	case $how in
	direct)
		say "./lkvm runs it on this host's KVM directly."
		;;
	l1)
		say "This host's KVM cannot run a Linux kernel at speed, so it goes through"
		say "an emulated L1 machine (QEMU in software mode, offering AMD SVM): L1's"
		say "kernel loads kvm-amd, and lkvm-static boots the kernel inside it (L2)."
		say "L1's lines come first (\"l1: ...\"), then the guest's (\"lkvm-guest: ...\");"
		say "reaching the shell takes about half a minute, and all of it is slow."
		;;
	esac
	say "To leave: type 'poweroff -f' at the guest's shell (lkvm exits 0),"
	say "or press Ctrl-A, then x."
	echo
}

e2e_choose_path
say "$E2E_HOW: $E2E_WHY"

case $E2E_HOW in
direct)
	banner direct
	exec "$LKVM" run -k "$KIT_OUT/vmlinuz" -i "$KIT_OUT/l2-initrd.cpio" \
		-c 2 -m 512 -p "$L2_CMDLINE"
	;;
l1)
	bash "$E2E_ROOT/tests/lib/deps.sh" l1
	command -v "$QEMU" >/dev/null || {
		say "$QEMU is not installed (apt-get install qemu-system-x86)" >&2
		exit 1
	}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/extra/bin"
	cp "$LKVM_STATIC" "$tmp/extra/bin/lkvm"
	l1_pack "$tmp/l1.cpio" "$tmp/extra"
	l1_qemu demo "$tmp/l1.cpio" -nographic -serial mon:stdio
	banner l1
	"${L1_CMD[@]}"
	;;
*)
	say "cannot run here: $E2E_WHY" >&2
	exit 1
	;;
esac
