/* mounts.c - the container's filesystem: rootfs (overlay or a plain
 * directory), /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys, the
 * caller's mounts, pivot_root, then masked and read-only paths.
 *
 * Runs in the child of clone(2), root in its own user namespace.  Paths
 * inside the rootfs are resolved with openat2(RESOLVE_IN_ROOT), so a symlink
 * in an image cannot send a mount or a mkdir outside the rootfs; the mount
 * then targets the resolved O_PATH fd through /proc/self/fd/N.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "internal.h"

#define FD_PATH_MAX 32

struct fd_path {
  char s[FD_PATH_MAX];
};

static struct fd_path fd_path(int fd) {
  struct fd_path p;
  snprintf(p.s, sizeof(p.s), "/proc/self/fd/%d", fd);
  return p;
}

/* ---- preparing, in the parent before clone ---- */

static int append(char *buf, size_t size, size_t *len, const char *s) {
  size_t n = strlen(s);
  if (*len + n >= size)
    return -1;
  memcpy(buf + *len, s, n + 1);
  *len += n;
  return 0;
}

int pdman_prepare_rootfs(const struct pdman_spawn_spec *spec,
                         struct pdman_prepared *prep, struct pdman_error *err) {
  char *buf = prep->overlay_data;
  size_t size = sizeof(prep->overlay_data), len = 0, i;
  int bad = 0;

  buf[0] = '\0';
  prep->overlay_fsconfig = 0;
  if (spec->rootfs == NULL || spec->rootfs[0] != '/')
    return pdman_error_set(err, EINVAL, "rootfs must be an absolute path");
  if (spec->n_lowerdirs == 0)
    return 0;
  if (spec->upperdir == NULL || spec->workdir == NULL)
    return pdman_error_set(err, EINVAL, "overlay rootfs needs upper and work dirs");
  bad |= append(buf, size, &len, "lowerdir=");
  for (i = 0; i < spec->n_lowerdirs; i++) {
    if (i > 0)
      bad |= append(buf, size, &len, ":");
    bad |= append(buf, size, &len, spec->lowerdirs[i]);
  }
  bad |= append(buf, size, &len, ",upperdir=");
  bad |= append(buf, size, &len, spec->upperdir);
  bad |= append(buf, size, &len, ",workdir=");
  bad |= append(buf, size, &len, spec->workdir);
  if (spec->overlay_userxattr)
    bad |= append(buf, size, &len, ",userxattr");
  if (bad) {
    buf[0] = '\0';
    prep->overlay_fsconfig = 1;
  }
  return 0;
}

/* ---- resolving inside the rootfs ---- */

static int open_in_root(int rootfd, const char *path, int flags) {
  struct open_how how;

  memset(&how, 0, sizeof(how));
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  /* openat2 answers EAGAIN when a rename or mount anywhere on the system races a
   * ".." in the path (the kernel cannot then prove the walk stayed inside the
   * root): a retry is what it asks for, as runc and crun do */
  for (int tries = 0; tries < 32; tries++) {
    int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));

    if (fd >= 0 || errno != EAGAIN)
      return fd;
  }
  return -1;
}

#define MAX_DANGLING_LINKS 8

/* `path` with the component ending at `end` (a dangling symlink in the
 * directory prefix[0..start)) replaced by the link's target. */
static int follow_dangling(int parent, const char *path, size_t start,
                           size_t end, char *out, size_t size) {
  char name[NAME_MAX + 1], target[PATH_MAX];
  ssize_t n;
  int len;

  if (end - start > NAME_MAX)
    return -1;
  memcpy(name, path + start, end - start);
  name[end - start] = '\0';
  n = readlinkat(parent, name, target, sizeof(target) - 1);
  if (n <= 0)
    return -1;
  target[n] = '\0';
  if (target[0] == '/')
    len = snprintf(out, size, "%s%s", target, path + end);
  else
    len = snprintf(out, size, "%.*s%s%s", (int)start, path, target, path + end);
  return len < 0 || (size_t)len >= size ? -1 : 0;
}

/* An O_PATH fd for `path` inside the rootfs, creating what is missing: the
 * last component as a directory, or as an empty file when !dir (a bind
 * target).  Each missing component is created in its resolved parent; a
 * dangling symlink (/etc/resolv.conf -> /run/...) gets its target made. */
static int ensure_in_root_at(int rootfd, const char *path, int dir, int depth,
                             struct pdman_error *err) {
  char prefix[PATH_MAX];
  size_t len = strlen(path), end = 0;
  int fd;

  fd = open_in_root(rootfd, path, O_PATH);
  if (fd >= 0 || errno != ENOENT) {
    if (fd < 0)
      return pdman_error_set(err, errno, "resolving `%s` in the rootfs", path);
    return fd;
  }
  if (len >= sizeof(prefix))
    return pdman_error_set(err, ENAMETOOLONG, "resolving `%s`", path);

  while (end < len) {
    cleanup_close int parent = -1;
    size_t start;
    int last, ret;

    while (end < len && path[end] == '/')
      end++;
    start = end;
    while (end < len && path[end] != '/')
      end++;
    if (start == end)
      break;
    last = end >= len || path[end + strspn(path + end, "/")] == '\0';
    memcpy(prefix, path, end);
    prefix[end] = '\0';
    fd = open_in_root(rootfd, prefix, O_PATH);
    if (fd >= 0) {
      if (last)
        return fd;
      close(fd);
      continue;
    }
    if (errno != ENOENT)
      return pdman_error_set(err, errno, "resolving `%s` in the rootfs", prefix);

    prefix[start] = '\0';
    parent = open_in_root(rootfd, start > 0 ? prefix : "/", O_PATH | O_DIRECTORY);
    if (parent < 0)
      return pdman_error_set(err, errno, "resolving `%s` in the rootfs",
                             start > 0 ? prefix : "/");
    memcpy(prefix, path, end);
    prefix[end] = '\0';
    if (last && !dir) {
      ret = openat(parent, prefix + start,
                   O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
      if (ret >= 0)
        close(ret);
    } else {
      ret = mkdirat(parent, prefix + start, 0755);
    }
    if (ret < 0 && errno != EEXIST)
      return pdman_error_set(err, errno, "creating `%s` in the rootfs", prefix);
    fd = open_in_root(rootfd, prefix, O_PATH);
    if (fd < 0 && errno == ENOENT) { /* EEXIST above: a dangling symlink */
      if (depth < MAX_DANGLING_LINKS &&
          follow_dangling(parent, path, start, end, prefix, sizeof(prefix)) == 0)
        return ensure_in_root_at(rootfd, prefix, dir, depth + 1, err);
      errno = ENOENT;
    }
    if (fd < 0)
      return pdman_error_set(err, errno, "resolving `%s` in the rootfs", prefix);
    if (last)
      return fd;
    close(fd);
  }
  return pdman_error_set(err, EINVAL, "resolving `%s`: empty path", path);
}

static int ensure_in_root(int rootfd, const char *path, int dir,
                          struct pdman_error *err) {
  return ensure_in_root_at(rootfd, path, dir, 0, err);
}

/* ---- mount helpers ---- */

/* The flags a remount must keep: in a user namespace the kernel locks
 * nosuid/nodev/noexec/atime flags inherited from the host's mount, and a
 * remount that would clear them fails with EPERM. */
static unsigned long locked_flags(const char *target) {
  struct statvfs sv;
  unsigned long flags = 0;

  if (statvfs(target, &sv) < 0)
    return 0;
  if (sv.f_flag & ST_NOSUID)
    flags |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV)
    flags |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC)
    flags |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME)
    flags |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME)
    flags |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME)
    flags |= MS_RELATIME;
  if (sv.f_flag & ST_RDONLY)
    flags |= MS_RDONLY;
  return flags;
}

static int remount_bind(const char *target, const char *shown,
                        unsigned long flags, struct pdman_error *err) {
  unsigned long all = flags | MS_BIND | MS_REMOUNT | locked_flags(target);

  if (mount(NULL, target, NULL, all, NULL) < 0)
    return pdman_error_set(err, errno, "remount `%s`%s%s%s%s", shown,
                           (flags & MS_RDONLY) ? " ro" : "",
                           (flags & MS_NOSUID) ? " nosuid" : "",
                           (flags & MS_NODEV) ? " nodev" : "",
                           (flags & MS_NOEXEC) ? " noexec" : "");
  return 0;
}

/* Without mount_setattr(2) (Linux < 5.12): each mount at or below `top` in
 * /proc/self/mountinfo (field 5, the mount point; octal escapes are left as
 * they are, so a mount point with a space is missed, then reported) remounted
 * read-only in turn.  No allocation: this runs in the child of clone(2). */
static int readonly_each(const char *top, unsigned long ms_extra,
                         struct pdman_error *err) {
  cleanup_close int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
  char buf[8192], line[PATH_MAX + 512];
  size_t len = 0, toplen = strlen(top);
  ssize_t n;
  int ret;

  if (fd < 0)
    return pdman_error_set(err, errno, "open `/proc/self/mountinfo`");
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    ssize_t i;

    for (i = 0; i < n; i++) {
      char *field, *save = NULL;
      int k;

      if (buf[i] != '\n') {
        if (len + 1 < sizeof(line))
          line[len++] = buf[i];
        continue;
      }
      line[len] = '\0';
      len = 0;
      field = strtok_r(line, " ", &save);
      for (k = 1; field != NULL && k < 5; k++)
        field = strtok_r(NULL, " ", &save);
      if (field == NULL || strncmp(field, top, toplen) != 0 ||
          (field[toplen] != '\0' && field[toplen] != '/'))
        continue;
      ret = remount_bind(field, field, MS_RDONLY | ms_extra, err);
      if (ret < 0)
        return ret;
    }
  }
  return n < 0 ? pdman_error_set(err, errno, "read `/proc/self/mountinfo`") : 0;
}

/* The mount at the O_PATH `fd` and every mount below it read-only, and with
 * `noexec` nosuid, nodev, noexec too: a bind of the host's /sys brings
 * /sys/fs/cgroup, /sys/kernel/debug, ... along, and a remount only changes the
 * top one. */
static int readonly_recursive(int fd, const char *shown, int noexec,
                              struct pdman_error *err) {
  struct mount_attr attr;
  char top[PATH_MAX];
  ssize_t n;

  memset(&attr, 0, sizeof(attr));
  attr.attr_set = MOUNT_ATTR_RDONLY;
  if (noexec)
    attr.attr_set |= MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
  if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
              sizeof(attr)) == 0)
    return 0;
  if (errno != ENOSYS)
    return pdman_error_set(err, errno, "mount_setattr `%s` read-only, recursively", shown);
  n = readlink(fd_path(fd).s, top, sizeof(top) - 1);
  if (n <= 0)
    return pdman_error_set(err, errno, "readlink `%s`", shown);
  top[n] = '\0';
  return readonly_each(top, noexec ? MS_NOSUID | MS_NODEV | MS_NOEXEC : 0, err);
}

static int mount_at(int rootfd, const char *dest, int dir, const char *source,
                    const char *fstype, unsigned long flags, const char *data,
                    struct pdman_error *err) {
  cleanup_close int fd = ensure_in_root(rootfd, dest, dir, err);
  if (fd < 0)
    return fd;
  if (mount(source, fd_path(fd).s, fstype, flags, data) < 0)
    return pdman_error_set(err, errno, "mount `%s` on `%s`",
                           fstype != NULL ? fstype : source, dest);
  return 0;
}

/* ---- the rootfs ---- */

#ifdef SYS_fsopen
/* The new mount API: every option is its own fsconfig(2) call, so no page
 * limit on the lowerdir list.  The kernel explains a refusal in the fs
 * context's log, which we read into the message. */
static int fs_error(int fs, struct pdman_error *err, int errnum,
                    const char *what, const char *arg) {
  char log[256];
  ssize_t n = read(fs, log, sizeof(log) - 1);

  if (n > 0) {
    if (log[n - 1] == '\n')
      n--;
    log[n] = '\0';
    return pdman_error_set(err, errnum, "%s `%s` (%s)", what, arg, log);
  }
  return pdman_error_set(err, errnum, "%s `%s`", what, arg);
}

static int mount_overlay_fsconfig(const struct pdman_spawn_spec *spec,
                                  struct pdman_error *err) {
  cleanup_close int fs = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
  cleanup_close int mnt = -1;
  size_t i;

  if (fs < 0)
    return pdman_error_set(err, errno, "fsopen overlay");
  for (i = 0; i < spec->n_lowerdirs; i++)
    if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "lowerdir+",
                spec->lowerdirs[i], 0) < 0) {
      fs_error(fs, err, errno, "fsconfig lowerdir+", spec->lowerdirs[i]);
      return pdman_error_wrap(err,
                              "%zu layers exceed the page of mount(2) options, "
                              "so each is passed alone (Linux >= 6.8; or use "
                              "short lowerdir link names)",
                              spec->n_lowerdirs);
    }
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "upperdir", spec->upperdir,
              0) < 0)
    return fs_error(fs, err, errno, "fsconfig upperdir", spec->upperdir);
  if (syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "workdir", spec->workdir,
              0) < 0)
    return fs_error(fs, err, errno, "fsconfig workdir", spec->workdir);
  if (spec->overlay_userxattr &&
      syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
    return fs_error(fs, err, errno, "fsconfig", "userxattr");
  if (syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    return fs_error(fs, err, errno, "mounting overlay on", spec->rootfs);
  mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0)
    return pdman_error_set(err, errno, "fsmount overlay");
  if (syscall(SYS_move_mount, mnt, "", AT_FDCWD, spec->rootfs,
              MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return pdman_error_set(err, errno, "mounting overlay on %s", spec->rootfs);
  return 0;
}
#else
static int mount_overlay_fsconfig(const struct pdman_spawn_spec *spec,
                                  struct pdman_error *err) {
  return pdman_error_set(err, E2BIG,
                         "overlay options for %zu layers exceed the page "
                         "mount(2) reads: use short lowerdir link names",
                         spec->n_lowerdirs);
}
#endif

static int mount_rootfs(const struct pdman_spawn_spec *spec,
                        const struct pdman_prepared *prep,
                        struct pdman_error *err) {
  if (spec->n_lowerdirs == 0) {
    /* pivot_root needs a mount point */
    if (mount(spec->rootfs, spec->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
      return pdman_error_set(err, errno, "bind mount rootfs `%s`", spec->rootfs);
    return 0;
  }
  /* relative lowerdir names resolve against the cwd at mount time */
  if (spec->linkdir != NULL && chdir(spec->linkdir) < 0)
    return pdman_error_set(err, errno, "chdir to layer link dir `%s`",
                           spec->linkdir);
  if (prep->overlay_fsconfig) {
    int ret = mount_overlay_fsconfig(spec, err);
    if (ret < 0)
      return ret;
  } else if (mount("overlay", spec->rootfs, "overlay", 0, prep->overlay_data) <
             0) {
    return pdman_error_set(err, errno, "mounting overlay on %s", spec->rootfs);
  }
  if (chdir("/") < 0)
    return pdman_error_set(err, errno, "chdir /");
  return 0;
}

/* Is container GID `gid` mapped in our user namespace? */
static int gid_mapped(unsigned long gid) {
  cleanup_close int fd = open("/proc/self/gid_map", O_RDONLY | O_CLOEXEC);
  char buf[16384];
  char *p, *next;
  ssize_t n;

  if (fd < 0)
    return 0;
  n = read(fd, buf, sizeof(buf) - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  for (p = buf; *p != '\0'; p = next) {
    unsigned long inside, count;

    inside = strtoul(p, &next, 10);
    strtoul(next, &next, 10); /* the host side */
    count = strtoul(next, &next, 10);
    if (next == p)
      break;
    if (gid >= inside && gid - inside < count)
      return 1;
  }
  return 0;
}

static const char *const host_devices[] = {"null", "zero", "full", "random",
                                           "urandom", "tty"};

static const struct {
  const char *target, *name;
} dev_links[] = {
    {"pts/ptmx", "ptmx"},         {"/proc/self/fd", "fd"},
    {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"}, {"/proc/kcore", "core"},
};

static int mount_dev(int rootfd, const struct pdman_spawn_spec *spec,
                     struct pdman_error *err) {
  cleanup_close int devfd = -1;
  char host[32], dest[32];
  size_t i;
  int ret;

  ret = mount_at(rootfd, "/dev", 1, "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
                 "mode=755,size=65536k", err);
  if (ret < 0)
    return ret;
  devfd = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
  if (devfd < 0)
    return pdman_error_set(err, errno, "open `/dev` in the rootfs");

  /* device nodes made in a user namespace cannot be opened: bind the host's */
  for (i = 0; i < sizeof(host_devices) / sizeof(host_devices[0]); i++) {
    snprintf(host, sizeof(host), "/dev/%s", host_devices[i]);
    snprintf(dest, sizeof(dest), "/dev/%s", host_devices[i]);
    ret = mount_at(rootfd, dest, 0, host, NULL, MS_BIND, NULL, err);
    if (ret < 0)
      return ret;
  }
  for (i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++)
    if (symlinkat(dev_links[i].target, devfd, dev_links[i].name) < 0)
      return pdman_error_set(err, errno, "symlink `/dev/%s`", dev_links[i].name);

  /* gid=5 (tty) only exists with a full ID mapping; asking the kernel
   * and retrying costs more (~0.8 ms) than reading the map */
  ret = mount_at(rootfd, "/dev/pts", 1, "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                 gid_mapped(5) ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
                               : "newinstance,ptmxmode=0666,mode=0620",
                 err);
  if (ret < 0)
    return ret;
  ret = mount_at(rootfd, "/dev/shm", 1, "shm", "tmpfs",
                 MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", err);
  if (ret < 0)
    return ret;
  ret = mount_at(rootfd, "/dev/mqueue", 1, "mqueue", "mqueue",
                 MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
  if (ret < 0 && (spec->share & PDMAN_SHARE_IPC) && err->errnum == EPERM) {
    /* the host's IPC namespace is not ours to mount: show the host's */
    ret = mount_at(rootfd, "/dev/mqueue", 1, "/dev/mqueue", NULL,
                   MS_BIND | MS_REC, NULL, err);
    if (ret < 0 && err->errnum == ENOENT) {
      /* the host has no /dev/mqueue mounted: it has nothing there to show */
      pdman_error_clear(err);
      ret = 0;
    }
  }
  return ret;
}

/* The container's own cgroup at /sys/fs/cgroup, read-only, as podman mounts it:
 * programs read their limits there (memory.max, cpu.max, pids.max: the JVM, Go's
 * and Node's runtimes, nproc-style tools).  Only on a cgroup v2 host (before
 * pivot_root this process still sees the host's /sys/fs/cgroup) and in a cgroup
 * namespace of its own, whose root is the cgroup the caller put the container in
 * (unshared after sync 2): it shows that cgroup and what is below, nothing above.
 * Over a fresh sysfs only (a container with a network namespace of its own).  A
 * kernel that refuses the mount leaves the directory as sysfs has it. */
static int mount_cgroup(int rootfd, const struct pdman_spawn_spec *spec,
                        struct pdman_error *err) {
  unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;

  if ((spec->share & PDMAN_SHARE_CGROUP) ||
      access("/sys/fs/cgroup/cgroup.controllers", F_OK) < 0)
    return 0;
  if (mount_at(rootfd, "/sys/fs/cgroup", 1, "cgroup2", "cgroup2", ro, NULL, err) < 0) {
    if (err->errnum != EPERM && err->errnum != EACCES && err->errnum != ENOENT &&
        err->errnum != EBUSY)
      return -1;
    pdman_error_clear(err);
  }
  return 0;
}

static int mount_sys(int rootfd, const struct pdman_spawn_spec *spec,
                     struct pdman_error *err) {
  unsigned long ro = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC;
  cleanup_close int fd = -1;
  int ret;

  /* a fresh sysfs needs a network namespace owned by our user namespace */
  if (!(spec->share & PDMAN_SHARE_NET)) {
    ret = mount_at(rootfd, "/sys", 1, "sysfs", "sysfs", ro, NULL, err);
    if (ret == 0)
      return mount_cgroup(rootfd, spec, err);
    if (err->errnum != EPERM)
      return ret;
  }
  ret = mount_at(rootfd, "/sys", 1, "/sys", NULL, MS_BIND | MS_REC, NULL, err);
  if (ret < 0)
    return ret;
  fd = open_in_root(rootfd, "/sys", O_PATH | O_DIRECTORY);
  if (fd < 0)
    return pdman_error_set(err, errno, "open `/sys` in the rootfs");
  /* (the host's sysfs bound, with the host's cgroup2 mount inside: a second one over
   * it is refused, EBUSY; that view stays, read-only, as before) */
  return readonly_recursive(fd, "/sys", 1, err);
}

static unsigned long mount_flags(unsigned int flags) {
  unsigned long ms = 0;

  if (flags & PDMAN_MOUNT_READONLY)
    ms |= MS_RDONLY;
  if (flags & PDMAN_MOUNT_NOSUID)
    ms |= MS_NOSUID;
  if (flags & PDMAN_MOUNT_NODEV)
    ms |= MS_NODEV;
  if (flags & PDMAN_MOUNT_NOEXEC)
    ms |= MS_NOEXEC;
  return ms;
}

static int mount_one(int rootfd, const struct pdman_mount *m,
                     struct pdman_error *err) {
  cleanup_close int fd = -1;
  unsigned long extra = mount_flags(m->flags);
  struct stat st;

  if (m->destination == NULL || m->destination[0] != '/')
    return pdman_error_set(err, EINVAL, "mount destination must be absolute");
  if (!(m->flags & PDMAN_MOUNT_BIND)) {
    fd = ensure_in_root(rootfd, m->destination, 1, err);
    if (fd < 0)
      return fd;
    if (mount(m->source != NULL ? m->source : m->fstype, fd_path(fd).s,
              m->fstype, extra, m->data) < 0)
      return pdman_error_set(err, errno, "mount `%s` on `%s`", m->fstype,
                             m->destination);
    return 0;
  }
  if (stat(m->source, &st) < 0)
    return pdman_error_set(err, errno, "stat bind source `%s`", m->source);
  fd = ensure_in_root(rootfd, m->destination, S_ISDIR(st.st_mode), err);
  if (fd < 0)
    return fd;
  if (mount(m->source, fd_path(fd).s, NULL,
            MS_BIND | ((m->flags & PDMAN_MOUNT_RECURSIVE) ? MS_REC : 0),
            NULL) < 0)
    return pdman_error_set(err, errno, "bind mount `%s` on `%s`", m->source,
                           m->destination);
  if (extra == 0)
    return 0;
  /* bind ignores flags: apply them with a remount of the new mount */
  close(fd);
  fd = open_in_root(rootfd, m->destination, O_PATH);
  if (fd < 0)
    return pdman_error_set(err, errno, "open `%s` in the rootfs", m->destination);
  return remount_bind(fd_path(fd).s, m->destination, extra, err);
}

/* ---- after pivot_root ---- */

static int pivot_root_to(const char *rootfs, struct pdman_error *err) {
  cleanup_close int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);

  if (newroot < 0)
    return pdman_error_set(err, errno, "open rootfs `%s`", rootfs);
  if (fchdir(newroot) < 0)
    return pdman_error_set(err, errno, "fchdir to rootfs `%s`", rootfs);
  /* pivot_root(".", "."): the old root ends up stacked on "/" and is
   * detached right away, with no directory needed to hold it */
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return pdman_error_set(err, errno, "pivot_root to `%s`", rootfs);
  if (umount2(".", MNT_DETACH) < 0)
    return pdman_error_set(err, errno, "detach the old root");
  if (chdir("/") < 0)
    return pdman_error_set(err, errno, "chdir /");
  return 0;
}

static int mask_paths(const struct pdman_spawn_spec *spec,
                      struct pdman_error *err) {
  struct stat st;
  size_t i;
  int ret;

  for (i = 0; i < spec->n_masked_paths; i++) {
    const char *p = spec->masked_paths[i];

    if (lstat(p, &st) < 0) {
      if (errno == ENOENT)
        continue;
      return pdman_error_set(err, errno, "masking `%s`: lstat", p);
    }
    if (S_ISDIR(st.st_mode))
      ret = mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "size=0k,mode=755");
    else
      ret = mount("/dev/null", p, NULL, MS_BIND, NULL);
    if (ret < 0)
      return pdman_error_set(err, errno, "masking `%s`: mount", p);
  }
  for (i = 0; i < spec->n_readonly_paths; i++) {
    const char *p = spec->readonly_paths[i];

    if (lstat(p, &st) < 0) {
      if (errno == ENOENT)
        continue;
      return pdman_error_set(err, errno, "read-only `%s`: lstat", p);
    }
    cleanup_close int fd = -1;

    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
      return pdman_error_set(err, errno, "read-only `%s`: bind mount", p);
    fd = open(p, O_PATH | O_CLOEXEC);
    if (fd < 0)
      return pdman_error_set(err, errno, "read-only `%s`: open", p);
    ret = readonly_recursive(fd, p, 0, err);
    if (ret < 0)
      return ret;
  }
  return 0;
}

int pdman_setup_rootfs(const struct pdman_spawn_spec *spec,
                       const struct pdman_prepared *prep,
                       struct pdman_error *err) {
  cleanup_close int rootfd = -1;
  cleanup_close int cwdfd = -1;
  size_t i;
  int ret;

  /* nothing we mount may propagate back to the host */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
    return pdman_error_set(err, errno, "making / private");

  ret = mount_rootfs(spec, prep, err);
  if (ret < 0)
    return ret;
  rootfd = open(spec->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return pdman_error_set(err, errno, "open rootfs `%s`", spec->rootfs);

  if (spec->share & PDMAN_SHARE_PID) /* the host's PID namespace: its /proc */
    ret = mount_at(rootfd, "/proc", 1, "/proc", NULL, MS_BIND | MS_REC, NULL, err);
  else
    ret = mount_at(rootfd, "/proc", 1, "proc", "proc",
                   MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, err);
  if (ret < 0)
    return pdman_error_wrap(err, "mounting /proc");
  ret = mount_dev(rootfd, spec, err);
  if (ret < 0)
    return pdman_error_wrap(err, "mounting /dev");
  ret = mount_sys(rootfd, spec, err);
  if (ret < 0)
    return pdman_error_wrap(err, "mounting /sys");
  for (i = 0; i < spec->n_mounts; i++) {
    ret = mount_one(rootfd, &spec->mounts[i], err);
    if (ret < 0)
      return ret;
  }
  if (spec->cwd != NULL && spec->cwd_must_exist) {
    cwdfd = open_in_root(rootfd, spec->cwd, O_PATH | O_DIRECTORY);
    if (cwdfd < 0 && errno == ENOTDIR)
      return pdman_error_set(err, errno,
                             "workdir \"%s\" exists on container, but is not a directory",
                             spec->cwd);
    if (cwdfd < 0)
      return pdman_error_set(err, errno, "workdir \"%s\" does not exist on container",
                             spec->cwd);
  } else if (spec->cwd != NULL) {
    cwdfd = ensure_in_root(rootfd, spec->cwd, 1, err);
    if (cwdfd < 0)
      return pdman_error_wrap(err, "creating the working directory");
  }

  ret = pivot_root_to(spec->rootfs, err);
  if (ret < 0)
    return ret;
  ret = mask_paths(spec, err);
  if (ret < 0)
    return ret;
  if (spec->readonly_rootfs)
    return remount_bind("/", "/", MS_RDONLY, err);
  return 0;
}

int pdman_mount(const char *source, const char *target, const char *fstype,
                unsigned long flags, const char *data, struct pdman_error *err) {
  pdman_error_clear(err);
  if (mount(source, target, fstype, flags, data) < 0)
    return pdman_error_set(err, errno, "mount `%s` on `%s`",
                           fstype != NULL ? fstype : (source ? source : ""),
                           target);
  return 0;
}

int pdman_umount(const char *target, int flags, struct pdman_error *err) {
  pdman_error_clear(err);
  if (umount2(target, flags) < 0)
    return pdman_error_set(err, errno, "umount `%s`", target);
  return 0;
}
