/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tiny: the smallest bzImage lkvm will boot, for host-direct tests.
 *
 * A stock Linux kernel cannot run on a KVM that interprets guest kernel
 * code (tests/e2e/README.md), but a few thousand instructions can.  This
 * guest is a valid bzImage by Documentation/arch/x86/boot.rst: a boot
 * sector and one setup sector holding the setup header, then the
 * protected-mode part with its 64-bit entry at +0x200.  It reads
 * "tiny.mode=NAME" from its command line and ends itself one way:
 *
 *   hello       print a line on COM1, power off by ACPI S5   (exit 0)
 *   tick        print "tiny: tick N" ten times a second, forever
 *   flood       print "tiny: flood N" lines as fast as the UART takes them
 *   dirty       rewrite one word in each page of 16 MiB at 16 MiB, round
 *               after round, checking first that every page still holds
 *               what the round before wrote; print "tiny: dirty N" after
 *               round N, and pause 50 ms.  A lost page (a migration that
 *               missed a dirty page) prints "tiny: memory lost" and
 *               panics (exit 3).  Needs -m 32 or more.
 *   reboot-kbd  i8042 pulse-reset command                     (exit 0)
 *   reboot-cf9  reset control register 0xcf9                  (exit 0)
 *   triple      fault with an empty IDT: an unannounced triple
 *               fault, a crash                                (exit 6)
 *   triple-cf9  write SYS_RST alone to 0xcf9 (the first half of
 *               reboot=pci), then triple-fault: a reboot      (exit 0)
 *   triple-said print "reboot: Restarting system" as the kernel
 *               does, then triple-fault: a reboot             (exit 0)
 *   panic       write PVPANIC_PANICKED to the pvpanic port    (exit 3)
 *   mmio-exec   jump into the PCI hole, where no memory is    (exit 4)
 *   hang        cli; hlt                     (exit 5 with --timeout)
 *
 * No mode means hello; an unknown one is reported as a panic, so a typo
 * in a test cannot pass for a clean power-off.
 *
 * One section, assembled at 0 and turned into a flat file by objcopy
 * (tiny.mk).  The 64-bit code only addresses itself RIP-relative, so it
 * runs wherever it is loaded: hence relocatable_kernel = 1.
 */

#define COM1		0x3f8
#define UART_LSR	5	/* line status register */
#define UART_LSR_THRE	0x20	/* transmit holding register empty */

/* x86/acpi.h: SLEEP_CONTROL_REG; (SLP_TYP 5 << 2) | SLP_EN is S5. */
#define ACPI_SLEEP_CTL	0x600
#define ACPI_S5		((5 << 2) | (1 << 5))
#define ACPI_RESET_PORT	0xcf9
#define ACPI_RESET_CPU	0x06	/* full reset: RST_CPU | SYS_RST */
#define ACPI_SYS_RST	0x02	/* SYS_RST alone: a reset is coming */
#define I8042_CMD	0x64
#define I8042_RESET	0xfe	/* pulse the CPU reset line */
#define PVPANIC_PORT	0x505
#define PVPANIC_PANICKED 1

/*
 * The i8254 PIT's channel 1 as a clock: in KVM's in-kernel PIT its count
 * follows the host's time (1193182 Hz), raises no interrupt, and needs no
 * gate (channel 2's gate sits behind port 0x61, which not every KVM
 * serves in the kernel: the one on the project's machines does not).
 */
#define PIT_CH1		0x41
#define PIT_CMD		0x43
#define PIT_CH1_RATE	0x74	/* channel 1, lobyte/hibyte, mode 2, binary */
#define PIT_CH1_LATCH	0x40	/* latch channel 1's count */
#define PIT_HZ		1193182

/*
 * No memory there: lkvm's 32-bit PCI hole starts at 0xc0000000 and its
 * BARs are handed out from the bottom (x86/layout.h), so the top of the
 * window stays empty.  The boot page tables map it, so the fetch reaches
 * KVM as an access to a guest physical address with no memslot.
 */
#define NO_MEMORY_GPA	0xf0000000

/* dirty: the pages it rewrites. */
#define DIRTY_BASE	0x1000000
#define DIRTY_PAGES	4096

/* Memory from the load address the guest needs: code, then its stack. */
#define INIT_SIZE	0x10000

/* boot_params (zero page) offsets, <asm/bootparam.h>. */
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_CMD_LINE_PTR		0x228

	.text
	.code16
image:
	/*
	 * The boot sector.  No BIOS boots this file; a boot loader reads the
	 * header below and skips this code entirely.
	 */
	cli
1:	hlt
	jmp	1b
	.ascii	"tiny: lkvm test guest; boot it with lkvm run -k\0"

	/*
	 * The setup header, boot.rst "The Real-Mode Kernel Header".  Fields
	 * a boot loader only writes (type_of_loader, cmd_line_ptr, the
	 * ramdisk) are zero here; lkvm fills them in its zero page copy.
	 */
	.org	0x1f1
	.byte	1		/* setup_sects: the header spills past 0x200 */
				/* into one more sector; PM code at 0x400 */
	.word	0		/* root_flags */
	.long	(pm_end - pm_start) / 16 /* syssize: PM part, 16-byte units */
	.word	0		/* ram_size: obsolete */
	.word	0xffff		/* vid_mode: NORMAL_VGA, no mode change */
	.word	0		/* root_dev */
	.word	0xaa55		/* boot_flag */

	/* 0x200: "jump: 0xEB followed by a signed offset relative to 0x202" */
	.byte	0xeb, setup_entry - hdrs
hdrs:	.ascii	"HdrS"		/* header: the magic */
	/*
	 * version 2.12: the first protocol with xloadflags, which is where
	 * XLF_KERNEL_64 (the 64-bit entry) is announced.  Nothing later is
	 * needed: 2.15's kernel_info is optional for a boot loader.
	 */
	.word	0x020c
	.long	0		/* realmode_swtch: no hook */
	.word	0		/* start_sys_seg: obsolete */
	.word	version - image - 0x200 /* kernel_version: offset - 0x200 */
	.byte	0		/* type_of_loader: the boot loader's */
	.byte	0x01		/* loadflags: LOADED_HIGH, PM part at 1 MiB */
	.word	0		/* setup_move_size: for protocol 2.00/2.01 */
	.long	0x100000	/* code32_start: the default load address */
	.long	0		/* ramdisk_image */
	.long	0		/* ramdisk_size */
	.long	0		/* bootsect_kludge: obsolete */
	.word	0		/* heap_end_ptr */
	.byte	0		/* ext_loader_ver */
	.byte	0		/* ext_loader_type */
	.long	0		/* cmd_line_ptr */
	.long	0x7fffffff	/* initrd_addr_max: any initrd below 2 GiB */
	.long	0x1000		/* kernel_alignment: pages are all we need */
	.byte	1		/* relocatable_kernel: RIP-relative code only */
	.byte	12		/* min_alignment: log2 of 4 KiB */
	.word	0x0001		/* xloadflags: XLF_KERNEL_64, entry at +0x200 */
				/* (XLF_CAN_BE_LOADED_ABOVE_4G unclaimed: not tested) */
	.long	2047		/* cmdline_size: the kernel's default, less NUL */
	.long	0		/* hardware_subarch: a normal PC */
	.quad	0		/* hardware_subarch_data */
	.long	0		/* payload_offset: nothing compressed */
	.long	0		/* payload_length */
	.quad	0		/* setup_data: the loader's list */
	.quad	0x100000	/* pref_address: where it is meant to run */
	.long	INIT_SIZE	/* init_size: code + stack, from the load address */
	.long	0		/* handover_offset: no EFI handover */
	.long	0		/* kernel_info_offset: 2.15+, unused at 2.12 */

	/* The real-mode entry a 16-bit boot loader would jump to. */
setup_entry:
	cli
1:	hlt
	jmp	1b
version:
	.asciz	"tiny 1 (lkvm test guest)"

	/* The protected-mode part: what lkvm loads at 1 MiB. */
	.org	0x400
pm_start:
	/* +0: the 32-bit entry (startup_32).  lkvm never uses it. */
	.code32
	cli
1:	hlt
	jmp	1b

	/*
	 * +0x200: the 64-bit entry (boot.rst "64-bit Boot Protocol"): long
	 * mode, paging with an identity map, interrupts off, RSI holding the
	 * address of boot_params.
	 */
	.org	pm_start + 0x200
	.code64
startup_64:
	cli
	cld
	/* Our own stack, at the top of init_size: nobody else uses it. */
	lea	pm_start + INIT_SIZE(%rip), %rsp
	/* The command line: cmd_line_ptr, high half in ext_cmd_line_ptr. */
	mov	BP_CMD_LINE_PTR(%rsi), %eax
	mov	BP_EXT_CMD_LINE_PTR(%rsi), %edx
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, %rsi
	call	find_mode
	test	%rcx, %rcx
	jz	mode_hello

	/* Look the mode up: records of [len][name][handler - here]. */
	lea	modes(%rip), %rbx
2:	movzbl	(%rbx), %edx
	test	%edx, %edx
	jz	mode_unknown
	cmp	%rcx, %rdx
	jne	3f
	lea	1(%rbx), %rdi
	push	%rsi
	push	%rcx
	repe cmpsb
	pop	%rcx
	pop	%rsi
	jne	3f
	lea	1(%rbx, %rdx), %rax
	movslq	(%rax), %rdx
	add	%rdx, %rax
	jmp	*%rax
3:	lea	5(%rbx, %rdx), %rbx
	jmp	2b

mode_unknown:
	/* RSI, RCX: the value; print it, then end as a panic would. */
	push	%rsi
	push	%rcx
	lea	s_unknown(%rip), %rsi
	call	puts
	pop	%rcx
	pop	%rsi
4:	lodsb
	call	putc
	loop	4b
	lea	s_quote_nl(%rip), %rsi
	call	puts
	jmp	mode_panic

mode_hello:
	lea	s_hello(%rip), %rsi
	call	puts
	mov	$ACPI_SLEEP_CTL, %dx
	mov	$ACPI_S5, %al
	out	%al, %dx
	jmp	not_ended

mode_tick:
	/* A rate generator with the longest period, 65536 counts. */
	mov	$PIT_CH1_RATE, %al
	out	%al, $PIT_CMD
	xor	%eax, %eax
	out	%al, $PIT_CH1
	out	%al, $PIT_CH1
	xor	%r12d, %r12d
5:	lea	s_tick(%rip), %rsi
	call	putline
	mov	$PIT_HZ / 10, %ecx
	call	delay
	jmp	5b

/* Numbered lines as fast as THRE allows, for the stdout flow-control test. */
mode_flood:
	xor	%r12d, %r12d
6:	lea	s_flood(%rip), %rsi
	call	putline
	jmp	6b

/*
 * Round R writes (R << 32 | page) into the first word of each page,
 * after checking that the page holds what round R - 1 wrote.
 */
mode_dirty:
	mov	$PIT_CH1_RATE, %al
	out	%al, $PIT_CMD
	xor	%eax, %eax
	out	%al, $PIT_CH1
	out	%al, $PIT_CH1
	xor	%r12d, %r12d
7:	mov	$DIRTY_BASE, %edi
	xor	%ecx, %ecx
8:	test	%r12, %r12
	jz	9f
	lea	-1(%r12), %rax
	shl	$32, %rax
	or	%rcx, %rax
	cmp	%rax, (%rdi)
	jne	dirty_lost
9:	mov	%r12, %rax
	shl	$32, %rax
	or	%rcx, %rax
	mov	%rax, (%rdi)
	add	$4096, %rdi
	inc	%ecx
	cmp	$DIRTY_PAGES, %ecx
	jb	8b
	lea	s_dirty(%rip), %rsi
	call	putline
	mov	$PIT_HZ / 20, %ecx
	call	delay
	jmp	7b

dirty_lost:
	lea	s_dirty_lost(%rip), %rsi
	call	puts
	jmp	mode_panic

mode_reboot_kbd:
	lea	s_reboot_kbd(%rip), %rsi
	call	puts
	mov	$I8042_RESET, %al
	out	%al, $I8042_CMD
	jmp	not_ended

mode_reboot_cf9:
	lea	s_reboot_cf9(%rip), %rsi
	call	puts
	mov	$ACPI_RESET_PORT, %dx
	mov	$ACPI_RESET_CPU, %al
	out	%al, %dx
	jmp	not_ended

mode_triple_cf9:
	lea	s_triple_cf9(%rip), %rsi
	call	puts
	mov	$ACPI_RESET_PORT, %dx
	mov	$ACPI_SYS_RST, %al
	out	%al, %dx
	jmp	triple_fault

mode_triple_said:
	lea	s_triple_said(%rip), %rsi
	call	puts
	jmp	triple_fault

mode_triple:
	lea	s_triple(%rip), %rsi
	call	puts
triple_fault:
	/*
	 * With an IDT of limit 0, the #UD cannot be delivered (#GP), nor
	 * can that (#DF): a triple fault, which KVM reports as a shutdown.
	 */
	lidt	null_idt(%rip)
	ud2
	jmp	not_ended

mode_panic:
	lea	s_panic(%rip), %rsi
	call	puts
	mov	$PVPANIC_PORT, %dx
	mov	$PVPANIC_PANICKED, %al
	out	%al, %dx
	jmp	not_ended

mode_mmio_exec:
	lea	s_mmio_exec(%rip), %rsi
	call	puts
	mov	$NO_MEMORY_GPA, %eax
	jmp	*%rax

mode_hang:
	lea	s_hang(%rip), %rsi
	call	puts
	cli
6:	hlt
	jmp	6b

	/* The port write should have ended the VM; say so if it did not. */
not_ended:
	lea	s_not_ended(%rip), %rsi
	call	puts
	cli
7:	hlt
	jmp	7b

/*
 * find_mode: RSI = the command line.  Returns RSI = the value of the
 * first "tiny.mode=" that starts a word, RCX = its length (0: none).
 */
find_mode:
	mov	$' ', %dl		/* the byte before: start of line */
1:	cmpb	$0, (%rsi)
	je	4f
	cmp	$' ', %dl
	jne	2f
	mov	%rsi, %r8
	lea	s_key(%rip), %rdi
	mov	$s_key_len, %ecx
	repe cmpsb			/* a NUL in the line stops it unequal */
	je	3f
	mov	%r8, %rsi
2:	mov	(%rsi), %dl
	inc	%rsi
	jmp	1b
3:	mov	%rsi, %rdi		/* the value ends at a space or NUL */
5:	movzbl	(%rdi), %eax
	test	%eax, %eax
	jz	6f
	cmp	$' ', %eax
	je	6f
	inc	%rdi
	jmp	5b
6:	mov	%rdi, %rcx
	sub	%rsi, %rcx
	ret
4:	xor	%ecx, %ecx
	ret

/* putc: AL to COM1, once the transmit holding register is empty. */
putc:
	push	%rdx
	push	%rax
	mov	$COM1 + UART_LSR, %dx
1:	in	%dx, %al
	test	$UART_LSR_THRE, %al
	jz	1b
	pop	%rax
	mov	$COM1, %dx
	out	%al, %dx
	pop	%rdx
	ret

/* puts: the NUL-terminated string at RSI, "\n" sent as "\r\n". */
puts:
1:	lodsb
	test	%al, %al
	jz	2f
	cmp	$'\n', %al
	jne	3f
	mov	$'\r', %al
	call	putc
	mov	$'\n', %al
3:	call	putc
	jmp	1b
2:	ret

/* putline: the string at RSI, R12 in decimal, a newline; then R12++. */
putline:
	call	puts
	mov	%r12, %rax
	call	putdec
	lea	s_nl(%rip), %rsi
	call	puts
	inc	%r12
	ret

/* putdec: RAX in decimal. */
putdec:
	push	%rbx
	sub	$24, %rsp
	lea	23(%rsp), %rdi
	movb	$0, (%rdi)
	mov	$10, %ebx
1:	xor	%edx, %edx
	div	%rbx
	add	$'0', %dl
	dec	%rdi
	mov	%dl, (%rdi)
	test	%rax, %rax
	jnz	1b
	mov	%rdi, %rsi
	call	puts
	add	$24, %rsp
	pop	%rbx
	ret

/*
 * delay: wait RCX ticks of the PIT's clock, by summing how far channel 1
 * counted down between reads.  It measures time, not instructions, so it
 * is as long on a KVM with hardware virtualization as on one that
 * interprets guest kernel code.  (A read more than one period, 55 ms,
 * after the last, as across `lkvm pause`, only makes the wait longer.)
 */
delay:
	call	pit_read
	mov	%eax, %r8d
1:	pause
	call	pit_read
	mov	%r8d, %edx
	sub	%eax, %edx		/* it counts down, modulo 65536 */
	and	$0xffff, %edx
	mov	%eax, %r8d
	sub	%rdx, %rcx
	ja	1b
	ret

/* pit_read: EAX = channel 1's count.  Clobbers EDX. */
pit_read:
	mov	$PIT_CH1_LATCH, %al
	out	%al, $PIT_CMD
	in	$PIT_CH1, %al
	movzbl	%al, %edx
	in	$PIT_CH1, %al
	movzbl	%al, %eax
	shl	$8, %eax
	or	%edx, %eax
	ret

	.p2align 3
null_idt:
	.word	0			/* limit */
	.quad	0			/* base */

/* One mode: the name's length, the name, its handler relative to here. */
.macro MODE name, handler
	.byte	.Lend\@ - .Lname\@
.Lname\@:
	.ascii	"\name"
.Lend\@:
	.long	\handler - .Lend\@
.endm

modes:
	MODE	hello, mode_hello
	MODE	tick, mode_tick
	MODE	flood, mode_flood
	MODE	dirty, mode_dirty
	MODE	reboot-kbd, mode_reboot_kbd
	MODE	reboot-cf9, mode_reboot_cf9
	MODE	triple, mode_triple
	MODE	triple-cf9, mode_triple_cf9
	MODE	triple-said, mode_triple_said
	MODE	panic, mode_panic
	MODE	mmio-exec, mode_mmio_exec
	MODE	hang, mode_hang
	.byte	0

s_key:		.ascii	"tiny.mode="
	.set	s_key_len, . - s_key
s_hello:	.asciz	"tiny: hello from a tiny bzImage; powering off\n"
s_tick:		.asciz	"tiny: tick "
s_flood:	.asciz	"tiny: flood "
s_dirty:	.asciz	"tiny: dirty "
s_dirty_lost:	.asciz	"tiny: memory lost: a page does not hold what the last round wrote\n"
s_nl:		.asciz	"\n"
s_reboot_kbd:	.asciz	"tiny: rebooting through the i8042\n"
s_reboot_cf9:	.asciz	"tiny: rebooting through port 0xcf9\n"
s_triple:	.asciz	"tiny: triple fault\n"
s_triple_cf9:	.asciz	"tiny: SYS_RST to 0xcf9, then a triple fault\n"
s_triple_said:	.asciz	"reboot: Restarting system\n"
s_panic:	.asciz	"tiny: panicking through pvpanic\n"
s_mmio_exec:	.asciz	"tiny: jumping to 0xf0000000, where no memory is\n"
s_hang:		.asciz	"tiny: hanging with interrupts off\n"
s_unknown:	.asciz	"tiny: unknown tiny.mode '"
s_quote_nl:	.asciz	"'\n"
s_not_ended:	.asciz	"tiny: still running: the VM did not end\n"

	/* syssize counts 16-byte units, so the file ends on one. */
	.p2align 4
pm_end:
