# Beside `lkvm run --name NAME` with the vsock-button scenario (vsock.bats):
# once the guest waits for its power button, lkvm stop --graceful, which
# must press it (the guest has no agent).
name=$1
console=$E2E_OUT/console
n=0
while ! grep -q 'waiting for the power button' "$console" 2>/dev/null && [ $n -lt 450 ]; do
	sleep 0.2
	n=$((n + 1))
done
"$LKVM" stop --graceful --wait 30 -n "$name" >stop.out 2>&1
echo "button: stop rc $? $(tr '\n' '|' <stop.out)"
echo "button: done"
