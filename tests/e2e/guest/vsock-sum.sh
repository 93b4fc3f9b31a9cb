# One connection to port 5000 of guest/vsock-echo.sh: echo what comes in
# and, at its end, print its md5 on the console.
f=/tmp/vsum.$$
mkfifo "$f.fifo"
md5sum <"$f.fifo" >"$f.sum" &
tee "$f.fifo"
wait
echo "lkvm-guest: vsock rx md5 $(cut -d ' ' -f 1 "$f.sum")" >/dev/console
rm -f "$f.fifo" "$f.sum"
