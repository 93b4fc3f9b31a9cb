test-vsock-objs := virtio/vsock.o virtio/vsock-conn.o virtio/vsock-mux.o kvm/uds.o virtio/virtio.o virtio/virtq.o virtio/iov.o kvm/ioloop.o kvm/mem.o kvm/log.o kvm/migrate-stream.o
