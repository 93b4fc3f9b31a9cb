#!/usr/bin/env bats
# virtio-net, as a real Debian kernel's virtio_net driver uses it: over
# two taps (pings, 100 MiB each way checksummed on both ends, TSO both
# ways) and in user mode through passt (DHCP, the host's loopback through
# the gateway, a hostfwd port, passt's death), the latter on virtio-mmio.
# Each run is
# tests/e2e/net-host.sh in a network namespace of its own, in the emulated
# L1 (one boot for the whole file) or on a host whose KVM is fast; the
# guest's side is tests/e2e/guest/net-*.sh.  The host cases at the end
# run lkvm here with the tiny guest, inside network namespaces too.

load ../lib/e2e

XFER=$KIT_OUT/xfer
TINY=$KIT_OUT/tiny-bzImage
L2="-k kit/vmlinuz -i kit/l2-initrd.cpio"
# net-host.sh finds the console through this.
NET_PRE='echo "$E2E_OUT" >e2e-out'

# passt and what ldd names for it, flat in ship/ (net-host.sh runs it
# through the shipped loader): the emulated L1 has only busybox.
ship_passt() {
	local passt lib

	passt=$(command -v passt) || return 0
	e2e_ship "$passt" passt
	for lib in $(ldd "$passt" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }'); do
		e2e_ship "$(readlink -f "$lib")" "$(basename "$lib")"
	done
}

setup_file() {
	e2e_ship "$BATS_TEST_DIRNAME/net-host.sh"
	ship_passt
	e2e_run net-tap --limit 180 --exec sh --raw --pre "$NET_PRE" --post 'cat net-host.out' -- \
		ship/net-host.sh tap lkvm run $L2 -m 256 --stats \
		-p "console=ttyS0 panic=-1 quiet lkvm.scenario=net-tap" \
		-n mode=tap,tapif=lkvmtap0,script=./net-ifup.sh \
		-n mode=tap,tapif=lkvmtap1,guest_mac=52:54:00:12:34:56,script=./net-ifup.sh
	# User mode on the other transport, virtio-mmio: the link going down
	# with passt is a config interrupt there (InterruptStatus bit 1).
	e2e_run net-user --limit 120 --exec sh --raw --pre "$NET_PRE" --post 'cat net-host.out' -- \
		ship/net-host.sh user lkvm run $L2 -m 256 --stats --name lkvm-net-user \
		--virtio-transport mmio \
		-p "console=ttyS0 panic=-1 quiet lkvm.scenario=net-user" \
		-n mode=user,hostfwd=tcp::5555-:5555
	e2e_execute
}

# The hash xfer prints for BYTES of the stream of SEED.
xfer_hash() {
	"$XFER" hash "$1" "$2" | awk '{ print $3 }'
}

# net_result NAME: e2e_result, but a run that found no network namespace
# (net-host.sh's 77) skips.
net_result() {
	e2e_result "$1"
	if [[ $status == 77 ]]; then
		skip "no network namespace for the run: $e2e_stderr"
	fi
}

@test "net: tap: eth0 and eth1 have distinct MACs and ping their host ends" {
	net_result net-tap
	e2e_assert_status 0
	e2e_assert_console "lkvm-guest: eth0 02:4c:4b:56:4d:00 eth1 52:54:00:12:34:56 mtu 1500"
	e2e_assert_console "lkvm-guest: ping eth0 ok"
	e2e_assert_console "lkvm-guest: ping eth1 ok"
	e2e_assert_console "lkvm-guest: ping6 eth0 ok"
}

@test "net: tap: 100 MiB from the guest to the host, the same hash on both ends" {
	local h
	h=$(xfer_hash 104857600 1)
	net_result net-tap
	e2e_assert_console "lkvm-guest: xfer: sent 104857600 bytes hash $h"
	[[ $e2e_post == *"host: xfer: received 104857600 bytes hash $h"* ]]
}

@test "net: tap: 100 MiB from the host to the guest, the same hash on both ends" {
	local h
	h=$(xfer_hash 104857600 2)
	net_result net-tap
	e2e_assert_console "lkvm-guest: xfer: received 104857600 bytes hash $h"
	[[ $e2e_post == *"host: xfer: sent 104857600 bytes hash $h"* ]]
}

@test "net: tap: TSO both ways: 64 KiB segments cross the tap whole" {
	local txg txmax rxg rxmax
	net_result net-tap
	# eth0: rx N frames N bytes (G TSO, largest L), tx N frames N bytes (G TSO, largest L)
	read -r rxg rxmax txg txmax < <(grep -E '^  eth0: rx [0-9]+ frames' <<<"$e2e_stderr" |
		sed -E 's/.*\(([0-9]+) TSO, largest ([0-9]+)\), tx .*\(([0-9]+) TSO, largest ([0-9]+)\)/\1 \2 \3 \4/')
	echo "rx TSO frames $rxg largest $rxmax; tx TSO frames $txg largest $txmax"
	# The guest's TCP sends TSO frames near 64 KiB, and the host's...
	[ "$txg" -gt 100 ] && [ "$txmax" -gt 60000 ]
	# ...and the host's stack hands the guest GSO frames as big.
	[ "$rxg" -gt 100 ] && [ "$rxmax" -gt 60000 ]
}

@test "net: tap: the tap's own counters see frames far bigger than the MTU" {
	local pk by
	net_result net-tap
	# Frames lkvm wrote into lkvmtap0 while the guest sent 100 MiB.
	read -r pk by < <(grep -E '^host: tap lkvmtap0' <<<"$e2e_post" | head -n 1 |
		sed -E 's/.* rx_packets ([0-9]+) rx_bytes ([0-9]+).*/\1 \2/')
	echo "lkvmtap0 took $pk frames, $by bytes"
	[ "$by" -gt 104857600 ]
	[ $((by / pk)) -gt 9000 ]
}

@test "net: tap: nothing dropped on either NIC" {
	net_result net-tap
	grep -qE '^  eth0: rx dropped 0 ' <<<"$e2e_stderr"
	grep -qE '^  eth0: tx dropped 0 ' <<<"$e2e_stderr"
	grep -qE '^  eth1: rx dropped 0 ' <<<"$e2e_stderr"
	grep -qE '^  eth1: tx dropped 0 ' <<<"$e2e_stderr"
}

@test "net: user: this run's NIC is on virtio-mmio (--virtio-transport mmio)" {
	net_result net-user
	e2e_assert_console "lkvm-guest: eth0 transport virtio-mmio"
}

@test "net: user: the guest gets its address from passt's DHCP" {
	net_result net-user
	e2e_assert_console "lkvm-guest: dhcp 169.254.100.1/24 router 169.254.100.2 mtu 65520"
}

@test "net: user: the gateway address reaches a server on the host's loopback" {
	local h
	h=$(xfer_hash 1048576 3)
	net_result net-user
	e2e_assert_console "lkvm-guest: loopback xfer: sent 1048576 bytes hash $h"
	[[ $e2e_post == *"host: xfer: received 1048576 bytes hash $h"* ]]
}

@test "net: user: a hostfwd port reaches a server in the guest" {
	local h
	h=$(xfer_hash 1048576 4)
	net_result net-user
	e2e_assert_console "lkvm-guest: hostfwd xfer: received 1048576 bytes hash $h"
	[[ $e2e_post == *"host: xfer: sent 1048576 bytes hash $h"* ]]
}

@test "net: user: passt dies: the link goes down, one line says so, the VM runs on" {
	net_result net-user
	e2e_assert_status 0
	[[ $e2e_post == *"host: killed passt"* ]]
	e2e_assert_console "lkvm-guest: after passt: eth0 carrier 0"
	e2e_assert_console "lkvm-guest: still running"
	# One line: passt ends cleanly on SIGTERM, and says nothing more.
	[ "$(grep -c 'link down, the VM runs on' <<<"$e2e_stderr")" -eq 1 ]
	grep -qE '^lkvm: warning: eth0: passt \(pid [0-9]+\) exited with status 0; link down, the VM runs on$' <<<"$e2e_stderr"
	grep -qE '^  eth0: user, .*link down' <<<"$e2e_stderr"
}

# NIC counters of lkvm-net-user from the list --json line named $1.
list_nic() {
	sed -n "s/^host: $1: //p" <<<"$e2e_post" |
		jq -c '.[] | select(.name == "lkvm-net-user") | .net[0]'
}

@test "net: user: lkvm list --json shows the NIC, its link and its counters" {
	local before after
	net_result net-user
	before=$(list_nic list-before)
	after=$(list_nic list-after)
	echo "before: $before"
	echo "after: $after"
	[ "$(jq -r '.mode + " " + .mac + " " + .link' <<<"$before")" = "user 02:4c:4b:56:4d:00 up" ]
	[ "$(jq '.mtu' <<<"$before")" -eq 65520 ]
	# 1 MiB each way so far (loopback out, hostfwd in), and DHCP.
	[ "$(jq '.rx_bytes' <<<"$before")" -gt 1048576 ]
	[ "$(jq '.tx_bytes' <<<"$before")" -gt 1048576 ]
	[ "$(jq '.rx_dropped + .tx_dropped' <<<"$before")" -eq 0 ]
	[ "$(jq -r '.link' <<<"$after")" = down ]
}

# ---- lkvm on this host, with the tiny guest: errors and passt's end ----

# in_netns CMD...: CMD in a network namespace of its own, or skip.
in_netns() {
	unshare -n true 2>/dev/null || skip "cannot make a network namespace here (needs root)"
	run --separate-stderr timeout -k 5 30 unshare -n "$@"
	echo "exit $status"; echo "--- stdout ---"; echo "$output"
	echo "--- stderr ---"; echo "$stderr"
}

need_tiny() {
	e2e_require_kvm
	[[ -f $TINY ]] || skip "$TINY is not built (make tiny)"
}

@test "host: a malformed MAC is a usage error, in one line" {
	e2e_host_lkvm run -k "$KIT_OUT/vmlinuz" -n mode=tap,guest_mac=02:00:00:00:00
	[ "$status" -eq 2 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"guest_mac '02:00:00:00:00' is not a unicast MAC address"* ]]
	e2e_host_lkvm run -k "$KIT_OUT/vmlinuz" -n mode=user,guest_mac=01:00:5e:00:00:01
	[ "$status" -eq 2 ]
	e2e_host_lkvm run -k "$KIT_OUT/vmlinuz" -n mode=user,tapif=tap0
	[ "$status" -eq 2 ]
	[[ $stderr == *"tapif and script are for mode=tap"* ]]
	e2e_host_lkvm run -k "$KIT_OUT/vmlinuz" -n tapif=tap0
	[ "$status" -eq 2 ]
	[[ $stderr == *"which mode?"* ]]
	e2e_host_lkvm run -k "$KIT_OUT/vmlinuz" -n mode=user,hostfwd=tcp:80
	[ "$status" -eq 2 ]
	[[ $stderr == *"hostfwd=tcp:80"* ]]
}

@test "host: -n none and no -n make no NIC" {
	need_tiny
	e2e_host_lkvm run -k "$TINY" -p tiny.mode=hello -n none --stats
	[ "$status" -eq 0 ]
	[[ $stderr != *"eth0"* ]]
}

@test "host: no /dev/net/tun is one line that says so" {
	need_tiny
	unshare -m true 2>/dev/null || skip "cannot make a mount namespace here (needs root)"
	in_netns unshare -m sh -c "mount -t tmpfs none /dev/net && exec $E2E_LKVM run -k $TINY -p tiny.mode=hello -n mode=tap,tapif=t0"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "lkvm: error: eth0: no /dev/net/tun"*"modprobe tun"* ]]
}

@test "host: a new tap without CAP_NET_ADMIN is one line that says what to do" {
	need_tiny
	command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
	in_netns setpriv --bounding-set -net_admin --inh-caps -net_admin \
		"$E2E_LKVM" run -k "$TINY" -p tiny.mode=hello -n mode=tap,tapif=t0
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"creating tap t0 needs CAP_NET_ADMIN"*"ip tuntap add t0 mode tap user"* ]]
}

@test "host: a tap another lkvm holds is busy, in one line" {
	need_tiny
	in_netns sh -c "$E2E_LKVM run -k $TINY -p tiny.mode=hang --timeout 5 -n mode=tap,tapif=t0 >/dev/null 2>&1 3>&- &
		holder=\$!; sleep 1
		$E2E_LKVM run -k $TINY -p tiny.mode=hello -n mode=tap,tapif=t0; rc=\$?
		kill \$holder; wait \$holder; exit \$rc"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "lkvm: error: eth0: tap t0 is busy: another process has it open" ]]
}

@test "host: a missing passt is one line naming its Debian package" {
	need_tiny
	run --separate-stderr timeout -k 5 30 env PATH=/nonexistent "$E2E_LKVM" \
		run -k "$TINY" -p tiny.mode=hello -n mode=user
	echo "$stderr"
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == *"needs passt, which is not installed (Debian package: passt)"* ]]
}

@test "host: passt that cannot start takes the link down; the VM runs on" {
	need_tiny
	command -v passt >/dev/null || skip "passt is not installed"
	# A namespace with no interface but lo: passt finds no template and exits.
	in_netns "$E2E_LKVM" run -k "$TINY" -p tiny.mode=hang --timeout 3 -n mode=user --stats
	[ "$status" -eq 5 ]
	[[ $stderr == *"lkvm: warning: eth0: passt (pid "*") exited with status 1: "*"; link down, the VM runs on"* ]]
	[[ $stderr == *"eth0: user, 02:4c:4b:56:4d:00, link down"* ]]
}

@test "host: a busy hostfwd port is refused before the VM starts" {
	need_tiny
	command -v passt >/dev/null || skip "passt is not installed"
	in_netns sh -c "ip link set lo up; $XFER recv 5555 127.0.0.1 >/dev/null 2>&1 3>&- &
		holder=\$!; sleep 0.3
		$E2E_LKVM run -k $TINY -p tiny.mode=hello -n mode=user,hostfwd=tcp:127.0.0.1:5555-:22; rc=\$?
		kill \$holder; exit \$rc"
	[ "$status" -eq 1 ]
	[[ $stderr == *"eth0: hostfwd tcp port 5555: in use on the host"* ]]
}
