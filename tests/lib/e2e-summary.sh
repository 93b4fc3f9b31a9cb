#!/bin/bash
# Prints how often the emulated L1 failed runs in this suite, from the
# state directory of every .bats file (tests/lib/e2e.bash writes
# STATE/wedges, a line per event, and STATE/retried when it booted a
# fresh L1 for a rerun), counting only those newer than STAMP:
#
#   e2e-summary.sh STAMP STATE_DIR...
#
# Output, always the first line, then one line per event:
#   e2e: L1 retries: K
#   e2e: L1 wedge: boot: try 1: L1 wedged: watchdog: BUG: soft lockup - ...
#   e2e: L2 crash in L1: vsock: try 1: L2 triple fault in L1: run ...
#   e2e: L2 crash in L1: boot: try 1: L2 hung in L1 with a CR3 outside ...
# K counts the fresh L1s that reran runs without a result: one per plan
# at most, however many of its runs it reran. A plan whose L1 wedged
# twice shows two wedges and one retry; its runs failed. A wedge after
# every run had finished needs no retry.
set -euo pipefail

stamp=$1
shift
retries=0
lines=()
for state in "$@"; do
	[[ ! ($state/retried -nt $stamp) ]] || retries=$((retries + 1))
	f=$state/wedges
	[[ -f $f && $f -nt $stamp ]] || continue
	while IFS= read -r line; do
		case $line in
		"try "[0-9]": L2 triple fault in L1: "* | \
			"try "[0-9]": L2 hung in L1 with a CR3 outside its RAM: "*)
			kind="L2 crash in L1" ;;
		*) kind="L1 wedge" ;;
		esac
		lines+=("e2e: $kind: $(basename "$state"): $line")
	done <"$f"
done
echo "e2e: L1 retries: $retries"
((${#lines[@]} == 0)) || printf '%s\n' "${lines[@]}"
