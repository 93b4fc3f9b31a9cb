# Runs the lkvm-tsan that tests/tsan/tsan.bats shipped, with the shared
# libraries ldd lists and their loader beside it (TSan cannot link
# statically, and the emulated L1 has no /lib64), under TSAN_OPTIONS that
# report every race on stderr and make the exit status 66.
#
#   sh ship/lkvm-tsan.sh LKVM ARGS...
d=$(dirname "$0")
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1"
exec "$d/ld-linux-x86-64.so.2" --library-path "$d" "$d/lkvm-tsan" "$@"
