/* hostile.c - what a hostile image runs, for tests/security (built static by
 * the tests with gcc, bind-mounted into a busybox container).
 *
 *   hostile tiocsti TEXT      push TEXT into the input queue of fds 0, 1, 2 and of
 *                             /dev/tty with TIOCSTI (types into the caller's shell
 *                             if one of them is its terminal); one line per target
 *   hostile procscan OUTDIR   until OUTDIR/stop exists: open /proc/PID/exe and
 *                             /proc/PID/fd/N (read, then write) of every other
 *                             process in sight, watching the next PIDs closely
 *                             (a `pdman exec` process is born there).  An open
 *                             that succeeds while exe is not a file of the
 *                             container's (dev:ino of /bin/busybox) is a hit,
 *                             written to OUTDIR/hits; OUTDIR/stats counts what
 *                             was seen.  OUTDIR/ready once scanning.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static void inject(int fd, const char *name, const char *text) {
  const char *c;

  for (c = text; *c; c++) {
    if (ioctl(fd, TIOCSTI, c) < 0) {
      printf("%s: %s\n", name, strerror(errno));
      return;
    }
  }
  printf("%s: INJECTED\n", name);
}

static int tiocsti(const char *text) {
  int fd;

  setvbuf(stdout, NULL, _IONBF, 0);
  inject(0, "fd0", text);
  inject(1, "fd1", text);
  inject(2, "fd2", text);
  fd = open("/dev/tty", O_RDWR | O_NOCTTY);
  if (fd < 0) {
    printf("devtty: open: %s\n", strerror(errno));
    return 0;
  }
  inject(fd, "devtty", text);
  return 0;
}

static struct stat inside;  /* /bin/busybox: what the container's processes run */
static const char *outdir;
static long seen, denied, hits;

static int exe_outside(int pid, struct stat *st) {
  char path[64];
  int fd;

  snprintf(path, sizeof(path), "/proc/%d/exe", pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == EACCES || errno == EPERM)
      denied++;
    return 0;
  }
  fstat(fd, st);
  close(fd);
  return st->st_dev != inside.st_dev || st->st_ino != inside.st_ino;
}

static void hit(const char *what, int pid, const char *detail) {
  char path[512], target[256] = "";
  ssize_t n;
  FILE *f;

  snprintf(path, sizeof(path), "/proc/%d/exe", pid);
  n = readlink(path, target, sizeof(target) - 1);
  if (n > 0)
    target[n] = '\0';
  snprintf(path, sizeof(path), "%s/hits", outdir);
  f = fopen(path, "a");
  if (f != NULL) {
    fprintf(f, "%s pid=%d exe=%s %s\n", what, pid, target, detail);
    fclose(f);
  }
  hits++;
}

static void probe(int pid) {
  struct stat st;
  char path[64], fdpath[400], detail[700];
  struct dirent *e;
  DIR *d;

  if (pid <= 1 || pid == getpid())
    return;
  snprintf(path, sizeof(path), "/proc/%d", pid);
  if (access(path, F_OK) < 0)
    return;
  seen++;
  if (!exe_outside(pid, &st))
    return;
  hit("exe-read", pid, "");
  snprintf(path, sizeof(path), "/proc/%d/exe", pid);
  {
    int w = open(path, O_WRONLY | O_CLOEXEC);
    if (w >= 0) {
      hit("exe-write", pid, "");
      close(w);
    }
  }
  snprintf(path, sizeof(path), "/proc/%d/fd", pid);
  d = opendir(path);
  if (d == NULL)
    return;
  while ((e = readdir(d)) != NULL) {
    int fd, mode;

    if (e->d_name[0] == '.')
      continue;
    snprintf(fdpath, sizeof(fdpath), "%s/%s", path, e->d_name);
    for (mode = 0; mode < 2; mode++) {
      fd = open(fdpath, (mode ? O_WRONLY : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
      if (fd < 0)
        continue;
      close(fd);
      /* still not the container's program: the fd was the joiner's */
      if (exe_outside(pid, &st)) {
        char target[256] = "";
        ssize_t n = readlink(fdpath, target, sizeof(target) - 1);
        if (n > 0)
          target[n] = '\0';
        snprintf(detail, sizeof(detail), "fd=%s -> %s", e->d_name, target);
        hit(mode ? "fd-write" : "fd-read", pid, detail);
      }
    }
  }
  closedir(d);
}

static int last_pid(void) {
  char buf[32];
  int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return -1;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  return atoi(buf);
}

static int procscan(void) {
  char path[512];
  unsigned long round = 0;
  FILE *f;

  if (stat("/bin/busybox", &inside) < 0) {
    perror("stat /bin/busybox");
    return 1;
  }
  snprintf(path, sizeof(path), "%s/ready", outdir);
  close(open(path, O_WRONLY | O_CREAT, 0644));
  for (;;) {
    int last = last_pid(), p;

    for (p = last - 1; p <= last + 3; p++)
      probe(p);
    if (++round % 2000 == 0) {
      struct dirent *e;
      DIR *d = opendir("/proc");

      while (d != NULL && (e = readdir(d)) != NULL)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
          probe(atoi(e->d_name));
      if (d != NULL)
        closedir(d);
      snprintf(path, sizeof(path), "%s/stop", outdir);
      if (access(path, F_OK) == 0)
        break;
    }
  }
  snprintf(path, sizeof(path), "%s/stats", outdir);
  f = fopen(path, "w");
  if (f != NULL) {
    fprintf(f, "seen=%ld denied=%ld hits=%ld\n", seen, denied, hits);
    fclose(f);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "tiocsti") == 0)
    return tiocsti(argv[2]);
  if (argc == 3 && strcmp(argv[1], "procscan") == 0) {
    outdir = argv[2];
    return procscan();
  }
  fprintf(stderr, "usage: hostile tiocsti TEXT | procscan OUTDIR\n");
  return 2;
}
