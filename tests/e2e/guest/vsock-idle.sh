# Scenario vsock-idle: stay up, quietly, while lkvm exec and lkvm stop
# --graceful work on the guest through its agent (vsock.bats,
# agent-driver.sh).  The agent powers it off.
echo "lkvm-guest: idle"
while :; do sleep 3600; done
