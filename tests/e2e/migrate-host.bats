#!/usr/bin/env bats
# lkvm migrate on the host's own KVM, with the tiny guest (no Linux, so no
# emulated L1): live migrations between two lkvm processes, saves and
# restores, and every way one can fail, in a few seconds each.  The tick
# mode prints a counter; the dirty mode rewrites 16 MiB round after round
# and checks each round's words, so a page a migration lost panics it.
# migrate.bats proves the same on real Linux.

load ../lib/e2e
load ../lib/tiny

setup() {
	# Control sockets live in $HOME/.lkvm: never the user's own.
	export HOME=$BATS_TEST_TMPDIR
	BG_PIDS=()
}

teardown() {
	local pid

	for pid in "${BG_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	tsan_clean "$BATS_TEST_TMPDIR"/*.err "$BATS_TEST_TMPDIR"/*.out
}

# tiny_bg TAG MODE [LKVM RUN ARGS]: the tiny guest in the background,
# console in TAG.out, stderr in TAG.err; its pid in BG_PID.
tiny_bg() {
	local tag=$1 mode=$2 d=$BATS_TEST_TMPDIR
	shift 2
	# fd 3 is bats' own: a background child holding it stalls bats.
	"$E2E_LKVM" run -k "$TINY" -p "tiny.mode=$mode" -m 64 "$@" \
		</dev/null >"$d/$tag.out" 2>"$d/$tag.err" 3>&- &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
}

out() { cat "$BATS_TEST_TMPDIR/$1.out" 2>/dev/null; }
has() { grep -q -- "$2" "$BATS_TEST_TMPDIR/$1.$3" 2>/dev/null; }
# count TAG WORD: how many "tiny: WORD" lines TAG printed.
count() { grep -c "tiny: $2" "$BATS_TEST_TMPDIR/$1.out" 2>/dev/null || true; }
at_least() { (($(count "$1" "$2") >= $3)); }
first() { grep -m 1 -o "tiny: $2 [0-9]*" "$BATS_TEST_TMPDIR/$1.out" | grep -o '[0-9]*$'; }
last() { grep -o "tiny: $2 [0-9]*" "$BATS_TEST_TMPDIR/$1.out" | tail -n 1 | grep -o '[0-9]*$'; }
waiting() { has "$1" "waiting for the guest" err; }

# exit_of PID: wait for it (at most 10 s); its status in rc.
exit_of() {
	wait_until 10 gone "$1" || {
		echo "pid $1 is still running"
		return 1
	}
	rc=0
	wait "$1" || rc=$?
	echo "pid $1 exited $rc"
}

mig() {
	run --separate-stderr timeout -k 5 60 "$E2E_LKVM" migrate "$@" </dev/null
	echo "lkvm migrate $*: exit $status"
	printf '%s\n' "$output" "$stderr"
}

# follows A B WORD: B's first WORD number is A's last plus one or two.
follows() {
	local a b
	a=$(last "$1" "$3")
	b=$(first "$2" "$3")
	echo "$1 ended at $3 $a, $2 began at $3 $b"
	[[ $a && $b ]] && ((b > a && b <= a + 2))
}

@test "host: live migration over unix: the tick goes on, the source exits 0, the destination takes the name" {
	need_tiny
	tiny_bg a tick --name vm1
	a=$BG_PID
	wait_until 10 at_least a tick 3
	tiny_bg b tick --name vm1 --incoming "unix:$BATS_TEST_TMPDIR/m.sock"
	b=$BG_PID
	wait_until 10 waiting b
	# While the source lives, the destination has a name of its own.
	run "$E2E_LKVM" list
	[[ $output =~ incoming-$b\ +$b\ +incoming ]]
	mig -n vm1 "unix:$BATS_TEST_TMPDIR/m.sock"
	[ "$status" -eq 0 ]
	[[ $output == *"completed to unix:"*"downtime"* ]]
	exit_of "$a"
	[ "$rc" -eq 0 ]
	has a "migrated to unix:" err
	wait_until 10 at_least b tick 3
	follows a b tick
	! has b "hello" out
	wait_until 10 eval '"$E2E_LKVM" list | grep -q "^vm1 *$b *running"'
	run "$E2E_LKVM" stop -n vm1
	[ "$status" -eq 0 ]
	exit_of "$b"
	[ "$rc" -eq 0 ]
}

@test "host: a VM with a NIC and a vsock device migrates; a NIC with another MAC is refused" {
	local d=$BATS_TEST_TMPDIR

	need_tiny
	[[ -c /dev/net/tun && $EUID -eq 0 ]] ||
		skip "lkvm cannot make a tap here (no /dev/net/tun, or not root)"
	tiny_bg a tick --name vm9 -n mode=tap --vsock 5 --vsock-uds "$d/a.vsock"
	a=$BG_PID
	wait_until 10 at_least a tick 3
	# Each lkvm has its own tap and Unix socket; the MAC must match.
	tiny_bg x tick --name vm9 -n mode=tap,guest_mac=02:00:00:00:00:99 \
		--vsock 5 --vsock-uds "$d/x.vsock" --incoming "unix:$d/x.sock"
	x=$BG_PID
	wait_until 10 waiting x
	mig -n vm9 "unix:$d/x.sock"
	[ "$status" -eq 1 ]
	[[ $output == *"eth0: mac=02:00:00:00:00:99 here, mac=02:4c:4b:56:4d:00 at the source"* ]]
	exit_of "$x"
	[ "$rc" -eq 1 ]
	tiny_bg b tick --name vm9 -n mode=tap --vsock 5 --vsock-uds "$d/b.vsock" \
		--incoming "unix:$d/m.sock"
	b=$BG_PID
	wait_until 10 waiting b
	mig -n vm9 "unix:$d/m.sock"
	[ "$status" -eq 0 ]
	exit_of "$a"
	[ "$rc" -eq 0 ]
	wait_until 10 at_least b tick 3
	follows a b tick
	[ -S "$d/b.vsock" ]
	run "$E2E_LKVM" stop -n vm9
	exit_of "$b"
	[ "$rc" -eq 0 ]
}

@test "host: a guest dirtying memory migrates over tcp in several passes, throttled, with no page lost" {
	need_tiny
	tiny_bg a dirty --name vm2
	a=$BG_PID
	wait_until 10 at_least a dirty 3
	tiny_bg b dirty --name vm2 --incoming tcp:127.0.0.1:4461
	b=$BG_PID
	wait_until 10 waiting b
	mig -n vm2 --downtime 1 --speed 40M tcp:127.0.0.1:4461
	[ "$status" -eq 0 ]
	[[ $output =~ in\ ([0-9]+)\ passes ]]
	echo "passes: ${BASH_REMATCH[1]}"
	((BASH_REMATCH[1] > 1))
	[[ $output == *"vCPUs throttled"* ]]
	exit_of "$a"
	[ "$rc" -eq 0 ]
	# Every round checks the one before: a lost page would panic it.
	wait_until 10 at_least b dirty 5
	follows a b dirty
	! has b "memory lost" out
	kill "$b"
}

@test "host: save to a file and restore at once: the tick resumes, the disk is free; zero pages are holes" {
	need_tiny
	local f=$BATS_TEST_TMPDIR/vm.state d=$BATS_TEST_TMPDIR/d.img
	truncate -s 1M "$d"
	tiny_bg a tick --name vm3 -m 256 -d "$d"
	a=$BG_PID
	wait_until 10 at_least a tick 3
	mig -n vm3 "file:$f"
	[ "$status" -eq 0 ]
	# With the source held before it can exit: it let go of the disk
	# before it said "completed", so the restore takes it.
	kill -STOP "$a" 2>/dev/null || true
	tiny_bg b tick --name vm3 -m 256 -d "$d" --incoming "file:$f"
	b=$BG_PID
	wait_until 10 at_least b tick 1
	kill -CONT "$a" 2>/dev/null || true
	exit_of "$a"
	[ "$rc" -eq 0 ]
	has a "saved to file:" err
	[ -f "$f" ]
	! ls "$BATS_TEST_TMPDIR" | grep -q tmp-
	# 256 MiB of RAM, nearly all zero: a few hundred KiB on disk.
	(($(du -k "$f" | cut -f 1) < 4096))
	(($(stat -c %s "$f") > 256 << 20))
	wait_until 10 at_least b tick 3
	follows a b tick
	has b "guest running" err
	kill "$b"
}

@test "host: save through exec: (gzip) and restore from it" {
	need_tiny
	local f=$BATS_TEST_TMPDIR/vm.gz
	tiny_bg a tick --name vm4
	a=$BG_PID
	wait_until 10 at_least a tick 3
	mig -n vm4 "exec:gzip -c > $f"
	[ "$status" -eq 0 ]
	exit_of "$a"
	[ "$rc" -eq 0 ]
	tiny_bg b tick --name vm4 --incoming "exec:gzip -dc < $f"
	b=$BG_PID
	wait_until 10 at_least b tick 3
	follows a b tick
	kill "$b"
}

@test "host: --keep-paused and --resume-source after a save; the restore refuses the locked disk" {
	need_tiny
	local f=$BATS_TEST_TMPDIR/vm.state n
	truncate -s 1M "$BATS_TEST_TMPDIR/d.img"
	tiny_bg a tick --name vm5 -d "$BATS_TEST_TMPDIR/d.img"
	a=$BG_PID
	wait_until 10 at_least a tick 3
	mig -n vm5 --keep-paused "file:$f"
	[ "$status" -eq 0 ]
	run "$E2E_LKVM" list
	[[ $output =~ vm5\ +$a\ +paused ]]
	# The paused source still holds its disk: a restore must not run.
	run timeout 10 "$E2E_LKVM" run -k "$TINY" -m 64 -p tiny.mode=tick \
		--name vm5r -d "$BATS_TEST_TMPDIR/d.img" --incoming "file:$f"
	[ "$status" -eq 1 ]
	[[ $output == *"d.img: its image is locked by another process"* ]]
	run "$E2E_LKVM" resume -n vm5
	[ "$status" -eq 0 ]
	n=$(count a tick)
	wait_until 10 at_least a tick $((n + 3))
	# A snapshot: saved, and the source runs on.
	mig -n vm5 --resume-source "file:$f"
	[ "$status" -eq 0 ]
	n=$(count a tick)
	wait_until 10 at_least a tick $((n + 3))
	kill "$a"
}

@test "host: a destination that does not match is refused; the source says why and runs on" {
	need_tiny
	truncate -s 2M "$BATS_TEST_TMPDIR/a.img"
	truncate -s 4M "$BATS_TEST_TMPDIR/b.img"
	tiny_bg a tick --name vm6 -d "$BATS_TEST_TMPDIR/a.img"
	a=$BG_PID
	wait_until 10 at_least a tick 3
	tiny_bg b tick --name vm6 -d "$BATS_TEST_TMPDIR/b.img" \
		--incoming tcp:127.0.0.1:4462
	b=$BG_PID
	wait_until 10 waiting b
	mig -n vm6 tcp:127.0.0.1:4462
	[ "$status" -eq 1 ]
	[[ $output == *"the destination refused: $BATS_TEST_TMPDIR/b.img: size=4MiB here, size=2MiB at the source"* ]]
	exit_of "$b"
	[ "$rc" -eq 1 ]
	has b "b.img: size=4MiB here, size=2MiB at the source" err
	n=$(count a tick)
	wait_until 10 at_least a tick $((n + 3))
	# -m differs: refused too.
	tiny_bg c tick --name vm6 -m 128 -d "$BATS_TEST_TMPDIR/a.img" \
		--incoming tcp:127.0.0.1:4462
	wait_until 10 waiting c
	mig -n vm6 tcp:127.0.0.1:4462
	[ "$status" -eq 1 ]
	[[ $output == *"memory: 128 MiB here, 64 MiB at the source (-m)"* ]]
	kill "$a"
}

@test "host: a destination killed mid-migration, then a cancel: the source runs on; then one that works" {
	need_tiny
	tiny_bg a dirty --name vm7
	a=$BG_PID
	wait_until 10 at_least a dirty 3
	tiny_bg d1 dirty --name vm7 --incoming tcp:127.0.0.1:4463
	d1=$BG_PID
	wait_until 10 waiting d1
	"$E2E_LKVM" migrate -n vm7 --speed 2M tcp:127.0.0.1:4463 \
		>"$BATS_TEST_TMPDIR/m1.out" 2>&1 3>&- &
	m1=$!
	wait_until 10 has m1 "pass 1" out
	sleep 0.5
	kill -9 "$d1"
	exit_of "$m1"
	[ "$rc" -eq 1 ]
	cat "$BATS_TEST_TMPDIR/m1.out"
	grep -q "failed to tcp:127.0.0.1:4463: pass 1: sending RAM: write: .*(the other side went away)" "$BATS_TEST_TMPDIR/m1.out"
	n=$(count a dirty)
	wait_until 10 at_least a dirty $((n + 3))

	tiny_bg d2 dirty --name vm7 --incoming tcp:127.0.0.1:4464
	d2=$BG_PID
	wait_until 10 waiting d2
	mig -n vm7 -d --speed 2M tcp:127.0.0.1:4464
	[ "$status" -eq 0 ]
	sleep 0.5
	run "$E2E_LKVM" list
	[[ $output =~ vm7\ +$a\ +migrating ]]
	mig -n vm7 --cancel
	[ "$status" -eq 0 ]
	wait_until 10 eval '"$E2E_LKVM" migrate -n vm7 --status | grep -q cancelled'
	exit_of "$d2"
	[ "$rc" -eq 1 ]
	n=$(count a dirty)
	wait_until 10 at_least a dirty $((n + 3))
	! has a "memory lost" out

	tiny_bg d3 dirty --name vm7 --incoming tcp:127.0.0.1:4465
	d3=$BG_PID
	wait_until 10 waiting d3
	mig -n vm7 tcp:127.0.0.1:4465
	[ "$status" -eq 0 ]
	exit_of "$a"
	[ "$rc" -eq 0 ]
	wait_until 10 at_least d3 dirty 3
	follows a d3 dirty
	! has d3 "memory lost" out
	kill "$d3"
}

@test "host: a restore refuses a truncated, a corrupt and a foreign file, saying why" {
	need_tiny
	local f=$BATS_TEST_TMPDIR/vm.state d=$BATS_TEST_TMPDIR
	tiny_bg a tick --name vm8
	a=$BG_PID
	wait_until 10 at_least a tick 3
	mig -n vm8 "file:$f"
	[ "$status" -eq 0 ]
	exit_of "$a"
	head -c 1000 "$f" >"$d/short"
	cp "$f" "$d/corrupt"
	printf '\x55' | dd of="$d/corrupt" bs=1 seek=200 conv=notrunc 2>/dev/null
	echo "not a state file" >"$d/foreign"
	run timeout 10 "$E2E_LKVM" run -k "$TINY" -m 64 --incoming "file:$d/short"
	[ "$status" -eq 1 ]
	[[ $output == *"the stream ended inside a header section"* ]]
	run timeout 10 "$E2E_LKVM" run -k "$TINY" -m 64 --incoming "file:$d/corrupt"
	[ "$status" -eq 1 ]
	[[ $output == *"checksum mismatch (corrupt stream)"* ]]
	run timeout 10 "$E2E_LKVM" run -k "$TINY" -m 64 --incoming "file:$d/foreign"
	[ "$status" -eq 1 ]
	[[ $output == *"not an lkvm migration stream (bad magic)"* ]]
	run timeout 10 "$E2E_LKVM" run -k "$TINY" -m 64 --incoming "file:$d/none"
	[ "$status" -eq 1 ]
	[[ $output == *"cannot open $d/none: No such file or directory"* ]]
}

@test "host: garbage on the wire: a destination fed junk exits 1 saying so; a source sent to a wrong peer runs on" {
	need_tiny
	local d=$BATS_TEST_TMPDIR
	# A destination gets random bytes (after a plausible start) over tcp.
	"$E2E_LKVM" run -k "$TINY" -m 64 --incoming tcp:127.0.0.1:4468 \
		</dev/null >"$d/d.out" 2>"$d/d.err" 3>&- &
	BG_PIDS+=($!)
	b=$!
	wait_until 10 waiting d
	{ printf LKVM; head -c 300000 /dev/urandom; } 2>/dev/null \
		>/dev/tcp/127.0.0.1/4468 || true
	exit_of "$b"
	cat "$d/d.err"
	[ "$rc" -eq 1 ]
	grep -q "incoming tcp:127.0.0.1:4468: not an lkvm migration stream (bad magic)" "$d/d.err"
	# A source migrates to a socket that is no lkvm --incoming: another
	# VM's control socket, which answers what it read with an error.
	tiny_bg a tick --name vm11
	a=$BG_PID
	tiny_bg o tick --name vm12
	wait_until 10 at_least a tick 3
	wait_until 10 at_least o tick 3
	mig -n vm11 "unix:$HOME/.lkvm/vm12.sock"
	[ "$status" -eq 1 ]
	[[ $output == *"the peer is not an lkvm --incoming"* ]]
	mig -n vm11 --status
	[[ $output == *"failed"*"the peer is not an lkvm --incoming"* ]]
	n=$(count a tick)
	wait_until 10 at_least a tick $((n + 3))
	"$E2E_LKVM" list | grep -E "^vm11 +$a +running"
	"$E2E_LKVM" list | grep -E "^vm12 +[0-9]+ +running"
	kill "$a"
}

@test "host: a save to a full disk fails, leaves no file, and the guest runs on" {
	need_tiny
	local m=$BATS_TEST_TMPDIR/full
	mkdir -p "$m"
	mount -t tmpfs -o size=64k tmpfs "$m" 2>/dev/null ||
		skip "cannot mount a small tmpfs here (not root)"
	tiny_bg a tick --name vm9
	a=$BG_PID
	wait_until 10 at_least a tick 3
	mig -n vm9 "file:$m/vm.state"
	ls -la "$m"
	left=$(ls -A "$m")
	umount "$m" 2>/dev/null || true
	[ -z "$left" ]
	[ "$status" -eq 1 ]
	[[ $output == *"No space left on device"* ]]
	n=$(count a tick)
	wait_until 10 at_least a tick $((n + 3))
	kill "$a"
}

@test "host: lkvm migrate usage: no name, no URI, a bad URI; --status and --cancel with none" {
	need_tiny
	mig tcp:1:2
	[ "$status" -eq 2 ]
	mig -n x
	[ "$status" -eq 2 ]
	mig -n no-such-vm file:/tmp/x
	[ "$status" -eq 1 ]
	[[ $stderr == *"no VM named 'no-such-vm'"* ]]
	tiny_bg a tick --name vm10
	a=$BG_PID
	wait_until 10 at_least a tick 2
	mig -n vm10 ftp:x
	[ "$status" -eq 1 ]
	[[ $stderr == *"not a migration URI"* ]]
	mig -n vm10 --status
	[ "$status" -eq 0 ]
	[[ $output == *"no migration yet"* ]]
	mig -n vm10 --cancel
	[ "$status" -eq 0 ]
	[[ $output == *"no migration in progress"* ]]
	kill "$a"
}
