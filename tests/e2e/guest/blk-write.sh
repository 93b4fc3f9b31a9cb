# Scenario blk-write: vda is a zeroed scratch disk and vdb a 4 MiB pattern
# disk.  Write 4 MiB at offset 2 MiB of vda and fsync (a FLUSH request),
# read it back past the page cache, and copy vdb's first MiB to offset
# 8 MiB of vda, so the host finds both in the image after power-off.
echo "lkvm-guest: disks $(ls /sys/block | grep '^vd' | tr '\n' ' ')"
# The transport's driver: virtio-pci, or virtio-mmio (--virtio-transport).
echo "lkvm-guest: vda transport $(basename "$(readlink /sys/block/vda/device/../driver)")"
if yes lkvm-guest-wrote-this | head -c 4194304 |
	dd of=/dev/vda bs=1048576 seek=2 iflag=fullblock conv=fsync 2>/dev/null; then
	echo "lkvm-guest: write+fsync ok"
fi
echo 3 >/proc/sys/vm/drop_caches
sum=$(dd if=/dev/vda bs=1048576 skip=2 count=4 iflag=direct 2>/dev/null |
	md5sum | cut -d ' ' -f 1)
echo "lkvm-guest: readback md5 $sum"
dd if=/dev/vdb of=/dev/vda bs=65536 count=16 seek=128 oflag=direct 2>/dev/null &&
	sync && echo "lkvm-guest: vdb copied"
poweroff -f
