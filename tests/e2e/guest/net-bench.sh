# Scenario net-bench (make bench, tests/bench/net.bats): iperf3 from the
# guest against the host end of a tap, 169.254.1.1, both directions.
# Kernel command line:
#   lkvm.bench.secs=N     seconds per iperf3 pass (default 5)
#   lkvm.bench.passes=N   passes per direction (default 2)
#
# Phases lie between "lkvm-bench: mark NAME" lines, as in bench-blk.sh:
# each mark is followed by a 1 s sleep so that tests/bench/sampler.sh in
# L1 snapshots KVM's exit counters; the idle phase is one such sleep.
# "tx" is guest to host (iperf3 -c), "rx" host to guest (-R); "trace" a
# short tx pass with exits traced.  Results are printed after the last
# mark, so printing costs no phase anything.
secs=5 passes=2
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lkvm.bench.secs=*) secs=${arg#lkvm.bench.secs=} ;;
	lkvm.bench.passes=*) passes=${arg#lkvm.bench.passes=} ;;
	esac
done

up() { cut -d ' ' -f 1 /proc/uptime; }
mark() {
	echo "lkvm-bench: mark $1 $(up)"
	sleep 1
}
# Interrupts of the NIC's queues (virtioN-input.0, -output.0), CPU0.
virq() { awk '/virtio.*(input|output)/ { n += $2 } END { print n + 0 }' /proc/interrupts; }
# The same, by queue: the receive queue's (input), then the transmit queue's.
virqs() { awk '/virtio.*input/ { i += $2 } /virtio.*output/ { o += $2 } END { print i + 0, o + 0 }' /proc/interrupts; }
nicstat() { s=/sys/class/net/eth0/statistics; echo "$(cat $s/rx_packets) $(cat $s/rx_bytes) $(cat $s/tx_packets) $(cat $s/tx_bytes)"; }

ip link set lo up
ip addr add 169.254.1.2/24 dev eth0 && ip link set eth0 up
n=0
until ping -c 1 -W 1 169.254.1.1 >/dev/null 2>&1 || [ $n -ge 30 ]; do
	n=$((n + 1))
done
echo "lkvm-bench: net secs $secs passes $passes"

mark boot
mark idle
for dir in tx rx; do
	flag=
	[ $dir = rx ] && flag=-R
	mark $dir
	eval "i0_$dir=\$(virq) q0_$dir=\"\$(virqs)\" s0_$dir=\"\$(nicstat)\""
	i=0
	while [ $i -lt "$passes" ]; do
		iperf3 -c 169.254.1.1 -t "$secs" -f m $flag >/tmp/$dir.$i 2>&1
		i=$((i + 1))
	done
	eval "i1_$dir=\$(virq) q1_$dir=\"\$(virqs)\" s1_$dir=\"\$(nicstat)\""
done
mark end
# An untimed tx pass with L1 KVM's exits traced (the sampler traces from
# the mark "trace" to the next): kicks, MSIs and exits by reason, per
# frame sent, the same for every VMM.
mark trace
t0=$(nicstat)
iperf3 -c 169.254.1.1 -t 2 -f m >/tmp/trace 2>&1
t1=$(nicstat)
mark traced
echo "lkvm-bench: nicstat trace before $t0 after $t1"

for dir in tx rx; do
	i=0
	while [ $i -lt "$passes" ]; do
		# [  5]   0.00-5.04   sec   565 MBytes   940 Mbits/sec   receiver
		# (the transfer's unit varies; the rate, with -f m, does not)
		line=$(grep ' receiver' /tmp/$dir.$i)
		if [ -n "$line" ]; then
			echo "$line" | awk -v d=$dir -v p=$i '{ split($3, t, "-");
				printf "lkvm-bench: result %s pass %d secs %s mbits %s\n", d, p, t[2], $7 }'
		else
			sed "s/^/lkvm-bench: iperf3 $dir $i says: /" /tmp/$dir.$i
		fi
		i=$((i + 1))
	done
	eval "echo \"lkvm-bench: virtio-irqs $dir before \$i0_$dir after \$i1_$dir\""
	eval "echo \"lkvm-bench: virtio-irqs-queues $dir before \$q0_$dir after \$q1_$dir\""
	eval "echo \"lkvm-bench: nicstat $dir before \$s0_$dir after \$s1_$dir\""
done
# What the kernel made of the CPU each VMM gave it, to compare them:
# its CPU flags and its mitigations, which cost every system call.
echo "lkvm-bench: cpu-flags $(sed -n 's/^flags[^:]*: //p' /proc/cpuinfo | head -n 1)"
for f in /sys/devices/system/cpu/vulnerabilities/*; do
	[ -r "$f" ] && echo "lkvm-bench: vulnerability ${f##*/}: $(cat "$f")"
done
echo "lkvm-bench: done"
poweroff -f
