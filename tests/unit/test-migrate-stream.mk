test-migrate-stream-objs := kvm/migrate-stream.o
