test-virtio-net-objs := virtio/net.o virtio/net-tap.o virtio/net-passt.o virtio/net-proc.o virtio/virtio.o virtio/virtq.o virtio/iov.o kvm/ioloop.o kvm/mem.o kvm/log.o kvm/migrate-stream.o
