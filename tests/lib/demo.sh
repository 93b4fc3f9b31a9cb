#!/bin/bash
# make demo: boots the kit's Debian kernel to a busybox shell on this
# terminal. Directly with ./lkvm where the host's KVM runs guest kernels
# at speed; else inside the emulated L1, whose console is this terminal
# (QEMU -serial mon:stdio), where lkvm-static runs with L1's console in raw
# mode so every key reaches L2. The same kvm-probe as the tests decides.
set -euo pipefail

source "$(dirname "$0")/common.bash"

LKVM=${E2E_LKVM:-$E2E_ROOT/lkvm}
LKVM_STATIC=${E2E_LKVM_STATIC:-$E2E_ROOT/lkvm-static}
L2_CMDLINE="console=ttyS0 panic=-1 quiet"

e2e_choose_path
echo "demo: $E2E_HOW: $E2E_WHY"

case $E2E_HOW in
direct)
	echo "demo: running ./lkvm; 'poweroff -f' in the guest ends it"
	exec "$LKVM" run -k "$KIT_OUT/vmlinuz" -i "$KIT_OUT/l2-initrd.cpio" \
		-c 2 -m 512 -p "$L2_CMDLINE"
	;;
l1)
	command -v "$QEMU" >/dev/null || {
		echo "demo: $QEMU is not installed (apt-get install qemu-system-x86)" >&2
		exit 1
	}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/extra/bin"
	cp "$LKVM_STATIC" "$tmp/extra/bin/lkvm"
	l1_pack "$tmp/l1.cpio" "$tmp/extra"
	l1_qemu demo "$tmp/l1.cpio" -nographic -serial mon:stdio
	echo "demo: booting the emulated L1 (QEMU TCG), then L2 inside it;"
	echo "demo: 'poweroff -f' in the guest ends both, ^A x quits QEMU at once"
	"${L1_CMD[@]}"
	;;
*)
	echo "demo: cannot run here: $E2E_WHY" >&2
	exit 1
	;;
esac
