# Snapshots KVM's exit counters at each phase mark of the bench-blk guest
# (tests/e2e/guest/bench-blk.sh).  A bench run's pre step, in the machine
# that runs the VMM (L1), calls it twice:
#
#   sh ship/sampler.sh --setup OUT             before the VMM starts
#   sh ship/sampler.sh CONSOLE OUT LIMIT_SECS &   beside the VMM
#
# and the last run's post step, once no VMM runs, calls
#   sh ship/sampler.sh --teardown              events off, instance gone
#
# For each "lkvm-bench: mark NAME" line that appears in CONSOLE it appends
#   mark NAME UPTIME exits=N io_exits=N ... l1_busy=N ... vmm_vcpus=N
# to OUT: KVM's counters from /sys/kernel/debug/kvm, then CPU time (below).
# Those files sum the counters of the VMs alive now, and L1 runs one VM at
# a time, so the difference between two marks is what this guest cost
# between them, whichever VMM runs it.  They count every exit, also the
# ones KVM handles itself (ioeventfd doorbells, halts): lkvm --stats sees
# only those that reach userspace.
#
# Between the marks "trace" and the next one it also traces KVM's exits
# (tracefs events kvm_exit, kvm_mmio, kvm_fast_mmio, which a doorbell on
# Intel with EPT takes instead, kvm_msr, kvm_pio, kvm_msi_set_irq) and
# appends a histogram of them, "trace exit npf 1400" and so on, once the
# phase is over.  The guest runs that phase only to be traced: tracing
# slows exits, so it must not overlap a timed pass.
#
# It traces in a tracefs instance of its own (instances/lkvm-bench): the
# top-level trace is the harness's, where L1's KVM records an L2's triple
# fault and nothing else (tests/lib/l1-init.sh); a line of ours there
# would read as a triple fault, and its tracing_on must stay 1.
#
# --setup mounts debugfs and tracefs, makes the instance, enables those
# events in it and empties its buffer, with its tracing_on 0; while a guest
# runs, only that tracing_on changes.  Enabling or disabling an event
# patches kernel text, and that waits for every CPU; in this emulated L1
# doing so while the other CPU ran an L2 guest hung L1 (a soft lockup in
# the sampler's sh) or crashed it (recursive page faults on a bad GS base
# in KVM_RUN).  The events stay enabled: with tracing_on 0 an event costs a
# check, not a record.
#
# It ends at "lkvm-bench: done", or after LIMIT_SECS, and then writes
# "sampler: done".  POSIX sh for busybox; the counter reads are shell
# builtins, so a snapshot forks nothing.
dbg=/sys/kernel/debug/kvm
# The counters of this kernel's x86 KVM (Documentation/virt/kvm/api.rst,
# "KVM Binary Statistics" lists them; debugfs has one file each).
stats="exits io_exits mmio_exits halt_exits irq_exits insn_emulation
	irq_injections pf_fixed signal_exits irq_window_exits"

tracefs=/sys/kernel/tracing
trace=$tracefs/instances/lkvm-bench
trace_events="kvm_exit kvm_mmio kvm_fast_mmio kvm_msr kvm_pio kvm_msi_set_irq"

# Before any guest runs.  Writing 1 to an event already enabled patches
# nothing, so every run may call it.
setup() {
	out=$1
	: >"$out"
	[ -r "$dbg/exits" ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	[ -r "$dbg/exits" ] || echo "sampler: no $dbg/exits here: no exit counters" >>"$out"
	[ -d "$tracefs/events/kvm" ] || mount -t tracefs tracefs "$tracefs" 2>/dev/null
	[ -d "$trace" ] || mkdir "$trace" 2>/dev/null
	if [ ! -d "$trace/events/kvm" ]; then
		echo "sampler: no kvm trace events in $trace" >>"$out"
		return 0
	fi
	echo 0 >"$trace/tracing_on"
	echo 8192 >"$trace/buffer_size_kb"
	for e in $trace_events; do
		echo 1 >"$trace/events/kvm/$e/enable" ||
			echo "sampler: could not enable the trace event kvm/$e" >>"$out"
	done
	: >"$trace/trace"
}

# Leaves tracefs as it was (on the direct path that is the host): the
# events off, the instance gone.
teardown() {
	[ -d "$trace/events/kvm" ] || return 0
	for e in $trace_events; do
		echo 0 >"$trace/events/kvm/$e/enable"
	done
	rmdir "$trace" 2>/dev/null || true
}

case "${1:-}" in
--setup) setup "$2"; exit 0 ;;
--teardown) teardown; exit 0 ;;
esac
console=$1
out=$2
limit=$3

trace_start() {
	[ -w "$trace/tracing_on" ] || return 0
	echo 1 >"$trace/tracing_on"
	tracing=1
}

# The histogram: exits by reason; MMIO by kind and guest address (an
# ioeventfd doorbell is an in-kernel MMIO write too); MSRs by number; port
# I/O by port; MSIs the VMM signalled.
trace_stop() {
	[ "$tracing" = 1 ] || return 0
	tracing=0
	echo 0 >"$trace/tracing_on"
	awk '
	function after(word,   i) {
		for (i = 1; i < NF; i++)
			if ($i == word)
				return $(i + 1)
		return "?"
	}
	/ kvm_exit: / { n["exit " after("reason")]++ }
	/ kvm_mmio: / { n["mmio " after("mmio") " " after("gpa") " len " after("len")]++ }
	/ kvm_fast_mmio: / { n["mmio fast " after("gpa")]++ }
	/ kvm_msr: / { for (i = 1; i < NF; i++) if ($i ~ /^msr_/) break
		       n["msr " $i " " $(i + 1)]++ }
	/ kvm_pio: / { for (i = 1; i < NF; i++) if ($i ~ /^pio_/) break
		       n["pio " $i " " after("at")]++ }
	/ kvm_msi_set_irq: / { n["msi"]++ }
	/ LOST [0-9]+ EVENTS/ { n["lost-events"]++ }
	END { for (k in n) print "trace " k " " n[k] }' "$trace/trace" |
		sort >>"$out"
}

# CPU time in ticks (USER_HZ) of the VMM whose pid the run wrote to
# lkvm.pid: the whole process (its threads that ended included), and its
# vCPU threads (lkvm names them lkvm-vcpuN, QEMU with debug-threads=on
# "CPU N/KVM"), whose time includes the guest's.  "na" where there is
# nothing to read, or no thread so named (an lkvm older than the names).
vmm_ticks() {
	all=na vcpu=na
	[ -r lkvm.pid ] && read -r pid <lkvm.pid && [ -d "/proc/$pid/task" ] || return 0
	read -r st 2>/dev/null <"/proc/$pid/stat" || return 0
	stat_ticks "$st"
	all=$tk
	named=0 ticks=0
	for t in /proc/"$pid"/task/*; do
		read -r st 2>/dev/null <"$t/stat" || continue
		# "TID (COMM) S ...": COMM may hold spaces and parentheses.
		comm=${st%) *}
		comm=${comm#*(}
		case $comm in
		lkvm-vcpu*|CPU\ */KVM)
			named=$((named + 1))
			stat_ticks "$st"
			ticks=$((ticks + tk))
			;;
		esac
	done
	[ "$named" = 0 ] || vcpu=$ticks
}

# tk = utime + stime of one stat line: fields 14 and 15, which are 12 and
# 13 after "(COMM) ".  A variable, not output: a snapshot forks nothing.
stat_ticks() {
	# shellcheck disable=SC2086 # the fields are words
	set -- ${1##*) }
	tk=$((${12} + ${13}))
}

snapshot() {
	read -r up _ </proc/uptime
	line="mark $1 $up"
	for s in $stats; do
		v=na
		[ -r "$dbg/$s" ] && read -r v <"$dbg/$s"
		line="$line $s=$v"
	done
	# L1's CPUs, all of them, in ticks: busy (user, nice, system, irq,
	# softirq) and idle (idle, iowait).
	read -r _ c_us c_ni c_sy c_id c_io c_irq c_sirq _ </proc/stat
	vmm_ticks
	echo "$line l1_busy=$((c_us + c_ni + c_sy + c_irq + c_sirq)) l1_idle=$((c_id + c_io)) vmm_cpu=$all vmm_vcpus=$vcpu" >>"$out"
}

seen=0 tracing=0
now() {
	read -r up _ </proc/uptime
	echo "${up%.*}"
}
end=$(($(now) + limit))
while [ "$(now)" -lt "$end" ]; do
	n=$(grep -c 'lkvm-bench: mark' "$console" 2>/dev/null) || n=0
	while [ "$seen" -lt "$n" ]; do
		seen=$((seen + 1))
		name=$(grep 'lkvm-bench: mark' "$console" | sed -n "${seen}p" |
			sed 's/.*lkvm-bench: mark \([^ ]*\).*/\1/')
		snapshot "$name"
		if [ "$name" = trace ]; then
			trace_start
		else
			trace_stop
		fi
	done
	grep -q 'lkvm-bench: done' "$console" 2>/dev/null && break
	sleep 0.1
done
trace_stop
echo "sampler: done" >>"$out"
