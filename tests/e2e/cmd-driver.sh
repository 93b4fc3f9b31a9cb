# Beside `lkvm run --name NAME -- sh -c 'echo started; sleep 60'`
# (vsock.bats): once the command has started, lkvm exec reaches the guest
# through the agent's listener, then lkvm stop --graceful ends it early.
name=$1
n=0
while ! grep -q started "$E2E_OUT/console" 2>/dev/null && [ $n -lt 300 ]; do
	sleep 0.2
	n=$((n + 1))
done
"$LKVM" exec -n "$name" -- cat /proc/1/comm >exec.out 2>&1
echo "exec rc $?" >>exec.out
"$LKVM" stop --graceful -n "$name" >stop.out 2>&1
echo "stop rc $?" >>stop.out
