/* setns.c - `pdman exec`: a new process inside a running container.
 *
 *   caller ──fork──▶ joiner   opens /proc/PID/ns/{user,mnt,...} and /proc/PID/root,
 *                             setns(2): the user namespace first (which gives
 *                             it the capabilities to join the others), then
 *                             the rest; chroot to the container's root;
 *                             sync 7, then waits for sync 8 (the caller moves
 *                             it into the container's cgroup meanwhile)
 *                  └─clone(CLONE_PARENT)─▶ process
 *                             in the container's PID namespace (setns on a PID
 *                             namespace only applies to children) and a child
 *                             of the caller; stdio, session, identity,
 *                             capabilities, cwd, then execve (exec.c)
 *
 * The joiner tells the caller the process' PID (sync 5) and exits; the process
 * reports a failure as sync 3/4, or nothing: EOF on the CLOEXEC socket at
 * execve.  The two may arrive in either order.  The caller is a Python
 * interpreter: everything runs in forked children, so nothing here touches
 * the caller's state.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "internal.h"

/* in joining order: user first, mount last (it changes what /proc is) */
static const struct {
  const char *name;
  int flag;
} namespaces[] = {
    {"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS},
    {"net", CLONE_NEWNET},   {"pid", CLONE_NEWPID}, {"cgroup", CLONE_NEWCGROUP},
    {"mnt", CLONE_NEWNS},
};
#define N_NAMESPACES (sizeof(namespaces) / sizeof(namespaces[0]))



/* ---- the process that execs ---- */

static void reset_signals(void) {
  struct sigaction sa;
  int sig;

  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = SIG_DFL;
  for (sig = 1; sig < _NSIG; sig++)
    sigaction(sig, &sa, NULL);
}

/* stdio[i] onto fd i (-1: /dev/null), by way of high fds so that one source
 * cannot be overwritten before it is copied */
static int setup_stdio(const struct pdman_spawn_spec *spec, int sync_fd,
                       struct pdman_error *err) {
  int high[3], i;

  for (i = 0; i < 3; i++) {
    int src = spec->stdio[i];
    cleanup_close int null = -1;

    if (src < 0) {
      null = open("/dev/null", O_RDWR | O_CLOEXEC);
      src = null;
    }
    high[i] = src < 0 ? -1 : fcntl(src, F_DUPFD_CLOEXEC, sync_fd + 1);
    if (high[i] < 0)
      return pdman_error_set(err, errno, "dup stdio fd %d (for fd %d)", spec->stdio[i], i);
  }
  for (i = 0; i < 3; i++) {
    if (dup2(high[i], i) < 0)
      return pdman_error_set(err, errno, "dup2 onto fd %d", i);
    close(high[i]);
  }
  return pdman_new_session(spec, err);
}

/* the first fd past the ones `exec --preserve-fds N` passes on (3..3+N-1) */
static int first_free_fd(const struct pdman_spawn_spec *spec) {
  return 3 + (spec->preserve_fds > 0 ? spec->preserve_fds : 0);
}

static int process_run(const struct pdman_spawn_spec *spec, int sync_fd,
                       struct pdman_error *err) {
  int ret, i, first_free = first_free_fd(spec);

  prctl(PR_SET_NAME, "pdman:exec", 0, 0, 0);
  ret = setup_stdio(spec, sync_fd, err);
  if (ret < 0)
    return ret;
  /* --preserve-fds: the caller's 3..3+N-1 go on, open across the execve */
  for (i = 3; i < first_free; i++)
    if (fcntl(i, F_SETFD, 0) < 0)
      return pdman_error_set(err, errno, "preserved fd %d", i);
  /* nothing else of the caller's but stdio and the sync socket goes on */
  if (sync_fd > first_free && syscall(SYS_close_range, first_free, sync_fd - 1, 0) < 0)
    return pdman_error_set(err, errno, "close_range");
  if (syscall(SYS_close_range, sync_fd + 1, ~0U, 0) < 0)
    return pdman_error_set(err, errno, "close_range");
  return pdman_exec_process(spec, err);
}

static void __attribute__((noreturn))
process_main(const struct pdman_spawn_spec *spec, int sync_fd) {
  struct pdman_error err;

  pdman_error_clear(&err);
  reset_signals();
  /* above stdio, which setup_stdio overwrites (the caller may have closed 0-2),
   * and above the fds --preserve-fds passes on */
  if (sync_fd < first_free_fd(spec)) {
    int high = fcntl(sync_fd, F_DUPFD_CLOEXEC, first_free_fd(spec));

    if (high >= 0) {
      close(sync_fd);
      sync_fd = high;
    }
  }
  process_run(spec, sync_fd, &err);
  /* sync 3 / sync 4: the process' error, or EOF once execve succeeded */
  pdman_sync_send(sync_fd,
                  err.kind == PDMAN_ERR_EXEC ? PDMAN_SYNC_EXEC_FAILED : PDMAN_SYNC_CHILD_ERROR,
                  0, &err, &err);
  _exit(PDMAN_EXIT_CHILD_FAILED);
}

/* ---- the joiner ---- */

static int same_namespace(const char *name, int fd) {
  char path[64];
  struct stat mine, theirs;

  snprintf(path, sizeof(path), "/proc/self/ns/%s", name);
  return stat(path, &mine) == 0 && fstat(fd, &theirs) == 0 &&
         mine.st_ino == theirs.st_ino && mine.st_dev == theirs.st_dev;
}

static int join(int target_pid, struct pdman_error *err) {
  int fds[N_NAMESPACES];
  cleanup_close int root = -1;
  char path[64];
  size_t i;
  int ret = 0;

  for (i = 0; i < N_NAMESPACES; i++)
    fds[i] = -1;
  for (i = 0; i < N_NAMESPACES; i++) {
    snprintf(path, sizeof(path), "/proc/%d/ns/%s", target_pid, namespaces[i].name);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) {
      ret = pdman_error_set(err, errno, "open `%s`", path);
      goto out;
    }
  }
  snprintf(path, sizeof(path), "/proc/%d/root", target_pid);
  root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) {
    ret = pdman_error_set(err, errno, "open `%s`", path);
    goto out;
  }
  for (i = 0; i < N_NAMESPACES; i++) {
    if (same_namespace(namespaces[i].name, fds[i]))
      continue;
    if (setns(fds[i], namespaces[i].flag) < 0) {
      ret = pdman_error_set(err, errno, "setns to the %s namespace of process %d",
                            namespaces[i].name, target_pid);
      goto out;
    }
  }
  /* the mount namespace's root is the container's after its pivot_root; chroot
   * to the process' own root all the same, which is what it sees as / */
  if (fchdir(root) < 0 || chroot(".") < 0 || chdir("/") < 0)
    ret = pdman_error_set(err, errno, "chroot to the root of process %d", target_pid);
out:
  for (i = 0; i < N_NAMESPACES; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  return ret;
}

/* Close every fd but the sync socket, the stdio to pass on and the fds of
 * --preserve-fds (3..first_free-1): the joiner is a fork of the caller and
 * holds all of its fds (CLOEXEC ones too, until an execve that never comes
 * for the joiner). Kept spans [lo, hi], sorted, then the gaps closed. */
static void close_all_but(int sync_fd, const int stdio[3], int first_free) {
  int lo[5], hi[5], n = 0, i, j, from = 0;

  lo[n] = hi[n] = sync_fd;
  n++;
  for (i = 0; i < 3; i++)
    if (stdio[i] >= 0) {
      lo[n] = hi[n] = stdio[i];
      n++;
    }
  if (first_free > 3) {
    lo[n] = 3;
    hi[n] = first_free - 1;
    n++;
  }
  for (i = 1; i < n; i++) /* insertion sort by start, at most 5 */
    for (j = i; j > 0 && lo[j - 1] > lo[j]; j--) {
      int t = lo[j], u = hi[j];
      lo[j] = lo[j - 1];
      hi[j] = hi[j - 1];
      lo[j - 1] = t;
      hi[j - 1] = u;
    }
  for (i = 0; i < n; i++) {
    if (lo[i] > from)
      syscall(SYS_close_range, from, lo[i] - 1, 0);
    if (hi[i] + 1 > from)
      from = hi[i] + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0);
}

static void __attribute__((noreturn))
joiner_main(int target_pid, const struct pdman_spawn_spec *spec, int sync_fd) {
  struct pdman_error err;
  struct pdman_sync_msg msg;
  int timeout = spec->timeout_ms > 0 ? spec->timeout_ms : PDMAN_DEFAULT_TIMEOUT_MS;
  pid_t pid;

  /* Non-dumpable before it enters the container, and so is the process it
   * forks (fork copies the flag) until its execve: /proc/PID/{exe,fd,...} of
   * a non-dumpable process need CAP_SYS_PTRACE over the caller's user
   * namespace, which nothing in the container has (runc's CVE-2019-5736) */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  close_all_but(sync_fd, spec->stdio, first_free_fd(spec));
  pdman_error_clear(&err);
  prctl(PR_SET_NAME, "pdman:join", 0, 0, 0);
  if (join(target_pid, &err) < 0) {
    pdman_sync_send(sync_fd, PDMAN_SYNC_CHILD_ERROR, 0, &err, &err);
    _exit(PDMAN_EXIT_CHILD_FAILED);
  }
  /* sync 7: joined; the caller places this process (its cgroup), then sync 8.
   * EOF instead: the caller gave up, nothing is started */
  if (pdman_sync_send(sync_fd, PDMAN_SYNC_EXEC_JOINED, getpid(), NULL, &err) < 0 ||
      pdman_sync_recv(sync_fd, timeout, &msg, "exec: waiting for the caller", &err) <= 0 ||
      msg.type != PDMAN_SYNC_EXEC_GO)
    _exit(PDMAN_EXIT_CHILD_FAILED);
  /* CLONE_PARENT: the caller becomes the parent and reaps it */
  pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid == 0)
    process_main(spec, sync_fd);
  if (pid < 0) {
    pdman_error_set(&err, errno, "clone into the PID namespace of process %d", target_pid);
    pdman_sync_send(sync_fd, PDMAN_SYNC_CHILD_ERROR, 0, &err, &err);
    _exit(PDMAN_EXIT_CHILD_FAILED);
  }
  /* sync 5: forked; the process takes it from here */
  pdman_sync_send(sync_fd, PDMAN_SYNC_EXEC_FORKED, pid, NULL, &err);
  _exit(0);
}

/* ---- the caller ---- */

static int failure(const struct pdman_sync_msg *msg, struct pdman_error *err) {
  err->errnum = msg->errnum;
  err->kind = msg->type == PDMAN_SYNC_EXEC_FAILED ? PDMAN_ERR_EXEC : PDMAN_ERR_CHILD;
  memcpy(err->msg, msg->msg, sizeof(err->msg));
  return -1;
}

int pdman_exec_start(int target_pid, const struct pdman_spawn_spec *spec,
                     struct pdman_spawn_result *res, struct pdman_error *err) {
  int timeout = spec->timeout_ms > 0 ? spec->timeout_ms : PDMAN_DEFAULT_TIMEOUT_MS;
  struct pdman_sync_msg msg;
  sigset_t all, old;
  int fds[2], ret, saved;
  pid_t joiner;

  pdman_error_clear(err);
  res->pid = -1;
  res->sync_fd = -1;
  if (spec->argv == NULL || spec->argv[0] == NULL)
    return pdman_error_set(err, EINVAL, "exec: empty argv");
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
    return pdman_error_set(err, errno, "socketpair");

  /* no Python signal handler may run in the children */
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  joiner = (pid_t)syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, NULL);
  if (joiner == 0) {
    close(fds[0]);
    joiner_main(target_pid, spec, fds[1]);
  }
  saved = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(fds[1]);
  if (joiner < 0) {
    close(fds[0]);
    return pdman_error_set(err, saved, "fork to join the container");
  }
  res->pid = joiner;
  res->sync_fd = fds[0];
  /* sync 7, or the joiner's error */
  ret = pdman_sync_recv(fds[0], timeout, &msg, "exec: waiting for the process joining the container",
                        err);
  if (ret > 0 && msg.type == PDMAN_SYNC_EXEC_JOINED)
    return 0;
  if (ret > 0)
    failure(&msg, err);
  else if (ret == 0)
    pdman_error_set(err, 0, "the joining process exited without a word");
  pdman_exec_abort(res);
  return pdman_error_wrap(err, "joining the container of process %d", target_pid);
}

void pdman_exec_abort(struct pdman_spawn_result *res) {
  if (res->sync_fd >= 0)
    close(res->sync_fd);   /* EOF: a waiting joiner exits */
  res->sync_fd = -1;
  if (res->pid > 0) {
    kill(res->pid, SIGKILL);
    while (waitpid(res->pid, NULL, __WALL) < 0 && errno == EINTR)
      ;
  }
  res->pid = -1;
}

int pdman_exec_finish(int target_pid, const struct pdman_spawn_spec *spec,
                      struct pdman_spawn_result *res, struct pdman_error *err) {
  int timeout = spec->timeout_ms > 0 ? spec->timeout_ms : PDMAN_DEFAULT_TIMEOUT_MS;
  struct pdman_sync_msg msg;
  struct pdman_error ignored;
  int fd = res->sync_fd, ret, failed = 0;
  pid_t joiner = res->pid;

  pdman_error_clear(err);
  /* sync 8 */
  if (pdman_sync_send(fd, PDMAN_SYNC_EXEC_GO, 0, NULL, err) < 0) {
    pdman_exec_abort(res);
    return pdman_error_wrap(err, "joining the container of process %d", target_pid);
  }
  res->sync_fd = -1;
  res->pid = -1;
  while (waitpid(joiner, NULL, __WALL) < 0 && errno == EINTR)
    ;

  /* sync 5 from the joiner, sync 3/4 from the process: two writers on one
   * socket, so in either order; EOF once both are gone (the process at its
   * execve) */
  for (;;) {
    ret = pdman_sync_recv(fd, timeout, &msg, "exec: waiting for the process in the container",
                          failed ? &ignored : err);
    if (ret <= 0)
      break;
    if (msg.type == PDMAN_SYNC_EXEC_FORKED)
      res->pid = msg.pid;
    else if (!failed)
      failed = failure(&msg, err) < 0;
  }
  close(fd);
  if (ret < 0 && !failed)
    failed = 1;
  if (!failed && res->pid <= 0)
    failed = pdman_error_set(err, 0, "the joining process exited without a word") < 0;
  if (!failed)
    return 0;
  if (res->pid > 0) {
    kill(res->pid, SIGKILL);
    while (waitpid(res->pid, NULL, __WALL) < 0 && errno == EINTR)
      ;
    res->pid = -1;
    return -1;
  }
  return pdman_error_wrap(err, "joining the container of process %d", target_pid);
}
