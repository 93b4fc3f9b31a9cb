#!/bin/sh
# Executes a plan of lkvm runs and stores each run's results apart:
#
#   plan-exec.sh PLAN_DIR RESULTS_DIR
#
# The same script runs on the host (direct path, GNU coreutils) and inside
# the emulated L1 (busybox), so it is POSIX sh and uses only tools that
# busybox has. Environment:
#   LKVM  the lkvm binary          KIT   dir with vmlinuz, l2-initrd.cpio
#   SHIP  files the test shipped   WORK  scratch space for the runs
#
# PLAN_DIR/runs/NNN-NAME.sh, written by tests/lib/e2e.bash, sets e2e_name
# and e2e_limit (and e2e_exec, a program run instead of $LKVM) and ends
# with `set --` and that program's arguments. NNN-NAME.pre
# and NNN-NAME.post, if present, are sh scripts run before and after lkvm
# in the run's directory, with `set -eu` and disk.sh's helpers. Each run
# gets RESULTS_DIR/NAME/ with:
#   console  lkvm's stdout: the guest's serial console, nothing else
#   stderr   lkvm's own diagnostics
#   status   lkvm's exit status, or "pre-failed"
#   time     wall seconds of the lkvm run
#   timed_out  present if the outer timeout (e2e_limit) had to stop lkvm
#   pre.out, post.out, post.status  the run's host-side steps
# Steps see LKVM, KIT, SHIP and E2E_OUT (this run's results directory).
# RESULTS_DIR/plan.done is written last, so a missing file means the plan
# itself did not finish.
set -eu

E2E_LIB=$(cd "$(dirname "$0")" && pwd)

uptime_s() { cut -d ' ' -f 1 /proc/uptime; }

# Seconds between two uptime readings, with two decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", b - a }'; }

# A pre or post step in its own shell, so its `set -e` really holds (it
# would not in a function called under `if !` or `||`).  E2E_OUT is the
# run's results directory: a step that starts a background job beside
# lkvm (a control-channel driver, say) can watch $E2E_OUT/console.
step() {
	[ -f "$1" ] || return 0
	E2E_OUT=$out sh -euc '. "$1/disk.sh"; . "$2"' step "$E2E_LIB" "$1"
}

run_one() {
	file=$1
	e2e_limit=120
	e2e_exec=$LKVM
	. "$file"
	out=$RESULTS/$e2e_name
	dir=$WORK/$e2e_name
	rm -rf "$out" "$dir"
	mkdir -p "$out" "$dir"
	cd "$dir"
	# Runs name kit and shipped files by relative paths (kit/vmlinuz,
	# ship/disk.img), so a plan is the same text on the host and in L1.
	ln -s "$KIT" kit
	ln -s "$SHIP" ship

	if ! step "${file%.sh}.pre" >"$out/pre.out" 2>&1; then
		echo pre-failed >"$out/status"
		echo "e2e: run $e2e_name: its pre step failed:"
		cat "$out/pre.out"
		return 0
	fi

	t0=$(uptime_s)
	rc=0
	timeout -k 5 "$e2e_limit" "$e2e_exec" "$@" \
		</dev/null >"$out/console" 2>"$out/stderr" || rc=$?
	t1=$(uptime_s)
	echo "$rc" >"$out/status"
	secs=$(elapsed "$t0" "$t1")
	echo "$secs" >"$out/time"
	# GNU timeout says 124, busybox's lets the signal show (143, 137),
	# and lkvm may catch SIGTERM: the clock is what all agree on.
	if awk -v s="$secs" -v l="$e2e_limit" 'BEGIN { exit !(s >= l) }'; then
		touch "$out/timed_out"
	fi

	prc=0
	step "${file%.sh}.post" >"$out/post.out" 2>&1 || prc=$?
	echo "$prc" >"$out/post.status"
	echo "e2e: run $e2e_name: lkvm exit $rc in ${secs}s"
}

[ $# -eq 2 ] || { echo "usage: $0 PLAN_DIR RESULTS_DIR" >&2; exit 2; }
PLAN=$1
RESULTS=$2
: "${LKVM:?}" "${KIT:?}" "${SHIP:?}" "${WORK:?}"
mkdir -p "$RESULTS" "$WORK" "$SHIP"
rm -f "$RESULTS/plan.done"

for f in "$PLAN"/runs/*.sh; do
	[ -f "$f" ] || continue
	# A subshell per run: one run's definitions and cwd cannot leak.
	(run_one "$f")
done
echo done >"$RESULTS/plan.done"
