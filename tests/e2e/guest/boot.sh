# Scenario boot (make bench, tests/bench/boot.bats): how long the kernel
# took to reach userspace.  The first thing it does is print
#   lkvm-bench: boot userspace UPTIME kernel-init KTIME
# UPTIME is the guest's uptime now (init has loaded its modules: the
# first line userspace prints); KTIME is the kernel's own time stamp of
# "Run /init as init process", the end of the kernel's boot.  Then,
# with lkvm.bench.hold=1, it sleeps 1 s (tests/bench/boot-probe.sh in
# L1 stops its counters at the line above, and must see it before the
# guest powers off); with lkvm.bench.dmesg=1 it prints the kernel log
# (initcall_debug runs), after the line, so that is not timed.
read -r up _ </proc/uptime
kinit=$(dmesg | sed -n 's/^\[ *\([0-9.]*\)\] Run .* as init process.*/\1/p' | head -n 1)
echo "lkvm-bench: boot userspace $up kernel-init ${kinit:-?}"
# The boot bench gives every VMM a disk: which transport it came on.
[ ! -e /sys/block/vda ] ||
	echo "lkvm-bench: vda on $(basename "$(readlink /sys/block/vda/device/../driver)")"
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	lkvm.bench.hold=1) sleep 1 ;;
	lkvm.bench.dmesg=1) dmesg | sed 's/^/lkvm-dmesg: /' ;;
	esac
done
