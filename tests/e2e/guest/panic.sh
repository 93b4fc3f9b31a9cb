# Scenario panic: a real kernel panic, through sysrq (always allowed via
# /proc/sysrq-trigger, whatever kernel.sysrq says).
echo "lkvm-guest: triggering a panic"
drain-console
echo c >/proc/sysrq-trigger
