#!/bin/busybox sh
# /init of the built-in kernel's root disk (tests/kit/kernel.sh): a kernel
# with no initramfs and no modules mounts /dev/vda as root and runs this.
# It says what the kernel found, writes a marker onto the second disk
# through the kernel's own virtio-blk driver, and powers off.
/bin/busybox mkdir -p /proc /sys
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
cpus=$(/bin/busybox grep -c ^processor /proc/cpuinfo)
echo "lkvm-kdev: init up, kernel $(/bin/busybox uname -r), $cpus cpus, root $(/bin/busybox awk '$2 == "/" { print $1 }' /proc/mounts | /bin/busybox tail -n 1)"
echo "lkvm-kdev: marker $(/bin/busybox uname -r) $cpus" |
	/bin/busybox dd of=/dev/vdb bs=512 conv=sync,fsync 2>/dev/null &&
	echo "lkvm-kdev: wrote the marker to vdb"
/bin/busybox sync
/bin/busybox poweroff -f
