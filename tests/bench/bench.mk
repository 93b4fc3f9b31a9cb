# make bench: lkvm's virtio-blk against QEMU's virtio-blk-pci, guest dd
# of a 256 MiB image, in one machine (tests/bench/README.md).  Not part of
# make check.  Included by tests/tests.mk, which defines KIT_OUT and BATS.
#
#   make bench                       3 boots per VMM and direction
#   make bench BENCH_REPS=1          a quick look (about 2 minutes in L1)
#
# The table goes to stdout and to tests/kit/out/bench/result.txt; the raw
# runs stay in tests/kit/out/e2e/bench/.

BENCH_RESULT := $(KIT_OUT)/bench/result.txt

bench: lkvm lkvm-static kit
	@rm -f $(BENCH_RESULT)
	@rc=0; $(BATS) tests/bench/bench.bats || rc=$$?; \
	if [ -f $(BENCH_RESULT) ]; then echo; cat $(BENCH_RESULT); fi; \
	exit $$rc

.PHONY: bench

-include tests/bench/boot.mk
