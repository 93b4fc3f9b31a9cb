#!/bin/sh
# A stand-in for lkvm that boots nothing, for tests/e2e/harness.bats: the
# harness must hand back each run's console, stderr and exit status apart,
# whatever lkvm does. It echoes its arguments as "console" output, writes
# one diagnostic to stderr, and obeys words in its arguments:
#   fake.exit=N   exit with status N
#   fake.hang     never exit (the run's outer timeout must catch it)
#   fake.wedge.B=KIND  in boot B of tests/lib/fake-l1.sh, wedge that L1:
#                 softlockup, silent or crash (see fake-l1.sh), or
#                 unkillable: ignore SIGTERM and SIGHUP, which the test
#                 makes plan-exec.sh send in place of SIGKILL
set -eu
echo "fake-console: $*"
echo "lkvm: fake diagnostic${FAKE_L1_BOOT:+ (L1 boot $FAKE_L1_BOOT)}" >&2
code=0
for word in $*; do
	case "$word" in
	fake.exit=*) code=${word#fake.exit=} ;;
	fake.hang) while :; do sleep 1; done ;;
	"fake.wedge.${FAKE_L1_BOOT:-0}=unkillable")
		trap '' TERM HUP
		while :; do sleep 1; done
		;;
	"fake.wedge.${FAKE_L1_BOOT:-0}="*)
		echo "${word#*=}" >"$FAKE_L1_STATE/wedge"
		kill -USR1 "$FAKE_L1_PID"
		while :; do sleep 1; done
		;;
	esac
done
exit "$code"
