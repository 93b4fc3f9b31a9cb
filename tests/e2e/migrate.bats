#!/usr/bin/env bats
# lkvm migrate, on real Linux: two lkvm processes in one machine (the
# emulated L1 where the host's KVM is too slow), a guest
# (guest/migrate-guest.sh) that ticks every 100 ms beside 64 MiB of
# checksummed memory and a disk, and tests/e2e/migrate-driver.sh, which
# moves it around and reports every step.  Two guest boots:
#   live: A -tcp-> B idle, then B -unix-> A' while the guest dirties
#         memory and receives datagrams (A->B->A, under load), then the
#         guest checks itself;
#   fail: a destination killed mid-migration, a cancelled migration, then
#         a save to a file and a restore in a new lkvm; its devices on
#         virtio-mmio (--virtio-transport mmio), live's on virtio-pci.
# migrate-host.bats does the same and more on the host's own KVM, with
# the tiny guest.

load ../lib/e2e

TINY=$KIT_OUT/tiny-bzImage

# plan RUN MODE [LKVM ARGS...]: the run's own lkvm is the first source.
plan() {
	local run=$1 mode=$2 a q=
	local -a args=(run -k kit/vmlinuz -i kit/l2-initrd.cpio
		-p "console=ttyS0 panic=-1 quiet lkvm.scenario=migrate-guest"
		-m 256 -d disk.img --name "mig-$run" "${@:3}")

	for a in "${args[@]}"; do
		q+=" $(e2e_sq "$a")"
	done
	# The driver ends everything within its DEADLINE (240 s). A guest
	# that triple-faults in L1 may be one lkvm restored wrong, so fail's
	# is its result, but for a page fault only the emulated CPU makes;
	# live's runs once more, as any other run's, since the same crashes
	# come under its load without a move (tests/e2e/README.md).
	local rerun=--no-rerun
	[[ $mode != live ]] || rerun=
	e2e_run "$run" $rerun --raw --limit 280 \
		--pre "disk_raw disk.img 16; sh ship/migrate-driver.sh $mode mig-$run$q >driver.out 2>&1 &" \
		--post 'n=0; while ! grep -q "^mig: done" driver.out && [ $n -lt 1300 ]; do
				sleep 0.2; n=$((n + 1)); done; cat driver.out' \
		-- "${args[@]}"
}

# MIGRATE_RUNS picks some of the runs (when debugging one).
setup_file() {
	local run

	e2e_ship "$BATS_TEST_DIRNAME/migrate-driver.sh"
	e2e_ship "$BATS_TEST_DIRNAME/migrate-ifup.sh"
	for run in ${MIGRATE_RUNS:-live fail}; do
		# live has a NIC, on a tap each lkvm makes for itself; the
		# driver knows its MAC.
		if [[ $run == live ]]; then
			plan live live \
				-n mode=tap,guest_mac=52:54:00:07:00:02,script=ship/migrate-ifup.sh
		else
			plan "$run" "$run" --virtio-transport mmio
		fi
	done
	e2e_execute
}

# mig TEXT: the driver reported a line containing TEXT.
mig() {
	[[ $e2e_post == *"$1"* ]] || {
		echo "the driver did not report '$1'; it said:"
		printf '%s\n' "$e2e_post"
		return 1
	}
}

no_mig() {
	[[ $e2e_post != *"$1"* ]] || {
		echo "the driver reported '$1'"
		return 1
	}
}

# tick LINE: the tick number and uptime in "mig: X: last lkvm-guest: tick N up U".
tick_of() {
	[[ $e2e_post =~ mig:\ $1:\ $2\ lkvm-guest:\ tick\ ([0-9]+)\ up\ ([0-9.]+) ]] || {
		echo "no '$1: $2' tick in the driver's report"
		return 1
	}
	tick_n=${BASH_REMATCH[1]}
	tick_up=${BASH_REMATCH[2]}
}

# continues FROM TO: TO's first tick follows FROM's last, with uptime on.
continues() {
	local n up

	tick_of "$1" last || return 1
	n=$tick_n
	up=$tick_up
	tick_of "$2" first || return 1
	echo "$1 ended at tick $n (up $up s); $2 began at tick $tick_n (up $tick_up s)"
	((tick_n >= n && tick_n <= n + 2)) || return 1
	awk -v a="$up" -v b="$tick_up" 'BEGIN { exit !(b >= a && b < a + 10) }'
}

@test "migrate: idle over tcp: the counter goes on, uptime did not reset, memory and disk intact" {
	e2e_result live
	e2e_assert_status 0
	e2e_assert_stderr "migrated to tcp:127.0.0.1:4441"
	mig "b: migrate rc 0"
	mig "b: lkvm migrate: completed"
	continues a b
	no_mig "b: the guest booted again"
	mig "a2: guest: area intact"
	mig "a2: guest: disk intact"
	[[ $e2e_post =~ b:\ lkvm\ migrate:\ completed\ to\ tcp:127.0.0.1:4441\ in\ ([0-9]+)\ ms,\ downtime\ ([0-9]+)\ ms,\ ([0-9]+)\ MiB ]]
	e2e_note "idle, 256 MiB over tcp: ${BASH_REMATCH[1]} ms, downtime ${BASH_REMATCH[2]} ms, ${BASH_REMATCH[3]} MiB sent"
	breakdown b
}

# breakdown TAG: where TAG's downtime went, from lkvm migrate's last line,
# which must give every phase, the destination's part included.
breakdown() {
	local line n='[0-9]+\.[0-9]'
	local re="; downtime: pause $n, last pass $n \([0-9]+ pages\), vCPUs $n, devices $n, sent $n, until the destination ran it $n ms \(there: state loaded $n, disks claimed $n, started $n ms\)"

	line=$(grep -m 1 "^mig: $1: lkvm migrate: completed" <<<"$e2e_post")
	[[ $line =~ $re ]] || {
		echo "e2e: no downtime phases in $1's last line: $line"
		return 1
	}
	e2e_note "  downtime: ${line#*; downtime: }"
}

@test "migrate: under load (the guest dirties memory), back B->A: converges, the guest survives" {
	e2e_result live
	no_mig "b: not dirtying"
	mig "a2: migrate rc 0"
	continues b a2
	no_mig "a2: the guest booted again"
	mig "a2: guest: area intact"
	[[ $e2e_post =~ a2:\ lkvm\ migrate:\ completed\ to\ unix:a2.sock\ in\ ([0-9]+)\ ms,\ downtime\ ([0-9]+)\ ms,\ ([0-9]+)\ MiB\ sent\ in\ ([0-9]+)\ pass ]]
	e2e_note "dirtying, 256 MiB over unix: ${BASH_REMATCH[1]} ms, downtime ${BASH_REMATCH[2]} ms, ${BASH_REMATCH[3]} MiB in ${BASH_REMATCH[4]} pass(es)"
	[[ $e2e_post =~ throttled\ up\ to\ ([0-9]+)% ]] && e2e_note "vCPUs throttled up to ${BASH_REMATCH[1]}%"
	# The first "dirtied" of the driver's report is B's idle move: A2's
	# own are in its progress lines and its last line.
	[[ $e2e_post =~ a2:\ lkvm\ migrate:\ completed[^\;]*\;\ the\ guest\ dirtied\ up\ to\ ([0-9]+)\ MiB/s ]] &&
		e2e_note "the guest dirtied up to ${BASH_REMATCH[1]} MiB/s (lkvm's measure, per pass)"
	[[ $e2e_post =~ a2:\ guest:\ (dirtied\ [^$'\n']*) ]] &&
		e2e_note "the guest's own count: ${BASH_REMATCH[1]}"
	breakdown a2
}

@test "migrate: A->B->A: its disk and console keep working after both moves" {
	e2e_result live
	mig "a2: guest: disk intact"
	mig "a2: guest: disk writable"
	mig "a2: guest: done after"
	mig "a2: exit 0"
}

@test "migrate: A->B->A with a NIC: its link is up, and each move announced the guest" {
	e2e_result live
	# The guest's NIC sends nothing of its own (IPv4 only, no traffic):
	# what it sent by the end is gratuitous ARP, one per announcement.
	[[ $output =~ lkvm-guest:\ eth0\ up,\ tx\ ([0-9]+) ]] || {
		echo "the guest had no eth0"
		return 1
	}
	local tx0=${BASH_REMATCH[1]}
	[[ $e2e_post =~ a2:\ guest:\ eth0\ carrier\ ([0-9]+)\ tx\ ([0-9]+) ]]
	echo "eth0: tx $tx0 at boot, ${BASH_REMATCH[2]} after two moves; carrier ${BASH_REMATCH[1]}"
	[ "${BASH_REMATCH[1]}" = 1 ]
	((BASH_REMATCH[2] >= tx0 + 2))
}

# The guest's rx buffers that lkvm fills while pre-copy runs must go
# again (KVM logs only the vCPUs' writes): a stale one on the destination
# is a datagram with wrong bytes, or one the guest drops for its
# checksum.  Only in the emulated L1, whose routes the driver may change.
@test "migrate: datagrams sent into the guest while it moves arrive right" {
	local sent got bad again lo hi

	e2e_result live
	e2e_in_l1 || skip "the stream changes the machine's routes: only in the emulated L1"
	mig "stream: still sending when the move ended"
	[[ $e2e_post =~ stream:\ xfer:\ usent\ ([0-9]+)\ datagrams ]]
	sent=${BASH_REMATCH[1]}
	[[ $e2e_post =~ a2:\ guest:\ xfer:\ ureceived\ ([0-9]+)\ datagrams,\ ([0-9]+)\ bad,\ ([0-9]+)\ again,\ numbers\ ([0-9]+)\ to\ ([0-9]+) ]] || {
		echo "the guest did not say what it received:"
		grep -E 'stream|xfer' <<<"$e2e_post"
		return 1
	}
	got=${BASH_REMATCH[1]} bad=${BASH_REMATCH[2]} again=${BASH_REMATCH[3]}
	lo=${BASH_REMATCH[4]} hi=${BASH_REMATCH[5]}
	echo "sent $sent; the guest received $got ($bad bad, $again again), numbers $lo to $hi"
	mig "a2: guest: eth0 udp InCsumErrors 0"
	# A stale buffer is an older datagram, well-formed: it comes again.
	[ "$bad" -eq 0 ] && [ "$again" -eq 0 ]
	# The first ones came before the move, the last ones after it;
	# UDP may drop some (a pause, a full ring), not most.
	# (200 a second: the last 100 is half a second.)
	((lo < 100 && hi + 100 >= sent && got * 4 >= sent))
}

@test "migrate: lkvm list shows the destination under the VM's name once the source is gone" {
	e2e_result live
	[[ $e2e_post =~ mig:\ list:\ mig-live\ +[0-9]+\ +running ]]
}

@test "migrate: a destination killed mid-migration leaves the source running" {
	e2e_result fail
	mig "d1: killed"
	mig "d1: migrate rc 1"
	mig "a: ticks on after d1"
}

@test "migrate: --cancel stops it; the source runs on; the destination gives up" {
	e2e_result fail
	mig "d2: cancel: lkvm migrate: cancelling"
	mig "d2: status: lkvm migrate: cancelled"
	mig "a: ticks on after d2"
	mig "d2: exit 1"
}

@test "migrate: the live run's disk is on virtio-pci, the fail run's on virtio-mmio" {
	e2e_result live
	e2e_assert_console "lkvm-guest: vda transport virtio-pci"
	e2e_result fail
	e2e_assert_console "lkvm-guest: vda transport virtio-mmio"
}

@test "migrate: save to a file, restore in a new lkvm: the counter resumes" {
	e2e_result fail
	e2e_assert_status 0
	e2e_assert_stderr "saved to file:"
	mig "save: migrate rc 0"
	continues a restore
	no_mig "restore: the guest booted again"
	mig "restore: guest: area intact"
	mig "restore: guest: disk intact"
	mig "restore: exit 0"
	[[ $e2e_post =~ restore:\ stderr:\ lkvm:\ incoming:\ guest\ running,\ ([0-9]+)\ ms\ after ]]
	e2e_note "restore of 256 MiB from a file: ${BASH_REMATCH[1]} ms from open to running"
}
