#!/bin/busybox sh
# /init of the loop benchmark's root disk (tests/bench/boot.bats): the
# kernel a kernel developer builds mounts it as root, runs this, and it
# powers off at once, saying when by the guest's clock.  The VMM's wall
# time from start to exit is the loop; this line splits it.
/bin/busybox mkdir -p /proc
/bin/busybox mount -t proc proc /proc
read -r up _ </proc/uptime
echo "lkvm-bench: loop userspace $up"
/bin/busybox poweroff -f
