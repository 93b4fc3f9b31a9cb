test-agent-objs := builtin-cmds/agent-client.o builtin-cmds/agent/proto.o
# It runs the real agent, which must be built first.
tests/unit/test-agent: builtin-cmds/agent/lkvm-agent
