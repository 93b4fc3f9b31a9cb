#!/bin/bash
# Prints how often the emulated L1 wedged in this suite, from the state
# directory of every .bats file (tests/lib/e2e.bash writes STATE/wedges,
# one line per wedge), counting only those newer than STAMP:
#
#   e2e-summary.sh STAMP STATE_DIR...
#
# Output, always the first line, then one line per wedge:
#   e2e: L1 retries: K
#   e2e: L1 wedge: boot: try 1: L1 wedged: watchdog: BUG: soft lockup - ...
# K counts the fresh L1s that reran unfinished runs. A plan whose L1
# wedged twice shows two wedges and one retry; its runs failed.
set -euo pipefail

stamp=$1
shift
retries=0
lines=()
for state in "$@"; do
	f=$state/wedges
	[[ -f $f && $f -nt $stamp ]] || continue
	while IFS= read -r line; do
		lines+=("e2e: L1 wedge: $(basename "$state"): $line")
		[[ $line != "try 1: "* ]] || retries=$((retries + 1))
	done <"$f"
done
echo "e2e: L1 retries: $retries"
((${#lines[@]} == 0)) || printf '%s\n' "${lines[@]}"
