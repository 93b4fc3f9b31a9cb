#!/usr/bin/env bats
# virtio-blk, as a real Debian kernel's virtio_blk driver uses it: the guest
# reads back what the host wrote, and the host finds what the guest wrote
# (and flushed) in the image after power-off.  Scenarios:
# tests/e2e/guest/blk-*.sh.

load ../lib/e2e

# Checksums computed on the host, from the same generators the runs use.
pattern_md5() {
	(. "$E2E_ROOT/tests/lib/disk.sh" && disk_pattern "$BATS_FILE_TMPDIR/p.img" "$1" &&
		head -c "$(($2 * 1048576))" "$BATS_FILE_TMPDIR/p.img" | md5sum | cut -d ' ' -f 1)
}

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/fs"
	echo "hello from an ext4 image made on the host" >"$BATS_FILE_TMPDIR/fs/greeting"
	e2e_ship_ext4 fs.img 16 "$BATS_FILE_TMPDIR/fs"

	e2e_run blk-read --pre 'disk_pattern pat.img 4' -- -d pat.img,ro
	local sums='dd if=scratch.img bs=1048576 skip=2 count=4 2>/dev/null | md5sum
		dd if=scratch.img bs=65536 skip=128 count=16 2>/dev/null | md5sum
		md5sum <pat.img'
	e2e_run blk-write --pre 'disk_raw scratch.img 16; disk_pattern pat.img 4' \
		--post "$sums" -- -d scratch.img -d pat.img
	# The same disks on the other transport, which Linux binds by ACPI.
	e2e_run blk-write-mmio --scenario blk-write \
		--pre 'disk_raw scratch.img 16; disk_pattern pat.img 4' \
		--post "$sums" -- --virtio-transport mmio -d scratch.img -d pat.img
	e2e_run blk-ext4 --pre 'cp ship/fs.img fs.img' -- -d fs.img
	e2e_execute
}

@test "blk: the guest sees the disk's size and its read-only flag" {
	e2e_result blk-read
	e2e_assert_status 0
	e2e_assert_console "lkvm-guest: vda sectors 8192 ro 1"
}

@test "blk: the guest reads back the host's data, cached and O_DIRECT" {
	local sum
	sum=$(pattern_md5 4 4)
	e2e_result blk-read
	e2e_assert_status 0
	e2e_assert_console "lkvm-guest: vda md5 $sum"
	e2e_assert_console "lkvm-guest: vda direct md5 $sum"
}

@test "blk: a ,ro disk refuses the guest's writes" {
	e2e_result blk-read
	e2e_assert_console "lkvm-guest: write to read-only vda refused"
	e2e_refute_console "succeeded"
}

@test "blk: two -d options are vda and vdb, in order" {
	e2e_result blk-write
	e2e_assert_status 0
	e2e_assert_console "lkvm-guest: disks vda vdb"
}

@test "blk: what the guest wrote and fsynced is in the host's image" {
	local sum
	sum=$(yes lkvm-guest-wrote-this | head -c 4194304 | md5sum | cut -d ' ' -f 1)
	e2e_result blk-write
	e2e_assert_status 0
	e2e_assert_console "lkvm-guest: write+fsync ok"
	e2e_assert_console "lkvm-guest: readback md5 $sum"
	[ "$e2e_post_status" -eq 0 ]
	[[ ${e2e_post%%$'\n'*} == "$sum"* ]]
}

@test "blk: a copy from vdb to vda lands at the right offset, vdb unchanged" {
	local first all
	first=$(pattern_md5 4 1)
	all=$(pattern_md5 4 4)
	e2e_result blk-write
	e2e_assert_console "lkvm-guest: vdb copied"
	[[ $e2e_post == *$'\n'"$first"*$'\n'"$all"* ]]
}

@test "blk: the default transport is virtio-pci" {
	e2e_result blk-write
	e2e_assert_console "lkvm-guest: vda transport virtio-pci"
}

@test "blk: over virtio-mmio, the guest writes, flushes, reads back and copies" {
	local sum first all
	sum=$(yes lkvm-guest-wrote-this | head -c 4194304 | md5sum | cut -d ' ' -f 1)
	first=$(pattern_md5 4 1)
	all=$(pattern_md5 4 4)
	e2e_result blk-write-mmio
	e2e_assert_status 0
	e2e_assert_console "lkvm-guest: vda transport virtio-mmio"
	e2e_assert_console "lkvm-guest: disks vda vdb"
	e2e_assert_console "lkvm-guest: write+fsync ok"
	e2e_assert_console "lkvm-guest: readback md5 $sum"
	e2e_assert_console "lkvm-guest: vdb copied"
	[ "$e2e_post_status" -eq 0 ]
	[[ $e2e_post == "$sum"*$'\n'"$first"*$'\n'"$all"* ]]
}

@test "blk: ext4 on virtio-blk: read a host file, write, remount, read back" {
	local sum
	sum=$(seq 1 20000 | md5sum | cut -d ' ' -f 1)
	e2e_result blk-ext4
	e2e_assert_status 0
	e2e_assert_console "lkvm-guest: greeting: hello from an ext4 image made on the host"
	e2e_assert_console "lkvm-guest: numbers md5 $sum"
	e2e_refute_console "EXT4-fs error"
}

@test "host: a missing disk image is exit 1 with one line naming it" {
	e2e_require_kvm
	e2e_host_lkvm run -k "$KIT_OUT/vmlinuz" -d /nonexistent/disk.img
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ $stderr == "lkvm: "*"/nonexistent/disk.img"*"No such file"* ]]
}

@test "host: the same image twice is refused, not corrupted" {
	e2e_require_kvm
	truncate -s 1M "$BATS_TEST_TMPDIR/d.img"
	e2e_host_lkvm run -k "$KIT_OUT/vmlinuz" -d "$BATS_TEST_TMPDIR/d.img" \
		-d "$BATS_TEST_TMPDIR/d.img"
	[ "$status" -eq 1 ]
	[[ $stderr == *"d.img"*"in use"* ]]
}

@test "host: a bad --virtio-transport is a usage error" {
	e2e_host_lkvm run -k "$KIT_OUT/vmlinuz" --virtio-transport isa
	[ "$status" -eq 2 ]
	[[ $stderr == *"--virtio-transport isa: use pci or mmio"* ]]
}

@test "host: a 15th virtio-mmio device is refused, saying what to do" {
	local i args=()

	e2e_require_kvm
	for i in $(seq 1 15); do
		truncate -s 1M "$BATS_TEST_TMPDIR/d$i.img"
		args+=(-d "$BATS_TEST_TMPDIR/d$i.img")
	done
	e2e_host_lkvm run -k "$KIT_OUT/vmlinuz" --virtio-transport mmio "${args[@]}"
	[ "$status" -eq 1 ]
	[[ $stderr == *"no room for more than 14 virtio-mmio devices; use --virtio-transport pci"* ]]
	[[ $stderr == *"d15.img: cannot attach it"* ]]
}

@test "host: a bad -d option is a usage error" {
	e2e_host_lkvm run -k "$KIT_OUT/vmlinuz" -d disk.img,rx
	[ "$status" -eq 2 ]
	[[ $stderr == *"unknown disk option"* ]]
}
