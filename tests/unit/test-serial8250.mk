test-serial8250-objs := term/serial8250.o kvm/migrate-stream.o
