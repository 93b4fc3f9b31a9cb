# Scenario migrate-guest: a guest to migrate (tests/e2e/migrate.bats).
#
# It fills 64 MiB of memory (a tmpfs file) with random bytes and notes
# their md5, writes the first 4 MiB to the first disk (fsync'd), then
# prints "lkvm-guest: tick N up U" every 100 ms, U its /proc/uptime.
#
# Commands on the console (a destination's stdin):
#   dirty  from now on, also rewrite M MiB every 100 ms, 10 x M MiB/s
#          (M from lkvm.dirty=M or 5): each round the next of 6 slices
#          of a 6 x M MiB file, so that a pass of up to 0.6 s finds
#          10 x M MiB/s of distinct dirty pages, not the same M MiB again
#          (/tmp, a tmpfs, holds half the guest's RAM: 64 + 6 x M MiB);
#          paced by /proc/uptime, so a slow dd does not slow the rate;
#   urecv  receive and check the datagrams of `xfer usend HOST 7000 N 7
#          RATE` on eth0 (they cross a move: migrate.bats), saying what
#          came when the sender ends; the guest sends nothing back;
#   check  check the area and the disk, write the disk once more, print
#          what was found, and power off.
# lkvm.dirty=M on the command line dirties from the start.  So one guest
# boot can be migrated, saved and restored as often as a test likes
# before it is checked.
area=/tmp/area
dirty=5
# Which transport the disk is on (migrate.bats runs both).
echo "lkvm-guest: vda transport $(basename "$(readlink /sys/block/vda/device/../driver)")"
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lkvm.dirty=*) dirty=${arg#lkvm.dirty=} && touch /tmp/dirty-on ;;
	esac
done

# A NIC, if the test gave one: up, with an IPv4 address and no IPv6, so
# that it sends nothing but the gratuitous ARP of each announcement after
# a move (virtio 1.2 §5.1.6.5.4).
nic=/sys/class/net/eth0
if [ -d $nic ]; then
	echo 1 >/proc/sys/net/ipv6/conf/eth0/disable_ipv6
	ip addr add 169.254.7.2/24 dev eth0
	ip link set eth0 up
	echo "lkvm-guest: eth0 up, tx $(cat $nic/statistics/tx_packets)"
fi

dd if=/dev/urandom of=$area bs=1M count=64 2>/dev/null
sum=$(md5sum <$area | cut -d ' ' -f 1)
echo "lkvm-guest: area md5 $sum"
head -c 4194304 $area >/tmp/disk4m
disk=$(md5sum </tmp/disk4m | cut -d ' ' -f 1)
dd if=/tmp/disk4m of=/dev/vda bs=1M conv=fsync 2>/dev/null &&
	echo "lkvm-guest: disk written, md5 $disk"

dd if=/dev/urandom of=/tmp/pattern bs=1M count="$dirty" 2>/dev/null
rm /tmp/disk4m
for s in 0 1 2 3 4 5; do
	dd if=/tmp/pattern of=/tmp/dirty bs=1M seek=$((s * dirty)) conv=notrunc \
		2>/dev/null
done
# centis: /proc/uptime in hundredths of a second, without a fork.
centis() {
	read -r up _ </proc/uptime
	cs=$((${up%.*} * 100 + 1${up#*.} - 100))
}
(
	while [ ! -f /tmp/dirty-on ]; do
		sleep 0.1
	done
	echo "lkvm-guest: dirtying $dirty MiB every 100 ms"
	cut -d ' ' -f 1 /proc/uptime >/tmp/dirty-since
	centis
	t0=$cs
	n=0
	while :; do
		dd if=/tmp/pattern of=/tmp/dirty bs=1M count="$dirty" \
			seek=$((n % 6 * dirty)) conv=notrunc 2>/dev/null
		n=$((n + 1))
		echo $n >/tmp/dirty-rounds
		# Round n is due at t0 + 10 n: sleep until then.  More than a
		# second late (a pause, a throttle), start the schedule afresh
		# rather than burst to catch up.
		centis
		d=$((t0 + n * 10 - cs))
		if [ $d -gt 0 ]; then
			sleep "$((d / 100)).$((d / 10 % 10))$((d % 10))"
		elif [ $d -lt -100 ]; then
			t0=$((cs - n * 10))
		fi
	done
) &

# xfer urecv, its lines marked as the guest's (by the shell's echo: sed
# would hold them in its buffer until xfer ends).
urecv() {
	xfer urecv 7000 7 2>&1 | while read -r l; do echo "lkvm-guest: $l"; done
}

# The console's input, read beside the ticks.
(
	while read -r line; do
		case "$line" in
		check) touch /tmp/check ;;
		dirty) touch /tmp/dirty-on ;;
		urecv) urecv & ;;
		esac
	done
) </dev/console &

echo "lkvm-guest: migrate-ready"
i=0
while [ ! -f /tmp/check ]; do
	i=$((i + 1))
	echo "lkvm-guest: tick $i up $(cut -d ' ' -f 1 /proc/uptime)"
	sleep 0.1
done

if [ "$(md5sum <$area | cut -d ' ' -f 1)" = "$sum" ]; then
	echo "lkvm-guest: area intact"
else
	echo "lkvm-guest: area CORRUPT"
fi
echo 3 >/proc/sys/vm/drop_caches
if [ "$(head -c 4194304 /dev/vda | md5sum | cut -d ' ' -f 1)" = "$disk" ]; then
	echo "lkvm-guest: disk intact"
else
	echo "lkvm-guest: disk CORRUPT"
fi
# The disk still takes writes here.
echo "written after the migrations" | dd of=/dev/vda bs=512 seek=16384 \
	conv=fsync 2>/dev/null && echo "lkvm-guest: disk writable"
[ -d $nic ] && echo "lkvm-guest: eth0 carrier $(cat $nic/carrier) tx $(cat $nic/statistics/tx_packets)"
# A datagram whose bytes went bad and failed its checksum never reaches
# urecv: the kernel counts it here.
[ -d $nic ] && awk '/^Udp:/ { if (!n++) split($0, k); else for (i = 2; i <= NF; i++) if (k[i] == "InCsumErrors") print "lkvm-guest: eth0 udp InCsumErrors " $i }' /proc/net/snmp
# What the guest really dirtied (the rounds it managed, not what it asked).
[ -f /tmp/dirty-rounds ] && awk -v n="$(cat /tmp/dirty-rounds)" -v m="$dirty" \
	-v t0="$(cat /tmp/dirty-since)" -v t1="$(cut -d ' ' -f 1 /proc/uptime)" \
	'BEGIN { printf "lkvm-guest: dirtied %.0f MiB/s (%d rounds of %d MiB in %.1f s)\n", n * m / (t1 - t0), n, m, t1 - t0 }'
echo "lkvm-guest: done after $i ticks"
poweroff -f
