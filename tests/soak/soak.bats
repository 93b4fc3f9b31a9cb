#!/usr/bin/env bats
# make soak: how often the emulated L1 wedges, per 100 L2 boots. Boots
# SOAK_BOOTS (100) short L2 guests, SOAK_PER_L1 (10) to a boot of L1, with
# -c SOAK_L2_CPUS (2), taking turns through the scenarios SOAK_SCENARIO
# names (default hello; "hello panic reboot hang" is boot.bats's mix,
# where lkvm also ends a guest with --timeout).
# An L1 that wedges (tests/lib/e2e.bash says how it tells) is not rerun
# here: the next L1 goes on with the boots still to do, and the wedge is
# counted against the boot it happened in. An L2 that triple-faults
# (L1's KVM traces it: tests/e2e/README.md) is counted apart, with the RIP
# L1's KVM saw, and is not a bad boot. The L1's machine is what
# tests/lib/common.bash's L1_SMP, L1_MEM, L1_ACCEL and L1_APPEND say, so
#
#   make soak L1_SMP=4 L1_APPEND='kvm_amd.avic=1 nohz=off'
#
# measures a candidate. The result goes to stdout and to
# tests/kit/out/soak/result.txt, and a line is added to
# tests/kit/out/soak/history.txt. The test fails only if some L2 boot
# that ended did not end well (not the scenario's status, or its outer
# timeout) and its L2 did not triple-fault: a wedge or an L2 triple fault
# is the L1's, and this counts them.

load ../lib/e2e

SOAK_BOOTS=${SOAK_BOOTS:-100}
SOAK_PER_L1=${SOAK_PER_L1:-10}
SOAK_SCENARIO=${SOAK_SCENARIO:-hello}
SOAK_L2_CPUS=${SOAK_L2_CPUS:-2}
# More of L2's kernel command line, to measure an L2 option.
SOAK_L2_APPEND=${SOAK_L2_APPEND:-}
# Seconds per L2 boot; a hello boot takes 6 to 12 s in L1.
SOAK_LIMIT=${SOAK_LIMIT:-40}
# Where the L1s, the result and the history go.
SOAK_OUT=${SOAK_OUT:-$KIT_OUT/soak}

soak_say() {
	echo "# soak: $*" >&3
	echo "$*" >>"$SOAK_OUT/log"
}

soak_settings() {
	echo "L1 -smp $L1_SMP -m $L1_MEM -accel $L1_ACCEL${L1_APPEND:+ append '$L1_APPEND'}; L2 $SOAK_SCENARIO -c $SOAK_L2_CPUS${SOAK_L2_APPEND:+ append '$SOAK_L2_APPEND'}"
}

# soak_run NAME SCENARIO: plans one boot of SCENARIO; its expected exit
# status goes to $E2E_STATE/expect/NAME.
soak_run() {
	local name=$1 want=0
	local -a args=(-c "$SOAK_L2_CPUS")

	case $2 in
	panic) want=3 ;;
	hang) want=5 args+=(--timeout 5) ;;
	hello | reboot) ;;
	*)
		echo "soak: scenario '$2' is not one of hello, panic, reboot, hang" >&2
		return 1
		;;
	esac
	e2e_run "$name" --scenario "$2" --limit "$SOAK_LIMIT" \
		${SOAK_L2_APPEND:+--append "$SOAK_L2_APPEND"} -- "${args[@]}"
	mkdir -p "$E2E_STATE/expect"
	echo "$want" >"$E2E_STATE/expect/$name"
}

# soak_l1 N COUNT: plans COUNT boots in L1 number N and runs that L1 once.
# Adds to the counters: boots (ended or wedged), wedges, crashes (an L2
# triple fault), bad (ended, but not with the scenario's status),
# errors (an L1 that failed otherwise).
soak_l1() {
	local l1=$1 count=$2 i rc=0 d n ended=0 t0=$SECONDS
	local -a scen

	read -r -a scen <<<"$SOAK_SCENARIO"
	E2E_STATE=$SOAK_OUT/l1-$l1
	E2E_NRUNS=
	for ((i = 0; i < count; i++)); do
		n=$((boots + i))
		soak_run "boot-$((i + 1))" "${scen[n % ${#scen[@]}]}" || return 2
	done
	mkdir -p "$E2E_STATE/results"
	e2e_l1_boot "$E2E_STATE/plan" 1 || rc=$?
	for d in "$E2E_STATE"/results/boot-*/; do
		[[ -f $d/done ]] || continue
		ended=$((ended + 1))
		if [[ -s $d/l1-trace ]]; then
			crashes=$((crashes + 1))
			echo "L1 $l1: $(basename "$d"): L2 triple fault: $(e2e_trace_line "$d")" >>"$SOAK_OUT/wedges"
			soak_say "$(tail -n 1 "$SOAK_OUT/wedges")"
		elif [[ $(cat "$d/status") != $(cat "$E2E_STATE/expect/$(basename "$d")") ||
			-f $d/timed_out ]]; then
			bad=$((bad + 1))
			soak_say "L1 $l1: $(basename "$d") ended with status $(cat "$d/status")$(
				[[ ! -f $d/timed_out ]] || echo " (outer timeout)")"
		fi
	done
	boots=$((boots + ended))
	case $rc in
	1)
		boots=$((boots + 1)) wedges=$((wedges + 1))
		echo "L1 $l1 after $ended boots: $E2E_WEDGE" >>"$SOAK_OUT/wedges"
		soak_say "L1 $l1: $E2E_WEDGE"
		;;
	2)
		errors=$((errors + 1))
		soak_say "L1 $l1: failed: $(cat "$E2E_STATE/error")"
		;;
	esac
	soak_say "L1 $l1: $ended boots ended in $((SECONDS - t0)) s; so far $boots boots, $wedges wedges, $crashes L2 triple faults"
	# The L1 archive is 20 MiB a boot; the results and console stay.
	rm -rf "$E2E_STATE/l1-extra" "$E2E_STATE/l1.cpio" "$E2E_STATE/results.img"
	# An L1 that neither booted anything nor wedged would loop forever.
	((ended > 0 || rc == 1)) || return 1
}

setup_file() {
	local l1=0 left n t0=$SECONDS per100

	[[ $SOAK_BOOTS =~ ^[1-9][0-9]*$ && $SOAK_PER_L1 =~ ^[1-9][0-9]*$ ]] || {
		echo "soak: SOAK_BOOTS and SOAK_PER_L1 must be positive numbers" >&2
		return 1
	}
	rm -rf "$SOAK_OUT"/l1-* "$SOAK_OUT"/{log,wedges,result.txt,skip}
	mkdir -p "$SOAK_OUT"
	e2e_choose_path
	if [[ $E2E_HOW != l1 ]] || ! command -v "$QEMU" >/dev/null; then
		echo "no emulated L1 here ($E2E_HOW: $E2E_WHY), so nothing to soak" >"$SOAK_OUT/skip"
		return 0
	fi
	boots=0 wedges=0 crashes=0 bad=0 errors=0
	soak_say "$SOAK_BOOTS boots: $(soak_settings)"
	while ((boots < SOAK_BOOTS)); do
		l1=$((l1 + 1))
		left=$((SOAK_BOOTS - boots))
		n=$((left < SOAK_PER_L1 ? left : SOAK_PER_L1))
		soak_l1 "$l1" "$n" || {
			soak_say "L1 $l1 ran no boot at all; stopping"
			bad=$((bad + 1))
			break
		}
	done
	per100=$(awk -v w="$wedges" -v b="$boots" 'BEGIN { printf "%.1f", b ? 100 * w / b : 0 }')
	crash100=$(awk -v w="$crashes" -v b="$boots" 'BEGIN { printf "%.1f", b ? 100 * w / b : 0 }')
	{
		echo "soak: $boots L2 boots in $l1 L1s, $((SECONDS - t0)) s: $wedges wedges, $per100 per 100 L2 boots; $crashes L2 triple faults, $crash100 per 100; $bad bad boots; $errors failed L1s"
		echo "soak: settings: $(soak_settings)"
		echo "soak: L1 kvm_amd: $(sed -n 's/^kvm_amd //p' "$SOAK_OUT/l1-1/results/l1-info" 2>/dev/null)"
		[[ ! -f $SOAK_OUT/wedges ]] || sed 's/^/soak: event: /' "$SOAK_OUT/wedges"
	} >"$SOAK_OUT/result.txt"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s s\n' "$(date -u +%FT%TZ)" "$(soak_settings)" \
		"$boots" "$wedges" "$per100" "$crashes" "$bad" "$((SECONDS - t0))" >>"$SOAK_OUT/history.txt"
	echo "$bad" >"$SOAK_OUT/bad"
}

@test "soak: every L2 boot that ended, ended well; wedges counted in tests/kit/out/soak/result.txt" {
	[[ ! -f $SOAK_OUT/skip ]] || skip "$(cat "$SOAK_OUT/skip")"
	cat "$SOAK_OUT/result.txt"
	[ "$(cat "$SOAK_OUT/bad")" -eq 0 ]
}
