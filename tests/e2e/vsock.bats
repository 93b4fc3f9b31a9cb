#!/usr/bin/env bats
# virtio-vsock with the guest's own drivers (vsock, vmw_vsock_virtio_transport),
# socat in the guest, and tests/kit/vsock-peer on the host side.
#
# vsock-echo: guest/vsock-echo.sh listens with socat; tests/e2e/vsock-driver.sh
# connects from the host with Firecracker's CONNECT handshake: a half-close,
# 16 connections moving 8 MiB each way with checksums, lkvm's RSS; the guest
# connects to CID 2 (a listener on <uds>_6000, none on 6001); then a hostile
# driver in the guest (tests/kit/vsock-hostile.c) sends malformed packets
# and breaks its rings, and lkvm must still answer `lkvm list` and vsock.

load ../lib/e2e

# The L2 initramfs with socat and the hostile driver appended.
VSOCK_INITRD='cat kit/l2-initrd.cpio ship/l2-vsock.cpio >l2v.cpio'

setup_file() {
	e2e_ship "$KIT_OUT/vsock-peer"
	e2e_ship "$KIT_OUT/l2-vsock.cpio"
	e2e_ship "$BATS_TEST_DIRNAME/vsock-driver.sh"
	e2e_run vsock-echo --limit 150 --raw \
		--pre "$VSOCK_INITRD
ship/vsock-peer listen v.sock_6000 'hello from the host' >from-guest.txt 2>&1 &
sh ship/vsock-driver.sh v.sock vsock-echo >driver.out 2>&1 &" \
		--post 'n=0; while ! grep -q "^vsock: done" driver.out && [ $n -lt 100 ]; do
				sleep 0.2; n=$((n + 1)); done
			cat driver.out; echo "from-guest: $(cat from-guest.txt)"' \
		-- run -k kit/vmlinuz -i l2v.cpio -m 256 --name vsock-echo \
		--vsock-uds v.sock --stats --timeout 140 \
		-p "console=ttyS0 panic=-1 quiet lkvm.scenario=vsock-echo"
	e2e_execute
}

# found TEXT: the driver reported a line containing TEXT.
found() {
	[[ $e2e_post == *"$1"* ]] || {
		echo "the host side did not report '$1'; it said:"
		printf '%s\n' "$e2e_post"
		return 1
	}
}

@test "vsock: the guest's driver and socat are up, the run ends cleanly" {
	e2e_result vsock-echo
	e2e_assert_status 0
	e2e_refute_console "no socat"
	e2e_assert_console "lkvm-guest: vsock ready"
}

@test "vsock: host to guest with CONNECT: 16 connections move 8 MiB each way, checksums match on both ends" {
	local sent n

	e2e_result vsock-echo
	found "stress rc 0"
	[[ $e2e_post =~ vsock:\ sent\ md5\ ([0-9a-f]{32}) ]]
	sent=${BASH_REMATCH[1]}
	# The host got its own bytes back on every connection...
	n=$(grep -c "vsock: echo md5 $sent bytes 8388608" <<<"$e2e_post")
	[[ $n == 16 ]] || { echo "$n of 16 echoes match $sent"; return 1; }
	# ... and the guest received them intact.
	n=$(grep -c "lkvm-guest: vsock rx md5 $sent" <<<"$output")
	[[ $n == 16 ]] || { echo "$n of 16 guest checksums match $sent"; return 1; }
	[[ $e2e_post =~ stress:\ (.*) ]] && e2e_note "vsock stress: ${BASH_REMATCH[1]}"
}

@test "vsock: lkvm's memory stays bounded while 16 connections stream" {
	local before max

	e2e_result vsock-echo
	found "stress rc 0"
	[[ $e2e_post =~ rss\ before\ ([0-9]+)\ KiB,\ max\ during\ ([0-9]+)\ KiB ]]
	before=${BASH_REMATCH[1]} max=${BASH_REMATCH[2]}
	e2e_note "lkvm RSS ${before} KiB before, at most ${max} KiB during the stress"
	# Guest RAM is counted too, so allow some; 128 MiB of traffic is not.
	((max - before < 48 * 1024))
	# What the device held for host peers: at most buf_alloc (256 KiB) each.
	[[ $e2e_stderr =~ at\ most\ ([0-9]+)\ bytes\ held ]]
	((BASH_REMATCH[1] <= 262144))
}

@test "vsock: half-close: the host shuts its write side and still reads the whole reply" {
	e2e_result vsock-echo
	found "half-close rc 0 reply 8 done"
}

@test "vsock: a guest connect to CID 2 reaches the host listener on <uds>_PORT" {
	e2e_result vsock-echo
	e2e_assert_console "lkvm-guest: vsock to host: rc 0 reply 'hello from the host'"
	found "from-guest: hello from the guest"
}

@test "vsock: a guest connect to a port nobody listens on gets ECONNRESET" {
	e2e_result vsock-echo
	e2e_assert_console "lkvm-guest: vsock to no listener: rc 1"
	e2e_assert_console "Connection reset by peer"
}

@test "vsock: a hostile driver's malformed packets get resets; broken rings need a reset; lkvm carries on" {
	e2e_result vsock-echo
	e2e_assert_console "hostile: 6 bad packets, 4 resets back"
	e2e_assert_console "hostile: descriptor outside RAM: device needs reset"
	e2e_assert_console "hostile: descriptor loop: device needs reset"
	e2e_assert_console "hostile: lkvm behaved"
	found "list: vsock-echo "
	[[ $e2e_post =~ vsock:\ list:\ vsock-echo\ +[0-9]+\ +running ]]
	# Linux's driver took the device back, and vsock works again.
	found "after hostile: alive"
	e2e_assert_stderr "virtio-vsock: dropped a bad packet"
}
