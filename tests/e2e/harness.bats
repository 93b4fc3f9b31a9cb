#!/usr/bin/env bats
# The e2e harness itself (tests/lib/e2e.bash, plan-exec.sh), with a fake
# lkvm on the host: results of several runs come back apart, arguments
# survive quoting, pre and post steps run in the run's directory, and a
# run that hangs or whose pre step fails is reported, never passed.
# Then the emulated-L1 path with a fake QEMU (tests/lib/fake-l1.sh) that
# runs the real plan-exec.sh and wedges when a run tells it to: a wedge is
# recognised and said, the finished runs keep their results, the others
# run once more in a fresh L1, a second wedge fails them naming L1, and a
# run that ended (however badly) is never run again, unless its L2 died
# of L1 (L1's KVM saw it triple-fault unplanned, or it hung with its CR3
# outside guest RAM): then it runs once more too.

load ../lib/e2e

setup_file() {
	e2e_ship_ext4 fs.img 8
	e2e_run zero --append fake.exit=0
	e2e_run three --append fake.exit=3
	e2e_run quoting --append "it's \"quoted\" \$HOME *" \
		--pre 'disk_pattern data.img 2' \
		--post 'md5sum data.img; ls ship kit'
	e2e_run hangs --limit 2 --append fake.hang
	e2e_run prefails --pre 'false; echo not reached'
	e2e_run raw --raw -- --version fake.exit=7
	E2E_PATH=direct E2E_LKVM=$E2E_LIB/fake-lkvm.sh e2e_execute
}

@test "harness: each run's exit status and console come back apart" {
	e2e_result zero
	e2e_assert_status 0
	e2e_assert_console "lkvm.scenario=zero fake.exit=0"
	e2e_refute_console "fake diagnostic"
	e2e_assert_stderr "lkvm: fake diagnostic"
	e2e_result three
	e2e_assert_status 3
	e2e_assert_console "lkvm.scenario=three fake.exit=3"
}

@test "harness: arguments reach lkvm unchanged" {
	e2e_result quoting
	e2e_assert_console "it's \"quoted\" \$HOME *"
	e2e_result raw
	e2e_assert_status 7
	[ "$output" = "fake-console: --version fake.exit=7" ]
}

@test "harness: pre and post steps run beside the kit and shipped files" {
	e2e_result quoting
	[ "$e2e_post_status" -eq 0 ]
	[[ $e2e_post == *"$(yes lkvm-disk-pattern | head -c 2097152 | md5sum | cut -d ' ' -f 1)"* ]]
	[[ $e2e_post == *fs.img* ]]
	[[ $e2e_post == *vmlinuz* ]]
}

@test "harness: a run stopped by its outer timeout is a failure, which says where the vCPUs were" {
	run e2e_result hangs
	[ "$status" -eq 1 ]
	[[ $output == *"outer timeout stopped it"* ]]
	# Where it hung, asked of lkvm before it was stopped.
	[[ $output == *"where its vCPUs were then"*"fake registers of fake-hang-"*"RIP 0xfeedface"* ]]
}

@test "harness: a failed pre step is a failure" {
	run e2e_result prefails
	[ "$status" -eq 1 ]
	[[ $output == *"pre step of run 'prefails' failed"* ]]
	[[ $output != *"not reached"* ]]
}

@test "harness: an unplanned run is a failure" {
	run e2e_result nosuchrun
	[ "$status" -eq 1 ]
}

# The fake L1's setting for one test: its own kit, state and plan, short
# watchdog times, and the real plan-exec.sh inside.
fake_l1() {
	export FAKE_L1_STATE=$BATS_TEST_TMPDIR/fake-l1
	mkdir -p "$FAKE_L1_STATE" "$BATS_TEST_TMPDIR/kit"
	touch "$BATS_TEST_TMPDIR/started"
	: >"$BATS_TEST_TMPDIR/kit/l1-base.cpio"
	: >"$BATS_TEST_TMPDIR/kit/vmlinuz"
	KIT_OUT=$BATS_TEST_TMPDIR/kit
	E2E_STATE=$BATS_TEST_TMPDIR/state
	E2E_NRUNS=
	QEMU=$E2E_LIB/fake-l1.sh
	E2E_LKVM_STATIC=$E2E_LIB/fake-lkvm.sh
	E2E_L1_QUIET=2
	E2E_L1_WEDGE_GRACE=2
}

# Executes the plan in the fake L1; its notes stay out of the TAP stream.
fake_l1_execute() {
	E2E_PATH=l1 e2e_execute 3>>"$BATS_TEST_TMPDIR/fd3"
	echo "--- notes ---"
	cat "$E2E_STATE/notes"
}

boots() { cat "$FAKE_L1_STATE/boots"; }

# run NAME ended with STATUS in fake L1 boot BOOT.
ran_in() {
	e2e_result "$1"
	e2e_assert_status "$2"
	e2e_assert_stderr "(L1 boot $3)"
}

@test "harness: L1's soft lockup is a wedge; finished runs stay, the rest rerun once and merge" {
	local t0=$SECONDS
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.wedge.1=softlockup fake.exit=0"
	e2e_run third --append fake.exit=3
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	[ "$(cat "$E2E_STATE/wedges")" = "try 1: L1 wedged: watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [lkvm:97]" ]
	grep -qF "running the 2 runs without a result (second third) once more, in a fresh L1" "$E2E_STATE/notes"
	ran_in first 0 1
	ran_in second 0 2
	ran_in third 3 2
	[ -f "$E2E_STATE/l1-console.try-1.log" ]
	((SECONDS - t0 < 15))
	# The suite's summary counts it, with the evidence.
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "${lines[0]}" = "e2e: L1 retries: 1" ]
	[ "${lines[1]}" = "e2e: L1 wedge: state: try 1: L1 wedged: watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [lkvm:97]" ]
}

@test "harness: a silent L1 console ends L1 after E2E_L1_QUIET s; the retry passes" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.wedge.1=silent fake.exit=0"
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	grep -E "^try 1: L1 wedged: no console output for 2 s after: .* \(run second: started\); L1's CPUs: CPU#0 RIP=ffffffff8c2a1b3e CPL=0 HLT=0, CPU#1 RIP=ffffffff8c0f3d21 CPL=0 HLT=1$" "$E2E_STATE/wedges"
	ran_in first 0 1
	ran_in second 0 2
}

@test "harness: an L1 that wedges while booting, before any run, boots again and keeps its one retry" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.wedge.3=softlockup fake.exit=0"
	FAKE_L1_BOOT_WEDGE="1 2" fake_l1_execute
	# Boots 1 and 2 wedged before any run; boot 3 ran the plan until
	# second wedged it; boot 4 was the retry.
	[ "$(boots)" -eq 4 ]
	[ "$(grep -c "before any run started: L1 booted again" "$E2E_STATE/wedges")" -eq 2 ]
	[ -f "$E2E_STATE/l1-console.try-1.boot-2.log" ]
	ran_in first 0 3
	ran_in second 0 4
	# A third wedge before any run is a try's wedge as before.
	rm -rf "$E2E_STATE" "$FAKE_L1_STATE"
	fake_l1
	e2e_run first --append fake.exit=0
	FAKE_L1_BOOT_WEDGE="1 2 3 4 5 6" fake_l1_execute
	[ "$(boots)" -eq 6 ]
	run e2e_result first
	[ "$status" -eq 1 ]
	[[ $output == *"wedged twice"* ]]
}

@test "harness: an L1 that resets without a word (its CPU triple-faulted) is a wedge; the retry passes" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.wedge.1=reset fake.exit=0"
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	grep -E '^try 1: L1 wedged: it reset without a panic or a power-off \(QEMU exit 0 under -no-reboot\) after: .* \(run second: started\)$' "$E2E_STATE/wedges"
	ran_in first 0 1
	ran_in second 0 2
}

@test "harness: L1's kernel dying in svm_vcpu_enter_exit is a wedge; the retry passes" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.wedge.1=vmexit-oops fake.exit=0"
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	grep -E '^try 1: L1 wedged: its kernel died running an L2 \(svm_vcpu_enter_exit in the trace: BUG: TASK stack guard page was hit at .*\) \(run second: started\)$' "$E2E_STATE/wedges"
	ran_in first 0 1
	ran_in second 0 2
}

@test "harness: L1's kernel dying in lkvm's vCPU thread, with no trace on the console, is a wedge; the retry passes" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.wedge.1=vmm-oops fake.exit=0"
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	grep -E "^try 1: L1 wedged: its kernel died running an L2 \(in lkvm-vcpu0's task: BUG: TASK stack guard page was hit at .*\) \(run second: started\)$" "$E2E_STATE/wedges"
	ran_in first 0 1
	ran_in second 0 2
}

@test "harness: a run that outlives SIGKILL is L1 wedged, not an lkvm failure" {
	fake_l1
	# SIGHUP stands for SIGKILL, which nothing survives in userspace.
	export E2E_KILL=HUP E2E_KILL_AFTER=1 E2E_KILL_GRACE=1
	e2e_run first --append fake.exit=0
	e2e_run second --limit 1 --append "fake.wedge.1=unkillable fake.exit=0"
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	grep -E '^try 1: L1 wedged: run second: lkvm \(pid [0-9]+\) still there 1 s after SIGHUP: [0-9]+ [A-Z] ' "$E2E_STATE/wedges"
	ran_in first 0 1
	ran_in second 0 2
}

@test "harness: a second wedge fails the unfinished runs, saying it was L1 and not lkvm" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.wedge.1=softlockup fake.wedge.2=softlockup"
	e2e_run third --append fake.exit=0
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	[ "$(wc -l <"$E2E_STATE/wedges")" -eq 2 ]
	ran_in first 0 1
	for r in second third; do
		run e2e_result "$r"
		[ "$status" -eq 1 ]
		[[ $output == *"run '$r' did not finish: the emulated L1 wedged twice, so this run has no result."* ]]
		[[ $output == *"That is the L1 (nested SVM in QEMU's TCG), not lkvm"* ]]
		[[ $output == *"First: L1 wedged: watchdog: BUG: soft lockup"* ]]
	done
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "${lines[0]}" = "e2e: L1 retries: 1" ]
	[ "${#lines[@]}" -eq 3 ]
}

# What fake-lkvm.sh's fake.l2triple puts in L1's KVM trace.
fake_shutdown="vcpu 1 reason shutdown rip 0xffffffff8e4c1d2f info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000"

@test "harness: an L2 that triple-faults in L1 unplanned runs once more in a fresh L1, and is counted" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.l2triple.1=6 fake.exit=0"
	e2e_run third --append fake.exit=3
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	[ "$(cat "$E2E_STATE/wedges")" = "try 1: L2 triple fault in L1: run second (run status 6): L1's KVM: $fake_shutdown" ]
	grep -qF "an L2 died in L1 in second; running the 1 runs without a result (second) once more, in a fresh L1" "$E2E_STATE/notes"
	ran_in first 0 1
	ran_in second 0 2
	ran_in third 3 1
	# The crashed result is kept for a look, not counted.
	[ "$(cat "$E2E_STATE/crashed.try-1/second/status")" = 6 ]
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "${lines[0]}" = "e2e: L1 retries: 1" ]
	[ "${lines[1]}" = "e2e: L2 crash in L1: state: try 1: L2 triple fault in L1: run second (run status 6): L1's KVM: $fake_shutdown" ]
	# The first run's trace was not filed under the runs after it.
	[ ! -f "$E2E_STATE/results/third/l1-trace" ]
}

@test "harness: an L2 that triple-faults in L1 twice keeps its second result, which fails" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.l2triple.1=6 fake.l2triple.2=6"
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	[ "$(wc -l <"$E2E_STATE/wedges")" -eq 2 ]
	grep -qF "run second: its L2 died in L1 again; that result stands" "$E2E_STATE/notes"
	ran_in first 0 1
	ran_in second 6 2
	[ "$(cat "$E2E_STATE/crashed.try-1/second/status")" = 6 ]
	run e2e_result second
	[[ $output == *"--- L1's KVM trace ---"*"kvm_exit: $fake_shutdown"* ]]
	[[ $output == *"e2e: this is the rerun: in the first L1 this run's L2 died: try 1: L2 triple fault in L1: run second"* ]]
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "${lines[0]}" = "e2e: L1 retries: 1" ]
	[ "${lines[1]}" = "e2e: L2 crash in L1: state: try 1: L2 triple fault in L1: run second (run status 6): L1's KVM: $fake_shutdown" ]
	[ "${lines[2]}" = "e2e: L2 crash in L1: state: try 2: L2 triple fault in L1: run second (run status 6): L1's KVM: $fake_shutdown" ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "harness: an L2 crash, then a wedge on the rerun: the run fails, naming the L1" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.l2triple.1=6 fake.wedge.2=softlockup"
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	ran_in first 0 1
	run e2e_result second
	[ "$status" -eq 1 ]
	[[ $output == *"run 'second' did not finish: the emulated L1 wedged on the rerun, so this run has no result. That is the L1"* ]]
	[[ $output == *"First: an L2 died in L1 in second; then: L1 wedged: watchdog: BUG: soft lockup"* ]]
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "${lines[0]}" = "e2e: L1 retries: 1" ]
	[[ ${lines[1]} == "e2e: L2 crash in L1: state: try 1: "* ]]
	[[ ${lines[2]} == "e2e: L1 wedge: state: try 2: L1 wedged: "* ]]
}

@test "harness: with --no-rerun, an L2 triple fault in L1 is the run's result, and is said" {
	fake_l1
	e2e_run mig --no-rerun --append "fake.l2triple.1=0"
	fake_l1_execute
	[ "$(boots)" -eq 1 ]
	ran_in mig 0 1
	[ "$(cat "$E2E_STATE/wedges")" = "try 1: L2 triple fault in L1: run mig (run status 0): L1's KVM: $fake_shutdown; not rerun (--no-rerun): the result stands" ]
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "${lines[0]}" = "e2e: L1 retries: 0" ]
	[[ ${lines[1]} == "e2e: L2 crash in L1: state: try 1: "*"not rerun (--no-rerun)"* ]]
}

@test "harness: with --no-rerun, an L2 that died of a page fault only the emulated CPU makes runs once more" {
	fake_l1
	# RSVD without P: QEMU's walk (a fetch; a user write); with P, or
	# without RSVD, or not a page fault (vector 13): what a CPU says.
	e2e_run fetch --no-rerun --append "fake.l2pf.1=18 fake.exit=0"
	e2e_run write --no-rerun --append "fake.l2pf.1=e fake.exit=0"
	e2e_run twice --no-rerun --append "fake.l2pf.1=1c fake.l2pf.2=18"
	e2e_run real --no-rerun --append "fake.l2pf.1=19"
	e2e_run absent --no-rerun --append "fake.l2pf.1=10"
	e2e_run gp --no-rerun --append "fake.l2pf.1=18:80000b0d"
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	ran_in fetch 0 2
	ran_in write 0 2
	ran_in twice 6 2
	ran_in real 6 1
	ran_in absent 6 1
	ran_in gp 6 1
	local qemu="a page fault with RSVD set and P clear (error code"
	grep -qx "try 1: .* run fetch .*; rerun though planned --no-rerun: $qemu 0x18): .*" "$E2E_STATE/wedges"
	grep -qx "try 1: .* run write .*; rerun though planned --no-rerun: $qemu 0xe): .*" "$E2E_STATE/wedges"
	grep -qx "try 1: .* run twice .*; rerun though planned --no-rerun: $qemu 0x1c): .*" "$E2E_STATE/wedges"
	grep -qx "try 2: .* run twice .*error_code 0x00000018; $qemu 0x18): .*" "$E2E_STATE/wedges"
	grep -qF "run twice: its L2 died in L1 again; that result stands" "$E2E_STATE/notes"
	for run in real absent gp; do
		grep -qx "try 1: .* run $run .*; not rerun (--no-rerun): the result stands" "$E2E_STATE/wedges"
	done
	[ "$(wc -l <"$E2E_STATE/wedges")" -eq 7 ]
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "${lines[0]}" = "e2e: L1 retries: 1" ]
}

@test "harness: a planned triple fault (--triple) is the run's result, never rerun" {
	fake_l1
	e2e_run planned --triple --append "fake.l2triple.1=6"
	e2e_run last --append fake.exit=0
	fake_l1_execute
	[ "$(boots)" -eq 1 ]
	[ ! -f "$E2E_STATE/wedges" ]
	ran_in planned 6 1
	e2e_result planned
	# The tracefs header is not a trace line.
	[ "$(cat "$E2E_STATE/results/planned/l1-trace")" = " lkvm-97 [001] d.... 41.5: kvm_exit: $fake_shutdown" ]
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "$output" = "e2e: L1 retries: 0" ]
}

# What fake-lkvm.sh's fake.lostcr3 makes of the run, in the wedges file.
lost_cr3="L2 hung in L1 with a CR3 outside its RAM: run lost (run status 143): vCPU 1: RIP ffffffffc03e1dcc CR3 000000003051e000: -> PML4E at 0x000000003051eff8 is outside guest RAM"

@test "harness: an L2 hung in L1 with its CR3 outside RAM runs once more in a fresh L1, and is counted" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run lost --limit 2 --append "fake.lostcr3.1 fake.exit=0"
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	[ "$(cat "$E2E_STATE/wedges")" = "try 1: $lost_cr3" ]
	grep -qF "an L2 died in L1 in lost; running the 1 runs without a result (lost) once more, in a fresh L1" "$E2E_STATE/notes"
	ran_in first 0 1
	ran_in lost 0 2
	[ -f "$E2E_STATE/crashed.try-1/lost/timed_out" ]
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "${lines[0]}" = "e2e: L1 retries: 1" ]
	[ "${lines[1]}" = "e2e: L2 crash in L1: state: try 1: $lost_cr3" ]
	[ "${#lines[@]}" -eq 2 ]
}

@test "harness: an L2 hung with its CR3 outside RAM twice fails, showing both" {
	fake_l1
	e2e_run lost --limit 2 --append "fake.lostcr3.1 fake.lostcr3.2"
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	grep -qF "run lost: its L2 died in L1 again; that result stands" "$E2E_STATE/notes"
	run e2e_result lost
	[ "$status" -eq 1 ]
	[[ $output == *"outer timeout stopped it"*"-> PML4E at 0x000000003051eff8 is outside guest RAM"* ]]
	[[ $output == *"e2e: this is the rerun: in the first L1 this run's L2 died: try 1: $lost_cr3"* ]]
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "${lines[2]}" = "e2e: L2 crash in L1: state: try 2: $lost_cr3" ]
}

@test "harness: a hang with only a deeper table outside RAM is the run's result, not rerun" {
	fake_l1
	e2e_run lost --limit 2 --append "fake.lostpde.1"
	fake_l1_execute
	[ "$(boots)" -eq 1 ]
	[ ! -f "$E2E_STATE/wedges" ]
	run e2e_result lost
	[ "$status" -eq 1 ]
	[[ $output == *"outer timeout stopped it"*"-> PDE at 0x0000000030000008 is outside guest RAM"* ]]
}

@test "harness: a wedge and an L2 crash in one plan share one fresh L1" {
	fake_l1
	e2e_run crashes --append "fake.l2triple.1=6 fake.exit=0"
	e2e_run wedges --append "fake.wedge.1=softlockup fake.exit=0"
	e2e_run never --append fake.exit=0
	fake_l1_execute
	[ "$(boots)" -eq 2 ]
	grep -qF "L1 wedged: watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [lkvm:97]; an L2 died in L1 in crashes; running the 3 runs without a result (crashes wedges never)" "$E2E_STATE/notes"
	ran_in crashes 0 2
	ran_in wedges 0 2
	ran_in never 0 2
	run bash "$E2E_LIB/e2e-summary.sh" "$BATS_TEST_TMPDIR/started" "$E2E_STATE"
	[ "${lines[0]}" = "e2e: L1 retries: 1" ]
	[[ ${lines[1]} == "e2e: L1 wedge: state: try 1: L1 wedged: watchdog: "* ]]
	[[ ${lines[2]} == "e2e: L2 crash in L1: state: try 1: L2 triple fault in L1: run crashes "* ]]
	[ "${#lines[@]}" -eq 3 ]
}

@test "harness: a run that ended, however badly, is a result and never rerun" {
	fake_l1
	e2e_run crashed --append fake.exit=139
	e2e_run hangs --limit 1 --append fake.hang
	e2e_run prefails --pre false
	e2e_run last --append fake.exit=0
	fake_l1_execute
	[ "$(boots)" -eq 1 ]
	[ ! -f "$E2E_STATE/wedges" ]
	ran_in crashed 139 1
	run e2e_result hangs
	[ "$status" -eq 1 ]
	[[ $output == *"outer timeout stopped it"* ]]
	run e2e_result prefails
	[ "$status" -eq 1 ]
	ran_in last 0 1
}

@test "harness: an L1 that dies without a wedge's evidence fails its plan, not rerun" {
	fake_l1
	e2e_run first --append fake.exit=0
	e2e_run second --append "fake.wedge.1=crash"
	fake_l1_execute
	[ "$(boots)" -eq 1 ]
	[ ! -f "$E2E_STATE/wedges" ]
	run e2e_result first
	[ "$status" -eq 1 ]
	[[ $output == *"the emulated L1 did not finish the plan (QEMU exit 0)"* ]]
	[[ $output == *"Kernel panic - not syncing: Fatal exception"* ]]
}

@test "harness: an L1 that cannot start fails its plan with QEMU's words" {
	fake_l1
	unset FAKE_L1_STATE
	e2e_run first --append fake.exit=0
	fake_l1_execute
	[ ! -f "$E2E_STATE/wedges" ]
	run e2e_result first
	[ "$status" -eq 1 ]
	[[ $output == *"did not finish the plan (QEMU exit 1; QEMU said: "*"FAKE_L1_STATE"* ]]
}
