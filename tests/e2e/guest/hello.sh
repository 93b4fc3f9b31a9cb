# Scenario hello: proves userspace runs and sees the vCPUs.
echo "lkvm-guest: hello from userspace"
# Not a panic: the words in a program's output, not at a printk line start.
echo "lkvm-guest: quoting \"Kernel panic - not syncing\" is harmless"
echo "lkvm-guest: cpus $(grep -c ^processor /proc/cpuinfo)"
grep -q -w tsc_deadline_timer /proc/cpuinfo && echo "lkvm-guest: tsc deadline timer"
poweroff -f
