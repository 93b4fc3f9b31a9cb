#!/usr/bin/env bats
# The control channel against a real guest: while the guest prints a tick
# five times a second (guest/ticker.sh), tests/e2e/ctl-driver.sh lists,
# pauses, inspects, resumes and finally stops the VM with lkvm's own
# subcommands, and reports what it saw.

load ../lib/e2e

setup_file() {
	e2e_ship "$BATS_TEST_DIRNAME/ctl-driver.sh"
	e2e_run ticker --limit 90 \
		--pre 'sh ship/ctl-driver.sh ctl-test >ctl.out 2>&1 &' \
		--post 'n=0; while ! grep -q "^ctl: done" ctl.out && [ $n -lt 50 ]; do
				sleep 0.2; n=$((n + 1)); done; cat ctl.out' \
		-- -c 2 --name ctl-test --timeout 75
	e2e_execute
}

# ctl TEXT: the driver reported a line containing TEXT.
ctl() {
	[[ $e2e_post == *"$1"* ]] || {
		echo "the driver did not report '$1'; it said:"
		printf '%s\n' "$e2e_post"
		return 1
	}
}

@test "control: lkvm list shows the running VM, its vCPUs and memory" {
	e2e_result ticker
	ctl "list: ctl-test "
	[[ $e2e_post =~ ctl:\ list:\ ctl-test\ +[0-9]+\ +running\ +2\ +[0-9]+ ]]
}

@test "control: lkvm stop ends the VM with exit 0 and says why" {
	e2e_result ticker
	ctl "stop rc 0"
	e2e_assert_status 0
	e2e_assert_stderr "lkvm stop"
	[[ $e2e_post != *"still listed after stop"* ]]
	# Within a second or two (stop waits for lkvm to exit); report it.
	[[ $e2e_post =~ stop\ took\ ([0-9.]+)\ s ]]
	e2e_note "lkvm stop took ${BASH_REMATCH[1]} s in L1"
}

@test "control: a second VM with the same name is refused" {
	e2e_result ticker
	ctl "duplicate name rc 1 lkvm: "
	ctl "'ctl-test' is already running"
}

@test "control: an unknown VM name is a clear error" {
	e2e_result ticker
	ctl "unknown name rc 1 lkvm stop: no VM named 'no-such-vm'"
}

@test "control: pause stops the guest; list says paused; pause twice says so" {
	e2e_result ticker
	ctl "pause rc 0"
	ctl "ticks while paused 0"
	[[ $e2e_post =~ ctl:\ list\ paused:\ ctl-test\ +[0-9]+\ +paused ]]
	ctl "pause again rc 1"
	ctl "already paused"
}

@test "control: resume lets the guest run on" {
	e2e_result ticker
	ctl "resume rc 0"
	ctl "ticking again"
}

@test "control: debug --regs dumps a paused vCPU's registers" {
	e2e_result ticker
	ctl "regs rc 0"
	[[ $e2e_post =~ ctl:\ regs:\ +RIP\ ffffffff[0-9a-f]{8} ]]
	ctl "regs:   CR0 "
	ctl "regs:   code at RIP:"
}

@test "control: debug --walk translates the vCPU's RIP through its page tables" {
	e2e_result ticker
	# The Debian kernel uses 5-level paging when the CPU has LA57.
	[[ $e2e_post =~ ctl:\ walk:\ +PML(4|5)E\[ ]]
	ctl "ctl: walk:   -> gpa 0x"
}

@test "control: debug walks each vCPU's RIP; --walk alone walks RIP" {
	local n
	e2e_result ticker
	ctl "default debug rc 0"
	# Both vCPUs are in the kernel (KASLR: 0xffffffff8... to b...), and
	# their RIPs translate.
	n=$(grep -cE '^ctl: dflt walk: gva 0xffffffff[89ab][0-9a-f]{7} cr3 ' \
		<<<"$e2e_post" || true)
	[ "$n" -eq 2 ]
	n=$(grep -c '^ctl: dflt walk -> gpa 0x' <<<"$e2e_post" || true)
	[ "$n" -eq 2 ]
	[[ $e2e_post =~ ctl:\ walk\ pc:\ walk\ of\ RIP:\ gva\ 0xffffffff[89ab][0-9a-f]{7}\  ]]
	ctl "ctl: walk pc:   -> gpa 0x"
}

@test "control: debug --mem reads guest memory; outside RAM is an error" {
	e2e_result ticker
	# The ACPI RSDP that lkvm put at 0xe0000.
	ctl "mem: "
	[[ $e2e_post == *"ctl: mem: "*"RSD PTR"* ]]
	[[ $e2e_post =~ ctl:\ mem\ outside\ RAM\ rc\ 1\ .*not\ guest\ RAM ]]
}

@test "control: debug --sysrq and --nmi reach the guest kernel" {
	e2e_result ticker
	ctl "sysrq rc 0"
	e2e_assert_console "sysrq: Show Memory"
	ctl "nmi rc 0"
	e2e_assert_console "NMI received for unknown reason"
}
