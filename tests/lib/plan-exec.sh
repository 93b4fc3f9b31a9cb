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
#   RESULTS_DEV  (L1 only) a disk that each finished run's results are
#         appended to, as a tar archive, so they outlive a wedged L1
#   E2E_L1_TRACE  (L1 only) L1's tracefs, where its KVM traces each L2
#         vCPU's triple fault (tests/lib/l1-init.sh)
#
# PLAN_DIR/runs/NNN-NAME.sh, written by tests/lib/e2e.bash, sets e2e_name
# (NAME) and e2e_limit (and e2e_exec, a program run instead of $LKVM) and
# ends with `set --` and that program's arguments. NNN-NAME.pre
# and NNN-NAME.post, if present, are sh scripts run before and after lkvm
# in the run's directory, with `set -eu` and disk.sh's helpers. Each run
# gets RESULTS_DIR/NAME/ with:
#   console  lkvm's stdout: the guest's serial console, nothing else
#   stderr   lkvm's own diagnostics
#   status   lkvm's exit status, or "pre-failed"
#   time     wall seconds of the lkvm run
#   timed_out  present if the outer timeout (e2e_limit) had to stop lkvm
#   at-timeout then, lkvm debug --regs of its vCPUs just before
#   at-timeout-l1  (L1 only) and what L1's KVM did for them (l1_exits)
#   pre.out, post.out, post.status  the run's host-side steps
#   l1-trace   (L1 only) L1's KVM trace lines of the run: an L2 vCPU's
#              triple fault, with its RIP; absent when there were none
#   planned-triple, no-rerun  copies of the run's e2e_triple and
#              e2e_no_rerun (tests/lib/e2e.bash), for the host
#   done     written (and saved) last: the run finished, all is there
# Steps see LKVM, KIT, SHIP, E2E_OUT (this run's results directory) and
# E2E_LIB.
# RESULTS_DIR/plan.done is written last, so a missing file means the plan
# itself did not finish.
#
# A run's outer timeout asks L1's KVM and lkvm where its vCPUs are
# (where_stuck, up to 17 s), then sends SIGTERM, and SIGKILL 5 s later.
# A process still there E2E_KILL_GRACE (20) s after SIGKILL is stuck in
# the kernel, which no userspace program can do by itself: in the emulated
# L1 it is L1 wedging (a vCPU thread that never leaves KVM_RUN). That is
# printed as "e2e: wedged: ..." and ends the plan, for the host's harness
# to rerun what had not finished (tests/e2e/README.md).
set -eu

E2E_LIB=$(cd "$(dirname "$0")" && pwd)
RESULTS_DEV=${RESULTS_DEV:-}
# Seconds from SIGTERM to SIGKILL, and from SIGKILL to calling it a wedge.
E2E_KILL_AFTER=${E2E_KILL_AFTER:-5}
E2E_KILL_GRACE=${E2E_KILL_GRACE:-20}
# The signal that ends any userspace process; tests/e2e/harness.bats puts
# one its fake lkvm ignores in its place, to stand for a stuck process.
E2E_KILL=${E2E_KILL:-KILL}

uptime_s() { cut -d ' ' -f 1 /proc/uptime; }

# Seconds between two uptime readings, with two decimals.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", b - a }'; }

# A pre or post step in its own shell, so its `set -e` really holds (it
# would not in a function called under `if !` or `||`).  E2E_OUT is the
# run's results directory: a step that starts a background job beside
# lkvm (a control-channel driver, say) can watch $E2E_OUT/console.
# E2E_LIB is this directory, with the drivers' helpers (driver.sh).
step() {
	[ -f "$1" ] || return 0
	E2E_OUT=$out E2E_LIB=$E2E_LIB \
		sh -euc '. "$1/disk.sh"; . "$2"' step "$E2E_LIB" "$1"
}

# save PATH: appends a tar archive of RESULTS/PATH to RESULTS_DEV, after
# the ones before it, and syncs it. The host reads the disk with tar
# --ignore-zeros, so it gets every archive that was written whole.
save_pos=0
save() {
	[ -n "$RESULTS_DEV" ] || return 0
	tar cf "$WORK/save.tar" -C "$RESULTS" "$1"
	dd if="$WORK/save.tar" of="$RESULTS_DEV" bs=512 seek="$save_pos" \
		conv=notrunc,fsync 2>/dev/null
	save_pos=$((save_pos + ($(wc -c <"$WORK/save.tar") + 511) / 512))
}

# What each task of process $1 is doing: "TID STATE WCHAN (COMM)".
tasks() {
	for t in /proc/"$1"/task/*; do
		printf '%s %s %s (%s); ' "${t##*/}" \
			"$(sed 's/.*) //' "$t/stat" 2>/dev/null | cut -d ' ' -f 1)" \
			"$(cat "$t/wchan" 2>/dev/null)" "$(cat "$t/comm" 2>/dev/null)"
	done
}

# where_stuck PID: before the outer timeout stops a run's lkvm, ask it
# where its vCPUs are (lkvm debug --regs), so that a guest that hung in
# silence still says where: into the run's at-timeout file; and, first,
# in L1, what L1's KVM does for them (at-timeout-l1), before the pause
# that lkvm debug makes adds exits of its own.
where_stuck() {
	[ "$e2e_exec" = "$LKVM" ] || return 0
	list=$("$LKVM" list 2>&1) || true
	vm=$(printf '%s\n' "$list" | awk -v p="$1" '$2 == p { print $1 }')
	if [ -z "$vm" ]; then
		printf 'pid %s is not in lkvm list, which said:\n%s\n' "$1" "$list" >"$out/at-timeout"
		return 0
	fi
	l1_exits >"$out/at-timeout-l1" 2>&1 || true
	[ -s "$out/at-timeout-l1" ] || rm -f "$out/at-timeout-l1"
	timeout 10 "$LKVM" debug -n "$vm" --regs >"$out/at-timeout" 2>&1 || true
}

# l1_exits: (in L1) what L1's KVM does for the L2's vCPUs for a second:
# each (vCPU, exit reason) with its count, and the first lines. A vCPU
# that exits in a loop shows its reason and address (info2: the GPA of
# a nested page fault); none at all means L1's CPU never left the L2.
# A trace instance of its own, so the run's l1-trace (SHUTDOWN exits
# only) gets none of these lines. The count is the tracer's own (entries
# written); its ring buffer keeps the latest, so the counts per reason
# and the lines shown are of those. One left by a guard killed in its
# second is cleared first. (No local variables in sh: inst, not guard's
# t.)
l1_exits() {
	[ -n "${E2E_L1_TRACE:-}" ] || return 0
	inst=$E2E_L1_TRACE/instances/at-timeout
	en=$inst/events/kvm/kvm_exit/enable
	[ -d "${inst%/*}" ] || return 0
	[ ! -d "$inst" ] || { echo 0 >"$en"; rmdir "$inst"; } 2>/dev/null
	mkdir "$inst" 2>/dev/null || return 0
	if [ -f "$en" ] && echo 1 >"$en"; then
		sleep 1
		echo 0 >"$en"
		grep -v '^#' "$inst/trace" >"$WORK/exits" || true
		printf "L1's KVM in 1 s: %s exits (entries kept/written)\n" \
			"$(sed -n 's/^# entries-in-buffer\/entries-written: \([0-9]*\/[0-9]*\).*/\1/p' "$inst/trace")"
		sed -n 's/.*kvm_exit: \(vcpu [0-9]* reason [a-z_0-9]*\).*/\1/p' \
			"$WORK/exits" | sort | uniq -c
		sed -n 's/.*kvm_exit: //p' "$WORK/exits" | head -n 4
	fi
	rmdir "$inst"
}

# guard PID LIMIT: the outer timeout of one run, beside it. Ends the whole
# plan (the main shell, $$) when PID outlives the kill.
guard() {
	t=0
	while kill -0 "$1" 2>/dev/null; do
		if [ "$t" -eq "$2" ]; then
			where_stuck "$1"
			kill -TERM "$1" 2>/dev/null || true
		elif [ "$t" -eq $(($2 + E2E_KILL_AFTER)) ]; then
			kill -"$E2E_KILL" "$1" 2>/dev/null || true
		elif [ "$t" -ge $(($2 + E2E_KILL_AFTER + E2E_KILL_GRACE)) ]; then
			echo "e2e: wedged: run $e2e_name: $(basename "$e2e_exec") (pid $1) still there ${E2E_KILL_GRACE} s after SIG$E2E_KILL: $(tasks "$1")"
			kill -TERM $$
			return 0
		fi
		sleep 1
		t=$((t + 1))
	done
}

# L1's trace lines since the run began go to the run's l1-trace, and the
# trace starts over (opening it for writing with O_TRUNC clears it). Each
# run starts with a cleared trace, so lines from a VMM that the run before
# left behind are not filed under this one.
take_trace() {
	[ -n "${E2E_L1_TRACE:-}" ] || return 0
	grep -v '^#' "$E2E_L1_TRACE/trace" >"$out/l1-trace" 2>/dev/null || true
	: >"$E2E_L1_TRACE/trace"
	[ -s "$out/l1-trace" ] || rm -f "$out/l1-trace"
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
	[ -z "${e2e_triple:-}" ] || touch "$out/planned-triple"
	[ -z "${e2e_no_rerun:-}" ] || touch "$out/no-rerun"
	take_trace
	rm -f "$out/l1-trace"
	cd "$dir"
	# Runs name kit and shipped files by relative paths (kit/vmlinuz,
	# ship/disk.img), so a plan is the same text on the host and in L1.
	ln -s "$KIT" kit
	ln -s "$SHIP" ship

	if ! step "${file%.sh}.pre" >"$out/pre.out" 2>&1; then
		echo pre-failed >"$out/status"
		echo "e2e: run $e2e_name: its pre step failed:"
		cat "$out/pre.out"
		take_trace
		return 0
	fi

	echo "e2e: run $e2e_name: started"
	t0=$(uptime_s)
	"$e2e_exec" "$@" </dev/null >"$out/console" 2>"$out/stderr" &
	pid=$!
	guard "$pid" "$e2e_limit" &
	gpid=$!
	rc=0
	wait "$pid" || rc=$?
	t1=$(uptime_s)
	kill "$gpid" 2>/dev/null || true
	wait "$gpid" 2>/dev/null || true
	echo "$rc" >"$out/status"
	secs=$(elapsed "$t0" "$t1")
	echo "$secs" >"$out/time"
	# lkvm may catch SIGTERM and exit with a status of its own: the
	# clock says whether the outer timeout stopped it.
	if awk -v s="$secs" -v l="$e2e_limit" 'BEGIN { exit !(s >= l) }'; then
		touch "$out/timed_out"
	fi

	prc=0
	step "${file%.sh}.post" >"$out/post.out" 2>&1 || prc=$?
	echo "$prc" >"$out/post.status"
	take_trace
	echo "e2e: run $e2e_name: lkvm exit $rc in ${secs}s"
}

[ $# -eq 2 ] || { echo "usage: $0 PLAN_DIR RESULTS_DIR" >&2; exit 2; }
PLAN=$1
RESULTS=$2
: "${LKVM:?}" "${KIT:?}" "${SHIP:?}" "${WORK:?}"
mkdir -p "$RESULTS" "$WORK" "$SHIP"
rm -f "$RESULTS/plan.done"
# What is already there (L1's l1-info) goes first.
for f in "$RESULTS"/*; do
	[ ! -f "$f" ] || save "${f##*/}"
done

for f in "$PLAN"/runs/*.sh; do
	[ -f "$f" ] || continue
	name=${f##*/}
	name=${name#*-}
	name=${name%.sh}
	# A subshell per run: one run's definitions and cwd cannot leak.
	(run_one "$f")
	# The marker only after the results are on the disk: a wedge while
	# saving leaves a run without it, which the host then runs again.
	save "$name"
	echo done >"$RESULTS/$name/done"
	save "$name/done"
done
echo done >"$RESULTS/plan.done"
save plan.done
