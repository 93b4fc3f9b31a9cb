#!/usr/bin/env bats
# make bench, vsock: lkvm's virtio-vsock against QEMU's vhost-vsock-pci in
# the same machine (the emulated L1 here, whose kernel has vhost_vsock),
# with the same L2 kernel and initramfs (socat appended), 1 vCPU, 256 MiB:
#   - 1-byte echo round trips (socat PIPE in the guest), 2000 of them;
#   - 256 MiB host -> guest (socat to /dev/null) and guest -> host (dd);
#   - L1 KVM's exits per MiB for each stream (debugfs, around each phase);
# and the kernel developer's loop: the wall time of
# `lkvm run -k bzImage -- true`, three times.  tests/bench/vsock-driver.sh
# drives the guest (tests/e2e/guest/vsock-bench.sh) from L1 with
# tests/kit/vsock-peer: over lkvm's Unix socket (CONNECT) for lkvm, over
# AF_VSOCK to CID 3 for QEMU.  The table goes to
# tests/kit/out/bench/vsock.txt.

E2E_L1_SLACK=${E2E_L1_SLACK:-60}
load ../lib/e2e
load ship
# Not e2e/vsock/, which is tests/e2e/vsock.bats's.
E2E_STATE=$KIT_OUT/e2e/bench-vsock

BENCH_DIR=$E2E_ROOT/tests/bench
VSOCK_LIMIT=${VSOCK_LIMIT:-150}
FIRMWARE="bios-256k.bin linuxboot_dma.bin linuxboot.bin kvmvapic.bin"

POST='n=0; while ! grep -q "^bench: done" driver.out && [ $n -lt 150 ]; do
	sleep 0.2; n=$((n + 1)); done; cat driver.out'
APPEND="console=ttyS0 panic=-1 quiet lkvm.scenario=vsock-bench"

setup_file() {
	e2e_ship "$KIT_OUT/vsock-peer"
	e2e_ship "$KIT_OUT/l2-vsock.cpio"
	e2e_ship "$BENCH_DIR/vsock-driver.sh"
	ship_qemu $FIRMWARE || skip "$QEMU is not installed"

	e2e_run lkvm --raw --limit "$VSOCK_LIMIT" \
		--pre 'cat kit/l2-initrd.cpio ship/l2-vsock.cpio >l2v.cpio
sh ship/vsock-driver.sh v.sock >driver.out 2>&1 &' --post "$POST" \
		-- run -k kit/vmlinuz -i l2v.cpio -c 1 -m 256 --vsock-uds v.sock \
		--stats -p "$APPEND"
	# vhost_vsock in L1 (its modules.dep is the kit's, tests/kit/build.sh).
	e2e_run qemu --raw --exec sh --limit "$VSOCK_LIMIT" \
		--pre 'cat kit/l2-initrd.cpio ship/l2-vsock.cpio >l2v.cpio
modprobe vhost_vsock
sh ship/vsock-driver.sh vsock:3 >driver.out 2>&1 &' --post "$POST" \
		-- ship/qemu.sh -accel kvm -M q35 -cpu host -smp 1 -m 256 \
		-nodefaults -no-user-config -display none -serial stdio -no-reboot \
		-kernel kit/vmlinuz -initrd l2v.cpio -append "$APPEND" \
		-device vhost-vsock-pci,guest-cid=3
	for i in 1 2 3; do
		e2e_run "true-$i" --raw --limit 60 -- run -k kit/vmlinuz -- true
	done
	e2e_execute
}

# field RUN NAME KEY: the number after KEY on the driver's NAME line.
field() {
	sed -n "s/^bench: $2 rc 0 .*$3 \([0-9.]*\).*/\1/p" \
		"$E2E_STATE/results/$1/post.out" 2>/dev/null | head -n 1
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
per_mib() { awk -v e="$1" 'BEGIN { if (e != "") printf "%.0f", e / 256; else print "-" }'; }

@test "bench vsock: lkvm against QEMU vhost-vsock-pci; the table is in tests/kit/out/bench/vsock.txt" {
	local out=$KIT_OUT/bench/vsock.txt t dir l q times=()

	e2e_result lkvm
	e2e_assert_status 0
	e2e_result qemu
	mkdir -p "$KIT_OUT/bench"
	for t in 1 2 3; do
		e2e_result "true-$t"
		e2e_assert_status 0
		times+=("$e2e_time")
	done
	{
		echo "vsock ($(head -n 1 "$E2E_STATE/notes" | cut -d ';' -f 1); L2: Debian cloud kernel, 1 vCPU, 256 MiB)"
		printf '%-34s %14s %14s %10s\n' "" lkvm "QEMU vhost" lkvm/QEMU
		l=$(field lkvm pingpong median) q=$(field qemu pingpong median)
		printf '%-34s %11s us %11s us %10s\n' "1-byte round trip, median" "${l:--}" "${q:--}" "$(ratio "$l" "$q")"
		l=$(field lkvm pingpong p90) q=$(field qemu pingpong p90)
		printf '%-34s %11s us %11s us %10s\n' "1-byte round trip, 90th percentile" "${l:--}" "${q:--}" "$(ratio "$l" "$q")"
		for dir in to-guest from-guest; do
			l=$(sed -n "s/^bench: $dir rc 0 .*= \([0-9.]*\) MiB\/s.*/\1/p" "$E2E_STATE/results/lkvm/post.out")
			q=$(sed -n "s/^bench: $dir rc 0 .*= \([0-9.]*\) MiB\/s.*/\1/p" "$E2E_STATE/results/qemu/post.out")
			printf '%-34s %9s MiB/s %9s MiB/s %8s\n' "256 MiB ${dir/-/ }" "${l:--}" "${q:--}" "$(ratio "$l" "$q")"
			l=$(field lkvm "$dir" exits) q=$(field qemu "$dir" exits)
			printf '%-34s %14s %14s %10s\n' "  L1 KVM exits per MiB" "$(per_mib "$l")" "$(per_mib "$q")" "$(ratio "$l" "$q")"
			l=$(field lkvm "$dir" pio) q=$(field qemu "$dir" pio)
			printf '%-34s %14s %14s\n' "  of them port I/O, per MiB" "$(per_mib "$l")" "$(per_mib "$q")"
		done
		echo
		echo "lkvm run -k vmlinuz -- true, wall time from start to exit: ${times[*]} s"
		echo "(ratios: lkvm/QEMU; a ratio below 1 is better for lkvm in time rows, worse in MiB/s rows)"
	} >"$out"
	cat "$out"
	# Every number came, in every row up to the blank line: a run that
	# failed shows a '-' (the port I/O rows have no ratio column).
	[[ $(sed -n '3,/^$/p' "$out" | grep -c .) == 8 ]]
	! sed -n '3,/^$/p' "$out" | grep -E ' -( |$)'
	[[ ${#times[@]} == 3 && ${times[*]} =~ ^[0-9.]+\ [0-9.]+\ [0-9.]+$ ]]
}
