# Drives a running VM over its control socket while the guest ticks
# (tests/e2e/guest/ticker.sh).  Started in the background by a run's pre
# step, beside `lkvm run --name $1`; it reads the guest's console from
# $E2E_OUT/console and prints what it saw, one "ctl: ..." line each, for
# control.bats.  POSIX sh with busybox; it always ends with `lkvm stop`,
# so a failure here cannot leave the VM running.
name=$1
console=$E2E_OUT/console

say() { echo "ctl: $*"; }
ticks() { grep -c 'lkvm-guest: tick' "$console" 2>/dev/null || true; }

# wait_for SECS CMD...: poll CMD every 0.2 s for up to SECS seconds.
wait_for() {
	n=$(($1 * 5))
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}
listed() { "$LKVM" list 2>/dev/null | grep -q "^$name "; }
ticking() { [ "$(ticks)" -ge "$1" ]; }

finish() {
	t0=$(cut -d ' ' -f 1 /proc/uptime)
	"$LKVM" stop --name "$name"
	say "stop rc $?"
	t1=$(cut -d ' ' -f 1 /proc/uptime)
	say "stop took $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
	"$LKVM" list | grep -q "^$name " && say "still listed after stop"
	say done
	exit 0
}

wait_for 60 listed || { say "VM never listed"; finish; }
wait_for 60 ticking 3 || { say "guest never ticked"; finish; }

say "list: $("$LKVM" list | grep "^$name ")"
"$LKVM" run -k "$KIT/vmlinuz" --name "$name" >/dev/null 2>dup.err
say "duplicate name rc $? $(cat dup.err)"
"$LKVM" stop --name no-such-vm 2>unknown.err
say "unknown name rc $? $(cat unknown.err)"

"$LKVM" pause --name "$name"
say "pause rc $?"
"$LKVM" pause --name "$name" 2>again.err
say "pause again rc $? $(cat again.err)"
say "list paused: $("$LKVM" list | grep "^$name ")"
sleep 0.5
t1=$(ticks)
sleep 2
t2=$(ticks)
say "ticks while paused $((t2 - t1))"

"$LKVM" debug --name "$name" --regs=0 >regs.out 2>&1
say "regs rc $?"
sed 's/^/ctl: regs: /' regs.out
rip=$(sed -n 's/.*RIP \([0-9a-f]*\) .*/\1/p' regs.out | head -n 1)
"$LKVM" debug --name "$name" --walk "0x$rip" 2>&1 | sed 's/^/ctl: walk: /'
# The default: every vCPU's registers, each with the walk of its RIP.
"$LKVM" debug --name "$name" >dflt.out 2>&1
say "default debug rc $?"
sed -n -e 's/^ *walk of RIP: /ctl: dflt walk: /p' \
	-e 's/^ *-> /ctl: dflt walk -> /p' dflt.out
"$LKVM" debug --name "$name" --walk --cpu 1 2>&1 | sed 's/^/ctl: walk pc: /'
"$LKVM" debug --name "$name" --mem 0xe0000 16 2>&1 | sed 's/^/ctl: mem: /'
"$LKVM" debug --name "$name" --mem 0xfffffffff000 16 >/dev/null 2>bad.err
say "mem outside RAM rc $? $(cat bad.err)"

"$LKVM" resume --name "$name"
say "resume rc $?"
t3=$(ticks)
wait_for 30 ticking $((t3 + 3)) && say "ticking again"

"$LKVM" debug --name "$name" --sysrq m >/dev/null
say "sysrq rc $?"
"$LKVM" debug --name "$name" --nmi 0 >/dev/null
say "nmi rc $?"
sleep 2
finish
