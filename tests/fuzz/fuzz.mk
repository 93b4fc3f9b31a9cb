# Fuzz targets (libFuzzer, clang).  From the top of the tree:
#
#   make fuzz                  # every target, FUZZ_TIME s each
#   make fuzz FUZZ_TIME=600
#
# Each target keeps
# its growing corpus in tests/fuzz/corpus/NAME (not in git); crashes are
# written to tests/fuzz/crash-NAME-*.  Built separately from lkvm, with
# sanitizers, from the sources each target names.

FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_CFLAGS ?= -g -O1 -fno-omit-frame-pointer
FUZZ_CFLAGS += -std=gnu11 -I. -I$(ARCH_DIR) -D_GNU_SOURCE -pthread
FUZZ_CFLAGS += -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

FUZZ_TARGETS := virtq control blk net vsock migrate
fuzz-virtq-srcs := tests/fuzz/fuzz-virtq.c virtio/virtq.c kvm/mem.c kvm/log.c
fuzz-control-srcs := tests/fuzz/fuzz-control.c kvm/control-proto.c
# tests/fuzz/quiet-log.c, not kvm/log.c, for targets whose bad inputs
# each log a line.  Small I/O pieces (virtio/blk.c).
fuzz-blk-srcs := tests/fuzz/fuzz-blk.c tests/fuzz/quiet-log.c kvm/migrate-stream.c virtio/blk.c virtio/virtio.c \
	virtio/virtq.c virtio/iov.c disk/disk.c disk/raw.c kvm/mem.c
fuzz-blk-deps := tests/fuzz/fuzz-blk.h virtio/blk.h virtio/virtio.h
fuzz-blk-cflags := -DBLK_IO_CHUNK=4096
fuzz-net-srcs := tests/fuzz/fuzz-net.c tests/fuzz/quiet-log.c kvm/migrate-stream.c virtio/net.c virtio/virtio.c virtio/virtq.c virtio/iov.c kvm/mem.c kvm/ioloop.c
# virtio-vsock's packets and connections, real Unix sockets on the host side.
fuzz-vsock-srcs := tests/fuzz/fuzz-vsock.c tests/fuzz/quiet-log.c kvm/migrate-stream.c virtio/vsock.c virtio/vsock-conn.c \
	virtio/vsock-mux.c kvm/uds.c virtio/virtio.c virtio/virtq.c virtio/iov.c \
	kvm/ioloop.c kvm/mem.c
fuzz-vsock-deps := virtio/vsock-priv.h virtio/vsock.h virtio/virtio.h
# The migration loader, with a real UART and virtio core behind it.
fuzz-migrate-srcs := tests/fuzz/fuzz-migrate.c tests/fuzz/quiet-log.c kvm/migrate-in.c \
	kvm/migrate-state.c kvm/migrate-ram.c kvm/migrate-stream.c \
	kvm/migrate-uri.c kvm/mem.c term/serial8250.c virtio/virtio.c \
	virtio/virtq.c
fuzz-migrate-deps := kvm/migrate-priv.h kvm/migrate-stream.h
# Seeds a target starts from besides its corpus, if it has a writer.
FUZZ_SEEDS := tests/fuzz/out/seeds

# The seed writers are plain C: the ordinary compiler builds them, so that
# make unit's replays (below) have seeds without clang.
tests/fuzz/seed-%: tests/fuzz/seed-%.c tests/fuzz/fuzz-%.h
	$(CC) -g -std=gnu11 -I. -D_GNU_SOURCE -Wall -Wextra -o $@ $<

$(FUZZ_SEEDS)/blk/.done: tests/fuzz/seed-blk
	mkdir -p $(@D)
	./tests/fuzz/seed-blk $(@D)
	touch $@

# The migration seed: a valid stream, from the target's own fake VM.
tests/fuzz/seed-migrate: $(fuzz-migrate-srcs) $(fuzz-migrate-deps)
	$(CC) -g -std=gnu11 -I. -I$(ARCH_DIR) -D_GNU_SOURCE -pthread -DFUZZ_SEED_MAIN \
		-o $@ $(fuzz-migrate-srcs)

$(FUZZ_SEEDS)/migrate/.done: tests/fuzz/seed-migrate
	mkdir -p $(@D)
	./tests/fuzz/seed-migrate $(@D)/valid-stream
	touch $@

FUZZ_BINS := $(addprefix tests/fuzz/fuzz-,$(FUZZ_TARGETS))

.SECONDEXPANSION:
tests/fuzz/fuzz-%: $$(fuzz-%-srcs) $$(fuzz-%-deps)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(fuzz-$*-cflags) -o $@ $(fuzz-$*-srcs)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS) $(FUZZ_SEEDS)/blk/.done $(FUZZ_SEEDS)/migrate/.done
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p tests/fuzz/corpus/$$t || exit 1; \
		seeds=$(FUZZ_SEEDS)/$$t; [ -d $$seeds ] || seeds=; \
		echo "fuzz-$$t: running for $(FUZZ_TIME) s"; \
		./tests/fuzz/fuzz-$$t -max_total_time=$(FUZZ_TIME) \
			-print_final_stats=1 -use_value_profile=1 \
			-artifact_prefix=tests/fuzz/crash-$$t- \
			tests/fuzz/corpus/$$t $$seeds 2>tests/fuzz/fuzz-$$t.log; \
		rc=$$?; \
		grep -E '^stat::number_of_executed_units|^stat::peak_rss' \
			tests/fuzz/fuzz-$$t.log; \
		grep -E 'cov:' tests/fuzz/fuzz-$$t.log | tail -1; \
		if [ $$rc -ne 0 ]; then \
			echo "fuzz-$$t: FAILED (see tests/fuzz/fuzz-$$t.log)"; \
			exit 1; \
		fi; \
	done

.PHONY: fuzz fuzz-build

# make unit runs each target without libFuzzer, built with the ordinary
# compiler and its sanitizers, over its seeds and inputs made from them
# (tests/fuzz/replay.c): so a target that no longer builds, or an input
# it once took that now crashes, fails make check, not just make fuzz.
REPLAY_CFLAGS := -g -O1 -std=gnu11 -I. -I$(ARCH_DIR) -D_GNU_SOURCE -pthread \
	-fsanitize=address,undefined -fno-sanitize-recover=all
REPLAY_BINS := $(addprefix tests/fuzz/replay-,$(FUZZ_TARGETS))

tests/fuzz/replay-%: tests/fuzz/replay.c $$(fuzz-%-srcs) $$(fuzz-%-deps)
	$(CC) $(REPLAY_CFLAGS) $(fuzz-$*-cflags) -DFUZZ_NAME='"$*"' -o $@ \
		tests/fuzz/replay.c $(fuzz-$*-srcs)

unit: $(REPLAY_BINS) $(FUZZ_SEEDS)/blk/.done $(FUZZ_SEEDS)/migrate/.done
