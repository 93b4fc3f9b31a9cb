#!/bin/sh
# A stand-in for lkvm that boots nothing, for tests/e2e/harness.bats: the
# harness must hand back each run's console, stderr and exit status apart,
# whatever lkvm does. It echoes its arguments as "console" output, writes
# one diagnostic to stderr, and obeys words in its arguments:
#   fake.exit=N   exit with status N
#   fake.hang     never exit (the run's outer timeout must catch it)
set -eu
echo "fake-console: $*"
echo "lkvm: fake diagnostic" >&2
code=0
for word in $*; do
	case "$word" in
	fake.exit=*) code=${word#fake.exit=} ;;
	fake.hang) while :; do sleep 1; done ;;
	esac
done
exit "$code"
