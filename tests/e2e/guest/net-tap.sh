# Scenario net-tap: two NICs on two taps, whose host ends are
# 169.254.1.1 and 169.254.2.1 (and fe80::1 on the first); the host side
# is tests/e2e/net-host.sh.  Pings, then 100 MiB each way on eth0 with
# tests/kit/xfer.c, which checksums the stream on both ends.
say() { echo "lkvm-guest: $*"; }

. /scenarios/net-lib.sh
MIB100=104857600

ip link set lo up
ip addr add 169.254.1.2/24 dev eth0 && ip link set eth0 up
ip addr add 169.254.2.2/24 dev eth1 && ip link set eth1 up
ip -6 addr add fe80::2/64 dev eth0
say "eth0 $(cat /sys/class/net/eth0/address) eth1 $(cat /sys/class/net/eth1/address) mtu $(cat /sys/class/net/eth0/mtu)"
ping -c 2 -W 10 169.254.1.1 >/dev/null && say "ping eth0 ok"
ping -c 2 -W 10 169.254.2.1 >/dev/null && say "ping eth1 ok"

xfer send 169.254.1.1 5001 $MIB100 1 20 2>&1 | sed 's/^/lkvm-guest: /'
xfer_recv 5002

# By now duplicate address detection is long over.
ping6 -c 2 -W 10 -I eth0 fe80::1 >/dev/null && say "ping6 eth0 ok"
s=/sys/class/net/eth0/statistics
say "eth0 stats tx_packets $(cat $s/tx_packets) tx_bytes $(cat $s/tx_bytes) rx_packets $(cat $s/rx_packets) rx_bytes $(cat $s/rx_bytes)"
poweroff -f
