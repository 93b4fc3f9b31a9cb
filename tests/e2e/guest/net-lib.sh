# Sourced by the net scenarios (guest/net-tap.sh, guest/net-user.sh),
# which define say().  Not a scenario of its own.

# xfer_recv PORT [PREFIX]: receive on PORT.  "listening on PORT" is said
# only once xfer listens (a peer that came earlier would be refused, or
# through passt reset mid-stream), and by us: xfer's own line would wait
# in sed's buffer.  Then xfer's result, prefixed.
xfer_recv() {
	xfer recv "$1" >"/tmp/xfer-$1.out" 2>&1 &
	pid=$!
	n=0
	while ! grep -q '^xfer: listening' "/tmp/xfer-$1.out" &&
		kill -0 $pid 2>/dev/null && [ $n -lt 300 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	say "listening on $1"
	wait $pid
	grep -v '^xfer: listening' "/tmp/xfer-$1.out" | sed "s/^/lkvm-guest: ${2:-}/"
}
