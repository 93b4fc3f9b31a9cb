# The boot bench's outside clock (tests/bench/boot.bats):
#
#   sh ship/boot-clock.sh VMM ARGS...
#
# runs VMM (the word "lkvm" is $LKVM, the lkvm under test) with ARGS,
# its console passing through a reader that adds, after the guest's
# "lkvm-bench: boot userspace" line,
#
#   lkvm-bench: clock userspace-at SECONDS
#
# the time from this script's start to that line by the clock of the
# machine the VMM runs on (L1's, in the emulated L1).
#
# Why: the guest's own uptime is not real time there, and leaves out
# the VMM's start and the kernel's decompression.  L1 has no stable TSC
# under TCG, so its KVM stops a vCPU's TSC while the vCPU is out of guest
# mode and catches kvmclock up later: a guest's clock stalls and jumps.
# Over six lkvm boots of the same guest, L1's time beside the guest's
# uptime ranged from 1.3 to 3.9 s (tests/bench/README.md).
#
# The VMM is exec'd, so it keeps this script's pid (the harness signals
# and waits for it; boot-probe.sh finds it by its executable); the
# reader reads a FIFO in the run's directory.
read -r t0 _ </proc/uptime
vmm=$1
shift
[ "$vmm" != lkvm ] || vmm=${LKVM:?LKVM names the lkvm under test}
rm -f clock.fifo
mkfifo clock.fifo || exit 127
(
	while IFS= read -r line; do
		printf '%s\n' "$line"
		case $line in
		"lkvm-bench: boot userspace "*)
			read -r t _ </proc/uptime
			awk -v a="$t0" -v b="$t" \
				'BEGIN { printf "lkvm-bench: clock userspace-at %.2f\n", b - a }'
			;;
		esac
	done <clock.fifo
) &
exec "$vmm" "$@" >clock.fifo
