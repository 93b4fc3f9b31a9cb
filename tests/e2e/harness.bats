#!/usr/bin/env bats
# The e2e harness itself (tests/lib/e2e.bash, plan-exec.sh), with a fake
# lkvm on the host: results of several runs come back apart, arguments
# survive quoting, pre and post steps run in the run's directory, and a
# run that hangs or whose pre step fails is reported, never passed.
# The emulated-L1 transport is covered by every real boot test.

load ../lib/e2e

setup_file() {
	e2e_ship_ext4 fs.img 8
	e2e_run zero --append fake.exit=0
	e2e_run three --append fake.exit=3
	e2e_run quoting --append "it's \"quoted\" \$HOME *" \
		--pre 'disk_pattern data.img 2' \
		--post 'md5sum data.img; ls ship kit'
	e2e_run hangs --limit 2 --append fake.hang
	e2e_run prefails --pre 'false; echo not reached'
	e2e_run raw --raw -- --version fake.exit=7
	E2E_PATH=direct E2E_LKVM=$E2E_LIB/fake-lkvm.sh e2e_execute
}

@test "harness: each run's exit status and console come back apart" {
	e2e_result zero
	e2e_assert_status 0
	e2e_assert_console "lkvm.scenario=zero fake.exit=0"
	e2e_refute_console "fake diagnostic"
	e2e_assert_stderr "lkvm: fake diagnostic"
	e2e_result three
	e2e_assert_status 3
	e2e_assert_console "lkvm.scenario=three fake.exit=3"
}

@test "harness: arguments reach lkvm unchanged" {
	e2e_result quoting
	e2e_assert_console "it's \"quoted\" \$HOME *"
	e2e_result raw
	e2e_assert_status 7
	[ "$output" = "fake-console: --version fake.exit=7" ]
}

@test "harness: pre and post steps run beside the kit and shipped files" {
	e2e_result quoting
	[ "$e2e_post_status" -eq 0 ]
	[[ $e2e_post == *"$(yes lkvm-disk-pattern | head -c 2097152 | md5sum | cut -d ' ' -f 1)"* ]]
	[[ $e2e_post == *fs.img* ]]
	[[ $e2e_post == *vmlinuz* ]]
}

@test "harness: a run stopped by its outer timeout is a failure" {
	run e2e_result hangs
	[ "$status" -eq 1 ]
	[[ $output == *"outer timeout stopped it"* ]]
}

@test "harness: a failed pre step is a failure" {
	run e2e_result prefails
	[ "$status" -eq 1 ]
	[[ $output == *"pre step of run 'prefails' failed"* ]]
	[[ $output != *"not reached"* ]]
}

@test "harness: an unplanned run is a failure" {
	run e2e_result nosuchrun
	[ "$status" -eq 1 ]
}
