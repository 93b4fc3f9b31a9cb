# Shared by the bats helpers (e2e.bash) and the demo (demo.sh): where the
# kit is, how Linux guests can run on this host, and how to start the
# emulated L1 machine. Bash, sourced.

E2E_ROOT=${E2E_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
KIT_OUT=${KIT_OUT:-$E2E_ROOT/tests/kit/out}
QEMU=${QEMU:-qemu-system-x86_64}

# e2e_choose_path: sets E2E_HOW to direct, l1 or none, and E2E_WHY to a
# line saying why. A real measurement decides (tests/kit/kvm-probe.c):
# a /dev/kvm that interprets guest kernel code cannot boot Linux, and only
# timing tells it apart from hardware virtualization. E2E_PATH=direct|l1
# overrides the probe, which then does not run (it takes seconds where
# KVM is slow; l1 needs no /dev/kvm on the host at all).
e2e_choose_path() {
	local probe rc=0

	case "${E2E_PATH:-}" in
	direct | l1)
		E2E_HOW=$E2E_PATH
		E2E_WHY="forced by E2E_PATH=$E2E_PATH"
		return
		;;
	'') ;;
	*)
		E2E_HOW=none
		E2E_WHY="E2E_PATH must be direct or l1, not '$E2E_PATH'"
		return
		;;
	esac
	if [[ ! -x $KIT_OUT/kvm-probe ]]; then
		E2E_HOW=none
		E2E_WHY="the kit is not built (run: make kit)"
		return
	fi
	probe=$("$KIT_OUT/kvm-probe") || rc=$?
	case $rc in
	0)
		E2E_HOW=direct
		E2E_WHY="host KVM runs guest kernels at speed; $probe"
		;;
	1)
		E2E_HOW=l1
		E2E_WHY="host KVM too slow for a Linux guest, using an emulated L1; $probe"
		;;
	*)
		E2E_HOW=none
		E2E_WHY="$probe"
		;;
	esac
}

# l1_pack OUT EXTRA_DIR: the L1 initramfs, that is the kit's base archive
# followed by a second archive of EXTRA_DIR (lkvm, the plan, shipped
# files). The kernel unpacks both in order, so no copy of the 20 MiB base.
l1_pack() {
	local out=$1 extra=$2

	{
		cat "$KIT_OUT/l1-base.cpio"
		(cd "$extra" && find . | LC_ALL=C sort |
			cpio -o -H newc -R 0:0 --quiet)
	} >"$out"
}

# The emulated L1's machine, overridable for `make soak`, which measures
# how often each setting wedges (tests/e2e/README.md has the table).
L1_SMP=${L1_SMP:-2}
L1_MEM=${L1_MEM:-2048}
L1_ACCEL=${L1_ACCEL:-tcg}
# More of L1's kernel command line; kvm_amd.NAME=VALUE words are passed to
# insmod by L1's init (tests/lib/l1-init.sh).
L1_APPEND=${L1_APPEND:-}

# l1_qemu MODE INITRD [QEMU ARGS...]: the QEMU command line of the
# emulated L1 (shared/KVM-HERE.md), in the array L1_CMD. TCG with -cpu max
# offers AMD SVM, so kvm-amd loads in L1. -no-reboot turns L1's panic
# (panic=-1) into a QEMU exit instead of a reboot loop, and
# softlockup_panic=1 turns the L1 wedge that L1's watchdog sees (a CPU
# stuck in an L2's KVM_RUN, "soft lockup - CPU#0 stuck for 26s!") into
# such a panic, so the harness need not wait for a timeout.
l1_qemu() {
	local mode=$1 initrd=$2
	shift 2
	L1_CMD=("$QEMU" -accel "$L1_ACCEL" -cpu max -smp "$L1_SMP" -m "$L1_MEM"
		-no-reboot -nodefaults -kernel "$KIT_OUT/vmlinuz" -initrd "$initrd"
		-append "console=ttyS0 panic=-1 softlockup_panic=1 loglevel=3 edd=off lkvm.l1=$mode${L1_APPEND:+ $L1_APPEND}"
		"$@")
}
