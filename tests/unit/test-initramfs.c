// SPDX-License-Identifier: GPL-2.0
/*
 * The initramfs lkvm appends for its agent (builtin-cmds/initramfs.c):
 * the archive is unpacked with the host's cpio, and a dynamic program
 * packed with its libraries must run in a chroot of what came out (when
 * we are root; the listing is checked either way).  Modules come in
 * dependency order from a modules.dep of our own making.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builtin-cmds/initramfs.h"
#include "kvm/types.h"
#include "tests/unit/unit.h"

static char dir[64];

static void mkroot(void)
{
	strcpy(dir, "/tmp/lkvm-test-initramfs-XXXXXX");
	if (!mkdtemp(dir))
		abort();
}

static void rmroot(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		abort();
}

/* Unpack @c with the host's cpio into @dir/root; 0 if cpio agreed. */
static int unpack(struct cpio *c)
{
	char path[128], cmd[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/a.cpio", dir);
	f = fopen(path, "w");
	if (!f || fwrite(c->buf, 1, c->len, f) != c->len)
		abort();
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "mkdir %s/root && cd %s/root && cpio -idm --quiet <../a.cpio 2>../cpio.err",
		 dir, dir);
	return system(cmd);
}

static bool exists(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/root%s", dir, rel);
	return !lstat(path, &st);
}

static void test_format(void)
{
	struct cpio c;
	char path[512], buf[16] = { 0 };
	struct stat st;
	int fd;

	mkroot();
	cpio_init(&c);
	CHECK_EQ(cpio_add_file(&c, "/a/b/c.txt", 0640, "hello", 5), 0);
	CHECK_EQ(cpio_add_symlink(&c, "/a/link", "b/c.txt"), 0);
	CHECK_EQ(cpio_add_dir(&c, "/tmp", 01777), 0);
	CHECK_EQ(cpio_add_file(&c, "relative", 0644, "", 0), -EINVAL);
	/* Twice is once. */
	CHECK_EQ(cpio_add_file(&c, "/a/b/c.txt", 0640, "other", 5), 0);
	CHECK_EQ(cpio_finish(&c), 0);
	CHECK_EQ(c.len % 4, 0);
	CHECK_EQ(unpack(&c), 0);
	snprintf(path, sizeof(path), "%s/root/a/link", dir);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 5);
	CHECK(!strcmp(buf, "hello"));
	close(fd);
	snprintf(path, sizeof(path), "%s/root/a/b/c.txt", dir);
	CHECK(!stat(path, &st) && (st.st_mode & 07777) == 0640);
	cpio_free(&c);
	rmroot();
}

/* A dynamic program and what it needs: enough to run in a chroot. */
static void test_program(void)
{
	char prog[256], cmd[512], out[256] = { 0 };
	struct cpio c;
	FILE *p;

	if (find_in_path("uname", "/usr/bin:/bin", prog, sizeof(prog))) {
		fprintf(stderr, "  test_program: no uname on this host; skipped\n");
		return;
	}
	mkroot();
	cpio_init(&c);
	CHECK_EQ(cpio_add_program(&c, prog), 0);
	CHECK_EQ(cpio_finish(&c), 0);
	CHECK_EQ(unpack(&c), 0);
	CHECK(exists(prog));
	if (!elf_is_static(prog)) {
		/* The loader, at the path the program names. */
		CHECK(exists("/lib64/ld-linux-x86-64.so.2") ||
		      exists("/lib/ld-linux-aarch64.so.1"));
		CHECK(exists("/lib/" "x86_64-linux-gnu/libc.so.6") ||
		      exists("/usr/lib/x86_64-linux-gnu/libc.so.6") ||
		      exists("/lib/aarch64-linux-gnu/libc.so.6"));
	}
	if (geteuid()) {
		fprintf(stderr, "  test_program: not root, no chroot run\n");
	} else {
		snprintf(cmd, sizeof(cmd), "chroot %s/root %s -s", dir, prog);
		p = popen(cmd, "r");
		CHECK(p && fgets(out, sizeof(out), p));
		CHECK(p && pclose(p) == 0);
		CHECK(!strcmp(out, "Linux\n"));
	}
	cpio_free(&c);
	rmroot();
}

/* A script brings its interpreter; a missing program is an error. */
static void test_script(void)
{
	char path[256], sh[256];
	struct cpio c;
	FILE *f;

	mkroot();
	snprintf(path, sizeof(path), "%s/run.sh", dir);
	f = fopen(path, "w");
	fprintf(f, "#!/bin/sh\necho hi\n");
	fclose(f);
	chmod(path, 0755);
	cpio_init(&c);
	CHECK_EQ(cpio_add_program(&c, path), 0);
	CHECK(cpio_has(&c, "/bin/sh"));
	CHECK_EQ(find_in_path("sh", "/bin", sh, sizeof(sh)), 0);
	CHECK_EQ(find_in_path("no-such-program", "/bin:/usr/bin", sh,
			      sizeof(sh)), -ENOENT);
	CHECK(cpio_add_program(&c, "/no/such/file") < 0);
	CHECK(strstr(c.err, "/no/such/file") != NULL);
	cpio_free(&c);
	rmroot();
}

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static void test_modules(void)
{
	const char *want[] = { "vmw-vsock-virtio-transport", "virtio_pci",
			       "in_kernel", NULL }, *bad[] = { "nowhere", NULL };
	char cmd[512];
	unsigned int n;
	struct cpio c;

	mkroot();
	snprintf(cmd, sizeof(cmd), "mkdir -p %s/kernel/net %s/kernel/virtio",
		 dir, dir);
	CHECK_EQ(system(cmd), 0);
	/* As depmod writes it: dependencies in no useful order. */
	write_file("modules.dep",
		   "kernel/virtio/virtio_ring.ko:\n"
		   "kernel/virtio/virtio.ko: kernel/virtio/virtio_ring.ko\n"
		   "kernel/net/vmw_vsock_virtio_transport.ko: kernel/virtio/virtio.ko kernel/net/vmw_vsock_virtio_transport_common.ko kernel/virtio/virtio_ring.ko kernel/net/vsock.ko\n"
		   "kernel/net/vsock.ko:\n"
		   "kernel/net/vmw_vsock_virtio_transport_common.ko: kernel/net/vsock.ko\n"
		   "kernel/virtio/virtio_pci.ko: kernel/virtio/virtio.ko kernel/virtio/virtio_ring.ko\n");
	write_file("modules.builtin", "kernel/fs/in-kernel.ko\n");
	write_file("kernel/virtio/virtio_ring.ko", "ring");
	write_file("kernel/virtio/virtio.ko", "virtio");
	write_file("kernel/virtio/virtio_pci.ko", "pci");
	write_file("kernel/net/vsock.ko", "vsock");
	write_file("kernel/net/vmw_vsock_virtio_transport_common.ko", "common");
	write_file("kernel/net/vmw_vsock_virtio_transport.ko", "transport");
	cpio_init(&c);
	CHECK_EQ(cpio_add_modules(&c, dir, want, &n), 0);
	CHECK_EQ(n, 6);
	/* Each once, every dependency before its user. */
	CHECK(cpio_has(&c, "/lkvm/modules/00-virtio_ring.ko"));
	CHECK(cpio_has(&c, "/lkvm/modules/01-virtio.ko"));
	CHECK(cpio_has(&c, "/lkvm/modules/02-vsock.ko"));
	CHECK(cpio_has(&c, "/lkvm/modules/03-vmw_vsock_virtio_transport_common.ko"));
	CHECK(cpio_has(&c, "/lkvm/modules/04-vmw_vsock_virtio_transport.ko"));
	CHECK(cpio_has(&c, "/lkvm/modules/05-virtio_pci.ko"));
	CHECK_EQ(cpio_add_modules(&c, dir, bad, &n), -ESRCH);
	CHECK(strstr(c.err, "nowhere") != NULL);
	CHECK_EQ(cpio_add_modules(&c, "/no/such/dir", want, &n), -ENOENT);
	cpio_free(&c);
	rmroot();
}

UNIT_MAIN("initramfs",
	  UNIT_TEST(test_format),
	  UNIT_TEST(test_program),
	  UNIT_TEST(test_script),
	  UNIT_TEST(test_modules))
