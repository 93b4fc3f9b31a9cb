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
#
# The guest agent: `lkvm run -k vmlinuz -- CMD` with nothing else (CMD and
# busybox come from L1, the modules from L1's /lib/modules/<release>), its
# exit status, stdout and stdin; `lkvm exec` into a guest booted with
# --agent, then `lkvm stop --graceful` through the agent; and without an
# agent, through the ACPI power button.

load ../lib/e2e
load ../lib/tiny

# The L2 initramfs with socat and the hostile driver appended.
VSOCK_INITRD='cat kit/l2-initrd.cpio ship/l2-vsock.cpio >l2v.cpio'

setup_file() {
	e2e_ship "$KIT_OUT/vsock-peer"
	e2e_ship "$KIT_OUT/l2-vsock.cpio"
	e2e_ship "$BATS_TEST_DIRNAME/vsock-driver.sh"
	# The stress (16 x 8 MiB each way, as issue 12 asks) takes 85-105 s
	# in the emulated L1 on an idle host and took 176 s on a busy one,
	# where it missed a 140 s limit: allow 300.
	e2e_run vsock-echo --limit 310 --raw \
		--pre "$VSOCK_INITRD
ship/vsock-peer listen v.sock_6000 'hello from the host' >from-guest.txt 2>&1 &
sh ship/vsock-driver.sh v.sock vsock-echo >driver.out 2>&1 &" \
		--post 'n=0; while ! grep -q "^vsock: done" driver.out && [ $n -lt 100 ]; do
				sleep 0.2; n=$((n + 1)); done
			cat driver.out; echo "from-guest: $(cat from-guest.txt)"' \
		-- run -k kit/vmlinuz -i l2v.cpio -m 256 --name vsock-echo \
		--vsock-uds v.sock --stats --timeout 300 \
		-p "console=ttyS0 panic=-1 quiet lkvm.scenario=vsock-echo"

	# lkvm run -- CMD: no initrd, no disk, no --modules.
	e2e_run cmd-exit --raw --limit 60 -- run -k kit/vmlinuz -- sh -c 'uname -r; exit 7'
	e2e_run cmd-cmdline --raw --limit 60 -- run -k kit/vmlinuz -- cat /proc/cmdline
	e2e_run cmd-kill --raw --limit 60 -- run -k kit/vmlinuz -- sh -c 'kill -9 $$'
	e2e_run cmd-stdin --raw --limit 60 --exec sh -- -c \
		'echo hello | "$LKVM" run -k kit/vmlinuz -- cat'
	e2e_run cmd-panic --raw --limit 60 -- run -k kit/vmlinuz -p panic=-1 \
		-- sh -c 'echo c >/proc/sysrq-trigger'
	# lkvm exec into a -- CMD guest, and stop --graceful in the middle.
	e2e_ship "$BATS_TEST_DIRNAME/cmd-driver.sh"
	e2e_run cmd-exec --raw --limit 90 \
		--pre 'sh ship/cmd-driver.sh cmdx >/dev/null 2>&1 &' \
		--post 'n=0; while ! grep -q "^stop rc" stop.out 2>/dev/null && [ $n -lt 100 ]; do
				sleep 0.2; n=$((n + 1)); done; cat exec.out stop.out' \
		-- run -k kit/vmlinuz --name cmdx -- sh -c 'echo started; sleep 60; echo late'
	# With a root disk: the agent mounts root= and runs CMD there.
	# Its mount points too: busybox runs its applets through /proc/self/exe.
	mkdir -p "$BATS_FILE_TMPDIR"/rootfs/{bin,dev,proc,sys,tmp}
	cp "$KIT_OUT/busybox" "$BATS_FILE_TMPDIR/rootfs/bin/"
	ln -sf busybox "$BATS_FILE_TMPDIR/rootfs/bin/sh"
	echo "greetings from the root disk" >"$BATS_FILE_TMPDIR/rootfs/greeting"
	printf '#!/bin/sh\ncat /greeting\nexit 42\n' >"$BATS_FILE_TMPDIR/rootfs/selftest.sh"
	chmod 755 "$BATS_FILE_TMPDIR/rootfs/selftest.sh"
	e2e_ship_ext4 rootfs.img 16 "$BATS_FILE_TMPDIR/rootfs"
	e2e_run cmd-root --raw --limit 60 -- run -k kit/vmlinuz -d ship/rootfs.img,ro \
		-p "root=/dev/vda ro" -- /selftest.sh
	# The same over virtio-mmio: the agent's vsock and the root disk, with
	# the virtio_mmio module lkvm adds to the agent's initramfs.  Seven
	# more disks, so that the last ones and the vsock device (the ninth)
	# get ISA pins (5, 6) rather than PCI-era ones (16-23): the guest
	# reads the disks' partition tables and the command's output crosses
	# the vsock, each through its interrupt.
	local x disks=
	for x in 1 2 3 4 5 6 7; do
		disks+=" -d x$x.img"
	done
	e2e_run cmd-mmio --raw --limit 60 \
		--pre 'for x in 1 2 3 4 5 6 7; do disk_raw x$x.img 1; done' \
		-- run -k kit/vmlinuz --virtio-transport mmio \
		-d ship/rootfs.img,ro $disks -p "root=/dev/vda ro" -- \
		sh -c 'cat /greeting; readlink /sys/block/vda/device/../driver
			ls /sys/block | grep -c "^vd"; exit 42'

	e2e_ship "$BATS_TEST_DIRNAME/agent-driver.sh"
	e2e_run agent-exec --scenario vsock-idle --limit 120 \
		--pre 'sh ship/agent-driver.sh agent-test >driver.out 2>&1 &' \
		--post 'n=0; while ! grep -q "^agent: done" driver.out && [ $n -lt 100 ]; do
				sleep 0.2; n=$((n + 1)); done; cat driver.out' \
		-- --agent --name agent-test --timeout 110

	e2e_ship "$BATS_TEST_DIRNAME/button-driver.sh"
	e2e_run acpi-button --limit 120 --raw \
		--pre "$VSOCK_INITRD
sh ship/button-driver.sh button-test >driver.out 2>&1 &" \
		--post 'n=0; while ! grep -q "^button: done" driver.out && [ $n -lt 100 ]; do
				sleep 0.2; n=$((n + 1)); done; cat driver.out' \
		-- run -k kit/vmlinuz -i l2v.cpio --name button-test --timeout 110 \
		-p "console=ttyS0 panic=-1 quiet lkvm.scenario=vsock-button"
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
	# RSS counts the guest's RAM too (the guest's 16 socats and their
	# buffers), so it may grow some; 128 MiB each way must not show.
	((max - before < 64 * 1024))
	# What the device itself held for host peers: at most buf_alloc
	# (256 KiB) each, and 16 of them at once.
	[[ $e2e_stderr =~ at\ most\ ([0-9]+)\ bytes\ held ]]
	((BASH_REMATCH[1] <= 262144))
	[[ $e2e_stderr =~ at\ most\ ([0-9]+)\ KiB\ of\ buffers ]]
	((BASH_REMATCH[1] <= 16 * 256))
	e2e_note "vsock buffers for host peers: at most ${BASH_REMATCH[1]} KiB at once"
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

# ---- lkvm run -- CMD ----

@test "run -- CMD: sh -c 'exit 7' exits 7, with only its output on stdout" {
	e2e_result cmd-exit
	e2e_assert_status 7
	# uname -r of the guest's kernel: the packed busybox ran there.
	[[ $output == "6."*"-cloud-amd64" ]] || { echo "stdout: '$output'"; return 1; }
	[[ ${#lines[@]} == 1 ]]
	# The console went to stderr, and lkvm said nothing about a normal end:
	# the status is the command's, so no error of lkvm's explains it.
	[[ $e2e_stderr != *"guest powered off"* ]]
	[[ $e2e_stderr != *"lkvm: error:"* ]]
	[[ $e2e_time ]] && e2e_note "lkvm run -k vmlinuz -- sh -c ...: ${e2e_time}s in L1"
}

@test "run -- CMD: cat /proc/cmdline prints the guest's command line and nothing else" {
	e2e_result cmd-cmdline
	e2e_assert_status 0
	[[ ${#lines[@]} == 1 ]] || { echo "${#lines[@]} lines on stdout"; return 1; }
	[[ ${lines[0]} == *"rdinit=/lkvm-agent lkvm.agent=run"* ]]
	[[ ${lines[0]} == *"console=ttyS0"* ]]
}

@test "run -- CMD: a command killed by SIGKILL exits 137" {
	e2e_result cmd-kill
	e2e_assert_status 137
	[[ $e2e_stderr != *"lkvm: error:"* ]]
}

@test "run -- CMD: lkvm's stdin is the command's: echo hello | lkvm run -- cat" {
	e2e_result cmd-stdin
	e2e_assert_status 0
	[[ $output == hello ]] || { echo "stdout: '$output'"; return 1; }
}

@test "run -- CMD: lkvm exec reaches it meanwhile (the agent is PID 1), and stop --graceful ends it" {
	e2e_result cmd-exec
	[[ $e2e_post == *"lkvm-agent"*"exec rc 0"* ]] || { printf '%s\n' "$e2e_post"; return 1; }
	[[ $e2e_post == *"VM 'cmdx' powered off (asked through its agent)"*"stop rc 0"* ]]
	# Ended before its command did: lkvm says so, with status 1.
	e2e_assert_status 1
	[[ $output == started ]]
	e2e_assert_stderr "lkvm: error: the guest ended before sh did"
}

@test "run -- CMD with -d and root=: the command runs on the root disk" {
	e2e_result cmd-root
	e2e_assert_status 42
	[[ $output == "greetings from the root disk" ]] || { echo "stdout: '$output'"; return 1; }
}

@test "run -- CMD over virtio-mmio: vsock and the root disk work, and the disk is on virtio-mmio" {
	e2e_result cmd-mmio
	e2e_assert_status 42
	[[ $output == "greetings from the root disk"$'\n'*"/virtio-mmio"$'\n'8 ]] ||
		{ echo "stdout: '$output'"; return 1; }
}

@test "run -- CMD: a command that panics the guest exits 3" {
	e2e_result cmd-panic
	e2e_assert_status 3
	e2e_assert_stderr "Kernel panic - not syncing"
	# lkvm's own 3, told from a command's 3 by lkvm's line (lkvm.1).
	e2e_assert_stderr "lkvm: error: guest kernel panicked"
}

# ---- lkvm exec and stop --graceful ----

agent() {
	[[ $e2e_post == *"agent: $1"* ]] || {
		echo "the driver did not report 'agent: $1'; it said:"
		printf '%s\n' "$e2e_post"
		return 1
	}
}

@test "exec: into a running guest booted with --agent, its status and streams, twice in a row" {
	e2e_result agent-exec
	agent "first rc 3 out 'out|' err 'err|'"
	agent "second rc 4 out 'again|' err ''"
	agent "stdin rc 0 out 'via stdin|'"
}

@test "exec: environment and working directory; the real init keeps PID 1; a missing command is 127" {
	e2e_result agent-exec
	[[ $e2e_post =~ agent:\ env\ rc\ 0\ out\ \'hi\ /tmp\ [0-9]+\|\' ]]
	agent "pid1 rc 0 out 'init|'"
	# Not found: 127, with the name on its stderr (here from busybox,
	# which the agent tries for a bare name the PATH lacks).
	[[ $e2e_post == *"agent: missing rc 127 out '' err '"*"no-such-command"* ]]
}

@test "stop --graceful: the guest agent powers the guest off; lkvm exits 0" {
	e2e_result agent-exec
	agent "stop rc 0 lkvm stop: VM 'agent-test' powered off (asked through its agent)"
	e2e_assert_status 0
	[[ $e2e_post =~ stop\ took\ ([0-9.]+)\ s ]] &&
		e2e_note "stop --graceful through the agent took ${BASH_REMATCH[1]} s in L1"
}

@test "stop --graceful: without an agent, the ACPI power button, which the guest sees" {
	e2e_result acpi-button
	e2e_assert_console "lkvm-guest: input: Power Button"
	e2e_assert_console "lkvm-guest: power button pressed"
	[[ $e2e_post == *"button: stop rc 0 lkvm stop: VM 'button-test' powered off (asked through the ACPI power button)"* ]] || {
		printf '%s\n' "$e2e_post"
		return 1
	}
	e2e_assert_status 0
}

# ---- on the host's own KVM, with the tiny guest (no Linux) ----

# A guest that never starts the agent: lkvm says so, and exits 1.
@test "host: -- CMD with a guest that ends before the agent runs: exit 1, stdout empty, the console on stderr" {
	need_tiny
	e2e_host_lkvm run -k "$TINY" -p tiny.mode=hello --timeout 10 -- true
	[[ $status == 1 ]]
	[[ -z $output ]]
	[[ $stderr == *"tiny: hello from a tiny bzImage"* ]]
	[[ $stderr == *"the guest ended before true did (the agent never connected)"* ]]
}

@test "host: --console-log FILE takes the guest's console" {
	need_tiny
	e2e_host_lkvm run -k "$TINY" -p tiny.mode=hello --timeout 10 \
		--console-log "$BATS_TEST_TMPDIR/console.log"
	[[ $status == 0 ]]
	[[ -z $output ]]
	grep -q "tiny: hello from a tiny bzImage" "$BATS_TEST_TMPDIR/console.log"
}

# A tiny guest that ticks, in the background, with HOME in the test's dir.
tiny_bg() {
	local name=$1
	shift
	HOME=$BATS_TEST_TMPDIR timeout -k 5 30 "$E2E_LKVM" run -k "$TINY" \
		-p tiny.mode=tick --name "$name" "$@" \
		>"$BATS_TEST_TMPDIR/$name.out" 2>"$BATS_TEST_TMPDIR/$name.err" &
	bg_pid=$!
	for _ in $(seq 50); do
		[[ -S $BATS_TEST_TMPDIR/.lkvm/$name.sock ]] && return 0
		sleep 0.1
	done
	echo "the VM never listened"
	return 1
}

@test "host: vsock sockets are 0600 while the VM runs and gone after; exec without an agent says so" {
	need_tiny
	tiny_bg vs --vsock 7 --timeout 20
	[[ $(stat -c %a "$BATS_TEST_TMPDIR/.lkvm/vs.vsock") == 600 ]]
	# The guest has the device but no driver: nothing listens there.
	run --separate-stderr env HOME="$BATS_TEST_TMPDIR" timeout 20 "$E2E_LKVM" exec -n vs -- true
	echo "exec: $status $stderr"
	[[ $status == 1 ]]
	[[ $stderr == *"no agent answers in VM 'vs'"* ]]
	HOME=$BATS_TEST_TMPDIR "$E2E_LKVM" stop -n vs
	wait "$bg_pid" || true
	[[ ! -e $BATS_TEST_TMPDIR/.lkvm/vs.vsock ]]
	[[ ! -e $BATS_TEST_TMPDIR/.lkvm/vs.sock ]]

	tiny_bg vu --vsock-uds "$BATS_TEST_TMPDIR/my.vsock" --timeout 20
	[[ $(stat -c %a "$BATS_TEST_TMPDIR/my.vsock") == 600 ]]
	HOME=$BATS_TEST_TMPDIR "$E2E_LKVM" stop -n vu
	wait "$bg_pid" || true
	[[ ! -e $BATS_TEST_TMPDIR/my.vsock ]]
}

@test "host: stop --graceful with nobody to answer: the power button, then a hard stop after --wait" {
	need_tiny
	tiny_bg gs --timeout 25
	run --separate-stderr env HOME="$BATS_TEST_TMPDIR" timeout 20 "$E2E_LKVM" stop --graceful --wait 1 -n gs
	echo "stop: $status $stderr"
	[[ $status == 0 ]]
	[[ $stderr == *"VM 'gs' still runs 1 s after asking through the ACPI power button; stopping it"* ]]
	wait "$bg_pid"
	grep -q "stopped on request" "$BATS_TEST_TMPDIR/gs.err"
}

@test "host: bad uses of --, --agent, --vsock, exec and stop are usage errors" {
	e2e_host_lkvm run --
	[[ $status == 2 && $stderr == *"'--' needs a command after it"* ]]
	e2e_host_lkvm run --agent -- true
	[[ $status == 2 && $stderr == *"with -- CMD it is init"* ]]
	e2e_host_lkvm run --vsock 2
	[[ $status == 2 && $stderr == *"CID must be a number from 3"* ]]
	e2e_host_lkvm exec -- true
	[[ $status == 2 && $stderr == *"give -n NAME"* ]]
	e2e_host_lkvm stop --wait 3 -n x
	[[ $status == 2 && $stderr == *"--wait goes with --graceful"* ]]
	e2e_host_lkvm exec -n nosuch -- true
	[[ $status == 1 && $stderr == *"no VM named 'nosuch'"* ]]
}
