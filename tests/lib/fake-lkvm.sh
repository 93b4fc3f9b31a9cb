#!/bin/sh
# A stand-in for lkvm that boots nothing, for tests/e2e/harness.bats: the
# harness must hand back each run's console, stderr and exit status apart,
# whatever lkvm does. It echoes its arguments as "console" output, writes
# one diagnostic to stderr, and obeys words in its arguments:
#   fake.exit=N   exit with status N
#   fake.hang     never exit (the run's outer timeout must catch it); it
#                 is then "lkvm list"ed, and "lkvm debug" answers for it
#   fake.wedge.B=KIND  in boot B of tests/lib/fake-l1.sh, wedge that L1:
#                 softlockup, silent or crash (see fake-l1.sh), or
#                 unkillable: ignore SIGTERM and SIGHUP, which the test
#                 makes plan-exec.sh send in place of SIGKILL
#   fake.l2triple.B=N  in boot B, its guest triple-faults: a line in the
#                 L1's KVM trace, as tests/lib/l1-init.sh sets it up, then
#                 exit with status N
set -eu
# list and debug, as plan-exec.sh asks them of a run at its outer timeout.
case "${1:-}" in
list)
	echo "NAME PID STATE"
	cat fake-vms 2>/dev/null || true
	exit 0
	;;
debug)
	echo "fake registers of $3: RIP 0xfeedface"
	exit 0
	;;
esac
echo "fake-console: $*"
echo "lkvm: fake diagnostic${FAKE_L1_BOOT:+ (L1 boot $FAKE_L1_BOOT)}" >&2
code=0
for word in $*; do
	case "$word" in
	fake.exit=*) code=${word#fake.exit=} ;;
	fake.hang)
		echo "fake-hang-$$ $$ running" >>fake-vms
		while :; do sleep 1; done
		;;
	"fake.l2triple.${FAKE_L1_BOOT:-0}="*)
		echo " lkvm-97 [001] d.... 41.5: kvm_exit: vcpu 1 reason shutdown rip 0xffffffff8e4c1d2f info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000" \
			>>"$E2E_L1_TRACE/trace"
		exit "${word#*=}"
		;;
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
