# Scenario vsock-bench: the guest side of tests/bench/vsock.bats, under
# lkvm or QEMU (vhost-vsock-pci).  Needs socat (the l2-vsock archive).
#   5002 echo (1-byte round trips), 5003 sink, 5004 a 256 MiB source;
#   5009: the host is done.
if ! command -v socat >/dev/null; then
	echo "lkvm-bench: no socat in the initramfs"
	poweroff -f
fi
socat VSOCK-LISTEN:5002,fork,reuseaddr PIPE &
socat -u VSOCK-LISTEN:5003,fork,reuseaddr OPEN:/dev/null &
# lkvm.vsock.mib=N on the command line: a smaller source (debugging).
mib=$(sed -n 's/.*lkvm\.vsock\.mib=\([0-9]*\).*/\1/p' /proc/cmdline)
socat -b 65536 -u EXEC:"dd if=/dev/zero bs=1048576 count=${mib:-256}" VSOCK-LISTEN:5004,fork,reuseaddr &
sleep 1
echo "lkvm-bench: vsock ready"
socat -u VSOCK-LISTEN:5009 - >/dev/null
echo "lkvm-bench: done"
poweroff -f
