// SPDX-License-Identifier: GPL-2.0
/*
 * lkvm run: parse the options (kvmtool's names), check them, and run the VM.
 * The exit status is the guest's fate (builtin-cmds/cmds.h).
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
#include "kvm/control-proto.h"
#include "kvm/kvm.h"
#include "kvm/log.h"
#include "kvm/vm.h"

#define DEFAULT_MEM_MIB 256
#define OPT_NAME 1000
#define OPT_TIMEOUT 1001
#define OPT_STATS 1002
#define OPT_DEBUG 1003

static const struct option run_options[] = {
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "params", required_argument, NULL, 'p' },
	{ "disk", required_argument, NULL, 'd' },
	{ "mem", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "debug", no_argument, NULL, OPT_DEBUG },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

static void run_usage(void)
{
	printf("usage: lkvm run [-k bzImage] [OPTIONS]\n"
	       "\n"
	       "Boot a Linux kernel on the terminal's serial console (COM1).\n"
	       "\n"
	       "  -k, --kernel FILE     bzImage to boot (default: ./arch/x86/boot/bzImage,\n"
	       "                        then /boot/vmlinuz-$(uname -r))\n"
	       "  -i, --initrd FILE     initial ramdisk\n"
	       "  -p, --params STRING   kernel command line (\"console=ttyS0\" is added\n"
	       "                        unless it names a console)\n"
	       "  -d, --disk FILE[,ro]  virtio-blk disk, repeatable: vda, vdb, ...\n"
	       "  -m, --mem MiB         guest memory (default %d)\n"
	       "  -c, --cpus N          vCPUs (default 1)\n"
	       "      --name NAME       VM name for the control socket (default guest-PID)\n"
	       "      --timeout SECONDS end the guest after SECONDS (exit status 5)\n"
	       "      --stats           print VM exit counts and memory use at exit\n"
	       "      --debug           verbose diagnostics on stderr\n"
	       "\n"
	       "Console: Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A.\n"
	       "Exit status: 0 poweroff/reboot, 1 lkvm error, 2 usage error,\n"
	       "3 guest panic, 4 KVM internal error, 5 timeout, 128+N signal N.\n",
	       DEFAULT_MEM_MIB);
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

static int parse_disk(struct vm_config *cfg, char *arg)
{
	struct disk_config *d;
	char *comma;

	if (cfg->nr_disks == VM_MAX_DISKS)
		return cmd_usage_error(&cmd_run, "at most %d disks", VM_MAX_DISKS);
	d = &cfg->disk[cfg->nr_disks++];
	comma = strchr(arg, ',');
	if (comma) {
		*comma = 0;
		if (strcmp(comma + 1, "ro"))
			return cmd_usage_error(&cmd_run,
					       "-d %s: unknown disk option '%s' (only 'ro')",
					       arg, comma + 1);
		d->ro = true;
	}
	if (!*arg)
		return cmd_usage_error(&cmd_run, "-d needs a file name");
	d->path = arg;
	return 0;
}

static int parse_options(int argc, char **argv, struct vm_config *cfg)
{
	unsigned long long v;
	int opt, r;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":k:i:p:d:m:c:h", run_options,
				  NULL)) != -1) {
		switch (opt) {
		case 'k': cfg->kernel = optarg; break;
		case 'i': cfg->initrd = optarg; break;
		case 'p': cfg->cmdline = optarg; break;
		case OPT_NAME:
			if (!control_name_valid(optarg))
				return cmd_usage_error(&cmd_run,
						       "--name '%s': use 1-%d letters, digits, '.', '_' or '-', not starting with '.'",
						       optarg, CONTROL_NAME_MAX);
			cfg->name = optarg;
			break;
		case OPT_STATS: cfg->stats = true; break;
		case OPT_DEBUG: lkvm_debug_enabled = 1; break;
		case 'd':
			r = parse_disk(cfg, optarg);
			if (r)
				return r;
			break;
		case 'm':
			if (!parse_uint(optarg, 1ULL << 40, &v) || !v)
				return cmd_usage_error(&cmd_run,
						       "-m %s: memory must be a positive number of MiB",
						       optarg);
			if (v < ARCH_MIN_RAM_MIB)
				return cmd_usage_error(&cmd_run,
						       "-m %s: at least %d MiB of guest memory is needed",
						       optarg, ARCH_MIN_RAM_MIB);
			cfg->ram_size = v << 20;
			break;
		case 'c':
			/* The real upper bound is KVM's, checked later. */
			if (!parse_uint(optarg, UINT_MAX, &v) || !v)
				return cmd_usage_error(&cmd_run,
						       "-c %s: need a vCPU count from 1 up to KVM's limit",
						       optarg);
			cfg->nr_vcpus = v;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, INT_MAX, &v) || !v)
				return cmd_usage_error(&cmd_run,
						       "--timeout %s: need a positive number of seconds",
						       optarg);
			cfg->timeout_s = v;
			break;
		case 'h':
			run_usage();
			exit(LKVM_EXIT_OK);
		case ':':
			return cmd_usage_error(&cmd_run, "option '%s' needs a value",
					       argv[optind - 1]);
		default:
			return cmd_usage_error(&cmd_run, "unknown option '%s'",
					       argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error(&cmd_run, "unexpected argument '%s'",
				       argv[optind]);
	return 0;
}

/* kvmtool's search order when no -k is given. */
static const char *default_kernel(void)
{
	static char boot[300];
	struct utsname u;

	if (!access("arch/x86/boot/bzImage", R_OK))
		return "arch/x86/boot/bzImage";
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

static int run_run(int argc, char **argv)
{
	struct vm_config cfg = { .ram_size = DEFAULT_MEM_MIB << 20,
				 .nr_vcpus = 1 };
	char name[64];
	struct vm vm;
	int r, kvm_fd;

	r = parse_options(argc, argv, &cfg);
	if (r)
		return r;
	if (!cfg.kernel)
		cfg.kernel = default_kernel();
	if (!cfg.kernel) {
		pr_err("no kernel given (-k), and neither ./arch/x86/boot/bzImage nor /boot/vmlinuz-$(uname -r) exists");
		return LKVM_EXIT_ERROR;
	}
	if (!cfg.name) {
		snprintf(name, sizeof(name), "guest-%d", getpid());
		cfg.name = name;
	}

	if (open_kvm_checked(&kvm_fd))
		return LKVM_EXIT_ERROR;
	r = check_host_limits(&cfg, kvm_fd);
	close(kvm_fd);
	if (r)
		return r;

	r = vm_create(&vm, &cfg);
	if (r) {
		pr_err("cannot create the VM: %s: %s", kvm_ioctl_failed_name(),
		       strerror(-r));
		return LKVM_EXIT_ERROR;
	}
	r = vm_run(&vm);
	vm_destroy(&vm);
	return r;
}

const struct lkvm_cmd cmd_run = {
	.name = "run",
	.summary = "boot a Linux kernel",
	.run = run_run,
	.usage = run_usage,
};
