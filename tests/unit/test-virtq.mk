test-virtq-objs := virtio/virtq.o virtio/iov.o kvm/mem.o kvm/log.o
