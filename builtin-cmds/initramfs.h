/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Building the small initramfs that `lkvm run -- CMD` and --agent append
 * to the guest's: a "newc" cpio archive in memory (the format the kernel
 * unpacks, Documentation/driver-api/early-userspace/buffer-format.rst),
 * and what goes in it:
 *   - host programs with everything they need to run: their symlinks,
 *     their ELF interpreter and shared libraries (DT_NEEDED, found as the
 *     dynamic loader finds them), a script's interpreter;
 *   - kernel modules with their dependencies, from a modules.dep.
 * Functions return 0 or a negative errno and, on failure, put a one-line
 * reason in the archive's err[].
 */
#ifndef LKVM_INITRAMFS_H
#define LKVM_INITRAMFS_H

#include <stdbool.h>
#include <stddef.h>

struct cpio {
	unsigned char *buf;
	size_t len, cap;
	unsigned int ino;
	char **paths;		/* everything added, for parents and repeats */
	unsigned int nr_paths;
	char err[512];
};

void cpio_init(struct cpio *c);
void cpio_free(struct cpio *c);
/* Paths are absolute guest paths; missing parent directories are added. */
int cpio_add_dir(struct cpio *c, const char *path, unsigned int mode);
int cpio_add_file(struct cpio *c, const char *path, unsigned int mode,
		  const void *data, size_t len);
int cpio_add_symlink(struct cpio *c, const char *path, const char *target);
/* The closing TRAILER!!! entry. */
int cpio_finish(struct cpio *c);
bool cpio_has(const struct cpio *c, const char *path);

/*
 * Add host file @path at the same path in the guest: a symlink as a
 * symlink plus what it points to, a regular file with its mode.
 */
int cpio_add_host_path(struct cpio *c, const char *path);
/*
 * Add program @path (as the guest will exec it) and all it needs: its
 * ELF interpreter and shared libraries, or a script's interpreter.
 */
int cpio_add_program(struct cpio *c, const char *path);
/*
 * Find @name as execvp would, in @path_env (the host's PATH): the full
 * path in @buf.  -ENOENT if it is nowhere.
 */
int find_in_path(const char *name, const char *path_env, char *buf,
		 size_t len);
/* Is the host file @path a static ELF program (no interpreter)? */
bool elf_is_static(const char *path);

/*
 * Add the modules @names (NULL-ended; '-' and '_' alike) with their
 * dependencies, in load order, as /lkvm/modules/NN-file.ko[.xz...], from
 * @dir/modules.dep.  A module built into the kernel (modules.builtin) is
 * skipped.  -ENOENT if @dir has no modules.dep, -ESRCH if a module is in
 * neither list; *added counts the modules put in.
 */
int cpio_add_modules(struct cpio *c, const char *dir,
		     const char *const *names, unsigned int *added);

#endif
