# make bench: lkvm's virtio-blk against QEMU's virtio-blk-pci, guest dd
# of a 256 MiB image, then virtio-net against virtio-net-pci, iperf3 over
# a tap, in one machine (tests/bench/README.md); vsock; then lkvm migrate
# against QEMU's migration (tests/bench/migrate.bats).  Not part of make
# check.  Included by tests/tests.mk, which defines KIT_OUT and BATS.
#
#   make bench                       3 boots per VMM and direction
#   make bench BENCH_REPS=1          a quick look (about 2 minutes in L1)
#
# The table goes to stdout and to tests/kit/out/bench/result.txt; the raw
# runs stay in tests/kit/out/e2e/bench/.

BENCH_RESULT := $(KIT_OUT)/bench/result.txt
# The network half (tests/bench/net.bats): iperf3 over a tap, lkvm against
# QEMU's virtio-net-pci; `make bench-net` runs it alone.
NET_BENCH_RESULT := $(KIT_OUT)/bench/net-result.txt
BENCH_VSOCK  := $(KIT_OUT)/bench/vsock.txt
BENCH_MIGRATE := $(KIT_OUT)/bench/migrate.txt

# blk, net, vsock (tests/bench/vsock.bats: lkvm against QEMU's
# vhost-vsock-pci, and the wall time of lkvm run -- true), then migration,
# each in its own L1 boot.
bench: lkvm lkvm-static kit
	@rm -f $(BENCH_RESULT) $(NET_BENCH_RESULT) $(BENCH_VSOCK) $(BENCH_MIGRATE)
	@rc=0; $(BATS) tests/bench/bench.bats || rc=$$?; \
	$(BATS) tests/bench/net.bats || rc=$$?; \
	$(BATS) tests/bench/vsock.bats || rc=$$?; \
	$(BATS) tests/bench/migrate.bats || rc=$$?; \
	for f in $(BENCH_RESULT) $(NET_BENCH_RESULT) $(BENCH_VSOCK) $(BENCH_MIGRATE); do \
		if [ -f $$f ]; then echo; cat $$f; fi; \
	done; \
	exit $$rc

bench-net: lkvm lkvm-static kit
	@rm -f $(NET_BENCH_RESULT)
	@rc=0; $(BATS) tests/bench/net.bats || rc=$$?; \
	if [ -f $(NET_BENCH_RESULT) ]; then echo; cat $(NET_BENCH_RESULT); fi; \
	exit $$rc

# The migration part alone.
bench-migrate: lkvm lkvm-static kit
	$(BATS) tests/bench/migrate.bats

.PHONY: bench bench-net bench-migrate

-include tests/bench/boot.mk
