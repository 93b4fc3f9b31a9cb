/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest agent's static binary (builtin-cmds/agent/agent.c), carried
 * inside lkvm: `lkvm run -- CMD` and --agent put it in the guest's
 * initramfs, so nothing has to be installed beside lkvm.
 */
	.section .rodata
	.balign 16
	.globl lkvm_agent_start, lkvm_agent_end
lkvm_agent_start:
	.incbin "builtin-cmds/agent/lkvm-agent"
lkvm_agent_end:
	.section .note.GNU-stack, "", @progbits
