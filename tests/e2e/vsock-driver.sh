# The host side of the vsock-echo scenario (guest/vsock-echo.sh), started
# in the background by the run's pre step beside `lkvm run --vsock-uds
# UDS --name NAME`; prints one "vsock: ..." line per finding, for
# vsock.bats.  POSIX sh with busybox.  Ends by telling the guest it is done
# (port 5009), so a failure here cannot leave the guest waiting.
uds=$1
name=$2
peer=ship/vsock-peer
console=$E2E_OUT/console
me=vsock
. "$E2E_LIB/driver.sh"

rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

if ! wait_for 90 seen 'lkvm-guest: vsock ready'; then
	say "the guest never got ready"
	say done
	exit 0
fi
pid=$(pidof lkvm | cut -d ' ' -f 1)
say "lkvm pid $pid"

# Half-close: the answer comes only after our EOF.
printf 'question' | $peer connect "$uds" 5001 >half.out 2>&1
say "half-close rc $? reply $(tr '\n' ' ' <half.out)"

# 16 connections, 8 MiB each way, while we watch lkvm's RSS.
head -c 8388608 /dev/urandom >data
say "sent md5 $(md5sum <data | cut -d ' ' -f 1)"
mkdir -p out
rss0=$(rss "$pid")
$peer stress "$uds" 5000 16 data out >stress.out 2>&1 &
spid=$!
max=$rss0
while kill -0 "$spid" 2>/dev/null; do
	r=$(rss "$pid")
	[ -n "$r" ] && [ "$r" -gt "$max" ] && max=$r
	sleep 0.2
done
wait "$spid"
say "stress rc $? $(tail -n 1 stress.out)"
for f in out/*; do
	say "echo md5 $(md5sum <"$f" | cut -d ' ' -f 1) bytes $(wc -c <"$f")"
done
say "rss before ${rss0} KiB, max during ${max} KiB"
rm -rf out data

printf done | $peer connect "$uds" 5009 >/dev/null 2>&1
say "told the guest"

# The hostile driver runs now; lkvm must keep answering.
wait_for 60 seen 'hostile: gave' || say "the hostile driver did not finish"
say "list: $("$LKVM" list 2>&1 | grep "^$name ")"
for i in 1 2 3 4 5 6 7 8 9 10; do
	out=$($peer connect "$uds" 5011 </dev/null 2>&1) && break
	sleep 1
done
say "after hostile: $out"
say done
