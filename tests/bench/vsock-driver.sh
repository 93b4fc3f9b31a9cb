# The host side of the vsock-bench scenario (tests/bench/vsock.bats), in
# L1 beside lkvm or QEMU: 1-byte round trips, then 256 MiB each way, with
# L1 KVM's exit counters (debugfs) read around each phase.  ADDR is
# lkvm's Unix socket or vsock:CID for QEMU's vhost-vsock.  Prints
# "bench: ..." lines; always tells the guest it is done.
addr=$1
peer=ship/vsock-peer
console=$E2E_OUT/console
kvm=/sys/kernel/debug/kvm

say() { echo "bench: $*"; }
counters() {
	echo "$(cat $kvm/exits 2>/dev/null || echo 0) $(cat $kvm/io_exits 2>/dev/null || echo 0) $(cat $kvm/mmio_exits 2>/dev/null || echo 0)"
}
# phase NAME CMD...: run CMD, then the counters' growth.
phase() {
	name=$1
	shift
	set -- $(counters) "$@"
	e0=$1 i0=$2 m0=$3
	shift 3
	out=$("$@" 2>&1)
	rc=$?
	set -- $(counters)
	say "$name rc $rc $out; exits $(($1 - e0)) pio $(($2 - i0)) mmio $(($3 - m0))"
}

[ -d $kvm ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
n=0
while ! grep -q 'lkvm-bench: vsock ready' "$console" 2>/dev/null && [ $n -lt 450 ]; do
	sleep 0.2
	n=$((n + 1))
done
# One warm-up connection, then the measured ones.
$peer pingpong "$addr" 5002 10 >/dev/null 2>&1
phase pingpong $peer pingpong "$addr" 5002 2000
phase to-guest $peer send "$addr" 5003 256
phase from-guest $peer recv "$addr" 5004
printf done | $peer connect "$addr" 5009 >/dev/null 2>&1
say done
