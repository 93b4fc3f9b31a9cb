# Host programs for the emulated L1 of make bench; loaded by the bench
# .bats files after ../lib/e2e.  L1's initramfs has no glibc, so a
# program goes into ship/ with every library ldd names and their loader,
# flat; tests/bench/qemu.sh runs QEMU through them.

# ship_with_libs PROGRAM: PROGRAM and its libraries, flat in ship/.
ship_with_libs() {
	local lib

	e2e_ship "$1"
	for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }'); do
		e2e_ship "$(readlink -f "$lib")" "$(basename "$lib")"
	done
}

# ship_qemu FIRMWARE...: QEMU with its libraries, glibc's on-demand
# libgcc_s, the firmware files named, and qemu.sh.  False, saying why on
# stderr, when any of them is missing.
ship_qemu() {
	local qemu lib fw dir found

	qemu=$(command -v "$QEMU") || {
		echo "bench: $QEMU is not installed (apt-get install qemu-system-x86)" >&2
		return 1
	}
	ship_with_libs "$qemu"
	[[ -f $E2E_STATE/ship/ld-linux-x86-64.so.2 ]] || {
		echo "bench: ldd $qemu names no ld-linux-x86-64.so.2" >&2
		return 1
	}
	for lib in /lib/x86_64-linux-gnu/libgcc_s.so.1 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1; do
		[[ -f $lib ]] && { e2e_ship "$lib"; break; }
	done
	for fw in "$@"; do
		found=
		for dir in /usr/share/qemu /usr/share/seabios; do
			if [[ -f $dir/$fw ]]; then
				e2e_ship "$(readlink -f "$dir/$fw")" "$fw"
				found=1
				break
			fi
		done
		[[ $found ]] || {
			echo "bench: QEMU firmware $fw not found in /usr/share/qemu or /usr/share/seabios" >&2
			return 1
		}
	done
	e2e_ship "$E2E_ROOT/tests/bench/qemu.sh"
}
