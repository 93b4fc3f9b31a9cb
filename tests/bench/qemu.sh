# Runs the QEMU that tests/bench/bench.bats shipped, wherever the run is
# (in the emulated L1, which has no /lib64 or /usr/share/qemu):
#
#   sh ship/qemu.sh QEMU ARGS...
#
# bench.bats ships qemu-system-x86_64 with the shared libraries ldd lists,
# their loader and the firmware, all flat beside this script.  Going
# through the loader with --library-path needs no ld.so.conf and no
# /lib64 in L1; -L is where QEMU finds bios-256k.bin and its option ROMs.
d=$(dirname "$0")
loader=$d/ld-linux-x86-64.so.2
if [ ! -f "$d/qemu-system-x86_64" ] || [ ! -f "$loader" ]; then
	echo "bench: no QEMU bundle in $d (tests/bench/bench.bats ships it)" >&2
	exit 127
fi
exec "$loader" --library-path "$d" "$d/qemu-system-x86_64" -L "$d" "$@"
