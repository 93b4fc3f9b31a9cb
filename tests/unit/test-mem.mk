test-mem-objs := kvm/mem.o
