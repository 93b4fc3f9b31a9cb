# Scenario vsock-echo: the guest side of vsock.bats's device tests, which
# tests/e2e/vsock-driver.sh drives from the host.  Needs socat, which the
# test appends to the initramfs (tests/kit/build.sh l2-vsock).
#   5000  echo, printing the md5 of what came in (guest/vsock-sum.sh)
#   5001  answers only after the host's EOF: byte count, then "done"
#   5002  plain echo, 5003 sink, 5004 256 MiB source (the benchmark)
#   5009  the host says it is done; then the hostile driver runs
#   5011  "alive": vsock works again after the hostile driver
if ! command -v socat >/dev/null; then
	echo "lkvm-guest: vsock: no socat in the initramfs"
	poweroff -f
fi
# -t 30: after the host's EOF, socat waits for the script to end (it
# prints the md5 last) instead of the default 0.5 s, after which it would
# kill a script that a slow guest had not yet let print.
socat -t 30 -b 65536 VSOCK-LISTEN:5000,fork,reuseaddr,backlog=64 EXEC:"sh /scenarios/vsock-sum.sh" &
socat VSOCK-LISTEN:5001,fork,reuseaddr SYSTEM:'wc -c; echo done' &
socat VSOCK-LISTEN:5002,fork,reuseaddr PIPE &
socat -u VSOCK-LISTEN:5003,fork,reuseaddr OPEN:/dev/null &
socat -b 65536 -u EXEC:"dd if=/dev/zero bs=1048576 count=256" VSOCK-LISTEN:5004,fork,reuseaddr &

# Guest to host: a host program listens on <uds>_6000, none on 6001.
echo "hello from the guest" | socat - VSOCK-CONNECT:2:6000 >/tmp/reply 2>&1
echo "lkvm-guest: vsock to host: rc $? reply '$(cat /tmp/reply)'"
socat - VSOCK-CONNECT:2:6001 </dev/null >/tmp/err 2>&1
echo "lkvm-guest: vsock to no listener: rc $? $(cat /tmp/err)"

echo "lkvm-guest: vsock ready"
socat -u VSOCK-LISTEN:5009 - >/dev/null
echo "lkvm-guest: vsock host done"

vsock-hostile
echo "lkvm-guest: vsock hostile driver returned $?"
socat VSOCK-LISTEN:5011 SYSTEM:'echo alive' 
echo "lkvm-guest: vsock after hostile: served"
poweroff -f
