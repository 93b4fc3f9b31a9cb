#!/usr/bin/env bats
# make bench: sequential virtio-blk throughput of lkvm against QEMU's
# virtio-blk-pci, in the same machine (the emulated L1 here, or the host
# when its KVM is fast), with the same L2 kernel, initramfs, guest size
# and disk image.  The guest (tests/e2e/guest/bench-blk.sh) reads or
# writes all of a 256 MiB raw image with O_DIRECT dd, 1 MiB blocks.
# tests/bench/sampler.sh snapshots KVM's exit counters at the guest's phase
# marks; tests/bench/report.sh turns the runs into the table in
# tests/kit/out/bench/result.txt.  See tests/bench/README.md.
#
# BENCH_REPS (default 3) rounds, each one boot of L1 with one run of each
# VMM and direction, interleaved lkvm, QEMU, lkvm, ... so that a slow
# patch of the host hits both.

# L1's own time beyond its runs (tests/lib/e2e.bash reads it on load).
E2E_L1_SLACK=${E2E_L1_SLACK:-60}
load ../lib/e2e
load ship

BENCH_DIR=$E2E_ROOT/tests/bench
BENCH_OUT=$KIT_OUT/bench
# One state directory per round (per boot of L1) under the file's own.
BENCH_STATE=$E2E_STATE
BENCH_REPS=${BENCH_REPS:-3}
# Timed dd passes over the disk in each boot (a pass takes about a second
# in L1), then one traced pass whose time is not used.
BENCH_PASSES=${BENCH_PASSES:-3}
BENCH_MIB=256
# Seconds per boot: a whole boot with its dd passes takes 13 to 26 s of
# wall time in L1; past this something is wrong, not slow.  L1's own
# share of a round's limit (the harness adds up the runs' limits) is
# E2E_L1_SLACK, set before the load above: a round's L1 is up in about 10 s.
BENCH_LIMIT=${BENCH_LIMIT:-45}
BENCH_FIRMWARE="bios-256k.bin linuxboot_dma.bin linuxboot.bin kvmvapic.bin"
# More options for lkvm, a lever to measure against the same QEMU:
# BENCH_LKVM_ARGS="--virtio-transport mmio" puts the disk on virtio-mmio.
BENCH_LKVM_ARGS=${BENCH_LKVM_ARGS:-}

bench_fail() {
	echo "bench: $*" >&2
	return 1
}

# The steps around every run: make the shared image once (in L1's tmpfs),
# set up tracing while no guest runs, sample KVM's counters beside the
# VMM, then hand them back as e2e_post (tests/bench/sampler.sh).
bench_pre() {
	cat <<EOF
[ -f ../bench.img ] || dd if=/dev/zero of=../bench.img bs=1048576 count=$BENCH_MIB 2>/dev/null
sh ship/sampler.sh --setup samples.txt
sh ship/sampler.sh "\$E2E_OUT/console" samples.txt $((BENCH_LIMIT + 10)) >sampler.log 2>&1 &
echo \$! >sampler.pid
EOF
}

bench_post() {
	cat <<'EOF'
n=0
while ! grep -q '^sampler: done' samples.txt && [ $n -lt 30 ]; do
	sleep 0.2
	n=$((n + 1))
done
grep -q '^sampler: done' samples.txt || kill "$(cat sampler.pid)" 2>/dev/null || true
cat samples.txt
# For a run that went wrong: L1's kernel log, QEMU's resets.
dmesg | tail -n 30 >"$E2E_OUT/l1-dmesg" 2>&1 || true
[ ! -f qemu-debug.log ] || cp qemu-debug.log "$E2E_OUT/"
EOF
	[[ ${1:-} != last ]] || printf '%s\n' 'rm -f ../bench.img' 'sh ship/sampler.sh --teardown'
}

bench_args() {
	echo "lkvm.bench=$1 lkvm.bench.passes=$BENCH_PASSES lkvm.bench.trace=1"
}

bench_lkvm() {
	local name=$1 mode=$2 last=${3:-}

	e2e_run "$name" --scenario bench-blk --append "$(bench_args "$mode")" \
		--limit "$BENCH_LIMIT" --pre "$(bench_pre)" --post "$(bench_post "$last")" \
		-- -c 1 -m 256 --stats -d ../bench.img $BENCH_LKVM_ARGS
}

# The same guest under QEMU: KVM, 1 vCPU, 256 MiB, the image on a
# virtio-blk-pci device with QEMU's defaults (cache=writeback, aio=threads,
# ioeventfd and irqfd on), the console on COM1.  QEMU logs resets and
# guest errors to qemu-debug.log, which the post step keeps.
bench_qemu() {
	local name=$1 mode=$2 last=${3:-}

	e2e_run "$name" --limit "$BENCH_LIMIT" --pre "$(bench_pre)" \
		--post "$(bench_post "$last")" --exec sh --raw -- ship/qemu.sh \
		-accel kvm -M q35 -cpu host -smp 1 -m 256 \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel kit/vmlinuz -initrd kit/l2-initrd.cpio \
		-append "console=ttyS0 panic=-1 quiet lkvm.scenario=bench-blk $(bench_args "$mode")" \
		-drive file=../bench.img,if=none,id=d0,format=raw \
		-device virtio-blk-pci,drive=d0 -d cpu_reset,guest_errors -D qemu-debug.log
}

# One round: a fresh plan in its own state directory, executed in one boot
# of L1.  The emulated L1 is not flawless: while this bench still switched
# trace events on and off with a guest running, its kernel once crashed in
# KVM_RUN (recursive page faults on a bad GS base) and once hung (a soft
# lockup), and either ends the whole plan (sampler.sh says how it avoids
# that now).  The harness runs what had not finished once more in a fresh
# L1 when L1 wedged (tests/lib/e2e.bash), and the table names any round
# that wedged or went wrong otherwise.
bench_round() {
	local round=$1

	E2E_STATE=$BENCH_STATE/round-$round
	E2E_NRUNS=
	ship_qemu $BENCH_FIRMWARE || return
	e2e_ship "$BENCH_DIR/sampler.sh"
	if ((round == 1)); then
		bench_lkvm lkvm-idle idle
		bench_qemu qemu-idle idle
	fi
	bench_lkvm "lkvm-read-$round" read
	bench_qemu "qemu-read-$round" read
	bench_lkvm "lkvm-write-$round" write
	bench_qemu "qemu-write-$round" write last
	e2e_execute
	# What L1 took in (QEMU and its libraries) is 150 MiB a round; the
	# results, the plan and the consoles are what is worth keeping.
	rm -rf "$E2E_STATE/ship" "$E2E_STATE/l1-extra" "$E2E_STATE/l1.cpio" \
		"$E2E_STATE/results.img" "$E2E_STATE/work"
}

setup_file() {
	local i

	[[ $BENCH_REPS =~ ^[1-9][0-9]*$ ]] || bench_fail "BENCH_REPS must be a positive number, not '$BENCH_REPS'" || return
	[[ $BENCH_PASSES =~ ^[1-9][0-9]*$ ]] || bench_fail "BENCH_PASSES must be a positive number, not '$BENCH_PASSES'" || return
	rm -rf "$BENCH_STATE"
	mkdir -p "$BENCH_STATE"
	echo "${BENCH_LKVM_ARGS:-none}" >"$BENCH_STATE/lkvm-args"
	for ((i = 1; i <= BENCH_REPS; i++)); do
		bench_round "$i" || return
		[[ ! -f $E2E_STATE/skip ]] || break
	done
}

@test "bench: every VMM and direction has a good run; the table is in tests/kit/out/bench/result.txt" {
	local rc=0 d

	# As e2e_result: skip when Linux guests cannot run here at all.  A lost
	# round or a failed run is listed in the table.
	d=$BENCH_STATE/round-1
	[[ ! -f $d/skip ]] || skip "$(cat "$d/skip")"
	mkdir -p "$BENCH_OUT"
	bash "$BENCH_DIR/report.sh" "$BENCH_STATE"/round-* \
		>"$BENCH_OUT/result.txt" 2>"$BENCH_OUT/report.err" || rc=$?
	echo "lkvm's extra options (BENCH_LKVM_ARGS): $(cat "$BENCH_STATE/lkvm-args")" \
		>>"$BENCH_OUT/result.txt"
	cat "$BENCH_OUT/result.txt" "$BENCH_OUT/report.err"
	return "$rc"
}
