#!/usr/bin/env bats
# make bench: lkvm migrate against QEMU's migration, in the same machine
# (the emulated L1 here, or the host when its KVM is fast), with the same
# L2 kernel, initramfs and guest (tests/e2e/guest/migrate-guest.sh): for
# each memory size, an idle guest and one dirtying about 50 MiB/s, a live
# migration over tcp between two processes (downtime, total time, bytes,
# as each VMM reports them), and for the idle guest a save to a file and
# a restore (time until the guest runs again).  tests/bench/migrate-bench.sh
# does one boot; the table goes to tests/kit/out/bench/migrate.txt.
#
# BENCH_MIGRATE_SIZES (default "256 512 1024") MiB; BENCH_MIGRATE_REPS
# (default 3) rounds of all of them, interleaved, and the medians.  One L1
# boot for all.  BENCH_MIGRATE_MODES (default "idle dirty") and
# BENCH_MIGRATE_VMMS (default "lkvm qemu") narrow a plan, for a change
# that only one row can show; a full plan is what the README reports.
# Each run starts from a scrubbed L1 (tests/bench/l1-scrub.sh), and so
# does each restore (migrate-bench.sh).

E2E_L1_SLACK=${E2E_L1_SLACK:-60}
# Room in L1 for a 1 GiB source and its destination side by side (each
# touches only the pages its guest wrote), and the scrub's file.
L1_MEM=${L1_MEM:-3072}
load ../lib/e2e
load ship

BENCH_DIR=$E2E_ROOT/tests/bench
BENCH_OUT=$KIT_OUT/bench
BENCH_MIGRATE_SIZES=${BENCH_MIGRATE_SIZES:-256 512 1024}
BENCH_MIGRATE_REPS=${BENCH_MIGRATE_REPS:-3}
BENCH_MIGRATE_MODES=${BENCH_MIGRATE_MODES:-idle dirty}
BENCH_MIGRATE_VMMS=${BENCH_MIGRATE_VMMS:-lkvm qemu}
BENCH_FIRMWARE="bios-256k.bin linuxboot_dma.bin linuxboot.bin kvmvapic.bin"

# configs: each configuration, VMM-SIZE-MODE, in a round's order.
configs() {
	local size mode vmm

	for size in $BENCH_MIGRATE_SIZES; do
		for mode in $BENCH_MIGRATE_MODES; do
			for vmm in $BENCH_MIGRATE_VMMS; do
				echo "$vmm-$size-$mode"
			done
		done
	done
}

# runs: every run's name, VMM-SIZE-MODE-ROUND, in the plan's order.
runs() {
	local rep c

	for rep in $(seq "$BENCH_MIGRATE_REPS"); do
		for c in $(configs); do
			echo "$c-$rep"
		done
	done
}

setup_file() {
	local run vmm size mode port=4500

	ship_qemu $BENCH_FIRMWARE || echo "no QEMU: its rows will be empty" >&3
	e2e_ship "$BENCH_DIR/migrate-bench.sh"
	e2e_ship "$BENCH_DIR/l1-scrub.sh"
	for run in $(runs); do
		IFS=- read -r vmm size mode _ <<<"$run"
		port=$((port + 1))
		e2e_run "$run" --limit 300 --exec sh --pre 'sh ship/l1-scrub.sh' \
			--raw -- ship/migrate-bench.sh "$vmm" "$size" "$mode" "$port"
	done
	e2e_execute
}

# val RUN KEY: the value the run printed as "bench: KEY VALUE".
val() {
	sed -n "s/^bench: $2 \([^ ]*\).*/\1/p" \
		"$E2E_STATE/results/$1/console" 2>/dev/null | tail -n 1
}

# med KEY VMM-SIZE-MODE: "median (min-max)" of KEY over the rounds.
med() {
	local rep

	for rep in $(seq "$BENCH_MIGRATE_REPS"); do
		val "$2-$rep" "$1"
	done | grep -E '^[0-9]+$' | sort -n | awk '{ v[NR] = $1 }
	END {
		if (!NR) { print "-"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%g (%d-%d)\n", m, v[1], v[NR]
	}'
}

row() {
	local run=$1 st

	st=$(val "$run" "live status")
	printf '%-22s %-10s %9s %9s %8s %7s %12s %12s %10s\n' "$run" "${st:--}" \
		"$(val "$run" "live total_ms")" "$(val "$run" "live downtime_ms")" \
		"$(val "$run" "live mib")" "$(val "$run" "live passes")" \
		"$(val "$run" "save wall_ms")" "$(val "$run" "restore running_ms")" \
		"$(val "$run" "restore load_ms")"
}

@test "bench: lkvm migrate against QEMU; the table is in tests/kit/out/bench/migrate.txt" {
	local run c missing ok=0

	[[ ! -f $E2E_STATE/skip ]] || skip "$(cat "$E2E_STATE/skip")"
	mkdir -p "$BENCH_OUT"
	{
		echo "lkvm migrate vs QEMU migrate, $(head -n 1 "$E2E_STATE/notes")"
		echo "live: tcp between two processes; save: to a file; restore: process start to guest running"
		printf '%-22s %-10s %9s %9s %8s %7s %12s %12s %10s\n' run live \
			total_ms downtime mib passes save_ms restore_ms load_ms
		for run in $(runs); do
			row "$run"
		done
		echo
		echo "Medians over $BENCH_MIGRATE_REPS rounds (min-max), ms:"
		printf '%-16s %-20s %-20s %-20s\n' run downtime total restore
		for c in $(configs); do
			printf '%-16s %-20s %-20s %-20s\n' "$c" \
				"$(med "live downtime_ms" "$c")" \
				"$(med "live total_ms" "$c")" \
				"$(med "restore running_ms" "$c")"
		done
		echo "(QEMU 7.2 has no file: migration: its save is migrate \"exec:cat > FILE\" of a"
		echo " stopped guest, its restore -incoming \"exec:cat FILE\" then cont)"
		grep -H "bench: error\|bench: live dirtied\|bench: live phases" \
			"$E2E_STATE"/results/*/console 2>/dev/null |
			sed 's|^.*/results/\([^/]*\)/console:bench: |\1: |'
		missing=$(for run in $(runs); do
			[[ $(val "$run" "live status") ]] || echo -n " $run"
		done)
		[[ -z $missing ]] || echo "runs without a result:$missing"
		# The harness reran what a wedged L1 left (tests/lib/e2e.bash).
		[[ ! -f $E2E_STATE/wedges ]] || sed 's/^/L1 wedged, /' "$E2E_STATE/wedges"
		[[ ! -f $E2E_STATE/wedged ]] || echo "lost: $(cat "$E2E_STATE/wedged")"
	} >"$BENCH_OUT/migrate.txt"
	cat "$BENCH_OUT/migrate.txt"
	# The bench measured something: one of lkvm's migrations completed.
	for run in $(runs); do
		[[ $run != lkvm-* || $(val "$run" "live status") != completed ]] ||
			ok=1
	done
	((ok))
}
