test-migrate-objs := kvm/migrate-in.o kvm/migrate-state.o kvm/migrate-ram.o \
	kvm/migrate-stream.o kvm/migrate-uri.o kvm/mem.o kvm/log.o
