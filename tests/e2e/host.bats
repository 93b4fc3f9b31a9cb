#!/usr/bin/env bats
# lkvm run straight on this host's KVM, with the tiny bzImage guest
# (tests/kit/tiny/tiny.S, built by make tiny or make e2e).  A stock kernel
# cannot run on an interpreting KVM, but the tiny guest can, in
# milliseconds, so these cases need no emulated L1: every way a guest ends
# itself, lkvm's answers to bad input, and the control channel against a
# live VM.  Each lkvm runs under a timeout; each case checks the exit
# status and what lkvm or the guest said.

load ../lib/e2e
load ../lib/tiny

setup() {
	# Control sockets live in $HOME/.lkvm: never the user's own.
	export HOME=$BATS_TEST_TMPDIR
	BG_PIDS=()	# background VMs not waited for yet (tick_start)
	BG_ERRS=()	# the stderr files of every background VM
}

teardown() {
	local pid

	# A VM that a failed case left running: its timeout passes SIGTERM on.
	for pid in "${BG_PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	# Its stderr is complete once it has gone.
	for pid in "${BG_PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	tsan_clean "${BG_ERRS[@]}"
}

# tiny_run MODE [LKVM RUN ARGS]: boot the tiny guest in MODE, in the
# foreground.  --timeout 10 ends a guest that fails to end itself.
tiny_run() {
	local mode=$1
	shift
	need_tiny
	e2e_host_lkvm run -k "$TINY" -p "tiny.mode=$mode" --timeout 10 "$@"
}

# one_error_line TEXT...: stderr is one "lkvm: " line holding each TEXT.
one_error_line() {
	local t

	[ "${#stderr_lines[@]}" -eq 1 ] || {
		echo "expected one line on stderr, got ${#stderr_lines[@]}"
		return 1
	}
	[[ $stderr == "lkvm: "* ]]
	for t in "$@"; do
		[[ $stderr == *"$t"* ]] || {
			echo "stderr lacks: $t"
			return 1
		}
	done
}

@test "host: tiny hello prints on COM1 and powers off by ACPI: exit 0" {
	tiny_run hello
	[ "$status" -eq 0 ]
	[[ $output == *"tiny: hello from a tiny bzImage; powering off"* ]]
	[[ $output != *"still running"* ]]
	[[ $stderr == *"guest powered off"* ]]
}

@test "host: tiny reboot through the i8042 is exit 0, saying so" {
	tiny_run reboot-kbd
	[ "$status" -eq 0 ]
	[[ $output == *"tiny: rebooting through the i8042"* ]]
	[[ $stderr == *"guest rebooted (i8042 reset)"* ]]
}

@test "host: tiny reboot through port 0xcf9 is exit 0, saying so" {
	tiny_run reboot-cf9
	[ "$status" -eq 0 ]
	[[ $output == *"tiny: rebooting through port 0xcf9"* ]]
	[[ $stderr == *"guest rebooted"* ]]
}

# Linux reboots through the ports above; it triple-faults on purpose only
# after saying so.  A triple fault out of the blue is a crash, with the
# registers to debug it, never a clean reboot.
@test "host: an unannounced triple fault is a crash: exit 6, with the registers" {
	tiny_run triple
	[ "$status" -eq 6 ]
	[[ $output == *"tiny: triple fault"* ]]
	[[ $stderr == *"guest crashed: triple fault on vCPU 0, with no reboot requested"* ]]
	# Intel keeps the faulting state (the ud2); KVM on AMD resets the
	# vCPU at a triple fault, and lkvm must then say the state is lost.
	if [[ $stderr == *"the power-on state: KVM on AMD resets"* ]]; then
		[[ $stderr == *"RIP 000000000000fff0"* ]]
	else
		[[ $stderr == *"RIP 0000000000"* ]]
		[[ $stderr == *"code at RIP: 0f 0b"* ]]	# ud2
	fi
}

@test "host: a triple fault after a reset request (SYS_RST to 0xcf9) is a reboot: exit 0" {
	tiny_run triple-cf9
	[ "$status" -eq 0 ]
	[[ $output == *"tiny: SYS_RST to 0xcf9, then a triple fault"* ]]
	[[ $stderr == *"guest rebooted (triple fault on vCPU 0)"* ]]
}

@test "host: a triple fault after the kernel's 'reboot: Restarting system' is a reboot: exit 0" {
	tiny_run triple-said
	[ "$status" -eq 0 ]
	[[ $stderr == *"guest rebooted (triple fault on vCPU 0)"* ]]
}

@test "host: pvpanic is a guest panic: exit 3" {
	tiny_run panic
	[ "$status" -eq 3 ]
	[[ $output == *"tiny: panicking through pvpanic"* ]]
	[[ $stderr == *"guest kernel panicked (pvpanic)"* ]]
}

@test "host: the tiny guest refuses an unknown mode (no false power-off)" {
	tiny_run no-such-mode
	[ "$status" -eq 3 ]
	[[ $output == *"tiny: unknown tiny.mode 'no-such-mode'"* ]]
}

# Executing from a guest physical address with no memory behind it: KVM
# must emulate the fetch and cannot.  On hardware virtualization (VMX/SVM
# with EPT/NPT) that is an EPT violation with no memslot, and KVM's
# emulator fails to fetch: KVM_EXIT_INTERNAL_ERROR, suberror 1.  This
# host's interpreting KVM reports exactly the same.
@test "host: executing where no memory is: KVM internal error, exit 4, RIP shown" {
	tiny_run mmio-exec
	[ "$status" -eq 4 ]
	[[ $output == *"tiny: jumping to 0xf0000000"* ]]
	[[ $stderr == *"KVM internal error on vCPU 0: suberror 1 (instruction emulation failed)"* ]]
	[[ $stderr == *"RIP 00000000f0000000"* ]]
	# The rest of the report survives too, down to the code at RIP.
	[[ $stderr == *"EFER"* ]]
	[[ $stderr == *"code at RIP: (not in guest RAM)"* ]]
}

# Everything lkvm set up is torn down at a normal exit: the devices of
# the table, the platform's (power ports, PCI bus), the VM.  A leak here
# grows with every device a kernel developer adds.
@test "host: a normal exit frees everything (valgrind finds no leak)" {
	local d=$BATS_TEST_TMPDIR
	need_tiny
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	# Under make tsan: valgrind kills any ThreadSanitizer program (137).
	[[ $E2E_LKVM != *-tsan ]] ||
		skip "valgrind cannot run a ThreadSanitizer build"
	truncate -s 1M "$d/a.img" "$d/b.img"
	run --separate-stderr timeout -k 5 120 valgrind -q --leak-check=full \
		--errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=99 "$E2E_LKVM" run -k "$TINY" -p tiny.mode=hello \
		-c 2 -d "$d/a.img" -d "$d/b.img,ro" --name leaks </dev/null
	printf '%s\n' "$stderr"
	[ "$status" -eq 0 ]
	[[ $output == *"tiny: hello"* ]]
	[[ $stderr != *"definitely lost"* ]]
}

# The timeout ends a guest that never ends itself, and not before its
# time.  How soon after depends on the host's load, so the upper bound is
# only "it ended by itself", well inside the 30 s outer timeout.
@test "host: a hung guest (cli; hlt) with --timeout 2 is exit 5, not before 2 s" {
	local t0 t1
	t0=$(date +%s%N)
	tiny_run hang --timeout 2
	t1=$(date +%s%N)
	[ "$status" -eq 5 ]
	[[ $output == *"tiny: hanging with interrupts off"* ]]
	[[ $stderr == *"timeout: guest still running after 2 s"* ]]
	(( t1 - t0 >= 2000000000 ))
	(( t1 - t0 < 20000000000 ))
}

@test "host: a truncated kernel is exit 1 with one line" {
	need_tiny
	head -c 1500 "$TINY" >"$BATS_TEST_TMPDIR/short"
	e2e_host_lkvm run -k "$BATS_TEST_TMPDIR/short"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	one_error_line "$BATS_TEST_TMPDIR/short" "truncated"
}

@test "host: a kernel without the HdrS signature is exit 1 with one line" {
	need_tiny
	cp "$TINY" "$BATS_TEST_TMPDIR/flipped"
	printf 'HdrT' | dd of="$BATS_TEST_TMPDIR/flipped" bs=1 seek=$((0x202)) \
		conv=notrunc status=none
	e2e_host_lkvm run -k "$BATS_TEST_TMPDIR/flipped"
	[ "$status" -eq 1 ]
	one_error_line "$BATS_TEST_TMPDIR/flipped" '"HdrS"'
}

@test "host: an ELF file that is no x86-64 vmlinux is exit 1 with one line" {
	e2e_require_kvm
	# A static x86-64 program: a good ELF executable, but no kernel.
	e2e_host_lkvm run -k "$E2E_LKVM_STATIC"
	[ "$status" -eq 1 ]
	one_error_line "$E2E_LKVM_STATIC" "not a kernel"
	# The same cut short, in the middle of its first segment.
	head -c 8192 "$E2E_LKVM_STATIC" >"$BATS_TEST_TMPDIR/short.elf"
	e2e_host_lkvm run -k "$BATS_TEST_TMPDIR/short.elf"
	[ "$status" -eq 1 ]
	one_error_line "$BATS_TEST_TMPDIR/short.elf" "truncated"
}

@test "host: an arm64 Image is exit 1 with one line saying what it is" {
	local img=$BATS_TEST_TMPDIR/Image

	e2e_require_kvm
	# The arm64 Image header (Documentation/arch/arm64/booting.rst):
	# code0/1, text_offset, image_size, flags, res2-4, then "ARM\x64" at
	# 56.  Padded to a page, as a real one is far longer.
	{
		printf '\x4d\x5a\x00\x91\x00\x00\x00\x14'	# add x13, x18, #0x16; b
		printf '\x00\x00\x00\x00\x00\x00\x00\x00'	# text_offset 0
		printf '\x00\x00\x01\x00\x00\x00\x00\x00'	# image_size 64 KiB
		printf '\x0a\x00\x00\x00\x00\x00\x00\x00'	# flags: LE, 4K pages
		head -c 24 /dev/zero				# res2, res3, res4
		printf 'ARM\x64'				# magic
		head -c 4 /dev/zero				# res5
		head -c 4032 /dev/zero
	} >"$img"
	[ "$(stat -c %s "$img")" -eq 4096 ]
	e2e_host_lkvm run -k "$img"
	[ "$status" -eq 1 ]
	one_error_line "$img" "arm64 Image" "not an x86 bzImage"
}

@test "host: a missing initrd is exit 1 with one line naming it" {
	need_tiny
	e2e_host_lkvm run -k "$TINY" -i /nonexistent/initrd.img
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	one_error_line "/nonexistent/initrd.img" "No such file"
}

@test "host: an empty kernel and one of random bytes are exit 1 with one line" {
	local f
	need_tiny
	: >"$BATS_TEST_TMPDIR/empty"
	head -c 65536 /dev/urandom >"$BATS_TEST_TMPDIR/random"
	for f in empty random; do
		e2e_host_lkvm run -k "$BATS_TEST_TMPDIR/$f"
		[ "$status" -eq 1 ]
		[ -z "$output" ]
		one_error_line "$BATS_TEST_TMPDIR/$f"
	done
}

@test "host: an empty initrd is exit 1 with one line saying so" {
	need_tiny
	: >"$BATS_TEST_TMPDIR/initrd"
	e2e_host_lkvm run -k "$TINY" -i "$BATS_TEST_TMPDIR/initrd"
	[ "$status" -eq 1 ]
	one_error_line "$BATS_TEST_TMPDIR/initrd" "is empty"
}

@test "host: -m 1 and more memory than the host has are usage errors, exit 2" {
	local host_mib
	need_tiny
	e2e_host_lkvm run -k "$TINY" -m 1
	[ "$status" -eq 2 ]
	one_error_line "-m 1" "at least 2 MiB"
	host_mib=$(awk '/^MemTotal:/ { print int($2 / 1024) }' /proc/meminfo)
	e2e_host_lkvm run -k "$TINY" -m $((host_mib * 2))
	[ "$status" -eq 2 ]
	one_error_line "-m $((host_mib * 2))" "more memory than the host has"
}

@test "host: -c 256 (more than the MADT can name) is a usage error, exit 2" {
	need_tiny
	e2e_host_lkvm run -k "$TINY" -c 256
	[ "$status" -eq 2 ]
	one_error_line "-c 256" "at most"
}

# Both need root to take /dev/kvm away from lkvm; CI runs as root.
@test "host: no /dev/kvm is exit 1 with one line saying what to do" {
	need_tiny
	[[ $(id -u) == 0 ]] || skip "needs root to hide /dev/kvm in a mount namespace"
	unshare --mount true 2>/dev/null || skip "unshare --mount is not allowed here"
	run --separate-stderr timeout 30 unshare --mount sh -c \
		'mount -t tmpfs none /dev && exec "$0" run -k "$1"' "$E2E_LKVM" "$TINY"
	echo "exit $status: $stderr"
	[ "$status" -eq 1 ]
	one_error_line "/dev/kvm does not exist"
}

@test "host: no permission on /dev/kvm is exit 1 with one line saying what to do" {
	need_tiny
	[[ $(id -u) == 0 ]] || skip "needs root to run lkvm as another user"
	setpriv --reuid=65534 --regid=65534 --clear-groups test -r /dev/kvm -a -w /dev/kvm &&
		skip "/dev/kvm is open to everyone here"
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$E2E_LKVM" ||
		skip "user nobody cannot run $E2E_LKVM"
	run --separate-stderr timeout 30 setpriv --reuid=65534 --regid=65534 \
		--clear-groups "$E2E_LKVM" run -k "$TINY"
	echo "exit $status: $stderr"
	[ "$status" -eq 1 ]
	one_error_line "no permission to open /dev/kvm"
}

@test "host: -m 0 is a usage error, exit 2" {
	e2e_host_lkvm run -k "$TINY" -m 0
	[ "$status" -eq 2 ]
	one_error_line "-m 0"
}

@test "host: -c 0 is a usage error, exit 2" {
	e2e_host_lkvm run -k "$TINY" -c 0
	[ "$status" -eq 2 ]
	one_error_line "-c 0"
}

@test "host: -c 100000 is a usage error, exit 2" {
	e2e_host_lkvm run -k "$TINY" -c 100000
	[ "$status" -eq 2 ]
	one_error_line "-c 100000"
}

@test "host: an unknown command is a usage error, exit 2" {
	e2e_host_lkvm frobnicate
	[ "$status" -eq 2 ]
	one_error_line "unknown command 'frobnicate'"
}

@test "host: console input the guest never reads does not stall it" {
	need_tiny
	# More than the UART's FIFO holds: lkvm must stop reading, not block.
	run --separate-stderr bash -c 'head -c 100000 /dev/zero |
		timeout -k 5 30 "$0" run -k "$1" -p tiny.mode=tick --timeout 2' \
		"$E2E_LKVM" "$TINY"
	[ "$status" -eq 5 ]
	# Ten ticks a second, give or take start-up.
	(($(grep -c 'tiny: tick' <<<"$output") >= 15))
}

# --- The terminal and stdout -------------------------------------------

# pty_signal SIG: the tick guest on a fresh terminal, sent SIG after 0.5 s;
# sets pty_report to tests/kit/pty-signal.c's line.
pty_signal() {
	need_tiny
	[[ -x $KIT_OUT/pty-signal ]] || {
		echo "$KIT_OUT/pty-signal is not built (make kit)"
		return 1
	}
	pty_report=$(timeout -k 5 30 "$KIT_OUT/pty-signal" "$1" 500 \
		"$E2E_LKVM" run -k "$TINY" -p tiny.mode=tick --timeout 10)
	echo "pty-signal $1: $pty_report"
}

@test "host: on a terminal, raw mode; SIGTERM, SIGHUP, SIGQUIT end lkvm with the terminal restored" {
	local sig n
	for sig in TERM:15 HUP:1 QUIT:3 ALRM:14; do
		n=${sig#*:}
		pty_signal "${sig%:*}"
		[[ $pty_report == "raw-during=1 exit=$((128 + n)) restored=1" ]]
	done
}

@test "host: SIGTSTP gives the terminal back while stopped; SIGCONT takes it raw again" {
	pty_signal TSTP
	[[ $pty_report == "raw-during=1 stopped-cooked=1 raw-after-cont=1 exit=143 restored=1" ]]
}

@test "host: a stdout nobody reads stalls the guest, loses nothing, and does not keep lkvm from ending" {
	local d=$BATS_TEST_TMPDIR rc secs n partial
	need_tiny
	# The reader reads nothing until lkvm has exited: the pipe (64 KiB)
	# and lkvm's ring fill, the UART stalls the guest, and --timeout must
	# still end lkvm.  An lkvm that waited for its reader would never
	# write rc, and the outer timeout would fail the test.
	timeout -k 5 30 bash -c 's=$SECONDS
		"$0" run -k "$1" -p tiny.mode=flood --timeout 4 2>"$2/err" </dev/null
		echo "$? $((SECONDS - s))" >"$2/rc"' "$E2E_LKVM" "$TINY" "$d" |
		(n=0; while [ ! -s "$d/rc" ] && ((n++ < 400)); do sleep 0.1; done
			cat >"$d/out")
	cat "$d/err"
	read -r rc secs <"$d/rc"
	echo "lkvm exit $rc after $secs s; $(wc -l <"$d/out") lines read"
	[ "$rc" -eq 5 ]
	((secs >= 4))
	# What got through is every line from the first on, none dropped.
	# The timeout may cut the guest mid-line: a last line without its
	# newline must be the start of the line that was due, no more.
	n=$(wc -l <"$d/out")	# the complete lines
	((n >= 1000))
	head -n "$n" "$d/out" | awk '{ sub(/\r$/, "") }
		$0 != "tiny: flood " NR - 1 { print "line " NR ": " $0; bad = 1 }
		END { exit bad }'
	if [[ -n $(tail -c 1 "$d/out") ]]; then
		partial=$(tail -n 1 "$d/out" | tr -d '\r')
		echo "cut mid-line: '$partial'"
		[[ "tiny: flood $n" == "$partial"* ]]
	fi
}

@test "host: a stdout that goes away (SIGPIPE) only drops the guest's output" {
	need_tiny
	run --separate-stderr bash -c '"$0" run -k "$1" -p tiny.mode=tick \
		--timeout 2 </dev/null | head -c 20 >/dev/null
		exit "${PIPESTATUS[0]}"' "$E2E_LKVM" "$TINY"
	echo "exit $status; $stderr"
	[ "$status" -eq 5 ]
	[[ $stderr == *"timeout: guest still running after 2 s"* ]]
}

# --- The control channel, against the tiny guest printing ticks ---------

# tick_start NAME [ARGS]: start `lkvm run --name NAME` of the tick guest
# in the background, under a timeout.  Its console goes to NAME.out, its
# stderr to NAME.err; BG_PID is the timeout's pid.  Returns once the VM
# is listed and ticking.
tick_start() {
	local name=$1 d=$BATS_TEST_TMPDIR
	shift
	need_tiny
	# fd 3 is bats' own: a background child holding it stalls bats.
	timeout -k 5 30 "$E2E_LKVM" run -k "$TINY" --name "$name" \
		-p tiny.mode=tick "$@" </dev/null >"$d/$name.out" \
		2>"$d/$name.err" 3>&- &
	BG_PID=$!
	BG_PIDS+=("$BG_PID")
	BG_ERRS+=("$d/$name.err")
	wait_until 5 ticks_at_least "$name" 2 || {
		echo "VM $name never ticked; its stderr:"
		cat "$d/$name.err"
		return 1
	}
	wait_until 5 listed "$name" || {
		echo "VM $name never listed"
		return 1
	}
}


ticks() { grep -c 'tiny: tick' "$BATS_TEST_TMPDIR/$1.out" 2>/dev/null || true; }
ticks_at_least() { (($(ticks "$1") >= $2)); }
listed() { "$E2E_LKVM" list 2>/dev/null | grep -q "^$1 "; }
# exited PID: the process has exited; its parent may not have reaped it yet.
exited() {
	local st
	st=$(ps -o stat= -p "$1") || return 0
	[[ $st == Z* ]] || {
		echo "pid $1 is still running ($st)"
		return 1
	}
}

# bg_status PID: wait (at most 5 s) for a background lkvm; sets bg_rc.
bg_status() {
	local p left=()

	wait_until 5 gone "$1" || {
		echo "lkvm (under timeout pid $1) is still running"
		return 1
	}
	bg_rc=0
	wait "$1" || bg_rc=$?
	# Waited for: teardown must not signal a pid that may be reused.
	for p in "${BG_PIDS[@]}"; do
		[[ $p == "$1" ]] || left+=("$p")
	done
	BG_PIDS=("${left[@]}")
}

# stop_ok NAME: lkvm stop -n NAME, the VM started last by tick_start,
# succeeds, and that lkvm exits 0 for it.
stop_ok() {
	ctl stop -n "$1"
	[ "$status" -eq 0 ] || return 1
	bg_status "$BG_PID" || return 1
	[ "$bg_rc" -eq 0 ] || {
		echo "lkvm run --name $1 exited $bg_rc; its stderr:"
		cat "$BATS_TEST_TMPDIR/$1.err"
		return 1
	}
}

# ctl ARGS: an lkvm control command, under a timeout, with bats' run.
ctl() {
	run --separate-stderr timeout -k 5 20 "$E2E_LKVM" "$@" </dev/null
	echo "lkvm $*: exit $status"
	printf '%s\n' "$output" "$stderr"
}

@test "control: list and list --json show the running tiny VM" {
	local pid
	tick_start t1
	ctl list
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "NAME "*"PID"*"STATE"* ]]
	[[ $output =~ (^|$'\n')t1\ +([0-9]+)\ +running\ +1\ +256\ +00:00:0[0-9] ]]
	pid=${BASH_REMATCH[2]}
	# The pid is lkvm itself, the child of the timeout we started.
	[ "$(ps -o ppid= -p "$pid" | tr -d ' ')" -eq "$BG_PID" ]

	ctl list --json
	[ "$status" -eq 0 ]
	jq -e --argjson pid "$pid" 'length == 1 and .[0].name == "t1" and
		.[0].pid == $pid and .[0].state == "running" and
		.[0].vcpus == 1 and .[0].mem_mib == 256 and
		(.[0].uptime_s | type) == "number"' <<<"$output"
	stop_ok t1
}

# Two vCPUs here and below: vCPU 1 is never woken (no INIT/SIPI), so it
# sits in KVM_RUN for good, and only a kick gets it out for a pause or stop.
@test "control: pause quiets the console, list says paused, resume restarts it" {
	local n
	tick_start t1 -c 2
	ctl pause -n t1
	[ "$status" -eq 0 ]
	ctl list
	[[ $output =~ (^|$'\n')t1\ +[0-9]+\ +paused\ +2\  ]]
	# A tick is 0.1 s: 0.8 s paused would show several.  Lines the guest
	# wrote before the pause may still be on their way to stdout (lkvm
	# flushes within 10 ms), so count from a moment after it.
	sleep 0.2
	n=$(ticks t1)
	sleep 0.8
	[ "$(ticks t1)" -eq "$n" ]

	ctl pause -n t1
	[ "$status" -eq 1 ]
	[[ $stderr == *"lkvm pause: VM 't1' is already paused"* ]]

	ctl resume -n t1
	[ "$status" -eq 0 ]
	wait_until 3 ticks_at_least t1 $((n + 3))
	ctl list
	[[ $output =~ (^|$'\n')t1\ +[0-9]+\ +running\  ]]
	ctl resume -n t1
	[ "$status" -eq 1 ]
	[[ $stderr == *"already running"* ]]
	stop_ok t1
}

@test "control: debug --regs, --mem and --sysrq on the tiny guest, which runs on" {
	local rip n gva
	tick_start t1 -c 2
	ctl debug -n t1 --regs
	[ "$status" -eq 0 ]
	[[ $output == *"vCPU 0 "* ]]
	# vCPU 1 still has its reset state: CS:IP f000:fff0.
	[[ $output =~ vCPU\ 1\ .*RIP\ 000000000000fff0 ]]
	[[ $output =~ RIP\ ([0-9a-f]{16}) ]]
	rip=$((16#${BASH_REMATCH[1]}))
	# Inside the loaded image: 1 MiB + its 64-bit entry and code.
	((rip >= 0x100200 && rip < 0x100000 + $(stat -c %s "$TINY")))
	# Long mode with paging, as lkvm entered it; and the code bytes.
	[[ $output =~ CR0\ 00000000e0000011 ]]
	[[ $output =~ EFER\ 0000000000000500 ]]
	[[ $output =~ code\ at\ RIP:(\ [0-9a-f]{2}){16} ]]
	# Under each vCPU, the walk of its RIP: lkvm's boot page tables map
	# the first GiB 1:1 with 2M pages.  vCPU 1 has paging off.
	[[ $output =~ walk\ of\ RIP:\ gva\ 0x([0-9a-f]+)\ cr3 ]]
	gva=$((16#${BASH_REMATCH[1]}))
	((gva >= 0x100200 && gva < 0x100000 + $(stat -c %s "$TINY")))
	[[ $output =~ \ -\>\ gpa\ 0x([0-9a-f]+)\ \(2M\ page\)\ kernel\ rw\ exec ]]
	[ "$((16#${BASH_REMATCH[1]}))" -eq "$gva" ]
	[[ $output == *"walk of RIP: vCPU 1 is not in long-mode paging"* ]]
	# --walk alone walks vCPU 0's RIP.
	ctl debug -n t1 --walk
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "walk of RIP: gva 0x"*" cr3 0x"* ]]
	[[ ${lines[-1]} == "  -> gpa 0x"*"(2M page) kernel rw exec" ]]
	# The zero page lkvm built: its copy of the setup header.
	ctl debug -n t1 --mem 0x7202 4
	[ "$status" -eq 0 ]
	[[ $output == *"48 64 72 53"*"|HdrS|"* ]]
	# A break and a key on COM1, which the tiny guest never reads.
	ctl debug -n t1 --sysrq h
	[ "$status" -eq 0 ]
	# The holds that debug took are released.
	n=$(ticks t1)
	wait_until 3 ticks_at_least t1 $((n + 2))
	stop_ok t1
}

@test "control: stop ends the VM with exit 0 within 2 s; list no longer shows it" {
	local t0 pid
	tick_start t1 -c 2
	ctl list --json
	pid=$(jq -r '.[0].pid' <<<"$output")
	t0=$(date +%s%N)
	ctl stop -n t1
	[ "$status" -eq 0 ]
	# stop returned after lkvm exited (its disks flushed), not before.
	exited "$pid"
	bg_status "$BG_PID"
	echo "# stop took $((($(date +%s%N) - t0) / 1000000)) ms" >&3
	(($(date +%s%N) - t0 < 2000000000))
	[ "$bg_rc" -eq 0 ]
	[[ $(<"$BATS_TEST_TMPDIR/t1.err") == *"stopped on request (lkvm stop)"* ]]
	ctl list
	[ "$status" -eq 0 ]
	[[ $output != *t1* ]]
	[ ! -e "$HOME/.lkvm/t1.sock" ]
}

@test "control: stop -a stops every VM" {
	local a b
	tick_start va
	a=$BG_PID
	tick_start vb
	b=$BG_PID
	ctl stop -a
	[ "$status" -eq 0 ]
	bg_status "$a"
	[ "$bg_rc" -eq 0 ]
	bg_status "$b"
	[ "$bg_rc" -eq 0 ]
	ctl list --json
	[ "$output" = "[]" ]
	[ -z "$(ls -A "$HOME/.lkvm")" ]
}

@test "control: list removes the socket of a VM killed with SIGKILL" {
	local pid
	tick_start t1
	ctl list --json
	pid=$(jq -r '.[0].pid' <<<"$output")
	[ "$(ps -o ppid= -p "$pid" | tr -d ' ')" -eq "$BG_PID" ]
	kill -9 "$pid"
	bg_status "$BG_PID"
	[ "$bg_rc" -eq 137 ]		# timeout: its child died of SIGKILL
	# Nobody cleaned up: the socket is left behind, and nothing listens.
	[ -S "$HOME/.lkvm/t1.sock" ]
	ctl list
	[ "$status" -eq 0 ]
	[[ $output != *t1* ]]
	[ ! -e "$HOME/.lkvm/t1.sock" ]
}
