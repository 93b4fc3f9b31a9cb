# Before each run of the boot and net benchmarks in the emulated L1
# (tests/bench/boot.bats, net.bats, migrate.bats):
#
#   sh ship/l1-scrub.sh
#
# writes most of L1's free memory once (a file in /tmp, then removed), so
# that the next VMM starts from the same L1 as every other run.
#
# Why: L1 is QEMU's TCG, which tracks the guest-physical pages it has
# translated code from.  The first write to such a page invalidates that
# code, which costs QEMU time per translation.  The previous run's guest
# kernel ran from pages L1 has freed since, and L1 hands recently freed
# pages out first: whoever writes them next pays, and the next guest's
# first touches of its RAM (nested page faults that L1's KVM serves with
# a zeroed huge page) took up to 0.9 s each, 2.5 to 3.6 s in a boot, or
# nothing in the first run after L1's boot.  A VMM that allocates and
# writes more memory at its start (QEMU) paid it before its guest's
# clock started.  Writing the free memory here pays it outside every
# run (tests/bench/README.md, "What the previous run leaves in L1").
#
# On a host with a fast KVM there is no TCG: nothing to do.
grep -q 'lkvm\.l1=' /proc/cmdline 2>/dev/null || exit 0
# What /tmp (a tmpfs, half of L1's memory) and the free memory allow,
# less some room; at most 900 MiB, which covers the pages of any one run.
free=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
room=$(df -m /tmp | awk 'NR == 2 { print $4 }')
mib=$((free - 256))
[ "$room" -ge "$mib" ] || mib=$((room - 16))
[ "$mib" -le 900 ] || mib=900
[ "$mib" -gt 0 ] || exit 0
dd if=/dev/zero of=/tmp/lkvm-scrub bs=1M count="$mib" 2>/dev/null || true
rm -f /tmp/lkvm-scrub
