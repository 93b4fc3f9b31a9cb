#!/usr/bin/env bats
# lkvm built with ThreadSanitizer, booting real Linux (`make tsan`): the
# e2e suite's guests with the threads host.bats cannot reach, the I/O
# thread serving two virtio-blk disks while vCPUs ring doorbells, ext4,
# and the control channel pausing, inspecting and stopping two vCPUs.
# Through the emulated L1 where the host's KVM cannot run Linux, as the
# e2e suite does. Every run must end as it does without TSan, with no
# report on stderr.

load ../lib/e2e

TSAN_LKVM=$KIT_OUT/lkvm-tsan
L2=(run -k kit/vmlinuz -i kit/l2-initrd.cpio -c 2)
L2_PARAMS="console=ttyS0 panic=-1 quiet lkvm.scenario"

# lkvm-tsan, each library ldd lists and their loader, flat in ship/.
ship_tsan() {
	local lib

	e2e_ship "$TSAN_LKVM"
	for lib in $(ldd "$TSAN_LKVM" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
			$1 ~ /^\/.*ld-linux/ { print $1 }'); do
		e2e_ship "$(readlink -f "$lib")" "$(basename "$lib")"
	done
	e2e_ship "$BATS_TEST_DIRNAME/lkvm-tsan.sh"
}

# tsan_run NAME [e2e_run options] -- LKVM RUN ARGS: scenario NAME.
tsan_run() {
	local name=$1
	local -a opts
	shift
	while (($#)) && [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	shift
	e2e_run "$name" --limit 150 "${opts[@]}" --exec sh --raw -- \
		ship/lkvm-tsan.sh "${L2[@]}" -p "$L2_PARAMS=$name" "$@"
}

setup_file() {
	[[ -x $TSAN_LKVM ]] || return 0
	ship_tsan
	e2e_ship "$BATS_TEST_DIRNAME/../e2e/ctl-driver.sh"
	mkdir -p "$BATS_FILE_TMPDIR/fs"
	echo "hello from an ext4 image made on the host" >"$BATS_FILE_TMPDIR/fs/greeting"
	e2e_ship_ext4 fs.img 16 "$BATS_FILE_TMPDIR/fs"

	tsan_run hello --
	tsan_run blk-write --pre 'disk_raw scratch.img 16; disk_pattern pat.img 4' \
		-- -d scratch.img -d pat.img
	tsan_run blk-ext4 --pre 'cp ship/fs.img fs.img' -- -d fs.img
	tsan_run ticker --pre 'sh ship/ctl-driver.sh ctl-test >ctl.out 2>&1 &' \
		--post 'n=0; while ! grep -q "^ctl: done" ctl.out && [ $n -lt 100 ]; do
				sleep 0.2; n=$((n + 1)); done; cat ctl.out' \
		-- --name ctl-test --timeout 140
	e2e_execute
}

# tsan_clean NAME STATUS TEXT: run NAME ended with STATUS, its console
# says TEXT, and TSan said nothing.
tsan_clean() {
	[[ -x $TSAN_LKVM ]] || skip "$TSAN_LKVM is not built (make tsan builds it)"
	e2e_result "$1"
	e2e_assert_status "$2"
	e2e_assert_console "$3"
	! grep -q ThreadSanitizer <<<"$e2e_stderr" || {
		echo "tsan: ThreadSanitizer reported in run $1"
		return 1
	}
}

@test "tsan: a boot to userspace on two vCPUs, and power-off" {
	tsan_clean hello 0 "lkvm-guest: cpus 2"
}

@test "tsan: two virtio-blk disks written, flushed, read back and copied" {
	tsan_clean blk-write 0 "lkvm-guest: vdb copied"
}

@test "tsan: ext4 on virtio-blk" {
	tsan_clean blk-ext4 0 "lkvm-guest: greeting: hello from an ext4 image made on the host"
}

@test "tsan: list, pause, debug, resume, sysrq, nmi and stop of a running guest" {
	tsan_clean ticker 0 "lkvm-guest: tick"
	[[ $e2e_post == *"ctl: stop rc 0"* ]]
	[[ $e2e_post == *"ctl: ticking again"* ]]
}
