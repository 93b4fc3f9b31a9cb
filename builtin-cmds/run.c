// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm run: parse the options (kvmtool's names), check them, build the VM
 * with its devices from the device table (run-devices.c), run it, and
 * exit with the guest's fate (run-wait.c).
 *
 * The options are the VM's own (kernel, memory, vCPUs...), below, and
 * those of each device module, which parses its own; `lkvm help run`
 * prints both from the same tables.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "builtin-cmds/cmds.h"
#include "builtin-cmds/run-agent.h"
#include "builtin-cmds/run.h"
#include "kvm/control-proto.h"
#include "kvm/kvm.h"
#include "kvm/log.h"
#include "kvm/stats.h"
#include "kvm/vm.h"
#include "virtio/blk.h"
#include "virtio/vsock.h"

#define DEFAULT_MEM_MIB 256
#define USAGE_COL 24
/* getopt values of long-only options: OPT_BASE + index in the list. */
#define OPT_BASE 1000
#define MAX_OPTIONS 64

enum core_opt { O_KERNEL, O_INITRD, O_PARAMS, O_MEM, O_CPUS, O_NAME,
		O_TIMEOUT, O_AGENT, O_MODULES, O_CONSOLE_LOG, O_STATS, O_DEBUG,
		O_INCOMING, O_TRANSPORT, O_HELP };

static const struct dev_option core_options[] = {
	[O_KERNEL] = { "kernel", 'k', "FILE",
		       "bzImage or vmlinux to boot (default: ./"
		       ARCH_DEFAULT_KERNEL ",\n"
		       "then /boot/vmlinuz-$(uname -r))" },
	[O_INITRD] = { "initrd", 'i', "FILE", "initial ramdisk" },
	[O_PARAMS] = { "params", 'p', "STRING",
		       "kernel command line (\"console=" ARCH_CONSOLE_NAME
		       "\" is added\nunless it names a console)" },
	[O_MEM] = { "mem", 'm', "MiB", "guest memory (default 256)" },
	[O_CPUS] = { "cpus", 'c', "N", "vCPUs (default 1)" },
	[O_NAME] = { "name", 0, "NAME",
		     "VM name for the control socket (default guest-PID)" },
	[O_TIMEOUT] = { "timeout", 0, "SECONDS",
			"end the guest after SECONDS (exit status 5)" },
	[O_AGENT] = { "agent", 0, NULL,
		      "start lkvm's guest agent beside the guest's init,\n"
		      "for lkvm exec and lkvm stop --graceful" },
	[O_MODULES] = { "modules", 0, "DIR",
			"the guest kernel's modules, for the agent's vsock\n"
			"(default /lib/modules/<its release>, if there)" },
	[O_CONSOLE_LOG] = { "console-log", 0, "FILE",
			    "write the guest's console to FILE" },
	[O_STATS] = { "stats", 0, NULL,
		      "print VM exits, device counters and memory use at exit" },
	[O_DEBUG] = { "debug", 0, NULL, "verbose diagnostics on stderr" },
	[O_INCOMING] = { "incoming", 0, "URI",
			 "take the guest from `lkvm migrate` instead of booting:\n"
			 "tcp:[HOST]:PORT, unix:PATH, exec:CMD or file:PATH\n"
			 "(give the source's own options too)" },
	[O_TRANSPORT] = { "virtio-transport", 0, "TYPE",
			  "pci: virtio devices on the PCI bus (default), or\n"
			  "mmio: memory-mapped, one interrupt each (the guest\n"
			  "kernel needs CONFIG_VIRTIO_MMIO)" },
	[O_HELP] = { "help", 'h', NULL, "this text" },
	{ NULL },
};

struct run_args {
	struct vm_config cfg;
	struct run_wait wait;
	bool stats;
	void **dev_state;	/* per module of run_devices[] */
	struct run_agent agent;	/* -- CMD, --agent, --console-log */
};

/* One option of the command line: the VM's own, or a module's. */
struct run_opt {
	const struct dev_option *o;
	int module;		/* index in run_devices[], -1: the VM's own */
	unsigned int idx;	/* in its table */
};

static struct run_opt opts[MAX_OPTIONS];
static unsigned int nr_opts;

/* Every option, the VM's first, then the modules' in table order. */
static void collect_options(void)
{
	unsigned int m, i;

	nr_opts = 0;
	for (i = 0; core_options[i].name; i++)
		opts[nr_opts++] = (struct run_opt){ &core_options[i], -1, i };
	for (m = 0; m < run_nr_devices; m++)
		for (i = 0; run_devices[m]->options[i].name &&
			    nr_opts < MAX_OPTIONS; i++)
			opts[nr_opts++] = (struct run_opt){
				&run_devices[m]->options[i], m, i };
}

/* "  -k, --kernel FILE" then the help, its lines in one column. */
static void print_option(const struct dev_option *o)
{
	const char *h = o->help, *nl;
	int n;

	n = o->short_name ? printf("  -%c, --%s", o->short_name, o->name) :
			    printf("      --%s", o->name);
	if (o->arg)
		n += printf(" %s", o->arg);
	if (n > USAGE_COL - 2) {
		printf("\n");
		n = 0;
	}
	for (; (nl = strchr(h, '\n')); h = nl + 1, n = 0)
		printf("%*s%.*s\n", USAGE_COL - n, "", (int)(nl - h), h);
	printf("%*s%s\n", USAGE_COL - n, "", h);
}

static void run_usage(void)
{
	unsigned int i;
	int module = -1;

	collect_options();
	printf("usage: lkvm run [-k bzImage] [OPTIONS] [-- CMD [ARGS...]]\n\n"
	       "Boot a Linux kernel on the terminal's serial console.  With -- CMD,\n"
	       "run CMD in the guest through lkvm's agent and exit with its status;\n"
	       "its stdin, stdout and stderr are lkvm's, the console goes to stderr.\n\n");
	for (i = 0; i < nr_opts; i++) {
		if (opts[i].module != module) {
			module = opts[i].module;
			printf("\n%s:\n", run_devices[module]->name);
		}
		print_option(opts[i].o);
	}
	printf("\n  -- CMD [ARGS...]      after lkvm's options: run CMD in the guest and\n"
	       "                        exit with CMD's status\n");
	printf("\nConsole: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.\n"
	       "Exit status: 0 poweroff/reboot, 1 lkvm error, 2 usage error,\n"
	       "3 guest panic, 4 KVM internal error, 5 timeout,\n"
	       "6 guest crash (triple fault), 128+N signal N;\n"
	       "with -- CMD, CMD's own (128+N if signal N killed it).\n");
}

static bool parse_uint(const char *s, unsigned long long max,
		       unsigned long long *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return !errno && !*end && *out <= max;
}

static int parse_mem(struct vm_config *cfg, const char *arg)
{
	unsigned long long v;

	if (!parse_uint(arg, 1ULL << 40, &v) || !v)
		return cmd_usage_error(&cmd_run,
				       "-m %s: memory must be a positive number of MiB",
				       arg);
	if (v < ARCH_MIN_RAM_MIB)
		return cmd_usage_error(&cmd_run,
				       "-m %s: at least %d MiB of guest memory is needed",
				       arg, ARCH_MIN_RAM_MIB);
	cfg->ram_size = v << 20;
	return 0;
}

static int parse_core(struct run_args *a, enum core_opt o, const char *arg)
{
	unsigned long long v;

	switch (o) {
	case O_KERNEL: a->cfg.kernel = arg; break;
	case O_INITRD: a->cfg.initrd = arg; break;
	case O_PARAMS: a->cfg.cmdline = arg; break;
	case O_MEM: return parse_mem(&a->cfg, arg);
	case O_CPUS:
		/* The real upper bound is KVM's, checked later. */
		if (!parse_uint(arg, UINT_MAX, &v) || !v)
			return cmd_usage_error(&cmd_run,
					       "-c %s: need a vCPU count from 1 up to KVM's limit",
					       arg);
		a->cfg.nr_vcpus = v;
		break;
	case O_NAME:
		if (!control_name_valid(arg))
			return cmd_usage_error(&cmd_run,
					       "--name '%s': use 1-%d letters, digits, '.', '_' or '-', not starting with '.'",
					       arg, CONTROL_NAME_MAX);
		a->cfg.name = arg;
		break;
	case O_TIMEOUT:
		if (!parse_uint(arg, INT_MAX, &v) || !v)
			return cmd_usage_error(&cmd_run,
					       "--timeout %s: need a positive number of seconds",
					       arg);
		a->wait.timeout_s = v;
		break;
	case O_AGENT: a->agent.daemon = true; break;
	case O_MODULES: a->agent.modules = arg; break;
	case O_CONSOLE_LOG: a->agent.console_log = arg; break;
	case O_STATS: a->stats = true; break;
	case O_DEBUG: lkvm_debug_enabled = 1; break;
	case O_INCOMING: a->cfg.incoming = arg; break;
	case O_TRANSPORT:
		if (!strcmp(arg, "pci"))
			a->cfg.transport = VM_TRANSPORT_PCI;
		else if (!strcmp(arg, "mmio"))
			a->cfg.transport = VM_TRANSPORT_MMIO;
		else
			return cmd_usage_error(&cmd_run,
					       "--virtio-transport %s: use pci or mmio",
					       arg);
		break;
	case O_HELP:
		run_usage();
		exit(LKVM_EXIT_OK);
	}
	return 0;
}

static int parse_one(struct run_args *a, const struct run_opt *o,
		     const char *arg)
{
	const struct dev_module *m;
	char err[DEV_ERR_MAX] = "";
	int r;

	if (o->module < 0)
		return parse_core(a, o->idx, arg);
	m = run_devices[o->module];
	r = m->parse(&a->dev_state[o->module], o->idx, arg, err);
	if (r == -ENOMEM) {
		pr_err("out of memory");
		return LKVM_EXIT_ERROR;
	}
	if (r)
		return cmd_usage_error(&cmd_run, "%s",
				       *err ? err : "bad device option");
	return 0;
}

/* The getopt_long() tables for every option of collect_options(). */
static void build_getopt(struct option *lo, char *so)
{
	unsigned int i;

	*so++ = ':';
	for (i = 0; i < nr_opts; i++) {
		const struct dev_option *o = opts[i].o;

		lo[i] = (struct option){ o->name, o->arg ? required_argument :
							   no_argument,
					 NULL, o->short_name ? o->short_name :
							       OPT_BASE + (int)i };
		if (o->short_name) {
			*so++ = o->short_name;
			if (o->arg)
				*so++ = ':';
		}
	}
	lo[i] = (struct option){ 0 };
	*so = 0;
}

static const struct run_opt *find_opt(int val)
{
	unsigned int i;

	if (val >= OPT_BASE)
		return (unsigned int)(val - OPT_BASE) < nr_opts ?
			       &opts[val - OPT_BASE] : NULL;
	for (i = 0; i < nr_opts; i++)
		if (opts[i].o->short_name == val)
			return &opts[i];
	return NULL;
}

/* "-- CMD ARGS": the command for the agent; lkvm's options come before. */
static int split_command(int *argc, char **argv, struct run_args *a)
{
	int i;

	for (i = 1; i < *argc && strcmp(argv[i], "--"); i++)
		;
	if (i == *argc)
		return 0;
	a->agent.argc = *argc - i - 1;
	a->agent.argv = argv + i + 1;
	*argc = i;
	if (!a->agent.argc)
		return cmd_usage_error(&cmd_run, "'--' needs a command after it");
	return 0;
}

static int parse_options(int argc, char **argv, struct run_args *a)
{
	struct option lo[MAX_OPTIONS + 1];
	char so[2 * MAX_OPTIONS + 2];
	const struct run_opt *o;
	int val, r;

	r = split_command(&argc, argv, a);
	if (r)
		return r;
	collect_options();
	build_getopt(lo, so);
	optind = 1;
	opterr = 0;
	while ((val = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		if (val == ':')
			return cmd_usage_error(&cmd_run, "option '%s' needs a value",
					       argv[optind - 1]);
		o = find_opt(val);
		if (!o)
			return cmd_usage_error(&cmd_run, "unknown option '%s'",
					       argv[optind - 1]);
		r = parse_one(a, o, optarg);
		if (r)
			return r;
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_run, "unexpected argument '%s'%s",
				       argv[optind],
				       " (a command for the guest goes after '--')");
	if (a->agent.argc && a->agent.daemon)
		return cmd_usage_error(&cmd_run,
				       "--agent starts the agent beside the guest's init; with -- CMD it is init");
	return 0;
}

/* kvmtool's search order when no -k is given. */
static const char *default_kernel(void)
{
	static char boot[300];
	struct utsname u;

	if (!access(ARCH_DEFAULT_KERNEL, R_OK))
		return ARCH_DEFAULT_KERNEL;
	if (!uname(&u)) {
		snprintf(boot, sizeof(boot), "/boot/vmlinuz-%s", u.release);
		if (!access(boot, R_OK))
			return boot;
	}
	return NULL;
}

static int check_host_limits(const struct vm_config *cfg, int kvm_fd)
{
	struct sysinfo si;
	int max_vcpus = kvm_cap(kvm_fd, KVM_CAP_MAX_VCPUS);

	if (!max_vcpus)
		max_vcpus = kvm_cap(kvm_fd, KVM_CAP_NR_VCPUS);
	if (!max_vcpus)
		max_vcpus = 4;
	if (cfg->nr_vcpus > (unsigned int)max_vcpus)
		return cmd_usage_error(&cmd_run, "-c %u: this KVM allows at most %d vCPUs",
				       cfg->nr_vcpus, max_vcpus);
	if (cfg->nr_vcpus > ARCH_MAX_VCPUS)
		return cmd_usage_error(&cmd_run, "-c %u: lkvm boots at most %d vCPUs",
				       cfg->nr_vcpus, ARCH_MAX_VCPUS);
	if (!sysinfo(&si) &&
	    cfg->ram_size > (u64)si.totalram * si.mem_unit)
		return cmd_usage_error(&cmd_run,
				       "-m %llu: more memory than the host has (%llu MiB)",
				       (unsigned long long)(cfg->ram_size >> 20),
				       (unsigned long long)si.totalram * si.mem_unit >> 20);
	return 0;
}

static int open_kvm_checked(int *fd)
{
	int r = kvm_open(fd);

	if (r == -ENOENT)
		pr_err("/dev/kvm does not exist: is KVM enabled (modprobe kvm-intel or kvm-amd)?");
	else if (r == -EACCES || r == -EPERM)
		pr_err("no permission to open /dev/kvm: add yourself to its group (usually 'kvm')");
	else if (r)
		pr_err("cannot use /dev/kvm: %s", strerror(-r));
	return r;
}

/* Defaults, and what can be checked before a VM exists. */
static int check_args(struct run_args *a, char *name, size_t name_len)
{
	int r, kvm_fd;

	if (!a->cfg.kernel)
		a->cfg.kernel = default_kernel();
	/* A migrated guest brings its kernel in its memory. */
	if (!a->cfg.kernel && !a->cfg.incoming) {
		pr_err("no kernel given (-k), and neither ./%s nor /boot/vmlinuz-$(uname -r) exists",
		       ARCH_DEFAULT_KERNEL);
		return LKVM_EXIT_ERROR;
	}
	if (!a->cfg.name) {
		snprintf(name, name_len, "guest-%d", getpid());
		a->cfg.name = name;
	}
	if (open_kvm_checked(&kvm_fd))
		return LKVM_EXIT_ERROR;
	r = check_host_limits(&a->cfg, kvm_fd);
	close(kvm_fd);
	return r;
}

/*
 * The guest ran: its fate, said once, is the exit status.  With -- CMD a
 * normal end is not worth a line on the command's stderr.
 */
static int report_fate(struct vm *vm, bool quiet, enum vm_fate *fate)
{
	const char *msg;
	int sig, status;

	*fate = vm_get_fate(vm, &sig, &msg);
	status = run_fate_status(*fate, sig);
	if (status != LKVM_EXIT_OK)
		pr_err("%s", msg);
	else if (!quiet)
		pr_info("%s", msg);
	return status;
}

static int module_index(const struct dev_module *m)
{
	for (unsigned int i = 0; i < run_nr_devices; i++)
		if (run_devices[i] == m)
			return i;
	return -1;
}

/*
 * -- CMD and --agent talk to the agent over vsock: the VM gets a vsock
 * device if it has none, and the agent its initramfs.  Before the VM.
 */
static int prepare_agent(struct run_args *a)
{
	char uds[sizeof(a->agent.listen_path)];
	int v = module_index(&vsock_module), b = module_index(&blk_module);
	int r;

	if (!run_agent_wanted(&a->agent))
		return 0;
	a->agent.has_disk = b >= 0 && a->dev_state[b];
	if (a->agent.argc || a->agent.daemon) {
		r = v < 0 ? -ENODEV : vsock_module_want(&a->dev_state[v]);
		if (!r)
			r = vsock_module_uds(a->dev_state[v], a->cfg.name, uds,
					     sizeof(uds));
		if (r) {
			pr_err("vsock for the guest agent: %s", strerror(-r));
			return LKVM_EXIT_ERROR;
		}
	}
	return run_agent_prepare(&a->agent, &a->cfg, uds);
}

/* Create the VM, its devices, run it; the status is the guest's fate. */
static int run_vm(struct run_args *a)
{
	struct vm vm;
	unsigned int i;
	enum vm_fate fate = VM_FATE_NONE;
	int r, status = LKVM_EXIT_ERROR;

	run_signals_block(&a->wait);
	a->cfg.poll = run_poll;
	a->cfg.poll_arg = &a->wait;
	r = vm_create(&vm, &a->cfg);
	if (r)
		goto out;
	for (i = 0; i < run_nr_devices && !r; i++)
		r = run_devices[i]->create(&vm, a->dev_state[i]);
	if (!r)
		r = run_agent_start(&a->agent, &vm);
	if (!r)
		r = vm_run(&vm, run_wait, &a->wait);
	if (!r)
		status = report_fate(&vm, a->agent.quiet_exit, &fate);
	/* Before the VM goes: the command's thread may still use it. */
	status = run_agent_finish(&a->agent, fate, status);
	if (!r && a->stats) {
		stats_print(&vm, stderr);
		vm_devices_stats(&vm, stderr);
	}
	vm_destroy(&vm);
	run_signals_restore(&a->wait);
	return status;
out:
	run_signals_restore(&a->wait);
	return run_agent_finish(&a->agent, VM_FATE_NONE, status);
}

static int run_run(int argc, char **argv)
{
	struct run_args a = { .cfg = { .ram_size = DEFAULT_MEM_MIB << 20,
				       .nr_vcpus = 1 } };
	void *state[run_nr_devices];
	char name[64];
	unsigned int i;
	int r;

	memset(state, 0, sizeof(state));
	a.dev_state = state;
	run_agent_init(&a.agent);
	r = parse_options(argc, argv, &a);
	if (!r)
		r = check_args(&a, name, sizeof(name));
	if (!r)
		r = prepare_agent(&a);
	if (!r)
		r = run_vm(&a);
	else
		run_agent_finish(&a.agent, VM_FATE_NONE, r);
	for (i = 0; i < run_nr_devices; i++)
		if (run_devices[i]->free_state)
			run_devices[i]->free_state(state[i]);
	return r;
}

const struct lkvm_cmd cmd_run = {
	.name = "run",
	.summary = "boot a Linux kernel",
	.run = run_run,
	.usage = run_usage,
};
