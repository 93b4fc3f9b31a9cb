// SPDX-License-Identifier: GPL-2.0
/*
 * The initramfs lkvm appends for its guest agent (initramfs.h).
 *
 * A program is packed the way the dynamic loader will look for it in the
 * guest: at the same paths as on the host, symlinks kept (busybox's
 * applet links, /lib64/ld-linux-x86-64.so.2 -> ...).  Its libraries come
 * from its DT_NEEDED entries, searched in DT_RPATH/DT_RUNPATH ($ORIGIN
 * expanded) and the loader's default directories, which is also where
 * the guest's loader, without an ld.so.cache, will search.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builtin-cmds/initramfs.h"

#define DEPTH_MAX 16
#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#define ELF_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#define ELF_MACHINE EM_AARCH64
#endif

static const char *const lib_dirs[] = {
	"/lib/" MULTIARCH, "/usr/lib/" MULTIARCH, "/lib64", "/usr/lib64",
	"/lib", "/usr/lib", NULL,
};

static int fail(struct cpio *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

void cpio_init(struct cpio *c)
{
	memset(c, 0, sizeof(*c));
}

void cpio_free(struct cpio *c)
{
	unsigned int i;

	for (i = 0; i < c->nr_paths; i++)
		free(c->paths[i]);
	free(c->paths);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

bool cpio_has(const struct cpio *c, const char *path)
{
	unsigned int i;

	for (i = 0; i < c->nr_paths; i++)
		if (!strcmp(c->paths[i], path))
			return true;
	return false;
}

static int remember(struct cpio *c, const char *path)
{
	char **p = realloc(c->paths, (c->nr_paths + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	c->paths = p;
	if (!(p[c->nr_paths] = strdup(path)))
		return -ENOMEM;
	c->nr_paths++;
	return 0;
}

static int reserve(struct cpio *c, size_t more)
{
	size_t cap = c->cap ? c->cap : 64 * 1024;
	unsigned char *b;

	while (cap - c->len < more)
		cap *= 2;
	if (cap == c->cap)
		return 0;
	b = realloc(c->buf, cap);
	if (!b)
		return -ENOMEM;
	c->buf = b;
	c->cap = cap;
	return 0;
}

static void pad4(struct cpio *c)
{
	while (c->len % 4)
		c->buf[c->len++] = 0;
}

/* One "newc" entry: header, name, padding, data, padding. */
static int entry(struct cpio *c, const char *name, unsigned int mode,
		 const void *data, size_t len)
{
	size_t nlen = strlen(name) + 1;
	int r = reserve(c, 110 + nlen + len + 8);

	if (r)
		return r;
	c->len += sprintf((char *)c->buf + c->len,
			  "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X",
			  ++c->ino, mode, 0, 0, 1, 0, len, 0, 0, 0, 0, nlen, 0);
	memcpy(c->buf + c->len, name, nlen);
	c->len += nlen;
	pad4(c);
	if (len)
		memcpy(c->buf + c->len, data, len);
	c->len += len;
	pad4(c);
	return 0;
}

/* Entries are named without the leading '/', as cpio -o writes them. */
static const char *rel(const char *path)
{
	while (*path == '/')
		path++;
	return path;
}

static int add_parents(struct cpio *c, const char *path)
{
	char dir[4096];
	char *p;
	int r;

	snprintf(dir, sizeof(dir), "%s", path);
	for (p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		if (!cpio_has(c, dir)) {
			r = remember(c, dir);
			if (!r)
				r = entry(c, rel(dir), S_IFDIR | 0755, NULL, 0);
			if (r)
				return r;
		}
		*p = '/';
	}
	return 0;
}

static int add(struct cpio *c, const char *path, unsigned int mode,
	       const void *data, size_t len)
{
	int r;

	if (path[0] != '/')
		return fail(c, -EINVAL, "%s: not an absolute path", path);
	if (cpio_has(c, path))
		return 0;
	r = add_parents(c, path);
	if (!r)
		r = remember(c, path);
	if (!r && strcmp(path, "/"))
		r = entry(c, rel(path), mode, data, len);
	return r == -ENOMEM ? fail(c, r, "out of memory") : r;
}

int cpio_add_dir(struct cpio *c, const char *path, unsigned int mode)
{
	return add(c, path, S_IFDIR | (mode & 07777), NULL, 0);
}

int cpio_add_file(struct cpio *c, const char *path, unsigned int mode,
		  const void *data, size_t len)
{
	return add(c, path, S_IFREG | (mode & 07777), data, len);
}

int cpio_add_symlink(struct cpio *c, const char *path, const char *target)
{
	return add(c, path, S_IFLNK | 0777, target, strlen(target));
}

int cpio_finish(struct cpio *c)
{
	return entry(c, "TRAILER!!!", 0, NULL, 0);
}

/* ---- host files ---- */

/* Host file @path as @guest, with its mode. */
static int read_host_as(struct cpio *c, const char *path, const char *guest,
			const struct stat *st)
{
	void *data = malloc(st->st_size ? st->st_size : 1);
	ssize_t n = -1;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (data && fd >= 0)
		n = read(fd, data, st->st_size);
	if (fd >= 0)
		close(fd);
	if (n != st->st_size) {
		free(data);
		return fail(c, -EIO, "%s: cannot read it: %s", path,
			    n < 0 ? strerror(errno) : "short read");
	}
	r = cpio_add_file(c, guest, st->st_mode, data, st->st_size);
	free(data);
	return r;
}

static int read_host(struct cpio *c, const char *path, const struct stat *st)
{
	return read_host_as(c, path, path, st);
}

static int add_host_path(struct cpio *c, const char *path, int depth)
{
	char target[4096], next[8192], *slash;
	struct stat st;
	ssize_t n;
	int r;

	if (cpio_has(c, path))
		return 0;
	if (depth > DEPTH_MAX)
		return fail(c, -ELOOP, "%s: too many symlinks", path);
	if (lstat(path, &st))
		return fail(c, -errno, "%s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode))
		return read_host(c, path, &st);
	if (!S_ISLNK(st.st_mode))
		return fail(c, -EINVAL, "%s: not a file", path);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return fail(c, -errno, "%s: %s", path, strerror(errno));
	target[n] = 0;
	r = cpio_add_symlink(c, path, target);
	if (r)
		return r;
	/* Then what it points to, relative to its directory. */
	if (target[0] == '/') {
		snprintf(next, sizeof(next), "%s", target);
	} else {
		snprintf(next, sizeof(next), "%s", path);
		slash = strrchr(next, '/');
		snprintf(slash + 1, sizeof(next) - (slash + 1 - next), "%s",
			 target);
	}
	return add_host_path(c, next, depth + 1);
}

int cpio_add_host_path(struct cpio *c, const char *path)
{
	return add_host_path(c, path, 0);
}

/* ---- ELF: the interpreter and DT_NEEDED ---- */

struct elf_info {
	bool is_elf;
	char interp[256];
	char *needed[64];
	unsigned int nr_needed;
	char rpath[1024];	/* DT_RUNPATH, else DT_RPATH */
};

static void elf_info_free(struct elf_info *e)
{
	while (e->nr_needed)
		free(e->needed[--e->nr_needed]);
}

static bool pread_all(int fd, void *buf, size_t len, off_t off)
{
	return pread(fd, buf, len, off) == (ssize_t)len;
}

/* File offset of virtual address @va, from the PT_LOAD segments. */
static off_t va_to_off(const Elf64_Phdr *ph, unsigned int n, Elf64_Addr va)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (ph[i].p_type == PT_LOAD && va >= ph[i].p_vaddr &&
		    va < ph[i].p_vaddr + ph[i].p_filesz)
			return va - ph[i].p_vaddr + ph[i].p_offset;
	return -1;
}

static void read_str(int fd, off_t off, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, off);

	buf[n > 0 ? n : 0] = 0;
	buf[strnlen(buf, len - 1)] = 0;
}

static int elf_dynamic(int fd, const Elf64_Phdr *ph, unsigned int n,
		       const Elf64_Phdr *dyn, struct elf_info *e)
{
	Elf64_Dyn d[512];
	unsigned int i, nd = dyn->p_filesz / sizeof(Elf64_Dyn);
	Elf64_Addr strtab = 0;
	off_t str;
	char name[256];

	if (nd > sizeof(d) / sizeof(d[0]))
		nd = sizeof(d) / sizeof(d[0]);
	if (!pread_all(fd, d, nd * sizeof(*d), dyn->p_offset))
		return -EIO;
	for (i = 0; i < nd && d[i].d_tag != DT_NULL; i++)
		if (d[i].d_tag == DT_STRTAB)
			strtab = d[i].d_un.d_ptr;
	str = va_to_off(ph, n, strtab);
	if (str < 0)
		return -EINVAL;
	for (i = 0; i < nd && d[i].d_tag != DT_NULL; i++) {
		if (d[i].d_tag == DT_NEEDED &&
		    e->nr_needed < sizeof(e->needed) / sizeof(e->needed[0])) {
			read_str(fd, str + d[i].d_un.d_val, name, sizeof(name));
			if (!(e->needed[e->nr_needed] = strdup(name)))
				return -ENOMEM;
			e->nr_needed++;
		} else if (d[i].d_tag == DT_RUNPATH ||
			   (d[i].d_tag == DT_RPATH && !e->rpath[0])) {
			read_str(fd, str + d[i].d_un.d_val, e->rpath,
				 sizeof(e->rpath));
		}
	}
	return 0;
}

static int elf_read(const char *path, struct elf_info *e)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	unsigned int i, n;
	int fd, r = 0;

	memset(e, 0, sizeof(*e));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!pread_all(fd, &eh, sizeof(eh), 0) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG))
		goto out;	/* not ELF: fine, e.g. a script */
	e->is_elf = true;
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != ELF_MACHINE ||
	    eh.e_phentsize != sizeof(Elf64_Phdr)) {
		r = -ENOEXEC;
		goto out;
	}
	n = eh.e_phnum < 64 ? eh.e_phnum : 64;
	if (!pread_all(fd, ph, n * sizeof(*ph), eh.e_phoff)) {
		r = -EIO;
		goto out;
	}
	for (i = 0; i < n && !r; i++) {
		if (ph[i].p_type == PT_INTERP)
			read_str(fd, ph[i].p_offset, e->interp,
				 sizeof(e->interp));
		else if (ph[i].p_type == PT_DYNAMIC)
			r = elf_dynamic(fd, ph, n, &ph[i], e);
	}
out:
	close(fd);
	return r;
}

bool elf_is_static(const char *path)
{
	struct elf_info e;
	bool s = !elf_read(path, &e) && e.is_elf && !e.interp[0];

	elf_info_free(&e);
	return s;
}

/* Where the loader would find @name for the object at @obj. */
static int find_lib(const char *name, const char *obj, const char *rpath,
		    char *out, size_t len)
{
	char dirs[1024], origin[4096], *d, *save, *slash;
	unsigned int i;

	snprintf(origin, sizeof(origin), "%s", obj);
	slash = strrchr(origin, '/');
	if (slash)
		*slash = 0;
	snprintf(dirs, sizeof(dirs), "%s", rpath);
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		int n = !strncmp(d, "$ORIGIN", 7) ?
				snprintf(out, len, "%s%s/%s", origin, d + 7, name) :
				snprintf(out, len, "%s/%s", d, name);

		if (n > 0 && (size_t)n < len && !access(out, R_OK))
			return 0;
	}
	for (i = 0; lib_dirs[i]; i++) {
		int n = snprintf(out, len, "%s/%s", lib_dirs[i], name);

		if (n > 0 && (size_t)n < len && !access(out, R_OK))
			return 0;
	}
	return -ENOENT;
}

static int add_program(struct cpio *c, const char *path, int depth);

static int add_elf_deps(struct cpio *c, const char *path, int depth)
{
	struct elf_info e;
	char lib[4096];
	unsigned int i;
	int r = elf_read(path, &e);

	if (r == -ENOEXEC)
		r = fail(c, r, "%s: not a 64-bit program for this machine", path);
	else if (r)
		r = fail(c, r, "%s: %s", path, strerror(-r));
	if (!r && e.interp[0])
		r = add_program(c, e.interp, depth + 1);
	for (i = 0; !r && i < e.nr_needed; i++) {
		if (strchr(e.needed[i], '/'))
			snprintf(lib, sizeof(lib), "%s", e.needed[i]);
		else if (find_lib(e.needed[i], path, e.rpath, lib, sizeof(lib)))
			r = fail(c, -ENOENT, "%s needs %s, which is not on this host",
				 path, e.needed[i]);
		if (!r && !cpio_has(c, lib))
			r = add_program(c, lib, depth + 1);
	}
	elf_info_free(&e);
	return r;
}

/* "#!INTERP [ARG]": the interpreter too, and env's program. */
static int add_script_deps(struct cpio *c, const char *path, int depth)
{
	char line[512], prog[4096], *interp, *arg, *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;
	ssize_t n;

	if (fd < 0)
		return fail(c, -errno, "%s: %s", path, strerror(errno));
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	line[n > 0 ? n : 0] = 0;
	if (strncmp(line, "#!", 2))
		return 0;	/* data, or a shell script for /bin/sh */
	line[strcspn(line, "\n")] = 0;
	interp = line + 2 + strspn(line + 2, " \t");
	end = interp + strcspn(interp, " \t");
	arg = *end ? end + 1 + strspn(end + 1, " \t") : end;
	*end = 0;
	arg[strcspn(arg, " \t")] = 0;
	r = add_program(c, interp, depth + 1);
	if (!r && *arg && !strcmp(strrchr(interp, '/') ? strrchr(interp, '/') + 1 :
				  interp, "env")) {
		if (find_in_path(arg, getenv("PATH"), prog, sizeof(prog)))
			return fail(c, -ENOENT, "%s runs %s, which is not on this host",
				    path, arg);
		r = add_program(c, prog, depth + 1);
	}
	return r;
}

static int add_program(struct cpio *c, const char *path, int depth)
{
	char real[4096];
	int r;

	if (depth > DEPTH_MAX)
		return fail(c, -ELOOP, "%s: dependencies nest too deep", path);
	if (cpio_has(c, path))
		return 0;
	r = cpio_add_host_path(c, path);
	if (r)
		return r;
	if (!realpath(path, real))
		return fail(c, -errno, "%s: %s", path, strerror(errno));
	r = add_elf_deps(c, real, depth);
	return r ? r : add_script_deps(c, real, depth);
}

int cpio_add_program(struct cpio *c, const char *path)
{
	return add_program(c, path, 0);
}

int find_in_path(const char *name, const char *path_env, char *buf,
		 size_t len)
{
	char dirs[4096], *d, *save;
	struct stat st;

	if (strchr(name, '/')) {
		snprintf(buf, len, "%s", name);
		return access(buf, X_OK) ? -errno : 0;
	}
	snprintf(dirs, sizeof(dirs), "%s",
		 path_env ? path_env : "/usr/local/bin:/usr/bin:/bin");
	for (d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		snprintf(buf, len, "%s/%s", *d ? d : ".", name);
		if (!stat(buf, &st) && S_ISREG(st.st_mode) && !access(buf, X_OK))
			return 0;
	}
	return -ENOENT;
}

/* ---- modules ---- */

struct moddep {
	char *name;		/* normalized: no directory or .ko*, '_' */
	char *path;		/* relative to the modules directory */
	char *deps;		/* the paths after the ':' */
	bool done, busy;
};

static void mod_name(const char *path, char *out, size_t len)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	size_t i;

	for (i = 0; base[i] && i < len - 1; i++) {
		if (!strncmp(base + i, ".ko", 3))
			break;
		out[i] = base[i] == '-' ? '_' : base[i];
	}
	out[i] = 0;
}

static char *read_text(const char *path)
{
	struct stat st;
	char *buf = NULL;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st))
		goto out;
	buf = malloc(st.st_size + 1);
	if (buf && read(fd, buf, st.st_size) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[st.st_size] = 0;
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

static struct moddep *parse_dep(char *text, unsigned int *n)
{
	struct moddep *m = NULL, *grow;
	char *line, *save, *colon, name[256];

	*n = 0;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		grow = realloc(m, (*n + 1) * sizeof(*m));
		if (!grow)
			break;
		m = grow;
		mod_name(line, name, sizeof(name));
		m[*n] = (struct moddep){ strdup(name), line, colon + 1 };
		(*n)++;
	}
	return m;
}

static struct moddep *mod_find(struct moddep *m, unsigned int n,
			       const char *name)
{
	char want[256];

	mod_name(name, want, sizeof(want));
	for (unsigned int i = 0; i < n; i++)
		if (m[i].name && !strcmp(m[i].name, want))
			return &m[i];
	return NULL;
}

/* Dependencies first (depth first), each once. */
static int mod_add(struct cpio *c, const char *dir, struct moddep *all,
		   unsigned int n, struct moddep *m, unsigned int *added)
{
	char deps[4096], path[4096], guest[512], *d, *save;
	struct moddep *dep;
	struct stat st;
	int r;

	if (m->done || m->busy)
		return 0;
	m->busy = true;
	snprintf(deps, sizeof(deps), "%s", m->deps);
	for (d = strtok_r(deps, " \t", &save); d; d = strtok_r(NULL, " \t", &save)) {
		dep = mod_find(all, n, d);
		if (dep && (r = mod_add(c, dir, all, n, dep, added)))
			return r;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, m->path);
	if (stat(path, &st))
		return fail(c, -errno, "%s: %s", path, strerror(errno));
	snprintf(guest, sizeof(guest), "/lkvm/modules/%02u-%s", *added,
		 strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path);
	r = read_host_as(c, path, guest, &st);
	if (r)
		return r;
	m->done = true;
	(*added)++;
	return 0;
}

/* modules.builtin lists kernel/.../NAME.ko, one a line. */
static bool builtin_has(const char *text, const char *want)
{
	char line[512], name[256];
	const char *p = text, *nl;

	while (p && *p) {
		nl = strchr(p, '\n');
		snprintf(line, sizeof(line), "%.*s",
			 (int)(nl ? nl - p : (long)strlen(p)), p);
		mod_name(line, name, sizeof(name));
		if (!strcmp(name, want))
			return true;
		p = nl ? nl + 1 : NULL;
	}
	return false;
}

int cpio_add_modules(struct cpio *c, const char *dir,
		     const char *const *names, unsigned int *added)
{
	char path[4096], want[256], *dep, *builtin;
	struct moddep *all, *m;
	unsigned int n, i;
	int r = 0;

	*added = 0;
	snprintf(path, sizeof(path), "%s/modules.dep", dir);
	dep = read_text(path);
	if (!dep)
		return fail(c, -ENOENT, "%s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "%s/modules.builtin", dir);
	builtin = read_text(path);
	all = parse_dep(dep, &n);
	for (i = 0; names[i] && !r; i++) {
		m = mod_find(all, n, names[i]);
		if (m) {
			r = mod_add(c, dir, all, n, m, added);
			continue;
		}
		mod_name(names[i], want, sizeof(want));
		if (!builtin_has(builtin, want))
			r = fail(c, -ESRCH, "%s: %s is neither in modules.dep nor in modules.builtin",
				 dir, names[i]);
	}
	for (i = 0; i < n; i++)
		free(all[i].name);
	free(all);
	free(dep);
	free(builtin);
	return r;
}
