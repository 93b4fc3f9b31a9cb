# Scenario ticker: print a numbered tick five times a second until
# stopped from outside (lkvm stop), so a paused guest shows as silence.
# Every SysRq key allowed, so `lkvm debug --sysrq` shows its effect (the
# Debian default, 0x1b6, refuses some keys).
echo 1 >/proc/sys/kernel/sysrq
# A user-mode spinner at the lowest priority, so that a paused vCPU is
# often in user mode: control.bats checks a user RIP's dump and walk as
# well as a kernel one. (A CI run lost two tests to a vCPU paused in
# user mode, whose code lkvm could not show: KVM_TRANSLATE refuses user
# pages under SMAP.) Only ever stopped by lkvm stop, with the guest.
sh -c 'while :; do :; done' &
renice -n 19 -p $! >/dev/null
i=0
while :; do
	i=$((i + 1))
	echo "lkvm-guest: tick $i"
	sleep 0.2
done
