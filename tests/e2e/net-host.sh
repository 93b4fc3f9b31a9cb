# The host side of tests/e2e/net.bats and of the network bench: runs one
# VMM in a network namespace of its own, with what the guest's scenario
# talks to.
#
#   sh ship/net-host.sh tap|user|bench lkvm|PROGRAM ARGS...
#
# "lkvm" is $LKVM; another PROGRAM (the bench's QEMU) runs as given.  It
# is the run's program (e2e_run --exec sh --raw), so its stdout is the
# VMM's, the guest console, and its status is the VMM's; the run's pre
# step writes its $E2E_OUT into ./e2e-out, for the console's path.  What the host
# side saw goes to ./net-host.out, one "host: ..." line each, which the
# run's post step prints.  Inside the emulated L1 (busybox) or on a host
# whose KVM is fast (then as root, or in a user namespace).
#
# Networking stays home: the taps, the dummy uplink passt takes its
# addresses from, and every address (169.254.0.0/16, fe80::/64, the
# loopback) live in the namespace, which goes away with this script.
#
#   tap   lkvm's script= brings lkvmtap0 up as 169.254.1.1/24 and fe80::1,
#         lkvmtap1 as 169.254.2.1/24.  A receiver takes 100 MiB from the
#         guest (port 5001) and a sender sends it 100 MiB (port 5002)
#         once it listens; each then notes the tap's frame counters.
#   user  passt (the shipped one if any) gets its template from a dummy
#         interface, 169.254.100.1/24 with a default route via .2.  A
#         server on the loopback (127.0.0.1:5003) takes the guest's 1 MiB
#         through the gateway; a client sends 1 MiB to the guest's port
#         5555 through hostfwd; then passt is killed, with lkvm list
#         --json noted before and after.
#   bench as tap for lkvmtap0 (the VMM's script= runs net-ifup.sh), with
#         an iperf3 server (the shipped one if any) on 169.254.1.1.
set -u

# exec: the run's process (the one the harness signals at its limit) must
# be the script below, whose trap passes SIGTERM on to the VMM; a shell
# waiting for unshare would die alone and leave the VMM running.
if [ "${NET_HOST_NS:-}" != 1 ]; then
	export NET_HOST_NS=1
	ns=-rn
	[ "$(id -u)" = 0 ] && ns=-n
	# No namespace, no test (net.bats skips 77).
	unshare $ns -m true 2>/dev/null ||
		{ echo "net-host: cannot make a network namespace" >&2; exit 77; }
	exec unshare $ns -m sh "$0" "$@"
fi

role=$1
shift
# The guest's console, as lkvm writes it: the run's pre step notes where.
console=$(cat e2e-out)/console
out=$PWD/net-host.out
: >"$out"
SIZE=104857600

log() { echo "host: $*" >>"$out"; }

# wait_console SECS TEXT: until the guest printed TEXT.
wait_console() {
	n=$(($1 * 5))
	while [ "$n" -gt 0 ]; do
		grep -q "$2" "$console" 2>/dev/null && return 0
		sleep 0.2
		n=$((n - 1))
	done
	log "gave up waiting for '$2'"
	return 1
}

# An interface's counters.  /proc/net/dev is this namespace's; /sys
# would show the namespace that mounted it.
counters() {
	awk -v i="$1:" '$1 == i {
		printf "%s rx_packets %s rx_bytes %s tx_packets %s tx_bytes %s\n", i, $3, $2, $11, $10 }' /proc/net/dev
}

ip link set lo up
helpers=

write_ifup() {
	cat >net-ifup.sh <<'EOF'
#!/bin/sh
case "$1" in
lkvmtap0)
	ip addr add 169.254.1.1/24 dev "$1"
	ip -6 addr add fe80::1/64 dev "$1"
	;;
*) ip addr add 169.254.2.1/24 dev "$1" ;;
esac
ip link set "$1" up
EOF
	chmod +x net-ifup.sh
}

setup_tap() {
	write_ifup
	(
		xfer recv 5001 >rx.out 2>&1
		echo "tap $(counters lkvmtap0)" >>rx.out
	) &
	helpers="$helpers $!"
	(
		wait_console 120 'lkvm-guest: listening on 5002' &&
			xfer send 169.254.1.2 5002 $SIZE 2 10 >tx.out 2>&1
		echo "tap $(counters lkvmtap0)" >>tx.out
	) &
	helpers="$helpers $!"
}

# The shipped passt runs through its own loader and libraries.
use_shipped_passt() {
	[ -x "$SHIP/passt" ] || return 0
	mkdir -p bin
	printf '#!/bin/sh\nexec %s --library-path %s --argv0 passt %s "$@"\n' \
		"$SHIP/ld-linux-x86-64.so.2" "$SHIP" "$SHIP/passt" >bin/passt
	chmod +x bin/passt
	PATH=$PWD/bin:$PATH
	export PATH
}

# lkvm's children: passt is the only one.
kill_children() {
	for d in /proc/[0-9]*; do
		ppid=$(sed 's/.*) //' "$d/stat" 2>/dev/null | cut -d ' ' -f 2)
		[ "$ppid" = "$1" ] && kill "${d#/proc/}" && log "killed passt, pid ${d#/proc/}"
	done
}

setup_user() {
	# passt, started by root, becomes nobody (L1 has no /etc/passwd).
	grep -q '^nobody:' /etc/passwd 2>/dev/null ||
		echo 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >>/etc/passwd
	grep -q '^nogroup:' /etc/group 2>/dev/null ||
		echo 'nogroup:x:65534:' >>/etc/group
	use_shipped_passt
	ip link add lkvmup0 type dummy || log "no dummy interface"
	ip addr add 169.254.100.1/24 dev lkvmup0
	ip link set lkvmup0 up
	ip route add default via 169.254.100.2 dev lkvmup0
	xfer recv 5003 127.0.0.1 >loop.out 2>&1 &
	helpers="$helpers $!"
	(
		wait_console 120 'lkvm-guest: listening on 5555' &&
			xfer send 127.0.0.1 5555 1048576 4 10 >fwd.out 2>&1
	) &
	helpers="$helpers $!"
	# lkvm list --json before passt's end and after it.
	(
		wait_console 120 'lkvm-guest: kill passt now' || exit
		echo "list-before: $("$LKVM" list --json | tr -d '\n')" >list.out
		kill_children "$(cat lkvm.pid)"
		wait_console 60 'lkvm-guest: after passt:' &&
			echo "list-after: $("$LKVM" list --json | tr -d '\n')" >>list.out
	) &
	helpers="$helpers $!"
}

# A shipped iperf3 runs through the shipped loader and libraries.
iperf3_cmd() {
	if [ -x "$SHIP/iperf3" ]; then
		echo "$SHIP/ld-linux-x86-64.so.2 --library-path $SHIP $SHIP/iperf3"
	else
		echo iperf3
	fi
}

setup_bench() {
	write_ifup
	# shellcheck disable=SC2046 # the command is words
	$(iperf3_cmd) -s >iperf3-server.log 2>&1 &
	helpers="$helpers $!"
}

case "$role" in
tap) setup_tap ;;
user) setup_user ;;
bench) setup_bench ;;
*) echo "net-host: unknown role $role" >&2; exit 2 ;;
esac

# passt's sandbox pivot_roots, which the kernel refuses on the initial
# ramfs, L1's root, and makes a user namespace, which it refuses to a
# chrooted process.  So, in this mount namespace, the VMM gets what
# switch_root makes: a bind mount of the same tree moved onto "/", its
# root then, which neither counts as the initial ramfs nor as a chroot.
on_rootfs() {
	[ "$(awk '$2 == "/" { t = $3 } END { print t }' /proc/mounts)" = rootfs ]
}

# run_switched DIR PROG ARGS...: PROG in DIR, with that root.
run_switched() {
	dir=$1
	shift
	mkdir -p /lkvm-root
	mount -o rbind / /lkvm-root && cd /lkvm-root && mount -o move . / &&
		exec chroot . sh -c 'cd "$1" && shift && exec "$@"' sh "$dir" "$@"
	echo "net-host: cannot give the VMM a root of its own" >&2
	exit 1
}

prog=$1
shift
[ "$prog" = lkvm ] && prog=$LKVM
if [ "$role" = user ] && on_rootfs; then
	run_switched "$PWD" "$prog" "$@" &
else
	"$prog" "$@" &
fi
lkvm=$!
echo $lkvm >lkvm.pid
# The run's limit sends SIGTERM, then SIGKILL 5 s later: stop the VMM
# and report at once, so what the helpers saw survives a hung run.
stopped=
trap 'stopped=1; kill $lkvm 2>/dev/null' TERM INT
wait $lkvm
rc=$?
[ -z "$stopped" ] || log "stopped by the run's limit; the helpers' output so far:"

# The helpers end with the guest's connections; give them a moment.
running() {
	for p in $helpers; do
		kill -0 "$p" 2>/dev/null && return 0
	done
	return 1
}
n=0
while [ -z "$stopped" ] && running && [ $n -lt 50 ]; do
	sleep 0.2
	n=$((n + 1))
done
for f in rx.out tx.out loop.out fwd.out list.out; do
	[ -f $f ] && sed 's/^/host: /' $f >>"$out"
done
for p in $helpers; do
	kill "$p" 2>/dev/null
done
exit $rc
