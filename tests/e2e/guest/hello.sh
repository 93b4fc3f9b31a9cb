# Scenario hello: proves userspace runs and sees the vCPUs.
echo "lkvm-guest: hello from userspace"
echo "lkvm-guest: cpus $(grep -c ^processor /proc/cpuinfo)"
poweroff -f
