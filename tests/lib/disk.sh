# Disk image helpers for the end-to-end tests (POSIX sh, sourced).
#
# disk_raw and disk_pattern work with busybox too, so a run's pre and post
# steps may call them inside the emulated L1. disk_ext4 needs e2fsprogs
# (mkfs.ext4 -d), which only the host has: build such images before the
# plan runs and ship them (e2e_ship_ext4 in tests/lib/e2e.bash).

# disk_raw FILE MIB: a sparse image that reads as zeros.
disk_raw() {
	rm -f "$1"
	dd if=/dev/zero of="$1" bs=1048576 count=0 seek="$2" 2>/dev/null
}

# disk_pattern FILE MIB [WORD]: a fully written image of a repeated text
# line, so reads can be checked against a known checksum.
disk_pattern() {
	yes "${3:-lkvm-disk-pattern}" | head -c "$(($2 * 1048576))" >"$1"
}

# disk_ext4 FILE MIB [SRC_DIR]: an ext4 image, filled from SRC_DIR if
# given. Needs no root: mkfs.ext4 -d copies the tree itself.
disk_ext4() {
	rm -f "$1"
	if [ -n "${3:-}" ]; then
		mkfs.ext4 -q -F -d "$3" "$1" "${2}M"
	else
		mkfs.ext4 -q -F "$1" "${2}M"
	fi
}
