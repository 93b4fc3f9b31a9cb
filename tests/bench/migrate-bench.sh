# One migration benchmark in one machine (the emulated L1, or the host):
#
#   sh ship/migrate-bench.sh VMM MIB MODE PORT
#
# VMM lkvm or qemu; MIB the guest's memory; MODE idle (the guest only
# ticks) or dirty (it also dirties 50 MiB/s, 5 MiB every 100 ms,
# lkvm.dirty=5).
# The guest is tests/e2e/guest/migrate-guest.sh.  Boot a source, let it
# tick, start a destination (the same command line plus an incoming URI),
# migrate over tcp and read the VMM's own numbers; then, idle only, save
# the guest to a file from the destination and restore it in a new
# process.  Prints "bench: KEY VALUE" lines for tests/bench/migrate.bats.
#
# QEMU is driven through its human monitor on a tcp port with busybox nc.
# QEMU 7.2 (Debian 12) has no file: migration: its save is
# `migrate "exec:cat > FILE"` of the running guest (a live migration into
# the file, after which the source stops) and its restore
# `-incoming "exec:cat FILE"`, which runs the guest as soon as it is
# loaded.  lkvm's save pauses first and writes once.  Restore is timed the
# same way for both: from starting the process to the guest's first tick
# on the console (the guest ticks every 100 ms, so that bounds it).
# Before the restore, L1's free memory is written again
# (tests/bench/l1-scrub.sh): the guest's first writes to its lazily mapped
# RAM copy into pages L1 frees last, which the destination's guest just
# ran from.
vmm=$1
mib=$2
mode=$3
port=$4
mon=$((port + 100))
params="console=ttyS0 panic=-1 quiet lkvm.scenario=migrate-guest"
[ "$mode" = dirty ] && params="$params lkvm.dirty=5"
pids=

say() { echo "bench: $*"; }
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
ticks() { grep -c 'lkvm-guest: tick' "$1" 2>/dev/null || true; }
ticking() { [ "$(ticks "$1")" -ge "$2" ]; }
has() { grep -q "$2" "$1" 2>/dev/null; }

wait_for() {
	n=$(($1 * 20))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}

end() {
	for p in $pids; do
		kill -9 "$p" 2>/dev/null
	done
	# The saved guest (up to its RAM's size) stays in L1's tmpfs with the
	# run's directory: a plan of rounds would fill it.
	rm -f state.bin disk.img
	say done
	exit 0
}

# scrub: L1 as every run starts it (a no-op outside the emulated L1).
scrub() { [ ! -f ship/l1-scrub.sh ] || sh ship/l1-scrub.sh; }

# hmp PORT CMD: one monitor command; its answer on stdout.
hmp() { printf '%s\n' "$2" | nc -w 1 127.0.0.1 "$1" 2>/dev/null | tr -d '\r'; }

lkvm_start() { # TAG [ARGS]
	tag=$1
	shift
	"$LKVM" run -k kit/vmlinuz -i kit/l2-initrd.cpio -p "$params" \
		-m "$mib" -d disk.img --name bench "$@" </dev/null \
		>"$tag.console" 2>"$tag.err" &
	pid=$!
	pids="$pids $pid"
}

qemu_start() { # TAG MONITOR-PORT [ARGS]
	tag=$1
	mport=$2
	shift 2
	sh ship/qemu.sh -accel kvm -M q35 -cpu host -smp 1 -m "$mib" \
		-nodefaults -no-user-config -display none -no-reboot \
		-serial "file:$tag.console" -kernel kit/vmlinuz \
		-initrd kit/l2-initrd.cpio -append "$params" \
		-drive file=disk.img,if=none,id=d0,format=raw \
		-device virtio-blk-pci,drive=d0 \
		-monitor "tcp:127.0.0.1:$mport,server,nowait" "$@" \
		</dev/null >"$tag.err" 2>&1 &
	pid=$!
	pids="$pids $pid"
}

# QEMU's "info migrate" until it is over; its numbers as bench lines.
qemu_migrated() { # MONITOR-PORT PREFIX
	n=0
	while [ $n -lt 1200 ]; do
		hmp "$1" "info migrate" >info.txt
		grep -q 'Migration status: \(completed\|failed\|cancelled\)' info.txt &&
			break
		sleep 0.2
		n=$((n + 1))
	done
	st=$(sed -n 's/^Migration status: //p' info.txt)
	say "$2 status $st"
	say "$2 total_ms $(sed -n 's/^total time: \([0-9]*\).*/\1/p' info.txt)"
	say "$2 downtime_ms $(sed -n 's/^downtime: \([0-9]*\).*/\1/p' info.txt)"
	kb=$(sed -n 's/^transferred ram: \([0-9]*\).*/\1/p' info.txt)
	say "$2 mib $((${kb:-0} / 1024))"
	say "$2 dirty_rate $(sed -n 's/^dirty pages rate: \([0-9]*\).*/\1/p' info.txt) pages/s"
	[ "$st" = completed ]
}

truncate -s 16M disk.img
# Migrations and QEMU's monitor go over 127.0.0.1; the emulated L1's init
# leaves the loopback interface down.
ip link show lo 2>/dev/null | grep -q '[<,]UP[,>]' ||
	ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null ||
	say "error cannot bring the loopback interface up"

# ---- the source, ticking ----
if [ "$vmm" = lkvm ]; then
	lkvm_start src
else
	qemu_start src "$mon"
fi
src=$pid
wait_for 300 has src.console migrate-ready || { say "error source never ready"; end; }
wait_for 60 ticking src.console 30 || { say "error source not ticking"; end; }

# ---- live migration over tcp ----
if [ "$vmm" = lkvm ]; then
	lkvm_start dst --incoming "tcp:127.0.0.1:$port"
	dst=$pid
	wait_for 30 has dst.err "waiting for the guest"
	"$LKVM" migrate -n bench "tcp:127.0.0.1:$port" >mig.out 2>&1
	rc=$?
	line=$(tail -n 1 mig.out)
	echo "$line" | sed 's/^/bench: live line /'
	say "live status $([ $rc = 0 ] && echo completed || echo failed)"
	say "live total_ms $(echo "$line" | sed -n 's/.* in \([0-9]*\) ms,.*/\1/p')"
	say "live downtime_ms $(echo "$line" | sed -n 's/.*downtime \([0-9]*\) ms.*/\1/p')"
	say "live mib $(echo "$line" | sed -n 's/.* \([0-9]*\) MiB sent.*/\1/p')"
	say "live passes $(echo "$line" | sed -n 's/.* in \([0-9]*\) pass.*/\1/p')"
	echo "$line" | sed -n 's/.*dirtied up to \([0-9]*\) MiB\/s.*/bench: live dirtied \1 MiB\/s/p'
	echo "$line" | sed -n 's/.*; downtime: /bench: live phases /p'
else
	qemu_start dst $((mon + 1)) -incoming "tcp:127.0.0.1:$port"
	dst=$pid
	sleep 2
	hmp "$mon" "migrate -d tcp:127.0.0.1:$port" >/dev/null
	qemu_migrated "$mon" live
fi
wait_for 60 ticking dst.console 10 && say "live guest ticking after the move"
grep -q 'init up' dst.console && say "error the guest booted again"

# ---- save and restore (idle only) ----
if [ "$mode" != idle ]; then
	end
fi
rm -f state.bin
if [ "$vmm" = lkvm ]; then
	# The destination takes the name once the source has gone.
	wait_for 30 sh -c '"$LKVM" list | grep -q "^bench "'
	t0=$(now_ms)
	"$LKVM" migrate -n bench file:state.bin >save.out 2>&1
	say "save wall_ms $(($(now_ms) - t0))"
	sed -n 's/.* in \([0-9]*\) ms, downtime.*/bench: save total_ms \1/p' save.out
	wait_for 30 sh -c "! kill -0 $dst 2>/dev/null"
	scrub
	t0=$(now_ms)
	lkvm_start rst --incoming file:state.bin
else
	t0=$(now_ms)
	hmp $((mon + 1)) 'migrate -d "exec:cat > state.bin"' >/dev/null
	qemu_migrated $((mon + 1)) save
	say "save wall_ms $(($(now_ms) - t0))"
	kill -9 "$dst"
	wait "$dst" 2>/dev/null
	scrub
	t0=$(now_ms)
	qemu_start rst $((mon + 2)) -incoming "exec:cat state.bin"
fi
wait_for 60 ticking rst.console 1 &&
	say "restore running_ms $(($(now_ms) - t0))"
[ "$vmm" = lkvm ] &&
	sed -n 's/.* (\([0-9]*\) ms to load.*/bench: restore load_ms \1/p' rst.err
say "save bytes $(stat -c %s state.bin 2>/dev/null) disk_kib $(du -k state.bin | cut -f 1)"
n=$(ticks src.console)
wait_for 60 ticking rst.console 5 && say "restore guest ticking"
say "restore first $(grep -m 1 'lkvm-guest: tick' rst.console | tr -d '\r')"
end
