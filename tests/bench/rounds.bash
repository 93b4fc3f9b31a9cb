# What the bench's report scripts (report.sh, net-report.sh) share.

# round_check STATE: adds to the array `problems` what went wrong in the
# bench round STATE (an e2e state directory: tests/lib/e2e.bash): each L1
# wedge or L2 crash, a lost plan. False if the round has no results to
# count; after a second wedge, the runs that finished still count.
round_check() {
	local state=$1 round line

	round=$(basename "$state")
	if [[ -f $state/wedges ]]; then
		while IFS= read -r line; do
			problems+=("$round: $line")
		done <"$state/wedges"
	fi
	if [[ -f $state/error ]]; then
		problems+=("$round: lost: $(cat "$state/error")")
		return 1
	fi
	if [[ -f $state/wedged ]]; then
		problems+=("$round: lost the runs that had not finished: $(cat "$state/wedged")")
	elif [[ ! -f $state/results/plan.done ]]; then
		problems+=("$round: lost: no results")
		return 1
	fi
}
