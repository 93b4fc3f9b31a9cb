#!/bin/sh
# /init of the emulated L1 machine (QEMU TCG, -cpu max: AMD SVM). It loads
# virtio-blk and kvm-amd, then by lkvm.l1=MODE on its command line:
#   plan  runs /plan with /e2e/plan-exec.sh, which appends each finished
#         run's results to the first virtio disk as it goes (the host
#         reads them back, also after L1 wedged), and prints a heartbeat;
#   demo  runs lkvm on the console, raw, so the user types into L2.
# Then it powers off. Like any init it must not exit (that panics), so
# errors are reported and fall through to the power-off.
export PATH=/bin
export HOME=/root

mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp

mode=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lkvm.l1=*) mode=${arg#lkvm.l1=} ;;
	esac
done

# A line every 10 s: the host's harness ends an L1 whose console stays
# silent for E2E_L1_QUIET (60) s, as a wedged L1 with every CPU stuck
# does, and this keeps a live L1 talking while an L2 run prints nothing
# here. A soft lockup of one CPU is L1's own watchdog's to catch.
heartbeat() {
	while sleep 10; do
		echo "l1: alive at $(cut -d ' ' -f 1 /proc/uptime) s"
	done
}
if [ "$mode" = plan ]; then
	heartbeat &
fi

# Parameters for module $1 from the kernel command line (kvm_amd.avic=0):
# for a module that is not built in, the kernel leaves them to modprobe,
# which reads /proc/cmdline; busybox insmod does not, so pass them on.
module_params() {
	m=$(echo "$1" | tr - _)
	for arg in $(cat /proc/cmdline); do
		case "$arg" in
		"$m".*=*) printf '%s ' "${arg#"$m".}" ;;
		esac
	done
}

for m in $(cat /etc/modules.order); do
	if [ ! -f "/lib/modules/$m.ko" ]; then
		echo "l1: module $m not in the kit, skipped"
	elif ! insmod "/lib/modules/$m.ko" $(module_params "$m"); then
		echo "l1: module $m failed to load"
	fi
done

# kvm-amd's parameters as loaded, for the record of make soak.
kvm_amd_params() {
	for p in /sys/module/kvm_amd/parameters/*; do
		[ -f "$p" ] && printf '%s=%s ' "${p##*/}" "$(cat "$p")"
	done
}

# Before any L2 runs: keep KVM's APIC static keys from flipping, which
# patches KVM's code under a running L2 and wedges this TCG L1 now and
# then (tests/kit/kvm-hold.c says how we know). L1_APPEND=lkvm.hold=0
# leaves it out, to measure the difference with make soak.
hold=1
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lkvm.hold=0) hold=0 ;;
	esac
done
if [ "$hold" = 1 ] && [ -c /dev/kvm ] && ! kvm-hold; then
	hold=failed
	echo "l1: kvm-hold failed: KVM may patch itself under L2"
fi

mkdir -p /results
{
	echo "kernel $(uname -r)"
	echo "cpus $(grep -c ^processor /proc/cpuinfo)"
	echo "svm $(grep -c -w svm /proc/cpuinfo)"
	echo "uptime-at-init $(cut -d ' ' -f 1 /proc/uptime)"
	if [ -c /dev/kvm ]; then echo "kvm yes"; else echo "kvm no"; fi
	echo "modules $(cut -d ' ' -f 1 /proc/modules | tr '\n' ' ')"
	echo "kvm_amd $(kvm_amd_params)"
	echo "cmdline $(cat /proc/cmdline)"
	echo "kvm-hold $hold"
} >/results/l1-info
echo "l1: up: $(tr '\n' ';' </results/l1-info)"

# L1's KVM traces each L2 vCPU's SHUTDOWN exit (SVM exit code 0x7f, a
# triple fault) with the RIP it happened at. lkvm cannot give that RIP:
# KVM on AMD resets the vCPU right after. plan-exec.sh files the lines of
# each run under its results (l1-trace), for the host to tell a triple
# fault a run planned from one it did not (tests/e2e/README.md). The
# filter keeps every other exit out of the trace, so it costs little.
l1_trace() {
	t=/sys/kernel/tracing
	mount -t tracefs tracefs "$t" 2>/dev/null || return 0
	e=$t/events/kvm/kvm_exit
	[ -f "$e/filter" ] || return 0
	echo 'exit_reason == 127' >"$e/filter" &&
		echo 1 >"$e/enable" && echo "$t"
}

run_plan() {
	# The virtio-blk probe may finish a moment after insmod returns.
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ ! -b /dev/vda ]; then
		echo "l1: no results disk (/dev/vda)"
		return
	fi
	# plan-exec saves what is in /results (l1-info) first, then each run.
	trace=$(l1_trace)
	[ -n "$trace" ] || echo "l1: no kvm_exit trace: an L2's triple fault will not be told apart"
	if KIT=/kit SHIP=/ship WORK=/tmp/work LKVM=/bin/lkvm \
		RESULTS_DEV=/dev/vda E2E_L1_TRACE=$trace \
		sh /e2e/plan-exec.sh /plan /results; then
		echo "l1: results written"
	else
		echo "l1: the plan did not finish (plan-exec exit $?)"
	fi
}

# Raw mode: every key, ^C included, goes through lkvm to L2's console.
run_demo() {
	echo "l1: starting lkvm; leave with 'poweroff -f' in the guest, or ^A x"
	stty raw -echo
	/bin/lkvm run -k /kit/vmlinuz -i /kit/l2-initrd.cpio -c 2 -m 512 \
		-p "console=ttyS0 panic=-1 quiet"
	rc=$?
	stty sane
	echo "l1: lkvm exited with status $rc"
}

case "$mode" in
plan) run_plan ;;
demo) run_demo ;;
*) echo "l1: no lkvm.l1=plan|demo on the command line" ;;
esac

poweroff -f
while :; do sleep 3600; done
