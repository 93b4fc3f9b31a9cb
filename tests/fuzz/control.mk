# libFuzzer target for the control protocol codec (kvm/control-proto.c).
# From the top of the tree:
#
#   make -f tests/fuzz/control.mk fuzz-control              # build and run
#   make -f tests/fuzz/control.mk fuzz-control FUZZ_TIME=600
#
# Self-contained, so it also works when included next to tests/fuzz/fuzz.mk
# (which can instead add "control" to FUZZ_TARGETS: fuzz-control-srcs below
# is in its format).  The corpus grows in tests/fuzz/corpus/control;
# crashes land in tests/fuzz/crash-control-*.

FUZZ_CC   ?= clang
FUZZ_TIME ?= 60
FUZZ_CONTROL_CFLAGS := -g -O1 -fno-omit-frame-pointer -std=gnu11 -I. \
	-D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all

fuzz-control-srcs := tests/fuzz/fuzz-control.c kvm/control-proto.c

tests/fuzz/fuzz-control: $(fuzz-control-srcs) kvm/control-proto.h kvm/types.h
	$(FUZZ_CC) $(FUZZ_CONTROL_CFLAGS) -o $@ $(fuzz-control-srcs)

fuzz-control: tests/fuzz/fuzz-control
	mkdir -p tests/fuzz/corpus/control
	./tests/fuzz/fuzz-control -max_total_time=$(FUZZ_TIME) \
		-print_final_stats=1 -use_value_profile=1 \
		-artifact_prefix=tests/fuzz/crash-control- \
		tests/fuzz/corpus/control

.PHONY: fuzz-control
