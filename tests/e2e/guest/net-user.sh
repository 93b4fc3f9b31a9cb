# Scenario net-user: one NIC in user mode (passt).  DHCP with busybox's
# udhcpc; then, with the host side of tests/e2e/net-host.sh: a server on
# the host's loopback through the gateway address, a server of ours
# through a hostfwd port, and passt's end, which must take the link down
# and nothing else.
say() { echo "lkvm-guest: $*"; }

. /scenarios/net-lib.sh

cat >/tmp/dhcp.sh <<'SCRIPT'
#!/bin/sh
case "$1" in
bound | renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/$mask" dev "$interface"
	ip route add default via "${router%% *}" dev "$interface"
	echo "ip=$ip mask=$mask router=${router%% *} mtu=$mtu" >/tmp/dhcp.env
	;;
esac
SCRIPT
chmod +x /tmp/dhcp.sh

ip link set lo up
ip link set eth0 up
say "eth0 $(cat /sys/class/net/eth0/address) mtu $(cat /sys/class/net/eth0/mtu) carrier $(cat /sys/class/net/eth0/carrier)"
# The transport's driver (the test runs this NIC on virtio-mmio).
say "eth0 transport $(basename "$(readlink /sys/class/net/eth0/device/../driver)")"
udhcpc -i eth0 -n -q -t 10 -T 1 -s /tmp/dhcp.sh >/dev/null 2>&1
if [ -f /tmp/dhcp.env ]; then
	. /tmp/dhcp.env
	say "dhcp $ip/$mask router $router mtu $mtu"
else
	say "dhcp failed; carrier $(cat /sys/class/net/eth0/carrier)"
	poweroff -f
fi

xfer send "$router" 5003 1048576 3 20 2>&1 | sed 's/^/lkvm-guest: loopback /'
xfer_recv 5555 'hostfwd '

say "kill passt now"
n=0
while [ "$(cat /sys/class/net/eth0/carrier 2>/dev/null)" != 0 ] && [ $n -lt 150 ]; do
	sleep 0.2
	n=$((n + 1))
done
say "after passt: eth0 carrier $(cat /sys/class/net/eth0/carrier 2>/dev/null) operstate $(cat /sys/class/net/eth0/operstate)"
# A moment for the host side's lkvm list, then proof of life.
sleep 3
say "still running"
poweroff -f
