# Scenario bench-blk (make bench, tests/bench): sequential O_DIRECT dd over
# all of vda in 1 MiB blocks.  Kernel command line:
#   lkvm.bench=read|write|idle   what to do (idle: no dd, a baseline run)
#   lkvm.bench.passes=N          timed dd passes over the disk (default 1)
#   lkvm.bench.trace=1           then one more pass, for the exit trace
#
# Phases lie between "lkvm-bench: mark NAME" lines.  Each mark is followed
# by a 1 s sleep, so tests/bench/sampler.sh in L1 sees it and snapshots
# KVM's exit counters before the next phase starts.  The idle phase is just
# one such sleep: its cost is what to subtract from a dd phase.  The
# sampler traces KVM's exits during the "trace" phase only, so tracing
# slows no timed pass.  Everything measured inside a phase is printed
# after the last mark, so the printing is not counted in any phase.
mode=idle passes=1 trace=0
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lkvm.bench=*) mode=${arg#lkvm.bench=} ;;
	lkvm.bench.passes=*) passes=${arg#lkvm.bench.passes=} ;;
	lkvm.bench.trace=*) trace=${arg#lkvm.bench.trace=} ;;
	esac
done

up() { cut -d ' ' -f 1 /proc/uptime; }
# The guest's monotonic clock in ns: /proc/timer_list has it to the ns,
# /proc/uptime only to 10 ms (a dd pass may take about one second).
now_ns() {
	if [ -r /proc/timer_list ]; then
		awk '/^now at [0-9]+ nsecs/ { print $3; exit }' /proc/timer_list
	else
		awk '{ printf "%.0f\n", $1 * 1e9 }' /proc/uptime
	fi
}
mark() {
	echo "lkvm-bench: mark $1 $(up)"
	sleep 1
}
# Requests the guest's block layer completed (/sys/block/vda/stat: reads,
# read merges, sectors read, ..., writes at field 5, flushes at field 15)
# and the interrupts its virtio devices took (CPU0's column).
# shellcheck disable=SC2046,SC2005 # echo joins the fields with one space
blkstat() { echo $(cat /sys/block/vda/stat); }
virq() { awk '/virtio/ { n += $2 } END { print n + 0 }' /proc/interrupts; }

dd_pass() {
	if [ "$mode" = read ]; then
		dd if=/dev/vda of=/dev/null bs=1M count=$mib iflag=direct 2>>/tmp/dd.err
	else
		dd if=/dev/zero of=/dev/vda bs=1M count=$mib oflag=direct \
			conv=fsync 2>>/tmp/dd.err
	fi
}

bytes=$(($(cat /sys/block/vda/size) * 512))
mib=$((bytes / 1048576))
echo "lkvm-bench: mode $mode passes $passes trace $trace vda $bytes bytes"
[ -r /proc/timer_list ] || echo "lkvm-bench: no /proc/timer_list: timing to 10 ms"

mark boot
mark idle
times='' rcs='' s0='' s1='' i0='' i1=
if [ "$mode" = read ] || [ "$mode" = write ]; then
	mark "$mode"
	s0=$(blkstat) i0=$(virq)
	i=0
	while [ $i -lt "$passes" ]; do
		t0=$(now_ns)
		dd_pass
		rc=$?
		t1=$(now_ns)
		times="$times $t0-$t1" rcs="$rcs $rc"
		i=$((i + 1))
	done
	s1=$(blkstat) i1=$(virq)
	if [ "$trace" = 1 ]; then
		mark trace
		dd_pass
	fi
fi
mark end
if [ -n "$times" ]; then
	# dd's own words only on failure: every console byte is an exit.
	case "$rcs" in
	*[1-9]*) sed 's/^/lkvm-bench: dd says: /' /tmp/dd.err ;;
	esac
	echo "lkvm-bench: blkstat before $s0"
	echo "lkvm-bench: blkstat after $s1"
	echo "lkvm-bench: virtio-irqs before $i0 after $i1"
	# Each pass as START-END in ns: busybox sh may lack 64-bit arithmetic.
	echo "lkvm-bench: result $mode bytes $bytes rc$rcs ns$times"
fi
echo "lkvm-bench: done"
poweroff -f
