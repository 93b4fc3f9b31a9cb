# Drives migrations of a guest (tests/e2e/guest/migrate-guest.sh) between
# lkvm processes in one machine, for migrate.bats.  Started in the
# background by a run's pre step, beside the run's own `lkvm run`, which
# is the first source:
#
#   sh migrate-driver.sh MODE NAME LKVM-RUN-ARGS...
#
# Destinations are the same command line plus --incoming URI.  The last
# one reads a FIFO as its console input; "check" there makes the guest
# verify its memory and disk and power off.  Every step is reported as a
# "mig: ..." line, for the test to read (and on /dev/console too, where
# the emulated L1's log shows it live); the driver ends with "mig: done"
# within DEADLINE seconds, and never leaves an lkvm behind: at the end,
# or at the deadline, every one still alive is stopped or killed.
# Its files (consoles, the state file) stay in the run's directory; only
# the source's console is in $E2E_OUT, which goes back to the host.
#
# MODE live:  A -tcp-> B idle; then the guest dirties memory, and
#             B -unix-> A' (A->B->A, under load), while (in the emulated
#             L1 only: it changes the machine's routes) a stream of
#             datagrams goes into the guest; then check.
# MODE fail:  to D1, killed mid-migration; to D2, cancelled; then a save
#             to a file (A ends) and a restore from it, then check.
mode=$1
name=$2
shift 2
console=$E2E_OUT/console
pids=
tags=
finished=
DEADLINE=${DEADLINE:-240}

say() {
	echo "mig: $*"
	echo "mig: $mode: $*" >/dev/console 2>/dev/null
}
# prefix TEXT: stdin's lines, CRs dropped, each after TEXT and ended by
# a newline, the last one too: a console cut mid-line (a guest that
# moved away between a tick and its newline) must not swallow the next
# line, "mig: done" say, which migrate.bats's post step waits for.
prefix() { tr -d '\r' | awk -v p="$1" '{ print p $0 }'; }
now() { cut -d ' ' -f 1 /proc/uptime; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# wait_for SECS CMD...: poll CMD every 0.1 s for up to SECS seconds.
wait_for() {
	n=$(($1 * 10))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
has() { grep -q "$2" "$1" 2>/dev/null; }
# The last tick line that ended (in CR LF) there: a move may cut the line
# being written, and its rest then goes out on the destination's console.
last_tick() {
	grep 'lkvm-guest: tick' "$1" | grep "$(printf '\r')\$" | tail -n 1 |
		tr -d '\r'
}
first_tick() { grep 'lkvm-guest: tick' "$1" | head -n 1 | tr -d '\r'; }
ticks() { grep -c 'lkvm-guest: tick' "$1" 2>/dev/null || true; }
ticking() { [ "$(ticks "$1")" -ge "$2" ]; }
# A VM NAME listed as running, with pid PID if given.
running() {
	"$LKVM" list 2>/dev/null | grep -q "^$1 *${2:-[0-9]*} *running"
}
gone() { ! kill -0 "$1" 2>/dev/null; }

# dest TAG URI [STDIN]: start a destination; its pid in $dpid.  No eval
# in the background command itself: then $! would be a shell, not lkvm.
# STDIN is taken before `set --` replaces the arguments.
dest() {
	tag=$1
	uri=$2
	in=${3:-/dev/null}
	eval "set -- $vm_args"
	"$LKVM" "$@" --incoming "$uri" <"$in" \
		>"$tag.console" 2>"$tag.stderr" &
	dpid=$!
	pids="$pids $dpid"
	tags="$tags $tag:$dpid"
	wait_for 20 has "$tag.stderr" "waiting for the guest" ||
		say "$tag: never waited for a guest"
}

# migrate TAG ARGS...: lkvm migrate -n NAME ARGS, in the foreground.
migrate() {
	tag=$1
	shift
	t0=$(now)
	"$LKVM" migrate -n "$name" "$@" >"$tag.migrate" 2>&1
	rc=$?
	say "$tag: migrate rc $rc in $(secs "$t0" "$(now)") s"
	tail -n 3 "$tag.migrate" | prefix "mig: $tag: "
}

# where TAG PID: where a guest that stopped answering is, before it is
# killed: its vCPUs (lkvm debug --regs) and what lkvm's threads wait on
# (in the emulated L1, a vCPU thread that never leaves KVM_RUN is L1's).
where() {
	vm=$("$LKVM" list 2>/dev/null | awk -v p="$2" '$2 == p { print $1 }')
	[ -z "$vm" ] || timeout 10 "$LKVM" debug -n "$vm" --regs 2>&1 |
		grep -E 'vCPU|RIP|CR0' | prefix "mig: $1: where: "
	for t in /proc/"$2"/task/*; do
		[ -r "$t/stat" ] || continue
		say "$1: thread $(cat "$t/comm") state $(sed 's/.*) //' "$t/stat" | cut -d ' ' -f 1) in $(cat "$t/wchan" 2>/dev/null)"
	done
}

# finish TAG: send "check" to the last destination, report how it ended.
finish() {
	echo check >&7
	wait_for 120 gone "$dpid" || {
		say "$1: still running after check, $(ticks "$1.console") ticks, last: $(tail -n 2 "$1.console" | tr -d '\r' | tr '\n' '|')"
		where "$1" "$dpid"
		kill -9 "$dpid"
	}
	wait "$dpid"
	rc=$?
	say "$1: exit $rc"
	finished="$finished $1"
	sed -n "s/^lkvm-guest: \(area\|disk\|eth0\|dirtied\|done\|xfer\)/\1/p" \
		"$1.console" | prefix "mig: $1: guest: "
	prefix "mig: $1: stderr: " <"$1.stderr"
	# A guest that died says why on its console (an oops, a panic):
	# the console stays in L1, so its end comes back here.
	[ "$rc" -eq 0 ] || grep -v 'lkvm-guest: tick' "$1.console" |
		tail -n 40 | prefix "mig: $1: console: "
}

# The datagram stream of the move back: L1 is 169.254.7.1, and sends to
# the guest (169.254.7.2, MAC from migrate.bats) through the tap of the
# lkvm that runs it, which migrate-ifup.sh named in tap.PID.  Its
# neighbour entry is static, so that the guest sends nothing but what
# the NIC test counts (the announcements).
GUEST_IP=169.254.7.2
GUEST_MAC=52:54:00:07:00:02
in_l1() { grep -q 'lkvm\.l1=' /proc/cmdline; }

# route_to PID: the guest's address through the tap of lkvm PID.
route_to() {
	tap=$(cat "tap.$1" 2>/dev/null)
	[ -n "$tap" ] || { say "stream: no tap for lkvm $1"; return 1; }
	# (busybox's ip has no "neigh replace"; its arp -s is permanent.)
	err=$(arp -i "$tap" -s $GUEST_IP $GUEST_MAC 2>&1 &&
		ip route replace $GUEST_IP/32 dev "$tap" src 169.254.7.1 2>&1) ||
		{ say "stream: cannot route to the guest through $tap: $err"; return 1; }
}

# stream_start TAG PID: the guest, in TAG, listens, and 200 datagrams
# a second go to it through lkvm PID's tap until stream_end; upid is the
# sender.  Not more: in the emulated L1 the guest crashed in 3 of 7
# runs of 20 s at 2000 a second, without any move (tests/e2e/README.md,
# "An L2 guest that triple-faults in L1").
stream_start() {
	upid=
	ip addr add 169.254.7.1/32 dev lo 2>/dev/null
	echo urecv >&7
	wait_for 20 has "$1.console" "listening on 7000" || {
		say "stream: the guest never listened; its console said: $(grep -v 'lkvm-guest: tick' "$1.console" | tail -n 6 | tr -d '\r' | tr '\n' '|')"
		return 1
	}
	route_to "$2" || return 1
	xfer usend $GUEST_IP 7000 600000 7 200 >usend.out 2>&1 &
	upid=$!
	pids="$pids $upid"
}

# stream_end TAG: 2 s more into the guest, now in TAG; then SIGTERM to
# the sender (it sends its end marks), and what the guest received.
stream_end() {
	[ -n "${upid:-}" ] || return 0
	sleep 2
	kill -TERM "$upid"
	wait "$upid"
	say "stream: $(cat usend.out)"
	wait_for 20 has "$1.console" "ureceived" || say "stream: the guest said nothing of it"
}

# report TAG: how the guest went on in TAG after the move.
report() {
	say "$1: first $(first_tick "$1.console")"
	grep -q 'init up' "$1.console" && say "$1: the guest booted again"
}

# gone_early: how each destination that ended without a check ended (a
# source migrated away, or one that died):
# its exit status, the end of its stderr and of its guest's console.
gone_early() {
	for t in $tags; do
		tag=${t%%:*}
		pid=${t#*:}
		case " $finished " in *" $tag "*) continue ;; esac
		gone "$pid" || continue
		wait "$pid"
		say "$tag: ended before any check, exit $?"
		tail -n 5 "$tag.stderr" | prefix "mig: $tag: stderr: "
		tail -n 3 "$tag.console" | prefix "mig: $tag: console: "
	done
}

end() {
	gone_early
	"$LKVM" stop -n "$name" >/dev/null 2>&1
	for p in $pids; do
		kill -9 "$p" 2>/dev/null
	done
	[ -z "${watchdog:-}" ] || kill "$watchdog" 2>/dev/null
	say done
	exit 0
}

# Past the deadline, the driver itself is stopped (TERM runs end).
trap end TERM
(sleep "$DEADLINE" && say "deadline of $DEADLINE s" && kill $$) &
watchdog=$!

# The source's own arguments, quoted for eval (-p has spaces).
quote() { printf "'%s'" "$(printf %s "$1" | sed "s/'/'\\\\''/g")"; }
vm_args=
for a in "$@"; do
	vm_args="$vm_args $(quote "$a")"
done
# tcp: goes over 127.0.0.1, and the emulated L1's init leaves the
# loopback interface down (on the host it is up already).
if ! ip link show lo 2>/dev/null | grep -q '[<,]UP[,>]'; then
	ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null ||
		say "cannot bring the loopback interface up"
fi
# The last destination's console input: held open here, so that its
# lkvm never sees end-of-file before "check".
mkfifo "in.fifo"
exec 7<>"in.fifo"

wait_for 120 has "$console" "migrate-ready" || { say "guest never ready"; end; }
wait_for 30 running "$name" || { say "source never listed"; end; }
say "source: $(grep 'area md5' "$console" | tr -d '\r')"

case $mode in
live)
	wait_for 20 ticking "$console" 10
	dest b tcp:127.0.0.1:4441 in.fifo
	migrate b tcp:127.0.0.1:4441
	say "a: last $(last_tick "$console")"
	wait_for 30 ticking b.console 10 || say "b: not ticking"
	report b
	"$LKVM" list | sed 's/^/mig: list: /'
	# Back, under load: B (named $name once A has gone) to A'.
	wait_for 20 running "$name" "$dpid" || say "b never took the name"
	echo dirty >&7
	wait_for 30 has b.console "dirtying" || say "b: not dirtying"
	bpid=$dpid
	in_l1 && stream_start b "$bpid"
	sleep 3
	dest a2 unix:a2.sock in.fifo
	migrate a2 unix:a2.sock
	[ -n "${upid:-}" ] && ! gone "$upid" &&
		say "stream: still sending when the move ended"
	[ -n "${upid:-}" ] && route_to "$dpid"
	grep 'pass' a2.migrate | sed 's/^/mig: a2: progress: /'
	say "b: last $(last_tick b.console)"
	wait_for 30 ticking a2.console 10 || say "a2: not ticking"
	report a2
	stream_end a2
	finish a2
	;;
fail)
	wait_for 20 ticking "$console" 10
	dest d1 tcp:127.0.0.1:4442
	d1=$dpid
	"$LKVM" migrate -n "$name" --speed 1M tcp:127.0.0.1:4442 \
		>d1.migrate 2>&1 &
	mpid=$!
	wait_for 30 has d1.migrate "pass 1" || say "d1: never active"
	sleep 1
	kill -9 "$d1"
	say "d1: killed"
	wait "$mpid"
	say "d1: migrate rc $?"
	tail -n 1 d1.migrate | sed 's/^/mig: d1: /'
	t=$(ticks "$console")
	wait_for 10 ticking "$console" $((t + 10)) && say "a: ticks on after d1"

	dest d2 tcp:127.0.0.1:4443
	"$LKVM" migrate -n "$name" --speed 1M -d tcp:127.0.0.1:4443 |
		sed 's/^/mig: d2: /'
	sleep 2
	"$LKVM" migrate -n "$name" --cancel | sed 's/^/mig: d2: cancel: /'
	wait_for 20 gone "$dpid" || kill -9 "$dpid"
	wait "$dpid"
	say "d2: exit $?"
	"$LKVM" migrate -n "$name" --status | sed 's/^/mig: d2: status: /'
	t=$(ticks "$console")
	wait_for 10 ticking "$console" $((t + 10)) && say "a: ticks on after d2"

	# Save, then restore in a new lkvm.
	migrate save file:"state.bin"
	say "a: last $(last_tick "$console")"
	say "save: $(ls -l "state.bin" | awk '{print $5}') bytes, $(du -k "state.bin" | cut -f 1) KiB on disk"
	t0=$(now)
	dest restore file:"state.bin" "in.fifo"
	wait_for 30 ticking restore.console 1
	say "restore: first tick $(secs "$t0" "$(now)") s after starting lkvm"
	wait_for 30 ticking restore.console 10
	report restore
	finish restore
	;;
esac
end
