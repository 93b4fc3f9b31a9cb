# Bats helpers for end-to-end runs of lkvm with real Linux guests.
#
# A .bats file plans its guest runs in setup_file and executes them all at
# once, on the host when its KVM is fast, else inside one boot of an
# emulated L1 (QEMU TCG). Each test then reads one run's results:
#
#   load ../lib/e2e
#
#   setup_file() {
#       e2e_run hello -- -c 2          # scenario tests/e2e/guest/hello.sh
#       e2e_run hang --scenario hang -- --timeout 5
#       e2e_execute
#   }
#
#   @test "hello reaches userspace" {
#       e2e_result hello               # sets status, output, lines
#       e2e_assert_status 0
#       e2e_assert_console "lkvm-guest: hello from userspace"
#   }
#
# e2e_run NAME [options] [-- LKVM RUN ARGS...] adds a run:
#   --scenario S   guest scenario (default NAME): lkvm.scenario=S
#   --append ARGS  more kernel command line
#   --limit SECS   outer timeout of this lkvm run (default 60; an L2
#                  boot in the emulated L1 takes about 5 s)
#   --pre SH       POSIX sh run before lkvm in the run's directory
#   --post SH      POSIX sh run after it; its output is $e2e_post
#   --raw          the arguments after -- are lkvm's whole argv: no run,
#                  kernel, initrd or command line are added
#   --exec PROG    run PROG instead of lkvm (a peer VMM, for make bench);
#                  relative to the run's directory, usually with --raw
#   --triple       the guest triple-faults on purpose: in the emulated L1
#                  that is this run's result, never L1's fault (below)
#   --no-rerun     in the emulated L1, an L2 that died of L1 (a triple
#                  fault, a CR3 outside RAM) is this run's result too,
#                  though it is said (migrate.bats's save and restore: a
#                  restored guest that dies may be lkvm's doing), unless
#                  it died of a fault only the emulated CPU makes
#                  (e2e_emulator_pf)
# Without --raw the run is `lkvm run -k kit/vmlinuz -i kit/l2-initrd.cpio
# -p "console=ttyS0 panic=-1 quiet lkvm.scenario=S ARGS" LKVM RUN ARGS`.
# Paths in the arguments and steps are relative to the run's directory,
# which holds kit/ (the kit) and ship/ (files given to e2e_ship). Pre and
# post steps run under busybox in L1, with the helpers of tests/lib/disk.sh.

bats_require_minimum_version 1.5.0

source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

E2E_LIB=$E2E_ROOT/tests/lib
# The binaries under test; overridable to test the harness itself.
E2E_LKVM=${E2E_LKVM:-$E2E_ROOT/lkvm}
E2E_LKVM_STATIC=${E2E_LKVM_STATIC:-$E2E_ROOT/lkvm-static}
# One state directory per .bats file, kept after the run for inspection.
E2E_STATE=$KIT_OUT/e2e/$(basename "${BATS_TEST_FILENAME:-adhoc}" .bats)
E2E_DEFAULT_LIMIT=${E2E_DEFAULT_LIMIT:-60}
# Time L1 may take beyond its runs: its own boot, module loads, power-off.
E2E_L1_SLACK=${E2E_L1_SLACK:-120}
# Seconds without output on L1's console after which L1 counts as wedged.
# L1 prints a heartbeat every 10 s (tests/lib/l1-init.sh); its kernel is
# silent for a few seconds at boot, more on a loaded host.
E2E_L1_QUIET=${E2E_L1_QUIET:-60}
# Seconds L1 has to power off by itself after it said a run wedged.
E2E_L1_WEDGE_GRACE=${E2E_L1_WEDGE_GRACE:-15}

# Single-quotes a word for sh.
e2e_sq() {
	local s=${1//\'/\'\\\'\'}
	printf "'%s'" "$s"
}

e2e_plan_reset() {
	rm -rf "$E2E_STATE"
	mkdir -p "$E2E_STATE/plan/runs" "$E2E_STATE/ship"
	E2E_NRUNS=0
}

e2e_run() {
	local name=$1 scenario=$1 append= limit=$E2E_DEFAULT_LIMIT
	local pre= post= raw=0 exec= triple=0 no_rerun=0 file a
	local -a args

	shift
	[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || {
		echo "e2e_run: bad run name '$name'" >&2
		return 1
	}
	while (($#)); do
		case $1 in
		--scenario) scenario=$2; shift 2 ;;
		--append) append=" $2"; shift 2 ;;
		--limit) limit=$2; shift 2 ;;
		--pre) pre=$2; shift 2 ;;
		--post) post=$2; shift 2 ;;
		--raw) raw=1; shift ;;
		--exec) exec=$2; shift 2 ;;
		--triple) triple=1; shift ;;
		--no-rerun) no_rerun=1; shift ;;
		--) shift; break ;;
		*)
			echo "e2e_run: unknown option '$1'" >&2
			return 1
			;;
		esac
	done
	[[ ${E2E_NRUNS:-} ]] || e2e_plan_reset
	if compgen -G "$E2E_STATE/plan/runs/*-$name.sh" >/dev/null; then
		echo "e2e_run: run '$name' planned twice" >&2
		return 1
	fi

	if ((raw)); then
		args=("$@")
	else
		args=(run -k kit/vmlinuz -i kit/l2-initrd.cpio
			-p "console=ttyS0 panic=-1 quiet lkvm.scenario=$scenario$append"
			"$@")
	fi
	E2E_NRUNS=$((E2E_NRUNS + 1))
	file=$E2E_STATE/plan/runs/$(printf %03d "$E2E_NRUNS")-$name
	{
		echo "e2e_name=$name"
		echo "e2e_limit=$((limit))"
		[[ -z $exec ]] || echo "e2e_exec=$(e2e_sq "$exec")"
		((!triple)) || echo "e2e_triple=1"
		((!no_rerun)) || echo "e2e_no_rerun=1"
		printf 'set --'
		for a in "${args[@]}"; do
			printf ' %s' "$(e2e_sq "$a")"
		done
		echo
	} >"$file.sh"
	[[ -z $pre ]] || printf '%s\n' "$pre" >"$file.pre"
	[[ -z $post ]] || printf '%s\n' "$post" >"$file.post"
}

# e2e_ship SRC [NAME]: a host file the runs see as ship/NAME.
e2e_ship() {
	[[ ${E2E_NRUNS:-} ]] || e2e_plan_reset
	cp "$1" "$E2E_STATE/ship/${2:-$(basename "$1")}"
}

# e2e_ship_ext4 NAME MIB [SRC_DIR]: an ext4 image made on the host
# (mkfs.ext4 -d), seen by the runs as ship/NAME. Runs that write to it
# should copy it first in a pre step, e.g. --pre 'cp ship/fs.img fs.img'.
e2e_ship_ext4() {
	[[ ${E2E_NRUNS:-} ]] || e2e_plan_reset
	(. "$E2E_LIB/disk.sh" && disk_ext4 "$E2E_STATE/ship/$1" "$2" "${3:-}")
}

# Tells the TAP stream (bats shows fd 3 as is) and keeps it for the tests.
e2e_note() {
	echo "# $(basename "$E2E_STATE"): $*" >&3
	echo "$*" >>"$E2E_STATE/notes"
}

# A plan-wide failure: every e2e_result of this file fails with it.
e2e_plan_error() {
	echo "$*" >"$E2E_STATE/error"
	e2e_note "ERROR: $*"
}

e2e_execute() {
	local t0=$SECONDS

	[[ ${E2E_NRUNS:-} ]] || e2e_plan_reset
	rm -rf "$E2E_STATE/results" "$E2E_STATE/error" "$E2E_STATE/skip" \
		"$E2E_STATE/wedges" "$E2E_STATE/wedged" "$E2E_STATE/retried"
	mkdir -p "$E2E_STATE/results"
	e2e_choose_path
	echo "$E2E_HOW" >"$E2E_STATE/path"
	e2e_note "$E2E_HOW: $E2E_WHY"
	case $E2E_HOW in
	none) echo "$E2E_WHY" >"$E2E_STATE/skip" ;;
	direct) e2e_execute_direct ;;
	l1) e2e_execute_l1 ;;
	esac
	[[ -f $E2E_STATE/skip || -f $E2E_STATE/error ]] ||
		e2e_note "$E2E_NRUNS runs in $((SECONDS - t0)) s$(
			[[ ! -f $E2E_STATE/wedges ]] ||
				echo ", $(wc -l <"$E2E_STATE/wedges") L1 wedges or L2 crashes")"
}

e2e_execute_direct() {
	if [[ ! -x $E2E_LKVM ]]; then
		e2e_plan_error "$E2E_LKVM is not built (make lkvm)"
		return
	fi
	LKVM=$E2E_LKVM KIT=$KIT_OUT SHIP=$E2E_STATE/ship \
		WORK=$E2E_STATE/work \
		sh "$E2E_LIB/plan-exec.sh" "$E2E_STATE/plan" \
		"$E2E_STATE/results" >"$E2E_STATE/plan.log" 2>&1 ||
		e2e_plan_error "plan-exec failed: $(tail -n 5 "$E2E_STATE/plan.log")"
}

# QEMU parses commas in option values as separators; ",," is a comma.
e2e_qemu_path() { printf '%s' "${1//,/,,}"; }

# One boot of L1 runs the whole plan. If L1 wedges (below), the runs
# that had finished keep their results, and the others run once more in
# a fresh L1; a second wedge leaves those runs failed, saying it was L1.
# A run whose L2 died of L1 (e2e_l1_crashes: an unplanned triple fault,
# a CR3 outside RAM) runs once more too; if it does again, that second
# result stands.
e2e_execute_l1() {
	local rc=0 first= why

	if ! command -v "$QEMU" >/dev/null; then
		echo "$QEMU is not installed, and $E2E_WHY" >"$E2E_STATE/skip"
		return
	fi
	if [[ ! -x $E2E_LKVM_STATIC ]]; then
		e2e_plan_error "$E2E_LKVM_STATIC is not built (make lkvm-static)"
		return
	fi
	rm -f "$E2E_STATE"/l1-console*
	rm -rf "$E2E_STATE"/crashed.try-*
	e2e_l1_boots "$E2E_STATE/plan" 1 || rc=$?
	# A plan error (rc 2) fails every run already.
	((rc != 2)) || return 0
	if ((rc == 1)); then
		first=$E2E_WEDGE
		mv "$E2E_STATE/l1-console.log" "$E2E_STATE/l1-console.try-1.log"
		[[ ! -f $E2E_STATE/l1-console.cpus ]] ||
			mv "$E2E_STATE/l1-console.cpus" "$E2E_STATE/l1-console.try-1.cpus"
	fi
	e2e_l1_crashes 1
	why=$first
	((!${#E2E_CRASHED[@]})) ||
		why+="${why:+; }an L2 died in L1 in ${E2E_CRASHED[*]}"
	if ! e2e_retry_plan; then
		[[ -z $first ]] ||
			e2e_note "$first (after every run had finished; nothing to run again)"
		e2e_l1_check_kvm
		return
	fi
	e2e_note "$why; running the ${#E2E_RETRY[@]} runs without a result (${E2E_RETRY[*]}) once more, in a fresh L1"
	# What the suite's summary counts as an L1 retry (e2e-summary.sh).
	touch "$E2E_STATE/retried"
	rc=0
	e2e_l1_boots "$E2E_STATE/plan-retry" 2 || rc=$?
	case $rc in
	0)
		e2e_l1_check_kvm
		e2e_l1_crashes 2
		;;
	1)
		echo "the emulated L1 $([[ $first ]] && echo "wedged twice" || echo "wedged on the rerun"), so this run has no result. That is the L1 (nested SVM in QEMU's TCG), not lkvm (tests/e2e/README.md). First: $why; then: $E2E_WEDGE" >"$E2E_STATE/wedged"
		e2e_note "$E2E_WEDGE on the rerun; the runs without a result fail: it is the L1, not lkvm"
		e2e_l1_crashes 2
		;;
	esac
}

# e2e_l1_crashes TRY: the runs of L1 boot TRY (E2E_CRASHED, their names)
# whose L2 died of L1 (e2e_l1_event). Such deaths, with nothing on the
# guest's console, come with QEMU as the L2's VMM too (tests/e2e/README.md).
# The event goes in the run's l1-event. After try 1 the run's results are
# set aside (crashed.try-1/NAME), so it runs again in the fresh L1; after
# try 2 they stand, and the test fails on them; so do they at once for a
# run planned with --no-rerun, but for a fault only the emulated CPU makes
# (e2e_emulator_pf). Each is a line in the wedges file, with the
# evidence.
e2e_l1_crashes() {
	local try=$1 d name line mark

	E2E_CRASHED=()
	for d in "$E2E_STATE"/results/*/; do
		d=${d%/}
		name=${d##*/}
		# A result that stood in try 1 was said then.
		[[ -f $d/done && ! -f $d/l1-event ]] || continue
		line=$(e2e_l1_event "$d") || continue
		line="try $try: $line"
		if [[ -f $d/no-rerun ]]; then
			if ! mark=$(e2e_emulator_pf "$d"); then
				line+="; not rerun (--no-rerun): the result stands"
				echo "$line" | tee "$d/l1-event" >>"$E2E_STATE/wedges"
				continue
			fi
			((try == 2)) || mark="rerun though planned --no-rerun: $mark"
			line+="; $mark"
		fi
		echo "$line" | tee "$d/l1-event" >>"$E2E_STATE/wedges"
		E2E_CRASHED+=("$name")
		if ((try == 1)); then
			mkdir -p "$E2E_STATE/crashed.try-1"
			mv "$d" "$E2E_STATE/crashed.try-1/"
		elif [[ -d $E2E_STATE/crashed.try-1/$name ]]; then
			e2e_note "run $name: its L2 died in L1 again; that result stands"
		else
			e2e_note "run $name: its L2 died in L1 on the rerun; that result stands"
		fi
	done
}

# e2e_l1_event RESULT_DIR: says how the run's L2 died of L1, if it did:
# - L1's KVM traced a SHUTDOWN exit (tests/lib/l1-init.sh), a triple
#   fault the run did not plan (e2e_run --triple);
# - or the run hung to its outer timeout with a vCPU faulting on its own
#   RIP (CR2 = RIP) with its CR3 outside guest RAM (e2e_lost_cr3). No
#   Linux kernel loads such a CR3, and lkvm sets CR3 only at boot (to its
#   own tables) and on a restore (whose runs in migrate.bats are planned
#   --no-rerun). Seen once, the registers were L1's own at its VMRUN
#   (tests/e2e/README.md).
e2e_l1_event() {
	local d=$1 walk

	if [[ -s $d/l1-trace && ! -f $d/planned-triple ]]; then
		echo "L2 triple fault in L1: run ${d##*/} (run status $(cat "$d/status")): L1's KVM: $(e2e_trace_line "$d")"
		return 0
	fi
	[[ -f $d/timed_out && -f $d/at-timeout ]] || return 1
	walk=$(e2e_lost_cr3 "$d/at-timeout") || return 1
	echo "L2 hung in L1 with a CR3 outside its RAM: run ${d##*/} (run status $(cat "$d/status")): $walk$(
		[[ ! -s $d/at-timeout-l1 ]] || echo "; $(head -n 1 "$d/at-timeout-l1")")"
}

# e2e_emulator_pf RESULT_DIR: whether the run's L1 trace shows its L2
# dying while a page fault with RSVD set and P clear was delivered, and
# says so. No x86 CPU's page walk gives that error code (the SDM, 4.7:
# reserved bits are checked only in present entries), nor does L1's KVM
# walker (it sets P with RSVD); QEMU 7.2's TCG walk does (excp_helper.c,
# do_fault_rsvd). KVM also delivers what lkvm restores as a pending event,
# but that came from the source's KVM. So a --no-rerun run gets its one
# rerun for it (tests/e2e/README.md).
e2e_emulator_pf() {
	local ev info err

	[[ -s $1/l1-trace && ! -f $1/planned-triple ]] || return 1
	ev=$(e2e_trace_line "$1")
	[[ $ev =~ intr_info\ 0x([0-9a-f]+)\ error_code\ 0x([0-9a-f]+) ]] || return 1
	info=$((16#${BASH_REMATCH[1]}))
	err=$((16#${BASH_REMATCH[2]}))
	# Valid, an exception with an error code (type 3, bit 11), vector 14.
	(((info & 0x80000fff) == 0x80000b0e && (err & 9) == 8)) || return 1
	printf 'a page fault with RSVD set and P clear (error code 0x%x): no x86 CPU raises it, QEMU'"'"'s page walk does\n' "$err"
}

# e2e_lost_cr3 AT_TIMEOUT: the first vCPU of an lkvm debug dump with CR2
# equal to RIP whose walk of RIP could not read even its first entry (no
# step line before the result: CR3 itself is outside RAM), as "vCPU N:
# RIP ... CR3 ...: -> PML4E at 0x... is outside guest RAM".
e2e_lost_cr3() {
	awk '
	/^vCPU [0-9]+ / { cpu = $2; rip = cr2 = cr3 = ""; steps = 0 }
	/^  RIP / { rip = $2 }
	/ CR3 / {
		for (i = 1; i < NF; i++) {
			if ($i == "CR2") cr2 = $(i + 1)
			if ($i == "CR3") cr3 = $(i + 1)
		}
	}
	/^  (PML5E|PML4E|PDPTE|PDE|PTE) *\[/ { steps++ }
	/^  -> PML[45]E at 0x[0-9a-f]+ is outside guest RAM$/ {
		if (steps || rip == "" || cr2 != rip)
			next
		sub(/^  /, "")
		printf "vCPU %s: RIP %s CR3 %s: %s\n", cpu, rip, cr3, $0
		found = 1
		exit
	}
	END { exit !found }' "$1"
}

# e2e_trace_line RESULT_DIR: the first event of the run's L1 trace
# (l1-trace), without the tracer's prefix: "vcpu 0 reason shutdown rip
# 0x... info1 ... intr_info ...".
e2e_trace_line() {
	local line

	line=$(grep -a -m 1 'kvm_exit' "$1/l1-trace" | sed 's/^.*kvm_exit: //')
	printf '%s\n' "${line:-$(head -n 1 "$1/l1-trace")}"
}

e2e_l1_check_kvm() {
	grep -qx 'kvm yes' "$E2E_STATE/results/l1-info" 2>/dev/null ||
		e2e_plan_error "no /dev/kvm in the emulated L1 (did kvm-amd load?); see $E2E_STATE/l1-console.log"
}

# e2e_l1_boots PLAN_DIR TRY: e2e_l1_boot, and again (E2E_L1_BOOT_AGAIN
# times at most, 2) while L1 wedges before its first run has started:
# such an L1 ran nothing, of lkvm's or anyone's, so it is no try. Each
# stays a line in wedges, marked so, and counts as an L1 retry; its
# console stays as l1-console.try-TRY.boot-K.log.
e2e_l1_boots() {
	local plan=$1 try=$2 k=0 rc

	while :; do
		rc=0
		e2e_l1_boot "$plan" "$try" || rc=$?
		((rc == 1)) && ((k < ${E2E_L1_BOOT_AGAIN:-2})) || return "$rc"
		grep -q '^e2e: run .*: started' "$E2E_STATE/l1-console.log" && return 1
		k=$((k + 1))
		mv "$E2E_STATE/l1-console.log" "$E2E_STATE/l1-console.try-$try.boot-$k.log"
		sed -i '$ s/$/ (before any run started: L1 booted again)/' "$E2E_STATE/wedges"
		touch "$E2E_STATE/retried"
		e2e_note "$E2E_WEDGE, before any run started: booting L1 again"
	done
}

# e2e_l1_boot PLAN_DIR TRY: one boot of the emulated L1 for the runs of
# PLAN_DIR. The results of the runs that finished go to
# $E2E_STATE/results (L1 appends them to a disk as it goes). Returns 0
# when the plan finished, 1 when L1 wedged (E2E_WEDGE says how, and a line
# in $E2E_STATE/wedges keeps it), 2 on any other failure (a plan error).
e2e_l1_boot() {
	local plan=$1 try=$2 extra=$E2E_STATE/l1-extra img=$E2E_STATE/results.img
	local log=$E2E_STATE/l1-console.log limit=$E2E_L1_SLACK f

	for f in "$plan"/runs/*.sh; do
		[[ -f $f ]] || continue
		# + 25: a run's outer timeout may first spend up to 17 s
		# asking L1's KVM and lkvm where it is (plan-exec.sh,
		# where_stuck), then 5 s to SIGKILL.
		limit=$((limit + $(sed -n 's/^e2e_limit=//p' "$f") + 25))
	done
	rm -rf "$extra"
	mkdir -p "$extra/bin"
	cp "$E2E_LKVM_STATIC" "$extra/bin/lkvm"
	cp -r "$plan" "$extra/plan"
	cp -r "$E2E_STATE/ship" "$extra/"
	l1_pack "$E2E_STATE/l1.cpio" "$extra"

	rm -f "$img" "$E2E_STATE/results/plan.done" "$E2E_STATE"/l1-monitor.*
	truncate -s 128M "$img"
	mkfifo "$E2E_STATE/l1-monitor.in" "$E2E_STATE/l1-monitor.out"
	l1_qemu plan "$E2E_STATE/l1.cpio" -display none -serial stdio \
		-drive "file=$(e2e_qemu_path "$img"),format=raw,if=virtio" \
		-monitor "pipe:$(e2e_qemu_path "$E2E_STATE/l1-monitor")"
	E2E_L1_CPUS=
	e2e_l1_watch "$limit" "$log" "${L1_CMD[@]}"
	# Every archive L1 wrote whole; a torn last one is a run to redo.
	tar -x -i -f "$img" -C "$E2E_STATE/results" 2>/dev/null || true
	[[ ! -f $E2E_STATE/results/plan.done ]] || return 0
	if e2e_l1_wedge_evidence "$log"; then
		echo "try $try: $E2E_WEDGE" >>"$E2E_STATE/wedges"
		return 1
	fi
	e2e_plan_error "the emulated L1 did not finish the plan (QEMU exit $E2E_L1_RC$(
		[[ $E2E_L1_KILLED != limit ]] || echo ": outer timeout ${limit}s")$(
		[[ ! -s $E2E_STATE/qemu.log ]] || echo "; QEMU said: $(head -n 1 "$E2E_STATE/qemu.log")")); see $log"
	return 2
}

# e2e_l1_watch LIMIT LOG CMD...: runs L1's QEMU with its console in LOG,
# and ends it, E2E_L1_KILLED saying why, after LIMIT s ("limit"), after
# E2E_L1_QUIET s without console output ("quiet"), or E2E_L1_WEDGE_GRACE
# s after L1 said a run wedged ("wedge"), in case L1 cannot power off.
# E2E_L1_RC is QEMU's exit status.
e2e_l1_watch() {
	local limit=$1 log=$2 pid t0=$SECONDS seen=$SECONDS size=-1 now wedge_at=
	shift 2

	"$@" </dev/null >"$log" 2>"$E2E_STATE/qemu.log" &
	pid=$!
	E2E_L1_KILLED=
	while kill -0 "$pid" 2>/dev/null; do
		sleep 0.5
		now=$(stat -c %s "$log")
		if ((now != size)); then
			size=$now seen=$SECONDS
			[[ $wedge_at ]] || ! grep -aq '^e2e: wedged: ' "$log" ||
				wedge_at=$SECONDS
		fi
		if ((SECONDS - t0 >= limit)); then
			E2E_L1_KILLED=limit
		elif ((SECONDS - seen >= E2E_L1_QUIET)); then
			E2E_L1_KILLED=quiet
			e2e_l1_cpus "${log%.log}.cpus"
		elif [[ $wedge_at ]] && ((SECONDS - wedge_at >= E2E_L1_WEDGE_GRACE)); then
			E2E_L1_KILLED=wedge
		else
			continue
		fi
		e2e_l1_kill "$pid"
		break
	done
	E2E_L1_RC=0
	wait "$pid" || E2E_L1_RC=$?
}

# e2e_l1_cpus FILE: what L1's CPUs were doing, asked of QEMU's monitor
# (a pipe chardev, l1-monitor.in and .out), into FILE, and each CPU's
# RIP, CPL and HLT in E2E_L1_CPUS. A QEMU whose main loop is stuck, or
# stopped, does not answer; that is said too.
e2e_l1_cpus() {
	local mon=$E2E_STATE/l1-monitor

	timeout 2 bash -c "echo 'info registers -a' >'$mon.in'" 2>/dev/null || true
	timeout 2 cat "$mon.out" 2>/dev/null | tr -d '\r' >"$1" || true
	E2E_L1_CPUS=$(awk '/^CPU#/ { cpu = $1 }
		/^[RE]IP=/ { printf "%s%s %s %s %s", sep, cpu, $1, $(NF - 4), $NF; sep = ", " }' "$1")
	E2E_L1_CPUS=${E2E_L1_CPUS:-"QEMU's monitor did not answer"}
}

# SIGTERM (with SIGCONT, should it be stopped), then SIGKILL after 5 s.
e2e_l1_kill() {
	local i

	kill -TERM "$1" 2>/dev/null || return 0
	kill -CONT "$1" 2>/dev/null || true
	for ((i = 0; i < 10; i++)); do
		sleep 0.5
		kill -0 "$1" 2>/dev/null || return 0
	done
	kill -KILL "$1" 2>/dev/null || true
}

# e2e_l1_wedge_evidence LOG: true if L1 (console in LOG) ended wedged, with
# E2E_WEDGE saying so and why. Five kinds, and nothing else, count:
# - L1's soft-lockup watchdog fired (a CPU stuck in an L2's KVM_RUN);
#   softlockup_panic=1 made that a panic and QEMU exited;
# - plan-exec.sh in L1 found the L2's VMM still there after SIGKILL, i.e.
#   stuck in L1's kernel ("e2e: wedged: ...");
# - the console stayed silent for E2E_L1_QUIET s though L1 prints a
#   heartbeat every 10 s: every CPU of L1 stuck;
# - L1 reset without a word: QEMU exited 0 by itself (-no-reboot makes a
#   reset an exit) with no panic, no power-off and no line from L1's init
#   about the plan. That is L1's own CPU triple-faulting, which nothing
#   in L1's userspace, lkvm included, can do.
# - L1's kernel died running an L2: it panicked with an oops in the task
#   of an L2's VMM (lkvm or QEMU) or with svm_vcpu_enter_exit (where
#   KVM's VMRUN returns) in the trace, e.g. page faults on a %gs access
#   right after #VMEXIT until the stack overflowed. That is the emulated
#   CPU's VMRUN/#VMEXIT under L1's KVM. Should lkvm's ioctls ever break
#   L1's KVM for real, the rerun dies too and the plan fails.
# A run that ended, however it ended, is a result and no wedge.
e2e_l1_wedge_evidence() {
	local log=$1 line run

	line=$(tr -d '\r' <"$log" | grep -a -m 1 'soft lockup - CPU#' |
		sed 's/^\[[ 0-9.]*\] //')
	if [[ $line ]]; then
		E2E_WEDGE="L1 wedged: $line"
		return 0
	fi
	line=$(tr -d '\r' <"$log" | grep -a -m 1 '^e2e: wedged: ')
	if [[ $line ]]; then
		E2E_WEDGE="L1 wedged: ${line#e2e: wedged: }"
		return 0
	fi
	line=$(tr -d '\r' <"$log" | grep -a -v '^[[:space:]]*$' | tail -n 1)
	run=$(tr -d '\r' <"$log" | grep -a '^e2e: run ' | tail -n 1)
	[[ $run == *": started" ]] && run=" (${run#e2e: })" || run=
	if [[ $E2E_L1_KILLED == quiet ]]; then
		E2E_WEDGE="L1 wedged: no console output for $E2E_L1_QUIET s after: ${line:-(nothing at all)}$run"
		E2E_WEDGE+="; L1's CPUs: $E2E_L1_CPUS"
		return 0
	fi
	if e2e_l1_reset_silently "$log"; then
		E2E_WEDGE="L1 wedged: it reset without a panic or a power-off (QEMU exit 0 under -no-reboot) after: $line$run"
		return 0
	fi
	line=$(e2e_l1_vmm_death "$log")
	if [[ $line ]]; then
		E2E_WEDGE="L1 wedged: its kernel died running an L2 ($line)$run"
		return 0
	fi
	return 1
}

# e2e_l1_vmm_death LOG: if L1 panicked of an oops in an L2's VMM (its
# "Comm:" line names lkvm, one of lkvm's threads, lkvm-vcpu0 and the
# like, or qemu-system-*) or with svm_vcpu_enter_exit
# in the trace, which of the two, then the oops's first line (or else
# the panic line). The trace may not reach the console before the
# panic; the Comm: line comes first. The task is the last one named
# before the panic (an earlier warning may name another); kernels from
# 6.11 on put "UID: N" between CPU and PID.
e2e_l1_vmm_death() {
	local text why= comm

	text=$(tr -d '\r' <"$1" | sed 's/^\[[ 0-9.]*\] //')
	grep -aq '^Kernel panic - not syncing' <<<"$text" || return 0
	comm=$(sed '/^Kernel panic - not syncing/q' <<<"$text" |
		grep -a -oE '^CPU: [0-9]+ (UID: [0-9]+ )?PID: [0-9]+ Comm: [^ ]+' |
		tail -n 1 | sed 's/.* Comm: //' || true)
	[[ $comm == lkvm || $comm == lkvm-* || $comm == qemu-system-* ]] &&
		why="in $comm's task"
	if grep -aq 'svm_vcpu_enter_exit+' <<<"$text"; then
		why+="${why:+, }svm_vcpu_enter_exit in the trace"
	fi
	[[ $why ]] || return 0
	{
		grep -a -m 1 -E '^(BUG|Oops|general protection)' <<<"$text" || true
		grep -a -m 1 '^Kernel panic - not syncing' <<<"$text"
	} | head -n 1 | while IFS= read -r line; do
		printf '%s: %s\n' "$why" "$line"
	done
}

# e2e_l1_reset_silently LOG: true if L1, up and running its plan, ended
# by itself with QEMU's exit 0 and said nothing of why: no panic, no
# power-off, no word from its init (tests/lib/l1-init.sh) or from QEMU.
e2e_l1_reset_silently() {
	[[ -z $E2E_L1_KILLED && $E2E_L1_RC == 0 && ! -s $E2E_STATE/qemu.log ]] || return 1
	grep -aq '^l1: up:' "$1" || return 1
	! tr -d '\r' <"$1" | grep -aqE 'Kernel panic|^l1: results written|^l1: the plan did not finish|reboot: (Power down|Restarting)'
}

# e2e_retry_plan: $E2E_STATE/plan-retry holds the runs of the plan that
# did not finish, E2E_RETRY their names; false if there are none. What
# such a run left behind is removed, so only the retry's results count.
e2e_retry_plan() {
	local f name retry=$E2E_STATE/plan-retry

	E2E_RETRY=()
	rm -rf "$retry"
	mkdir -p "$retry/runs"
	for f in "$E2E_STATE"/plan/runs/*.sh; do
		[[ -f $f ]] || continue
		name=$(sed -n 's/^e2e_name=//p' "$f")
		[[ ! -f $E2E_STATE/results/$name/done ]] || continue
		rm -rf "${E2E_STATE:?}/results/$name"
		cp "${f%.sh}".* "$retry/runs/"
		E2E_RETRY+=("$name")
	done
	((${#E2E_RETRY[@]}))
}

# e2e_in_l1: true when this file's plan ran in the emulated L1.
e2e_in_l1() { [[ $(cat "$E2E_STATE/path" 2>/dev/null) == l1 ]]; }

# e2e_result NAME: loads one run's results into status (lkvm's exit
# code), output and lines (the guest console, without \r), e2e_stderr,
# e2e_post, e2e_post_status, e2e_time and e2e_l1_trace (L1's KVM trace
# of the run: its L2's triple faults, tests/lib/l1-init.sh). Skips the test when the plan
# could not run here; fails when the run has no usable results.
e2e_result() {
	local d=$E2E_STATE/results/$1

	[[ ! -f $E2E_STATE/skip ]] || skip "$(cat "$E2E_STATE/skip")"
	if [[ -f $E2E_STATE/error ]]; then
		echo "e2e: $(cat "$E2E_STATE/error")"
		[[ ! -f $E2E_STATE/l1-console.log ]] || {
			echo "--- last lines of the L1 console ---"
			tail -n 30 "$E2E_STATE/l1-console.log" | tr -d '\r'
		}
		return 1
	fi
	if [[ ! -f $d/done && -f $E2E_STATE/wedged ]]; then
		echo "e2e: run '$1' did not finish: $(cat "$E2E_STATE/wedged")"
		return 1
	fi
	if [[ ! -f $d/done ]]; then
		echo "e2e: run '$1' has no results (was it planned with e2e_run?)"
		return 1
	fi
	status=$(<"$d/status")
	if [[ $status == pre-failed ]]; then
		echo "e2e: the pre step of run '$1' failed:"
		cat "$d/pre.out"
		return 1
	fi
	output=$(tr -d '\r' <"$d/console")
	mapfile -t lines <<<"$output"
	e2e_stderr=$(<"$d/stderr")
	e2e_time=$(<"$d/time")
	e2e_post=$(cat "$d/post.out" 2>/dev/null || true)
	e2e_post_status=$(cat "$d/post.status" 2>/dev/null || echo 0)
	e2e_l1_trace=$(cat "$d/l1-trace" 2>/dev/null || true)
	# Printed now, shown by bats only if the test fails.
	echo "=== run $1 ($(head -n 1 "$E2E_STATE/notes" 2>/dev/null)) ==="
	echo "lkvm exit status: $status after ${e2e_time}s"
	echo "--- lkvm stderr ---"
	printf '%s\n' "$e2e_stderr"
	echo "--- guest console (last 40 lines) ---"
	printf '%s\n' "$output" | tail -n 40
	if [[ -s $d/post.out ]]; then
		echo "--- post step (status $e2e_post_status) ---"
		printf '%s\n' "$e2e_post"
	fi
	if [[ $e2e_l1_trace ]]; then
		echo "--- L1's KVM trace ---"
		printf '%s\n' "$e2e_l1_trace"
	fi
	[[ ! -d $E2E_STATE/crashed.try-1/$1 ]] ||
		echo "e2e: this is the rerun: in the first L1 this run's L2 died: $(cat "$E2E_STATE/crashed.try-1/$1/l1-event") ($E2E_STATE/crashed.try-1/$1)"
	if [[ -f $d/timed_out ]]; then
		echo "e2e: lkvm did not end by itself; the run's outer timeout stopped it"
		[[ ! -s $d/at-timeout ]] || {
			echo "--- where its vCPUs were then (lkvm debug --regs) ---"
			cat "$d/at-timeout"
		}
		[[ ! -s $d/at-timeout-l1 ]] || {
			echo "--- and what L1's KVM did for them ---"
			cat "$d/at-timeout-l1"
		}
		return 1
	fi
}

e2e_assert_status() {
	[[ $status == "$1" ]] || {
		echo "e2e: expected lkvm exit status $1, got $status"
		return 1
	}
}

# e2e_assert_console TEXT: TEXT appears in the guest console output.
e2e_assert_console() {
	grep -qF -- "$1" <<<"$output" || {
		echo "e2e: the console lacks: $1"
		return 1
	}
}

e2e_refute_console() {
	! grep -qF -- "$1" <<<"$output" || {
		echo "e2e: the console should not contain: $1"
		return 1
	}
}

# e2e_assert_stderr TEXT: TEXT appears in lkvm's own diagnostics.
e2e_assert_stderr() {
	grep -qF -- "$1" <<<"$e2e_stderr" || {
		echo "e2e: lkvm's stderr lacks: $1"
		return 1
	}
}

# e2e_require_kvm: skips the test, with the probe's reason, when this host
# has no usable /dev/kvm (for host cases whose outcome depends on it).
# The probe times a loop in guest kernel mode: about 4 s on a KVM that
# interprets it, so one bats run probes once and its tests share the
# answer (BATS_RUN_TMPDIR lives as long as the run).
e2e_require_kvm() {
	local probe rc=0 cache=${BATS_RUN_TMPDIR:-}/kvm-probe

	[[ -x $KIT_OUT/kvm-probe ]] || skip "the kit is not built (run: make kit)"
	if [[ -n ${BATS_RUN_TMPDIR:-} && -f $cache ]]; then
		read -r rc <"$cache.rc"
		probe=$(<"$cache")
	else
		probe=$("$KIT_OUT/kvm-probe") || rc=$?
		if [[ -n ${BATS_RUN_TMPDIR:-} ]]; then
			echo "$rc" >"$cache.rc"
			printf '%s\n' "$probe" >"$cache"
		fi
	fi
	((rc != 2)) || skip "$probe"
}

# e2e_host_lkvm ARGS...: runs ./lkvm directly on the host under a timeout
# (for cases that boot no Linux), with bats' run: status, output, stderr.
e2e_host_lkvm() {
	[[ -x $E2E_LKVM ]] || {
		echo "e2e: $E2E_LKVM is not built (make lkvm)"
		return 1
	}
	run --separate-stderr timeout -k 5 30 "$E2E_LKVM" "$@" </dev/null
	echo "lkvm $*: exit $status"
	echo "--- stdout ---"
	printf '%s\n' "$output"
	echo "--- stderr ---"
	printf '%s\n' "$stderr"
}
