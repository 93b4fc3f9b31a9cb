test-control-objs := kvm/control.o kvm/uds.o kvm/control-proto.o kvm/log.o builtin-cmds/ctl-client.o
