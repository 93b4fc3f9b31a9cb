# Scenario ticker: print a numbered tick five times a second until
# stopped from outside (lkvm stop), so a paused guest shows as silence.
# Every SysRq key allowed, so `lkvm debug --sysrq` shows its effect (the
# Debian default, 0x1b6, refuses some keys).
echo 1 >/proc/sys/kernel/sysrq
i=0
while :; do
	i=$((i + 1))
	echo "lkvm-guest: tick $i"
	sleep 0.2
done
