# make bench-boot: lkvm's boot and edit-build-boot loop against QEMU
# microvm and pc (tests/bench/boot.bats, tests/bench/README.md "Boot").
# make bench runs it too.  Included by tests/bench/bench.mk.
#
#   make bench-boot                  5 runs per VMM, about 10 minutes in L1
#   make bench-boot BOOT_REPS=1      a quick look
#
# The table goes to stdout and to tests/kit/out/bench/boot.txt; the raw
# runs stay in tests/kit/out/e2e/bench-boot/.

BOOT_RESULT := $(KIT_OUT)/bench/boot.txt

bench-boot: lkvm lkvm-static kit
	@rm -f $(BOOT_RESULT)
	@rc=0; $(BATS) tests/bench/boot.bats || rc=$$?; \
	if [ -f $(BOOT_RESULT) ]; then echo; cat $(BOOT_RESULT); fi; \
	exit $$rc

bench: bench-boot

.PHONY: bench-boot
