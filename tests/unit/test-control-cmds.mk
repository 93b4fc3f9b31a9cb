test-control-cmds-objs := builtin-cmds/list.o builtin-cmds/stop.o builtin-cmds/pause.o builtin-cmds/resume.o builtin-cmds/debug.o builtin-cmds/ctl-client.o kvm/control.o kvm/control-proto.o kvm/log.o
