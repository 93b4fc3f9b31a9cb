#!/bin/sh
# /init of the emulated L1 machine (QEMU TCG, -cpu max: AMD SVM). It loads
# virtio-blk and kvm-amd, then by lkvm.l1=MODE on its command line:
#   plan  runs /plan with /e2e/plan-exec.sh and writes /results as a tar
#         archive onto the first virtio disk, which the host reads back;
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

for m in $(cat /etc/modules.order); do
	if [ ! -f "/lib/modules/$m.ko" ]; then
		echo "l1: module $m not in the kit, skipped"
	elif ! insmod "/lib/modules/$m.ko"; then
		echo "l1: module $m failed to load"
	fi
done

mode=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lkvm.l1=*) mode=${arg#lkvm.l1=} ;;
	esac
done

mkdir -p /results
{
	echo "kernel $(uname -r)"
	echo "cpus $(grep -c ^processor /proc/cpuinfo)"
	echo "svm $(grep -c -w svm /proc/cpuinfo)"
	echo "uptime-at-init $(cut -d ' ' -f 1 /proc/uptime)"
	if [ -c /dev/kvm ]; then echo "kvm yes"; else echo "kvm no"; fi
	echo "modules $(cut -d ' ' -f 1 /proc/modules | tr '\n' ' ')"
} >/results/l1-info
echo "l1: up: $(tr '\n' ';' </results/l1-info)"

run_plan() {
	KIT=/kit SHIP=/ship WORK=/tmp/work LKVM=/bin/lkvm \
		sh /e2e/plan-exec.sh /plan /results
	echo "uptime-at-end $(cut -d ' ' -f 1 /proc/uptime)" >>/results/l1-info

	# The virtio-blk probe may finish a moment after insmod returns.
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -b /dev/vda ]; then
		tar cf /dev/vda -C /results . && sync
		echo "l1: results written"
	else
		echo "l1: no results disk (/dev/vda)"
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
