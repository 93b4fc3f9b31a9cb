#!/bin/bash
# The boot benchmark's table (tests/bench/boot.bats), from one plan's
# results:
#
#   boot-report.sh STATE_DIR REPS
#
# Reads STATE_DIR/results/{boot,loop}-VMM-N/ (console, status, time,
# stderr) and probe-VMM/, probe-loop-VMM/ (post.out: tests/bench/boot-probe.sh).
# A run counts if its VMM exited 0 and the guest printed its line; the
# others are named.  Fails only if a VMM has no good boot run at all.
set -u

state=$1
reps=$2
res=$state/results
# The VMMs that ran: lkvm, a second lkvm (BOOT_BASE in boot.bats) for a
# lever's before and after, lkvm with --virtio-transport mmio, the QEMU
# machines (BOOT_PEERS).
vmms=
for v in lkvm base mmio microvm pc; do
	[[ ! -d $res/boot-$v-1 && ! -d $res/probe-$v ]] || vmms+="${vmms:+ }$v"
done
rc=0

# median min max spread of the numbers on stdin, or "- - - -"
stats() {
	sort -g | awk '{ v[NR] = $1 }
	END {
		if (!NR) { print "- - - -"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f %.2f %.2f %.2f\n", m, v[1], v[NR], v[NR] - v[1]
	}'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a / b }'
}

# The guest's number on its line (field F of "lkvm-bench: KIND userspace ...").
guest_field() {
	tr -d '\r' <"$1/console" 2>/dev/null |
		awk -v f="$2" '/^lkvm-bench: (boot|loop) userspace / { print $f; exit }'
}

good() {
	local d=$res/$1

	[[ -f $d/done && $(cat "$d/status" 2>/dev/null) == 0 &&
		-n $(guest_field "$d" 4) ]]
}

bad_runs=()
# value DIR WHAT: a run's uptime, kinit, wall, or clock (L1's seconds
# from the VMM's start to the line, tests/bench/boot-clock.sh).
value() {
	case $2 in
	uptime) guest_field "$1" 4 ;;
	kinit) guest_field "$1" 6 | grep -E '^[0-9.]+$' ;;
	wall) cat "$1/time" ;;
	clock) tr -d '\r' <"$1/console" 2>/dev/null |
		awk '/^lkvm-bench: clock userspace-at / { print $4; exit }' ;;
	esac
}

# values KIND VMM WHAT: one number per good run.
values() {
	local kind=$1 vmm=$2 what=$3 i

	for ((i = 1; i <= reps; i++)); do
		good "$kind-$vmm-$i" || continue
		value "$res/$kind-$vmm-$i" "$what"
	done
}

# paired KIND A B [WHAT]: A/B round by round (both good), their median
# and how many rounds A was faster: the L1's speed swings from minute to
# minute, a ratio within one round much less.  WHAT: uptime.
paired() {
	local kind=$1 a=$2 b=$3 what=${4:-uptime} i x y rs=

	for ((i = 1; i <= reps; i++)); do
		good "$kind-$a-$i" && good "$kind-$b-$i" || continue
		x=$(value "$res/$kind-$a-$i" "$what")
		y=$(value "$res/$kind-$b-$i" "$what")
		[[ $x && $y ]] || continue
		rs+="$(ratio "$x" "$y") "
	done
	[[ $rs ]] || { echo "-"; return; }
	printf '%s\n' $rs | sort -g | awk '{ v[NR] = $1; if ($1 < 1) f++ }
	END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f (%d of %d rounds below 1)\n", m, f, NR }'
}

note_bad() {
	local kind=$1 vmm i d why

	for vmm in $vmms; do
		[[ $kind-$vmm != loop-mmio ]] || continue
		for ((i = 1; i <= reps; i++)); do
			d=$res/$kind-$vmm-$i
			good "$kind-$vmm-$i" && continue
			if [[ ! -f $d/done ]]; then
				why="did not finish (L1 lost?)"
			elif [[ $(cat "$d/status") != 0 ]]; then
				why="exit $(cat "$d/status")"
			else
				why="no userspace line"
			fi
			bad_runs+=("$kind-$vmm-$i: $why")
		done
	done
}

# exits_of PROBE_RUN: "TOTAL (REASON N, ...)" from the probe's trace.
exits_of() {
	awk '/^exits / { t += $3; s = s sep $2 " " $3; sep = ", " }
	END { if (t) printf "%d (%s)\n", t, s; else print "-" }' \
		"$res/$1/post.out" 2>/dev/null || echo -
}

total_exits() {
	awk '/^exits / { t += $3 } END { print t ? t : "-" }' "$res/$1/post.out" 2>/dev/null || echo -
}

lkvm_stats_total() {
	sed -n 's/^ *total *\([0-9][0-9]*\).*/\1/p' "$res/$1/stderr" 2>/dev/null | head -n 1
}

declare -A med spread cmed cspread
# "-" for a VMM that did not run (BOOT_PEERS=microvm has no pc).
for v in lkvm base mmio microvm pc; do
	med[$v]=- spread[$v]=- cmed[$v]=- cspread[$v]=-
done
echo "Boot: the Debian cloud kernel and the kit's initramfs (modules loaded by init), a 1 MiB virtio-blk disk, $reps runs per VMM, interleaved;"
echo "2 vCPUs, 512 MiB.  Guest uptime (s) at its first userspace line; kernel->init is the kernel's time stamp of"
echo "\"Run /init\"; wall is VMM start to exit (s).  $(head -n 1 "$state/notes" 2>/dev/null)"
echo
printf '%-9s %8s %6s %6s %7s  %12s  %8s\n' VMM median min max spread kernel-init wall
for vmm in $vmms; do
	read -r m lo hi sp < <(values boot "$vmm" uptime | stats)
	read -r km _ < <(values boot "$vmm" kinit | stats)
	read -r wm _ < <(values boot "$vmm" wall | stats)
	med[$vmm]=$m spread[$vmm]=$sp
	printf '%-9s %8s %6s %6s %7s  %12s  %8s\n' "$vmm" "$m" "$lo" "$hi" "$sp" "$km" "$wm"
	[[ $m != - ]] || rc=1
done
note_bad boot
echo -n "the disk's transport (first round):"
for vmm in $vmms; do
	echo -n " $vmm $(tr -d '\r' <"$res/boot-$vmm-1/console" 2>/dev/null |
		sed -n 's/^lkvm-bench: vda on //p' | head -n 1)"
done
echo
echo
echo "The same line by the outside clock (tests/bench/boot-clock.sh): seconds from the VMM's start to the line, by"
echo "the clock of the machine the VMM runs on.  This counts the VMM's start and the kernel's decompression, and is"
echo "real time; a guest's uptime in the emulated L1 is not (its kvmclock stalls and jumps: tests/bench/README.md)."
printf '%-9s %8s %6s %6s %7s\n' VMM median min max spread
for vmm in $vmms; do
	read -r m lo hi sp < <(values boot "$vmm" clock | stats)
	cmed[$vmm]=$m cspread[$vmm]=$sp
	printf '%-9s %8s %6s %6s %7s\n' "$vmm" "$m" "$lo" "$hi" "$sp"
done
echo "outside clock lkvm/microvm: $(ratio "${cmed[lkvm]}" "${cmed[microvm]}"), paired $(paired boot lkvm microvm clock); spread lkvm ${cspread[lkvm]} s, microvm ${cspread[microvm]} s"
[[ $vmms != *mmio* ]] || echo "  mmio/microvm: $(ratio "${cmed[mmio]}" "${cmed[microvm]}"), paired $(paired boot mmio microvm clock); spread mmio ${cspread[mmio]} s"
[[ $vmms != *base* ]] || echo "  lkvm/base: $(ratio "${cmed[lkvm]}" "${cmed[base]}"), paired $(paired boot lkvm base clock)"
echo
r=$(ratio "${med[lkvm]}" "${med[microvm]}")
echo "boot ratio lkvm/microvm: $r (goal <= 0.80); lkvm/pc: $(ratio "${med[lkvm]}" "${med[pc]}")"
[[ $vmms != *base* ]] || echo "lever: lkvm/base (this lkvm against BOOT_BASE): $(ratio "${med[lkvm]}" "${med[base]}")"
echo "paired by round: lkvm/microvm $(paired boot lkvm microvm)"
[[ $vmms != *base* ]] || echo "  lkvm/base $(paired boot lkvm base)"
if [[ $vmms == *mmio* ]]; then
	echo "transport: mmio/lkvm (virtio-mmio against virtio-pci): $(ratio "${med[mmio]}" "${med[lkvm]}"), paired $(paired boot mmio lkvm)"
	echo "  mmio/microvm: $(ratio "${med[mmio]}" "${med[microvm]}"), paired $(paired boot mmio microvm)"
fi
echo "spread lkvm ${spread[lkvm]} s, microvm ${spread[microvm]} s (goal: lkvm's no larger)"

echo
echo "Exits to userspace up to that line (KVM_RUN returns, L1's kvm_userspace_exit trace, one probe run each):"
for vmm in $vmms; do
	printf '  %-8s %s\n' "$vmm" "$(exits_of "probe-$vmm")"
done
echo "  exits ratio lkvm/microvm: $(ratio "$(total_exits probe-lkvm)" "$(total_exits probe-microvm)") (goal <= 1); lkvm --stats, whole run: $(lkvm_stats_total probe-lkvm)"

if [[ -d $res/loop-lkvm-1 || -d $res/loop-microvm-1 ]]; then
	declare -A lmed lsp
	for v in lkvm base microvm pc; do
		lmed[$v]=- lsp[$v]=-
	done
	echo
	echo "Loop: defconfig + kvm_guest.config (tests/kit/kernel.sh), no initramfs, root on virtio-blk, /init powers off;"
	echo "wall s from VMM start to exit (microvm with pcie=on for the disk); guest uptime at init."
	echo "lkvm boots its $(cat "$state/loop-kernel" 2>/dev/null || echo bzImage); base, microvm and pc its bzImage."
	echo
	printf '%-9s %8s %6s %6s %7s  %12s\n' VMM median min max spread guest-uptime
	for vmm in $vmms; do
		[[ $vmm != mmio ]] || continue
		read -r m lo hi sp < <(values loop "$vmm" wall | stats)
		read -r um _ < <(values loop "$vmm" uptime | stats)
		lmed[$vmm]=$m lsp[$vmm]=$sp
		printf '%-9s %8s %6s %6s %7s  %12s\n' "$vmm" "$m" "$lo" "$hi" "$sp" "$um"
	done
	note_bad loop
	best=$(printf '%s\n' "${lmed[microvm]}" "${lmed[pc]}" | grep -v '^-$' | sort -g | head -n 1)
	echo
	echo "loop ratio lkvm/min(microvm, pc): $(ratio "${lmed[lkvm]}" "${best:--}") (goal <= 0.80)"
	[[ $vmms != *base* ]] || echo "lever: lkvm/base: $(ratio "${lmed[lkvm]}" "${lmed[base]}")"
	echo -n "exits to userspace, whole loop run:"
	for vmm in $vmms; do
		[[ $vmm != mmio ]] || continue
		echo -n " $vmm $(total_exits "probe-loop-$vmm")"
	done
	echo
else
	echo
	echo "Loop: not run (BOOT_LOOP=0, or the developer's kernel is not cached: make kdev)"
fi

echo
echo "VMM threads at the boot line (probe runs): cpu ms user+sys, voluntary/involuntary context switches, ms on CPU / waiting"
for vmm in $vmms; do
	f=$res/probe-$vmm/post.out
	[[ -f $f ]] || continue
	awk -v vmm="$vmm" '
	/^thread / { comm = $10; for (i = 11; i <= NF; i++) comm = comm " " $i
		printf "  %-8s %-16s cpu %5d+%-5d cs %5d/%-5d run %6d wait %6d\n", vmm, comm, $3, $4, $5, $6, $7, $8 }
	/^thp / { printf "  %-8s AnonHugePages %s KiB\n", vmm, $2 }
	/^l1vm / { sub(/^l1vm /, ""); printf "  %-8s L1 vmstat %s\n", vmm, $0 }
	/^l1cpu / { printf "  %-8s L1 jiffies user %d sys %d idle %d (both CPUs)\n", vmm, $2, $4, $5 }' "$f"
done

echo
echo "L1 KVM's counters at the boot line (probe runs; all exits, also those KVM handled itself):"
for vmm in $vmms; do
	f=$res/probe-$vmm/post.out
	[[ -f $f ]] || continue
	echo "  $vmm: $(sed -n 's/^kvm //p' "$f" | head -n 1)"
done

echo
echo "Port and MMIO accesses up to the boot line (probe runs; also those KVM served itself), the most frequent:"
for vmm in $vmms; do
	f=$res/probe-$vmm/post.out
	[[ -f $f ]] || continue
	echo "  $vmm: $(awk '/^(pio|mmio) / { print $NF, $1 "-" $2 "@" $3 }' "$f" |
		sort -rn | head -n 12 | awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')"
done
echo
echo "Interrupts injected up to the boot line (probe runs, L1's kvm_inj_virq), total and the most frequent vectors:"
for vmm in $vmms; do
	f=$res/probe-$vmm/post.out
	[[ -f $f ]] || continue
	echo "  $vmm: $(awk '/^virq / { t += $3; print $3, $2 } END { print t, "total" }' "$f" |
		sort -rn | head -n 9 | awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')"
done

# Boots with BOOT_APPEND="initcall_debug lkvm.bench.dmesg=1" carry the
# kernel's log: where their uptime went.
if grep -qs 'lkvm-dmesg: .*initcall .* returned' "$res"/boot-*-1/console; then
	echo
	echo "Where the uptime went, by the kernel's log (s, medians; initcall_debug; tests/bench/boot-phases.sh):"
	bash "$(dirname "$0")/boot-phases.sh" "$res" $vmms | sed 's/^/  /'
fi

if ((${#bad_runs[@]})); then
	echo
	echo "Runs left out:"
	printf '  %s\n' "${bad_runs[@]}"
fi
exit "$rc"
