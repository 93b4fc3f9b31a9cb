# Beside one VMM in L1, for the boot benchmark's probe runs
# (tests/bench/boot.bats): what the VMM cost up to the guest's first
# userspace line.  A probe run's pre step calls it twice:
#
#   sh ship/boot-probe.sh --setup OUT                 before the VMM starts
#   sh ship/boot-probe.sh CONSOLE OUT LIMIT_SECS &    beside the VMM
#
# The second form turns tracing on (the trace event kvm_userspace_exit,
# one record per return of KVM_RUN to the VMM, whichever VMM it is), waits
# for "lkvm-bench: boot userspace" in CONSOLE, turns tracing off, and
# appends to OUT:
#   exits REASON N          KVM_RUN returns by exit reason ("restart": EINTR)
#   pio DIR PORT N, mmio KIND GPA N   every port and MMIO access the
#                           guest made (trace events kvm_pio, kvm_mmio),
#                           also those KVM served itself
#   virq VECTOR N           interrupts KVM injected, by vector (trace
#                           event kvm_inj_virq: timer, IPIs, devices)
#   kvm NAME=N ...          L1 KVM's debugfs counters (all exits, also the
#                           ones KVM handled itself; they sum the live VMs,
#                           and L1 runs one at a time)
#   thread TID utime_ms stime_ms vcs ivcs run_ms wait_ms slices COMM
#                           each VMM thread: CPU time, voluntary and
#                           involuntary context switches, schedstat's time
#                           on a CPU and waiting for one
#   thp KIB                 the VMM's AnonHugePages
#   l1vm before ... at-line ...   L1's THP faults, fallbacks and
#                           compaction stalls (/proc/vmstat)
#   l1cpu user nice system idle iowait irq softirq steal   (jiffies, from
#                           --setup to the line: was L1 short of CPU?)
# then "probe: done".  If the line never comes (a loop run powers off at
# once) it says "probe: no line", and the post step's
#   sh ship/boot-probe.sh --finish OUT
# counts the whole run's trace instead; --teardown, after the last run,
# disables the events and removes the instance.
#
# Like tests/bench/sampler.sh, the event is enabled only while no guest
# runs (--setup); during a run only tracing_on flips (enabling an event
# patches kernel text, which hung this emulated L1).  And like it, it
# traces in a tracefs instance of its own (instances/lkvm-probe): the
# top-level trace is the harness's L2-triple-fault detector
# (tests/lib/l1-init.sh), where any line of ours read as a crash (every
# probe run was run twice, as "an L2 died in L1") and whose tracing_on
# this probe held at 0 between its runs.  POSIX sh for busybox.
dbg=/sys/kernel/debug/kvm
tracefs=/sys/kernel/tracing
trace=$tracefs/instances/lkvm-probe
stats="exits io_exits mmio_exits halt_exits halt_wakeup irq_exits
	insn_emulation irq_injections pf_fixed signal_exits irq_window_exits
	request_irq_exits host_state_reload halt_successful_poll
	halt_attempted_poll halt_poll_success_ns halt_poll_fail_ns halt_wait_ns
	nested_run preemption_reported l1d_flush"

events="kvm_userspace_exit kvm_pio kvm_mmio kvm_inj_virq"

cpu_line() { sed -n 's/^cpu  *//p' /proc/stat; }

# L1's THP and compaction counters: a VMM whose huge pages need L1 to
# compact memory first waits for it in its page faults.
vm_line() {
	awk '/^(thp_fault_alloc|thp_fault_fallback|compact_stall|compact_fail|compact_success) / {
		printf "%s%s=%s", sep, $1, $2; sep = " " }' /proc/vmstat
}

setup() {
	out=$1
	: >"$out"
	[ -r "$dbg/exits" ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	[ -d "$tracefs/events/kvm" ] || mount -t tracefs tracefs "$tracefs" 2>/dev/null
	[ -d "$trace" ] || mkdir "$trace" 2>/dev/null
	if [ -d "$trace/events/kvm" ]; then
		echo 0 >"$trace/tracing_on"
		echo 4096 >"$trace/buffer_size_kb"
		for e in $events; do
			echo 1 >"$trace/events/kvm/$e/enable" ||
				echo "probe: could not enable kvm/$e" >>"$out"
		done
		: >"$trace/trace"
	else
		echo "probe: no kvm trace events in $trace" >>"$out"
	fi
	cpu_line >"$out.cpu0"
	vm_line >"$out.vm0"
}

# The VMM: lkvm, or QEMU run through its shipped loader, started in this
# run's directory (the probe is started there too).
vmm_pid() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/cwd" 2>/dev/null)" = "$here" ] || continue
		case "$(readlink "$p/exe" 2>/dev/null)" in
		*/lkvm | */lkvm-base | */ld-linux-x86-64.so.2 | */qemu-system-x86_64)
			echo "${p#/proc/}"
			return 0
			;;
		esac
	done
	return 1
}

threads() {
	hz=100
	for t in /proc/"$1"/task/*; do
		s=$(sed 's/.*) //' "$t/stat" 2>/dev/null) || continue
		# After "comm) ": state is field 1, utime 12, stime 13.
		set -- $s
		ut=$(( ${12} * 1000 / hz )) st=$(( ${13} * 1000 / hz ))
		vcs=$(sed -n 's/^voluntary_ctxt_switches:[^0-9]*//p' "$t/status")
		ivcs=$(sed -n 's/^nonvoluntary_ctxt_switches:[^0-9]*//p' "$t/status")
		read -r run wait slices <"$t/schedstat" 2>/dev/null || run=0 wait=0 slices=0
		echo "thread ${t##*/} $ut $st $vcs $ivcs $((run / 1000000)) $((wait / 1000000)) $slices $(cat "$t/comm")"
	done
}

count_trace() {
	[ -r "$trace/trace" ] || return 0
	awk 'function after(word,   i) {
		for (i = 1; i < NF; i++)
			if ($i == word)
				return $(i + 1)
		return "?"
	}
	/ kvm_userspace_exit: / { n["exits " after("reason")]++ }
	/ kvm_pio: / { for (i = 1; i < NF; i++) if ($i ~ /^pio_/) break
		       n["pio " $i " " after("at")]++ }
	/ kvm_mmio: / { n["mmio " after("mmio") " " after("gpa")]++ }
	/ kvm_inj_virq: / { for (i = NF; i > 1 && $i !~ /^(0x)?[0-9a-f]+$/; i--)
			;
			    n["virq " $i]++ }
	END { for (k in n) print k " " n[k] }' "$trace/trace" | sort
}

# After the VMM exited: a run that printed no line counts its whole trace.
finish() {
	[ -w "$trace/tracing_on" ] && echo 0 >"$trace/tracing_on"
	grep -q '^probe: done' "$1" && return 0
	count_trace >>"$1"
	echo "probe: done (the whole run)" >>"$1"
}

teardown() {
	[ -d "$trace/events/kvm" ] || return 0
	for e in $events; do
		echo 0 >"$trace/events/kvm/$e/enable"
	done
	rmdir "$trace" 2>/dev/null || true
}

here=$(pwd -P)
case "${1:-}" in
--setup) setup "$2"; exit 0 ;;
--finish) finish "$2"; exit 0 ;;
--teardown) teardown; exit 0 ;;
esac
console=$1
out=$2
limit=$3
[ -w "$trace/tracing_on" ] && echo 1 >"$trace/tracing_on"

read -r up _ </proc/uptime
end=$((${up%.*} + limit))
pid= seen=0
while :; do
	[ -n "$pid" ] || pid=$(vmm_pid) || pid=
	if grep -q 'lkvm-bench: boot userspace' "$console" 2>/dev/null; then
		seen=1
		break
	fi
	read -r up _ </proc/uptime
	[ "${up%.*}" -lt "$end" ] || break
	[ -z "$pid" ] || [ -d "/proc/$pid" ] || break
	sleep 0.05
done
[ -w "$trace/tracing_on" ] && echo 0 >"$trace/tracing_on"
[ "$seen" = 1 ] || echo "probe: no line" >>"$out"
{
	line=kvm
	for s in $stats; do
		v=na
		[ -r "$dbg/$s" ] && read -r v <"$dbg/$s"
		line="$line $s=$v"
	done
	echo "$line"
	if [ -n "$pid" ] && [ -d "/proc/$pid" ]; then
		threads "$pid"
		echo "thp $(sed -n 's/^AnonHugePages: *\([0-9]*\).*/\1/p' "/proc/$pid/smaps_rollup" 2>/dev/null)"
	fi
	echo "l1vm before $(cat "$out.vm0" 2>/dev/null) at-line $(vm_line)"
	echo "l1cpu $(cpu_line | awk -v f="$out.cpu0" 'BEGIN { getline b <f; split(b, a) }
		{ for (i = 1; i <= 8; i++) printf "%s%d", i > 1 ? " " : "", $i - a[i] }')"
} >>"$out"
if [ "$seen" = 1 ]; then
	count_trace >>"$out"
	echo "probe: done" >>"$out"
fi
