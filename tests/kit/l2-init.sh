#!/bin/sh
# /init of the L2 test guest (busybox). It loads the virtio and vsock
# modules, prints a marker line, then runs the scenario named on the kernel
# command line as lkvm.scenario=NAME, from /scenarios/NAME.sh. Without a
# scenario it gives an interactive shell on the console (make demo).
#
# No `set -e`: if init exits, the kernel panics ("Attempted to kill init"),
# and a test expecting a panic would pass for the wrong reason. Every path
# ends in `poweroff -f`, and if even that returns, in a marked endless sleep.
export PATH=/bin
export HOME=/root

mount -t devtmpfs dev /dev
# The archive has no /dev/console, so the kernel started us without stdio.
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp

for m in $(cat /etc/modules.order); do
	if [ ! -f "/lib/modules/$m.ko" ]; then
		echo "lkvm-guest: module $m not in the kit, skipped"
	elif ! insmod "/lib/modules/$m.ko"; then
		echo "lkvm-guest: module $m failed to load"
	fi
done

scenario=
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lkvm.scenario=*) scenario=${arg#lkvm.scenario=} ;;
	esac
done

echo "lkvm-guest: init up, kernel $(uname -r), scenario '${scenario:-shell}'"

if [ -z "$scenario" ]; then
	echo "lkvm-guest: interactive shell; 'poweroff -f' ends the guest"
	# cttyhack gives the shell a controlling tty, so ^C and jobs work.
	setsid cttyhack sh -l
elif [ -f "/scenarios/$scenario.sh" ]; then
	sh "/scenarios/$scenario.sh"
	echo "lkvm-guest: scenario $scenario returned $?"
else
	echo "lkvm-guest: no such scenario: $scenario"
fi

sync
poweroff -f
echo "lkvm-guest: poweroff -f returned; halting here"
while :; do sleep 3600; done
