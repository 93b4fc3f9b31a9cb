# Drives a running VM over its control socket while the guest ticks
# (tests/e2e/guest/ticker.sh).  Started in the background by a run's pre
# step, beside `lkvm run --name $1`; it reads the guest's console from
# $E2E_OUT/console and prints what it saw, one "ctl: ..." line each, for
# control.bats.  POSIX sh with busybox; it always ends with `lkvm stop`,
# so a failure here cannot leave the VM running.
name=$1
console=$E2E_OUT/console
me=ctl
. "$E2E_LIB/driver.sh"

ticks() { grep -c 'lkvm-guest: tick' "$console" 2>/dev/null || true; }
console_size() { wc -c <"$console" 2>/dev/null || echo 0; }
listed() { "$LKVM" list 2>/dev/null | grep -q "^$name "; }
ticking() { [ "$(ticks)" -ge "$1" ]; }
# The console did not grow for a second. After a pause, what the guest
# wrote before it may still be on its way through lkvm's output buffer;
# once that has drained, nothing more may come until resume.
settled() {
	a=$(console_size)
	sleep 1
	[ "$(console_size)" = "$a" ]
}

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
wait_for 10 settled || say "console still growing after pause"
s1=$(console_size)
t1=$(ticks)
sleep 2
say "ticks while paused $(($(ticks) - t1))"
say "console bytes while paused $(($(console_size) - s1))"

# Everything below until resume sees the same paused vCPUs: where each
# one is (kernel or user mode) is the guest's business, so control.bats
# checks that the dumps and walks agree with each other.
"$LKVM" debug --name "$name" --regs=0 >regs.out 2>&1
say "regs rc $?"
sed 's/^/ctl: regs: /' regs.out
rip=$(sed -n 's/.*RIP \([0-9a-f]*\) .*/\1/p' regs.out | head -n 1)
"$LKVM" debug --name "$name" --walk "0x$rip" 2>&1 | sed 's/^/ctl: walk: /'
# The default: every vCPU's registers, each with the walk of its RIP.
"$LKVM" debug --name "$name" >dflt.out 2>&1
say "default debug rc $?"
sed 's/^/ctl: dflt: /' dflt.out
# The guest memory at each walk's result, to hold against "code at RIP"
# (which the dump read itself, through its own translation): up to 16
# bytes, not past the page.
awk '/^vCPU [0-9]+ / { c = $2 } /^ *-> gpa 0x/ { print c, $3 }' dflt.out |
	while read -r c gpa; do
		len=$((4096 - (gpa & 4095)))
		[ "$len" -le 16 ] || len=16
		"$LKVM" debug --name "$name" --mem "$gpa" "$len" 2>&1 |
			sed "s/^/ctl: dflt mem $c: /"
	done
"$LKVM" debug --name "$name" --walk --cpu 1 2>&1 | sed 's/^/ctl: walk pc: /'
"$LKVM" debug --name "$name" --mem 0xe0000 16 2>&1 | sed 's/^/ctl: mem: /'
"$LKVM" debug --name "$name" --mem 0xfffffffff000 16 >/dev/null 2>bad.err
say "mem outside RAM rc $? $(cat bad.err)"

"$LKVM" resume --name "$name"
say "resume rc $?"
t3=$(ticks)
wait_for 30 ticking $((t3 + 3)) && say "ticking again"

# A vCPU paused in user mode: the guest's spinner (guest/ticker.sh) is
# there about half the time, so a few pauses find it; up to 30.
n=0
while [ $n -lt 30 ]; do
	"$LKVM" pause --name "$name" || break
	"$LKVM" debug --name "$name" >user.out 2>&1
	"$LKVM" resume --name "$name"
	grep -q '^  CS .* dpl 3$' user.out && break
	n=$((n + 1))
done
say "user mode after $n more pauses"
sed 's/^/ctl: user: /' user.out

"$LKVM" debug --name "$name" --sysrq m >/dev/null
say "sysrq rc $?"
wait_for 30 seen "sysrq: Show Memory" && say "sysrq answered"
"$LKVM" debug --name "$name" --nmi 0 >/dev/null
say "nmi rc $?"
wait_for 30 seen "NMI received for unknown reason" && say "nmi answered"
finish
