# make bench: lkvm's virtio-blk against QEMU's virtio-blk-pci, guest dd
# of a 256 MiB image, in one machine (tests/bench/README.md); then lkvm
# migrate against QEMU's migration (tests/bench/migrate.bats).  Not part
# of make check.  Included by tests/tests.mk, which defines KIT_OUT and BATS.
#
#   make bench                       3 boots per VMM and direction
#   make bench BENCH_REPS=1          a quick look (about 2 minutes in L1)
#
# The table goes to stdout and to tests/kit/out/bench/result.txt; the raw
# runs stay in tests/kit/out/e2e/bench/.

BENCH_RESULT := $(KIT_OUT)/bench/result.txt
BENCH_MIGRATE := $(KIT_OUT)/bench/migrate.txt

bench: lkvm lkvm-static kit
	@rm -f $(BENCH_RESULT) $(BENCH_MIGRATE)
	@rc=0; $(BATS) tests/bench/bench.bats || rc=$$?; \
	$(BATS) tests/bench/migrate.bats || rc=$$?; \
	if [ -f $(BENCH_RESULT) ]; then echo; cat $(BENCH_RESULT); fi; \
	if [ -f $(BENCH_MIGRATE) ]; then echo; cat $(BENCH_MIGRATE); fi; \
	exit $$rc

# The migration part alone.
bench-migrate: lkvm lkvm-static kit
	$(BATS) tests/bench/migrate.bats

.PHONY: bench bench-migrate
