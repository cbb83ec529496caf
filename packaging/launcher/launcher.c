/* launcher.c - the single-file pdman: extract once, then exec.
 *
 * PyInstaller's one-file mode unpacks the whole bundle into a fresh temporary
 * directory on every run (+200-320 ms) and keeps a bootloader parent around
 * the real program. This launcher carries pdman's one-directory bundle as a
 * payload (layout: launcher.h) instead:
 *
 *   first run   the payload is checked against its SHA-256, unpacked into
 *               <cache>/<version>-<hash16>.tmp-<pid>, the ready marker is
 *               written last, and the directory renamed into place (atomic:
 *               two first runs at once both succeed, one rename wins);
 *   every run   the marker is read and the bundle's executable exec'd in
 *               place of this process: no parent stays, so signals reach
 *               pdman, its exit status is the caller's, and systemd's main
 *               PID is pdman itself.
 *
 * <cache> is $PDMAN_BUNDLE_CACHE, else $XDG_CACHE_HOME/pdman, else
 * $HOME/.cache/pdman, else (no HOME: a system unit) the user database's
 * home's .cache/pdman, else /var/tmp/pdman-bundle-UID, and must belong to
 * the user alone. Bundles of other
 * versions are left alone: a detached container's monitor may still run from
 * one (remove them by hand when no container of that version runs). A warm
 * run checks the marker and the directory's owner, not every file: a bundle
 * damaged by hand is repaired by removing its directory.
 *
 * Errors print "pdman: <what>: <path>: <strerror>" and exit 125, pdman's
 * exit code for its own failures.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "launcher.h"

#define EXIT_ENGINE 125

struct trailer {
  char magic[16];
  uint64_t payload_offset;
  uint64_t payload_size;
  char sha256[64];
  char version[32];
};

_Static_assert(sizeof(struct trailer) == PDMAN_TRAILER_SIZE, "trailer layout");

static void closep(int *fd) {
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
}

static void freep(void *p) { free(*(void **)p); }

#define cleanup_close __attribute__((cleanup(closep)))
#define cleanup_free __attribute__((cleanup(freep)))

static char error_msg[PATH_MAX + 256];

/* Record "<text>: <strerror(errnum)>" (no suffix for errnum 0); returns -1. */
__attribute__((format(printf, 2, 3))) static int fail(int errnum, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(error_msg, sizeof(error_msg), fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < sizeof(error_msg) && errnum != 0)
    snprintf(error_msg + n, sizeof(error_msg) - n, ": %s", strerror(errnum));
  return -1;
}

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t le32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* ---- where the bundle lives ---- */

/* The home directory of the user database: a system unit (no User=) starts
 * pdman with no HOME at all.  Only an existing directory of this user's
 * counts (service accounts often have /nonexistent or a root-owned home). */
static const char *passwd_home(void) {
  struct passwd *pw = getpwuid(geteuid());
  struct stat st;

  if (pw == NULL || pw->pw_dir == NULL || pw->pw_dir[0] != '/')
    return NULL;
  if (stat(pw->pw_dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
      access(pw->pw_dir, W_OK) < 0)
    return NULL;
  return pw->pw_dir;
}

static int cache_root(char *out, size_t size) {
  const char *dir = getenv("PDMAN_BUNDLE_CACHE");
  int n;

  if (dir != NULL && dir[0] == '/')
    n = snprintf(out, size, "%s", dir);
  else if ((dir = getenv("XDG_CACHE_HOME")) != NULL && dir[0] == '/')
    n = snprintf(out, size, "%s/pdman", dir);
  else if ((dir = getenv("HOME")) != NULL && dir[0] == '/')
    n = snprintf(out, size, "%s/.cache/pdman", dir);
  else if ((dir = passwd_home()) != NULL)
    n = snprintf(out, size, "%s/.cache/pdman", dir);
  else if (access(dir = "/var/tmp", W_OK | X_OK) == 0)
    /* no home of its own: a directory of this UID's (mkdir_private checks the
     * owner and mode, and /var/tmp is sticky: nobody else can replace it) */
    n = snprintf(out, size, "%s/pdman-bundle-%d", dir, (int)geteuid());
  else
    return fail(0, "no cache directory for the bundle: no HOME, no home directory of uid %d "
                "and /var/tmp is not writable: set PDMAN_BUNDLE_CACHE, XDG_CACHE_HOME or HOME",
                (int)geteuid());
  if (n < 0 || (size_t)n >= size)
    return fail(ENAMETOOLONG, "cache directory %s", dir);
  return 0;
}

static int read_trailer(int fd, struct trailer *t, off_t *file_size) {
  struct stat st;
  unsigned char raw[PDMAN_TRAILER_SIZE];

  if (fstat(fd, &st) < 0)
    return fail(errno, "stat /proc/self/exe");
  if (st.st_size < PDMAN_TRAILER_SIZE || pread(fd, raw, sizeof(raw), st.st_size - PDMAN_TRAILER_SIZE) != sizeof(raw))
    return fail(0, "this pdman file is truncated (no payload trailer)");
  memcpy(t->magic, raw, 16);
  if (memcmp(t->magic, PDMAN_BUNDLE_MAGIC, 16) != 0)
    return fail(0, "this pdman file carries no bundle (bad trailer magic)");
  t->payload_offset = le64(raw + 16);
  t->payload_size = le64(raw + 24);
  memcpy(t->sha256, raw + 32, 64);
  memcpy(t->version, raw + 96, 32);
  t->version[31] = '\0';
  if (t->payload_offset + t->payload_size + PDMAN_TRAILER_SIZE != (uint64_t)st.st_size)
    return fail(0, "this pdman file is truncated or padded (payload size mismatch)");
  for (const char *v = t->version; *v; v++)
    if (*v == '/')
      return fail(0, "bad version in the payload trailer");
  /* both end up in a path: a hash is hex digits, nothing else */
  for (int i = 0; i < 64; i++)
    if (!((t->sha256[i] >= '0' && t->sha256[i] <= '9') || (t->sha256[i] >= 'a' && t->sha256[i] <= 'f')))
      return fail(0, "bad hash in the payload trailer");
  *file_size = st.st_size;
  return 0;
}

/* 1 if `dir` holds a complete bundle of this payload, 0 if not. The code about to
 * run comes from there: the directory must be ours, writable by nobody else. */
static int bundle_ready(const char *dir, const struct trailer *t) {
  char path[PATH_MAX];
  char got[64];
  struct stat st;
  cleanup_close int fd = -1;

  if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
    return 0;
  if (snprintf(path, sizeof(path), "%s/" PDMAN_READY_MARKER, dir) >= (int)sizeof(path))
    return 0;
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  return read(fd, got, sizeof(got)) == (ssize_t)sizeof(got) && memcmp(got, t->sha256, 64) == 0;
}

/* ---- unpacking ---- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void remove_tree(const char *path) { nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* A relative path with no "." or ".." component and no empty one. */
static int path_is_safe(const char *p) {
  if (p[0] == '\0' || p[0] == '/')
    return 0;
  for (const char *c = p; *c;) {
    const char *end = strchrnul(c, '/');
    size_t len = (size_t)(end - c);
    if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
      return 0;
    c = *end ? end + 1 : end;
  }
  return 1;
}

static int write_all(int fd, const unsigned char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static int write_file(int dirfd, const char *path, mode_t mode, const unsigned char *data, uint64_t stored,
                      uint64_t size, int method) {
  cleanup_close int fd = -1;
  cleanup_free unsigned char *raw = NULL;

  if (method == 1) {
    uLongf out = (uLongf)size;
    raw = malloc(size ? size : 1);
    if (raw == NULL)
      return fail(ENOMEM, "unpacking %s", path);
    if (uncompress(raw, &out, data, (uLong)stored) != Z_OK || out != size)
      return fail(0, "unpacking %s: corrupt data", path);
    data = raw;
  } else if (stored != size) {
    return fail(0, "unpacking %s: size mismatch", path);
  }
  fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return fail(errno, "create %s", path);
  if (write_all(fd, data, size) < 0)
    return fail(errno, "write %s", path);
  if (fchmod(fd, mode) < 0)
    return fail(errno, "chmod %s", path);
  return 0;
}

static int unpack(int dirfd, const unsigned char *p, uint64_t len) {
  const unsigned char *end = p + len;

  while (p < end) {
    if ((uint64_t)(end - p) < PDMAN_ENTRY_HEADER_SIZE)
      return fail(0, "payload: truncated entry header");
    int type = p[0], method = p[1];
    mode_t mode = le16(p + 2) & 07777;
    uint32_t path_len = le32(p + 4);
    uint64_t size = le64(p + 8), stored = le64(p + 16);
    p += PDMAN_ENTRY_HEADER_SIZE;
    if (path_len >= PATH_MAX || (uint64_t)(end - p) < path_len || (uint64_t)(end - p - path_len) < stored)
      return fail(0, "payload: truncated entry");
    char path[PATH_MAX];
    memcpy(path, p, path_len);
    path[path_len] = '\0';
    p += path_len;
    if (!path_is_safe(path) || memchr(path, '\0', path_len) != NULL)
      return fail(0, "payload: unsafe path %s", path);

    int ret = 0;
    if (type == 'd') {
      if (mkdirat(dirfd, path, mode | 0700) < 0)
        ret = fail(errno, "mkdir %s", path);
    } else if (type == 'f') {
      ret = write_file(dirfd, path, mode, p, stored, size, method);
    } else if (type == 'l') {
      char target[PATH_MAX];
      if (stored >= PATH_MAX || method != 0)
        return fail(0, "payload: bad symlink %s", path);
      memcpy(target, p, stored);
      target[stored] = '\0';
      if (symlinkat(target, dirfd, path) < 0)
        ret = fail(errno, "symlink %s", path);
    } else {
      ret = fail(0, "payload: unknown entry type %d for %s", type, path);
    }
    if (ret < 0)
      return ret;
    p += stored;
  }
  return 0;
}

/* Leftovers of first runs that died half-way: "<entry>.tmp-<pid>" of a dead pid. */
static void remove_stale_temps(const char *root) {
  DIR *d = opendir(root);
  struct dirent *e;

  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    const char *tag = strstr(e->d_name, ".tmp-");
    if (tag == NULL)
      continue;
    long pid = strtol(tag + 5, NULL, 10);
    if (pid <= 0 || (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
      continue;
    char path[PATH_MAX];
    if (snprintf(path, sizeof(path), "%s/%s", root, e->d_name) < (int)sizeof(path))
      remove_tree(path);
  }
  closedir(d);
}

static int mkdir_private(const char *path) {
  char buf[PATH_MAX];
  struct stat st;

  if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
    return fail(ENAMETOOLONG, "mkdir %s", path);
  for (char *s = buf + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
      return fail(errno, "mkdir %s", buf);
    *s = '/';
  }
  if (mkdir(buf, 0700) < 0 && errno != EEXIST)
    return fail(errno, "mkdir %s", buf);
  /* the code we are about to run comes from here: it must be ours alone */
  if (lstat(buf, &st) < 0)
    return fail(errno, "stat %s", buf);
  if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
    return fail(0, "%s: not a directory owned by uid %d and writable only by it "
                "(set PDMAN_BUNDLE_CACHE to another directory)", buf, (int)geteuid());
  return 0;
}

/* Check the payload, then unpack it into `tmp` with the ready marker written last. */
static int unpack_checked(const unsigned char *payload, const struct trailer *t, const char *tmp) {
  char sha[65];
  cleanup_close int dirfd = -1;
  cleanup_close int marker = -1;

  /* checked before a byte is written: a damaged file never becomes a bundle */
  sha256_hex(payload, t->payload_size, sha);
  if (memcmp(sha, t->sha256, 64) != 0)
    return fail(0, "this pdman file is damaged (payload checksum mismatch): copy it again");
  remove_tree(tmp);
  if (mkdir(tmp, 0700) < 0)
    return fail(errno, "mkdir %s", tmp);
  dirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return fail(errno, "open %s", tmp);
  if (unpack(dirfd, payload, t->payload_size) < 0)
    return -1;
  /* every file on disk before the ready marker can claim it is: one syncfs for
   * the ~1,500 files rather than an fsync each */
  if (syncfs(dirfd) < 0)
    return fail(errno, "syncfs %s", tmp);
  marker = openat(dirfd, PDMAN_READY_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (marker < 0 || write_all(marker, (const unsigned char *)t->sha256, 64) < 0 || fsync(marker) < 0 ||
      fsync(dirfd) < 0)
    return fail(errno, "write %s/" PDMAN_READY_MARKER, tmp);
  return 0;
}

/* Rename the unpacked `tmp` to `dest`; a concurrent first run may have won. */
static int publish(const char *tmp, const char *dest, const struct trailer *t) {
  char stale[PATH_MAX + 16];

  if (rename(tmp, dest) == 0)
    return 0;
  if (errno != EEXIST && errno != ENOTEMPTY)
    return fail(errno, "rename %s to %s", tmp, dest);
  if (bundle_ready(dest, t))
    return 0; /* the same bundle, from the winner of the race */
  /* an incomplete bundle in the way (files deleted by hand?): replace it */
  snprintf(stale, sizeof(stale), "%s.tmp-%d-old", dest, (int)getpid());
  if (rename(dest, stale) < 0 || rename(tmp, dest) < 0)
    return fail(errno, "replace %s", dest);
  remove_tree(stale);
  return 0;
}

static int extract(int self_fd, off_t file_size, const struct trailer *t, const char *root, const char *dest) {
  char tmp[PATH_MAX];
  void *map;
  int ret;

  if (mkdir_private(root) < 0)
    return -1;
  remove_stale_temps(root);
  if (snprintf(tmp, sizeof(tmp), "%s.tmp-%d", dest, (int)getpid()) >= (int)sizeof(tmp))
    return fail(ENAMETOOLONG, "%s", dest);

  map = mmap(NULL, (size_t)file_size, PROT_READ, MAP_PRIVATE, self_fd, 0);
  if (map == MAP_FAILED)
    return fail(errno, "mmap /proc/self/exe");
  ret = unpack_checked((const unsigned char *)map + t->payload_offset, t, tmp);
  munmap(map, (size_t)file_size);
  if (ret == 0)
    ret = publish(tmp, dest, t);
  remove_tree(tmp);
  if (ret == 0) {
    cleanup_close int rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd >= 0)
      fsync(rootfd);
  }
  return ret;
}

/* ---- running it ---- */

/* PyInstaller's bootloader (6.x, onedir, Linux) starts by putting the bundle's
 * library directory on LD_LIBRARY_PATH and executing itself again, so that the
 * dynamic loader sees it: one more exec and dynamic link on every run (~1.5 ms
 * of a ~25 ms `pdman ps`). When the environment already says "restarted, same
 * archive" the bootloader goes straight on (its protocol: _PYI_ARCHIVE_FILE
 * names its own file, _PYI_PARENT_PROCESS_LEVEL is -1, "parent that needed a
 * restart"), so set exactly what its restart would have set. A bootloader that
 * does not recognise these values restarts itself as usual; the variable
 * PDMAN_LAUNCHER_NO_PRESET=1 leaves the restart to it in any case. */
static int preset_bootloader_env(const char *dest, const char *exe) {
  char lib[PATH_MAX];
  char real[PATH_MAX];
  const char *orig = getenv("LD_LIBRARY_PATH");

  if (realpath(exe, real) == NULL)
    return 0; /* the exec will say what is wrong */
  if (snprintf(lib, sizeof(lib), "%s/_internal%s%s", dest, orig && *orig ? ":" : "", orig && *orig ? orig : "") >=
      (int)sizeof(lib))
    return 0;
  if (orig && *orig && setenv("LD_LIBRARY_PATH_ORIG", orig, 1) < 0)
    return fail(errno, "setenv");
  if (setenv("LD_LIBRARY_PATH", lib, 1) < 0 || setenv("_PYI_ARCHIVE_FILE", real, 1) < 0 ||
      setenv("_PYI_PARENT_PROCESS_LEVEL", "-1", 1) < 0)
    return fail(errno, "setenv");
  return 0;
}

/* A pdman started by a bundled pdman (a hook, a test, a nested shell) inherits the
 * bootloader's variables; the new process starts clean, as from the user's shell. */
static void clean_bootloader_env(void) {
  if (getenv("_PYI_ARCHIVE_FILE") == NULL && getenv("_PYI_PARENT_PROCESS_LEVEL") == NULL)
    return;
  const char *orig = getenv("LD_LIBRARY_PATH_ORIG");
  if (orig != NULL)
    setenv("LD_LIBRARY_PATH", orig, 1);
  else
    unsetenv("LD_LIBRARY_PATH");
  unsetenv("LD_LIBRARY_PATH_ORIG");
  for (;;) {
    char name[256] = "";
    for (char **e = environ; *e; e++) {
      if (strncmp(*e, "_PYI_", 5) == 0 || strncmp(*e, "_MEIPASS", 8) == 0) {
        size_t len = strcspn(*e, "=");
        if (len < sizeof(name)) {
          memcpy(name, *e, len);
          name[len] = '\0';
        }
        break;
      }
    }
    if (name[0] == '\0')
      break;
    unsetenv(name);
  }
}

int main(int argc, char **argv) {
  struct trailer t;
  off_t file_size = 0;
  char root[PATH_MAX - 256];
  char dest[PATH_MAX - 128];
  char exe[PATH_MAX];
  cleanup_close int self_fd = -1;
  (void)argc;

  self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (self_fd < 0) {
    fail(errno, "open /proc/self/exe");
    goto fail;
  }
  if (read_trailer(self_fd, &t, &file_size) < 0 || cache_root(root, sizeof(root)) < 0)
    goto fail;
  snprintf(dest, sizeof(dest), "%s/%s-%.16s", root, t.version, t.sha256);
  snprintf(exe, sizeof(exe), "%s/pdman", dest);

  for (int attempt = 0;; attempt++) {
    if (!bundle_ready(dest, &t) && extract(self_fd, file_size, &t, root, dest) < 0)
      goto fail;
    if (attempt == 0) {
      clean_bootloader_env();
      if (getenv("PDMAN_LAUNCHER_NO_PRESET") == NULL && preset_bootloader_env(dest, exe) < 0)
        goto fail;
    }
    execv(exe, argv);
    if (errno != ENOENT || attempt > 0)
      break;
    /* marker there, executable gone (a cache cleaned by hand): unpack it again */
    char stale[PATH_MAX + 16];
    snprintf(stale, sizeof(stale), "%s.tmp-%d-old", dest, (int)getpid());
    if (rename(dest, stale) == 0)
      remove_tree(stale);
  }
  fail(errno, "exec %s%s", exe,
       errno == EACCES ? " (is the cache on a noexec mount? set PDMAN_BUNDLE_CACHE)" : "");

fail:
  fprintf(stderr, "pdman: %s\n", error_msg);
  return EXIT_ENGINE;
}
