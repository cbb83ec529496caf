/* monitor.c - pdman-monitor: the keeper of one detached container (conmon's
 * role), a small executable rather than a Python process.
 *
 * pdman (runtime/monitor.py) forks a process that spawns the container with
 * pipes (or a pty) as its stdio and then execs this program, so the container
 * stays our child.  From then on, in one poll loop:
 *
 *   - the container's stdout/stderr are read and written to the k8s-file log
 *     ("2024-01-02T03:04:05.123456789Z stdout F text"; "P" for a line that a
 *     read ended in the middle of), rotated before a line would take it past
 *     --log-max-size;
 *   - attach clients connect to the SOCK_SEQPACKET socket `attach` in the run
 *     directory (packets of pdman.h's enum pdman_attach_packet);
 *   - with a healthcheck, its probe command (`pdman healthcheck run ID`, which
 *     does the exec, records the result and acts on it) is run as a child every
 *     --health-interval ms after the previous one ended (--health-start-interval
 *     during the first --health-start-period ms), never two at once: pdman needs
 *     no daemon and no systemd timer for healthchecks;
 *   - SIGCHLD reaps the container; then the exit file `exit` is written
 *     atomically (format in pdman.h), the clients get the exit status, and the
 *     monitor execs the exit command (`pdman container cleanup ID`), which
 *     records the exit in the catalog and runs the engine's teardown -- unless
 *     the run directory holds `cleanup-by-PID` for this monitor's PID: a `stop`
 *     or `rm -f` that made the container exit does the cleanup itself, without
 *     waiting for a second interpreter to start (engine/lifecycle.py).
 *
 * If the monitor itself is killed, the container dies with it (its parent
 * death signal is SIGKILL) and the missing exit file tells pdman that the
 * exit status is unknown.
 *
 * Usage (every option takes one value; the exit command follows `--`):
 *   pdman-monitor --pid PID --run-dir DIR [--stdin FD] --stdout FD
 *                 [--stderr FD] [--tty 1] [--log-driver k8s-file|journald|none]
 *   (with --tty 1, --stdout is the pty master, and --stdin the same fd when the
 *   container is interactive)
 *                 [--log-path FILE] [--log-max-size BYTES] [--ready-fd FD]
 *                 [--id ID] [--name NAME]
 *                 [--timeout MS]   (--timeout: SIGKILL the container after MS of
 *                                   running; its exit code is then -1, as conmon's)
 *                 [--health-interval MS --health-start-period MS
 *                  --health-start-interval MS --health-arg ARG...]
 *                 -- EXIT-COMMAND...
 *   (--health-arg is repeated, once per word of the probe command)
 */
#define _GNU_SOURCE
#include <endian.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "internal.h"

#define MAX_CLIENTS 16
#define LOG_BUF_SIZE 16384
/* how long output may still come after the container exited (its PID
 * namespace is gone then, but a leaked pipe end could keep it open) */
#define DRAIN_MS 1000
#define MAX_HEALTH_ARGS 64

enum stream { STREAM_STDOUT = 0, STREAM_STDERR = 1 };

struct options {
  pid_t pid;
  const char *run_dir;
  int stdin_fd, stdout_fd, stderr_fd, ready_fd, tty;
  const char *log_driver, *log_path, *id, *name;
  long long log_max_size;
  char **exit_command;
  long long health_interval, health_start_period, health_start_interval; /* ms */
  long long timeout; /* ms; 0: none */
  char *health_argv[MAX_HEALTH_ARGS + 1];
  int health_argc;
};

struct log {
  int driver_none, driver_journald;
  const char *path;
  int fd;
  long long size, max_size;
  char buf[LOG_BUF_SIZE];
  size_t used;
  const struct options *opts;
};

struct monitor {
  struct options opts;
  struct log log;
  int sigfd, listen_fd;
  int out_fd[2];             /* per enum stream; -1 once at EOF */
  int stdin_fd;              /* container's stdin (or the pty master); -1 */
  int clients[MAX_CLIENTS];  /* -1: free slot */
  char pending[PDMAN_ATTACH_PACKET_MAX]; /* stdin bytes the container did not take yet */
  size_t pending_len;
  int exited, status;
  int timed_out; /* --timeout killed it */
  long long oom_before;
  char memory_events[PATH_MAX];
  long long started_ms, next_probe_ms; /* CLOCK_MONOTONIC */
  pid_t probe_pid;                     /* 0: no probe running */
};

/* ---- small helpers ---- */

static void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void warn(const char *fmt, ...) {
  va_list ap;

  fputs("pdman-monitor: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static int write_all(int fd, const char *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len);

    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static long long now_ms(void) {
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "2024-01-02T03:04:05.123456789Z": 30 characters */
#define TIMESTAMP_LEN 30
static void timestamp(const struct timespec *ts, char out[TIMESTAMP_LEN + 1]) {
  struct tm tm;

  gmtime_r(&ts->tv_sec, &tm);
  strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + 19, TIMESTAMP_LEN + 1 - 19, ".%09ldZ", ts->tv_nsec);
}

static int mkdir_p(const char *path, struct pdman_error *err) {
  char buf[PATH_MAX];
  size_t i, len = strlen(path);

  if (len >= sizeof(buf))
    return pdman_error_set(err, ENAMETOOLONG, "mkdir `%s`", path);
  memcpy(buf, path, len + 1);
  for (i = 1; i <= len; i++) {
    if (buf[i] != '/' && buf[i] != '\0')
      continue;
    buf[i] = '\0';
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
      return pdman_error_set(err, errno, "mkdir `%s`", buf);
    buf[i] = path[i];
  }
  return 0;
}

/* ---- the log ---- */

static int log_open(struct log *log, struct pdman_error *err) {
  struct stat st;

  log->fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (log->fd < 0)
    return pdman_error_set(err, errno, "opening the log `%s`", log->path);
  log->size = fstat(log->fd, &st) == 0 ? (long long)st.st_size : 0;
  return 0;
}

/* docker's json-file way: the full log moves to FILE.1 (replacing an older
 * one) and a new FILE starts; `pdman logs` reads both */
static void log_rotate(struct log *log) {
  char old[PATH_MAX];
  struct pdman_error err;

  if (snprintf(old, sizeof(old), "%s.1", log->path) >= (int)sizeof(old))
    return;
  if (rename(log->path, old) < 0) {
    warn("rotating %s: %s", log->path, strerror(errno));
    return;
  }
  close(log->fd);
  if (log_open(log, &err) < 0)
    warn("%s", err.msg);
}

static void log_flush(struct log *log) {
  if (log->used == 0 || log->fd < 0) {
    log->used = 0;
    return;
  }
  if (write_all(log->fd, log->buf, log->used) < 0)
    warn("writing %s: %s", log->path, strerror(errno));
  else
    log->size += (long long)log->used;
  log->used = 0;
}

/* Before a line of `need` bytes: rotate if it would take the file past
 * max-size, so that the file never grows past it (unless by one line that is
 * longer on its own). */
static void log_make_room(struct log *log, size_t need) {
  if (log->max_size <= 0 ||
      log->size + (long long)(log->used + need) <= log->max_size)
    return;
  log_flush(log);
  if (log->size > 0)
    log_rotate(log);
}

static void log_line_k8s(struct log *log, const char *ts, enum stream s,
                         int partial, const char *data, size_t len) {
  const char *tag = s == STREAM_STDOUT ? " stdout " : " stderr ";
  size_t head = TIMESTAMP_LEN + 8 + 2; /* ts, " stdout ", "F " */

  log_make_room(log, head + len + 1);
  if (log->used + head + len + 1 > sizeof(log->buf))
    log_flush(log);
  if (head + len + 1 > sizeof(log->buf)) {
    /* a line longer than the buffer: straight to the file */
    char prefix[TIMESTAMP_LEN + 8 + 2 + 1];
    struct iovec iov[3];

    snprintf(prefix, sizeof(prefix), "%s%s%c ", ts, tag, partial ? 'P' : 'F');
    iov[0] = (struct iovec){prefix, head};
    iov[1] = (struct iovec){(void *)data, len};
    iov[2] = (struct iovec){"\n", 1};
    if (log->fd >= 0 && writev(log->fd, iov, 3) >= 0)
      log->size += (long long)(head + len + 1);
    return;
  }
  memcpy(log->buf + log->used, ts, TIMESTAMP_LEN);
  memcpy(log->buf + log->used + TIMESTAMP_LEN, tag, 8);
  log->buf[log->used + TIMESTAMP_LEN + 8] = partial ? 'P' : 'F';
  log->buf[log->used + TIMESTAMP_LEN + 9] = ' ';
  memcpy(log->buf + log->used + head, data, len);
  log->buf[log->used + head + len] = '\n';
  log->used += head + len + 1;
}

/* systemd's native journal protocol: one datagram of FIELD=value lines per log
 * line; MESSAGE in the binary form so that any byte may appear in it */
static void log_line_journald(struct log *log, enum stream s, const char *data,
                              size_t len) {
  static const struct sockaddr_un addr = {AF_UNIX, "/run/systemd/journal/socket"};
  char head[512];
  uint64_t le = htole64((uint64_t)len);
  struct iovec iov[4];
  struct msghdr msg = {.msg_name = (void *)&addr, .msg_namelen = sizeof(addr),
                       .msg_iov = iov, .msg_iovlen = 4};
  int n;

  if (log->fd < 0)
    return;
  n = snprintf(head, sizeof(head),
               "PRIORITY=%d\nSYSLOG_IDENTIFIER=%s\nCONTAINER_ID=%.12s\n"
               "CONTAINER_ID_FULL=%s\nCONTAINER_NAME=%s\nPDMAN_STREAM=%s\nMESSAGE\n",
               s == STREAM_STDOUT ? 6 : 3, log->opts->name, log->opts->id,
               log->opts->id, log->opts->name, s == STREAM_STDOUT ? "stdout" : "stderr");
  if (n < 0 || n >= (int)sizeof(head))
    return;
  iov[0] = (struct iovec){head, (size_t)n};
  iov[1] = (struct iovec){&le, sizeof(le)};
  iov[2] = (struct iovec){(void *)data, len};
  iov[3] = (struct iovec){"\n", 1};
  sendmsg(log->fd, &msg, MSG_NOSIGNAL);
}

/* One read's worth of output: whole lines, and a partial last one. */
static void log_chunk(struct log *log, enum stream s, const char *data, size_t len) {
  struct timespec now;
  char ts[TIMESTAMP_LEN + 1];

  if (log->driver_none)
    return;
  clock_gettime(CLOCK_REALTIME, &now);
  timestamp(&now, ts);
  while (len > 0) {
    const char *nl = memchr(data, '\n', len);
    size_t line = nl != NULL ? (size_t)(nl - data) : len;

    if (log->driver_journald)
      log_line_journald(log, s, data, line);
    else
      log_line_k8s(log, ts, s, nl == NULL, data, line);
    if (nl == NULL)
      break;
    data += line + 1;
    len -= line + 1;
  }
  log_flush(log);
}

static int log_init(struct log *log, const struct options *opts,
                    struct pdman_error *err) {
  log->opts = opts;
  log->fd = -1;
  log->path = opts->log_path;
  log->max_size = opts->log_max_size;
  log->driver_none = strcmp(opts->log_driver, "none") == 0;
  log->driver_journald = strcmp(opts->log_driver, "journald") == 0;
  if (log->driver_none)
    return 0;
  if (log->driver_journald) {
    log->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (log->fd < 0)
      return pdman_error_set(err, errno, "socket for journald");
    return 0;
  }
  if (strcmp(opts->log_driver, "k8s-file") != 0)
    return pdman_error_set(err, EINVAL, "unknown log driver `%s`", opts->log_driver);
  if (log->path == NULL)
    return pdman_error_set(err, EINVAL, "--log-path is required for k8s-file");
  return log_open(log, err);
}

/* ---- OOM: memory.events of the container's cgroup v2, read only ---- */

static long long read_oom_kills(const char *events) {
  char buf[1024], *p;
  ssize_t n;
  int fd;

  if (events[0] == '\0')
    return -1;
  fd = open(events, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  p = strstr(buf, "oom_kill ");
  return p != NULL ? strtoll(p + 9, NULL, 10) : -1;
}

/* The file memory.events of the cgroup v2 that `pid` is in: the "0::" line of
 * /proc/PID/cgroup under the cgroup2 mount (/sys/fs/cgroup, or .../unified
 * on a hybrid host). Left empty when there is none. */
static void find_memory_events(pid_t pid, char *out, size_t size) {
  static const char *mounts[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
  char path[64], buf[4096], *line;
  ssize_t n;
  size_t i;
  int fd;

  out[0] = '\0';
  snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return;
  buf[n] = '\0';
  for (line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    if (strncmp(line, "0::", 3) != 0)
      continue;
    for (i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
      struct stat st;

      if (snprintf(out, size, "%s%s/memory.events", mounts[i], line + 3) < (int)size &&
          stat(out, &st) == 0)
        return;
    }
  }
  out[0] = '\0';
}

/* ---- attach clients ---- */

static void client_close(struct monitor *m, int i) {
  close(m->clients[i]);
  m->clients[i] = -1;
}

static void broadcast(struct monitor *m, int type, const char *data, size_t len) {
  char packet[PDMAN_ATTACH_PACKET_MAX];
  int i;

  if (len > sizeof(packet) - 1)
    len = sizeof(packet) - 1;
  packet[0] = (char)type;
  memcpy(packet + 1, data, len);
  for (i = 0; i < MAX_CLIENTS; i++) {
    if (m->clients[i] < 0)
      continue;
    /* a client that cannot keep up loses output rather than stall the log */
    if (send(m->clients[i], packet, len + 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
        errno != EAGAIN && errno != EWOULDBLOCK)
      client_close(m, i);
  }
}

static void accept_client(struct monitor *m) {
  int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC), i;

  if (fd < 0)
    return;
  for (i = 0; i < MAX_CLIENTS; i++) {
    if (m->clients[i] < 0) {
      m->clients[i] = fd;
      return;
    }
  }
  close(fd); /* full: the client sees EOF at once */
}

static void stdin_close(struct monitor *m) {
  /* with a pty, fd 0 of the container is the same master that carries its
   * output: keep it, send the terminal's EOF character instead */
  if (m->opts.tty) {
    if (m->stdin_fd >= 0)
      write(m->stdin_fd, "\x04", 1);
    return;
  }
  if (m->stdin_fd >= 0)
    close(m->stdin_fd);
  m->stdin_fd = -1;
  m->pending_len = 0;
}

static void stdin_flush(struct monitor *m) {
  ssize_t n;

  if (m->stdin_fd < 0 || m->pending_len == 0)
    return;
  n = write(m->stdin_fd, m->pending, m->pending_len);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) {
      m->pending_len = 0;
      if (!m->opts.tty)
        stdin_close(m);
    }
    return;
  }
  memmove(m->pending, m->pending + n, m->pending_len - (size_t)n);
  m->pending_len -= (size_t)n;
}

static void client_packet(struct monitor *m, int i) {
  char packet[PDMAN_ATTACH_PACKET_MAX];
  ssize_t n = recv(m->clients[i], packet, sizeof(packet), MSG_DONTWAIT);

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) {
    client_close(m, i);
    return;
  }
  switch (packet[0]) {
  case PDMAN_ATTACH_STDIN:
    if (m->stdin_fd >= 0 && (size_t)n - 1 <= sizeof(m->pending) - m->pending_len) {
      memcpy(m->pending + m->pending_len, packet + 1, (size_t)n - 1);
      m->pending_len += (size_t)n - 1;
      stdin_flush(m);
    }
    break;
  case PDMAN_ATTACH_STDIN_CLOSE:
    stdin_flush(m);
    stdin_close(m);
    break;
  case PDMAN_ATTACH_RESIZE:
    if (m->opts.tty && n >= 5) {
      struct winsize ws = {0};
      uint16_t rows, cols;

      memcpy(&rows, packet + 1, 2);
      memcpy(&cols, packet + 3, 2);
      ws.ws_row = rows;
      ws.ws_col = cols;
      ioctl(m->opts.stdout_fd, TIOCSWINSZ, &ws);
    }
    break;
  default:
    break;
  }
}

/* ---- the container's output ---- */

static void read_output(struct monitor *m, enum stream s) {
  char buf[PDMAN_ATTACH_PACKET_MAX - 1];
  ssize_t n = read(m->out_fd[s], buf, sizeof(buf));

  if (n < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (n <= 0) { /* EOF; EIO from a pty whose slave side is all closed */
    if (!(m->opts.tty && s == STREAM_STDOUT))
      close(m->out_fd[s]);
    m->out_fd[s] = -1;
    return;
  }
  log_chunk(&m->log, s, buf, (size_t)n);
  broadcast(m, s == STREAM_STDOUT ? PDMAN_ATTACH_STDOUT : PDMAN_ATTACH_STDERR, buf,
            (size_t)n);
}

/* ---- the healthcheck schedule ---- */

static int health_enabled(const struct monitor *m) {
  return m->opts.health_interval > 0 && m->opts.health_argc > 0;
}

/* the wait before the next probe: the start interval within the start period */
static long long probe_gap(const struct monitor *m, long long now) {
  if (m->opts.health_start_period > 0 && now < m->started_ms + m->opts.health_start_period)
    return m->opts.health_start_interval > 0 ? m->opts.health_start_interval
                                             : m->opts.health_interval;
  return m->opts.health_interval;
}

static void start_probe(struct monitor *m) {
  pid_t pid = fork();

  if (pid < 0) {
    warn("fork for the healthcheck: %s", strerror(errno));
    m->next_probe_ms = now_ms() + probe_gap(m, now_ms());
    return;
  }
  if (pid == 0) {
    sigset_t none;
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

    /* its own session: a signal to the monitor's group is not the probe's */
    setsid();
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (null >= 0)
      dup2(null, 0); /* stdout and stderr stay: the monitor's own log */
    syscall(SYS_close_range, 3, ~0U, 0);
    execv(m->opts.health_argv[0], m->opts.health_argv);
    warn("exec of the healthcheck `%s`: %s", m->opts.health_argv[0], strerror(errno));
    _exit(127);
  }
  m->probe_pid = pid;
}

/* poll's timeout for the next probe (or starts it when due); `timeout` as given
 * when there is none to wait for */
static int health_timeout(struct monitor *m, int timeout) {
  long long now, left;

  if (!health_enabled(m) || m->exited || m->probe_pid > 0)
    return timeout;
  now = now_ms();
  left = m->next_probe_ms - now;
  if (left <= 0) {
    start_probe(m);
    return timeout;
  }
  if (left > INT_MAX)
    left = INT_MAX;
  return timeout < 0 || left < timeout ? (int)left : timeout;
}

/* ---- the container's exit ---- */

static void reap(struct monitor *m) {
  for (;;) {
    int st;
    pid_t pid = waitpid(-1, &st, WNOHANG);

    if (pid <= 0)
      return;
    if (pid == m->opts.pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
      m->exited = 1;
      m->status = st;
    } else if (pid == m->probe_pid && m->probe_pid > 0) {
      long long now = now_ms();

      m->probe_pid = 0;
      m->next_probe_ms = now + probe_gap(m, now);
    }
  }
}

static int exit_code_of(const struct monitor *m) {
  int st = m->status;

  if (m->timed_out)
    return -1; /* conmon's code for a container its --timeout killed */
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* --timeout: poll's timeout until the deadline; the container killed once due */
static int run_timeout(struct monitor *m, int timeout) {
  long long left;

  if (m->opts.timeout <= 0 || m->exited || m->timed_out)
    return timeout;
  left = m->started_ms + m->opts.timeout - now_ms();
  if (left <= 0) {
    m->timed_out = 1;
    kill(m->opts.pid, SIGKILL);
    return timeout;
  }
  if (left > INT_MAX)
    left = INT_MAX;
  return timeout < 0 || left < timeout ? (int)left : timeout;
}

/* The exit file, written to a temporary name and renamed into place, so a
 * reader sees all of it or nothing (format: pdman.h). The run directory is
 * made again if it was wiped meanwhile. */
static int write_exit_file(struct monitor *m, int oom_killed, struct pdman_error *err) {
  char text[256];
  struct timespec now;
  int n, ret;
  cleanup_close int dir = -1;
  cleanup_close int fd = -1;

  clock_gettime(CLOCK_REALTIME, &now);
  n = snprintf(text, sizeof(text),
               "pid=%d\nexit_code=%d\nsignal=%d\noom_killed=%d\nfinished_at=%lld.%09ld\n",
               (int)m->opts.pid, exit_code_of(m),
               WIFSIGNALED(m->status) ? WTERMSIG(m->status) : 0, oom_killed,
               (long long)now.tv_sec, now.tv_nsec);
  ret = mkdir_p(m->opts.run_dir, err);
  if (ret < 0)
    return ret;
  /* through the directory itself, never a symlink in its place, and a new file,
   * never one that is there: a symlink planted as `exit.tmp` would have the
   * write land where it points */
  dir = open(m->opts.run_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    return pdman_error_set(err, errno, "opening `%s`", m->opts.run_dir);
  unlinkat(dir, "exit.tmp", 0);
  fd = openat(dir, "exit.tmp", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return pdman_error_set(err, errno, "creating `%s/exit.tmp`", m->opts.run_dir);
  if (write_all(fd, text, (size_t)n) < 0 || fsync(fd) < 0)
    return pdman_error_set(err, errno, "writing `%s/exit.tmp`", m->opts.run_dir);
  if (renameat(dir, "exit.tmp", dir, "exit") < 0)
    return pdman_error_set(err, errno, "renaming `%s/exit.tmp` to `exit`", m->opts.run_dir);
  return 0;
}

static void finish(struct monitor *m) {
  struct pdman_error err;
  long long oom_after = read_oom_kills(m->memory_events);
  int oom = WIFSIGNALED(m->status) && WTERMSIG(m->status) == SIGKILL &&
            oom_after > m->oom_before && m->oom_before >= 0;
  int code = exit_code_of(m), i;
  char sock[PATH_MAX];

  log_flush(&m->log);
  if (m->log.fd >= 0 && !m->log.driver_journald)
    fsync(m->log.fd);
  if (write_exit_file(m, oom, &err) < 0)
    warn("%s", err.msg);
  /* tell the clients, after the exit file: an attach that returns lets its
   * caller see the container as exited */
  for (i = 0; i < MAX_CLIENTS; i++) {
    if (m->clients[i] >= 0) {
      char packet[5] = {PDMAN_ATTACH_EXIT};

      memcpy(packet + 1, &code, 4);
      send(m->clients[i], packet, sizeof(packet), MSG_NOSIGNAL);
      client_close(m, i);
    }
  }
  if (snprintf(sock, sizeof(sock), "%s/attach", m->opts.run_dir) < (int)sizeof(sock))
    unlink(sock);
}

/* ---- setup ---- */

static int parse_options(int argc, char **argv, struct options *o,
                         struct pdman_error *err) {
  int i;

  memset(o, 0, sizeof(*o));
  o->stdin_fd = o->stdout_fd = o->stderr_fd = o->ready_fd = -1;
  o->log_driver = "k8s-file";
  o->id = o->name = "";
  for (i = 1; i < argc; i += 2) {
    const char *key = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

    if (strcmp(key, "--") == 0) {
      o->exit_command = argv + i + 1;
      break;
    }
    if (val == NULL)
      return pdman_error_set(err, EINVAL, "option %s needs a value", key);
    if (strcmp(key, "--pid") == 0)
      o->pid = (pid_t)atoi(val);
    else if (strcmp(key, "--run-dir") == 0)
      o->run_dir = val;
    else if (strcmp(key, "--stdin") == 0)
      o->stdin_fd = atoi(val);
    else if (strcmp(key, "--stdout") == 0)
      o->stdout_fd = atoi(val);
    else if (strcmp(key, "--stderr") == 0)
      o->stderr_fd = atoi(val);
    else if (strcmp(key, "--tty") == 0)
      o->tty = atoi(val);
    else if (strcmp(key, "--ready-fd") == 0)
      o->ready_fd = atoi(val);
    else if (strcmp(key, "--log-driver") == 0)
      o->log_driver = val;
    else if (strcmp(key, "--log-path") == 0)
      o->log_path = val;
    else if (strcmp(key, "--log-max-size") == 0)
      o->log_max_size = atoll(val);
    else if (strcmp(key, "--id") == 0)
      o->id = val;
    else if (strcmp(key, "--name") == 0)
      o->name = val;
    else if (strcmp(key, "--timeout") == 0)
      o->timeout = atoll(val);
    else if (strcmp(key, "--health-interval") == 0)
      o->health_interval = atoll(val);
    else if (strcmp(key, "--health-start-period") == 0)
      o->health_start_period = atoll(val);
    else if (strcmp(key, "--health-start-interval") == 0)
      o->health_start_interval = atoll(val);
    else if (strcmp(key, "--health-arg") == 0) {
      if (o->health_argc >= MAX_HEALTH_ARGS)
        return pdman_error_set(err, E2BIG, "more than %d --health-arg", MAX_HEALTH_ARGS);
      o->health_argv[o->health_argc++] = (char *)val;
    } else
      return pdman_error_set(err, EINVAL, "unknown option %s", key);
  }
  if (o->pid <= 0 || o->run_dir == NULL || o->stdout_fd < 0)
    return pdman_error_set(err, EINVAL, "--pid, --run-dir and --stdout are required");
  return 0;
}

/* The attach socket. bind(2) takes at most 107 bytes of path, so it is bound
 * by its short name from inside the run directory. */
static int listen_attach(const char *run_dir, struct pdman_error *err) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  int fd, ret = 0;

  if (chdir(run_dir) < 0)
    return pdman_error_set(err, errno, "chdir to `%s`", run_dir);
  strcpy(addr.sun_path, "attach");
  unlink(addr.sun_path);
  fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    ret = pdman_error_set(err, errno, "socket");
  else if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
    ret = pdman_error_set(err, errno, "bind `%s/attach`", run_dir);
  else if (listen(fd, 8) < 0)
    ret = pdman_error_set(err, errno, "listen on `%s/attach`", run_dir);
  if (chdir("/") < 0 && ret == 0)
    ret = pdman_error_set(err, errno, "chdir to /");
  if (ret < 0) {
    if (fd >= 0)
      close(fd);
    return ret;
  }
  return fd;
}

static int setup(struct monitor *m, struct pdman_error *err) {
  sigset_t mask;
  int i, ret;

  prctl(PR_SET_NAME, "pdman-monitor", 0, 0, 0);
  signal(SIGPIPE, SIG_IGN);
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGQUIT);
  sigaddset(&mask, SIGUSR1);
  sigaddset(&mask, SIGUSR2);
  if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
    return pdman_error_set(err, errno, "sigprocmask");
  m->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (m->sigfd < 0)
    return pdman_error_set(err, errno, "signalfd");

  for (i = 0; i < MAX_CLIENTS; i++)
    m->clients[i] = -1;
  m->out_fd[STREAM_STDOUT] = m->opts.stdout_fd;
  m->out_fd[STREAM_STDERR] = m->opts.stderr_fd;
  /* with a pty, --stdin (when the container is interactive) is its master */
  m->stdin_fd = m->opts.stdin_fd;
  for (i = 0; i < 2; i++)
    if (m->out_fd[i] >= 0)
      fcntl(m->out_fd[i], F_SETFL, fcntl(m->out_fd[i], F_GETFL) | O_NONBLOCK);
  if (m->opts.stdin_fd >= 0)
    fcntl(m->opts.stdin_fd, F_SETFL, fcntl(m->opts.stdin_fd, F_GETFL) | O_NONBLOCK);

  ret = log_init(&m->log, &m->opts, err);
  if (ret < 0)
    return ret;
  m->listen_fd = listen_attach(m->opts.run_dir, err);
  if (m->listen_fd < 0)
    return m->listen_fd;
  find_memory_events(m->opts.pid, m->memory_events, sizeof(m->memory_events));
  m->oom_before = read_oom_kills(m->memory_events);
  m->started_ms = now_ms();
  m->next_probe_ms = m->started_ms + probe_gap(m, m->started_ms);
  return 0;
}

/* ---- the loop ---- */

static void on_signal(struct monitor *m) {
  struct signalfd_siginfo si;

  while (read(m->sigfd, &si, sizeof(si)) == sizeof(si)) {
    if (si.ssi_signo == SIGCHLD)
      reap(m);
    else if (!m->exited)
      kill(m->opts.pid, (int)si.ssi_signo); /* as pdman run forwards them */
  }
}

static void loop(struct monitor *m) {
  long long drain_until = 0;

  reap(m); /* it may have exited before SIGCHLD was blocked */
  for (;;) {
    struct pollfd fds[4 + MAX_CLIENTS];
    int who[4 + MAX_CLIENTS];
    int n = 0, i, timeout = -1;

    if (m->exited) {
      if (drain_until == 0)
        drain_until = now_ms() + DRAIN_MS;
      timeout = (int)(drain_until - now_ms());
      if ((m->out_fd[0] < 0 && m->out_fd[1] < 0) || timeout <= 0)
        return;
    }
    timeout = health_timeout(m, timeout);
    timeout = run_timeout(m, timeout);
    fds[n] = (struct pollfd){m->sigfd, POLLIN, 0};
    who[n++] = -1;
    for (i = 0; i < 2; i++) {
      if (m->out_fd[i] >= 0) {
        fds[n] = (struct pollfd){m->out_fd[i], POLLIN, 0};
        who[n++] = -2 - i;
      }
    }
    fds[n] = (struct pollfd){m->listen_fd, POLLIN, 0};
    who[n++] = -4;
    if (m->pending_len > 0 && m->stdin_fd >= 0) {
      fds[n] = (struct pollfd){m->stdin_fd, POLLOUT, 0};
      who[n++] = -5;
    }
    /* a client's input waits while the container has not taken the last */
    for (i = 0; i < MAX_CLIENTS; i++) {
      if (m->clients[i] >= 0) {
        fds[n] = (struct pollfd){m->clients[i], m->pending_len > 0 ? 0 : POLLIN, 0};
        who[n++] = i;
      }
    }
    if (poll(fds, (nfds_t)n, timeout) < 0) {
      if (errno == EINTR)
        continue;
      warn("poll: %s", strerror(errno));
      return;
    }
    for (i = 0; i < n; i++) {
      if (fds[i].revents == 0)
        continue;
      if (who[i] == -1)
        on_signal(m);
      else if (who[i] == -2 || who[i] == -3)
        read_output(m, who[i] == -2 ? STREAM_STDOUT : STREAM_STDERR);
      else if (who[i] == -4)
        accept_client(m);
      else if (who[i] == -5)
        stdin_flush(m);
      else if (m->clients[who[i]] >= 0)
        client_packet(m, who[i]);
    }
  }
}

/* A pdman command that stopped or removed the container has claimed its cleanup. */
static int cleanup_claimed(const struct monitor *m) {
  char path[PATH_MAX];

  if (snprintf(path, sizeof(path), "%s/cleanup-by-%d", m->opts.run_dir, (int)getpid()) >=
      (int)sizeof(path))
    return 0;
  return access(path, F_OK) == 0;
}

static void __attribute__((noreturn)) run_exit_command(const struct monitor *m) {
  char **argv = m->opts.exit_command;
  int null;

  if (cleanup_claimed(m))
    _exit(0);
  null = open("/dev/null", O_RDONLY | O_CLOEXEC);

  if (null >= 0)
    dup2(null, 0); /* stdout and stderr stay: the monitor's own log */
  syscall(SYS_close_range, 3, ~0U, 0);
  if (argv != NULL && argv[0] != NULL) {
    sigset_t none;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    execv(argv[0], argv);
    warn("exec of the exit command `%s`: %s", argv[0], strerror(errno));
  }
  _exit(0);
}

int main(int argc, char **argv) {
  static struct monitor m; /* static: its buffers need not fit the stack */
  struct pdman_error err;

  pdman_error_clear(&err);
  if (parse_options(argc, argv, &m.opts, &err) < 0) {
    warn("%s", err.msg);
    return 125;
  }
  if (setup(&m, &err) < 0) {
    warn("%s", err.msg);
    if (m.opts.ready_fd >= 0) {
      char msg[PDMAN_ERROR_MSG_MAX + 1];
      int n = snprintf(msg, sizeof(msg), "E%s", err.msg);

      write_all(m.opts.ready_fd, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
    }
    kill(m.opts.pid, SIGKILL);
    waitpid(m.opts.pid, NULL, 0);
    return 125;
  }
  if (m.opts.ready_fd >= 0) {
    char ready = PDMAN_MONITOR_READY;

    write_all(m.opts.ready_fd, &ready, 1);
    close(m.opts.ready_fd);
  }
  loop(&m);
  finish(&m);
  if (m.log.fd >= 0)
    close(m.log.fd);
  run_exit_command(&m);
}
