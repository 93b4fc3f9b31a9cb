#!/usr/bin/env bats
# make bench, the boot half (issue 14): how fast lkvm boots a kernel
# against QEMU's microvm and pc machines, in the same machine (the
# emulated L1 here, or the host when its KVM is fast), with the same
# kernel, initramfs, command line, vCPUs and memory.  See
# tests/bench/README.md, "Boot".
#
# - boot: the Debian cloud kernel and the kit's busybox initramfs (which
#   loads the virtio modules), with a 1 MiB read-only virtio-blk disk (so
#   that a transport's probe is part of the boot: virtio-pci for lkvm and
#   pc, virtio-mmio for mmio and microvm); the guest's uptime at its
#   first userspace line (scenario tests/e2e/guest/boot.sh).
# - loop: the kernel a kernel developer builds (tests/kit/kernel.sh:
#   defconfig + kvm_guest.config), root on a virtio-blk ext4 disk whose
#   /init powers off at once (tests/bench/loop-init.sh); the wall time
#   from starting the VMM to its exit.
#
# First one probe run of each VMM, which counts exits to userspace and
# per-thread CPU time (tests/bench/boot-probe.sh: its tracing and polling
# would slow a timed run); then BOOT_REPS (5) rounds of lkvm, microvm and
# pc, interleaved so that a slow patch of the host hits all three, each
# round starting with another VMM.  All in one boot of L1, each run
# after tests/bench/l1-scrub.sh has written L1's free memory (what the
# run before left in it costs the next guest seconds under TCG).

E2E_L1_SLACK=${E2E_L1_SLACK:-60}
load ../lib/e2e
load ship

# Not tests/e2e/boot.bats' state directory, whose file has the same name.
E2E_STATE=$KIT_OUT/e2e/bench-boot
BENCH_DIR=$E2E_ROOT/tests/bench
BOOT_OUT=$KIT_OUT/bench
BOOT_REPS=${BOOT_REPS:-5}
# Seconds per run: a boot takes 5 to 15 s of wall time in L1.
BOOT_LIMIT=${BOOT_LIMIT:-60}
# What every VMM gets; BOOT_LKVM_ARGS and BOOT_APPEND measure a lever
# (more lkvm options; more kernel command line for every VMM).
BOOT_CPUS=2
BOOT_MIB=512
BOOT_LKVM_ARGS=${BOOT_LKVM_ARGS:-}
BOOT_APPEND=${BOOT_APPEND:-}
# BOOT_DIAG=1: one more boot each of lkvm and microvm with initcall_debug,
# their kernel logs on the console (lkvm-dmesg: lines), for diffing.
BOOT_DIAG=${BOOT_DIAG:-0}
BOOT_FIRMWARE="bios-256k.bin linuxboot_dma.bin linuxboot.bin kvmvapic.bin bios-microvm.bin"
# BOOT_PEERS: the QEMU machines to compare with (microvm, pc).
BOOT_PEERS=${BOOT_PEERS:-microvm pc}
# BOOT_BASE=path/to/lkvm-static: a second lkvm (say, main's) run beside
# this one as VMM "base", for a lever's before and after in one machine.
BOOT_BASE=${BOOT_BASE:-}
# BOOT_MMIO=0 leaves out "mmio", lkvm with --virtio-transport mmio (boot
# only: the developer's kernel has no CONFIG_VIRTIO_MMIO).
BOOT_MMIO=${BOOT_MMIO:-1}
BOOT_LOOP_VMMS="lkvm ${BOOT_BASE:+base }$BOOT_PEERS"
BOOT_VMMS=$BOOT_LOOP_VMMS
[[ $BOOT_MMIO == 0 ]] || BOOT_VMMS="lkvm ${BOOT_BASE:+base }mmio $BOOT_PEERS"
# BOOT_LOOP=0 leaves the loop out (a quicker look at a boot lever).
BOOT_LOOP=${BOOT_LOOP:-1}
# What this lkvm boots in the loop: vmlinux, as a developer would from
# the build (no decompressor), or bzImage, as the QEMU machines and a
# BOOT_BASE lkvm do (QEMU cannot boot this vmlinux: it has no PVH note).
BOOT_LOOP_KERNEL=${BOOT_LOOP_KERNEL:-vmlinux}
BOOT_QEMU_COMMON="-accel kvm -cpu host -smp $BOOT_CPUS -m $BOOT_MIB -nodefaults -no-user-config -display none -serial stdio -no-reboot"

boot_fail() {
	echo "bench: $*" >&2
	return 1
}

# The loop's root disk: busybox and loop-init.sh as /init.
boot_ship_loop_root() {
	local root=$BATS_FILE_TMPDIR/loop-root

	rm -rf "$root"
	mkdir -p "$root/bin" "$root/proc"
	cp "$KIT_OUT/busybox" "$root/bin/busybox"
	cp "$BENCH_DIR/loop-init.sh" "$root/init"
	chmod 0755 "$root/init"
	e2e_ship_ext4 loop-root.img 8 "$root"
}

boot_probe_pre() {
	echo 'sh ship/l1-scrub.sh'
	echo 'sh ship/boot-probe.sh --setup probe.txt'
	echo "sh ship/boot-probe.sh \"\$E2E_OUT/console\" probe.txt $((BOOT_LIMIT + 10)) >probe.log 2>&1 &"
	echo 'echo $! >probe.pid'
}

boot_probe_post() {
	cat <<'SH'
n=0
while kill -0 "$(cat probe.pid)" 2>/dev/null && [ $n -lt 50 ]; do
	sleep 0.2
	n=$((n + 1))
done
kill "$(cat probe.pid)" 2>/dev/null || true
sh ship/boot-probe.sh --finish probe.txt
cat probe.txt probe.log
SH
	[[ ${1:-} != last ]] || echo 'sh ship/boot-probe.sh --teardown'
}

# boot_run KIND VMM NAME [e2e_run options]: one run of the Debian kernel
# (KIND boot) or of the developer's kernel (KIND loop) under VMM.  A boot
# run goes through boot-clock.sh, which adds L1's clock at the line.
boot_run() {
	local kind=$1 vmm=$2 name=$3 params machine kernel prog=lkvm
	local -a qemu run

	shift 3
	[[ $vmm != base ]] || prog=ship/lkvm-base
	if [[ $kind == boot ]]; then
		params="console=ttyS0 panic=-1 quiet lkvm.scenario=boot $BOOT_APPEND"
		if [[ $vmm == lkvm || $vmm == base || $vmm == mmio ]]; then
			# shellcheck disable=SC2086 # lkvm's extra options are words
			e2e_run "$name" --exec sh --raw --limit "$BOOT_LIMIT" "$@" -- \
				ship/boot-clock.sh "$prog" run -k kit/vmlinuz \
				-i kit/l2-initrd.cpio -p "${params% }" \
				-c "$BOOT_CPUS" -m "$BOOT_MIB" --stats $BOOT_LKVM_ARGS \
				-d ship/boot-disk.img,ro \
				$([[ $vmm != mmio ]] || echo --virtio-transport mmio)
			return
		fi
		qemu=(-kernel kit/vmlinuz -initrd kit/l2-initrd.cpio -append "${params% }"
			-drive file=ship/boot-disk.img,if=none,id=d0,format=raw,readonly=on
			-device "virtio-blk-$([[ $vmm == microvm ]] && echo device || echo pci),drive=d0")
	else
		params="console=ttyS0 panic=-1 quiet root=/dev/vda ro init=/init $BOOT_APPEND"
		if [[ $vmm == lkvm || $vmm == base ]]; then
			kernel=ship/kdev-bzImage
			[[ $vmm == base ]] || kernel=ship/kdev-$BOOT_LOOP_KERNEL
			[[ $vmm != base ]] || set -- --exec ship/lkvm-base "$@"
			# shellcheck disable=SC2086
			e2e_run "$name" --raw --limit "$BOOT_LIMIT" "$@" -- \
				run -k "$kernel" -c "$BOOT_CPUS" -m "$BOOT_MIB" \
				--stats -d ship/loop-root.img,ro -p "${params% }" $BOOT_LKVM_ARGS
			return
		fi
		qemu=(-kernel ship/kdev-bzImage -append "${params% }"
			-drive file=ship/loop-root.img,if=none,id=d0,format=raw,readonly=on
			-device virtio-blk-pci,drive=d0)
	fi
	case $vmm in
	# microvm has no PCI unless asked; the loop's disk needs it.
	microvm)
		machine=microvm,rtc=on
		[[ $kind != loop ]] || machine+=,pcie=on
		qemu=(-M "$machine" "${qemu[@]}")
		;;
	pc) qemu=(-M pc "${qemu[@]}") ;;
	esac
	run=(ship/qemu.sh)
	[[ $kind != boot ]] || run=(ship/boot-clock.sh sh ship/qemu.sh)
	# shellcheck disable=SC2086 # the common options are words
	e2e_run "$name" --exec sh --raw --limit "$BOOT_LIMIT" "$@" -- \
		"${run[@]}" $BOOT_QEMU_COMMON "${qemu[@]}"
}

# boot_rotate N WORDS...: the words, starting from the ((N - 1) % count)-th.
boot_rotate() {
	local n=$1
	shift
	local -a w=("$@")
	local i k=$(((n - 1) % ${#w[@]}))

	for ((i = 0; i < ${#w[@]}; i++)); do
		echo "${w[(k + i) % ${#w[@]}]}"
	done
}

setup_file() {
	local i vmm kdev last= append=$BOOT_APPEND

	[[ $BOOT_REPS =~ ^[1-9][0-9]*$ ]] || boot_fail "BOOT_REPS must be a positive number, not '$BOOT_REPS'" || return
	[[ $BOOT_LOOP_KERNEL == vmlinux || $BOOT_LOOP_KERNEL == bzImage ]] ||
		boot_fail "BOOT_LOOP_KERNEL is vmlinux or bzImage, not '$BOOT_LOOP_KERNEL'" || return
	E2E_NRUNS=
	ship_qemu $BOOT_FIRMWARE || return
	e2e_ship "$BENCH_DIR/boot-probe.sh"
	e2e_ship "$BENCH_DIR/boot-clock.sh"
	e2e_ship "$BENCH_DIR/l1-scrub.sh"
	truncate -s 1M "$BATS_FILE_TMPDIR/boot-disk.img"
	e2e_ship "$BATS_FILE_TMPDIR/boot-disk.img"
	if [[ $BOOT_BASE ]]; then
		[[ -x $BOOT_BASE ]] || boot_fail "BOOT_BASE: $BOOT_BASE is not an executable" || return
		e2e_ship "$BOOT_BASE" lkvm-base
	fi
	kdev=$(sh "$E2E_ROOT/tests/kit/kernel.sh" path)
	if [[ -f $kdev ]]; then
		e2e_ship "$kdev" kdev-bzImage
		[[ $BOOT_LOOP_KERNEL == bzImage ]] ||
			e2e_ship "$(sh "$E2E_ROOT/tests/kit/kernel.sh" vmlinux)" kdev-vmlinux ||
			return
		boot_ship_loop_root
	fi
	[[ -f $kdev ]] || BOOT_LOOP=0
	# The probe runs first: one of each is worth more than a fifth timed
	# run should L1 be lost late in the plan.  The last one disables the
	# trace events again.
	BOOT_APPEND="$append lkvm.bench.hold=1"
	for vmm in $BOOT_VMMS; do
		[[ $vmm != "${BOOT_VMMS##* }" ]] || ((BOOT_LOOP)) || last=last
		boot_run boot "$vmm" "probe-$vmm" --pre "$(boot_probe_pre)" \
			--post "$(boot_probe_post $last)"
	done
	BOOT_APPEND=$append
	if ((BOOT_LOOP)); then
		for vmm in $BOOT_LOOP_VMMS; do
			[[ $vmm != "${BOOT_LOOP_VMMS##* }" ]] || last=last
			boot_run loop "$vmm" "probe-loop-$vmm" --pre "$(boot_probe_pre)" \
				--post "$(boot_probe_post $last)"
		done
	fi
	if ((BOOT_DIAG)); then
		BOOT_APPEND="$append initcall_debug log_buf_len=4M lkvm.bench.dmesg=1"
		boot_run boot lkvm diag-lkvm
		boot_run boot microvm diag-microvm
		BOOT_APPEND=$append
	fi
	# Round i starts with the i-th VMM, so that none always goes first
	# (right after another VMM freed its memory, say).
	for ((i = 1; i <= BOOT_REPS; i++)); do
		for vmm in $(boot_rotate "$i" $BOOT_VMMS); do
			boot_run boot "$vmm" "boot-$vmm-$i" --pre 'sh ship/l1-scrub.sh'
		done
	done
	for ((i = 1; i <= BOOT_REPS && BOOT_LOOP; i++)); do
		for vmm in $(boot_rotate "$i" $BOOT_LOOP_VMMS); do
			boot_run loop "$vmm" "loop-$vmm-$i" --pre 'sh ship/l1-scrub.sh'
		done
	done
	echo "$BOOT_LOOP_KERNEL" >"$E2E_STATE/loop-kernel"
	e2e_execute
}

@test "bench boot: every VMM booted; the table is in tests/kit/out/bench/boot.txt" {
	local rc=0

	[[ ! -f $E2E_STATE/skip ]] || skip "$(cat "$E2E_STATE/skip")"
	[[ ! -f $E2E_STATE/error ]] || boot_fail "$(cat "$E2E_STATE/error")" || return
	mkdir -p "$BOOT_OUT"
	bash "$BENCH_DIR/boot-report.sh" "$E2E_STATE" "$BOOT_REPS" \
		>"$BOOT_OUT/boot.txt" 2>"$BOOT_OUT/boot-report.err" || rc=$?
	cat "$BOOT_OUT/boot.txt" "$BOOT_OUT/boot-report.err"
	return "$rc"
}
