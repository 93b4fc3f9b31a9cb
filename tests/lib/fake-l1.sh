#!/bin/bash
# A stand-in for the emulated L1's QEMU, for tests/e2e/harness.bats: it
# takes the command line tests/lib/common.bash's l1_qemu builds, unpacks
# the -initrd (the harness's plan, ship/ and bin/lkvm, which the test
# makes tests/lib/fake-lkvm.sh), prints a heartbeat as l1-init.sh does,
# and runs the real plan-exec.sh with the -drive file as RESULTS_DEV and a
# directory with a file "trace" as the tracefs of L1's KVM.
# A run wedges this "L1" by writing a kind to $FAKE_L1_STATE/wedge and
# sending SIGUSR1 (fake-lkvm.sh's fake.wedge.BOOT=KIND):
#   softlockup  print the soft-lockup and panic lines, exit as QEMU does
#               after a panic with -no-reboot
#   silent      say nothing more and never exit (SIGTERM ends it), but
#               answer "info registers -a" on the -monitor pipe: two
#               CPUs, one halted
#   reset       L1's CPU triple-faults: no word, QEMU exits 0
#   vmexit-oops L1's kernel dies in svm_vcpu_enter_exit, as after a bad
#               #VMEXIT: an oops with that in its trace, then a panic
#   vmm-oops    L1's kernel dies in lkvm's vCPU thread before any trace
#               reaches the console: the oops's first lines, then a panic
#               (thread names: lkvm-vcpu0, lkvm-io, ...)
#   crash       an L1 kernel panic that is no wedge (in another task,
#               in 6.12's format, after a warning in lkvm's task)
# FAKE_L1_BOOT_WEDGE="N ..." makes those boots wedge silently while
# booting, before any run (as the real L1 now and then does).
# FAKE_L1_STATE (required) keeps the boot count; boot N sees
# FAKE_L1_BOOT=N. A run that outlives SIGKILL needs no help from here:
# plan-exec.sh says so itself.
set -euo pipefail

: "${FAKE_L1_STATE:?}"
lib=$(cd "$(dirname "$0")" && pwd)
initrd= drive= monitor=
while (($#)); do
	case $1 in
	-initrd) initrd=$2; shift ;;
	-drive) drive=${2#file=}; drive=${drive%%,format=*}; drive=${drive//,,/,}; shift ;;
	-monitor) monitor=${2#pipe:}; monitor=${monitor//,,/,}; shift ;;
	esac
	shift
done
[[ -f $initrd && -f $drive ]] || { echo "fake-l1: need -initrd and -drive file=" >&2; exit 1; }

boot=$(($(cat "$FAKE_L1_STATE/boots" 2>/dev/null || echo 0) + 1))
echo "$boot" >"$FAKE_L1_STATE/boots"
root=$FAKE_L1_STATE/root-$boot
rm -rf "$root" "$FAKE_L1_STATE/wedge"
mkdir -p "$root/kit" "$root/results" "$root/tracing"
# The header a real tracefs "trace" file starts with.
printf '%s\n' "# tracer: nop" "#" "# entries-in-buffer/entries-written: 0/0   #P:2" \
	"#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION" >"$root/tracing/trace"
(cd "$root" && cpio -i -d --quiet <"$initrd")
: >"$root/kit/vmlinuz"
echo "kvm yes" >"$root/results/l1-info"

# What a silent L1's QEMU says to "info registers -a": two CPUs, one halted.
answer_monitor() {
	[[ $monitor ]] || return 0
	read -r _ <"$monitor.in"
	printf '%s\n' "CPU#0" "RIP=ffffffff8c2a1b3e RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0" \
		"CPU#1" "RIP=ffffffff8c0f3d21 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1" \
		>"$monitor.out"
}

case " ${FAKE_L1_BOOT_WEDGE:-} " in
*" $boot "*)
	echo "[    0.000000] Linux version 6.1.0-57-cloud-amd64"
	answer_monitor
	exec sleep 3600
	;;
esac
echo "l1: up: fake L1 boot $boot"

while sleep 0.5; do echo "l1: alive"; done &
beat=$!
setsid env KIT="$root/kit" SHIP="$root/ship" WORK="$root/work" \
	LKVM="$root/bin/lkvm" RESULTS_DEV="$drive" FAKE_L1_PID=$$ \
	E2E_L1_TRACE="$root/tracing" \
	FAKE_L1_BOOT="$boot" sh "$lib/plan-exec.sh" "$root/plan" "$root/results" &
plan=$!

# The plan and everything it started are one process group (setsid).
power_off() {
	kill "$beat" 2>/dev/null || true
	kill -KILL -- -"$plan" 2>/dev/null || true
}

wedge() {
	local kind

	kind=$(cat "$FAKE_L1_STATE/wedge")
	power_off
	case $kind in
	softlockup)
		echo "[   35.123456] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [lkvm:97]"
		echo "[   35.234567] Kernel panic - not syncing: softlockup: hung tasks"
		exit 0
		;;
	silent)
		answer_monitor
		exec sleep 3600
		;;
	reset) exit 0 ;;
	vmexit-oops)
		printf '%s\n' "[  113.797132] BUG: TASK stack guard page was hit at 00000000268504b8 (stack is 00000000ac5bb6b8..000000002dc168ef)" \
			"[  113.799940]  svm_vcpu_enter_exit+0x28/0x60 [kvm_amd]" \
			"[  113.799940]  svm_vcpu_run+0x1b8/0x6c0 [kvm_amd]" \
			"[  113.820974] Kernel panic - not syncing: Fatal exception in interrupt"
		exit 0
		;;
	vmm-oops)
		printf '%s\n' "[  153.031881] BUG: TASK stack guard page was hit at 0000000013e13df4 (stack is 00000000427f3bfc..0000000054a41c7f)" \
			"[  153.031881] CPU: 0 PID: 1518 Comm: lkvm-vcpu0 Not tainted 6.1.0-57-cloud-amd64 #1  Debian 6.1.192-3" \
			"[  153.031881] RIP: 0010:asm_exc_page_fault+0x4/0x30" \
			"[  153.144235] Kernel panic - not syncing: corrupted stack end detected inside scheduler"
		exit 0
		;;
	*)
		printf '%s\n' "[   11.200000] WARNING: CPU: 0 PID: 1518 at arch/x86/kvm/x86.c:1 kvm_arch_vcpu_ioctl_run+0x1/0x2 [kvm]" \
			"[   11.200001] CPU: 0 PID: 1518 Comm: lkvm Not tainted 6.1.0-57-cloud-amd64 #1  Debian 6.1.192-3" \
			"[   12.345677] CPU: 1 UID: 0 PID: 1 Comm: init Not tainted 6.12.57+deb13-cloud-amd64 #1  Debian 6.12.57-1" \
			"[   12.345678] Kernel panic - not syncing: Fatal exception"
		exit 0
		;;
	esac
}
trap wedge USR1

rc=0
wait "$plan" || rc=$?
power_off
echo "l1: plan-exec exit $rc"
echo "reboot: Power down"
