#!/usr/bin/env bats
# make bench, the network half: iperf3 in the guest against the host end of
# a tap, both directions, through lkvm's virtio-net and through QEMU's
# virtio-net-pci (tap, no vhost), in the same machine (the emulated L1
# here, or the host when its KVM is fast), with the same L2 kernel,
# initramfs (plus iperf3), guest size and tap setup.  Each VMM runs in a
# network namespace of its own (tests/e2e/net-host.sh, role bench); the
# guest is tests/e2e/guest/net-bench.sh; tests/bench/sampler.sh snapshots
# KVM's exit counters at its phase marks; tests/bench/net-report.sh makes
# the table in tests/kit/out/bench/net-result.txt.
#
# NET_BENCH_REPS (default 3) rounds, each one boot of L1 running lkvm and
# QEMU, lkvm first in odd rounds and QEMU first in even ones (the L1 warms
# up during a boot: neither VMM always gets the warm half); NET_BENCH_PASSES
# (2) iperf3 passes of NET_BENCH_SECS (5) seconds per direction and boot.
# NET_BENCH_BASE=path/to/lkvm-static: a second lkvm (say, main's), run as
# VMM "base" beside lkvm in every round (lkvm first in rounds 1-2, 5-6...,
# base first in 3-4, 7-8...), for a lever's before and after in the same
# L1 boot.

E2E_L1_SLACK=${E2E_L1_SLACK:-60}
load ../lib/e2e
load ship

BENCH_DIR=$E2E_ROOT/tests/bench
BENCH_OUT=$KIT_OUT/bench
# Not net/: that is tests/e2e/net.bats's.
NET_STATE=$KIT_OUT/e2e/bench-net
NET_BENCH_REPS=${NET_BENCH_REPS:-3}
NET_BENCH_PASSES=${NET_BENCH_PASSES:-2}
NET_BENCH_SECS=${NET_BENCH_SECS:-5}
NET_BENCH_BASE=${NET_BENCH_BASE:-}
# A boot: 10 to 25 s in L1, then 2 directions of passes, 1 s per mark,
# and the traced pass (2 s, 2 marks, the histogram).
NET_BENCH_LIMIT=${NET_BENCH_LIMIT:-$((75 + 2 * NET_BENCH_PASSES * (NET_BENCH_SECS + 2)))}
BENCH_FIRMWARE="bios-256k.bin linuxboot_dma.bin linuxboot.bin kvmvapic.bin"

net_fail() {
	echo "bench: $*" >&2
	return 1
}

# QEMU (tests/bench/ship.bash), its firmware, and iperf3 for L1's side.
ship_tools() {
	local iperf

	ship_qemu $BENCH_FIRMWARE || return
	iperf=$(command -v iperf3) || net_fail "iperf3 is not installed (apt-get install iperf3)" || return
	ship_with_libs "$iperf"
	e2e_ship "$BENCH_DIR/sampler.sh"
	e2e_ship "$BENCH_DIR/l1-scrub.sh"
	e2e_ship "$E2E_ROOT/tests/e2e/net-host.sh"
}

# iperf3 for the guest: a cpio appended to the kit's initramfs (the kernel
# unpacks concatenated archives), with the binary where it is at home.
ship_guest_iperf() {
	local root=$BATS_FILE_TMPDIR/iperf-root iperf lib d

	iperf=$(command -v iperf3)
	rm -rf "$root"
	mkdir -p "$root/bin" "$root/lib64" "$root/lib/x86_64-linux-gnu"
	cp "$iperf" "$root/bin/iperf3"
	for lib in $(ldd "$iperf" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }'); do
		cp "$(readlink -f "$lib")" "$root/lib/x86_64-linux-gnu/$(basename "$lib")"
	done
	cp "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$root/lib64/ld-linux-x86-64.so.2"
	d=$E2E_STATE/ship
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$d/net-iperf.cpio"
}

# Before each boot: L1's free memory written (tests/bench/l1-scrub.sh:
# no run pays for the one before), the guest's initramfs, the console's
# path for net-host.sh, tracing set up while no guest runs, the sampler
# beside.
net_pre() {
	cat <<EOF
sh ship/l1-scrub.sh
cat kit/l2-initrd.cpio ship/net-iperf.cpio >l2.cpio
echo "\$E2E_OUT" >e2e-out
sh ship/sampler.sh --setup samples.txt
sh ship/sampler.sh "\$E2E_OUT/console" samples.txt $((NET_BENCH_LIMIT + 10)) >sampler.log 2>&1 &
echo \$! >sampler.pid
EOF
}

net_post() {
	cat <<'EOF'
n=0
while ! grep -q '^sampler: done' samples.txt && [ $n -lt 30 ]; do
	sleep 0.2
	n=$((n + 1))
done
grep -q '^sampler: done' samples.txt || kill "$(cat sampler.pid)" 2>/dev/null || true
cat samples.txt
dmesg | tail -n 30 >"$E2E_OUT/l1-dmesg" 2>&1 || true
[ ! -f qemu-debug.log ] || cp qemu-debug.log "$E2E_OUT/"
EOF
	[[ ${1:-} != last ]] || echo 'sh ship/sampler.sh --teardown'
}

net_append() {
	echo "console=ttyS0 panic=-1 quiet lkvm.scenario=net-bench lkvm.bench.secs=$NET_BENCH_SECS lkvm.bench.passes=$NET_BENCH_PASSES"
}

# net_lkvm NAME [last] [PROGRAM]: PROGRAM is the kit's lkvm unless given.
net_lkvm() {
	e2e_run "$1" --limit "$NET_BENCH_LIMIT" --pre "$(net_pre)" --post "$(net_post "${2:-}")" \
		--exec sh --raw -- ship/net-host.sh bench "${3:-lkvm}" run -k kit/vmlinuz -i l2.cpio \
		-p "$(net_append)" -c 1 -m 256 --stats \
		-n mode=tap,tapif=lkvmtap0,script=./net-ifup.sh
}

# The same guest under QEMU: KVM, 1 vCPU, 256 MiB, virtio-net-pci on a tap
# with QEMU's defaults (merged buffers, offloads, 256-entry rings), its
# userspace virtio (vhost=off), the same MAC and the same ifup script; no
# option ROM (romfile=), which a -kernel boot does not use.  Its threads
# get names (debug-threads=on), so the sampler can tell the vCPU's.
net_qemu() {
	e2e_run "$1" --limit "$NET_BENCH_LIMIT" --pre "$(net_pre)" --post "$(net_post "${2:-}")" \
		--exec sh --raw -- ship/net-host.sh bench sh ship/qemu.sh \
		-accel kvm -M q35 -cpu host -smp 1 -m 256 -name net,debug-threads=on \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel kit/vmlinuz -initrd l2.cpio -append "$(net_append)" \
		-netdev tap,id=n0,ifname=lkvmtap0,script=./net-ifup.sh,downscript=no,vhost=off \
		-device virtio-net-pci,netdev=n0,mac=02:4c:4b:56:4d:00,romfile= \
		-d cpu_reset,guest_errors -D qemu-debug.log
}

# One L1 boot a round; when L1 wedges, the harness runs what had not
# finished once more in a fresh L1 (tests/lib/e2e.bash), and the table
# names the round.
net_round() {
	local round=$1

	E2E_STATE=$NET_STATE/round-$round
	E2E_NRUNS=
	ship_tools || return
	ship_guest_iperf || return
	if [[ $NET_BENCH_BASE ]]; then
		e2e_ship "$NET_BENCH_BASE" lkvm-base || return
	fi
	# QEMU goes first in even rounds; lkvm and base swap every two rounds,
	# so that neither always runs in the other's wake.
	local -a vmms=(lkvm)
	if [[ $NET_BENCH_BASE ]]; then
		vmms=(lkvm base)
		(((round - 1) / 2 % 2 == 0)) || vmms=(base lkvm)
	fi
	if ((round % 2)); then
		vmms+=(qemu)
	else
		vmms=(qemu "${vmms[@]}")
	fi
	local i last
	for ((i = 0; i < ${#vmms[@]}; i++)); do
		last=
		((i < ${#vmms[@]} - 1)) || last=last
		case ${vmms[i]} in
		lkvm) net_lkvm "lkvm-$round" "$last" ;;
		base) net_lkvm "base-$round" "$last" ship/lkvm-base ;;
		qemu) net_qemu "qemu-$round" "$last" ;;
		esac
	done
	e2e_execute
	rm -rf "$E2E_STATE/ship" "$E2E_STATE/l1-extra" "$E2E_STATE/l1.cpio" \
		"$E2E_STATE/results.img" "$E2E_STATE/work"
}

setup_file() {
	local i

	[[ $NET_BENCH_REPS =~ ^[1-9][0-9]*$ ]] || net_fail "NET_BENCH_REPS must be a positive number" || return
	[[ ! $NET_BENCH_BASE || -x $NET_BENCH_BASE ]] ||
		net_fail "NET_BENCH_BASE: $NET_BENCH_BASE is not an executable" || return
	rm -rf "$NET_STATE"
	for ((i = 1; i <= NET_BENCH_REPS; i++)); do
		net_round "$i" || return
		[[ ! -f $E2E_STATE/skip ]] || break
	done
}

@test "bench: net: lkvm and QEMU each have good iperf3 runs both ways; the table is in tests/kit/out/bench/net-result.txt" {
	local rc=0 d

	d=$NET_STATE/round-1
	[[ ! -f $d/skip ]] || skip "$(cat "$d/skip")"
	mkdir -p "$BENCH_OUT"
	bash "$BENCH_DIR/net-report.sh" "$NET_STATE"/round-* \
		>"$BENCH_OUT/net-result.txt" 2>"$BENCH_OUT/net-report.err" || rc=$?
	cat "$BENCH_OUT/net-result.txt" "$BENCH_OUT/net-report.err"
	return "$rc"
}
